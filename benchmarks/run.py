"""Benchmarks of our matching engine, with Splink 5 (DuckDB) as the peer: one table, one run.

  1. FEBRL 3 and 4 (4 = A + B as one file to deduplicate): accuracy and time, ours vs Splink.
  2. Chinese generator data at default noise: ours (preset zh_person) vs Splink with/without address.
  3. Scaling: end-to-end dedupe of the generator's flat CSV at several sizes, peak memory per run.
  4. Incremental: new records resolved against existing persons, with the existing run's model.
  5. Households (census-style file): ours with and without address fields vs Splink (census_bench.py).
  6. Coarse addresses (many people per street): adaptive blocking's time, memory, F1 vs Splink.
  7. A second generator (benchmarks/zh_forms.py): ours vs Splink.
  8. Incremental at scale: hourly batches through the pipeline onto N records (project venv).
  9. Labels: F1 on the review band before and after calibrating on 500 labels (project venv).

Each measurement runs in its own subprocess (a fresh interpreter, so peak memory is per run and
one failure does not end the benchmark). Progress goes to stderr, the markdown table to stdout;
--write-doc also writes docs/benchmarks.md. Generated data is cached in benchmarks/.cache/.

Usage (from the repo root):  .venv-bench/bin/python benchmarks/run.py [--write-doc] [options]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import project_sections
from engine_table import DOC, TARGETS, count, log, markdown, row, targets, write_doc

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
WORKER = "_worker"
RECORDS_PER_PERSON = 1.34  # the flat generator's average; sizes are given in records
DAY = date(2020, 2, 10)


def flat_data(people: int, seed: int) -> tuple[Path, Path]:
    """The generator's flat CSV and its truth for (people, seed), generated once into the cache."""
    folder = CACHE / f"zh-people{people}-seed{seed}"
    csv, truth = folder / "records.csv", folder / "truth.csv"
    if not truth.exists():
        log(f"generating {people:,} people (seed {seed}) into {folder} ...")
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        from screenfuse.synthetic_flat import generate_flat

        generate_flat(people, seed, DAY, tmp / csv.name, tmp / truth.name)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)  # only complete data ever sits under the cache key
    return csv, truth


# ---------------------------------------------------------------- one measurement (subprocess)

