"""Data of the hourly benchmark (`benchmarks/hourly.py`): a district's accumulated deliveries and
the hours that follow, generated once into benchmarks/.cache/ with their truth.

Accumulated (N records): a classic day (`screenfuse.synthetic.generate`, CLASSIC_PEOPLE people,
the four feeds) plus the district's mass screening of the same day for the rest
(`screenfuse.synthetic_mass.generate_mass_screening`, the classic people among the sampled). An
hour (`HOUR_ROWS` sampling rows): the mass screening of a later day at a few points, 70 % people the
warehouse already holds (classic people and residents, sampled again with fresh noise) and 30 %
residents never seen. The generator's sampling-result files (mass_screening_result/) are written
too; `landing(..., results=False)` leaves them out.
"""
from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
SEED = 20200210
DAY = date(2020, 2, 10)
CLASSIC_PEOPLE = 3000
HOUR_ROWS = 10_000
SEEN_SHARE = 0.7
RESULT_FEED = "mass_screening_result"


def _cached(folder: Path, build) -> dict:
    """Build into a temporary folder, then rename: only complete data sits under the cache key."""
    meta = folder / "meta.json"
    if not meta.exists():
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        info = build(tmp)
        (tmp / "meta.json").write_text(json.dumps(info, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    return json.loads(meta.read_text())


def accumulated(records: int, log=print) -> tuple[Path, dict]:
    """The accumulated deliveries of about `records` person records: folder (landing/, truth/), counts."""
    folder = CACHE / f"hourly-{records}-seed{SEED}"

    def build(tmp: Path) -> dict:
        from screenfuse.synthetic import generate
        from screenfuse.synthetic_mass import generate_mass_screening

        log(f"generating the accumulated deliveries of {records:,} records into {folder} ...")
        classic = generate(CLASSIC_PEOPLE, SEED, DAY, tmp / "landing", tmp / "truth")
        classic_rows = sum(classic["rows"].values())
        people = pd.read_csv(tmp / "truth" / "people.csv", dtype=str, keep_default_na=False)
        mass = generate_mass_screening(records - classic_rows, SEED, DAY, tmp / "landing", tmp / "truth", people=people)
        return {"records": classic_rows + mass["rows"], "classic_rows": classic_rows, "mass_rows": mass["rows"],
                "result_rows": mass["result_rows"], "residents": _resident_count(tmp / "truth")}

    return folder, _cached(folder, build)


def _resident_count(truth: Path) -> int:
    keys = pd.read_csv(truth / "truth_mass_screening.csv", usecols=["person_key"], dtype=str)["person_key"]
    return int(keys[keys.str.startswith("M")].nunique())


def hour(records: int, which: int, log=print) -> tuple[Path, dict]:
    """The `which`-th hour (1, 2, ...) after the accumulated deliveries of `records` records."""
    base, info = accumulated(records, log)
    folder = base / f"hour{which}"

    def build(tmp: Path) -> dict:
        from screenfuse.synthetic_mass import _residents, generate_mass_screening

        log(f"generating hour {which} ({HOUR_ROWS:,} sampling rows) after {records:,} records ...")
        classic = pd.read_csv(base / "truth" / "people.csv", dtype=str, keep_default_na=False)
        # the accumulated day's residents, drawn again exactly as its generator drew them
        residents = _residents(info["residents"], SEED, set(classic["id_number"].astype(str)))
        residents = residents.astype({c: str for c in ("number", "building", "unit_no", "room")})
        known = pd.concat([classic, residents.assign(true_status="resident")], ignore_index=True)
        rng = np.random.default_rng([SEED, which, 7])
        size = int(HOUR_ROWS * 0.97 / 0.85)  # the generator keeps 85 %; it draws the last 3 % itself
        seen = known.iloc[rng.choice(len(known), size=min(int(size * SEEN_SHARE), len(known)), replace=False)]
        fresh = _residents(size - len(seen), SEED + 1000 * which, set(known["id_number"].astype(str)))
        fresh = fresh.astype({c: str for c in ("number", "building", "unit_no", "room")})
        fresh["person_key"] = [f"H{which}{i:07d}" for i in range(len(fresh))]
        people = pd.concat([seen, fresh.assign(true_status="resident")], ignore_index=True)
        people = people.iloc[rng.permutation(len(people))].reset_index(drop=True)
        day = DAY + timedelta(days=which)
        done = generate_mass_screening(HOUR_ROWS, SEED + 100 * which, day, tmp / "landing", tmp / "truth",
                                       people=people)
        truth = pd.read_csv(tmp / "truth" / "truth_mass_screening.csv", usecols=["person_key"], dtype=str)
        return {"records": done["rows"], "result_rows": done["result_rows"],
                "seen_rows": int(truth["person_key"].isin(known["person_key"]).sum())}

    return folder, _cached(folder, build)


def link_landing(source: Path, landing: Path, results: bool, part: int = 0, parts: int = 1) -> int:
    """Hard-link the delivered files of `source`/landing into `landing` (same bytes, same mtime);
    with `parts` > 1, only every `parts`-th file of each feed from the `part`-th (a slice of a
    bulk load)."""
    count, seen = 0, {}
    for path in sorted((source / "landing").rglob("*")):
        if not path.is_file() or (not results and path.parent.name == RESULT_FEED):
            continue
        position = seen[path.parent] = seen.get(path.parent, -1) + 1
        if position % parts != part:
            continue
        target = landing / path.relative_to(source / "landing")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                target.hardlink_to(path)
            except OSError:
                shutil.copy2(path, target)
            count += 1
    return count


def truth(*folders: Path) -> pd.DataFrame:
    """(feed, file_name, row_number) → person_key over the truth files of the folders."""
    frames = []
    for folder in folders:
        for name in ("truth.csv", "truth_mass_screening.csv"):
            path = folder / "truth" / name
            if path.exists():
                frames.append(pd.read_csv(path, usecols=["feed", "file_name", "row_number", "person_key"],
                                          dtype={"row_number": "int64"}, keep_default_na=False))
    return pd.concat(frames, ignore_index=True)
