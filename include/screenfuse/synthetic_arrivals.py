"""Synthetic arrivals (入境/一人一档, feed arrivals) and city lists (市下推重点人员, feed city_list) for
`screenfuse generate --arrivals N --city-lists N`, for people of the day's population.

Arrivals: one file per hub (四站一场, the arrivals units of data/reporting_units.csv) and day. From
abroad through the airport, with flight numbers, a departure country (dated by the generator's day:
in February 2020 no country is a key country yet, from 03-17 韩国/日本/伊朗/意大利 are), a few foreign
nationals with passports and names in Latin letters (new people, not residents: the truth names
them F…), a few business travellers (商务) leaving within 7 days or later; from other provinces
through the railway and coach stations, with train numbers. Destination addresses are the people's
homes written as units write them (a few route to no street); names, documents and phones with the
noise of the other feeds (synthetic_noise). City lists: one file per list, rows for people of the
population with the city's category (密接, 重点地区来返, 境外来返, 发热, and 次密接, which the default
policy does not map). Drawn from their own random streams: the other feeds are what they were.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from screenfuse import synthetic_reports
from screenfuse.synthetic_documents import labels, number
from screenfuse.synthetic_noise import addresses, noisy_names, noisy_phones, phones
from screenfuse.xlsx import write_xlsx

AIRPORT = "天河机场入境专班"
STATIONS = ["武汉站专班", "汉口站专班", "武昌站专班", "傅家坡长途客运站专班"]
ABROAD = ["韩国", "日本", "意大利", "伊朗", "美国", "英国", "法国", "新加坡", "泰国", "澳大利亚", "境外", "香港"]
DOMESTIC = ["北京", "上海", "广州", "长沙", "湖北孝感", "湖北黄冈", "郑州", "成都"]
NATIONALITY = {"韩国": "韩国", "日本": "日本", "意大利": "意大利", "伊朗": "伊朗", "美国": "美国", "英国": "英国",
               "法国": "法国", "新加坡": "新加坡", "泰国": "泰国", "澳大利亚": "澳大利亚"}
LATIN_GIVEN = ["JOHN", "MARIA", "DAVID", "ANNA", "LUCA", "SOFIA", "KIM", "PARK", "ALI", "REZA", "YUKI", "EMMA"]
LATIN_FAMILY = ["SMITH", "ROSSI", "KIM", "LEE", "TANAKA", "SATO", "AHMADI", "BROWN", "MARTIN", "WONG", "GARCIA"]
HOTELS = ["武昌区集中隔离点一号酒店", "楚河汉街隔离酒店", "洪山宾馆(隔离点)", ""]
PURPOSES = ["探亲", "返岗", "旅游", "留学返回", "商务洽谈", "商务"]
ARRIVAL_HEADERS = ["到达口岸", "到达时间", "姓名", "证件类型", "证件号码", "境内联系电话", "国籍", "航班号/车次", "出发地",
                   "入境日期", "目的地址", "隔离酒店", "出行目的", "拟离开日期"]
CITY_LIST_HEADERS = ["下推单位", "下推日期", "名单编号", "姓名", "证件类型", "证件号码", "联系电话", "现住址", "人员类别",
                     "来源地", "抵达日期"]
CITY_CATEGORIES = [("密接", 0.30), ("重点地区来返", 0.25), ("境外来返", 0.15), ("发热", 0.10), ("次密接", 0.15),
                   ("密切接触者", 0.05)]
FOREIGN_SHARE, BUSINESS_SHARE, ABROAD_SHARE = 0.30, 0.25, 0.55


def generate_arrivals(n: int, seed: int, day: date, out: Path, truth: Path, people: pd.DataFrame,
                      day_index: int = 0, zero_reports: bool = False) -> dict:
    """Write n arrival rows of `day` into out/arrivals/, one file per hub; the truth into truth/.
    `zero_reports`: as the other feeds' units (synthetic_reports): a hub silent that day sends
    nothing, a late one's file arrives late, and a hub's file replaces its header-only one."""
    rng = np.random.default_rng([seed, day_index, 86])
    plan = _arrival_plan(n, rng, day, people)
    rows = _arrival_rows(plan, rng)
    late: set = set()
    if zero_reports:
        silent, late = synthetic_reports.quiet_and_late(seed, day_index)
        keep = ~plan["hub"].isin({name for feed, name in silent if feed == "arrivals"}).to_numpy()
        plan, rows = plan[keep].reset_index(drop=True), rows[keep].reset_index(drop=True)
    written = _write_by_unit(plan, out / "arrivals", day, rng, rows)
    if zero_reports:
        synthetic_reports.arrive_late(out, day, {(feed, name) for feed, name in late if feed == "arrivals"})
    _truth(plan, "arrivals", truth, f"truth_arrivals{f'_{day_index}' if day_index else ''}.csv")
    return {"rows": len(plan), "files": written, "abroad": int(plan["abroad"].sum()),
            "foreign": int(plan["foreign"].sum()), "business": int(plan["business"].sum())}


def generate_city_lists(n: int, seed: int, day: date, out: Path, truth: Path, people: pd.DataFrame,
                        day_index: int = 0) -> dict:
    """Write n rows of the city's lists of `day` into out/city_list/ (two lists a day)."""
    rng = np.random.default_rng([seed, day_index, 87])
    n = min(n, len(people))
    chosen = people.iloc[np.sort(rng.choice(len(people), size=n, replace=False))].reset_index(drop=True)
    names, shares = zip(*CITY_CATEGORIES)
    category = rng.choice(names, size=n, p=np.array(shares) / sum(shares))
    listed = np.where(category == "境外来返", rng.choice(ABROAD, size=n),
                      np.where(category == "重点地区来返", rng.choice(["湖北孝感", "湖北黄冈", "武汉"], size=n), ""))
    back = np.array([(day - timedelta(days=int(d))).isoformat() for d in rng.integers(1, 10, n)], dtype=object)
    plan = chosen.assign(unit=np.where(rng.random(n) < 0.5, "市指挥部流调组", "市指挥部大数据组"), category=category)
    plan["list_no"] = np.where(plan["unit"] == "市指挥部流调组", "A", "B")
    ids, kinds = _documents(plan, rng)
    rows = pd.DataFrame({
        "下推单位": plan["unit"], "下推日期": f"{day:%Y-%m-%d}", "名单编号": f"SX{day:%Y%m%d}" + plan["list_no"],
        "姓名": noisy_names(plan["name"].to_numpy(dtype=object), rng), "证件类型": kinds, "证件号码": ids,
        "联系电话": noisy_phones(plan["phone"].to_numpy(dtype=object), rng), "现住址": addresses(plan, rng),
        "人员类别": plan["category"], "来源地": listed, "抵达日期": np.where(listed != "", back, ""),
    })[CITY_LIST_HEADERS]
    plan["hub"] = "市下推" + plan["list_no"]
    written = _write_by_unit(plan, out / "city_list", day, rng, rows)
    _truth(plan, "city_list", truth, f"truth_city_list{f'_{day_index}' if day_index else ''}.csv")
    return {"rows": n, "files": written, "categories": dict(pd.Series(category).value_counts().sort_index())}


