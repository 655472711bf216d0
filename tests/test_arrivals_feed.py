"""The arrivals feed (入境/一人一档, seed 000 l.43) and the city's lists (市下推重点人员, seed 002 l.34),
issue 9: contracts and readers, the arrival classes and the city's categories on their records,
each arrival pushed to the street of its destination and counted until placed, a category the
policy does not map kept and visible; a whole pipeline on SQLite and PostgreSQL. Synthetic names,
documents and phones only."""
import json
from datetime import datetime, timezone
from importlib import resources

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from hypothesis import given, settings, strategies as st

from conftest import fused_person, hand_made_home, make_id, write_csv as write
from screenfuse.config import load_settings
from screenfuse.contracts import load_contract
from screenfuse.gazetteer import DISTRICT_LIST, load_gazetteer
from screenfuse.ingest import stage_file
from screenfuse.normalize import clean_text
from screenfuse.pipeline import run_batch
from screenfuse.policy import PolicyError, default_policy, parse_policy, record_status
from screenfuse.policy_city_lists import city_list_statuses, unmapped_categories
from screenfuse.report import summary_text
from screenfuse.validation import validate_rows

FEEDS = ("checkpoint", "police", "hospital", "community", "arrivals", "city_list", "pharmacy", "self_report",
         "isolation_monitoring")
POLICY = default_policy(FEEDS)
STREETS = tuple(load_gazetteer().communities["street"].unique())
ARRIVALS = ["到达口岸", "到达时间", "姓名", "证件类型", "证件号码", "境内联系电话", "国籍", "航班号/车次", "出发地",
            "入境日期", "目的地址", "隔离酒店", "出行目的", "拟离开日期"]
CITY = ["下推单位", "下推日期", "名单编号", "姓名", "证件类型", "证件号码", "联系电话", "现住址", "人员类别"]
HOME_A = "积玉桥街道振广港社区3栋1单元101室"
ID_B, ID_C, ID_D, ID_E = (make_id(f"4201061985010{i}012") for i in range(1, 5))


def arrival(rid="a1", **values) -> dict:
    base = {"source_record_id": rid, "feed": "arrivals", "unit": "天河机场入境专班", "event_time": "2020-03-18 08:30:00",
            "name": "JOHNSMITH", "id_type": "passport", "id_number": "AB1234567", "id_status": "document",
            "birth_date": "", "sex": "", "phone": "13900000001", "address": HOME_A, "street": "积玉桥街道",
            "community": "振广港社区", "temperature": float("nan"), "category": "", "action": "", "came_from": "意大利",
            "arrival_date": "2020-03-18", "contact_of_name": "", "contact_of_id": ""}
    return base | values


def listed(rid="c1", category="密接", **values) -> dict:
    return arrival(rid, **({"feed": "city_list", "unit": "市指挥部流调组", "category": category, "came_from": "",
                            "arrival_date": "", "event_time": "2020-03-18 10:00:00"} | values))


# ------------------------------------------------------------------------------ contracts and readers

def test_the_arrivals_contract_maps_the_hubs_headers():
    contract = load_contract("arrivals")
    assert contract.kind == "persons" and contract.required_fields == ["unit", "event_time", "name"]
    mapping = contract.header_map(ARRIVALS)
    assert mapping == {"到达口岸": "unit", "到达时间": "event_time", "姓名": "name", "证件类型": "id_type",
                       "证件号码": "id_number", "境内联系电话": "phone", "国籍": "nationality",
                       "航班号/车次": "transport_no", "出发地": "came_from", "入境日期": "arrival_date",
                       "目的地址": "address", "隔离酒店": "hotel", "出行目的": "travel_purpose",
                       "拟离开日期": "departure_date"}
    assert contract.header_map(["口岸", "抵达时间", "英文姓名", "车次", "旅居史"]) == {
        "口岸": "unit", "抵达时间": "event_time", "英文姓名": "name", "车次": "transport_no", "旅居史": "came_from"}


