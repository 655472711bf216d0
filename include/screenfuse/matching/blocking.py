"""Blocking: a union of rules; records that agree on every key of a rule become a candidate pair.

Pairs are built with numpy from sorted key codes (no self-join, no Python loop per pair) and
encoded as one int64 per pair (i * n + j, i < j) so the union of rules is one `np.unique`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from screenfuse.matching.settings import KeyPart


@dataclass(frozen=True)
class RuleStats:
    rule: str
    pairs: int  # pairs this rule produced (before the union)
    new_pairs: int  # pairs no earlier rule had produced
    skipped_blocks: int  # blocks larger than max_block_size, left out
    skipped_records: int


def rule_keys(frame: pd.DataFrame, rule: tuple[KeyPart, ...]) -> pd.Series:
    """The rule's key per record; '' when any part is empty (such records are not blocked)."""
    parts = []
    empty = np.zeros(len(frame), dtype=bool)
    for part in rule:
        values = frame[part.column].astype(str)
        if part.start is not None or part.stop is not None:
            values = values.str.slice(part.start, part.stop)
        empty |= (frame[part.column].astype(str) == "").to_numpy()
        parts.append(values)
    key = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep="\x1f")
    return key.where(~empty, "")


def pairs_within_groups(codes: np.ndarray, max_block_size: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """All pairs (i < j) of records sharing a code (code -1 = no key).

    Returns left, right, and the number of blocks and records skipped for being too large.
    """
    keep = codes >= 0
    index = np.flatnonzero(keep)
    if len(index) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64), 0, 0
    order = index[np.argsort(codes[index], kind="stable")]
    sorted_codes = codes[order]
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


def candidate_pairs(frame: pd.DataFrame, rules, max_block_size: int,
                    only_with: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[RuleStats]]:
    """Union of all rules → unique (i, j) with i < j, and per-rule counts.

    `only_with` (boolean per record) keeps only pairs that involve at least one such record:
    incremental runs compare new records with each other and with existing ones, never old–old.
    """
    n = len(frame)
    seen = np.empty(0, dtype=np.int64)
    stats = []
    for rule in rules:
        keys = rule_keys(frame, rule)
        codes, _ = pd.factorize(keys.where(keys != ""), use_na_sentinel=True)
        left, right, big, big_records = pairs_within_groups(codes, max_block_size)
        if only_with is not None:
            involve = only_with[left] | only_with[right]
            left, right = left[involve], right[involve]
        encoded = left * n + right
        fresh = np.setdiff1d(encoded, seen, assume_unique=False)
        seen = np.union1d(seen, encoded)
        stats.append(RuleStats("+".join(p.label for p in rule), int(len(np.unique(encoded))), int(len(fresh)), big, big_records))
    return seen // n, seen % n, stats
