"""A large batch's stages run in child processes (screenfuse.stage_process): results and errors
come back as if the stage ran in the run's own process; a killed child is one clear error."""
import os

import pytest

from screenfuse import stage_process
from screenfuse.config import ConfigError
from screenfuse.pipeline import BatchOrderError
from screenfuse.policy_types import PolicyError
from screenfuse.warehouse import engine_for


@pytest.fixture
def engine(tmp_path):
    return engine_for(f"sqlite:///{tmp_path / 'w.db'}")


def pid_and(value):
    return os.getpid(), value


def refuse(kind):
    if kind == "order":
        raise BatchOrderError("batch 20200210T1300Z is older than the latest published batch 20200210T1400Z")
    raise PolicyError("policy.yaml", "statuses.confirmed.days", "must be a whole number")


def killed():
    os._exit(9)


def write_rows(engine, rows):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES " + ", ".join(f"({n})" for n in range(rows)))
    return rows


def test_a_large_batch_runs_its_stage_in_a_child_and_a_small_one_here(engine, monkeypatch):
    monkeypatch.delenv(stage_process.VARIABLE, raising=False)
    assert stage_process.isolate(64 * 2**20) and not stage_process.isolate(64 * 2**20 - 1)
    child, value = stage_process.call(True, engine, pid_and, {"rows": 3})
    assert child != os.getpid() and value == {"rows": 3}
    assert stage_process.call(False, engine, pid_and, 1) == (os.getpid(), 1)
    monkeypatch.setenv(stage_process.VARIABLE, "0")
    assert stage_process.isolate(0)


def test_a_childs_error_comes_back_with_its_type_or_its_text(engine):
    with pytest.raises(BatchOrderError, match="older than the latest published batch") as raised:
        stage_process.call(True, engine, refuse, "order")
    assert isinstance(raised.value.__cause__, stage_process.StageTraceback)  # where, in the child
    assert "in refuse" in str(raised.value.__cause__)
    # PolicyError's arguments are not its message: it cannot be rebuilt across processes, its text can
    with pytest.raises(RuntimeError, match=r"^PolicyError: policy policy.yaml.*statuses.confirmed.days"):
        stage_process.call(True, engine, refuse, "policy")


def test_a_child_killed_mid_stage_is_one_clear_error(engine):
    with pytest.raises(RuntimeError, match="the stage killed ended without an answer.*exit code 9.*run it again"):
        stage_process.call(True, engine, killed)


def test_the_child_closes_its_connections_so_sqlite_folds_its_log_in(engine, tmp_path):
    """Left open at the child's exit, the write-ahead log stays for the parent's next connection
    to recover and fold in (seconds after a first load's publish)."""
    assert stage_process.call(True, engine, write_rows, engine, 5000) == 5000
    log = tmp_path / "w.db-wal"
    assert not log.exists() or log.stat().st_size == 0
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 5000


def test_a_wrong_threshold_names_the_variable(monkeypatch):
    monkeypatch.setenv(stage_process.VARIABLE, "lots")
    with pytest.raises(ConfigError, match="SCREENFUSE_STAGE_PROCESS_MB='lots' is not a number of megabytes"):
        stage_process.isolate(1)
