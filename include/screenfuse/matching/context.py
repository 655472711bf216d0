"""Context detection: columns a household shares (address, phone, zip, unit, often the surname).

Fellegi–Sunter treats each agreement as independent evidence; members of one household agree on
every address field at once, so the address alone can outweigh a different given name and birth
date. A column is context when its agreement is common among candidate pairs that are clearly
two people (at least two other comparisons disagree completely) — far commoner than among random
pairs. Only pairs some rule without that column proposed are counted, so blocking on a column
does not make it look shared. Context columns keep their weight only when every identity
comparison clearly agrees (model.contributions); `role: context` in the settings forces it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from screenfuse.matching.blocking import rule_codes
from screenfuse.matching.model import Columns
from screenfuse.matching.settings import MatchSettings

MIN_SHARED = 0.2  # agreement among clear non-matches from which a column is context (1 pair in 5)
MIN_LIFT = 5.0  # ... and at least this many times its agreement among random pairs
MIN_PAIRS = 50  # fewer clear non-matches than this say nothing


@dataclass(frozen=True)
class ContextFinding:
    """What detection measured for one comparison, and what it decided."""

    column: str
    role: str  # the role the run uses
    why: str  # "settings" (role: context given), "detected", "identity"
    clear_nonmatches: int  # clear non-match pairs counted for this column
    shared: float  # share of them agreeing exactly on this column
    random: float  # exact agreement among random pairs (from value counts)

    @property
    def lift(self) -> float:
        return self.shared / self.random if self.random > 0 else float("inf")

    def describe(self) -> str:
        if self.why == "settings":
            return f"{self.column}: context (role: context in the settings)"
        if not self.clear_nonmatches:
            return f"{self.column}: {self.role} (no pairs clearly two people on the other comparisons to judge it by)"
        figures = (f"agrees in {self.shared:.1%} of {self.clear_nonmatches:,} pairs that are clearly two people, "
                   f"{self.random:.2%} of random pairs")
        return f"{self.column}: {self.role} ({figures})"


def detect_context(columns: Columns, settings: MatchSettings, left: np.ndarray, right: np.ndarray,
                   levels: np.ndarray) -> tuple[MatchSettings, list[ContextFinding]]:
    """The settings with detected context comparisons marked `role: context`, and the findings."""
    comps = settings.comparisons
    lowest = np.array([len(c.levels) for c in comps])
    fully_apart = levels == lowest[None, :]
    cache: dict = {}
    agree_on_rule = []
    for rule in settings.blocking:
        codes = rule_codes(columns, rule, cache)
        agree_on_rule.append(({p.column for p in rule}, (codes[left] == codes[right]) & (codes[left] >= 0)))
    random = []
    for comp in comps:
        counts = columns.value_counts(comp.column).astype(float)
        random.append(float(((counts / counts.sum()) ** 2).sum()) if counts.sum() else 0.0)
    proposed = []
    for comp in comps:
        mask = np.zeros(len(left), dtype=bool)
        for rule_columns, agrees in agree_on_rule:
            if comp.column not in rule_columns:
                mask |= agrees
        proposed.append(mask)
    declared = {k for k, c in enumerate(comps) if c.role == "context"}
    found: set[int] = set()
    measured: dict[int, tuple[int, float]] = {}
    while True:
        # one column at a time, the one households share most first: once a household's
        # surname and address are context, a person who moved (names agree, address apart) no
        # longer looks like two people who share a name
        judged = [k for k in range(len(comps)) if k not in declared | found]
        candidates = []
        for k in judged:
            others = [j for j in judged if j != k]
            apart = fully_apart[:, others].sum(axis=1) if others else np.zeros(len(left), int)
            clear = (apart >= 2) & proposed[k] & (levels[:, k] > 0)
            n_clear = int(clear.sum())
            agreeing = int((levels[clear, k] == 1).sum())
            shared = agreeing / n_clear if n_clear else 0.0
            measured[k] = (n_clear, shared)
            if (settings.detect_context and n_clear >= MIN_PAIRS and shared >= MIN_SHARED
                    and shared >= MIN_LIFT * random[k]):
                candidates.append((agreeing, k))
        if not candidates or len(judged) <= 1:
            break
        found.add(max(candidates)[1])
    findings, changed = [], []
    for k, comp in enumerate(comps):
        n_clear, shared = measured.get(k, (0, 0.0))
        why = "settings" if k in declared else "detected" if k in found else "identity"
        role = "context" if why != "identity" else comp.role
        findings.append(ContextFinding(comp.column, role, why, n_clear, shared, random[k]))
        changed.append(replace(comp, role=role, detected=why == "detected"))
    return settings.with_overrides(comparisons=tuple(changed)), findings
