"""Record columns as the engine reads them: each column's values, integer codes and value counts
built once (`Columns`), and both sides of the candidate pairs gathered from them (`PairValues`).
Comparing codes is far cheaper than comparing strings.
"""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd


class Columns:
    """The frame's columns as numpy arrays, each built once: values ('' for missing), integer codes
    (-1 for missing; equal codes mean equal values) and, for term frequencies, each record's share
    of its value among the records that have one. Comparing codes is far cheaper than strings."""

    def __init__(self, frame: pd.DataFrame, shares: dict[str, np.ndarray] | None = None):
        self.frame = frame
        self._shares = shares or {}  # per-record shares measured on a larger population
        self._values: dict[str, np.ndarray] = {}
        self._codes: dict[str, np.ndarray] = {}
        self._counts: dict[str, np.ndarray] = {}
        self._uniques: dict[str, np.ndarray] = {}
        self._derived: dict = {}
        self._transforming = threading.RLock()  # per_value's transforms are Python per value: one at a time

    def __len__(self) -> int:
        return len(self.frame)

    def values(self, column: str) -> np.ndarray:
        if column not in self.frame.columns:
            raise KeyError(column)
        if column not in self._values:
            series = self.frame[column]
            if isinstance(series.dtype, pd.CategoricalDtype):
                self._values[column] = self._from_categories(column, series)
            elif series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
                # pandas' own strings (a CSV read with pyarrow): factorized as they are, each record
                # then points at its distinct value's one str instead of a str of its own (a million
                # records of nine columns held 360 MB of copies)
                codes, uniques = pd.factorize(series)
                uniques = np.asarray(uniques, dtype=object)
                self._values[column] = np.append(uniques, "")[codes]  # -1 (missing) → ""
                # the codes too: numbered by first appearance as the values' own would be (the
                # same blocks in the same order), without hashing a million Python strings again
                self._keep_codes(column, codes.astype(np.int64), uniques)
            else:
                self._values[column] = as_text(series)
        return self._values[column]

    def _from_categories(self, column: str, series: pd.Series) -> np.ndarray:
        """A categorical column (`zh_person.prepare` makes them) already holds codes of distinct
        values: they are renumbered by first appearance, as a factorize of the values would number
        them, without hashing a million strings."""
        categories = series.cat.categories
        texts = as_text(pd.Series(categories, dtype=object))
        codes = series.cat.codes.to_numpy().astype(np.int64)
        if len(categories) and pd.api.types.infer_dtype(categories, skipna=False) != "string":  # 1 and "1": one text
            merged, distinct = pd.factorize(texts)
            texts, codes = np.asarray(distinct, dtype=object), np.where(codes >= 0, merged[codes], -1)
        empty = np.flatnonzero(texts == "")
        if not len(empty):
            texts, empty = np.append(texts, ""), [len(texts)]
        codes[codes < 0] = empty[0]  # missing reads as ""
        first = np.full(len(texts), len(codes), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # written last to first: the first row wins
        order = np.argsort(first, kind="stable")[:np.count_nonzero(first < len(codes))]  # used values only
        renumber = np.empty(len(texts), dtype=np.int64)
        renumber[order] = np.arange(len(order))
        codes, uniques = renumber[codes], texts[order]
        values = uniques[codes]
        self._keep_codes(column, codes, uniques)  # "" → -1, in place
        return values

    def codes(self, column: str) -> np.ndarray:
        if column not in self._codes:
            values = self.values(column)  # may keep the codes as it builds the values
            if column not in self._codes:
                codes, uniques = pd.factorize(values)
                self._keep_codes(column, codes.astype(np.int64), np.asarray(uniques, dtype=object))
        return self._codes[column]

    def _keep_codes(self, column: str, codes: np.ndarray, uniques: np.ndarray) -> None:
        """Codes by first appearance, '' (no value) as -1."""
        empty = np.flatnonzero(uniques == "")
        if len(empty):
            codes[codes == empty[0]] = -1
        self._counts[column] = np.bincount(codes[codes >= 0], minlength=len(uniques))
        self._uniques[column] = uniques
        self._codes[column] = codes  # last: a column with codes has its counts and uniques (threads read them)

    def per_value(self, column: str, transform) -> np.ndarray:
        """transform(distinct values): one row per code, computed once."""
        key = (column, transform)
        if key not in self._derived:
            with self._transforming:  # two threads comparing parts of one column: the second waits, not repeats
                if key not in self._derived:
                    self._derived[key] = transform(self.uniques(column))
        return self._derived[key]

    def kept(self, key: tuple, build):
        """build(), once for this frame: what several steps of a run read (a blocking rule's codes,
        key ("rule", rule)), until `let_go(key[0])`."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def let_go(self, kind: str) -> None:
        """Forget what `kept` holds under keys of this kind (once no later step reads it)."""
        for key in [k for k in self._derived if isinstance(k, tuple) and k[:1] == (kind,)]:
            del self._derived[key]

    def uniques(self, column: str) -> np.ndarray:
        """The distinct values, in code order."""
        self.codes(column)
        return self._uniques[column]

    def value_counts(self, column: str) -> np.ndarray:
        """How many records hold each code's value."""
        self.codes(column)
        return self._counts[column]

    def shares(self, column: str) -> np.ndarray:
        """Per record: the share of records (with a value) holding the same value; 0 if missing."""
        if column in self._shares:
            return self._shares[column]
        codes, counts = self.codes(column), self.value_counts(column)
        total = max(int(counts.sum()), 1)
        return np.where(codes >= 0, counts[np.maximum(codes, 0)] / total, 0.0) if len(counts) else np.zeros(len(codes))


def as_text(series: pd.Series) -> np.ndarray:
    """A column as an object array of str, '' for missing (without a round trip through pandas' string type)."""
    if series.dtype == object:
        values = series.to_numpy(copy=True)
        values[pd.isna(values)] = ""
        if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "empty"):
            values = np.array([str(v) for v in values], dtype=object)
        return values
    if pd.api.types.is_string_dtype(series.dtype):
        return series.to_numpy(dtype=object, na_value="")
    return series.astype(str).where(series.notna(), "").to_numpy(dtype=object)


