"""A batch's working state, in one place: what one task hands the next.

Frames and small documents live in the warehouse table `batch_stage`, keyed by batch and name,
as Parquet bytes. Any worker host that reaches the warehouse can run any task: nothing is left
in a folder only one host sees. The stage is emptied when the batch is done (it holds personal
data that must not outlive the run) and at the start of a run of the same batch.
"""
from __future__ import annotations

import io
import json

import pandas as pd
import sqlalchemy as sa

from screenfuse.state_schema import batch_stage

PART_BYTES = 64 * 1024 * 1024  # a large frame is split so no single value nears a database limit


class StageMissing(RuntimeError):
    """A task asked for something an earlier task of the batch has not staged."""


class BatchState:
    def __init__(self, engine: sa.Engine, batch_id: str):
        self.engine, self.batch_id = engine, batch_id

    def put(self, name: str, frame: pd.DataFrame) -> int:
        """Stage a frame under `name` (replacing what was there); returns its rows."""
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self._write(name, buffer.getvalue(), len(frame))
        return len(frame)

    def get(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self._read(name)))

    def put_json(self, name: str, document) -> None:
        self._write(name, json.dumps(document, ensure_ascii=False).encode("utf-8"), 1)

    def get_json(self, name: str):
        return json.loads(self._read(name).decode("utf-8"))

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(batch_stage).where(batch_stage.c.batch_id == self.batch_id))

    def _write(self, name: str, payload: bytes, rows: int) -> None:
        parts = [payload[i:i + PART_BYTES] for i in range(0, len(payload), PART_BYTES)] or [b""]
        with self.engine.begin() as conn:
            conn.execute(sa.delete(batch_stage).where(batch_stage.c.batch_id == self.batch_id,
                                                      batch_stage.c.name == name))
            conn.execute(batch_stage.insert(), [{"batch_id": self.batch_id, "name": name, "part": k,
                                                 "row_count": rows, "payload": part} for k, part in enumerate(parts)])

    def _read(self, name: str) -> bytes:
        with self.engine.connect() as conn:
            parts = conn.execute(sa.select(batch_stage.c.payload).where(
                batch_stage.c.batch_id == self.batch_id, batch_stage.c.name == name).order_by(batch_stage.c.part)).all()
        if not parts:
            raise StageMissing(f"batch {self.batch_id} has no staged '{name}': clear the whole DAG run "
                               "(from start_batch) instead of a single task")
        return b"".join(bytes(p[0]) for p in parts)

