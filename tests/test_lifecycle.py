"""Status history and statuses that end on their own, without Airflow or a database."""
import pandas as pd
import pytest

from dataclasses import replace

from screenfuse.fuse import fuse_persons
from screenfuse.lifecycle import status_changes
from screenfuse.policy import PolicyError, default_policy, parse_policy

FEEDS = ["checkpoint", "community", "hospital", "police", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring"]
POLICY = default_policy(FEEDS)
STREETS = ["积玉桥街道"]


def rec(rid, feed, event_time, **values):
    base = {"source_record_id": rid, "feed": feed, "event_time": event_time, "name": "", "id_number": "",
            "id_status": "missing", "birth_date": "", "sex": "", "phone": "", "address": "", "street": "积玉桥街道",
            "community": "", "temperature": float("nan"), "category": "", "action": "", "came_from": "",
            "arrival_date": "", "contact_of_name": "", "contact_of_id": ""}
    return base | values


# the policy of the runs before close contacts needed a negative result to be released: their
# isolation simply ended after 14 days (still a valid policy: a status in `expires`, not in `release`)
EXPIRING = replace(POLICY, expires=("close_contact", *POLICY.expires),
                   release=tuple(r for r in POLICY.release if r.status != "close_contact"))


def fused(rows, as_of, policy=POLICY):
    records = pd.DataFrame(rows)
    links = pd.DataFrame({"source_record_id": records["source_record_id"], "person_id": "P1"})
    return fuse_persons(records, links, STREETS, as_of, policy)


def step(rows, as_of, current, batch_id, policy=POLICY):
    """One run: fuse, then the history change; returns (person row, opens, the new current rows)."""
    persons = fused(rows, as_of, policy)
    opens, closes = status_changes(persons, current, batch_id, as_of, policy)
    kept = current[~current["person_id"].isin(closes["person_id"])] if len(current) else current
    now = pd.concat([f for f in (kept, opens[["person_id", "status", "measure", "valid_from"]]) if len(f)] or [opens],
                    ignore_index=True)
    return persons.iloc[0], opens, closes, now


EMPTY = pd.DataFrame(columns=["person_id", "status", "measure", "valid_from"])
CONTACT = rec("p1", "police", "2020-02-01 10:00:00", contact_of_name="某某")  # 02:00 UTC


def test_a_status_in_expires_ends_after_the_measure_days():
    person, opens, closes, current = step([CONTACT], "2020-02-01T03:00:00Z", EMPTY, "B1", EXPIRING)
    assert (person.status, person.measure, person.status_expires_at) == ("close_contact", "centralized_isolation",
                                                                         "2020-02-15T02:00:00Z")
    assert opens[["status", "change", "cause", "policy_version"]].values.tolist() == [
        ["close_contact", "set", "p1", POLICY.version]]
    assert closes.empty
    # a day before the end: nothing changes, nothing is written
    person, opens, closes, current = step([CONTACT], "2020-02-14T03:00:00Z", current, "B2", EXPIRING)
    assert person.status == "close_contact" and opens.empty and closes.empty
    # after 14 days without a positive result: back to none, an `expired` row from the moment it ended
    person, opens, closes, current = step([CONTACT], "2020-02-15T03:00:00Z", current, "B3", EXPIRING)
    assert (person.status, person.measure, person.expired_status) == ("none", "", "close_contact")
    assert opens[["status", "measure", "change", "valid_from", "cause"]].values.tolist() == [
        ["none", "", "expired", "2020-02-15T02:00:00Z", "p1"]]
    assert closes[["person_id", "valid_to", "closed_batch_id"]].values.tolist() == [["P1", "2020-02-15T02:00:00Z", "B3"]]
    # and stays there: nothing more is written
    _, opens, closes, _ = step([CONTACT], "2020-02-16T03:00:00Z", current, "B4", EXPIRING)
    assert opens.empty and closes.empty


def test_a_later_record_renews_and_a_higher_status_replaces():
    renewed = rec("p2", "police", "2020-02-10 10:00:00", contact_of_name="某某")
    person, opens, _, current = step([CONTACT], "2020-02-01T03:00:00Z", EMPTY, "B1", EXPIRING)
    person, opens, closes, current = step([CONTACT, renewed], "2020-02-15T03:00:00Z", current, "B2", EXPIRING)
    assert person.status == "close_contact" and person.status_expires_at == "2020-02-24T02:00:00Z"
    assert opens.empty and closes.empty  # renewed: same status, no history row
    fever = rec("h1", "hospital", "2020-02-16 09:00:00", category="疑似")
    person, opens, closes, _ = step([CONTACT, renewed, fever], "2020-02-16T03:00:00Z", current, "B3", EXPIRING)
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
    # every arrival class of seed 002 l.24 ends on its own; business travellers after 7 days (l.28)
    assert POLICY.expires == ("key_country_arrival", "non_key_country_arrival", "overseas_arrival", "business_short_stay",
                              "key_area_arrival", "area_of_concern_arrival", "other_region_arrival", "released",
                              # the pharmacies' and self-reports' signals, 14 days from the purchase or report,
                              # and a city-list category to verify at the door, 14 days from the list
                              "fever_medicine_buyer", "symptom_self_report", "cold_medicine_buyer", "city_list_review")
    assert POLICY.expiry_days == {"key_country_arrival": 14, "non_key_country_arrival": 14, "overseas_arrival": 14,
                                  "business_short_stay": 7, "key_area_arrival": 14, "area_of_concern_arrival": 14,
                                  "other_region_arrival": 14, "released": 14, "fever_medicine_buyer": 14,
                                  "symptom_self_report": 14, "cold_medicine_buyer": 14, "city_list_review": 14}
    from importlib import resources

    text = resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8")
    start = text.index("\nexpires: [") + 1
    listed = text[start:text.index("\n", text.index("]", start)) + 1]  # the list, to the end of its last line
    broken = text.replace(listed, "expires: [confirmed]\n")
    with pytest.raises(PolicyError, match=r"expires\[0\] is 'confirmed', whose measure \(transfer_designated_hospital\) "
                                          r"has no `days`"):
        parse_policy(broken, feeds=FEEDS)
    assert parse_policy(text.replace(listed, ""), feeds=FEEDS).expires == ()


NEGATIVE = rec("h1", "hospital", "2020-02-13 09:00:00", nucleic_acid="阴性")


def test_a_close_contact_is_released_by_a_negative_result_after_14_days():
    # issue 9, case 6: release needs a negative test (seed 001), then home health monitoring (seed 000)
    person, opens, _, current = step([CONTACT], "2020-02-01T03:00:00Z", EMPTY, "B1")
    assert (person.status, person.measure, person.status_expires_at, person.release_due_at) == (
        "close_contact", "centralized_isolation", "", "2020-02-15T02:00:00Z")
    # 14 days over, no result: still isolated, sampled now (a measure change, pushed)
    person, opens, closes, current = step([CONTACT], "2020-02-15T03:00:00Z", current, "B2")
    assert (person.status, person.measure, person.release_due_at) == ("close_contact", "release_test", "")
    assert opens[["status", "measure", "change"]].values.tolist() == [["close_contact", "release_test", "measure"]]
    # a negative result taken during the period releases them at its end (02-15 10:00 local), for 14 days
    person, opens, closes, current = step([CONTACT, NEGATIVE], "2020-02-15T04:00:00Z", current, "B3")
    assert (person.status, person.measure, person.status_source) == ("released", "health_monitoring", "h1")
    assert (person.status_since, person.status_expires_at) == ("2020-02-15 10:00:00", "2020-02-29T02:00:00Z")
    assert opens[["status", "measure", "cause"]].values.tolist() == [["released", "health_monitoring", "h1"]]
    # after the 14 days of monitoring: nothing left
    person = fused([CONTACT, NEGATIVE], "2020-02-29T02:00:00Z").iloc[0]
    assert (person.status, person.measure) == ("none", "")
    # a negative result before the contact (its last contact 02-01 10:00) does not count
    early = rec("h0", "hospital", "2020-01-31 09:00:00", nucleic_acid="阴性")
    assert fused([CONTACT, early], "2020-02-16T03:00:00Z").iloc[0][["status", "measure"]].tolist() == [
        "close_contact", "release_test"]


def test_an_asymptomatic_case_is_released_after_14_days_and_two_negative_results():
    # issue 9, case 4: 无症状 02-01; negatives 02-12 and 02-16 → released on 02-16 (not at 02-15: one test only)
    positive = rec("h1", "hospital", "2020-02-01 09:00:00", category="无症状", nucleic_acid="阳性")
    first = rec("h2", "hospital", "2020-02-12 09:00:00", nucleic_acid="阴性")
    second = rec("h3", "hospital", "2020-02-16 09:00:00", nucleic_acid="阴性")
    person = fused([positive, first], "2020-02-10T00:00:00Z").iloc[0]
    assert (person.status, person.measure, person.release_due_at) == (
        "asymptomatic", "centralized_isolation", "2020-02-15T01:00:00Z")
    person = fused([positive, first], "2020-02-15T02:00:00Z").iloc[0]
    assert (person.status, person.measure) == ("asymptomatic", "release_test")
    person = fused([positive, first, second], "2020-02-16T02:00:00Z").iloc[0]
    assert (person.status, person.measure, person.status_source, person.status_reason) == (
        "released", "health_monitoring", "h3", "h2;h3")
    assert (person.status_since, person.status_expires_at) == ("2020-02-16 09:00:00", "2020-03-01T01:00:00Z")
    # both results in before the 14 days are over: released when they are (02-15 09:00 local)
    early = rec("h3", "hospital", "2020-02-13 09:00:00", nucleic_acid="阴性")
    person = fused([positive, first, early], "2020-02-14T00:00:00Z").iloc[0]
    assert (person.status, person.measure, person.status_expires_at) == (
        "asymptomatic", "centralized_isolation", "2020-02-15T01:00:00Z")
    assert fused([positive, first, early], "2020-02-15T01:00:00Z").iloc[0].status == "released"
    # a new positive after the negatives starts again
    again = rec("h4", "hospital", "2020-02-14 09:00:00", category="无症状", nucleic_acid="阳性")
    person = fused([positive, first, early, again], "2020-02-16T02:00:00Z").iloc[0]
    assert (person.status, person.measure, person.release_due_at) == (
        "asymptomatic", "centralized_isolation", "2020-02-28T01:00:00Z")
    # an explicit 解除医学观察 from the hospital releases at once
    explicit = rec("h5", "hospital", "2020-02-10 09:00:00", category="解除医学观察")
    person = fused([positive, explicit], "2020-02-10T02:00:00Z").iloc[0]
    assert (person.status, person.measure, person.status_source) == ("released", "health_monitoring", "h5")


def test_a_release_needs_a_status_with_days_and_not_expires():
    from importlib import resources

    text = resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8")
    with pytest.raises(PolicyError, match=r"release.close_contact is 'close_contact', which is also in expires"):
        parse_policy(text.replace("other_region_arrival, released,\n", "other_region_arrival, released, "
                                  "close_contact,\n"), feeds=FEEDS)
    with pytest.raises(PolicyError, match=r"release.close_contact.then is 'cleared'; a release leads to another status"):
        parse_policy(text.replace("    then: released\n    waiting_measure: release_test\n  asymptomatic:",
                                  "    then: cleared\n    waiting_measure: release_test\n  asymptomatic:"), feeds=FEEDS)