def test_a_hub_file_is_read_with_its_documents_and_details(tmp_path):
    path = tmp_path / "天河机场入境专班_20200318.csv"
    write(path, ARRIVALS, [
        ["天河机场入境专班", "2020/3/18 8:30", "JOHN SMITH", "护照", "ab 1234567", "+86 13900000001", "美国", "MU5001",
         "意大利", "2020-03-18", HOME_A, "楚河汉街隔离酒店", "探亲", ""],
        ["天河机场入境专班", "2020-03-18 09:10", "测试乙", "港澳通行证", "H12345678", "13900000002", "中国", "CX1",
         "香港", "2020-03-18", "不详", "", "", ""],
        ["天河机场入境专班", "2020-03-18 09:40", "测试丙", "", ID_C, "13900000003", "中国", "KE1", "韩国",
         "2020-03-18", "粮道街道玉龙坡社区2栋", "", "商务", "2020-03-20"],
        ["天河机场入境专班", "2020-03-18 10:00", "测试丁", "居民身份证", "4.20106E+17", "", "", "MU2", "日本", "", "", "", "", ""],
    ])
    staged = stage_file(path, load_contract("arrivals"), load_gazetteer())
    records = staged.records
    assert staged.status == "staged" and len(records) == 4
    assert records["id_type"].tolist()[:3] == ["passport", "hk_macau_permit", "resident_id"]
    assert records["id_number"].tolist()[:3] == ["AB1234567", "H12345678", ID_C]  # matched exactly per type
    assert records["street"].tolist()[:3] == ["积玉桥街道", "", "粮道街道"]  # the destination routes the record
    assert records["came_from"].tolist() == ["意大利", "香港", "韩国", "日本"]
    details = json.loads(records["details_json"].iloc[0])
    assert details["transport_no"] == "MU5001" and details["hotel"] == "楚河汉街隔离酒店"
    assert details["nationality"] == "美国" and json.loads(records["details_json"].iloc[2])["departure_date"] == "2020-03-20"
    assert records["event_time"].iloc[0] == "2020-03-18 08:30:00"
    # an ID through Excel on a row with nothing else to go on (no phone, no address): not accepted as it is
    assert records["id_status"].iloc[3] == "excel_mangled"


def test_a_hub_file_without_its_hub_column_is_held_for_schema_drift(tmp_path):
    path = tmp_path / "x.csv"
    write(path, ARRIVALS[1:], [["2020-03-18 08:30", "测试甲"] + [""] * 11])
    staged = stage_file(path, load_contract("arrivals"), load_gazetteer())
    assert staged.status == "held" and "schema drift: required column 'unit'" in staged.reason  # read again next run
    assert "测试甲" not in staged.reason


def test_the_gx_row_suite_of_the_hubs_quarantines_with_reasons(tmp_path):
    path = tmp_path / "武汉站专班_20200318.csv"
    write(path, ARRIVALS, [
        ["武汉站专班", "2020-03-18 08:30", "测试甲", "", ID_B, "13900000001", "", "G1", "北京", "", HOME_A, "", "", ""],
        ["", "2020-03-18 08:40", "测试乙", "", ID_C, "13900000002", "", "G2", "北京", "", HOME_A, "", "", ""],
        ["武汉站专班", "昨天", "测试丙", "", ID_D, "13900000003", "", "G3", "北京", "", HOME_A, "", "", ""],
        ["武汉站专班", "2020-03-18 09:00", "测试丁", "", "4.20106E+17", "", "", "G4", "北京", "", "", "", "", ""],
    ])
    contract = load_contract("arrivals")
    reasons = validate_rows(stage_file(path, contract, load_gazetteer()).records, contract).tolist()
    assert reasons == ["", "unit missing", "event_time missing or not a date/time",
                       "id_number unusable (Excel scientific notation or not an ID number)"]
    assert not any("测试" in r or "1390000" in r for r in reasons)


def test_the_city_list_contract_needs_a_category():
    contract = load_contract("city_list")
    assert contract.required_fields == ["unit", "event_time", "name", "category"]
    assert contract.header_map(CITY)["人员类别"] == "category"
    assert contract.fields["category"].allowed is None  # any category is kept: the policy decides


# ------------------------------------------------------------------------------ rules with dates

