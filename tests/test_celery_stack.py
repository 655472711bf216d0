"""The production shape without Docker (CI has none): Airflow 3.3 with the CeleryExecutor as local
processes (tests/airflow_stack.py): Redis from the system packages as the broker, Airflow's
metadata and Celery's results in one PostgreSQL database, the warehouse in another (given to the
tasks only as the Postgres-type Airflow connection `screenfuse_warehouse`), an api-server, a
scheduler, a dag-processor and TWO Celery workers, each with its own scratch folder (TMPDIR and
working directory), task log folder and host name, sharing the data folder as a network volume.

Two hourly intervals of screenfuse_hourly are taken by one backfill (`airflow backfill create`,
one run at a time: batches publish in order). The first hour (batch 20200210T1300Z) takes day 1's
synthetic files, landed before; the second (20200210T1400Z) takes day 2's (the same population a
day later: people seen again), landed once the first run has succeeded. So that the second run
cannot start before them, the backfill is paused through the REST API while the first run runs
and resumed after day 2 has landed (the test checks the second run started after the landing).
The scheduler creates no run of its own (`use_job_schedule` off): unpausing a catchup=False DAG
would otherwise start a run of the latest interval, whose batch would refuse the older 2020 ones.

Asserted: both runs succeed, the only runs; both hours took files; task instances ran on both
workers and each worker's own log folder holds the logs of exactly the task instances the
metadata gives it. The metadata tells the workers apart by task_instance.hostname: on one machine
both would report the machine's name, so each worker is given its own through Airflow's [core]
hostname_callable, as two machines would have (nothing else in task_instance names the worker:
pid and external_executor_id are per task). The warehouse (every table by content) and the push
lists equal those of the same two batches run in a single process (pipeline.run_batch) on a
fresh warehouse with copies of the same files (same names, sizes and modification times). Skipped only when SCREENFUSE_TEST_PG=0; a missing redis-server is
a failure (`make test` installs it)."""
from __future__ import annotations

import os
import shutil
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from airflow_stack import AirflowStack, Processes, StackFailure, start_redis, wait_for
from warehouse_content import checksums, folder_checksums

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "screenfuse_hourly"
H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
H2 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)
PEOPLE, SEED = 300, 11
WORKERS = ("worker-a", "worker-b")
BUDGET_SECONDS = 480  # the whole test: about 2.5 minutes on 2 shared cores; every wait stops within this


def _land(day: int, staging: Path, landings: list[Path]) -> None:
    """Day `day`'s synthetic files (0: 2020-02-10, 1: the next day), generated once and copied with
    their modification times into each landing folder: the files are the same by every mark."""
    from screenfuse.synthetic import generate

    generate(PEOPLE, SEED, date(2020, 2, 10 + day), staging / "landing", staging / "truth", day_index=day)
    for landing in landings:
        shutil.copytree(staging / "landing", landing, dirs_exist_ok=True)


def _runs(meta: sa.Engine) -> list[dict]:
    with meta.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(
            "SELECT run_id, run_type, state, data_interval_end, start_date, end_date, backfill_id FROM dag_run "
            "WHERE dag_id = :d ORDER BY data_interval_end"), {"d": DAG_ID})]


def _run_in(meta: sa.Engine, interval_end: datetime, states: set[str]) -> dict | None:
    for run in _runs(meta):
        if run["data_interval_end"] == interval_end and run["state"] in states:
            return run
    if any(r["state"] == "failed" for r in _runs(meta)):
        raise StackFailure(f"a run failed: {[(r['run_id'], r['state']) for r in _runs(meta)]}")
    return None


@pytest.fixture
def stack(pg_server, tmp_path):
    """The stack's processes, every one stopped at the end."""
    processes = Processes(tmp_path / "logs")
    processes.folder.mkdir()
    try:
        yield processes
    finally:
        processes.stop_all()


def test_two_hours_through_celery_on_two_workers(pg_server, stack, tmp_path, monkeypatch):
    try:
        _two_hours(pg_server, stack, tmp_path, monkeypatch)
    except BaseException:
        print(stack.tails(40))  # counts and names only: the services and tasks log no personal data
        raise


