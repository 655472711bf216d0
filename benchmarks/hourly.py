"""Hourly pipeline benchmark: what an hourly run costs on a warehouse of N accumulated records.

For each size and database: a fresh warehouse (`screenfuse db upgrade`), the first load of the
accumulated deliveries (the district mix: a classic day of the four feeds plus mass screening for
the bulk, see `benchmarks/hourly_data.py`) through `screenfuse run`, then an hour with 10,000 new
records (mass screening, 70 % people already held), the same hour run again (cleared: its batch
taken back first), then an hour with no new file; at
`--airflow-size` also a second 10,000-record hour through the Airflow DAG
(`airflow dags test screenfuse_hourly <interval end>`, private AIRFLOW_HOME under the cache); then
`--more-hours` further 10,000-record hours (default 3), once every size of the database is
loaded, the sizes in turns (100,000, then 1,000,000, then 3,000,000, then again). The growth
target compares the medians of the further hours at 3,000,000 and at 100,000: the sizes' first
hours are measured half an hour apart, over which this host's speed moved by a fifth and more.
After the 10,000-record hour, matching quality: pairwise F1 of the warehouse's persons against the
generator's truth, and of a batch run of the engine (`screenfuse.matching.dedupe`, preset
zh_person, over `screenfuse.resolve.prepare_records` of the same source records).

With --slice-records, a size above it is loaded as a bulk load cut into slices of the files (every
k-th file of each feed), one batch each, an hour apart: the way design §8 loads a city, and the
only way a 3,000,000-record warehouse fits in memory today; the first load's row then sums the
slices' wall times and takes their highest peak.

Each hour starts as on a server that runs them one after another: what the run before wrote is on
disk (`sync`) and the warehouse's files are in the page cache (read once, untimed), so no hour pays
for the step before it writing back or for a cache it emptied. The hour right after a
3,000,000-record bulk load is still slower than the same hour on a settled copy (docs/benchmarks.md,
2026-12-05).

Each measurement is its own process: wall time from start to exit, and the peak of the summed
memory of the process and all its children (PSS: a page shared by forked workers and their parent
counts once; sampled every 0.5 s, `machine.SAMPLE_SECONDS`). PostgreSQL: a
private server on loopback (`tests/pg_server.py`), one database per size, stopped at the end.
Progress goes to stderr, the markdown table to stdout; --write-doc replaces the "Hourly pipeline"
section of docs/benchmarks.md (the engine section stays). Data is cached in benchmarks/.cache/.

Runs in the project venv (it needs Airflow and Great Expectations), from the repo root:
    PYTHONPATH=include .venv/bin/python benchmarks/hourly.py --sizes 100000,1000000 --write-doc
--postgresql-sizes gives PostgreSQL sizes of its own (the run of docs/benchmarks.md: SQLite up to
3,000,000 in slices, PostgreSQL up to 1,000,000; about 37 minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import hourly_data as data
from hourly_report import DOC, MACHINE, log, machine_line, report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNS = data.CACHE / "hourly-runs"
QUALITY = "_quality"
# interval ends: the first load, the 10k hour, the hour with no new file, the Airflow hour
FIRST, HOUR, EMPTY, AIRFLOW = "2020-02-13T01:00:00+00:00", "2020-02-13T02:00:00+00:00", \
    "2020-02-13T03:00:00+00:00", "2020-02-13T04:00:00+00:00"
MORE_FROM = 3  # the further hours: the generator's hours 3, 4, ... (hour 2 is the Airflow hour's), from 05:00 on
MORE_HOURS = 3


# ---------------------------------------------------------------- one measurement

def timed(command: list[str], env: dict, log_file: Path) -> dict:
    """Run `command`; wall seconds, peak MB of the summed PSS of the process tree, exit code."""
    from machine import run_measured

    with open(log_file, "ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        proc, seconds, peak_mb = run_measured(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    tail = log_file.read_text(errors="replace").strip().splitlines()[-1:] or [""]
    return {"seconds": seconds, "peak_mb": peak_mb, "rc": proc.returncode, "last": tail[0][:200]}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "screenfuse.cli", *args]


def step(name: str, command: list[str], env: dict, home: Path, url: str, interval_end: str,
         warm: list[Path] | None = None) -> dict:
    if warm is not None:
        from machine import settle

        settle(warm)
    log(f"  {name} ...")
    m = timed(command, env, home / "steps.log")
    m["read"] = rows_read(url, interval_end)
    if m["read"] is None and m["rc"] == 0:
        m["rc"] = -1  # exit 0 but no published batch (e.g. a failed task of `airflow dags test`)
    state = "ok" if m["rc"] == 0 else f"FAILED (exit {m['rc']}; see {home / 'steps.log'})"
    log(f"  {name}: {m['seconds']:.1f} s, peak {m['peak_mb']:,.0f} MB, {state}; {m['last']}")
    return m


# ---------------------------------------------------------------- matching quality (subprocess)

def _quality(spec: dict) -> dict:
    """F1 of the warehouse's persons and of a batch run of the engine, over the same records."""
    import pandas as pd
    import sqlalchemy as sa

    from screenfuse.matching import dedupe, preset
    from screenfuse.matching.evaluate import pairwise_scores
    from screenfuse.resolve import RAW_COLUMNS, prepare_records

    engine = sa.create_engine(spec["url"])
    columns = ", ".join(["s.source_record_id", "s.feed", "s.file_name", "s.row_number", "l.person_id",
                         *(f"s.{c}" for c in RAW_COLUMNS if c != "record_id")])
    with engine.connect() as conn:
        records = pd.read_sql(sa.text(f"SELECT {columns} FROM source_record s JOIN person_link l "
                                      "ON l.source_record_id = s.source_record_id"), conn)
    engine.dispose()
    truth = data.truth(*map(Path, spec["folders"]))
    records["row_number"] = records["row_number"].astype("int64")
    records = records.merge(truth, on=["feed", "file_name", "row_number"], how="left")
    known = records[records["person_key"].notna()]
    true = known.set_index("source_record_id")["person_key"]
    pipeline = pairwise_scores(known.set_index("source_record_id")["person_id"], true)
    frame = prepare_records(known.drop(columns=["person_id", "person_key"]).fillna(""))
    clusters = dedupe(frame, preset("zh_person")).clusters
    batch = pairwise_scores(clusters.set_index("record_id")["person_id"], true)
    return {"records": len(records), "without_truth": int(records["person_key"].isna().sum()),
            "f1": pipeline["f1"], "precision": pipeline["precision"], "recall": pipeline["recall"],
            "batch_f1": batch["f1"], "batch_precision": batch["precision"], "batch_recall": batch["recall"]}


