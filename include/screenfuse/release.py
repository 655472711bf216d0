"""Release from isolation or medical observation (解除隔离 / 解除医学观察), from the records.

A status listed under the policy's `release` (无症状, 密接) does not end on its own: it ends when
its observation period is over (`after_days`, counted from the latest record that gave it: the
latest positive, the last contact) *and* the person has `negative_tests` negative results taken
after that record (a hospital's 核酸 阴性, a mass-screening tube 阴性). From that moment, the later of
the two, the person has the status `then` (解除隔离, measure: home health monitoring) for that
status's measure days, unless a higher status holds. A person whose period is over without the
negatives stays in isolation, with the `waiting_measure` (sample before release). A hospital can
also release explicitly (category 解除医学观察/解除隔离: a rule and `ends`).

Vectorized per person over the record frame (`PerPerson`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from screenfuse.per_person import PerPerson
from screenfuse.policy_rules import matches_any
from screenfuse.policy_types import Policy


@dataclass
class Releases:
    ended: np.ndarray  # records whose status a release has ended by as_of
    persons: pd.DataFrame  # per released or pending person: status, released_at, period_end, source, reason


def releases(rec: pd.DataFrame, by: PerPerson, active: np.ndarray, history: np.ndarray, taken: pd.Series,
             policy: Policy, as_of: str) -> Releases:
    """Which persons a release has freed by `as_of` (local times, the policy's time zone). `taken`:
    each record's event (`record_event_time`), `history`: its moment in the person's history."""
    ended = np.zeros(len(rec), dtype=bool)
    parts = []
    if not policy.release:
        return Releases(ended, pd.DataFrame())
    today = pd.Timestamp(as_of).tz_convert(policy.zero_report.timezone).tz_localize(None)
    for spec in policy.release:
        held = active & (rec["record_status"] == spec.status).to_numpy()
        if not held.any():
            continue
        group = by.group
        start = np.full(len(by.index), np.iinfo(np.int64).min)
        np.maximum.at(start, group[held], history[held])
        ends = (taken[held] + pd.Timedelta(days=spec.after_days)).to_numpy(dtype="datetime64[ns]").astype(np.int64)
        period_end = np.full(len(by.index), np.iinfo(np.int64).min)
        np.maximum.at(period_end, group[held], ends)
        holder = np.zeros(len(by.index), dtype=bool)
        holder[group[held]] = True
        negative = matches_any(rec, policy, spec.negative) & holder[group] & (history > start[group])
        rows = np.flatnonzero(negative)
        rows = rows[np.lexsort([by.id[rows], history[rows], group[rows]])]  # per person, oldest first
        first = np.r_[True, group[rows][1:] != group[rows][:-1]] if len(rows) else np.zeros(0, dtype=bool)
        nth = np.arange(len(rows)) - np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
        counted = rows[nth < spec.negative_tests]
        enough = rows[nth == spec.negative_tests - 1]  # the negative that completes the count
        who = np.flatnonzero(holder)
        frame = pd.DataFrame({"release_status": spec.status, "then": spec.then,
                              "period_end": pd.to_datetime(period_end[who]),
                              "released_at": pd.Series(pd.NaT, index=by.index[who], dtype="datetime64[ns]"),
                              "release_source": "", "release_reason": ""}, index=by.index[who])
        if len(enough):
            persons = by.index[group[enough]]
            at = np.maximum(period_end[group[enough]], history[enough])
            frame.loc[persons, "released_at"] = pd.to_datetime(at)
            frame.loc[persons, "release_source"] = rec["source_record_id"].to_numpy()[enough]
            mask = np.zeros(len(rec), dtype=bool)
            mask[counted] = True
            frame["release_reason"] = by.joined(rec["source_record_id"], by.id, ";", mask=mask)[frame.index]
            freed = np.zeros(len(by.index), dtype=bool)
            freed[group[enough]] = pd.to_datetime(at) <= today
            ended |= held & freed[group]
        parts.append(frame)
    persons = pd.concat(parts) if parts else pd.DataFrame()
    return Releases(ended, persons)


def apply_release(persons: pd.DataFrame, found: Releases, policy: Policy, as_of: str) -> pd.DataFrame:
    """The persons with their release: a released person whose status now ranks below `then` has
    `then` from the release moment for its measure's days; a person still held gets the release
    moment as the end of the status (`status_expires_at`), or the `waiting_measure` once the period
    is over without the negatives, and `release_due_at` (when that happens, for `next_change`)."""
    persons["release_due_at"] = ""
    persons["release_waiting"] = ""
    persons["released_at"] = pd.Series(pd.NaT, index=persons.index, dtype="datetime64[ns]")
    if found.persons.empty:
        return persons
    zone = policy.zero_report.timezone
    today = pd.Timestamp(as_of).tz_convert(zone).tz_localize(None)
    rank = policy.status_rank
    utc = lambda moments: moments.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC") \
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")  # noqa: E731
    specs = {spec.status: spec for spec in policy.release}
    for status_name, part in found.persons.groupby("release_status", sort=False):
        spec = specs[status_name]
        days = policy.measure_specs[policy.measures[spec.then]].days
        now = persons.loc[part.index, "status"]
        freed = part["released_at"].notna() & (part["released_at"] <= today)
        until = part["released_at"] + pd.Timedelta(days=days)
        takes = freed & (until > today) & (now.map(rank) > rank[spec.then])
        if takes.any():
            who = takes[takes].index
            persons.loc[who, "status"] = spec.then
            persons.loc[who, "status_source"] = part.loc[who, "release_source"]
            persons.loc[who, "status_reason"] = part.loc[who, "release_reason"]
            persons.loc[who, "status_expires_at"] = utc(until[who])
            persons.loc[who, "released_at"] = part.loc[who, "released_at"]
        held = (now == status_name) & ~freed
        pending = held & part["released_at"].notna()
        persons.loc[pending[pending].index, "status_expires_at"] = utc(part.loc[pending, "released_at"])
        due = held & part["released_at"].isna() & (part["period_end"] > today)
        persons.loc[due[due].index, "release_due_at"] = utc(part.loc[due, "period_end"])
        if spec.waiting_measure:
            waiting = held & part["released_at"].isna() & (part["period_end"] <= today)
            persons.loc[waiting[waiting].index, "release_waiting"] = spec.waiting_measure
    return persons
