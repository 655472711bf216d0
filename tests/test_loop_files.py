"""The loop's files: police tracing list, daily zero report, synthetic later days and answers."""
from datetime import date, datetime

import pandas as pd

from screenfuse.pushlist import TRACING_LIST, write_tracing_list, write_zero_report
from screenfuse.synthetic import answer_push_lists, generate


def test_tracing_list_has_chinese_headers_and_nothing_when_empty(tmp_path):
    assert write_tracing_list(pd.DataFrame(), tmp_path / "b") == []
    rows = pd.DataFrame({"push_item_id": ["PI1"], "street": ["中华路街道"], "person_id": ["P1"], "name": ["某"],
                         "id_number": [""], "phone": [""], "address": [""], "answered_at": ["2020-02-10T13:00:00Z"],
                         "reason": ["查无此人"]})
    written = write_tracing_list(rows, tmp_path / "b")
    assert [p.name for p in written] == [f"{TRACING_LIST}.csv", f"{TRACING_LIST}.xlsx"]
    listed = pd.read_csv(written[0], dtype=str, encoding="utf-8-sig")
    assert listed.columns[0] == "推送编号" and listed["协查原因"].tolist() == ["查无此人"]


def test_daily_zero_report_per_day_checked(tmp_path):
    checks = pd.DataFrame({"report_day": ["2020-02-10", "2020-02-10", "2020-02-11"],
                           "feed": ["hospital", "community", "hospital"],
                           "unit_type": ["hospital", None, None], "unit_id": ["HS003", None, None],
                           "unit_name": ["某医院", None, None], "street": ["紫阳街道", None, None]})
    written = write_zero_report(checks, tmp_path)
    assert [p.name for p in written] == ["零报告日报_20200210.csv", "零报告日报_20200210.xlsx",
                                         "零报告日报_20200211.csv", "零报告日报_20200211.xlsx"]
    first = pd.read_csv(written[0], dtype=str, encoding="utf-8-sig")
    assert first[["单位编号", "报送类别", "单位类型"]].values.tolist() == [["HS003", "医疗机构", "医疗机构"]]
    assert pd.read_excel(written[1], dtype=str)[["单位编号", "报送类别"]].values.tolist() == [["HS003", "医疗机构"]]
    assert pd.read_csv(written[2], dtype=str, encoding="utf-8-sig").empty  # every unit reported


def test_a_later_day_and_zero_reports_are_seeded(tmp_path):
    one = generate(300, 5, date(2020, 2, 11), tmp_path / "a", tmp_path / "ta", day_index=1, zero_reports=True)
    two = generate(300, 5, date(2020, 2, 11), tmp_path / "b", tmp_path / "tb", day_index=1, zero_reports=True)
    assert one == two
    first = generate(300, 5, date(2020, 2, 10), tmp_path / "c", tmp_path / "tc")
    assert sum(one["rows"].values()) < sum(first["rows"].values())  # a third of the people turn up again
    headers_only = [p for p in (tmp_path / "a").rglob("*.csv") if len(p.read_bytes().splitlines()) == 1]
    assert headers_only  # units that found nobody sent the header
    assert (tmp_path / "ta" / "truth_1.csv").exists()


def test_synthetic_answers_follow_the_outbox(tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    items = pd.DataFrame({"推送编号": [f"PI{i:03d}" for i in range(40)], "推送类型": ["新增措施"] * 39 + ["转出(已移交他街)"],
                          "超时": [""] * 40, "管控措施": ["集中隔离"] * 40, "办结时限(北京时间)": ["2020-02-11 03:00"] * 40})
    items.to_csv(outbox / "中华路街道.csv", index=False, encoding="utf-8-sig")
    items.to_csv(outbox / "区级清单.csv", index=False, encoding="utf-8-sig")
    counts = answer_push_lists(outbox, tmp_path / "fb", 3, datetime(2020, 2, 10, 13, 5))
    files = list((tmp_path / "fb").glob("*.csv"))
    assert [f.name for f in files] == ["中华路街道_20200210_反馈.csv"]  # the district list is not answered
    answers = pd.read_csv(files[0], dtype=str, encoding="utf-8-sig")
    assert len(answers) == counts["answered"] and "PI039" not in set(answers["推送编号"])
    assert set(answers["核查结果"]) <= {"已隔离", "非本人", "查无此人", "已离开本辖区"}
    assert counts == answer_push_lists(outbox, tmp_path / "fb2", 3, datetime(2020, 2, 10, 13, 5))