@pytest.mark.parametrize("arrived, status", [
    ("2020-03-16", "non_key_country_arrival"),  # before 意大利's `from` (03-17): not a key country yet
    ("2020-03-17", "key_country_arrival"),
    ("2020-03-18", "key_country_arrival"),
])
def test_a_passport_arrival_from_a_key_country_is_judged_on_its_arrival_day(arrived, status):
    records = [arrival(arrival_date=arrived)]
    assert record_status(pd.DataFrame(records), POLICY).tolist() == [status]
    person = fused_person(records, "2020-03-18T04:00:00Z", POLICY, STREETS)
    # from abroad: centralized isolation at once (seeds 000 l.43, 001 l.28), on the destination's street
    assert (person.status, person.measure, person.responsible_list) == (status, "centralized_isolation", "积玉桥街道")


def test_the_item_goes_to_the_destination_street_or_the_district_list():
    lost = fused_person([arrival(address="不详", street="", community="")], "2020-03-18T04:00:00Z", POLICY, STREETS)
    assert (lost.responsible_list, lost.measure) == (DISTRICT_LIST, "centralized_isolation")  # kept, visible
    moved = fused_person([arrival(address="粮道街道玉龙坡社区2栋", street="粮道街道", community="玉龙坡社区")],
                         "2020-03-18T04:00:00Z", POLICY, STREETS)
    assert moved.responsible_list == "粮道街道"


def test_a_business_traveller_at_the_hub_leaving_within_7_days():
    short = arrival(details_json=json.dumps({"travel_purpose": "商务洽谈", "departure_date": "2020-03-24"},
                                            ensure_ascii=False))
    longer = arrival("a2", details_json=json.dumps({"travel_purpose": "商务", "departure_date": "2020-03-26"},
                                                  ensure_ascii=False))
    assert record_status(pd.DataFrame([short, longer]), POLICY).tolist() == ["business_short_stay",
                                                                           "key_country_arrival"]


def test_a_domestic_arrival_by_train_is_verified_first():
    person = fused_person([arrival(unit="武汉站专班", came_from="北京", arrival_date="", id_type="resident_id",
                                   id_number=ID_B, id_status="valid")], "2020-03-18T04:00:00Z", POLICY, STREETS)
    assert (person.status, person.measure) == ("other_region_arrival", "door_to_door_verification")


# ------------------------------------------------------------------------------ the city's categories

@pytest.mark.parametrize("category, status, measure", [
    ("密接", "close_contact", "centralized_isolation"),
    (" 密切接触者 ", "close_contact", "centralized_isolation"),
    ("重点地区来返", "key_area_arrival", "door_to_door_verification"),  # verified first: no grid worker yet
    ("境外来返", "overseas_arrival", "centralized_isolation"),
    ("发热", "fever", "transfer_fever_clinic"),
    ("次密接", "city_list_review", "door_to_door_verification"),  # not mapped: kept, checked at the door
    ("隔离期满", "city_list_review", "door_to_door_verification"),
])
def test_each_category_gives_its_status_and_an_unknown_one_is_kept(category, status, measure):
    person = fused_person([listed(category=category)], "2020-03-18T04:00:00Z", POLICY, STREETS)
    assert (person.status, person.measure) == (status, measure)
    assert POLICY.status_labels["city_list_review"] == "市下推待核实"


def test_a_category_is_read_only_on_the_city_list_feed_and_the_higher_status_wins():
    records = pd.DataFrame([listed(category="确诊"), arrival("h1", feed="hospital", category="密接", came_from=""),
                            listed("c2", category="次密接", came_from="意大利", arrival_date="2020-03-18")])
    assert record_status(records, POLICY).tolist() == ["confirmed", "none", "key_country_arrival"]


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=8), st.sampled_from(["密接", "境外来返", "发热"]), st.sampled_from(["", " ", "\u3000"]))
def test_no_category_is_ever_dropped(text, known, space):
    frame = pd.DataFrame({"feed": ["city_list"] * 3 + ["police"], "category": [text, space + known + space, known, known]})
    got = city_list_statuses(frame, POLICY.city_lists).tolist()
    cleaned = clean_text(pd.Series([text])).iloc[0]
    assert got[0] == POLICY.city_lists.categories.get(cleaned, "city_list_review")
    assert got[0] != ""  # every row of the feed gets a status: a known one, or the unknown one
    assert got[1] == got[2] == POLICY.city_lists.categories[known]  # spaces (full-width too) do not change it
    assert got[3] == ""  # another feed's category is not the city's
    assert unmapped_categories(pd.Series([space + known, "次密接"]), POLICY.city_lists).tolist() == [False, True]


