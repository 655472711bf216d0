"""Fuse: one golden record per person, with its status, measure and responsible street.

Each golden field names the source record it came from (`<field>_source`), so a user can trace
every value back to the row a unit sent. Which facts give which status, what each status needs
and how long it lasts come from the run's policy (`screenfuse.policy`); its version is recorded
on every person.
"""
from __future__ import annotations

import pandas as pd

from screenfuse import policy as policies
from screenfuse.gazetteer import DISTRICT_LIST
from screenfuse.policy import Policy

FEED_TRUST = {"hospital": 0, "police": 1, "community": 2, "checkpoint": 3}  # identity fields
ADDRESS_TRUST = {"community": 0, "police": 1, "hospital": 2, "checkpoint": 3}  # where people live


def record_status(records: pd.DataFrame, policy: Policy) -> pd.Series:
    """What each source record on its own says about the person's status (the policy's rules)."""
    return policies.record_status(records, policy)


def record_expiry(records: pd.DataFrame, status: pd.Series, policy: Policy) -> pd.Series:
    """When each record's status ends on its own (UTC, ISO text), or "" if it does not.

    A status listed under the policy's `expires` lasts the `days` of its measure, counted from
    the record's own event time (local time in the policy's time zone)."""
    days = policy.expiry_days
    out = pd.Series("", index=records.index, dtype=object)
    lasting = status.map(days)
    mask = lasting.notna()
    if not mask.any():
        return out
    taken = pd.to_datetime(records.loc[mask, "event_time"].fillna("").astype(str).str.slice(0, 19),
                           format="mixed", errors="coerce")
    local = taken.dt.tz_localize(policy.zero_report.timezone, ambiguous="NaT", nonexistent="NaT")
    ends = local.dt.tz_convert("UTC") + pd.to_timedelta(lasting[mask].astype(float), unit="D")
    out[mask] = ends.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    return out


def fuse_persons(records: pd.DataFrame, links: pd.DataFrame, gazetteer_streets: list[str],
                 as_of: str, policy: Policy) -> pd.DataFrame:
    """Linked source records → one golden record per person, as of `as_of` (UTC, ISO text).

    A record whose status has ended by `as_of` (see `record_expiry`) no longer supports it; the
    person's status is the highest one their other records still support. The columns
    `expired_status`, `expired_reason` and `expired_at` say which status ended, by which records
    and when (the status history records the expiry)."""
    rec = records.merge(links[["source_record_id", "person_id"]], on="source_record_id", how="inner")
    text_columns = rec.select_dtypes(exclude="number").columns
    rec[text_columns] = rec[text_columns].fillna("")
    rank = policy.status_rank
    rec["record_status"] = record_status(rec, policy)
    rec["expires_at"] = record_expiry(rec, rec["record_status"], policy)
    expired = (rec["expires_at"] != "") & (rec["expires_at"] <= as_of)
    ended = _ended_by_later_records(rec, rec["record_status"].where(~expired, policies.NO_STATUS), policy)
    rec["active_status"] = rec["record_status"].where(~expired & ~ended, policies.NO_STATUS)
    rec["status_rank"] = rec["active_status"].map(rank)
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
    persons["status"] = status["active_status"]
    persons["status_source"] = status["source_record_id"]
    supporting = rec[~expired & ~ended & (rec["record_status"] == rec["person_id"].map(persons["status"]))]
    persons["status_reason"] = _joined(supporting, persons.index)
    persons["status_expires_at"] = supporting.groupby("person_id")["expires_at"].max().reindex(persons.index).fillna("")
    # the highest status that has ended on its own, if it ranks above what the person has now
    gone = rec[expired].assign(gone_rank=rec.loc[expired, "record_status"].map(rank))
    top = gone.sort_values(["person_id", "gone_rank"]).drop_duplicates("person_id").set_index("person_id")["record_status"]
    top = top[top.map(rank) < persons["status"].reindex(top.index).map(rank)]
    persons["expired_status"] = top.reindex(persons.index).fillna("")
    ended = gone[gone["record_status"] == gone["person_id"].map(persons["expired_status"])]
    persons["expired_reason"] = _joined(ended, persons.index)
    persons["expired_at"] = ended.groupby("person_id")["expires_at"].max().reindex(persons.index).fillna("")

    persons["measure"] = persons["status"].map(dict(policy.measures)).fillna("")
    verify = policy.verify_first
    if verify is not None:
        # a person nobody of `until_feed` has seen yet (no grid worker at the door) is verified first
        unvisited = persons["status"].isin(verify.statuses) & ~persons["feeds"].str.split(",").map(
            lambda feeds: verify.until_feed in feeds)
        persons.loc[unvisited, "measure"] = verify.measure
    persons["status_time"] = status["event_time"]
    persons["measure"] = _after_discharge(persons["measure"], persons["status"], status["event_time"], as_of, policy)
    persons["street"] = persons["street"].where(persons["street"].isin(gazetteer_streets), "")
    persons["responsible_list"] = persons["street"].where(persons["street"] != "", DISTRICT_LIST)
    persons["policy_version"] = policy.version
    persons["policy_sha256"] = policy.sha256
    persons["as_of"] = as_of
    return persons.reset_index()


