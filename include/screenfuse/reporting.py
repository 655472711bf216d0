"""Zero reporting (零报告): every expected unit reports every day, even when it found nobody.

The feeds whose units must report, and the hour by which, are the policy's
`zero_report.deadline_hour`; the units are `screenfuse.reporting_units`. A unit has reported for a
day when a file of its feed (loaded, or header only: a zero report) names it, or holds rows whose
reporting unit it is:

- file names: `<unit>_<YYYYMMDD>[_anything].csv|xlsx`, where `<unit>` is the unit's name or id
  and the date is the day reported (no date: the local day of the run that read the file);
- rows: the feed's `unit` column (卡点名称, 派出所, 医疗机构, 社区, ...), counted for the day in the file name.

A day is checked once its deadline has passed: units with no report for it are silent, a finding
of its own. A unit whose reports all arrived after the deadline is late (迟报): before the check,
it is counted reported and late; after the check (a later run), the silent unit becomes late and
the day's check row is updated. When a file arrived: its modification time when that lies after
the previous run and not after the run that took it, else the previous run's end (the earliest
it can have come; unknown for the first run, which then counts it on time). Pure functions.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone as utc_zone
from zoneinfo import ZoneInfo

import pandas as pd

from screenfuse.reporting_units import UNIT_COLUMNS, expected_units, units_path  # noqa: F401  (the units, here too)

DELIVERY_COLUMNS = ["feed", "unit_id", "report_day", "file_name", "row_count"]
SILENT_COLUMNS = ["report_day", "feed", "unit_id", "unit_type", "unit_name", "street"]
LATE_COLUMNS = SILENT_COLUMNS + ["file_name", "arrived_at", "after_check"]
CHECK_COLUMNS = ["report_day", "feed", "expected", "reported", "late", "silent", "check_key"]
UTC_TEXT = "%Y-%m-%dT%H:%M:%SZ"
_FILE_NAME = re.compile(r"^(?P<unit>[^_]+?)(?:_(?P<day>\d{8}))?(?:_.*)?\.[^.]+$")


def file_unit_and_day(file_name: str) -> tuple[str, str]:
    """('<unit>', 'YYYY-MM-DD' or '') from `<unit>_<YYYYMMDD>[_anything].<ext>`."""
    found = _FILE_NAME.match(file_name)
    if not found:
        return "", ""
    day = found.group("day") or ""
    if day:
        try:
            day = datetime.strptime(day, "%Y%m%d").date().isoformat()
        except ValueError:
            day = ""
    return found.group("unit").strip(), day


def deliveries(feed: str, files: pd.DataFrame, rows: pd.DataFrame, units: pd.DataFrame, run_day: str) -> pd.DataFrame:
    """Which expected units of `feed` reported, for which day, through which file.

    `files`: file_name, status (only `loaded` and `zero_report` files count); `rows`: file_name,
    unit (the rows read from those files); `units`: the expected units (`unit_type` = the feed
    they report through); `run_day`: the run's local day (files without a date)."""
    mine = units[units["unit_type"] == feed]
    if mine.empty or files.empty:
        return pd.DataFrame(columns=DELIVERY_COLUMNS)
    by_token = {**dict(zip(mine["unit_name"], mine["unit_id"])), **dict(zip(mine["unit_id"], mine["unit_id"]))}
    out = []
    counts = rows.groupby(["file_name", "unit"]).size() if len(rows) else pd.Series(dtype=int)
    for name in files.loc[files["status"].isin(["loaded", "zero_report"]), "file_name"]:
        token, day = file_unit_and_day(name)
        day = day or run_day
        if token in by_token:
            total = int(counts.loc[name].sum()) if name in counts.index.get_level_values(0) else 0
            out.append((feed, by_token[token], day, name, total))
        if name in counts.index.get_level_values(0):
            for unit, n in counts.loc[name].items():
                if unit in by_token and unit != token:
                    out.append((feed, by_token[unit], day, name, int(n)))
    return pd.DataFrame(out, columns=DELIVERY_COLUMNS).drop_duplicates(["feed", "unit_id", "report_day", "file_name"])


def arrivals(mtime_ns: pd.Series, previous_end: datetime | None, batch_end: datetime) -> pd.Series:
    """When each file arrived (UTC text): its modification time when it lies after the previous
    run's end and not after this run's, else the previous run's end (None: the first run)."""
    moment = pd.to_datetime(pd.to_numeric(mtime_ns, errors="coerce"), unit="ns", utc=True)
    after = moment > pd.Timestamp(previous_end) if previous_end is not None else moment.notna()
    inside = after & (moment <= pd.Timestamp(batch_end))
    fallback = previous_end.astimezone(utc_zone.utc).strftime(UTC_TEXT) if previous_end is not None else None
    text = moment.dt.strftime(UTC_TEXT).astype(object).where(inside, fallback)
    return text.astype(object).where(text.notna(), None)