def _policy_with(change):
    doc = yaml.safe_load(resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8"))
    change(doc)
    return parse_policy(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "p.yaml", FEEDS)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["city_lists"]["categories"].update({"次密接": "secondary_contact"}),
     r"city_lists.categories.次密接 is 'secondary_contact' \(text\), not a known status"),
    (lambda d: d["city_lists"].update({"feed": "city_lists"}),
     r"city_lists.feed is 'city_lists' \(text\), not a known feed \(did you mean 'city_list'\?\)"),
    (lambda d: d["status_measures"].pop("city_list_review"),
     r"city_lists.unknown is 'city_list_review', which has no measure in status_measures; .*add "
     r"status_measures.city_list_review"),
    (lambda d: d["city_lists"].update({"categories": {}}), r"city_lists.categories is an empty mapping"),
    (lambda d: d["city_lists"].update({"unkown": "none"}), r"city_lists.unkown is not a known key \(did you mean 'unknown'"),
])
def test_a_broken_city_lists_section_names_the_key_and_the_fix(change, message):
    with pytest.raises(PolicyError, match=message):
        _policy_with(change)


def test_a_mapped_category_and_no_unknown_status():
    policy = _policy_with(lambda d: (d["city_lists"]["categories"].update({"次密接": "other_region_arrival"}),
                                     d["city_lists"].pop("unknown")))
    frame = pd.DataFrame([listed(category="次密接"), listed("c2", category="隔离期满")])
    assert record_status(frame, policy).tolist() == ["other_region_arrival", "none"]


# ------------------------------------------------------------------------------ the pipeline, both databases

H1, H2 = (datetime(2020, 2, 10, h, tzinfo=timezone.utc) for h in (13, 14))


@pytest.fixture(scope="module")
def hours(tmp_path_factory, warehouse_url):
    """Hour 1: three arrivals at two hubs (a foreign passport, a train arrival whose destination routes
    to no street, a business traveller) and a city list (密接, 次密接, a row without a category).
    Hour 2: the street answers the passport arrival's item 已隔离."""
    mp, home, engine = hand_made_home(tmp_path_factory, warehouse_url, "arrivals")
    landing = home / "landing"
    write(landing / "arrivals" / "天河机场入境专班_20200210.csv", ARRIVALS, [
        ["天河机场入境专班", "2020-02-10 08:30", "JOHN SMITH", "护照", "AB1234567", "13900000001", "美国", "MU5001",
         "意大利", "2020-02-10", HOME_A, "楚河汉街隔离酒店", "探亲", ""],
        ["天河机场入境专班", "2020-02-10 09:30", "MARIA ROSSI", "护照", "YA7654321", "13900000003", "意大利", "AZ790",
         "意大利", "2020-02-10", "粮道街道玉龙坡社区2栋", "", "商务", "2020-02-14"]])
    write(landing / "arrivals" / "武汉站专班_20200210.csv", ARRIVALS, [
        ["武汉站专班", "2020-02-10 07:00", "测试乙", "居民身份证", ID_B, "13900000002", "", "G1234", "北京", "", "不详",
         "", "", ""]])
    write(landing / "arrivals" / "汉口站专班_20200210.csv", ARRIVALS, [])  # a hub that found nobody (零报告)
    write(landing / "city_list" / "市下推A_20200210.csv", CITY, [
        ["市指挥部流调组", "2020-02-10", "SX1", "测试丙", "居民身份证", ID_C, "13900000004", "首义路街道首义路社区2栋", "密接"],
        ["市指挥部流调组", "2020-02-10", "SX1", "测试丁", "居民身份证", ID_D, "13900000005", "首义路街道首义路社区3栋", "次密接"],
        ["市指挥部流调组", "2020-02-10", "SX1", "测试戊", "居民身份证", ID_E, "13900000006", "首义路街道首义路社区4栋", ""]])
    run_batch(load_settings(), H1)
    seen = {"h1": _read(engine)}
    seen["summary1"] = summary_text(load_settings())[0]
    items = seen["h1"]["items"]
    passport = items[items["id_number"] == "AB1234567"]["push_item_id"].iloc[0]
    write(landing / "feedback" / "积玉桥街道_answers.csv", ["推送编号", "核查结果", "反馈时间", "核查人", "备注"],
          [[passport, "已隔离", "2020-02-10 21:30", "核查员01", ""]])
    run_batch(load_settings(), H2)
    seen["h2"] = _read(engine)
    yield seen
    mp.undo()


