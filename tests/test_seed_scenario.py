"""Weeks of an epidemic through Airflow (dag.test(), state checked), with hand-made files as the
units would send them, for the people seeds 000-004 describe (issue 9):

- a contact chain: I is suspected on 02-01; C was named by the police as I's close contact (last
  contact 01-30), C2 as C's; C first gets home isolation (contact of a suspected case, seed 002),
  and the run that reads I's confirmation upgrades C to centralized isolation (seed 004);
- a death: Z, confirmed, dies on 02-03; a grid worker's row on 02-05 saying Z came back from
  湖北孝感 is kept for review, and no measure is ever pushed for Z again;
- a discharge reported late: X, confirmed on 01-28 (重型), discharged on 02-05, reported on 02-20;
  on 02-21 X is on day 16 of the 14 + 14, at home, not on day 1 of the centralized step
  (durations count from the event date); on 03-20 only the follow-up visits are left;
- an isolation-point stay: C and C2 are held at 华信酒店隔离点 (积玉桥街道) from 02-03; C2 has a fever
  there that evening (pushed to the fever clinic in the same run); C's daily check is sent for
  02-03 and, late, for 02-04, then never again: the run of 02-21 pushes the missed checks to the
  point's street;
- arrivals with passports, surveyed on 03-18 and 03-20: from 意大利, arrived 03-17 (a key country
  since 03-17: centralized isolation, 14 days from the arrival) and from 澳大利亚, arrived 03-19
  (key only from 03-20: a non-key country arrival although surveyed on 03-20, also isolated
  centrally by the default policy, seeds 000 l.43 and 001 l.28).

Runs on SQLite and PostgreSQL. Assertions name person ids and counts, never personal data; the
names and numbers below are made up."""
from datetime import datetime, timezone

import pandas as pd
import pytest

from conftest import hand_made_home, make_id, write_csv as write
from test_end_to_end import run_dag, table

R1, R2, R3, R4 = (datetime(2020, m, d, h, tzinfo=timezone.utc) for m, d, h in
                  ((2, 1, 12), (2, 3, 12), (2, 21, 0), (3, 20, 12)))
HOSPITAL = ["医疗机构", "就诊时间", "患者姓名", "身份证号码", "联系方式", "住址", "人员类别", "核酸结果",
            "入院日期", "出院日期", "病情分型"]
POLICE = ["派出所", "登记时间", "姓名", "公民身份号码", "手机号码", "现住址", "密接对象姓名", "密接对象身份证",
          "末次接触日期", "流调编号"]
COMMUNITY = ["街道", "社区", "楼栋", "房号", "摸排时间", "姓名", "身份证号", "手机号", "返回地", "返回日期"]
POINTS = ["隔离点名称", "更新时间", "所属街道", "房间数", "收治类别"]
MONITORING = ["隔离点", "房间号", "监测日期", "姓名", "证件号码", "联系电话", "上午体温", "下午体温", "症状", "去向"]
POINT = "华信酒店隔离点"
IDS = {"I": make_id("42010619700101021"), "C": make_id("42010619750202022"), "C2": make_id("42010619780303023"),
       "Z": make_id("42010619400404024"), "X": make_id("42010619600505025")}
PASSPORTS = {"IT": "YA7712345", "AU": "PA5523461"}  # made-up passport numbers, no 证件类型 column
NAMES = {"I": "甲一", "C": "乙二", "C2": "丙三", "Z": "丁四", "X": "戊五", "IT": "MARIO ROSSI", "AU": "JANE CITIZEN"}
PHONES = {who: f"1390027{n:04d}" for n, who in enumerate(NAMES)}
ADDRESS = "首义路街道首义路社区{}栋"
CLINIC, WARD = "武昌医院发热门诊", "武汉大学人民医院"


def hospital(who, when, category, nucleic="", admitted="", discharged="", severity=""):
    return [WARD if category != "疑似" else CLINIC, when, NAMES[who], IDS[who], PHONES[who],
            ADDRESS.format(len(who)), category, nucleic, admitted, discharged, severity]


def police(who, when, index, contact_day, case):
    return ["首义路派出所", when, NAMES[who], IDS[who], PHONES[who], ADDRESS.format(3), NAMES[index], IDS[index],
            contact_day, case]


def check(who, day, room, am="36.5", pm="36.6", symptoms="无"):
    return [POINT, room, day, NAMES[who], IDS[who], PHONES[who], am, pm, symptoms, ""]


def community(who, when, came_from, arrived, number=None):
    return ["首义路街道", "首义路社区", "5栋", "101", when, NAMES[who], number or IDS[who], PHONES[who], came_from, arrived]


