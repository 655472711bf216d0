"""Seeded synthetic self-reports (自主申报) for `screenfuse generate --self-report N`.

Seed 000 l.29: a mini-program and a telephone line where the four categories report themselves
("未收治、未隔离'四类人员'自报微信小程序和电话专线"). The reporters are people of the other feeds
(truth/people.csv, the same person keys): some fever cases (a temperature, 发热 among the
symptoms), some close contacts naming their index case, some arrivals with their travel, some
who say they are suspected, and residents with a cough or nothing at all (a plain health report).
Two channels, two header layouts: the mini-program's export (XLSX, 申报时间 to the second) and the
hotline's log (CSV, 来电时间, fewer fields, more gaps). Noise as in the other feeds
(synthetic_noise); a few bad rows (no name, a temperature nobody can read, no time). The
self-report line is no reporting unit: it sends no zero report.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from screenfuse.synthetic import KEY_AREAS, OTHER_PLACES
from screenfuse.synthetic_noise import addresses, csv_bytes, noisy_ids, noisy_names, noisy_phones, time_text
from screenfuse.xlsx import write_xlsx

FEED = "self_report"
CHANNELS = ("微信小程序", "电话专线")
LAYOUTS = [  # the mini-program's export; the hotline's log
    {"unit": "申报渠道", "time": "申报时间", "name": "申报人姓名", "id_type": "证件类型", "id": "证件号码",
     "phone": "手机号码", "address": "现居住地址", "reported_as": "申报类别", "symptoms": "目前症状", "temperature": "体温",
     "came_from": "14天旅居史", "arrived": "返回日期", "contact_name": "接触病例姓名", "contact_id": "接触病例身份证号",
     "contact_date": "末次接触日期"},
    {"unit": "渠道", "time": "来电时间", "name": "来电人姓名", "id": "身份证号", "phone": "来电号码", "address": "住址",
     "reported_as": "人员类别", "symptoms": "症状", "temperature": "最高体温", "came_from": "近期去过"},
]
OTHER_SYMPTOMS = ["咳嗽", "干咳", "乏力", "咽痛", "咳嗽、乏力", "腹泻", "胸闷", "嗅觉减退"]
KEEN_SHARE = 0.6  # at most this share of a day's reports come from the cases, contacts and arrivals
BAD_SHARE = 0.02


def generate_self_report(rows: int, seed: int, day: date, out: Path, truth: Path, people: pd.DataFrame,
                         day_index: int = 0) -> dict:
    """About `rows` reports by people of `people` (truth/people.csv) into out/self_report/, one file
    per channel; the truth (file, row → person_key, what they reported) into truth/truth_self_report[_N].csv."""
    rng = np.random.default_rng([seed, day_index, 29])
    plan = _reporters(rows, people, rng, day)
    plan["channel"] = np.where(rng.random(len(plan)) < 0.65, 0, 1)
    plan["at"] = np.datetime64(day.isoformat()) + rng.integers(7 * 3600, 22 * 3600, len(plan)).astype("timedelta64[s]")
    plan = plan.sort_values(["channel", "at"], kind="stable").reset_index(drop=True)
    files = _write(plan, people, out / FEED, day, rng)
    truth.mkdir(parents=True, exist_ok=True)
    suffix = f"_{day_index}" if day_index else ""
    (truth / f"truth_self_report{suffix}.csv").write_bytes(csv_bytes(plan.assign(feed=FEED)[
        ["feed", "file_name", "row_number", "person_key", "kind", "bad"]]))
    counts = plan["kind"].value_counts()
    return {"rows": len(plan), "files": files, **{k: int(counts.get(k, 0)) for k in
                                                   ("fever", "contact", "arrival", "suspected", "symptoms", "healthy")},
            "bad": int(plan["bad"].sum())}


def _reporters(rows: int, people: pd.DataFrame, rng, day: date) -> pd.DataFrame:
    """Who reports what (kind): fever, contact, arrival, suspected, symptoms, healthy."""
    alive = people[~people["true_status"].isin(["confirmed", "deceased"])].reset_index(drop=True)
    status = alive["true_status"].to_numpy()
    keen = {"fever": 0.3, "close_contact": 0.15, "key_area_arrival": 0.2, "suspected": 0.15}
    pick = np.array([rng.random() < keen.get(s, 0.0) for s in status], dtype=bool)
    chosen = alive[pick].head(int(rows * KEEN_SHARE))
    rest = alive.drop(chosen.index)
    extra = max(rows - len(chosen), 0)
    others = rest.iloc[np.sort(rng.choice(len(rest), size=min(extra, len(rest)), replace=False))]
    plan = pd.concat([chosen, others]).head(max(rows, 0)).reset_index(drop=True)
    kind = {"fever": "fever", "close_contact": "contact", "key_area_arrival": "arrival", "suspected": "suspected"}
    plan["kind"] = plan["true_status"].map(kind).fillna("")
    plain = (plan["kind"] == "").to_numpy()
    plan.loc[plain, "kind"] = np.where(rng.random(int(plain.sum())) < 0.3, "symptoms", "healthy")
    plan["birth_date"] = plan["birth_date"].astype(str)
    plan["arrived"] = [(day - timedelta(days=int(k))).isoformat() for k in rng.integers(1, 12, len(plan))]
    return plan


def _write(plan: pd.DataFrame, people: pd.DataFrame, folder: Path, day: date, rng) -> int:
    n = len(plan)
    kind = plan["kind"].to_numpy(dtype=object)
    channel = plan["channel"].to_numpy()
    fever = kind == "fever"
    degrees = np.where(fever, rng.uniform(37.4, 39.5, n), rng.uniform(36.0, 37.1, n)).round(1).astype(str).astype(object)
    told = rng.random(n)
    symptoms = np.full(n, "无", dtype=object)
    symptoms[fever] = np.where(told[fever] < 0.5, "发热", "发热、咳嗽")
    other = np.isin(kind, ["symptoms", "suspected"])
    symptoms[other] = np.array(OTHER_SYMPTOMS, dtype=object)[rng.integers(0, len(OTHER_SYMPTOMS), int(other.sum()))]
    symptoms[(kind == "healthy") & (told < 0.3)] = ""
    reported_as = np.full(n, "", dtype=object)
    reported_as[fever] = "发热"
    reported_as[kind == "contact"] = np.where(told[kind == "contact"] < 0.6, "密接", "")
    reported_as[kind == "suspected"] = "疑似"
    reported_as[kind == "healthy"] = np.where(told[kind == "healthy"] < 0.5, "无", "")
    arrival = kind == "arrival"
    came = np.where(rng.random(n) < 0.1, np.array(OTHER_PLACES, dtype=object)[rng.integers(0, len(OTHER_PLACES), n)], "无")
    came[arrival] = np.array(KEY_AREAS, dtype=object)[rng.integers(0, len(KEY_AREAS), int(arrival.sum()))]
    travelled = came != "无"
    # the index case a contact names: a confirmed person of the population (name and, on the app, the ID)
    cases = people[people["true_status"] == "confirmed"]
    contact = kind == "contact"
    index = cases.iloc[rng.integers(0, len(cases), n) % max(len(cases), 1)] if len(cases) else None
    text = {"unit": np.array(CHANNELS, dtype=object)[channel],
            "time": time_text(plan["at"].to_numpy(), np.where(channel == 0, 0, rng.integers(0, 3, n))),
            "name": noisy_names(plan["name"].to_numpy(dtype=object), rng),
            "phone": noisy_phones(plan["phone"].astype(str).to_numpy(dtype=object), rng),
            "address": addresses(plan, rng), "reported_as": reported_as, "symptoms": symptoms,
            "temperature": np.where(fever | (told < 0.5), degrees, ""), "came_from": came,
            "arrived": np.where(travelled, plan["arrived"].to_numpy(dtype=object), ""),
            "contact_name": np.where(contact & (index is not None), index["name"].to_numpy(dtype=object)
                                     if index is not None else "", ""),
            "contact_id": np.where(contact & (index is not None), index["id_number"].astype(str).to_numpy(dtype=object)
                                   if index is not None else "", ""),
            "contact_date": np.where(contact, (np.datetime64(day.isoformat()) - rng.integers(1, 6, n).astype(
                "timedelta64[D]")).astype(str).astype(object), "")}
    text["id"], text["id_type"] = noisy_ids(plan, channel == 0, rng)
    text["id"][(channel == 1) & (rng.random(n) < 0.15)] = ""  # callers often give no ID
    bad = rng.random(n) < BAD_SHARE
    which = rng.integers(0, 3, n)
    text["name"][bad & (which == 0)] = ""
    text["temperature"][bad & (which == 1)] = "有点烧"
    text["time"][bad & (which == 2)] = ""
    plan["bad"] = bad
    folder.mkdir(parents=True, exist_ok=True)
    names, numbers = np.empty(n, dtype=object), np.zeros(n, dtype=np.int64)
    for c in (0, 1):
        at = np.flatnonzero(channel == c)
        if not len(at):
            continue
        layout = LAYOUTS[c]
        frame = pd.DataFrame({header: text[key][at] for key, header in layout.items()})
        path = folder / f"{CHANNELS[c]}_{day:%Y%m%d}.{'xlsx' if c == 0 else 'csv'}"
        if c == 0:
            write_xlsx(frame, path)
        else:
            path.write_bytes(csv_bytes(frame, "gb18030"))
        names[at], numbers[at] = path.name, np.arange(1, len(at) + 1)
    plan["file_name"], plan["row_number"] = names, numbers
    return int(len(np.unique(channel))) if n else 0
