"""Seeded synthetic mass nucleic-acid screening (全员核酸筛查) for a whole district day.

Sampling files, one per sampling point (30 to 200 points; CSV in UTF-8, GBK or with a BOM, some
XLSX; four header layouts, one with results already filled in), and the labs' result files hours
later: most people in pools of ten (十混一), some in single tubes, a small positive rate, positive
pools re-tested tube by tube, a few results that never come back, a few sent twice, a few for a
mistyped tube. The people are those of the other feeds (truth/people.csv: the same person keys)
and the district's other residents, drawn like them (households, valid resident IDs, gazetteer
addresses) with the same noise (`synthetic.DEFAULT_NOISE`). Vectorized with numpy: a million
sampling rows take well under a minute. Deterministic by seed; no real personal data.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from screenfuse.gazetteer import load_gazetteer
from screenfuse.synthetic import GIVEN, REGION_CODES, SURNAMES, VERY_COMMON_NAMES
from screenfuse.synthetic_noise import (
    TIME_FORMATS, addresses, csv_bytes, noisy_ids, noisy_names, noisy_phones, noisy_tubes, phones, time_text,
)
from screenfuse.xlsx import write_xlsx

LABS = ["武昌区疾控中心实验室", "武昌医院检验科", "湖北省第三人民医院检验科", "区第三方检测实验室甲", "区第三方检测实验室乙"]
# canonical column → header, per layout of a sampling point's export (the third has results filled in)
SAMPLING_LAYOUTS = [
    {"unit": "采样点名称", "time": "采样时间", "name": "受检者姓名", "id_type": "证件类型", "id": "证件号码",
     "phone": "联系电话", "address": "现住址", "sample": "样本编号", "pool": "混检管号"},
    {"unit": "采样地点", "time": "采集时间", "name": "姓名", "id": "身份证号", "phone": "手机号码",
     "address": "居住地址", "sample": "采样管号", "pool": "混采管号"},
    {"unit": "采样点", "time": "采样时间", "name": "姓名", "id_type": "证件类型", "id": "证件号码",
     "phone": "联系方式", "address": "住址", "sample": "试管编号", "pool": "十混一管号",
     "result": "检测结果", "result_time": "结果时间"},
    {"unit": "采样点", "time": "采样时间", "name": "被采样人姓名", "id": "身份证号码", "phone": "电话",
     "address": "家庭住址", "sample": "样本条码", "pool": "混管编号"},
]
RESULT_LAYOUTS = [
    {"lab": "检测机构", "sample": "样本编号", "pool": "混检管号", "result": "检测结果", "time": "报告时间"},
    {"lab": "检测单位", "sample": "采样管号", "pool": "混采管号", "result": "核酸检测结果", "time": "结果时间",
     "sampled": "采样时间"},
    {"lab": "实验室", "sample": "条码号", "pool": "混管编号", "result": "结果", "time": "出结果时间"},
]
SINGLE_SHARE, LOST, TWICE, POSITIVE_RATE, HOME_VISIT = 0.12, 0.003, 0.005, 5e-5, 0.01
FALSE_POOL, UNCLEAR_POOL, INVALID, DUPLICATE, MISTYPED = 1 / 3000, 1 / 2000, 1 / 3000, 0.002, 0.0002


def generate_mass_screening(rows: int, seed: int, day: date, out: Path, truth: Path,
                            people: pd.DataFrame | None = None, day_index: int = 0) -> dict:
    """Write about `rows` sampling rows into out/mass_screening/ and the results into
    out/mass_screening_result/; the truth (row → person_key, tube, pool, true and expected outcome)
    into truth/truth_mass_screening[_N].csv. `people`: the other feeds' population (truth/people.csv)."""
    rng = np.random.default_rng([seed, day_index, 20200514])
    persons = _persons(rows, seed, people, rng)
    plan = _plan(persons, rng, day)
    results, plan = _results(plan, rng)
    files = _write_sampling(plan, out / "mass_screening", day, rng)
    files += _write_results(results, out / "mass_screening_result", rng)
    truth.mkdir(parents=True, exist_ok=True)
    suffix = f"_{day_index}" if day_index else ""
    (truth / f"truth_mass_screening{suffix}.csv").write_bytes(csv_bytes(plan.assign(feed="mass_screening")[
        ["feed", "file_name", "row_number", "person_key", "sample_id", "pool_id", "true_result", "expected_scope",
         "expected_result"]]))
    return {"rows": len(plan), "points": int(plan["point"].nunique()), "result_rows": len(results),
            "files": files, "pools": int(plan.loc[plan["pool_id"] != "", "pool_id"].nunique()),
            "positive": int((plan["true_result"] == "阳性").sum())}


