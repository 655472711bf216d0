"""SQLite's C path for a first load's large tables (screenfuse.sqlite_bulk, screenfuse.arrow_rows):
the values it stores from the stage's payloads are those the tuple path stores from the same
payloads read back by pandas, value for value and type for type; a failed publish leaves no row,
no index lost and no scratch attached to a pooled connection; a killed run's scratch (personal
data) is removed by the next publish; the writer beside the publish hands each table over when
it is written, and a writer that dies leaves its tables to the tuple path."""
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from screenfuse import arrow_rows, schema, sqlite_bulk, warehouse
from screenfuse.arrow_rows import Rows
from screenfuse.batch_state import frame_bytes, frame_from

DDL = ("CREATE TABLE t (k TEXT PRIMARY KEY, s TEXT, n INTEGER, x DOUBLE PRECISION, b INTEGER, o TEXT, "
       "u TEXT, i INTEGER)")
TEXT_KINDS = ["string[pyarrow]", "string[python]", object]


def _engine(path, name: str):
    engine = warehouse.engine_for(f"sqlite:///{path / name}")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS t")
        conn.exec_driver_sql(DDL)
        conn.exec_driver_sql("CREATE INDEX ix_t_s ON t (s)")
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS batch_undo (batch_id TEXT)")  # lock_for_publish writes it
    warehouse._COLUMNS_CACHE.clear()
    return engine


def _stored(engine) -> list[tuple]:
    columns = ["k", "s", "n", "x", "b", "o", "u", "i"]
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT " + ", ".join(f"typeof({c}), quote({c})" for c in columns)
                                    + " FROM t ORDER BY k").fetchall()


def _through_scratch(engine, frame: pd.DataFrame, batch: str = "B1", parts: int = 1) -> bool:
    """`frame` staged (as tasks put it: in `parts` frames, a feed's each), then published through
    the scratch, or by the tuple path from the stage when the scratch does not take it."""
    payloads = [frame_bytes(part) for part in _split(frame, parts)]
    with sqlite_bulk.Scratch(engine, batch) as bulk, engine.connect() as conn:
        staged = bulk.stage("t", Rows(payloads))
        with bulk.attached(conn), conn.begin():
            warehouse.lock_for_publish(conn)
            if bulk.copy(conn, "t") is None:
                warehouse.bulk_insert(conn, "t", _read_back(payloads))
    return staged


def _read_back(payloads: list[bytes]) -> pd.DataFrame:
    """What a publish reads of staged parts without the scratch (as `stage_match.batch_records`)."""
    return pd.concat([frame_from(p) for p in payloads], ignore_index=True)


def _by_tuples(engine, frame: pd.DataFrame, parts: int = 1) -> None:
    """What the publish stores without the scratch: the staged frame, read back, row by row."""
    with engine.begin() as conn:
        warehouse.bulk_insert(conn, "t", _read_back([frame_bytes(part) for part in _split(frame, parts)]))


def _split(frame: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    return [frame.iloc[rows].reset_index(drop=True) for rows in np.array_split(np.arange(len(frame)), parts)]


texts = st.one_of(st.none(), st.text(alphabet=st.sampled_from("张王李明 a1-\u00b7\U00020000"), max_size=6))
numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(texts, st.integers(-2**63, 2**63 - 1), numbers, st.booleans(), texts,
                               st.one_of(st.none(), st.integers(-5, 5))), min_size=1, max_size=30),
       kind=st.sampled_from(TEXT_KINDS), empty_column=st.booleans(), parts=st.sampled_from([1, 2, 3]))
def test_the_scratch_stores_what_the_tuple_path_stores(tmp_path, monkeypatch, rows, kind, empty_column, parts):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    monkeypatch.setattr(arrow_rows, "CHUNK_ROWS", 4)  # several chunks, each converted on its own
    frame = pd.DataFrame({"k": [f"K{i:04d}" for i in range(len(rows))][::-1],  # not in key order
                          "s": pd.Series([r[0] for r in rows], dtype=kind),
                          "n": [r[1] for r in rows], "x": [r[2] for r in rows], "b": [r[3] for r in rows],
                          "o": pd.Series([r[4] if r[3] else r[5] for r in rows], dtype=object)
                          if all(r[3] for r in rows) or not any(r[3] for r in rows)  # text or integers
                          else pd.Series([r[4] for r in rows], dtype=object),
                          "u": pd.Series([None] * len(rows), dtype=object) if empty_column
                          else pd.Series(["x"] * len(rows), dtype="string[pyarrow]"),
                          "i": pd.array([r[5] for r in rows], dtype="Int64")})  # stays integers with a missing value
    if len(frame) > 1:  # frames read in parts and concatenated
        pieces = np.array_split(np.arange(len(frame)), min(len(frame), 20))
        frame = pd.concat([frame.iloc[p] for p in pieces], ignore_index=True)
    parts = min(parts, len(frame))  # a column may be all missing in one part and not in another
    by_tuples, by_scratch = _engine(tmp_path, "tuples.db"), _engine(tmp_path, "scratch.db")
    _by_tuples(by_tuples, frame, parts)
    taken = _through_scratch(by_scratch, frame, parts=parts)
    assert taken or parts > 1  # one part is always taken; parts may leave integers to the tuple path
    assert _stored(by_scratch) == _stored(by_tuples)


