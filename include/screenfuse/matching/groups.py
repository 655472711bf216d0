"""Comparisons that move together, scored as one piece of evidence.

When a person moves, every field of the address changes at once (street, number, unit, zip); a
household shares them all. Fellegi–Sunter counts each field as independent evidence, so a single
move counts three or four times, a veto against names and a birth date that agree; and EM, whose
match class then holds only the duplicates who did not move, learns that a match never has a
different zip, which makes the veto stronger.

A group is the context comparisons (declared or detected, matching/context.py) that move
together, and the comparisons whose complete disagreement goes with theirs, all measured among
pairs that the other comparisons already settle as one person (anchors: exact agreements rare
enough that they cannot be chance). It is scored as a mixture of "the same home", with each
member's m learnt from the anchors that did not move, and "moved", every member as random pairs
give it, with the move rate learnt from the anchors. A move then costs log2(move rate) once
(about -2.5 bits), not each field's full weight.
"""
from __future__ import annotations

import numpy as np

ANCHOR_MARGIN = 2.0  # bits of rare exact agreement beyond log2(records): chance anchors are a handful
MIN_ANCHORS = 200  # fewer anchor pairs than this say nothing about moves
MIN_MOVED = 20  # ... nor fewer anchors whose context disagrees
MIN_LIFT = 3.0  # a comparison joins when it disagrees this many times more often among moved anchors
MIN_SHARE = 0.5  # ... and disagrees in at least half of them
TOGETHER = 0.8  # two context comparisons move together when each disagrees in 4 of 5 anchors where the other does
RATE_BOUNDS = (0.001, 0.5)


def _anchors(patterns: np.ndarray, rarity: np.ndarray, left_out: list[int], records: int) -> np.ndarray:
    """Pattern rows whose exact agreements outside `left_out` make the pair one person."""
    use = np.ones(patterns.shape[1], dtype=bool)
    use[left_out] = False
    bits = ((patterns[:, use] == 1) * rarity[use]).sum(axis=1)
    return bits >= np.log2(max(records, 2)) + ANCHOR_MARGIN


def find_group(roles: list[str], n_levels: list[int], patterns: np.ndarray, counts: np.ndarray,
               rarity: np.ndarray, records: int) -> list[int]:
    """The comparisons (indexes) that form the context group, [] when there is none to form.
    `patterns`: distinct level patterns (0 missing, 1 exact, ..., n_levels different), `counts`:
    how many candidate pairs have each, `rarity`: -log2 of each comparison's random exact agreement."""
    differ = patterns == np.asarray(n_levels)[None, :]
    present = patterns > 0
    seeds = _moving_together([k for k, role in enumerate(roles) if role == "context"], differ, present, patterns,
                             counts, rarity, records)
    if not seeds or len(seeds) == len(roles):
        return []
    seeds_moved = (differ[:, seeds] | ~present[:, seeds]).all(axis=1) & present[:, seeds].any(axis=1)
    members = list(seeds)
    for k in range(len(roles)):
        if k in seeds:
            continue
        weight = counts * _anchors(patterns, rarity, seeds + [k], records) * present[:, k]
        moved = weight * seeds_moved
        if weight.sum() < MIN_ANCHORS or moved.sum() < MIN_MOVED:
            continue
        share_all = float((weight * differ[:, k]).sum() / weight.sum())
        share_moved = float((moved * differ[:, k]).sum() / moved.sum())
        if share_moved >= MIN_SHARE and share_moved >= MIN_LIFT * max(share_all, 1e-9):
            members.append(k)
    return members if len(members) >= 2 else []


def _moving_together(context: list[int], differ, present, patterns, counts, rarity, records: int) -> list[int]:
    """The context comparisons that disagree together with the one most others disagree with (each
    of a pair disagrees in at least 4 of 5 anchors where the other does): an address's fields
    do, a household's surname does not (it changes with a typo, not with a move); none when no
    two do."""
    if len(context) < 2:
        return context
    linked = {k: {k} for k in context}
    for i, a in enumerate(context):
        for b in context[i + 1:]:
            weight = counts * _anchors(patterns, rarity, [a, b], records) * present[:, a] * present[:, b]
            a_moved, b_moved = weight * differ[:, a], weight * differ[:, b]
            if a_moved.sum() < MIN_MOVED or b_moved.sum() < MIN_MOVED:
                continue
            if (a_moved * differ[:, b]).sum() >= TOGETHER * a_moved.sum() and \
                    (b_moved * differ[:, a]).sum() >= TOGETHER * b_moved.sum():
                linked[a].add(b)
                linked[b].add(a)
    core = max(context, key=lambda k: (len(linked[k]), -k))  # the one most others move with
    return sorted(linked[core]) if len(linked[core]) >= 2 else []


def fit_group(members: list[int], n_levels: list[int], patterns: np.ndarray, counts: np.ndarray,
              rarity: np.ndarray, records: int) -> tuple[float, dict[int, np.ndarray]] | None:
    """(move rate, m per member given no move) from the anchors the group's members leave out;
    None when there are too few anchors."""
    anchors = _anchors(patterns, rarity, members, records)
    present = patterns[:, members] > 0
    differ = patterns[:, members] == np.asarray(n_levels)[members][None, :]
    weight = counts * anchors * present.any(axis=1)
    if weight.sum() < MIN_ANCHORS:
        return None
    moved = (differ | ~present).all(axis=1)
    rate = float(np.clip((weight * moved).sum() / weight.sum(), *RATE_BOUNDS))
    stayed = weight * ~moved
    m = {}
    for k in members:
        levels = patterns[:, k]
        held = np.bincount(levels, weights=stayed, minlength=n_levels[k] + 1)[1:] + 0.5  # no level impossible
        m[k] = held / held.sum()
    return rate, m


def group_total(weights: np.ndarray, present: np.ndarray, rate: float) -> np.ndarray:
    """The group's bits per pair from its members' bits given no move (missing members 0):
    log2((1 - rate) * 2^sum + rate); 0 where no member is present."""
    total = weights.sum(axis=1)
    mixed = np.logaddexp2(np.log2(1.0 - rate) + total, np.log2(rate))
    return np.where(present.any(axis=1), mixed, 0.0)


CONTEXT_GROUP = "context"
FLOOR = 1e-9


def context_group(comps, patterns, counts, u_random, n, m, roles, detected) -> tuple[list[int], dict]:
    """After EM (model.train): the context group and its move rate. Its members' m (per
    comparison, in `m`) become their m given no move; a member that joined by its disagreements
    becomes detected context (`roles`, `detected`, changed in place)."""
    rarity = np.array([-np.log2(max(float(u[0]), FLOOR)) for u in u_random])
    n_levels = [len(c.levels) for c in comps]
    members = find_group(roles, n_levels, patterns, counts, rarity, n)
    fitted = fit_group(members, n_levels, patterns, counts, rarity, n) if members else None
    if fitted is None:
        return [], {}
    rate, given_no_move = fitted
    for k in members:
        if comps[k].m is None:  # m fixed in the settings stays
            m[k] = given_no_move[k]
        if roles[k] != "context":
            roles[k], detected[k] = "context", True
    return members, {CONTEXT_GROUP: rate}