def text_index(values) -> pd.Index:
    """An index of strings kept as Python objects: pandas' own string type makes `isin` and
    lookups on millions of ids many times slower. A set is taken too (its order is no matter)."""
    if isinstance(values, (set, frozenset)):
        values = list(values)
    return pd.Index(np.asarray(values, dtype=object), dtype=object)


def is_in(values, among) -> np.ndarray:
    """Which of `values` (strings) occur in `among`, by hashing."""
    return text_index(values).isin(text_index(among))


def as_columns(data: "pd.DataFrame | Columns") -> Columns:
    return data if isinstance(data, Columns) else Columns(data)


class PairValues:
    """Column values for both sides of every candidate pair, gathered on demand."""

    def __init__(self, data: "pd.DataFrame | Columns", left: np.ndarray, right: np.ndarray):
        self.columns, self.left, self.right = as_columns(data), left, right
        self._last: tuple = ()  # (column, left codes, right codes): a comparator asks present, then equal

    def __call__(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        values = self.columns.values(column)
        return values[self.left], values[self.right]

    def at(self, column: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values of some pairs only (cheaper than gathering every pair's)."""
        values = self.columns.values(column)
        return values[self.left[rows]], values[self.right[rows]]

    def distinct_at(self, column: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct (left, right) value pairs among some pairs, and which of them each pair
        is: a scorer then runs once per pair of values, not per pair of records (a town's few
        thousand given names make millions of candidate pairs)."""
        table = np.r_[np.array([""], dtype=object), np.asarray(self.columns.uniques(column), dtype=object)]
        code_a, code_b, which = self.distinct_codes_at(column, rows)
        return table[code_a + 1], table[code_b + 1], which

    def distinct_codes_at(self, column: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`distinct_at` as the values' codes (-1: no value), in order of first appearance. The
        pairs' code pairs are hashed (pandas' factorize): a column's few hundred thousand distinct
        pairs among millions stay in cache, two to three times faster than sorting the millions;
        as fast when nearly every pair is distinct (birth dates)."""
        codes = self.columns.codes(column) + 1  # 0: no value
        width = int(codes.max(initial=0)) + 1
        pair = codes[self.left[rows]] * width + codes[self.right[rows]]
        which, distinct = pd.factorize(pair)
        return distinct // width - 1, distinct % width - 1, which.astype(np.int64, copy=False)

    def forget(self) -> None:
        """Let go of the codes kept for the last column asked."""
        self._last = ()

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        if self._last and self._last[0] == column:
            return self._last[1], self._last[2]
        self._last = ()  # another column's pair of arrays goes before this one is gathered
        codes = self.columns.codes(column)
        self._last = (column, codes[self.left], codes[self.right])
        return self._last[1], self._last[2]

    def per_value(self, column: str, transform) -> tuple[np.ndarray, np.ndarray]:
        """transform(distinct values), gathered for both sides (missing values get the first
        row: callers mask them with `present`)."""
        table, codes = self.columns.per_value(column, transform), np.maximum(self.columns.codes(column), 0)
        return table[codes[self.left]], table[codes[self.right]]

    def present(self, column: str) -> np.ndarray:
        """Both sides have a value."""
        a, b = self.codes(column)
        return (a >= 0) & (b >= 0)

    def equal(self, column: str) -> np.ndarray:
        """Both sides have the same value."""
        a, b = self.codes(column)
        return (a == b) & (a >= 0)
