"""Bad and odd files end as specified, with every row accounted for."""
import pandas as pd
import pytest

from conftest import make_id
from screenfuse.contracts import load_contract
from screenfuse.gazetteer import load_gazetteer
from screenfuse.ingest import stage_file
from screenfuse.validation import validate_rows
from screenfuse.xlsx import write_xlsx

ID1 = make_id("42010619800101123")
ID2 = make_id("42010619900202234")
ROWS = [
    {"卡点名称": "南湖收费站", "检测时间": "2020-02-10 08:00", "姓名": "张伟", "身份证号": ID1,
     "联系电话": "13812345678", "目的地": "积玉桥一路1号", "体温": "36.6", "处置措施": "放行"},
    {"卡点名称": "南湖收费站", "检测时间": "2020/2/10 9:30", "姓名": "李娜", "身份证号": ID2,
     "联系电话": "+86 139-8765-4321", "目的地": "不详", "体温": "37.8℃", "处置措施": "转运发热门诊"},
]


def stage(path, feed="checkpoint"):
    return stage_file(path, load_contract(feed), load_gazetteer())


def write_csv(path, rows, encoding="utf-8"):
    path.write_bytes(pd.DataFrame(rows).to_csv(index=False).encode(encoding))
    return path


@pytest.mark.parametrize("encoding, detected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"),
                                                ("gb18030", "gb18030"), ("utf-16", "utf-16")])
def test_encodings_are_detected(tmp_path, encoding, detected):
    staged = stage(write_csv(tmp_path / "a.csv", ROWS, encoding))
    assert (staged.status, staged.encoding, staged.rows_read) == ("staged", detected, 2)
    assert staged.records["name"].tolist() == ["张伟", "李娜"]
    assert staged.records["phone"].tolist() == ["13812345678", "13987654321"]


def test_xlsx_and_stable_record_ids(tmp_path):
    path = tmp_path / "a.xlsx"
    write_xlsx(pd.DataFrame(ROWS), path)
    first, again = stage(path), stage(path)
    assert first.file_format == "xlsx" and first.rows_read == 2
    assert first.records["source_record_id"].tolist() == again.records["source_record_id"].tolist()
    assert first.records["id_number"].tolist() == [ID1, ID2]


@pytest.mark.parametrize("hidden_first, active", [(True, 1), (False, 1), (True, 2)])
def test_a_workbook_is_read_from_its_visible_sheet_of_rows(tmp_path, hidden_first, active):
    """A template's hidden list of choices first, the rows on the sheet open when it was saved:
    the rows are read (the whole file was quarantined: no columns). With the open sheet hidden,
    the first visible one."""
    from openpyxl import Workbook

    book = Workbook()
    choices = book.active
    choices.title, choices.sheet_state = "选项", "hidden" if hidden_first else "visible"
    choices.append(["放行", "劝返"])
    rows = book.create_sheet("登记")
    for line in [list(ROWS[0]), *[list(r.values()) for r in ROWS]]:
        rows.append(line)
    notes = book.create_sheet("说明")
    notes.append(["填表说明"])
    notes.sheet_state = "hidden"
    book.active = active
    path = tmp_path / "template.xlsx"
    book.save(path)
    staged = stage(path)
    assert (staged.status, staged.rows_read) == ("staged", 2)
    assert staged.records["id_number"].tolist() == [ID1, ID2]


def test_a_workbook_with_instructions_in_front_is_read_from_the_sheet_of_rows(tmp_path):
    """A visible 填表说明 sheet first and open: its header is nobody's, the next visible sheet's is
    the contract's, and its rows are read (the file was quarantined whole)."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["请按要求填写，身份证号填18位"])
    rows = book.create_sheet("登记")
    for line in [list(ROWS[0]), *[list(r.values()) for r in ROWS]]:
        rows.append(line)
    path = tmp_path / "instructions first.xlsx"
    book.save(path)
    staged = stage(path)
    assert (staged.status, staged.rows_read, staged.records["id_number"].tolist()) == ("staged", 2, [ID1, ID2])


def test_a_header_of_two_rows_with_merged_cells_is_read(tmp_path):
    """卡点名称 merged down two rows, 人员信息 and 检测情况 merged across the names below them: the
    file was held for schema drift every hour, its rows never read."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["卡点名称", "人员信息", None, None, None, "检测情况", None, None])
    sheet.append([None, "姓名", "身份证号", "联系电话", "目的地", "检测时间", "体温", "处置措施"])
    for r in ROWS:
        sheet.append([r["卡点名称"], r["姓名"], r["身份证号"], r["联系电话"], r["目的地"], r["检测时间"], r["体温"], r["处置措施"]])
    for cells in ("A1:A2", "B1:E1", "F1:H1"):
        sheet.merge_cells(cells)
    path = tmp_path / "two rows.xlsx"
    book.save(path)
    staged = stage(path)
    assert (staged.status, staged.rows_read) == ("staged", 2)
    assert staged.records["unit"].tolist() == ["南湖收费站"] * 2 and staged.records["id_number"].tolist() == [ID1, ID2]


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"\x00\x00garbage\xff\xff", "not UTF-8, UTF-16, GBK/GB18030 or Big5"),
])
def test_unreadable_or_empty_files_are_quarantined_whole(tmp_path, content, reason):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    staged = stage(path)
    assert staged.status == "quarantined" and reason in staged.reason
    assert staged.records.empty


