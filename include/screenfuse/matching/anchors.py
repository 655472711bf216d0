"""A check on what EM learnt: are its matches the same persons, and were there enough of them?

EM takes the largest structure among the candidate pairs for its match class. When true
duplicates are rare and namesakes common (a district's mass screening: most people sampled once,
millions of records blocked on name), that structure is the namesakes: on 3,000,000 zh records
EM's matches disagreed on birth date in 89 % of its pairs, and namesakes with no ID whose
addresses were alike were linked (pairwise precision 0.9919, 212 persons merged).

Anchors say what EM should have found. An anchor of a comparison is a candidate pair that agrees
exactly on two or more other informative identity comparisons and that no distinct key keeps
apart: nearly always one person (on those records 99.96 % of the name's anchors and all of the
birth date's were). When the anchors agree on a comparison far more often than EM's matches do,
EM learnt something else than "same person". Where there are too few anchors to judge by (an
hour of new records), a class whose pairs almost never agree exactly on two identity columns is
not persons either (EM on 10,000 of those records: ID and birth date exact in 0 %).

A model learnt from fewer than MIN_MATCHES matching pairs has seen too few typos to weigh them:
one hour's 10,000 new mass-screening records held about 33, no ID one digit apart among them,
and the warehouse's recall fell by 0.002 under that model.

A preset's shipped model is then used (`Trained.source` "shipped", with the reason); settings
without one keep EM's model, and the reason says what the check found.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from screenfuse.matching.context import ContextFinding, train_with_context
from screenfuse.matching.columns import Columns
from screenfuse.matching.model import Model
from screenfuse.matching.settings import MatchSettings

MIN_ANCHORS = 200  # fewer anchor pairs than this say nothing
ANCHORS_AGREE = 0.8  # a comparison the anchors agree on exactly at least this often ...
EM_SHORT = 0.5  # ... and EM's matches less than half as often: EM's class is not persons
INFORMATIVE = 0.01  # an anchor column: random pairs agree on it exactly at most this often (not sex)
NEVER = 0.05  # without anchors: EM's matches agree exactly this rarely ...
NEVER_COLUMNS = 2  # ... on this many identity columns: not persons
MIN_MATCHES = 100  # fewer matching pairs than this (EM's estimate) teach too little


@dataclass(frozen=True)
class AnchorFinding:
    column: str
    anchors: int  # candidate pairs anchored on the other informative identity comparisons
    anchored: float | None  # share of them agreeing exactly on this column (None: too few to say)
    learnt: float  # EM's m of the exact level

    def describe(self) -> str:
        if self.anchored is None:
            return f"{self.column}: EM's matches agree exactly in {self.learnt:.0%} of pairs"
        return (f"{self.column}: {self.anchored:.0%} of {self.anchors:,} pairs that agree on the other identity "
                f"columns agree exactly, EM's matches {self.learnt:.0%}")


@dataclass
class Trained:
    model: Model
    findings: list[ContextFinding]
    source: str = "trained"  # or "shipped": EM's class was not persons and the preset has a model
    reason: str = ""  # why the shipped model was used, or what the check found
    anchors: list[AnchorFinding] = field(default_factory=list)


def not_persons(model: Model, columns: Columns, settings: MatchSettings, left: np.ndarray, right: np.ndarray,
                levels: np.ndarray) -> list[AnchorFinding]:
    """The comparisons on which EM's matches fall short of the anchors ([] when none does)."""
    comps = settings.comparisons
    learnt = {c.column: c for c in model.comparisons}
    # the roles training settled on (a detected context column is no identity anchor)
    informative = [k for k, c in enumerate(comps) if c.column in learnt and learnt[c.column].role != "context"
                   and float(learnt[c.column].u[0]) <= INFORMATIVE]
    if len(informative) < 3:
        return []
    apart = np.zeros(len(left), dtype=bool)
    for key in settings.distinct_keys:
        codes = columns.codes(key)
        apart |= (codes[left] >= 0) & (codes[right] >= 0) & (codes[left] != codes[right])
    exact = levels == 1
    short, never = [], []
    for k in informative:
        if comps[k].m is not None:  # fixed by the settings: EM did not learn it
            continue
        m_exact = float(learnt[comps[k].column].m[0])
        others = [j for j in informative if j != k]
        anchor = (exact[:, others].sum(axis=1) >= 2) & ~apart & (levels[:, k] > 0)
        n = int(anchor.sum())
        if n < MIN_ANCHORS:
            if m_exact < NEVER:
                never.append(AnchorFinding(comps[k].column, n, None, m_exact))
            continue
        anchored = float(exact[anchor, k].mean())
        if anchored >= ANCHORS_AGREE and m_exact < EM_SHORT * anchored:
            short.append(AnchorFinding(comps[k].column, n, anchored, m_exact))
    return short + (never if len(never) >= NEVER_COLUMNS else [])


def train_checked(columns: Columns, settings: MatchSettings, left: np.ndarray, right: np.ndarray,
                  levels: np.ndarray) -> Trained:
    """EM with context handling (`train_with_context`), then the checks: matches that are not
    persons (`not_persons`) or too few of them (MIN_MATCHES)."""
    model, findings = train_with_context(columns, settings, left, right, levels)
    short = not_persons(model, columns, settings, left, right, levels)
    matches = expected_matches(model, len(columns))
    if short:
        what = "; ".join(s.describe() for s in short)
        doubt, failed = f"EM's matches may not be persons ({what})", f"EM's matches were not persons ({what})"
    elif matches is not None and matches < MIN_MATCHES:
        doubt = failed = f"too few matching pairs to learn from (about {matches:.0f}, under {MIN_MATCHES})"
    else:
        return Trained(model, findings)
    fallback = shipped(settings, f"{failed}: the preset's shipped model")
    if fallback is None:
        return Trained(model, findings, reason=doubt, anchors=short)
    # EM's context findings describe the model set aside: the run reports the shipped model's roles
    return replace(fallback, anchors=short)


def shipped(settings: MatchSettings, reason: str) -> Trained | None:
    """The preset's shipped model, labelled with why it is used; None without one (settings with
    no preset learn from whatever they have)."""
    model = Model.fallback(settings.preset)
    return None if model is None else Trained(model, [], "shipped", reason)


def expected_matches(model: Model, records: int) -> float | None:
    """How many matching pairs EM found among `records` records (None: the settings fix the prior)."""
    return None if model.matches_per_record is None else model.matches_per_record * records / 2