def _read(engine) -> dict:
    with engine.connect() as conn:
        read = lambda sql: pd.read_sql(sa.text(sql), conn)  # noqa: E731
        return {
            "person": read("SELECT person_id, id_number, status, measure, responsible_list FROM person"),
            "items": read("SELECT pi.push_item_id, pi.street, pi.status, pi.measure, p.id_number FROM push_item pi "
                          "JOIN person p ON p.person_id = pi.person_id"),
            "unplaced": read("SELECT u.*, p.id_number FROM v_arrivals_unplaced u JOIN person p ON p.person_id = u.person_id"),
            "categories": read("SELECT * FROM v_city_list_categories"),
            "quarantine": read("SELECT feed, reason FROM quarantine"),
            "silent": read("SELECT feed, unit_name FROM v_silent_units WHERE feed = 'arrivals'"),
            "timeline": read("SELECT source, event, detail, unit FROM v_person_timeline "
                             "WHERE source IN ('arrivals', 'city_list')"),
        }


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("id_number")


def test_each_arrival_gets_its_class_and_an_item_on_its_destination_street(hours):
    person = _by_id(hours["h1"]["person"])
    assert tuple(person.loc["AB1234567", ["status", "measure", "responsible_list"]]) == (
        "non_key_country_arrival", "centralized_isolation", "积玉桥街道")  # 意大利 in February: not a key country yet
    assert tuple(person.loc["YA7654321", ["status", "measure", "responsible_list"]]) == (
        "business_short_stay", "business_designated_hotel", "粮道街道")
    assert tuple(person.loc[ID_B, ["status", "measure", "responsible_list"]]) == (
        "other_region_arrival", "door_to_door_verification", DISTRICT_LIST)  # routes nowhere: the district list
    items = _by_id(hours["h1"]["items"])
    assert items.loc["AB1234567", "street"] == "积玉桥街道" and items.loc[ID_B, "street"] == DISTRICT_LIST


def test_arrivals_are_counted_until_placed(hours):
    before = _by_id(hours["h1"]["unplaced"])
    assert set(before.index) == {"AB1234567", "YA7654321", ID_B}
    a = before.loc["AB1234567"]
    assert (a["hub"], a["arrived_local"], a["street"]) == ("天河机场入境专班", "2020-02-10 08:30:00", "积玉桥街道")
    assert float(a["hours_unplaced"]) == pytest.approx(12.5)  # 08:30 to 21:00 local (13:00 UTC)
    assert before.loc[ID_B, "street"] == DISTRICT_LIST and float(before.loc[ID_B, "hours_unplaced"]) == pytest.approx(14.0)
    after = _by_id(hours["h2"]["unplaced"])
    assert set(after.index) == {"YA7654321", ID_B}  # answered 已隔离: placed, no longer counted
    assert float(after.loc[ID_B, "hours_unplaced"]) == pytest.approx(15.0)
    assert "not yet placed (v_arrivals_unplaced): 3 of 3 registered, longest 14.0 h; 1 on the district list" \
        in hours["summary1"]


