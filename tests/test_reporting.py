"""Zero reporting: which units reported, which days are due, who is silent (no Airflow)."""
from datetime import date, datetime, timezone

import pandas as pd

from screenfuse import reporting
from screenfuse.policy import default_policy

UNITS = pd.DataFrame({
    "unit_id": ["CP001", "CP002", "C1", "C2"],
    "unit_type": ["checkpoint", "checkpoint", "community", "community"],
    "unit_name": ["武昌火车站卡点", "友谊大道道口", "振广港社区", "天春湾社区"],
    "street": ["中华路街道", "徐家棚街道", "积玉桥街道", "积玉桥街道"],
})


def test_expected_units_cover_every_feed_the_policy_names_police_stations_included():
    units = reporting.expected_units(default_policy().zero_report.deadline_hour)
    assert {"checkpoint", "police", "hospital", "community", "arrivals", "pharmacy",
            "isolation_monitoring"} == set(units["unit_type"])
    assert units["unit_id"].is_unique
    assert (units["unit_type"] == "arrivals").sum() == 5  # the hubs' teams (四站一场, seed 000 l.43)
    points = units[units["unit_type"] == "isolation_monitoring"]  # the isolation points send a daily file too
    assert len(points) == 6 and points["unit_name"].str.endswith("隔离点").all()
    assert (units["unit_type"] == "community").sum() == 125
    police = units[units["unit_type"] == "police"]
    assert len(police) == 14 and police["street"].is_unique  # one station per street of the district
    assert set(reporting.expected_units(["police"])["unit_type"]) == {"police"}
    pharmacies = units[units["unit_type"] == "pharmacy"]  # seed 000 l.41: the registering pharmacies
    assert sorted(pharmacies["unit_id"]) == ["PH001", "PH002", "PH003", "PH004", "PH005", "PH006"]


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
    assert reporting.deliveries("police", files, rows, UNITS, "2020-02-11").empty  # no expected police units here


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
                              "report_day": ["2020-02-10", "2020-02-11"], "file_name": ["a", "b"], "row_count": [3, 0],
                              "arrived_at": [None, None]})
    silent, late, checks = reporting.check_days(UNITS, delivered, "checkpoint", [date(2020, 2, 10), date(2020, 2, 11)],
                                                16, "Asia/Shanghai")
    assert silent[["report_day", "unit_id"]].values.tolist() == [["2020-02-10", "CP002"], ["2020-02-11", "CP001"]]
    assert late.empty
    assert checks[["expected", "reported", "late", "silent"]].values.tolist() == [[2, 1, 0, 1], [2, 1, 0, 1]]
    assert checks["check_key"].tolist() == ["2020-02-10|checkpoint", "2020-02-11|checkpoint"]


def test_the_deadline_is_the_local_hour_of_the_day():
    assert reporting.deadline(date(2020, 2, 10), 16, "Asia/Shanghai") == datetime(2020, 2, 10, 8, tzinfo=timezone.utc)
    assert reporting.deadline(date(2020, 2, 10), 24, "Asia/Shanghai") == datetime(2020, 2, 10, 16, tzinfo=timezone.utc)


def test_a_file_arrives_at_its_time_within_the_run_else_after_the_previous_run():
    previous, end = datetime(2020, 2, 10, 8, tzinfo=timezone.utc), datetime(2020, 2, 10, 17, tzinfo=timezone.utc)
    ns = lambda *a: int(datetime(*a, tzinfo=timezone.utc).timestamp() * 1e9)  # noqa: E731
    mtimes = pd.Series([ns(2020, 2, 10, 16, 30), ns(2020, 2, 10, 7), ns(2025, 1, 1)])
    assert reporting.arrivals(mtimes, previous, end).tolist() == [
        "2020-02-10T16:30:00Z", "2020-02-10T08:00:00Z", "2020-02-10T08:00:00Z"]
    # the first run: a time after the run (a copy, a replay) says nothing, the file counts on time
    assert reporting.arrivals(mtimes, None, end).tolist() == ["2020-02-10T16:30:00Z", "2020-02-10T07:00:00Z", None]


def test_a_police_station_whose_only_file_came_after_the_deadline_is_late():
    units = pd.DataFrame({"unit_id": ["PS001", "PS002", "PS003"], "unit_type": "police",
                          "unit_name": ["积玉桥派出所", "杨园派出所", "徐家棚派出所"], "street": ["积玉桥街道", "杨园街道", "徐家棚街道"]})
    delivered = pd.DataFrame({  # PS001 on time; PS002 only after 16:00 local (08:00 UTC); PS003 on time and late
        "feed": "police", "unit_id": ["PS001", "PS002", "PS003", "PS003"], "report_day": "2020-02-10",
        "file_name": ["a", "b", "c", "d"], "row_count": 0,
        "arrived_at": ["2020-02-10T07:59:00Z", "2020-02-10T08:30:00Z", "2020-02-10T09:00:00Z", "2020-02-10T02:00:00Z"]})
    silent, late, checks = reporting.check_days(units, delivered, "police", [date(2020, 2, 10)], 16, "Asia/Shanghai")
    assert silent.empty
    assert late[["unit_id", "file_name", "after_check"]].values.tolist() == [["PS002", "b", 0]]
    assert checks[["expected", "reported", "late", "silent"]].values.tolist() == [[3, 3, 1, 0]]


def test_a_report_after_the_check_turns_the_silent_unit_late_and_updates_the_day():
    silent = pd.DataFrame({"report_day": "2020-02-10", "feed": "police", "unit_id": ["PS002", "PS003"],
                           "unit_type": "police", "unit_name": ["杨园派出所", "徐家棚派出所"], "street": ["杨园街道", "徐家棚街道"],
                           "batch_id": "20200210T0800Z"})
    checks = pd.DataFrame({"report_day": ["2020-02-10"], "feed": ["police"], "expected": [14], "reported": [12],
                           "late": [0], "silent": [2], "check_key": ["2020-02-10|police"], "batch_id": ["20200210T0800Z"],
                           "changed_batch_id": ["20200210T0800Z"]})
    came = pd.DataFrame({"feed": "police", "unit_id": ["PS002", "PS001"], "report_day": "2020-02-10",
                         "file_name": ["杨园派出所_20200210.csv", "积玉桥派出所_20200210_2.csv"], "row_count": 0,
                         "arrived_at": "2020-02-10T17:00:00Z"})
    late, updated = reporting.late_after_check(came, silent, pd.DataFrame(), checks)
    assert late[["unit_id", "after_check"]].values.tolist() == [["PS002", 1]]  # PS001 reported on time before
    assert updated[["reported", "late", "silent", "batch_id"]].values.tolist() == [[13, 1, 1, "20200210T0800Z"]]
    again, none = reporting.late_after_check(came, silent, late, checks)  # a second file of a unit already late
    assert again.empty and none.empty
