"""Blocking: a union of rules; records that agree on every key of a rule become a candidate pair.

Pairs are built with numpy from sorted key codes (no self-join, no Python loop per pair) and
encoded as one int64 per pair (i * n + j, i < j) so the union of rules is one `np.unique`.
Before any pair is built, each rule's pairs are estimated from its key counts (sum of
n·(n-1)/2 per key); when the rules together would exceed the budget (max_pairs_per_record per
record), the rules whose blocks explode are refined (adaptive_blocking.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screenfuse.matching import threads
from screenfuse.matching.columns import Columns, as_columns
from screenfuse.matching.settings import KeyPart


@dataclass(frozen=True)
class RuleStats:
    rule: str
    pairs: int  # pairs this rule produced, with its further keys' (before the union of rules)
    new_pairs: int  # pairs no earlier rule had produced (one-key pairs first: a pair an earlier rule's further
    # keys and this rule's one-key split both propose counts here)
    skipped_blocks: int  # blocks larger than max_block_size, left out
    skipped_records: int
    estimated: int = -1  # pairs estimated from key counts before refinement (-1: not estimated)
    refined_with: str = ""  # the key added to this rule's large blocks ("" when none)
    refined_above: int = 0  # blocks larger than this were refined
    estimated_after: int = -1  # pairs estimated after refinement (with further keys: their parts' pairs summed)
    capped_blocks: int = 0  # blocks still too large after refinement, left out
    also_split_by: str = ""  # further keys that split the large blocks for scoring, comma-separated


def rule_codes(columns: Columns, rule: tuple[KeyPart, ...], cache: dict, keep: bool = False) -> np.ndarray:
    """The rule's key per record as one int64 code; -1 when any part is empty (not blocked).

    Each column (or slice) is factorized once and cached; a multi-column key combines the
    codes arithmetically instead of concatenating strings. `keep`: a rule of the settings, whose
    codes blocking and context detection both read, is kept with the columns for the run (one
    array a rule, where the parts' cache holds dozens).
    """
    if keep:
        return columns.kept(("rule", rule), lambda: rule_codes(columns, rule, cache))
    combined = np.zeros(len(columns), dtype=np.int64)
    for part in rule:
        if part.label not in cache:
            codes = columns.codes(part.column)
            if part.start is not None or part.stop is not None:
                codes = np.where(codes >= 0, _slice_codes(columns.uniques(part.column), part)[np.maximum(codes, 0)], -1)
            codes.flags.writeable = False  # shared by every rule that uses the column: never changed in place
            cache[part.label] = (codes, int(codes.max(initial=-1)) + 1)
        codes, size = cache[part.label]
        if len(rule) == 1:
            return codes
        combined = np.where((combined < 0) | (codes < 0), -1, combined * (size + 1) + codes)
        valid = combined >= 0  # compact after each part so the codes never overflow
        if len(rule) > 1:
            combined[valid] = pd.factorize(combined[valid])[0]
    combined.flags.writeable = False
    return combined


def _slice_codes(uniques: np.ndarray, part: KeyPart) -> np.ndarray:
    """Each distinct value's slice, as a code (-1: the slice is empty, a value too short), sliced
    by Arrow: the same characters as Python's v[start:stop]."""
    if not len(uniques):
        return np.zeros(1, dtype=np.int64)  # indexed by the codes' floor of 0; never used
    try:
        sliced = pc.utf8_slice_codeunits(pa.array(uniques, type=pa.string()), start=part.start or 0, stop=part.stop)
    except UnicodeEncodeError:  # a lone surrogate (text decoded with surrogateescape) has no UTF-8: Python slices
        python = np.array([v[part.start:part.stop] for v in uniques], dtype=object)
        codes = pd.factorize(python)[0].astype(np.int64)
        codes[python == ""] = -1
        return codes
    encoded = pc.dictionary_encode(sliced)  # numbered by first appearance, as pandas' factorize
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    codes[pc.equal(sliced, "").to_numpy(zero_copy_only=False)] = -1
    return codes


def estimate_pairs(codes: np.ndarray, max_block_size: int) -> int:
    """The pairs a rule's codes make (blocks over max_block_size left out), from key counts alone."""
    sizes = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0, np.int64)
    return int(block_pairs(sizes.astype(np.int64), max_block_size).sum())


