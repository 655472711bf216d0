"""Which records an hour's new ones can touch: those sharing a blocking key with one, and the
pairs the desk or memory names among them (the engine's incremental run resolves only these)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from screenfuse.matching.columns import Columns, as_text, is_in, text_index


def pair_rows(ids: np.ndarray, pairs: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (in `ids`) of the pairs (left_id, right_id) whose two records are both there."""
    if pairs is None or not len(pairs):
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    position = pd.Series(np.arange(len(ids)), index=text_index(ids))
    position = position[~position.index.duplicated()]
    a = position.reindex(text_index(as_text(pairs["left_id"]))).to_numpy()
    b = position.reindex(text_index(as_text(pairs["right_id"]))).to_numpy()
    both = ~(np.isnan(a) | np.isnan(b))
    return a[both].astype(np.int64), b[both].astype(np.int64)


def still_together(previous: pd.DataFrame, cannot_link: pd.DataFrame) -> np.ndarray:
    """Record ids of remembered "not the same person" pairs that earlier runs left in one person."""
    left, right = as_text(cannot_link["left_id"]), as_text(cannot_link["right_id"])
    prev_ids = as_text(previous["record_id"])
    person_of = pd.Series(as_text(previous["person_id"]), index=text_index(prev_ids))
    person_of = person_of[is_in(prev_ids, np.r_[left, right])]
    person_of = person_of[~person_of.index.duplicated()]
    same = person_of.reindex(text_index(left)).to_numpy() == person_of.reindex(text_index(right)).to_numpy()
    return np.unique(np.r_[left[same], right[same]]).astype(object)


def shares_a_key(columns: Columns, rule, new_rows: np.ndarray, matches: dict) -> np.ndarray:
    """Records that agree with some new record on every part of a blocking rule.

    Each part narrows the candidates (plain columns first, so slices are cut only for few
    records); `matches` caches, per part, which records hold a value some new record holds."""
    n = len(columns)
    parts = sorted(rule, key=lambda p: p.start is not None or p.stop is not None)
    candidates = np.arange(n)
    for part in parts:
        if part.label in matches:
            candidates = candidates[matches[part.label][candidates]]
            continue
        values = _part_values(columns, part, candidates)
        hit = (values != "") & is_in(values, _part_values(columns, part, new_rows))
        if len(candidates) == n:
            matches[part.label] = hit
        candidates = candidates[hit]
    if len(parts) > 1 and len(candidates):  # each part matched some new record; all parts one?
        rows = np.union1d(candidates, new_rows)
        keys = pd.DataFrame({k: _part_values(columns, part, rows) for k, part in enumerate(parts)})
        code = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
        is_new = np.isin(rows, new_rows)
        candidates = rows[np.isin(code, code[is_new])]
    out = np.zeros(n, dtype=bool)
    out[candidates] = True
    return out


def _part_values(columns: Columns, part, rows: np.ndarray) -> np.ndarray:
    values = columns.values(part.column)[rows]
    if part.start is None and part.stop is None:
        return values
    return np.array([v[part.start:part.stop] for v in values], dtype=object)
