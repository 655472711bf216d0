"""Seeded synthetic pharmacy registrations (药店购药实名登记) for `screenfuse generate --pharmacies N`.

Seed 000 l.41: pharmacies register buyers of fever, cough and cold medicine by real name, and the
streets verify them. The buyers are people of the other feeds (truth/people.csv, the same person
keys): most of the fever cases buy fever medicine, a few suspected cases too, the rest are
residents with a cold. Each pharmacy of the units list (data/reporting_units.csv, unit_type
pharmacy) sends one CSV a day in one of two header layouts, noisy like the other feeds (names,
IDs, phones, times: synthetic_noise) and with the category written the pharmacy's way (退烧药,
解热镇痛类, 镇咳, 抗菌素 ..., or left empty beside a known medicine). A few bad rows: no name, a time
nobody can read, a category outside the five. With zero reports on, the pharmacies drawn silent
send nothing and the late ones arrive late (synthetic_reports), as every other unit.
"""
from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from screenfuse.synthetic_noise import TIME_FORMATS, addresses, csv_bytes, noisy_ids, noisy_names, noisy_phones, time_text

FEED = "pharmacy"
# what each category's buyers buy (the name a till prints), and how tills write the category
MEDICINES = {"退烧": ["布洛芬缓释胶囊", "对乙酰氨基酚片", "复方氨酚烷胺片(退烧)", "安乃近片"],
             "止咳": ["复方甘草片", "急支糖浆", "川贝枇杷膏", "氨溴索口服液"],
             "感冒": ["连花清瘟胶囊", "感冒灵颗粒", "板蓝根颗粒", "双黄连口服液"],
             "抗病毒": ["奥司他韦胶囊", "利巴韦林片"],
             "抗生素": ["阿莫西林胶囊", "头孢克肟片", "阿奇霉素片"]}
WRITTEN = {"退烧": ["退烧药", "退热", "解热镇痛类", "退烧类"], "止咳": ["咳嗽药", "镇咳", "止咳化痰类"],
           "感冒": ["感冒药", "感冒类", "抗感冒"], "抗病毒": ["抗病毒药"], "抗生素": ["抗菌素", "抗生素类", "消炎药"]}
COLD_SHARES = {"退烧": 0.25, "止咳": 0.25, "感冒": 0.35, "抗病毒": 0.07, "抗生素": 0.08}
SYMPTOMS = {"退烧": ["发热", "发烧", "", "头痛"], "止咳": ["咳嗽", "干咳", "", "咽痛"], "感冒": ["流涕", "鼻塞", "", "咽痛"],
            "抗病毒": ["", "乏力"], "抗生素": ["", "咽痛"]}
LAYOUTS = [  # canonical → header; the first takes the temperature at the counter
    {"unit": "药店名称", "time": "购药时间", "name": "购药人姓名", "id": "身份证号", "phone": "联系电话",
     "address": "现住址", "medicine": "药品名称", "category": "药品类别", "quantity": "数量", "symptoms": "症状",
     "temperature": "体温"},
    {"unit": "药店", "time": "销售时间", "name": "姓名", "id_type": "证件类型", "id": "证件号码", "phone": "手机号",
     "address": "住址", "medicine": "所购药品", "category": "药品分类", "symptoms": "自述症状"},
]
SICK_SHARE = 0.3  # at most this share of a day's buyers are the fever and suspected cases
BAD_SHARE = 0.02  # rows the ingest must quarantine: no name, an unreadable time, a category outside the five


