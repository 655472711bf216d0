"""Names written in an alphabet, not in characters: in Latin letters (pinyin at airport and rail
checkpoints, a foreign arrival's passport name, accented or not: ZHANG WEI, Lü Wei, Zhāng Wěi,
José García, Nguyễn Văn An) and in other alphabets with capitals (Иван Петров, Γιώργος). Each
comes out in one form whatever the case, the accents and the separators, so a form that keeps the
accents meets a passport that drops them; normalizing the result again changes nothing.
"""
from __future__ import annotations

import re
import unicodedata

from screenfuse.zh_names import SURNAME_RANK

_LATIN_SEPARATORS = re.compile(r"[\s\-_.·,—–‐•・]+")  # between the parts of a name in letters
# ü after l or n, as passports spell it since 2012 (LYU 吕, NYU 女); pypinyin writes v (lv, nv). No
# syllable ends in l, so lyu is ü anywhere; n ends syllables (chen yu), so only a leading nyu is
_UMLAUT_YU = re.compile(r"(l|^n)yu")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")  # Chinese characters
# apostrophes typed as letters (Oʻzbek, ŉ): the ASCII one
_APOSTROPHES = str.maketrans({c: "'" for c in "ʼʻʹʽ’‘`´"})
# Latin letters whose mark is part of the letter (no decomposition), once the marks are split off
_SPELLED_OUT = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "þ": "th", "ı": "i",
                              "ħ": "h", "ŧ": "t", "ŀ": "l"})
# a u carrying a diaeresis (¨) among its marks, whatever their order (ü, ǚ = u + ¨ + ˇ or u + ˇ + ¨)
_U_DIAERESIS = re.compile(r"u[\u0300-\u036f]*\u0308[\u0300-\u036f]*")
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_U = "\x00"  # where a ü stood, until the part says whether it is pinyin
# a part made of pinyin syllables (initial and final; v is ü): lv, nve, xiaolv, but not lvtfi, nvrnberger
_PINYIN_PART = re.compile(r"(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan"
                          r"|van|ai|ei|ao|ou|an|en|er|in|un|vn|ia|ie|iu|ua|uo|ui|ue|ve|a|o|e|i|u|v))+")


def prepared(name: str) -> str:
    """The form a name is routed on: compatibility forms folded (NFKC: Kelvin sign K, ª, full-width
    letters), apostrophes as one."""
    if name.isascii() or _HAN.search(name):  # a name in characters goes on as it is
        return name
    return unicodedata.normalize("NFKC", name).translate(_APOSTROPHES)


def is_latin(name: str) -> bool:
    """Letters, all Latin, accented or not, and no Chinese characters (see `prepared`)."""
    if name.isascii():
        return any(c.isalpha() for c in name)
    return _letters_all(name, lambda c: unicodedata.name(c, "").startswith("LATIN "))


def is_cased_script(name: str) -> bool:
    """Letters of another alphabet with capitals: every letter has a case, so none is a Chinese,
    Japanese or Korean character."""
    return _letters_all(name, lambda c: c.lower() != c.upper())


def _letters_all(name: str, test) -> bool:
    """Whether `name` has letters and each passes `test`; a name in characters fails at once."""
    if _HAN.search(name):
        return False
    seen = False
    for c in name:
        if c.isalpha():
            if not test(c):
                return False
            seen = True
    return seen


def latin_name(name: str) -> str:
    """A Latin-written name: case-folded, one space between parts, marks dropped (José = JOSE), a ü
    in a part made of pinyin syllables spelt v as pypinyin spells it (Lü = LV = LYU, Xiǎolǜ =
    xiaolv; Lütfi stays lutfi), the surname first when only the last part is a surname (Xiaoming
    Zhang → zhang xiaoming; ZHANG-WEI → zhang wei). Where both parts could be (Wei Zhang) the order
    stays: the zh_name comparator tries both."""
    folded = name.casefold()
    if not folded.isascii():
        folded = _U_DIAERESIS.sub(_U, unicodedata.normalize("NFKD", folded))
        folded = unicodedata.normalize("NFKC", _MARKS.sub("", folded)).translate(_SPELLED_OUT)
    parts = [_umlaut(p) for p in _LATIN_SEPARATORS.split(folded) if p]
    if len(parts) >= 2 and parts[0] not in SURNAME_RANK and parts[-1] in SURNAME_RANK:
        parts = parts[-1:] + parts[:-1]
    return " ".join(parts)


def _umlaut(part: str) -> str:
    if _U in part:
        pinyin = part.replace(_U, "v")
        return pinyin if _PINYIN_PART.fullmatch(pinyin) else part.replace(_U, "u")
    return _UMLAUT_YU.sub(r"\1v", part)


def cased_name(name: str) -> str:
    """A name in another alphabet with capitals: case-folded, one space between parts, a Greek
    letter's accent dropped (ΓΙΩΡΓΟΣ = Γιώργος; Й keeps its breve: a letter of its own); its parts
    keep their order."""
    kept, greek = [], False
    for c in unicodedata.normalize("NFD", name.casefold()):
        if not unicodedata.combining(c):
            greek = unicodedata.name(c, "").startswith("GREEK")
        if not (greek and unicodedata.combining(c)):  # every mark on a Greek letter (ΐ has two)
            kept.append(c)
    text = "".join(kept)
    return " ".join(p for p in _LATIN_SEPARATORS.split(unicodedata.normalize("NFC", text)) if p)
