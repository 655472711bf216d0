"""On PostgreSQL, the publish of `screenfuse run` begins beside resolve: the tables known by then go
into the publish's own transaction while the stages after ingest run.

A first load's publish on PostgreSQL took 74 of the run's 185 s (1,000,000 records, 2026-12-07): the
server inserts the rows into every index of a table as they come, one table after another (COPY of
the records 13.8 s, the block keys 10.4, the samples 6.8, the match rows 4.3 s), while resolve and
fuse keep one core of two busy. A run holds read/write rights on the tables only: it cannot build
the indexes after the rows. So `screenfuse run` starts its publish's child once ingest is done
(`PublishAhead`). The child begins its transaction and copies the records, samples and results while
resolve runs, the match rows, block keys, and a first load's links and term counts while fuse runs,
and a first load's persons and screening outcomes while the stages after fuse run; told that the
batch is staged, it publishes the rest as any publish does, in the same transaction. No reader sees
a row before the commit; a run that fails on the way kills the child, and the server rolls its
transaction back. Copied ahead only in a batch that was never published (a run again takes its old
rows back first) and only a table whose staged values go into COPY as they are
(`pg_copy.copy_rows`); anything else is left to the publish. SQLite has one writer at a time: its
counterpart is the scratch written beside fuse (`scratch_ahead`). The Airflow DAG's tasks may each
run on another worker: its publish writes everything itself.
"""
from __future__ import annotations

import logging
from datetime import datetime

from screenfuse import batch_rows, match_state, pg_copy, stage_process, warehouse
from screenfuse.arrow_rows import NotTaken
from screenfuse.config import Settings
from screenfuse.pipeline import BatchOrderError, check_order, engine
from screenfuse.scratch_ahead import FIRST_LOAD, scratch_rows
from screenfuse.validation import ImportBeside

log = logging.getLogger(__name__)

# what the child copies after each step of the run: ingest is done when it starts
STEPS = ((None, ("source_record", "screening_sample", "screening_result")),
         ("resolved", ("match_record", "match_key", "person_link", "match_term")),
         ("fused", ("person", "screening_outcome")))
STAGED = "staged"  # every stage before the publish is done: the child publishes the rest


class PublishAhead:
    """The run's side: starts the publish's child (`start`, after ingest), tells it each step
    done (`tell`), takes its answer (`result`), or stops it (`stop`: its transaction rolls back)."""

    def __init__(self, settings: Settings, batch_id: str, run_id: str, interval: tuple[datetime, datetime]):
        self.settings, self.batch_id, self.run_id, self.interval = settings, batch_id, run_id, interval
        self._child: stage_process.Beside | None = None

    @property
    def started(self) -> bool:
        return self._child is not None

    def start(self, attempt: str) -> None:
        from screenfuse.stage_publish import publish

        db = engine(self.settings)
        if warehouse.is_postgres(db):
            self._child = stage_process.Beside(db, publish, self.settings, self.batch_id, self.run_id, self.interval,
                                               attempt=attempt, analyze=False)

    def tell(self, step: str) -> None:
        if self._child is not None:
            self._child.tell(step)

    def result(self) -> dict:
        self.tell(STAGED)
        return self._child.result()

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()


def publishing(db, stage, batch_id: str, told, publish) -> dict:
    """In the publish's child: begin the transaction, copy each step's tables as the run reaches
    it, then `publish(conn, transaction, copied)` once the batch is staged."""
    with db.connect() as conn:
        transaction = conn.begin()
        # it waits on the stages between its copies: a server's limit on idle transactions would end it.
        # A copy that waits on another run's rows (two first loads at once) waits as a publish would,
        # then leaves the table to the publish
        conn.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(warehouse.busy_seconds() * 1000)}ms'")
        try:
            fresh = not check_order(conn, batch_id)  # a run again: its rows are taken back first
        except BatchOrderError:  # an older batch: the publish refuses it, saying why
            fresh = False
        copied: list[str] = []
        with ImportBeside() as gx:
            for step, tables in STEPS:
                if step is not None:
                    _wait(told, step)
                if step == STEPS[-1][0]:  # the audits' library (2 s), beside the last copies: not held through fuse's peak
                    gx.start()
                copied += [table for table in tables if fresh and copy_ahead(conn, stage, batch_id, table)]
                stage_process.release_memory()  # fuse's peak is the run's: this process holds little beside it
        log.info("copied ahead of the publish: %s", ", ".join(copied) or "nothing")
        _wait(told, STAGED)
        return publish(conn, transaction, set(copied)) | {"copied_ahead": copied}


def copy_ahead(conn, stage, batch_id: str, table: str) -> bool:
    """Whether `table`'s rows of the batch were copied now, in `conn`'s transaction (a savepoint
    of its own: a table that fails is rolled back alone and left to the publish)."""
    # a table the publish replaces rows of (persons, links, term counts, outcomes): only into an
    # empty one, a first load's, noted as the publish notes it so that a take-back empties it
    into_empty = table in FIRST_LOAD
    keys = table == "match_key"  # an hour's keys go to the recent keys' table, decided by the publish
    try:
        with conn.begin_nested():
            # COPY refuses a table under row-level security: the publish inserts its rows
            if warehouse.row_security(conn, table) or into_empty and not warehouse.is_empty(conn, table):
                return False
            rows = scratch_rows(stage, batch_id, [table] if into_empty else [], [table])[table]
            rows.narrow_to(warehouse.table_columns(conn, table))
            with warehouse.driver_errors(), conn.connection.driver_connection.cursor() as cursor:
                count = pg_copy.copy_rows(cursor, table, rows, match_state.RECENT_KEYS_FOLD if keys else 0)
            if count and into_empty:
                batch_rows.mark_empty(conn, batch_id, table)
            return count is not None
    except NotTaken as why:
        log.info("%s: left to the publish (%s)", table, why)
    except Exception as error:  # noqa: BLE001 - the publish writes it, and says what is wrong
        log.warning("%s: not copied ahead (%s); the publish writes it", table, type(error).__name__)
    return False


def _wait(told, step: str) -> None:
    message = told.recv()  # EOFError: the run is gone (it kills this process as it goes)
    if message != step:
        raise RuntimeError(f"the publish was told {message!r} before {step!r}: the run's stages went out of order")
