"""Large inserts into a SQLite warehouse through a C path, inside the publish's one transaction.

Python's sqlite3 binds a row value by value from Python objects: a first load's million-row tables
cost minutes in making tuples and binding them. Here a large frame is written before the publish's
transaction, as Arrow, by ADBC's SQLite driver (which binds the Arrow arrays in C) into a scratch
database file beside the warehouse. The publish's connection attaches that file before its
transaction starts and copies each table in with one `INSERT … SELECT` (C again) inside it, so the
batch stays all or nothing. The file is attached before the transaction begins, and every table is
written to it before then: a transaction keeps one snapshot of an attached file.
A first load that has the warehouse to itself writes it without the write-ahead log
(`Scratch.journal_alone`): the log would take every page a second time.

The stored values are those the tuple path stores (tested): text, integers, reals, booleans as
0/1, missing values as NULL. A frame with a column of another kind is left to the tuple path.
A scratch that cannot be written (a full disk) leaves its table to the tuple path too. The
scratch file holds personal data: it is removed when the publish ends, and while it lives its
publish holds a lock on `<scratch>.lock`; a scratch whose lock nobody holds (its process was
killed) is removed by the next publish, and by `screenfuse run` as soon as a stage's child dies.
PostgreSQL has COPY: this is SQLite's only.
"""
from __future__ import annotations

import fcntl
import glob
import logging
import os
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from screenfuse import warehouse
from screenfuse.config import number_from_env

log = logging.getLogger(__name__)

VARIABLE = "SCREENFUSE_BULK_SCRATCH_ROWS"
MIN_ROWS = 100_000  # below this, the tuple path costs less than a scratch file's round trip
CHUNK_ROWS = 100_000  # rows taken in key order and converted to Arrow at a time
SCHEMA = "screenfuse_bulk"
JOIN_CHUNKS, JOIN_BYTES = 16, 512 * 1024 * 1024  # columns of more parts are joined first, up to this much in all
_KINDS = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_floating,
          pa.types.is_boolean)


def min_rows() -> int:
    """Frames of at least this many rows go through the scratch (SCREENFUSE_BULK_SCRATCH_ROWS,
    default 100,000; 0: never)."""
    return int(min(number_from_env(VARIABLE, MIN_ROWS, "rows"), 2**62))


# Python values of an object column, by pandas' inference, and the one Arrow type every chunk of
# it gets (a type inferred per chunk could differ between chunks: 7 in one, '007' in another)
_OBJECT_TYPES = {"string": pa.large_string(), "empty": pa.large_string(), "integer": pa.int64(),
                 "floating": pa.float64(), "boolean": pa.bool_()}


def column_type(column: pd.Series) -> pa.DataType | None | bool:
    """The Arrow type to convert every chunk of `column` to (None: its dtype fixes it), or False
    when its values are of mixed Python kinds (the tuple path takes the frame)."""
    if column.dtype != object:
        return None
    return _OBJECT_TYPES.get(pd.api.types.infer_dtype(column, skipna=True), False)


def arrow_column(column: pd.Series, kind: pa.DataType | None = None) -> pa.Array | pa.ChunkedArray | None:
    """A column as an Arrow array whose values SQLite stores as the tuple path's would, or None
    (mixed Python types, dates, nested values: the tuple path takes the frame)."""
    try:
        array = pa.array(column, from_pandas=True, type=kind)  # NaN and NA → null, as the tuple path's None
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    if pa.types.is_dictionary(array.type):  # chunks of an Arrow column stay chunks: no copy
        array = array.cast(array.type.value_type)
    if pa.types.is_null(array.type):  # nothing but missing values
        array = pa.nulls(len(array), pa.string())
    return array if any(kind(array.type) for kind in _KINDS) else None


def _many_parts(array: pa.Array | pa.ChunkedArray | None) -> bool:
    """Whether a column read back in many parts is worth joining into one array first: Arrow's
    `take` on a column of many chunks costs about one chunk's work per chunk at every call (the
    key block ids of a first load, in 58 parts: 1.8 s against 0.1 s joined)."""
    return isinstance(array, pa.ChunkedArray) and array.num_chunks > JOIN_CHUNKS


