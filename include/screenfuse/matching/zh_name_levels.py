"""The Chinese name comparator (`zh_name`): exact, the same pinyin (a homophone), similar, or
different; a name written with one character dropped, one other character of the same sound, its
parts in another order, or look-alike characters counts as similar.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import Jaro, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from screenfuse.matching import zh_shapes, zh_text
from screenfuse.matching.levels import assign, similarity


def zh_name(get, column, thresholds, options):
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
    similar = similarity(get, column, JaroWinkler.normalized_similarity, undecided) >= (thresholds[0] if thresholds else 0.8)
    close = similar | (similarity(get, pinyin, Jaro.normalized_similarity, undecided & ~similar) >= 0.9)
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
        lengths = get.columns.per_value(column, text_lengths)
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
    return assign(present, [exact, homophone, close])


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


def text_lengths(values: np.ndarray) -> np.ndarray:
    """Each text's length in characters."""
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
