"""Comparators: for each candidate pair, which level of agreement a column reaches.

Every comparator is vectorized over all pairs at once (numpy and rapidfuzz `cpdist`, no Python
loop per pair) and returns int8 levels: 0 = a value is missing (neutral), 1 = the best level
(exact), then weaker levels, the last one meaning "different".
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz
from rapidfuzz.distance import Jaro, JaroWinkler, Levenshtein, OSA
from rapidfuzz.process import cpdist

from screenfuse.matching import zh_shapes, zh_text

# Values for a pair side: get(column) -> (left values, right values) as numpy object arrays of str.
Getter = Callable[[str], tuple[np.ndarray, np.ndarray]]


def _present(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != "") & (b != "")


def _assign(present: np.ndarray, conditions: list[np.ndarray]) -> np.ndarray:
    """Level 1 for the first condition that holds, 2 for the next…, last+1 otherwise; 0 if missing."""
    levels = np.full(len(present), len(conditions) + 1, dtype=np.int8)
    for level in range(len(conditions), 0, -1):
        levels[conditions[level - 1]] = level
    levels[~present] = 0
    return levels


def _similarity(get, column: str, scorer, where: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """scorer over the pairs in `where` (the others get `fill`): only undecided pairs are scored."""
    out = np.full(len(where), fill, dtype=float)
    rows = np.flatnonzero(where)
    if len(rows):
        a, b, which = get.distinct_at(column, rows)
        out[rows] = cpdist(list(a), list(b), scorer=scorer, workers=-1)[which]
    return out


@dataclass(frozen=True)
class Method:
    default_thresholds: tuple[float, ...]
    names: Callable[[tuple[float, ...]], list[str]]
    compare: Callable[[Getter, str, tuple[float, ...], dict], np.ndarray]

    def level_names(self, thresholds: tuple[float, ...]) -> list[str]:
        return self.names(thresholds)


def _exact(get, column, thresholds, options):
    return _assign(get.present(column), [get.equal(column)])


def _string_similarity(scorer, higher_is_better: bool):
    def compare(get, column, thresholds, options):
        present, same = get.present(column), get.equal(column)
        score = _similarity(get, column, scorer, present & ~same, fill=-np.inf if higher_is_better else np.inf)
        steps = [score >= t if higher_is_better else score <= t for t in thresholds]
        return _assign(present, [same, *steps])
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
        lengths, values = get.columns.per_value(column, _lengths), get.columns.uniques(column)
        long_enough = np.minimum(lengths[code_a], lengths[code_b]) >= TYPO_MIN_LETTERS  # both present here
        a, b = values[code_a].tolist(), values[code_b].tolist()
        score[rows] = cpdist(a, b, scorer=JaroWinkler.normalized_similarity, workers=-1)[which]
        typo[rows] = (long_enough & (cpdist(a, b, scorer=OSA.distance, workers=-1) == 1))[which]
    steps = [score >= t for t in thresholds]
    if steps:
        steps[0] |= typo
    return _assign(present, [same, *steps])


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
    return _assign(present, [exact, *levels])


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
    present = _present(a, b)
    x = _to_float(a)
    y = _to_float(b)
    present &= ~np.isnan(x) & ~np.isnan(y)
    tolerance = thresholds[0] if thresholds else 0.0
    with np.errstate(invalid="ignore"):
        return _assign(present, [x == y, np.abs(x - y) <= tolerance])


def _to_float(values: np.ndarray) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)


def _zh_name(get, column, thresholds, options):
    """Chinese names: exact (also with a middle dot dropped) / same pinyin (homophone, or a name
    written in pinyin) / similar / different. Similar: characters a handwritten form confuses by
    shape (己/已, 未/末), pinyin that differs only in a dialect's sound confusions (Wuhan n/l: 刘/牛),
    a middle character left out (刘超静 / 刘静), or close characters or pinyin, but not one
    character replaced by an unrelated one of the same count (张子涵 / 张子宇: how twins and
    siblings are named). Only pairs not decided earlier are
    looked at, each key computed once per distinct value and compared as integer codes.

    Pinyin agreement is evidence, not proof: the model learns how much it is worth.
    """
    pinyin = options.get("pinyin_column", f"{column}_pinyin")
    present, exact, homophone = get.present(column), get.equal(column), get.equal(pinyin)
    rest = np.flatnonzero(present & ~exact)
    if len(rest):
        exact[rest] = _same_key(get, column, _DOTLESS, rest)
        rest = rest[~exact[rest] & ~homophone[rest]]
    if len(rest):  # a name written in Latin letters, its parts in the other order (Wei Zhang / 张伟)
        homophone[rest] = _latin_other_order(get, column, pinyin, rest)
        rest = rest[~homophone[rest]]
    undecided = np.zeros(len(present), dtype=bool)
    undecided[rest] = True
    similar = _similarity(get, column, JaroWinkler.normalized_similarity, undecided) >= (thresholds[0] if thresholds else 0.8)
    close = similar | (_similarity(get, pinyin, Jaro.normalized_similarity, undecided & ~similar) >= 0.9)
    looks_or_sounds = np.zeros(len(present), dtype=bool)
    if len(rest) and options.get("shape_similar", True):
        looks_or_sounds[rest] = _look_alike(get, column, rest)
    folds = options.get("sound_folds", zh_text.DEFAULT_SOUND_FOLDS)
    if len(rest) and folds:
        undone = rest[~looks_or_sounds[rest]]
        looks_or_sounds[undone] = _same_key(get, pinyin, _sound(tuple(tuple(f) for f in folds)), undone)
    # close by the scores, but one character replaced by one that neither sounds nor looks alike:
    # how twins and siblings are named (张子涵 / 张子宇), not an error of the form
    check = np.flatnonzero(close & ~looks_or_sounds)
    if len(check):
        lengths = get.columns.per_value(column, _lengths)
        at = np.maximum(get.columns.codes(column), 0)
        check = check[lengths[at[get.left[check]]] == lengths[at[get.right[check]]]]
    if len(check):
        a, b = get.at(column, check)
        edits = cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
        close[check[edits == 1]] = False
        more = check[edits > 1]  # a typo beside the other name's character (薛庭旭 / 薛婷宇: 庭 for 婷)
        if len(more):
            close[more[_one_other_character(get, column, pinyin, more, tuple(tuple(f) for f in folds or ()))]] = False
    close |= looks_or_sounds
    needs = options.get("dropped_character_needs", "birth_date")
    if len(rest) and needs and needs in get.columns.frame.columns:
        # a middle character left out (刘超静 written 刘静): one name inside the other, and the
        # birth date the same; with a phone and an address alone, a household's 刘强 and 刘志强 linked
        codes = get.columns.codes(needs)
        a, b = codes[get.left[rest]], codes[get.right[rest]]
        agree = rest[(a == b) & (a >= 0)]
        if len(agree):
            close[agree] |= _one_dropped(get, column, agree)
    return _assign(present, [exact, homophone, close])


def _ends(values: np.ndarray) -> np.ndarray:
    """Per name: its length, and codes of its first and last character (equal codes, equal
    characters), computed by Arrow over all the distinct names at once."""
    text = pa.array(values, type=pa.string(), from_pandas=True).fill_null("")
    first = pc.utf8_slice_codeunits(text, 0, 1).to_numpy(zero_copy_only=False)
    last = pc.utf8_slice_codeunits(text, -1, 2**31).to_numpy(zero_copy_only=False)
    return np.column_stack([pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64),
                            pd.factorize(first)[0], pd.factorize(last)[0]])


def _one_dropped(get, column: str, rows: np.ndarray) -> np.ndarray:
    """Per pair of `rows`: whether one name is the other with one character inside it (not the
    surname's first, not the last) left out, the shorter of two characters or more. A form that
    drops a given name's middle character (刘超静 / 刘静) keeps both ends; a sibling's name keeps the
    length (张子涵 / 张子宇)."""
    ends = get.columns.per_value(column, _ends)
    at = np.maximum(get.columns.codes(column), 0)
    left, right = ends[at[get.left[rows]]], ends[at[get.right[rows]]]
    out = (np.abs(left[:, 0] - right[:, 0]) == 1) & (np.minimum(left[:, 0], right[:, 0]) >= 2) \
        & (left[:, 1] == right[:, 1]) & (left[:, 2] == right[:, 2])
    longer = np.flatnonzero(out & (np.maximum(left[:, 0], right[:, 0]) > 3))  # 3 → 2: both ends are all of it
    if len(longer):
        a, b = get.at(column, rows[longer])
        out[longer] = [_inside(x, y) if len(x) > len(y) else _inside(y, x) for x, y in zip(a, b)]
    return out


def _inside(long: str, short: str) -> bool:
    """Whether `short` is `long` with one character between its ends left out."""
    return any(long[:k] + long[k + 1:] == short for k in range(1, len(long) - 1))


def _one_other_character(get, column: str, pinyin: str, rows: np.ndarray, folds) -> np.ndarray:
    """Per pair of `rows` (names of one length): whether exactly one character differs that
    neither looks nor sounds like the other side's, however many look-alikes or homophones differ
    beside it. Each name's pinyin is split into one syllable per character (`zh_text.syllables`);
    a name whose pinyin cannot be split counts each differing character as unlike."""
    (a, b), (pa, pb) = get.at(column, rows), get.at(pinyin, rows)
    out = np.zeros(len(rows), dtype=bool)
    for i, (x, y, px, py) in enumerate(zip(a, b, pa, pb)):
        sx, sy = zh_text.syllables(px, len(x)), zh_text.syllables(py, len(y))
        unlike = 0
        for k, (cx, cy) in enumerate(zip(x, y)):
            if not zh_shapes.look_alike(cx, cy) and not (
                    sx and sy and _folded(sx[k], folds) == _folded(sy[k], folds)):
                unlike += 1
        out[i] = unlike == 1
    return out


@lru_cache(maxsize=4096)
def _folded(syllable: str, folds) -> str:
    return zh_text.sound_keys([syllable], folds)[0] if folds else syllable


def _other_orders(values: np.ndarray) -> np.ndarray:
    """Per value: a Latin-written name ('wei zhang') joined in its other orders (last part first,
    first part last); '' for a name in characters."""
    out = np.full((len(values), 2), "\x00", dtype=object)
    for i, v in enumerate(values):
        parts = v.split(" ")
        if len(parts) > 1 and v.isascii():
            out[i] = "".join(parts[-1:] + parts[:-1]), "".join(parts[1:] + parts[:1])
    return out


def _latin_flags(values: np.ndarray) -> np.ndarray:
    return np.fromiter((" " in v and v.isascii() for v in values), dtype=bool, count=len(values))


def _latin_other_order(get, column: str, pinyin: str, rows: np.ndarray) -> np.ndarray:
    orders, is_latin = get.columns.per_value(column, _other_orders), get.columns.per_value(column, _latin_flags)
    at = np.maximum(get.columns.codes(column), 0)
    left, right = at[get.left[rows]], at[get.right[rows]]
    latin = is_latin[left] | is_latin[right]
    out = np.zeros(len(rows), dtype=bool)
    if latin.any():
        rows, left, right = rows[latin], left[latin], right[latin]
        pa, pb = get.at(pinyin, rows)
        out[latin] = ((orders[left, 0] == pb) | (orders[left, 1] == pb) | (orders[right, 0] == pa)
                      | (orders[right, 1] == pa))
    return out


def _lengths(values: np.ndarray) -> np.ndarray:
    return np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))


def _same_key(get, column: str, transform, rows: np.ndarray) -> np.ndarray:
    codes = get.columns.per_value(column, transform)
    at = np.maximum(get.columns.codes(column), 0)
    return codes[at[get.left[rows]]] == codes[at[get.right[rows]]]


def _joined_codes(key):
    """A per-value transform: integer codes of key(all values joined by newlines), split back
    (one C-level pass instead of a Python call per value)."""
    def transform(values: np.ndarray) -> np.ndarray:
        keys = key("\n".join(values)).split("\n") if len(values) else []
        return pd.factorize(np.array(keys, dtype=object))[0]
    return transform


_DOTLESS = _joined_codes(zh_text.without_dots)
_SHAPE = _joined_codes(zh_shapes.shape_code)
_HAND_SHAPE = _joined_codes(zh_shapes.shape_key)


def _look_alike(get, column: str, rows: np.ndarray) -> np.ndarray:
    """Per pair of `rows`: whether the names differ only in characters handwriting confuses. Equal
    shape codes first (vectorized); of those, pairs the hand-made groups do not already tell are
    confirmed character by character (`zh_shapes.names_look_alike`)."""
    out = _same_key(get, column, _SHAPE, rows)
    check = np.flatnonzero(out)
    if len(check):
        check = check[~_same_key(get, column, _HAND_SHAPE, rows[check])]
    if len(check):
        a, b = get.at(column, rows[check])
        out[check] = [zh_shapes.names_look_alike(x, y) for x, y in zip(a, b)]
    return out


@lru_cache(maxsize=8)
def _sound(folds: tuple[tuple[str, str], ...]):
    def transform(values: np.ndarray) -> np.ndarray:
        return pd.factorize(np.array(zh_text.sound_keys(list(values), folds), dtype=object))[0]
    return transform


def _resident_id(get, column, thresholds, options):
    """Resident ID numbers: exact / one substitution or adjacent swap (two, when a number fails
    its check digit: a form typed wrong twice, or wrong once on each side) / both checksum-valid
    and different (strong evidence against: twins, siblings) / otherwise different."""
    trusted = options.get("trusted_column", "id_trusted")
    present, exact = get.present(column), get.equal(column)
    trusted_a, trusted_b = get.codes(trusted)
    valid_a, valid_b = trusted_a >= 0, trusted_b >= 0
    conflict = valid_a & valid_b & ~get.equal(trusted)
    edits = _similarity(get, column, OSA.distance, present & ~exact & ~conflict)
    one_edit = (edits == 1) | ((edits == 2) & ~(valid_a & valid_b))
    return _assign(present, [exact, one_edit, conflict])


def _document(get, column, thresholds, options):
    """Documents other than a resident ID, as '<type>:<number>': the same number of the same type
    (exact) / another number of the same type (different) / documents of different types say
    nothing (missing): a passport is never compared with a travel permit."""
    present, exact = get.present(column), get.equal(column)
    type_a, type_b = get.per_value(column, _document_type)
    return _assign(present & (type_a == type_b), [exact])


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
    return _assign(present, [same, _similarity(get, column, OSA.distance, present & ~same) == 1])


def _address(get, column, thresholds, options):
    """Addresses as tokens: exact / same home (area, building, room) / token-set similarity ≥ t /
    same area (community or road) / different. The home and area columns are optional; with them,
    a bare road and number against a full home counts as missing, not as different."""
    present = get.present(column)
    conditions = [get.equal(column)]
    for key in (options.get("home_column", f"{column}_home"), None, options.get("area_column", f"{column}_area")):
        if key is None:
            rest = present & ~conditions[0] & ~conditions[1]
            score = _similarity(get, column, fuzz.token_set_ratio, rest) / 100.0
            conditions.append(score >= (thresholds[0] if thresholds else 0.9))
            continue
        try:
            conditions.append(get.equal(key))
        except KeyError:
            conditions.append(np.zeros(len(present), dtype=bool))
    levels = _assign(present, conditions)
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
    "zh_name": Method((0.8,), _names("exact", "same_pinyin", "similar", "different"), _zh_name),
    "resident_id": Method((), _names("exact", "one_edit", "both_valid_different", "different"), _resident_id),
    "mobile": Method((), _names("exact", "one_edit", "different"), _mobile),
    "document": Method((), _names("exact", "different"), _document),
    "address": Method(
        (0.9,), lambda t: ["exact", "same_home", f"similar>={t[0] if t else 0.9:g}", "same_area", "different"], _address),
}