def block_pairs(sizes: np.ndarray, max_block_size: int) -> np.ndarray:
    """The pairs each block of these sizes makes (none over max_block_size)."""
    return np.where((sizes > 1) & (sizes <= max_block_size), sizes * (sizes - 1) // 2, 0)


def pairs_within_groups(codes: np.ndarray, max_block_size: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """All pairs (i < j) of records sharing a code (code -1 = no key).

    Returns left, right, and the number of blocks and records skipped for being too large.
    """
    keep = codes >= 0
    index = np.flatnonzero(keep)
    if len(index) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64), 0, 0
    order, sorted_codes = sort_by_code(codes[index], index)  # any order within a block: the pairs are a set
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    too_big = sizes > max_block_size
    skipped_blocks, skipped_records = int(too_big.sum()), int(sizes[too_big].sum())
    ok = (sizes > 1) & ~too_big
    starts, sizes = starts[ok], sizes[ok]
    if len(starts) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), skipped_blocks, skipped_records
    # every position p in a block pairs with the positions after it in the same block
    block_of = np.repeat(np.arange(len(starts)), sizes)
    rank_in_block = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    position = starts[block_of] + rank_in_block
    after = starts[block_of] + sizes[block_of] - position - 1
    left_pos = np.repeat(position, after)
    offsets = np.arange(after.sum()) - np.repeat(np.cumsum(after) - after, after) + 1
    right_pos = left_pos + offsets
    left, right = order[left_pos], order[right_pos]
    return np.minimum(left, right).astype(np.int64), np.maximum(left, right).astype(np.int64), skipped_blocks, skipped_records


def sort_by_code(codes: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`positions` ordered by their `codes` (non-negative), and the codes in that order. The
    position rides in the low bits of its code and one sort orders both (numpy sorts int64 with
    SIMD: about three times faster than an argsort), unless the codes are too large to leave it
    room; ties come out by position, the argsort's order may differ there."""
    bits = max(int(positions.max(initial=0)), 1).bit_length()
    top = int(codes.max(initial=0))
    if top < 1 << (62 - bits):
        packed = (codes.astype(np.int64) << bits) | positions
        threads.sort_in_place(packed)
        return packed & ((1 << bits) - 1), packed >> bits
    order = np.argsort(codes, kind="stable")
    return positions[order], codes[order]


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a sort and a comparison: numpy's hash-based unique is slower here)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def candidate_pairs(data: "pd.DataFrame | Columns", rules, max_block_size: int,
                    only_with: np.ndarray | None = None, budget: int | None = None,
                    skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[RuleStats]]:
    """Union of all rules → unique (i, j) with i < j, and per-rule counts.

    `only_with` (boolean per record) keeps only pairs that involve at least one such record:
    incremental runs compare new records with each other and with existing ones, never old–old.
    `budget`: most candidate pairs the rules may make together (None: no limit); a batch run over
    it refines the rules whose blocks explode (adaptive_blocking.plan_rules).
    `skip` (boolean per record): records left out of every block (exact twins, matching/twins.py).
    """
    left, right, stats, _ = _candidates(data, rules, max_block_size, only_with, budget, skip, several_keys=False)
    return left, right, stats


def scoring_pairs(data: "pd.DataFrame | Columns", rules, max_block_size: int, budget: int,
                  skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[RuleStats], np.ndarray]:
    """A batch's pairs to score: `candidate_pairs`, and where a rule was refined, its large blocks
    also split by further keys (adaptive_blocking.py). The fourth value marks the pairs of
    `candidate_pairs`, the ones a model learns from."""
    return _candidates(data, rules, max_block_size, None, budget, skip, several_keys=True)


