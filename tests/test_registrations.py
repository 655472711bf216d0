"""The pharmacies' real-name registration (药店购药实名登记) and the self-report line (自主申报), issue 9.

Seed 000 l.41: "对购买感冒药、退烧药和咳嗽药等人员实施实名登记,街道排查核实,确保发热人员'零漏诊'"; seed 000 l.29:
"发布未收治、未隔离'四类人员'自报微信小程序和电话专线 ... 促进患者主动报告、及时收治". The contracts read what the
units send, the medicine categories are read into the five the rules know, and the default policy's
rules give each record its status, measure and lifetime (from the purchase or report). Synthetic
names and IDs only.
"""
import json
from importlib import resources

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from conftest import fused_person, make_id
from screenfuse.contracts import load_contract
from screenfuse.gazetteer import load_gazetteer
from screenfuse.ingest import stage_file
from screenfuse.medicines import CATEGORIES, MEDICINES, VARIANTS, normalize_categories
from screenfuse.normalize import clean_text
from screenfuse.policy import PolicyError, default_policy, parse_policy, record_status
from screenfuse.validation import validate_rows

FEEDS = ("checkpoint", "police", "hospital", "community", "arrivals", "city_list", "pharmacy", "self_report",
         "isolation_monitoring")
POLICY = default_policy(FEEDS)
STREETS = ["积玉桥街道", "首义路街道"]
ID = make_id("42010619800101123")
PHARMACY = ["药店名称", "购药时间", "购药人姓名", "身份证号", "联系电话", "现住址", "药品名称", "药品类别", "症状", "体温"]


def rec(rid="r1", feed="pharmacy", event_time="2020-02-10 10:00:00", **values):
    base = {"source_record_id": rid, "feed": feed, "event_time": event_time, "name": "测试甲", "id_number": ID,
            "id_status": "valid", "birth_date": "", "sex": "", "phone": "", "address": "首义路街道首义路社区1栋",
            "street": "首义路街道", "community": "", "temperature": float("nan"), "category": "", "action": "",
            "came_from": "", "arrival_date": "", "contact_of_name": "", "contact_of_id": "", "details_json": "{}"}
    details = {k: values.pop(k) for k in ("medicine_category", "symptoms", "reported_as", "last_contact_date",
                                          "medicine") if k in values}
    return base | {"details_json": json.dumps(details, ensure_ascii=False)} | values


def bought(category, rid="p1", **values):
    return rec(rid, "pharmacy", medicine_category=category, **values)


def reported(rid="s1", **values):
    return rec(rid, "self_report", **values)


def status_of(*records, policy=POLICY):
    return record_status(pd.DataFrame(list(records)), policy).tolist()


def person(records, as_of):
    return fused_person(records, as_of, POLICY, STREETS)


# ------------------------------------------------------------------------------ contracts and reading

def test_both_contracts_map_the_headers_units_write():
    pharmacy = load_contract("pharmacy").header_map(PHARMACY + ["药店", "备注"])
    assert pharmacy["药品类别"] == "medicine_category" and pharmacy["购药时间"] == "event_time"
    assert pharmacy["购药人姓名"] == "name" and "备注" not in pharmacy
    assert load_contract("pharmacy").kind == load_contract("self_report").kind == "persons"
    app = load_contract("self_report").header_map(["申报渠道", "申报时间", "申报人姓名", "证件号码", "手机号码", "现居住地址",
                                                   "申报类别", "目前症状", "体温", "14天旅居史", "返回日期", "接触病例姓名",
                                                   "接触病例身份证号", "末次接触日期"])
    assert app["14天旅居史"] == "came_from" and app["返回日期"] == "arrival_date"
    assert app["接触病例身份证号"] == "contact_of_id" and app["末次接触日期"] == "last_contact_date"
    hotline = load_contract("self_report").header_map(["渠道", "来电时间", "来电人姓名", "来电号码", "人员类别", "近期去过"])
    assert set(hotline.values()) == {"unit", "event_time", "name", "phone", "reported_as", "came_from"}


