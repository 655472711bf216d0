"""Normalizers: turn the text a unit typed into canonical values, column at a time.

Every function takes and returns pandas Series of strings (empty string = missing) so that a whole
feed is normalized with vectorized string operations; per-value work (traditional→simplified,
pinyin) runs once per distinct value. Dates and times: `screenfuse.datetimes`; addresses:
`screenfuse.addresses`.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from screenfuse import written_names, zh_names
from screenfuse.foreign_phones import foreign_number, north_american

# Full-width ASCII block (U+FF01..U+FF5E) and the ideographic space map onto plain ASCII.
_FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20} \
    | dict.fromkeys((0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD))  # invisible: zero-width, BOM, soft hyphen

# Traditional→simplified tables merge some distinct surnames; these first characters are kept.
_PROTECTED_SURNAMES = frozenset("於")


def per_value(values: pd.Series, transform) -> pd.Series:
    """An element-wise Series transform run on the distinct values only, spread back by position.

    Unlike `on_distinct` it keeps the dtypes on both sides (an arrow string column stays one,
    so pandas picks the same string engine and the result is the same), and `values` must hold
    no missing values (they are counted as one value).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    done = transform(pd.Series(uniques, name=values.name))
    return pd.Series(done.array.take(codes), index=values.index, name=values.name)


def _text(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str)


def batched(normalizer, columns: list[pd.Series]) -> list:
    """A value-by-value normalizer over several columns in one call: a file's many small columns
    would each pay pandas' fixed cost per call, which outweighs the rows of a file of a few
    thousand. Returns a Series (or DataFrame) per column, as `normalizer` would for each. Not for
    dates: pandas parses a column's date times together (one time zone or none)."""
    texts = [_text(c) for c in columns]  # what every normalizer starts with
    if not texts:
        return []
    done, start, out = normalizer(pd.concat(texts, ignore_index=True)), 0, []
    for text in texts:
        part = done.iloc[start:start + len(text)].set_axis(text.index)  # dtypes kept
        out.append(part if isinstance(part, pd.DataFrame) else part.rename(text.name))
        start += len(text)
    return out


def clean_texts(columns: list[pd.Series]) -> list[pd.Series]:
    return batched(clean_text, columns)


def to_halfwidth(values: pd.Series) -> pd.Series:
    """Full-width digits, letters and punctuation (common in Chinese input methods) → ASCII."""
    return per_value(_text(values), lambda distinct: distinct.str.translate(_FULL_TO_HALF))


