"""The batch stage (screenfuse.batch_state): what a task hands the next, on each database."""
from __future__ import annotations

import io
import time

import pandas as pd
import pytest

from screenfuse import schema
from screenfuse.batch_state import ARROW_MAGIC, AttemptSuperseded, BatchState, StageMissing, frame_bytes
from screenfuse.state_schema import batch_stage
from screenfuse.warehouse import engine_for


@pytest.fixture(scope="module")
def engine(warehouse_url):
    made = engine_for(warehouse_url)
    schema.upgrade(made)
    return made


def _attempt(engine, batch_id: str) -> BatchState:
    stage = BatchState(engine, batch_id)
    with engine.begin() as conn:
        stage.begin_attempt(conn)
    return stage


def _rows(engine, batch_id: str) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql(f"SELECT name FROM batch_stage WHERE batch_id = '{batch_id}' "
                                                   "AND name <> '#attempt'")}


def test_puts_in_a_writing_block_land_together_when_it_ends(engine):
    stage = _attempt(engine, "20200210T0100Z")
    stage.put("kept", pd.DataFrame({"a": [9]}))
    with stage.writing():
        stage.put("kept", pd.DataFrame({"a": [1, 2]}))  # replaces the one written before
        stage.put("tubes", pd.DataFrame({"sample_id": ["S1"]}))
        stage.put_json("files", [{"file_name": "一.csv"}])
        assert _rows(engine, stage.batch_id) == {"kept"}  # nothing new written yet
        assert stage.get("kept")["a"].tolist() == [1, 2]  # ... but this run reads what it put
    assert _rows(engine, stage.batch_id) == {"kept", "tubes", "files"}
    assert stage.get("kept")["a"].tolist() == [1, 2]
    assert stage.get_json("files") == [{"file_name": "一.csv"}]
    with stage.writing():
        with stage.writing():  # a block inside another writes with the outer one
            stage.put("inner", pd.DataFrame({"a": [3]}))
        assert "inner" not in _rows(engine, stage.batch_id)
        stage.put("outer", pd.DataFrame({"a": [4]}))
    assert {"inner", "outer"} <= _rows(engine, stage.batch_id)
    stage.put("big", pd.DataFrame({"v": ["x" * 100] * 50, "n": range(50)}))  # outside a block: written at once
    assert "big" in _rows(engine, stage.batch_id)
    assert list(stage.get("big", ["n"]).columns) == ["n"]  # a stage reads only the columns it asks for
    assert stage.get("big", ["n"])["n"].sum() == sum(range(50))


def test_a_failed_block_writes_nothing(engine):
    stage = _attempt(engine, "20200210T0200Z")
    with pytest.raises(ValueError), stage.writing():
        stage.put("half", pd.DataFrame({"a": [1]}))
        raise ValueError("the task failed half way")
    assert _rows(engine, stage.batch_id) == set()
    with pytest.raises(StageMissing):
        stage.get("half")


def test_a_block_of_a_superseded_attempt_writes_nothing(engine):
    first = _attempt(engine, "20200210T0300Z")
    with pytest.raises(AttemptSuperseded), first.writing():
        first.put("mine", pd.DataFrame({"a": [1]}))
        _attempt(engine, "20200210T0300Z")  # another run of the batch starts meanwhile
    assert _rows(engine, first.batch_id) == set()


def test_a_frame_larger_than_a_part_is_split_and_read_back_whole(engine, monkeypatch):
    monkeypatch.setattr("screenfuse.batch_state.PART_BYTES", 512)
    stage = _attempt(engine, "20200210T0400Z")
    frame = pd.DataFrame({"v": [f"第{k}行" for k in range(400)]})
    with stage.writing():
        stage.put("long", frame)
        stage.put("short", frame.head(2))
    with engine.connect() as conn:
        parts = conn.exec_driver_sql("SELECT COUNT(*) FROM batch_stage WHERE batch_id = '20200210T0400Z' "
                                     "AND name = 'long'").scalar()
    assert parts > 1
    pd.testing.assert_frame_equal(stage.get("long"), frame)
    pd.testing.assert_frame_equal(stage.get("short"), frame.head(2))


def test_a_superseded_attempt_cannot_read_the_newer_attempts_frames(engine):
    first = _attempt(engine, "20200210T0500Z")
    first.put("persons", pd.DataFrame({"a": [1]}))
    second = BatchState(engine, "20200210T0500Z", _attempt(engine, "20200210T0500Z").attempt)
    second.put("persons", pd.DataFrame({"a": [2]}))
    with pytest.raises(AttemptSuperseded):
        first.get("persons")
    assert second.get("persons")["a"].tolist() == [2]
    assert BatchState(engine, "20200210T0500Z").get("persons")["a"].tolist() == [2]  # no attempt: no check


