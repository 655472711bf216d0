"""Isolation points (issue 9): the points list and the daily monitoring feed read and checked, the
rules of the default policy (fever or symptoms in isolation, 解除隔离), and the missed daily check:
found only once the day's deadline (18:00 local) has passed, not for a person released or
transferred, pushed to the point's street and closed when the checks resume. Synthetic data only."""
import re
from datetime import datetime, timezone

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from screenfuse import isolation
from screenfuse.contracts import load_contract
from screenfuse.gazetteer import load_gazetteer
from screenfuse.ingest import stage_file
from screenfuse.policy import default_policy
from screenfuse.policy_rules import record_status
from screenfuse.validation import validate_rows
from conftest import write_csv

POLICY = default_policy()
MONITORING = ["隔离点", "房间号", "监测日期", "姓名", "证件号码", "联系电话", "上午体温", "下午体温", "症状", "核酸结果", "去向"]
POINT = "华信酒店隔离点"


def monitoring(*rows) -> pd.DataFrame:
    """Hand-made monitoring records of persons (person, day, action, room, point) as fuse reads them."""
    out = []
    for n, (person, day, action, *rest) in enumerate(rows):
        room = rest[0] if rest else "801"
        point = rest[1] if len(rest) > 1 else POINT
        out.append({"source_record_id": f"isolation_monitoring-{n:03d}", "person_id": person,
                    "feed": "isolation_monitoring", "unit": point, "event_time": f"{day} 00:00:00",
                    "action": action, "details_json": f'{{"room": "{room}"}}'})
    return pd.DataFrame(out)


def stays_at(records: pd.DataFrame, as_of: str, measure: str = "centralized_isolation", status: str = "close_contact"):
    persons = pd.DataFrame({"person_id": sorted(set(records["person_id"])), "status": status, "measure": measure})
    stay = isolation.stays(records.drop(columns="person_id"), records[["source_record_id", "person_id"]], persons,
                           as_of, POLICY)
    return stay.set_index("person_id"), persons


# ------------------------------------------------------------------------------ reading the feeds

def test_a_monitoring_row_takes_the_higher_reading_and_a_bad_one_is_quarantined(tmp_path):
    path = tmp_path / f"{POINT}_20200211.csv"
    write_csv(path, MONITORING, [
        [POINT, "801", "2020年2月11日", "测试甲", "", "13800000001", "36.5℃", "37.4", "无", "", ""],
        [POINT, "802", "2020/2/11", "测试乙", "", "13800000002", "36.4", "", "咳嗽", "阴性", ""],
        [POINT, "803", "2020-02-11", "测试丙", "", "13800000003", "36.5度?", "36.6", "", "", ""],
        [POINT, "804", "2020-02-11", "测试丁", "", "13800000004", "3.65", "36.6", "", "", "解除隔离"]])
    contract = load_contract("isolation_monitoring")
    records = stage_file(path, contract, load_gazetteer()).records
    assert records["temperature"].tolist()[:2] == [37.4, 36.4]  # the higher of 上午/下午体温
    assert records["event_time"].str.slice(0, 10).tolist() == ["2020-02-11"] * 4
    reasons = validate_rows(records, contract)
    assert reasons.tolist()[:2] == ["", ""]
    assert "temperature not a number" in reasons[2]
    assert "temperature_am outside 34.0-43.0 °C" in reasons[3]  # a misplaced point is no reading
    assert not any("测试" in r for r in reasons)  # no names in reasons


def test_the_points_list_keeps_one_row_per_point_and_refuses_a_room_count_that_is_no_number(tmp_path):
    header = ["隔离点名称", "所属街道", "地址", "房间数", "收治类别", "更新时间"]
    path = tmp_path / "隔离点清单_20200210.csv"
    write_csv(path, header, [[POINT, "积玉桥街道", "积玉桥一路1号", "120间", "密接,境外返汉", "2020-02-10 08:00"],
                             ["楚天宾馆隔离点", "徐家棚街道", "", "很多", "发热", "2020-02-10 08:00"],
                             [POINT, "积玉桥街道", "积玉桥一路1号", "118", "密接", "2020-02-10 09:00"]])
    contract = load_contract("isolation_point")
    staged = stage_file(path, contract, load_gazetteer()).records
    reasons = validate_rows(staged, contract)
    assert reasons.tolist() == ["", "rooms not a whole number", ""]
    points = isolation.point_rows(staged[reasons == ""], "B1")
    assert points[["point_name", "street", "rooms", "takes"]].values.tolist() == [[POINT, "积玉桥街道", 118, "密接"]]
    first = isolation.point_rows(staged.iloc[[0]], "B1")
    assert first["takes"].iloc[0] == "密接、境外返汉"


# ------------------------------------------------------------------------------ the rules

