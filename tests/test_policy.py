import copy
import dataclasses
import pickle
import tomllib
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from screenfuse.policy import (
    POLICY_ENV, PolicyError, after_discharge_measure, community_risk, configured_policy, default_policy,
    load_policy, parse_policy, record_status,
)

FEEDS = ("checkpoint", "police", "hospital", "community", "arrivals", "city_list", "pharmacy", "self_report", "isolation_monitoring")


def default_doc() -> dict:
    return yaml.safe_load(resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8"))


def write_policy(tmp_path: Path, doc: dict, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def rec(feed, **values):
    base = {"feed": feed, "event_time": "2020-02-10 08:00:00", "temperature": float("nan"), "category": "",
            "action": "", "came_from": "", "arrival_date": "", "contact_of_name": "", "contact_of_id": ""}
    return base | values


# ------------------------------------------------------------------------------ the default file

def test_default_policy_loads_with_the_expected_shape():
    policy = default_policy()
    assert policy.version
    # the arrival classes of seed 002 l.24 (issue 9 item 7): from abroad above the pool re-test, domestic below it
    assert policy.status_priority == ("confirmed", "asymptomatic", "suspected", "fever", "close_contact",
                                      "key_country_arrival", "non_key_country_arrival", "overseas_arrival",
                                      "business_short_stay", "screening_retest", "key_area_arrival",
                                      "area_of_concern_arrival", "discharged", "fever_medicine_buyer",
                                      "symptom_self_report", "cold_medicine_buyer", "released", "other_region_arrival",
                                      "city_list_review", "cleared", "deceased", "none")
    assert policy.status_labels["close_contact"] == "密接"
    assert len(policy.measure_specs) == 15  # isolation_missed_check: the isolation points (issue 9)
    assert policy.isolation.deadline_hour == 18 and policy.isolation.feed == "isolation_monitoring"
    assert policy.result_due_hours == 24
    assert policy.measure_specs["centralized_isolation"].days == 14
    assert policy.hours_to_act["transfer_fever_clinic"] == 2
    assert policy.measures["fever"] == "transfer_fever_clinic"
    assert "none" not in policy.measures and "cleared" not in policy.measures
    assert [s.days for s in policy.after_discharge] == [14, 14, None]
    assert [level.label for level in policy.risk_levels] == ["疫区", "疫点", "一般封闭式", "流动式"]
    assert policy.zero_report.timezone == "Asia/Shanghai"
    assert policy.timezone == "Asia/Shanghai"
    # every feed whose units report daily (pharmacies: seed 000 l.41 makes them registering units); the city's
    # lists come when the city sends them, and the self-report line is no unit
    assert set(policy.zero_report.deadline_hour) == set(FEEDS) - {"city_list", "self_report"}
    assert policy.source and len(policy.sha256) == 64


def test_policy_is_frozen_and_pickles():
    policy = default_policy(FEEDS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.version = "other"
    with pytest.raises(TypeError):
        policy.measures["fever"] = "home_isolation"
    with pytest.raises(TypeError):
        policy.rules[0].when["temperature_at_least"] = 40
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert copy.deepcopy(policy) == policy


def test_policy_files_ship_with_the_package():
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "policies/*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["screenfuse"]


def test_a_copied_file_loads_to_an_equal_policy(tmp_path):
    copied = load_policy(write_policy(tmp_path, default_doc()), FEEDS)
    assert copied == default_policy(FEEDS)
    assert copied.source.endswith("policy.yaml")


def test_configured_policy_follows_the_environment(tmp_path, monkeypatch):
    doc = default_doc()
    doc["version"] = "test-2"
    monkeypatch.setenv(POLICY_ENV, str(write_policy(tmp_path, doc)))
    assert configured_policy(FEEDS).version == "test-2"
    monkeypatch.setenv(POLICY_ENV, str(tmp_path / "missing.yaml"))
    with pytest.raises(PolicyError, match=POLICY_ENV):
        configured_policy(FEEDS)
    monkeypatch.delenv(POLICY_ENV)
    assert configured_policy(FEEDS).version == default_policy(FEEDS).version


# ---------------------------------------------------------------------------------- validation

def _set(path: str, value):
    """A change to the parsed default: set (or, with value=DELETE, delete) the value at a dotted path."""
    def change(doc):
        *parents, last = _parts(path)
        node = doc
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
        return doc
    return change


def _parts(path: str) -> list:
    parts = []
    for piece in path.split("."):
        name, _, index = piece.partition("[")
        parts.append(name)
        if index:
            parts.append(int(index.rstrip("]")))
    return parts


def _rename(path: str, new_name: str):
    def change(doc):
        *parents, last = _parts(path)
        node = doc
        for part in parents:
            node = node[part]
        node[new_name] = node.pop(last)
        return doc
    return change


DELETE = object()

BROKEN = [
    # (change to the default, key the message must name, words that say how to fix it)
    (_set("version", DELETE), "version", "is missing"),
    (_set("ends.cleared", ["suspected", "cleared"]), "ends.cleared[1]", "the status itself"),
    (_set("ends.cleared", ["suspectd"]), "ends.cleared[0]", "did you mean 'suspected'"),
    (_set("version", 2020.03), "version", "quotes"),
    (_set("colour", "red"), "colour", "allowed here"),
    (_set("statuses.fever.priority", 3), "statuses.fever.priority", "statuses.suspected.priority"),
    (_set("statuses.fever.priority", "high"), "statuses.fever.priority", "whole number"),
    (_set("statuses.fever.priority", 0), "statuses.fever.priority", "≥ 1"),
    (_rename("statuses.fever.priority", "prority"), "statuses.fever.prority", "did you mean 'priority'"),
    (_set("statuses.fever.label", DELETE), "statuses.fever.label", "is missing"),
    (_set("statuses.none", DELETE), "statuses.none", "lowest priority"),
    (_set("statuses.deceased.priority", 23), "statuses.none.priority", "lowest priority"),
    (_set("statuses.Fever", {"label": "发热", "priority": 12}), "statuses.Fever", "lower-case"),
    (_set("key_areas", {"names": ["湖北"], "within_days": -1}), "key_areas.within_days", "days ≥ 0"),
    (_set("key_areas", {"names": "湖北"}), "key_areas.names", "write it as a list"),
    (_set("rules[0].status", "fevr"), "rules[0].status", "did you mean 'fever'"),
    (_set("rules[0].status", "none"), "rules[0].status", "not a known status"),
    (_set("rules[0].feeds", ["checkpoint", "comunity"]), "rules[0].feeds[1]", "did you mean 'community'"),
    (_set("rules[0].when", {"temperature_at_least": 99.1}), "rules[0].when.temperature_at_least", "degrees Celsius"),
    (_set("rules[0].when", {"temperature_above": 37.3}), "rules[0].when.temperature_above",
     "did you mean 'temperature_at_least'"),
    (_set("rules[0].when", {}), "rules[0].when", "no condition"),
    (_set("rules[2].when", {"contact_link": False}), "rules[2].when.contact_link", "only `true`"),
    (_set("rules[4].when", {"category_in": "确诊"}), "rules[4].when.category_in", "write it as a list"),
    (_set("rules", []), "rules", "non-empty list"),
    (_set("measures.centralized_isolation.days", -14), "measures.centralized_isolation.days", "days ≥ 1"),
    (_set("measures.transfer_fever_clinic.hours_to_act", -2), "measures.transfer_fever_clinic.hours_to_act", "hours"),
    (_set("measures.home_isolation.hours", 24), "measures.home_isolation.hours", "did you mean 'hours_to_act'"),
    (_set("status_measures.fevr", "transfer_fever_clinic"), "status_measures.fevr", "did you mean 'fever'"),
    (_set("status_measures.fever", "transfer_fever_clinc"), "status_measures.fever",
     "did you mean 'transfer_fever_clinic'"),
    (_set("status_measures.none", "health_monitoring"), "status_measures.none", "remove it"),
    (_set("verify_first.until_feed", "grid"), "verify_first.until_feed", "known feeds"),
    (_set("after_discharge[0].days", DELETE), "after_discharge[0].days", "is missing"),
    (_set("after_discharge[1].days", -14), "after_discharge[1].days", "days ≥ 1"),
    (_set("after_discharge[2].measure", "follow_up"), "after_discharge[2].measure", "did you mean 'follow_up_visit'"),
    (_set("community_risk[0].when_any", {"confirmed": 0}), "community_risk[0].when_any.confirmed", "≥ 1"),
    (_set("community_risk[0].when_any", {"confirmd": 3}), "community_risk[0].when_any.confirmd",
     "did you mean 'confirmed'"),
    (_set("community_risk[0].actions", ["lock_down_comunity"]), "community_risk[0].actions[0]",
     "did you mean 'lock_down_community'"),
    (_set("community_risk[3].when_any", {"fever": 1}), "community_risk[3].when_any", "default"),
    (_set("community_risk[1].when_any", DELETE), "community_risk[1].when_any", "is missing"),
    (_set("community_risk[1].level", "epidemic_area"), "community_risk[1].level", "its own name"),
    (_set("zero_report.timezone", "Beijing"), "zero_report.timezone", "Asia/Shanghai"),
    (_set("timezone", "Beijing"), "timezone", "use an IANA name such as Asia/Shanghai"),
    (_set("timezone", "Asia/Urumqi"), "zero_report.timezone", "remove zero_report.timezone"),
    (_set("zero_report.deadline_hour.hospital", 25), "zero_report.deadline_hour.hospital", "from 1 to 24"),
    (_set("zero_report.deadline_hour.clinic", 16), "zero_report.deadline_hour.clinic", "known feeds"),
]


@pytest.mark.parametrize("change, key, fix", BROKEN, ids=[f"{key}:{fix}" for _, key, fix in BROKEN])
def test_a_broken_policy_names_the_key_and_the_fix(tmp_path, change, key, fix):
    path = write_policy(tmp_path, change(default_doc()), "broken.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(path, FEEDS)
    message = str(caught.value)
    assert caught.value.key == key
    assert f"broken.yaml: {key} " in message
    assert fix in message


@pytest.mark.parametrize("text, key, fix", [
    ("version: '1'\nstatuses:\n  fever: {label: 发热, priority: 1}\n  fever: {label: 发热, priority: 2}\n",
     "statuses.fever", "lines 3 and 4"),
    ("version: [unclosed\n", "", "not valid YAML at line 2"),
    ("", "", "is empty"),
    ("- just\n- a list\n", "", "the file is a list"),
])
def test_broken_yaml_is_refused(tmp_path, text, key, fix):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path, FEEDS)
    assert caught.value.key == key
    assert fix in str(caught.value)


def test_rule_feeds_default_to_the_feed_contracts(tmp_path):
    doc = default_doc()
    doc["rules"][0]["feeds"] = ["feedback"]
    with pytest.raises(PolicyError, match="known feeds: arrivals, checkpoint, city_list"):
        load_policy(write_policy(tmp_path, doc))
    assert load_policy(write_policy(tmp_path, doc), [*FEEDS, "feedback"]).rules[0].feeds == ("feedback",)


# ------------------------------------------------------------------------------ record status

CASES = [
    (rec("checkpoint", temperature=37.3), "fever"),
    (rec("checkpoint", temperature=37.2), "none"),
    (rec("community", temperature="38.1"), "fever"),
    (rec("checkpoint", temperature=36.5, action="转运发热门诊"), "fever"),
    (rec("hospital", temperature=39.0), "none"),  # a hospital reports fever by category, not temperature
    (rec("hospital", category="发热"), "fever"),
    (rec("hospital", category="确诊", temperature=39.0), "confirmed"),
    (rec("hospital", category="无症状"), "asymptomatic"),
    (rec("hospital", category="疑似"), "suspected"),
    (rec("hospital", category="排除"), "cleared"),
    (rec("hospital", category="排除", came_from="湖北"), "key_area_arrival"),  # cleared does not erase it
    (rec("hospital", category="排除", contact_of_name="某某"), "close_contact"),
    (rec("hospital", category="出院"), "discharged"),
    (rec("hospital", category="死亡"), "deceased"),
    (rec("community", category="确诊"), "none"),  # only a hospital's category counts
    (rec("police", contact_of_id="000000000000000000"), "close_contact"),
    (rec("police", contact_of_name="  "), "none"),
    (rec("community", came_from="湖北孝感", temperature=38.0), "fever"),
    (rec("checkpoint", came_from="境外"), "overseas_arrival"),  # seeds 000 l.43, 001 l.28 (was key_area_arrival)
    (rec("checkpoint", came_from="北京"), "other_region_arrival"),  # seed 002 l.24 国内其他地区 (was none)
    (rec("community", came_from="武汉", arrival_date="2020-01-27"), "key_area_arrival"),  # 14 days before
    (rec("community", came_from="武汉", arrival_date="2020-01-26"), "none"),  # 15 days before: no arrival class
    (rec("community", came_from="武汉", arrival_date=""), "key_area_arrival"),  # unknown date: still flagged
    (rec("community", came_from="武汉", arrival_date="2020-02-12"), "key_area_arrival"),  # after the record
    (rec("community", came_from="武汉", arrival_date="not a date"), "key_area_arrival"),
    (rec("community"), "none"),
]


def test_record_status_over_hand_built_records():
    records = pd.DataFrame([r for r, _ in CASES], index=[f"r{i}" for i in range(len(CASES))])
    status = record_status(records, default_policy(FEEDS))
    assert list(status.index) == list(records.index)
    assert status.tolist() == [expected for _, expected in CASES]


def test_record_status_treats_missing_columns_as_empty():
    records = pd.DataFrame({"feed": ["checkpoint", "hospital", "police"], "temperature": [38.0, None, None],
                            "category": ["", "确诊", ""]})
    assert record_status(records, default_policy(FEEDS)).tolist() == ["fever", "confirmed", "none"]
    assert record_status(records.iloc[:0], default_policy(FEEDS)).tolist() == []


def test_a_changed_fever_threshold_changes_the_status(tmp_path):
    records = pd.DataFrame([rec("checkpoint", temperature=37.3), rec("community", temperature=37.6)])
    assert record_status(records, default_policy(FEEDS)).tolist() == ["fever", "fever"]
    doc = default_doc()
    doc["rules"][0]["when"]["temperature_at_least"] = 37.5
    doc["version"] = "stricter"
    stricter = load_policy(write_policy(tmp_path, doc), FEEDS)
    assert stricter.version == "stricter"
    assert record_status(records, stricter).tolist() == ["none", "fever"]


def test_a_rule_can_read_the_nucleic_acid_result(tmp_path):
    records = pd.DataFrame([rec("hospital", category="发热", nucleic_acid="阳性"), rec("hospital", category="发热", nucleic_acid="阴性")])
    assert record_status(records, default_policy(FEEDS)).tolist() == ["fever", "fever"]
    doc = default_doc()
    doc["rules"].append({"status": "confirmed", "feeds": ["hospital"], "when": {"nucleic_acid_in": ["阳性"]}})
    positive_is_a_case = load_policy(write_policy(tmp_path, doc), FEEDS)
    assert record_status(records, positive_is_a_case).tolist() == ["confirmed", "fever"]


def test_a_changed_key_area_list_and_window_change_the_status(tmp_path):
    records = pd.DataFrame([rec("checkpoint", came_from="湖北孝感"), rec("checkpoint", came_from="北京市"),
                            rec("community", came_from="伊朗", arrival_date="2020-01-01")])
    assert record_status(records, default_policy(FEEDS)).tolist() == ["key_area_arrival", "other_region_arrival", "none"]
    doc = default_doc()
    doc["arrivals"]["classes"]["key_area"]["places"] = ["北京"]
    doc["arrivals"]["classes"]["key_country"]["places"] = [{"name": "伊朗"}]
    doc["arrivals"]["within_days"] = None
    changed = load_policy(write_policy(tmp_path, doc), FEEDS)
    assert record_status(records, changed).tolist() == ["other_region_arrival", "key_area_arrival", "key_country_arrival"]
    doc["arrivals"]["classes"]["key_area"]["places"] = []
    assert record_status(records, load_policy(write_policy(tmp_path, doc), FEEDS)).tolist()[:2] == ["other_region_arrival"] * 2


def test_an_older_policy_with_key_areas_still_loads_and_applies(tmp_path):
    records = pd.DataFrame([rec("checkpoint", came_from="湖北孝感"), rec("checkpoint", came_from="北京市")])
    legacy = load_policy(write_policy(tmp_path, legacy_doc()), FEEDS)
    assert legacy.arrivals is None and legacy.key_areas == ("湖北", "武汉", "境外", "韩国", "日本", "意大利", "伊朗")
    assert record_status(records, legacy).tolist() == ["key_area_arrival", "none"]
    doc = legacy_doc()
    del doc["key_areas"]
    with pytest.raises(PolicyError, match=r"rules\[\d+\]\.when\.came_from_key_area needs the key_areas section"):
        load_policy(write_policy(tmp_path, doc), FEEDS)


def legacy_doc() -> dict:
    """The default as policies were before the arrival classes: one key-area list, one rule."""
    doc = default_doc()
    del doc["arrivals"]
    doc["key_areas"] = {"names": ["湖北", "武汉", "境外", "韩国", "日本", "意大利", "伊朗"], "within_days": 14}
    doc["rules"].insert(3, {"status": "key_area_arrival", "when": {"came_from_key_area": True}})
    return doc


def _legacy_record_status(records: pd.DataFrame, threshold: float, key_areas: tuple[str, ...]) -> pd.Series:
    """The hard-coded rules the default policy replaces (fuse.record_status before policies)."""
    categories = {"确诊": "confirmed", "无症状": "asymptomatic", "疑似": "suspected", "发热": "fever", "排除": "cleared"}
    order = ["confirmed", "asymptomatic", "suspected", "fever", "close_contact", "key_area_arrival", "cleared", "none"]
    status = pd.Series("none", index=records.index, dtype=object)
    status[records["came_from"].fillna("").str.contains("|".join(key_areas))] = "key_area_arrival"
    status[records["contact_of_name"].fillna("").ne("") | records["contact_of_id"].fillna("").ne("")] = "close_contact"
    fever = (records["temperature"].astype(float) >= threshold) | records["action"].fillna("").str.contains("发热门诊")
    status[fever & (records["feed"] != "hospital")] = "fever"
    from_hospital = records["category"].fillna("").map(categories)
    rank = {s: i for i, s in enumerate(order)}
    better = (records["feed"] == "hospital") & from_hospital.notna() & (from_hospital.map(rank).fillna(99) < status.map(rank))
    status[better] = from_hospital[better]
    return status


# One record as its feed's contract allows it (only checkpoint and community measure temperature,
# only police records a contact link, only a hospital a category).
_temperature = st.one_of(st.just(float("nan")), st.sampled_from([36.0, 37.2, 37.3, 37.4, 39.5]))
_came_from = st.sampled_from(["", "湖北孝感", "武汉市", "境外", "伊朗", "北京", "日本东京"])
_arrival = st.sampled_from(["", "2020-02-01", "2020-02-10", "2020-01-28"])  # within 14 days of the record
_contract_record = st.one_of(
    st.builds(lambda t, a, c, d: rec("checkpoint", temperature=t, action=a, came_from=c, arrival_date=d),
              _temperature, st.sampled_from(["", "放行", "劝返", "转运发热门诊", "集中隔离"]), _came_from, _arrival),
    st.builds(lambda t, c, d: rec("community", temperature=t, came_from=c, arrival_date=d), _temperature, _came_from, _arrival),
    st.builds(lambda n, i, c: rec("police", contact_of_name=n, contact_of_id=i, came_from=c),
              st.sampled_from(["", "某某"]), st.sampled_from(["", "420106199001010011"]), _came_from),
    st.builds(lambda k, a: rec("hospital", category=k, action=a),
              st.sampled_from(["确诊", "无症状", "疑似", "发热", "排除"]), st.sampled_from(["", "转运定点医院", "发热门诊留观"])),
)


_LEGACY = None


@settings(max_examples=60, deadline=None)
@given(st.lists(_contract_record, min_size=1, max_size=12))
def test_a_key_area_policy_reproduces_the_hard_coded_rules(rows):
    # the default now sorts arrivals into the classes of seed 002 (test_arrivals.py); the rule engine
    # still reproduces the hard-coded rules under a policy written the older way (one key-area list)
    global _LEGACY
    if _LEGACY is None:
        _LEGACY = parse_policy(yaml.safe_dump(legacy_doc(), allow_unicode=True, sort_keys=False), feeds=FEEDS)
    policy = _LEGACY
    records = pd.DataFrame(rows)
    expected = _legacy_record_status(records, 37.3, policy.key_areas)
    assert record_status(records, policy).tolist() == expected.tolist()


# ----------------------------------------------------------------------------- community risk

def test_community_risk_thresholds():
    counts = pd.DataFrame({
        "confirmed":     [0, 1, 2, 3, 0, 0, 0, 0],
        "asymptomatic":  [0, 0, 0, 0, 1, 0, 0, 0],
        "suspected":     [0, 0, 0, 0, 0, 1, 0, 0],
        "close_contact": [0, 0, 0, 0, 0, 0, 4, None],
        "fever":         [5, 0, 0, 0, 0, 0, 0, 0],  # fever alone does not close a community
    }, index=[f"社区{i}" for i in range(8)])
    risk = community_risk(counts, default_policy(FEEDS))
    assert list(risk.index) == list(counts.index)
    assert risk.tolist() == ["free_flow", "epidemic_spot", "epidemic_spot", "epidemic_area", "epidemic_spot",
                             "general_closed", "general_closed", "free_flow"]


def test_community_risk_needs_every_count_it_names():
    with pytest.raises(ValueError, match="asymptomatic"):
        community_risk(pd.DataFrame({"confirmed": [1], "suspected": [0], "close_contact": [0]}), default_policy(FEEDS))


def test_community_risk_follows_the_file(tmp_path):
    doc = default_doc()
    doc["community_risk"][0]["when_any"] = {"confirmed": 2}
    counts = pd.DataFrame({"confirmed": [2], "asymptomatic": [0], "suspected": [0], "close_contact": [0]})
    assert community_risk(counts, default_policy(FEEDS)).tolist() == ["epidemic_spot"]
    assert community_risk(counts, load_policy(write_policy(tmp_path, doc), FEEDS)).tolist() == ["epidemic_area"]


_count = st.integers(min_value=0, max_value=5)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_count, _count, _count, _count), min_size=1, max_size=10), _count, st.sampled_from(
    ["confirmed", "asymptomatic", "suspected", "close_contact"]))