def _candidates(data, rules, max_block_size, only_with, budget, skip, several_keys):
    from screenfuse.matching.adaptive_blocking import plan_rules

    columns = as_columns(data)
    n = len(columns)
    cache: dict = {}
    plans = plan_rules(columns, rules, max_block_size, budget, cache, refine=only_with is None, skip=skip,
                       several_keys=several_keys)
    cache.clear()  # the keys' codes (8 bytes a record each, dozens of them) are in the plans now
    # tags: rule r's one-key pairs r, its further keys' pairs R + r; a pair's smallest tag says
    # which rule found it first (one-key pairs first) and whether a model learns from it. Every
    # part goes into one sort as it is (the further keys' parts overlap much, but sorting them
    # apart first, and each rule's union again for its count, sorted each pair three times)
    rules_n = len(rules)
    work = [(r, 0) for r in range(len(plans))] + [(r, 1 + k) for r, plan in enumerate(plans) for k in range(len(plan.also))]

    def build(item: tuple[int, int]) -> tuple[np.ndarray, int, int]:
        r, k = item
        plan = plans[r]
        codes = plan.codes if k == 0 else plan.also[k - 1]
        left, right, big, big_records = pairs_within_groups(codes, max_block_size)
        if k == 0:
            plan.codes = plan.codes[:0]  # its pairs are built: the codes let go
        else:
            plan.also[k - 1] = codes[:0]
        del codes
        if only_with is not None:
            involve = only_with[left] | only_with[right]
            left, right = left[involve], right[involve]
        return left * n + right, big, big_records

    built = threads.each(build, work)  # the parts side by side; their pairs are the same in any order
    arrays = [pairs for pairs, _, _ in built]
    tags = [r if k == 0 else rules_n + r for r, k in work]
    skipped = [built[r][1:] for r in range(len(plans))]
    del built
    for plan in plans:
        plan.also.clear()
    unique, tag, counts = _smallest_tags(arrays, n, tags, rules_n)
    fresh = np.bincount(tag % max(rules_n, 1), minlength=rules_n)
    stats = [RuleStats("+".join(p.label for p in rule), int(counts[r]), int(fresh[r]), *skipped[r],
                       plans[r].estimated, plans[r].refined_with, plans[r].refined_above, plans[r].estimated_after,
                       plans[r].capped_blocks, ", ".join(plans[r].also_with))
             for r, rule in enumerate(rules)]
    learn = tag < rules_n  # only further keys proposed it: scored, never learnt from
    return unique // n, unique % n, stats, learn


def _smallest_tags(arrays: list[np.ndarray], n: int, tags: list[int] | None = None,
                   groups: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of the arrays, sorted; for each, the smallest tag of an array holding
    it (`tags`, one per array; by default its index); and per group of tags (tag % `groups`) how
    many distinct values its arrays hold. The tag rides in the low bits of each value and one
    sort does the rest (an argsort of tens of millions of pairs costs twice as much), unless the
    pair codes are too large to leave it room. The arrays are handed over: each item of the list
    is let go (None) once read."""
    tags = list(range(len(arrays))) if tags is None else list(tags)
    if not arrays:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.zeros(groups, np.int64)
    bits = max(max(tags), 1).bit_length()
    if n * n < 1 << (62 - bits):
        # filled in place, each array let go as it is copied (the caller hands them over): tens of
        # millions of pairs are held once, not three times
        values, at = np.empty(sum(len(a) for a in arrays), dtype=np.int64), 0
        for t in range(len(arrays)):
            a, arrays[t] = arrays[t], None
            np.left_shift(a, bits, out=values[at:at + len(a)])
            values[at:at + len(a)] |= tags[t]
            at += len(a)
            del a
        threads.sort_in_place(values)
        low = (values & ((1 << bits) - 1)).astype(np.uint8 if bits <= 8 else np.int64)
        values >>= bits  # the values, in place
    else:
        values = np.concatenate(arrays)
        low = np.concatenate([np.full(len(a), t, dtype=np.int64) for t, a in zip(tags, arrays)])
        arrays.clear()
        order = np.lexsort((low, values))
        values, low = values[order], low[order]
    first = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=first[1:])
    counts = np.zeros(groups, dtype=np.int64)
    group = low % groups
    for g in range(groups):  # a group's values are in sorted order too: its distinct ones are where they change
        held = values[group == g]
        counts[g] = int(len(held) and 1 + np.count_nonzero(held[1:] != held[:-1]))
    return values[first], low[first].astype(np.int64), counts
