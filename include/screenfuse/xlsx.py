"""Write XLSX files whose bytes depend only on their content, and never with a live formula.

XlsxWriter writes the cells directly (a push list of a thousand rows: 0.2 s, against 0.8 s through
pandas and openpyxl, most of an hour's outbox when nothing new came in). Its zip entries carry a
fixed date; the workbook's created date is pinned too, so a file written twice has the same
SHA-256 and is never taken for a new delivery. Text is always written as text: text that could
be read as a formula gets the quote prefix (shown as typed, kept as text when the cell is
edited), and control characters a workbook cannot hold are dropped (screenfuse.cell_safety).
openpyxl still reads workbooks (screenfuse.readers).
"""
from __future__ import annotations

import decimal
import io
import math
import numbers
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from screenfuse.cell_safety import for_xlsx, is_formula_like, storable

FIXED_STAMP = datetime(2020, 1, 1, tzinfo=timezone.utc)
DEFAULT_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"  # pandas' own, as the files written before
DATE_FORMAT = "yyyy-mm-dd"
DROP_DOWN_SPARE_ROWS = 199  # rows under the list that still offer the drop-down, for rows an office adds
MAX_ROWS, MAX_COLUMNS = 1_048_575, 16_384  # a sheet's, under the header
FIRST_DAY = date(1900, 3, 1)  # Excel's serial dates are a day off before it (its 1900 leap day): text before
_OPTIONS = {"in_memory": True,  # no temporary files: a list holds personal data
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def write_xlsx(frame: pd.DataFrame, path: Path, sheet_name: str = "Sheet1", datetime_format: str | None = None,
               for_people: bool = False, choices: dict[str, list[str]] | None = None) -> None:
    """`datetime_format`: the Excel number format of date-time cells (DEFAULT_DATETIME_FORMAT when
    None); date-times must be naive (Excel has no time zones: label the column instead).
    `for_people`: a sheet people work from (a push list): bold header, frozen under the header, a
    filter on every column, columns as wide as their text. `choices`: per column header, the values
    a drop-down offers in that column's cells (a list the person fills in, e.g. 核查结果)."""
    import xlsxwriter

    frame = for_xlsx(frame)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, _OPTIONS)
    book.set_properties({"created": FIXED_STAMP})
    sheet = book.add_worksheet(sheet_name)
    formats = _Formats(book, datetime_format or DEFAULT_DATETIME_FORMAT)
    if len(frame) > MAX_ROWS or len(frame.columns) > MAX_COLUMNS:  # XlsxWriter would leave the rest out, silently
        raise ValueError(f"{len(frame):,} rows of {len(frame.columns):,} columns do not fit in one sheet "
                         f"(at most {MAX_ROWS:,} rows of {MAX_COLUMNS:,}); write it as CSV")
    for k, header in enumerate(frame.columns):
        header = _as_cell_text(header)
        sheet.write_string(0, k, header, formats.header_quoted if is_formula_like(header) else formats.header)
        _write_column(sheet, k, frame.iloc[:, k], formats)
    if for_people:
        _readable(sheet, frame)
    for column, values in (choices or {}).items():
        _drop_down(sheet, frame, column, values)
    book.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


class _Formats:
    """The few cell formats a sheet uses, made once per workbook."""

    def __init__(self, book, datetime_format: str):
        header = {"bold": True, "border": 1, "align": "center", "valign": "top"}  # as pandas wrote it
        self.header = book.add_format(header)
        self.header_quoted = book.add_format({**header, "quote_prefix": True})
        self.quoted = book.add_format({"quote_prefix": True})
        self.datetime = book.add_format({"num_format": datetime_format})
        self.date = book.add_format({"num_format": DATE_FORMAT})
        self.blank = book.add_format()  # an empty cell is written (with no format it would be left out, and
        # a row of empty cells with it: the sheet would lose a row of the frame)