def quality(url: str, folders: list[Path], env: dict, home: Path) -> dict:
    log("  matching quality (not timed) ...")
    spec = json.dumps({"url": url, "folders": [str(f) for f in folders]})
    proc = subprocess.run([sys.executable, __file__, QUALITY, spec], env=env, stdout=subprocess.PIPE, text=True,
                          cwd=ROOT)
    if proc.returncode:
        log(f"  quality failed (exit {proc.returncode})")
        return {}
    q = json.loads(proc.stdout.strip().splitlines()[-1])
    log(f"  F1 pipeline {q['f1']:.4f}, batch {q['batch_f1']:.4f} over {q['records']:,} records "
        f"({q['without_truth']} without truth)")
    return q


# ---------------------------------------------------------------- one size on one database

def environment(home: Path, url: str, airflow_home: Path) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "include"),
                                                                       os.environ.get("PYTHONPATH")])),
            "SCREENFUSE_HOME": str(home), "SCREENFUSE_LANDING": str(home / "landing"),
            "SCREENFUSE_WAREHOUSE_URL": url, "SCREENFUSE_SETTLE_SECONDS": "0", "GX_ANALYTICS_ENABLED": "False",
            "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False"}


def first_load(records: int, slice_records: int, base: Path, env: dict, home: Path, url: str, results: bool) -> dict:
    """The first load: one batch, or (above `slice_records`) a bulk load cut into slices of the
    files, each a batch of its own, an hour apart (design §8): seconds summed, peak the highest."""
    parts = max(1, -(-records // slice_records)) if slice_records else 1
    total = None
    for part in range(parts):
        end = (datetime.fromisoformat(FIRST) - timedelta(hours=parts - 1 - part)).isoformat()
        data.link_landing(base, home / "landing", results, part, parts)
        name = "first load" if parts == 1 else f"first load, slice {part + 1} of {parts}"
        m = step(name, cli("run", "--interval-end", end, "--settle", "0"), env, home, url, end)
        if total is None:
            total = {**m, "slices": parts, "read": {}}
        else:
            total.update(seconds=total["seconds"] + m["seconds"], peak_mb=max(total["peak_mb"], m["peak_mb"]),
                         rc=total["rc"] or m["rc"], last=m["last"])
        for feed, n in (m.get("read") or {}).items():
            total["read"][feed] = total["read"].get(feed, 0) + n
        if m["rc"]:
            break
    return total


def run_size(records: int, database: str, url: str, airflow: bool, results: bool, slice_records: int = 0,
             warm: list[Path] | None = None) -> dict:
    """`warm`: the warehouse's files (SQLite's database, PostgreSQL's data folder), settled before each hour."""
    base, acc = data.accumulated(records, log)
    hour_dir, hour_info = data.hour(records, 1, log)
    home = RUNS / f"{database}-{records}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = environment(home, url, data.CACHE / "airflow-home")
    log(f"== {database}, {records:,} accumulated records ({acc['records']:,} generated)")
    out = {"database": database, "size": records, "records": acc["records"]}
    if subprocess.run(cli("db", "upgrade"), env=env, capture_output=True, cwd=ROOT).returncode:
        log("  db upgrade failed")
        return out
    out["first"] = first_load(records, slice_records, base, env, home, url, results)
    if out["first"]["rc"]:
        return out
    data.link_landing(hour_dir, home / "landing", results)
    out["hour"] = step("10k-record hour", cli("run", "--interval-end", HOUR, "--settle", "0"), env, home, url, HOUR,
                       warm)
    if out["hour"]["rc"] == 0:
        out["quality"] = quality(url, [base, hour_dir], env, home)
        # an operator clears the hour (Airflow "clear"): the batch is taken back, then run again
        out["rerun"] = step("10k-record hour run again", cli("run", "--interval-end", HOUR, "--settle", "0"), env,
                            home, url, HOUR, warm)
    out["empty"] = step("hour with no new file", cli("run", "--interval-end", EMPTY, "--settle", "0"), env, home,
                        url, EMPTY, warm)
    if airflow:
        hour2, info2 = data.hour(records, 2, log)
        data.link_landing(hour2, home / "landing", results)
        airflow_bin = str(Path(sys.executable).with_name("airflow"))
        out["airflow"] = step("10k-record hour through Airflow", [airflow_bin, "dags", "test", "screenfuse_hourly",
                                                                  AIRFLOW], env, home, url, AIRFLOW, warm)
    out["more"], out["place"] = [], (env, home, url, warm, results)
    return out


def further_hours(sized: list[dict], count: int) -> None:
    """`count` more 10,000-record hours on each of `sized` (one database's warehouses), the sizes
    in turns: a ratio of two sizes' hours is then not a ratio of two moments of a drifting host."""
    for which in range(MORE_FROM, MORE_FROM + count):
        end = (datetime.fromisoformat(AIRFLOW) + timedelta(hours=which - MORE_FROM + 1)).isoformat()
        for r in sized:
            if (r.get("hour") or {}).get("rc") != 0:
                continue
            env, home, url, warm, results = r["place"]
            folder, _ = data.hour(r["size"], which, log)
            data.link_landing(folder, home / "landing", results)
            r["more"].append(step(f"{r['database']}, {r['size']:,}: 10k-record hour {which}",
                                  cli("run", "--interval-end", end, "--settle", "0"), env, home, url, end, warm))


def compile_project() -> None:
    """Bytecode first, as a deployed worker has it (with PYTHONDONTWRITEBYTECODE each run compiled again)."""
    for folder in ("include", "dags", "plugins"):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / folder)], check=True,
                       stdout=subprocess.DEVNULL)


