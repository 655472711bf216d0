"""Push-list deltas: only what changed is pushed; items are closed, rerouted and escalated."""
from datetime import datetime, timedelta, timezone

import pandas as pd

from screenfuse.gazetteer import DISTRICT_LIST
from screenfuse.policy import default_policy
from screenfuse.pushlist import outbox_lists, plan_push_items

POLICY = default_policy(["checkpoint", "community", "hospital", "police", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring"])
T0 = datetime(2020, 2, 10, 10, tzinfo=timezone.utc)
NO_CHANGES = pd.DataFrame(columns=["person_id", "change"])
NOTHING_BEFORE = pd.DataFrame(columns=["push_item_id", "person_id", "street", "status", "measure", "state", "due_at",
                                       "answered_at"])


def person(pid, status, measure, street="粮道街道", reason="h1"):
    return {"person_id": pid, "status": status, "measure": measure, "responsible_list": street, "community": "",
            "status_reason": reason}


def changes(**kinds):
    return pd.DataFrame({"person_id": list(kinds), "change": list(kinds.values())})


def as_before(new: pd.DataFrame, **overrides) -> pd.DataFrame:
    """Items a run created, as the next run reads them (pushed, unanswered)."""
    out = new.assign(state="pushed", answered_at=None)
    for column, value in overrides.items():
        out[column] = value
    return out[list(NOTHING_BEFORE.columns)]


def test_new_measures_are_pushed_once():
    persons = pd.DataFrame([person("P1", "suspected", "transfer_designated_hospital"),
                            person("P2", "none", "")])
    first = plan_push_items(persons, NOTHING_BEFORE, changes(P1="set"), "B1", T0, POLICY)
    assert first.new[["street", "person_id", "measure", "reason", "due_at", "state"]].values.tolist() == [
        ["粮道街道", "P1", "transfer_designated_hospital", "new_measure", "2020-02-10T12:00:00Z", "open"]]
    assert first.closes.empty and first.escalations.empty
    assert first.new["policy_version"].tolist() == [POLICY.version]  # every decision names its policy
    # the next hour: the same need, an open item → nothing new, not yet due → not escalated
    again = plan_push_items(persons, as_before(first.new), NO_CHANGES, "B2", T0 + timedelta(hours=1), POLICY)
    assert again.new.empty and again.closes.empty and again.escalations.empty


def test_an_item_past_due_unanswered_is_escalated_once():
    persons = pd.DataFrame([person("P1", "fever", "transfer_fever_clinic")])
    first = plan_push_items(persons, NOTHING_BEFORE, changes(P1="set"), "B1", T0, POLICY)
    late = plan_push_items(persons, as_before(first.new), NO_CHANGES, "B3", T0 + timedelta(hours=3), POLICY)
    assert late.escalations[["push_item_id", "escalated_at", "escalated_batch_id"]].values.tolist() == [
        [first.new.loc[0, "push_item_id"], "2020-02-10T13:00:00Z", "B3"]]
    assert late.new.empty and late.closes.empty
    # already escalated, or answered: not escalated again
    for state, answered in (("escalated", None), ("acknowledged", "2020-02-10T11:00:00Z")):
        later = plan_push_items(persons, as_before(first.new, state=state, answered_at=answered), NO_CHANGES, "B4",
                                T0 + timedelta(hours=5), POLICY)
        assert later.escalations.empty and later.new.empty


def test_a_move_to_another_street_reroutes_the_item():
    first = plan_push_items(pd.DataFrame([person("P1", "close_contact", "centralized_isolation")]), NOTHING_BEFORE,
                            changes(P1="set"), "B1", T0, POLICY)
    moved = pd.DataFrame([person("P1", "close_contact", "centralized_isolation", street="积玉桥街道")])
    plan = plan_push_items(moved, as_before(first.new), NO_CHANGES, "B2", T0 + timedelta(hours=1), POLICY)
    assert plan.closes[["push_item_id", "close_reason"]].values.tolist() == [[first.new.loc[0, "push_item_id"], "rerouted"]]
    assert plan.new[["street", "reason", "replaces_item_id", "due_at"]].values.tolist() == [
        ["积玉桥街道", "rerouted", first.new.loc[0, "push_item_id"], "2020-02-10T17:00:00Z"]]


def test_items_no_longer_needed_are_closed_with_the_reason():
    persons = pd.DataFrame([person("P1", "close_contact", "centralized_isolation"),
                            person("P2", "key_area_arrival", "door_to_door_verification"),
                            person("P3", "fever", "transfer_fever_clinic")])
    first = plan_push_items(persons, NOTHING_BEFORE, changes(P1="set", P2="set", P3="set"), "B1", T0, POLICY)
    later = pd.DataFrame([person("P1", "none", ""), person("P2", "key_area_arrival", "home_isolation"),
                          person("P3", "cleared", "")])
    plan = plan_push_items(later, as_before(first.new), changes(P1="expired", P2="measure", P3="lowered"), "B2",
                           T0 + timedelta(hours=1), POLICY)
    reasons = dict(zip(first.new.set_index("push_item_id").loc[plan.closes["push_item_id"], "person_id"],
                       plan.closes["close_reason"]))
    assert reasons == {"P1": "expired", "P2": "measure_changed", "P3": "no_longer_needed"}
    assert plan.new[["person_id", "measure", "reason"]].values.tolist() == [["P2", "home_isolation", "new_measure"]]


def test_a_status_change_with_the_same_measure_replaces_the_item_and_merged_ids_close():
    first = plan_push_items(pd.DataFrame([person("P1", "suspected", "transfer_designated_hospital"),
                                          person("P2", "fever", "transfer_fever_clinic")]),
                            NOTHING_BEFORE, changes(P1="set", P2="set"), "B1", T0, POLICY)
    later = pd.DataFrame([person("P1", "confirmed", "transfer_designated_hospital")])  # P2 merged away
    plan = plan_push_items(later, as_before(first.new), changes(P1="raised"), "B2", T0 + timedelta(hours=1), POLICY)
    assert sorted(plan.closes["close_reason"]) == ["person_merged", "status_changed"]
    assert plan.new[["person_id", "status", "reason"]].values.tolist() == [["P1", "confirmed", "status_changed"]]


def test_a_done_item_is_not_pushed_again_unless_the_status_changes():
    persons = pd.DataFrame([person("P1", "close_contact", "centralized_isolation")])
    first = plan_push_items(persons, NOTHING_BEFORE, changes(P1="set"), "B1", T0, POLICY)
    done = as_before(first.new, state="done")
    assert plan_push_items(persons, done, NO_CHANGES, "B2", T0, POLICY).new.empty
    assert len(plan_push_items(persons, done, changes(P1="set"), "B3", T0, POLICY).new) == 1


def test_a_measure_in_force_follows_a_person_who_moved_after_it_was_done():
    first = plan_push_items(pd.DataFrame([person("P1", "close_contact", "home_isolation")]), NOTHING_BEFORE,
                            changes(P1="set"), "B1", T0, POLICY)
    done = as_before(first.new, state="done")
    moved = pd.DataFrame([person("P1", "close_contact", "home_isolation", street="积玉桥街道")])
    plan = plan_push_items(moved, done, NO_CHANGES, "B2", T0 + timedelta(hours=5), POLICY)
    assert plan.new[["street", "reason", "replaces_item_id"]].values.tolist() == [
        ["积玉桥街道", "rerouted", first.new.loc[0, "push_item_id"]]]
    assert plan.closes.empty  # the done item stays done
    # the next run sees the new street's item: nothing is pushed again
    both = pd.concat([done, as_before(plan.new)], ignore_index=True)
    assert plan_push_items(moved, both, NO_CHANGES, "B3", T0 + timedelta(hours=6), POLICY).new.empty


def test_outbox_lists_flag_escalated_items_on_the_district_list():
    items = pd.DataFrame([
        {"push_item_id": "A", "street": "粮道街道", "community": "", "person_id": "P1", "name": "", "id_number": "",
         "phone": "", "address": "", "status": "fever", "measure": "transfer_fever_clinic", "detail": "发热: 1 条来源记录",
         "source_records": "h1", "due_at": "t", "push_reason": "escalated"},
        {"push_item_id": "B", "street": "粮道街道", "community": "", "person_id": "P2", "name": "", "id_number": "",
         "phone": "", "address": "", "status": "close_contact", "measure": "centralized_isolation", "detail": "",
         "source_records": "p1", "due_at": "t", "push_reason": "new_measure"},
    ])
    lists = outbox_lists(items, POLICY)
    assert set(lists) == {"粮道街道", DISTRICT_LIST}
    assert lists["粮道街道"][["推送编号", "推送类型", "超时", "管控措施"]].values.tolist() == [
        ["A", "超时未反馈", "超时", "转运发热门诊,集中留观治疗"], ["B", "新增措施", "", "集中隔离"]]
    assert lists[DISTRICT_LIST]["推送编号"].tolist() == ["A"]


def test_the_reason_says_which_unit_found_what_and_a_missing_community_says_so():
    items = pd.DataFrame([
        {"push_item_id": "A", "street": "粮道街道", "community": "", "person_id": "P1", "name": "", "id_number": "",
         "phone": "", "address": "", "status": "fever", "measure": "transfer_fever_clinic", "detail": "发热: 2 条来源记录",
         "source_records": "c1;h1", "due_at": "t", "push_reason": "new_measure"},
        {"push_item_id": "B", "street": "粮道街道", "community": "三层楼社区", "person_id": "P2", "name": "", "id_number": "",
         "phone": "", "address": "", "status": "close_contact", "measure": "centralized_isolation",
         "detail": "密接: 5 条来源记录", "source_records": "x1;x2;x3;x4;x5", "due_at": "t", "push_reason": "new_measure"},
    ])
    records = pd.DataFrame({
        "source_record_id": ["c1", "h1", "x1", "x2", "x3", "x4", "x5"],
        "unit": ["南湖收费站", "武汉大学人民医院发热门诊", "积玉桥派出所", "a", "b", "c", "d"],
        "event_time": ["2020-02-10 06:27:00", "2020-02-10 09:12:00", "2020-02-10 10:00:00", "", "", "", ""],
        "temperature": [38.2, 36.5, None, None, None, None, None],
        "came_from": ["孝感", "", "", "", "", "", ""], "category": ["", "疑似", "密接", "", "", "", ""],
        "nucleic_acid": ["", "阳性", "", "", "", "", ""]})
    lists = outbox_lists(items, POLICY, records)["粮道街道"].set_index("推送编号")
    assert lists.at["A", "推送原因"] == ("发热: 2 条来源记录；南湖收费站 02-10 06:27 体温38.2℃ 来自孝感；"
                                     "武汉大学人民医院发热门诊 02-10 09:12 疑似 核酸阳性")
    assert lists.at["B", "推送原因"].endswith("积玉桥派出所 02-10 10:00 密接；a；b 等5条")
    assert lists.at["A", "社区"] == "待核实(住址未定位到社区)" and lists.at["B", "社区"] == "三层楼社区"