# ---------------------------------------------------------------------------------- people

def _persons(rows: int, seed: int, people: pd.DataFrame | None, rng) -> pd.DataFrame:
    """Who is sampled today: most of the other feeds' people (not the cases in hospital), and enough
    of the district's other residents (the same ones every day for the same seed and size)."""
    columns = ["person_key", "name", "id_number", "birth_date", "phone", "street", "community", "road", "number",
               "building", "unit_no", "room", "positive", "id_type"]
    frames = []
    if people is not None and len(people):
        known = people[~people["true_status"].isin(["confirmed", "deceased"])]
        known = known[rng.random(len(known)) < 0.85].head(rows)
        frames.append(known.assign(positive=known["true_status"].eq("asymptomatic"),
                                   birth_date=known["birth_date"].astype(str),
                                   id_type=known["id_type"] if "id_type" in known else "resident_id")[columns])
    twice = int(rows * TWICE)
    extra = max(rows - twice - sum(len(f) for f in frames), 0)
    used = set(people["id_number"].astype(str)) if people is not None else set()
    frames.append(_residents(extra, seed, used).assign(id_type="resident_id")[columns])
    persons = pd.concat(frames, ignore_index=True)
    again = persons.iloc[np.sort(rng.choice(len(persons), size=min(twice, len(persons)), replace=False))]
    return pd.concat([persons, again], ignore_index=True)


def _residents(n: int, seed: int, used_ids: set[str]) -> pd.DataFrame:
    """`n` residents in households of one to five (shared address, often the surname and a phone)."""
    rng = np.random.default_rng([seed, 31])
    gaz = load_gazetteer().communities.reset_index(drop=True)
    sizes = rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.3, 0.25, 0.15, 0.05], size=max(n, 1))
    household = np.repeat(np.arange(len(sizes)), sizes)[:n]
    member = np.arange(n) - np.searchsorted(household, household)
    h = int(household.max()) + 1 if n else 0
    home = rng.integers(0, len(gaz), h)
    roads = gaz["roads"].str.split("|")
    counts = roads.str.len().to_numpy()
    flat = np.array([r for names in roads for r in names], dtype=object)
    road = flat[(np.cumsum(counts) - counts)[home] + (rng.random(h) * counts[home]).astype(int)]
    surname = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), h)][household]
    own = (member == 1) | (rng.random(n) > 0.85)
    surname = np.where(own, np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)], surname)
    given = np.array(GIVEN, dtype=object)
    name = surname + given[rng.integers(0, len(given), n)] + np.where(
        rng.random(n) < 0.35, "", given[rng.integers(0, len(given), n)])
    common = rng.random(n) < 0.03
    name[common] = np.array(VERY_COMMON_NAMES, dtype=object)[rng.integers(0, len(VERY_COMMON_NAMES), common.sum())]
    adult = member < 2
    birth = np.where(adult, np.datetime64("1940-01-01") + rng.integers(0, 365 * 62, n).astype("timedelta64[D]"),
                     np.datetime64("1960-01-01") + rng.integers(0, 365 * 58, n).astype("timedelta64[D]"))
    male = rng.random(n) < 0.5
    ids = _resident_ids(birth, male, rng, used_ids)
    phone, home_phone = phones(n, rng), phones(h, rng)[household]
    phone = np.where(((~adult) & (rng.random(n) < 0.7)) | (rng.random(n) < 0.1), home_phone, phone)
    return pd.DataFrame({
        "person_key": [f"M{seed % 1000:03d}{i:07d}" for i in range(n)], "name": name, "id_number": ids,
        "birth_date": birth.astype(str), "phone": phone,
        "street": gaz["street"].to_numpy()[home][household], "community": gaz["community"].to_numpy()[home][household],
        "road": road[household], "number": rng.integers(1, 400, h)[household],
        "building": rng.integers(1, 30, h)[household], "unit_no": rng.integers(1, 6, h)[household],
        "room": (rng.integers(1, 30, h) * 100 + rng.integers(1, 5, h))[household],
        "positive": _positives(n, rng),
    })


