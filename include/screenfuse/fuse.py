"""Fuse: one golden record per person, with its status, measure and responsible street.

Each golden field names the source record it came from (`<field>_source`), so a user can trace
every value back to the row a unit sent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from screenfuse.gazetteer import DISTRICT_LIST

# Highest first; a person's status is the highest one any of their records supports.
STATUS_PRIORITY = ["confirmed", "asymptomatic", "suspected", "fever", "close_contact", "key_area_arrival", "cleared", "none"]
STATUS_LABELS = {
    "confirmed": "确诊", "asymptomatic": "无症状", "suspected": "疑似", "fever": "发热",
    "close_contact": "密接", "key_area_arrival": "重点地区来返", "cleared": "排除", "none": "无",
}
HOSPITAL_CATEGORIES = {"确诊": "confirmed", "无症状": "asymptomatic", "疑似": "suspected", "发热": "fever", "排除": "cleared"}
FEED_TRUST = {"hospital": 0, "police": 1, "community": 2, "checkpoint": 3}  # identity fields
ADDRESS_TRUST = {"community": 0, "police": 1, "hospital": 2, "checkpoint": 3}  # where people live


@dataclass(frozen=True)
class Policy:
    """Status rules and measures (a later version reads these from a policy file)."""

    version: str = "builtin-1"
    fever_threshold: float = 37.3
    key_areas: tuple[str, ...] = ("境外", "韩国", "日本", "意大利", "伊朗", "湖北")
    measures: dict = field(default_factory=lambda: {
        "confirmed": "transfer_designated_hospital",
        "asymptomatic": "centralized_isolation_14d",
        "suspected": "transfer_designated_hospital",
        "fever": "transfer_fever_clinic",
        "close_contact": "centralized_isolation_14d",
        "key_area_arrival": "home_isolation_14d",
    })
    hours_to_act: dict = field(default_factory=lambda: {
        "transfer_designated_hospital": 2, "transfer_fever_clinic": 2, "centralized_isolation_14d": 6,
        "home_isolation_14d": 24, "door_to_door_verification": 24,
    })


DEFAULT_POLICY = Policy()
MEASURE_LABELS = {
    "transfer_designated_hospital": "转运定点医院", "transfer_fever_clinic": "转运发热门诊",
    "centralized_isolation_14d": "集中隔离14天", "home_isolation_14d": "居家隔离14天",
    "door_to_door_verification": "上门核查", "health_monitoring": "健康管理",
}


def record_status(records: pd.DataFrame, policy: Policy = DEFAULT_POLICY) -> pd.Series:
    """What each source record on its own says about the person's status."""
    status = pd.Series("none", index=records.index, dtype=object)
    key_area = records["came_from"].fillna("").str.contains("|".join(policy.key_areas)) if policy.key_areas else False
    status[key_area] = "key_area_arrival"
    status[records["contact_of_name"].fillna("").ne("") | records["contact_of_id"].fillna("").ne("")] = "close_contact"
    fever = (records["temperature"].astype(float) >= policy.fever_threshold) | records["action"].fillna("").str.contains("发热门诊")
    status[fever & (records["feed"] != "hospital")] = "fever"
    from_hospital = records["category"].fillna("").map(HOSPITAL_CATEGORIES)
    hospital_rows = (records["feed"] == "hospital") & from_hospital.notna()
    rank = {s: i for i, s in enumerate(STATUS_PRIORITY)}
    # a hospital category outranks weaker facts, but "cleared" does not erase a fever seen elsewhere
    better = hospital_rows & (from_hospital.map(rank).fillna(99) < status.map(rank))
    status[better] = from_hospital[better]
    return status


