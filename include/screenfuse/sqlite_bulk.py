"""Large inserts into a SQLite warehouse through a C path, inside the publish's one transaction.

Python's sqlite3 binds a row value by value from Python objects: a first load's million-row tables
cost minutes in making tuples and binding them. Here a large frame is written before the publish's
transaction, as Arrow, by ADBC's SQLite driver (which binds the Arrow arrays in C) into a scratch
database file beside the warehouse. The publish's connection attaches that file before its
transaction starts and copies each table in with one `INSERT … SELECT` (C again) inside it, so the
batch stays all or nothing. SQLite allows no ATTACH inside a transaction, and a transaction keeps
one snapshot of an attached file, so every table is written to the scratch before the
transaction and only read in it.

The stored values are those the tuple path stores (tested): text, integers, reals, booleans as
0/1, missing values as NULL. A frame with a column of another kind is left to the tuple path.
The scratch file holds personal data: it is removed when the publish ends, and a publish removes
the scratch files of processes that no longer run (a killed run's). PostgreSQL has COPY: this is
SQLite's only.
"""
from __future__ import annotations

import logging
import os
import sqlite3
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
_KINDS = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_floating,
          pa.types.is_boolean)


def min_rows() -> int:
    """Frames of at least this many rows go through the scratch (SCREENFUSE_BULK_SCRATCH_ROWS,
    default 100,000; 0: never)."""
    return int(number_from_env(VARIABLE, MIN_ROWS, "rows"))


def arrow_column(column: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """A column as an Arrow array whose values SQLite stores as the tuple path's would, or None
    (mixed Python types, dates, nested values: the tuple path takes the frame)."""
    try:
        array = pa.array(column, from_pandas=True)  # NaN and NA → null, as the tuple path's None
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    if pa.types.is_dictionary(array.type):  # chunks of an Arrow column stay chunks: no copy
        array = array.cast(array.type.value_type)
    if pa.types.is_null(array.type):  # nothing but missing values
        array = pa.nulls(len(array), pa.string())
    return array if any(kind(array.type) for kind in _KINDS) else None


def _in_arrow(column: pd.Series) -> bool:
    dtype = column.dtype
    return isinstance(dtype, pd.ArrowDtype) or (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow")


class Scratch:
    """The scratch file of one publish. Inert on PostgreSQL and for an in-memory warehouse."""

    def __init__(self, engine, batch_id: str):
        self.engine, self.tables, self.path = engine, {}, None
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.threshold = min_rows()
        if database and database != ":memory:" and not database.startswith("file:") and self.threshold:
            safe = "".join(ch if ch.isalnum() else "_" for ch in batch_id)[:40]
            self.path = Path(f"{database}.bulk-{os.getpid()}-{safe}")

    def __enter__(self) -> Scratch:
        if self.path is not None:
            remove_stale(self.path.parent, Path(str(self.path).split(".bulk-")[0]).name)
            _remove(self.path)
        return self

    def __exit__(self, *_) -> None:
        if self.path is not None:
            _remove(self.path)

    def stage(self, table: str, frame: pd.DataFrame) -> bool:
        """Write `frame` for `table` into the scratch, in the order of the table's key; whether it
        was (too small, an inert scratch, or a column of another kind: not)."""
        if self.path is None or frame is None or len(frame) < self.threshold or table in self.tables:
            return False
        with self.engine.connect() as conn:
            columns = [c for c in warehouse.table_columns(conn, table) if c in frame.columns]
            key = warehouse.primary_key(conn, table)
        # columns in Arrow already are taken by Arrow (no copy of the whole column); the others are
        # converted a chunk at a time (a whole copy of a million persons' columns costs GBs)
        arrow = {c: arrow_column(frame[c]) for c in columns if _in_arrow(frame[c])}
        order = frame[key[0]].argsort(kind="stable").to_numpy() if key and key[0] in frame.columns \
            else np.arange(len(frame))  # in key order: a large batch writes far faster so
        import adbc_driver_sqlite.dbapi as adbc  # only a large publish pays its import

        connection = adbc.connect(str(self.path))
        try:
            with connection.cursor() as cursor:
                for at in range(0, len(frame), CHUNK_ROWS):
                    rows = order[at:at + CHUNK_ROWS]
                    arrays = [arrow[c].take(rows) if c in arrow else arrow_column(frame[c].iloc[rows]) for c in columns]
                    if any(a is None for a in arrays):
                        connection.rollback()
                        log.info("%s: a column of a kind the scratch does not take; written row by row", table)
                        return False
                    cursor.adbc_ingest(table, pa.Table.from_arrays(arrays, names=columns),
                                       mode="create" if at == 0 else "append")
            connection.commit()
        finally:
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

    def copy(self, conn, table: str) -> int | None:
        """Copy a staged table into the warehouse inside the transaction (its indexes built after
        the rows when the table was empty); its row count, or None if it was not staged."""
        if table not in self.tables:
            return None
        columns, rows = self.tables[table]
        names = ", ".join(columns)
        with warehouse.indexes_built_after(conn, table, rows):
            conn.exec_driver_sql(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM {SCHEMA}.{table}")
        log.info("%s: %d rows copied from the scratch", table, rows)
        return rows


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def remove_stale(folder: Path, warehouse_name: str) -> int:
    """Remove scratch files beside the warehouse whose process no longer runs (a killed publish
    left them, with personal data); how many."""
    removed = 0
    for path in folder.glob(f"{warehouse_name}.bulk-*"):
        if path.name.endswith(("-journal", "-wal", "-shm")):
            continue
        try:
            pid = int(path.name.split(".bulk-")[1].split("-")[0])
            os.kill(pid, 0)
            continue  # its process still runs (another publish, waiting for the lock)
        except ProcessLookupError:
            pass
        except (ValueError, IndexError, PermissionError):
            continue
        _remove(path)
        removed += 1
    return removed
