"""Pharmacy registrations and self-reports through the hourly pipeline, on SQLite and PostgreSQL.

Hour 1: a pharmacy's day (a fever-medicine buyer, a cough-medicine buyer, a row outside the five
categories) and the two self-report channels (a fever, an arrival from Hubei, a cough, a
temperature nobody can read). Hour 2: the street answers the buyer's verification (已核实). Hour 3:
the hospital clears the buyer (排除). Every row is accepted or quarantined with its reason, each
person lands on the list of their own street, and the pharmacies that sent nothing by 16:00 are
silent (零报告). Synthetic names and IDs."""
from datetime import datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import hand_made_home, make_id, write_csv as write
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch

HOURS = [datetime(2020, 2, 10, h, tzinfo=timezone.utc) for h in (13, 14, 15)]
PHARMACY = ["药店名称", "购药时间", "购药人姓名", "身份证号", "联系电话", "现住址", "药品名称", "药品类别", "症状"]
APP = ["申报渠道", "申报时间", "申报人姓名", "证件号码", "手机号码", "现居住地址", "目前症状", "体温", "14天旅居史", "返回日期"]
HOTLINE = ["渠道", "来电时间", "来电人姓名", "来电号码", "住址", "症状", "最高体温"]
HOSPITAL = ["医疗机构", "就诊时间", "患者姓名", "身份证号码", "联系方式", "住址", "人员类别", "核酸结果"]
NAMES = {"A": "钱甲", "B": "孙乙", "C": "李丙", "D": "周丁", "E": "吴戊"}
IDS = {k: make_id(f"42010619{70 + i}0303{i:02d}2") for i, k in enumerate(NAMES)}
HOME = {"A": "首义路街道首义路社区3栋", "B": "积玉桥街道振广港社区2栋", "C": "首义路街道首义路社区5栋",
        "D": "积玉桥街道天春湾社区8栋", "E": "积玉桥街道振广港社区9栋"}


def tables(engine, *names):
    return {name: pd.read_sql(sa.text(f"SELECT * FROM {name}"), engine) for name in names}


@pytest.fixture(scope="module")
def loop(tmp_path_factory, warehouse_url):
    mp, home, engine = hand_made_home(tmp_path_factory, warehouse_url, "registrations")
    landing = home / "landing"
    write(landing / "pharmacy" / "一致药店南湖店_20200210.csv", PHARMACY, [
        ["一致药店南湖店", "2020-02-10 09:10", NAMES["A"], IDS["A"], "13800138001", HOME["A"], "布洛芬缓释胶囊", "退烧药", ""],
        ["一致药店南湖店", "2020-02-10 09:40", NAMES["B"], IDS["B"], "13800138002", HOME["B"], "急支糖浆", "镇咳", "咳嗽"],
        ["一致药店南湖店", "2020-02-10 10:05", "郑己", "", "13800138009", HOME["B"], "维生素C泡腾片", "保健品", ""],
    ])
    write(landing / "self_report" / "微信小程序_20200210.csv", APP, [
        ["微信小程序", "2020-02-10 08:00:05", NAMES["C"], IDS["C"], "13800138003", HOME["C"], "发热、咳嗽", "38.4", "无", ""],
        ["微信小程序", "2020-02-10 08:30:00", NAMES["D"], IDS["D"], "13800138004", HOME["D"], "无", "36.5", "湖北孝感",
         "2020-02-06"],
    ])
    write(landing / "self_report" / "电话专线_20200210.csv", HOTLINE, [
        ["电话专线", "2020/2/10 9:15", NAMES["E"], "13800138005", HOME["E"], "咳嗽、乏力", ""],
        ["电话专线", "2020/2/10 9:45", "王庚", "13800138006", HOME["E"], "", "有点烧"],
    ])
    seen = []
    run_batch(load_settings(), HOURS[0])
    seen.append(tables(engine, "person", "push_item", "quarantine", "source_record", "silent_unit"))
    item = seen[0]["push_item"].merge(seen[0]["person"][["person_id", "id_number"]], on="person_id")
    item_a = item.loc[item["id_number"] == IDS["A"], "push_item_id"].iloc[0]
    write(landing / "feedback" / "首义路街道_20200210_1.csv", ["推送编号", "核查结果", "反馈时间", "核查人", "备注"],
          [[item_a, "已核实", "2020-02-10 21:30", "核查员01", "无发热,家属代购"]])
    run_batch(load_settings(), HOURS[1])
    seen.append(tables(engine, "person", "push_item"))
    write(landing / "hospital" / "武昌医院发热门诊_20200210.csv", HOSPITAL, [
        ["武昌医院发热门诊", "2020-02-10 22:40", NAMES["A"], IDS["A"], "13800138001", HOME["A"], "排除", "阴性"]])
    run_batch(load_settings(), HOURS[2])
    seen.append(tables(engine, "person", "push_item"))
    yield {"seen": seen, "item_a": item_a}
    mp.undo()