def test_an_integer_column_with_a_missing_value_is_stored_as_pandas_reads_it(tmp_path, monkeypatch):
    """An object column of integers and None reads back as floats (3 → 3.0, a TEXT column keeps
    '3.0'); a nullable integer column (Int64) stays integers."""
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    frame = pd.DataFrame({"k": ["a", "b"], "o": pd.Series([3, None], dtype=object), "n": pd.Series([3, None], dtype=object),
                          "i": pd.array([4, None], dtype="Int64")})
    by_tuples, by_scratch = _engine(tmp_path, "tuples.db"), _engine(tmp_path, "scratch.db")
    _by_tuples(by_tuples, frame)
    assert _through_scratch(by_scratch, frame)
    assert _stored(by_scratch) == _stored(by_tuples)
    with by_scratch.connect() as conn:
        assert conn.exec_driver_sql("SELECT o, typeof(n), i, typeof(i) FROM t WHERE k = 'a'").one() == \
            ("3.0", "integer", 4, "integer")


def test_a_column_of_another_kind_is_left_to_the_tuple_path(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    import datetime

    frame = pd.DataFrame({"k": ["a", "b"], "s": [datetime.date(2020, 2, 10), None]})  # Arrow's date32
    by_tuples, by_scratch = _engine(tmp_path, "tuples.db"), _engine(tmp_path, "scratch.db")
    _by_tuples(by_tuples, frame)
    assert not _through_scratch(by_scratch, frame)
    assert _stored(by_scratch) == _stored(by_tuples)


def test_parts_are_joined_as_pandas_joins_them_and_what_it_would_not_keep_goes_the_tuple_path(tmp_path, monkeypatch):
    """A table from several staged parts (a feed's each): a text column one part lacks is NULL
    there; integers beside a part without them (pandas makes them floats or objects) and a column
    of integers in one part and text in another are not taken."""
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    one = pd.DataFrame({"k": ["a", "b"], "s": ["x", None], "n": [1, 2]})
    two = pd.DataFrame({"k": ["c"], "s": pd.Series(["y"], dtype="string[pyarrow]"), "n": [3]})
    engine = _engine(tmp_path, "w.db")
    with sqlite_bulk.Scratch(engine, "B1") as bulk, engine.connect() as conn:
        assert bulk.stage("t", Rows([frame_bytes(one), frame_bytes(two.drop(columns="s"))]))
        with bulk.attached(conn), conn.begin():
            assert bulk.copy(conn, "t") == 3
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT k, s, n, typeof(n) FROM t ORDER BY k").all() == [
            ("a", "x", 1, "integer"), ("b", None, 2, "integer"), ("c", None, 3, "integer")]
    for other in (two.drop(columns="n"), pd.DataFrame({"k": ["d"], "n": ["two"]})):
        with sqlite_bulk.Scratch(engine, "B2") as bulk:
            assert not bulk.stage("t", Rows([frame_bytes(one), frame_bytes(other)]))


