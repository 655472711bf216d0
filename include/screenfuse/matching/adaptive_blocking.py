"""Adaptive blocking: estimate each rule's pairs from key counts, refine the rules that explode.

A rule fitted to one population explodes on another (a common name in a big community, a street
shared by thousands): its pairs grow with the square of its largest blocks, and time and memory
with them. Before any pair is built, each rule's pairs are counted from its key counts; if the
rules together exceed the budget, the budget is shared out (rules under their share keep all
their pairs) and each rule over its share has only its large blocks split by the next-best key —
a key of another rule, the coarsest that fits, so as few true pairs as possible are lost. Blocks
still too large after that are left out (capped) and reported.

One key loses every true pair whose records differ on it (a move changes the zip, a typo the
birth date). So a batch's scoring (`several_keys`) also splits those large blocks by more keys,
sharpest first while the rule's share holds: the other rules' keys and the first characters of
their columns. A pair is compared when it agrees on any of them. The model still learns from the
one-key pairs only: the other keys propose pairs EM must not take for its picture of the data
(an address split by surname proposes every household).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from screenfuse.matching import threads
from screenfuse.matching.blocking import block_pairs
from screenfuse.matching.columns import Columns
from screenfuse.matching.settings import KeyPart

REFINE_ABOVE = (2000, 1000, 500, 200, 100, 50, 20, 10)  # block sizes tried, largest first
PREFIXES = (1, 2, 4)  # leading characters of a column tried as further keys (errors fall least on them)


@dataclass
class RulePlan:
    codes: np.ndarray  # the rule's key per record after refinement (-1: not blocked)
    estimated: int  # pairs before refinement
    estimated_after: int
    refined_with: str = ""
    refined_above: int = 0
    capped_blocks: int = 0
    also: list[np.ndarray] = field(default_factory=list)  # the large blocks split by more keys (several_keys);
    # a key nested in a coarser one taken too (street_name in street_name[:1]) keeps only the records
    # whose sub-block of the coarser key is over max_block_size: its other pairs are the coarser key's
    also_with: list[str] = field(default_factory=list)  # every key taken, nested ones too

    @property
    def parts(self) -> list[np.ndarray]:
        """The codes whose pairs the rule compares, united: the one-key refinement first."""
        return [self.codes, *self.also]


def _estimate(codes: np.ndarray, max_block_size: int) -> int:
    from screenfuse.matching.blocking import estimate_pairs

    return estimate_pairs(codes, max_block_size)


def _large(codes: np.ndarray, above: int) -> np.ndarray:
    """Records in blocks of more than `above` records."""
    valid = codes >= 0
    if not valid.any():
        return valid
    return valid & (np.bincount(codes[valid])[np.maximum(codes, 0)] > above)


def _split(codes: np.ndarray, key: np.ndarray, large: np.ndarray, dense: bool = True) -> np.ndarray:
    """Codes with the `large` records' blocks split by `key` (records without a key drop out).
    `dense`: the new blocks numbered from the next free code on (block counts need that); else
    any distinct numbers above the old codes (enough to build pairs, and no hashing)."""
    out = codes.copy()
    inside = large & (key >= 0)
    combined = codes[inside] * (int(key.max(initial=0)) + 1) + key[inside]
    out[inside] = (pd.factorize(combined)[0] if dense else combined) + (int(codes.max(initial=-1)) + 1)
    out[large & (key < 0)] = -1
    return out


@dataclass
class SplitPairs:
    """Per block of a rule: its size, its pairs whole, and its pairs once split by a key (blocks
    and sub-blocks over max_block_size make none, as in estimate_pairs). Any block size to split
    above is then priced without building the split."""
    sizes: np.ndarray
    whole: np.ndarray
    split: np.ndarray
    from_size: int = 0

    @classmethod
    def of(cls, codes: np.ndarray, key: np.ndarray, max_block_size: int, from_size: int = 0) -> "SplitPairs":
        """`from_size`: only blocks over this size are priced split (`estimate` above it only)."""
        return cls.pricer(codes, max_block_size, from_size)(key)

    @classmethod
    def pricer(cls, codes: np.ndarray, max_block_size: int, from_size: int = 0):
        """`of` for many keys of the same codes: what depends on the codes alone is done once."""
        valid = codes >= 0
        blocks = int(codes.max(initial=-1)) + 1
        sizes = np.bincount(codes[valid], minlength=blocks).astype(np.int64)
        whole = block_pairs(sizes, max_block_size)
        rows = np.flatnonzero(valid & (sizes[np.maximum(codes, 0)] > from_size) if from_size and blocks else valid)
        # the priced blocks numbered densely: a block count of a key's values is then often small
        # enough to count directly, else small enough to sort as int32 (a third faster than int64)
        held = np.flatnonzero(sizes > from_size)
        dense = np.zeros(blocks, dtype=np.int64)
        dense[held] = np.arange(len(held))
        codes_in = dense[codes[rows]]

        def price(key: np.ndarray) -> "SplitPairs":
            part = key[rows]
            keep = part >= 0
            width = int(key.max(initial=0)) + 1
            span = len(held) * width
            combined = codes_in[keep] * width + part[keep]
            if span <= 4 * len(codes) + 4096:  # small enough to count directly: no sort
                counts = np.bincount(combined, minlength=span)
                at = np.flatnonzero(counts)
                sub_sizes, parent = counts[at].astype(np.int64), at // width
            else:  # a sort and a comparison: numpy sorts integers with SIMD, far faster than hashing them
                combined = np.sort(combined.astype(np.int32) if span < 1 << 31 else combined)
                starts = np.flatnonzero(np.r_[True, combined[1:] != combined[:-1]]) if len(combined) else combined[:0]
                sub_sizes, parent = np.diff(np.r_[starts, len(combined)]).astype(np.int64), combined[starts] // width
            split = np.bincount(held[parent], weights=block_pairs(sub_sizes, max_block_size), minlength=blocks)
            return cls(sizes, whole, np.rint(split).astype(np.int64), from_size)

        return price

    def estimate(self, above: int, large_only: bool = False) -> int:
        """Pairs once the blocks over `above` are split (`large_only`: theirs alone)."""
        assert above >= self.from_size, "priced only above from_size"
        large = self.sizes > above
        return int(self.split[large].sum()) + (0 if large_only else int(self.whole[~large].sum()))


def _cap(codes: np.ndarray, allowance: int, max_block_size: int) -> tuple[np.ndarray, int]:
    """Leave out the largest blocks until the rule's pairs fit its allowance."""
    valid = codes >= 0
    sizes = np.bincount(codes[valid]).astype(np.int64)
    sizes[sizes > max_block_size] = 0
    pairs = sizes * (sizes - 1) // 2
    order = np.argsort(-pairs, kind="stable")
    excess = int(pairs.sum()) - allowance
    drop = order[: int(np.searchsorted(np.cumsum(pairs[order]), excess) + 1)] if excess > 0 else order[:0]
    out = codes.copy()
    out[np.isin(codes, drop)] = -1
    return out, int(len(drop))


