"""Look-ups of text keys (record and person ids) over a whole batch. pandas' own string type runs
Python per value for `isin` with a large value set and for `Series.map` with a dict (a million ids:
9 s and 4 s); through indexes of Python strings the same work takes a fraction of a second.
`is_in` is the matching library's; `map_by_key` is its counterpart for values."""
from __future__ import annotations

import numpy as np
import pandas as pd

from screenfuse.matching.columns import is_in, text_index

__all__ = ["is_in", "map_by_key", "text_index"]


def map_by_key(values, keys, targets) -> pd.Series:
    """For each of `values`, the target of its key in (`keys`, `targets`) (the first, if a key
    repeats); None where the key is not there. Keeps the index of `values` when it is a Series."""
    table = text_index(keys)
    first = ~table.duplicated()
    table, targets = table[first], np.asarray(targets, dtype=object)[first]
    at = table.get_indexer(text_index(values))
    found = np.full(len(at), None, dtype=object)
    found[at >= 0] = targets[at[at >= 0]]
    return pd.Series(found, index=values.index if isinstance(values, pd.Series) else None, dtype=object)