def test_fever_or_a_symptom_in_isolation_is_a_fever_and_the_points_release_is_a_release():
    records = pd.DataFrame({
        "feed": ["isolation_monitoring"] * 6 + ["hospital"],
        "temperature": [37.3, 37.2, 36.5, 36.5, 36.5, 36.5, 37.5],
        "action": ["", "", "", "", "解除隔离", "转出(转运定点医院)", ""],
        "nucleic_acid": ["", "", "", "", "", "", ""],
        "details_json": ["{}", "{}", '{"symptoms": "咳嗽、乏力"}', '{"symptoms": "无发热,无咳嗽"}', "{}", "{}",
                         '{"symptoms": "咳嗽"}'],
    })
    assert record_status(records, POLICY).tolist() == ["fever", "none", "fever", "none", "released", "none", "none"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["无", "咳嗽", "乏力", "发热", "未发热", "无咳嗽", "否认乏力", "咽痛", "、", ","]),
                max_size=5))
def test_symptoms_are_found_unless_denied(words):
    text = "".join(words)
    found = record_status(pd.DataFrame({"feed": ["isolation_monitoring"], "temperature": [36.5], "action": [""],
                                        "nucleic_acid": [""], "details_json": [f'{{"symptoms": "{text}"}}']}),
                          POLICY).iloc[0] == "fever"
    # a symptom counts in an item (up to the next 、 or ,) that does not begin with a denial (无, 未, 否认 …):
    # the same reading as the self-report line's (one condition, symptoms_contain_any)
    items = re.split(r"[、,，;；/\s]", text)
    named = any(not item.startswith(("无", "没有", "未", "否认", "否", "不"))
                and any(word in item for word in ("咳嗽", "乏力", "发热", "咽痛")) for item in items)
    assert found == named


# ------------------------------------------------------------------------------ missed checks

def test_a_missed_check_is_found_only_once_the_deadline_has_passed():
    records = monitoring(("P1", "2020-02-09", ""), ("P1", "2020-02-10", ""))
    before, _ = stays_at(records, "2020-02-11T09:59:59Z")  # 17:59 local on 02-11
    assert before.loc["P1", "held"] and before.loc["P1", "missed_days"] == ""
    assert before.loc["P1", "next_deadline"] == "2020-02-11T10:00:00Z"  # 18:00 local: the run of that hour looks
    at, _ = stays_at(records, "2020-02-11T10:00:00Z")
    assert at.loc["P1", "missed_days"] == "2020-02-11"
    assert at.loc["P1", "next_deadline"] == "2020-02-12T10:00:00Z"
    later, _ = stays_at(records, "2020-02-13T11:00:00Z")
    assert later.loc["P1", "missed_days"] == "2020-02-11,2020-02-12,2020-02-13"
    checked, _ = stays_at(monitoring(("P1", "2020-02-10", ""), ("P1", "2020-02-11", "")), "2020-02-11T10:00:00Z")
    assert checked.loc["P1", "missed_days"] == ""  # the day's row came in (late rows count)


def test_a_person_released_or_transferred_is_no_longer_expected():
    released, _ = stays_at(monitoring(("P1", "2020-02-10", ""), ("P1", "2020-02-11", "解除隔离")), "2020-02-14T00:00:00Z")
    assert not released.loc["P1", "held"] and released.loc["P1", "missed_days"] == ""
    assert released.loc["P1", "next_deadline"] == ""
    out, _ = stays_at(monitoring(("P1", "2020-02-10", "转出(转发热门诊)")), "2020-02-14T00:00:00Z")
    assert not out.loc["P1", "held"]
    fever, _ = stays_at(monitoring(("P1", "2020-02-10", "")), "2020-02-14T00:00:00Z", measure="transfer_fever_clinic",
                        status="fever")
    assert not fever.loc["P1", "held"] and fever.loc["P1", "next_deadline"] == ""
    again, _ = stays_at(monitoring(("P1", "2020-02-08", "解除隔离"), ("P1", "2020-02-10", "", "1203")), "2020-02-11T12:00:00Z")
    assert again.loc["P1", "held"] and again.loc["P1", "since_day"] == "2020-02-10"  # a new stay after the release
    assert again.loc["P1", "room"] == "1203" and again.loc["P1", "missed_days"] == "2020-02-11"


def test_the_stay_is_at_the_latest_point_since_the_day_the_person_came_there():
    stay, _ = stays_at(monitoring(("P1", "2020-02-08", "", "101", "楚天宾馆隔离点"), ("P1", "2020-02-09", "", "305"),
                                  ("P1", "2020-02-10", "", "305")), "2020-02-10T12:00:00Z")
    assert (stay.loc["P1", "point"], stay.loc["P1", "room"], stay.loc["P1", "since_day"]) == (POINT, "305", "2020-02-09")


