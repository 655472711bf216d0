"""Seeded synthetic isolation points (集中隔离点) for `screenfuse generate --isolation`.

The points are the units of feed isolation_monitoring in the reporting units list (hotels, a party
school, a college dormitory: seed 003 l.75 "征用 ... 19个酒店作为集中隔离点"; seed 000 l.35 "紧急征用宾馆、
党校以及高校宿舍"), each with its rooms and the categories it takes; the list is written on the
first day (isolation_point/). The people held are the population's close contacts and arrivals
(truth/people.csv of the first day), about four in five, one a room. Each day every point writes
its monitoring file (isolation_monitoring/<point>_<YYYYMMDD>.csv, two header layouts): a row per
person held, temperature morning and afternoon, symptoms, the nucleic-acid result on the days
tests are done, with the other feeds' noise (names, IDs, phones: synthetic_noise) and a few
unreadable or missing readings. From the second day on, about one person in twelve is released
(解除隔离) and leaves the next day, one in twenty-five has no row that day (a missed check), about
one in forty has a fever or a symptom, and a few are transferred out (转出). A point with nobody
sends a header-only file (零报告); with `zero_reports`, the points drawn silent or late that day
(synthetic_reports) send nothing or send late. Deterministic by seed; no real personal data.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from screenfuse.synthetic_noise import csv_bytes, noisy_ids, noisy_names, noisy_phones

FEED, POINTS_FEED = "isolation_monitoring", "isolation_point"
HELD_STATUSES = ("close_contact", "key_area_arrival", "asymptomatic")
CATEGORIES = ("密接", "境外返汉", "发热", "出院复阳", "无症状", "境外返汉")
HELD_SHARE, RELEASED, MISSED, FEVER, SYMPTOM, TRANSFERRED, TESTED = 0.8, 1 / 12, 1 / 25, 1 / 80, 1 / 80, 1 / 100, 0.15
LAYOUTS = [
    {"point": "隔离点", "room": "房间号", "day": "监测日期", "name": "姓名", "id_type": "证件类型", "id": "证件号码",
     "phone": "联系电话", "am": "上午体温", "pm": "下午体温", "symptoms": "症状", "na": "核酸结果", "action": "去向"},
    {"point": "隔离点名称", "room": "房号", "day": "日期", "name": "隔离人员姓名", "id": "身份证号", "phone": "手机号",
     "am": "晨检体温", "pm": "午检体温", "symptoms": "有无症状", "na": "核酸检测结果", "action": "出点情况",
     "since": "入住日期"},
]


def points(seed: int) -> pd.DataFrame:
    """The points: the reporting units of the monitoring feed, with rooms, categories and address."""
    from screenfuse.reporting_units import listed_units

    units = listed_units()
    units = units[units["unit_type"] == FEED].sort_values("unit_id").reset_index(drop=True)
    rng = np.random.default_rng([seed, 31])
    return pd.DataFrame({"point": units["unit_name"], "street": units["street"],
                         "address": units["street"].str.replace("街道", "") + "路" + rng.integers(1, 300, len(units)).astype(str) + "号",
                         "rooms": rng.integers(100, 180, len(units)),
                         "takes": [CATEGORIES[i % len(CATEGORIES)] + ("、密接" if i % 3 == 2 and i % len(CATEGORIES) != 0 else "")
                                   for i in range(len(units))]})


def _stays(people: pd.DataFrame, spots: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Who is held where from the first day: point, room, and the day index they entered."""
    rng = np.random.default_rng([seed, 32])
    held = people[people["true_status"].isin(HELD_STATUSES)].sort_values("person_key").reset_index(drop=True)
    held = held[rng.random(len(held)) < HELD_SHARE].reset_index(drop=True)
    at = rng.integers(0, len(spots), len(held))
    rooms = [f"{(k // 40) + 2}{k % 40 + 1:02d}" for k in range(len(held))]
    return held.assign(point=spots["point"].to_numpy()[at], room=rooms,
                       since=rng.integers(1, 10, len(held)))  # days held before the first day


def _day_plan(stays: pd.DataFrame, seed: int, day_index: int) -> pd.DataFrame:
    """The rows of day `day_index`: the people still held, each day's events drawn in order."""
    left = np.zeros(len(stays), dtype=bool)
    for k in range(day_index + 1):
        rng = np.random.default_rng([seed, k, 33])
        draw = rng.random((len(stays), 6))
        plan = stays.assign(event="", missed=False, fever=False, symptom=False, tested=draw[:, 5] < TESTED)
        if k:
            plan["missed"] = draw[:, 0] < MISSED
            plan.loc[draw[:, 1] < RELEASED, "event"] = "解除隔离"
            plan.loc[draw[:, 2] < TRANSFERRED, "event"] = "转出(转运定点医院)"
            plan["fever"] = draw[:, 3] < FEVER
            plan["symptom"] = draw[:, 4] < SYMPTOM
            plan.loc[plan["fever"] | plan["symptom"], "event"] = ""
        plan = plan[~left].assign(missed=lambda p: p["missed"] & (p["event"] == ""))
        if k == day_index:
            return plan[~plan["missed"]].reset_index(drop=True).assign(
                missed_today=int(plan["missed"].sum()))
        left |= stays.index.isin(plan.index[plan["event"] != ""])
    return stays.iloc[0:0]