def test_a_pharmacy_file_is_read_categories_canonical_and_bad_rows_quarantined(tmp_path):
    rows = [
        ["一致药店南湖店", "2020-02-10 09:00", "王芳", ID, "13800138000", "首义路街道首义路社区1栋", "布洛芬", "退烧药", "", "37.8"],
        ["一致药店南湖店", "2020/2/10 9:30", "李娜", "", "", "首义路街道首义路社区2栋", "对乙酰氨基酚片", "", "发烧", ""],
        ["一致药店南湖店", "2020-02-10 10:00", "张伟", "", "139-0013-9000", "积玉桥街道", "急支糖浆", "镇 咳 类", "咳嗽", ""],
        ["一致药店南湖店", "2020-02-10 11:00", "刘洋", "", "13900139001", "积玉桥街道", "维生素C", "保健品", "", ""],
        ["一致药店南湖店", "2020-02-10 12:00", "周敏", "", "13900139002", "积玉桥街道", "某某胶囊", "", "", ""],
        ["一致药店南湖店", "2020-02-10 13:00", "", "", "13900139003", "积玉桥街道", "感冒灵", "感冒", "", ""],
    ]
    path = tmp_path / "一致药店南湖店_20200210.csv"
    path.write_bytes(pd.DataFrame(rows, columns=PHARMACY).to_csv(index=False).encode("gb18030"))
    staged = stage_file(path, load_contract("pharmacy"), load_gazetteer())
    assert staged.status == "staged"
    records = staged.records
    assert records["medicine_category"].tolist() == ["退烧", "退烧", "止咳", "保健品", "", "感冒"]
    assert json.loads(records.loc[0, "details_json"])["medicine_category"] == "退烧"
    assert records.loc[0, "temperature"] == 37.8 and records.loc[2, "phone"] == "13900139000"
    reasons = validate_rows(records, load_contract("pharmacy")).tolist()
    assert reasons[:3] == ["", "", ""]
    assert reasons[3] == "medicine_category not one of 退烧/止咳/感冒/抗病毒/抗生素"
    assert reasons[4] == "medicine_category missing"
    assert reasons[5] == "name missing"
    assert not any("刘洋" in r or "13900139001" in r for r in reasons)  # reasons never carry row values


def test_a_pharmacy_file_without_the_category_column_is_held_and_a_header_only_file_is_a_zero_report(tmp_path):
    path = tmp_path / "一致药店南湖店_20200210.csv"
    path.write_bytes(pd.DataFrame([PHARMACY[:7]], columns=PHARMACY[:7]).to_csv(index=False).encode("utf-8"))
    staged = stage_file(path, load_contract("pharmacy"), load_gazetteer())
    assert staged.status == "held" and "medicine_category" in staged.reason  # schema drift: read again next run
    path.write_bytes((",".join(PHARMACY) + "\n").encode("utf-8"))
    assert stage_file(path, load_contract("pharmacy"), load_gazetteer()).status == "zero_report"


KNOWN_VARIANT = st.sampled_from(sorted(VARIANTS))
SUFFIX = st.sampled_from(["", "药", "类", "药品", "药物", "类药"])
PAD = st.sampled_from(["", " ", "\u3000", "  "])


@settings(max_examples=200, deadline=None)
@given(KNOWN_VARIANT, SUFFIX, PAD, PAD)
def test_every_variant_with_suffixes_and_spaces_reads_as_its_category(variant, suffix, before, after):
    written = pd.Series([before + variant + suffix + after])
    assert normalize_categories(written).tolist() == [VARIANTS[variant]]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=6), min_size=1, max_size=8), st.lists(st.text(max_size=8), min_size=1, max_size=8))
def test_the_normalizer_is_idempotent_and_invents_no_category(categories, medicines):
    n = min(len(categories), len(medicines))
    cats, meds = pd.Series(categories[:n]), pd.Series(medicines[:n])
    once = normalize_categories(cats, meds)
    assert normalize_categories(once, meds).tolist() == once.tolist()
    cleaned = clean_text(cats)
    for value, out, medicine in zip(cleaned, once, meds):
        # either one of the five, or what was written (cleaned) for `allowed` to quarantine: nothing else
        assert out in CATEGORIES or out == value
        if value == "" and out != "":  # an empty one only from a known medicine in the name
            assert any(name in medicine for name, category in MEDICINES.items() if category == out)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(MEDICINES)), st.text(max_size=3), st.text(max_size=3))
