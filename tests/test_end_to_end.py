"""The hourly DAG, run through Airflow on generated feeds plus bad files, against a real warehouse."""
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse.cli import main
from screenfuse.synthetic import generate

FIRST = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
SECOND = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)


def run_dag(logical_date, log=None):
    """One run of the hourly DAG through Airflow (`dag.test`); its DagRun. With `log`, the run is
    `airflow dags test` in a process of its own whose whole output (every task's log, whatever the
    logging setup of this test process) is appended to `log`."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models import DagRun

    from screenfuse.config import PROJECT_ROOT

    if log is None:
        dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "screenfuse_hourly.py")).get_dag("screenfuse_hourly")
        return dag.test(logical_date=logical_date)
    started = datetime.now(timezone.utc)
    with open(log, "ab") as sink:
        done = subprocess.run([str(Path(sys.executable).with_name("airflow")), "dags", "test", "screenfuse_hourly",
                               logical_date.isoformat()], stdout=sink, stderr=subprocess.STDOUT, timeout=900)
    runs = DagRun.find(dag_id="screenfuse_hourly", logical_date=logical_date)
    # this call's run, not one an earlier module left for the same date (the CLI may fail before it replaces it)
    assert len(runs) == 1 and runs[0].end_date and runs[0].end_date >= started, \
        f"airflow dags test exited {done.returncode} without a run of {logical_date}: see {log}"
    return runs[0]


def table(engine, name, where=""):
    return pd.read_sql(sa.text(f"SELECT * FROM {name} {where}"), engine)


@pytest.fixture(scope="module")
def scenario(airflow_db, warehouse_url, tmp_path_factory):
    """Generate feeds, add bad files, run the DAG twice for one interval and once for the next."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("e2e") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_RUN_REPORT", "1")  # the report is among the files scanned for personal data
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)  # the task processes inherit it
    landing = home / "landing"
    generate(800, 7, date(2020, 2, 10), landing, home / "truth")
    (landing / "hospital" / "empty.csv").write_bytes(b"")
    (landing / "hospital" / "header_only.csv").write_text("医疗机构,就诊时间,患者姓名,人员类别\n", encoding="utf-8")
    (landing / "police" / "no_name.csv").write_bytes("派出所,登记时间,公民身份号码\n某派出所,2020-02-10 08:00,\n".encode("gbk"))
    assert main(["db", "upgrade"]) == 0
    engine = sa.create_engine(warehouse_url)
    log = tmp_path_factory.mktemp("e2e-logs") / "task-logs.txt"  # outside the data folder
    first = run_dag(FIRST, log)
    snapshot = {name: table(engine, name) for name in ("person", "person_link", "source_record", "quarantine", "push_item",
                                                       "person_status")}
    again = run_dag(FIRST, log)
    # the next hour: one file delivered again under a new name, nothing else new
    src = sorted((landing / "police").glob("*派出所_*.csv"))[0]
    (landing / "police" / "resent.csv").write_bytes(src.read_bytes())
    second = run_dag(SECOND, log)
    yield {"home": home, "engine": engine, "runs": (first, again, second), "snapshot": snapshot, "log": log}
    engine.dispose()
    mp.undo()


def test_runs_succeed(scenario):
    assert [r.state for r in scenario["runs"]] == ["success"] * 3


def test_an_older_interval_fails_at_once_and_changes_nothing(scenario, capfd):
    """The first hour again after the second was published: refused at start_batch, no retries."""
    import time

    def rows():
        return {name: len(table(scenario["engine"], name)) for name in ("person", "person_link", "push_item", "run_log")}

    before, started = rows(), time.monotonic()
    assert run_dag(FIRST).state == "failed" and time.monotonic() - started < 60
    out, err = capfd.readouterr()
    assert "AirflowFailException: batch 20200210T1300Z is older than the latest published batch 20200210T1400Z" in out + err
    assert rows() == before


