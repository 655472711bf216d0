"""Sections 5 and 6 of benchmarks/run.py: households (context detection) and coarse addresses
(adaptive blocking), on the census-style generator (benchmarks/census.py).

5. Households: one census-style file; ours with the address fields in the settings
   (census_settings.yaml, household detection on; census_settings_default.yaml, detection left at
   its default), ours without them (census_settings_names.yaml), and Splink 5 with and without
   address comparisons (its best is the target).
6. Coarse addresses: the generator's coarse mode (few streets and zips, many people each) at
   --coarse-records; ours with the address settings (its street and surname+zip rules explode and
   are refined) vs Splink 5 with and without address; time, peak memory, F1.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDS_PER_PERSON = 1.55  # census.generate's average


def census_data(people: int, seed: int, coarse: bool, cache: Path) -> tuple[Path, Path]:
    folder = cache / f"census-people{people}-seed{seed}{'-coarse' if coarse else ''}"
    csv, truth = folder / "records.csv", folder / "truth.csv"
    if not truth.exists():
        from census import generate

        folder.mkdir(parents=True, exist_ok=True)
        frame, labels = generate(people, seed, coarse=coarse)
        frame.to_csv(csv, index=False)
        labels.rename_axis("rec_id").reset_index().to_csv(truth.with_suffix(".tmp"), index=False)
        truth.with_suffix(".tmp").rename(truth)
    return csv, truth


def worker(spec: dict, log) -> tuple:
    """(seconds, predicted Series by rec_id, truth Series by rec_id) for one census measurement."""
    import pandas as pd

    from screenfuse.matching import dedupe, load_settings_file

    frame = pd.read_csv(spec["csv"], dtype=str, keep_default_na=False, engine="pyarrow")
    truth = pd.read_csv(spec["truth"], dtype=str, keep_default_na=False).set_index("rec_id")["true_id"]
    start = time.perf_counter()
    if spec["kind"] == "census-ours":
        settings = load_settings_file(HERE / spec["settings"])
        result = dedupe(frame, settings, progress=lambda stage, s: log(f"  [census] {stage} {s:.2f}s"))
        for stats in result.rule_stats:
            log(f"  [census] blocking {stats}")
        for finding in result.context:
            log(f"  [census] context {finding.describe()}")
        predicted = result.clusters.set_index("record_id")["person_id"]
    else:
        from splink_census import run_splink_census

        predicted = run_splink_census(frame, compare_address=spec["address"])[1].set_index("rec_id")["cluster_id"]
    return time.perf_counter() - start, predicted, truth


def rows(people: int, coarse_records: int, seed: int, measure, row, count, cache: Path, targets: dict) -> list:
    out = []
    csv, truth = census_data(people, seed, False, cache)
    spec = {"csv": str(csv), "truth": str(truth)}
    with_address = measure("census-ours", settings="census_settings.yaml", **spec)
    default = measure("census-ours", settings="census_settings_default.yaml", **spec)
    names_only = measure("census-ours", settings="census_settings_names.yaml", **spec)
    splink = [measure("census-splink", address=a, **spec) for a in (False, True)]
    targets["households"] = {"address": with_address, "default": default, "names": names_only, "splink": splink}
    label = f"census-style households, {people:,} people, seed {seed}"
    out.append(row("5", f"{label}; ours with address fields; Splink without address", count(with_address),
                   with_address, splink[0]))
    out.append(row("5", f"{label}; ours with address fields, detection at its default (off); no Splink run",
                   count(default), default))
    out.append(row("5", f"{label}; ours without address fields; Splink with address", count(names_only),
                   names_only, splink[1]))
    coarse_people = math.ceil(coarse_records / RECORDS_PER_PERSON)
    csv, truth = census_data(coarse_people, seed, True, cache)
    spec = {"csv": str(csv), "truth": str(truth)}
    ours = measure("census-ours", settings="census_settings.yaml", **spec)
    splink = [measure("census-splink", address=a, **spec) for a in (False, True)]
    targets["coarse"] = {"ours": ours, "splink": splink}
    for a, peer in zip(("without", "with"), splink):
        out.append(row("6", f"coarse addresses ≈{coarse_records:,} records ({coarse_people:,} people); "
                            f"Splink {a} address", count(ours), ours, peer))
    return out


def target_lines(targets: dict, ok) -> list[str]:
    lines = []
    h = targets.get("households")
    if h and ok(h["address"]) and ok(h["default"]) and ok(h["names"]):
        best = max((s["f1"] for s in h["splink"] if ok(s)), default=None)
        address = min(h["address"]["f1"], h["default"]["f1"])  # whatever the settings say of detection
        measured = (f"{h['address']['f1']:.4f} (detection on), {h['default']['f1']:.4f} (at its default) "
                    f"≥ {h['names']['f1']:.4f}" + (f" ≥ {best:.4f}" if best is not None else ""))
        met = address >= h["names"]["f1"] and (best is None or h["names"]["f1"] >= best)
        lines.append(f"- households: F1 with address ≥ without ≥ Splink's best: {measured}"
                     + (" (Splink not measured)" if best is None else "") + f" — {'yes' if met else 'NO'}")
    c = targets.get("coarse")
    if c and ok(c["ours"]):
        o = c["ours"]
        fastest = min((s["seconds"] for s in c["splink"] if ok(s)), default=None)
        met = o["f1"] >= 0.99 and o["peak_mb"] <= 2048 and (fastest is None or o["seconds"] <= 0.25 * fastest)
        lines.append(f"- coarse addresses: ≤ 0.25 × Splink's time, ≤ 2 GB, F1 ≥ 0.99: {o['seconds']:.1f} s"
                     + (f" vs {fastest:.1f} s" if fastest else " (Splink not measured)")
                     + f", {o['peak_mb']:,.0f} MB, F1 {o['f1']:.4f} — {'yes' if met else 'NO'}")
    return lines
