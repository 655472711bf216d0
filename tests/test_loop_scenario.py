"""The whole loop through Airflow (dag.test(), state checked) over several runs: push, feedback
(done, 查无此人, 已离开本辖区 with a move, 非本人), a split that survives, escalation, zero reports,
community risk, a policy edit and statuses that end on their own. Assertions print ids and
counts only, never personal data."""
from datetime import date, datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse.cli import main
from screenfuse.synthetic import generate
from test_end_to_end import differing_columns, run_dag, table

R1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
R2 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)
R3 = datetime(2020, 2, 10, 15, tzinfo=timezone.utc)
R4 = datetime(2020, 2, 13, 0, tzinfo=timezone.utc)
R5 = datetime(2020, 2, 27, 0, tzinfo=timezone.utc)
OPEN = ["open", "pushed", "acknowledged", "escalated"]
SILENT_HOSPITAL = "武汉大学人民医院发热门诊"


def feedback_file(path, rows, streets):
    """A district-wide answers file: each row names its street office (街道), as the check of the
    answering office needs when the file's name names none."""
    frame = pd.DataFrame(rows, columns=["推送编号", "核查结果", "反馈时间", "核查人", "备注"])
    frame.insert(0, "街道", [streets.get(row[0], "中华路街道") for row in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frame.to_csv(index=False).encode("utf-8-sig"))


@pytest.fixture(scope="module")
def loop(airflow_db, warehouse_url, tmp_path_factory):
    import yaml
    from importlib import resources

    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("loop") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)  # the task processes inherit it
    mp.delenv("SCREENFUSE_POLICY", raising=False)
    landing = home / "landing"
    generate(500, 11, date(2020, 2, 10), landing, home / "truth", zero_reports=True)
    for silent in (landing / "hospital").glob(f"{SILENT_HOSPITAL}_*"):
        silent.unlink()  # this hospital stays silent on the first day
    assert main(["db", "upgrade"]) == 0
    engine = sa.create_engine(warehouse_url)
    runs = {"r1": run_dag(R1)}

    # the street offices answer; one person moves to another street
    items = table(engine, "push_item")
    persons = table(engine, "person").set_index("person_id")
    links = table(engine, "person_link")
    size = links.groupby("person_id").size()
    items = items.assign(records=items["person_id"].map(size))
    picked = {}
    pool = items.sort_values("push_item_id")
    picked["done"] = pool.iloc[0]
    picked["not_found"] = pool.iloc[1]
    multi = pool[(pool["records"] >= 2) & ~pool["push_item_id"].isin([p.push_item_id for p in picked.values()])]
    picked["not_same"] = multi.iloc[0]
    rest = pool[~pool["person_id"].isin([p.person_id for p in picked.values()])]
    # someone a grid worker has already seen (so a new community record changes only the address)
    rest = rest[(rest["person_id"].map(persons["community"]).fillna("") != "")
                & rest["person_id"].map(persons["feeds"]).fillna("").str.contains("community")
                & (rest["state"] == "pushed")]
    picked["left"] = rest.iloc[0]
    mover = persons.loc[picked["left"]["person_id"]]
    from screenfuse.gazetteer import load_gazetteer

    comm = load_gazetteer().communities
    target = comm[comm["street"] != mover["responsible_list"]].iloc[0]
    move = pd.DataFrame([{"街道": target["street"], "社区": target["community"], "楼栋": "3栋", "单元": "1单元",
                          "房号": "101", "摸排时间": "2020-02-10 13:20", "姓名": mover["name"],
                          "身份证号": mover["id_number"], "手机号": mover["phone"]}])
    (landing / "community" / f"{target['street']}_20200210_补报.csv").write_bytes(
        move.to_csv(index=False).encode("utf-8"))
    streets = dict(zip(items["push_item_id"], items["street"]))
    # 反馈时间 is Beijing time: 21:30 is 13:30 UTC, half an hour after the first run
    feedback_file(landing / "feedback" / "answers_20200210_1.csv", [
        [picked["done"]["push_item_id"], "已隔离", "2020-02-10 21:30", "核查员01", ""],
        [picked["not_found"]["push_item_id"], "查无此人", "2020-02-10 21:35", "核查员02", "多次上门无人"],
        [picked["not_same"]["push_item_id"], "非本人", "2020-02-10 21:40", "核查员03", ""],
        [picked["left"]["push_item_id"], "已离开本辖区", "2020-02-10 21:45", "核查员04", ""],
        ["PI000000000000", "已核实", "2020-02-10 21:50", "核查员05", ""],
        [picked["done"]["push_item_id"], "已核实", "2020-02-10 21:55", "核查员01", "重复"],
        [picked["left"]["push_item_id"], "不清楚", "2020-02-10 21:55", "核查员04", ""],
    ], streets)
    runs["r2"] = run_dag(R2)
    after_r2 = {name: table(engine, name) for name in ("push_item", "person", "person_link", "match_cannot_link")}
    # answers for items answered or closed before: quarantined
    feedback_file(landing / "feedback" / "answers_20200210_2.csv", [
        [picked["done"]["push_item_id"], "已核实", "2020-02-10 22:30", "核查员01", ""],
        [picked["not_found"]["push_item_id"], "已核实", "2020-02-10 22:35", "核查员02", ""],
    ], streets)
    runs["r3"] = run_dag(R3)
    after_r3 = {name: table(engine, name) for name in ("push_item", "person_status", "person_link", "quarantine",
                                                       "silent_unit", "community_risk", "match_cannot_link")}
    runs["r3_again"] = run_dag(R3)
    again_r3 = {name: table(engine, name) for name in after_r3}
    runs["r4"] = run_dag(R4)
    after_r4 = {name: table(engine, name) for name in ("push_item", "person", "person_link", "silent_unit",
                                                       "zero_report_check")}
    doc = yaml.safe_load(resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8"))
    doc["version"] = "loop-fever-38.5"
    for rule in doc["rules"]:
        if "temperature_at_least" in rule["when"]:
            rule["when"]["temperature_at_least"] = 38.5
    policy = tmp_path_factory.mktemp("loop-policy") / "policy.yaml"
    policy.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    mp.setenv("SCREENFUSE_POLICY", str(policy))
    runs["r5"] = run_dag(R5)
    yield {"engine": engine, "home": home, "runs": runs, "picked": picked, "target": target,
           "after_r2": after_r2, "after_r3": after_r3, "again_r3": again_r3, "after_r4": after_r4}
    engine.dispose()
    mp.undo()


def test_every_run_succeeds(loop):
    assert {name: run.state for name, run in loop["runs"].items()} == {name: "success" for name in loop["runs"]}


def test_answers_act_on_their_items(loop):
    items = loop["after_r2"]["push_item"].set_index("push_item_id")
    p = {k: v["push_item_id"] for k, v in loop["picked"].items()}
    done = items.loc[p["done"]]
    assert (done["state"], done["answer_result"], done["answered_batch_id"]) == ("done", "已隔离", "20200210T1400Z")
    assert done["done_at"] and done["acknowledged_at"] and done["answered_by"] and done["answer_hours"] >= 0
    lost = items.loc[p["not_found"]]
    assert (lost["state"], lost["close_reason"]) == ("closed", "not_found")
    assert (items.loc[p["not_same"], "state"], items.loc[p["not_same"], "close_reason"]) == ("closed", "not_same_person")


def test_not_found_goes_on_the_police_tracing_list(loop):
    engine, p = loop["engine"], loop["picked"]
    tracing = table(engine, "police_tracing")
    assert tracing["push_item_id"].tolist() == [p["not_found"]["push_item_id"]]
    listed = pd.read_csv(loop["home"] / "outbox" / "20200210T1400Z" / "公安协查清单.csv", dtype=str, encoding="utf-8-sig")
    assert listed["推送编号"].tolist() == [p["not_found"]["push_item_id"]]


def test_a_person_who_left_is_rerouted_to_the_new_street(loop):
    items = loop["after_r2"]["push_item"]
    old = items.set_index("push_item_id").loc[loop["picked"]["left"]["push_item_id"]]
    assert old["state"] == "closed" and old["close_reason"] == "rerouted" and old["answer_result"] == "已离开本辖区"
    new = items[items["replaces_item_id"] == old.name]
    assert len(new) == 1 and new["reason"].iloc[0] == "rerouted"
    street = loop["target"]["street"]
    assert new["street"].iloc[0] == street
    outbox = loop["home"] / "outbox" / "20200210T1400Z"
    on_new = pd.read_csv(outbox / f"{street}.csv", dtype=str, encoding="utf-8-sig")
    assert new["push_item_id"].iloc[0] in set(on_new["推送编号"])
    on_old = pd.read_csv(outbox / f"{old['street']}.csv", dtype=str, encoding="utf-8-sig")
    assert on_old.set_index("推送编号").loc[old.name, "推送类型"].startswith("转出")
    # later: open only on the new street's list
    later = loop["after_r4"]["push_item"]
    still = later[(later["person_id"] == old["person_id"]) & later["state"].isin(OPEN)]
    assert set(still["street"]) <= {street}


def test_not_the_same_person_splits_and_the_split_survives(loop):
    pushed = loop["picked"]["not_same"]
    pairs = loop["after_r2"]["match_cannot_link"]
    assert len(pairs) > 0 and set(pairs["push_item_id"]) == {pushed["push_item_id"]}
    assert set(pairs["source"]) == {"feedback"}
    for stage in ("after_r2", "after_r3", "after_r4"):  # split in the answer's own run
        person_of = loop[stage]["person_link"].set_index("source_record_id")["person_id"]
        apart = [person_of[a] != person_of[b] for a, b in zip(pairs["left_record_id"], pairs["right_record_id"])]
        assert all(apart), stage
    person_of = table(loop["engine"], "person_link").set_index("source_record_id")["person_id"]  # after R5 too
    assert all(person_of[a] != person_of[b] for a, b in zip(pairs["left_record_id"], pairs["right_record_id"]))
    events = table(loop["engine"], "person_event")
    assert ((events["batch_id"] == "20200210T1400Z") & (events["event"] == "split")).sum() >= 1


def test_bad_answers_are_quarantined_with_a_reason_and_every_row_is_counted(loop):
    quarantine = loop["after_r3"]["quarantine"]
    answers = quarantine[quarantine["feed"] == "feedback"]
    reasons = answers.groupby("batch_id")["reason"].apply(sorted).to_dict()
    assert reasons["20200210T1400Z"] == ["push item answered again in this batch", "push item unknown",
                                         "result not one of 已核实/已隔离/已转运/查无此人/已离开本辖区/非本人"]
    assert reasons["20200210T1500Z"] == ["push item already answered", "push item already closed"]
    files = table(loop["engine"], "ingest_file")
    assert (files["rows_read"] == files["rows_accepted"] + files["rows_quarantined"]).all()
    feedback = files[(files["feed"] == "feedback") & (files["status"] == "loaded")]
    assert feedback["rows_read"].sum() == 9 and feedback["rows_accepted"].sum() == 4


def test_rerunning_a_batch_with_answers_is_idempotent(loop):
    for name, frame in loop["after_r3"].items():
        now = loop["again_r3"][name]
        if name in ("person_status", "community_risk", "silent_unit", "match_cannot_link"):
            key = {"person_status": ["person_id", "batch_id"], "community_risk": ["batch_id", "community"],
                   "silent_unit": ["report_day", "feed", "unit_id"],
                   "match_cannot_link": ["left_record_id", "right_record_id"]}[name]
            frame, now = (f.assign(key=f[key].astype(str).agg("|".join, axis=1))[["key", *f.columns]] for f in (frame, now))
        assert differing_columns(frame, now) == [], name


def test_every_item_ends_answered_escalated_or_closed(loop):
    items = loop["after_r4"]["push_item"]
    due = items[items["due_at"] <= "2020-02-13T00:00:00Z"]
    ended = due["answered_at"].notna() | due["escalated_at"].notna() | (due["state"] == "closed")
    assert ended.all(), due.loc[~ended, "push_item_id"].tolist()
    open_now = items[items["state"].isin(OPEN)]
    assert not open_now.duplicated(["person_id", "measure"]).any()
    assert open_now["person_id"].is_unique


def test_silent_units_are_reported_per_day(loop):
    engine = loop["engine"]
    silent = pd.read_sql(sa.text("SELECT * FROM v_silent_units"), engine)
    first = silent[silent["report_day"] == "2020-02-10"]
    assert SILENT_HOSPITAL in set(first["unit_name"])
    checks = loop["after_r4"]["zero_report_check"]
    assert {"2020-02-10", "2020-02-11", "2020-02-12"} <= set(checks["report_day"])
    # nobody sent anything for the 11th and 12th: every expected unit is silent
    for day in ("2020-02-11", "2020-02-12"):
        assert (checks.loc[checks["report_day"] == day, "reported"] == 0).all()
    report = pd.read_csv(loop["home"] / "outbox" / "20200210T1300Z" / "零报告日报_20200210.csv", dtype=str,
                         encoding="utf-8-sig")
    assert SILENT_HOSPITAL in set(report["单位名称"])
    assert (loop["home"] / "outbox" / "20200213T0000Z" / "零报告日报_20200212.csv").exists()


def test_community_risk_is_rated_each_run_with_a_view(loop):
    engine = loop["engine"]
    risk = table(engine, "community_risk")
    assert risk.groupby("batch_id").size().eq(125).all() and risk["batch_id"].nunique() == 5
    view = pd.read_sql(sa.text("SELECT * FROM v_community_risk"), engine)
    assert len(view) == 125 and set(view["batch_id"]) == {"20200227T0000Z"}
    persons = table(engine, "person")
    confirmed = persons[persons["status"] == "confirmed"].groupby("community").size()
    spots = set(view.loc[view["risk_level"].isin(["epidemic_spot", "epidemic_area"]), "community"])
    assert set(confirmed.index) - {""} <= spots


def test_durations_expire_and_the_edited_policy_applies_on_the_next_run(loop):
    engine = loop["engine"]
    persons = table(engine, "person")
    assert not persons["status"].isin(["key_area_arrival"]).any()
    # no negative result for the contacts in the synthetic feeds: isolated, sampled before release
    contacts = persons[persons["status"] == "close_contact"]
    assert len(contacts) > 0 and (contacts["measure"] == "release_test").all()
    assert set(persons["policy_version"]) == {"loop-fever-38.5"}
    run = table(engine, "run_log").set_index("batch_id")
    assert run.loc["20200213T0000Z", "policy_version"] == "default-2020.05-4"
    assert run.loc["20200227T0000Z", "policy_version"] == "loop-fever-38.5"
    items = table(engine, "push_item")
    assert (items.loc[items["closed_batch_id"] == "20200227T0000Z", "close_reason"] == "expired").sum() > 0


def test_bi_views_answer(loop):
    engine = loop["engine"]
    for view in ("v_person_status_over_time", "v_push_backlog", "v_feedback_results", "v_silent_units",
                 "v_zero_report_days", "v_community_risk", "v_community_risk_over_time", "v_police_tracing",
                 "v_person_timeline"):
        assert len(pd.read_sql(sa.text(f"SELECT * FROM {view}"), engine)) > 0, view
    over_time = pd.read_sql(sa.text("SELECT * FROM v_person_status_over_time"), engine)
    assert over_time["batch_id"].nunique() == 5
    timeline = pd.read_sql(sa.text("SELECT * FROM v_person_timeline"), engine)
    assert {"screened", "visited", "traced", "admitted", "tested", "isolated_from", "isolated_to", "pushed",
            "answered"} <= set(timeline["event"])
    assert set(timeline["person_id"]) <= set(table(engine, "person")["person_id"])
    backlog = pd.read_sql(sa.text("SELECT * FROM v_push_backlog"), engine)
    assert backlog["answered"].sum() == 4 and backlog["items"].sum() == len(table(engine, "push_item"))
