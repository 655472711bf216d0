"""Fault trials on a real pipeline: a scenario of two hours, the second one run in forked processes
that are killed, started twice, cut off from the database or blocked by readers; after each fault
the retry must leave exactly what a clean run leaves (every table's content, and the outbox).

Runs fork from this process, which has imported every stage (and Great Expectations) already, so a
trial costs the batch, not the interpreter's start or the imports, and the kills spread over the
stages' own work. The parent never holds a pooled database connection across a fork:
it reads the warehouse through NullPool engines only.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import time
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import great_expectations  # noqa: F401 - imported once here, not in every forked run
import pytest
import sqlalchemy as sa

import warehouse_content as content
from screenfuse import schema, stage_ingest, stage_match, stage_publish, warehouse  # noqa: F401
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.synthetic import generate

H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
H2 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)
PEOPLE, SEED = 160, 11
EXIT_SUPERSEDED, EXIT_UNAVAILABLE, EXIT_FAILED = 3, 4, 5
TRIALS = int(os.environ.get("SCREENFUSE_FAULT_TRIALS", "14"))  # kill trials per database (make test-faults-long: 200)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scenario(request, tmp_path_factory):
    """The scenario on each database, built once per test module that imports this fixture (no
    conftest here: a second conftest module would shadow tests/conftest.py's helpers)."""
    root = tmp_path_factory.mktemp(f"faults-{request.param}")
    if request.param == "sqlite":
        yield build(root, f"sqlite:///{root / 'data' / 'warehouse.db'}", "sqlite")
        return
    server = request.getfixturevalue("pg_server")
    name = server.create_database("faults")
    yield build(root, server.url(name), "postgresql", server)
    server.drop_database(name)
    server.drop_database(f"{name}_snap")


def _child_main(home: Path, url: str, interval_end: datetime, progress_file: Path | None, errors: Path,
                env: dict | None = None) -> int:
    """A run of one batch in a forked child: its exit code says how it ended."""
    from screenfuse.batch_state import AttemptSuperseded
    from screenfuse.warehouse import WarehouseUnavailable

    os.setpgid(0, 0)  # its own process group: a kill takes its workers too (not a stage's child)
    warehouse.engine_for.cache_clear()  # never reuse the parent's engines
    os.environ.update({"SCREENFUSE_HOME": str(home), "SCREENFUSE_WAREHOUSE_URL": url, **(env or {})})

    def progress(stage: str) -> None:
        if progress_file is not None:
            with open(progress_file, "a") as handle:
                handle.write(f"{time.monotonic():.3f} {stage}\n")

    try:
        run_batch(load_settings(), interval_end, progress=progress)
        return 0
    except AttemptSuperseded as exc:
        errors.write_text(str(exc))
        return EXIT_SUPERSEDED
    except WarehouseUnavailable as exc:
        errors.write_text(str(exc))
        return EXIT_UNAVAILABLE
    except BaseException:  # noqa: BLE001 - any other end is a crash the parent reports
        errors.write_text(traceback.format_exc())
        return EXIT_FAILED


@dataclass
class Run:
    pid: int
    progress: Path
    errors: Path
    code: int | None = None

    def stages(self) -> list[tuple[float, str]]:
        if not self.progress.exists():
            return []
        return [(float(t), s) for t, s in (line.split(" ", 1) for line in self.progress.read_text().split("\n") if line)]

    def last_stage(self) -> str:
        stages = self.stages()
        return stages[-1][1] if stages else "before start_batch"

    def wait(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
                return self.code
            time.sleep(0.02)
        self.kill()
        raise TimeoutError(f"a run did not end within {timeout} s")

    def done(self) -> bool:
        if self.code is not None:
            return True
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid:
            self.code = os.waitstatus_to_exitcode(status)
        return self.code is not None

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.code is None:
            _, status = os.waitpid(self.pid, 0)
            self.code = os.waitstatus_to_exitcode(status)

    def error(self) -> str:
        return self.errors.read_text() if self.errors.exists() else ""


@dataclass
class Scenario:
    """Hour 1 published (the snapshot every trial starts from), hour 2's files landed, and what a
    clean run of hour 2 leaves."""
    root: Path
    url: str
    kind: str  # sqlite | postgresql
    server: object = None  # the PostgreSQL server (tests/pg_server.py), for snapshots
    clean_seconds: float = 0.0
    clean_stages: list = field(default_factory=list)
    expected: dict = field(default_factory=dict)
    expected_outbox: dict = field(default_factory=dict)
    _runs: int = 0

    @property
    def home(self) -> Path:
        return self.root / "data"

    def start(self, interval_end: datetime = H2, env: dict | None = None) -> Run:
        """Fork a run of the batch ending at `interval_end` (with `env` set in it)."""
        self._runs += 1
        run = Run(0, self.root / f"progress-{self._runs}", self.root / f"errors-{self._runs}")
        pid = os.fork()
        if pid == 0:  # the child
            code = EXIT_FAILED
            try:
                code = _child_main(self.home, self.url, interval_end, run.progress, run.errors, env)
            finally:
                os._exit(code)
        run.pid = pid
        return run

    def run(self, interval_end: datetime = H2) -> Run:
        run = self.start(interval_end)
        run.wait()
        assert run.code == 0, f"run of {interval_end:%H:%M} failed ({run.code}): {run.error()}"
        return run

    # ---------------------------------------------------------------- state

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, poolclass=sa.pool.NullPool)

    def tables(self) -> dict:
        db = self.engine()
        try:
            return content.table_rows(db)
        finally:
            db.dispose()

    def outbox(self) -> dict:
        return content.folder_checksums(self.home / "outbox")

    def compare(self) -> tuple[int, int, bool]:
        """(rows lost, rows duplicated or extra, outbox equal) against the clean run."""
        got = self.tables()
        lost, extra = content.row_differences(self.expected, got)
        return lost, extra, self.outbox() == self.expected_outbox

    def save(self) -> None:
        """Snapshot the warehouse and the data folder (hour 1 published)."""
        shutil.copytree(self.home, self.root / "snapshot-home", ignore=shutil.ignore_patterns("landing", "warehouse.db*"))
        if self.kind == "sqlite":
            db = self.engine()
            with db.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.dispose()
            shutil.copy(self._sqlite_path(), self.root / "snapshot.db")
        else:
            name = self.url.rsplit("/", 1)[1]
            self.server.admin(f"CREATE DATABASE {name}_snap TEMPLATE {name}")

    def restore(self) -> None:
        """Back to the snapshot: the warehouse and the outbox as hour 1 left them."""
        for folder in ("outbox", "quarantine", "work"):
            shutil.rmtree(self.home / folder, ignore_errors=True)
            if (self.root / "snapshot-home" / folder).exists():
                shutil.copytree(self.root / "snapshot-home" / folder, self.home / folder)
        if self.kind == "sqlite":
            for leftover in self._sqlite_path().parent.glob("warehouse.db-*"):
                leftover.unlink()
            shutil.copy(self.root / "snapshot.db", self._sqlite_path())
        else:
            name = self.url.rsplit("/", 1)[1]
            self.server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                              f"CREATE DATABASE {name} TEMPLATE {name}_snap")

    def _sqlite_path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))


