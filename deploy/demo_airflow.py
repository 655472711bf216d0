"""`make demo`'s hourly runs through Airflow itself: the scheduler and the LocalExecutor, as in
production, so the UI afterwards shows real run durations and every task's log.

    demo_airflow.py start        API server (127.0.0.1, a free port), scheduler, DAG processor (an
                                 earlier demo's runs are deleted first)
    demo_airflow.py run END      one run of screenfuse_hourly for the hour ending END (ISO 8601):
                                 a backfill of that one interval, its run id names the batch
                                 (backfill__<END>); waits for it, leaves the DAG paused
    demo_airflow.py stop         stops them

Uses the Airflow home and metadata database of the environment (the Makefile's). The scheduler
creates no run of its own (`use_job_schedule` off): only the demo's. On a failure the services are
stopped and the logs' tails printed."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

DAG_ID = "screenfuse_hourly"
HOME = Path(os.environ["AIRFLOW_HOME"])
STATE = HOME / "demo-services.json"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
SERVICES = {"api-server": ["api-server", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"],
            "scheduler": ["scheduler"], "dag-processor": ["dag-processor"]}


def _env(port: int) -> dict:
    return os.environ | {"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                         "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
                         "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                         "PATH": f"{Path(AIRFLOW).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def _metadata() -> sa.Engine:
    return sa.create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])


def _wait(condition, seconds: float, what: str, every: float = 1.0):
    deadline = time.monotonic() + seconds
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(every)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5):
            return True
    except OSError:
        return False


def _parsed() -> bool:
    with _metadata().connect() as conn:
        return bool(conn.execute(sa.text("SELECT COUNT(*) FROM serialized_dag WHERE dag_id = :d"), {"d": DAG_ID}).scalar())


# SQLite's answer when a command's write would wait on the scheduler's: a transaction that read
# before it writes gets it at once, whatever the busy timeout (a `backfill create` failed so on
# 2026-12-08); the command rolled back, so it is run again
LOCKED = "database is locked"
ATTEMPTS = 4


def _airflow(port: int, *args: str) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        done = subprocess.run([AIRFLOW, *args], env=_env(port), capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            return
        if LOCKED not in done.stdout + done.stderr or attempt == ATTEMPTS:
            raise RuntimeError(f"airflow {' '.join(args[:2])} failed: {(done.stdout + done.stderr)[-2000:]}")
        time.sleep(2 * attempt)


def start() -> None:
    stop(quiet=True)  # what a failed demo left running
    # an earlier demo's runs of the same hours: a backfill would skip them, and the demo starts
    # from an empty warehouse (the DAG processor parses the DAG again below)
    subprocess.run([AIRFLOW, "dags", "delete", DAG_ID, "--yes"], env=_env(0), capture_output=True, timeout=300)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pids = {}
    for name, args in SERVICES.items():
        with open(HOME / f"demo-{name}.log", "ab") as log:
            process = subprocess.Popen([AIRFLOW, *[a.format(port=port) for a in args]], env=_env(port), cwd=HOME,
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        pids[name] = process.pid
    STATE.write_text(json.dumps({"port": port, "pids": pids}))
    try:
        _wait(lambda: _healthy(port), 180, "the API server")
        _wait(_parsed, 180, f"the DAG processor to parse {DAG_ID}", every=2)
    except Exception as exc:  # noqa: BLE001
        _fail(f"{type(exc).__name__}: {exc}")
    print(f"Airflow's services run (API server on 127.0.0.1:{port}); logs: {HOME}/demo-*.log")


def run(end_text: str) -> None:
    port = json.loads(STATE.read_text())["port"]
    end = datetime.fromisoformat(end_text)
    logical = (end - timedelta(hours=1)).isoformat()
    try:
        _airflow(port, "backfill", "create", "--dag-id", DAG_ID, "--from-date", logical, "--to-date", logical,
                 "--max-active-runs", "1")
        _airflow(port, "dags", "unpause", DAG_ID, "--yes")  # a paused DAG's backfill does not start
        state = _wait(lambda: _state(end), 900, f"the run of the hour ending {end_text}", every=2)
        # the scheduler closes the backfill a moment after its run: only one may be open per DAG
        _wait(_backfills_closed, 120, "the scheduler to close the backfill")
        _airflow(port, "dags", "pause", DAG_ID, "--yes")  # the demo leaves the DAG paused
    except Exception as exc:  # noqa: BLE001 (said, then the services are stopped)
        _fail(f"{type(exc).__name__}: {exc}")
    if state != "success":
        _fail(f"the run of the hour ending {end_text} ended {state}")
    print(f"run backfill__{end.isoformat()} of {DAG_ID}: success")


def _state(end: datetime) -> str | None:
    """The final state of the run whose interval ends at `end` (None while it runs)."""
    def utc(moment) -> datetime:
        moment = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
        return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment

    with _metadata().connect() as conn:
        rows = conn.execute(sa.text("SELECT state, data_interval_end FROM dag_run WHERE dag_id = :d"), {"d": DAG_ID}).all()
    done = [state for state, interval_end in rows if utc(interval_end) == utc(end) and state in ("success", "failed")]
    return done[0] if done else None


def _backfills_closed() -> bool:
    with _metadata().connect() as conn:
        return not conn.execute(sa.text("SELECT COUNT(*) FROM backfill WHERE dag_id = :d AND completed_at IS NULL"),
                                {"d": DAG_ID}).scalar()


def _fail(message: str = "") -> None:
    for name in SERVICES:
        path = HOME / f"demo-{name}.log"
        if path.exists():
            print(f"----- {path} (last 20 lines) -----")
            print("\n".join(path.read_text(errors="replace").splitlines()[-20:]))
    stop(quiet=True)
    raise SystemExit(message or "the demo's Airflow services failed (logs above)")


def stop(quiet: bool = False) -> None:
    if not STATE.exists():
        return
    pids = json.loads(STATE.read_text())["pids"]
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 30
    for pid in pids.values():
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.3)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    STATE.unlink()
    if not quiet:
        print("Airflow's services stopped")


if __name__ == "__main__":
    {"start": lambda: start(), "run": lambda: run(sys.argv[2]), "stop": lambda: stop()}[sys.argv[1]]()
