"""Status history and statuses that end on their own, without Airflow or a database."""
import pandas as pd
import pytest

from screenfuse.fuse import fuse_persons
from screenfuse.lifecycle import status_changes
from screenfuse.policy import PolicyError, default_policy, parse_policy

FEEDS = ["checkpoint", "community", "hospital", "police"]
POLICY = default_policy(FEEDS)
STREETS = ["积玉桥街道"]


def rec(rid, feed, event_time, **values):
    base = {"source_record_id": rid, "feed": feed, "event_time": event_time, "name": "", "id_number": "",
            "id_status": "missing", "birth_date": "", "sex": "", "phone": "", "address": "", "street": "积玉桥街道",
            "community": "", "temperature": float("nan"), "category": "", "action": "", "came_from": "",
            "arrival_date": "", "contact_of_name": "", "contact_of_id": ""}
    return base | values


def fused(rows, as_of):
    records = pd.DataFrame(rows)
    links = pd.DataFrame({"source_record_id": records["source_record_id"], "person_id": "P1"})
    return fuse_persons(records, links, STREETS, as_of, POLICY)


def step(rows, as_of, current, batch_id):
    """One run: fuse, then the history change; returns (person row, opens, the new current rows)."""
    persons = fused(rows, as_of)
    opens, closes = status_changes(persons, current, batch_id, as_of, POLICY)
    kept = current[~current["person_id"].isin(closes["person_id"])] if len(current) else current
    now = pd.concat([f for f in (kept, opens[["person_id", "status", "measure", "valid_from"]]) if len(f)] or [opens],
                    ignore_index=True)
    return persons.iloc[0], opens, closes, now


EMPTY = pd.DataFrame(columns=["person_id", "status", "measure", "valid_from"])
CONTACT = rec("p1", "police", "2020-02-01 10:00:00", contact_of_name="某某")  # 02:00 UTC


def test_close_contact_expires_after_the_measure_days():
    person, opens, closes, current = step([CONTACT], "2020-02-01T03:00:00Z", EMPTY, "B1")
    assert (person.status, person.measure, person.status_expires_at) == ("close_contact", "centralized_isolation",
                                                                         "2020-02-15T02:00:00Z")
    assert opens[["status", "change", "cause", "policy_version"]].values.tolist() == [
        ["close_contact", "set", "p1", POLICY.version]]
    assert closes.empty
    # a day before the end: nothing changes, nothing is written
    person, opens, closes, current = step([CONTACT], "2020-02-14T03:00:00Z", current, "B2")
    assert person.status == "close_contact" and opens.empty and closes.empty
    # after 14 days without a positive result: back to none, an `expired` row from the moment it ended
    person, opens, closes, current = step([CONTACT], "2020-02-15T03:00:00Z", current, "B3")
    assert (person.status, person.measure, person.expired_status) == ("none", "", "close_contact")
    assert opens[["status", "measure", "change", "valid_from", "cause"]].values.tolist() == [
        ["none", "", "expired", "2020-02-15T02:00:00Z", "p1"]]
    assert closes[["person_id", "valid_to", "closed_batch_id"]].values.tolist() == [["P1", "2020-02-15T02:00:00Z", "B3"]]
    # and stays there: nothing more is written
    _, opens, closes, _ = step([CONTACT], "2020-02-16T03:00:00Z", current, "B4")
    assert opens.empty and closes.empty


def test_a_later_record_renews_and_a_higher_status_replaces():
    renewed = rec("p2", "police", "2020-02-10 10:00:00", contact_of_name="某某")
    person, opens, _, current = step([CONTACT], "2020-02-01T03:00:00Z", EMPTY, "B1")
    person, opens, closes, current = step([CONTACT, renewed], "2020-02-15T03:00:00Z", current, "B2")
    assert person.status == "close_contact" and person.status_expires_at == "2020-02-24T02:00:00Z"
    assert opens.empty and closes.empty  # renewed: same status, no history row
    fever = rec("h1", "hospital", "2020-02-16 09:00:00", category="疑似")
    person, opens, closes, _ = step([CONTACT, renewed, fever], "2020-02-16T03:00:00Z", current, "B3")
    assert opens[["status", "measure", "change", "cause"]].values.tolist() == [
        ["suspected", "isolate_suspected", "raised", "h1"]]
    assert closes["valid_to"].tolist() == ["2020-02-16T03:00:00Z"]


def test_a_confirmed_case_does_not_expire():
    confirmed = rec("h1", "hospital", "2020-01-01 10:00:00", category="确诊")
    person = fused([confirmed], "2020-06-01T00:00:00Z").iloc[0]
    assert person.status == "confirmed" and person.status_expires_at == ""


def test_key_area_arrival_expires_and_falls_back_to_a_lower_status():
    arrival = rec("c1", "checkpoint", "2020-02-01 09:00:00", came_from="武汉")
    cleared = rec("h1", "hospital", "2020-02-02 09:00:00", category="排除")
    person, opens, _, current = step([arrival, cleared], "2020-02-02T03:00:00Z", EMPTY, "B1")
    assert (person.status, person.measure) == ("key_area_arrival", "door_to_door_verification")
    person, opens, _, _ = step([arrival, cleared], "2020-02-16T00:00:00Z", current, "B2")
    assert person.status == "cleared"
    assert opens[["status", "change", "cause"]].values.tolist() == [["cleared", "expired", "c1"]]


def test_a_measure_change_alone_is_a_change():
    arrival = rec("c1", "checkpoint", "2020-02-01 09:00:00", came_from="武汉")
    visited = rec("m1", "community", "2020-02-02 09:00:00", temperature=36.5)
    _, _, _, current = step([arrival], "2020-02-02T00:00:00Z", EMPTY, "B1")
    _, opens, closes, _ = step([arrival, visited], "2020-02-02T03:00:00Z", current, "B2")
    assert opens[["status", "measure", "change"]].values.tolist() == [["key_area_arrival", "home_isolation", "measure"]]
    assert len(closes) == 1


def test_nothing_is_written_for_people_without_a_finding_and_merged_ids_are_closed():
    plain = rec("m1", "community", "2020-02-02 09:00:00", temperature=36.5)
    persons = fused([plain], "2020-02-02T03:00:00Z")
    opens, closes = status_changes(persons, EMPTY, "B1", "2020-02-02T03:00:00Z", POLICY)
    assert opens.empty and closes.empty
    current = pd.DataFrame([{"person_id": "P9", "status": "fever", "measure": "transfer_fever_clinic",
                             "valid_from": "2020-02-01T00:00:00Z"}])
    opens, closes = status_changes(persons, current, "B2", "2020-02-02T03:00:00Z", POLICY)
    assert opens.empty and closes[["person_id", "valid_to"]].values.tolist() == [["P9", "2020-02-02T03:00:00Z"]]


def test_expires_names_statuses_whose_measure_has_days():
    assert POLICY.expires == ("close_contact", "key_area_arrival")
    assert POLICY.expiry_days == {"close_contact": 14, "key_area_arrival": 14}
    from importlib import resources

    text = resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8")
    broken = text.replace("expires: [close_contact, key_area_arrival]", "expires: [confirmed]")
    with pytest.raises(PolicyError, match=r"expires\[0\] is 'confirmed', whose measure \(transfer_designated_hospital\) "
                                          r"has no `days`"):
        parse_policy(broken, feeds=FEEDS)
    assert parse_policy(text.replace("expires: [close_contact, key_area_arrival]\n", ""), feeds=FEEDS).expires == ()
