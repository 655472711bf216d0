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


@pytest.mark.parametrize("encoding, detected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")])
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


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"\xff\xfe\x00\x00garbage\x81", "not UTF-8 or GBK"),
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


def test_missing_required_column_quarantines_file(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "姓名"} for r in ROWS]
    staged = stage(write_csv(tmp_path / "noname.csv", rows))
    assert staged.status == "quarantined"
    assert "required column 'name'" in staged.reason
    assert staged.rows_read == 2  # counted: 2 read, 2 quarantined with the file


def test_corrupt_xlsx_is_quarantined(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    assert stage(path).status == "quarantined"


def test_excel_mangled_ids_and_bad_rows_are_quarantined_with_reasons(tmp_path):
    rows = ROWS + [
        dict(ROWS[0], 身份证号="4.20106E+17"),
        dict(ROWS[0], 姓名=""),
        dict(ROWS[0], 体温="365"),
        dict(ROWS[0], 检测时间="昨天"),
    ]
    path = tmp_path / "mixed.xlsx"
    frame = pd.DataFrame(rows).astype(object)
    frame.loc[len(frame)] = dict(ROWS[0], 身份证号=float(ID1[:17] + "0"))  # a number cell, as Excel keeps it
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


def test_blank_rows_are_counted_not_records(tmp_path):
    rows = ROWS + [{k: "" for k in ROWS[0]}]
    staged = stage(write_csv(tmp_path / "blank.csv", rows))
    assert (staged.rows_read, staged.blank_rows) == (2, 1)
