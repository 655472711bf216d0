"""Mass screening through the hourly pipeline: samples registered in one hour, the labs' results
in a later one; a positive pool puts every member up for a re-test, a positive own tube makes a
suspected case, a result for an unknown tube is kept as an orphan, and only the persons a result
names are fused again."""
from datetime import datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from conftest import hand_made_home, make_id, write_csv as write

H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
H2 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)
SAMPLING = ["采样点", "采样时间", "姓名", "证件号码", "联系电话", "现住址", "样本编号", "混检管号"]
PEOPLE = [  # (who, own tube, pool)
    ("A", "S001", "P01"), ("B", "S002", "P01"), ("C", "S003", ""), ("D", "S004", "P02"),
]



@pytest.fixture(scope="module")
def screening(tmp_path_factory, warehouse_url):
    mp, home, engine = hand_made_home(tmp_path_factory, warehouse_url, "screening")
    landing = home / "landing"
    names = {"A": "赵一", "B": "钱二", "C": "孙三", "D": "李四"}
    ids = {k: make_id(f"42010619{80 + i}0101{i:02d}1") for i, k in enumerate(names)}
    write(landing / "mass_screening" / "首义路采样点_20200210.csv", SAMPLING, [
        ["首义路采样点", "2020-02-10 09:00", names[w], ids[w], f"1380013800{i}", "首义路街道首义路社区1栋", tube, pool]
        for i, (w, tube, pool) in enumerate(PEOPLE)])
    run_batch(load_settings(), H1)
    first = {t: pd.read_sql(sa.text(f"SELECT * FROM {t}"), engine) for t in ("person", "v_screening_awaiting")}
    write(landing / "mass_screening_result" / "武昌区疾控_20200210.csv", ["检测机构", "样本编号", "混检管号", "检测结果", "报告时间"], [
        ["武昌区疾控", "", "P01", "阳性", "2020-02-10 20:00"],
        ["武昌区疾控", "S003", "", "阳性", "2020-02-10T12:05:00Z"],  # a lab system's export: UTC, with its zone
        ["武昌区疾控", "", "P02", "阴性", "2020-02-10 20:10"],
        ["武昌区疾控", "S999", "", "阴性", "2020-02-10 20:15"],  # nobody registered this tube
    ])
    run_batch(load_settings(), H2)
    tables = {t: pd.read_sql(sa.text(f"SELECT * FROM {t}"), engine)
              for t in ("person", "person_link", "screening_outcome", "v_screening_awaiting",
                        "v_screening_orphan_results", "push_item", "run_log")}
    yield {"first": first, "tables": tables, "ids": ids}
    mp.undo()


def status_of(tables, ids):
    person = tables["person"].set_index("id_number")
    return {who: person.loc[number, "status"] for who, number in ids.items()}


def test_samples_wait_for_their_results(screening):
    assert len(screening["first"]["v_screening_awaiting"]) == 4
    assert set(screening["first"]["person"]["status"]) == {"none"}


def test_a_positive_pool_puts_every_member_up_for_a_retest_and_an_own_positive_is_suspected(screening):
    assert status_of(screening["tables"], screening["ids"]) == {
        "A": "screening_retest", "B": "screening_retest", "C": "suspected", "D": "none"}
    items = screening["tables"]["push_item"]
    assert sorted(items["measure"]) == ["isolate_suspected", "single_tube_retest", "single_tube_retest"]


def test_results_are_joined_and_orphans_kept(screening):
    tables = screening["tables"]
    assert tables["v_screening_awaiting"].empty
    assert list(tables["v_screening_orphan_results"]["sample_id"]) == ["S999"]
    outcome = tables["screening_outcome"].set_index("sample_id")
    assert outcome.loc["S001", "screening_scope"] == "pool" and outcome.loc["S001", "pool_positive"] == 1
    assert outcome.loc["S003", "screening_scope"] == "individual" and outcome.loc["S003", "individual_positive"] == 1
    # reported in UTC with its zone, kept on the district's clock as every other time (20:05 Beijing),
    # not 12:05: eight hours early, a result would read as overdue or older than it is
    assert outcome.loc["S003", "screening_result_time"] == "2020-02-10 20:05:00"
    assert outcome.loc["S001", "pool_result_time"] == "2020-02-10 20:00:00"  # written without a zone: as written


def test_the_results_hour_fuses_only_the_persons_its_results_name(screening):
    tables, ids = screening["tables"], screening["ids"]
    rewritten = tables["person"].loc[tables["person"]["batch_id"] == "20200210T1400Z", "id_number"]
    assert sorted(rewritten) == sorted(ids[w] for w in "ABC")  # D (pool P02 negative) comes out the same: left alone
    joined = tables["screening_outcome"].loc[tables["screening_outcome"]["batch_id"] == "20200210T1400Z", "sample_id"]
    assert sorted(joined) == ["S001", "S002", "S003", "S004"]  # but D was fused: its tube's result was joined
    run = screening["tables"]["run_log"].set_index("batch_id").loc["20200210T1400Z"]
    assert run["rows_accepted"] == 4 and run["files_loaded"] == 1


