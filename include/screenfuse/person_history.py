"""A person's state as a history of facts, not a ranking of all their records.

Each source record reports a fact at a moment: the date of the event it reports (`counts_from`:
返回日期, 末次接触日期, 出院日期) or the record's own time. A later fact ends the earlier ones the
policy's `ends` lists (排除 ends 疑似/发热; 出院 ends 确诊/无症状 and whatever came before the
admission), and what it ends stays ended: an earlier contact link or fever never outranks a later
discharge, while a new fact after it (a new positive, a new contact) counts again. Death is
terminal. Design §7: "A person's state is a history: the latest clinical fact decides, what a fact
ends stays ended, death is terminal."

All per person and vectorized over the record frame (`PerPerson`), no loop over persons.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from screenfuse.per_person import PerPerson
from screenfuse.policy_types import Policy

_NEVER = np.iinfo(np.int64).min  # the moment of a record whose time is unreadable: before everything


def record_event_time(records: pd.DataFrame, status: pd.Series, policy: Policy) -> pd.Series:
    """The local time each record's status counts its days from (naive, the policy's time zone).

    The date of the event the record reports, from the field the policy's `counts_from` names for
    its status (返回日期, 末次接触日期, 出院日期: local midnight of that day), not when a unit
    reported it; the record's own `event_time` for other statuses, and when that field is empty,
    unreadable or after the record itself (a typo). Fields beyond the canonical columns are read
    from `details_json`."""
    return _event_moments(records, status, policy)[0]


def _event_moments(records: pd.DataFrame, status: pd.Series, policy: Policy) -> tuple[pd.Series, np.ndarray]:
    """(`record_event_time`, whether each came from a date field rather than the record's time)."""
    codes, texts = pd.factorize(records["event_time"].fillna("").astype(str).str.slice(0, 19))
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), format="mixed", errors="coerce")  # each distinct text once
    taken = pd.Series(parsed.to_numpy(dtype="datetime64[ns]")[codes] if len(texts) else
                      np.array([], dtype="datetime64[ns]"), index=records.index)
    dated = np.zeros(len(records), dtype=bool)
    for status_name, field_name in policy.counts_from.items():
        mask = (status == status_name).to_numpy()
        if field_name == "event_time" or not mask.any():
            continue
        text = detail_text(records.loc[mask], field_name)
        if text is None:
            continue
        day = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        usable = day.notna() & (taken[mask].isna() | (day <= taken[mask].dt.normalize()))
        taken.loc[usable[usable].index] = day[usable]
        dated[np.flatnonzero(mask)[usable.to_numpy()]] = True
    return taken, dated


def detail_text(records: pd.DataFrame, field_name: str) -> pd.Series | None:
    """A record field as text: the column if the frame has it, else (or where it is empty) the key
    of `details_json` (contract fields beyond the canonical columns); None if neither is there."""
    column = records[field_name].fillna("").astype(str) if field_name in records else None
    if "details_json" not in records:
        return column
    if column is None:
        return records["details_json"].map(lambda d: _detail(d, field_name))
    empty = column == ""
    if empty.any():
        column = column.copy()
        column[empty] = records.loc[empty, "details_json"].map(lambda d: _detail(d, field_name))
    return column


def _detail(details: object, field_name: str) -> str:
    try:
        value = json.loads(details) if isinstance(details, str) and details else {}
    except ValueError:
        return ""
    value = value.get(field_name, "") if isinstance(value, dict) else ""
    return value if isinstance(value, str) else ""


def event_moments(records: pd.DataFrame, status: pd.Series, policy: Policy) -> tuple[pd.Series, np.ndarray]:
    """(`record_event_time`, whether each moment is a date field's day): computed once per fuse and
    handed to `history_time`, the expiry and the release (reading details_json is the costly part)."""
    return _event_moments(records, status, policy)


def history_time(records: pd.DataFrame, status: pd.Series, policy: Policy,
                 moments: tuple[pd.Series, np.ndarray] | None = None) -> np.ndarray:
    """When each record's fact happened, as comparable integers (nanoseconds; unreadable: first).

    The event the record reports (`record_event_time`); a fact known only by its date (出院日期,
    末次接触日期) counts as the end of that day, so a discharge dated 02-12 comes after a 确诊 taken
    on 02-12 at 09:00 and after a last contact on 02-12."""
    taken, dated = moments if moments is not None else _event_moments(records, status, policy)
    moment = taken.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    end_of_day = np.int64(pd.Timedelta(days=1).value - 1)
    known = moment != _NEVER
    moment[dated & known] += end_of_day
    return moment


def ended_by_later_records(by: PerPerson, status: pd.Series, time: np.ndarray, policy: Policy,
                           can_end: np.ndarray | None = None, known: np.ndarray | None = None) -> np.ndarray:
    """Records whose status a later fact of the same person ends (the policy's `ends`: 排除 after
    疑似, 出院 after 确诊, …), later by `time` (`history_time`), the same moment included; the way
    back of the seed-003 lifecycle. Only records in `can_end` (default all: not those whose own
    status has expired) end others. An ended record stays ended whatever happens to its ender.
    `known`: when each record's fact became known, if after its `time` (`known_time`: a screening
    sample's result): a fact ends only what was known by then."""
    if known is not None:
        known = np.maximum(time, known)
    group = by.group
    ended = np.zeros(len(group), dtype=bool)
    for ender, statuses in policy.ends.items():
        is_ender = (status == ender).to_numpy()
        if can_end is not None:
            is_ender = is_ender & can_end
        if not is_ender.any():
            continue
        latest = np.full(len(by.index), _NEVER)
        np.maximum.at(latest, group[is_ender], time[is_ender])
        until = latest[group]
        has_ender = np.zeros(len(by.index), dtype=bool)
        has_ender[group[is_ender]] = True
        ended |= status.isin(statuses).to_numpy() & has_ender[group] & ((time if known is None else known) <= until)
    return ended


def known_time(records: pd.DataFrame) -> np.ndarray | None:
    """When each record's fact became known, as `history_time` integers: a mass-screening sample's
    result time (its status comes from the result, hours after the swab); None without results.
    A fever clinic's 排除 at 09:00 does not end a screening 阳性 swabbed at 08:00 whose result came
    at 10:30: the 排除 was made without it. (Durations and releases still count from the swab.)"""
    if "screening_result_time" not in records:
        return None
    text = records["screening_result_time"].fillna("").astype(str).str.slice(0, 19)
    if not (text != "").any():
        return None
    parsed = pd.to_datetime(text.where(text != ""), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def terminal_records(by: PerPerson, status: pd.Series, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """(records a terminal status silences, records after it) per person. Once a person has a
    record of a terminal status (the policy's `terminal`: 死亡), no other record of theirs supports
    a status, whenever it was taken; those taken after the first terminal record are returned to be
    flagged for data-quality review (a likely identity error), not acted on."""
    terminal = status.isin(policy.terminal).to_numpy()
    none = np.zeros(len(terminal), dtype=bool)
    if not terminal.any():
        return none, none
    first = np.full(len(by.index), np.iinfo(np.int64).max)
    np.minimum.at(first, by.group[terminal], by.time[terminal])
    died = first[by.group]
    silenced = (died != np.iinfo(np.int64).max) & ~terminal
    return silenced, silenced & (by.time > died)
