"""Clustering linked pairs into persons without ever breaking a constraint.

Connected components (scipy) over the links; only components that break a constraint (two
different values of a distinct key, e.g. two checksum-valid IDs, or a remembered "not the same
person" pair) are rebuilt greedily, strongest link first, refusing any join that would break one.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def cluster(n: int, left: np.ndarray, right: np.ndarray, weight: np.ndarray,
            distinct: list[np.ndarray], cannot_link: set[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Records 0..n-1 and weighted links → (component label per record, which links were used)."""
    if not len(left):  # each record its own person (an hour without new records: no scipy to import)
        return np.arange(n), np.ones(0, dtype=bool)
    # imported here: scipy is a fifth of a second of every run's start, and an hour without new
    # records never clusters
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    used = np.ones(len(left), dtype=bool)
    bad = _violating_components(labels, distinct, cannot_link)
    if not bad.size:
        return labels, used
    in_bad = np.isin(labels[left], bad)
    order = np.flatnonzero(in_bad)[np.argsort(-weight[in_bad], kind="stable")]
    members = np.flatnonzero(np.isin(labels, bad))
    parent = {int(r): int(r) for r in members}
    keys = {int(r): [{d[r]} if d[r] else set() for d in distinct] for r in members}
    partners: dict[int, set[int]] = {}  # per group root: the records its members may not join
    for a, b in cannot_link:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    groups = {int(r): {int(r)} for r in members}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    used[in_bad] = False
    for e in order:
        ra, rb = find(int(left[e])), find(int(right[e]))
        if ra == rb:
            used[e] = True
            continue
        if any(ka and kb and ka != kb for ka, kb in zip(keys[ra], keys[rb])):
            continue
        if ra in partners and not partners[ra].isdisjoint(groups[rb]):
            continue
        if len(groups[ra]) < len(groups[rb]):  # the smaller group joins the larger: a person of
            ra, rb = rb, ra                      # 100,000 exact twins stays linear, not quadratic
        parent[rb] = ra
        keys[ra] = [ka | kb for ka, kb in zip(keys[ra], keys[rb])]
        groups[ra] |= groups.pop(rb)
        if rb in partners:
            partners.setdefault(ra, set()).update(partners.pop(rb))
        used[e] = True
    offset = labels.max() + 1
    for r in members:
        labels[r] = offset + find(int(r))
    _, labels = np.unique(labels, return_inverse=True)
    return labels, used


def _violating_components(labels: np.ndarray, distinct: list[np.ndarray], cannot_link: set[tuple[int, int]]) -> np.ndarray:
    bad = set()
    for values in distinct:
        frame = pd.DataFrame({"label": labels, "value": values})
        frame = frame[frame["value"] != ""]
        counts = frame.groupby("label")["value"].nunique()
        bad |= set(counts[counts > 1].index)
    for a, b in cannot_link:
        if labels[a] == labels[b]:
            bad.add(labels[a])
    return np.array(sorted(bad), dtype=labels.dtype)


def kept_apart(labels: np.ndarray, left: np.ndarray, right: np.ndarray, distinct: list[np.ndarray],
               cannot_link: set[tuple[int, int]]) -> np.ndarray:
    """For each pair of records (left[i], right[i]) in two clusters: whether joining the two
    clusters would break a constraint (different values of a distinct key, or a cannot-link pair
    between them). Nobody should be asked to decide such a pair: a `same` could not be applied."""
    a, b = labels[left], labels[right]
    apart = np.zeros(len(left), dtype=bool)
    if not len(left):
        return apart
    pairs = {(min(labels[x], labels[y]), max(labels[x], labels[y])) for x, y in cannot_link}
    if pairs:
        apart |= np.array([(min(p, q), max(p, q)) in pairs for p, q in zip(a.tolist(), b.tolist())], dtype=bool)
    wanted = np.isin(labels, np.union1d(a, b))
    for values in distinct:  # each cluster's set of values, for the clusters of these pairs only
        frame = pd.DataFrame({"label": labels[wanted], "value": np.asarray(values)[wanted]})
        frame = frame[frame["value"] != ""]
        held = frame.drop_duplicates().sort_values("value").groupby("label")["value"].agg(tuple)
        va, vb = pd.Series(a).map(held), pd.Series(b).map(held)
        apart |= (va.notna() & vb.notna() & (va != vb)).to_numpy(dtype=bool)
    return apart
