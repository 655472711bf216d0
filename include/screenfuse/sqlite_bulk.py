"""Large inserts into a SQLite warehouse through a C path, inside the publish's one transaction.

Python's sqlite3 binds a row value by value from Python objects: a first load's million-row tables
cost minutes in making tuples and binding them. Here a large table is written from the stage's
Arrow payloads as they are (`arrow_rows`), by ADBC's SQLite driver (which binds the Arrow arrays in
C), into a scratch database file of its own in a folder beside the warehouse, in a table made
with the warehouse table's own definition. The publish's connection attaches every table's file
first, before it reads the stage (the writer starts then), and copies each table in with one
`INSERT … SELECT` inside its transaction, so the batch stays all or nothing; into an empty table
of the same definition SQLite moves the records and key entries as they are (a first load's
copies: 22 to 25 s → 16 s).

The files are written by a process of its own while the publish goes on (`stage_behind`): a first
load's scratch (20 s) is written on the second core while the first copies the tables already
written. A copy waits for its own table only. An attached file is read first when its table is
copied, after the writer closed it: SQLite takes an attached file's snapshot at its first read in
a transaction, not at `BEGIN`. So nothing in the transaction may read the other files meanwhile:
a table name SQLite does not find makes it read every attached file (the copy reads its own
file's schema first; temporary tables are dropped by their schema's name), and the writer waits
for a moment's read instead of failing its commit.
A first load that has the warehouse to itself writes it without the write-ahead log
(`Scratch.journal_alone`): the log would take every page a second time.

The stored values are those the tuple path stores from the same payloads (tested): text,
integers, reals, booleans as 0/1, missing values as NULL. A table with a column of another kind
is left to the tuple path, as is one whose scratch cannot be written (a full disk). The scratch
holds personal data: it is removed when the publish ends, and while it lives its publish holds a
lock on `<scratch>.lock`; a scratch whose lock nobody holds (its process was killed) is removed
by the next publish, and by `screenfuse run` as soon as a stage's child dies. PostgreSQL has
COPY: this is SQLite's only.
"""
from __future__ import annotations

import fcntl
import glob
import logging
import os
import shutil
import sqlite3
import uuid
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa

from screenfuse import arrow_rows, warehouse
from screenfuse.arrow_rows import NotTaken, Rows
from screenfuse.config import number_from_env
from screenfuse.stage_process import forked_start

log = logging.getLogger(__name__)

VARIABLE = "SCREENFUSE_BULK_SCRATCH_ROWS"
MIN_ROWS = 100_000  # below this, the tuple path costs less than a scratch file's round trip
SCHEMA = "screenfuse_bulk"  # the attached files are screenfuse_bulk_0, _1, …
UNSORTED = "_as_staged"  # a scratch's rows out of key order, before SQLite sorts them


def min_rows() -> int:
    """Tables of at least this many rows go through the scratch (SCREENFUSE_BULK_SCRATCH_ROWS,
    default 100,000; 0: never)."""
    return int(min(number_from_env(VARIABLE, MIN_ROWS, "rows"), 2**62))


