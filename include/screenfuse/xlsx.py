"""Write XLSX files whose bytes depend only on their content, and never with a live formula.

openpyxl stamps the save time into docProps/core.xml and the zip entries; a file written twice
would then get a new SHA-256 and be taken for a new delivery. We pin both. Text that could be
read as a formula is written as marked text, and control characters a workbook cannot hold are
dropped (screenfuse.cell_safety).
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd

from screenfuse.cell_safety import for_xlsx, mark_formula_like

FIXED_STAMP = "2020-01-01T00:00:00Z"


def write_xlsx(frame: pd.DataFrame, path: Path, sheet_name: str = "Sheet1", datetime_format: str | None = None,
               for_people: bool = False, choices: dict[str, list[str]] | None = None) -> None:
    """`datetime_format`: the Excel number format of date-time cells (pandas' own when None);
    date-times must be naive (Excel has no time zones: label the column instead). `for_people`:
    a sheet people work from (a push list): bold header, frozen under the header, a filter on
    every column, columns as wide as their text. `choices`: per column header, the values a
    drop-down offers in that column's cells (a list the person fills in, e.g. 核查结果)."""
    frame = for_xlsx(frame)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet_name)
        sheet = writer.sheets[sheet_name]
        if datetime_format:  # pandas' openpyxl writer ignores its own datetime_format argument
            for k, dtype in enumerate(frame.dtypes):
                if pd.api.types.is_datetime64_any_dtype(dtype):
                    for (cell,) in sheet.iter_rows(min_row=2, min_col=k + 1, max_col=k + 1):
                        cell.number_format = datetime_format
        mark_formula_like(sheet)
        if for_people:
            _readable(sheet, frame)
        for column, values in (choices or {}).items():
            _drop_down(sheet, frame, column, values)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + FIXED_STAMP.encode() + rb"\g<2>",
                    data,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def _width(value) -> int:
    """Columns a text takes in Excel (CJK characters two)."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _drop_down(sheet, frame: pd.DataFrame, column: str, values: list[str]) -> None:
    """A list validation on the column's cells under the header (and some empty rows below, for
    rows an office adds): Excel and WPS then offer the values and refuse others."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    if column not in frame.columns:
        return
    letter = get_column_letter(list(frame.columns).index(column) + 1)
    check = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                           showErrorMessage=True, errorTitle=column, error="请从下拉列表中选择: " + "/".join(values))
    check.add(f"{letter}2:{letter}{len(frame) + 200}")
    sheet.add_data_validation(check)


def _readable(sheet, frame: pd.DataFrame) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    if sheet.max_row >= 1 and sheet.max_column >= 1:
        sheet.auto_filter.ref = sheet.dimensions
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for k, column in enumerate(frame.columns, start=1):
        widest = max([_width(column)] + [_width(v) for v in frame.iloc[:200, k - 1].tolist()])
        sheet.column_dimensions[get_column_letter(k)].width = min(max(widest + 2, 8), 48)