def fuse_persons(records: pd.DataFrame, links: pd.DataFrame, gazetteer_streets: list[str],
                 as_of: str, policy: Policy = DEFAULT_POLICY) -> pd.DataFrame:
    """Linked source records → one golden record per person."""
    rec = records.merge(links[["source_record_id", "person_id"]], on="source_record_id", how="inner")
    text_columns = rec.select_dtypes(exclude="number").columns
    rec[text_columns] = rec[text_columns].fillna("")
    rec["record_status"] = record_status(rec, policy)
    rec["status_rank"] = rec["record_status"].map({s: i for i, s in enumerate(STATUS_PRIORITY)})
    rec["feed_trust"] = rec["feed"].map(FEED_TRUST).fillna(9)
    rec["address_trust"] = rec["feed"].map(ADDRESS_TRUST).fillna(9)
    rec["id_quality"] = rec["id_status"].map({"valid": 0, "converted_15": 0, "failed_check": 1}).fillna(2)

    persons = rec.groupby("person_id").agg(
        n_records=("source_record_id", "size"),
        feeds=("feed", lambda s: ",".join(sorted(set(s)))),
        first_seen=("event_time", "min"),
        last_seen=("event_time", "max"),
    )
    persons = persons.join(_best(rec, "id_number", ["id_quality", "feed_trust"], latest=False))
    persons = persons.join(_most_common(rec, "name"))
    persons = persons.join(_best(rec, "phone", ["feed_trust"], latest=True))
    routed = rec.assign(unrouted=(rec["street"] == "").astype(int))
    persons = persons.join(_best(routed, "address", ["unrouted", "address_trust"], latest=True,
                                 extra=["street", "community"]))
    persons = persons.join(_best(rec.assign(birth_missing=(rec["birth_date"] == "").astype(int)),
                                 "birth_date", ["birth_missing", "id_quality"], latest=False, extra=["sex"]))
    status = (
        rec.sort_values(["person_id", "status_rank", "event_time", "source_record_id"], ascending=[True, True, False, True])
        .drop_duplicates("person_id").set_index("person_id")
    )
    persons["status"] = status["record_status"]
    persons["status_source"] = status["source_record_id"]
    persons["status_reason"] = _status_reasons(rec, persons["status"])
    persons["measure"] = persons["status"].map(policy.measures).fillna("")
    # an arrival nobody has visited at home yet is verified door to door first
    unvisited = (persons["status"] == "key_area_arrival") & ~persons["feeds"].str.contains("community")
    persons.loc[unvisited, "measure"] = "door_to_door_verification"
    persons["street"] = persons["street"].where(persons["street"].isin(gazetteer_streets), "")
    persons["responsible_list"] = persons["street"].where(persons["street"] != "", DISTRICT_LIST)
    persons["policy_version"] = policy.version
    persons["as_of"] = as_of
    return persons.reset_index()


def _best(rec: pd.DataFrame, column: str, order: list[str], latest: bool, extra: list[str] | None = None) -> pd.DataFrame:
    """Per person, the value of `column` ranked by `order` (then newest or oldest).

    Records where `column` and every `extra` column are empty do not compete."""
    present = rec[column] != ""
    for other in extra or []:
        present |= rec[other] != ""
    candidates = rec[present]
    ranked = candidates.sort_values(
        ["person_id", *order, "event_time", "source_record_id"],
        ascending=[True, *([True] * len(order)), not latest, True],
    ).drop_duplicates("person_id").set_index("person_id")
    out = ranked[[column, *(extra or [])]].copy()
    out[f"{column}_source"] = ranked["source_record_id"]
    return out


def _most_common(rec: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per person, the value seen most often (ties: the most trusted feed, then the record id)."""
    candidates = rec[rec[column] != ""].copy()
    candidates["count"] = candidates.groupby(["person_id", column])[column].transform("size")
    ranked = candidates.sort_values(["person_id", "count", "feed_trust", "source_record_id"],
                                    ascending=[True, False, True, True]).drop_duplicates("person_id").set_index("person_id")
    return pd.DataFrame({column: ranked[column], f"{column}_source": ranked["source_record_id"]})


def _status_reasons(rec: pd.DataFrame, status: pd.Series) -> pd.Series:
    """The source records that support each person's status, as a ';'-joined list."""
    supporting = rec[rec["record_status"] == rec["person_id"].map(status)]
    return supporting.groupby("person_id")["source_record_id"].agg(lambda s: ";".join(sorted(s))).reindex(status.index).fillna("")


def person_counts_by_status(persons: pd.DataFrame) -> dict[str, int]:
    counts = persons["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in STATUS_PRIORITY}
