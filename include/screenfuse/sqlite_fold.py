"""SQLite's write-ahead log folded into the database beside the steps after the publish.

A commit on SQLite folds the log into the database file (a checkpoint) once the log holds 1,000
pages: an hour's publish at 3,000,000 records writes about 40,000, scattered over a 11 GB file, and
its commit spent 0.5 to 1.6 s folding them in before the push lists could begin. `screenfuse run`
asks its publish in its own process (an hour's batch) to commit without folding
(`publish(..., fold=False)`) and folds the log here,
in a thread of its own, while the push lists and the report are written: a passive checkpoint
never blocks their writes, and their reads see every committed page (in the log or in the file).
A run that dies first leaves the log to the next connection's checkpoint: nothing is lost, the
log is durable at the commit. The DAG's tasks commit as before.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager

import sqlalchemy as sa

from screenfuse import sqlite_bulk

log = logging.getLogger(__name__)

AUTOCHECKPOINT_PAGES = 1000  # SQLite's default: the log's pages at which a commit folds it in


class FoldBeside:
    """`start()` folds the log in, in a thread, through a connection of the run's pool; leaving the
    block waits for it. A publish in a child process of its own (a large batch) folds at its
    commit, as before: this then finds nothing to fold. A first load's publish needs the warehouse
    alone (`Scratch.journal_alone`): nothing is held open before `start()`. The steps after the
    publish run in the run's process (threads, no fork): a process forked while this thread is
    inside SQLite could inherit a lock it holds."""

    def __init__(self, engine: sa.Engine):
        self.active = sqlite_bulk.database_file(engine) is not None
        self._engine, self._connection, self._thread = engine, None, None
        self.folded: tuple | None = None  # (busy, log pages, pages folded) as SQLite answered

    def __enter__(self) -> FoldBeside:
        return self

    def start(self) -> None:
        """Never fails the run: the batch is published, and the next commit folds what this leaves."""
        if not self.active or self._thread is not None:
            return
        try:
            self._connection = self._engine.raw_connection()
            self._thread = threading.Thread(target=self._fold, name="sqlite-fold", daemon=True)
            self._thread.start()
        except Exception as error:  # noqa: BLE001 (a lock, no file handle left, no thread)
            log.warning("the write-ahead log is left to the next commit to fold in (%s)", type(error).__name__)
            self._thread = None

    def _fold(self) -> None:
        try:
            self.folded = tuple(self._connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        except sqlite3.Error as error:  # the next writer's checkpoint folds it
            log.warning("the write-ahead log was not folded in beside the run (%s)", type(error).__name__)

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._thread.join()
        if self._connection is not None:
            self._connection.close()  # back to the pool
            self._connection = None


@contextmanager
def unfolded(conn: sa.Connection, fold: bool):
    """`conn`'s commits on SQLite leave the log unfolded (`fold` False): `FoldBeside` folds it."""
    raw = conn.connection.driver_connection if not fold and conn.dialect.name == "sqlite" else None
    if raw is not None:  # pragmas on the driver's connection: no transaction begun
        pages = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        raw.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        if raw is not None and not conn.invalidated:  # a first load's connection is let go (journal_alone)
            raw.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