def test_more_cases_never_lower_a_communitys_risk(rows, extra, status):
    policy = default_policy(FEEDS)
    counts = pd.DataFrame(rows, columns=["confirmed", "asymptomatic", "suspected", "close_contact"])
    more = counts.copy()
    more[status] += extra
    order = [level.name for level in policy.risk_levels]
    before = community_risk(counts, policy).map(order.index)
    after = community_risk(more, policy).map(order.index)
    assert (after <= before).all()


# ---------------------------------------------------------------------------- after discharge

def test_after_discharge_steps_follow_the_durations():
    days = pd.Series([-1, 0, 13, 14, 27, 28, 365, None])
    assert after_discharge_measure(days, default_policy(FEEDS)).tolist() == [
        "", "centralized_isolation", "centralized_isolation", "home_isolation", "home_isolation",
        "follow_up_visit", "follow_up_visit", ""]


def test_after_discharge_ends_when_the_last_step_has_days(tmp_path):
    doc = default_doc()
    doc["after_discharge"][-1]["days"] = 7
    policy = load_policy(write_policy(tmp_path, doc), FEEDS)
    assert after_discharge_measure(pd.Series([34, 35]), policy).tolist() == ["follow_up_visit", ""]


# ------------------------------------------------------------ the format's checks (pydantic)