@pytest.fixture(scope="module")
def weeks(airflow_db, tmp_path_factory, warehouse_url):
    mp, home, engine = hand_made_home(tmp_path_factory, warehouse_url, "seed-scenario")
    landing = home / "landing"
    seen, runs = {}, {}

    def after(name):
        seen[name] = {t: table(engine, t) for t in ("person", "person_link", "push_item", "person_status",
                                                    "contact_edge", "v_contact_chain", "v_after_terminal_review",
                                                    "v_isolation_missed_checks")}

    write(landing / "hospital" / f"{WARD}_20200201.csv", HOSPITAL, [
        hospital("X", "2020-01-28 10:00", "确诊", "阳性", admitted="2020-01-28", severity="重型"),
        hospital("Z", "2020-02-01 09:00", "确诊", "阳性", admitted="2020-02-01", severity="普通型")])
    write(landing / "hospital" / f"{CLINIC}_20200201.csv", HOSPITAL, [hospital("I", "2020-02-01 09:30", "疑似")])
    write(landing / "police" / "首义路派出所_20200201.csv", POLICE, [
        police("C", "2020-02-01 15:00", "I", "2020-01-30", "LD202002010001"),
        police("C2", "2020-02-01 15:10", "C", "2020-01-31", "LD202002010002")])
    runs["r1"] = run_dag(R1)
    after("r1")

    write(landing / "hospital" / f"{WARD}_20200203.csv", HOSPITAL, [
        hospital("I", "2020-02-03 11:00", "确诊", "阳性", admitted="2020-02-03", severity="普通型"),
        hospital("Z", "2020-02-03 06:00", "死亡")])
    write(landing / "isolation_point" / "隔离点清单_20200203.csv", POINTS, [[POINT, "2020-02-03 08:00", "积玉桥街道", "120间", "密接"]])
    write(landing / "isolation_monitoring" / f"{POINT}_20200203.csv", MONITORING, [
        check("C", "2020-02-03", "301"), check("C2", "2020-02-03", "302", pm="38.4", symptoms="咳嗽")])
    runs["r2"] = run_dag(R2)
    after("r2")

    write(landing / "community" / "首义路街道_20200205.csv", COMMUNITY, [
        community("Z", "2020-02-05 10:00", "湖北孝感", "2020-02-04")])
    write(landing / "isolation_monitoring" / f"{POINT}_20200204.csv", MONITORING, [check("C", "2020-02-04", "301")])
    write(landing / "hospital" / f"{WARD}_20200220.csv", HOSPITAL, [
        hospital("X", "2020-02-20 16:00", "出院", "阴性", admitted="2020-01-28", discharged="2020-02-05")])
    runs["r3"] = run_dag(R3)
    after("r3")

    write(landing / "community" / "首义路街道_20200320.csv", COMMUNITY, [
        community("IT", "2020-03-18 09:00", "意大利", "2020-03-17", PASSPORTS["IT"]),
        community("AU", "2020-03-20 09:10", "澳大利亚", "2020-03-19", PASSPORTS["AU"])])
    runs["r4"] = run_dag(R4)
    after("r4")
    yield {"runs": runs, "seen": seen}
    mp.undo()


def person_of(frames, who) -> pd.Series:
    """The person row holding `who`'s ID number or passport (one person per made-up person)."""
    number = IDS.get(who) or PASSPORTS[who]
    rows = frames["person"][frames["person"]["id_number"] == number]
    assert len(rows) == 1, (who, len(rows))
    return rows.iloc[0]


def items_of(frames, who) -> pd.DataFrame:
    return frames["push_item"][frames["push_item"]["person_id"] == person_of(frames, who)["person_id"]]


def open_items(frames, who) -> pd.DataFrame:
    items = items_of(frames, who)
    return items[items["state"].isin(["open", "pushed", "acknowledged", "escalated"])]


def no_measure(value) -> bool:
    return value is None or pd.isna(value) or value == ""


def test_every_run_succeeds(weeks):
    assert {name: run.state for name, run in weeks["runs"].items()} == {name: "success" for name in weeks["runs"]}


def test_contact_of_a_suspected_case_is_isolated_at_home_then_centrally_when_it_is_confirmed(weeks):
    r1, r2 = weeks["seen"]["r1"], weeks["seen"]["r2"]
    assert (person_of(r1, "I")["status"], person_of(r1, "I")["measure"]) == ("suspected", "isolate_suspected")
    assert (person_of(r1, "C")["status"], person_of(r1, "C")["measure"]) == ("close_contact", "home_isolation")
    assert list(open_items(r1, "C")["measure"]) == ["home_isolation"]
    # the run that reads I's confirmation upgrades C, and pushes the new measure in the same hour
    assert (person_of(r2, "I")["status"], person_of(r2, "C")["measure"]) == ("confirmed", "centralized_isolation")
    upgraded = open_items(r2, "C")
    assert list(upgraded["measure"]) == ["centralized_isolation"]
    assert upgraded["batch_id"].iloc[0] == "20200203T1200Z"
    closed = items_of(r2, "C")
    assert closed.loc[closed["measure"] == "home_isolation", "state"].tolist() == ["closed"]