def test_an_empty_category_comes_from_a_known_medicine_in_its_name(name, before, after):
    expected = next(c for n, c in MEDICINES.items() if n in before + name + after)  # the first one the table names
    assert normalize_categories(pd.Series([""]), pd.Series([before + name + after])).tolist() == [expected]


# ------------------------------------------------------------------------------ the pharmacies' rules

def test_a_fever_medicine_buyer_is_verified_at_the_door_by_the_street_of_their_address():
    p = person([bought("退烧", event_time="2020-02-10 10:00:00")], "2020-02-10T04:00:00Z")
    assert (p.status, p.measure, p.street) == ("fever_medicine_buyer", "door_to_door_verification", "首义路街道")
    assert POLICY.measure_labels[p.measure] == "上门核查" and POLICY.hours_to_act[p.measure] == 24
    # 14 days from the purchase (local 02-10 10:00 → 02-24 10:00 = 02:00 UTC)
    assert p.status_expires_at == p.next_change_at == "2020-02-24T02:00:00Z"
    later = person([bought("退烧", event_time="2020-02-10 10:00:00")], "2020-02-24T02:00:00Z")
    assert (later.status, later.measure, later.expired_status) == ("none", "", "fever_medicine_buyer")


@pytest.mark.parametrize("category, expected", [("退烧", "fever_medicine_buyer"), ("止咳", "cold_medicine_buyer"),
                                                ("感冒", "cold_medicine_buyer"), ("抗病毒", "cold_medicine_buyer"),
                                                ("抗生素", "cold_medicine_buyer")])
def test_every_registered_category_is_verified(category, expected):
    assert status_of(bought(category)) == [expected]
    assert POLICY.measures[expected] == "door_to_door_verification"


def test_a_fever_said_or_measured_at_the_counter_counts():
    assert status_of(bought("感冒", symptoms="发烧、咳嗽"), bought("止咳", temperature=38.1), bought("感冒", temperature=37.0),
                     bought("感冒", symptoms="无发热")) \
        == ["fever_medicine_buyer", "fever", "cold_medicine_buyer", "cold_medicine_buyer"]
    # the pharmacy rules read only pharmacy rows: a checkpoint row with the same details is nobody's purchase
    assert status_of(rec("c1", "checkpoint", medicine_category="退烧")) == ["none"]


def test_a_stronger_measure_is_kept_and_a_weaker_one_gives_way():
    contact = rec("k1", "police", contact_of_name="某病例", event_time="2020-02-09 10:00:00", last_contact_date="2020-02-08")
    p = person([contact, bought("退烧", event_time="2020-02-10 10:00:00")], "2020-02-10T04:00:00Z")
    assert (p.status, p.measure) == ("close_contact", "centralized_isolation")  # not sent home to wait for a visit
    domestic = rec("a1", "community", came_from="北京", arrival_date="2020-02-05", event_time="2020-02-09 10:00:00")
    q = person([domestic, bought("止咳", event_time="2020-02-10 10:00:00")], "2020-02-10T04:00:00Z")
    assert (q.status, q.measure) == ("cold_medicine_buyer", "door_to_door_verification")  # health management only


def test_a_hospital_clearing_after_the_purchase_ends_it_one_before_does_not():
    purchase = bought("退烧", event_time="2020-02-10 10:00:00")
    after = rec("h1", "hospital", category="排除", event_time="2020-02-11 09:00:00")
    before = rec("h0", "hospital", category="排除", event_time="2020-02-09 09:00:00")
    assert person([purchase, after], "2020-02-11T04:00:00Z").status == "cleared"
    p = person([before, purchase], "2020-02-11T04:00:00Z")
    assert (p.status, p.measure) == ("fever_medicine_buyer", "door_to_door_verification")


# ------------------------------------------------------------------------------ the self-reports' rules

