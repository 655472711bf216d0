"""Which arrival class each record is in (the policy's `arrivals`, seed 002 l.24), vectorized.

A record is an arrival when its `came_from` (来源地 / 旅居史 / 返回地) names a place (not empty, not one
of `not_arrivals`) and it arrived at most `within_days` days before the record. The lists are read
on the record's *arrival day* (seed 002 l.26: "从3月20日零点起,新增澳大利亚、马来西亚等8国"): its
`arrival_date`, or, when that is empty, unreadable or after the record (a typo), the record's own
day (`event_time`). A place is on its list on that day when `from ≤ day ≤ until` (a record with no
readable day at all is judged by every place on any list: the stricter reading). The first class
(in the file's order) one of whose places is contained in `came_from` takes the record; a class
with `any_place` takes every arrival left. A refinement class (`of`) then takes the records of the
classes it refines whose travel purpose contains one of `purpose_contains` and whose planned
departure is at most `leaves_within_days` days after the arrival day (seed 002 l.28: business
travellers "在入境进沪之日起的7天内离沪").

One pass per place over the distinct `came_from` values and one per class over the frame: no
loop over records.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from screenfuse.policy_types import DEPARTURE_FIELD, PURPOSE_FIELD, Arrivals


def arrival_classes(records: pd.DataFrame, arrivals: Arrivals) -> pd.Series:
    """Each record's arrival class name ("" when it is no arrival or no class takes it)."""
    n = len(records)
    came = _text(records, "came_from")
    codes, distinct = pd.factorize(came)
    distinct = pd.Series(distinct, dtype=object)
    is_place = ((distinct != "") & ~distinct.isin(arrivals.not_arrivals)).to_numpy()
    taken_day = _day(_text(records, "event_time"))
    arrival_day = _day(_text(records, "arrival_date"))
    dated = ~np.isnat(arrival_day) & (np.isnat(taken_day) | (arrival_day <= taken_day))
    day = np.where(dated, arrival_day, taken_day)  # the day the lists are read on
    arrival = is_place[codes] if n else np.zeros(0, dtype=bool)
    if arrivals.within_days is not None:
        arrival &= ~dated | (arrival_day >= taken_day - np.timedelta64(arrivals.within_days, "D"))
    names = np.array(["", *(c.name for c in arrivals.classes)], dtype=object)
    chosen = np.zeros(n, dtype=np.int64)  # 0: no class; i + 1: arrivals.classes[i]
    for i, cls in enumerate(arrivals.classes):
        if cls.refines:
            continue
        free = arrival & (chosen == 0)
        if cls.any_place:
            chosen[free] = i + 1
            continue
        hit = np.zeros(n, dtype=bool)
        for place in cls.places:
            named = distinct.str.contains("|".join(re.escape(s) for s in place.spellings), regex=True).to_numpy(dtype=bool)
            on_list = np.ones(n, dtype=bool)
            if place.since is not None:
                on_list &= np.isnat(day) | (day >= np.datetime64(place.since, "D"))
            if place.until is not None:
                on_list &= np.isnat(day) | (day <= np.datetime64(place.until, "D"))
            hit |= named[codes] & on_list
        chosen[free & hit] = i + 1
    for i, cls in enumerate(arrivals.classes):
        if not cls.refines:
            continue
        refined = np.isin(names[chosen], cls.of)
        if not refined.any():
            continue
        if cls.purpose_contains:
            purpose = detail_field(records, PURPOSE_FIELD, refined)
            refined &= purpose.str.contains("|".join(re.escape(p) for p in cls.purpose_contains), regex=True)\
                .to_numpy(dtype=bool)
        if cls.leaves_within_days is not None:
            leaves = _day(detail_field(records, DEPARTURE_FIELD, refined))
            refined &= ~np.isnat(leaves) & ~np.isnat(day) & (leaves >= day) \
                & (leaves <= day + np.timedelta64(cls.leaves_within_days, "D"))
        chosen[refined] = i + 1
    return pd.Series(names[chosen], index=records.index, dtype=object)


def _text(records: pd.DataFrame, column: str) -> pd.Series:
    if column not in records:
        return pd.Series("", index=records.index, dtype=object)
    return records[column].fillna("").astype(str).str.strip()


def _day(text: pd.Series) -> np.ndarray:
    """The day (YYYY-MM-DD at the start of the text) as datetime64[D]; NaT when unreadable."""
    codes, distinct = pd.factorize(text.str.slice(0, 10))
    parsed = pd.to_datetime(pd.Series(distinct, dtype=object), format="%Y-%m-%d", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[D]")[codes] if len(distinct) else np.full(len(text), np.datetime64("NaT", "D"))


def detail_field(records: pd.DataFrame, field: str, mask: np.ndarray) -> pd.Series:
    """A contract field beyond the canonical columns as text, for the rows in `mask` ("" elsewhere):
    the column when the frame has it, else the key of `details_json` (the ingest writes it as
    `"field": "value"`), read with one regular expression over the column."""
    out = pd.Series("", index=records.index, dtype=object)
    if field in records:
        out[mask] = records.loc[mask, field].fillna("").astype(str).str.strip()
    if "details_json" in records:
        empty = mask & (out == "").to_numpy()
        if empty.any():
            pattern = '"' + re.escape(field) + r'":\s*"((?:[^"\\]|\\.)*)"'
            found = records.loc[empty, "details_json"].fillna("").astype(str).str.extract(pattern, expand=False)
            out[empty] = found.fillna("").str.strip().to_numpy()
    return out