def test_the_city_list_keeps_every_category_and_names_the_unknown_one(hours):
    person = _by_id(hours["h1"]["person"])
    assert tuple(person.loc[ID_C, ["status", "measure"]]) == ("close_contact", "centralized_isolation")
    assert tuple(person.loc[ID_D, ["status", "measure"]]) == ("city_list_review", "door_to_door_verification")
    assert _by_id(hours["h1"]["items"]).loc[ID_D, "street"] == "首义路街道"
    categories = hours["h1"]["categories"].set_index("category")
    assert categories.loc["次密接", ["records", "persons", "persons_to_verify"]].astype(int).tolist() == [1, 1, 1]
    assert categories.loc["密接", "persons_to_verify"] == 0
    assert "not mapped by the policy (kept, 上门核查): 次密接 1" in hours["summary1"]
    # a row without a category is quarantined with its reason, no personal data in it
    quarantined = hours["h1"]["quarantine"]
    assert quarantined[quarantined["feed"] == "city_list"]["reason"].tolist() == ["category missing"]
    assert not quarantined["reason"].str.contains("测试|1390000").any()


def test_the_timeline_shows_the_arrival_and_the_listing(hours):
    timeline = hours["h1"]["timeline"]
    arrived = timeline[timeline["event"] == "arrived"]
    assert sorted(arrived["unit"]) == ["天河机场入境专班", "天河机场入境专班", "武汉站专班"]
    assert set(timeline[timeline["event"] == "listed"]["detail"]) == {"次密接", "密接"}
    assert len(timeline[timeline["event"] == "listed"]) == 2  # the row without a category was quarantined


def test_hubs_report_daily(hours):
    silent = set(hours["h1"]["silent"]["unit_name"])
    # the three hubs that sent a file (one header-only) reported; the two others are silent
    assert silent == {"武昌站专班", "傅家坡长途客运站专班"}


# ------------------------------------------------------------------------------ the generator

def test_the_generator_writes_hub_files_the_contract_reads(tmp_path):
    from screenfuse.synthetic import generate
    from screenfuse.synthetic_arrivals import generate_arrivals, generate_city_lists

    generate(400, 5, datetime(2020, 3, 20).date(), tmp_path / "landing", tmp_path / "truth")
    people = pd.read_csv(tmp_path / "truth" / "people.csv", dtype=str, keep_default_na=False)
    runs = []
    for out in ("a", "b"):  # the same seed, the same files
        done = generate_arrivals(120, 5, datetime(2020, 3, 20).date(), tmp_path / out, tmp_path / f"truth_{out}", people)
        generate_city_lists(40, 5, datetime(2020, 3, 20).date(), tmp_path / out, tmp_path / f"truth_{out}", people)
        runs.append({p.relative_to(tmp_path / out): p.read_bytes() for p in sorted((tmp_path / out).rglob("*.*"))})
    assert runs[0] == runs[1] and done["foreign"] > 0 and done["business"] > 0
    contract, gazetteer = load_contract("arrivals"), load_gazetteer()
    records = pd.concat([stage_file(p, contract, gazetteer).records for p in sorted((tmp_path / "a" / "arrivals").iterdir())])
    statuses = set(record_status(records, POLICY))
    # 2020-03-20: 韩国, 日本, 意大利, 伊朗 and 澳大利亚 are key countries; business travellers leave within 7 days
    assert {"key_country_arrival", "non_key_country_arrival", "business_short_stay", "other_region_arrival"} <= statuses
    passports = records[records["id_type"] == "passport"]
    assert len(passports) > 0 and passports["name"].str.fullmatch(r"[a-z]+( [a-z]+)*").any()  # Latin letters, case-folded
    assert (records["street"] != "").mean() > 0.9  # destinations route to a street, a few do not
    truth = pd.read_csv(tmp_path / "truth_a" / "truth_arrivals.csv", dtype=str)
    assert len(truth) == len(records) and truth["person_key"].str.startswith("F").sum() == done["foreign"]
    lists = pd.read_csv(tmp_path / "a" / "city_list" / "市下推A_20200320.csv", dtype=str, keep_default_na=False)
    assert "次密接" in set(lists["人员类别"]) or "次密接" in set(
        pd.read_csv(tmp_path / "a" / "city_list" / "市下推B_20200320.csv", dtype=str)["人员类别"])
