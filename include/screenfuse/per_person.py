"""Per-person reductions over a frame of records, vectorized (numpy sorts and reductions on integer
codes instead of groupby on text, which runs Python per person): what fuse and the person history
pick, join and rank by person."""
from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import take


def lookup(text: pd.Series, table: dict, default: float) -> np.ndarray:
    """`table[value]` per row, `default` for other values: one look-up per distinct value
    (Series.map on a str column goes row by row)."""
    codes, values = pd.factorize(text, use_na_sentinel=False)
    return np.array([table.get(value, default) for value in values], dtype=float)[codes]


def codes(text: pd.Series) -> np.ndarray:
    """Integer codes that sort as the text does (equal text, equal code): numpy sorts and
    reductions on them replace groupby min/max/join on text, which run Python per person.
    Hashes the rows and sorts only the distinct values. The text has no missing values."""
    codes, values = pd.factorize(text)
    rank = np.empty(len(values), dtype=np.int64)
    rank[values.argsort()] = np.arange(len(values))
    return rank[codes]


class PerPerson:
    """Per-person picks and joins over a frame of records with a `person_id`, vectorized: persons
    are the sorted group numbers of `groupby("person_id")`, text sorts by its `_codes`."""

    def __init__(self, rec: pd.DataFrame):
        grouped = rec.groupby("person_id")
        self.size = grouped.size()
        self.index = self.size.index
        self.group = grouped.ngroup().to_numpy()
        # the rows of persons with one record (nearly all of a first load's): each is its person's
        # first and only value, with nothing to sort
        self.alone = (self.size.to_numpy() == 1)[self.group]
        self.time = codes(rec["event_time"])
        self.id = codes(rec["source_record_id"])

    def first(self, keys: list[np.ndarray], ascending: list[bool], mask: np.ndarray | None = None) -> np.ndarray:
        """Row numbers of each person's first (`mask`ed) row sorted by the numeric `keys`, in
        person order: what `sort_values(["person_id", *keys]).drop_duplicates("person_id")`
        keeps (a stable sort, so full ties keep the input order). Only the rows of persons with
        several records are sorted."""
        rows = np.arange(len(self.group)) if mask is None else np.flatnonzero(mask)
        alone = self.alone[rows]
        shared = rows[~alone]
        keys = [np.asarray(k)[shared] if up else -np.asarray(k)[shared] for k, up in zip(keys, ascending)]
        shared = shared[np.lexsort([*reversed(keys), self.group[shared]])]
        group = self.group[shared]
        firsts = shared[np.r_[True, group[1:] != group[:-1]]] if len(shared) else shared
        at = np.full(len(self.index), -1, dtype=np.int64)  # each person's row, in person order
        at[self.group[rows[alone]]] = rows[alone]
        at[self.group[firsts]] = firsts
        return at[at >= 0]

    def pick(self, values: pd.Series, rows: np.ndarray) -> pd.Series:
        """`values` at the picked rows per person, "" for persons without one; str like the
        groupby reduction it replaces (which keeps the values' dtype when nothing was picked)."""
        out = np.full(len(self.index), "", dtype=object)
        out[self.group[rows]] = values.array.take(rows).to_numpy(dtype=object)
        return pd.Series(out, index=self.index, dtype=None if len(rows) else values.dtype)

    def rows(self, rec: pd.DataFrame, rows: np.ndarray, column: str, extra: list[str] | None = None) -> pd.DataFrame:
        """The picked rows' `column` (and `extra`) with their `<column>_source`, by person; missing
        (NaN) for persons without one, in the records' dtypes, as a join of the picks would give."""
        at = np.full(len(self.index), -1)
        at[self.group[rows]] = rows
        sources = {c: c for c in [column, *(extra or [])]} | {f"{column}_source": "source_record_id"}
        return pd.DataFrame({name: pd.Series(take(rec[c].array, at, allow_fill=True), index=self.index,
                                             dtype=rec[c].dtype) for name, c in sources.items()})

    def joined(self, values: pd.Series, codes: np.ndarray, sep: str, mask: np.ndarray | None = None,
               distinct: bool = False, none_dtype=object) -> pd.Series:
        """Per person, the (`mask`ed) values sorted (by their `_codes`) and joined by `sep` ("" for
        none); `distinct` drops repeats. Concatenates along the sorted rows (np.add.reduceat on str
        objects). str, or `none_dtype` when no row is joined (as the code this replaced gave)."""
        rows = np.arange(len(self.group)) if mask is None else np.flatnonzero(mask)
        if not len(rows):
            return pd.Series("", index=self.index, dtype=none_dtype)
        out = np.full(len(self.index), "", dtype=object)
        single = rows[self.alone[rows]]  # a person's only record: its value, nothing to sort or join
        out[self.group[single]] = values.array.take(single).to_numpy(dtype=object)
        rows = rows[~self.alone[rows]]
        if not len(rows):
            return pd.Series(out, index=self.index)
        rows = rows[np.lexsort([codes[rows], self.group[rows]])]
        group, codes = self.group[rows], codes[rows]
        if distinct:
            keep = np.r_[True, (group[1:] != group[:-1]) | (codes[1:] != codes[:-1])]
            rows, group = rows[keep], group[keep]
        first = np.r_[True, group[1:] != group[:-1]]
        last = np.r_[group[1:] != group[:-1], True]
        text = values.array.take(rows).to_numpy(dtype=object)
        alone = first & last  # one value left after the mask: nothing to join
        out[group[alone]] = text[alone]
        many = ~alone
        if many.any():
            text, first, last = text[many], first[many], last[many]
            starts = np.flatnonzero(first)
            out[group[many][starts]] = np.add.reduceat(np.where(last, text, text + sep), starts)
        return pd.Series(out, index=self.index)


def best(rec: pd.DataFrame, by: PerPerson, column: str, order: list[np.ndarray], latest: bool,
          extra: list[str] | None = None) -> pd.DataFrame:
    """Per person, the value of `column` ranked by `order` (then newest or oldest, then record id).

    Records where `column` and every `extra` column are empty do not compete."""
    present = (rec[column] != "").to_numpy()
    for other in extra or []:
        present = present | (rec[other] != "").to_numpy()
    rows = by.first([*order, by.time, by.id], [True] * len(order) + [not latest, True], present)
    return by.rows(rec, rows, column, extra)


def most_common(rec: pd.DataFrame, by: PerPerson, column: str, feed_trust: np.ndarray) -> pd.DataFrame:
    """Per person, the value seen most often (ties: the most trusted feed, then the record id)."""
    present = (rec[column] != "").to_numpy()
    value = pd.factorize(rec[column])[0]
    pair = pd.factorize(by.group[present] * (value.max() + 1 if len(value) else 1) + value[present])[0]
    count = np.zeros(len(rec), dtype=np.int64)
    count[present] = np.bincount(pair)[pair]  # how often the person has this value
    return by.rows(rec, by.first([count, feed_trust, by.id], [False, True, True], present), column)
