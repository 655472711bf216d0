"""Labels train the model (issue 10): does calibrating on 500 labelled pairs from the review band
improve F1 on the rest of the band?

The generator's flat data (screenfuse.synthetic_flat.generate_flat) with its truth; the model an
hourly warehouse would hold: learnt (EM) from its first batch (`--first` records), or from all the
records (`--first 0`); every candidate pair scored as an hourly run scores it, for the whole
population. The band (`--band`): `review`, the product's review band (match probability from the
review threshold to the match threshold: the pairs the review desk decides), or `wide`, match
probability 0.001 to 0.999 (±10 bits of even odds), a band holding pairs on both sides of the
threshold. 500 pairs drawn from the band at random are labelled from the truth (as the review desk
would label them); `screenfuse.labels.calibrate` learns the shift; F1 of link decisions is measured
on the rest of the band before and after. Repeated over `--draws` draws per seed. The review band
holds about 2 pairs per 1,000 records under a first batch's model: `--people 150000` gives it
some 1,500.

Usage (from the repo root):
  PYTHONPATH=include .venv/bin/python benchmarks/labels.py [--people 150000] [--seeds 5,6] [--band review|wide]
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "include"))

from screenfuse import labels as lb  # noqa: E402
from screenfuse.matching import dedupe, preset  # noqa: E402
from screenfuse.matching.blocking import candidate_pairs  # noqa: E402
from screenfuse.matching.columns import Columns  # noqa: E402
from screenfuse.matching.model import comparison_levels, contributions, prior_weight  # noqa: E402
from screenfuse.zh_person import prepare  # noqa: E402
from screenfuse.synthetic_flat import generate_flat  # noqa: E402

WIDE = (-10.0, 10.0)  # bits: match probability 0.001 .. 0.999


def band_bits(band: str) -> tuple[float, float]:
    """The band's weights, [low, high) in bits."""
    if band == "wide":
        return WIDE
    settings = preset("zh_person")
    return prior_weight(settings.review_threshold), lb.threshold_bits(settings)


def scored_pairs(people: int, seed: int, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights of every candidate pair and whether the truth says same person."""
    folder = HERE / ".cache" / f"labels-people{people}-seed{seed}"
    if not (folder / "truth.csv").exists():
        generate_flat(people, seed, date(2020, 2, 10), folder / "records.csv", folder / "truth.csv")
    raw = pd.read_csv(folder / "records.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    frame, settings = prepare(raw), preset("zh_person")
    learnt_on = frame.iloc[:first].reset_index(drop=True) if first else frame
    model = dedupe(learnt_on, settings).model.aligned(settings)
    columns = Columns(frame)
    left, right, _ = candidate_pairs(columns, settings.blocking, settings.max_block_size)
    levels = comparison_levels(columns, settings, left, right)
    weights = prior_weight(model.prior_for(len(frame))) + contributions(model, levels, columns, left).sum(axis=1)
    key = dict(zip(truth.iloc[:, 0], truth.iloc[:, 1]))
    ids = columns.values("record_id")
    same = np.array([key[a] == key[b] for a, b in zip(ids[left], ids[right])])
    return weights, same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=150_000)
    parser.add_argument("--band", choices=("review", "wide"), default="review")
    parser.add_argument("--seeds", default="5,6")
    parser.add_argument("--first", type=int, default=2_500, help="records the model is learnt from (0: all)")
    parser.add_argument("--labels", type=int, default=500)
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args()
    threshold = lb.threshold_bits(preset("zh_person"))
    print("| seed | band pairs (matches) | labelled | shift (bits), mean | F1 on the rest, before | after | better / same / worse draws |")
    print("|---|---|---|---|---|---|---|")
    gains = []
    for seed in (int(s) for s in args.seeds.split(",")):
        weights, same = scored_pairs(args.people, seed, args.first)
        low, high = band_bits(args.band)
        band = np.flatnonzero((weights >= low) & (weights < high))
        if len(band) <= args.labels:
            print(f"| {seed} | {len(band)} | too few pairs in the band for {args.labels} labels | | | | |")
            gains.append((seed, float("nan"), float("nan")))  # not measured: not met
            continue
        rng = np.random.default_rng(seed)
        shifts, before, after = [], [], []
        for _ in range(args.draws):
            drawn = rng.permutation(band)
            labelled, rest = drawn[: args.labels], drawn[args.labels:]
            shift = lb.calibrate(weights[labelled], same[labelled], threshold)
            shifts.append(shift)
            before.append(lb.confusion(weights[rest], same[rest], threshold)["f1"])
            after.append(lb.confusion(weights[rest] + shift, same[rest], threshold)["f1"])
        before, after = np.array(before), np.array(after)
        gains.append((seed, before.mean(), after.mean()))
        print(f"| {seed} | {len(band)} ({int(same[band].sum())}) | {args.labels} | {np.mean(shifts):+.2f} | "
              f"{before.mean():.4f} | {after.mean():.4f} | {(after > before).sum()} / {(after == before).sum()} / "
              f"{(after < before).sum()} |")
    measured = "; ".join(f"seed {seed} {b:.4f} → {a:.4f}" for seed, b, a in gains) or "no seed had band pairs enough"
    met = bool(gains) and all(a > b for _, b, a in gains)
    where = "the review band" if args.band == "review" else "the wide band (±10 bits)"
    print(f"\nTarget (issue 10): with {args.labels} labelled pairs from {where}, F1 on the rest of the "
          f"band improves (mean over {args.draws} draws): {measured} — {'met' if met else 'NOT met'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
