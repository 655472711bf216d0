"""The Airflow UI and the run report in a real browser: Airflow 3.3 (api-server, scheduler with the
LocalExecutor, dag-processor; metadata on the tests' private PostgreSQL) on a free loopback port,
one hourly run of screenfuse_hourly through the executor (real durations and task logs), and
headless Chromium (tests/browser.py) that logs in as a person does, finds the DAGs without import
errors, opens the finished run's graph and a task's log, and opens the run report and finds its
charts drawn. Screenshots go to $SCREENFUSE_TEST_ARTIFACTS/ui (default: test-artifacts/ui); the
README's come from here. Skipped only when SCREENFUSE_TEST_PG=0."""
from __future__ import annotations

import os
import time
import urllib.parse
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from airflow_stack import AirflowStack, Processes, StackFailure, wait_for
from browser import Browser

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "screenfuse_hourly"
H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
ARTIFACTS = Path(os.environ.get("SCREENFUSE_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "ui"


def _finished_run(meta: sa.Engine) -> str | None:
    with meta.connect() as conn:
        runs = conn.execute(sa.text("SELECT run_id, state, data_interval_end FROM dag_run WHERE dag_id = :d"),
                            {"d": DAG_ID}).all()
    if any(state == "failed" for _, state, _ in runs):
        raise StackFailure(f"the run failed: {[(r, s) for r, s, _ in runs]}")
    done = [run_id for run_id, state, end in runs if state == "success" and end == H1]
    return done[0] if done else None


def test_the_ui_shows_a_finished_run_and_the_report_draws_its_charts(pg_server, tmp_path):
    processes = Processes(tmp_path / "logs")
    processes.folder.mkdir()
    browser = None
    try:
        browser = _ui(pg_server, processes, tmp_path)
    except BaseException:
        print(processes.tails(40))  # counts and names only: the services and tasks log no personal data
        raise
    finally:
        if browser is not None:
            browser.close()
        processes.stop_all()


def _ui(pg_server, processes: Processes, tmp_path: Path) -> Browser:
    from screenfuse import schema
    from screenfuse.synthetic import generate
    from screenfuse.warehouse import engine_for

    started = time.monotonic()
    meta_url = pg_server.url(pg_server.create_database("ui_airflow"))
    home = tmp_path / "data"
    generate(300, 11, date(2020, 2, 10), home / "landing", home / "truth")
    schema.upgrade(engine_for(f"sqlite:///{home / 'warehouse.db'}"))
    airflow = AirflowStack(tmp_path / "airflow-home", processes, {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # the backfill's run only
        "SCREENFUSE_HOME": str(home),
        "SCREENFUSE_SETTLE_SECONDS": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "tests")]),
    })
    airflow.cli("db", "migrate", timeout=300)
    airflow.start_services({})
    meta = engine_for(meta_url)
    wait_for(lambda: _count(meta, "SELECT COUNT(*) FROM serialized_dag WHERE dag_id = :d"), 180,
             "the dag-processor to parse screenfuse_hourly", processes, every=2)
    airflow.cli("backfill", "create", "--dag-id", DAG_ID, "--from-date", "2020-02-10T12:00:00+00:00",
                "--to-date", "2020-02-10T12:00:00+00:00", "--max-active-runs", "1")
    airflow.cli("dags", "unpause", DAG_ID, "--yes")
    run_id = wait_for(lambda: _finished_run(meta), 420, "the hourly run to succeed", processes, every=3)
    assert airflow.api("GET", "/api/v2/importErrors")["total_entries"] == 0

    base = f"http://127.0.0.1:{airflow.api_port}"
    browser = Browser(tmp_path / "browser")
    browser.goto(base + "/")
    browser.wait_for("!!document.querySelector('input[name=username]')", 90, "the login form")
    browser.screenshot(ARTIFACTS / "01-login.png")
    browser.type_into("input[name=username]", "admin")
    browser.type_into("input[name=password]", airflow.admin_password)
    browser.evaluate("document.querySelector('button[type=submit]').click()")
    browser.wait_for("!document.querySelector('input[name=password]') && document.body.innerText.length > 50", 90,
                     "the login to be accepted")

    browser.goto(base + "/dags")
    browser.wait_for(f"document.body.innerText.includes('{DAG_ID}')", 90, "the DAG list")
    browser.wait_for("document.body.innerText.includes('screenfuse_retention')", 30, "every DAG in the list")
    listing = browser.text()
    assert "Import Error" not in listing and "import error" not in listing.lower()
    browser.screenshot(ARTIFACTS / "02-dag-list.png")

    run_page = f"{base}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id, safe='')}"
    browser.evaluate("localStorage.setItem('default_dag_view', JSON.stringify('graph'))")
    browser.goto(run_page)
    nodes = browser.wait_for("document.querySelectorAll('.react-flow__node').length", 90, "the run's graph")
    assert nodes >= 4  # start_batch, the ingest, match and publish groups, finish_batch
    browser.wait_for("document.body.innerText.includes('success')", 30, "the run's state")
    browser.screenshot(ARTIFACTS / "03-run-graph.png")

    # a tall window: the log viewer renders only the lines in view, and a machine's warnings can
    # push the task's own lines further down
    browser.call("Emulation.setDeviceMetricsOverride", width=1440, height=2400, deviceScaleFactor=1, mobile=False)
    browser.goto(f"{run_page}/tasks/publish.write_report")
    try:
        browser.wait_for("document.body.innerText.includes('run report of batch 20200210T1300Z')", 120,
                         "the task's log, with the report's path")
    except AssertionError:
        browser.screenshot(ARTIFACTS / "04-task-log-not-found.png")  # what the page showed instead
        raise
    browser.call("Emulation.setDeviceMetricsOverride", width=1440, height=900, deviceScaleFactor=1, mobile=False)
    browser.screenshot(ARTIFACTS / "04-task-log.png")

    report = home / "reports" / "20200210T1300Z" / "index.html"
    browser.goto(report.as_uri())
    drawn = browser.wait_for("[...document.querySelectorAll('.chart svg')]"
                             ".filter(s => s.getBoundingClientRect().width > 200 && s.querySelectorAll('path, rect').length > 3)"
                             ".length", 30, "the report's charts")
    assert drawn >= 6
    browser.call("Emulation.setDeviceMetricsOverride", width=1100, height=2600, deviceScaleFactor=1, mobile=False)
    browser.screenshot(ARTIFACTS / "05-run-report.png")
    assert time.monotonic() - started < 900
    return browser


def _count(meta: sa.Engine, sql: str) -> int:
    with meta.connect() as conn:
        return int(conn.execute(sa.text(sql), {"d": DAG_ID}).scalar() or 0)
