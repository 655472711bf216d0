"""The arrival classes of seed 002 (issue 9, item 7), each numbered case with its dates.

Seed 002 l.24: seven classes of people, each with its measure and window; l.26: the key-country list
changes by date (16 countries from 3月17日, "從3月20日零點起,新增澳大利亞、馬來西亞等8國"); l.28: business
travellers from key countries leave within 7 days of entry. Seeds 000 l.43 and 001 l.28: arrivals from
abroad are isolated centrally. A record is judged by the lists in force on its arrival day.
"""
import json
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import fused_person
from screenfuse.arrival_rules import arrival_classes
from screenfuse.policy import PolicyError, default_policy, parse_policy, record_status

FEEDS = ("checkpoint", "police", "hospital", "community", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring")
POLICY = default_policy(FEEDS)
STREETS = ["积玉桥街道", "粮道街道"]
OVERSEAS = ("key_country_arrival", "non_key_country_arrival", "overseas_arrival")


def rec(rid="r1", feed="community", **values):
    base = {"source_record_id": rid, "feed": feed, "event_time": "2020-03-22 09:00:00", "name": "测试甲",
            "id_number": "", "id_status": "missing", "birth_date": "", "sex": "", "phone": "", "address": "",
            "street": "积玉桥街道", "community": "", "temperature": float("nan"), "category": "", "action": "",
            "came_from": "", "arrival_date": "", "contact_of_name": "", "contact_of_id": ""}
    return base | values


def status_of(*records, policy=POLICY) -> list[str]:
    return record_status(pd.DataFrame(list(records)), policy).tolist()


def person(records: list[dict], as_of: str, policy=POLICY) -> pd.Series:
    return fused_person(records, as_of, policy, STREETS)


def business(purpose="商务洽谈", leaves="2020-03-25", arrived="2020-03-20", came_from="意大利", **values):
    details = json.dumps({"travel_purpose": purpose, "departure_date": leaves}, ensure_ascii=False)
    return rec(came_from=came_from, arrival_date=arrived, details_json=details, **values)


def policy_with(change) -> object:
    doc = yaml.safe_load(resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8"))
    change(doc)
    return parse_policy(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "p.yaml", FEEDS)


# 1. The key-country list by date (seed 002 l.26): Australia joins on 3月20日 00:00.
@pytest.mark.parametrize("arrived, expected", [
    ("2020-03-19", "non_key_country_arrival"),  # the list before 03-20: not a key country yet
    ("2020-03-20", "key_country_arrival"),      # 零點起: the day itself
    ("2020-03-21", "key_country_arrival"),
])
def test_1_australia_is_judged_by_the_list_in_force_on_the_arrival_day(arrived, expected):
    # surveyed on 03-22 in every case: the record's day does not decide, the arrival day does
    assert status_of(rec(came_from="澳大利亚", arrival_date=arrived)) == [expected]
    assert status_of(rec(came_from="澳大利亞悉尼", arrival_date=arrived)) == [expected]  # traditional, with a city


# 2. The first 16 countries from 3月17日 (seed 002 l.26: 韓國、日本、伊朗、意大利 ...).
def test_2_korea_japan_iran_italy_are_key_countries_from_03_17():
    for country in ("韩国", "韓國", "日本东京", "伊朗", "義大利米兰"):
        before, on = status_of(rec(came_from=country, arrival_date="2020-03-16"),
                               rec(came_from=country, arrival_date="2020-03-17"))
        assert (before, on) == ("non_key_country_arrival", "key_country_arrival"), country
    assert status_of(rec(came_from="美国", arrival_date="2020-03-20")) == ["non_key_country_arrival"]


# 3. A domestic key area against another domestic region (seed 002 l.24).
def test_3_hubei_is_a_key_area_beijing_another_region():
    hubei = person([rec(came_from="湖北孝感", arrival_date="2020-03-20")], "2020-03-22T04:00:00Z")
    beijing = person([rec(came_from="北京", arrival_date="2020-03-20")], "2020-03-22T04:00:00Z")
    assert (hubei.status, hubei.measure) == ("key_area_arrival", "home_isolation")  # 居家隔離或集中隔離14天
    assert (beijing.status, beijing.measure) == ("other_region_arrival", "health_monitoring")  # 實行健康管理
    # both 14 days from the arrival day: 03-20 + 14 = 04-03 00:00 Asia/Shanghai
    assert hubei.status_expires_at == beijing.status_expires_at == "2020-04-02T16:00:00Z"
    assert status_of(rec(came_from="武漢", arrival_date="2020-03-20")) == ["key_area_arrival"]


# 4. From abroad → centralized isolation until arrival + 14 days, never home isolation (seeds 000, 001).
def test_4_an_arrival_from_abroad_is_isolated_centrally_for_14_days_from_arrival():
    arrived = rec("c1", "checkpoint", came_from="境外", arrival_date="2020-03-01", event_time="2020-03-03 10:00:00")
    p = person([arrived], "2020-03-03T04:00:00Z")
    assert (p.status, p.measure) == ("overseas_arrival", "centralized_isolation")
    assert POLICY.measure_labels[p.measure] == "集中隔离"
    assert p.status_expires_at == p.next_change_at == "2020-03-14T16:00:00Z"  # 03-15 00:00 local = 03-01 + 14
    over = person([arrived], "2020-03-14T16:00:00Z")
    assert (over.status, over.measure, over.expired_status) == ("none", "", "overseas_arrival")


@pytest.mark.parametrize("came_from, arrived", [("境外", "2020-03-10"), ("国外", ""), ("香港", "2020-03-10"),
                                                ("意大利", "2020-03-18"), ("澳大利亚", "2020-03-19"), ("美國", "")])
def test_4_no_arrival_from_abroad_is_sent_home(came_from, arrived):
    # seen only at a checkpoint (no grid worker yet): still isolated at once, not verified first at home
    for feed in ("checkpoint", "community", "police"):
        p = person([rec("x1", feed, came_from=came_from, arrival_date=arrived)], "2020-03-22T04:00:00Z")
        assert p.status in OVERSEAS and p.measure == "centralized_isolation", (feed, came_from)


# 5. Business travellers from key countries leaving within 7 days (seed 002 l.28).
def test_5_a_business_traveller_leaving_within_7_days_goes_to_the_designated_hotel():
    p = person([business()], "2020-03-22T04:00:00Z")
    assert (p.status, p.measure) == ("business_short_stay", "business_designated_hotel")
    assert "指定宾馆" in POLICY.measure_labels[p.measure] and "7天内离开" in POLICY.measure_labels[p.measure]
    assert p.status_expires_at == "2020-03-26T16:00:00Z"  # 7 days from entry (在入境進滬之日起): 03-27 00:00 local


@pytest.mark.parametrize("record, expected", [
    (business(leaves="2020-03-27"), "business_short_stay"),   # day 7
    (business(leaves="2020-03-28"), "key_country_arrival"),   # day 8: not a short stay
    (business(leaves=""), "key_country_arrival"),             # no planned departure: not shown to leave
    (business(leaves="2020-03-19"), "key_country_arrival"),   # leaves before arriving: a typo, not trusted
    (business(purpose="探亲"), "key_country_arrival"),          # not 商务
    (business(came_from="澳大利亚", arrived="2020-03-19"), "business_short_stay"),  # non-key that day: same measure
    (business(came_from="北京"), "other_region_arrival"),      # domestic: the class is for arrivals from abroad
    (rec(came_from="意大利", arrival_date="2020-03-20", travel_purpose="商务", departure_date="2020-03-22"),
     "business_short_stay"),                                   # the fields as columns (not details_json)
])
def test_5_only_a_short_business_stay_from_abroad_is_a_business_traveller(record, expected):
    assert status_of(record) == [expected]


# 6. The rest: no place, "no travel", or an arrival outside the 14-day window (seed 002 l.26 過去14天).
@pytest.mark.parametrize("record", [rec(), rec(came_from="无"), rec(came_from="本市"),
                                    rec(came_from="湖北", arrival_date="2020-03-07"),   # 15 days before 03-22
                                    rec(came_from="意大利", arrival_date="2020-03-07")])
def test_6_the_rest_get_no_arrival_status(record):
    assert status_of(record) == ["none"]
    assert status_of(rec(came_from="湖北", arrival_date="2020-03-08")) == ["key_area_arrival"]  # 14 days before


# 7. No arrival date: judged by the lists on the record's own day (and counts from it).
def test_7_without_an_arrival_date_the_records_day_decides():
    police = [rec(f"p{i}", "police", came_from="澳大利亚", event_time=day)
              for i, day in enumerate(["2020-03-19 10:00:00", "2020-03-21 10:00:00"])]
    assert status_of(*police) == ["non_key_country_arrival", "key_country_arrival"]
    # an arrival date after the record is a typo: the record's day (03-19) decides
    assert status_of(rec(came_from="澳大利亚", arrival_date="2020-03-25", event_time="2020-03-19 10:00:00")) \
        == ["non_key_country_arrival"]


# 8. A place can leave a list (`until`), and an area of concern can be added (seed 002 l.24 嚴格的健康管理14天).
def test_8_until_and_an_area_of_concern():
    def change(doc):
        classes = doc["arrivals"]["classes"]
        classes["key_area"]["places"] = [{"name": "湖北", "until": "2020-03-24"}]
        classes["area_of_concern"]["places"] = [{"name": "黑龙江", "aliases": ["黑龍江"], "from": "2020-04-01"}]
    policy = policy_with(change)
    assert status_of(rec(came_from="湖北", arrival_date="2020-03-24"), rec(came_from="湖北", arrival_date="2020-03-25",
                     event_time="2020-03-26 09:00:00"), policy=policy) == ["key_area_arrival", "other_region_arrival"]
    later = [rec("m1", came_from="黑龍江", arrival_date="2020-04-02", event_time="2020-04-03 09:00:00")]
    p = person(later, "2020-04-03T04:00:00Z", policy)
    assert (p.status, p.measure) == ("area_of_concern_arrival", "strict_health_monitoring")
    assert POLICY.measure_specs["strict_health_monitoring"].days == 14


# 9. Per-class statuses rank the stronger measure first; a discharge or a death ends an arrival.
def test_9_a_record_from_abroad_outranks_a_domestic_one_and_a_fever_outranks_both():
    records = [rec("a", came_from="湖北", arrival_date="2020-03-20"), rec("b", "checkpoint", came_from="境外",
               event_time="2020-03-21 09:00:00")]
    assert person(records, "2020-03-22T04:00:00Z").measure == "centralized_isolation"
    assert status_of(rec(came_from="境外", temperature=38.2)) == ["fever"]
    dead = [rec("a", came_from="境外", arrival_date="2020-03-20"),
            rec("h", "hospital", category="死亡", event_time="2020-03-21 09:00:00")]
    assert person(dead, "2020-03-22T04:00:00Z").status == "deceased"


def test_classes_are_vectorized_over_many_records():
    n = 60_000
    frame = pd.DataFrame({"came_from": np.resize(["澳大利亚", "湖北", "北京", "", "境外"], n),
                          "arrival_date": np.resize(["2020-03-19", "2020-03-21", "", "2020-03-20"], n),
                          "event_time": "2020-03-22 09:00:00"})
    classes = arrival_classes(frame, POLICY.arrivals)
    assert classes.iloc[:5].tolist() == ["non_key_country", "key_area", "other_region", "", "overseas"]
    assert classes.iloc[20:25].tolist() == ["non_key_country", "key_area", "other_region", "", "overseas"]
    assert (classes.iloc[5::20] == "key_country").all()  # 澳大利亚 with 2020-03-21


# 10. Config errors name the key and the fix.
@pytest.mark.parametrize("change, message", [
    (lambda d: d["arrivals"]["classes"]["key_country"]["places"][4].update({"from": "3月20日"}),
     r"arrivals.classes.key_country.places\[4\].from is '3月20日' \(text\); expected a day as YYYY-MM-DD"),
    (lambda d: d["arrivals"]["classes"]["key_country"]["places"][4].update({"until": "2020-03-01"}),
     r"places\[4\].until is 2020-03-01, before from \(2020-03-20\)"),
    (lambda d: d["arrivals"]["classes"]["key_area"].update({"any_place": True}),
     r"arrivals.classes.key_area has places and any_place; give exactly one"),
    (lambda d: d["arrivals"]["classes"].update({"late": {"label": "x", "status": "key_area_arrival", "places": ["y"]}}),
     r"arrivals.classes.late comes after `other_region`, which takes every arrival .*move it before other_region"),
    (lambda d: d["arrivals"]["classes"]["business_short_stay"].update({"of": ["key_contry"]}),
     r"business_short_stay.of\[0\] is 'key_contry' \(text\), not a class with places"),
    (lambda d: d["arrivals"]["classes"]["key_area"].update({"status": "key_area"}),
     r"arrivals.classes.key_area.status is 'key_area' \(text\), not a known status \(did you mean 'key_area_arrival'\?\)"),
    (lambda d: d["status_measures"].pop("overseas_arrival"),
     r"arrivals.classes.overseas.status is 'overseas_arrival', which has no measure in status_measures; .*add "
     r"status_measures.overseas_arrival"),
    (lambda d: d["arrivals"]["classes"]["key_area"].update({"leaves_within_days": 7}),
     r"arrivals.classes.key_area.leaves_within_days only applies to a refinement class; add `of: \[key_country\]`"),
    (lambda d: d["arrivals"]["classes"]["business_short_stay"].update({"leaves_within_days": -1}),
     r"leaves_within_days is -1 \(a number\); expected a whole number of days ≥ 0"),
    (lambda d: d["arrivals"].update({"classes": {}}), r"arrivals.classes is an empty mapping; expected a mapping of class names"),
])
def test_10_a_broken_arrivals_section_names_the_key_and_the_fix(change, message):
    with pytest.raises(PolicyError, match=message):
        policy_with(change)