def test_a_failed_publish_keeps_nothing_and_lets_the_scratch_go(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "2")
    monkeypatch.setattr(warehouse, "INDEX_AFTER_ROWS", 2)
    engine = _engine(tmp_path, "w.db")
    frame = pd.DataFrame({"k": [f"K{i}" for i in range(5)], "s": list("abcab")})
    with pytest.raises(RuntimeError, match="after the copy"):
        with sqlite_bulk.Scratch(engine, "B1") as bulk, engine.connect() as conn:
            assert bulk.stage("t", Rows([frame_bytes(frame)])) and bulk.path.exists()
            with bulk.attached(conn), conn.begin():
                warehouse.lock_for_publish(conn)
                assert bulk.copy(conn, "t") == 5
                assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 5
                raise RuntimeError("the publish failed after the copy")
    assert not bulk.path.exists() and not list(tmp_path.glob("w.db.bulk-*"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 0
        assert sqlite_bulk.SCHEMA not in [r[1] for r in conn.exec_driver_sql("PRAGMA database_list")]  # pooled, detached
        assert conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'ix_t_s'").scalar()


def test_a_small_frame_postgresql_and_a_memory_warehouse_never_use_a_scratch(tmp_path, warehouses, monkeypatch):
    engine = _engine(tmp_path, "w.db")
    with sqlite_bulk.Scratch(engine, "B1") as bulk:
        assert bulk.active and not bulk.stage("t", Rows([frame_bytes(pd.DataFrame({"k": ["a"], "s": ["b"]}))]))  # under 100,000 rows
    for url in ("sqlite://", warehouses.new("postgresql")):
        with sqlite_bulk.Scratch(warehouse.engine_for(url), "B1") as bulk:
            assert not bulk.active
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "0")
    assert not sqlite_bulk.Scratch(engine, "B1").active


def test_a_killed_runs_scratch_is_removed_by_the_next_publish_and_a_running_ones_kept(tmp_path):
    """A scratch lives as long as its publish holds `<scratch>.lock`: a killed publish's lock is
    free (the kernel lets go of it), a running one's is not, whatever the process ids are."""
    engine = _engine(tmp_path, "w[1].db")  # a name glob would read as a pattern
    dead, running = tmp_path / "w[1].db.bulk-dead-B0", tmp_path / "w[1].db.bulk-running-B0"
    for path in (dead, Path(f"{dead}-journal"), Path(f"{dead}.lock"), running, Path(f"{running}.lock"),
                 tmp_path / "w[1].db.bulk-lone-B0.lock"):
        path.write_bytes(b"personal data")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys; h = open(sys.argv[1], 'ab'); fcntl.flock(h, fcntl.LOCK_EX); print('held', flush=True); "
        "sys.stdin.read()"), f"{running}.lock"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with sqlite_bulk.Scratch(engine, "B1") as bulk:
            left = sorted(p.name for p in tmp_path.glob("w*.bulk-*"))
            assert left == sorted([running.name, f"{running.name}.lock", f"{bulk.path.name}.lock"])
        assert sorted(p.name for p in tmp_path.glob("w*.bulk-*")) == sorted([running.name, f"{running.name}.lock"])
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert sqlite_bulk.sweep(engine) == 1 and not list(tmp_path.glob("w*.bulk-*"))  # its holder gone


