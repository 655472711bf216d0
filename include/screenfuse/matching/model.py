"""Fellegi–Sunter model: m and u per comparison level, a prior, term frequencies, and scoring.

u (how often non-matches reach a level) comes from random record pairs, with the exact level
computed from value frequencies; m (how often matches reach it) is learned by expectation
maximisation on the candidate pairs, grouped by level pattern so each iteration is tiny. A pair's
match weight is log2 of the prior odds plus each comparison's log2(m/u); a missing value adds 0.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screenfuse.matching import threads
from screenfuse.matching.columns import Columns, PairValues, as_columns
from screenfuse.matching.comparators import METHODS
from screenfuse.matching.groups import CONTEXT_GROUP, context_group, group_total
from screenfuse.matching.settings import MatchSettings

FLOOR = 1e-9
M_FLOOR = 0.002  # no level is impossible for a true match: one disagreement is strong evidence, not a veto
ANCHOR_BITS = 4.0  # an identity agreement that vouches for another's typo (a name, a birth date; sex is worth 1)


@dataclass
class LevelParams:
    column: str
    method: str
    role: str
    levels: list[str]
    m: list[float]
    u: list[float]
    term_frequency: bool = False
    detected: bool = False  # role context found in the data (matching/context.py), not declared
    group: str = ""  # scored with the other members of its group as one piece of evidence (matching/groups.py)

    @property
    def weights(self) -> np.ndarray:
        """log2(m/u) per level, with 0 first for the missing level."""
        return np.r_[0.0, np.log2(np.maximum(self.m, M_FLOOR) / np.maximum(self.u, FLOOR))]


@dataclass
class Model:
    """m and u per level, and how many other records of the same person a record has on average
    (`matches_per_record`): unlike the prior, that does not change with the population's size.
    The prior of a run is computed for its population (`prior_for`): the chance that two random
    records are the same person falls as 1/N, and a prior kept from a training set ten times
    smaller would overstate every pair's odds by over 3 bits. `prior` is the training
    population's (or the one the settings fix, which then applies at every size)."""
    prior: float
    comparisons: list[LevelParams]
    em_iterations_run: int = 0
    matches_per_record: float | None = None  # None: a fixed prior (settings) or a model of an older release
    trained_on: int = 0  # records in the training population
    calibration: float = 0.0  # bits added to the prior's log-odds, learnt from labelled pairs (screenfuse.labels)
    group_rates: dict = field(default_factory=dict)  # group → how often its members all change at once (a move)

    def prior_for(self, records: int) -> float:
        """The prior for a population of `records` records, never above the training population's:
        a smaller input (a test file, a pilot's first hour) is part of a population, not all of it.
        A calibrated model shifts it by `calibration` bits (where labels put the link threshold)."""
        if self.matches_per_record is None:
            prior = self.prior
        else:
            prior = min(max(self.matches_per_record / max(records - 1, self.trained_on - 1, 1), 1e-12), 0.5)
        if not self.calibration:
            return prior
        return float(1.0 / (1.0 + (1 - prior) / prior * 2.0 ** -self.calibration))

    def to_json(self) -> str:
        return json.dumps({"prior": self.prior, "matches_per_record": self.matches_per_record,
                           "trained_on": self.trained_on, "em_iterations_run": self.em_iterations_run,
                           "calibration": self.calibration, "group_rates": self.group_rates,
                           "comparisons": [c.__dict__ for c in self.comparisons]}, ensure_ascii=False)

    @classmethod
    def fallback(cls, preset_name: str | None) -> "Model | None":
        """The shipped model of a preset, for inputs too small to learn from."""
        from importlib import resources

        if not preset_name:
            return None
        path = resources.files("screenfuse.matching") / f"{preset_name}_model.json"
        return cls.from_json(path.read_text(encoding="utf-8")) if path.is_file() else None

    def aligned(self, settings: MatchSettings) -> "Model":
        """The model with one LevelParams per comparison of `settings`, in their order: a model
        trained before a comparison was added (a stored one, the shipped one) takes the added
        comparison's m and u from the settings (or neutral ones), so the new evidence counts."""
        have = {(c.column, c.method): c for c in self.comparisons}
        wanted = [(c.column, c.method) for c in settings.comparisons]
        if wanted == [(c.column, c.method) for c in self.comparisons]:
            return self
        comparisons = []
        for comp in settings.comparisons:
            known = have.get((comp.column, comp.method))
            if known is None:
                n = len(comp.levels)
                known = LevelParams(comp.column, comp.method, comp.role, comp.levels,
                                    list(comp.m) if comp.m else [1.0 / n] * n, list(comp.u) if comp.u else [1.0 / n] * n,
                                    comp.term_frequency)
            comparisons.append(known)
        return Model(self.prior, comparisons, self.em_iterations_run, self.matches_per_record, self.trained_on,
                     self.calibration, self.group_rates)

    @classmethod
    def from_json(cls, text: str) -> "Model":
        doc = json.loads(text)
        trained_on = int(doc.get("trained_on") or 0)
        per_record = doc.get("matches_per_record")
        if per_record is None and trained_on > 1:  # saved with its population's size only
            per_record = doc["prior"] * (trained_on - 1)
        return cls(prior=doc["prior"], comparisons=[LevelParams(**c) for c in doc["comparisons"]],
                   em_iterations_run=doc.get("em_iterations_run", 0), matches_per_record=per_record,
                   trained_on=trained_on, calibration=float(doc.get("calibration") or 0.0),
                   group_rates=dict(doc.get("group_rates") or {}))