@pytest.mark.parametrize("values, expected", [
    ({"temperature": 38.0}, "fever"),
    ({"symptoms": "发热、咳嗽"}, "fever"),
    ({"reported_as": "发热"}, "fever"),
    ({"symptoms": "咳嗽、乏力"}, "symptom_self_report"),
    ({"symptoms": "嗅觉减退"}, "symptom_self_report"),
    ({"reported_as": "疑似"}, "suspected"),
    ({"reported_as": "确诊"}, "suspected"),          # a self-declaration is not a diagnosis
    ({"reported_as": "密接"}, "close_contact"),
    ({"symptoms": "无", "temperature": 36.5, "reported_as": "无"}, "none"),
    ({"symptoms": "无发热、无咳嗽"}, "none"),           # what the person denies is no symptom
    ({"symptoms": "无发热、咳嗽"}, "symptom_self_report"),
    ({"symptoms": "否认发热；腹泻"}, "symptom_self_report"),
    ({"symptoms": "没有咳嗽 低烧"}, "fever"),
])
def test_what_a_self_report_says_decides_its_status(values, expected):
    assert status_of(reported(**values)) == [expected]


def test_a_self_reported_fever_goes_to_the_fever_clinic_symptoms_to_a_visit():
    fever = person([reported(temperature=38.2)], "2020-02-10T04:00:00Z")
    cough = person([reported(symptoms="咳嗽")], "2020-02-10T04:00:00Z")
    assert (fever.status, fever.measure) == ("fever", "transfer_fever_clinic")
    assert (cough.status, cough.measure) == ("symptom_self_report", "door_to_door_verification")


def test_a_self_reported_contact_counts_from_the_last_contact_and_travel_from_the_arrival():
    contact = person([reported(contact_of_name="某病例", contact_of_id=make_id("42010619700101001"),
                               last_contact_date="2020-02-05")], "2020-02-10T04:00:00Z")
    assert (contact.status, contact.measure) == ("close_contact", "centralized_isolation")
    assert contact.status_since.startswith("2020-02-05")
    travel = person([reported(came_from="湖北孝感", arrival_date="2020-02-03")], "2020-02-10T04:00:00Z")
    # a domestic arrival no grid worker has seen: verified first (verify_first), 14 days from arrival
    assert (travel.status, travel.measure) == ("key_area_arrival", "door_to_door_verification")
    assert travel.status_expires_at == "2020-02-16T16:00:00Z"
    abroad = person([reported(came_from="意大利", arrival_date="2020-03-18", event_time="2020-03-19 10:00:00")],
                    "2020-03-19T04:00:00Z")
    assert (abroad.status, abroad.measure) == ("key_country_arrival", "centralized_isolation")


# ------------------------------------------------------------------------------ configuration

def policy_with(change):
    doc = yaml.safe_load(resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8"))
    change(doc)
    return parse_policy(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "p.yaml", FEEDS)


def rule_index(doc, status):
    return next(i for i, r in enumerate(doc["rules"]) if r["status"] == status)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["rules"][rule_index(d, "fever_medicine_buyer")]["when"].update({"medicine_category_in": []}),
     r"rules\[\d+\].when.medicine_category_in is an empty list"),
    (lambda d: d["rules"][rule_index(d, "symptom_self_report")]["when"].update({"symptoms_contain_any": "咳嗽"}),
     r"rules\[\d+\].when.symptoms_contain_any is '咳嗽' \(text\); expected a non-empty list; write it as a list: \[咳嗽\]"),
    (lambda d: d["rules"][rule_index(d, "fever_medicine_buyer")].update({"feeds": ["pharmcy"]}),
     r"rules\[\d+\].feeds\[0\] is 'pharmcy' \(text\), not a known feed .*did you mean 'pharmacy'"),
    (lambda d: d["zero_report"]["deadline_hour"].update({"self_report": 16}),
     r"zero_report.deadline_hour.self_report names a feed without reporting units"),
])
def test_a_broken_rule_names_the_key_and_the_fix(change, message):
    with pytest.raises(PolicyError, match=message):
        policy_with(change)


def test_the_rules_are_configurable():
    def milder(doc):  # e.g. a district that only monitors cough and cold medicine buyers
        doc["status_measures"]["cold_medicine_buyer"] = "health_monitoring"
    policy = policy_with(milder)
    frame = pd.DataFrame([bought("止咳")])
    assert record_status(frame, policy).tolist() == ["cold_medicine_buyer"]
    assert policy.measures["cold_medicine_buyer"] == "health_monitoring"
