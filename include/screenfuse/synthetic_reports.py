"""Synthetic zero reporting (零报告) for `screenfuse generate --zero-reports`: which units stay
silent, which report late (迟报), and the header-only files of units that found nobody.

Every expected unit (screenfuse.reporting_units: checkpoints, police stations, hospitals, every
community, and any other unit type listed) reports each day; drawn from the seed, about one unit
in twelve sends nothing at all that day (not even its rows), and about one in twelve of the others
reports late: its files carry a modification time of 20:00 local on the day, after the default
16:00 deadline (the pipeline reads a file's arrival from it, see screenfuse.reporting).
"""
from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

LATE_AT = time(20, 0)  # local time the late units' files arrive
LOCAL_ZONE = "Asia/Shanghai"  # the default policy's clock
HEADERS = {"checkpoint": ["卡点名称", "检测时间", "姓名", "身份证号", "联系电话", "体温"],
           "hospital": ["医疗机构", "就诊时间", "患者姓名", "身份证号码", "人员类别"],
           "community": ["街道", "社区", "摸排时间", "姓名", "身份证号", "手机号"]}


def quiet_and_late(seed: int, day_index: int) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """((unit_type, unit_name) silent that day, (unit_type, unit_name) late that day)."""
    from screenfuse.reporting_units import expected_units

    units = expected_units().sort_values("unit_id")
    quiet = np.random.default_rng([seed, day_index, 12]).random(len(units)) < 1 / 12
    late = (np.random.default_rng([seed, day_index, 13]).random(len(units)) < 1 / 12) & ~quiet
    pairs = list(zip(units["unit_type"], units["unit_name"]))
    return {p for p, q in zip(pairs, quiet) if q}, {p for p, q in zip(pairs, late) if q}


def without_silent(rows: dict, silent: set[tuple[str, str]]) -> dict:
    """The feeds' rows without those of the silent units (a community's rows name it in 社区)."""
    return {feed: [(unit, row, key) for unit, row, key in entries
                   if (feed, row.get("社区", unit)) not in silent and (feed, unit) not in silent]
            for feed, entries in rows.items()}


def write_zero_reports(rows: dict, out: Path, day: date, silent: set, late: set) -> int:
    """Header-only files for the expected units that had no rows that day, but the silent ones;
    then the late units' files (rows or header only) get their late arrival time."""
    from screenfuse.contracts import load_contract
    from screenfuse.reporting_units import expected_units

    reported = {feed: {unit for unit, row, _ in entries} | {row.get("社区", "") for _, row, _ in entries}
                for feed, entries in rows.items()}
    written = 0
    for unit in expected_units().sort_values("unit_id").itertuples():
        feed = unit.unit_type
        if unit.unit_name in reported.get(feed, set()) or (feed, unit.unit_name) in silent:
            continue
        headers = HEADERS.get(feed) or [load_contract(feed).fields[f].aliases[0]
                                        for f in load_contract(feed).required_fields]
        path = out / feed / f"{unit.unit_name}_{day:%Y%m%d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((",".join(headers) + "\n").encode("utf-8"))
        written += 1
    arrive_late(out, day, late)
    return written


def arrive_late(out: Path, day: date, late: set) -> None:
    """The late units' files of `day` (rows or header only) get their late arrival time."""
    arrival = datetime.combine(day, LATE_AT, tzinfo=ZoneInfo(LOCAL_ZONE)).timestamp()
    for feed, name in sorted(late):
        for path in sorted((out / feed).glob(f"{name}_{day:%Y%m%d}.*")):
            os.utime(path, (arrival, arrival))