COMPARE_PART_PAIRS = 2_000_000  # a comparison of fewer pairs is one part (its distinct values scored once)


def comparison_levels(data: "pd.DataFrame | Columns", settings: MatchSettings, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(pairs × comparisons) int8 matrix of levels."""
    columns = as_columns(data)
    out = np.zeros((len(left), len(settings.comparisons)), dtype=np.int8)
    if len(left) == 0:
        return out
    for comp in settings.comparisons:
        columns.codes(comp.column)  # built before the threads start: each then only reads them

    # each comparison's pairs in one contiguous part per thread, the parts of one comparison side
    # by side: the threads together hold one comparison's temporaries, as one thread would
    parts = threads.parts(len(left), COMPARE_PART_PAIRS)

    def compare(item: tuple[int, slice]) -> None:
        k, rows = item  # a PairValues of its own: a comparator's codes (16 bytes a pair) are let go with it
        comp, method = settings.comparisons[k], METHODS[settings.comparisons[k].method]
        out[rows, k] = method.compare(PairValues(columns, left[rows], right[rows]), comp.column,
                                      comp.thresholds or method.default_thresholds, comp.options)

    threads.each(compare, [(k, rows) for k in range(len(settings.comparisons)) for rows in parts])
    return out


def estimate_u(data: "pd.DataFrame | Columns", settings: MatchSettings) -> list[np.ndarray]:
    """u per comparison level from random pairs; the exact level from value frequencies."""
    columns = as_columns(data)
    n = len(columns)
    if n < 2:
        return [np.asarray(c.u) if c.u is not None else np.full(len(c.levels), 1.0 / len(c.levels)) for c in settings.comparisons]
    rng = np.random.default_rng(settings.seed)
    samples = min(settings.u_sample_pairs, max(n * (n - 1) // 2, 1))
    left = rng.integers(0, n, samples)
    right = rng.integers(0, n, samples)
    keep = left != right
    levels = comparison_levels(columns, settings, left[keep], right[keep])
    result = []
    for k, comp in enumerate(settings.comparisons):
        n_levels = len(comp.levels)
        if comp.u is not None:
            result.append(np.asarray(comp.u))
            continue
        counts = np.bincount(levels[:, k], minlength=n_levels + 1)[1:].astype(float)
        held = columns.value_counts(comp.column).astype(float)
        exact = float(((held / held.sum()) ** 2).sum()) if held.sum() else 0.0
        rest = counts[1:] + 0.5  # add-half smoothing: no level is impossible
        rest = rest / rest.sum() * (1.0 - exact)
        result.append(np.r_[max(exact, FLOOR), rest])
    return result


def level_patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the level matrix, in order, and how often each occurs (EM works on these).
    Each row is one number in base (highest level + 1); with few comparisons they are counted
    straight into a table, else sorted (no argsort: the rows are read back from the numbers)."""
    width = levels.shape[1]
    if not len(levels):
        return np.zeros((0, width), np.int8), np.zeros(0)
    base = int(levels.max()) + 1
    code = np.zeros(len(levels), dtype=np.int64)
    for k in range(width):
        code = code * base + levels[:, k]
    if base ** width <= PATTERN_TABLE:
        counts = np.bincount(code, minlength=base ** width)
        distinct = np.flatnonzero(counts)
        counts = counts[distinct]
    else:
        distinct, counts = np.unique(code, return_counts=True)
    patterns = np.empty((len(distinct), width), dtype=levels.dtype)
    for k in range(width - 1, -1, -1):
        patterns[:, k] = distinct % base
        distinct = distinct // base
    return patterns, counts.astype(float)


PATTERN_TABLE = 1 << 22  # level patterns counted in a table up to this many (32 MB)


def _default_m(n_levels: int) -> np.ndarray:
    """Starting m: most matches agree exactly, few disagree completely."""
    raw = np.array([0.9 ** (i * 3 + 1) for i in range(n_levels)])
    raw[0] = 0.9
    raw[-1] = 0.02
    return raw / raw.sum()


def train(data: "pd.DataFrame | Columns", settings: MatchSettings, levels: np.ndarray, n_candidates: int) -> Model:
    """Estimate u by sampling and m and the prior by EM over the candidate pairs' level patterns."""
    columns = as_columns(data)
    u_random = estimate_u(columns, settings)
    comps = settings.comparisons
    patterns, counts = level_patterns(levels)
    m = [np.asarray(c.m) if c.m is not None else _default_m(len(c.levels)) for c in comps]
    u_blocked = [u.copy() for u in u_random]
    lam = 0.1
    iterations = 0
    # context (a household's address) must not decide which pairs EM takes as matches: the match
    # class is learnt from identity comparisons, context m and u are then read off that class
    drives = [k for k, c in enumerate(comps) if c.role != "context"] or list(range(len(comps)))
    for iterations in range(1, settings.em_iterations + 1):
        log_m = np.full(len(patterns), np.log(lam))
        log_u = np.full(len(patterns), np.log(1 - lam))
        for k in drives:
            lv = patterns[:, k]
            has = lv > 0
            log_m[has] += np.log(np.maximum(m[k][lv[has] - 1], FLOOR))
            log_u[has] += np.log(np.maximum(u_blocked[k][lv[has] - 1], FLOOR))
        post = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        new_lam = float((counts * post).sum() / max(counts.sum(), 1))
        delta = abs(new_lam - lam)
        lam = min(max(new_lam, 1e-9), 1 - 1e-9)
        for k, comp in enumerate(comps):
            lv = patterns[:, k]
            n_levels = len(comp.levels)
            wm = np.bincount(lv, weights=counts * post, minlength=n_levels + 1)[1:] + 1e-3
            wu = np.bincount(lv, weights=counts * (1 - post), minlength=n_levels + 1)[1:] + 1e-3
            if comp.m is None:
                m[k] = wm / wm.sum()
            u_blocked[k] = wu / wu.sum()
        if delta < 1e-6:
            break
    n = len(columns)
    roles = [c.role for c in comps]
    detected = [c.detected for c in comps]
    group, rates = context_group(comps, patterns, counts, u_random, n, m, roles, detected)
    total_pairs = max(n * (n - 1) / 2, 1)
    # lam * n_candidates matching pairs: each record has 2 * that / n others of its person
    per_record = None if settings.prior else lam * n_candidates * 2 / max(n, 1)
    prior = settings.prior or min(max(lam * n_candidates / total_pairs, 1e-12), 0.5)
    model = Model(prior=prior, em_iterations_run=iterations, matches_per_record=per_record, trained_on=n, comparisons=[
        LevelParams(c.column, c.method, roles[k], c.levels, [float(x) for x in m[k]], [float(x) for x in u_random[k]],
                    c.term_frequency, detected[k], CONTEXT_GROUP if k in group else "")
        for k, c in enumerate(comps)
    ], group_rates=rates)
    return model


def contributions(model: Model, levels: np.ndarray, columns: Columns | None, left: np.ndarray) -> np.ndarray:
    """(pairs × comparisons) weights in bits, with term-frequency and household-context rules.

    An exact agreement on a common value (王芳, a household's phone) is worth log2(m / share of
    that value) instead of the average; without `columns` (too few records to say how common a
    value is) the average applies. Context comparisons (shared phone, address) add nothing
    positive unless every identity comparison present (name, ID, birth date, sex) clearly agrees,
    but for one that agrees in part (a typo) beside one that clearly agrees: a household shares
    context, not identity. Context detected from the data (not declared)
    is held back only when an identity comparison disagrees completely.
    """
    # built a column at a time in column order (a column's values in one run of memory, not one in
    # every eight), returned in row order as before (row sums then add in the same order)
    levels = np.asfortranarray(levels)
    weights = np.zeros(levels.shape, dtype=float, order="F")
    for k, comp in enumerate(model.comparisons):
        weights[:, k] = comp.weights[levels[:, k]]
        if comp.term_frequency and columns is not None:
            exact = np.flatnonzero(levels[:, k] == 1)
            if len(exact):
                share = columns.shares(comp.column)[left[exact]]
                share = np.where(share > 0, share, comp.u[0])
                weights[exact, k] = np.log2(max(comp.m[0], FLOOR) / np.maximum(share, FLOOR))
    for name, rate in model.group_rates.items():  # members moving together count once (matching/groups.py)
        members = [k for k, c in enumerate(model.comparisons) if c.group == name]
        if len(members) < 2:
            continue
        present, held = levels[:, members] > 0, weights[:, members]
        shift = group_total(held, present, float(rate)) - held.sum(axis=1)
        spread = shift / np.maximum(present.sum(axis=1), 1)
        for j, k in enumerate(members):  # a column at a time: no (pairs × members) temporaries
            weights[:, k] += np.where(present[:, j], spread, 0.0)
    identity = [k for k, c in enumerate(model.comparisons) if c.role == "identity"]
    declared = [k for k, c in enumerate(model.comparisons) if c.role == "context" and not c.detected]
    detected = [k for k, c in enumerate(model.comparisons) if c.role == "context" and c.detected]
    if identity and declared:
        # "agrees" means clearly: at least 2 bits, or half of what an exact agreement is worth;
        # and context alone (no identity value on one side, e.g. a name written 同上) never links
        needed = np.array([min(2.0, 0.5 * float(model.comparisons[k].weights.max())) for k in identity])
        present, held = levels[:, identity] > 0, weights[:, identity]
        partly = present & (held > 0) & (held < needed)
        # one comparison that agrees only in part (a birth date one digit off) beside one worth
        # ANCHOR_BITS (a name, a birth date: not sex), none against: one person and a typo
        anchored = (partly.sum(axis=1) == 1) & (present & (held >= ANCHOR_BITS)).any(axis=1)
        disagree = ((present & (held <= 0)).any(axis=1) | (partly.any(axis=1) & ~anchored) | ~present.any(axis=1))
        for k in declared:
            np.minimum(weights[:, k], 0.0, out=weights[:, k], where=disagree)
    if identity and detected:
        # context found in the data: nothing positive once an identity comparison disagrees
        # completely (another given name, another birth date); a typo still lets it count
        lowest = np.array([len(model.comparisons[k].levels) for k in identity])
        disagree = (levels[:, identity] == lowest).any(axis=1)
        for k in detected:
            np.minimum(weights[:, k], 0.0, out=weights[:, k], where=disagree)
    return np.ascontiguousarray(weights)


def prior_weight(prior: float) -> float:
    """The prior as bits of log-odds."""
    return float(np.log2(prior / (1 - prior)))


def probability(match_weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(match_weight, -500, 500)))