def clean_text(values: pd.Series) -> pd.Series:
    """Half-width, trimmed, inner runs of white space collapsed to one space."""
    return per_value(_text(values), lambda distinct: distinct.str.translate(_FULL_TO_HALF)
                     .str.replace(r"\s+", " ", regex=True).str.strip())


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def on_distinct(values: pd.Series, transform) -> pd.Series:
    """Apply a column transform to each distinct value once and spread the result back.

    Feeds repeat names, addresses and phones many times; this makes normalization cost grow
    with the number of distinct values, not of rows. `transform` gets a Series of distinct
    values (object dtype) and returns a Series or DataFrame of the same length.
    """
    codes, uniques = pd.factorize(values.fillna("").astype(str))
    done = transform(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    if isinstance(done, pd.DataFrame):
        return pd.DataFrame({c: done[c].to_numpy()[codes] for c in done.columns}, index=values.index, dtype=object)
    return pd.Series(done.to_numpy()[codes], index=values.index, dtype=object)


def _each(values: pd.Series, fn) -> pd.Series:
    """fn over each value: a plain loop is faster than chained pandas string passes."""
    return pd.Series([fn(v) for v in values.tolist()], index=values.index, dtype=object)


def _char_table(names: pd.Series, convert) -> dict[int, str]:
    """A str.translate table for every character the names use (`convert` should be cached:
    files share most of their characters)."""
    chars = set("".join(names.tolist()))
    return {ord(c): convert(c) for c in chars}


@lru_cache(maxsize=20_000)
def _char_simplified(char: str) -> str:
    return _t2s().convert(char)


# the middle dot of a name in Chinese characters (买买提·艾力) as forms type it; a Latin-written
# name never reaches this table (written_names.latin_name keeps its hyphen as a separator)
_DOTS = {ord(c): "·" for c in "•・.．‧∙-_‐‑–—"}


# characters the tables convert although they are standard simplified characters of names: 乾
# (qián, 乾隆) is 干 only where it means "dry"; converted, 李乾 would be read ligan and be 李干
_KEPT = frozenset("乾")


def simplify_names(names: pd.Series) -> pd.Series:
    """Traditional → simplified, character by character (names have no phrases to convert);
    a first character the tables would merge with another surname (於 → 于) is kept."""
    table = {k: v for k, v in _char_table(names, _char_simplified).items() if v != chr(k) and chr(k) not in _KEPT}
    return _each(names, lambda v: v[:1] + v[1:].translate(table) if v[:1] in _PROTECTED_SURNAMES else v.translate(table))


def simplify_name(name: str) -> str:
    return simplify_names(pd.Series([name], dtype=object)).iloc[0]


# what a clerk writes beside a name: a note in brackets (李娜(女), 周八(户主)), a phone or ID number
# (孙七13900000611), a form of address (王伟先生, 张秀英女士), another name after a slash (赵六/赵小六)
_BRACKETED = re.compile(r"[(（][^)）]*[)）]")
_NAME_NOTE = re.compile(r"[0-9]{5,}[0-9Xx]?")
_NAME_TITLE = re.compile(r"(?<=[\u4e00-\u9fff]{2})(?:先生|女士|小姐|同志)$")
_NAME_ALIAS = re.compile(r"^([\u4e00-\u9fff·]{2,})[/／、]+[\u4e00-\u9fff·]{2,}$")


def _without_notes(name: str) -> str:
    """A name in Chinese characters without what was written beside it (see above)."""
    if not re.search(r"[\u4e00-\u9fff]", name):
        return name
    name = _NAME_ALIAS.sub(r"\1", _NAME_NOTE.sub("", name))
    untitled = _NAME_TITLE.sub("", name)
    return name if untitled in zh_names.COMPOUND_SURNAMES else untitled  # 欧阳先生: a surname and a title


def normalize_name(values: pd.Series) -> pd.Series:
    """Names: half-width, no spaces at all (张 伟 = 张伟), one kind of middle dot, simplified; a
    placeholder (无, 不详, 同上) is missing; a Latin-written name is case-folded, surname first
    (written_names.latin_name); a note, number, form of address or second name written beside a name
    in characters is dropped (李娜(女), 孙七139…, 王伟先生, 赵六/赵小六: `_without_notes`)."""
    table = _FULL_TO_HALF | _DOTS

    def one(value: str) -> str:
        text = " ".join(_BRACKETED.sub("", value.translate(_FULL_TO_HALF)).split())  # any space is one space
        if zh_names.is_placeholder(text) or zh_names.is_placeholder(text.replace(" ", "")):  # 不 详 as 不详
            return ""
        lettered = written_names.prepared(text)
        if written_names.is_latin(lettered):
            return written_names.latin_name(lettered)
        if written_names.is_cased_script(lettered):
            return written_names.cased_name(lettered)
        written = _without_notes("".join(text.translate(table).split()))
        if zh_names.is_placeholder(written):
            return ""
        return written if written.strip("·") else ""  # dots and dashes alone (--, __) name nobody

    def names(distinct: pd.Series) -> pd.Series:
        simplified = simplify_names(_each(distinct, one))
        # a placeholder written in traditional characters (無) is one once simplified: the result
        # is final, normalizing it again changes nothing (ingest's names are taken as they are)
        spaced = lambda v: zh_names.is_placeholder(v) or zh_names.is_placeholder(v.replace(" ", ""))  # noqa: E731 (x-x)
        return simplified.where(~simplified.map(spaced), "")
    return on_distinct(values, names)


# Surnames read differently from the character's common reading (pypinyin reads them out of context).
SURNAME_PINYIN = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "区": "ou", "查": "zha",
    "盖": "ge", "乐": "yue", "尉": "yu", "覃": "qin", "缪": "miao", "翟": "zhai", "种": "chong",
    "秘": "bi", "员": "yun", "繁": "po", "长": "chang", "柏": "bai", "重": "chong", "黑": "he",
}


@lru_cache(maxsize=20_000)
def _char_pinyin(char: str) -> str:
    from pypinyin import Style, lazy_pinyin

    # a letter of another alphabet (Иван, 김) is its own reading: two such names agree by their letters
    return "".join(lazy_pinyin(char, style=Style.NORMAL, errors=lambda c: c if c.isascii() or c.isalpha() else "")).lower()


def pinyin_of(names: pd.Series) -> pd.Series:
    """Toneless pinyin of names, syllables joined ("wangfang"); homophones share it. A compound
    surname is read as a surname (单于 chanyu); a Latin-written name is its letters ("zhangwei")."""
    def one(v: str, table: dict) -> str:
        if v[:2] in zh_names.COMPOUND_SURNAMES:
            return zh_names.COMPOUND_SURNAMES[v[:2]] + v[2:].translate(table)
        return SURNAME_PINYIN.get(v[:1], v[:1].translate(table)) + v[1:].translate(table)

    def transform(distinct: pd.Series) -> pd.Series:
        table = _char_table(distinct, _char_pinyin) | {ord("·"): "", ord(" "): ""}
        return _each(distinct, lambda v: one(v, table))
    return on_distinct(names, transform)


