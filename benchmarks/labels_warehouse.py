"""Labels train the model, through the product (issue 10): on a warehouse the hourly benchmark
built through `screenfuse run`, 500 pairs of the review band are labelled from the generator's
truth and stored as the review desk stores decisions (`match_label`, source `review`); then
`screenfuse retrain --promote` and the next `screenfuse run` (no new file: it re-links the records
the promotion changed). Measured: pairwise F1 on the rest of the band, from the warehouse's own
persons (`person_link`) before and after, and the retraining's and the hour's wall time and peak
memory (the process tree's).

The band: candidate pairs of the warehouse's records (the engine's blocking over `match_record`)
whose weight under the current model lies within --band bits of the link threshold, as the hourly
run scores them (the prior for the warehouse's size, its term counts). The review desk's own band
(probability 0.50 to 0.95) is about 4 bits wide: too few pairs for 500 labels and a rest to
measure on at 100,000 records, hence the wider default, as benchmarks/labels.py does.

Runs in the project venv, after `benchmarks/hourly.py` built the size (it works on a copy):
    PYTHONPATH=include .venv/bin/python benchmarks/labels_warehouse.py --size 100000
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

import hourly as bench
import hourly_data as data
from machine import run_measured

NEXT_HOUR = "2020-02-13T05:00:00+00:00"  # after the hourly benchmark's last interval end
MIN_REST = 200  # band pairs left unlabelled to measure on


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def truth_of(engine, size: int) -> pd.Series:
    """person_key per source_record_id, from the generator's truth of every delivery loaded."""
    base, _ = data.accumulated(size, log)
    folders = [base, data.hour(size, 1, log)[0]]  # the first load and the 10,000-record hour
    records = pd.read_sql(sa.text("SELECT source_record_id, feed, file_name, row_number FROM source_record"), engine)
    records["row_number"] = records["row_number"].astype("int64")
    joined = records.merge(data.truth(*folders), on=["feed", "file_name", "row_number"], how="inner")
    return joined.set_index("source_record_id")["person_key"]


def band_pairs(engine, half_width: float) -> pd.DataFrame:
    """left, right record ids and weight of the candidate pairs within `half_width` bits of the
    threshold under the current model, scored as an hourly run scores them."""
    from screenfuse import labels as lb
    from screenfuse import retrain
    from screenfuse.matching.blocking import candidate_pairs
    from screenfuse.matching.columns import Columns
    from screenfuse.matching.model import comparison_levels
    from screenfuse.resolve import match_settings
    from screenfuse.state_schema import MATCH_COLUMNS

    matching = match_settings()
    with engine.connect() as conn:
        _, model = retrain.current_model(conn)
        records = pd.read_sql(sa.text(f"SELECT record_id, {', '.join(MATCH_COLUMNS)} FROM match_record "
                                      "ORDER BY record_id"), conn)
        size, shares = retrain._scored(conn, records)
    columns = Columns(records, shares)
    left, right, _ = candidate_pairs(columns, matching.blocking, matching.max_block_size)
    levels = comparison_levels(columns, matching, left, right)
    weights = retrain._pairs_weights(model, columns, left, right, levels, size)
    near = np.abs(weights - lb.threshold_bits(matching)) <= half_width
    ids = columns.values("record_id")
    return pd.DataFrame({"left": ids[left[near]], "right": ids[right[near]], "weight": weights[near]})


def together(engine, pairs: pd.DataFrame) -> np.ndarray:
    """Whether the warehouse holds each pair's two records in one person."""
    links = pd.read_sql(sa.text("SELECT source_record_id, person_id FROM person_link"), engine)
    person = pd.Series(links["person_id"].to_numpy(), index=links["source_record_id"].to_numpy())
    return person.reindex(pairs["left"]).to_numpy() == person.reindex(pairs["right"]).to_numpy()


def f1(linked: np.ndarray, same: np.ndarray) -> tuple[float, int, int]:
    tp, fp, fn = int((linked & same).sum()), int((linked & ~same).sum()), int((~linked & same).sum())
    return (2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0), fp, fn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="a size benchmarks/hourly.py built on SQLite")
    parser.add_argument("--labels", type=int, default=500)
    parser.add_argument("--band", type=float, default=10.0, help="half width of the band, in bits")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    source = bench.RUNS / f"sqlite-{args.size}"
    if not (source / "warehouse.db").exists():
        log(f"no warehouse at {source}: run benchmarks/hourly.py --sizes {args.size} --databases sqlite first")
        return 2
    home = data.CACHE / "labels-runs" / f"sqlite-{args.size}"
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, home, symlinks=True)
    (home / "steps.log").unlink(missing_ok=True)  # this benchmark's steps only
    url = f"sqlite:///{home / 'warehouse.db'}"
    env = bench.environment(home, url, data.CACHE / "airflow-home")
    engine = sa.create_engine(url)
    truth = truth_of(engine, args.size)
    pairs = band_pairs(engine, args.band)
    pairs = pairs[pairs["left"].isin(truth.index) & pairs["right"].isin(truth.index)].reset_index(drop=True)
    same = truth.reindex(pairs["left"]).to_numpy() == truth.reindex(pairs["right"]).to_numpy()
    if len(pairs) < args.labels + MIN_REST:
        log(f"{len(pairs)} pairs in the band: too few for {args.labels} labels and {MIN_REST} to measure on")
        return 1
    order = np.random.default_rng(args.seed).permutation(len(pairs))
    labelled, rest = order[: args.labels], order[args.labels:]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    from screenfuse.labels import LABEL_COLUMNS
    from screenfuse.warehouse import bulk_insert

    rows = pd.DataFrame({"left_record_id": np.minimum(pairs["left"].iloc[labelled], pairs["right"].iloc[labelled]),
                         "right_record_id": np.maximum(pairs["left"].iloc[labelled], pairs["right"].iloc[labelled]),
                         "source": "review", "label": np.where(same[labelled], "same", "different"),
                         "batch_id": None, "labelled_at": stamp, "reference": "benchmark"}, columns=LABEL_COLUMNS)
    with engine.begin() as conn:
        bulk_insert(conn, "match_label", rows)
    before = f1(together(engine, pairs.iloc[rest]), same[rest])
    engine.dispose()
    steps = {}
    for name, command in (("retrain", bench.cli("retrain", "--promote")),
                          ("next hour", bench.cli("run", "--interval-end", NEXT_HOUR, "--settle", "0"))):
        with open(home / "steps.log", "ab") as out:
            proc, seconds, peak = run_measured(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=bench.ROOT)
        steps[name] = (seconds, peak, proc.returncode)
        log(f"  {name}: {seconds:.1f} s, {peak:,.0f} MB, exit {proc.returncode}")
    report = (home / "steps.log").read_text(errors="replace")
    decision = "\n".join(line for line in report.splitlines() if line.startswith(("candidate ", "decision ")))
    engine = sa.create_engine(url)
    after = f1(together(engine, pairs.iloc[rest]), same[rest])
    engine.dispose()
    print(f"| records | band pairs (matches) | labelled | rest: F1 before (false, missed) | after | retrain | next hour |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.size:,} | {len(pairs):,} ({int(same.sum()):,}) | {args.labels} | {before[0]:.4f} ({before[1]}, {before[2]}) "
          f"| {after[0]:.4f} ({after[1]}, {after[2]}) | {steps['retrain'][0]:.1f} s, {steps['retrain'][1]:,.0f} MB "
          f"| {steps['next hour'][0]:.1f} s, {steps['next hour'][1]:,.0f} MB |")
    print(f"\n{decision.strip()}")
    return 0 if all(code == 0 for _, _, code in steps.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