def _two_hours(pg_server, stack: Processes, tmp_path: Path, monkeypatch) -> None:
    from screenfuse import schema
    from screenfuse.config import load_settings
    from screenfuse.pipeline import run_batch
    from screenfuse.warehouse import engine_for

    started = time.monotonic()

    def left(most: float) -> float:
        return max(1.0, min(most, BUDGET_SECONDS - (time.monotonic() - started)))

    meta_db, warehouse_db, reference_db = (pg_server.create_database(p) for p in ("airflow", "stack", "reference"))
    meta_url, warehouse_url, reference_url = (pg_server.url(db) for db in (meta_db, warehouse_db, reference_db))
    for url in (warehouse_url, reference_url):
        schema.upgrade(engine_for(url))
    shared, reference = tmp_path / "shared", tmp_path / "reference"  # the stack's data folder; the single process's
    _land(0, tmp_path / "day1", [shared / "landing", reference / "landing"])
    redis_port = start_redis(stack, tmp_path / "redis")
    airflow = AirflowStack(tmp_path / "airflow-home", stack, {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{meta_url}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # backfill runs only (see the docstring)
        # the warehouse only as the connection an operator types in the UI (type postgres); no
        # SCREENFUSE_WAREHOUSE_URL: without the connection the tasks would use SQLite in SCREENFUSE_HOME
        "AIRFLOW_CONN_SCREENFUSE_WAREHOUSE": warehouse_url.replace("postgresql+psycopg://", "postgres://"),
        "SCREENFUSE_HOME": str(shared),
        "SCREENFUSE_SETTLE_SECONDS": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "tests")]),
    })
    airflow.cli("db", "migrate", timeout=left(300))
    workers = {name: tmp_path / name for name in WORKERS}
    airflow.start_services(workers)
    meta = engine_for(meta_url)
    wait_for(lambda: _scalar(meta, "SELECT COUNT(*) FROM serialized_dag WHERE dag_id = :d", d=DAG_ID), left(180),
             "the dag-processor to parse screenfuse_hourly", stack, every=2)
    # logical dates 12:00 and 13:00 (from and to inclusive): the intervals ending 13:00 and 14:00.
    # One run at a time: a backfill's own limit (10 by default), not the DAG's max_active_runs
    airflow.cli("backfill", "create", "--dag-id", DAG_ID, "--from-date", "2020-02-10T12:00:00+00:00",
                "--to-date", "2020-02-10T13:00:00+00:00", "--max-active-runs", "1")
    backfill_id = _scalar(meta, "SELECT id FROM backfill WHERE dag_id = :d", d=DAG_ID)
    airflow.cli("dags", "unpause", DAG_ID, "--yes")  # a paused DAG's backfill runs do not start
    wait_for(lambda: _run_in(meta, H1, {"running", "success"}), left(120), "the first run to start", stack)
    airflow.api("PUT", f"/api/v2/backfills/{backfill_id}/pause")  # the running run goes on; the next waits
    first = wait_for(lambda: _run_in(meta, H1, {"success"}), left(300), "the first run to succeed", stack, every=3)
    assert _run_in(meta, H2, {"queued"}), "the second run started before its files landed"

    # the single process: the same batches on its own warehouse and copies of the files, hour 1
    # before day 2 lands; run_batch takes the Airflow runs' ids, so run_log compares whole
    for name in [k for k in os.environ if k.startswith("SCREENFUSE_") and k != "SCREENFUSE_SETTLE_SECONDS"]:
        monkeypatch.delenv(name)  # the stack's processes do not see the caller's either
    monkeypatch.setenv("SCREENFUSE_HOME", str(reference))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", reference_url)
    run_batch(load_settings(), H1, run_id=first["run_id"])
    landed = datetime.now(timezone.utc)
    _land(1, tmp_path / "day2", [shared / "landing", reference / "landing"])
    airflow.api("PUT", f"/api/v2/backfills/{backfill_id}/unpause")
    run_batch(load_settings(), H2, run_id=_run_in(meta, H2, {"queued", "running"})["run_id"])
    second = wait_for(lambda: _run_in(meta, H2, {"success"}), left(300), "the second run to succeed", stack, every=3)
    assert second["start_date"] > landed

    runs = _runs(meta)  # no run but the backfill's: the scheduler made none of its own
    assert [(r["run_type"], r["state"], r["backfill_id"]) for r in runs] == [("backfill", "success", backfill_id)] * 2
    ran = _task_instances(meta)
    hosts = {name: sum(1 for host in ran.values() if host == name) for name in WORKERS}
    assert set(ran.values()) == set(WORKERS), hosts  # every task instance on a worker, some on each
    for name in WORKERS:  # the metadata names the worker whose own log folder holds the task's log
        assert {key for key, host in ran.items() if host == name} == _logged(workers[name] / "logs")

    stack_engine = engine_for(warehouse_url)
    assert not (shared / "warehouse.db").exists()  # the tasks wrote through the connection, not the SQLite fallback
    with stack_engine.connect() as conn:  # both hours took files: day 1's, then day 2's
        taken = dict(conn.execute(sa.text("SELECT batch_id, files_seen FROM run_log ORDER BY batch_id")).all())
    assert list(taken) == ["20200210T1300Z", "20200210T1400Z"] and min(taken.values()) > 0, taken
    stack_content, single = checksums(stack_engine), checksums(engine_for(reference_url))
    assert [t for t in single if stack_content.get(t) != single[t]] == []
    assert folder_checksums(shared / "outbox") == folder_checksums(reference / "outbox") != {}  # the push lists
    print(f"celery stack: {time.monotonic() - started:.0f} s; task instances per worker {hosts}; files taken {taken}")


def _scalar(engine: sa.Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _task_instances(meta: sa.Engine) -> dict[tuple, str]:
    """(run id, task id, map index, try) → task_instance.hostname, for every task instance."""
    with meta.connect() as conn:
        rows = conn.execute(sa.text("SELECT run_id, task_id, map_index, try_number, hostname FROM task_instance "
                                    "WHERE dag_id = :d"), {"d": DAG_ID}).all()
    return {(run_id, task_id, map_index, attempt): host for run_id, task_id, map_index, attempt, host in rows}


def _logged(folder: Path) -> set[tuple]:
    """(run id, task id, map index, try) of each task log in a worker's log folder
    (dag_id=…/run_id=…/task_id=…[/map_index=…]/attempt=N.log)."""
    out = set()
    for path in folder.glob(f"dag_id={DAG_ID}/**/attempt=*.log"):
        parts = dict(part.removesuffix(".log").split("=", 1) for part in path.relative_to(folder).parts)
        out.add((parts["run_id"], parts["task_id"], int(parts.get("map_index", -1)), int(parts["attempt"])))
    return out
