"""Identity documents: resident ID numbers (居民身份证) and the documents people without one show
(护照, 港澳居民来往内地通行证, 台湾居民来往大陆通行证, 外国人永久居留身份证), column at a time.

A record's document is a type (`id_type`, one of DOCUMENT_TYPES) and a number (`id_number`).
The type comes from the feed's 证件类型 column where it has one; where it has none, or the cell is
empty, from the number's form, conservatively: anything a resident ID could be (18 characters, 15
digits, a number through Excel) is a resident ID, valid or not; only a number a resident ID can
never be and which has another document's exact form is taken for that document. Work is done
once per distinct (type, number).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from screenfuse import normalize as nz
from screenfuse.normalize import EXCEL_NUMBER, halfwidth
from screenfuse.matching.columns import as_text  # the engine's reading of a column as Python strings

RESIDENT = "resident_id"
DOCUMENT_TYPES = {  # type → what people call it (a 证件类型 cell naming any of these gives the type)
    RESIDENT: "居民身份证",
    "passport": "护照",
    "hk_macau_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "foreign_pr_card": "外国人永久居留身份证",
    "other": "其他证件",
}
ID_STATUSES = ("valid", "failed_check", "converted_15", "missing", "excel_mangled", "malformed", "document")
DOCUMENT_COLUMNS = ["id_type", "id_number", "id_status", "birth_date", "sex", "region_code"]

# ISO 7064 MOD 11-2 as used by GB 11643 resident ID numbers.
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK_CHARS = np.array(list("10X98765432"))
_ID_CHECK_BYTES = np.frombuffer(b"10X98765432", dtype=np.uint8)


def id_check_char(first17: pd.Series) -> pd.Series:
    """Check character for 17-digit strings (all must be 17 ASCII digits)."""
    if first17.empty:
        return pd.Series([], dtype=object, index=first17.index)
    return pd.Series(_ID_CHECK_CHARS[_check_remainders(_ascii_matrix(first17.tolist(), 17))], index=first17.index)


def _ascii_matrix(texts: list[str], width: int) -> np.ndarray:
    """ASCII strings of one length as a (len × width) matrix of their bytes."""
    return np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def _check_remainders(first17: np.ndarray) -> np.ndarray:
    """Rows of 17 digit bytes → the remainder that picks each one's check character."""
    return ((first17.astype(np.int64) - 48) @ _ID_WEIGHTS) % 11


_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _valid_birth(yyyymmdd: np.ndarray) -> np.ndarray:
    """Whether rows of 8 digit bytes (YYYYMMDD) are real dates between 1900 and 2099."""
    digits = yyyymmdd.astype(np.int64) - 48
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month, day = digits[:, 4] * 10 + digits[:, 5], digits[:, 6] * 10 + digits[:, 7]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    limit = _DAYS_IN_MONTH[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
    return (year >= 1900) & (year <= 2099) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= limit)


_PLAIN_ID = r"[0-9]{17}[0-9Xx]"


def _plain_ids(values: list[str]) -> np.ndarray:
    """Which values are a resident ID typed as it should be (18 ASCII characters: 17 digits, then
    a digit or X): most of a feed's, found in bulk (Arrow's regular expressions) and read without
    the per-value cleaning the rest need."""
    if not values:
        return np.zeros(0, dtype=bool)
    return pd.Series(values, dtype="string[pyarrow]").str.fullmatch(_PLAIN_ID).to_numpy(dtype=bool, na_value=False)


def _fillers(ids: np.ndarray) -> np.ndarray:
    """Rows of ID bytes holding eight or more of one character in a row (`normalize.is_filler`)."""
    same = ids[:, 1:] == ids[:, :-1]
    run = np.zeros(len(ids), dtype=np.int64)
    longest = np.zeros(len(ids), dtype=np.int64)
    for column in same.T:  # 17 steps over every row at once
        run = np.where(column, run + 1, 0)
        np.maximum(longest, run, out=longest)
    return longest >= 7


def normalize_id_numbers(values: pd.Series) -> pd.DataFrame:
    """See `_normalize_id_numbers`; computed once per distinct value."""
    return nz.on_distinct(values, _normalize_id_numbers)


def _id_raw(value: str) -> str:
    if len(value) == 18 and value.isascii() and value[:17].isdigit():
        return value.upper()  # the common case
    return "".join(_unwrapped(halfwidth(value)).split()).replace("-", "").upper()


# what a clerk or a spreadsheet puts around an ID number: a label (身份证:), Excel's text forms
# ('420… and ="420…"), a note after it ((本人)), another number beside it (an ID / a phone)
_ID_LABEL = re.compile(r"^(?:公民身份号码|公民身份证号码?|身份证号码|身份证号|身份证|证件号码|证件号|ID(?: ?NO\.?)?)[:： ]*",
                       re.IGNORECASE)