STAGED_KINDS = pd.DataFrame({
    "text": pd.Series(["张三", None, "O'Neil"], dtype=object), "number": [1, 2, 3], "real": [0.5, float("nan"), 2.0],
    "flag": [True, False, True], "maybe": pd.Series([1, None, 3], dtype="Int64"),
    "when": pd.to_datetime(["2020-02-10T01:00Z", None, "2020-02-11T00:00Z"]), "empty": [None, None, None],
}, index=[7, 3, 9])  # an index is not staged, as Parquet's index=False did


def test_every_kind_of_column_reads_back_as_the_parquet_stage_gave_it(engine):
    stage = _attempt(engine, "20200210T0600Z")
    stage.put("kinds", STAGED_KINDS)
    expected = pd.read_parquet(io.BytesIO(STAGED_KINDS.to_parquet(index=False)))
    pd.testing.assert_frame_equal(stage.get("kinds"), expected, check_exact=True)
    pd.testing.assert_frame_equal(stage.get("kinds", ["when", "text"]), expected[["when", "text"]], check_exact=True)
    assert stage.get("kinds").index.equals(pd.RangeIndex(3))


@pytest.mark.parametrize("mask", ["some", "none", "all", "across_batches"])
def test_a_frame_staged_with_a_mask_reads_back_as_the_rows_it_keeps(engine, monkeypatch, mask):
    """The accepted rows of a feed are staged by a mask over the rows read, applied batch by batch
    as they are written: what reads back is exactly the kept rows, in order, of every kind."""
    import numpy as np

    from screenfuse import batch_state

    monkeypatch.setattr(batch_state, "BATCH_ROWS", 2)  # a mask that crosses the written batches
    frame = pd.concat([STAGED_KINDS] * 3, ignore_index=True)
    keep = {"some": np.array([True, False, True] * 3), "none": np.zeros(9, bool), "all": np.ones(9, bool),
            "across_batches": np.array([False, True, True, False, False, True, True, True, False])}[mask]
    stage = _attempt(engine, "20200210T0650Z")
    assert stage.put("kept", frame, keep) == int(keep.sum())
    expected = pd.read_parquet(io.BytesIO(frame[keep].to_parquet(index=False)))
    pd.testing.assert_frame_equal(stage.get("kept"), expected, check_exact=True)
    with pytest.raises(ValueError, match="a mask of 8 rows for a frame of 9"):
        frame_bytes(frame, keep[:8])


def test_a_frame_staged_as_parquet_by_an_earlier_version_still_reads(engine):
    stage = _attempt(engine, "20200210T0700Z")
    with engine.begin() as conn:  # what a task of the previous version left for the next one
        conn.execute(batch_stage.insert(), [{"batch_id": "20200210T0700Z", "name": "old", "part": 0, "row_count": 3,
                                             "payload": STAGED_KINDS.to_parquet(index=False)}])
    pd.testing.assert_frame_equal(stage.get("old", ["number"]), STAGED_KINDS[["number"]].reset_index(drop=True))
    assert frame_bytes(STAGED_KINDS).startswith(ARROW_MAGIC)


def test_a_connection_lost_under_a_binary_read_says_so_in_one_line(warehouses):
    """PostgreSQL's stage reads go through the driver's own cursor (binary), which SQLAlchemy's
    error hook never sees: a lost connection is still WarehouseUnavailable (Airflow retries the
    step), not a driver traceback."""
    from screenfuse.warehouse import WarehouseUnavailable

    engine = engine_for(warehouses.new("postgresql"))
    schema.upgrade(engine)
    stage = _attempt(engine, "20200210T0100Z")
    stage.put("kept", pd.DataFrame({"a": [1]}))
    raised = None
    with pytest.raises(WarehouseUnavailable):  # again when the connection's rollback finds it gone
        with engine.connect() as conn:
            backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend)})")
                for _ in range(100):  # the backend is told to go; it is gone a moment later
                    if not other.exec_driver_sql(f"SELECT 1 FROM pg_stat_activity WHERE pid = {int(backend)}").first():
                        break
                    time.sleep(0.05)
            try:
                with stage.reading(conn):
                    stage.get("kept")
            except Exception as exc:  # noqa: BLE001 (what the read itself raised)
                raised = exc
                raise
    assert isinstance(raised, WarehouseUnavailable) and "connection was lost" in str(raised)
