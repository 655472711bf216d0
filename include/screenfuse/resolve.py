"""Identity resolution, first version: block → compare → score → cluster → stable person ids.

The pipeline calls only `resolve_identities`; a better engine replaces what is behind it.
Scoring is a transparent point system: agreements add, disagreements subtract, missing values
are neutral. Two checksum-valid, different ID numbers never end up in one person.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler, OSA, Levenshtein
from rapidfuzz.process import cpdist

RESOLVE_COLUMNS = [
    "source_record_id", "name", "name_pinyin", "id_number", "id_status", "birth_date", "sex",
    "phone", "phone2", "community",
]
TRUSTED_ID = ("valid", "converted_15")


@dataclass(frozen=True)
class MatchSettings:
    threshold: float = 6.0
    max_block_size: int = 400  # blocks larger than this (a very common name) are skipped
    points: tuple[tuple[str, float], ...] = (
        ("id_exact", 12), ("id_one_edit", 6), ("id_far", -6),
        ("name_exact", 4), ("name_same_pinyin", 3), ("name_similar", 1), ("name_different", -4),
        ("birth_same", 2), ("birth_different", -4), ("sex_different", -6),
        ("phone_shared", 3), ("phone_one_edit", 2), ("same_community", 1),
    )


DEFAULT_SETTINGS = MatchSettings()


def candidate_pairs(rec: pd.DataFrame, max_block_size: int) -> pd.DataFrame:
    """Union of blocking rules → unique pairs (i < j) of positional indices."""
    idx = np.arange(len(rec))
    py = rec["name_pinyin"]
    keys = [
        rec["id_number"],
        rec["phone"],
        rec["phone2"],
        (py + "|" + rec["birth_date"]).where((py != "") & (rec["birth_date"] != ""), ""),
        # a typo or swap leaves one half of an ID intact
        (py + "|" + rec["id_number"].str[:9]).where((py != "") & (rec["id_number"] != ""), ""),
        rec["id_number"].str[9:],
        (py + "|" + rec["community"]).where((py != "") & (rec["community"] != ""), ""),
    ]
    # phone and phone2 share one key space, so a second number meets a first one
    long = pd.concat(
        [pd.DataFrame({"rule": r if r != 2 else 1, "key": k.to_numpy(), "i": idx}) for r, k in enumerate(keys)],
        ignore_index=True,
    )
    long = long[long["key"] != ""].drop_duplicates(["rule", "key", "i"])
    sizes = long.groupby(["rule", "key"])["i"].transform("size")
    long = long[(sizes > 1) & (sizes <= max_block_size)]
    pairs = long.merge(long, on=["rule", "key"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["i_a"] < pairs["i_b"]]
    return pairs[["i_a", "i_b"]].drop_duplicates().rename(columns={"i_a": "i", "i_b": "j"}).reset_index(drop=True)


def score_pairs(rec: pd.DataFrame, pairs: pd.DataFrame, settings: MatchSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Comparison levels and total points for each candidate pair (vectorized)."""
    a = rec.iloc[pairs["i"].to_numpy()].reset_index(drop=True)
    b = rec.iloc[pairs["j"].to_numpy()].reset_index(drop=True)
    out = pairs.copy()

    def both(col):
        return (a[col] != "").to_numpy() & (b[col] != "").to_numpy()

    def same(col):
        return both(col) & (a[col].to_numpy() == b[col].to_numpy())

    ids = both("id_number")
    id_exact = same("id_number")
    id_dist = cpdist(a["id_number"].tolist(), b["id_number"].tolist(), scorer=OSA.distance, workers=-1)
    trusted = a["id_status"].isin(TRUSTED_ID).to_numpy() & b["id_status"].isin(TRUSTED_ID).to_numpy()
    out["cannot_link"] = ids & trusted & ~id_exact
    out["id_exact"] = id_exact
    out["id_one_edit"] = ids & ~id_exact & ~out["cannot_link"].to_numpy() & (id_dist <= 1)
    out["id_far"] = ids & ~id_exact & ~out["cannot_link"].to_numpy() & (id_dist > 1)

    names = both("name")
    jw = cpdist(a["name"].tolist(), b["name"].tolist(), scorer=JaroWinkler.normalized_similarity, workers=-1)
    out["name_exact"] = same("name")
    out["name_same_pinyin"] = same("name_pinyin") & ~out["name_exact"].to_numpy()
    out["name_similar"] = names & (jw >= 0.85) & ~out["name_exact"].to_numpy() & ~out["name_same_pinyin"].to_numpy()
    out["name_different"] = names & ~out["name_exact"].to_numpy() & ~out["name_same_pinyin"].to_numpy() & (jw < 0.85)

    out["birth_same"] = same("birth_date")
    out["birth_different"] = both("birth_date") & ~out["birth_same"].to_numpy()
    out["sex_different"] = both("sex") & (a["sex"].to_numpy() != b["sex"].to_numpy())

    shared = np.zeros(len(out), dtype=bool)
    for col_a in ("phone", "phone2"):
        for col_b in ("phone", "phone2"):
            shared |= (a[col_a].to_numpy() != "") & (a[col_a].to_numpy() == b[col_b].to_numpy())
    phone_dist = cpdist(a["phone"].tolist(), b["phone"].tolist(), scorer=Levenshtein.distance, workers=-1)
    out["phone_shared"] = shared
    out["phone_one_edit"] = both("phone") & ~shared & (phone_dist == 1)
    out["same_community"] = same("community")

    score = np.zeros(len(out))
    for level, points in settings.points:
        score += points * out[level].to_numpy()
    out["score"] = score
    return out


