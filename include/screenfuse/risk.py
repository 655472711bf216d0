"""Community risk levels (社区/小区管控等级), computed each run from the persons living there.

Each community of the gazetteer gets the policy's level (`community_risk` in the policy file,
evaluated by `screenfuse.policy.community_risk`) from the number of persons with each status
whose fused address is in it; a community with nobody gets the default (last) level. Pure.
"""
from __future__ import annotations

import json

import pandas as pd

from screenfuse.policy import NO_STATUS, Policy, community_risk

RISK_COLUMNS = ["batch_id", "street", "community", "risk_level", "risk_label", "risk_rank", "persons",
                "counts_json", "actions", "policy_version"]


def community_levels(persons: pd.DataFrame, communities: pd.DataFrame, policy: Policy, batch_id: str) -> pd.DataFrame:
    """`persons`: person_id, status, community (routed; '' when unknown); `communities`: street,
    community (the gazetteer) → one row per community (RISK_COLUMNS)."""
    statuses = [s for s in policy.status_priority if s != NO_STATUS]
    living = persons[(persons["community"].fillna("") != "") & (persons["status"] != NO_STATUS)]
    counts = (living.groupby(["community", "status"]).size().unstack(fill_value=0)
              .reindex(columns=statuses, fill_value=0))
    frame = communities[["street", "community"]].drop_duplicates("community").set_index("community")
    frame = frame.join(counts).fillna(0)
    for status in statuses:
        frame[status] = frame[status].astype(int)
    levels = community_risk(frame[statuses], policy)
    by_name = {level.name: (i, level) for i, level in enumerate(policy.risk_levels)}
    out = pd.DataFrame({
        "batch_id": batch_id,
        "street": frame["street"].to_numpy(),
        "community": frame.index.to_numpy(),
        "risk_level": levels.to_numpy(),
        "risk_label": [by_name[x][1].label for x in levels],
        "risk_rank": [by_name[x][0] + 1 for x in levels],  # 1 = highest
        "persons": frame[statuses].sum(axis=1).astype(int).to_numpy(),
        "counts_json": [json.dumps({s: int(v) for s, v in zip(statuses, row) if v}, ensure_ascii=False)
                        for row in frame[statuses].to_numpy()],
        "actions": [";".join(by_name[x][1].actions) for x in levels],
        "policy_version": policy.version,
    }, columns=RISK_COLUMNS)
    return out.sort_values(["street", "community"]).reset_index(drop=True)
