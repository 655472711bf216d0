"""Isolation points through whole hourly runs on SQLite and PostgreSQL (issue 9): the points list
lands in its own table, a fever in isolation is pushed in the same run, a missed daily check is
found in the run of the hour its deadline passes (18:00 local = 10:00 UTC), not before, pushed to
the point's street and closed when the late row comes; occupancy per point and day; the monitoring
puts a person at 隔离点. A re-run of the latest batch gives the same warehouse. Synthetic data only."""
from datetime import datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from conftest import hand_made_home, make_id, write_csv as write
from warehouse_content import checksums

H1, H2, H3, H4 = (datetime(2020, 2, d, h, tzinfo=timezone.utc) for d, h in ((10, 13), (11, 9), (11, 10), (11, 12)))
POINT, STREET = "华信酒店隔离点", "积玉桥街道"
MONITORING = ["隔离点", "房间号", "监测日期", "姓名", "证件号码", "联系电话", "上午体温", "下午体温", "症状", "核酸结果", "去向"]
POLICE = ["派出所", "登记时间", "姓名", "公民身份号码", "手机号码", "现住址", "密接对象姓名", "末次接触日期"]
PEOPLE = {"A": ("测隔甲", make_id("42010619800101021"), "13900000021"),
          "B": ("测隔乙", make_id("42010619810202022"), "13900000022"),
          "C": ("测隔丙", make_id("42010619820303023"), "13900000023"),
          "D": ("测隔丁", make_id("42010619830404024"), "13900000024")}


def row(who, room, day, am="36.5", pm="36.6", symptoms="无", action=""):
    name, id_number, phone = PEOPLE[who]
    return [POINT, room, day, name, id_number, phone, am, pm, symptoms, "", action]


@pytest.fixture(scope="module")
def hours(tmp_path_factory, warehouse_url):
    mp, home, engine = hand_made_home(tmp_path_factory, warehouse_url, "isolation")
    landing = home / "landing"
    write(landing / "isolation_point" / "隔离点清单_20200210.csv", ["隔离点名称", "所属街道", "地址", "房间数", "收治类别", "更新时间"],
          [[POINT, STREET, "积玉桥一路8号", "100", "密接、境外返汉", "2020-02-10 08:00"]])
    write(landing / "police" / "积玉桥派出所_20200210.csv", POLICE, [
        ["积玉桥派出所", "2020-02-09 10:00", *PEOPLE[w][:3], f"积玉桥街道振广港社区{n}栋", "某病例", "2020-02-08"]
        for n, w in enumerate("ABCD", 1)])
    write(landing / "isolation_monitoring" / f"{POINT}_20200210.csv", MONITORING, [
        row("A", "801", "2020-02-10"), row("B", "802", "2020-02-10", pm="37.6"),
        row("C", "803", "2020-02-10", action="解除隔离"), row("D", "804", "2020-02-10")])
    seen = {}
    for name, moment, files in (("h1", H1, []), ("h2", H2, []),
                                ("h3", H3, [("d", [row("D", "804", "2020/2/11")])]),
                                ("h4", H4, [("a", [row("A", "801", "2020年2月11日")])])):
        for suffix, rows in files:
            write(landing / "isolation_monitoring" / f"{POINT}_20200211_{suffix}.csv", MONITORING, rows)
        run_batch(load_settings(), moment)
        seen[name] = frames(engine)
        if name == "h3":
            seen["h3_outbox"] = pd.read_csv(home / "outbox" / "20200211T1000Z" / f"{STREET}.csv", dtype=str)
            seen["sums"] = checksums(engine)
            run_batch(load_settings(), moment)  # the latest batch again: taken back, published again
            seen["again"] = checksums(engine)
    yield seen
    mp.undo()