# a note that says whose or what the number is: only "this person's" (本人) or its form (18位) is
# dropped; one naming someone else (父亲, 监护人, 户主) leaves the cell as it is: unusable, never
# another person's ID taken for this one's
_NOTE_AFTER = re.compile(r"[(（](?:本人的?|自己|个人|身份证|居民身份证|[0-9]{2}位)[)）]$")
_BESIDE_ID = re.compile(r"[/;；,，、|\s]+")


def _unwrapped(text: str) -> str:
    """The ID number in a cell that holds more than the number; the cell as it is otherwise."""
    text = text.strip()
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    text = _NOTE_AFTER.sub("", _ID_LABEL.sub("", text.lstrip("'"))).strip()
    parts = [p for p in _BESIDE_ID.split(text) if p]
    if len(parts) > 1 and _id_form("".join(parts).replace("-", "").upper()) not in ("15", "18"):
        # not an ID written in groups: one number of an ID's form among others is the ID (a phone
        # beside it is the phone column's)
        ids = [p for p in parts if _id_form(p.replace("-", "").upper()) in ("15", "18")]
        if len(ids) == 1:
            return ids[0]
    return text


def _id_form(raw: str) -> str:
    """Which shape a cleaned ID has: '18', '15', or a status for what cannot be an ID."""
    if not raw:
        return "missing"
    if raw.isascii():
        if len(raw) == 18 and raw[:17].isdigit() and (raw[17] == "X" or raw[17].isdigit()):
            return "18"
        if len(raw) == 15 and raw.isdigit():
            return "15"
        if EXCEL_NUMBER.fullmatch(raw):
            return "excel_mangled"
    return "malformed"


def _normalize_id_numbers(values: pd.Series, plain: np.ndarray | None = None) -> pd.DataFrame:
    """Resident ID numbers → 18-character canonical form, with what can be derived from them.

    Returns columns id_number, id_status (one of ID_STATUSES), birth_date (YYYY-MM-DD), sex (M/F),
    region_code. An 18-character ID whose check digit or birth date is wrong is kept as typed
    (status failed_check, nothing derived): the checksum says that a digit is wrong but not which,
    so it is never corrected, only compared tolerantly. Excel's scientific notation (4.20106E+17)
    has lost digits for good. `plain`: which values `_plain_ids` holds (found again when not given).
    """
    vals = values.tolist()
    plain = (_plain_ids(vals) if plain is None else plain).tolist()
    raw = np.array([v.upper() if p else _id_raw(v) for v, p in zip(vals, plain)], dtype=object)
    form = np.array(["18" if p else _id_form(r) for r, p in zip(raw.tolist(), plain)], dtype=object)
    status = np.where(np.isin(form, ["15", "18"]), "malformed", form).astype(object)
    canonical = np.full(len(raw), "", dtype=object)
    is15 = np.flatnonzero(form == "15")
    if len(is15):
        birth_ok = _valid_birth(_ascii_matrix(["19" + r[6:12] for r in raw[is15]], 8))
        is15 = is15[birth_ok]
        first17 = [r[:6] + "19" + r[6:15] for r in raw[is15]]
        check = _ID_CHECK_CHARS[_check_remainders(_ascii_matrix(first17, 17))].tolist()
        canonical[is15] = [f + c for f, c in zip(first17, check)]
        status[is15] = "converted_15"
    is18 = np.flatnonzero(form == "18")
    if len(is18):
        ids = _ascii_matrix(raw[is18].tolist(), 18)
        valid = (_ID_CHECK_BYTES[_check_remainders(ids[:, :17])] == ids[:, 17]) & _valid_birth(ids[:, 6:14])
        canonical[is18] = raw[is18]
        status[is18] = np.where(valid, "valid", "failed_check")
    keep = np.flatnonzero(np.isin(status, ["valid", "converted_15"]))
    birth, sex, region = (np.full(len(raw), "", dtype=object) for _ in range(3))
    if len(keep):
        kept = _ascii_matrix(canonical[keep].tolist(), 18)
        dashed = np.full((len(keep), 10), ord("-"), dtype=np.uint8)
        dashed[:, :4], dashed[:, 5:7], dashed[:, 8:] = kept[:, 6:10], kept[:, 10:12], kept[:, 12:14]
        birth[keep] = _texts(dashed)
        sex[keep] = np.where(kept[:, 16] % 2 == 1, "M", "F")  # the digit's byte has the digit's parity
        region[keep] = _texts(np.ascontiguousarray(kept[:, :6]))
    return pd.DataFrame({"id_number": canonical, "id_status": status, "birth_date": birth, "sex": sex,
                         "region_code": region}, index=values.index, dtype=object)