def test_a_pool_result_on_a_later_members_row_reaches_the_members_sampled_before(warehouses, tmp_path_factory):
    """An export copies the pool's 阳性 onto a member's sampling row (检测结果). Members 1 to 3 of a
    pool are sampled in one hour with no result; member 4's row, an hour later, carries the pool's
    阳性: all four are up for a re-test then, and still the next day when nothing new comes (they
    used to flip back to none when an overdue run looked at them without member 4)."""
    mp, home, engine = hand_made_home(tmp_path_factory, warehouses.new("sqlite"), "inline-pool")
    try:
        landing, header = home / "landing" / "mass_screening", SAMPLING + ["检测结果", "结果时间"]
        ids = [make_id(f"420106199{i}0303{i:02d}2") for i in range(4)]
        row = lambda i, at, result="": ["积玉桥采样点", at, f"测试{'一二三四'[i]}", ids[i], f"1390013900{i}",  # noqa: E731
                                        "积玉桥街道和平社区2栋", f"T00{i}", "P10", result, "2020-02-10 13:00" if result else ""]
        write(landing / "积玉桥采样点_20200210.csv", header, [row(i, f"2020-02-10 08:0{i}") for i in range(3)])
        run_batch(load_settings(), datetime(2020, 2, 10, 2, tzinfo=timezone.utc))
        write(landing / "积玉桥采样点2_20200210.csv", header, [row(3, "2020-02-10 11:06", "阳性")])
        run_batch(load_settings(), datetime(2020, 2, 10, 5, tzinfo=timezone.utc))
        after = pd.read_sql(sa.text("SELECT id_number, status FROM person"), engine).set_index("id_number")["status"]
        awaiting = pd.read_sql(sa.text("SELECT * FROM v_screening_awaiting"), engine)
        for end in (datetime(2020, 2, 11, 4, tzinfo=timezone.utc), datetime(2020, 2, 11, 8, tzinfo=timezone.utc)):
            run_batch(load_settings(), end)  # overdue windows: the members looked at again, member 4 not
        later = pd.read_sql(sa.text("SELECT id_number, status FROM person"), engine).set_index("id_number")["status"]
    finally:
        engine.dispose()
        mp.undo()
    assert after.reindex(ids).tolist() == ["screening_retest"] * 4
    assert awaiting.empty
    assert later.reindex(ids).tolist() == ["screening_retest"] * 4


def test_a_first_load_joins_its_own_samples_and_results_without_looking_up_stored_ones(warehouses, tmp_path_factory):
    """A first load (nothing stored) joins in memory only: a pool's 阳性 on one member's row and a lab's
    阳性 for another pool reach every member of the same batch, and a result for a tube nobody
    sampled is still kept as an orphan."""
    mp, home, engine = hand_made_home(tmp_path_factory, warehouses.new("sqlite"), "first-load-join")
    try:
        landing, header = home / "landing", SAMPLING + ["检测结果", "结果时间"]
        ids = [make_id(f"420106198{i}0404{i:02d}3") for i in range(5)]
        row = lambda i, pool, result="": ["积玉桥采样点", f"2020-02-10 08:0{i}", f"测试{'一二三四五'[i]}", ids[i],  # noqa: E731
                                          f"1390013901{i}", "积玉桥街道和平社区3栋", f"U00{i}", pool, result,
                                          "2020-02-10 13:00" if result else ""]
        write(landing / "mass_screening" / "积玉桥采样点_20200210.csv", header,
              [row(0, "Q1"), row(1, "Q1"), row(2, "Q1", "阳性"), row(3, "Q2"), row(4, "Q2")])
        write(landing / "mass_screening_result" / "武昌区疾控_20200210.csv", ["检测机构", "样本编号", "混检管号", "检测结果", "报告时间"],
              [["武昌区疾控", "", "Q2", "阳性", "2020-02-10 12:00"], ["武昌区疾控", "U999", "", "阳性", "2020-02-10 12:00"]])
        run_batch(load_settings(), datetime(2020, 2, 10, 6, tzinfo=timezone.utc))
        status = pd.read_sql(sa.text("SELECT id_number, status FROM person"), engine).set_index("id_number")["status"]
        orphans = pd.read_sql(sa.text("SELECT sample_id FROM v_screening_orphan_results"), engine)
    finally:
        engine.dispose()
        mp.undo()
    assert status.reindex(ids).tolist() == ["screening_retest"] * 5
    assert orphans["sample_id"].tolist() == ["U999"]