def test_the_chain_has_two_generations_rooted_at_the_index_case(weeks):
    r2 = weeks["seen"]["r2"]
    root, c, c2 = (person_of(r2, who)["person_id"] for who in ("I", "C", "C2"))
    edges = r2["contact_edge"].set_index("contact_person_id")
    assert edges.loc[c, "index_person_id"] == root and edges.loc[c2, "index_person_id"] == c
    assert edges.loc[c, "contact_date"] == "2020-01-30"
    chain = r2["v_contact_chain"]
    generations = dict(zip(chain.loc[chain["root_person_id"] == root, "person_id"],
                           chain.loc[chain["root_person_id"] == root, "generation"]))
    assert generations.get(c) == 1 and generations.get(c2) == 2
    # C2 is a contact of a close contact (次密接), not of a case: the contact rule applies to C2 too (until the
    # fever at the isolation point, see below)
    assert person_of(weeks["seen"]["r1"], "C2")["status"] == "close_contact"


def test_a_fever_at_the_isolation_point_is_pushed_in_the_same_run(weeks):
    r2 = weeks["seen"]["r2"]
    c2 = person_of(r2, "C2")
    assert (c2["status"], c2["measure"]) == ("fever", "transfer_fever_clinic")
    items = open_items(r2, "C2")
    assert items.loc[items["measure"] == "transfer_fever_clinic", "batch_id"].tolist() == ["20200203T1200Z"]


def test_missed_daily_checks_at_the_point_are_pushed_to_its_street(weeks):
    r2, r3 = weeks["seen"]["r2"], weeks["seen"]["r3"]
    c = person_of(r3, "C")["person_id"]
    assert open_items(r2, "C")["measure"].tolist() == ["centralized_isolation"]  # checked on 02-03: nothing missed
    missed = r3["v_isolation_missed_checks"]
    days = sorted(missed.loc[missed["person_id"] == c, "check_day"])
    assert days[0] == "2020-02-05" and "2020-02-04" not in days  # the late row of 02-04 counts
    assert set(missed.loc[missed["person_id"] == c, "street"]) == {"积玉桥街道"}
    items = open_items(r3, "C")
    pushed = items[items["measure"] == "isolation_missed_check"]
    assert len(pushed) == 1 and pushed["street"].iloc[0] == "积玉桥街道" and pushed["batch_id"].iloc[0] == "20200221T0000Z"


def test_death_is_terminal_and_later_records_go_to_review(weeks):
    r2, r3, r4 = (weeks["seen"][k] for k in ("r2", "r3", "r4"))
    z = person_of(r2, "Z")
    assert z["status"] == "deceased" and no_measure(z["measure"])
    assert open_items(r2, "Z").empty  # the confirmed case's transfer item was closed
    pushed_before = set(items_of(r2, "Z")["push_item_id"])
    z3 = person_of(r3, "Z")
    assert z3["status"] == "deceased" and no_measure(z3["measure"])
    assert set(items_of(r3, "Z")["push_item_id"]) == pushed_before  # no new item after the death
    assert set(items_of(r4, "Z")["push_item_id"]) == pushed_before
    assert z3["after_terminal"] and z3["person_id"] in set(r3["v_after_terminal_review"]["person_id"])
    assert person_of(r3, "Z")["n_records"] == 3  # the record is kept, not dropped


def test_discharge_reported_late_counts_from_the_discharge_date(weeks):
    r1, r3, r4 = (weeks["seen"][k] for k in ("r1", "r3", "r4"))
    assert (person_of(r1, "X")["status"], person_of(r1, "X")["measure"]) == ("confirmed", "transfer_designated_hospital")
    x = person_of(r3, "X")
    # discharged 02-05: 14 days centralized to 02-19, then 14 at home; on 02-21 it is day 16, at home
    assert (x["status"], x["measure"]) == ("discharged", "home_isolation")
    assert list(open_items(r3, "X")["measure"]) == ["home_isolation"]
    # the home step ends 28 days after the discharge (03-04 00:00 Beijing time), when the run looks again
    assert x["next_change_at"] == "2020-03-03T16:00:00Z"
    x4 = person_of(r4, "X")
    assert x4["measure"] == "follow_up_visit"
    assert "home_isolation" not in set(open_items(r4, "X")["measure"])


def test_passport_arrivals_are_judged_by_the_list_in_force_on_their_arrival_day(weeks):
    r4 = weeks["seen"]["r4"]
    italy, australia = person_of(r4, "IT"), person_of(r4, "AU")
    assert (italy["status"], italy["measure"]) == ("key_country_arrival", "centralized_isolation")
    assert (australia["status"], australia["measure"]) == ("non_key_country_arrival", "centralized_isolation")
    # 14 days from the arrival day (00:00 Beijing time), not from the survey
    assert (italy["status_expires_at"], australia["status_expires_at"]) == ("2020-03-30T16:00:00Z", "2020-04-01T16:00:00Z")
    for who in ("IT", "AU"):
        items = open_items(r4, who)
        assert list(items["measure"]) == ["centralized_isolation"] and set(items["street"]) == {"首义路街道"}
