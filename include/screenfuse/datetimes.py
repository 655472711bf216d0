"""Dates and times as units type them → canonical text: 'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD'.

Year first, as Chinese forms write it; nothing guessed: a value that could be read two ways, or
has no year, is unreadable ('') and its row says so. Every function takes and returns pandas Series
of strings, the work done once per distinct value (normalize.per_value).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import partial

import pandas as pd

from screenfuse.localtime import to_local
from screenfuse.normalize import clean_text, per_value


def normalize_datetimes(values: pd.Series) -> pd.Series:
    """Dates and times in the forms units type → 'YYYY-MM-DD HH:MM:SS' ('' when unparseable).

    Year first, as Chinese forms write it: 20-02-10 and 200210 are 2020-02-10, 85.3.7 and 85年3月7日
    are 1985-03-07 (a two-digit year is this century's up to the current year, else the last
    century's: `two_digit_year`). A value without a year (12:30, 2-10) is unparseable, not a time of
    today or a date of year 1, and so is a year before 1900 or after 2099. A time an export writes
    with its zone (2020-02-10T00:30:00Z, …+08:00) is the same moment on the district's clock inside
    `local_zone` (ingest sets it to the policy's time zone): 2020-02-10 08:30:00 in Beijing. Outside
    it, or in a form not read as one moment, the zone is dropped and the time kept as written.
    上午/下午 and dates in characters are read too (`_spoken`)."""
    return per_value(clean_text(values), partial(_normalize_datetimes, zone=_LOCAL_ZONE.get()))


_LOCAL_ZONE: ContextVar[str | None] = ContextVar("screenfuse_local_zone", default=None)


@contextmanager
def local_zone(zone: str | None):
    """Within it, zoned times are converted to `zone` (an IANA name; None: zones are dropped). A
    context, not an argument: every feed's normalizer reads times, and ingest sets it once."""
    token = _LOCAL_ZONE.set(zone)
    try:
        yield
    finally:
        _LOCAL_ZONE.reset(token)


# patterns without look-arounds: pandas runs them in Arrow's C++ (RE2), not row by row in Python
_ZONE = r"([0-9]:[0-9]{2}(?::[0-9]{2})?) *(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)$"
# a whole date and time with its zone, one moment the district's clock can say: …Z, or an offset
# after a 'T' or after seconds (2020-02-10 08:30-10:30 is a time range, read from its start as before)
_HM, _SECONDS, _OFFSET = r"[0-9]{1,2}:[0-9]{2}", r":[0-9]{2}(?:[.,][0-9]+)?", r" *[+-][0-9]{2}(?::?[0-9]{2})?"
_ZONED_MOMENT = (rf"[0-9]{{4}}[-/][0-9]{{1,2}}[-/][0-9]{{1,2}}"
                 rf"(?:[T ]{_HM}(?:{_SECONDS})? *Z|T{_HM}(?:{_SECONDS})?{_OFFSET}| {_HM}{_SECONDS}{_OFFSET}"
                 rf"| {_HM} *[+][0-9]{{2}}(?::?[0-9]{{2}})?)")  # 08:30+08:00: a '+' starts no range
_TWO_DIGIT_YEAR = r"[0-9]{2}-[0-9]{1,2}-[0-9]{1,2}(?:[^0-9]|$)"
_FOUR_DIGIT_YEAR = r"(?:^|[^0-9])[0-9]{4}(?:[^0-9]|$)"


def two_digit_year(yy: int, this_year: int | None = None) -> int:
    """The year a two-digit year means on a form filled in now: never one in the future."""
    this_year = this_year or datetime.now(timezone.utc).year
    year = this_year // 100 * 100 + yy
    return year if year <= this_year else year - 100


def _excel_serials(text: pd.Series) -> pd.Series:
    """A date a spreadsheet saved as its serial number (43862 is 2020-02-01, 43862.5 its noon), as
    a CSV export writes it: the date and time it stands for (any five digits: 1927 to 2173)."""
    serial = text.str.fullmatch(r"[0-9]{5}(?:\.[0-9]+)?").fillna(False).astype(bool)
    if not serial.any():
        return text
    days = pd.to_numeric(text[serial], errors="coerce")
    stamps = pd.Timestamp("1899-12-30") + pd.to_timedelta((days * 86400).round(), unit="s")
    return text.where(~serial, stamps.dt.strftime("%Y-%m-%d %H:%M:%S").fillna(""))


def _on_local_clock(text: pd.Series, zone: str) -> pd.Series:
    """Zoned moments (2020-02-10T00:30:00Z) → the same moment as `zone`'s wall time, without zone
    (2020-02-10 08:30:00 in Asia/Shanghai); other values as they are."""
    zoned = text.str.fullmatch(_ZONED_MOMENT).fillna(False).astype(bool)
    if not zoned.any():
        return text
    moments = to_local(text[zoned].str.replace(",", ".", regex=False).str.replace("/", "-", regex=False), zone)
    local = moments.dt.strftime("%Y-%m-%d %H:%M:%S").reindex(text.index)
    return text.where(local.isna(), local)  # not zoned, or no such moment (25:30): as before


# how people and Chinese-locale software write what the patterns below do not read: a time of day
# after 上午/下午 (Windows' zh-CN clock: 2020/2/10 下午 2:30:15), 8点半, numbers in characters
# (二〇二〇年二月十日), a zone by name (UTC, GMT+8; a zone named by other letters, CST, is dropped:
# China's or America's Central?), Java's default form (Mon Feb 10 14:30:00 CST 2020)
_SPOKEN = r"[上下中午晚早凌清傍夜半〇零○一二三四五六七八九十]|UTC|GMT|[0-9] *[A-Z]{3,4}(?: +[0-9]{4})?$"
_AM, _PM, _NOON = ("上午", "早上", "早晨", "清晨", "凌晨"), ("下午", "傍晚"), ("中午",)
_NIGHT = ("晚上", "夜里", "夜间", "半夜")  # 晚上9点 is 21:00, 夜里2点 02:00; 晚上12点 and 晚上1点: which day?
_DAY_PART = "|".join(_AM + _PM + _NOON + _NIGHT)
_NUMERALS = dict(zip("〇零○一二三四五六七八九", [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
_NUMBER = r"[一二三四五六七八九]?十[一二三四五六七八九]?|[〇零○一二三四五六七八九]{1,2}"  # up to 99
_MONTHS = {m: k for k, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}
_JAVA = r"[A-Za-z]{3} +([A-Za-z]{3}) +([0-9]{1,2}) +([0-9]{1,2}:[0-9]{2}:[0-9]{2}) +([A-Z]{3,4}) +([0-9]{4})"


def _spoken(value: str) -> str:
    """One value's spoken forms in the forms `_normalize_datetimes` reads (see `_SPOKEN`); '' when
    it cannot be read without a guess."""
    java = re.fullmatch(_JAVA, value)
    if java and java[1].lower() in _MONTHS:  # UTC/GMT: that moment; another zone's letters: as written
        value = (f"{java[5]}-{_MONTHS[java[1].lower()]:02d}-{int(java[2]):02d} {java[3]}"
                 f"{'Z' if java[4] in ('UTC', 'GMT') else ''}")
    value = re.sub(r"([〇零○一二三四五六七八九]{4})年", lambda m: "".join(str(_NUMERALS[c]) for c in m[1]) + "年", value)
    value = re.sub(r"([〇零○一二三四五六七八九十]+)([月日号时點点分秒])", lambda m: _number(m[1]) + m[2], value)
    value = re.sub(r"([0-9]{1,2}) *[时點点]半", r"\1:30", value)  # 8点半: half past eight
    value = re.sub(r"([0-9]:[0-9]{2})(:[0-9]{2})? *(?:UTC|GMT) *([+-])([0-9]{1,2})(?::?([0-9]{2}))?$",
                   lambda m: f"{m[1]}{m[2] or ':00'}{m[3]}{int(m[4]):02d}:{m[5] or '00'}", value)  # GMT+8 → +08:00
    value = re.sub(r"([0-9]) *(?:UTC|GMT)$", r"\1Z", value)
    letters = re.search(r"([0-9]:[0-9]{2}(?::[0-9]{2})?) +([A-Z]{3,4})$", value)
    if letters and letters[2] not in ("UTC", "GMT"):
        value = value[:letters.end(1)]  # a zone named by letters: the time as written
    before = re.search(rf"({_DAY_PART}) *([0-9]{{1,2}})( *[:时點点])", value)
    if before:
        hour = _hour(before[1], int(before[2]))
        return value[:before.start()] + hour + before[3] + value[before.end():] if hour else ""
    after = re.search(rf"([0-9]{{1,2}})(:[0-9]{{2}}(?::[0-9]{{2}})?) *({_DAY_PART})$", value)
    if after:
        hour = _hour(after[3], int(after[1]))
        return value[:after.start()] + hour + after[2] if hour else ""
    return re.sub(rf" *(?:{_DAY_PART}) *", " ", value).strip()  # a part of the day without its hour


def _number(characters: str) -> str:
    """一 → 1, 十 → 10, 十二 → 12, 二十 → 20, 三十一 → 31 (a day, a month, an hour, a minute); a
    run of characters that is no such number (十十, 二二十) is left as it is: unreadable."""
    if not re.fullmatch(_NUMBER, characters):
        return characters
    if "十" not in characters:
        return "".join(str(_NUMERALS[c]) for c in characters)
    tens, _, ones = characters.partition("十")
    return str((_NUMERALS[tens] if tens else 1) * 10 + (_NUMERALS[ones] if ones else 0))


def _hour(part: str, hour: int) -> str:
    """The 24-hour hour of `hour` said in that part of the day (12-hour clock: 下午 2 → 14,
    上午 12 → 0, 中午 1 → 13, 晚上 9 → 21, 夜里 2 → 2); an hour already past 12 as written; ''
    when the day is in doubt (晚上12点, 晚上1点: midnight or past it, of which date?)."""
    if hour > 12:
        return f"{hour:02d}"
    if part in _PM and 1 <= hour < 12 or part in _NOON and 1 <= hour <= 5:
        hour += 12
    elif part in _AM and hour == 12:
        hour = 0
    elif part in _NIGHT:
        if hour == 12 or (part == "晚上" and hour < 6):
            return ""
        hour = hour + 12 if hour >= 6 else hour
    return f"{hour:02d}"


def _in_digits(text: pd.Series) -> pd.Series:
    """The values written in spoken forms (`_SPOKEN`) as `_spoken` writes them; the others as they are."""
    spoken = text.str.contains(_SPOKEN, regex=True).fillna(False).astype(bool)
    if spoken.any():  # few values: each in Python
        text = text.where(~spoken, text[spoken].map(_spoken))
    return text


def _normalize_datetimes(text: pd.Series, zone: str | None = None) -> pd.Series:
    text = _in_digits(text)
    text = _on_local_clock(text, zone) if zone else text
    text = _excel_serials(text)
    text = (
        # 日/号 ends the date: a time written right after it (10日8时5分, 10日08:05) is set apart
        text.str.replace(r"(^|[^0-9])([0-9]{4}|[0-9]{2})年([0-9]{1,2})月([0-9]{1,2})[日号]\s*", r"\1\2-\3-\4 ", regex=True)
        .str.replace(r"(^|[^0-9])([0-9]{4}|[0-9]{2})年([0-9]{1,2})月([0-9]{1,2})", r"\1\2-\3-\4", regex=True)
        .str.strip()
        .str.replace(r"([0-9]{1,2})[时點点:]([0-9]{1,2})分?", r"\1:\2", regex=True)
        .str.replace(r"( [0-9]{1,2})[时點点]$", r"\1:00", regex=True)  # 8时, 8点: on the hour
        .str.replace(r"(:[0-9]{2})[.,][0-9]+", r"\1", regex=True)  # fractions of a second
        .str.replace(r"( [0-9]{1,2})\.([0-9]{2})(\.[0-9]{2})?$", r"\1:\2\3", regex=True)  # 2020.2.10 14.05: a time
        .str.replace(r"(:[0-9]{2})\.([0-9]{2})$", r"\1:\2", regex=True)
        .str.replace(_ZONE, r"\1", regex=True)
        .str.replace("/", "-", regex=False)
        .str.replace(".", "-", regex=False)
    )
    text = _year_first(text)
    compact = text.str.fullmatch(r"[0-9]{8}")
    text = text.where(~compact, text.str[:4] + "-" + text.str[4:6] + "-" + text.str[6:8])
    short = text.str.fullmatch(r"[0-9]{6}")  # 200210, 850307: year, month, day
    text = text.where(~short, text.str[:2] + "-" + text.str[2:4] + "-" + text.str[4:6])
    two_digits = text.str.match(_TWO_DIGIT_YEAR).fillna(False).astype(bool)
    if two_digits.any():  # few values: the century in Python
        this_year = datetime.now(timezone.utc).year
        text = text.where(~two_digits, text[two_digits].map(lambda v: f"{two_digit_year(int(v[:2]), this_year)}{v[2:]}"))
    # a value with no four-digit year left is no date: the parser would take today's, or year 1
    text = text.where(text.str.contains(_FOUR_DIGIT_YEAR, regex=True).fillna(False).astype(bool), "")
    parsed = _parsed(text.where(text != ""))
    parsed = parsed.where((parsed.dt.year >= 1900) & (parsed.dt.year <= 2099))
    return parsed.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")


_YEAR_LAST = r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})(?:[^0-9]|$)"


def _year_first(text: pd.Series) -> pd.Series:
    """A date written day and month before a four-digit year (13/2/2020, 2/13/2020) in year-first
    order when only one reading is a date; when both are (1/2/2020: 1 February or 2 January?) it is
    unreadable: a wrong guess moves a person's dates by months."""
    last = text.str.match(_YEAR_LAST).fillna(False).astype(bool)
    if not last.any():
        return text

    def ordered(value: str) -> str:
        first, second, year = re.match(_YEAR_LAST, value).groups()
        rest = value[len(first) + len(second) + len(year) + 2:]
        a, b = int(first), int(second)
        if a > 12 >= b:
            return f"{year}-{b}-{a}{rest}"
        if b > 12 >= a or a == b:
            return f"{year}-{a}-{b}{rest}"
        return ""
    return text.where(~last, text[last].map(ordered))


def _parsed(text: pd.Series) -> pd.Series:
    """The values as naive timestamps (NaT where unreadable). A value the parser reads with a zone
    (one stripping `_ZONE` left: a number taken for an offset) is unreadable; such a value beside
    plain ones made pandas refuse the whole column, which stopped every feed's run."""
    try:
        parsed = pd.to_datetime(text, format="mixed", errors="coerce")
    except ValueError:  # zones mixed with none: each value on its own, the zoned ones unreadable
        parsed = pd.Series([_one_time(v) for v in text], index=text.index, dtype="datetime64[ns]")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    return parsed


def _one_time(value) -> pd.Timestamp:
    if not isinstance(value, str) or not value:
        return pd.NaT
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, OverflowError):
        return pd.NaT
    return pd.NaT if stamp.tzinfo is not None else stamp


def normalize_dates(values: pd.Series, reference: pd.Series | None = None) -> pd.Series:
    """Dates → 'YYYY-MM-DD' ('' when missing or unparseable). With `reference` (each row's event
    time, normalized), a date written without its year (2月1日, 2-1, 2/1) is the such day nearest
    the event: a form's dates (came back, met a case, plans to leave) lie within months of it."""
    dates = normalize_datetimes(values).str[:10]
    if reference is None:
        return dates
    text = _in_digits(clean_text(values))  # 二月一日 too
    short = ((dates == "") & text.str.fullmatch(_MONTH_DAY).fillna(False).astype(bool)
             & (reference.astype(str).str.len() >= 10))
    if short.any():
        dates = dates.where(~short, pd.Series([_nearest_month_day(v, r) for v, r in zip(text[short], reference[short])],
                                              index=text.index[short], dtype=object))
    return dates


_MONTH_DAY = r"([0-9]{1,2})(?:月|[-/.])([0-9]{1,2})[日号]?"


def _nearest_month_day(value: str, reference: str) -> str:
    """The day of that month and day nearest the event (the year before, of, or after it)."""
    month, day = (int(part) for part in re.fullmatch(_MONTH_DAY, value).groups())
    event = datetime.strptime(reference[:10], "%Y-%m-%d").date()
    found = []
    for year in (event.year - 1, event.year, event.year + 1):
        try:
            found.append(event.replace(year=year, month=month, day=day))
        except ValueError:  # 2月29日 in a year without it, 2月30日
            continue
    return min(found, key=lambda d: abs((d - event).days)).isoformat() if found else ""


def normalize_birth_dates(values: pd.Series) -> pd.Series:
    """Birth dates → 'YYYY-MM-DD'; one after today (UTC) is a typing error: missing, never compared."""
    dates = normalize_dates(values)
    return dates.where(dates <= datetime.now(timezone.utc).strftime("%Y-%m-%d"), "")


def moments(canonical: pd.Series) -> pd.Series:
    """Canonical text ('YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD'; '' when missing) → naive timestamps
    (NaT when missing), each value read on its own: left to infer, pandas takes the first value's
    form and reads a value of the other form as NaT. Text that is not canonical (a zone beside
    none) is read a value at a time, a zoned one as NaT, as `normalize_datetimes` reads it."""
    try:
        parsed = pd.to_datetime(canonical, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        return pd.Series([_one_time(v) for v in canonical], index=canonical.index, dtype="datetime64[ns]")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return pd.Series(pd.NaT, index=canonical.index, dtype="datetime64[ns]")
    return parsed