def _cluster(n: int, edges: pd.DataFrame, trusted_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greedy union-find over edges (strongest first) that never joins two trusted IDs.

    Returns each record's root and which edges were used (joined two clusters)."""
    parent = np.arange(n)
    ids: dict[int, set[str]] = {i: {trusted_ids[i]} for i in range(n) if trusted_ids[i]}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    used = np.zeros(len(edges), dtype=bool)
    for k, (i, j) in enumerate(zip(edges["i"].to_numpy(), edges["j"].to_numpy())):
        ri, rj = find(int(i)), find(int(j))
        if ri == rj:
            used[k] = True
            continue
        ids_i, ids_j = ids.get(ri, set()), ids.get(rj, set())
        if ids_i and ids_j and ids_i != ids_j:
            continue
        used[k] = True
        parent[rj] = ri
        if ids_j:
            ids[ri] = ids_i | ids_j
    return np.array([find(x) for x in range(n)]), used


def _new_person_id(seed_record: str, taken: set[str]) -> str:
    salt = 0
    while True:
        digest = hashlib.sha1(f"{seed_record}#{salt}".encode()).hexdigest()[:12].upper()
        candidate = f"P{digest}"
        if candidate not in taken:
            return candidate
        salt += 1


def assign_person_ids(records: pd.DataFrame, roots: np.ndarray, previous: pd.DataFrame | None) -> pd.Series:
    """Clusters → person ids that survive across runs.

    A cluster keeps the id most of its records already had (ties: the smaller id); an id claimed
    by two clusters after a split stays with the larger one; a new cluster gets an id derived
    from its first record, so re-running gives the same ids.
    """
    frame = pd.DataFrame({"source_record_id": records["source_record_id"].to_numpy(), "cluster": roots})
    if previous is not None and len(previous):
        frame = frame.merge(previous[["source_record_id", "person_id"]], on="source_record_id", how="left")
    else:
        frame["person_id"] = np.nan
    votes = (
        frame.dropna(subset=["person_id"]).groupby(["cluster", "person_id"]).size().rename("votes").reset_index()
        .sort_values(["votes", "person_id"], ascending=[False, True])
    )
    # each old id goes to the cluster holding most of its records; each cluster takes its best id
    votes = votes.drop_duplicates("person_id").drop_duplicates("cluster")
    chosen = dict(zip(votes["cluster"], votes["person_id"]))
    taken = set(previous["person_id"]) if previous is not None and len(previous) else set()
    taken |= set(chosen.values())
    first_record = frame.groupby("cluster")["source_record_id"].min()
    for cluster, seed in first_record.items():
        if cluster not in chosen:
            chosen[cluster] = _new_person_id(seed, taken)
            taken.add(chosen[cluster])
    return frame["cluster"].map(chosen)


def resolve_identities(records: pd.DataFrame, previous: pd.DataFrame | None = None,
                       settings: MatchSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Source records → (source_record_id, person_id, match_score, match_rule).

    `previous` holds the links of earlier runs (source_record_id, person_id) so that ids are
    stable. The result does not depend on the order of `records`.
    """
    rec = records[RESOLVE_COLUMNS].fillna("").astype(str).sort_values("source_record_id").reset_index(drop=True)
    if rec.empty:
        return pd.DataFrame(columns=["source_record_id", "person_id", "match_score", "match_rule"])
    pairs = candidate_pairs(rec, settings.max_block_size)
    scored = score_pairs(rec, pairs, settings)
    edges = scored[(scored["score"] >= settings.threshold) & ~scored["cannot_link"]]
    edges = edges.sort_values(["score", "i", "j"], ascending=[False, True, True])
    trusted = np.where(rec["id_status"].isin(TRUSTED_ID), rec["id_number"], "")
    roots, used = _cluster(len(rec), edges, trusted)
    edges = edges[used]
    person_ids = assign_person_ids(rec, roots, previous)
    best = pd.concat([edges[["i", "score"]], edges[["j", "score"]].rename(columns={"j": "i"})])
    best_score = best.groupby("i")["score"].max()
    match_score = pd.Series(np.arange(len(rec))).map(best_score)
    return pd.DataFrame({
        "source_record_id": rec["source_record_id"],
        "person_id": person_ids.to_numpy(),
        "match_score": match_score.to_numpy(),
        "match_rule": np.where(match_score.isna(), "singleton", "points>=%g" % settings.threshold),
    })