class Scratch:
    """The scratch folder of one publish. Inert on PostgreSQL and for an in-memory warehouse."""

    def __init__(self, engine, batch_id: str):
        self.engine, self.path, self.threshold, self._lock = engine, None, 0, None
        self.tables: dict[str, tuple[list[str] | None, int]] = {}  # written: columns (None: all, as defined) and rows
        self._coming: dict[str, None] = {}  # being written by the writer, in its order
        self._schemas: dict[str, str] = {}  # attached: table → schema name
        self._ddl: dict[str, str | None] = {}  # each table's definition in the warehouse, for its scratch
        self._writer = self._answers = None
        self._adopted: dict[str, Path] = {}  # tables another scratch wrote (`adopt`): their files
        database = database_file(engine)
        if database:
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
        if self._writer is not None:  # stopped before its files go
            self._writer.kill()
            self._writer.join()
            self._answers.close()
        if self.path is not None:
            _remove(self.path)
            Path(f"{self.path}.lock").unlink(missing_ok=True)
            self._lock.close()

    @property
    def active(self) -> bool:
        return self.path is not None

    def file(self, table: str) -> Path:
        return self._adopted.get(table) or self.path / f"{table}.sqlite"

    @property
    def adopted(self) -> list[str]:
        """The tables taken from another scratch: written already, copied first."""
        return list(self._adopted)

    def adopt(self, other: Scratch | None) -> None:
        """Take the tables `other` wrote (ahead of this publish, `scratch_ahead`) as this scratch's:
        attached and copied from `other`'s files, which `other`'s owner keeps and removes."""
        for table, written in (other.tables if other is not None else {}).items():
            if self.path is not None and table not in self.tables and table not in self._coming:
                self.tables[table], self._adopted[table] = written, other.file(table)

    def stage(self, table: str, rows: Rows) -> bool:
        """Write `table`'s rows into its scratch file now; whether it was (too few rows, an inert
        scratch, a column of another kind, a file that cannot be written: not)."""
        if self.path is None or table in self.tables or table in self._coming:
            return False
        return self._write(table, self._fitted(table, rows))

    def stage_behind(self, jobs: dict[str, Rows]) -> None:
        """Have these tables' scratch files written by a process of its own, in this order, while
        the publish goes on; `copy` waits for its table. The writer is forked now, holding little
        but the payloads (forked later, it would keep a copy of all the publish read by then), and
        starts writing once `attached` has attached the files (an attach beside the driver writing
        a file could read it half written). A process, not a thread: the driver links a SQLite of
        its own, and two SQLite libraries in one process break each other's file locks (the
        driver's commit failed with a disk I/O error)."""
        jobs = {t: self._fitted(t, r) for t, r in jobs.items()
                if self.path is not None and t not in self.tables and t not in self._coming}
        if not jobs:
            return
        context = get_context("fork")
        ours, theirs = context.Pipe()
        writer = context.Process(target=self._write_all, args=(list(jobs.items()), theirs, ours, os.getpid()),
                                 name="screenfuse scratch", daemon=True)
        try:
            writer.start()
        except OSError as error:  # no fork (out of memory): every table goes the tuple path
            log.warning("the scratch's writer could not start (%s); the tables go row by row", type(error).__name__)
            ours.close()
            return
        finally:
            theirs.close()
        self._writer, self._answers = writer, ours
        self._coming = dict.fromkeys(jobs)
        for rows in jobs.values():  # the writer holds them now
            rows.payloads = []

    def _write_all(self, jobs: list[tuple[str, Rows]], channel, parents, parent: int) -> None:
        """In the writer: once told which files are attached, each of those tables written in turn
        and said (its columns and rows, or None)."""
        forked_start(parent)
        parents.close()  # the publish's end: its closing is then seen here
        try:
            attached = channel.recv()
        except EOFError:  # the publish ended before attaching
            return
        for table, rows in jobs:
            written = False
            if table in attached:
                try:
                    written = self._write(table, rows)
                except Exception as error:  # noqa: BLE001 - any failure leaves the table to the tuple path
                    log.warning("%s: the scratch was not written (%s); written row by row", table, type(error).__name__)
            rows.payloads = []
            channel.send((table, self.tables[table] if written else None))
        channel.close()

    def _fitted(self, table: str, rows: Rows) -> Rows:
        """`rows` narrowed to the table's columns, ordered by its key: looked up here, never in
        the writer (the warehouse may be held by the publish's transaction then)."""
        with self.engine.connect() as conn:
            names = warehouse.table_columns(conn, table)
            key = warehouse.primary_key(conn, table)
            self._ddl[table] = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                                    (table,)).scalar()
        rows.narrow_to(names)
        rows.key = key[0] if key and key[0] in rows.columns else None
        return rows

    def _write(self, table: str, rows: Rows) -> bool:
        try:
            schema, count = arrow_rows.plan(rows)
        except NotTaken as reason:
            log.info("%s: %s; written row by row", table, reason)
            return False
        if count < self.threshold:
            return False
        import adbc_driver_manager
        import adbc_driver_sqlite.dbapi as adbc  # only a large publish pays its import

        # the scratch's table is made with the warehouse's own definition: the copy then moves its
        # records and key entries as they are (SQLite's transfer of a table into an empty one of
        # the same definition), whatever their order. Only a table that is its key's tree (WITHOUT
        # ROWID) wants its rows in key order: out of it, they go to a table of their own first and
        # SQLite sorts them in (bounded memory: 8.5 million block keys sorted in Arrow held 1 GB).
        # Sorting the others too cost the publish 3 s (33.6 and 33.0 s against 29.8 and 30.4 s).
        ddl = self._ddl.get(table)
        clustered = ddl is not None and "WITHOUT ROWID" in ddl.upper()  # the rows are the key's tree
        staged = table if not clustered or arrow_rows.in_order(rows) else f"{table}{UNSORTED}"
        names = ", ".join(schema.names)
        connection = None
        try:
            self.path.mkdir(exist_ok=True)
            connection = adbc.connect(str(self.file(table)))
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA page_size={warehouse.SQLITE_PAGE_BYTES}")
                cursor.execute(f"PRAGMA cache_size=-{warehouse.SQLITE_CACHE_MB * 1024}")
                # a read of the publish's (a schema check of every attached file) may hold the
                # file a moment: the commit waits for it instead of failing at once
                cursor.execute(f"PRAGMA busy_timeout={int(warehouse.busy_seconds() * 1000)}")
                if ddl is not None:
                    cursor.execute(ddl)
                cursor.adbc_ingest(staged, pa.RecordBatchReader.from_batches(schema, arrow_rows.batches(rows, schema)),
                                   mode="append" if staged == table and ddl is not None else "create")
                if staged != table:
                    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staged} ORDER BY {rows.key}")
                    cursor.execute(f"DROP TABLE {staged}")
            connection.commit()
        except (adbc_driver_manager.Error, OSError) as error:  # a full disk: the tuple path writes it
            log.warning("%s: the scratch was not written (%s); written row by row", table, type(error).__name__)
            return False  # closing without a commit drops what was written
        finally:
            rows.payloads = []  # the staged bytes let go as soon as the table is written
            if connection is not None:
                connection.close()
        self.tables[table] = (list(schema.names) if ddl is None else None, count)
        return True

    @contextmanager
    def attached(self, conn):
        """Every table's file attached to the publish's connection (those the writer still writes
        too), before it reads the stage and its transaction begins, and let go after it ends
        (committed or rolled back): the pool hands the connection on, unless `journal_alone`
        closed it (its files with it)."""
        if self.path is None or not (self.tables or self._coming):
            yield self
            return
        raw = conn.connection.driver_connection
        held = [row for row in raw.execute("PRAGMA database_list").fetchall() if row[1] not in ("main", "temp")]
        slots = raw.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) - len(held)
        for table in [*self.tables, *self._coming][:max(0, slots)]:  # past the limit: the tuple path
            self.path.mkdir(exist_ok=True)
            name = f"{SCHEMA}_{len(self._schemas)}"
            raw.execute(f"ATTACH DATABASE ? AS {name}", (str(self.file(table)),))
            self._schemas[table] = name
        if self._writer is not None:
            try:
                self._answers.send(set(self._schemas))  # the writer may start
            except OSError:  # it died (killed): its tables go the tuple path
                log.warning("the scratch's writer ended early; the tables it did not write go row by row")
                self._coming = {}
        try:
            yield self
        finally:
            try:
                if not conn.invalidated:  # else closed already (`journal_alone`), its files with it
                    for name in self._schemas.values():
                        raw.execute(f"DETACH DATABASE {name}")
            except sqlite3.Error:
                conn.invalidate()  # never handed on with the scratch attached
            self._schemas = {}

    def ready(self, table: str) -> bool:
        """Whether `table` is in the scratch and attached (waiting for the writer to write it)."""
        if table not in self._schemas:
            return False
        while table in self._coming:
            try:
                done, written = self._answers.recv()
            except (EOFError, OSError):  # the writer died: what it did not say it wrote goes the tuple path
                log.warning("the scratch's writer ended early; the tables it did not write go row by row")
                self._coming = {}
                break
            self._coming.pop(done, None)
            if written is not None:
                self.tables[done] = written
        return table in self.tables and table in self._schemas

    def rows(self, table: str) -> int | None:
        return self.tables[table][1] if self.ready(table) else None

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
        None if it was not staged (once the writer is done with it)."""
        if not self.ready(table):
            return None
        columns, rows = self.tables[table]
        into, source = into or table, f"{self._schemas[table]}.{table}"
        if columns is None and into == table:  # the same definition: SQLite moves the records as they are
            statement = f"INSERT INTO main.{into} SELECT * FROM {source}"
        else:
            names = ", ".join(columns or warehouse.table_columns(conn, table))
            statement = f"INSERT INTO main.{into} ({names}) SELECT {names} FROM {source}"
        # the file's schema, cached empty at ATTACH, read again from this file alone: a table SQLite
        # does not find in its cache makes it check every attached file, the one being written too
        conn.exec_driver_sql(f"SELECT 1 FROM {self._schemas[table]}.sqlite_master LIMIT 1").all()
        with warehouse.indexes_built_after(conn, into, rows):
            conn.exec_driver_sql(statement)
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
    if path.is_dir():
        shutil.rmtree(path)
        return
    for suffix in ("", "-journal", "-wal", "-shm"):  # a scratch an earlier version wrote is one file
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


def database_file(engine) -> str | None:
    """The file of `engine`'s SQLite warehouse; None for another database, or one in memory or by URI."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    return database if database and database != ":memory:" and not database.startswith("file:") else None


def sweep(engine) -> int:
    """`remove_stale` for the SQLite warehouse of `engine` (after a stage's child died)."""
    database = database_file(engine)
    if not database:
        return 0
    return remove_stale(Path(database).parent, Path(database).name)