def _positives(n: int, rng) -> np.ndarray:
    """A small positive rate, and at least a couple in any day big enough to pool (tests see some)."""
    positive = rng.random(n) < POSITIVE_RATE
    if n >= 100 and positive.sum() < 2:
        positive[rng.choice(n, size=2, replace=False)] = True
    return positive


def _resident_ids(birth: np.ndarray, male: np.ndarray, rng, used: set[str]) -> np.ndarray:
    """Valid 18-digit resident IDs (GB 11643 check character), unique, none of `used`."""
    n = len(birth)
    region = np.array(REGION_CODES, dtype=object)[rng.integers(0, len(REGION_CODES), n)]
    ymd = pd.Series(birth.astype("datetime64[D]").astype(str), dtype=object).str.replace("-", "").to_numpy()
    ids = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        seq = rng.integers(0, 100, len(todo)) * 10 + rng.integers(0, 5, len(todo)) * 2 + male[todo]
        first17 = region[todo] + ymd[todo] + np.char.zfill(seq.astype(str), 3).astype(object)
        digits = np.frombuffer("".join(first17).encode("ascii"), dtype=np.uint8).reshape(-1, 17) - 48
        check = np.array(list("10X98765432"), dtype=object)[(digits @ np.array(
            [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])) % 11]
        ids[todo] = first17 + check
        seen = pd.Series(ids, dtype=object)
        clash = seen.duplicated(keep="first").to_numpy() | seen.isin(used).to_numpy()
        todo = np.flatnonzero(clash)
    return ids


# ---------------------------------------------------------------------------- the sampling

