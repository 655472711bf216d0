from datetime import datetime, timezone

import pandas as pd

from screenfuse.fuse import fuse_persons, record_status
from screenfuse.gazetteer import DISTRICT_LIST
from screenfuse.policy import default_policy
from screenfuse.pushlist import plan_push_items

POLICY = default_policy(["checkpoint", "community", "hospital", "police"])

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
    assert record_status(frame, POLICY).tolist() == ["fever", "key_area_arrival", "close_contact", "confirmed", "cleared", "none"]


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
