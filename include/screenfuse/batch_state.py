"""A batch's working state, in one place: what one task hands the next.

Frames and small documents live in the warehouse table `batch_stage`, keyed by batch and name,
as Arrow IPC bytes (zstd). A first load stages GBs: in Arrow's own format its stage writes took
8.7 s and its reads 13.3 s, against 9.6 s and 16.9 s as Parquet (2026-12-05). Any worker host
that reaches the warehouse can run any task: nothing is left in a folder only one host sees. The
stage is emptied when the batch is done (it holds personal data that must not outlive the run)
and at the start of a run of the same batch.

Each start of a batch is an attempt with its own id (`#attempt` row). Two copies of one batch can
run at once (an Airflow retry beside a zombie task, two `screenfuse run`): the later start
supersedes the earlier one, whose next read or write of the stage stops it with
`AttemptSuperseded` instead of mixing its frames with the other's. Checks and writes take the
warehouse's write lock first (`warehouse.lock_for_publish`), so a start cannot slip between them.
"""
from __future__ import annotations

import io
import json
import uuid
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from screenfuse.state_schema import batch_stage
from screenfuse.warehouse import driver_errors, is_postgres, lock_for_publish

PART_BYTES = 64 * 1024 * 1024  # a large frame is split so no single value nears a database limit
ARROW_MAGIC = b"ARROW1"  # an Arrow IPC file; a stage an earlier version wrote holds Parquet ("PAR1")
BATCH_ROWS = 65_536  # rows an Arrow batch holds: a reader can take a large frame a batch at a time
ATTEMPT = "#attempt"  # the row naming the batch's current attempt


class StageMissing(RuntimeError):
    """A task asked for something an earlier task of the batch has not staged."""


class AttemptSuperseded(RuntimeError):
    """Another run of the same batch started after this one: this one stops, the other goes on."""


