"""Labelled record pairs (`match_label`): what people decided about two records, and what the
retraining does with it. Pure functions (frames and arrays in, frames and figures out).

A label is a pair of record ids (the smaller first), `same` or `different`, its source (`answer`:
a street office answered 非本人; `review`: an operator decided a review item; `tracing`: reserved
for the police's tracing results, which no feed brings back yet) and when. Labels are record ids
only: no names, no ID numbers.

What the labels do (docs/matching.md, "How the model learns"):
- they judge a candidate model against the current one: a candidate is promoted only if it makes no
  more false links and no more errors in all on the labelled pairs (`no_worse`);
- they calibrate the model: one shift, in bits, of the prior's log-odds (`Model.calibration`), put
  where the fewest labelled pairs fall on the wrong side of the link threshold (`calibrate`). Only
  labels that sample pairs whatever their outcome place it (`PLACING`): a 非本人 answer
  comes back only when a link was wrong (nobody answers "yes, the same person" for a link), so
  answers alone would push the threshold up past every one of them at no cost in the labels,
  however many right links that unlinks. Answers still judge every candidate (`no_worse`).
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from screenfuse.matching import MatchSettings
from screenfuse.matching.columns import Columns
from screenfuse.matching.model import Model, comparison_levels, contributions, prior_weight

LABEL_COLUMNS = ["left_record_id", "right_record_id", "source", "label", "batch_id", "labelled_at", "reference"]
SOURCES = ("answer", "review", "tracing")
PLACING = ("review", "tracing")  # sources whose pairs are not chosen by their outcome (see above)
MAX_SHIFT = 8.0  # bits: a calibration never moves the prior further (a labelling error cannot flip the model)
FOLDS = 5
CONFIDENCE_Z = 1.645  # one-sided 95 %: how sure labels of one kind must make a lowered threshold
EPSILON = 1e-6  # bits: how far past a labelled pair's weight the threshold is put


def from_answers(cannot_link: pd.DataFrame, updates: pd.DataFrame) -> pd.DataFrame:
    """The labels a batch's 非本人 answers give (`feedback.AnswerPlan`): each cannot-link pair is a
    `different` label, dated by the answer that decided it."""
    when = dict(zip(updates["push_item_id"], updates["answered_at"])) if len(updates) else {}
    return pd.DataFrame({
        "left_record_id": cannot_link["left_record_id"], "right_record_id": cannot_link["right_record_id"],
        "source": "answer", "label": "different", "batch_id": cannot_link["batch_id"],
        "labelled_at": cannot_link["push_item_id"].map(when), "reference": cannot_link["push_item_id"],
    }, columns=LABEL_COLUMNS).reset_index(drop=True)


def threshold_bits(settings: MatchSettings) -> float:
    """The link threshold as bits of match weight."""
    return prior_weight(settings.match_threshold)


def pair_weights(model: Model, settings: MatchSettings, records: pd.DataFrame, left_ids, right_ids,
                 population_size: int, shares: dict | None = None) -> np.ndarray:
    """Match weight (bits) of each (left, right) pair of record ids under `model`, scored as an
    hourly run would for a population of `population_size` (NaN when a record is not in `records`).
    `shares`: each record's term-frequency shares in the whole population (aligned with `records`)."""
    left_ids, right_ids = np.asarray(left_ids, dtype=object), np.asarray(right_ids, dtype=object)
    out = np.full(len(left_ids), np.nan)
    if not len(left_ids) or records.empty:
        return out
    position = pd.Series(np.arange(len(records)), index=pd.Index(records[settings.unique_id].astype(str), dtype=object))
    position = position[~position.index.duplicated()]
    a, b = position.reindex(left_ids).to_numpy(), position.reindex(right_ids).to_numpy()
    known = ~(np.isnan(a) | np.isnan(b))
    a, b = a[known].astype(np.int64), b[known].astype(np.int64)
    columns = Columns(records.reset_index(drop=True), shares)
    model = model.aligned(settings)
    levels = comparison_levels(columns, settings, a, b)
    small = population_size < settings.min_records_to_train
    weights = contributions(model, levels, None if small else columns, a)
    out[known] = prior_weight(model.prior_for(population_size)) + weights.sum(axis=1)
    return out


