"""Fuse: one golden record per person, with its status, measure and responsible street.

Each golden field names the source record it came from (`<field>_source`), so a user can trace
every value back to the row a unit sent. Which facts give which status, what each status needs
and how long it lasts come from the run's policy (`screenfuse.policy`); its version is recorded
on every person.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from screenfuse import contacts, release
from screenfuse import policy as policies
from screenfuse.gazetteer import DISTRICT_LIST
from screenfuse.per_person import PerPerson, best, codes, lookup, most_common
from screenfuse.person_history import (
    detail_text, ended_by_later_records, event_moments, history_time, known_time, record_event_time, terminal_records,
)
from screenfuse.policy import Policy
from screenfuse.text_keys import map_by_key

FEED_TRUST = {"hospital": 0, "police": 1, "community": 2, "checkpoint": 3}  # identity fields
ADDRESS_TRUST = {"community": 0, "police": 1, "hospital": 2, "checkpoint": 3}  # where people live


def record_status(records: pd.DataFrame, policy: Policy) -> pd.Series:
    """What each source record on its own says about the person's status (the policy's rules)."""
    return policies.record_status(records, policy)


def record_expiry(records: pd.DataFrame, status: pd.Series, policy: Policy, taken: pd.Series | None = None) -> pd.Series:
    """When each record's status ends on its own (UTC, ISO text), or "" if it does not.

    A status listed under the policy's `expires` lasts the `days` of its measure, counted from
    the record's event (`record_event_time`: the arrival date, the last contact, else the record's
    own time; local time in the policy's time zone)."""
    days = policy.expiry_days
    out = pd.Series("", index=records.index, dtype=object)
    lasting = status.map(days)
    mask = lasting.notna()
    if not mask.any():
        return out
    taken = record_event_time(records.loc[mask], status[mask], policy) if taken is None else taken[mask]
    local = taken.dt.tz_localize(policy.zero_report.timezone, ambiguous="NaT", nonexistent="NaT")
    ends = local.dt.tz_convert("UTC") + pd.to_timedelta(lasting[mask].astype(float), unit="D")
    out[mask] = ends.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    return out


