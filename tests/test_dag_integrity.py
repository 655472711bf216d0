"""The DAG file imports cleanly, declares its schedule explicitly and wires the stages in order."""
import ast
from datetime import timedelta
from pathlib import Path

import pytest

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "screenfuse_hourly.py"


@pytest.fixture(scope="module")
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.get_dag("screenfuse_hourly")


def test_schedule_and_defaults(dag):
    from airflow.sdk import CronDataIntervalTimetable

    assert isinstance(dag.timetable, CronDataIntervalTimetable)  # hourly interval, not zero-width
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.doc_md and "screenfuse" in dag.tags
    for t in dag.tasks:
        assert t.retries == 2 and t.retry_delay == timedelta(minutes=2)


def test_task_graph(dag):
    upstream = {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {
        "start_batch": [],
        "ingest.read_feed": ["start_batch"],
        "ingest.validate_feed": ["ingest.read_feed"],
        "match.resolve_identities": ["ingest.validate_feed"],
        "match.fuse_persons": ["match.resolve_identities"],
        "publish.plan_push_items": ["match.fuse_persons"],
        "publish.check_zero_reports": ["match.fuse_persons"],
        "publish.rate_communities": ["match.fuse_persons"],
        "publish.publish_warehouse": ["publish.check_zero_reports", "publish.plan_push_items",
                                      "publish.rate_communities"],
        "publish.write_push_lists": ["publish.publish_warehouse"],
        "publish.write_report": ["publish.publish_warehouse"],
        "finish_batch": ["publish.write_push_lists", "publish.write_report"],
    }


def test_assets_say_what_a_run_updates(dag):
    outlets = {t.task_id: sorted(a.name for a in t.outlets) for t in dag.tasks if t.outlets}
    assert outlets == {"publish.publish_warehouse": ["screenfuse_warehouse"],
                       "publish.write_push_lists": ["screenfuse_outbox", "screenfuse_police_tracing_list"],
                       "publish.write_report": ["screenfuse_run_report"]}


def test_dag_file_top_level_imports_are_thin():
    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules = {(n.module if isinstance(n, ast.ImportFrom) else n.names[0].name) for n in top}
    assert modules <= {"__future__", "datetime", "logging", "pendulum", "airflow.sdk"}  # nothing heavy at parse time


def test_core_package_never_imports_airflow():
    package = Path(__file__).resolve().parents[1] / "include" / "screenfuse"
    for source in package.glob("*.py"):
        assert "import airflow" not in source.read_text() and "from airflow" not in source.read_text(), source


RETRAIN_FILE = DAG_FILE.with_name("screenfuse_retrain.py")


def test_the_retraining_dag_is_weekly_thin_and_takes_its_options(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(RETRAIN_FILE))
    assert bag.import_errors == {}
    dag = bag.get_dag("screenfuse_retrain")
    timetable = dag.timetable
    assert type(timetable).__name__ == "CronTriggerTimetable"  # runs at its time, no data interval to wait for
    assert (getattr(timetable, "_expression", None) or getattr(timetable, "expression", None)) == "0 2 * * 1"  # weekly
    assert dag.max_active_runs == 1 and dag.catchup is False and [t.task_id for t in dag.tasks] == ["retrain_model"]
    assert set(dag.params.keys()) == {"promote", "max_records", "min_labels"} and dag.params["promote"] is True
    tree = ast.parse(RETRAIN_FILE.read_text(encoding="utf-8"))
    modules = {(n.module if isinstance(n, ast.ImportFrom) else n.names[0].name)
               for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    assert modules <= {"__future__", "datetime", "logging", "pendulum", "airflow.sdk"}  # nothing heavy at parse time


def test_every_dag_says_what_it_does_and_whose_it_is():
    from airflow.dag_processing.dagbag import DagBag

    from screenfuse.config import PROJECT_ROOT

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert not bag.import_errors
    assert set(bag.dag_ids) == {"screenfuse_hourly", "screenfuse_retrain", "screenfuse_retention"}
    for dag in bag.dags.values():
        assert dag.description and dag.doc_md and dag.owner == "screenfuse", dag.dag_id


def test_airflow_metadata_writers_wait_a_minute_for_each_others_locks(airflow_db):
    """The demo's scheduler, DAG processor, API server and its own commands all write one SQLite
    file: with sqlite3's 5 s default a `backfill create` failed "database is locked" on a busy host."""
    import subprocess

    import sqlalchemy as sa
    from airflow import settings

    with settings.engine.connect() as conn:  # this session's Airflow (tests/conftest.py)
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
    project = DAG_FILE.parents[1]
    printed = subprocess.run(["make", "-pn", "-C", str(project), "venv"], capture_output=True, text=True).stdout
    url = next(line.split(":=", 1)[1].strip() for line in printed.splitlines()
               if line.startswith("PROJECT_AIRFLOW_DB :="))
    engine = sa.create_engine(url)  # the demo's and `make ui`'s
    assert engine.dialect.create_connect_args(engine.url)[1]["timeout"] == 60


def test_the_demos_airflow_commands_run_again_when_sqlite_says_the_database_is_locked(tmp_path, monkeypatch):
    """A command whose write would wait on the scheduler's fails at once with "database is locked"
    whatever the busy timeout (a `backfill create` of `make demo`, 2026-12-08): it rolled back, and
    deploy/demo_airflow.py runs it again; any other failure is said at once."""
    import importlib.util

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    spec = importlib.util.spec_from_file_location("demo_airflow", DAG_FILE.parents[1] / "deploy" / "demo_airflow.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    calls = tmp_path / "calls"
    stand_in = tmp_path / "airflow"  # Airflow's CLI as it answered: locked once, then done
    stand_in.write_text(f'#!/bin/sh\necho x >> {calls}\n[ "$(wc -l < {calls})" -gt 1 ] && exit 0\n'
                        f'echo "sqlite3.OperationalError: $ANSWER" >&2; exit 1\n')
    stand_in.chmod(0o755)
    monkeypatch.setattr(demo, "AIRFLOW", str(stand_in))
    monkeypatch.setenv("ANSWER", "database is locked")
    demo._airflow(0, "backfill", "create")
    assert len(calls.read_text().splitlines()) == 2
    calls.unlink()
    monkeypatch.setattr(demo, "ATTEMPTS", 1)
    with pytest.raises(RuntimeError, match="airflow backfill create failed: .*database is locked"):
        demo._airflow(0, "backfill", "create")
    calls.unlink()
    monkeypatch.setattr(demo, "ATTEMPTS", 4)
    monkeypatch.setenv("ANSWER", "no such table: dag_run")
    with pytest.raises(RuntimeError, match="no such table"):
        demo._airflow(0, "backfill", "create")
    assert len(calls.read_text().splitlines()) == 1
