"""A large batch's stages run in child processes (screenfuse.stage_process): results and errors
come back as if the stage ran in the run's own process; a killed child is one clear error."""
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from pathlib import Path

from screenfuse import stage_process
from screenfuse.config import ConfigError
from screenfuse.batch_state import AttemptSuperseded
from screenfuse.pipeline import BatchOrderError
from screenfuse.policy_types import PolicyError
from screenfuse.warehouse import WarehouseUnavailable, engine_for


@pytest.fixture
def engine(tmp_path):
    return engine_for(f"sqlite:///{tmp_path / 'w.db'}")


def pid_and(value):
    return os.getpid(), value


def refuse(kind):
    if kind == "policy":
        raise PolicyError("policy.yaml", "statuses.confirmed.days", "must be a whole number")
    raise kind(f"refused: {kind.__name__}")


class Unbuildable(RuntimeError):
    def __init__(self, code: int):
        super().__init__(f"code {code} refused")


def unbuildable():
    raise Unbuildable(7)


def killed_with_workers(marker):
    """Forks workers of its own (as resolve does), then dies as the out-of-memory killer would."""
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
        pids = list(pool.map(_pid, range(2)))
        marker.write_text(" ".join(map(str, pids)))
        os.kill(os.getpid(), signal.SIGKILL)


def _pid(_):
    return os.getpid()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its parent is not running
        return stat.read().split(")")[-1].split()[0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def killed():
    os._exit(9)


def write_rows(engine, rows):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES " + ", ".join(f"({n})" for n in range(rows)))
    return rows


def test_a_stage_runs_in_a_child_when_isolated_and_here_when_not(engine, monkeypatch):
    monkeypatch.delenv(stage_process.VARIABLE, raising=False)
    assert stage_process.threshold_bytes() == 64 * 2**20
    child, value = stage_process.call(True, engine, pid_and, {"rows": 3})
    assert child != os.getpid() and value == {"rows": 3}
    assert stage_process.call(False, engine, pid_and, 1) == (os.getpid(), 1)
    monkeypatch.setenv(stage_process.VARIABLE, "0")
    assert stage_process.threshold_bytes() == 0


def collector_settings(_):
    import gc

    return gc.get_threshold(), gc.get_freeze_count() > 0


def test_forked_children_and_workers_collect_less_often_and_leave_what_they_inherited(engine):
    import gc

    from screenfuse.forked import map_forked

    here = gc.get_threshold()
    assert stage_process.call(True, engine, collector_settings, None) == (stage_process.FORKED_GC_THRESHOLDS, True)
    assert map_forked(collector_settings, [1, 2], 2) == [(stage_process.FORKED_GC_THRESHOLDS, True)] * 2
    assert gc.get_threshold() == here and stage_process.FORKED_GC_THRESHOLDS[0] > here[0]  # this process untouched


@pytest.mark.parametrize("kind", [BatchOrderError, AttemptSuperseded, WarehouseUnavailable])
def test_the_errors_the_cli_answers_in_one_line_come_back_with_their_type(engine, kind):
    with pytest.raises(kind, match=f"refused: {kind.__name__}") as raised:
        stage_process.call(True, engine, refuse, kind)
    assert type(raised.value) is kind
    assert isinstance(raised.value.__cause__, stage_process.StageTraceback)  # where, in the child
    assert "in refuse" in str(raised.value.__cause__)


def test_a_policy_error_keeps_its_type_and_an_unbuildable_one_its_text(engine):
    with pytest.raises(PolicyError, match="policy policy.yaml.*statuses.confirmed.days") as raised:
        stage_process.call(True, engine, refuse, "policy")
    assert raised.value.key == "statuses.confirmed.days"
    with pytest.raises(RuntimeError, match=r"^Unbuildable: code 7 refused$"):
        stage_process.call(True, engine, unbuildable)


def test_a_child_killed_mid_stage_is_one_clear_error(engine):
    with pytest.raises(stage_process.StageKilled, match="the stage killed ended without an answer.*exit code 9.*run it again"):
        stage_process.call(True, engine, killed)


def test_a_child_killed_while_its_workers_live_ends_the_wait_and_the_workers(engine, tmp_path):
    """The workers hold the answer's pipe open: the parent must not wait for them, nor leave them."""
    marker = tmp_path / "workers"
    started = time.monotonic()
    with pytest.raises(stage_process.StageKilled, match="killed_with_workers ended without an answer"):
        stage_process.call(True, engine, killed_with_workers, marker)
    assert time.monotonic() - started < 30
    workers = [int(p) for p in marker.read_text().split()]
    deadline = time.monotonic() + 10
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in workers)


def test_the_child_closes_its_connections_so_sqlite_folds_its_log_in(engine, tmp_path):
    """Left open at the child's exit, the write-ahead log stays for the parent's next connection
    to recover and fold in (seconds after a first load's publish)."""
    assert stage_process.call(True, engine, write_rows, engine, 5000) == 5000
    log = tmp_path / "w.db-wal"
    assert not log.exists() or log.stat().st_size == 0
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 5000


def meet(mine: Path, theirs: Path) -> int:
    """Mark this stage started, then wait for the other: only stages run side by side both end."""
    mine.write_text("started")
    deadline = time.monotonic() + 20
    while not theirs.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the other stage never started: the stages ran in turn")
        time.sleep(0.05)
    return os.getpid()


def wait_for(marker: Path) -> None:
    """Until another stage has written `marker` (20 s at most)."""
    deadline = time.monotonic() + 20
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)


def fail_when(marker: Path):
    wait_for(marker)
    raise ValueError("refused after the other started")


def sleep_noting_pid(marker: Path):
    marker.write_text(str(os.getpid()))
    time.sleep(120)