def fuse_persons(records: pd.DataFrame, links: pd.DataFrame, gazetteer_streets: list[str],
                 as_of: str, policy: Policy) -> pd.DataFrame:
    """Linked source records → one golden record per person, as of `as_of` (UTC, ISO text).

    The person's status comes from their history (`person_history`): a record stops supporting its
    status when its days run out by `as_of` (`record_expiry`), when a later fact ends it (`ends`,
    compared by the events' moments) or when negative results release it (`release`); the person's
    status is the highest one their other records still support (or the status a release leads
    to). The columns `expired_status`, `expired_reason` and `expired_at` say which status ended on
    its own, by which records and when (the status history records the expiry). The measure is the
    status's, refined by the case's severity and a contact's index case (`contacts`)."""
    rec = _with_persons(records, links)
    text_columns = rec.select_dtypes(exclude="number").columns
    rec[text_columns] = rec[text_columns].fillna("")
    rank = policy.status_rank
    rec["record_status"] = record_status(rec, policy)
    moments = event_moments(rec, rec["record_status"], policy)  # each record's event, read once
    rec["expires_at"] = record_expiry(rec, rec["record_status"], policy, moments[0])
    expired = ((rec["expires_at"] != "") & (rec["expires_at"] <= as_of)).to_numpy()
    by = PerPerson(rec)
    history = history_time(rec, rec["record_status"], policy, moments)
    ended = ended_by_later_records(by, rec["record_status"], history, policy, can_end=~expired, known=known_time(rec))
    silenced, after_terminal = terminal_records(by, rec["record_status"], policy)
    # a deceased person's statuses do not expire: they ended with the death; nor do those a later fact
    # ended before their days ran out (the history says what ended them)
    expired = expired & ~silenced & ~ended
    ended |= silenced
    freed = release.releases(rec, by, ~expired & ~ended, history, moments[0], policy, as_of)  # 解除隔离 after negatives
    ended |= freed.ended
    rec["active_status"] = rec["record_status"].where(~expired & ~ended, policies.NO_STATUS)
    feed_trust = lookup(rec["feed"], FEED_TRUST, 9)
    address_trust = lookup(rec["feed"], ADDRESS_TRUST, 9)
    # a typed, checked ID first; one converted from 15 digits may carry a digit typed wrong (its check
    # digit is computed), then one failing its check
    id_quality = lookup(rec["id_status"], {"valid": 0, "converted_15": 1, "failed_check": 2}, 3)
    unrouted = (rec["street"] == "").to_numpy().astype(int)
    birth_missing = (rec["birth_date"] == "").to_numpy().astype(int)

    persons = pd.concat([  # every part is indexed by the same person index
        pd.DataFrame({"n_records": by.size,
                      "feeds": by.joined(rec["feed"], codes(rec["feed"]), ",", distinct=True,
                                         none_dtype=rec["feed"].dtype),
                      "first_seen": by.pick(rec["event_time"], by.first([by.time], [True])),
                      "last_seen": by.pick(rec["event_time"], by.first([by.time], [False]))}),
        best(rec, by, "id_number", [id_quality, feed_trust], latest=False),
        most_common(rec, by, "name", feed_trust),
        best(rec, by, "phone", [feed_trust], latest=True),
        best(rec, by, "address", [unrouted, address_trust], latest=True, extra=["street", "community"]),
        best(rec, by, "birth_date", [birth_missing, id_quality], latest=False, extra=["sex"]),
    ], axis=1)
    active_rank = lookup(rec["active_status"], rank, np.nan)
    highest = by.first([active_rank, by.time, by.id], [True, False, True])
    status = rec[["active_status", "source_record_id", "event_time"]].iloc[highest].set_axis(persons.index)
    persons["status"] = status["active_status"]
    persons["status_source"] = status["source_record_id"]
    record_statuses = rec["record_status"].to_numpy()
    supporting = ~expired & ~ended & (record_statuses == persons["status"].to_numpy()[by.group])
    persons["status_reason"] = by.joined(rec["source_record_id"], by.id, ";", mask=supporting)
    expiry = codes(rec["expires_at"])
    persons["status_expires_at"] = by.pick(rec["expires_at"], by.first([expiry], [False], supporting))
    # the highest status that has ended on its own, if it ranks above what the person has now
    record_rank = lookup(rec["record_status"], rank, np.nan)
    top = by.first([record_rank], [True], expired)
    top = top[record_rank[top] < active_rank[highest][by.group[top]]]
    expired_status = np.full(len(persons), "", dtype=object)
    expired_status[by.group[top]] = record_statuses[top]
    persons["expired_status"] = pd.Series(expired_status, index=persons.index, dtype=object)
    gone = expired & (record_statuses == expired_status[by.group])
    persons["expired_reason"] = by.joined(rec["source_record_id"], by.id, ";", mask=gone)
    persons["expired_at"] = by.pick(rec["expires_at"], by.first([expiry], [False], gone))
    persons = release.apply_release(persons, freed, policy, as_of)

    # records after a terminal status (死亡): kept, not acted on, listed for data-quality review
    persons["after_terminal"] = by.joined(rec["source_record_id"], by.id, ";", mask=after_terminal)

    persons["measure"] = persons["status"].map(dict(policy.measures)).fillna("")
    persons["severity"] = _severity(rec, by, supporting, policy)
    for status_name, table in policy.severity_measures.items():
        refined = persons["severity"].map(dict(table)).where(persons["status"] == status_name)
        persons["measure"] = refined.fillna(persons["measure"])  # unknown severity: the status's own measure
    persons["index_status"] = contacts.index_status(rec, by, persons["status"], supporting, policy)
    persons["measure"] = contacts.contact_measure(persons["measure"], persons["status"], persons["index_status"], policy)
    waiting = persons["release_waiting"] != ""  # the period is over, the negative results are not in yet
    persons.loc[waiting, "measure"] = persons.loc[waiting, "release_waiting"]
    verify = policy.verify_first
    if verify is not None:
        # a person nobody of `until_feed` has seen yet (no grid worker at the door) is verified first
        visited = [feeds for feeds in persons["feeds"].unique() if verify.until_feed in feeds.split(",")]
        unvisited = persons["status"].isin(verify.statuses) & ~persons["feeds"].isin(visited)
        persons.loc[unvisited, "measure"] = verify.measure
    persons["status_time"] = status["event_time"]
    # the status's event: the record's own when the status is the record's, else its time ("none")
    own = (rec["active_status"] == rec["record_status"]).to_numpy()[highest]
    since = moments[0].iloc[highest].reset_index(drop=True)
    other = highest[~own]  # few: read again only those records (a copy of every highest record costs seconds)
    if len(other):
        since.iloc[np.flatnonzero(~own)] = record_event_time(rec.iloc[other], rec["active_status"].iloc[other],
                                                             policy).to_numpy()
    persons["status_since"] = since.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("").set_axis(persons.index)
    released = persons["released_at"].notna()  # a released person's status counts from the release
    if released.any():
        moment = persons.loc[released, "released_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
        persons.loc[released, "status_since"] = moment
        persons.loc[released, "status_time"] = moment
    persons["measure"] = _after_discharge(persons["measure"], persons["status"], persons["status_since"], as_of, policy)
    persons.loc[persons["status"].isin(policy.terminal), "measure"] = ""  # never a measure after death
    persons["street"] = persons["street"].where(persons["street"].isin(gazetteer_streets), "")
    persons["responsible_list"] = persons["street"].where(persons["street"] != "", DISTRICT_LIST)
    persons["policy_version"] = policy.version
    persons["policy_sha256"] = policy.sha256
    persons["as_of"] = as_of
    return persons.drop(columns=["released_at", "release_waiting"]).reset_index()


def _with_persons(records: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """The records with their `person_id` (an inner join on source_record_id). When every record
    has exactly one link, as a run's do, the record columns are shared, not copied: a first load's
    million records are a GB."""
    person = map_by_key(records["source_record_id"], links["source_record_id"], links["person_id"])
    if links["source_record_id"].is_unique and person.notna().all():
        return records.assign(person_id=person.to_numpy()).reset_index(drop=True)
    return records.merge(links[["source_record_id", "person_id"]], on="source_record_id", how="inner")


def _severity(rec: pd.DataFrame, by: PerPerson, supporting: np.ndarray, policy: Policy) -> pd.Series:
    """Each person's severity (病情分型, the policy's `severity.field`): the latest non-empty one among
    the records supporting their status, for the statuses `severity.measures` names; "" otherwise."""
    wanted = supporting & rec["record_status"].isin(list(policy.severity_measures)).to_numpy()
    text = detail_text(rec.loc[wanted], policy.severity_field) if wanted.any() else None
    if text is None:
        return pd.Series("", index=by.index, dtype=object)
    severity = pd.Series("", index=rec.index, dtype=object)
    severity[wanted] = text.str.strip()
    return by.pick(severity, by.first([by.time], [False], wanted & (severity != "").to_numpy())).astype(object)


def _after_discharge(measure: pd.Series, status: pd.Series, status_time: pd.Series, as_of: str, policy: Policy) -> pd.Series:
    """A discharged person's measure is the after-discharge step they are in (14 days centralized
    isolation, 14 days home observation, then follow-up with the default policy), counted in
    local days from the discharge (`status_since`: 出院日期, else the discharge record's time); the
    status's own measure when the date is unreadable."""
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
    if "release_due_at" in persons:  # a release period ends: the waiting measure begins
        due = persons["release_due_at"].fillna("").astype(str).where(lambda t: t > as_of, "")
        out = out.where((due == "") | ((out != "") & (out <= due)), due)
    discharged = persons["status"] == "discharged"
    if discharged.any() and policy.after_discharge:
        zone = policy.zero_report.timezone
        counted = "status_since" if "status_since" in persons else "status_time"  # the discharge date
        since = pd.to_datetime(persons.loc[discharged, counted].fillna("").astype(str).str.slice(0, 10),
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


def person_counts_by_status(persons: pd.DataFrame, policy: Policy) -> dict[str, int]:
    counts = persons["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in policy.status_priority}