def _plan(persons: pd.DataFrame, rng, day: date) -> pd.DataFrame:
    """Each sampling: its point (one of its community's), time, tube and pool (ten in a row at a point)."""
    gaz = load_gazetteer().communities.reset_index(drop=True)
    n, n_comm = len(persons), len(gaz)
    n_points = int(np.clip(n // 5000, 30, 200))
    comm = pd.Index(gaz["community"]).get_indexer(persons["community"]).clip(0)
    if n_points >= n_comm:
        serving = n_points // n_comm + (np.arange(n_comm) < n_points % n_comm)
        point = comm + (rng.random(n) * serving[comm]).astype(int) * n_comm
    else:
        point = comm % n_points
    # people who cannot come are sampled at home (上门采样, seed 000), one team per street, single tubes
    streets = np.array(sorted(gaz["street"].unique()), dtype=object)
    at_home = rng.random(n) < HOME_VISIT
    point = np.where(at_home, n_points + pd.Index(streets).get_indexer(persons["street"]).clip(0), point)
    minute = rng.integers(7 * 60, 19 * 60, n)
    plan = persons.assign(point=point, minute=minute, second=rng.integers(0, 60, n),
                          single=at_home | (rng.random(n) < SINGLE_SHARE))
    plan = plan.sort_values(["point", "minute", "second"], kind="stable").reset_index(drop=True)
    serial = plan.groupby("point").cumcount().to_numpy()
    pooled_rank = plan.assign(pooled=~plan["single"]).groupby(["point", "pooled"]).cumcount().to_numpy()
    stamp = f"{day:%y%m%d}"
    point3 = np.char.zfill(plan["point"].to_numpy().astype(str), 3).astype(object)
    plan["sample_id"] = stamp + point3 + np.char.zfill(serial.astype(str), 5).astype(object)
    plan["pool_id"] = np.where(plan["single"], "", "HJ" + stamp + point3
                               + np.char.zfill((pooled_rank // 10).astype(str), 4).astype(object))
    at = plan["point"].to_numpy()
    team = at >= n_points
    plan["point_name"] = np.where(team, streets[(at - n_points).clip(0, len(streets) - 1)] + "上门采样队",
                                  gaz["community"].to_numpy()[at % n_comm] + "核酸采样点"
                                  + (at // n_comm + 1).astype(str).astype(object))
    plan["team"] = team
    plan["sampled"] = (np.datetime64(day.isoformat()) + plan["minute"].to_numpy().astype("timedelta64[m]")
                       + plan["second"].to_numpy().astype("timedelta64[s]"))
    plan["true_result"] = np.where(plan["positive"], "阳性", "阴性")
    return plan


def _results(plan: pd.DataFrame, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The labs' results (pools, single tubes, re-tests of the members of unclear pools), the results
    written into the sampling files of the points whose layout has them (`inline_result`), and what
    the join should find for each sampling (`expected_scope`, `expected_result`)."""
    plan = plan.assign(lab=(plan["point"] % len(LABS)).to_numpy(),
                       inline=(plan["point"] % len(SAMPLING_LAYOUTS) == 2).to_numpy())
    is_pool = plan["pool_id"].to_numpy() != ""
    pooled, singles = plan[is_pool], plan[~is_pool]
    pools = pooled.groupby("pool_id").agg(sampled=("sampled", "max"), positive=("positive", "any"),
                                          lab=("lab", "first"), inline=("inline", "first"))
    draw = rng.random(len(pools))
    pools["result"] = np.select([pools["positive"] | (draw < FALSE_POOL), draw < FALSE_POOL + UNCLEAR_POOL,
                                 draw < FALSE_POOL + UNCLEAR_POOL + INVALID], ["阳性", "待复核", "无效"], "阴性")
    pools["at"] = pools["sampled"] + _hours(rng, len(pools), 6, 30)
    pools = pools[rng.random(len(pools)) >= LOST].reset_index()  # a few never come back
    own = singles.assign(result=np.where(rng.random(len(singles)) < INVALID, "无效", singles["true_result"]),
                         at=singles["sampled"] + _hours(rng, len(singles), 6, 30))
    own = own[rng.random(len(own)) >= LOST]
    unclear = pools[pools["result"].isin(["阳性", "待复核"])].set_index("pool_id")
    retest = pooled[pooled["pool_id"].isin(unclear.index)]  # every member's own tube, hours after the pool
    retest = retest.assign(result=retest["true_result"], inline=False,
                           at=unclear["at"].reindex(retest["pool_id"]).to_numpy() + _hours(rng, len(retest), 2, 8))
    columns = ["sample_id", "pool_id", "result", "at", "lab", "sampled", "inline"]
    results = pd.concat([pools.assign(sample_id="")[columns], own.assign(pool_id="")[columns], retest[columns]],
                        ignore_index=True)
    results["at"] = results["at"].dt.floor("min")
    typo = ~results["inline"] & (results["pool_id"] == "") & (rng.random(len(results)) < MISTYPED)
    results.loc[typo, "sample_id"] = results.loc[typo, "sample_id"].str[:-1]  # a digit left out: an orphan
    written = results[results["inline"]]
    by_pool = written[written["sample_id"] == ""].set_index("pool_id")
    by_tube = written[written["sample_id"] != ""].set_index("sample_id")
    at = plan["pool_id"].map(by_pool["at"]).fillna(plan["sample_id"].map(by_tube["at"]))
    plan["inline_result"] = plan["pool_id"].map(by_pool["result"]).fillna(plan["sample_id"].map(by_tube["result"])).fillna("")
    plan["inline_time"] = np.where(at.notna(), time_text(at.fillna(pd.Timestamp(0)).to_numpy(), np.zeros(len(at), int)), "")
    # what the join finds: the own tube's result (a single tube, or a re-test, always after its pool), else the pool's
    mine = plan["sample_id"].map(results[results["sample_id"] != ""].drop_duplicates("sample_id").set_index("sample_id")["result"])
    theirs = plan["pool_id"].map(results[results["sample_id"] == ""].set_index("pool_id")["result"])
    plan["expected_scope"] = np.where(mine.notna(), "individual", np.where(theirs.notna(), "pool", "awaiting"))
    plan["expected_result"] = mine.fillna(theirs).fillna("")
    twice = results[~results["inline"] & (rng.random(len(results)) < DUPLICATE)]  # sent again, in a later file
    return pd.concat([results, twice.assign(at=twice["at"] + pd.Timedelta(hours=6))], ignore_index=True), plan


def _hours(rng, n: int, low: float, high: float) -> np.ndarray:
    return (rng.uniform(low, high, n) * 60).astype("timedelta64[m]")


# ------------------------------------------------------------------------------- writing

def _write_sampling(plan: pd.DataFrame, folder: Path, day: date, rng) -> int:
    """One file per sampling point, rows in the order people queued; noise like the other feeds."""
    n = len(plan)
    point = plan["point"].to_numpy()
    time_fmt = point % len(TIME_FORMATS)
    text = {
        "unit": plan["point_name"].to_numpy(), "time": time_text(plan["sampled"].to_numpy(), time_fmt),
        "name": noisy_names(plan["name"].to_numpy(dtype=object), rng),
        "phone": noisy_phones(plan["phone"].to_numpy(dtype=object), rng), "address": addresses(plan, rng),
        "sample": noisy_tubes(plan["sample_id"].to_numpy(dtype=object), rng), "pool": plan["pool_id"].to_numpy(),
    }
    typed = np.isin(point % len(SAMPLING_LAYOUTS), [i for i, l in enumerate(SAMPLING_LAYOUTS) if "id_type" in l])
    text["id"], text["id_type"] = noisy_ids(plan, typed, rng)
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.flatnonzero(np.r_[True, point[1:] != point[:-1], True])
    inline_result, inline_time = plan["inline_result"].to_numpy(dtype=object), plan["inline_time"].to_numpy(dtype=object)
    team = plan["team"].to_numpy()
    names, rows = np.empty(n, dtype=object), np.zeros(n, dtype=np.int64)
    for start, end in zip(bounds[:-1], bounds[1:]):
        p = int(point[start])
        layout = SAMPLING_LAYOUTS[p % len(SAMPLING_LAYOUTS)]
        frame = pd.DataFrame({header: text[key][start:end] for key, header in layout.items() if key in text})
        if "result" in layout:
            frame[layout["result"]] = inline_result[start:end]
            frame[layout["result_time"]] = inline_time[start:end]
        small = end - start <= (3000 if team[start] else 1500)  # workbooks are slow to write: big files are CSV
        kind = ("xlsx", None) if small and (team[start] or p % 20 == 19) else \
            ("csv", "utf-8") if p % 10 < 6 else ("csv", "gb18030") if p % 10 < 8 else ("csv", "utf-8-sig")
        path = folder / f"{text['unit'][start]}_{day:%Y%m%d}.{kind[0]}"
        _write(frame, path, *kind)
        names[start:end], rows[start:end] = path.name, np.arange(1, end - start + 1)
    plan["file_name"], plan["row_number"] = names, rows
    return len(bounds) - 1


def _write_results(results: pd.DataFrame, folder: Path, rng) -> int:
    """The labs' files: per lab, one file per six hours of reporting; duplicates in a later file."""
    results = results[~results["inline"]].sort_values(["lab", "at", "pool_id", "sample_id"], kind="stable")
    window = results["at"].dt.strftime("%Y%m%d_") + (results["at"].dt.hour // 6 * 6).astype(str).str.zfill(2)
    folder.mkdir(parents=True, exist_ok=True)
    files = 0
    for (lab, part), group in results.groupby([results["lab"], window], sort=True):
        layout = RESULT_LAYOUTS[lab % len(RESULT_LAYOUTS)]
        fmt = np.full(len(group), lab % len(TIME_FORMATS))
        frame = pd.DataFrame({layout["lab"]: LABS[lab], layout["sample"]: group["sample_id"].to_numpy(),
                              layout["pool"]: group["pool_id"].to_numpy(), layout["result"]: group["result"].to_numpy(),
                              layout["time"]: time_text(group["at"].to_numpy(), fmt)})
        if "sampled" in layout:
            frame[layout["sampled"]] = time_text(group["sampled"].to_numpy(), fmt)
        kind = [("csv", "utf-8"), ("csv", "gb18030"), ("csv", "utf-8-sig"), ("xlsx", None), ("csv", "utf-8")][lab]
        if kind[0] == "xlsx" and len(frame) > 3000:
            kind = ("csv", "utf-8-sig")
        _write(frame, folder / f"{LABS[lab]}_{part}时结果.{kind[0]}", *kind)
        files += 1
    return files


def _write(frame: pd.DataFrame, path: Path, fmt: str, encoding: str | None) -> None:
    if fmt == "xlsx":
        write_xlsx(frame, path)
    else:
        path.write_bytes(csv_bytes(frame, encoding))
