"""The readers never crash and never lose a row (hypothesis): any bytes under any name end as a
table or as a clear UnreadableFile; a table written the way a spreadsheet writes CSV, in any of
the encodings the feeds use, comes back with every row and every cell."""
from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenfuse.readers import UnreadableFile, read_table

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# cells as people type them: Chinese, Latin, digits, punctuation, quotes, delimiters, spaces,
# full-width forms, line breaks inside a cell; NUL is removed by the reader on purpose
CELL = st.text(st.characters(codec="utf-8", exclude_characters="\x00\r", exclude_categories=("Cs",)), max_size=12)
CHINESE_CELL = st.text(st.sampled_from(list("张伟李娜王秀英积玉桥街道和平大道号栋0123456789-·() ,;\"'")), max_size=10)
NAME = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x4E80), min_size=1, max_size=4)


def _read(data: bytes, name: str):
    """read_table of the bytes written under the name, in a folder removed after (hundreds of
    examples a run must not leave hundreds of folders behind)."""
    with tempfile.TemporaryDirectory(prefix="reader-prop-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return read_table(path)


@SETTINGS
@given(data=st.binary(max_size=400), name=st.sampled_from(["a.csv", "a.xlsx", "a.txt", "a.CSV"]))
def test_any_bytes_end_as_a_table_or_a_clear_quarantine_reason(data, name):
    try:
        table = _read(data, name)
    except UnreadableFile as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert len(table.frame) >= 0 and table.blank_rows >= 0
    assert table.row_problems is None or len(table.row_problems) == len(table.frame)


def _csv(header: list[str], rows: list[list[str]], sep: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows([header, *rows])
    return out.getvalue()


@SETTINGS
@given(header=st.lists(NAME, min_size=2, max_size=5, unique=True), data=st.data(),  # feeds have columns
       sep=st.sampled_from([",", ";", "\t"]))
def test_a_written_table_comes_back_with_every_row_and_cell(header, data, sep):
    rows = data.draw(st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)), max_size=8))
    table = _read(_csv(header, rows, sep).encode("utf-8"), "t.csv")
    blank = [all(c.strip() == "" for c in r) for r in rows]
    assert len(table.frame) + table.blank_rows == len(rows)  # no row lost: read, or counted as blank
    assert table.frame.values.tolist() == [r for r, b in zip(rows, blank) if not b]
    assert list(table.frame.columns) == header


@SETTINGS
@given(rows=st.lists(st.lists(CHINESE_CELL, min_size=3, max_size=3), min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"]))
def test_chinese_tables_read_the_same_in_every_encoding(rows, encoding):
    header = ["姓名", "住址", "电话"]
    table = _read(_csv(header, rows, ",").encode(encoding), "t.csv")
    blank = [all(c.strip() == "" for c in r) for r in rows]
    assert table.frame.values.tolist() == [r for r, b in zip(rows, blank) if not b]


@pytest.mark.parametrize("text", ["陳建國,積玉橋街道和平大道100號", "歐陽娜,中華路街道,臺北"])
def test_big5_is_told_from_gbk(text):
    table = _read(f"name,address\n{text}\n".encode("big5"), "t.csv")
    assert table.encoding == "big5" and ",".join(table.frame.iloc[0]).startswith(text.split(",")[0])
