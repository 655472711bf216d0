"""Two copies of one batch at once, readers holding transactions during a publish, a writer
holding SQLite's lock past the busy timeout, the PostgreSQL server restarted mid-run: every run
ends cleanly (published, or stopped with a one-line reason) and the warehouse and outbox after
the retry equal a clean run's."""
from __future__ import annotations

import os
import sqlite3
import time

import pytest

import harness
from harness import scenario  # noqa: F401 - the fixture
from pg_server import PostgresServer


@pytest.mark.parametrize("offset", [0.0, 0.3, 0.6])
def test_two_copies_of_a_batch_one_publishes_the_other_stops_cleanly(scenario, offset):
    scenario.restore()
    first = scenario.start()
    time.sleep(offset * scenario.clean_seconds)
    second = scenario.start()
    codes = sorted([first.wait(), second.wait()])
    print(f"\ntwo copies, {scenario.kind}, second {offset:.0%} into the first: exit codes {codes}")
    assert codes == [0, harness.EXIT_SUPERSEDED], (first.error(), second.error())
    for run in (first, second):  # a copy that stopped (the one whose start came first) says why
        if run.code == harness.EXIT_SUPERSEDED:
            assert "started again by another run" in run.error() and "Traceback" not in run.error()
    assert scenario.compare() == (0, 0, True)


def test_a_reader_holding_a_transaction_does_not_block_the_publish(scenario):
    scenario.restore()
    if scenario.kind == "sqlite":  # a BI tool's read transaction on the file (WAL: it keeps its snapshot)
        reader = sqlite3.connect(scenario.url.removeprefix("sqlite:///"), isolation_level=None)
        reader.execute("BEGIN")
        count = lambda: reader.execute("SELECT COUNT(*) FROM person").fetchone()[0]  # noqa: E731
    else:
        engine = scenario.engine()
        holder = engine.connect()
        holder.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        count = lambda: holder.exec_driver_sql("SELECT COUNT(*) FROM person").scalar()  # noqa: E731
    persons = count()  # a BI query, its transaction left open
    run = scenario.start()
    assert run.wait() == 0, run.error()
    assert count() == persons  # it still reads the state it started with
    if scenario.kind == "sqlite":
        reader.execute("COMMIT")
        reader.close()
    else:
        holder.close()
        engine.dispose()
    assert scenario.compare() == (0, 0, True)


def test_a_sqlite_writer_holding_the_lock_past_the_timeout_fails_the_run_clearly_and_the_retry_converges(scenario):
    if scenario.kind != "sqlite":
        pytest.skip("PostgreSQL writers wait on row locks, not a database lock")
    scenario.restore()
    os.environ["SCREENFUSE_SQLITE_BUSY_SECONDS"] = "1"
    try:
        holder = sqlite3.connect(scenario.url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer, holding the write lock
        run = scenario.start()
        code = run.wait()
        holder.execute("ROLLBACK")
        holder.close()
    finally:
        del os.environ["SCREENFUSE_SQLITE_BUSY_SECONDS"]
    assert code == harness.EXIT_UNAVAILABLE, run.error()
    assert "stayed locked by another writer for over 1 s" in run.error() and "\n" not in run.error()
    assert scenario.start().wait() == 0
    assert scenario.compare() == (0, 0, True)


@pytest.fixture(scope="module")
def own_server():
    """A server of this test's own: restarting the session's would cut other tests' connections."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize("stage", ["fuse_persons", "publish_warehouse"])
def test_postgresql_down_mid_run_stops_the_run_clearly_and_the_retry_converges(own_server, tmp_path, stage):
    """The server crashes (immediate stop) once the run reaches `stage`, and comes back after the
    run has ended: the run ends with the one-line connection message (unless it had finished),
    the retry converges. A server that comes back between two transactions of a step costs
    nothing: the pool checks a connection before use (pool_pre_ping) and reconnects."""
    name = own_server.create_database("restart")
    scenario = harness.build(tmp_path, own_server.url(name), "postgresql", own_server)
    run = scenario.start()
    deadline = time.monotonic() + 120
    while stage not in [s for _, s in run.stages()] and not run.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    own_server.halt()
    try:
        code = run.wait()
    finally:
        own_server.resume()
    print(f"\nserver down at {stage} (run at {run.last_stage()}): exit code {code}: {run.error()}")
    if run.last_stage() == "done":  # it finished before the server went: nothing to recover
        assert code == 0, run.error()
    else:
        assert code == harness.EXIT_UNAVAILABLE, run.error()
        assert "connection was lost or refused" in run.error() and "Traceback" not in run.error()
    retry = scenario.start()
    assert retry.wait() == 0, retry.error()
    assert scenario.compare() == (0, 0, True)


def test_a_server_back_between_transactions_is_reconnected_without_a_failure(own_server, tmp_path):
    """pool_pre_ping: a pooled connection cut by a restart is replaced at its next use."""
    from screenfuse import warehouse

    name = own_server.create_database("preping")
    engine = warehouse.engine_for(own_server.url(name))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    own_server.halt()
    own_server.resume()
    with engine.connect() as conn:  # the pooled connection is dead; the pool reconnects
        assert conn.exec_driver_sql("SELECT 2").scalar() == 2
    engine.dispose()