def test_every_row_is_accepted_or_quarantined(scenario):
    engine, home = scenario["engine"], scenario["home"]
    files = table(engine, "ingest_file", "WHERE batch_id = '20200210T1300Z'")
    assert (files["rows_read"] == files["rows_accepted"] + files["rows_quarantined"]).all()
    truth = pd.read_csv(home / "truth" / "truth.csv")
    assert files["rows_read"].sum() == len(truth) + 1  # + the one row of the file without a name column
    loaded = files[files["status"] == "loaded"]
    records = table(engine, "source_record", "WHERE batch_id = '20200210T1300Z'")
    quarantine = table(engine, "quarantine", "WHERE batch_id = '20200210T1300Z'")
    assert len(records) == loaded["rows_accepted"].sum()
    assert (quarantine["level"] == "row").sum() == loaded["rows_quarantined"].sum()
    reasons = dict(zip(files["file_name"], files["reason"]))
    assert "empty file" in reasons["empty.csv"]
    assert "zero report" in reasons["header_only.csv"]  # the header alone: a unit that found nobody
    assert files.set_index("file_name").loc["header_only.csv", "status"] == "zero_report"
    assert "required column 'name'" in reasons["no_name.csv"]
    assert set(quarantine.loc[quarantine["level"] == "file", "file_name"]) == {"empty.csv", "no_name.csv"}
    # a header the contract partly knows, a required column missing: schema drift, the file held in
    # the landing folder (read again every run), not copied to quarantine like an unreadable one
    assert files.set_index("file_name").loc["no_name.csv", "status"] == "held"
    assert (home / "quarantine" / "20200210T1300Z" / "hospital" / "empty.csv").exists()
    assert not (home / "quarantine" / "20200210T1300Z" / "police" / "no_name.csv").exists()
    # every accepted source record is linked to exactly one existing person
    links = table(engine, "person_link")
    persons = table(engine, "person")
    assert set(table(engine, "source_record")["source_record_id"]) == set(links["source_record_id"])
    assert set(links["person_id"]) == set(persons["person_id"])


def test_warehouse_contents(scenario):
    engine = scenario["engine"]
    persons = table(engine, "person")
    for status in ("confirmed", "suspected", "fever", "close_contact"):
        assert (persons["status"] == status).sum() > 0, status
    assert persons["person_id"].is_unique
    items = table(engine, "push_item")
    assert items["street"].nunique() >= 10
    assert set(items["person_id"]) <= set(persons.loc[persons["measure"] != "", "person_id"])
    outbox = scenario["home"] / "outbox" / "20200210T1300Z"
    for street in items["street"].unique():
        listed = pd.read_csv(outbox / f"{street}.csv", dtype=str, encoding="utf-8-sig")
        assert len(listed) == (items["street"] == street).sum()
        assert (outbox / f"{street}.xlsx").exists()
    views = pd.read_sql(sa.text("SELECT * FROM v_feed_reconciliation"), engine)
    assert views["balanced"].eq(1).all()
    # every item was pushed by the first run, for a reason, with a due time
    first = items[items["batch_id"] == "20200210T1300Z"]
    assert (first["state"] == "pushed").all() and (first["pushed_batch_id"] == "20200210T1300Z").all()
    assert set(first["reason"]) == {"new_measure"}


def test_status_history_has_one_current_row_per_person_with_a_finding(scenario):
    engine = scenario["engine"]
    persons = table(engine, "person").set_index("person_id")
    history = table(engine, "person_status")
    current = history[history["valid_to"].isna()].set_index("person_id")
    assert current.index.is_unique
    assert set(current.index) == set(persons.index[persons["status"] != "none"])
    assert (current["status"] == persons.loc[current.index, "status"]).all()
    assert (current["measure"] == persons.loc[current.index, "measure"].fillna("")).all()
    assert (history["batch_id"] == "20200210T1300Z").all()  # the second hour changed nothing
    assert (history["policy_version"] == persons["policy_version"].iloc[0]).all()
    run = table(engine, "run_log", "WHERE batch_id = '20200210T1300Z'").iloc[0]
    assert run["policy_version"] == "default-2020.05-4" and len(run["policy_sha256"]) == 64


