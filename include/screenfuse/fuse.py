"""Fuse: one golden record per person, with its status, measure and responsible street.

Each golden field names the source record it came from (`<field>_source`), so a user can trace
every value back to the row a unit sent. Which facts give which status, what each status needs
and how long it lasts come from the run's policy (`screenfuse.policy`); its version is recorded
on every person.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import take

from screenfuse import policy as policies
from screenfuse.gazetteer import DISTRICT_LIST
from screenfuse.policy import Policy

FEED_TRUST = {"hospital": 0, "police": 1, "community": 2, "checkpoint": 3}  # identity fields
ADDRESS_TRUST = {"community": 0, "police": 1, "hospital": 2, "checkpoint": 3}  # where people live


def record_status(records: pd.DataFrame, policy: Policy) -> pd.Series:
    """What each source record on its own says about the person's status (the policy's rules)."""
    return policies.record_status(records, policy)


def record_event_time(records: pd.DataFrame, status: pd.Series, policy: Policy) -> pd.Series:
    """The local time each record's status counts its days from (naive, the policy's time zone).

    The date of the event the record reports, from the field the policy's `counts_from` names for
    its status (返回日期, 末次接触日期, 出院日期: local midnight of that day), not when a unit
    reported it; the record's own `event_time` for other statuses, and when that field is empty,
    unreadable or after the record itself (a typo). Fields beyond the canonical columns are read
    from `details_json`."""
    taken = pd.to_datetime(records["event_time"].fillna("").astype(str).str.slice(0, 19),
                           format="mixed", errors="coerce")
    for status_name, field_name in policy.counts_from.items():
        mask = (status == status_name).to_numpy()
        if field_name == "event_time" or not mask.any():
            continue
        if field_name in records:
            text = records.loc[mask, field_name].fillna("").astype(str)
        elif "details_json" in records:
            text = records.loc[mask, "details_json"].map(lambda d: _detail(d, field_name))
        else:
            continue
        day = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        usable = day.notna() & (taken[mask].isna() | (day <= taken[mask].dt.normalize()))
        taken.loc[usable[usable].index] = day[usable]
    return taken


def _detail(details: object, field_name: str) -> str:
    import json

    try:
        value = json.loads(details) if isinstance(details, str) and details else {}
    except ValueError:
        return ""
    value = value.get(field_name, "") if isinstance(value, dict) else ""
    return value if isinstance(value, str) else ""


def record_expiry(records: pd.DataFrame, status: pd.Series, policy: Policy) -> pd.Series:
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
    taken = record_event_time(records.loc[mask], status[mask], policy)
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
    expired = ((rec["expires_at"] != "") & (rec["expires_at"] <= as_of)).to_numpy()
    by = _PerPerson(rec)
    ended = _ended_by_later_records(by, rec["record_status"].where(~expired, policies.NO_STATUS), policy)
    silenced, after_terminal = _terminal(by, rec["record_status"], policy)
    expired = expired & ~silenced  # a deceased person's statuses do not expire: they ended with the death
    ended |= silenced
    rec["active_status"] = rec["record_status"].where(~expired & ~ended, policies.NO_STATUS)
    feed_trust = _lookup(rec["feed"], FEED_TRUST, 9)
    address_trust = _lookup(rec["feed"], ADDRESS_TRUST, 9)
    id_quality = _lookup(rec["id_status"], {"valid": 0, "converted_15": 0, "failed_check": 1}, 2)
    unrouted = (rec["street"] == "").to_numpy().astype(int)
    birth_missing = (rec["birth_date"] == "").to_numpy().astype(int)

    persons = pd.concat([  # every part is indexed by the same person index
        pd.DataFrame({"n_records": by.size,
                      "feeds": by.joined(rec["feed"], _codes(rec["feed"]), ",", distinct=True,
                                         none_dtype=rec["feed"].dtype),
                      "first_seen": by.pick(rec["event_time"], by.first([by.time], [True])),
                      "last_seen": by.pick(rec["event_time"], by.first([by.time], [False]))}),
        _best(rec, by, "id_number", [id_quality, feed_trust], latest=False),
        _most_common(rec, by, "name", feed_trust),
        _best(rec, by, "phone", [feed_trust], latest=True),
        _best(rec, by, "address", [unrouted, address_trust], latest=True, extra=["street", "community"]),
        _best(rec, by, "birth_date", [birth_missing, id_quality], latest=False, extra=["sex"]),
    ], axis=1)
    active_rank = _lookup(rec["active_status"], rank, np.nan)
    highest = by.first([active_rank, by.time, by.id], [True, False, True])
    status = rec[["active_status", "source_record_id", "event_time"]].iloc[highest].set_axis(persons.index)
    persons["status"] = status["active_status"]
    persons["status_source"] = status["source_record_id"]
    record_statuses = rec["record_status"].to_numpy()
    supporting = ~expired & ~ended & (record_statuses == persons["status"].to_numpy()[by.group])
    persons["status_reason"] = by.joined(rec["source_record_id"], by.id, ";", mask=supporting)
    expiry = _codes(rec["expires_at"])
    persons["status_expires_at"] = by.pick(rec["expires_at"], by.first([expiry], [False], supporting))
    # the highest status that has ended on its own, if it ranks above what the person has now
    record_rank = _lookup(rec["record_status"], rank, np.nan)
    top = by.first([record_rank], [True], expired)
    top = top[record_rank[top] < active_rank[highest][by.group[top]]]
    expired_status = np.full(len(persons), "", dtype=object)
    expired_status[by.group[top]] = record_statuses[top]
    persons["expired_status"] = pd.Series(expired_status, index=persons.index, dtype=object)
    gone = expired & (record_statuses == expired_status[by.group])
    persons["expired_reason"] = by.joined(rec["source_record_id"], by.id, ";", mask=gone)
    persons["expired_at"] = by.pick(rec["expires_at"], by.first([expiry], [False], gone))

    # records after a terminal status (死亡): kept, not acted on, listed for data-quality review
    persons["after_terminal"] = by.joined(rec["source_record_id"], by.id, ";", mask=after_terminal)

    persons["measure"] = persons["status"].map(dict(policy.measures)).fillna("")
    verify = policy.verify_first
    if verify is not None:
        # a person nobody of `until_feed` has seen yet (no grid worker at the door) is verified first
        visited = [feeds for feeds in persons["feeds"].unique() if verify.until_feed in feeds.split(",")]
        unvisited = persons["status"].isin(verify.statuses) & ~persons["feeds"].isin(visited)
        persons.loc[unvisited, "measure"] = verify.measure
    persons["status_time"] = status["event_time"]
    since = record_event_time(rec.iloc[highest], rec["active_status"].iloc[highest], policy)
    persons["status_since"] = since.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("").set_axis(persons.index)
    persons["measure"] = _after_discharge(persons["measure"], persons["status"], persons["status_since"], as_of, policy)
    persons.loc[persons["status"].isin(policy.terminal), "measure"] = ""  # never a measure after death
    persons["street"] = persons["street"].where(persons["street"].isin(gazetteer_streets), "")
    persons["responsible_list"] = persons["street"].where(persons["street"] != "", DISTRICT_LIST)
    persons["policy_version"] = policy.version
    persons["policy_sha256"] = policy.sha256
    persons["as_of"] = as_of
    return persons.reset_index()


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


def _ended_by_later_records(by: _PerPerson, status: pd.Series, policy: Policy) -> np.ndarray:
    """Records whose status a later record of the same person ends (the policy's `ends`: 排除
    after 疑似, 出院 after 确诊, …); the way back of the seed-003 lifecycle."""
    group, time = by.group, by.time
    ended = np.zeros(len(group), dtype=bool)
    for ender, statuses in policy.ends.items():
        is_ender = (status == ender).to_numpy()
        if not is_ender.any():
            continue
        latest = np.full(len(by.index), -1)
        np.maximum.at(latest, group[is_ender], time[is_ender])
        until = latest[group]
        ended |= status.isin(statuses).to_numpy() & (until >= 0) & (time <= until)
    return ended


def _terminal(by: _PerPerson, status: pd.Series, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
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


def _lookup(text: pd.Series, table: dict, default: float) -> np.ndarray:
    """`table[value]` per row, `default` for other values: one look-up per distinct value
    (Series.map on a str column goes row by row)."""
    codes, values = pd.factorize(text, use_na_sentinel=False)
    return np.array([table.get(value, default) for value in values], dtype=float)[codes]


def _codes(text: pd.Series) -> np.ndarray:
    """Integer codes that sort as the text does (equal text, equal code): numpy sorts and
    reductions on them replace groupby min/max/join on text, which run Python per person.
    Hashes the rows and sorts only the distinct values. The text has no missing values."""
    codes, values = pd.factorize(text)
    rank = np.empty(len(values), dtype=np.int64)
    rank[values.argsort()] = np.arange(len(values))
    return rank[codes]


class _PerPerson:
    """Per-person picks and joins over a frame of records with a `person_id`, vectorized: persons
    are the sorted group numbers of `groupby("person_id")`, text sorts by its `_codes`."""

    def __init__(self, rec: pd.DataFrame):
        grouped = rec.groupby("person_id")
        self.size = grouped.size()
        self.index = self.size.index
        self.group = grouped.ngroup().to_numpy()
        self.time = _codes(rec["event_time"])
        self.id = _codes(rec["source_record_id"])

    def first(self, keys: list[np.ndarray], ascending: list[bool], mask: np.ndarray | None = None) -> np.ndarray:
        """Row numbers of each person's first (`mask`ed) row sorted by the numeric `keys`, in
        person order: what `sort_values(["person_id", *keys]).drop_duplicates("person_id")`
        keeps (a stable sort, so full ties keep the input order)."""
        rows = np.arange(len(self.group)) if mask is None else np.flatnonzero(mask)
        keys = [np.asarray(k)[rows] if up else -np.asarray(k)[rows] for k, up in zip(keys, ascending)]
        rows = rows[np.lexsort([*reversed(keys), self.group[rows]])]
        group = self.group[rows]
        return rows[np.r_[True, group[1:] != group[:-1]]] if len(rows) else rows

    def pick(self, values: pd.Series, rows: np.ndarray) -> pd.Series:
        """`values` at the picked rows per person, "" for persons without one; str like the
        groupby reduction it replaces (which keeps the values' dtype when nothing was picked)."""
        out = np.full(len(self.index), "", dtype=object)
        out[self.group[rows]] = values.array.take(rows).to_numpy(dtype=object)
        return pd.Series(out, index=self.index, dtype=None if len(rows) else values.dtype)

    def rows(self, rec: pd.DataFrame, rows: np.ndarray, column: str, extra: list[str] | None = None) -> pd.DataFrame:
        """The picked rows' `column` (and `extra`) with their `<column>_source`, by person; missing
        (NaN) for persons without one, in the records' dtypes, as a join of the picks would give."""
        at = np.full(len(self.index), -1)
        at[self.group[rows]] = rows
        sources = {c: c for c in [column, *(extra or [])]} | {f"{column}_source": "source_record_id"}
        return pd.DataFrame({name: pd.Series(take(rec[c].array, at, allow_fill=True), index=self.index,
                                             dtype=rec[c].dtype) for name, c in sources.items()})

    def joined(self, values: pd.Series, codes: np.ndarray, sep: str, mask: np.ndarray | None = None,
               distinct: bool = False, none_dtype=object) -> pd.Series:
        """Per person, the (`mask`ed) values sorted (by their `_codes`) and joined by `sep` ("" for
        none); `distinct` drops repeats. Concatenates along the sorted rows (np.add.reduceat on str
        objects). str, or `none_dtype` when no row is joined (as the code this replaced gave)."""
        rows = np.arange(len(self.group)) if mask is None else np.flatnonzero(mask)
        if not len(rows):
            return pd.Series("", index=self.index, dtype=none_dtype)
        rows = rows[np.lexsort([codes[rows], self.group[rows]])]
        group, codes = self.group[rows], codes[rows]
        if distinct:
            keep = np.r_[True, (group[1:] != group[:-1]) | (codes[1:] != codes[:-1])]
            rows, group = rows[keep], group[keep]
        first = np.r_[True, group[1:] != group[:-1]]
        last = np.r_[group[1:] != group[:-1], True]
        text = values.array.take(rows).to_numpy(dtype=object)
        out = np.full(len(self.index), "", dtype=object)
        alone = first & last  # most persons: one value, nothing to join
        out[group[alone]] = text[alone]
        many = ~alone
        if many.any():
            text, first, last = text[many], first[many], last[many]
            starts = np.flatnonzero(first)
            out[group[many][starts]] = np.add.reduceat(np.where(last, text, text + sep), starts)
        return pd.Series(out, index=self.index)


def _best(rec: pd.DataFrame, by: _PerPerson, column: str, order: list[np.ndarray], latest: bool,
          extra: list[str] | None = None) -> pd.DataFrame:
    """Per person, the value of `column` ranked by `order` (then newest or oldest, then record id).

    Records where `column` and every `extra` column are empty do not compete."""
    present = (rec[column] != "").to_numpy()
    for other in extra or []:
        present = present | (rec[other] != "").to_numpy()
    rows = by.first([*order, by.time, by.id], [True] * len(order) + [not latest, True], present)
    return by.rows(rec, rows, column, extra)


def _most_common(rec: pd.DataFrame, by: _PerPerson, column: str, feed_trust: np.ndarray) -> pd.DataFrame:
    """Per person, the value seen most often (ties: the most trusted feed, then the record id)."""
    present = (rec[column] != "").to_numpy()
    value = pd.factorize(rec[column])[0]
    pair = pd.factorize(by.group[present] * (value.max() + 1 if len(value) else 1) + value[present])[0]
    count = np.zeros(len(rec), dtype=np.int64)
    count[present] = np.bincount(pair)[pair]  # how often the person has this value
    return by.rows(rec, by.first([count, feed_trust, by.id], [False, True, True], present), column)


def person_counts_by_status(persons: pd.DataFrame, policy: Policy) -> dict[str, int]:
    counts = persons["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in policy.status_priority}
