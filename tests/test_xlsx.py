"""screenfuse.xlsx: typed cells, no row lost, bytes that depend only on the content."""
from __future__ import annotations

import zipfile
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from screenfuse.xlsx import write_xlsx


def test_each_value_keeps_its_type_and_no_row_is_lost(tmp_path):
    frame = pd.DataFrame({
        "text": ["张三", "", None, "=1+1"],
        "count": [1, 2, 3, 4],
        "score": [1.5, float("nan"), -2.0, float("inf")],
        "flag": [True, False, True, False],
        "seen": pd.to_datetime(["2020-02-10 08:30", None, "2020-02-11 23:59", None]),
        "mixed": [date(2020, 2, 1), pd.Timestamp("2020-02-02 10:00"), 7, None],
    })
    write_xlsx(frame, tmp_path / "t.xlsx", datetime_format="yyyy-mm-dd hh:mm")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    rows = list(sheet.iter_rows(min_row=1, values_only=True))
    assert rows[0] == ("text", "count", "score", "flag", "seen", "mixed")
    assert len(rows) == 5
    assert rows[1] == ("张三", 1, 1.5, True, datetime(2020, 2, 10, 8, 30), datetime(2020, 2, 1))
    assert rows[2] == (None, 2, None, False, None, datetime(2020, 2, 2, 10, 0))
    assert rows[3] == (None, 3, -2.0, True, datetime(2020, 2, 11, 23, 59), 7)
    assert rows[4][0] == "=1+1" and rows[4][2] == "inf" and rows[4][5] is None
    assert sheet["E2"].number_format == "yyyy-mm-dd hh:mm" and sheet["F2"].number_format == "yyyy-mm-dd"
    assert sheet["A5"].data_type == "s" and sheet["A5"].quotePrefix


def test_a_frame_of_empty_rows_keeps_them(tmp_path):
    write_xlsx(pd.DataFrame({"a": ["", ""], "b": [None, None]}), tmp_path / "t.xlsx")
    assert openpyxl.load_workbook(tmp_path / "t.xlsx").active.max_row == 3


def test_the_bytes_depend_only_on_the_content(tmp_path):
    frame = pd.DataFrame({"名": ["李四"], "时间": pd.to_datetime(["2020-02-10 08:30"])})
    write_xlsx(frame, tmp_path / "a.xlsx", for_people=True, choices={"名": ["是", "否"]})
    with zipfile.ZipFile(tmp_path / "a.xlsx") as package:
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = package.read("docProps/core.xml").decode()
    assert core.count("2020-01-01T00:00:00Z") == 2  # created and modified: never the clock's time


def test_a_time_zone_is_refused_not_shifted(tmp_path):
    frame = pd.DataFrame({"t": pd.to_datetime(["2020-02-10T08:30:00Z"])})
    with pytest.raises(ValueError, match="time zone"):
        write_xlsx(frame, tmp_path / "t.xlsx")


def test_odd_values_are_written_as_what_they_are(tmp_path):
    """A missing value of any kind is an empty cell, a Decimal a number, a date before Excel's
    dates are right its ISO text, "-inf" text with the quote prefix, a carriage return in a header
    a line feed."""
    from decimal import Decimal

    import numpy as np

    frame = pd.DataFrame({"a\rb": [np.datetime64("NaT"), Decimal("36.6"), date(1850, 6, 1), float("-inf")]},
                         dtype=object)
    write_xlsx(frame, tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert sheet["A1"].value == "a\nb"
    assert [sheet[f"A{r}"].value for r in range(2, 6)] == [None, 36.6, "1850-06-01", "-inf"]
    assert sheet["A5"].quotePrefix and sheet["A5"].data_type == "s"


def test_a_frame_too_large_for_a_sheet_is_refused_not_cut(tmp_path):
    with pytest.raises(ValueError, match="do not fit in one sheet"):
        write_xlsx(pd.DataFrame({f"c{k}": [] for k in range(16_385)}), tmp_path / "t.xlsx")
    assert not (tmp_path / "t.xlsx").exists()


def test_a_drop_down_xlsxwriter_cannot_write_is_an_error_not_left_out(tmp_path):
    with pytest.raises(ValueError, match="drop-down"), pytest.warns(UserWarning, match="exceeds Excel's limit"):
        write_xlsx(pd.DataFrame({"r": ["x"]}), tmp_path / "t.xlsx", choices={"r": ["选项" * 20] * 10})
