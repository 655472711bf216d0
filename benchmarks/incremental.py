"""Incremental matching at scale: does a warehouse built hour by hour link as well as one batch?

A fresh warehouse of N accumulated records (the first load of `benchmarks/hourly.py`'s data
through `screenfuse run`), then H hourly batches of 10,000 new mass-screening records each (70 %
people the warehouse already holds, sampled again with fresh noise), each through `screenfuse
run`. After the last batch: pairwise precision, recall and F1 of the warehouse's persons against
the generator's truth over every source record, and of a batch run of the engine (`dedupe`,
preset zh_person) over the same records. Issue 10's target: after 20 batches onto 1,000,000,
precision within 0.001 of the batch run's.

The batches' interval ends step an hour at a time, or to the day after their data when that is
later (the generator dates the k-th batch k days after the accumulated day). Each run is its own
process (wall seconds, peak MB of the process tree, as hourly.py measures). Progress to stderr,
the markdown table to stdout; --write-doc replaces the "Incremental batches" section of
docs/benchmarks.md. Runs in the project venv, from the repo root:

    PYTHONPATH=include .venv/bin/python benchmarks/incremental.py --records 1000000 --batches 20 --write-doc
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import hourly
import hourly_data as data
from machine import replace_section

SECTION = "## Incremental batches"


def interval_end(batch: int) -> str:
    """The k-th batch's interval end: an hour after the previous one, or 01:00 UTC of the day after
    its data's day, whichever is later."""
    by_hour = datetime.fromisoformat(hourly.FIRST) + timedelta(hours=batch)
    by_day = datetime.combine(data.DAY + timedelta(days=batch + 1), time(1), tzinfo=timezone.utc)
    return max(by_hour, by_day).isoformat()


def run(records: int, batches: int, url: str | None) -> dict:
    base, acc = data.accumulated(records, hourly.log)
    home = hourly.RUNS / f"incremental-{records}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    url = url or f"sqlite:///{home / 'warehouse.db'}"
    env = hourly.environment(home, url, data.CACHE / "airflow-home") | {"SCREENFUSE_RUN_REPORT": "0"}
    if subprocess.run(hourly.cli("db", "upgrade"), env=env, capture_output=True, cwd=hourly.ROOT).returncode:
        raise SystemExit("db upgrade failed")
    out = {"records": acc["records"], "first": hourly.first_load(records, 0, base, env, home, url, True), "runs": []}
    folders = [base]
    for batch in range(1, batches + 1):
        folder, _ = data.hour(records, batch, hourly.log)
        folders.append(folder)
        data.link_landing(folder, home / "landing", True)
        end = interval_end(batch)
        m = hourly.step(f"batch {batch} of {batches}", hourly.cli("run", "--interval-end", end, "--settle", "0"),
                        env, home, url, end)
        out["runs"].append(m)
        if m["rc"]:
            return out
    out["quality"] = hourly.quality(url, folders, env, home)
    return out


def markdown(result: dict, batches: int) -> str:
    runs = [m for m in result["runs"] if m["rc"] == 0]
    seconds = sorted(m["seconds"] for m in runs)
    q = result.get("quality") or {}
    lines = ["| Measure | Value |", "| --- | ---: |",
             f"| records after the first load | {sum((result['first'].get('read') or {}).values()):,} rows read |",
             f"| first load | {result['first']['seconds']:.1f} s, {result['first']['peak_mb']:,.0f} MB |",
             f"| batches published | {len(runs)} of {batches} |"]
    if seconds:
        lines.append(f"| wall per batch: median, slowest | {seconds[len(seconds) // 2]:.1f} s, {seconds[-1]:.1f} s |")
        lines.append(f"| peak per batch (tree) | {max(m['peak_mb'] for m in runs):,.0f} MB |")
    if q:
        lines += [f"| records compared against the truth | {q['records']:,} |",
                  f"| precision: warehouse, batch engine | {q['precision']:.4f}, {q['batch_precision']:.4f} |",
                  f"| recall: warehouse, batch engine | {q['recall']:.4f}, {q['batch_recall']:.4f} |",
                  f"| F1: warehouse, batch engine | {q['f1']:.4f}, {q['batch_f1']:.4f} |"]
    return "\n".join(lines)


def verdict(result: dict, batches: int) -> str:
    q = result.get("quality")
    if not q:
        return "Not measured: a batch or the quality step failed (see the steps.log of the run's home)."
    gap = q["batch_precision"] - q["precision"]
    met = "met" if gap <= 0.001 else "NOT met"
    return (f"Target (issue 10): after {batches} batches, precision within 0.001 of the batch run's: "
            f"{q['precision']:.4f} vs {q['batch_precision']:.4f} (gap {gap:+.4f}) — {met}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="accumulated records before the batches")
    parser.add_argument("--batches", type=int, default=20, help="hourly batches of 10,000 records after the first load")
    parser.add_argument("--write-doc", action="store_true", help=f"replace the {SECTION!r} section of docs/benchmarks.md")
    args = parser.parse_args()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = hourly.machine_line()
    result = run(args.records, args.batches, None)
    table, met = markdown(result, args.batches), verdict(result, args.batches)
    print(table)
    print(met)
    if args.write_doc:
        command = (f"PYTHONPATH=include .venv/bin/python benchmarks/incremental.py --records {args.records} "
                   f"--batches {args.batches} --write-doc")
        replace_section(hourly.DOC, SECTION, f"{SECTION}\n\nWhether a warehouse built batch by batch links as well as one batch run of the "
                  "engine over the same records (`benchmarks/incremental.py`, SQLite). Written by the command "
                  f"below.\n\n- Date: {when}\n- Machine: {machine}\n- Command (from the repo root, project venv):"
                  f"\n\n  ```\n  {command}\n  ```\n\n{table}\n\n{met}\n\n"
                  "Each batch is 10,000 mass-screening sampling rows (70 % people the warehouse already holds, "
                  "sampled again with fresh noise) plus their lab results, run as `screenfuse run` (one process, "
                  "the run report off). Precision, recall and F1 are pairwise, against the generator's truth, over "
                  "every source record after the last batch; the batch engine is `dedupe` with preset zh_person "
                  "over `prepare_records` of the same records. Data: `benchmarks/hourly_data.py`.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