def confusion(weights: np.ndarray, same: np.ndarray, threshold: float) -> dict:
    """Counts and rates of link decisions (weight ≥ threshold) against the labels. A pair that
    could not be scored counts as not linked."""
    linked = np.nan_to_num(weights, nan=-np.inf) >= threshold
    same = np.asarray(same, dtype=bool)
    tp, fp = int((linked & same).sum()), int((linked & ~same).sum())
    fn, tn = int((~linked & same).sum()), int((~linked & ~same).sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else (0.0 if fp + fn else None)
    return {"labels": len(same), "same": int(same.sum()), "different": int((~same).sum()), "true_links": tp,
            "false_links": fp, "missed_links": fn, "true_apart": tn, "errors": fp + fn,
            "precision": precision, "recall": recall, "f1": f1}


def no_worse(candidate: dict, current: dict) -> bool:
    """The promotion rule: on the same labelled pairs, the candidate makes no more false links (a
    false link isolates the wrong person) and no more errors in all (false plus missed links)."""
    return candidate["false_links"] <= current["false_links"] and candidate["errors"] <= current["errors"]


def calibrate(weights: np.ndarray, same: np.ndarray, threshold: float, max_shift: float = MAX_SHIFT) -> float:
    """The shift (bits, within ±max_shift) that puts the fewest labelled pairs on the wrong side of
    the link threshold, false links counting double; among equally good shifts, the one nearest 0.
    Labels of one kind alone say where the threshold is not, not where it is: `different` alone
    never moves it, and `same` alone only as `lowered` allows."""
    weights, same = np.asarray(weights, dtype=float), np.asarray(same, dtype=bool)
    keep = ~np.isnan(weights)
    weights, same = weights[keep], same[keep]
    if not same.any():
        return 0.0
    if same.all():
        return lowered(weights, threshold, max_shift)
    # the shift changes decisions only when it moves the threshold past a pair: try the midpoints
    # between consecutive distinct weights (and 0)
    cuts = np.unique(weights)
    # just below the lowest label and just above the highest: a shift never links pairs below every label
    levels = np.r_[cuts[0] - EPSILON, (cuts[1:] + cuts[:-1]) / 2, cuts[-1] + EPSILON, threshold]
    candidates = threshold - levels
    candidates = candidates[np.abs(candidates) <= max_shift]
    cut = threshold - candidates  # a pair links when its weight is at least `cut`
    different, matching = np.sort(weights[~same]), np.sort(weights[same])
    false_links = len(different) - np.searchsorted(different, cut, side="left")
    missed = np.searchsorted(matching, cut, side="left")
    cost = 2 * false_links + missed
    best = cost == cost.min()
    return float(candidates[best][np.argmin(np.abs(candidates[best]))])


def lowered(weights: np.ndarray, threshold: float, max_shift: float = MAX_SHIFT) -> float:
    """The shift for labels that all say `same`: down to the lowest of them below the threshold
    (within max_shift) when they are enough to say, with 95 % confidence, that such pairs are the
    same person at least as often as the link threshold asks (its probability p): the one-sided
    Wilson lower bound of n matches out of n, n / (n + z²), at least p: 52 pairs for p = 0.95.
    Where the review band is nearly all one person (a model that places the threshold too high),
    a review desk's decisions are all `same`; a few of them prove nothing, hundreds do."""
    below = np.sort(weights[(weights < threshold) & (weights >= threshold - max_shift)])
    p = 1.0 / (1.0 + 2.0 ** -threshold)
    if not len(below) or len(below) / (len(below) + CONFIDENCE_Z ** 2) < p:
        return 0.0
    return float(threshold - below[0] + EPSILON)  # the lowest of them links, whatever the rounding


def folds(left_ids, right_ids, k: int = FOLDS) -> np.ndarray:
    """A fold number per pair, fixed by the pair's ids (the same pair is always in the same fold)."""
    return np.array([zlib.crc32(f"{a}|{b}".encode()) % k for a, b in zip(left_ids, right_ids)], dtype=np.int64)


def held_out_weights(weights: np.ndarray, same: np.ndarray, fold: np.ndarray, threshold: float,
                     places: np.ndarray | None = None) -> np.ndarray:
    """Each pair's weight under the calibration learnt from the other folds' labels (those that
    `places`, all when None): the candidate is judged on labels its calibration did not see."""
    out = np.array(weights, dtype=float)
    places = np.ones(len(out), dtype=bool) if places is None else np.asarray(places, dtype=bool)
    for f in np.unique(fold):
        rest = fold != f
        out[~rest] = weights[~rest] + calibrate(weights[rest & places], same[rest & places], threshold)
    return out