def test_header_only_file_is_a_zero_report(tmp_path):
    path = tmp_path / "武昌火车站卡点_20200210.csv"
    path.write_bytes("卡点名称,检测时间,姓名\n".encode())
    staged = stage(path)
    assert staged.status == "zero_report" and staged.rows_read == 0 and staged.records.empty


def test_missing_required_column_holds_the_file_for_schema_drift(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "姓名"} for r in ROWS]
    staged = stage(write_csv(tmp_path / "noname.csv", rows))
    assert staged.status == "held"  # read again every run until the contract or the file is fixed
    assert "schema drift: required column 'name'" in staged.reason
    assert staged.rows_read == 2  # counted: 2 read, 2 quarantined with the file this run


def test_corrupt_xlsx_is_quarantined(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    assert stage(path).status == "quarantined"


def test_excel_mangled_ids_and_bad_rows_are_quarantined_with_reasons(tmp_path):
    nothing_else = {"联系电话": "", "目的地": ""}  # no phone, no address: only the ID said who it was
    rows = ROWS + [
        dict(ROWS[0], 身份证号="4.20106E+17", **nothing_else),
        dict(ROWS[0], 姓名=""),
        dict(ROWS[0], 体温="365"),
        dict(ROWS[0], 检测时间="昨天"),
    ]
    path = tmp_path / "mixed.xlsx"
    frame = pd.DataFrame(rows).astype(object)
    frame.loc[len(frame)] = dict(ROWS[0], 身份证号=float(ID1[:17] + "0"), **nothing_else)  # a number cell, as Excel keeps it
    write_xlsx(frame, path)
    staged = stage(path)
    reasons = validate_rows(staged.records, load_contract("checkpoint"))
    assert staged.rows_read == 7
    assert reasons.tolist()[:2] == ["", ""]
    assert "id_number unusable" in reasons[2] and "id_number unusable" in reasons[6]
    assert reasons[3] == "name missing"
    assert "temperature outside" in reasons[4]
    assert "event_time missing or not a date/time" in reasons[5]
    for reason in reasons:  # reasons never carry the row's values
        assert ID1 not in reason and "张伟" not in reason


def test_rows_are_validated_a_chunk_at_a_time_with_each_reason_on_its_own_row(tmp_path, monkeypatch):
    """GX validates at most ROW_CHUNK rows at once (its copies of a million rows cost GBs), the
    chunks dealt to forked workers: a failing row in a later chunk, validated by another process,
    gets its reason at its own position, as in one run."""
    from screenfuse import validation

    rows = ROWS + [dict(ROWS[0], 姓名=""), dict(ROWS[0], 体温="365"), dict(ROWS[1]), dict(ROWS[0], 检测时间="昨天"),
                   dict(ROWS[0], 姓名="", 体温="365")]
    records = stage(write_csv(tmp_path / "chunks.csv", rows)).records
    records.index = records.index + 100  # the reasons follow the records' own index
    whole = validate_rows(records, load_contract("checkpoint"))
    monkeypatch.setattr(validation, "ROW_CHUNK", 2)
    chunked = validate_rows(records, load_contract("checkpoint"))
    assert chunked.index.tolist() == records.index.tolist() and chunked.tolist() == whole.tolist()
    assert whole.tolist()[:3] == ["", "", "name missing"] and "temperature outside" in whole.iloc[3]
    assert whole.iloc[4] == "" and "event_time" in whole.iloc[5]
    assert "name missing" in whole.iloc[6] and "temperature outside" in whole.iloc[6]


def test_gx_checks_a_batch_of_rows_without_fingerprinting_every_value():
    """GX's batch fingerprint (a hash of every value) is metadata nothing reads: the project's
    context turns it off."""
    from screenfuse import validation

    frame = pd.DataFrame({"name": ["张伟", None]})
    batch = validation._context().data_sources.add_pandas("p").add_dataframe_asset("a") \
        .add_batch_definition_whole_dataframe("w").get_batch(batch_parameters={"dataframe": frame})
    assert "pandas_data_fingerprint" not in batch.batch_markers  # the reasons: the tests above


def test_blank_rows_are_counted_not_records(tmp_path):
    rows = ROWS + [{k: "" for k in ROWS[0]}]
    staged = stage(write_csv(tmp_path / "blank.csv", rows))
    assert (staged.rows_read, staged.blank_rows) == (2, 1)


def test_documents_are_accepted_and_an_unusable_id_is_set_aside_when_the_row_says_who(tmp_path):
    rows = ROWS + [
        dict(ROWS[0], 姓名="约翰", 身份证号="e 1234 5678"),  # a passport, no 证件类型 column: its form says
        dict(ROWS[0], 姓名="陈大文", 身份证号="H12345678"),  # 港澳居民来往内地通行证
        dict(ROWS[0], 姓名="林志明", 身份证号="1234567(B)"),  # 台湾居民来往大陆通行证 (older form: its letter says;
        # 8 bare digits without 证件类型 are set aside: test_documents, test_bare_digits_without_a_type_are_no_document)
        dict(ROWS[0], 姓名="安娜", 身份证号="USA123456789012"),  # 外国人永久居留身份证 (2004 form)
        dict(ROWS[0], 身份证号="不是证件号!!"),  # garbage, but a name and a phone: ID set aside
        dict(ROWS[0], 身份证号="4.20106E+17", 联系电话="", 目的地="积玉桥一路1号"),  # through Excel; name and address
        dict(ROWS[0], 身份证号="???", 联系电话="", 目的地=""),  # garbage and nothing else: quarantined
        dict(ROWS[0], 身份证号=ID1[:-1] + ("0" if ID1[-1] != "0" else "1")),  # a mistyped resident ID stays one
    ]
    staged = stage(write_csv(tmp_path / "docs.csv", rows))
    records = staged.records
    reasons = validate_rows(records, load_contract("checkpoint"))
    assert reasons.tolist()[:8] == [""] * 8
    assert "id_number unusable" in reasons[8]
    assert reasons[9] == ""
    assert records["id_type"].tolist() == ["resident_id", "resident_id", "passport", "hk_macau_permit", "taiwan_permit",
                                           "foreign_pr_card", "", "", "", "resident_id"]
    assert records["id_number"].tolist()[2:6] == ["E12345678", "H12345678", "1234567B", "USA123456789012"]
    assert records["id_status"].tolist()[2:] == ["document"] * 4 + ["set_aside", "set_aside", "malformed", "failed_check"]
    assert records.loc[6, "id_set_aside"] == "id_number set aside: neither a resident ID nor another document's number"
    assert records.loc[7, "id_set_aside"] == "id_number set aside: a number through Excel (digits lost)"
    assert (records["id_set_aside"].drop([6, 7]) == "").all()
    assert "不是证件号" in records.loc[6, "raw_json"]  # the number as sent is kept with the row
    for text in (*reasons, *records["id_set_aside"]):  # reasons never carry the row's values
        assert "不是证件号" not in text and "张伟" not in text and "E12345678" not in text


def test_a_required_id_number_is_never_set_aside(tmp_path):
    from dataclasses import replace

    contract = load_contract("checkpoint")
    strict = replace(contract, fields={**contract.fields, "id_number": replace(contract.fields["id_number"], required=True)})
    staged = stage_file(write_csv(tmp_path / "strict.csv", [dict(ROWS[0], 身份证号="不是证件号!!")]), strict,
                        load_gazetteer())
    assert staged.records.loc[0, "id_set_aside"] == ""
    assert "id_number unusable" in validate_rows(staged.records, strict)[0]


def test_a_document_type_column_decides_the_type(tmp_path):
    rows = [dict(ROWS[0], 证件类型=kind, 身份证号=number) for kind, number in [
        ("护照", "g1234567"), ("台胞证", "0123456(B)"), ("居民身份证", "E12345678"), ("外国人永久居留身份证", "ABC123456789012"),
        ("", "H12345678"), ("军官证", "军字第123456号")]]
    contract = load_contract("checkpoint")
    from dataclasses import replace
    from screenfuse.contracts import FieldSpec

    typed = replace(contract, fields={**contract.fields, "id_type": FieldSpec("id_type", "text", aliases=("证件类型",))})
    records = stage_file(write_csv(tmp_path / "typed.csv", rows), typed, load_gazetteer()).records
    assert records["id_type"].tolist() == ["passport", "taiwan_permit", "", "foreign_pr_card", "hk_macau_permit", ""]
    assert records["id_number"].tolist() == ["G1234567", "0123456B", "", "ABC123456789012", "H12345678", ""]
    # a number 身份证 cannot be is set aside, not taken for another document; so is a number of no form
    assert records["id_status"].tolist() == ["document", "document", "set_aside", "document", "document", "set_aside"]


def test_a_first_row_of_data_never_lands_in_unmapped_headers(tmp_path):
    """No header row, and the first row's checkpoint is literally named 检测点 (an alias): the
    other cells (name, ID, phone) are data, not headers the operator should see."""
    path = tmp_path / "no_header.csv"
    path.write_text(f"检测点,2020-02-10 08:00,张伟,{ID1},13812345678\n南湖收费站,2020-02-10 09:00,李娜,{ID2},13987654321\n",
                    encoding="utf-8")
    staged = stage(path)
    assert staged.status == "held"  # one known name: it may be a renamed template, so it waits
    assert staged.unmapped_headers == []  # but what it holds beside that name is never kept


def test_a_real_header_keeps_its_unknown_names_but_never_a_number(tmp_path):
    rows = [dict(ROWS[0], 备用电话13812345678="x", 车辆颜色="白")]
    staged = stage(write_csv(tmp_path / "extra.csv", rows))
    assert staged.unmapped_headers == ["车辆颜色"]


def test_an_optional_date_that_cannot_be_read_is_named_and_the_row_kept(tmp_path):
    """2月30日, a month 13, a time without a date: the row keeps its person (accepted), the field is
    named in `unreadable` (never its value), the value as sent stays in raw_json; a word for "none"
    and an empty cell are no value, a readable date is read."""
    rows = [dict(ROWS[0], 入境日期=arrival, 离开日期=departure) for arrival, departure in [
        ("2020-02-30", "2020-02-20"),  # no such day; the departure reads
        ("2020年13月2日", "12:30"),  # month 13; a time without its date
        ("不详", ""),  # said there is none; empty
        ("2020-02-08", "2020/2/20"),  # both read
        ("2月8日", "无"),  # no year: the day nearest the event; none
        ("——", "待定"),  # a dash for none; to be decided
        ("\u200b", "nan"),  # a zero-width space a copy left; a NaN a script wrote
    ]]
    staged = stage(write_csv(tmp_path / "dates.csv", rows))
    records = staged.records
    assert validate_rows(records, load_contract("checkpoint")).tolist() == [""] * 7  # every row kept
    assert records["unreadable"].tolist() == ["arrival_date", "arrival_date, departure_date", "", "", "", "", ""]
    assert records["arrival_date"].tolist() == ["", "", "", "2020-02-08", "2020-02-08", "", ""]
    assert "2020-02-30" in records.loc[0, "raw_json"] and "12:30" in records.loc[1, "raw_json"]


def test_a_field_under_two_headers_takes_each_rows_value(tmp_path):
    """Rows pasted in from two templates: 姓名 and 人员姓名 in one sheet, each row's name under
    one of them. Each row keeps its name; neither header is reported as unknown."""
    rows = [dict(ROWS[0], 人员姓名=""), dict(ROWS[1], 姓名="", 人员姓名="李娜")]
    staged = stage(write_csv(tmp_path / "two_templates.csv", rows))
    assert staged.status == "staged" and staged.unmapped_headers == []
    assert staged.records["name"].tolist() == ["张伟", "李娜"]
    assert validate_rows(staged.records, load_contract("checkpoint")).tolist() == ["", ""]


def test_two_headers_of_one_field_both_filled_in_a_row_are_not_merged(tmp_path):
    """Where a row holds a name under both headers they are two persons' (a hotline's 来电人姓名,
    the caller, beside 姓名): nothing is filled from the second, which is reported as unknown."""
    rows = [dict(ROWS[0], 人员姓名="王方"), dict(ROWS[1], 姓名="", 人员姓名="李娜")]
    staged = stage(write_csv(tmp_path / "caller.csv", rows))
    assert staged.unmapped_headers == ["人员姓名"]
    assert staged.records["name"].tolist()[0] == "张伟"
    assert validate_rows(staged.records, load_contract("checkpoint")).tolist() == ["", "name missing"]
