"""Normalizers: turn the text a unit typed into canonical values, column at a time.

Every function takes and returns pandas Series of strings (empty string = missing) so that a whole
feed is normalized with vectorized string operations; per-value work (traditional→simplified,
pinyin) runs once per distinct value.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

# Full-width ASCII block (U+FF01..U+FF5E) and the ideographic space map onto plain ASCII.
_FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# ISO 7064 MOD 11-2 as used by GB 11643 resident ID numbers.
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK_CHARS = np.array(list("10X98765432"))

# Traditional→simplified tables merge some distinct surnames; these first characters are kept.
_PROTECTED_SURNAMES = frozenset("於")

ID_STATUSES = ("valid", "failed_check", "converted_15", "missing", "excel_mangled", "malformed")


def to_halfwidth(values: pd.Series) -> pd.Series:
    """Full-width digits, letters and punctuation (common in Chinese input methods) → ASCII."""
    return values.fillna("").astype(str).str.translate(_FULL_TO_HALF)


def clean_text(values: pd.Series) -> pd.Series:
    """Half-width, trimmed, inner runs of white space collapsed to one space."""
    return to_halfwidth(values).str.replace(r"\s+", " ", regex=True).str.strip()


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def on_distinct(values: pd.Series, transform) -> pd.Series:
    """Apply a column transform to each distinct value once and spread the result back.

    Feeds repeat names, addresses and phones many times; this makes normalization cost grow
    with the number of distinct values, not of rows.
    """
    codes, uniques = pd.factorize(values.fillna("").astype(str))
    if len(uniques) == len(values):
        return transform(values.fillna("").astype(str).reset_index(drop=True)).set_axis(values.index)
    done = transform(pd.Series(uniques, dtype=object))
    if isinstance(done, pd.DataFrame):
        return done.iloc[codes].set_axis(values.index)
    return pd.Series(done.to_numpy()[codes], index=values.index, dtype=object)


def _char_table(names: pd.Series, convert) -> dict[int, str]:
    """A str.translate table for every character the names use (convert runs once per char)."""
    chars = set("".join(names.tolist()))
    return {ord(c): convert(c) for c in chars}


def simplify_names(names: pd.Series) -> pd.Series:
    """Traditional → simplified, character by character (names have no phrases to convert);
    a first character the tables would merge with another surname (於 → 于) is kept."""
    converter = _t2s()
    table = {k: v for k, v in _char_table(names, converter.convert).items() if v != chr(k)}
    simplified = names.str.translate(table)
    protected = names.str[:1].isin(_PROTECTED_SURNAMES)
    return simplified.where(~protected, names.str[:1] + simplified.str[1:])


def simplify_name(name: str) -> str:
    return simplify_names(pd.Series([name], dtype=object)).iloc[0]


def normalize_name(values: pd.Series) -> pd.Series:
    """Names: half-width, no spaces at all (张 伟 = 张伟), one kind of middle dot, simplified."""
    def transform(distinct: pd.Series) -> pd.Series:
        cleaned = (
            to_halfwidth(distinct)
            .str.replace(r"\s+", "", regex=True)
            .str.replace(r"[•・.．‧∙]", "·", regex=True)
        )
        return simplify_names(cleaned)
    return on_distinct(values, transform)


# Surnames read differently from the character's common reading (pypinyin reads them out of context).
SURNAME_PINYIN = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "区": "ou", "查": "zha",
    "盖": "ge", "乐": "yue", "尉": "yu", "覃": "qin", "缪": "miao", "翟": "zhai", "种": "chong",
    "秘": "bi", "员": "yun", "繁": "po", "长": "chang", "柏": "bai", "重": "chong", "黑": "he",
}


@lru_cache(maxsize=20_000)
def _char_pinyin(char: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(char, style=Style.NORMAL, errors=lambda c: c if c.isascii() else "")).lower()


def pinyin_of(names: pd.Series) -> pd.Series:
    """Toneless pinyin of names, syllables joined ("wangfang"); homophones share it."""
    def transform(distinct: pd.Series) -> pd.Series:
        table = _char_table(distinct, _char_pinyin)
        first = distinct.str[:1]
        surname = first.map(SURNAME_PINYIN).fillna(first.str.translate(table))
        return (surname + distinct.str[1:].str.translate(table)).str.replace("·", "", regex=False)
    return on_distinct(names, transform)


def name_pinyin(name: str) -> str:
    return pinyin_of(pd.Series([name], dtype=object)).iloc[0]


def id_check_char(first17: pd.Series) -> pd.Series:
    """Check character for 17-digit strings (all must be 17 ASCII digits)."""
    if first17.empty:
        return pd.Series([], dtype=object, index=first17.index)
    digits = np.frombuffer("".join(first17).encode("ascii"), dtype=np.uint8).reshape(-1, 17) - 48
    remainder = (digits.astype(np.int64) @ _ID_WEIGHTS) % 11
    return pd.Series(_ID_CHECK_CHARS[remainder], index=first17.index)


_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _valid_birth(yyyymmdd: pd.Series) -> pd.Series:
    """Whether 8-character strings are real dates between 1900 and 2099 (vectorized)."""
    number = pd.to_numeric(yyyymmdd.where(yyyymmdd.str.fullmatch(r"[0-9]{8}"), None), errors="coerce").fillna(0)
    value = number.to_numpy(dtype=np.int64)
    year, month, day = value // 10000, value // 100 % 100, value % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    limit = _DAYS_IN_MONTH[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
    ok = (year >= 1900) & (year <= 2099) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= limit)
    return pd.Series(ok, index=yyyymmdd.index)


def normalize_id_numbers(values: pd.Series) -> pd.DataFrame:
    """See `_normalize_id_numbers`; computed once per distinct value."""
    return on_distinct(values, _normalize_id_numbers)


def _normalize_id_numbers(values: pd.Series) -> pd.DataFrame:
    """Resident ID numbers → 18-character canonical form, with what can be derived from them.

    Returns columns id_number, id_status (one of ID_STATUSES), birth_date (YYYY-MM-DD), sex (M/F),
    region_code. An 18-character ID whose check digit or birth date is wrong is kept as typed
    (status failed_check, nothing derived): the checksum says that a digit is wrong but not which,
    so it is never corrected, only compared tolerantly. Excel's scientific notation (4.20106E+17)
    has lost digits for good.
    """
    raw = to_halfwidth(values).str.replace(r"[\s\-]", "", regex=True).str.upper()
    out = pd.DataFrame(index=values.index)
    status = pd.Series("malformed", index=values.index, dtype=object)
    status[raw == ""] = "missing"
    status[raw.str.fullmatch(r"[0-9]+(\.[0-9]+)?E\+?[0-9]+")] = "excel_mangled"

    canonical = pd.Series("", index=values.index, dtype=object)
    is15 = raw.str.fullmatch(r"[0-9]{15}") & _valid_birth("19" + raw.str[6:12])
    if is15.any():
        first17 = raw[is15].str[:6] + "19" + raw[is15].str[6:15]
        canonical[is15] = first17 + id_check_char(first17)
        status[is15] = "converted_15"
    is18 = raw.str.fullmatch(r"[0-9]{17}[0-9X]")
    if is18.any():
        ok = (id_check_char(raw[is18].str[:17]) == raw[is18].str[17]) & _valid_birth(raw[is18].str[6:14])
        canonical[is18] = raw[is18]
        status[is18] = np.where(ok, "valid", "failed_check")
    keep = status.isin(["valid", "converted_15"])
    out["id_number"] = canonical
    out["id_status"] = status
    birth = canonical.str[6:14]
    out["birth_date"] = np.where(
        keep, birth.str[:4] + "-" + birth.str[4:6] + "-" + birth.str[6:8], ""
    )
    sex_digit = pd.to_numeric(canonical.str[16], errors="coerce")
    out["sex"] = np.where(keep, np.where(sex_digit % 2 == 1, "M", "F"), "")
    out["region_code"] = np.where(keep, canonical.str[:6], "")
    return out




def normalize_phones(values: pd.Series) -> pd.DataFrame:
    """See `_normalize_phones`; computed once per distinct value."""
    return on_distinct(values, _normalize_phones)


def _normalize_phones(values: pd.Series) -> pd.DataFrame:
    """Phone fields → first and second 11-digit mobile numbers.

    Handles +86 / 0086 prefixes, dashes, spaces, brackets and several numbers in one cell
    ("138xxxx / 139xxxx"). A cell with no valid mobile keeps an empty phone and status invalid.
    """
    text = to_halfwidth(values)
    digits_only = text.str.replace(r"[\s\-\(\)（）]", "", regex=True)
    digits_only = digits_only.str.replace(r"(?:\+|00)86(?=1[0-9]{10})", "", regex=True)
    found = digits_only.str.findall(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
    phone = found.str[0].fillna("")
    phone2 = found.str[1].fillna("")
    status = np.where(text.str.strip() == "", "missing", np.where(phone != "", "valid", "invalid"))
    return pd.DataFrame({"phone": phone, "phone2": phone2, "phone_status": status}, index=values.index)


def normalize_datetimes(values: pd.Series) -> pd.Series:
    """Dates and times in the forms units type → 'YYYY-MM-DD HH:MM:SS' ('' when unparseable)."""
    text = clean_text(values)
    text = (
        text.str.replace(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})[日号]?", r"\1-\2-\3", regex=True)
        .str.replace(r"([0-9]{1,2})[时點点:]([0-9]{1,2})分?", r"\1:\2", regex=True)
        .str.replace("/", "-", regex=False)
        .str.replace(".", "-", regex=False)
    )
    compact = text.str.fullmatch(r"[0-9]{8}")
    text = text.where(~compact, text.str[:4] + "-" + text.str[4:6] + "-" + text.str[6:8])
    parsed = pd.to_datetime(text.where(text != ""), format="mixed", errors="coerce")
    return parsed.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")


def normalize_dates(values: pd.Series) -> pd.Series:
    """Dates → 'YYYY-MM-DD' ('' when missing or unparseable)."""
    return normalize_datetimes(values).str[:10]


def normalize_temperatures(values: pd.Series) -> pd.Series:
    """'36.5', '36.5℃', '37,3 °C' → float °C (NaN when missing or not a number)."""
    text = to_halfwidth(values).str.replace(r"[℃°CcＣ\s]", "", regex=True).str.replace(",", ".")
    return pd.to_numeric(text.where(text != ""), errors="coerce")


_ADDRESS_PREFIX = re.compile(r"^(湖北省)?(武汉市)?")


def normalize_addresses(values: pd.Series) -> pd.Series:
    """Addresses: half-width, no spaces, province/city prefix dropped, unit forms unified."""
    return on_distinct(values, _normalize_addresses)


def _normalize_addresses(values: pd.Series) -> pd.Series:
    text = to_halfwidth(values).str.replace(r"\s+", "", regex=True)
    text = text.str.replace(_ADDRESS_PREFIX, "", regex=True)
    text = text.str.replace(r"([0-9]+)号楼", r"\1栋", regex=True).str.replace(r"([0-9]+)幢", r"\1栋", regex=True)
    return text


COMMUNITY_SUFFIXES = ("社区", "小区", "花园", "家园", "新村", "公寓", "大厦", "村")
_COMMUNITY_SUFFIX = "|".join(COMMUNITY_SUFFIXES)
_ROAD = r"[\u4e00-\u9fff]{1,6}?(?:大道|路|街|巷)(?:大街|大道|[一二三四五六七八九十东西南北中]路)?"
_COMMUNITY = rf"[\u4e00-\u9fff]{{1,8}}?(?:{_COMMUNITY_SUFFIX})"
# A place is a road or a community; neither may stop right before a bare community suffix, so
# '广桃街社区' and '益文村社区' stay whole while '首义路大街益文村社区' gives a road and a community.
_PLACE = re.compile(rf"(?:{_ROAD}|{_COMMUNITY})(?!{_COMMUNITY_SUFFIX})")
_IS_COMMUNITY = re.compile(rf"(?:{_COMMUNITY_SUFFIX})$")
_NUMBER_TOKEN = re.compile(r"[0-9]+(?:号|栋|单元|室)")
_BARE_ROOM = re.compile(r"(?<![0-9])([0-9]{3,4})(?![0-9号栋单元室])")
_DIGITS = re.compile(r"[0-9]+")
_BUILDING, _ROOM = re.compile(r"^[0-9]+栋$"), re.compile(r"^[0-9]+室$")
_UNIT_FORMS = [  # building-unit-room written as 3-2-501, 3栋2单元501室, 3号楼501 …
    (r"(?<![0-9])([0-9]{1,3})-([0-9]{1,2})-([0-9]{2,4})(?![0-9])", r" \1栋 \2单元 \3室 "),
    (r"(?<![0-9])([0-9]{1,3})-([0-9]{2,4})(?![0-9])", r" \1栋 \2室 "),
]
ADDRESS_PARTS = ["address", "address_area", "address_home"]


def address_parts(addresses: pd.Series) -> pd.DataFrame:
    """Normalized addresses → tokens, area and home (see `_address_parts`), once per distinct value."""
    return on_distinct(addresses, _address_parts)


def address_tokens(addresses: pd.Series) -> pd.Series:
    return address_parts(addresses)["address"]


def _address_parts(addresses: pd.Series) -> pd.DataFrame:
    """Three views of a normalized address, for comparing and blocking.

    address: space-separated tokens, places then 号/栋/单元/室 numbers. Different ways of
      writing one home share most tokens, which token-set similarity rewards: '振华社区3-2-501'
      and '武昌区振华社区3栋2单元501室' both give '振华社区 3栋 2单元 501室'.
    address_area: the community (or, without one, the first road): a blocking key.
    address_home: area|building|room ('振华社区|3栋|501室'), one home however it was written;
      '' unless both the area and the room are known.
    """
    text = addresses.fillna("").astype(str)
    text = text.str.replace(r"^(?:[\u4e00-\u9fff]{2,7}?[省市])*", "", regex=True)
    text = text.str.replace(r"^[\u4e00-\u9fff]{1,4}?(?<![小社园景校])区", "", regex=True)
    text = text.str.replace(r"^[\u4e00-\u9fff]{1,6}?街道", "", regex=True)
    for pattern, replacement in _UNIT_FORMS:
        text = text.str.replace(pattern, replacement, regex=True)
    rows = [_parts_of(value) for value in text.tolist()]
    return pd.DataFrame(rows, columns=ADDRESS_PARTS, index=addresses.index, dtype=object)


def _parts_of(text: str) -> tuple[str, str, str]:
    # numbers end place names: '270号益文村社区' must not give a place '号益文村社区'
    places = _PLACE.findall(_DIGITS.sub(" ", _NUMBER_TOKEN.sub(" ", text)))
    numbers = _NUMBER_TOKEN.findall(text) + [f"{room}室" for room in _BARE_ROOM.findall(text)]
    area = next((p for p in places if _IS_COMMUNITY.search(p)), places[0] if places else "")
    building = next((t for t in numbers if _BUILDING.match(t)), "")
    room = next((t for t in numbers if _ROOM.match(t)), "")
    home = f"{area}|{building}|{room}" if area and room else ""
    return " ".join(places + numbers), area, home
