"""What people read is on the policy's clock: push-list due times (办结时限) as local date-time
cells, labelled; answers typed into the pushed workbook come back and are stored in UTC."""
import re
import zipfile
from datetime import datetime

import openpyxl
import pandas as pd
import pytest

from screenfuse import feedback as fb
from screenfuse.contracts import load_contract
from screenfuse.ingest import stage_file
from screenfuse.gazetteer import load_gazetteer
from screenfuse.localtime import labelled, to_local, zone_label
from screenfuse.policy import default_policy
from screenfuse.pushlist import TRACING_LIST, write_outbox, write_tracing_list
from screenfuse.xlsx import write_xlsx

POLICY = default_policy(["checkpoint", "community", "hospital", "police", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring"])
DUE = "办结时限(北京时间)"


def items(due_at="2020-02-10T16:30:00Z"):
    return pd.DataFrame([{
        "push_item_id": "PIA", "street": "粮道街道", "community": "", "person_id": "P1", "name": "测试",
        "id_number": "", "phone": "", "address": "=HYPERLINK(\"http://x\")", "status": "fever",
        "measure": "transfer_fever_clinic", "detail": "发热: 1 条来源记录", "source_records": "h1", "due_at": due_at,
        "push_reason": "new_measure"}])


def test_a_due_time_in_utc_shows_as_beijing_time_in_a_real_datetime_cell(tmp_path):
    written = write_outbox(items(), tmp_path / "out", POLICY)
    sheet = openpyxl.load_workbook(tmp_path / "out" / "粮道街道.xlsx").active
    headers = [c.value for c in sheet[1]]
    assert DUE in headers and "办结时限" not in headers
    cell = sheet.cell(row=2, column=headers.index(DUE) + 1)
    assert isinstance(cell.value, datetime) and cell.is_date
    assert cell.value == datetime(2020, 2, 11, 0, 30)
    with zipfile.ZipFile(tmp_path / "out" / "粮道街道.xlsx") as package:  # an Excel serial number, not text
        xml = package.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(rf'<c r="{cell.coordinate}"(?![^>]*t="[^n])[^>]*><v>43872\.020833', xml)
    assert cell.number_format == "yyyy-mm-dd hh:mm"
    csv = pd.read_csv([p for p in written if p.suffix == ".csv"][0], dtype=str, encoding="utf-8-sig")
    assert csv[DUE].tolist() == ["2020-02-11 00:30"]


def test_no_cell_of_a_list_is_a_live_formula(tmp_path):
    write_outbox(items(), tmp_path / "out", POLICY)
    sheet = openpyxl.load_workbook(tmp_path / "out" / "粮道街道.xlsx").active
    address = sheet.cell(row=2, column=[c.value for c in sheet[1]].index("住址") + 1)
    assert address.data_type == "s" and address.value.startswith("=HYPERLINK")
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_tracing_list_answer_time_is_local_too(tmp_path):
    rows = pd.DataFrame({"push_item_id": ["PI1"], "street": ["中华路街道"], "person_id": ["P1"], "name": ["某"],
                         "id_number": [""], "phone": [""], "address": [""], "answered_at": ["2020-02-10T17:00:00Z"],
                         "reason": ["查无此人"]})
    write_tracing_list(rows, tmp_path, "Asia/Shanghai")
    sheet = openpyxl.load_workbook(tmp_path / f"{TRACING_LIST}.xlsx").active
    headers = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=headers.index("反馈时间(北京时间)") + 1).value == datetime(2020, 2, 11, 1, 0)


@pytest.mark.parametrize("typed", [datetime(2020, 2, 11, 0, 10), "2020-02-11 00:10", "2020-02-10T16:10:00Z",
                                   "2020-02-11T00:10:00+08:00"])
def test_answers_typed_into_the_pushed_workbook_come_back_in_utc(tmp_path, typed):
    """A street office fills the list's own 核查结果, 反馈时间 (a date-time cell, local; or text a
    system wrote, with its zone) and 核查人 columns and sends the workbook back: the feedback feed
    reads it, the answer is stored in UTC, the same moment whichever way it was written."""
    write_outbox(items(), tmp_path / "out", POLICY)
    book = openpyxl.load_workbook(tmp_path / "out" / "粮道街道.xlsx")
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    assert headers[-4:] == ["核查结果", "反馈时间", "核查人", "备注"]  # the answer columns, empty
    assert all(sheet.cell(row=2, column=headers.index(h) + 1).value is None for h in headers[-4:])
    for header, value in [("核查结果", "已核实"), ("反馈时间", typed), ("核查人", "核查员01")]:
        sheet.cell(row=2, column=headers.index(header) + 1, value=value)
    back = tmp_path / "fb" / "粮道街道_20200211_反馈.xlsx"
    back.parent.mkdir()
    book.save(back)
    staged = stage_file(back, load_contract("feedback"), load_gazetteer(), zone=POLICY.timezone)  # as ingest reads it
    assert staged.status == "staged", staged.reason
    answer = staged.records
    assert answer.loc[0, "push_item_id"] == "PIA" and answer.loc[0, "event_time"] == "2020-02-11 00:10:00"
    before = pd.DataFrame({"push_item_id": ["PIA"], "person_id": ["P1"], "street": ["粮道街道"], "state": ["pushed"],
                           "source_records": ["h1"], "answered_at": [None], "created_at": ["2020-02-10T14:30:00Z"],
                           "due_at": ["2020-02-10T16:30:00Z"]})
    plan = fb.plan_answers(answer.assign(verifier="核查员01", note=""), before, pd.DataFrame(columns=[
        "source_record_id", "person_id"]), pd.DataFrame(columns=["left_id", "right_id"]), "B1", POLICY.timezone)
    assert plan.updates.loc[0, "answered_at"] == "2020-02-10T16:10:00Z"  # 20 minutes before the due time
    assert plan.updates.loc[0, "answered_late"] == 0


@pytest.mark.parametrize("zone, label", [("Asia/Shanghai", "北京时间"), ("Asia/Urumqi", "Asia/Urumqi UTC+06:00"),
                                         ("Europe/Berlin", "Europe/Berlin")])
def test_zone_labels(zone, label):
    assert zone_label(zone) == label
    assert labelled("办结时限", zone) == f"办结时限({label})"


def test_to_local_keeps_missing_times_missing():
    out = to_local(pd.Series(["2020-02-10T16:30:00Z", "", None]), "Asia/Shanghai")
    assert out.iloc[0] == pd.Timestamp("2020-02-11 00:30") and out.iloc[1:].isna().all()


def test_write_xlsx_keeps_text_that_looks_like_a_formula_as_text(tmp_path):
    write_xlsx(pd.DataFrame({"=A": ["=1+1", "ok"]}), tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert [c.data_type for row in sheet.iter_rows() for c in row] == ["s", "s", "s"]


def test_a_list_is_sorted_by_urgency_readable_and_its_blank_rows_read_back_as_not_answered(tmp_path):
    """Overdue first, then the earliest due time (a 2-hour 确诊 transfer before a 24-hour check in
    an earlier community); a bold, frozen, filtered header; a returned list's blank rows are
    quarantined as not answered, not as wrong answers."""
    rows = pd.concat([items("2020-02-11T12:00:00Z").assign(push_item_id="PIB", community="一社区"),
                      items("2020-02-10T15:00:00Z").assign(push_item_id="PIC", community="九社区", status="confirmed"),
                      items("2020-02-11T20:00:00Z").assign(push_item_id="PID", push_reason="escalated")],
                     ignore_index=True)
    write_outbox(rows, tmp_path / "out", POLICY)
    sheet = openpyxl.load_workbook(tmp_path / "out" / "粮道街道.xlsx").active
    assert [sheet.cell(row=r, column=1).value for r in (2, 3, 4)] == ["PID", "PIC", "PIB"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref and sheet.cell(row=1, column=1).font.b
    back = tmp_path / "fb" / "粮道街道_20200211_反馈.xlsx"
    back.parent.mkdir()
    book = openpyxl.load_workbook(tmp_path / "out" / "粮道街道.xlsx")
    headers = [c.value for c in book.active[1]]
    for header, value in [("核查结果", "已核实"), ("反馈时间", datetime(2020, 2, 11, 0, 10)), ("核查人", "核查员01")]:
        book.active.cell(row=2, column=headers.index(header) + 1, value=value)
    book.save(back)
    staged = stage_file(back, load_contract("feedback"), load_gazetteer())
    assert fb.unanswered(staged.records).tolist() == [False, True, True]


def test_canonical_times_are_read_each_in_its_own_form():
    """datetimes.moments: a date alone is midnight beside times (pandas, left to infer, took the
    first value's form and read the other as missing); text with a zone beside none is read a value
    at a time, the zoned one as missing, as ingest's normalizer reads it."""
    from screenfuse.datetimes import moments

    stamps = [pd.Timestamp("2020-02-10 08:00:00"), pd.Timestamp("2020-02-11")]
    got = moments(pd.Series(["2020-02-10 08:00:00", "2020-02-11", ""], dtype="str"))
    assert got.tolist()[:2] == stamps and pd.isna(got.iloc[2])
    got = moments(pd.Series(["2020-02-10 08:00:00", "2020-02-10T08:00:00+08:00", "2020-02-11", None], dtype=object))
    assert got.iloc[0] == stamps[0] and got.iloc[2] == stamps[1] and got.iloc[[1, 3]].isna().all()
