"""Zero reporting: which units reported, which days are due, who is silent (no Airflow)."""
from datetime import date, datetime, timezone

import pandas as pd

from screenfuse import reporting

UNITS = pd.DataFrame({
    "unit_id": ["CP001", "CP002", "C1", "C2"],
    "unit_type": ["checkpoint", "checkpoint", "community", "community"],
    "unit_name": ["武昌火车站卡点", "友谊大道道口", "振广港社区", "天春湾社区"],
    "street": ["中华路街道", "徐家棚街道", "积玉桥街道", "积玉桥街道"],
})


def test_expected_units_cover_checkpoints_hospitals_and_every_community():
    units = reporting.expected_units()
    assert {"checkpoint", "hospital", "community"} == set(units["unit_type"])
    assert units["unit_id"].is_unique
    assert (units["unit_type"] == "community").sum() == 125


def test_file_names_name_the_unit_and_the_day():
    assert reporting.file_unit_and_day("武昌火车站卡点_20200210.xlsx") == ("武昌火车站卡点", "2020-02-10")
    assert reporting.file_unit_and_day("CP002_20200211_resent.csv") == ("CP002", "2020-02-11")
    assert reporting.file_unit_and_day("振广港社区.csv") == ("振广港社区", "")
    assert reporting.file_unit_and_day("x_20201340.csv") == ("x", "")


def test_a_unit_reports_by_file_name_or_by_its_rows():
    files = pd.DataFrame({"file_name": ["CP002_20200210.csv", "积玉桥街道_20200210.csv", "bad.csv", "振广港社区.csv"],
                          "status": ["zero_report", "loaded", "quarantined", "zero_report"]})
    rows = pd.DataFrame({"file_name": ["积玉桥街道_20200210.csv"] * 3, "unit": ["天春湾社区"] * 2 + ["不在名单社区"]})
    got = reporting.deliveries("checkpoint", files, rows, UNITS, "2020-02-11")
    assert got[["unit_id", "report_day", "row_count"]].values.tolist() == [["CP002", "2020-02-10", 0]]
    got = reporting.deliveries("community", files, rows, UNITS, "2020-02-11")
    assert sorted(got[["unit_id", "report_day", "row_count"]].values.tolist()) == [
        ["C1", "2020-02-11", 0], ["C2", "2020-02-10", 2]]
    assert reporting.deliveries("police", files, rows, UNITS, "2020-02-11").empty  # no expected police units


def test_days_are_due_once_the_local_deadline_has_passed():
    first = date(2020, 2, 10)
    # 07:00 UTC = 15:00 in Shanghai: the 10th is not due before 16:00
    assert reporting.days_due(first, datetime(2020, 2, 10, 7, tzinfo=timezone.utc), "Asia/Shanghai", 16) == []
    assert reporting.days_due(first, datetime(2020, 2, 10, 8, tzinfo=timezone.utc), "Asia/Shanghai", 16) == [first]
    assert len(reporting.days_due(first, datetime(2020, 2, 12, 9, tzinfo=timezone.utc), "Asia/Shanghai", 16)) == 3


def test_local_day_of_a_run():
    assert reporting.local_day(datetime(2020, 2, 10, 17, tzinfo=timezone.utc), "Asia/Shanghai") == date(2020, 2, 11)


def test_silent_units_per_day():
    delivered = pd.DataFrame({"feed": ["checkpoint", "checkpoint"], "unit_id": ["CP001", "CP002"],
                              "report_day": ["2020-02-10", "2020-02-11"], "file_name": ["a", "b"], "row_count": [3, 0]})
    silent, checks = reporting.silent_units(UNITS, delivered, "checkpoint", [date(2020, 2, 10), date(2020, 2, 11)])
    assert silent[["report_day", "unit_id"]].values.tolist() == [["2020-02-10", "CP002"], ["2020-02-11", "CP001"]]
    assert checks[["expected", "reported", "silent"]].values.tolist() == [[2, 1, 1], [2, 1, 1]]
