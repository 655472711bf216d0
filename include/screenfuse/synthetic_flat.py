"""Every synthetic feed's rows as one CSV of canonical person columns, with its truth: the input
of `screenfuse dedupe --preset zh_person`, the engine's tests and the benchmarks."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from screenfuse.synthetic import feed_rows


FLAT_SOURCES = {  # canonical column → the headers the feeds use for it
    "name": ("姓名", "患者姓名"),
    "id_number": ("身份证号", "公民身份号码", "身份证号码"),
    "phone": ("联系电话", "手机号码", "联系方式", "手机号"),
    "address": ("目的地", "现住址", "住址"),
}


def generate_flat(people: int, seed: int, day: date, out_csv: Path, truth_csv: Path) -> int:
    """All feeds' rows as one CSV of canonical person columns (record_id, name, id_number,
    phone, address), for `screenfuse dedupe --preset zh_person` and benchmarks; the truth CSV
    maps record_id → person_key."""
    _, pop, rows = feed_rows(people, seed, day)
    records, truth = [], []
    for feed, entries in rows.items():
        for n, (_unit, row, person_key) in enumerate(entries):
            flat = {"record_id": f"{feed}-{n:07d}"}
            for column, headers in FLAT_SOURCES.items():
                flat[column] = next((str(row[h]) for h in headers if h in row), "")
            if feed == "community":
                flat["address"] = f"{row['社区']}{row['楼栋']}{row['单元']}{row['房号']}室"
            records.append(flat)
            truth.append((flat["record_id"], person_key))
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    truth_csv.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(records).to_csv(out_csv, index=False)
    pd.DataFrame(truth, columns=["record_id", "person_key"]).to_csv(truth_csv, index=False)
    pd.DataFrame(pop.attrs.get("twins", []), columns=["person_key", "twin_key"]).to_csv(
        truth_csv.with_name("twins.csv"), index=False)
    return len(records)