def test_a_missed_check_is_pushed_once_to_the_points_street_and_closed_when_checks_resume():
    records = monitoring(("P1", "2020-02-10", ""), ("P2", "2020-02-10", "", "802", "未登记隔离点"))
    stay, persons = stays_at(records, "2020-02-11T10:00:00Z")
    stay = stay.reset_index()
    missed = isolation.missed_rows(stay, pd.DataFrame(columns=["check_key"]), {POINT: "积玉桥街道"}, "B3", POLICY)
    assert missed[["person_id", "street", "check_day", "deadline_at"]].values.tolist() == [
        ["P1", "积玉桥街道", "2020-02-11", "2020-02-11T10:00:00Z"],
        ["P2", "区级清单", "2020-02-11", "2020-02-11T10:00:00Z"]]  # a point not on the list: the district's list
    assert isolation.missed_rows(stay, missed, {POINT: "积玉桥街道"}, "B4", POLICY).empty  # recorded once
    now = datetime(2020, 2, 11, 10, tzinfo=timezone.utc)
    new, closes = isolation.plan_items(missed, stay, persons, pd.DataFrame(), "B3", now, POLICY)
    assert new["street"].tolist() == ["积玉桥街道", "区级清单"]
    assert set(new["measure"]) == {"isolation_missed_check"} and set(new["reason"]) == {"missed_check"}
    assert new["due_at"].iloc[0] == "2020-02-11T12:00:00Z" and closes.empty
    assert new["detail"].iloc[0] == f"隔离点漏报每日监测: {POINT} 801房, 2020-02-11"
    before = new.assign(state="pushed")[["push_item_id", "person_id", "measure", "state"]]
    # the next day: P1 missed again (the open item stands, no second one), P2's row came in (closed)
    records = monitoring(("P1", "2020-02-10", ""), ("P2", "2020-02-10", "", "802", "未登记隔离点"),
                         ("P2", "2020-02-12", "", "802", "未登记隔离点"))
    stay, persons = stays_at(records, "2020-02-12T10:00:00Z")
    stay = stay.reset_index()
    missed = isolation.missed_rows(stay, missed, {POINT: "积玉桥街道"}, "B5", POLICY)
    assert missed["check_key"].tolist() == [f"P1|{POINT}|2020-02-12"]
    new, closes = isolation.plan_items(missed, stay, persons, before, "B5", now, POLICY)
    assert new.empty
    assert closes[["push_item_id", "close_reason"]].values.tolist() == [[before["push_item_id"].iloc[1], "checked"]]


def test_the_next_deadline_brings_the_person_back_in_focus_first():
    persons = pd.DataFrame({"person_id": ["P1", "P2", "P3"]})
    stay = pd.DataFrame({"person_id": ["P1", "P2"], "next_deadline": ["2020-02-11T10:00:00Z", ""]})
    change = pd.Series(["2020-02-20T00:00:00Z", "2020-02-12T00:00:00Z", ""])
    assert isolation.next_deadline(change, persons, stay).tolist() == [
        "2020-02-11T10:00:00Z", "2020-02-12T00:00:00Z", ""]


def test_a_policy_naming_an_unknown_measure_or_a_person_feed_as_points_list_is_refused():
    from screenfuse.policy import parse_policy
    from screenfuse.policy_types import PolicyError
    from screenfuse.policy import _packaged_text

    text = _packaged_text()
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.replace("missed_check_measure: isolation_missed_check", "missed_check_measure: call_point"))
    assert caught.value.key == "isolation.missed_check_measure"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.replace("points_feed: isolation_point", "points_feed: hospital"))
    assert caught.value.key == "isolation.points_feed" and "kind reference" in str(caught.value)
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.replace("  deadline_hour: 18\n  ends_stay", "  deadline_hour: 25\n  ends_stay"))
    assert caught.value.key == "isolation.deadline_hour"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.sampled_from(["", "间", "个"]), st.booleans()), min_size=1, max_size=6),
       st.text(alphabet="很多约左右?abc", min_size=1, max_size=4))
def test_room_counts_are_whole_numbers_whatever_the_unit_writes(counts, junk):
    from screenfuse.row_fields import extra_fields
    from screenfuse.normalize import to_halfwidth

    contract = load_contract("isolation_point")
    texts = [(str(n) if not wide else str(n).translate({c: c + 0xFEE0 for c in range(48, 58)})) + unit
             for n, unit, wide in counts]
    mapped = pd.DataFrame({"rooms": texts + [junk]})
    details, flags = extra_fields(mapped, contract, set(contract.fields) - {"rooms"})
    assert details["rooms"].tolist()[:-1] == [str(n) for n, _, _ in counts]
    assert flags["_rooms_unusable"].tolist() == [False] * len(counts) + [True]
    assert to_halfwidth(pd.Series(["１２０"])).iloc[0] == "120"


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.none(), st.floats(35.0, 41.0)), st.one_of(st.none(), st.floats(35.0, 41.0)))
def test_the_records_temperature_is_the_higher_of_the_two_readings(am, pm):
    from screenfuse.ingest import normalize_rows

    text = lambda v: "" if v is None else f"{v:.1f}"  # noqa: E731
    mapped = pd.DataFrame({"unit": [POINT], "event_time": ["2020-02-11"], "name": ["测试甲"],
                           "temperature_am": [text(am)], "temperature_pm": [text(pm) + ("℃" if pm else "")]})
    record = normalize_rows(mapped, load_contract("isolation_monitoring"), load_gazetteer()).iloc[0]
    readings = [round(v, 1) for v in (am, pm) if v is not None]
    if readings:
        assert record["temperature"] == pytest.approx(max(readings))
    else:
        assert pd.isna(record["temperature"])
    assert not record["_temperature_unreadable"]