def build(root: Path, url: str, kind: str, server=None) -> Scenario:
    """Hour 1 published and saved; hour 2's files landed; the clean run of hour 2 measured and
    its result kept; the warehouse restored to hour 1."""
    scenario = Scenario(root, url, kind, server)
    scenario.home.mkdir(parents=True)
    db = warehouse.engine_for(url)
    schema.upgrade(db)
    db.dispose()
    warehouse.engine_for.cache_clear()
    landing = scenario.home / "landing"
    generate(PEOPLE, SEED, date(2020, 2, 10), landing, scenario.root / "truth", zero_reports=True)
    scenario.run(H1)
    scenario.save()
    generate(PEOPLE, SEED, date(2020, 2, 11), landing, scenario.root / "truth", day_index=1, zero_reports=True)
    scenario.run(H2)
    scenario.expected, scenario.expected_outbox = scenario.tables(), scenario.outbox()
    scenario.restore()
    again = scenario.run(H2)  # warm, as the trials will be: its length is the window kills fall in
    assert scenario.compare() == (0, 0, True), "two clean runs of the same hour differ"
    scenario.clean_seconds, scenario.clean_stages = working_seconds(again), again.stages()
    scenario.restore()
    return scenario


def working_seconds(run: Run) -> float:
    """How long a finished run worked on its batch: the batch's work ends when its stage is
    emptied, which the run does beside its report (pipeline._report_while_finishing): the window
    ends with both, at "done"."""
    stages = run.stages()
    end = next((t for t, stage in stages if stage == "done"), stages[-1][0])
    return end - stages[0][0]


