import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from conftest import fused_person
from screenfuse.fuse import fuse_persons, record_status
from screenfuse.gazetteer import DISTRICT_LIST
from screenfuse.policy import default_policy
from screenfuse.pushlist import plan_push_items

POLICY = default_policy(["checkpoint", "community", "hospital", "police", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring"])

STREETS = ["积玉桥街道", "粮道街道"]


def rec(rid, feed, **values):
    base = {"source_record_id": rid, "feed": feed, "event_time": "2020-02-10 08:00:00", "name": "", "id_number": "",
            "id_status": "missing", "birth_date": "", "sex": "", "phone": "", "address": "", "street": "",
            "community": "", "temperature": float("nan"), "category": "", "action": "", "came_from": "",
            "contact_of_name": "", "contact_of_id": ""}
    return base | values


def test_record_status_rules():
    frame = pd.DataFrame([
        rec("a", "checkpoint", temperature=37.3),
        rec("b", "checkpoint", temperature=36.5, came_from="境外"),
        rec("c", "police", contact_of_name="某某"),
        rec("d", "hospital", category="确诊"),
        rec("e", "hospital", category="排除"),
        rec("f", "community", temperature=36.2),
    ])
    # 境外: from abroad, no country named → overseas_arrival (seeds 000 l.43, 001 l.28; was key_area_arrival)
    assert record_status(frame, POLICY).tolist() == ["fever", "overseas_arrival", "close_contact", "confirmed", "cleared", "none"]


def test_status_priority_golden_fields_and_provenance():
    records = pd.DataFrame([
        rec("c1", "checkpoint", name="张伟", temperature=38.0, phone="13800000001", address="积玉桥一路1号",
            street="积玉桥街道", event_time="2020-02-10 07:00:00"),
        rec("h1", "hospital", name="张伟", category="确诊", id_number="X1", id_status="valid",
            event_time="2020-02-10 09:00:00"),
        rec("m1", "community", name="張偉", address="粮道街某社区", street="粮道街道", community="某社区",
            event_time="2020-02-10 06:00:00"),
        rec("p1", "police", name="李娜", contact_of_name="张伟"),
    ])
    links = pd.DataFrame({"source_record_id": ["c1", "h1", "m1", "p1"], "person_id": ["P1", "P1", "P1", "P2"]})
    persons = fuse_persons(records, links, STREETS, "2020-02-10T10:00:00Z", POLICY).set_index("person_id")
    p1 = persons.loc["P1"]
    assert (p1.status, p1.measure, p1.status_source) == ("confirmed", "transfer_designated_hospital", "h1")
    assert (p1["name"], p1.name_source) == ("张伟", "h1")  # most frequent; ties go to the hospital
    assert (p1.address, p1.address_source, p1.street) == ("粮道街某社区", "m1", "粮道街道")  # community feed wins
    assert (p1.id_number, p1.id_number_source) == ("X1", "h1")
    assert p1.n_records == 3 and p1.feeds == "checkpoint,community,hospital"
    p2 = persons.loc["P2"]
    assert (p2.status, p2.measure, p2.responsible_list) == ("close_contact", "centralized_isolation", DISTRICT_LIST)


def test_key_area_arrival_not_yet_visited_is_verified_door_to_door():
    records = pd.DataFrame([rec("c1", "checkpoint", name="王芳", came_from="湖北孝感")])
    links = pd.DataFrame({"source_record_id": ["c1"], "person_id": ["P1"]})
    persons = fuse_persons(records, links, STREETS, "2020-02-10T10:00:00Z", POLICY)
    assert persons.loc[0, "measure"] == "door_to_door_verification"


def _status_after(*steps, policy=POLICY):
    """The status of one person whose records say `steps` ((feed, fields), …) hour after hour."""
    records = pd.DataFrame([rec(f"r{i}", feed, event_time=f"2020-02-10 {8 + i:02d}:00:00", **fields)
                            for i, (feed, fields) in enumerate(steps)])
    links = pd.DataFrame({"source_record_id": records["source_record_id"], "person_id": "P1"})
    return fuse_persons(records, links, STREETS, "2020-02-10T20:00:00Z", policy).set_index("person_id").loc["P1", "status"]


SUSPECTED, CLEARED = ("hospital", {"category": "疑似"}), ("hospital", {"category": "排除"})
FEVER, CONFIRMED = ("checkpoint", {"temperature": 38.2}), ("hospital", {"category": "确诊"})
DISCHARGED, DECEASED = ("hospital", {"category": "出院"}), ("hospital", {"category": "死亡"})
CONTACT = ("police", {"contact_of_name": "某某"})


def test_the_way_back_a_later_result_ends_an_earlier_status():
    assert _status_after(SUSPECTED, CLEARED) == "cleared"  # a negative result clears a suspected person
    assert _status_after(FEVER, CLEARED) == "cleared"
    assert _status_after(CONFIRMED, DISCHARGED) == "discharged"  # then the after-discharge steps
    assert _status_after(CONTACT, CONFIRMED, DECEASED) == "deceased"
    # only what came before ends: a positive after a negative is a case again
    assert _status_after(CLEARED, SUSPECTED) == "suspected"
    assert _status_after(SUSPECTED, CLEARED, FEVER) == "fever"
    assert _status_after(CONTACT, CONFIRMED) == "confirmed"  # a positive during isolation makes a contact a case
    assert _status_after(CONTACT, CLEARED) == "close_contact"  # 排除 does not end a contact's isolation


def test_without_ends_in_the_policy_statuses_only_rise():
    from dataclasses import replace
    assert _status_after(SUSPECTED, CLEARED, policy=replace(POLICY, ends={})) == "suspected"


def test_a_discharged_person_steps_through_isolation_home_observation_and_follow_up():
    records = pd.DataFrame([rec("h1", "hospital", category="确诊", event_time="2020-02-01 09:00:00"),
                            rec("h2", "hospital", category="出院", event_time="2020-02-03 10:00:00")])
    links = pd.DataFrame({"source_record_id": ["h1", "h2"], "person_id": "P1"})
    measure = lambda as_of: fuse_persons(records, links, STREETS, as_of, POLICY).set_index("person_id").loc["P1", "measure"]  # noqa: E731
    assert measure("2020-02-03T04:00:00Z") == "centralized_isolation"  # day 0, Beijing noon
    assert measure("2020-02-16T15:00:00Z") == "centralized_isolation"  # day 13, 23:00 local
    assert measure("2020-02-16T16:00:00Z") == "home_isolation"  # day 14 begins at local midnight
    assert measure("2020-03-02T16:00:00Z") == "follow_up_visit"  # day 28


def _person(records: list[dict], as_of: str, policy=POLICY) -> pd.Series:
    """The fused person P1 of `records` as of `as_of`, with `next_change_at`."""
    return fused_person(records, as_of, policy, STREETS)


def test_death_is_terminal_later_records_are_flagged_not_acted_on():
    # issue 9, item 2: 死亡 02-05, then a community row 02-06 from 湖北孝感 (design §7: death is terminal)
    died = rec("h1", "hospital", category="死亡", event_time="2020-02-05 10:00:00")
    arrived = rec("m1", "community", came_from="湖北孝感", arrival_date="2020-02-04", event_time="2020-02-06 09:00:00")
    person = _person([died, arrived], "2020-02-06T04:00:00Z")
    assert (person.status, person.measure, person.status_source) == ("deceased", "", "h1")
    assert person.after_terminal == "m1"  # kept for data-quality review (a likely identity error)
    assert (person.status_expires_at, person.next_change_at) == ("", "")
    # nothing a later record says brings a status or a measure back, whatever its rank
    later = [rec("h2", "hospital", category="确诊", event_time="2020-02-07 08:00:00"),
             rec("p1", "police", contact_of_name="某某", event_time="2020-02-08 08:00:00")]
    person = _person([died, arrived, *later], "2020-02-08T04:00:00Z")
    assert (person.status, person.measure, person.after_terminal) == ("deceased", "", "h2;m1;p1")
    # a person with no record after the death has nothing to review
    assert _person([rec("p0", "police", contact_of_name="某某", event_time="2020-02-01 08:00:00"), died],
                   "2020-02-06T04:00:00Z").after_terminal == ""


def test_no_push_item_for_a_deceased_person_and_open_items_close():
    died = rec("h1", "hospital", category="死亡", event_time="2020-02-05 10:00:00", street="积玉桥街道")
    arrived = rec("m1", "community", came_from="湖北孝感", event_time="2020-02-06 09:00:00", street="积玉桥街道")
    frame = pd.DataFrame([died, arrived])
    links = pd.DataFrame({"source_record_id": ["h1", "m1"], "person_id": "P1"})
    persons = fuse_persons(frame, links, STREETS, "2020-02-06T04:00:00Z", POLICY)
    before = pd.DataFrame([{"push_item_id": "i1", "person_id": "P1", "street": "积玉桥街道", "status": "close_contact",
                            "measure": "centralized_isolation", "state": "open", "due_at": "2020-02-06T00:00:00Z",
                            "answered_at": None}])
    opens = pd.DataFrame({"person_id": ["P1"], "change": ["lowered"]})
    plan = plan_push_items(persons, before, opens, "b1", datetime(2020, 2, 6, 4, tzinfo=timezone.utc), POLICY)
    assert plan.new.empty
    assert plan.closes[["push_item_id", "close_reason"]].values.tolist() == [["i1", "no_longer_needed"]]


def test_a_terminal_status_cannot_have_a_measure_expire_or_be_ended():
    import pytest
    from screenfuse.policy import PolicyError, parse_policy
    import screenfuse
    text = (Path(screenfuse.__file__).parent / "policies" / "default.yaml").read_text(encoding="utf-8")
    feeds = ["checkpoint", "community", "hospital", "police", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring"]
    with pytest.raises(PolicyError, match=r"terminal\[0\].*has a measure"):
        parse_policy(text.replace("  discharged:       centralized_isolation",
                                  "  discharged:       centralized_isolation\n  deceased: home_isolation"), "p.yaml", feeds)
    with pytest.raises(PolicyError, match=r"counts_from.close_contact.*not a known record field"):
        parse_policy(text.replace("close_contact: last_contact_date", "close_contact: last_contact"), "p.yaml", feeds)


def test_key_area_arrival_counts_from_the_arrival_date():
    # issue 9, item 3: arrived 01-28 (返回日期), surveyed 02-10 → ends 02-11 (local midnight), not 02-24
    surveyed = rec("m1", "community", came_from="湖北孝感", arrival_date="2020-01-28", event_time="2020-02-10 09:00:00")
    person = _person([surveyed], "2020-02-10T04:00:00Z")  # 02-10 noon local
    assert (person.status, person.measure) == ("key_area_arrival", "home_isolation")
    assert person.status_expires_at == "2020-02-10T16:00:00Z"  # 2020-02-11 00:00 Asia/Shanghai
    assert person.next_change_at == "2020-02-10T16:00:00Z"
    after = _person([surveyed], "2020-02-10T16:00:00Z")  # 02-11 00:00 local
    assert (after.status, after.measure, after.expired_status) == ("none", "", "key_area_arrival")
    # without an arrival date (or with one after the record, a typo) it counts from the record
    for arrival in ("", "2020-02-12", "不详"):
        undated = _person([rec("m1", "community", came_from="湖北孝感", arrival_date=arrival,
                               event_time="2020-02-10 09:00:00")], "2020-02-10T04:00:00Z")
        assert undated.status_expires_at == "2020-02-24T01:00:00Z"


def test_after_discharge_steps_count_from_the_discharge_date():
    # issue 9, item 3: discharged 02-05 (出院日期), reported 02-20 → on 02-21 home observation day 16
    confirmed = rec("h1", "hospital", category="确诊", event_time="2020-01-20 10:00:00")
    discharged = rec("h2", "hospital", category="出院", event_time="2020-02-20 10:00:00",
                     details_json=json.dumps({"discharged_on": "2020-02-05"}))
    person = _person([confirmed, discharged], "2020-02-21T04:00:00Z")  # 02-21 noon local: day 16
    assert (person.status, person.measure) == ("discharged", "home_isolation")  # 居家, not 集中隔离 day 1
    assert person.status_since == "2020-02-05 00:00:00"
    assert person.next_change_at == "2020-03-03T16:00:00Z"  # day 28 (03-04 local): follow-up visits
    assert _person([confirmed, discharged], "2020-03-03T16:00:00Z").measure == "follow_up_visit"
    # no discharge date: from the row's time, as before
    undated = rec("h2", "hospital", category="出院", event_time="2020-02-20 10:00:00", details_json="{}")
    person = _person([confirmed, undated], "2020-02-21T04:00:00Z")
    assert (person.measure, person.next_change_at) == ("centralized_isolation", "2020-03-04T16:00:00Z")


def test_close_contact_counts_from_the_last_contact():
    # issue 9, item 3: registered 02-10, last contact (末次接触日期) 02-01 → isolation ends 02-15, not 02-24
    registered = rec("p1", "police", contact_of_name="某某", event_time="2020-02-10 09:00:00",
                     details_json=json.dumps({"last_contact_date": "2020-02-01"}))
    person = _person([registered], "2020-02-10T04:00:00Z")
    assert (person.status, person.measure) == ("close_contact", "centralized_isolation")
    assert person.release_due_at == person.next_change_at == "2020-02-14T16:00:00Z"  # 2020-02-15 00:00 Asia/Shanghai
    # then released by a negative result (issue 9, case 6), else sampled and kept isolated
    assert _person([registered], "2020-02-14T16:00:00Z")[["status", "measure"]].tolist() == [
        "close_contact", "release_test"]
    negative = rec("h1", "hospital", nucleic_acid="阴性", event_time="2020-02-12 09:00:00")
    released = _person([registered, negative], "2020-02-14T16:00:00Z")
    assert (released.status, released.measure, released.status_since) == (
        "released", "health_monitoring", "2020-02-15 00:00:00")
    assert released.status_expires_at == released.next_change_at == "2020-02-28T16:00:00Z"


def _discharged_on(rid, day, at):
    return rec(rid, "hospital", category="出院", event_time=at, details_json=json.dumps({"discharged_on": day}))


def _contact(rid, last_contact, at, **fields):
    return rec(rid, "police", contact_of_name="某某", event_time=at,
               details_json=json.dumps({"last_contact_date": last_contact}), **fields)


def test_a_discharged_patient_keeps_the_after_discharge_steps_after_fever_and_cleared():
    # issue 9, case 1: 发热 01-20, 排除 01-21, 确诊 02-01, 出院 02-20 → discharged, not cleared
    history = [rec("c1", "checkpoint", temperature=38.2, event_time="2020-01-20 09:00:00"),
               rec("h1", "hospital", category="排除", event_time="2020-01-21 10:00:00"),
               rec("h2", "hospital", category="确诊", event_time="2020-02-01 11:00:00"),
               _discharged_on("h3", "2020-02-20", "2020-02-20 15:00:00")]
    person = _person(history, "2020-02-21T04:00:00Z")  # 02-21 noon local: day 1 after discharge
    assert (person.status, person.measure, person.status_source) == ("discharged", "centralized_isolation", "h3")
    assert person.status_since == "2020-02-20 00:00:00"
    assert person.next_change_at == "2020-03-04T16:00:00Z"  # 03-05 00:00 local: day 14, home observation
    home = _person(history, "2020-03-05T04:00:00Z")
    assert (home.status, home.measure, home.next_change_at) == ("discharged", "home_isolation", "2020-03-18T16:00:00Z")
    assert _person(history, "2020-03-19T04:00:00Z").measure == "follow_up_visit"  # day 28
    # a 排除 after the discharge (a negative follow-up test) does not end the steps
    later = _person([*history, rec("h4", "hospital", category="排除", event_time="2020-02-25 10:00:00")],
                    "2020-02-26T04:00:00Z")
    assert (later.status, later.measure) == ("discharged", "centralized_isolation")


def test_an_earlier_contact_link_does_not_outrank_a_later_discharge():
    # issue 9, case 1: contact 02-01, 确诊 02-03, 出院 02-12 → discharged, not close_contact until 02-15
    history = [_contact("p1", "2020-02-01", "2020-02-02 09:00:00"),
               rec("h1", "hospital", category="确诊", event_time="2020-02-03 10:00:00"),
               _discharged_on("h2", "2020-02-12", "2020-02-12 16:00:00")]
    person = _person(history, "2020-02-13T04:00:00Z")
    assert (person.status, person.measure, person.status_source) == ("discharged", "centralized_isolation", "h2")
    assert (person.status_since, person.status_expires_at) == ("2020-02-12 00:00:00", "")
    assert person.next_change_at == "2020-02-25T16:00:00Z"  # 02-26 00:00 local: home observation
    assert _person(history, "2020-02-26T04:00:00Z").measure == "home_isolation"
    # the contact's own 14 days (to 02-15) changes nothing: the discharge ended it
    assert _person(history, "2020-02-15T04:00:00Z")[["status", "expired_status"]].tolist() == ["discharged", ""]


def test_a_new_fact_after_the_discharge_counts_again():
    history = [rec("h1", "hospital", category="确诊", event_time="2020-02-03 10:00:00"),
               _discharged_on("h2", "2020-02-12", "2020-02-12 16:00:00")]
    # a new close contact (last contact 02-20, after the discharge): isolated as a contact to 03-05
    exposed = _person([*history, _contact("p1", "2020-02-20", "2020-02-21 09:00:00")], "2020-02-21T04:00:00Z")
    assert (exposed.status, exposed.measure, exposed.status_source) == ("close_contact", "centralized_isolation", "p1")
    assert exposed.release_due_at == "2020-03-04T16:00:00Z"  # 2020-03-05 00:00 local, then released by a negative
    # a contact registered after the discharge whose last contact was before it stays ended
    stale = _person([*history, _contact("p1", "2020-02-10", "2020-02-21 09:00:00")], "2020-02-21T04:00:00Z")
    assert (stale.status, stale.measure) == ("discharged", "centralized_isolation")
    # a new positive after the discharge (复阳) makes them a case again
    again = _person([*history, rec("h3", "hospital", category="确诊", event_time="2020-02-25 09:00:00")],
                    "2020-02-25T04:00:00Z")
    assert (again.status, again.measure, again.status_source) == ("confirmed", "transfer_designated_hospital", "h3")


def _measure_of(*records, as_of="2020-02-10T04:00:00Z"):
    person = _person(list(records), as_of)
    return person.status, person.measure, person.severity


def test_measures_follow_seed_004_and_the_severity_of_a_confirmed_case():
    # issue 9, case 5: seed 004 "确诊患者集中救治,疑似患者集中隔离,发热患者集中留观治疗,密切接触者集中隔离观察"
    assert _measure_of(rec("h1", "hospital", category="疑似")) == ("suspected", "isolate_suspected", "")
    assert _measure_of(rec("c1", "checkpoint", temperature=38.2)) == ("fever", "transfer_fever_clinic", "")
    assert POLICY.measure_labels["transfer_fever_clinic"] == "转运发热门诊,集中留观治疗"
    assert _measure_of(rec("p1", "police", contact_of_name="某某"))[:2] == ("close_contact", "centralized_isolation")
    # seeds 000 and 003: mild (轻型) cases to a 方舱; 普通型, 重型, 危重型 to the designated hospital
    mild = rec("h1", "hospital", category="确诊", details_json=json.dumps({"severity": "轻型"}))
    assert _measure_of(mild) == ("confirmed", "transfer_mobile_cabin_hospital", "轻型")
    for severity in ("普通型", "重型", "危重型"):
        case = rec("h1", "hospital", category="确诊", details_json=json.dumps({"severity": severity}))
        assert _measure_of(case) == ("confirmed", "transfer_designated_hospital", severity)
    # unknown severity (none reported, old files without the field, a value the policy does not list): the safer
    # designated hospital
    assert _measure_of(rec("h1", "hospital", category="确诊")) == ("confirmed", "transfer_designated_hospital", "")
    assert _measure_of(rec("h1", "hospital", category="确诊", severity="轻症"))[1] == "transfer_designated_hospital"
    # the latest severity of a record supporting the status decides: 轻型 on 02-01, 重型 on 02-03 → hospital
    worse = rec("h2", "hospital", category="确诊", event_time="2020-02-10 09:00:00", severity=" 重型")
    assert _measure_of(mild, worse) == ("confirmed", "transfer_designated_hospital", "重型")
    # a severity on a record that no longer supports the status (a 疑似 row) does not count
    suspected = rec("h0", "hospital", category="疑似", event_time="2020-02-10 09:30:00", severity="重型")
    assert _measure_of(mild, suspected) == ("confirmed", "transfer_mobile_cabin_hospital", "轻型")


def test_a_severity_table_needs_known_statuses_and_measures():
    import pytest
    from screenfuse.policy import PolicyError, parse_policy
    import screenfuse
    text = (Path(screenfuse.__file__).parent / "policies" / "default.yaml").read_text(encoding="utf-8")
    feeds = ["checkpoint", "community", "hospital", "police", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring"]
    with pytest.raises(PolicyError, match=r"severity.measures.confirmed.轻型 is 'fangcang' \(text\), not a known measure"):
        parse_policy(text.replace("{轻型: transfer_mobile_cabin_hospital}", "{轻型: fangcang}"), "p.yaml", feeds)
    with pytest.raises(PolicyError, match=r"severity.measures.cleared is 'cleared', which has no measure"):
        parse_policy(text.replace("    confirmed: {轻型: transfer_mobile_cabin_hospital}",
                                  "    cleared: {轻型: transfer_mobile_cabin_hospital}"), "p.yaml", feeds)
    with pytest.raises(PolicyError, match=r"severity.measures.confirmed is a list; expected a mapping of severity → measure"):
        parse_policy(text.replace("{轻型: transfer_mobile_cabin_hospital}", "[轻型]"), "p.yaml", feeds)
    # where a record came from is no fact of it: fuse does not even read those columns
    with pytest.raises(PolicyError, match=r"severity.field is 'file_name', which says where a record came from"):
        parse_policy(text.replace("field: severity", "field: file_name"), "p.yaml", feeds)


INDEX_ID = "420106198001010011"  # synthetic


def _people(records: list[dict], person_of: dict, as_of: str) -> pd.DataFrame:
    from screenfuse.fuse import next_change
    frame = pd.DataFrame(records)
    links = pd.DataFrame({"source_record_id": frame["source_record_id"],
                          "person_id": frame["source_record_id"].map(person_of)})
    persons = fuse_persons(frame, links, STREETS, as_of, POLICY)
    persons["next_change_at"] = next_change(persons, as_of, POLICY)
    return persons.set_index("person_id")


def test_contacts_of_a_suspected_case_stay_home_and_are_upgraded_when_it_is_confirmed():
    # issue 9, case 6 (seed 002): contacts of confirmed cases 集中隔离 14 days, of suspected cases 居家隔离
    index = rec("h1", "hospital", category="疑似", id_number=INDEX_ID, id_status="valid", event_time="2020-02-09 10:00:00")
    contact = _contact("p1", "2020-02-08", "2020-02-09 18:00:00", contact_of_id=INDEX_ID)
    people = _people([index, contact], {"h1": "I", "p1": "C"}, "2020-02-10T04:00:00Z")
    assert (people.loc["I", "status"], people.loc["I", "measure"]) == ("suspected", "isolate_suspected")
    c = people.loc["C"]
    assert (c.status, c.measure, c.index_status) == ("close_contact", "home_isolation", "suspected")
    assert c.release_due_at == "2020-02-21T16:00:00Z"  # 14 days from the last contact (02-08): 02-22 00:00 local
    # the index is confirmed: in the same run the contact is upgraded to centralized isolation
    confirmed = rec("h2", "hospital", category="确诊", id_number=INDEX_ID, id_status="valid",
                    event_time="2020-02-10 11:00:00")
    people = _people([index, confirmed, contact], {"h1": "I", "h2": "I", "p1": "C"}, "2020-02-10T04:00:00Z")
    c = people.loc["C"]
    assert (c.status, c.measure, c.index_status) == ("close_contact", "centralized_isolation", "confirmed")
    # the index is cleared (排除): no longer a suspected case; the contact keeps the safer measure
    cleared = rec("h2", "hospital", category="排除", id_number=INDEX_ID, id_status="valid",
                  event_time="2020-02-10 11:00:00")
    people = _people([index, cleared, contact], {"h1": "I", "h2": "I", "p1": "C"}, "2020-02-10T04:00:00Z")
    assert people.loc["C", ["measure", "index_status"]].tolist() == ["centralized_isolation", "cleared"]


def test_a_contact_whose_index_is_unknown_is_isolated_as_a_contact_of_a_confirmed_case():
    for index_id in ("", "420106198001010029"):  # no ID, or an ID nobody in the run has
        contact = _contact("p1", "2020-02-08", "2020-02-09 18:00:00", contact_of_id=index_id)
        c = _people([contact], {"p1": "C"}, "2020-02-10T04:00:00Z").loc["C"]
        assert (c.status, c.measure, c.index_status) == ("close_contact", "centralized_isolation", "")
    # contact of a suspected and of a confirmed case: the confirmed one decides
    other = "420106198001010037"
    records = [rec("h1", "hospital", category="疑似", id_number=INDEX_ID, id_status="valid"),
               rec("h2", "hospital", category="确诊", id_number=other, id_status="valid"),
               _contact("p1", "2020-02-08", "2020-02-09 18:00:00", contact_of_id=INDEX_ID),
               _contact("p2", "2020-02-08", "2020-02-09 19:00:00", contact_of_id=other)]
    people = _people(records, {"h1": "I", "h2": "J", "p1": "C", "p2": "C"}, "2020-02-10T04:00:00Z")
    assert people.loc["C", ["measure", "index_status"]].tolist() == ["centralized_isolation", "confirmed"]


def test_records_without_a_link_are_left_out_and_a_shuffled_frame_fuses_the_same():
    """fuse_persons joins records to their persons without copying them when each record has one
    link; a record with no link (or links that repeat a record) takes the join, with the same result."""
    records = pd.DataFrame([
        rec("c1", "checkpoint", name="张伟", temperature=38.0, event_time="2020-02-10 07:00:00"),
        rec("h1", "hospital", name="张伟", category="确诊", id_number="X1", id_status="valid"),
        rec("p1", "police", name="李娜", contact_of_id="X1"),
        rec("z9", "community", name="王芳", category="确诊"),  # no link: not fused, not anybody's
    ])
    links = pd.DataFrame({"source_record_id": ["h1", "p1", "c1"], "person_id": ["P1", "P2", "P1"]})
    as_of = "2020-02-10T10:00:00Z"
    joined = fuse_persons(records, links, STREETS, as_of, POLICY).set_index("person_id").sort_index()
    linked = records[records["source_record_id"] != "z9"].iloc[::-1].set_axis([7, 3, 5])  # any order, any index
    shared = fuse_persons(linked, links, STREETS, as_of, POLICY).set_index("person_id").sort_index()
    assert list(joined.index) == ["P1", "P2"]
    assert (joined.loc["P1", "status"], joined.loc["P1", "n_records"]) == ("confirmed", 2)
    assert (joined.loc["P2", "status"], joined.loc["P2", "index_status"]) == ("close_contact", "confirmed")
    pd.testing.assert_frame_equal(shared, joined)