class BatchState:
    """The stage of one batch, as seen by one attempt (None: whichever attempt is current)."""

    def __init__(self, engine: sa.Engine, batch_id: str, attempt: str | None = None):
        self.engine, self.batch_id, self.attempt = engine, batch_id, attempt
        self._pending: dict[str, tuple[bytes, int]] | None = None  # puts held by `writing`
        self._conn = None  # the connection reads go through inside `reading`

    def begin_attempt(self, conn) -> str:
        """Empty the stage and name a new attempt, in `conn`'s transaction (which must hold the
        write lock); returns the attempt id. Any earlier attempt of the batch is superseded."""
        conn.execute(sa.delete(batch_stage).where(batch_stage.c.batch_id == self.batch_id))
        self.attempt = uuid.uuid4().hex
        conn.execute(batch_stage.insert(), [{"batch_id": self.batch_id, "name": ATTEMPT, "part": 0, "row_count": 1,
                                             "payload": self.attempt.encode()}])
        return self.attempt

    def check(self, conn) -> None:
        """Raise AttemptSuperseded unless this attempt is still the batch's current one."""
        if self.attempt is None:
            return
        self._verify(conn.execute(sa.select(batch_stage.c.payload).where(
            batch_stage.c.batch_id == self.batch_id, batch_stage.c.name == ATTEMPT)).scalar())

    def _verify(self, current) -> None:
        """Raise AttemptSuperseded unless `current` (the #attempt row's payload, None when gone) is
        this attempt."""
        if self.attempt is not None and (current is None or bytes(current).decode() != self.attempt):
            raise AttemptSuperseded(
                f"batch {self.batch_id} was started again by another run (or finished by it) while this run "
                f"(attempt {self.attempt[:8]}) ran: this run stops and writes nothing; the other run publishes "
                "the batch")

    @contextmanager
    def writing(self):
        """The puts inside are written together when the block ends: one transaction, one lock and
        one attempt check for a stage's dozen frames, not one each (an hour with no new file
        writes some hundred small frames). Nothing is written if the block fails; a block inside
        another one writes with the outer one."""
        if self._pending is not None:
            yield self
            return
        self._pending = {}
        try:
            yield self
            if self._pending:
                self._write_many(self._pending)
        finally:
            self._pending = None

    @contextmanager
    def reading(self, conn):
        """The reads inside go through `conn`, in its transaction: a publish that holds the
        warehouse for itself (sqlite_bulk.Scratch.journal_alone) would make another connection wait
        for its commit."""
        previous, self._conn = self._conn, conn
        try:
            yield self
        finally:
            self._conn = previous

    def put(self, name: str, frame: pd.DataFrame, keep: np.ndarray | None = None) -> int:
        """Stage a frame under `name` (replacing what was there), only its rows `keep` marks when
        given (`frame_bytes`); returns the rows staged."""
        rows = len(frame) if keep is None else int(np.count_nonzero(keep))
        self._write(name, frame_bytes(frame, keep), rows)
        return rows

    def get(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The frame staged under `name`; only `columns` of it when given (a million records'
        `raw_json` alone is a third of a GB that most stages never read)."""
        return frame_from(self._read(name), columns)

    def payload(self, name: str) -> bytes:
        """The bytes staged under `name`, as `frame_bytes` wrote them (a publish's scratch reads
        them as Arrow, `arrow_rows`, never as a frame)."""
        return self._read(name)

    def rows_staged(self) -> int:
        """How many rows the batch's frames hold in all (read from the stage's row counts, not its
        payloads): no frame a publish reads from the stage can hold more."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(batch_stage.c.row_count), 0)).where(
                batch_stage.c.batch_id == self.batch_id, batch_stage.c.part == 0)).scalar())

    def put_json(self, name: str, document) -> None:
        self._write(name, json.dumps(document, ensure_ascii=False).encode("utf-8"), 1)

    def get_json(self, name: str):
        return json.loads(self._read(name).decode("utf-8"))

    def clear(self) -> None:
        """Empty the stage, the attempt row too (the batch is done)."""
        with self.engine.begin() as conn:
            lock_for_publish(conn)
            self.check(conn)
            conn.execute(sa.delete(batch_stage).where(batch_stage.c.batch_id == self.batch_id))

    def _write(self, name: str, payload: bytes, rows: int) -> None:
        if self._pending is not None:
            self._pending[name] = (payload, rows)
        else:
            self._write_many({name: (payload, rows)})

    def _write_many(self, payloads: dict[str, tuple[bytes, int]]) -> None:
        rows = [{"batch_id": self.batch_id, "name": name, "part": k, "row_count": count, "payload": part}
                for name, (payload, count) in payloads.items()
                for k, part in enumerate([payload[i:i + PART_BYTES] for i in range(0, len(payload), PART_BYTES)] or [b""])]
        with self.engine.begin() as conn:
            lock_for_publish(conn)  # before the check: a start of the batch waits until this is written
            self.check(conn)
            conn.execute(sa.delete(batch_stage).where(batch_stage.c.batch_id == self.batch_id,
                                                      batch_stage.c.name.in_(list(payloads))))
            conn.execute(batch_stage.insert(), rows)

    def _read(self, name: str) -> bytes:
        if self._pending is not None and name in self._pending:  # put in this `writing` block
            return self._pending[name][0]
        # the parts and the #attempt row in one statement, so one snapshot: parts read are this
        # attempt's unless the attempt row says another run started (one round trip, not two)
        if self._conn is not None:
            rows = self._parts(self._conn, [name, ATTEMPT])
        else:
            with self.engine.connect() as conn:
                rows = self._parts(conn, [name, ATTEMPT])
        self._verify(next((payload for row_name, payload in rows if row_name == ATTEMPT), None))
        parts = [bytes(payload) for row_name, payload in rows if row_name == name]
        if not parts:
            raise StageMissing(f"batch {self.batch_id} has no staged '{name}': clear the whole DAG run "
                               "(from start_batch) instead of a single task")
        return b"".join(parts)

    def _parts(self, conn, names: list[str]) -> list[tuple[str, bytes]]:
        """(name, payload) of the parts of `names`, in order. PostgreSQL sends them in its binary
        form: as text, each byte travels as two hex digits and is decoded again (130 MB took
        1.1 to 1.3 s so, 0.46 s in binary)."""
        if is_postgres(conn):
            with driver_errors(), conn.connection.driver_connection.cursor(binary=True) as cursor:
                cursor.execute("SELECT name, payload FROM batch_stage WHERE batch_id = %s AND name = ANY(%s) "
                               "ORDER BY part", (self.batch_id, names))
                return cursor.fetchall()
        return conn.execute(sa.select(batch_stage.c.name, batch_stage.c.payload).where(
            batch_stage.c.batch_id == self.batch_id, batch_stage.c.name.in_(names)).order_by(batch_stage.c.part)).all()


def frame_bytes(frame: pd.DataFrame, keep: np.ndarray | None = None) -> bytes:
    """`frame` as an Arrow IPC file, zstd-compressed, without its index (as Parquet's `index=False`).
    `keep`: a boolean mask of the rows to write, applied a batch at a time as they are written. A
    first load's million accepted records, taken out of the rows read to drop a few hundred, were
    a GB copied whole (the mass-screening feed: 8.6 to 9.0 s, against 2.5 to 3.3 s this way)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        if keep is None:
            writer.write_table(table, max_chunksize=BATCH_ROWS)
        else:
            keep = np.asarray(keep, dtype=bool)
            if len(keep) != len(frame):
                raise ValueError(f"a mask of {len(keep)} rows for a frame of {len(frame)}")
            at = 0
            for batch in table.to_batches(max_chunksize=BATCH_ROWS):
                part = keep[at:at + batch.num_rows]
                at += batch.num_rows
                if part.all():
                    writer.write_batch(batch)
                elif part.any():
                    writer.write_batch(batch.filter(pa.array(part)))
    return sink.getvalue().to_pybytes()


def frame_from(payload: bytes, columns: list[str] | None = None) -> pd.DataFrame:
    """The frame `frame_bytes` wrote (only `columns` of it, the others not even decompressed); a
    Parquet payload too."""
    if payload.startswith(ARROW_MAGIC):
        return pd.read_feather(io.BytesIO(payload), columns=columns)
    return pd.read_parquet(io.BytesIO(payload), columns=columns)
