"""Read a landed file into a frame of text, whatever its format and encoding.

Everything is read as text (dtype=str, no NA guessing): an 18-digit ID column with one blank cell
would otherwise become float64 and lose digits.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CSV_ENCODINGS = ("utf-8", "gb18030")  # gb18030 is a superset of GBK and GB2312
# what a file's first bytes say it is, whatever its name says
BINARY_MAGIC = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
                b"%PDF": "a PDF document", b"\xd0\xcf\x11\xe0": "a legacy Excel 97-2003 (.xls) workbook or Word file",
                b"Rar!": "a RAR archive", b"\x1f\x8b": "a gzip archive", b"7z\xbc\xaf": "a 7-Zip archive"}
ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx workbook is a zip archive
DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 12
# characters that real Chinese names and addresses almost never hold, but Big5 bytes read as GBK
# (or GBK read as Big5) are full of: kana, extension A, private use, hangul,
# Greek/Cyrillic, circled and box-drawing symbols, half-width katakana
_MISREAD = [(0x3040, 0x30FF), (0x3400, 0x4DBF), (0xE000, 0xF8FF), (0xAC00, 0xD7AF), (0x0370, 0x04FF),
            (0x2460, 0x27BF), (0x2500, 0x257F), (0xFF61, 0xFF9F)]


class UnreadableFile(Exception):
    """The file cannot be read as a table; the message is the quarantine reason (no row data)."""


@dataclass(frozen=True)
class TableRead:
    frame: pd.DataFrame
    blank_rows: int
    file_format: str  # csv | xlsx
    encoding: str  # utf-8, utf-8-sig, utf-16, gb18030, big5, or xlsx
    row_problems: pd.Series | None = None  # per row of `frame`, why it cannot be read ('' = fine)
    sha256: str = ""  # of the bytes read: the caller can tell they are those it registered


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def decode_text(data: bytes) -> tuple[str, str]:
    """Bytes → (text, encoding): a BOM (UTF-8, UTF-16) decides; else UTF-8; else GBK (as
    GB18030) or Big5, whichever reads as fewer characters that real text never holds (a tie
    goes to GBK, the mainland's encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _decoded(data[3:], "utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decoded(data, "utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    readings = []
    for rank, encoding in enumerate(("gb18030", "big5")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        readings.append((_misread_characters(text), rank, text, encoding))
    if not readings:
        raise UnreadableFile("not UTF-8, UTF-16, GBK/GB18030 or Big5 text")
    _, _, text, encoding = min(readings)
    return text, encoding


def _decoded(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise UnreadableFile(f"starts with a {encoding.upper()} byte-order mark but is not {encoding.upper()} text") from None


def _misread_characters(text: str) -> int:
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    return int(sum(((codes >= low) & (codes <= high)).sum() for low, high in _MISREAD))


def sniff_kind(data: bytes) -> str:
    """'xlsx' (a zip archive) or 'text', from the content; a binary file of another kind is
    unreadable, named in the reason (a PNG named .csv says it is a PNG image)."""
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    for magic, kind in BINARY_MAGIC.items():
        if data.startswith(magic):
            raise UnreadableFile(f"not a table: the file is {kind}, whatever its name says")
    return "text"


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most lines of one width (more than one
    field), the widest on a tie; a comma when none does. Parsed as CSV, so a delimiter inside a
    quoted header ("体温(℃,耳温)") does not count, and a title line above the header is outvoted."""
    # lines end at CR or LF only: str.splitlines also breaks at \x1c-\x1e, \x85 and \u2028,
    # which a cell may hold (the CSV reader keeps them in the cell)
    sample = "\n".join(re.split(r"\r\n|\r|\n", text)[:SNIFF_LINES])
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        width, lines = Counter(widths).most_common(1)[0] if widths else (0, 0)
        score = (lines, width) if width > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


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


def data_sheets(data: bytes) -> list[str | int]:
    """The sheets of a workbook that may hold the rows, the likeliest first: the one open when it
    was saved, unless hidden (a template's hidden list of choices comes first), then the other
    visible ones in order (the caller takes the first whose header its contract knows: a 填表说明
    sheet in front of the rows). Hidden sheets are never read."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    try:
        visible = [sheet.title for sheet in book.worksheets if sheet.sheet_state == "visible"]
        active = book.active
        first = [active.title] if active is not None and active.title in visible else []
        return (first + [title for title in visible if title not in first]) or [0]
    finally:
        book.close()


def read_table(path: Path, sheet: str | int | None = None) -> TableRead:
    """A landed file as text cells. What it is comes from its bytes, not its name: a CSV named
    .xlsx is read as CSV, a workbook named .csv as a workbook, an image is quarantined. A
    workbook's `sheet` (default: the first of `data_sheets`)."""
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt"):
        raise UnreadableFile(f"unsupported file type '{suffix}' (expected .csv or .xlsx)")
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("empty file (no header, no rows)")
    digest = hashlib.sha256(data).hexdigest()
    if sniff_kind(data) == "xlsx":
        try:
            frame = pd.read_excel(io.BytesIO(data), sheet_name=data_sheets(data)[0] if sheet is None else sheet,
                                  dtype=object, keep_default_na=False, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for a corrupt workbook
            raise UnreadableFile(f"not a readable Excel workbook ({exc.__class__.__name__})") from None
        frame = frame.map(excel_cell_text)
        return TableRead(*_tidy(frame), file_format="xlsx", encoding="xlsx", sha256=digest)
    text, encoding = decode_text(data)
    if "\x00" in text:  # NUL: no real value holds one, and PostgreSQL text cannot store it
        text = text.replace("\x00", "")
    sep, problems = sniff_delimiter(text), None
    try:
        with warnings.catch_warnings():
            # a first row longer than the header would shift every value one column over (pandas
            # takes the extra field as the index) or drop the extra field: neither is acceptable
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=False,
                                sep=sep, index_col=False)
    except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:
        if not isinstance(exc, pd.errors.ParserWarning) and "fields in line" not in str(exc):
            raise UnreadableFile(f"not a readable CSV table ({exc.__class__.__name__}: {_parser_problem(exc)})") from None
        frame, problems = _read_ragged(text, sep)
    except pd.errors.EmptyDataError as exc:
        raise UnreadableFile(f"not a readable CSV table ({exc.__class__.__name__}: {_parser_problem(exc)})") from None
    _refuse_folded_lines(text, frame, sep)
    frame, blank = _tidy(frame)
    if problems is not None:
        problems = problems.loc[frame.index]
    return TableRead(frame, blank, file_format="csv", encoding=encoding, row_problems=problems, sha256=digest)


def _read_ragged(text: str, sep: str) -> tuple[pd.DataFrame, pd.Series]:
    """A CSV whose rows do not all have the header's fields. The width is the header's, or, when
    the first line holds at most two cells (a bare title line above the header), the most common
    row length: the title becomes a header of empty names and the caller finds the real header
    below it (ingest._below_title_rows). Rows longer than the
    width are kept for the record but cannot be read (their values would land in the wrong
    columns): each gets a problem. Shorter rows are padded with empty cells, as pandas pads them."""
    csv.field_size_limit(2**31 - 1)  # a huge cell is a value like any other
    try:  # strict: a quote never closed is an error, not every later line folded into one cell
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=sep, strict=True) if r]  # pandas skips blank lines
    except csv.Error as exc:
        problem = "a quote is never closed" if "end of data" in str(exc) or "EOF" in str(exc) else "malformed"
        raise UnreadableFile(f"not a readable CSV table ({problem})") from None
    header, body = rows[0], rows[1:]
    common = Counter(len(r) for r in body).most_common(1)[0][0] if body else 0
    title = sum(bool(c.strip()) for c in header) <= 2  # a title or unit line, not a header
    width = max(len(header), common) if title else len(header)
    # fields past the width that are all empty (a trailing delimiter) lose nothing: not a problem
    problems = pd.Series([f"row has {len(r)} fields, the header {width}: a delimiter inside an unquoted value?"
                          if len(r) > width and any(c.strip() for c in r[width:]) else "" for r in body], dtype=object)
    frame = pd.DataFrame([(r + [""] * width)[:width] for r in body], dtype=str,
                         columns=unique_names(header + [""] * (width - len(header))))
    return frame, problems


def _refuse_folded_lines(text: str, frame: pd.DataFrame, sep: str) -> None:
    """A stray quote (姓名 typed as "张三) opens a quoted value that the next quote, lines further
    down, closes: the lines between become one cell, and their rows vanish with no count short.
    A cell may hold a line break (an address typed over two lines in Excel), but a fold holds a
    row's worth of delimiters per line it swallowed: when the quote closes in the column it opened
    in, exactly that many, and when it closes in a later column, more (a fold closing in an
    earlier column leaves its row too long, which the ragged read quarantines). Such a file is
    unreadable, whole. Only looked at when the text has more line breaks than rows."""
    if '"' not in text:  # no quoted value: no cell can hold a line break
        return
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    if breaks <= len(frame) + 1:  # a line per row and the header's: no cell holds one
        return
    row_delimiters = frame.shape[1] - 1
    for k in range(frame.shape[1]):
        values = frame.iloc[:, k]
        folded = values.str.contains(r"[\r\n]", regex=True).fillna(False).to_numpy(dtype=bool)
        for position in np.flatnonzero(folded):
            cell = values.iloc[position]
            swallowed = sum(1 for line in re.split(r"\r\n|\r|\n", cell)[1:] if line.strip())
            if row_delimiters and swallowed and cell.count(sep) >= swallowed * row_delimiters:
                raise UnreadableFile(f"not a readable CSV table (a quote opened in row {position + 1} is closed "
                                     f"{swallowed} line(s) further down, folding those rows into one cell: a stray "
                                     "quote character?)")


def unique_names(names: list[str]) -> list[str]:
    """Header cells made unique as pandas does: a repeated name gets .1, .2 (姓名, 姓名.1), an
    empty one is 'Unnamed: <position>'."""
    seen: dict[str, int] = {}
    out = []
    for position, name in enumerate(names):
        name = name or f"Unnamed: {position}"
        out.append(f"{name}.{seen[name]}" if name in seen else name)
        seen[name] = seen.get(name, 0) + 1
    return out


def _parser_problem(exc: Exception) -> str:
    """The parser's complaint without any cell content: which line, and what kind of problem."""
    message = str(exc)
    if "EOF inside string" in message:
        return "a quote is never closed"
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        expected, line, saw = fields.groups()
        return f"line {line} has {saw} fields, the header {expected}: a delimiter inside an unquoted value?"
    return "no columns" if isinstance(exc, pd.errors.EmptyDataError) else "malformed"


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