def test_rerun_of_the_same_interval_is_idempotent(scenario):
    engine, before = scenario["engine"], scenario["snapshot"]
    for name, frame in before.items():
        now = table(engine, name)
        if name == "person":  # later batches update batch_id/as_of; the people are the same
            cols = ["person_id", "name", "id_number", "status", "measure", "responsible_list", "n_records"]
            frame, now = frame[cols], now[cols]
        if name == "quarantine":  # the second hour held no_name.csv again (schema drift): its own row
            now = now[now["batch_id"] == "20200210T1300Z"]
        assert differing_columns(frame, now) == [], name


def differing_columns(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Columns whose values differ (names only: a failure must not print personal data)."""
    key = a.columns[0]
    if len(a) != len(b) or set(a[key]) != set(b[key]):
        return [key]
    a = a.sort_values(key).reset_index(drop=True).astype(object).fillna("<null>")
    b = b.sort_values(key).reset_index(drop=True).astype(object).fillna("<null>")
    return [c for c in a.columns if not (a[c] == b[c]).all()]


def test_file_delivered_again_is_skipped_and_recorded(scenario):
    engine = scenario["engine"]
    second = table(engine, "ingest_file", "WHERE batch_id = '20200210T1400Z'")
    assert second["status"].tolist().count("loaded") == 0
    resent = second.set_index("file_name").loc["resent.csv"]
    assert resent["status"] == "duplicate" and "20200210T1300Z" in resent["reason"]
    assert len(table(engine, "push_item", "WHERE batch_id = '20200210T1400Z'")) == 0  # nothing pushed twice
    run = table(engine, "run_log", "WHERE batch_id = '20200210T1400Z'").iloc[0]
    # the only row read: no_name.csv's, held again (schema drift), quarantined for this run too
    assert run["rows_read"] == run["rows_quarantined"] == 1 and run["persons"] == len(table(engine, "person"))
    assert second.set_index("file_name").loc["no_name.csv", "status"] == "held"


def test_no_personal_data_in_xcom(scenario):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    people = pd.read_csv(scenario["home"] / "truth" / "people.csv", dtype=str)
    with create_session() as session:
        values = [str(x.value) for x in session.query(XComModel).filter(XComModel.dag_id == "screenfuse_hourly")]
    assert values
    text = "\n".join(values)
    leaked = sum(1 for v in pd.concat([people["id_number"], people["phone"], people["name"]]) if v and v in text)
    assert leaked == 0  # a count, so a failure does not print the values


RESTRICTED = ("landing", "outbox", "quarantine", "truth")  # inputs, the lists for the offices, quarantined files


def test_no_personal_data_in_logs_reasons_reports_or_files_outside_the_restricted_stores(scenario):
    """Every ID number, phone and name of the generated people is looked for in the task logs of
    the three runs, the quarantine and file reasons (exception messages and GX results end
    there), the run log, the run report (`screenfuse summary`) and every file under the data
    folder but the restricted stores and the warehouse itself: none is found."""
    from screenfuse.config import load_settings
    from screenfuse.report import summary_text

    people = pd.read_csv(scenario["home"] / "truth" / "people.csv", dtype=str)
    numbers = [v for v in pd.concat([people["id_number"], people["phone"]]).dropna() if len(v) >= 7]
    names = [v for v in people["name"].dropna() if len(v) >= 3]  # two characters also spell street and unit names
    engine, home = scenario["engine"], scenario["home"]
    files = table(engine, "ingest_file")
    texts = {
        "task logs": scenario["log"].read_text(encoding="utf-8", errors="replace"),
        "quarantine reasons": "\n".join(table(engine, "quarantine")["reason"].fillna("")),
        "file reasons": "\n".join(files["reason"].fillna("") + " " + files["unmapped_headers"].fillna("")),
        "run log": table(engine, "run_log").to_csv(),
        "summary": summary_text(load_settings())[0],
    }
    for path in sorted(home.rglob("*")):
        inside = path.relative_to(home).parts
        if path.is_file() and inside[0] not in RESTRICTED and not inside[0].startswith("warehouse.db"):
            texts[str(path.relative_to(home))] = path.read_bytes().decode("utf-8", errors="replace")
    assert len(texts["task logs"]) > 10_000 and "publish_warehouse" in texts["task logs"]  # the logs were caught
    assert "batch 20200210T1400Z (data interval ending" in texts["task logs"]  # each task says its batch
    assert "reports/20200210T1400Z/index.html" in texts  # the run reports are among the files scanned
    leaks = {where: sum(1 for v in numbers + names if v in text) for where, text in texts.items()}
    assert {where: n for where, n in leaks.items() if n} == {}  # counts only: a failure prints no value


THIRD = datetime(2020, 2, 10, 15, tzinfo=timezone.utc)
LATER = datetime(2020, 2, 26, 0, tzinfo=timezone.utc)  # 16 days on: every 14-day status has ended


@pytest.fixture(scope="module")
def later_runs(scenario, tmp_path_factory):
    """After the scenario: a run under an edited policy file, then a run 16 days later (twice)."""
    import yaml
    from importlib import resources

    engine = scenario["engine"]
    before = {name: table(engine, name) for name in ("person", "push_item", "person_status")}
    doc = yaml.safe_load(resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8"))
    doc["version"] = "e2e-fever-38.5"
    doc["arrivals"]["classes"]["key_area"]["places"] = []  # 湖北/武汉 arrivals are no longer key-area arrivals
    for rule in doc["rules"]:
        if "temperature_at_least" in rule["when"]:
            rule["when"]["temperature_at_least"] = 38.5
    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("SCREENFUSE_POLICY", str(path))
    third = run_dag(THIRD)
    after_policy = {name: table(engine, name) for name in ("person", "push_item", "person_status", "run_log")}
    later = run_dag(LATER)
    later_tables = {name: table(engine, name) for name in ("push_item", "person_status", "person")}
    again = run_dag(LATER)
    mp.undo()
    yield {"engine": engine, "home": scenario["home"], "runs": (third, later, again), "before": before,
           "after_policy": after_policy, "later": later_tables, "policy_path": path}


def test_later_runs_succeed(later_runs):
    assert [r.state for r in later_runs["runs"]] == ["success"] * 3


def test_an_edited_policy_file_changes_statuses_on_the_next_run(later_runs):
    import hashlib

    before, after = later_runs["before"]["person"], later_runs["after_policy"]["person"]
    fever_before, fever_after = (before["status"] == "fever").sum(), (after["status"] == "fever").sum()
    assert fever_after < fever_before
    assert (after["status"] == "key_area_arrival").sum() < (before["status"] == "key_area_arrival").sum()
    assert set(after["policy_version"]) == {"e2e-fever-38.5"}
    run = later_runs["after_policy"]["run_log"].set_index("batch_id").loc["20200210T1500Z"]
    assert run["policy_version"] == "e2e-fever-38.5"
    assert run["policy_sha256"] == hashlib.sha256(later_runs["policy_path"].read_bytes()).hexdigest()
    history = later_runs["after_policy"]["person_status"]
    changed = history[history["batch_id"] == "20200210T1500Z"]
    assert len(changed) > 0 and set(changed["policy_version"]) == {"e2e-fever-38.5"}
    assert (changed["change"] == "lowered").sum() > 0
    # their previous rows were closed by that run; still one current row per person
    closed = history[history["closed_batch_id"] == "20200210T1500Z"]
    assert set(closed["person_id"]) >= set(changed["person_id"]) & set(before.loc[before["status"] != "none", "person_id"])
    assert history.loc[history["valid_to"].isna(), "person_id"].is_unique
    # fever items of people who are no longer fever cases are closed, with the reason
    items = later_runs["after_policy"]["push_item"]
    no_fever = set(after.loc[after["status"] != "fever", "person_id"])
    old_fever = items[(items["measure"] == "transfer_fever_clinic") & items["person_id"].isin(no_fever)]
    assert len(old_fever) > 0 and (old_fever["state"] == "closed").all()
    assert set(old_fever["close_reason"]) <= {"no_longer_needed", "measure_changed"}


def test_overdue_items_are_escalated_once_and_listed_for_the_district(later_runs):
    items = later_runs["after_policy"]["push_item"]
    escalated = items[items["escalated_batch_id"] == "20200210T1500Z"]
    assert len(escalated) > 0
    assert (escalated["due_at"] <= "2020-02-10T15:00:00Z").all() and (escalated["state"] == "escalated").all()
    outbox = later_runs["home"] / "outbox" / "20200210T1500Z"
    district = pd.read_csv(outbox / "区级清单.csv", dtype=str, encoding="utf-8-sig")
    assert set(escalated["push_item_id"]) <= set(district.loc[district["超时"] == "超时", "推送编号"])
    street = escalated["street"].iloc[0]
    listed = pd.read_csv(outbox / f"{street}.csv", dtype=str, encoding="utf-8-sig")
    assert set(escalated.loc[escalated["street"] == street, "push_item_id"]) <= set(listed["推送编号"])
    # the later run does not escalate them again
    later = later_runs["later"]["push_item"].set_index("push_item_id")
    assert (later.loc[escalated["push_item_id"], "escalated_batch_id"] == "20200210T1500Z").all()


def test_statuses_end_on_their_own_and_their_items_close(later_runs):
    persons = later_runs["later"]["person"]
    assert not persons["status"].isin(["key_area_arrival"]).any()
    # the synthetic feeds have no negative result for a contact: past their 14 days they stay isolated,
    # sampled before release (issue 9, case 6), instead of leaving the lists untested
    contacts = persons[persons["status"] == "close_contact"]
    assert len(contacts) > 0 and (contacts["measure"] == "release_test").all()
    history = later_runs["later"]["person_status"]
    expired = history[(history["batch_id"] == "20200226T0000Z") & (history["change"] == "expired")]
    assert len(expired) > 0 and (expired["cause"] != "").all()
    assert (expired["valid_from"] < "2020-02-26T00:00:00Z").all()  # from the moment each one ended
    items = later_runs["later"]["push_item"]
    closed = items[items["closed_batch_id"] == "20200226T0000Z"]
    assert (closed["close_reason"] == "expired").sum() > 0
    # what is still open is exactly what people need now, on the list responsible for them
    open_now = items[items["state"].isin(["open", "pushed", "acknowledged", "escalated"])]
    needed = persons.set_index("person_id").loc[open_now["person_id"]]
    assert (open_now["measure"].to_numpy() == needed["measure"].to_numpy()).all()
    assert (open_now["street"].to_numpy() == needed["responsible_list"].to_numpy()).all()
    assert open_now["person_id"].is_unique


def test_rerunning_the_later_batch_is_idempotent(later_runs):
    engine = later_runs["engine"]
    for name in ("push_item", "person_status"):
        now = table(engine, name)
        then = later_runs["later"][name]
        if name == "person_status":
            now, then = (f.assign(key=f["person_id"] + "|" + f["batch_id"])[["key", *f.columns]] for f in (now, then))
        assert differing_columns(then, now) == [], name


def test_a_run_on_a_warehouse_not_upgraded_fails_at_once_with_one_line(airflow_db, tmp_path, monkeypatch, capfd):
    """No `screenfuse db upgrade`: start_batch fails without retries, saying what to run, and the
    run creates nothing in the warehouse."""
    import time

    from screenfuse import schema
    from screenfuse.config import load_settings

    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("SCREENFUSE_WAREHOUSE_URL", raising=False)
    started = time.monotonic()
    run = run_dag(datetime(2020, 3, 1, 0, tzinfo=timezone.utc))
    assert run.state == "failed" and time.monotonic() - started < 60  # no retry delays
    out, err = capfd.readouterr()
    expected = f'warehouse at revision empty, code expects {schema.head_revision()} — fix: run "screenfuse db upgrade"'
    assert f"AirflowFailException: {expected}" in out + err
    engine = sa.create_engine(load_settings().warehouse_url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_mapped_tasks_are_named_by_their_feed(scenario):
    """The UI lists read_feed and validate_feed by feed (map_index_template), not as 0..n."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    from screenfuse.pipeline import feed_names

    with create_session() as session:
        names = {(ti.task_id, ti.rendered_map_index) for ti in session.query(TaskInstance).filter(
            TaskInstance.dag_id == "screenfuse_hourly", TaskInstance.map_index >= 0)}
    for task in ("ingest.read_feed", "ingest.validate_feed"):
        assert {name for task_id, name in names if task_id == task} == set(feed_names()), task