def _after_discharge(measure: pd.Series, status: pd.Series, status_time: pd.Series, as_of: str, policy: Policy) -> pd.Series:
    """A discharged person's measure is the after-discharge step they are in (14 days centralized
    isolation, 14 days home observation, then follow-up with the default policy), counted in
    local days from the discharge record; the status's own measure when the date is unreadable."""
    out = status == "discharged"
    if not out.any() or not policy.after_discharge:
        return measure
    zone = policy.zero_report.timezone
    taken = pd.to_datetime(status_time[out].fillna("").astype(str).str.slice(0, 19), format="mixed", errors="coerce")
    today = pd.Timestamp(as_of).tz_convert(zone).tz_localize(None).normalize()
    step = policies.after_discharge_measure((today - taken.dt.normalize()).dt.days, policy)
    measure = measure.copy()
    measure[out] = step.where(step != "", measure[out])
    return measure


def next_change(persons: pd.DataFrame, as_of: str, policy: Policy) -> pd.Series:
    """When each person's status or measure next changes with time alone (UTC ISO, "" if never):
    the status's expiry, or for a discharged person the start of the next after-discharge step
    (local midnight). Runs look again at persons whose time has come (`person.next_change_at`)."""
    out = persons["status_expires_at"].fillna("").astype(str).where(lambda t: t > as_of, "")
    discharged = persons["status"] == "discharged"
    if discharged.any() and policy.after_discharge:
        zone = policy.zero_report.timezone
        since = pd.to_datetime(persons.loc[discharged, "status_time"].fillna("").astype(str).str.slice(0, 10),
                               format="mixed", errors="coerce")
        today = pd.Timestamp(as_of).tz_convert(zone).tz_localize(None).normalize()
        bounds, start = [], 0
        for step in policy.after_discharge:
            if step.days is None:
                break
            start += step.days
            bounds.append(start)
        best = pd.Series(pd.NaT, index=since.index, dtype="datetime64[ns]")
        for days in reversed(bounds):
            moment = since + pd.to_timedelta(days, unit="D")
            best = best.where(~(moment > today), moment)
        text = best.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        mine = out[discharged]
        text = text.fillna("")
        out[discharged] = text.where((mine == "") | ((text != "") & (text < mine)), mine)
    return out


def _ended_by_later_records(rec: pd.DataFrame, status: pd.Series, policy: Policy) -> pd.Series:
    """Records whose status a later record of the same person ends (the policy's `ends`: 排除
    after 疑似, 出院 after 确诊, …); the way back of the seed-003 lifecycle."""
    ended = pd.Series(False, index=rec.index)
    for ender, statuses in policy.ends.items():
        latest = rec.loc[status == ender].groupby("person_id")["event_time"].max()
        if latest.empty:
            continue
        until = rec["person_id"].map(latest)
        ended |= status.isin(statuses) & until.notna() & (rec["event_time"] <= until.fillna(""))
    return ended


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


def _joined(records: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Per person, the given records' ids as a sorted ';'-joined list ("" for none)."""
    if records.empty:
        return pd.Series("", index=index, dtype=object)
    return records.groupby("person_id")["source_record_id"].agg(lambda s: ";".join(sorted(s))).reindex(index).fillna("")


def person_counts_by_status(persons: pd.DataFrame, policy: Policy) -> dict[str, int]:
    counts = persons["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in policy.status_priority}