def _texts(rows: np.ndarray) -> np.ndarray:
    """Rows of ASCII bytes → an object array of str."""
    return np.ascontiguousarray(rows).view(f"S{rows.shape[1]}").ravel().astype(str).astype(object)


# ---- other documents ---------------------------------------------------------------------------
# 证件类型 as units write it → type; the first pattern that matches wins (外国人永久居留身份证 names
# 身份证 too, so it comes before the resident ID card)
_TYPE_WORDS = [
    ("foreign_pr_card", re.compile(r"外国人|永久居留|居留证|FOREIGN.*PERMANENT|PR ?CARD", re.I)),
    ("hk_macau_permit", re.compile(r"港澳|香港|澳门|回乡证|HK|MACAU|MACAO", re.I)),
    ("taiwan_permit", re.compile(r"台湾|台胞|臺|TAIWAN|MTP", re.I)),
    ("passport", re.compile(r"护照|護照|PASSPORT", re.I)),
    (RESIDENT, re.compile(r"身份证|身份證|居民身份|^ID ?CARD$|^RESIDENT", re.I)),
]
_TYPE_CODES = {code: code for code in DOCUMENT_TYPES}
# what a number's form says when no type is given (checked in this order, on the cleaned number)
_FORMS = [
    ("hk_macau_permit", re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")),  # H/M + 8 digits (+ 2: older cards)
    ("foreign_pr_card", re.compile(r"[A-Z]{3}[0-9]{12}")),  # the 2004 card: 3 letters, 12 digits
    # only the older form with its letter: 8 or 10 bare digits (the 2015 card) are also what a
    # placeholder, a date or a phone fragment typed into the ID column looks like, and a document
    # links records near-certainly; without a 证件类型 saying 台胞证 such a number is set aside
    ("taiwan_permit", re.compile(r"[0-9]{7,8}[A-Z]")),
    ("passport", re.compile(r"(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*[0-9])[A-Z0-9]{6,9}")),  # letters and digits
]
_NUMBER = re.compile(r"[A-Z0-9]{5,20}")  # what a number of a named document may be
_SEPARATORS = {ord(c): None for c in " \t\r\n-()（）【】[]"}
MISSING_WORDS = frozenset({"无", "暂无", "没有", "不详", "未知", "/", "-", "—", "NULL", "NONE", "N/A", "NA",
                           "同上", "同前", "见上", "同左", "无证件", "未提供", "拒绝提供"})  # 同上: "as above" (ditto)


def _text(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str)


def type_of(id_type: pd.Series) -> pd.Series:
    """证件类型 cells → a type of DOCUMENT_TYPES, or '' (empty: tell from the number). A type
    code itself (passport) is its own type; text naming no known document is `other`."""
    return nz.per_value(nz.clean_text(id_type), lambda distinct: pd.Series(
        [_type_of(v) for v in distinct.tolist()], index=distinct.index, dtype=object))


def _type_of(text: str) -> str:
    if not text or text.upper() in MISSING_WORDS:
        return ""
    if text in _TYPE_CODES:
        return text
    return next((code for code, words in _TYPE_WORDS if words.search(text)), "other")


def document_number(value: str) -> str:
    """A document number as compared: half-width, upper case, no spaces, dashes or brackets."""
    return halfwidth(value).translate(_SEPARATORS).upper()


def form_of(number: str) -> str:
    """The type a cleaned number's form says ('' when it is no known document's form)."""
    return next((code for code, form in _FORMS if form.fullmatch(number)), "")


def normalize_documents(numbers: pd.Series, id_type: pd.Series | None = None) -> pd.DataFrame:
    """Numbers (and 证件类型 cells, when the feed has them) → DOCUMENT_COLUMNS.

    Resident IDs as `normalize_id_numbers` gives them (status valid, failed_check, converted_15,
    excel_mangled, malformed; birth date, sex and region derived from valid ones). Other
    documents: the cleaned number, status `document`, nothing derived; `malformed` when the number
    cannot be one (not 5–20 letters and digits). `missing` (type '') when there is no number."""
    if id_type is None:  # no type column: the distinct numbers alone
        codes, uniques = pd.factorize(_text(numbers).to_numpy(dtype=object))
        number = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
        declared = pd.Series(np.full(len(number), "", dtype=object), dtype=object)
    else:
        keys = type_of(id_type).astype(str).to_numpy(dtype=object) + "\x1f" + _text(numbers).to_numpy(dtype=object)
        codes, uniques = pd.factorize(keys)
        declared, _, number = (pd.Series(part, dtype=object) for part in zip(*(u.partition("\x1f") for u in uniques))) \
            if len(uniques) else (pd.Series([], dtype=object),) * 3
    done = _documents(number, declared)
    return pd.DataFrame({c: done[c].to_numpy(dtype=object)[codes] for c in DOCUMENT_COLUMNS}, index=numbers.index,
                        dtype=object)


def _counting(number: str) -> bool:
    """A resident-ID-like number (digits, perhaps a final X) that counts for ten digits or more
    (a filler unless it validates: `_documents`)."""
    return number.rstrip("Xx").isdigit() and nz.is_counting(number, 10)


def _documents(numbers: pd.Series, declared: pd.Series) -> pd.DataFrame:
    """Distinct (number, declared type) pairs → DOCUMENT_COLUMNS."""
    numbers = numbers.reset_index(drop=True)
    declared = declared.reset_index(drop=True)
    # a word for "none", or a filler (eight or more of one character in a row: 000000000000000000,
    # 111111111111111111): no resident ID or document has one, and two records sharing it are
    # two people who had no number to give
    values = numbers.tolist()
    plain = _plain_ids(values)  # their written form is the value in upper case, never a word for "none"
    placeholder = np.zeros(len(values), dtype=bool)
    at = np.flatnonzero(plain)
    placeholder[at] = _fillers(_ascii_matrix([values[i] for i in at], 18))
    for i in np.flatnonzero(~plain):
        placeholder[i] = values[i].strip().upper() in MISSING_WORDS or nz.is_filler(document_number(values[i]), 8)
    out = _normalize_id_numbers(numbers.where(~placeholder, ""), plain & ~placeholder)
    # a number of digits alone that counts up or down for ten or more of them and does not
    # validate (123456789012345678) likewise; a real ID can count for ten (born 1989-01-23,
    # sequence 456, check digit 7: 8901234567). Only numbers that failed are looked at (few).
    failed = np.flatnonzero(~np.isin(out["id_status"].to_numpy(dtype=object), ["valid", "converted_15", "missing"]))
    counting = failed[np.array([_counting(document_number(values[i])) for i in failed], dtype=bool)]
    if len(counting):
        placeholder[counting] = True
        out = _normalize_id_numbers(numbers.where(~placeholder, ""), plain & ~placeholder)
    declared_np = declared.to_numpy(dtype=object)
    status = out["id_status"].to_numpy(dtype=object)
    id_type = np.where(status == "missing", "", RESIDENT).astype(object)
    # no type given: a number a resident ID can never be, with another document's form
    undeclared = (declared_np == "") & (status == "malformed")
    other = (declared_np != "") & (declared_np != RESIDENT) & (status != "missing")
    # a 2023 foreign permanent residence card: 18 characters that pass the resident ID check, from 9
    pr_card = (declared_np == "") & (status == "valid")
    pr_card[pr_card] = [v[:1] == "9" for v in out["id_number"].to_numpy(dtype=object)[pr_card]]
    cleaned = {i: document_number(numbers.iat[i]) for i in np.flatnonzero(undeclared | other | pr_card)}
    for i in np.flatnonzero(undeclared):
        id_type[i] = form_of(cleaned[i])
    found = undeclared & (id_type != "")
    id_type[other] = declared_np[other]
    id_type[pr_card] = "foreign_pr_card"
    for i in np.flatnonzero(found | other | pr_card):
        out.iat[i, 0] = cleaned[i]
        out.iloc[i, 1:] = ["document" if _NUMBER.fullmatch(cleaned[i]) else "malformed", "", "", ""]
    out.loc[out["id_status"] == "malformed", "id_number"] = ""
    out.insert(0, "id_type", id_type)
    malformed = (out["id_status"] == "malformed").to_numpy()
    out.loc[malformed, "id_type"] = declared_np[malformed]  # the type the row named, if any
    return out.set_axis(numbers.index)


def document_keys(id_type: pd.Series, id_number: pd.Series, id_status: pd.Series | None = None) -> pd.Series:
    """'<type>:<number>' of each record's document other than a resident ID ('' otherwise): what
    matching compares and blocks on, per type (a passport is never compared with a permit)."""
    index = id_type.index
    id_type, id_number = as_text(id_type), as_text(id_number)
    usable = (id_type != "") & (id_type != RESIDENT) & (id_number != "")
    if id_status is not None:
        usable &= np.isin(as_text(id_status), ["document", "other_document"])
    keys = np.full(len(id_type), "", dtype=object)
    rows = np.flatnonzero(usable)  # the few records with another document
    keys[rows] = [f"{kind}:{number}" for kind, number in zip(id_type[rows], id_number[rows])]
    return pd.Series(keys, index=index, dtype=object)