def deadline(day: date, hour: int, timezone: str) -> datetime:
    """The moment (UTC) a local day's reports are due: `hour` o'clock local (24: the next midnight)."""
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)) + timedelta(hours=hour)
    return local.astimezone(utc_zone.utc)


def days_due(first_day: date, as_of: datetime, timezone: str, deadline_hour: int) -> list[date]:
    """The local days from `first_day` whose reporting deadline has passed at `as_of`."""
    zone = ZoneInfo(timezone)
    local = as_of.astimezone(zone)
    last = local.date() if local.hour >= deadline_hour else local.date() - timedelta(days=1)
    return [first_day + timedelta(days=i) for i in range((last - first_day).days + 1)]


def check_days(units: pd.DataFrame, delivered: pd.DataFrame, feed: str, days: list[date], hour: int,
               timezone: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(silent units, late units, one check row per day) for the expected units of `feed`.

    `delivered`: DELIVERY_COLUMNS and `arrived_at` (UTC text; None: on time). A unit is on time
    when one of its reports for the day arrived by the deadline, late when all came after it."""
    mine = units[units["unit_type"] == feed]
    if mine.empty or not days:
        return (pd.DataFrame(columns=SILENT_COLUMNS), pd.DataFrame(columns=LATE_COLUMNS),
                pd.DataFrame(columns=CHECK_COLUMNS))
    due = {d.isoformat(): deadline(d, hour, timezone).strftime(UTC_TEXT) for d in days}
    got = delivered[(delivered["feed"] == feed) & delivered["report_day"].isin(due)] if len(delivered) else delivered
    got = got[got["unit_id"].isin(mine["unit_id"])].copy() if len(got) else pd.DataFrame(columns=DELIVERY_COLUMNS + ["arrived_at"])
    arrived = got["arrived_at"] if "arrived_at" in got else pd.Series(None, index=got.index, dtype=object)
    got["on_time"] = arrived.isna() | (arrived.fillna("") <= got["report_day"].map(due).fillna(""))
    got["arrived_at"] = arrived
    first = got.sort_values(["on_time", "arrived_at", "file_name"], ascending=[False, True, True], kind="stable")
    first = first.drop_duplicates(["report_day", "unit_id"])  # on time if any report was; else the first late one
    grid = pd.DataFrame({"report_day": list(due)}).merge(mine, how="cross").assign(feed=feed)
    grid = grid.merge(first[["report_day", "unit_id", "on_time", "file_name", "arrived_at"]],
                      on=["report_day", "unit_id"], how="left")
    silent = grid[grid["on_time"].isna()][SILENT_COLUMNS].reset_index(drop=True)
    late = grid[grid["on_time"].eq(False)].assign(after_check=0)[LATE_COLUMNS].reset_index(drop=True)
    per_day = grid.groupby("report_day").agg(expected=("unit_id", "size"), reported=("on_time", "count"),
                                             late=("on_time", lambda s: int(s.eq(False).sum())))
    checks = per_day.reset_index().assign(feed=feed)
    checks["silent"] = checks["expected"] - checks["reported"]
    checks["check_key"] = check_key(checks["report_day"], feed)
    return silent, late, checks[CHECK_COLUMNS].astype({c: int for c in ("expected", "reported", "late", "silent")})


def late_after_check(delivered: pd.DataFrame, silent_before: pd.DataFrame, late_before: pd.DataFrame,
                     checks_before: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reports of days checked before (by an earlier run) from units found silent then: (the
    units now late, the days' check rows updated: reported and late up, silent down)."""
    key = ["report_day", "feed", "unit_id"]
    if delivered.empty or silent_before.empty:
        return pd.DataFrame(columns=LATE_COLUMNS), checks_before.iloc[0:0]
    came = delivered.sort_values(["arrived_at", "file_name"], na_position="first", kind="stable").drop_duplicates(key)
    late = silent_before[SILENT_COLUMNS].merge(came[key + ["file_name", "arrived_at"]], on=key)
    if len(late_before):
        late = late.merge(late_before[key].assign(known=True), on=key, how="left")
        late = late[late["known"].isna()].drop(columns="known")
    late = late.assign(after_check=1)[LATE_COLUMNS].reset_index(drop=True)
    if late.empty:
        return late, checks_before.iloc[0:0]
    n = late.groupby(["report_day", "feed"]).size().rename("n").reset_index()
    updated = checks_before.merge(n, on=["report_day", "feed"])
    updated = updated.assign(reported=updated["reported"].astype(int) + updated["n"],
                             late=updated["late"].astype(int) + updated["n"],
                             silent=updated["silent"].astype(int) - updated["n"]).drop(columns="n")
    return late, updated.reset_index(drop=True)


def check_key(report_day: pd.Series, feed) -> pd.Series:
    """The one-column key of a check row (zero_report_check.check_key): 'YYYY-MM-DD|feed'."""
    return report_day.astype(str) + "|" + (feed if isinstance(feed, str) else feed.astype(str))


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()