def _shares(estimates: list[int], budget: int) -> list[int]:
    """Each rule's allowance: rules under an even share keep theirs, the rest split what is left."""
    allowance = [0] * len(estimates)
    left, todo = budget, sorted(range(len(estimates)), key=lambda r: estimates[r])
    while todo:
        share = left // len(todo)
        r = todo[0]
        if estimates[r] <= share:
            allowance[r], left = estimates[r], left - estimates[r]
            todo.pop(0)
        else:
            for r in todo:
                allowance[r] = share
            break
    return allowance


def further_keys(columns: Columns, rules, rule, cache: dict) -> list[tuple[KeyPart, np.ndarray]]:
    """Keys that may split `rule`'s large blocks besides the one-key refinement's: the other rules'
    keys and the first PREFIXES characters of their columns, each once (a prefix that groups the
    records as the whole value does, or puts them all together, is left out)."""
    from screenfuse.matching.blocking import rule_codes

    inside = {p.label for p in rule}
    own_columns = {p.column for p in rule}
    parts = [p for other in rules for p in other if p.label not in inside]
    given = {p.label for p in parts}
    for column in dict.fromkeys(p.column for p in parts):
        if column not in own_columns:
            parts += [KeyPart(column, None, length) for length in PREFIXES]
    keys: dict[str, tuple[KeyPart, np.ndarray]] = {}
    for part in parts:
        if part.label in keys:
            continue
        codes = rule_codes(columns, (part,), cache)
        if part.label not in given:  # a prefix of ours, not another rule's key
            whole = KeyPart(part.column)
            rule_codes(columns, (whole,), cache)
            distinct, of_whole = cache[part.label][1], cache[whole.label][1]
            if distinct <= 1 or distinct == of_whole:
                continue  # one block for all, or the same blocks as the whole value
        keys[part.label] = (part, codes)
    return list(keys.values())