def by_name(frame):
    return frame.set_index("name")  # E called the hotline without an ID number


def test_every_row_is_accepted_or_quarantined_with_its_reason(loop):
    first = loop["seen"][0]
    feeds = first["source_record"]["feed"].value_counts().to_dict()
    assert feeds == {"pharmacy": 2, "self_report": 3}
    reasons = sorted(zip(first["quarantine"]["feed"], first["quarantine"]["reason"]))
    assert reasons == [("pharmacy", "medicine_category not one of 退烧/止咳/感冒/抗病毒/抗生素"),
                       ("self_report", "temperature not a number")]


def test_each_person_gets_the_status_and_measure_of_the_rules(loop):
    person = by_name(loop["seen"][0]["person"])
    got = {who: tuple(person.loc[NAMES[who], ["status", "measure", "street"]]) for who in NAMES}
    assert got == {
        "A": ("fever_medicine_buyer", "door_to_door_verification", "首义路街道"),
        "B": ("cold_medicine_buyer", "door_to_door_verification", "积玉桥街道"),
        "C": ("fever", "transfer_fever_clinic", "首义路街道"),
        "D": ("key_area_arrival", "door_to_door_verification", "积玉桥街道"),  # no grid worker yet: verified first
        "E": ("symptom_self_report", "door_to_door_verification", "积玉桥街道"),
    }
    # 14 days from the purchase (02-10 09:10 local), from the arrival day for D (02-06 + 14 days, local midnight)
    assert person.loc[NAMES["A"], "status_expires_at"] == "2020-02-24T01:10:00Z"
    assert person.loc[NAMES["D"], "status_expires_at"] == "2020-02-19T16:00:00Z"


def test_the_street_of_the_address_gets_the_item(loop):
    items = loop["seen"][0]["push_item"].merge(loop["seen"][0]["person"][["person_id", "name"]], on="person_id")
    mine = items.set_index("name")
    assert mine.loc[NAMES["A"], "street"] == "首义路街道" and mine.loc[NAMES["B"], "street"] == "积玉桥街道"
    assert len(items) == 5 and set(items["state"]) <= {"open", "pushed"}


def test_the_streets_answer_closes_the_item_and_leaves_the_status(loop):
    person, items = by_name(loop["seen"][1]["person"]), loop["seen"][1]["push_item"].set_index("push_item_id")
    assert items.loc[loop["item_a"], "state"] == "done" and items.loc[loop["item_a"], "answer_result"] == "已核实"
    assert person.loc[NAMES["A"], "status"] == "fever_medicine_buyer"
    assert len(items) == 5  # no new item: the measure did not change


def test_a_later_hospital_clearing_ends_the_buyers_status(loop):
    person = by_name(loop["seen"][2]["person"])
    assert tuple(person.loc[NAMES["A"], ["status", "measure"]]) == ("cleared", "")
    assert person.loc[NAMES["B"], "status"] == "cold_medicine_buyer"
    # the clearing hour fused only the person its record names
    assert person.loc[person["batch_id"] == "20200210T1500Z"].index.tolist() == [NAMES["A"]]


def test_pharmacies_that_sent_nothing_are_silent_the_self_report_line_never(loop):
    silent = loop["seen"][0]["silent_unit"]
    day = silent[silent["report_day"] == "2020-02-10"]
    assert sorted(day.loc[day["feed"] == "pharmacy", "unit_id"]) == ["PH001", "PH002", "PH003", "PH005", "PH006"]
    assert "self_report" not in set(silent["feed"])
