"""The command centre's daily figures on both databases, through whole runs (run_batch) of
hand-made feeds: where each person is held (hospital feed, answers), the 应收尽收 backlog with its
hours, 新增/存量/清零 per category per day, seed 001's 倒查 of new cases, and the summary block.
Synthetic names; assertions print person ids and counts only."""
from datetime import datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import make_id
from screenfuse.cli import main
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.report import summary_text

R1 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)  # 22:00 local on 02-10
R2 = datetime(2020, 2, 11, 2, tzinfo=timezone.utc)   # 10:00 local on 02-11
ADDRESS = "武汉市武昌区中华路街道测试路{}号"
PEOPLE = {  # key: (name, id, phone)
    "a": ("测试甲", make_id("42010619800101001"), "13800000001"),  # confirmed at a fever clinic, admitted on day 2
    "b": ("测试乙", make_id("42010619800101002"), "13800000002"),  # close contact, answered 已隔离 on day 2
    "c": ("测试丙", make_id("42010619800101003"), "13800000003"),  # suspected, in a designated hospital
    "d": ("测试丁", make_id("42010619800101004"), "13800000004"),  # confirmed, in a 方舱
    "e": ("测试戊", make_id("42010619800101005"), "13800000005"),  # close contact on day 1, confirmed on day 2
}


def hospital_row(key, unit, at, category, action=""):
    name, id_number, phone = PEOPLE[key]
    return {"医疗机构": unit, "就诊时间": at, "患者姓名": name, "身份证号码": id_number, "联系方式": phone,
            "住址": ADDRESS.format(ord(key)), "人员类别": category, "处置": action}


def police_row(key, at):
    name, id_number, phone = PEOPLE[key]
    return {"派出所": "积玉桥派出所", "登记时间": at, "姓名": name, "公民身份号码": id_number, "手机号码": phone,
            "现住址": ADDRESS.format(ord(key)), "密接对象姓名": PEOPLE["a"][0], "密接对象身份证": PEOPLE["a"][1],
            "末次接触日期": "2020-02-09"}


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pd.DataFrame(rows).to_csv(index=False).encode("utf-8"))


def frame(engine, sql):
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


