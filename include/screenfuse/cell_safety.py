"""Cells a spreadsheet will never run, and never choke on.

A name or address as a unit typed it reaches a street office's Excel. Excel takes a CSV cell
starting with = + - @ (or a tab or carriage return before them) for a formula: `=HYPERLINK(…)`
leaks what the sheet holds, `=cmd|' /C calc'!A0` runs a program (CSV injection, OWASP). Such
text is written with a leading apostrophe in CSV (Excel shows it as text) and as a text cell
marked "quote prefix" in XLSX (shown as typed, kept as text even when the cell is edited).
Characters XML 1.0 cannot hold (control characters, U+FFFE and U+FFFF, lone surrogates) are
dropped: a workbook writer escapes or refuses them, and the text would not come back as it was
sent (openpyxl reads an escaped one back as `_x0001_`, or stops with an error quoting the value:
a person's name in a task log).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

# the first characters Excel and LibreOffice read a formula from (full-width ones too: an IME
# types them, and some Excel builds convert them)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # XML 1.0 forbids them


def is_formula_like(text: object) -> bool:
    return isinstance(text, str) and text.startswith(FORMULA_STARTS)


def storable(text: str) -> str:
    """The text without the control characters a workbook cannot store."""
    return _NOT_IN_XLSX.sub("", text)


def neutralized_text(value: object) -> object:
    """A CSV cell's value: control characters dropped, formula-like text behind an apostrophe."""
    if not isinstance(value, str):
        return value
    value = storable(value)
    return "'" + value if is_formula_like(value) else value


def _text_columns(frame: pd.DataFrame) -> list[int]:
    return [k for k, dtype in enumerate(frame.dtypes) if dtype == object or str(dtype).startswith("str")]


def for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a CSV people open in Excel may carry it (headers included)."""
    out = frame.copy()
    for k in _text_columns(out):
        out.isetitem(k, out.iloc[:, k].map(neutralized_text, na_action="ignore"))
    return out.set_axis([neutralized_text(str(c)) for c in out.columns], axis=1)


def write_csv(frame: pd.DataFrame, path: Path | str, encoding: str = "utf-8-sig", **options) -> Path:
    """Write a CSV for people (UTF-8 with BOM by default: Excel reads it as UTF-8). Lines end in
    CRLF, so a cell holding a carriage return is quoted: unquoted, it would end the row there and
    start the next one with whatever follows (a formula)."""
    path = Path(path)
    text = for_csv(frame).to_csv(index=False, lineterminator="\r\n", **options)
    path.write_bytes(text.encode(encoding))
    return path


def for_xlsx(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with only characters a workbook can store (formula-like text is marked when the
    sheet is written: screenfuse.xlsx)."""
    out = frame.copy()
    for k in _text_columns(out):
        out.isetitem(k, out.iloc[:, k].map(lambda v: storable(v) if isinstance(v, str) else v, na_action="ignore"))
    return out.set_axis([storable(str(c)) for c in out.columns], axis=1)