def _within(part: KeyPart, other: KeyPart) -> bool:
    """Records agreeing on `part` agree on `other` too: the same column from the same start,
    `other` no longer and not empty (street_name agrees → street_name[:1] agrees); slices counted
    from the end are left alone."""
    start = part.start or 0
    return (part.column == other.column and start == (other.start or 0) >= 0
            and other.stop is not None and other.stop > start and (part.stop is None or part.stop >= other.stop))


def _widen(plan: RulePlan, whole: np.ndarray, keys, allowance: int, max_block_size: int,
           priced_before: dict[str, SplitPairs]) -> RulePlan:
    """The plan with its large blocks also split by each further key, sharpest (fewest pairs)
    first, while the parts' pairs (summed, so within the rule's allowance however they overlap)
    fit the allowance. `priced_before`: the keys the refinement priced (above a block size no
    larger than the plan's), not priced again."""
    used, large = plan.estimated_after, _large(whole, plan.refined_above)
    price = SplitPairs.pricer(whole, max_block_size, plan.refined_above)
    keys = [(part, key) for part, key in keys if part.label != plan.refined_with]
    fresh = threads.each(price, [key for part, key in keys if part.label not in priced_before])[::-1]
    priced = sorted(((priced_before[part.label] if part.label in priced_before else fresh.pop())
                     .estimate(plan.refined_above, True), part.label, part, key) for part, key in keys)
    taken = []
    for pairs, label, part, key in priced:
        if pairs and used + pairs <= allowance:
            taken.append((part, key))
            plan.also_with.append(label)
            used += pairs
    splits: dict[int, np.ndarray] = {}

    def split_of(t: int) -> np.ndarray:
        if t not in splits:
            split = _split(whole, taken[t][1], large, dense=False)  # only its pairs are built
            split[split == whole] = -1  # a small block keeps its code: the one-key part has its pairs
            splits[t] = split
        return splits[t]

    # a pair of a nested key (street_name) is in the next coarser key's (street_name[:1]) sub-block,
    # whose pairs are built unless it is over max_block_size: only the records of those are kept,
    # and only a block over max_block_size can hold one
    sizes = np.bincount(whole[whole >= 0]) if (whole >= 0).any() else np.zeros(0, dtype=np.int64)
    huge = (whole >= 0) & (sizes[np.maximum(whole, 0)] > max_block_size) if len(sizes) else whole >= 0
    oversized: dict[int, np.ndarray] = {}
    for t, (part, _) in enumerate(taken):
        above = _coarser(taken, t)
        if above is None:
            plan.also.append(split_of(t))
        elif huge.any() and not _within(taken[above][0], part):  # (one key written two ways: the first has its pairs)
            if above not in oversized:
                oversized[above] = _sub_block_sizes(np.where(huge, split_of(above), -1)) > max_block_size
            kept = np.where(oversized[above], split_of(t), -1)
            if np.count_nonzero(kept >= 0) > 1:
                plan.also.append(kept)
    plan.estimated_after = used
    return plan


