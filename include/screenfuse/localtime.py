"""Local time for people: the warehouse keeps UTC; what a street-office worker reads is on the
policy's clock (`timezone`, Asia/Shanghai by default), labelled, and a real date-time in a
workbook (never text that only looks like one).
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd

# names of China's one clock (UTC+08:00 all year): labelled 北京时间 as people say it
BEIJING_TIME_ZONES = ("Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC")
LOCAL_FORMAT = "%Y-%m-%d %H:%M"  # how a local time is written in CSV
EXCEL_FORMAT = "yyyy-mm-dd hh:mm"  # the number format of a date-time cell in XLSX


def zone_label(zone: str) -> str:
    """北京时间 for China's clock, else the zone's name (with its UTC offset when it has one all year)."""
    if zone in BEIJING_TIME_ZONES:
        return "北京时间"
    info = ZoneInfo(zone)
    winter, summer = (datetime(2020, month, 1, tzinfo=timezone.utc).astimezone(info).utcoffset() for month in (1, 7))
    if winter != summer:
        return zone
    minutes = int(winter.total_seconds() // 60)
    return f"{zone} UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def labelled(header: str, zone: str) -> str:
    """'办结时限' → '办结时限(北京时间)': a header that says which clock its times are on."""
    return f"{header}({zone_label(zone)})"


def to_local(utc_text: pd.Series, zone: str) -> pd.Series:
    """Warehouse times (UTC ISO text, 2020-02-10T16:30:00Z) → naive local date-times (NaT when
    missing or unreadable), which a workbook stores as real date-time cells."""
    moments = pd.to_datetime(utc_text, errors="coerce", utc=True, format="ISO8601")
    return moments.dt.tz_convert(zone).dt.tz_localize(None).dt.floor("s")
