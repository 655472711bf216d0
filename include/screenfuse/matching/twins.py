"""Exact twins: records that say exactly the same thing about the same identifier.

A person screened a hundred times (a commuter at a checkpoint, a key worker tested daily, a test
account) sends a hundred records that agree on every compared column and carry the same
identifier (a distinct key, or a twin key: the zh preset adds the ID number as typed, valid or
not, and the document). Blocking them all puts one block of a
hundred records, n·(n-1)/2 pairs, in every rule, and a block that outgrows the comparison budget
or `max_block_size` is left out: the person came out as a hundred persons. Twins are decided
before blocking instead: only the first record of each set is blocked and compared; the others
join it (engine: links stronger than any score). Records named in a "not the same person" pair
are never treated as twins: a reviewer's word is decided on the evidence.
"""
from __future__ import annotations

import numpy as np

from screenfuse.matching.columns import Columns
from screenfuse.matching.settings import MatchSettings


def twin_representatives(columns: Columns, settings: MatchSettings, keep_apart: np.ndarray | None = None) -> np.ndarray:
    """For each record, the position of the first record it is an exact twin of (itself when it
    has none): equal on every compared column, distinct key and twin key, one of the keys present."""
    n = len(columns)
    representative = np.arange(n)
    twin_keys = tuple(dict.fromkeys([*settings.distinct_keys, *settings.twin_keys]))
    if not twin_keys or n < 2:
        return representative
    keyed = np.zeros(n, dtype=bool)
    for key in twin_keys:
        keyed |= columns.codes(key) >= 0
    if keep_apart is not None:
        keyed &= ~keep_apart
    rows = np.flatnonzero(keyed)
    if len(rows) < 2:
        return representative
    names = dict.fromkeys([c.column for c in settings.comparisons] + list(twin_keys))
    group = row_groups([columns.codes(name)[rows] for name in names])
    first = np.empty(group.max() + 1, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)  # written last to first: the first row wins
    representative[rows] = rows[first[group]]
    return representative


def row_groups(code_columns: list[np.ndarray]) -> np.ndarray:
    """A group number per row, the same for rows equal in every column of codes (≥ -1). Columns
    are folded in one at a time into a key kept below the row count by hashing (pandas'
    factorize): np.unique of the stacked rows sorted them lexicographically, 2 s of a million."""
    import pandas as pd

    key = np.zeros(len(code_columns[0]), dtype=np.int64)
    for codes in code_columns:
        key = pd.factorize(key * (int(codes.max(initial=-1)) + 2) + (codes.astype(np.int64) + 1))[0]
    return key