def name_pinyin(name: str) -> str:
    return pinyin_of(pd.Series([name], dtype=object)).iloc[0]


def normalize_phones(values: pd.Series) -> pd.DataFrame:
    """See `_normalize_phones`; computed once per distinct value."""
    return on_distinct(values, _normalize_phones)


_PHONE_SEPARATORS = {ord(c): None for c in " \t\n\r-()（）\u3000"}
# +86, 0086, or a bare 86 right before a mobile number (86-138…, (86)138…, 86138…: thirteen digits
# are never a Chinese number of their own)
_COUNTRY_CODE = re.compile(r"(?:\+86|0086|(?<![0-9])86)(?=1[3-9][0-9]{9}(?![0-9]))")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_WHOLE_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# a fixed line: an area code (027, 010, 0755) and 7-8 digits not starting with 0 or 1; shared by a
# household, so it is kept as a status, not as a number to link people by
_LANDLINE = re.compile(r"(?<![0-9])(?:0[1-9][0-9]{1,2})?[2-9][0-9]{6,7}(?![0-9])")
_RUN = {7: re.compile(r"(.)\1{6}"), 8: re.compile(r"(.)\1{7}")}


def is_filler(text: str, run: int) -> bool:
    """A value typed to fill a required cell, not to say anything: `run` or more of the same
    character in a row (13800000000, 000000000000000000). Two such records agree on nothing."""
    return bool(_RUN[run].search(text))


def is_counting(text: str, run: int) -> bool:
    """`run` or more digits in a row that count up or down (123456789012345678, 9876543210): typed
    to fill a required cell."""
    return bool(_counting_pattern(run).search(text))


