"""A large batch's tables known before fuse, written into SQLite's scratch beside fuse by
`screenfuse run` (scratch_ahead): the publish copies them from there and writes only the rest, and
the warehouse is the one rows bound one by one give."""
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from first_day import first_day
from screenfuse import sqlite_bulk, stage_publish
from screenfuse.config import load_settings
from screenfuse.pipeline import batch_id_for, engine, run_batch, stage_batch
from screenfuse.scratch_ahead import AHEAD
from warehouse_content import checksums

H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
SKIP = {"batch_manifest", "run_log", "ingest_file"}  # file times differ between two generations


def first_hour(tmp_path, warehouses, monkeypatch, name: str, scratch_rows: str) -> sa.Engine:
    """One generated day's first load, every stage in a process of its own (as a large batch's)."""
    monkeypatch.setenv("SCREENFUSE_BULK_SCRATCH_ROWS", scratch_rows)
    return first_day(tmp_path, warehouses, monkeypatch, name, "sqlite", "0")


def test_a_large_first_load_writes_its_records_ahead_and_gets_the_tuple_paths_warehouse(
        warehouses, tmp_path, monkeypatch, caplog):
    by_rows = first_hour(tmp_path, warehouses, monkeypatch, "rows", "0")
    run_batch(load_settings(), H1)
    ahead = first_hour(tmp_path, warehouses, monkeypatch, "ahead", "1")
    with caplog.at_level("INFO", logger="screenfuse.pipeline"):
        run_batch(load_settings(), H1)
    written = [m.split(": ", 1)[1] for m in caplog.messages if m.startswith("written ahead of the publish")]
    assert written == [", ".join(AHEAD)]
    first, second = checksums(by_rows), checksums(ahead)
    assert [t for t in first if t not in SKIP and first[t] != second[t]] == []
    folder = Path(ahead.url.database).parent
    assert not list(folder.glob("*.bulk-*"))  # personal data: nothing left beside the warehouse


def test_the_publish_copies_the_tables_written_ahead_instead_of_writing_them_again(
        warehouses, tmp_path, monkeypatch):
    """A block key taken out of the scratch written ahead is missing from the warehouse: the
    publish copied that file, it did not write the table a second time."""
    db = first_hour(tmp_path, warehouses, monkeypatch, "taken", "1")
    settings = load_settings()
    with sqlite_bulk.Scratch(engine(settings), batch_id_for(H1)) as ahead:
        batch_id, attempt, isolated, _ = stage_batch(settings, H1, None, ahead)
        assert isolated and set(ahead.tables) == set(AHEAD)
        staged = ahead.tables["match_key"][1]
        with sqlite3.connect(ahead.file("match_key")) as scratch:
            scratch.execute("DELETE FROM match_key WHERE block_key = (SELECT MIN(block_key) FROM match_key)")
            taken = scratch.total_changes
        stage_publish.publish(settings, batch_id, "test", (H1 - timedelta(hours=1), H1), attempt=attempt, ahead=ahead)
        assert ahead.file("match_key").exists()  # the run's own: kept by the publish, removed with the run's scratch
    assert not ahead.path.exists()
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT (SELECT COUNT(*) FROM match_key) + (SELECT COUNT(*) FROM match_key_recent)").scalar() \
            == staged - taken
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM person").scalar() > 0


def test_a_table_that_cannot_be_written_ahead_is_written_by_the_publish(warehouses, tmp_path, monkeypatch):
    """A folder where match_record's scratch file goes: that file cannot be made (a real failure
    of the driver), the other tables are written ahead, and the publish writes match_record."""
    db = first_hour(tmp_path, warehouses, monkeypatch, "blocked", "1")
    settings = load_settings()
    with sqlite_bulk.Scratch(engine(settings), batch_id_for(H1)) as ahead:
        ahead.file("match_record").mkdir(parents=True)
        batch_id, attempt, _, _ = stage_batch(settings, H1, None, ahead)
        assert set(ahead.tables) == set(AHEAD) - {"match_record"}
        stage_publish.publish(settings, batch_id, "test", (H1 - timedelta(hours=1), H1), attempt=attempt, ahead=ahead)
    assert not ahead.path.exists()
    with db.connect() as conn:
        records = conn.exec_driver_sql("SELECT COUNT(*) FROM source_record").scalar()
        assert records > 0
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM match_record").scalar() == records


def test_a_batch_below_the_scratchs_threshold_writes_nothing_ahead(warehouses, tmp_path, monkeypatch, caplog):
    first_hour(tmp_path, warehouses, monkeypatch, "small", "100000000")
    with caplog.at_level("INFO", logger="screenfuse.pipeline"):
        run_batch(load_settings(), H1)
    assert [m for m in caplog.messages if m.startswith("written ahead")] == ["written ahead of the publish: nothing"]


@pytest.fixture(autouse=True)
def _no_reports(monkeypatch):
    monkeypatch.setenv("SCREENFUSE_RUN_REPORT", "0")  # the report is not what these tests look at
