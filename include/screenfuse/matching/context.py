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
from screenfuse.matching.columns import Columns
from screenfuse.matching.model import Model, train
from screenfuse.matching.settings import MatchSettings

MIN_SHARED = 0.2  # agreement among clear non-matches from which a column is context (1 pair in 5)
MIN_LIFT = 5.0  # ... and at least this many times its agreement among random pairs
MIN_PAIRS = 50  # fewer clear non-matches than this say nothing
LATCH_APART = 0.35  # an identity comparison on which this share of EM's matches disagree completely ...
LATCH_COLUMNS = 2  # ... and this many of them: EM learnt "same household", not "same person"
LATCH_SHARED = 0.5  # a comparison most pairs of such a household class agree on exactly is context
LATCH_INFORMATIVE = 0.9  # only comparisons random pairs nearly always disagree on count (not sex: 0.5)


@dataclass(frozen=True)
class ContextFinding:
    """What detection measured for one comparison, and what it decided."""

    column: str
    role: str  # the role the run uses
    why: str  # "settings" (role: context given), "detected", "identity"; "model": the given model's roles (no detection run)
    clear_nonmatches: int  # clear non-match pairs counted for this column
    shared: float  # share of them agreeing exactly on this column
    random: float  # exact agreement among random pairs (from value counts)
    switched_on: str = ""  # why detection ran although the settings left it off (households_latched)

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
        return f"{self.column}: {self.role} ({figures})" + (f"; {self.switched_on}" if self.switched_on else "")


def detect_context(columns: Columns, settings: MatchSettings, left: np.ndarray, right: np.ndarray,
                   levels: np.ndarray) -> tuple[MatchSettings, list[ContextFinding]]:
    """The settings with detected context comparisons marked `role: context`, and the findings."""
    comps = settings.comparisons
    lowest = np.array([len(c.levels) for c in comps])
    by_column = np.ascontiguousarray(levels.T)  # a comparison's levels in one run of memory, not strided
    cache: dict = {}
    agree_on_rule = []
    for rule in settings.blocking:
        codes = rule_codes(columns, rule, cache, keep=True)
        on_left = codes[left]
        agree_on_rule.append(({p.column for p in rule}, (on_left == codes[right]) & (on_left >= 0)))
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
    # per comparison, computed once for every round below, as bits (eight pairs a byte: the rounds
    # then AND and count a few megabytes, not tens of millions of booleans): has a value on a pair
    # another rule proposed and disagrees completely, agrees in part, agrees exactly
    apart = [by_column[k] == lowest[k] for k in range(len(comps))]
    bits = lambda mask: np.packbits(mask)  # noqa: E731
    judged_apart = [bits(proposed[k] & apart[k]) for k in range(len(comps))]
    judged_near = [bits(proposed[k] & (by_column[k] > 0) & ~apart[k]) for k in range(len(comps))]
    judged_exact = [bits(proposed[k] & (by_column[k] == 1) & ~apart[k]) for k in range(len(comps))]
    exact_apart = [bits(proposed[k] & (by_column[k] == 1) & apart[k]) for k in range(len(comps))]  # one-level only
    del proposed
    count = lambda a, b: int(np.bitwise_count(a & b).sum())  # noqa: E731
    apart_all = np.zeros(len(left), dtype=np.int16)  # how many judged columns disagree completely
    for k in range(len(comps)):
        if k not in declared:
            apart_all += apart[k]
    while True:
        # one column at a time, the one households share most first: once a household's
        # surname and address are context, a person who moved (names agree, address apart) no
        # longer looks like two people who share a name
        judged = [k for k in range(len(comps)) if k not in declared | found]
        candidates = []
        # clearly two people on the other columns: two or more of them apart (three with this one)
        two, three = bits(apart_all >= 2), bits(apart_all >= 3)
        for k in judged:
            n_clear = count(judged_near[k], two) + count(judged_apart[k], three)
            agreeing = count(judged_exact[k], two) + count(exact_apart[k], three)
            shared = agreeing / n_clear if n_clear else 0.0
            measured[k] = (n_clear, shared)
            if (settings.detect_context and n_clear >= MIN_PAIRS and shared >= MIN_SHARED
                    and shared >= MIN_LIFT * random[k]):
                candidates.append((agreeing, k))
        if not candidates or len(judged) <= 1:
            break
        chosen = max(candidates)[1]
        found.add(chosen)
        apart_all -= apart[chosen]
    findings, changed = [], []
    for k, comp in enumerate(comps):
        n_clear, shared = measured.get(k, (0, 0.0))
        why = "settings" if k in declared else "detected" if k in found else "identity"
        role = "context" if why != "identity" else comp.role
        findings.append(ContextFinding(comp.column, role, why, n_clear, shared, random[k]))
        changed.append(replace(comp, role=role, detected=why == "detected"))
    return settings.with_overrides(comparisons=tuple(changed)), findings