def test_a_scratch_that_cannot_be_written_leaves_the_table_to_the_tuple_path(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    engine = _engine(tmp_path, "w.db")
    frame = pd.DataFrame({"k": ["a", "b"], "s": ["x", "y"]})
    with sqlite_bulk.Scratch(engine, "B1") as bulk, engine.connect() as conn:
        bulk.path = tmp_path / "no such folder" / "scratch"  # the driver cannot create it
        assert not bulk.stage("t", Rows([frame_bytes(frame)])) and bulk.copy(conn, "t") is None


def test_rows_arrive_whole_as_staged_and_in_key_order_where_the_table_is_its_keys_tree(tmp_path, monkeypatch):
    """A table of the warehouse's definition keeps its key's index whatever the rows' order: they
    go in as staged. A WITHOUT ROWID table is its key's tree: rows out of key order are sorted
    into it."""
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    monkeypatch.setattr(arrow_rows, "CHUNK_ROWS", 7)
    keys = np.random.default_rng(3).permutation(50)
    frame = pd.DataFrame({"k": [f"K{k:03d}" for k in keys], "n": keys})
    engine = _engine(tmp_path, "w.db")
    assert _through_scratch(engine, frame)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT k FROM t ORDER BY rowid").scalars().all() == frame["k"].tolist()
        assert conn.exec_driver_sql("SELECT SUM(n) FROM t").scalar() == sum(range(50))
    tree = warehouse.engine_for(f"sqlite:///{tmp_path / 'tree.db'}")
    with tree.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE k (block INTEGER NOT NULL, r TEXT NOT NULL, PRIMARY KEY (block, r)) WITHOUT ROWID")
        conn.exec_driver_sql("CREATE TABLE batch_undo (batch_id TEXT)")
    warehouse._COLUMNS_CACHE.clear()
    blocks = pd.DataFrame({"block": keys % 7, "r": [f"R{k:03d}" for k in keys]})
    with sqlite_bulk.Scratch(tree, "B1") as bulk, tree.connect() as conn:
        assert bulk.stage("k", Rows([frame_bytes(blocks)]))
        with bulk.attached(conn), conn.begin():
            assert bulk.copy(conn, "k") == 50
    with tree.connect() as conn:
        stored = conn.exec_driver_sql("SELECT block, r FROM k").all()
    assert stored == sorted(zip(blocks["block"].tolist(), blocks["r"].tolist()))  # every row, none twice


def _published_behind(engine, frames: dict[str, pd.DataFrame], before_attach=lambda bulk: None) -> dict:
    """Tables written by the scratch's writer process while the publish copies: each table's
    rows copied (None: the tuple path wrote it)."""
    copied = {}
    with sqlite_bulk.Scratch(engine, "B1") as bulk, engine.connect() as conn:
        bulk.stage_behind({table: Rows([frame_bytes(frame)]) for table, frame in frames.items()})
        before_attach(bulk)
        with bulk.attached(conn), conn.begin():
            warehouse.lock_for_publish(conn)
            for table, frame in frames.items():
                copied[table] = bulk.copy(conn, table)
                if copied[table] is None:
                    warehouse.bulk_insert(conn, table, frame)
    assert not bulk.path.exists()
    return copied


def _two_tables(tmp_path, name: str):
    engine = _engine(tmp_path, name)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE u (k TEXT PRIMARY KEY, s TEXT)")
    warehouse._COLUMNS_CACHE.clear()
    return engine, {"t": pd.DataFrame({"k": [f"K{i:04d}" for i in range(300)][::-1], "s": ["张三"] * 300}),
                    "u": pd.DataFrame({"k": [f"U{i:04d}" for i in range(200)], "s": ["李四"] * 200})}


def test_the_writer_beside_the_publish_hands_over_each_table_written(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    engine, frames = _two_tables(tmp_path, "w.db")
    assert _published_behind(engine, frames) == {"t": 300, "u": 200}
    with engine.connect() as conn:
        assert sorted(conn.exec_driver_sql("SELECT k FROM t").scalars().all()) == sorted(frames["t"]["k"])
        assert conn.exec_driver_sql("SELECT COUNT(*), MIN(s) FROM u").one() == (200, "李四")
        assert not [r for r in conn.exec_driver_sql("PRAGMA database_list") if r[1].startswith(sqlite_bulk.SCHEMA)]


def test_the_publishs_own_statements_beside_the_writer_never_hold_its_files(tmp_path, monkeypatch):
    """A temporary key table made inside the publish's transaction while the writer still writes
    (warehouse.load_keys, as a batch's look-ups make them) must not hold the scratch files: the
    writer's commit would fail, or wait for the publish that waits for it."""
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    engine, frames = _two_tables(tmp_path, "w.db")
    frames["u"] = pd.DataFrame({"k": [f"U{i:07d}" for i in range(200_000)], "s": ["李四" * 8] * 200_000})
    copied = {}
    with sqlite_bulk.Scratch(engine, "B1") as bulk, engine.connect() as conn:
        bulk.stage_behind({table: Rows([frame_bytes(frame)]) for table, frame in frames.items()})
        with bulk.attached(conn), conn.begin():
            warehouse.lock_for_publish(conn)
            copied["t"] = bulk.copy(conn, "t")
            assert "u" in bulk._coming  # still being written
            warehouse.load_keys(conn, "k_probe", pd.DataFrame({"k": ["U0000001"]}))
            copied["u"] = bulk.copy(conn, "u")
    assert copied == {"t": 300, "u": 200_000}


def test_a_writer_that_dies_leaves_its_tables_to_the_tuple_path(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    engine, frames = _two_tables(tmp_path, "w.db")

    def kill(bulk):
        bulk._writer.kill()
        bulk._writer.join()

    assert _published_behind(engine, frames, kill) == {"t": None, "u": None}
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT (SELECT COUNT(*) FROM t), (SELECT COUNT(*) FROM u)").one() == (300, 200)


def test_a_publish_that_fails_before_attaching_stops_its_writer(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    engine, frames = _two_tables(tmp_path, "w.db")
    with pytest.raises(RuntimeError, match="before the transaction"):
        with sqlite_bulk.Scratch(engine, "B1") as bulk:
            bulk.stage_behind({"t": Rows([frame_bytes(frames["t"])])})
            writer = bulk._writer
            raise RuntimeError("failed before the transaction")
    writer.join(10)
    assert not writer.is_alive() and not list(tmp_path.glob("w.db.bulk-*"))


def _first_load(engine, frame: pd.DataFrame, during=lambda conn: None) -> bool:
    """A first load's publish of `frame` into `t`, as `stage_publish` runs it: the scratch attached
    (its writer starts), the stage read through other connections, then the journal left and the
    transaction begun; whether the transaction left the log."""
    with sqlite_bulk.Scratch(engine, "B1") as bulk, engine.connect() as conn:
        bulk.stage_behind({"t": Rows([frame_bytes(frame)])})
        with bulk.attached(conn):
            with engine.connect() as other:  # the stage's reads, while the writer writes
                other.exec_driver_sql("SELECT COUNT(*) FROM t").all()
            with bulk.journal_alone(conn, True) as switched, conn.begin():
                warehouse.lock_for_publish(conn)
                assert bulk.copy(conn, "t") == len(frame)
                during(conn)
    return switched


def _journal(path) -> str:
    probe = sqlite3.connect(path)
    try:
        return probe.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        probe.close()


def test_a_first_load_alone_skips_the_write_ahead_log_and_one_beside_a_reader_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    frame = pd.DataFrame({"k": [f"K{i:05d}" for i in range(3000)], "s": ["张三 " * 20] * 3000})
    alone, beside = _engine(tmp_path, "alone.db"), _engine(tmp_path, "beside.db")
    seen = {}

    def during(conn):  # inside the transaction: the rollback journal, no log growing, the busy timeout back
        seen["mode"] = conn.exec_driver_sql("PRAGMA main.journal_mode").scalar()
        seen["log"] = Path(f"{tmp_path / 'alone.db'}-wal").exists()
        seen["busy"] = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()

    assert _first_load(alone, frame, during)
    assert seen == {"mode": "delete", "log": False, "busy": int(warehouse.busy_seconds() * 1000)}
    assert _journal(tmp_path / "alone.db") == "wal"  # the warehouse is back in WAL mode for its readers
    # a BI tool has the warehouse open: the log is kept, and the reader is never blocked
    reader = sqlite3.connect(tmp_path / "beside.db", isolation_level=None)
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
    assert not _first_load(beside, frame)
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone() == (3000,)
    reader.close()
    for engine in (alone, beside):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*), MIN(k), MAX(k) FROM t").one() == (3000, "K00000", "K02999")


def _killed_in_its_transaction(engine, frame, report) -> None:
    """In a forked child: a first load killed (SIGKILL) once its transaction has written pages
    into the database file itself."""
    import os
    import signal

    engine.dispose(close=False)

    def die(conn):
        conn.exec_driver_sql("PRAGMA cache_size=4")  # pages spill into the file before the commit
        conn.exec_driver_sql("UPDATE t SET s = s || s")
        report.write_text(conn.exec_driver_sql("PRAGMA main.journal_mode").scalar())
        os.kill(os.getpid(), signal.SIGKILL)

    _first_load(engine, frame, die)


def test_a_first_load_killed_without_the_log_leaves_the_warehouse_as_it_was(tmp_path, monkeypatch):
    """Killed mid-transaction, the database file holds pages of a transaction that never
    committed: the next connection rolls them back from the journal and puts the file back in
    WAL mode."""
    from multiprocessing import get_context

    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    engine = _engine(tmp_path, "w.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t (k, s) VALUES ('kept', 'before')")
    engine.dispose()  # this process's connection closed (the row folded in): the child has the warehouse alone
    grown = (tmp_path / "w.db").stat().st_size
    frame = pd.DataFrame({"k": [f"K{i:05d}" for i in range(4000)], "s": ["李四" * 50] * 4000})
    report = tmp_path / "mode"
    child = get_context("fork").Process(target=_killed_in_its_transaction, args=(engine, frame, report))
    child.start()
    child.join(60)
    assert child.exitcode == -9 and report.read_text() == "delete"
    assert (tmp_path / "w.db").stat().st_size > grown and Path(f"{tmp_path / 'w.db'}-journal").exists()
    engine.dispose()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT k, s FROM t").all() == [("kept", "before")]
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert not Path(f"{tmp_path / 'w.db'}-journal").exists()
    assert sqlite_bulk.sweep(engine) == 1 and not list(tmp_path.glob("w.db.bulk-*"))  # the killed one's scratch


def test_a_first_load_that_fails_without_the_log_keeps_nothing_and_is_back_in_wal_mode(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")
    engine = _engine(tmp_path, "w.db")
    frame = pd.DataFrame({"k": [f"K{i:05d}" for i in range(2000)], "s": ["王五"] * 2000})

    def fail(conn):
        assert conn.exec_driver_sql("PRAGMA main.journal_mode").scalar() == "delete"
        raise RuntimeError("the audit failed")

    with pytest.raises(RuntimeError, match="the audit failed"):
        _first_load(engine, frame, fail)
    assert _journal(tmp_path / "w.db") == "wal" and not Path(f"{tmp_path / 'w.db'}-journal").exists()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 0
