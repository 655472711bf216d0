"""What every comparator does with its pairs: which have both values, the level of the first
condition that holds, a similarity scored once per distinct pair of values."""
from __future__ import annotations

import numpy as np
from rapidfuzz.process import cpdist


def both_present(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != "") & (b != "")


def assign(present: np.ndarray, conditions: list[np.ndarray]) -> np.ndarray:
    """Level 1 for the first condition that holds, 2 for the next…, last+1 otherwise; 0 if missing."""
    levels = np.full(len(present), len(conditions) + 1, dtype=np.int8)
    for level in range(len(conditions), 0, -1):
        levels[conditions[level - 1]] = level
    levels[~present] = 0
    return levels


def similarity(get, column: str, scorer, where: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """scorer over the pairs in `where` (the others get `fill`): only undecided pairs are scored."""
    out = np.full(len(where), fill, dtype=float)
    rows = np.flatnonzero(where)
    if len(rows):
        a, b, which = get.distinct_at(column, rows)
        out[rows] = cpdist(list(a), list(b), scorer=scorer, workers=-1)[which]
    return out
