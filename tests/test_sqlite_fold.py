"""SQLite's log folded in beside the run (screenfuse.sqlite_fold): a commit made `unfolded` leaves
its pages in the write-ahead log (the database file does not grow), the pooled connection gets
SQLite's checkpoint threshold back, `FoldBeside` folds every page in, and a reader sees the rows
before and after the fold. PostgreSQL and in-memory databases have nothing to fold."""
import os

import sqlalchemy as sa

from screenfuse import sqlite_fold, warehouse

ROWS = 3000  # of 2 KB: 8 × ROWS fill some 3,000 pages of 16 KB, over the 1,000 a commit folds in at
PAGES = 1000


def _engine(path):
    engine = warehouse.engine_for(f"sqlite:///{path / 'fold.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    return engine


def _write(conn, start: int, rows: int) -> None:
    conn.execute(sa.text("INSERT INTO t (k, v) VALUES (:k, :v)"),
                 [{"k": k, "v": "x" * 2048} for k in range(start, start + rows)])


def _checkpoint_pages(conn) -> int:
    return conn.connection.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]  # no transaction begun


def test_an_unfolded_commit_leaves_its_pages_in_the_log_until_the_fold(tmp_path):
    engine = _engine(tmp_path)
    database = tmp_path / "fold.db"
    with engine.connect() as conn:
        with engine.raw_connection() as other:  # a fold now, so the file's size is settled
            other.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = os.path.getsize(database)
        with sqlite_fold.unfolded(conn, fold=False), conn.begin():
            _write(conn, 0, 8 * ROWS)  # over 1,000 pages: a folding commit would grow the file
        assert os.path.getsize(database) == before  # the pages are in the log only
        assert _checkpoint_pages(conn) == sqlite_fold.AUTOCHECKPOINT_PAGES  # the threshold given back
    with engine.connect() as reader:  # a reader sees the committed rows from the log
        assert reader.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 8 * ROWS
    with sqlite_fold.FoldBeside(engine) as fold:
        assert fold.active
        fold.start()
    busy, logged, folded = fold.folded
    assert busy == 0 and logged > PAGES and folded == logged  # every page of the log folded in
    assert os.path.getsize(database) > before
    with engine.connect() as reader:
        assert reader.exec_driver_sql("SELECT COUNT(*), MAX(k) FROM t").one() == (8 * ROWS, 8 * ROWS - 1)
    engine.dispose()


def test_a_folding_commit_folds_as_sqlite_does(tmp_path):
    """The control: without `unfolded` the commit folds the log in itself (the file grows)."""
    engine = _engine(tmp_path)
    database = tmp_path / "fold.db"
    with engine.connect() as conn:
        before = os.path.getsize(database)
        with sqlite_fold.unfolded(conn, fold=True), conn.begin():
            _write(conn, 0, 8 * ROWS)
        assert os.path.getsize(database) > before
    engine.dispose()


def test_the_fold_goes_on_beside_writes(tmp_path):
    """A write committed while the fold runs is not lost; the fold took the log's pages, and the
    connection's own threshold (not SQLite's default) is given back."""
    engine = _engine(tmp_path)
    with engine.connect() as conn, sqlite_fold.FoldBeside(engine) as fold:
        conn.connection.driver_connection.execute("PRAGMA wal_autocheckpoint=500")
        with sqlite_fold.unfolded(conn, fold=False), conn.begin():
            _write(conn, 0, 8 * ROWS)
        assert _checkpoint_pages(conn) == 500
        conn.connection.driver_connection.execute(f"PRAGMA wal_autocheckpoint={sqlite_fold.AUTOCHECKPOINT_PAGES}")
        fold.start()
        with conn.begin():
            _write(conn, 8 * ROWS, ROWS)
    assert fold.folded[0] == 0 and fold.folded[2] > PAGES  # the batch's pages, at least, folded by the thread
    with engine.connect() as reader:
        assert reader.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 9 * ROWS
    engine.dispose()


def test_a_fold_that_cannot_start_leaves_the_run_going(tmp_path, caplog):
    """The batch is published when the fold starts: a warehouse it cannot open is a warning, not an error."""
    fold = sqlite_fold.FoldBeside(sa.create_engine(f"sqlite:///{tmp_path}"))  # a folder: no database opens
    assert fold.active
    with fold:
        fold.start()
    assert fold.folded is None
    assert "left to the next commit" in caplog.text


def test_nothing_to_fold_without_a_sqlite_file():
    assert not sqlite_fold.FoldBeside(sa.create_engine("sqlite://")).active
    assert not sqlite_fold.FoldBeside(sa.create_engine("postgresql+psycopg://u@127.0.0.1:1/db")).active
    with sqlite_fold.FoldBeside(sa.create_engine("sqlite://")) as fold:
        fold.start()  # nothing started, nothing to wait for
    assert fold.folded is None


def test_an_hours_run_on_sqlite_folds_its_log_once_published(tmp_path, monkeypatch):
    """The wiring: `run_batch` (a small batch, published in the run's own process) leaves its
    publish's pages in the log and folds them on its thread, every one, after the publish."""
    from datetime import date, datetime, timezone

    from screenfuse import schema
    from screenfuse.config import load_settings
    from screenfuse.pipeline import run_batch
    from screenfuse.synthetic import generate

    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{home / 'warehouse.db'}")
    monkeypatch.setenv("SCREENFUSE_RUN_REPORT", "0")
    monkeypatch.delenv("SCREENFUSE_POLICY", raising=False)
    home.mkdir()
    schema.upgrade(warehouse.engine_for(f"sqlite:///{home / 'warehouse.db'}"))
    generate(60, 3, date(2020, 2, 10), home / "landing", home / "truth")
    published = run_batch(load_settings(), datetime(2020, 2, 10, 13, tzinfo=timezone.utc))
    assert published["persons"] > 0
    busy, pages, folded = published["log_folded"]
    assert busy == 0 and pages > 0 and folded == pages