def _coarser(taken: list[tuple[KeyPart, np.ndarray]], t: int) -> int | None:
    """Of the keys taken, the finest other one that key `t` is within (the earlier one of two alike)."""
    part = taken[t][0]
    above = [u for u, (other, _) in enumerate(taken)
             if u != t and _within(part, other) and not (_within(other, part) and u > t)]
    return max(above, key=lambda u: (taken[u][0].stop, -u), default=None)


def _sub_block_sizes(codes: np.ndarray) -> np.ndarray:
    """Per record, how many records share its code (0 without one)."""
    sizes = np.zeros(len(codes), dtype=np.int64)
    valid = codes >= 0
    if valid.any():
        numbered = pd.factorize(codes[valid])[0]
        sizes[valid] = np.bincount(numbered)[numbered]
    return sizes


def plan_rules(columns: Columns, rules, max_block_size: int, budget: int | None, cache: dict,
               refine: bool = True, skip: np.ndarray | None = None, several_keys: bool = False) -> list[RulePlan]:
    """Each rule's codes and figures; refined only when a budget is given and exceeded. Records
    in `skip` are in no block. `several_keys`: a refined rule's large blocks are also split by
    further keys (`RulePlan.also`; the module's docstring says why)."""
    from screenfuse.matching.blocking import rule_codes

    for rule in rules:  # each column's (or slice's) codes built once, before the rules combine them in threads
        for part in rule:
            rule_codes(columns, (part,), cache)
    codes = threads.each(lambda rule: rule_codes(columns, rule, cache, keep=True), rules)
    if skip is not None:
        codes = [np.where(skip, -1, c) for c in codes]
    estimates = [_estimate(c, max_block_size) for c in codes]
    plans = [RulePlan(c, e, e) for c, e in zip(codes, estimates)]
    if not refine or budget is None or sum(estimates) <= budget:
        return plans
    allowance = _shares(estimates, budget)
    used: set[str] = set()  # keys that refined an earlier rule
    for r, rule in enumerate(rules):
        if estimates[r] <= allowance[r]:
            continue
        inside = {p.label for p in rule}
        keys = [(p.label, rule_codes(columns, (p,), cache)) for other in rules for p in other if p.label not in inside]
        keys = list({label: key for label, key in keys}.items())
        price = SplitPairs.pricer(codes[r], max_block_size, min(REFINE_ABOVE))
        priced = dict(zip([label for label, _ in keys], threads.each(price, [key for _, key in keys])))
        best = fallback = None  # (estimate, label, above)
        for above in (a for a in REFINE_ABOVE if a <= max_block_size):
            fitting = []
            for label, _ in keys:
                estimate = priced[label].estimate(above)
                if estimate <= allowance[r]:
                    fitting.append((estimate, label, above))
                elif best is None or estimate < best[0]:
                    best = (estimate, label, above)
            # the coarsest key that fits loses the fewest true pairs; but a key another rule was
            # refined with is taken only when no other fits at any block size: two rules split by
            # the same key (a zip) lose the same true pairs (everyone who moved), and the rules
            # are there to cover for each other
            fresh = [f for f in fitting if f[1] not in used]
            if fresh:
                best = max(fresh, key=lambda f: f[0])
                break
            if fitting and fallback is None:
                fallback = max(fitting, key=lambda f: f[0])
        else:
            best = fallback or best
        if best is None:  # no other rule's key to refine with: cap only
            best = (estimates[r], "", 0)
        estimate, label, above = best
        split = _split(codes[r], dict(keys)[label], _large(codes[r], above)) if label else codes[r]
        capped = 0
        if estimate > allowance[r]:
            split, capped = _cap(split, allowance[r], max_block_size)
            estimate = _estimate(split, max_block_size)
        plans[r] = RulePlan(split, estimates[r], estimate, label, above, capped)
        if label:
            used.add(label)
        if several_keys and plans[r].refined_above:
            plans[r] = _widen(plans[r], codes[r], further_keys(columns, rules, rule, cache), allowance[r],
                              max_block_size, priced)
    return plans