NEW_CHECKS = [
    (_set("title", None), "title", "is empty; expected non-empty text"),
    (_set("verify_first.statuses", "key_area_arrival"), "verify_first.statuses", "write it as a list"),
    (_set("rules[11].when", {"screening_result_in": ["阳"]}), "rules[11].when.screening_result_in[0]",
     "not a known screening result"),
    (_set("status_measures", ["fever"]), "status_measures", "expected a mapping of status → measure"),
    (_set("ends.cleared", "suspected"), "ends.cleared", "write it as a list"),
    (_set("expires", ["confirmed"]), "expires[0]", "give the measure days"),
    (_set("community_risk[0].when_any", {}), "community_risk[0].when_any", "e.g. {confirmed: 1}"),
    (_set("after_discharge[2].days", "x"), "after_discharge[2].days", "(or null on the last step)"),
    (_set("zero_report.deadline_hour.hospital", True), "zero_report.deadline_hour.hospital", "true (yes/no)"),
    (_set("key_areas", {"names": ["湖北", ""]}), "key_areas.names[1]", "non-empty text"),
]


@pytest.mark.parametrize("change, key, fix", NEW_CHECKS, ids=[f"{key}:{fix}" for _, key, fix in NEW_CHECKS])
def test_more_broken_policies_name_the_key_and_the_fix(tmp_path, change, key, fix):
    path = write_policy(tmp_path, change(default_doc()), "broken.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(path, FEEDS)
    assert caught.value.key == key
    assert f"broken.yaml: {key} " in str(caught.value)
    assert fix in str(caught.value)


def test_a_key_given_twice_inside_a_list_is_named_by_its_path(tmp_path):
    text = (resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8")
            .replace("{status: close_contact, when: {contact_link: true}}",
                     "{status: close_contact, when: {contact_link: true}, status: fever}"))
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="twice.yaml", feeds=FEEDS)
    assert caught.value.key == "rules[2].status"
    assert "is given twice" in str(caught.value)


