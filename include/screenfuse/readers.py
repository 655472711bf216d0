"""Read a landed file into a frame of text, whatever its format and encoding.

Everything is read as text (dtype=str, no NA guessing): an 18-digit ID column with one blank cell
would otherwise become float64 and lose digits.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CSV_ENCODINGS = ("utf-8", "gb18030")  # gb18030 is a superset of GBK and GB2312


class UnreadableFile(Exception):
    """The file cannot be read as a table; the message is the quarantine reason (no row data)."""


@dataclass(frozen=True)
class TableRead:
    frame: pd.DataFrame
    blank_rows: int
    file_format: str  # csv | xlsx
    encoding: str  # utf-8, utf-8-sig, gb18030, or xlsx


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def decode_text(data: bytes) -> tuple[str, str]:
    """Bytes → (text, encoding): UTF-8 with BOM, UTF-8, then GBK (as GB18030)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("not UTF-8 or GBK text")


def excel_cell_text(value) -> str:
    """An Excel cell as the text a user typed, and never more precise than Excel kept it.

    Excel stores numbers as doubles (15 significant digits): a long ID typed into a number cell
    has lost its last digits, so it is rendered in scientific notation (4.20106198001011E+17),
    which the ID normalizer recognises as unrecoverable, rather than as digits that look valid.
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:.14E}" if abs(value) >= 1e15 else str(int(value))
        return repr(value)
    if isinstance(value, int):
        return f"{float(value):.14E}" if abs(value) >= 10**15 else str(value)
    if hasattr(value, "isoformat"):
        return str(value)
    return "" if value is None else str(value)


def read_table(path: Path) -> TableRead:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(path, dtype=object, keep_default_na=False, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for a corrupt workbook
            raise UnreadableFile(f"not a readable Excel workbook ({exc.__class__.__name__})") from None
        frame = frame.map(excel_cell_text)
        return TableRead(*_tidy(frame), file_format="xlsx", encoding="xlsx")
    if suffix in (".csv", ".txt"):
        data = path.read_bytes()
        if not data.strip():
            raise UnreadableFile("empty file (no header, no rows)")
        text, encoding = decode_text(data)
        if "\x00" in text:  # NUL: no real value holds one, and PostgreSQL text cannot store it
            text = text.replace("\x00", "")
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise UnreadableFile(f"not a readable CSV table ({exc.__class__.__name__})") from None
        return TableRead(*_tidy(frame), file_format="csv", encoding=encoding)
    raise UnreadableFile(f"unsupported file type '{suffix}' (expected .csv or .xlsx)")


def _tidy(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Strip headers, drop fully blank rows (Excel leaves them); the index keeps row positions."""
    if not (all(dtype == "str" for dtype in frame.dtypes) and not frame.isna().to_numpy().any()):
        frame = frame.astype(object).fillna("").astype(str)  # a CSV read as text already is
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        return frame, 0
    blank = np.ones(len(frame), dtype=bool)
    for k in range(frame.shape[1]):
        blank &= (frame.iloc[:, k].str.strip() == "").to_numpy()
    return frame[~blank], int(blank.sum())
