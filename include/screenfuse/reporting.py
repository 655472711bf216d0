"""Zero reporting (零报告): every expected unit reports every day, even when it found nobody.

Expected units are each checkpoint and hospital of `data/reporting_units.csv` and each community
of the gazetteer (`SCREENFUSE_UNITS` points at another units file with the same columns:
unit_id, unit_type, unit_name, street). A unit has reported for a day when a file of its feed
(loaded, or header only: a zero report) names it, or holds rows whose reporting unit it is:

- file names: `<unit>_<YYYYMMDD>[_anything].csv|xlsx`, where `<unit>` is the unit's name or id
  and the date is the day reported (no date: the local day of the run that read the file);
- rows: the feed's `unit` column (卡点名称, 医疗机构, 社区), counted for the day in the file name.

A day is checked once its deadline has passed (policy `zero_report`: local time zone and the hour
per feed); units with no report for it are silent, a finding of its own. Pure functions.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from screenfuse.config import packaged_path
from screenfuse.gazetteer import load_gazetteer

FEED_UNIT_TYPE = {"checkpoint": "checkpoint", "hospital": "hospital", "community": "community"}
UNIT_COLUMNS = ["unit_id", "unit_type", "unit_name", "street"]
DELIVERY_COLUMNS = ["feed", "unit_id", "report_day", "file_name", "row_count"]
SILENT_COLUMNS = ["report_day", "feed", "unit_id", "unit_type", "unit_name", "street"]
CHECK_COLUMNS = ["report_day", "feed", "expected", "reported", "silent"]
_FILE_NAME = re.compile(r"^(?P<unit>[^_]+?)(?:_(?P<day>\d{8}))?(?:_.*)?\.[^.]+$")


def units_path() -> Path:
    return packaged_path("SCREENFUSE_UNITS", "data/reporting_units.csv")


@lru_cache(maxsize=4)
def _units(path: str) -> pd.DataFrame:
    listed = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in UNIT_COLUMNS if c not in listed.columns]
    if missing:
        raise ValueError(f"reporting units {path}: missing column(s) {', '.join(missing)}; expected "
                         f"{', '.join(UNIT_COLUMNS)} (set SCREENFUSE_UNITS to a fixed file)")
    return listed[UNIT_COLUMNS]


def expected_units() -> pd.DataFrame:
    """Every unit expected to report daily: the listed checkpoints and hospitals, and every
    community of the gazetteer (unit_id = community_code)."""
    comm = load_gazetteer().communities
    communities = pd.DataFrame({"unit_id": comm["community_code"], "unit_type": "community",
                                "unit_name": comm["community"], "street": comm["street"]})
    listed = _units(str(units_path()))
    listed = listed[listed["unit_type"] != "community"]
    return pd.concat([listed, communities], ignore_index=True).drop_duplicates("unit_id")


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
    unit (the rows read from those files); `run_day`: the run's local day (files without a date)."""
    unit_type = FEED_UNIT_TYPE.get(feed)
    if unit_type is None or files.empty:
        return pd.DataFrame(columns=DELIVERY_COLUMNS)
    mine = units[units["unit_type"] == unit_type]
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


def days_due(first_day: date, as_of: datetime, timezone: str, deadline_hour: int) -> list[date]:
    """The local days from `first_day` whose reporting deadline has passed at `as_of`."""
    zone = ZoneInfo(timezone)
    local = as_of.astimezone(zone)
    last = local.date() if local.hour >= deadline_hour else local.date() - timedelta(days=1)
    return [first_day + timedelta(days=i) for i in range((last - first_day).days + 1)]


def silent_units(units: pd.DataFrame, delivered: pd.DataFrame, feed: str, days: list[date]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(silent units per day, one check row per day) for the expected units of `feed`."""
    unit_type = FEED_UNIT_TYPE.get(feed)
    if unit_type is None or not days:
        return pd.DataFrame(columns=SILENT_COLUMNS), pd.DataFrame(columns=CHECK_COLUMNS)
    mine = units[units["unit_type"] == unit_type]
    got = delivered[delivered["feed"] == feed] if len(delivered) else delivered
    silent, checks = [], []
    for day in days:
        text = day.isoformat()
        reported = set(got.loc[got["report_day"] == text, "unit_id"]) if len(got) else set()
        quiet = mine[~mine["unit_id"].isin(reported)]
        silent.append(quiet.assign(report_day=text, feed=feed))
        checks.append((text, feed, len(mine), len(mine) - len(quiet), len(quiet)))
    frame = pd.concat(silent, ignore_index=True)[SILENT_COLUMNS] if silent else pd.DataFrame(columns=SILENT_COLUMNS)
    return frame, pd.DataFrame(checks, columns=CHECK_COLUMNS)


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()
