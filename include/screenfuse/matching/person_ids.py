"""Person ids that survive across runs, and the merges and splits between two runs."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def _new_person_id(seed_record: str, taken: set[str]) -> str:
    salt = 0
    while True:
        candidate = "P" + hashlib.sha1(f"{seed_record}#{salt}".encode()).hexdigest()[:12].upper()
        if candidate not in taken:
            return candidate
        salt += 1


def assign_person_ids(record_ids: np.ndarray, labels: np.ndarray, previous: pd.DataFrame | None) -> np.ndarray:
    """Cluster labels → person ids.

    A cluster keeps the id most of its records already had (ties: the smaller id); an id claimed
    by two clusters after a split stays with the one holding more of its records; a new cluster
    gets an id derived from its smallest record id, so re-running gives the same ids.
    `previous` has columns record_id, person_id.
    """
    frame = pd.DataFrame({"record_id": record_ids, "cluster": labels})
    if previous is not None and len(previous):
        frame = frame.merge(previous[["record_id", "person_id"]], on="record_id", how="left")
    else:
        frame["person_id"] = None
    votes = (
        frame.dropna(subset=["person_id"]).groupby(["cluster", "person_id"]).size().rename("votes").reset_index()
        .sort_values(["votes", "person_id"], ascending=[False, True])
    )
    votes = votes.drop_duplicates("person_id").drop_duplicates("cluster")
    chosen = dict(zip(votes["cluster"], votes["person_id"]))
    taken = set(previous["person_id"]) if previous is not None and len(previous) else set()
    taken |= set(chosen.values())
    first_record = frame.groupby("cluster")["record_id"].min()
    for cluster_label, seed in first_record.items():
        if cluster_label not in chosen:
            chosen[cluster_label] = _new_person_id(str(seed), taken)
            taken.add(chosen[cluster_label])
    return frame["cluster"].map(chosen).to_numpy()


def person_changes(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """Merges (one person now holds records of several earlier persons) and splits (an earlier
    person's records now belong to several persons). Columns: event, person_id, other_person_ids."""
    columns = ["event", "person_id", "other_person_ids"]
    if previous is None or previous.empty:
        return pd.DataFrame(columns=columns)
    both = current.merge(previous, on="record_id", suffixes=("", "_before"))
    events = []
    for person, before in both.groupby("person_id")["person_id_before"]:
        olds = sorted(set(before))
        if len(olds) > 1:
            events.append(("merge", person, ";".join(o for o in olds if o != person)))
    for old, now in both.groupby("person_id_before")["person_id"]:
        news = sorted(set(now))
        if len(news) > 1:
            events.append(("split", old, ";".join(n for n in news if n != old)))
    return pd.DataFrame(events, columns=columns)
