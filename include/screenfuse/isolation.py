"""Isolation points (集中隔离点): the points list, who each point holds, and the missed daily checks.

Seed 000 l.35: points by category of people ("分类设立密接、发热、境外返汉、出院返阳患者、无症状阳性患者等
隔离点"), rooms, and a daily record of every person held ("隔离者动态监测 ... 实时掌握隔离者身体状况").
The points come through a reference feed (`isolation_point`, one row per point, the latest row of a
point replaces the stored one); each point sends its daily monitoring rows through a person feed
(`isolation_monitoring`), which is matched and fused like any other (a fever or symptoms there are
rules of the policy). What this module adds, per person, from their monitoring records:

- the stay: the point and room of the latest row; it ends with a row whose 去向 says 解除隔离 or 转出
  (policy `isolation.ends_stay`), or when the person's measure or status says they left (a transfer
  to hospital, death: `not_expected_measures`, `not_expected_statuses`);
- the missed checks (漏报): each day after the latest row whose deadline (`deadline_hour`, local)
  has passed, while the stay lasts; the next deadline is when the person must be looked at again
  (`person.next_change_at`), so the run of that hour finds the miss and pushes it to the point's
  street (one open item per person; closed when the checks resume or the stay ends).

Pure functions of frames; the warehouse I/O is in the stages.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from screenfuse import datetimes
from screenfuse import normalize as nz
from screenfuse.gazetteer import DISTRICT_LIST
from screenfuse.person_history import detail_text
from screenfuse.policy_types import Policy
from screenfuse.text_keys import is_in, map_by_key

POINT_COLUMNS = ["point_name", "street", "address", "rooms", "takes", "state", "updated_at", "source_record_id",
                 "file_name", "batch_id"]
STAY_COLUMNS = ["person_id", "point", "room", "since_day", "last_day", "held", "missed_days", "next_deadline",
                "last_record"]  # missed_days: the days missed by now, YYYY-MM-DD joined by ","
MISSED_COLUMNS = ["check_key", "person_id", "point", "room", "street", "check_day", "deadline_at", "batch_id"]
MISSED_REASON = "missed_check"
MAX_MISSED_DAYS = 62  # a stay silent longer than two months lists its latest 62 days


# ------------------------------------------------------------------------------ the points list

def normalize_points(mapped: pd.DataFrame, contract) -> pd.DataFrame:
    """Header-mapped rows of the points list (a contract of kind `reference`) → normalized columns
    (unit = the point's name, as the monitoring feed writes it); the row suite checks them."""
    from screenfuse.row_fields import extra_fields

    blank = pd.Series("", index=mapped.index, dtype=object)
    out = pd.DataFrame(index=mapped.index)
    out["unit"] = nz.clean_text(mapped["unit"] if "unit" in mapped else blank)
    out["event_time"] = datetimes.normalize_datetimes(mapped["event_time"] if "event_time" in mapped else blank)
    extra, flags = extra_fields(mapped, contract, {"unit", "event_time"}, reference=out["event_time"])
    return out.join(extra).join(flags)


def point_rows(accepted: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """Accepted rows of the points list → the `isolation_point` table (POINT_COLUMNS): one row per
    point, the latest (by its time, then file and row) when a batch lists a point twice."""
    if accepted.empty:
        return pd.DataFrame(columns=POINT_COLUMNS)
    rows = accepted.sort_values(["event_time", "file_name", "row_number"], kind="stable")
    rows = rows.drop_duplicates("unit", keep="last")
    get = lambda name: rows[name] if name in rows else pd.Series("", index=rows.index)  # noqa: E731
    takes = get("takes").fillna("").astype(str).str.replace(r"\s*[,，;；/]\s*", "、", regex=True)
    out = pd.DataFrame({
        "point_name": rows["unit"], "street": get("street"), "address": get("address"),
        "rooms": pd.to_numeric(get("rooms"), errors="coerce").astype("Int64"), "takes": takes,
        "state": get("state").fillna("").replace("", "启用"), "updated_at": rows["event_time"],
        "source_record_id": rows["source_record_id"], "file_name": rows["file_name"], "batch_id": batch_id})
    return out[POINT_COLUMNS].sort_values("point_name", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------ stays and checks

def deadline_utc(day: date, policy: Policy) -> datetime:
    """When a day's check of a person held is due: the day at `deadline_hour`, local, in UTC."""
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(policy.timezone)) + timedelta(hours=policy.isolation.deadline_hour)
    return local.astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def monitored(records: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The records `stays` reads: the isolation feed's (none without isolation rules)."""
    rules = policy.isolation
    return records[records["feed"] == rules.feed] if rules is not None else records.iloc[:0]


def stays(records: pd.DataFrame, links: pd.DataFrame, persons: pd.DataFrame, as_of: str, policy: Policy) -> pd.DataFrame:
    """Per person with monitoring records (STAY_COLUMNS): the point and room of their latest row,
    the first day of the stay at that point, the latest day checked, whether they are held (the
    stay has not ended and nothing says they left), the days missed by `as_of` (UTC ISO) and the
    next deadline ("" when not held). `records`: the records of the persons in focus (the monitoring
    feed's among them); `links`: source_record_id → person_id; `persons`: the fused persons."""
    rules = policy.isolation
    if rules is None:
        return pd.DataFrame(columns=STAY_COLUMNS)
    mine = records[records["feed"] == rules.feed]
    if mine.empty:
        return pd.DataFrame(columns=STAY_COLUMNS)
    mine = mine.merge(links[["source_record_id", "person_id"]], on="source_record_id", how="inner")
    mine = mine.assign(day=mine["event_time"].fillna("").astype(str).str.slice(0, 10),
                       room=detail_text(mine, "room").fillna("") if len(mine) else "")
    mine = mine[mine["day"].str.fullmatch(r"\d{4}-\d{2}-\d{2}")]
    mine = mine.sort_values(["person_id", "day", "event_time", "source_record_id"], kind="stable")
    ends = mine["action"].fillna("").astype(str).apply(lambda a: any(word in a for word in rules.ends_stay))
    status = persons.set_index("person_id")["status"] if len(persons) else pd.Series(dtype=object)
    measure = persons.set_index("person_id")["measure"] if len(persons) else pd.Series(dtype=object)
    now = datetime.strptime(as_of, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    rows = []
    for person_id, group in mine.groupby("person_id", sort=True):
        last = group.iloc[-1]
        at_point = group["unit"].to_numpy() == last["unit"]
        # the stay at the latest point began after the last row of another point or of an ended stay
        breaks = np.flatnonzero(~at_point | ends.loc[group.index].to_numpy())
        breaks = breaks[breaks < len(group) - 1]
        since = group["day"].iloc[breaks[-1] + 1 if len(breaks) else 0]
        # no measure any more (a status that ended, e.g. an arrival's 14 days): nobody holds the person
        left = bool(ends.loc[group.index[-1]]) or measure.get(person_id, "") in rules.not_expected_measures \
            or status.get(person_id, "") in rules.not_expected_statuses \
            or (person_id in measure.index and not (isinstance(measure[person_id], str) and measure[person_id]))
        missed, next_deadline = [], ""
        if not left:
            day = max(date.fromisoformat(last["day"]) + timedelta(days=1), now.date() - timedelta(days=MAX_MISSED_DAYS))
            while deadline_utc(day, policy) <= now:
                missed.append(day.isoformat())
                day += timedelta(days=1)
            next_deadline = _iso(deadline_utc(day, policy))
        rows.append((person_id, last["unit"], last["room"], since, last["day"], not left, ",".join(missed), next_deadline,
                     last["source_record_id"]))
    return pd.DataFrame(rows, columns=STAY_COLUMNS)


def missed_rows(stay: pd.DataFrame, stored: pd.DataFrame, streets: dict[str, str], batch_id: str,
                policy: Policy) -> pd.DataFrame:
    """The missed checks found now and not recorded before (MISSED_COLUMNS): one row per person and
    day, with the point's street (the district list for a point not on the points list).
    `stored`: the recorded missed checks of these persons (check_key at least)."""
    if stay.empty:
        return pd.DataFrame(columns=MISSED_COLUMNS)
    held = stay[stay["held"] & (stay["missed_days"] != "")]
    held = held.assign(missed_days=held["missed_days"].str.split(",")).explode("missed_days")
    if held.empty:
        return pd.DataFrame(columns=MISSED_COLUMNS)
    keys = held["person_id"] + "|" + held["point"] + "|" + held["missed_days"]
    out = pd.DataFrame({
        "check_key": keys, "person_id": held["person_id"], "point": held["point"], "room": held["room"],
        "street": held["point"].map(streets).fillna(DISTRICT_LIST).replace("", DISTRICT_LIST),
        "check_day": held["missed_days"],
        "deadline_at": [_iso(deadline_utc(date.fromisoformat(d), policy)) for d in held["missed_days"]],
        "batch_id": batch_id})
    known = set(stored["check_key"]) if len(stored) else set()
    return out[~out["check_key"].isin(known)][MISSED_COLUMNS].reset_index(drop=True)


def next_deadline(next_change: pd.Series, persons: pd.DataFrame, stay: pd.DataFrame) -> pd.Series:
    """`person.next_change_at` with the next deadline of a person held: whichever comes first."""
    deadline = map_by_key(persons["person_id"], stay["person_id"], stay["next_deadline"]).fillna("")
    deadline = pd.Series(deadline.to_numpy(), index=next_change.index, dtype=object)
    take = (deadline != "") & ((next_change == "") | (deadline < next_change))
    return next_change.where(~take, deadline)


# ------------------------------------------------------------------------------ push items

def plan_items(missed: pd.DataFrame, stay: pd.DataFrame, persons: pd.DataFrame, items_before: pd.DataFrame,
               batch_id: str, as_of: datetime, policy: Policy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(new push items, closes) for the missed checks (measure `isolation.missed_check_measure`):
    an item for a person with a newly missed day and no open item of this measure; an open item
    closes when the person's checks resumed (`checked`: no day outstanding) or the stay ended
    (`no_longer_needed`). `items_before`: the persons' items before the batch, answers applied."""
    from screenfuse.pushlist import CLOSE_COLUMNS, ITEM_COLUMNS, OPEN_STATES, _item_id

    rules = policy.isolation
    stamp = _iso(as_of)
    if rules is None:
        return pd.DataFrame(columns=ITEM_COLUMNS), pd.DataFrame(columns=CLOSE_COLUMNS)
    before = items_before if len(items_before) else pd.DataFrame(columns=["push_item_id", "person_id", "measure", "state"])
    open_items = before[(before["measure"] == rules.missed_check_measure) & before["state"].isin(OPEN_STATES)]
    state = stay.set_index("person_id") if len(stay) else pd.DataFrame(columns=STAY_COLUMNS).set_index("person_id")
    # which of the open items' persons were fused: a set of a first load's million ids took 2 s
    fused = set(open_items["person_id"][is_in(open_items["person_id"], persons["person_id"])])
    reason = []
    for person_id in open_items["person_id"]:
        if person_id not in fused:
            reason.append("")  # merged away: the general plan closes it (person_merged)
        elif person_id not in state.index or not state.at[person_id, "held"]:
            reason.append("no_longer_needed")
        elif state.at[person_id, "missed_days"] == "":
            reason.append("checked")
        else:
            reason.append("")
    reason = pd.Series(reason, index=open_items.index, dtype=object)
    closing = open_items[reason != ""]
    closes = pd.DataFrame({"push_item_id": closing["push_item_id"], "closed_at": stamp, "closed_batch_id": batch_id,
                           "close_reason": reason[reason != ""]}, columns=CLOSE_COLUMNS)
    still_open = set(open_items.loc[reason == "", "person_id"])
    fresh = missed[~missed["person_id"].isin(still_open)] if len(missed) else missed
    if fresh.empty:
        return pd.DataFrame(columns=ITEM_COLUMNS), closes.reset_index(drop=True)
    person = persons.set_index("person_id")
    days = fresh.groupby("person_id", sort=True).agg(point=("point", "last"), room=("room", "last"),
                                                     street=("street", "last"), days=("check_day", lambda d: "、".join(sorted(d))))
    hours = policy.hours_to_act.get(rules.missed_check_measure, 24)
    where = days["point"] + np.where(days["room"] != "", " " + days["room"] + "房", "")
    new = pd.DataFrame({
        "push_item_id": [_item_id(batch_id, p, rules.missed_check_measure) for p in days.index],
        "batch_id": batch_id, "created_batch_id": batch_id, "street": days["street"].to_numpy(),
        "community": "", "person_id": days.index.to_numpy(),
        "status": person["status"].reindex(days.index).fillna("none").to_numpy(),
        "measure": rules.missed_check_measure, "reason": MISSED_REASON,
        "detail": ("隔离点漏报每日监测: " + where + ", " + days["days"]).to_numpy(),
        "source_records": state["last_record"].reindex(days.index).fillna("").to_numpy(),
        "due_at": _iso(as_of + timedelta(hours=float(hours))), "state": "open", "created_at": stamp,
        "replaces_item_id": None, "policy_version": policy.version}, columns=ITEM_COLUMNS)
    return new.reset_index(drop=True), closes.reset_index(drop=True)