def frames(engine) -> dict:
    with engine.connect() as conn:
        read = lambda sql: pd.read_sql(sa.text(sql), conn)  # noqa: E731
        person = read("SELECT person_id, id_number, status, measure, next_change_at FROM person").set_index("id_number")
        return {"person": person, "items": read("SELECT * FROM push_item"), "missed": read("SELECT * FROM isolation_missed_check"),
                "points": read("SELECT * FROM isolation_point"),
                "occupancy": read("SELECT * FROM v_isolation_occupancy ORDER BY day"),
                "where": read("SELECT person_id, place, evidence FROM v_person_whereabouts").set_index("person_id")}


def pid(seen, who):
    return seen["person"].loc[PEOPLE[who][1], "person_id"]


def test_the_points_list_has_its_own_table(hours):
    points = hours["h1"]["points"]
    assert points[["point_name", "street", "rooms", "takes"]].values.tolist() == [[POINT, STREET, 100, "密接、境外返汉"]]


def test_a_fever_in_isolation_is_pushed_in_the_same_run_and_the_release_is_a_release(hours):
    h1 = hours["h1"]
    b = h1["person"].loc[PEOPLE["B"][1]]
    assert (b["status"], b["measure"]) == ("fever", "transfer_fever_clinic")
    items = h1["items"][h1["items"]["person_id"] == b["person_id"]]
    assert items["measure"].tolist() == ["transfer_fever_clinic"] and items["batch_id"].tolist() == ["20200210T1300Z"]
    c = h1["person"].loc[PEOPLE["C"][1]]
    assert (c["status"], c["measure"]) == ("released", "health_monitoring")  # 解除隔离 ends the close contact's
    a = h1["person"].loc[PEOPLE["A"][1]]
    assert (a["status"], a["measure"]) == ("close_contact", "centralized_isolation")
    assert a["next_change_at"] == "2020-02-11T10:00:00Z"  # the day's deadline: 18:00 local


def test_no_missed_check_before_the_deadline(hours):
    h2 = hours["h2"]
    assert h2["missed"].empty
    assert not (h2["items"]["measure"] == "isolation_missed_check").any()


def test_the_missed_check_is_pushed_to_the_points_street_in_the_hour_the_deadline_passes(hours):
    h3 = hours["h3"]
    a = pid(h3, "A")
    assert h3["missed"][["person_id", "point", "street", "check_day"]].values.tolist() == [[a, POINT, STREET, "2020-02-11"]]
    missed = h3["items"][h3["items"]["measure"] == "isolation_missed_check"]
    assert missed[["person_id", "street", "batch_id", "reason"]].values.tolist() == [
        [a, STREET, "20200211T1000Z", "missed_check"]]
    on_list = hours["h3_outbox"]
    assert (on_list["推送类型"] == "隔离点漏报").sum() == 1
    # B (fever: transferred) and C (released) are not expected; D's row came in
    assert set(h3["missed"]["person_id"]) == {a}


def test_the_late_row_closes_the_item(hours):
    h4 = hours["h4"]
    item = h4["items"][h4["items"]["measure"] == "isolation_missed_check"].iloc[0]
    assert (item["state"], item["close_reason"], item["closed_batch_id"]) == ("closed", "checked", "20200211T1200Z")
    assert len(h4["missed"]) == 1  # the miss stays recorded: it was missed at the deadline


def test_occupancy_per_point_and_day(hours):
    occupancy = hours["h4"]["occupancy"]
    assert occupancy[["point", "street", "day", "held", "rooms", "free", "missed"]].values.tolist() == [
        [POINT, STREET, "2020-02-10", 4, 100, 96, 0], [POINT, STREET, "2020-02-11", 2, 100, 98, 1]]


def test_the_monitoring_puts_a_person_held_at_the_isolation_point(hours):
    where = hours["h4"]["where"]
    for who in "AD":
        assert tuple(where.loc[pid(hours["h4"], who)]) == ("isolation_point", "monitoring")


def test_rerunning_the_latest_batch_gives_the_same_warehouse(hours):
    assert hours["again"] == hours["sums"]
