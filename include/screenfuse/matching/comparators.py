"""Comparators: for each candidate pair, which level of agreement a column reaches.

Every comparator is vectorized over all pairs at once (numpy and rapidfuzz `cpdist`, no Python
loop per pair) and returns int8 levels: 0 = a value is missing (neutral), 1 = the best level
(exact), then weaker levels, the last one meaning "different".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein, OSA
from rapidfuzz.process import cpdist

from screenfuse.matching import zh_text
from screenfuse.matching.levels import assign, both_present, similarity
from screenfuse.matching.zh_name_levels import text_lengths, zh_name

# Values for a pair side: get(column) -> (left values, right values) as numpy object arrays of str.
Getter = Callable[[str], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Method:
    default_thresholds: tuple[float, ...]
    names: Callable[[tuple[float, ...]], list[str]]
    compare: Callable[[Getter, str, tuple[float, ...], dict], np.ndarray]

    def level_names(self, thresholds: tuple[float, ...]) -> list[str]:
        return self.names(thresholds)


def _exact(get, column, thresholds, options):
    return assign(get.present(column), [get.equal(column)])


def _string_similarity(scorer, higher_is_better: bool):
    def compare(get, column, thresholds, options):
        present, same = get.present(column), get.equal(column)
        score = similarity(get, column, scorer, present & ~same, fill=-np.inf if higher_is_better else np.inf)
        steps = [score >= t if higher_is_better else score <= t for t in thresholds]
        return assign(present, [same, *steps])
    return compare


def _jaro_winkler(get, column, thresholds, options):
    """exact / Jaro-Winkler at least each threshold / different, where a pair one typing error
    apart (a letter dropped, added or changed, two neighbours swapped: OSA distance 1, words of 4
    letters or more) reaches at least the first threshold's level: a typo in a short name (mary,
    maxy: 0.87) scores far lower than one in a long name, though it is as likely to be the same name."""
    present, same = get.present(column), get.equal(column)
    rows = np.flatnonzero(present & ~same)
    score, typo = np.full(len(present), -np.inf), np.zeros(len(present), dtype=bool)
    if len(rows):  # each distinct pair of values scored once (a town's names make millions of pairs)
        code_a, code_b, which = get.distinct_codes_at(column, rows)
        lengths, values = get.columns.per_value(column, text_lengths), get.columns.uniques(column)
        long_enough = np.minimum(lengths[code_a], lengths[code_b]) >= TYPO_MIN_LETTERS  # both present here
        a, b = values[code_a].tolist(), values[code_b].tolist()
        score[rows] = cpdist(a, b, scorer=JaroWinkler.normalized_similarity, workers=-1)[which]
        typo[rows] = (long_enough & (cpdist(a, b, scorer=OSA.distance, workers=-1) == 1))[which]
    steps = [score >= t for t in thresholds]
    if steps:
        steps[0] |= typo
    return assign(present, [same, *steps])


TYPO_MIN_LETTERS = 4  # in shorter words one edit turns a name into another too often (jon, jo; ann, an)


def _date(get, column, thresholds, options):
    """exact / one typed digit wrong / day and month swapped / same year / different."""
    present, exact = get.present(column), get.equal(column)
    rows = np.flatnonzero(present & ~exact)
    words, codes = get.columns.per_value(column, _date_words), get.columns.codes(column)
    levels = np.zeros((3, len(present)), dtype=bool)
    for at in range(0, len(rows), DATE_ROWS):  # a million pairs at a time: their words, not every pair's
        part = rows[at:at + DATE_ROWS]
        a, b = words[codes[get.left[part]]], words[codes[get.right[part]]]
        year = a[:, 0] == b[:, 0]
        levels[2, part] = year
        levels[1, part] = year & ((a[:, 1] >> 32) == (b[:, 1] & LOW)) & ((a[:, 1] & LOW) == (b[:, 1] >> 32))
        levels[0, part] = (_lanes_differing(a[:, 0] ^ b[:, 0]) + _lanes_differing(a[:, 1] ^ b[:, 1])) == 1
    return assign(present, [exact, *levels])


DATE_ROWS = 1_000_000
LOW = np.uint64(0xFFFFFFFF)


def _lanes_differing(x: np.ndarray) -> np.ndarray:
    """How many of the four 16-bit characters of each XORed word differ."""
    return sum((((x >> np.uint64(shift)) & np.uint64(0xFFFF)) != 0).astype(np.int8) for shift in (0, 16, 32, 48))


def _date_words(values: np.ndarray) -> np.ndarray:
    """Dates as two words each (u, 2) uint64: YYYY and MMDD (separators dropped), 16 bits per
    character (the number of the character among those the dates use). Comparing two words per
    pair is far cheaper than comparing eight characters."""
    if len(values) == 0:
        return np.zeros((0, 2), dtype=np.uint64)
    compact = np.char.replace(np.asarray(values, dtype="U10"), "-", "")
    _, chars = np.unique(np.asarray(compact, dtype="U8").view(np.uint32), return_inverse=True)
    chars = np.minimum(chars.reshape(len(compact), 8), 0xFFFF).astype(np.uint64)  # 65,536 characters: never in dates
    shifts = np.array([48, 32, 16, 0], dtype=np.uint64)
    return np.stack([np.bitwise_or.reduce(chars[:, :4] << shifts, axis=1),
                     np.bitwise_or.reduce(chars[:, 4:] << shifts, axis=1)], axis=1)


def _numeric(get, column, thresholds, options):
    a, b = get(column)
    present = both_present(a, b)
    x = _to_float(a)
    y = _to_float(b)
    present &= ~np.isnan(x) & ~np.isnan(y)
    tolerance = thresholds[0] if thresholds else 0.0
    with np.errstate(invalid="ignore"):
        return assign(present, [x == y, np.abs(x - y) <= tolerance])


def _to_float(values: np.ndarray) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)


def _resident_id(get, column, thresholds, options):
    """Resident ID numbers: exact / one substitution or adjacent swap (two, when a number fails
    its check digit: a form typed wrong twice, or wrong once on each side) / both checksum-valid
    and different (strong evidence against: twins, siblings) / otherwise different."""
    trusted = options.get("trusted_column", "id_trusted")
    present, exact = get.present(column), get.equal(column)
    trusted_a, trusted_b = get.codes(trusted)
    valid_a, valid_b = trusted_a >= 0, trusted_b >= 0
    conflict = valid_a & valid_b & ~get.equal(trusted)
    edits = similarity(get, column, OSA.distance, present & ~exact & ~conflict)
    one_edit = (edits == 1) | ((edits == 2) & ~(valid_a & valid_b))
    return assign(present, [exact, one_edit, conflict])


def _document(get, column, thresholds, options):
    """Documents other than a resident ID, as '<type>:<number>': the same number of the same type
    (exact) / another number of the same type (different) / documents of different types say
    nothing (missing): a passport is never compared with a travel permit."""
    present, exact = get.present(column), get.equal(column)
    type_a, type_b = get.per_value(column, _document_type)
    return assign(present & (type_a == type_b), [exact])


def _document_type(values: np.ndarray) -> np.ndarray:
    return np.array([v.partition(":")[0] for v in values], dtype=object)


def _mobile(get, column, thresholds, options):
    """Mobile numbers: exact (also against the other side's second number) / one typing error (a
    digit changed, or two neighbours swapped: OSA distance 1) / different."""
    present, same = get.present(column), get.equal(column)
    second = options.get("second_column", f"{column}2")
    try:
        c2a, c2b = get.codes(second)
        rows = np.flatnonzero(present & ~same & ((c2a >= 0) | (c2b >= 0)))  # few records have a second number
        (x, y), (x2, y2) = get.at(column, rows), get.at(second, rows)
        same[rows] = ((x2 != "") & ((x2 == y) | (x2 == y2))) | ((y2 != "") & (x == y2))
    except KeyError:
        pass
    return assign(present, [same, similarity(get, column, OSA.distance, present & ~same) == 1])


def _address(get, column, thresholds, options):
    """Addresses as tokens: exact / same home (area, building, room) / token-set similarity ≥ t /
    same area (community or road) / different. The home and area columns are optional; with them,
    a bare road and number against a full home counts as missing, not as different."""
    present = get.present(column)
    conditions = [get.equal(column)]
    for key in (options.get("home_column", f"{column}_home"), None, options.get("area_column", f"{column}_area")):
        if key is None:
            rest = present & ~conditions[0] & ~conditions[1]
            score = similarity(get, column, fuzz.token_set_ratio, rest) / 100.0
            conditions.append(score >= (thresholds[0] if thresholds else 0.9))
            continue
        try:
            conditions.append(get.equal(key))
        except KeyError:
            conditions.append(np.zeros(len(present), dtype=bool))
    levels = assign(present, conditions)
    try:  # a road and number against a full home: one is too coarse to disagree with the other
        area = options.get("area_column", f"{column}_area")
        ha, hb = get.codes(options.get("home_column", f"{column}_home"))
        get.codes(area)
    except KeyError:
        return levels
    check = np.flatnonzero((levels == len(conditions) + 1) & ((ha < 0) != (hb < 0)))
    if len(check):
        aa, ab = get.at(area, check)
        ha, hb = ha[check], hb[check]
        coarse_area = np.where(ha < 0, aa, ab).astype(str)
        levels[check[~zh_text.is_community(coarse_area)]] = 0
    return levels


def _names(*fixed):
    return lambda thresholds: list(fixed)


METHODS: dict[str, Method] = {
    "exact": Method((), _names("exact", "different"), _exact),
    "jaro_winkler": Method(
        (0.92, 0.80), lambda t: ["exact", *[f"jaro_winkler>={x:g}" + (" or one typo" if k == 0 else "")
                                            for k, x in enumerate(t)], "different"], _jaro_winkler),
    "edit_distance": Method(
        (1, 2), lambda t: ["exact", *[f"osa<={x:g}" for x in t], "different"],
        _string_similarity(OSA.distance, False)),
    "levenshtein": Method(
        (1, 2), lambda t: ["exact", *[f"levenshtein<={x:g}" for x in t], "different"],
        _string_similarity(Levenshtein.distance, False)),
    "date": Method((), _names("exact", "one_digit", "day_month_swapped", "same_year", "different"), _date),
    "numeric": Method((0.0,), lambda t: ["exact", f"within_{t[0] if t else 0:g}", "different"], _numeric),
    "zh_name": Method((0.8,), _names("exact", "same_pinyin", "similar", "different"), zh_name),
    "resident_id": Method((), _names("exact", "one_edit", "both_valid_different", "different"), _resident_id),
    "mobile": Method((), _names("exact", "one_edit", "different"), _mobile),
    "document": Method((), _names("exact", "different"), _document),
    "address": Method(
        (0.9,), lambda t: ["exact", "same_home", f"similar>={t[0] if t else 0.9:g}", "same_area", "different"], _address),
}