def generate_pharmacy(rows: int, seed: int, day: date, out: Path, truth: Path, people: pd.DataFrame,
                      day_index: int = 0, zero_reports: bool = False) -> dict:
    """About `rows` registrations by the people of `people` (truth/people.csv) into out/pharmacy/,
    one file per pharmacy; the truth (file, row → person_key, true category) into
    truth/truth_pharmacy[_N].csv."""
    from screenfuse.reporting_units import expected_units

    rng = np.random.default_rng([seed, day_index, 41])
    units = expected_units([FEED]).sort_values("unit_id").reset_index(drop=True)
    plan = _buyers(rows, people, rng)
    by_street = {street: list(group.index) for street, group in units.groupby("street")}
    anywhere = rng.integers(0, len(units), len(plan))
    plan["pharmacy"] = [by_street[s][int(rng.integers(len(by_street[s])))] if s in by_street and rng.random() < 0.7
                        else int(a) for s, a in zip(plan["street"], anywhere)]
    silent, late = _quiet(seed, day_index) if zero_reports else (set(), set())
    names = units["unit_name"].to_numpy(dtype=object)
    plan = plan[~pd.Series(names[plan["pharmacy"]]).isin(silent).to_numpy()].reset_index(drop=True)
    plan["bought"] = (np.datetime64(day.isoformat()) + rng.integers(8 * 60, 21 * 60, len(plan)).astype("timedelta64[m]"))
    plan = plan.sort_values(["pharmacy", "bought"], kind="stable").reset_index(drop=True)
    files = _write(plan, units, out / FEED, day, rng)
    arrival = datetime.combine(day, datetime.min.time().replace(hour=20), tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    for name in sorted(late):
        for path in sorted((out / FEED).glob(f"{name}_{day:%Y%m%d}.*")):
            os.utime(path, (arrival, arrival))
    truth.mkdir(parents=True, exist_ok=True)
    suffix = f"_{day_index}" if day_index else ""
    (truth / f"truth_pharmacy{suffix}.csv").write_bytes(csv_bytes(plan.assign(feed=FEED)[
        ["feed", "file_name", "row_number", "person_key", "category", "bad"]]))
    return {"rows": len(plan), "files": files, "pharmacies": int(plan["pharmacy"].nunique()),
            "fever_medicine": int((plan["category"] == "退烧").sum()), "bad": int(plan["bad"].sum())}


def _buyers(rows: int, people: pd.DataFrame, rng) -> pd.DataFrame:
    """Who buys what: fever cases mostly fever medicine, a few suspected cases (at most SICK_SHARE of the
    rows), then residents with a cold."""
    alive = people[~people["true_status"].isin(["confirmed", "deceased"])]
    status = alive["true_status"].to_numpy()
    sick = alive[((status == "fever") & (rng.random(len(alive)) < 0.4))
                 | ((status == "suspected") & (rng.random(len(alive)) < 0.2))].head(int(rows * SICK_SHARE))
    rest = alive.drop(sick.index)
    others = rest.iloc[np.sort(rng.choice(len(rest), size=min(max(rows - len(sick), 0), len(rest)), replace=False))]
    plan = pd.concat([sick, others]).head(max(rows, 0)).reset_index(drop=True)
    cats, shares = zip(*COLD_SHARES.items())
    drawn = rng.choice(cats, size=len(plan), p=shares)
    plan["category"] = np.where(plan["true_status"].isin(["fever", "suspected"]), "退烧", drawn).astype(object)
    plan["birth_date"] = plan["birth_date"].astype(str)
    return plan


def _quiet(seed: int, day_index: int) -> tuple[set[str], set[str]]:
    from screenfuse.synthetic_reports import quiet_and_late

    silent, late = quiet_and_late(seed, day_index)
    return {name for feed, name in silent if feed == FEED}, {name for feed, name in late if feed == FEED}


def _written(plan: pd.DataFrame, rng) -> tuple[np.ndarray, np.ndarray]:
    """(medicine, category) as the till writes them: the category canonical, a variant or empty."""
    n = len(plan)
    cat = plan["category"].to_numpy(dtype=object)
    medicine = np.array([MEDICINES[c][int(k) % len(MEDICINES[c])] for c, k in zip(cat, rng.integers(0, 12, n))],
                        dtype=object)
    form = rng.random(n)
    written = cat.copy()
    variant = (form >= 0.6) & (form < 0.9)
    written[variant] = [WRITTEN[c][int(k) % len(WRITTEN[c])] for c, k in zip(cat[variant], rng.integers(0, 12, variant.sum()))]
    written[form >= 0.9] = ""  # left empty: the medicine's name says it
    return medicine, written


def _write(plan: pd.DataFrame, units: pd.DataFrame, folder: Path, day: date, rng) -> int:
    n = len(plan)
    medicine, category = _written(plan, rng)
    cat = plan["category"].to_numpy(dtype=object)
    pharmacy = plan["pharmacy"].to_numpy()
    text = {"unit": units["unit_name"].to_numpy(dtype=object)[pharmacy],
            "time": time_text(plan["bought"].to_numpy(), pharmacy % len(TIME_FORMATS)),
            "name": noisy_names(plan["name"].to_numpy(dtype=object), rng),
            "phone": noisy_phones(plan["phone"].astype(str).to_numpy(dtype=object), rng),
            "address": addresses(plan, rng), "medicine": medicine, "category": category,
            "quantity": (rng.integers(1, 4, n).astype(str).astype(object) + np.array(["盒", "瓶", "盒"], dtype=object)[
                rng.integers(0, 3, n)]),
            "symptoms": np.array([SYMPTOMS[c][int(k) % len(SYMPTOMS[c])] for c, k in zip(cat, rng.integers(0, 12, n))],
                                 dtype=object)}
    fever = plan["true_status"].eq("fever").to_numpy() & (rng.random(n) < 0.4)
    degrees = np.where(fever, rng.uniform(37.4, 39.2, n), rng.uniform(36.0, 37.1, n)).round(1)
    text["temperature"] = np.where(rng.random(n) < 0.7, degrees.astype(str).astype(object), "")
    layout_of = pharmacy % len(LAYOUTS)
    text["id"], text["id_type"] = noisy_ids(plan, layout_of == 1, rng)
    bad = rng.random(n) < BAD_SHARE
    kind = rng.integers(0, 3, n)
    text["name"][bad & (kind == 0)] = ""
    text["time"][bad & (kind == 1)] = "下午"
    text["category"][bad & (kind == 2)] = "保健品"
    text["medicine"][bad & (kind == 2)] = "维生素C泡腾片"
    plan["bad"] = bad
    folder.mkdir(parents=True, exist_ok=True)
    names, numbers = np.empty(n, dtype=object), np.zeros(n, dtype=np.int64)
    bounds = np.flatnonzero(np.r_[True, pharmacy[1:] != pharmacy[:-1], True]) if n else np.array([0])
    encodings = ("utf-8", "gb18030", "utf-8-sig")
    for start, end in zip(bounds[:-1], bounds[1:]):
        p = int(pharmacy[start])
        layout = LAYOUTS[p % len(LAYOUTS)]
        frame = pd.DataFrame({header: text[key][start:end] for key, header in layout.items()})
        path = folder / f"{text['unit'][start]}_{day:%Y%m%d}.csv"  # the same name as its zero report: replaces it
        path.write_bytes(csv_bytes(frame, encodings[p % len(encodings)]))
        names[start:end], numbers[start:end] = path.name, np.arange(1, end - start + 1)
    plan["file_name"], plan["row_number"] = names, numbers
    return len(bounds) - 1