def test_stages_called_together_run_side_by_side_and_answer_in_order(engine, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    first, second, third = stage_process.call_together(True, engine, [
        (meet, (a, b), {}), (meet, (b, a), {}), (pid_and, ("three",), {})])
    assert len({first, second, os.getpid()}) == 3 and third[1] == "three" and third[0] != os.getpid()
    assert stage_process.call_together(False, engine, [(pid_and, (1,), {}), (pid_and, (2,), {})]) == \
        [(os.getpid(), 1), (os.getpid(), 2)]


def test_one_stage_failing_stops_the_others_and_raises_its_own_error(engine, tmp_path):
    """The stage that failed is named, not the one stopped because of it (first in the list here)."""
    marker = tmp_path / "sleeper"
    started = time.monotonic()
    with pytest.raises(ValueError, match="refused after the other started") as raised:
        stage_process.call_together(True, engine, [(sleep_noting_pid, (marker,), {}), (fail_when, (marker,), {})])
    assert isinstance(raised.value.__cause__, stage_process.StageTraceback)
    assert time.monotonic() - started < 30
    assert gone_within(int(marker.read_text()), 10)


def exit_when(marker: Path):
    wait_for(marker)
    os._exit(9)


def test_one_stage_killed_among_several_is_one_clear_error_and_stops_the_others(engine, tmp_path):
    marker = tmp_path / "sleeper"
    with pytest.raises(stage_process.StageKilled, match="the stage exit_when ended without an answer.*exit code 9"):
        stage_process.call_together(True, engine, [(sleep_noting_pid, (marker,), {}), (exit_when, (marker,), {})])
    assert gone_within(int(marker.read_text()), 10)


def test_a_publishs_import_beside_is_whole_to_the_audit_that_waits_for_it():
    """`validation.ImportBeside` imports Great Expectations in a thread while a large publish
    copies: an `import` of it meanwhile (the audit's) gets the whole library; the block's end
    waits for the thread, and once the library is imported no thread is started again."""
    import subprocess
    import sys

    code = ("import threading; from screenfuse.validation import ImportBeside, audit_persons; import pandas as pd\n"
            "persons = pd.DataFrame({'person_id': ['P1', 'P1'], 'status': ['none', 'none'], "
            "'responsible_list': ['A', 'A'], 'n_records': [1, 1]})\n"
            "with ImportBeside() as gx:\n"
            "    gx.start(); print(gx._thread is not None); print(audit_persons(persons, ['none']))\n"
            "print(gx._thread.is_alive())\n"
            "with ImportBeside() as again:\n"
            "    again.start(); print(again._thread is None)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:4] == ["True", "['person_id not unique']", "False", "True"]


def test_importing_gx_starts_no_python_thread_so_the_run_may_fork_after_it():
    import subprocess
    import sys

    code = ("import sys, threading; from screenfuse.validation import import_gx; before = threading.active_count(); "
            "import_gx(); assert 'great_expectations' in sys.modules; print(threading.active_count() - before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


@pytest.mark.parametrize("text", ["lots", "-1", "nan"])
def test_a_wrong_threshold_names_the_variable(monkeypatch, text):
    monkeypatch.setenv(stage_process.VARIABLE, text)
    with pytest.raises(ConfigError, match=f"SCREENFUSE_STAGE_PROCESS_MB='{text}' is not a number of megabytes"):
        stage_process.threshold_bytes()


INTERRUPTED = """
import signal, sys, time
# Ctrl+C as a terminal gives it: a job a shell started in the background inherits SIGINT ignored,
# and Python then never raises KeyboardInterrupt
signal.signal(signal.SIGINT, signal.default_int_handler)
from pathlib import Path
sys.path[:0] = [sys.argv[2], sys.argv[3]]
from screenfuse import stage_process
from screenfuse.warehouse import engine_for
import test_stage_process as here
stage_process.call(True, engine_for(f"sqlite:///{sys.argv[1]}/w.db"), here.sleeping, Path(sys.argv[1]) / "child")
"""


def sleeping(marker):
    marker.write_text(str(os.getpid()))
    time.sleep(120)


def test_an_interrupted_run_leaves_no_stage_running(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).parent
    run = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(tmp_path), str(here.parent / "include"), str(here)],
                           stderr=subprocess.DEVNULL)
    marker, deadline = tmp_path / "child", time.monotonic() + 30
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(marker.read_text())
    run.send_signal(signal.SIGINT)  # Ctrl+C reaches the run's process group, not the stage's
    assert run.wait(30) != 0
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


def _slow_distinct(task):
    """The prepare workers' task, made long: each notes its pid, then works on."""
    with open(os.environ["SCREENFUSE_TEST_WORKER_PIDS"], "a") as pids:
        pids.write(f"{os.getpid()}\n")
    time.sleep(120)


def _prepare_in_pool():
    import pandas as pd

    from screenfuse import zh_person

    zh_person._normalize_distinct = _slow_distinct  # forked workers see it: the pool's own code runs
    zh_person.prepare(pd.DataFrame({"record_id": list("abcd"), "name": ["甲一", "乙二", "丙三", "丁四"]}),
                      workers=2, parallel_from_rows=1)


def test_preparing_workers_die_with_a_process_killed_from_outside(tmp_path, monkeypatch):
    """A stage's child (or `screenfuse run` itself) killed by SIGKILL or the out-of-memory killer
    cannot stop the workers normalizing for it: they must die with it, not run on unwatched."""
    pids = tmp_path / "pids"
    monkeypatch.setenv("SCREENFUSE_TEST_WORKER_PIDS", str(pids))
    process = get_context("fork").Process(target=_prepare_in_pool)
    process.start()
    deadline = time.monotonic() + 30
    while len(pids.read_text().split() if pids.exists() else []) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) == 2 and all(alive(p) for p in workers)
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in workers)