def _worker(spec: dict) -> dict:
    """Run one measurement; returns seconds, peak MB, records and pairwise scores."""
    import numpy as np
    import pandas as pd

    from screenfuse.matching import dedupe, load_settings_file, preset
    from screenfuse.matching.evaluate import pairwise_scores
    from screenfuse.zh_person import prepare

    kind = spec["kind"]
    if kind.startswith("census"):
        from census_bench import worker

        seconds, predicted, truth = worker(spec, log)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        scores = pairwise_scores(predicted, truth)
        return {"seconds": seconds, "peak_mb": peak_mb, "records": len(truth),
                **{k: scores[k] for k in ("precision", "recall", "f1")}}
    stages = lambda stage, seconds: log(f"  [{kind}] {stage} {seconds:.2f}s")  # noqa: E731
    extra = {}
    if kind.startswith("febrl"):
        from datasets import febrl

        df = febrl(spec["data"])
        truth = df.set_index("rec_id")["true_id"]
        start = time.perf_counter()
        if kind == "febrl-ours":
            settings = load_settings_file(HERE / "febrl_settings.yaml")
            clusters = dedupe(df.drop(columns="true_id"), settings, progress=stages).clusters
            predicted = clusters.set_index("record_id")["person_id"]
        else:
            from splink_peer import run_splink_febrl

            predicted = run_splink_febrl(df, variant=spec["data"])[1].set_index("rec_id")["cluster_id"]
        seconds = time.perf_counter() - start
    else:
        csv = Path(spec["csv"])
        truth = pd.read_csv(spec["truth"], dtype=str, keep_default_na=False).set_index("record_id")["person_key"]
        read = lambda: pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8-sig", engine="pyarrow")  # noqa: E731
        settings = preset("zh_person")
        if kind == "zh-incremental":
            raw = read()
            rng = np.random.default_rng(spec["seed"])
            is_new = np.zeros(len(raw), dtype=bool)
            is_new[rng.choice(len(raw), spec["new"], replace=False)] = True
            existing = prepare(raw[~is_new])
            log(f"  [{kind}] resolving {len(existing):,} existing records (not timed) ...")
            base = dedupe(existing, settings)
            start = time.perf_counter()
            frame = concat_prepared(existing, prepare(raw[is_new]))
            new_ids = raw.loc[is_new, "record_id"].to_numpy(dtype=object)
            result = dedupe(frame, settings, previous=base.clusters, new_ids=new_ids, model=base.model,
                            progress=stages)
            seconds = time.perf_counter() - start
            predicted = result.clusters.set_index("record_id")["person_id"]
            extra = {"existing": int(len(existing)), "new": int(is_new.sum())}
        else:
            start = time.perf_counter()
            frame = prepare(read())
            if kind == "zh-ours":
                clusters = dedupe(frame, settings, progress=stages).clusters
                out = clusters.rename(columns={"person_id": "cluster_id"})
            else:
                from splink_peer import run_splink_zh

                out = run_splink_zh(frame, compare_address=spec["address"])[1]
            out.to_csv(csv.with_name(f"out-{kind}{'-address' if spec.get('address') else ''}.csv"), index=False)
            seconds = time.perf_counter() - start
            predicted = out.set_index("record_id")["cluster_id"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    twins_csv = Path(spec.get("truth", "")).with_name("twins.csv") if spec.get("truth") else None
    if twins_csv is not None and twins_csv.exists():
        extra["twin_merges"] = twin_merges(predicted, truth, pd.read_csv(twins_csv, dtype=str))
    scores = pairwise_scores(predicted, truth)
    if scores["records"] != len(truth) or len(predicted) != len(truth):
        raise RuntimeError(f"{kind}: {len(predicted)} predicted records for {len(truth)} true ones")
    return {"seconds": seconds, "peak_mb": peak_mb, "records": len(truth), **extra,
            **{k: scores[k] for k in ("precision", "recall", "f1")}}


def concat_prepared(first, second):
    """Two prepare() outputs as one, their categoricals united (pd.concat would make them object
    columns, which the engine hashes again)."""
    import pandas as pd
    from pandas.api.types import union_categoricals

    both = pd.concat([first, second], ignore_index=True)
    for column in first.columns:
        if isinstance(first[column].dtype, pd.CategoricalDtype) and isinstance(second[column].dtype, pd.CategoricalDtype):
            both[column] = union_categoricals([first[column], second[column]], ignore_order=True)
    return both


def twin_merges(predicted, truth, twins) -> int:
    """Twin pairs (generator's twins.csv) with a record of each in one predicted cluster."""
    clusters = predicted.groupby(truth.reindex(predicted.index).to_numpy()).agg(set)
    return int(sum(bool(clusters.get(a, set()) & clusters.get(b, set()))
                   for a, b in zip(twins["person_key"], twins["twin_key"])))


def measure(kind: str, **spec) -> dict:
    """One measurement in a fresh interpreter; {'failed': exit code} if it did not finish."""
    import tempfile

    from machine import run_measured

    log(f"== {kind} {spec}")
    with tempfile.TemporaryFile() as out:
        proc, _, tree_mb = run_measured([sys.executable, __file__, WORKER, json.dumps({"kind": kind, **spec})],
                                        stdout=out, cwd=ROOT)
        out.seek(0)
        printed = out.read().decode()
    if proc.returncode:
        log(f"   {kind} failed (exit code {proc.returncode})")
        return {"failed": proc.returncode}
    result = json.loads(printed.strip().splitlines()[-1])
    # the whole process tree's peak (prepare() forks workers for large inputs), not the worker's
    # own: the worker's includes reading the data, which both sides do alike
    result["peak_mb"] = max(result["peak_mb"], tree_mb)
    log(f"   {result['seconds']:.2f}s, peak {result['peak_mb']:.0f} MB, F1 {result['f1']:.4f}")
    return result


# ---------------------------------------------------------------- sections



def febrl_rows() -> list[list[str]]:
    rows = []
    for name in ("febrl3", "febrl4"):
        ours, splink = measure("febrl-ours", data=name), measure("febrl-splink", data=name)
        TARGETS[name] = {"ours": ours, "splink": splink}
        label = "FEBRL 3" if name == "febrl3" else "FEBRL 4 (A + B deduplicated as one file)"
        rows.append(row("1", label, count(ours), ours, splink))
    return rows


def zh_rows(people: int, seed: int) -> list[list[str]]:
    csv, truth = flat_data(people, seed)
    ours = measure("zh-ours", csv=str(csv), truth=str(truth))
    TARGETS["generator"] = ours
    rows = []
    for address in (False, True):
        splink = measure("zh-splink", csv=str(csv), truth=str(truth), address=address)
        label = f"zh generator, {people:,} people, seed {seed}; Splink {'with' if address else 'without'} address"
        rows.append(row("2", label, count(ours), ours, splink))
    return rows


def forms_rows(people: int, seed: int) -> list[list[str]]:
    """Section 7: the second generator's records (benchmarks/zh_forms.py), ours and Splink's zh model."""
    folder = CACHE / f"zh-forms-people{people}-seed{seed}"
    if not (folder / "truth.csv").exists():
        log(f"generating {people:,} people with zh_forms (seed {seed}) into {folder} ...")
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        from zh_forms import write

        write(people, seed, str(tmp))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    csv, truth = folder / "records.csv", folder / "truth.csv"
    ours = measure("zh-ours", csv=str(csv), truth=str(truth))
    TARGETS["forms"] = ours
    splink = measure("zh-splink", csv=str(csv), truth=str(truth), address=False)
    label = f"second generator (zh_forms), {people:,} people, seed {seed}; Splink without address"
    return [row("7", label, count(ours), ours, splink)]


def scaling_rows(sizes: list[int], splink_max: int, seed: int) -> list[list[str]]:
    rows = []
    for size in sizes:
        people = math.ceil(size / RECORDS_PER_PERSON)
        csv, truth = flat_data(people, seed)
        ours = measure("zh-ours", csv=str(csv), truth=str(truth))
        splink = measure("zh-splink", csv=str(csv), truth=str(truth), address=False) if size <= splink_max else None
        if size == 1_000_000:
            TARGETS["1M"] = {"ours": ours, "splink": splink}
        rows.append(row("3", f"zh flat CSV ≈{size:,} records ({people:,} people, seed {seed})", count(ours),
                        ours, splink))
    return rows


def incremental_rows(existing: int, new: int, seed: int) -> list[list[str]]:
    people = math.ceil((existing + new) / RECORDS_PER_PERSON)
    csv, truth = flat_data(people, seed)
    m = measure("zh-incremental", csv=str(csv), truth=str(truth), new=new, seed=seed)
    if (existing, new) == (2_000_000, 50_000):
        TARGETS["incremental"] = m
    m.pop("peak_mb", None)  # the process also built the existing state: its peak is not this step's
    records = f"{m['existing']:,} + {m['new']:,}" if "existing" in m else "?"
    return [row("4", f"incremental: new records into resolved ones ({people:,} people, seed {seed})", records, m)]


ALL_SECTIONS = "123456789"


def _extend(blocks: list[str], met: list[str], section: tuple[str, list[str]]) -> tuple[list[str], list[str]]:
    return blocks + [section[0]], met + section[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000,1000000,3000000", help="scaling sizes, in records")
    parser.add_argument("--splink-max", type=int, default=1_000_000, help="largest scaling size Splink runs at")
    parser.add_argument("--zh-people", type=int, default=20_000, help="people for section 2")
    parser.add_argument("--existing", type=int, default=2_000_000, help="existing records for section 4")
    parser.add_argument("--new", type=int, default=50_000, help="new records for section 4")
    parser.add_argument("--seed", type=int, default=5, help="generator seed (also picks the new records)")
    parser.add_argument("--census-people", type=int, default=20_000, help="people for section 5")
    parser.add_argument("--coarse-records", type=int, default=1_000_000, help="records for section 6")
    parser.add_argument("--forms-people", type=int, default=15_000, help="people for section 7")
    parser.add_argument("--forms-seed", type=int, default=11, help="seed of section 7's generator")
    parser.add_argument("--incremental-records", type=int, default=1_000_000, help="records before section 8's batches")
    parser.add_argument("--incremental-batches", type=int, default=20, help="hourly batches of section 8")
    parser.add_argument("--labels-people", type=int, default=150_000, help="people for section 9")
    parser.add_argument("--labels-seeds", default="5,6", help="seeds of section 9")
    parser.add_argument("--sections", default=ALL_SECTIONS, help="which sections to run, e.g. 12")
    parser.add_argument("--write-doc", action="store_true", help=f"also write {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    command = (f".venv-bench/bin/python benchmarks/run.py --sizes {','.join(map(str, sizes))} "
               f"--splink-max {args.splink_max} --zh-people {args.zh_people} --existing {args.existing} "
               f"--new {args.new} --seed {args.seed}"
               f" --census-people {args.census_people} --coarse-records {args.coarse_records}"
               f" --forms-people {args.forms_people} --forms-seed {args.forms_seed}"
               f" --incremental-records {args.incremental_records} --incremental-batches {args.incremental_batches}"
               f" --labels-people {args.labels_people} --labels-seeds {args.labels_seeds}"
               + (f" --sections {args.sections}" if args.sections != ALL_SECTIONS else "") + " --write-doc")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    if "1" in args.sections:
        rows += febrl_rows()
    if "2" in args.sections:
        rows += zh_rows(args.zh_people, args.seed)
    if "3" in args.sections:
        rows += scaling_rows(sizes, args.splink_max, args.seed)
    if "4" in args.sections:
        rows += incremental_rows(args.existing, args.new, args.seed)
    if "5" in args.sections or "6" in args.sections:
        from census_bench import rows as census_rows

        rows += census_rows(args.census_people, args.coarse_records, args.seed, measure, row, count, CACHE, TARGETS)
    if "7" in args.sections:
        rows += forms_rows(args.forms_people, args.forms_seed)
    blocks, met = [], []
    if "8" in args.sections:
        blocks, met = _extend(blocks, met, project_sections.incremental(args.incremental_records, args.incremental_batches))
    if "9" in args.sections:
        blocks, met = _extend(blocks, met, project_sections.labels(args.labels_people, args.labels_seeds))
    table = "\n\n".join([markdown(rows)] * bool(rows) + blocks)
    verdicts = "\n".join(filter(None, [targets(), *met]))
    print(table)
    print(verdicts)
    if args.write_doc:
        write_doc(table, command, when, verdicts)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == WORKER:
        print(json.dumps(_worker(json.loads(sys.argv[2]))))
    else:
        sys.exit(main())