def _write_column(sheet, k: int, column: pd.Series, formats: _Formats) -> None:
    """One column's cells under the header; a missing value is an empty cell."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"column {column.name!r}: Excel has no time zones; write local times and say which "
                         "zone in the header")
    for row, value in enumerate(column.tolist(), start=1):
        _write_value(sheet, row, k, value, formats)


def _write_value(sheet, row: int, k: int, value, formats: _Formats) -> None:
    """A cell, written as its value's own type (a column's dtype says no more: pandas gives its values typed)."""
    if isinstance(value, str):  # (a categorical's text is not cleaned by for_xlsx)
        _write_text(sheet, row, k, value, formats)
    elif value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):  # None, NaN, NaT, NA of any kind
        sheet.write_blank(row, k, None, formats.blank)
    elif isinstance(value, (bool, np.bool_)):
        sheet.write_boolean(row, k, bool(value))
    elif isinstance(value, (numbers.Real, decimal.Decimal, np.number)):
        _write_number(sheet, row, k, float(value), formats)
    elif isinstance(value, (datetime, np.datetime64)):
        moment = pd.Timestamp(value)
        if moment.tzinfo is not None:
            raise ValueError(f"a date-time with a time zone in column {k + 1}: Excel has no time zones")
        _write_moment(sheet, row, k, moment.to_pydatetime(), formats.datetime)
    elif isinstance(value, date):
        _write_moment(sheet, row, k, value, formats.date)
    else:  # anything else (a time of day…) as the text it prints as: text, never a formula
        _write_text(sheet, row, k, str(value), formats)


def _as_cell_text(text: str) -> str:
    """Text a cell can hold and give back: without the characters a workbook cannot store, and a
    carriage return as the line feed any XML reader takes it for (XlsxWriter would write it as
    _x000D_, which openpyxl, our own reader, reads back as those seven characters)."""
    text = storable(text)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _write_moment(sheet, row: int, k: int, moment: date, cell_format) -> None:
    """A date or date-time cell; one before Excel's dates are right, its ISO text."""
    if (moment.date() if isinstance(moment, datetime) else moment) < FIRST_DAY:
        sheet.write_string(row, k, moment.isoformat(sep=" ") if isinstance(moment, datetime) else moment.isoformat())
    else:
        sheet.write_datetime(row, k, moment, cell_format)


def _write_text(sheet, row: int, k: int, text: str, formats: _Formats) -> None:
    """Text as a text cell, with the quote prefix when it could be read as a formula."""
    text = _as_cell_text(text)
    if not text:
        sheet.write_blank(row, k, None, formats.blank)
    else:
        sheet.write_string(row, k, text, formats.quoted if is_formula_like(text) else None)


def _write_number(sheet, row: int, k: int, value: float, formats: _Formats) -> None:
    """A number; NaN is an empty cell, an infinity the text it prints as (a cell cannot hold it)."""
    if math.isnan(value):
        sheet.write_blank(row, k, None, formats.blank)
    elif math.isinf(value):
        _write_text(sheet, row, k, "inf" if value > 0 else "-inf", formats)  # "-inf": marked, as any text from "-"
    else:
        sheet.write_number(row, k, value)


def _width(value) -> int:
    """Columns a text takes in Excel (CJK characters two)."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _drop_down(sheet, frame: pd.DataFrame, column: str, values: list[str]) -> None:
    """A list validation on the column's cells under the header (and some empty rows below, for
    rows an office adds): Excel and WPS then offer the values and refuse others."""
    if column not in frame.columns:
        return
    k = list(frame.columns).index(column)
    added = sheet.data_validation(1, k, min(len(frame) + DROP_DOWN_SPARE_ROWS, MAX_ROWS), k, {
        "validate": "list", "source": list(values), "ignore_blank": True, "show_error": True,
        "error_title": column[:32], "error_message": ("请从下拉列表中选择: " + "/".join(values))[:255]})
    if added != 0:  # XlsxWriter leaves it out with a warning: e.g. choices of more than 255 characters
        raise ValueError(f"the drop-down of column {k + 1} cannot be written ({len(values)} choices)")


def _readable(sheet, frame: pd.DataFrame) -> None:
    sheet.freeze_panes(1, 0)
    if len(frame.columns):
        sheet.autofilter(0, 0, len(frame), len(frame.columns) - 1)
    for k, column in enumerate(frame.columns):
        widest = max([_width(column)] + [_width(v) for v in frame.iloc[:200, k].tolist()])
        sheet.set_column(k, k, min(max(widest + 2, 8), 48))