@lru_cache(maxsize=4)
def _counting_pattern(run: int) -> re.Pattern:
    """Every run of `run` digits counting up or down, as one pattern (ten times faster than
    reading the digits one by one in Python: a first load reads a million numbers)."""
    cycle = "0123456789" * (run // 10 + 2)
    windows = {cycle[i:i + run] for i in range(10)}
    return re.compile("|".join(sorted(windows | {w[::-1] for w in windows})))


def _phone_numbers(value: str) -> tuple[str, str, str]:
    if len(value) == 11 and value.isascii() and value.isdigit() and value[0] == "1" and value[1] in "3456789":
        if not is_filler(value, 7):
            return value, "", "valid"  # the common case, without regular expressions
    text = halfwidth(value)
    if not text.strip():
        return "", "", "missing"
    american, rest = north_american(text)
    if american:  # an arrival's own numbers; a mobile beside them comes first
        own = [number for number in american if not is_filler(number.replace(" ", ""), 7)]
        mobile = _phone_numbers(rest) if rest.strip(" /") else ("", "", "missing")
        if mobile[2] == "valid":
            return mobile[0], mobile[1] or (own[0] if own else ""), "valid"
        return (own[0], own[1] if len(own) > 1 else "", "foreign") if own else ("", "", "placeholder")
    found = _mobiles(text)
    usable = [number for number in found if not is_filler(number, 7)]
    if found and not usable:
        return "", "", "placeholder"  # 13800000000: linked nobody to anybody
    if usable:
        return usable[0], usable[1] if len(usable) > 1 else "", "valid"
    compact = text.translate(_PHONE_SEPARATORS)
    foreign = foreign_number(compact)
    if foreign:  # a person's own number (an arrival from abroad): kept, in one form
        return ("", "", "placeholder") if is_filler(foreign, 7) else (foreign, "", "foreign")
    line = _LANDLINE.search(compact)
    if line:
        return "", "", "placeholder" if is_filler(line.group(0), 7) else "landline"
    return "", "", "invalid"


def _mobiles(text: str) -> list[str]:
    """The mobile numbers of a cell, in order. Spaces and dashes inside a number are dropped
    (+86 138 1234 5678); two numbers written side by side with only a space between them
    (13812345678 13987654321) are each found in their own piece, not lost as one 22-digit run."""
    joined = _COUNTRY_CODE.sub("", text.translate(_PHONE_SEPARATORS))
    found = _MOBILE.findall(joined)
    if not found:
        for piece in text.split():
            found += _MOBILE.findall(_COUNTRY_CODE.sub("", piece.translate(_PHONE_SEPARATORS)))
    if not found:  # two numbers each written in groups (139 0000 0605 139 0000 0615): 22 digits, two mobiles
        for run in re.findall(r"[0-9]+", joined):
            parts = [run[at:at + 11] for at in range(0, len(run), 11)]
            if len(run) in (22, 33) and all(_WHOLE_MOBILE.fullmatch(part) for part in parts):
                found += parts
    return found


def _normalize_phones(values: pd.Series) -> pd.DataFrame:
    """Phone fields → first and second 11-digit mobile numbers.

    Handles +86 / 0086 prefixes, dashes, spaces, brackets and several numbers in one cell
    ("138xxxx / 139xxxx"). A cell with no valid mobile keeps an empty phone and status invalid;
    a filler number (seven or more of one digit in a row, 13800000000) is dropped, status
    placeholder: records sharing it share no phone. A landline (027-87654321) gets status landline
    and no number: a household shares it, so it links nobody. A cell holding one number written with
    '+' and another country's code (+852 9123 4567: an arrival from abroad) keeps it as
    +85291234567, status foreign (`foreign_phones`); a North American number grouped after +1
    is kept as +1 415 555 0132, status foreign.
    """
    return pd.DataFrame([_phone_numbers(v) for v in values.tolist()], index=values.index,
                        columns=["phone", "phone2", "phone_status"], dtype=object)


def normalize_codes(values: pd.Series) -> pd.DataFrame:
    """Barcodes (sample tubes, pools): half-width, no spaces, upper case → columns `code` and
    `unusable`. A number that went through Excel (2.00210001E+13) has lost digits: unusable,
    never guessed, like an ID number."""
    return on_distinct(values, _normalize_codes)


def _normalize_codes(values: pd.Series) -> pd.DataFrame:
    # a CSV export keeps a long number as text by writing it ="2002100001" or '2002100001: the
    # number, as the lab's plain one, or the tube and its result never meet
    code = to_halfwidth(values).str.replace(r"\s+", "", regex=True).str.upper() \
        .str.replace(r'^="(.*)"$', r"\1", regex=True).str.replace(r"^'", "", regex=True)
    # 无, /, 不详 in a 混检管号 cell say "no pool": a code, they would make one pool of every such tube
    code = code.where(~code.str.lower().isin(zh_names.NAME_PLACEHOLDERS), "")
    unusable = code.str.fullmatch(EXCEL_NUMBER.pattern).fillna(False).astype(bool)
    return pd.DataFrame({"code": code.to_numpy(dtype=object), "unusable": unusable.to_numpy(dtype=object)},
                        index=values.index)


# what a checkpoint writes instead of a number when it measured no fever: the row is a screening
# like any other, with no temperature; any other word (发热, 高, 异常) stays unreadable, for a person
# to look at, because it may mean a fever
NO_FEVER_WORDS = frozenset({"正常", "体温正常", "无异常", "未见异常", "不发热", "无发热", "未发热", "normal"})


def said_no_fever(values: pd.Series) -> pd.Series:
    """True where the temperature cell holds a word for "measured, no fever" instead of a number."""
    return to_halfwidth(values).str.strip().str.lower().isin(NO_FEVER_WORDS)


# what a form writes when nobody took the temperature: no reading, like an empty cell
NOT_MEASURED_WORDS = frozenset({"/", "-", "--", "—", "未测", "未测量", "未测温", "无", "缺"})


def not_measured(values: pd.Series) -> pd.Series:
    """True where the temperature cell says it was not taken (未测, /)."""
    return to_halfwidth(values).str.strip().isin(NOT_MEASURED_WORDS)


def normalize_temperatures(values: pd.Series) -> pd.Series:
    """'36.5', '36.5℃', '37,3 °C', '36.5度', '36。8', '37.3（腋温）' → float °C (NaN when missing,
    not taken or not a number). Where it was taken (腋温, 耳温) is a note, not part of the number."""
    def parse(distinct: pd.Series) -> pd.Series:
        text = (distinct.str.replace(r"[(（][^)）]*[)）]", "", regex=True)
                .str.replace(r"[℃°˚º度CcＣ\s]", "", regex=True).str.replace(r"[,。，]", ".", regex=True))
        return pd.to_numeric(text.where(text != ""), errors="coerce")
    return per_value(to_halfwidth(values), parse)


EXCEL_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?E\+?[0-9]+")  # a number through Excel: digits lost
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000\u200b\u200c\u200d\u2060\ufeff\u00ad]")  # or invisible


def halfwidth(value: str) -> str:
    return value.translate(_FULL_TO_HALF) if _FULL_WIDTH.search(value) else value