def _in_arrow(column: pd.Series) -> bool:
    dtype = column.dtype
    return isinstance(dtype, pd.ArrowDtype) or (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow")


class Scratch:
    """The scratch file of one publish. Inert on PostgreSQL and for an in-memory warehouse."""

    def __init__(self, engine, batch_id: str):
        self.engine, self.tables, self.path, self.threshold, self._lock = engine, {}, None, 0, None
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        if database and database != ":memory:" and not database.startswith("file:"):
            self.threshold = min_rows()
        if self.threshold:
            safe = "".join(ch if ch.isalnum() else "_" for ch in batch_id)[:40]
            self.path = Path(f"{database}.bulk-{uuid.uuid4().hex[:16]}-{safe}")

    def __enter__(self) -> Scratch:
        if self.path is not None:
            remove_stale(self.path.parent, self.path.name.split(".bulk-")[0])
            self._lock = _locked(Path(f"{self.path}.lock"))  # held while the scratch lives
        return self

    def __exit__(self, *_) -> None:
        if self.path is not None:
            _remove(self.path)
            Path(f"{self.path}.lock").unlink(missing_ok=True)
            self._lock.close()

    def stage(self, table: str, frame: pd.DataFrame) -> bool:
        """Write `frame` for `table` into the scratch, in the order of the table's key; whether it
        was (too small, an inert scratch, or a column of another kind: not)."""
        if self.path is None or frame is None or len(frame) < self.threshold or table in self.tables:
            return False
        with self.engine.connect() as conn:
            columns = [c for c in warehouse.table_columns(conn, table) if c in frame.columns]
            key = warehouse.primary_key(conn, table)
        # columns in Arrow already are taken by Arrow (no copy of the whole column, but for those in
        # many parts, joined within JOIN_BYTES in all); the others are converted a chunk at a time (a
        # whole copy of a million persons' columns costs GBs), each to the one type its values have
        arrow, budget = {}, JOIN_BYTES
        for c in columns:
            if _in_arrow(frame[c]):
                arrow[c] = arrow_column(frame[c])
                if _many_parts(arrow[c]) and arrow[c].nbytes <= budget:  # joined copies within one budget
                    budget -= arrow[c].nbytes
                    arrow[c] = arrow[c].combine_chunks()
        kinds = {c: column_type(frame[c]) for c in columns if c not in arrow}
        if any(a is None for a in arrow.values()) or any(k is False for k in kinds.values()):
            log.info("%s: a column of a kind the scratch does not take; written row by row", table)
            return False
        order = frame[key[0]].argsort(kind="stable").to_numpy() if key and key[0] in frame.columns \
            else np.arange(len(frame))  # in key order: a large batch writes far faster so
        import adbc_driver_manager
        import adbc_driver_sqlite.dbapi as adbc  # only a large publish pays its import

        def chunk(at: int) -> list:
            rows = order[at:at + CHUNK_ROWS]
            return [arrow[c].take(rows) if c in arrow else arrow_column(frame[c].iloc[rows], kinds[c]) for c in columns]

        connection = coming = None
        # the next chunk is converted in a thread while ADBC writes this one (it lets go of the
        # interpreter while it binds and writes): two chunks held at a time, not one
        with ThreadPoolExecutor(1, thread_name_prefix="screenfuse-scratch") as convert:
            try:
                connection = adbc.connect(str(self.path))
                starts = range(0, len(frame), CHUNK_ROWS)
                coming = convert.submit(chunk, starts[0]) if len(starts) else None
                with connection.cursor() as cursor:
                    for k, at in enumerate(starts):
                        arrays = coming.result()
                        coming = convert.submit(chunk, starts[k + 1]) if k + 1 < len(starts) else None
                        if any(a is None for a in arrays):
                            connection.rollback()
                            log.info("%s: a column of a kind the scratch does not take; written row by row", table)
                            return False
                        cursor.adbc_ingest(table, pa.Table.from_arrays(arrays, names=columns),
                                           mode="create" if at == 0 else "append")
                        del arrays
                connection.commit()
            except (adbc_driver_manager.Error, OSError) as error:  # a full disk: the tuple path writes it
                log.warning("%s: the scratch could not be written (%s); written row by row", table, type(error).__name__)
                return False  # closing without a commit drops what was written
            finally:
                if coming is not None:  # a chunk still converting when the write stopped
                    coming.cancel()
                if connection is not None:
                    connection.close()
        self.tables[table] = (columns, len(frame))
        return True

    @property
    def active(self) -> bool:
        return self.path is not None

    @contextmanager
    def attached(self, conn):
        """The scratch attached to the publish's connection, before its transaction begins, and
        let go after it ends (committed or rolled back): the pool hands the connection on."""
        raw = conn.connection.driver_connection
        if self.tables:
            raw.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (str(self.path),))
        try:
            yield self
        finally:
            if self.tables:
                try:
                    raw.execute(f"DETACH DATABASE {SCHEMA}")
                except sqlite3.Error:
                    conn.invalidate()  # never handed on with the scratch attached

    @contextmanager
    def journal_alone(self, conn, wanted: bool):
        """A first load's transaction written straight into the warehouse file, with a rollback
        journal for its span instead of the write-ahead log: the log writes every page twice (into
        the log, then into the database at the commit: 3 GB and 13 s of a 1,000,000-record first
        load's commit). Only when `wanted` (the warehouse holds no person yet) and nothing else has
        the warehouse open (leaving the log needs it alone; else the log is kept, as for every
        other batch). Meanwhile a reader that opens the file waits, and holding a read for longer
        than the busy timeout fails the load (docs/warehouse.md). Entered before the transaction
        begins; yields whether the journal was switched. The connection is closed at the end (its
        pool was let go with the idle ones)."""
        if self.path is None or not wanted:
            yield False
            return
        raw = conn.connection.driver_connection
        conn.engine.dispose()  # this process's idle connections closed (this one, checked out, stays)
        raw.execute("PRAGMA busy_timeout=0")  # another connection open: keep the log, at once
        try:
            switched = raw.execute("PRAGMA main.journal_mode=DELETE").fetchone()[0] == "delete"
        except sqlite3.OperationalError:  # locked: a reader has the warehouse open
            switched = False
        try:
            raw.execute(f"PRAGMA busy_timeout={int(warehouse.busy_seconds() * 1000)}")
            log.info("first load: %s", "rollback journal for its transaction" if switched else
                     "the write-ahead log kept (another connection has the warehouse open)")
            yield switched
        finally:
            if switched:
                try:
                    raw.execute("PRAGMA main.journal_mode=WAL")
                except sqlite3.Error:  # a reader holds it: the next screenfuse connection sets it
                    pass
            conn.invalidate()

    def copy(self, conn, table: str, into: str | None = None) -> int | None:
        """Copy a staged table into the warehouse's table of that name (or `into`) inside the
        transaction (its indexes built after the rows when the table was empty); its row count, or
        None if it was not staged."""
        if table not in self.tables:
            return None
        columns, rows = self.tables[table]
        names, into = ", ".join(columns), into or table
        with warehouse.indexes_built_after(conn, into, rows):
            conn.exec_driver_sql(f"INSERT INTO main.{into} ({names}) SELECT {names} FROM {SCHEMA}.{table}")
        log.info("%s: %d rows copied from the scratch", table, rows)
        return rows


def _locked(path: Path):
    """`path` opened and locked; made again if another publish's sweep removed it meanwhile."""
    while True:
        handle = open(path, "ab")
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def remove_stale(folder: Path, warehouse_name: str) -> int:
    """Remove the scratch files beside the warehouse whose lock nobody holds (a killed publish
    left them, with personal data); how many."""
    removed = 0
    for path in folder.glob(f"{glob.escape(warehouse_name)}.bulk-*"):
        if path.name.endswith(("-journal", "-wal", "-shm", ".lock")) or not path.exists():
            continue
        lock = Path(f"{path}.lock")
        try:
            with open(lock, "ab") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by a publish still running
                _remove(path)
                lock.unlink(missing_ok=True)
        except BlockingIOError:
            continue
        removed += 1
    for lock in folder.glob(f"{glob.escape(warehouse_name)}.bulk-*.lock"):  # a lock left without its scratch
        try:
            with open(lock, "ab") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                lock.unlink(missing_ok=True)
        except (BlockingIOError, FileNotFoundError):
            continue
    return removed


def sweep(engine) -> int:
    """`remove_stale` for the SQLite warehouse of `engine` (after a stage's child died)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return 0
    return remove_stale(Path(database).parent, Path(database).name)