@pytest.fixture(scope="module")
def figures(warehouse_url, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("figures") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    mp.delenv("SCREENFUSE_LANDING", raising=False)
    mp.delenv("SCREENFUSE_POLICY", raising=False)
    landing = home / "landing"
    write(landing / "hospital" / "武昌医院发热门诊_20200210.csv", [hospital_row("a", "武昌医院发热门诊", "2020-02-10 08:00", "确诊")])
    write(landing / "hospital" / "湖北省第三人民医院_20200210.csv",
          [hospital_row("c", "湖北省第三人民医院", "2020-02-10 10:00", "疑似", "收治入院")])
    write(landing / "hospital" / "武昌方舱医院_20200210.csv", [hospital_row("d", "武昌方舱医院", "2020-02-10 11:00", "确诊")])
    write(landing / "police" / "积玉桥派出所_20200210.csv", [police_row("b", "2020-02-10 09:00"), police_row("e", "2020-02-10 09:30")])
    assert main(["db", "upgrade"]) == 0
    run_batch(load_settings(), R1)
    engine = sa.create_engine(warehouse_url)
    ids = frame(engine, "SELECT person_id, id_number FROM person").set_index("id_number")["person_id"]
    person = {k: ids[v[1]] for k, v in PEOPLE.items()}
    day1 = {"whereabouts": frame(engine, "SELECT * FROM v_person_whereabouts"),
            "summary": summary_text(load_settings())[0]}
    item_b = frame(engine, "SELECT push_item_id FROM push_item WHERE person_id = '%s'" % person["b"]).iloc[0, 0]
    write(landing / "feedback" / "中华路街道_20200211_反馈.csv",
          [{"推送编号": item_b, "核查结果": "已隔离", "反馈时间": "2020-02-11 09:00", "核查人": "核查员01", "备注": ""}])
    write(landing / "hospital" / "湖北省第三人民医院_20200211.csv",
          [hospital_row("a", "湖北省第三人民医院", "2020-02-11 07:00", "确诊", "收治入院"),
           hospital_row("e", "湖北省第三人民医院", "2020-02-11 08:00", "确诊", "收治入院")])
    run_batch(load_settings(), R2)
    yield {"engine": engine, "person": person, "day1": day1, "summary": summary_text(load_settings())[0]}
    engine.dispose()
    mp.undo()


def places(rows, person):
    back = {v: k for k, v in person.items()}
    return {back[p]: place for p, place in zip(rows["person_id"], rows["place"])}


def test_whereabouts_come_from_the_hospital_feed_and_the_answers(figures):
    person = figures["person"]
    assert places(figures["day1"]["whereabouts"], person) == {
        "a": "unknown", "b": "unknown", "c": "designated_hospital", "d": "fangcang", "e": "unknown"}
    now = frame(figures["engine"], "SELECT * FROM v_person_whereabouts")
    assert places(now, person) == {"a": "designated_hospital", "b": "isolation_point", "c": "designated_hospital",
                                   "d": "fangcang", "e": "designated_hospital"}
    assert set(now.loc[now["place"] == "isolation_point", "place_label"]) == {"隔离点"}


def test_the_backlog_of_each_day_with_its_hours(figures):
    person = figures["person"]
    backlog = frame(figures["engine"], "SELECT day, person_id, status, since_local, hours_waiting FROM v_admission_backlog")
    back = {v: k for k, v in person.items()}
    got = {(d, back[p], s, float(h)) for d, p, s, h in
           zip(backlog["day"], backlog["person_id"], backlog["status"], backlog["hours_waiting"])}
    # 02-10 22:00 local: confirmed since 08:00 → 14 h; contacts since 09:00 and 09:30; day 2: nobody left
    assert got == {("2020-02-10", "a", "confirmed", 14.0), ("2020-02-10", "b", "close_contact", 13.0),
                   ("2020-02-10", "e", "close_contact", 12.5)}


def test_new_standing_and_zero_per_category_per_day(figures):
    daily = frame(figures["engine"], "SELECT day, status, new_persons, standing, not_held, new_zero, standing_zero "
                                     "FROM v_daily_case_figures")
    got = {(r.day, r.status): (int(r.new_persons), int(r.standing), int(r.not_held), int(r.new_zero), int(r.standing_zero))
           for r in daily.itertuples()}
    assert got[("2020-02-10", "confirmed")] == (2, 2, 1, 0, 0)
    assert got[("2020-02-10", "suspected")] == (1, 1, 0, 0, 0)
    assert got[("2020-02-10", "close_contact")] == (2, 2, 2, 0, 0)
    assert got[("2020-02-11", "confirmed")] == (1, 3, 0, 0, 0)
    assert got[("2020-02-11", "suspected")] == (0, 1, 0, 1, 0)
    assert got[("2020-02-11", "close_contact")] == (0, 1, 0, 1, 0)
    assert got[("2020-02-11", "fever")] == (0, 0, 0, 1, 1)


def test_new_cases_not_under_management_are_listed_for_traceback(figures):
    back = {v: k for k, v in figures["person"].items()}
    trace = frame(figures["engine"], "SELECT day, person_id, status, under_management, managed_as FROM v_case_traceback")
    got = {(r.day, back[r.person_id], r.status, int(r.under_management), r.managed_as) for r in trace.itertuples()}
    assert got == {("2020-02-10", "a", "confirmed", 0, ""), ("2020-02-10", "c", "suspected", 0, ""),
                   ("2020-02-10", "d", "confirmed", 0, ""), ("2020-02-11", "e", "confirmed", 1, "close_contact")}


def test_the_summary_shows_the_day(figures):
    day1, day2 = figures["day1"]["summary"], figures["summary"]
    assert "command centre, 2020-02-10 (figures as of 22:00 local time" in day1
    assert "confirmed not admitted (确诊未收治)" in day1 and "1, longest waiting 14.0 h" in day1
    assert "0 of 3 (0 %); 3 to trace back" in day1
    assert "command centre, 2020-02-11 (figures as of 10:00 local time" in day2
    assert "1 of 1 (100 %); 0 to trace back" in day2
    assert "where people are held now (v_person_whereabouts): 定点医院 3, 方舱 1, 隔离点 1" in day2
    assert "note: the views count local days" not in day2
