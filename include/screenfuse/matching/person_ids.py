"""Person ids that survive across runs, and the merges and splits between two runs."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def _person_id(seed_record: str, salt: int = 0) -> str:
    return _person_ids([seed_record], salt)[0]


def _person_ids(seed_records, salt: int = 0) -> list[str]:
    """The id each seed record gives its person (one comprehension: a call per seed cost a third more)."""
    sha1 = hashlib.sha1
    return ["P" + sha1(f"{seed}#{salt}".encode()).hexdigest()[:12].upper() for seed in seed_records]


def assign_person_ids(record_ids: np.ndarray, labels: np.ndarray, previous: pd.DataFrame | None,
                      reserved: np.ndarray | None = None) -> np.ndarray:
    """Cluster labels (0..k-1) → person ids.

    A cluster keeps the id most of its records already had (ties: the smaller id); an id claimed
    by two clusters after a split stays with the one holding more of its records; a new cluster
    gets an id derived from its smallest record id, so re-running gives the same ids.
    `previous` has columns record_id, person_id; `reserved`: ids in use elsewhere, never given out
    (an array, or a function that tells which of the candidate ids are in use).
    """
    record_ids = np.asarray(record_ids, dtype=object)
    labels = np.asarray(labels)
    if not len(labels):
        return np.empty(0, dtype=object)
    chosen = np.full(int(labels.max()) + 1, None, dtype=object)
    taken: set[str] = set()
    if previous is not None and len(previous):
        before = pd.Series(previous["person_id"].to_numpy(dtype=object),
                           index=pd.Index(previous["record_id"].astype(str).to_numpy(dtype=object), dtype=object))
        old = before.reindex(record_ids).to_numpy(dtype=object)
        had = pd.notna(old)
        votes = (
            pd.DataFrame({"cluster": labels[had], "person_id": old[had]}).groupby(["cluster", "person_id"]).size()
            .rename("votes").reset_index().sort_values(["votes", "person_id"], ascending=[False, True])
            .drop_duplicates("person_id").drop_duplicates("cluster")
        )
        chosen[votes["cluster"].to_numpy()] = votes["person_id"].to_numpy(dtype=object)
        taken = set(before.to_numpy()) | set(votes["person_id"])
    order = np.arange(len(record_ids)) if _is_sorted(record_ids) else np.argsort(record_ids, kind="stable")
    clusters, first = np.unique(labels[order], return_index=True)
    new = np.flatnonzero(pd.isna(chosen[clusters]))
    seeds = record_ids[order[first[new]]]
    candidates = np.array(_person_ids(seeds.tolist()), dtype=object)
    if callable(reserved):
        if len(candidates):
            taken |= set(candidates[np.flatnonzero(np.asarray(reserved(candidates), dtype=bool))])
    elif reserved is not None and len(reserved) and len(candidates):
        clash = np.flatnonzero(pd.Index(candidates, dtype=object).isin(pd.Index(reserved, dtype=object)))
        taken |= set(candidates[clash])  # a 48-bit hash already in use: rare, resalted below
    # most candidates are free: given out at once; the rest (in use, or a 48-bit hash two seeds
    # share: both rare) are resalted one by one
    free = ~(pd.Index(candidates, dtype=object).isin(list(taken)) | pd.Series(candidates, dtype=object).duplicated().to_numpy())
    chosen[clusters[new][free]] = candidates[free]
    taken.update(candidates[free])
    for i in np.flatnonzero(~free):
        cluster_label, seed = clusters[new][i], seeds[i]
        candidate, salt = candidates[i], 0
        while candidate in taken:
            salt += 1
            candidate = _person_id(str(seed), salt)
            if callable(reserved) and bool(np.asarray(reserved(np.array([candidate], dtype=object)))[0]):
                taken.add(candidate)
        taken.add(candidate)
        chosen[cluster_label] = candidate
    return chosen[labels]


def _is_sorted(values: np.ndarray) -> bool:
    return bool(len(values) < 2 or (values[1:] >= values[:-1]).all())


def person_changes(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """Merges (one person now holds records of several earlier persons) and splits (an earlier
    person's records now belong to several persons). Columns: event, person_id, other_person_ids."""
    columns = ["event", "person_id", "other_person_ids"]
    if previous is None or previous.empty:
        return pd.DataFrame(columns=columns)
    both = current.merge(previous, on="record_id", suffixes=("", "_before"))
    events = []
    for event, key, other in (("merge", "person_id", "person_id_before"), ("split", "person_id_before", "person_id")):
        counts = both.groupby(key)[other].nunique()
        changed = both[both[key].isin(counts.index[counts > 1])]  # few: only these need strings
        for person, others in changed.groupby(key)[other]:
            events.append((event, person, ";".join(o for o in sorted(set(others)) if o != person)))
    events.sort(key=lambda e: (e[0] != "merge", e[1]))
    return pd.DataFrame(events, columns=columns)