def _paths(node, path=()):
    """Every key path of a parsed document, for replacing the value there."""
    yield path
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from _paths(child, (*path, key))


_DEFAULT_PATHS = [p for p in _paths(default_doc()) if p]
_ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.floats(-1, 50, allow_nan=False),
                       st.sampled_from(["", "x", "fever", "湖北", "centralized_isolation"]),
                       st.lists(st.sampled_from(["fever", "x", 1]), max_size=2),
                       st.dictionaries(st.sampled_from(["fever", "label", "x"]), st.integers(0, 3), max_size=2))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_DEFAULT_PATHS), _ANY_VALUE)
def test_any_wrong_value_gives_one_line_naming_a_key(path, value):
    """Whatever a key is changed to, loading gives a Policy or a PolicyError of one line whose key
    is a real path: never a pydantic dump or another exception."""
    doc = default_doc()
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    try:
        parse_policy(text, source="fuzz.yaml", feeds=FEEDS)
    except PolicyError as error:
        message = str(error)
        assert "\n" not in message and message.startswith("policy fuzz.yaml: ")
        assert "pydantic" not in message and "Input should" not in message
        assert error.key == "" or message.startswith(f"policy fuzz.yaml: {error.key} ")


def test_the_local_clock_is_the_timezone_key_or_the_older_zero_report_one(tmp_path):
    doc = default_doc()
    doc["timezone"] = "Asia/Urumqi"
    del doc["zero_report"]["timezone"]
    policy = load_policy(write_policy(tmp_path, doc, "urumqi.yaml"), FEEDS)
    assert policy.timezone == policy.zero_report.timezone == "Asia/Urumqi"
    older = default_doc()
    del older["timezone"]
    older["zero_report"]["timezone"] = "Asia/Hong_Kong"
    policy = load_policy(write_policy(tmp_path, older, "older.yaml"), FEEDS)
    assert policy.timezone == policy.zero_report.timezone == "Asia/Hong_Kong"
    neither = default_doc()
    del neither["timezone"], neither["zero_report"]["timezone"]
    assert load_policy(write_policy(tmp_path, neither, "neither.yaml"), FEEDS).timezone == "Asia/Shanghai"