def households_latched(model: Model) -> list[tuple[str, float]]:
    """The informative identity comparisons on which LATCH_APART or more of EM's matches disagree
    completely, when there are LATCH_COLUMNS or more of them ([] otherwise). Then EM's match class
    is the household: its pairs share the address (and surname) and differ in given name and
    birth date. On FEBRL 3 the most any comparison has is 0.23; on a census-style file with the
    address in the settings and detection off, given name 0.80 and birth date 0.78 (F1 0.33)."""
    apart = [(c.column, float(c.m[-1])) for c in model.comparisons
             if c.role != "context" and len(c.m) > 1 and c.m[-1] >= LATCH_APART and c.u[-1] >= LATCH_INFORMATIVE]
    return apart if len(apart) >= LATCH_COLUMNS else []


def train_with_context(columns: Columns, settings: MatchSettings, left: np.ndarray, right: np.ndarray,
                       levels: np.ndarray) -> tuple[Model, list[ContextFinding]]:
    """Detect context (when the settings ask) and train. When the settings name no context
    column and the model learnt households (`households_latched`): detect and train again if the
    settings left detection off; if it still learnt households, the columns nearly all pairs of
    its household class agree on are context. Settings that name their context columns (the
    zh_person preset) are left as they are: on 3,000,000 records of the zh generator EM's match
    class is namesakes, and taking the name for context lost a tenth of the recall."""
    trained_with, findings = detect_context(columns, settings, left, right, levels)
    model = train(columns, trained_with, levels, len(left))
    if any(c.role == "context" for c in settings.comparisons):
        return model, findings  # the settings say what households share (a preset does): theirs is the call
    latched = households_latched(model)
    if latched and not settings.detect_context:
        trained_with, findings = detect_context(columns, settings.with_overrides(detect_context=True), left, right,
                                                levels)
        why = ("detection switched on: EM's matches disagreed completely on "
               + " and ".join(f"{column} ({share:.0%})" for column, share in latched) + ", the mark of households")
        findings = [replace(f, switched_on=why) if f.why == "detected" else f for f in findings]
        model = train(columns, trained_with, levels, len(left))
        latched = households_latched(model)
    # detection found too little (a coarse blocking rule drowns the households in random pairs):
    # the household class itself says what households share
    apart = {column for column, _ in latched}
    shared = {c.column: float(c.m[0]) for c in model.comparisons
              if c.role != "context" and c.column not in apart and c.m[0] >= LATCH_SHARED}
    if not latched or not shared:
        return model, findings
    apart_text = " and ".join(f"{column} ({share:.0%})" for column, share in latched)
    comparisons = tuple(replace(c, role="context", detected=True) if c.column in shared else c
                        for c in trained_with.comparisons)
    findings = [replace(f, role="context", why="detected",
                        switched_on=f"context: agrees in {shared[f.column]:.0%} of the pairs EM took for matches, which "
                                    f"disagreed completely on {apart_text}: what a household shares")
                if f.column in shared else f for f in findings]
    return train(columns, trained_with.with_overrides(comparisons=comparisons), levels, len(left)), findings