def _arrival_plan(n: int, rng, day: date, people: pd.DataFrame) -> pd.DataFrame:
    """Who arrives where and how: residents of the population, and foreign nationals (new people)."""
    abroad = rng.random(n) < ABROAD_SHARE
    foreign = abroad & (rng.random(n) < FOREIGN_SHARE)
    residents = people.iloc[rng.choice(len(people), size=n, replace=False if n <= len(people) else True)]
    plan = residents.reset_index(drop=True).copy()
    plan["abroad"], plan["foreign"] = abroad, foreign
    came = np.where(abroad, rng.choice(ABROAD, size=n), rng.choice(DOMESTIC, size=n)).astype(object)
    plan["came_from"] = came
    plan["business"] = foreign & (rng.random(n) < BUSINESS_SHARE)
    # foreign nationals: a name in Latin letters, a passport of their own, staying at a resident's address
    k = int(foreign.sum())
    plan.loc[foreign, "person_key"] = [f"F{day:%m%d}{i:04d}" for i in range(k)]
    plan.loc[foreign, "name"] = [f"{LATIN_GIVEN[a]} {LATIN_FAMILY[b]}" for a, b in
                                 zip(rng.integers(0, len(LATIN_GIVEN), k), rng.integers(0, len(LATIN_FAMILY), k))]
    plan.loc[foreign, "id_type"] = "passport"
    plan.loc[foreign, "id_number"] = [number("passport", rng) for _ in range(k)]
    plan.loc[foreign, "phone"] = phones(k, rng)
    plan["hub"] = np.where(abroad, AIRPORT, rng.choice(STATIONS, size=n))
    minute = rng.integers(0, 12 * 60, n)
    plan["arrived"] = [datetime(day.year, day.month, day.day) + timedelta(minutes=int(m)) for m in minute]
    return plan