def generate_isolation(seed: int, day: date, out: Path, truth: Path, people: pd.DataFrame, day_index: int = 0,
                       zero_reports: bool = False) -> dict:
    """Write the points list (first day) and the day's monitoring files; the truth (row → person_key,
    fever, release) into truth/truth_isolation[_N].csv. `people`: the first day's population."""
    spots = points(seed)
    files = 0
    if day_index == 0:
        folder = out / POINTS_FEED
        folder.mkdir(parents=True, exist_ok=True)
        listed = pd.DataFrame({"隔离点名称": spots["point"], "所属街道": spots["street"], "地址": spots["address"],
                               "房间数": spots["rooms"].astype(str) + np.where(np.arange(len(spots)) % 4 == 1, "间", ""),
                               "收治类别": spots["takes"], "更新时间": f"{day:%Y-%m-%d} 08:00", "状态": "启用"})
        (folder / f"隔离点清单_{day:%Y%m%d}.csv").write_bytes(csv_bytes(listed, "utf-8-sig"))
        files += 1
    plan = _day_plan(_stays(people, spots, seed), seed, day_index)
    rng = np.random.default_rng([seed, day_index, 34])
    n = len(plan)
    am = np.round(rng.normal(36.4, 0.25, n).clip(35.6, 37.1), 1)
    pm = np.round(rng.normal(36.6, 0.25, n).clip(35.8, 37.2), 1)
    pm[plan["fever"].to_numpy()] = np.round(rng.uniform(37.4, 38.6, int(plan["fever"].sum())), 1)
    symptoms = np.where(rng.random(n) < 0.5, "无", "")
    symptoms = np.where(plan["symptom"].to_numpy(), np.array(["咳嗽", "乏力、咽痛", "咳嗽、发热"])[rng.integers(0, 3, n)], symptoms)
    na = np.where(plan["tested"].to_numpy(), "阴性", "")
    ids, kinds = noisy_ids(plan.assign(birth_date=plan["birth_date"].astype(str)), np.ones(n, dtype=bool), rng)
    rows = pd.DataFrame({
        "point": plan["point"], "room": plan["room"], "name": noisy_names(plan["name"].to_numpy(dtype=object), rng),
        "id_type": kinds, "id": ids, "phone": noisy_phones(plan["phone"].astype(str).to_numpy(dtype=object), rng),
        "am": [f"{v:.1f}" for v in am], "pm": [f"{v:.1f}" for v in pm], "symptoms": symptoms, "na": na,
        "action": plan["event"].to_numpy(),
        "since": [(day - timedelta(days=int(s) + day_index)).isoformat() for s in plan["since"]],
        "person_key": plan["person_key"]})
    # noise the units' own: a reading with ℃, one left empty, one unreadable (quarantined)
    rows.loc[rng.random(n) < 0.1, "am"] += "℃"
    rows.loc[rng.random(n) < 0.02, "pm"] = ""
    if n:
        rows.loc[rows.index[int(rng.integers(0, n))], "am"] = "36.5度?"
    silent, late = set(), set()
    if zero_reports:
        from screenfuse import synthetic_reports

        silent, late = synthetic_reports.quiet_and_late(seed, day_index)
    folder = out / FEED
    folder.mkdir(parents=True, exist_ok=True)
    truth_rows = []
    for k, spot in enumerate(spots["point"]):
        if (FEED, spot) in silent:
            continue
        layout = LAYOUTS[k % len(LAYOUTS)]
        mine = rows[rows["point"] == spot].sort_values("room", kind="stable")
        dated = [f"{day:%Y-%m-%d}", f"{day.year}/{day.month}/{day.day}", f"{day.year}年{day.month}月{day.day}日"][k % 3]
        table = pd.DataFrame({header: (mine[key] if key != "day" else dated) for key, header in layout.items()},
                             index=mine.index)
        path = folder / f"{spot}_{day:%Y%m%d}.csv"
        path.write_bytes(csv_bytes(table if len(mine) else table.head(0), "utf-8-sig" if k % 2 else "utf-8"))
        files += 1
        if (FEED, spot) in late:
            arrival = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("Asia/Shanghai")) + timedelta(hours=20)
            os.utime(path, (arrival.timestamp(), arrival.timestamp()))
        truth_rows += [(path.name, i + 1, key) for i, key in enumerate(mine["person_key"])]
    truth.mkdir(parents=True, exist_ok=True)
    suffix = f"_{day_index}" if day_index else ""
    pd.DataFrame(truth_rows, columns=["file_name", "row_number", "person_key"]).to_csv(
        truth / f"truth_isolation{suffix}.csv", index=False)
    return {"points": len(spots), "held": n, "files": files, "fever": int((plan["fever"] | plan["symptom"]).sum()),
            "released": int((plan["event"] == "解除隔离").sum()), "transferred": int(plan["event"].str.startswith("转出").sum()),
            "missed": int(plan["missed_today"].iloc[0]) if n else 0}