@dataclass
class KillReport:
    trials: int = 0
    killed_at: dict = field(default_factory=dict)  # stage → kills
    finished_before_kill: int = 0
    lost: int = 0
    extra: int = 0
    outbox_differs: int = 0
    failures: list = field(default_factory=list)
    window: float = 0.0  # the kills fell in the first this many seconds of a run


def kill_trials(scenario: Scenario, trials: int, seed: int, env: dict | None = None) -> KillReport:
    """Each trial: from hour 1's snapshot, run hour 2 (with `env` set in it), SIGKILL its process
    group at a random moment of a clean run's length (with that `env`), check that nothing it
    started runs on, run it again to the end, compare with the clean run."""
    rng, report = random.Random(seed), KillReport()
    adopt_orphans()
    window = scenario.clean_seconds
    if env:  # stages in child processes take longer: the kills must reach the last ones too
        scenario.restore()
        clean = scenario.start(env=env)
        assert clean.wait() == 0, f"a clean run with {env} failed: {clean.error()[-600:]}"
        assert scenario.compare() == (0, 0, True), f"a clean run with {env} differs from one without"
        window = working_seconds(clean)
    report.window = window
    for trial in range(trials):
        scenario.restore()
        before = set(_children())  # e.g. a database server handed to this process earlier
        run = scenario.start(env=env)
        time.sleep(rng.uniform(0.0, window))
        if run.done():
            report.finished_before_kill += 1
            stage = "finished"
        else:
            stage = run.last_stage()
            run.kill()
        report.killed_at[stage] = report.killed_at.get(stage, 0) + 1
        left = running_orphans(before)
        if left:  # a stage's child or a worker outside the killed group, going on unwatched
            report.failures.append(f"trial {trial} (killed in {stage}): {len(left)} of its processes still ran")
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            running_orphans(before)
        retry = scenario.start(env=env)
        if retry.wait() != 0:
            report.failures.append(f"trial {trial} (killed in {stage}): retry ended {retry.code}: {retry.error()[-600:]}")
            continue
        lost, extra, same_outbox = scenario.compare()
        report.trials += 1
        report.lost += lost
        report.extra += extra
        report.outbox_differs += not same_outbox
        if lost or extra or not same_outbox:
            report.failures.append(f"trial {trial} (killed in {stage}): {lost} rows lost, {extra} extra, "
                                   f"outbox {'same' if same_outbox else 'different'}")
    return report


def adopt_orphans() -> None:
    """Make this process the one a killed run's orphans are handed to (PR_SET_CHILD_SUBREAPER),
    so that `running_orphans` can find what a run started outside its own process group."""
    import ctypes

    assert ctypes.CDLL("libc.so.6", use_errno=True).prctl(36, 1) == 0


def running_orphans(known: set[int], grace: float = 5.0) -> list[int]:
    """This process's children, other than `known` ones, still running `grace` seconds after a
    kill (orphans that died are reaped): what a killed run left going."""
    deadline = time.monotonic() + grace
    while True:
        running = []
        for pid in set(_children()) - known:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    running.append(pid)
            except ChildProcessError:
                pass
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def _children() -> list[int]:
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(entry.name))
    return found