def rows_read(url: str, interval_end: str) -> dict | None:
    """Rows the published batch read, per feed (counts only); None when it was not published."""
    import sqlalchemy as sa

    from screenfuse.pipeline import batch_id_for

    engine, batch = sa.create_engine(url), batch_id_for(datetime.fromisoformat(interval_end))
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT COUNT(*) FROM run_log WHERE batch_id = :b"), {"b": batch}).scalar():
            return None
        rows = conn.execute(sa.text("SELECT feed, SUM(rows_read) FROM ingest_file WHERE batch_id = :b GROUP BY feed"),
                            {"b": batch}).all()
    engine.dispose()
    return {feed: int(n or 0) for feed, n in rows}


def airflow_home() -> None:
    home = data.CACHE / "airflow-home"
    if not (home / "airflow.db").exists():
        home.mkdir(parents=True, exist_ok=True)
        log(f"airflow db migrate into {home} ...")
        env = environment(home, "", home)
        done = subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env=env,
                              capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            raise SystemExit(f"airflow db migrate failed: {done.stderr[-1000:]}")


# ---------------------------------------------------------------- table and targets

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="accumulated records, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--postgresql-sizes", help="the sizes run on PostgreSQL (default: --sizes)")
    parser.add_argument("--airflow-size", type=int, default=1_000_000, help="size also run through Airflow (0: none)")
    parser.add_argument("--no-results", action="store_true", help="leave the sampling-result files out")
    parser.add_argument("--more-hours", type=int, default=MORE_HOURS,
                        help="further 10k-record hours per size, the sizes in turns (0: none)")
    parser.add_argument("--slice-records", type=int, default=0,
                        help="load a size above this many records as a bulk load in slices of files, one batch "
                             "each (a single 3,000,000-record batch does not fit in 24 GB); 0: one batch")
    parser.add_argument("--write-doc", action="store_true", help=f"replace the hourly section of {DOC.name}")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    pg_sizes = [int(s) for s in args.postgresql_sizes.split(",") if s.strip()] if args.postgresql_sizes else sizes
    plan = {database: pg_sizes if database == "postgresql" else sizes for database in databases}
    command = (f"PYTHONPATH=include .venv/bin/python benchmarks/hourly.py --sizes {','.join(map(str, sizes))} "
               f"--databases {','.join(databases)} --airflow-size {args.airflow_size}"
               + (f" --postgresql-sizes {args.postgresql_sizes}" if args.postgresql_sizes else "")
               + (" --no-results" if args.no_results else "")
               + (f" --more-hours {args.more_hours}" if args.more_hours != MORE_HOURS else "")
               + (f" --slice-records {args.slice_records}" if args.slice_records else "") + " --write-doc")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    MACHINE.append(machine_line())
    if any(args.airflow_size in planned for planned in plan.values()):
        airflow_home()
    compile_project()
    results, server = [], None
    try:
        for database in databases:
            for size in plan[database]:
                if database == "sqlite":
                    url = f"sqlite:///{RUNS / f'sqlite-{size}' / 'warehouse.db'}"
                    warm = [RUNS / f"sqlite-{size}" / name for name in ("warehouse.db", "warehouse.db-wal")]
                else:
                    if server is None:
                        sys.path.insert(0, str(ROOT / "tests"))
                        from pg_server import PostgresServer

                        server = PostgresServer().start()
                    url = server.url(server.create_database(f"bench_{size}"))
                    warm = [server.data]
                results.append(run_size(size, database, url, size == args.airflow_size, not args.no_results,
                                        args.slice_records, warm))
                if args.write_doc:  # after every size: a run cut short still leaves what it measured
                    report(results, plan, command, when, final=False)
            further_hours([r for r in results if r["database"] == database and "place" in r], args.more_hours)
    finally:
        if server is not None:
            server.stop()
    table, met = report(results, plan, command, when, final=args.write_doc)
    print(table)
    print(met)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == QUALITY:
        print(json.dumps(_quality(json.loads(sys.argv[2]))))
    else:
        sys.exit(main())