def _arrival_rows(plan: pd.DataFrame, rng) -> pd.DataFrame:
    n = len(plan)
    abroad, business = plan["abroad"].to_numpy(), plan["business"].to_numpy()
    foreign = plan["foreign"].to_numpy()
    flight = np.char.add(rng.choice(["MU", "CA", "CZ", "KE", "AZ", "SQ"], size=n),
                         rng.integers(100, 9999, n).astype(str))
    train = np.char.add(rng.choice(["G", "D", "K", "Z"], size=n), rng.integers(10, 2999, n).astype(str))
    coach = plan["hub"].str.contains("客运").to_numpy()
    transport = np.where(abroad, flight, np.where(coach, "", train)).astype(object)
    names = plan["name"].to_numpy(dtype=object)
    names[~foreign] = noisy_names(names[~foreign], rng)
    latin = np.flatnonzero(foreign & (rng.random(n) < 0.3))  # written family name first, or in lower case
    names[latin] = [(" ".join(reversed(v.split())) if rng.random() < 0.5 else v.title()) for v in names[latin]]
    ids, kinds = _documents(plan, rng)
    day_text = plan["arrived"].map(lambda t: f"{t:%Y-%m-%d}").to_numpy(dtype=object)
    leaves = np.array([(t + timedelta(days=int(d))).strftime("%Y-%m-%d") for t, d in
                       zip(plan["arrived"], rng.integers(3, 12, n))], dtype=object)
    purpose = np.where(business, rng.choice(["商务", "商务洽谈"], size=n), rng.choice(PURPOSES[:4], size=n))
    nationality = np.where(foreign, [NATIONALITY.get(c, "") for c in plan["came_from"]], np.where(abroad, "中国", ""))
    return pd.DataFrame({
        "到达口岸": plan["hub"], "到达时间": plan["arrived"].map(lambda t: f"{t:%Y-%m-%d %H:%M}"), "姓名": names,
        "证件类型": kinds, "证件号码": ids, "境内联系电话": noisy_phones(plan["phone"].to_numpy(dtype=object), rng),
        "国籍": nationality, "航班号/车次": transport, "出发地": plan["came_from"],
        "入境日期": np.where(abroad & (rng.random(n) < 0.9), day_text, ""), "目的地址": addresses(plan, rng),
        "隔离酒店": np.where(abroad, rng.choice(HOTELS, size=n), ""), "出行目的": np.where(abroad, purpose, ""),
        "拟离开日期": np.where(business | (abroad & (rng.random(n) < 0.1)), leaves, ""),
    })[ARRIVAL_HEADERS]


def _documents(plan: pd.DataFrame, rng) -> tuple[np.ndarray, np.ndarray]:
    """Document numbers and 证件类型 as the hubs type them: the person's own document, a few typed
    in lower case or with spaces, a few left out; the type named on every row that has a number."""
    n = len(plan)
    ids = plan["id_number"].astype(str).to_numpy(dtype=object).copy()
    kinds = labels(plan["id_type"].to_numpy(dtype=object))
    lower = rng.random(n) < 0.08
    ids[lower] = [v.lower() for v in ids[lower]]
    spaced = ~lower & (rng.random(n) < 0.03)
    ids[spaced] = [f"{v[:4]} {v[4:]}" for v in ids[spaced]]
    missing = rng.random(n) < 0.02
    ids[missing], kinds[missing] = "", ""
    return ids, kinds


def _write_by_unit(plan: pd.DataFrame, folder: Path, day: date, rng, rows: pd.DataFrame) -> int:
    """One file per unit (hub or list), rows in a shuffled order; xlsx for the airport, CSV for the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    plan["file_name"], plan["row_number"] = "", 0
    written = 0
    for unit in sorted(plan["hub"].unique()):
        at = np.flatnonzero(plan["hub"].to_numpy() == unit)
        at = at[rng.permutation(len(at))]
        frame = rows.iloc[at].reset_index(drop=True)
        kind = "xlsx" if unit == AIRPORT else "csv"
        for header_only in folder.glob(f"{unit}_{day:%Y%m%d}.*"):  # its zero report (--zero-reports)
            header_only.unlink()
        path = folder / f"{unit}_{day:%Y%m%d}.{kind}"
        if kind == "xlsx":
            write_xlsx(frame, path)
        else:
            path.write_bytes(frame.to_csv(index=False).encode("utf-8"))
        plan.loc[at, "file_name"] = path.name
        plan.loc[at, "row_number"] = np.arange(1, len(at) + 1)
        written += 1
    return written


def _truth(plan: pd.DataFrame, feed: str, truth: Path, name: str) -> None:
    truth.mkdir(parents=True, exist_ok=True)
    plan.assign(feed=feed)[["feed", "file_name", "row_number", "person_key"]].to_csv(truth / name, index=False)
