"""On PostgreSQL, `screenfuse run`'s publish of a large batch begins beside resolve (publish_ahead):
the tables known by then are copied in its transaction while the stages run, and the warehouse is
the one a publish begun after every stage gives. Nothing is seen before the commit, and a run that
fails on the way leaves nothing."""
import os
import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from first_day import first_day
from screenfuse import match_state, publish_ahead, stage_match, stage_publish
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.publish_ahead import STEPS, copy_ahead
from screenfuse.stage_process import StageKilled
from warehouse_content import checksums

H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
SKIP = {"batch_manifest", "run_log", "ingest_file"}  # file times differ between two generations
AHEAD = [table for _, tables in STEPS for table in tables]


def first_hour(tmp_path, warehouses, monkeypatch, name: str, isolated: bool) -> sa.Engine:
    """One generated day's first load on a new PostgreSQL warehouse: its stages each in a process
    of its own (as a large batch's: the publish begins ahead), or all in this process."""
    return first_day(tmp_path, warehouses, monkeypatch, name, "postgresql", "0" if isolated else "100000")


def test_a_large_first_load_copies_its_tables_ahead_and_gets_the_warehouse_of_a_publish_after_the_stages(
        warehouses, tmp_path, monkeypatch):
    monkeypatch.setattr(match_state, "RECENT_KEYS_FOLD", 100)  # this batch's keys go to match_key, as a first load's
    after = first_hour(tmp_path, warehouses, monkeypatch, "after", isolated=False)
    by_publish = run_batch(load_settings(), H1)
    assert "copied_ahead" not in by_publish
    ahead = first_hour(tmp_path, warehouses, monkeypatch, "ahead", isolated=True)
    published = run_batch(load_settings(), H1)
    assert published.pop("copied_ahead") == AHEAD
    assert published == by_publish  # the run's counts (persons, links changed, keys held...) too
    first, second = checksums(after), checksums(ahead)
    assert [t for t in first if t not in SKIP and first[t] != second[t]] == []
    with ahead.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM match_key").scalar() > 100
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM match_key_recent").scalar() == 0


def test_an_hours_block_keys_are_left_to_the_publish_which_puts_them_with_the_recent_keys(
        warehouses, tmp_path, monkeypatch):
    db = first_hour(tmp_path, warehouses, monkeypatch, "hour", isolated=True)
    published = run_batch(load_settings(), H1)
    assert published["copied_ahead"] == [t for t in AHEAD if t != "match_key"]
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM match_key").scalar() == 0
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM match_key_recent").scalar() > 0


def test_persons_links_term_counts_and_outcomes_are_copied_ahead_only_into_empty_tables(
        warehouses, tmp_path, monkeypatch):
    """An hour's persons, links, counts and outcomes replace stored rows (before-images kept): the
    publish writes them. A first load's are noted, as the publish notes them, for a take-back."""
    replaced = ["person_link", "match_term", "person", "screening_outcome"]
    assert set(replaced) <= set(AHEAD)
    db = first_hour(tmp_path, warehouses, monkeypatch, "filled", isolated=True)
    run_batch(load_settings(), H1)
    with db.connect() as conn, conn.begin():
        for table in replaced:
            assert not copy_ahead(conn, None, "20200210T1400Z", table)  # the stage is never read
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(DISTINCT changed_batch_id) FROM person_link").scalar() == 1
        undo = conn.exec_driver_sql("SELECT row_key FROM batch_undo WHERE table_name = '#empty' ORDER BY 1").scalars()
        assert set(replaced) <= set(undo)  # a take-back of the first load empties them


def test_a_run_that_fails_after_the_copies_ahead_leaves_nothing_and_runs_again(warehouses, tmp_path, monkeypatch):
    db = first_hour(tmp_path, warehouses, monkeypatch, "failed", isolated=True)

    def fuse_fails(*args, **kwargs):
        with db.connect() as conn:  # the records copied ahead are not seen before the commit
            seen = conn.exec_driver_sql("SELECT COUNT(*) FROM source_record").scalar()
        raise RuntimeError(f"fuse stopped here, {seen} records seen")

    real_fuse = stage_match.fuse
    monkeypatch.setattr(stage_match, "fuse", fuse_fails)
    with pytest.raises(RuntimeError, match="fuse stopped here, 0 records seen"):
        run_batch(load_settings(), H1)
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM source_record").scalar() == 0
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND pid <> pg_backend_pid() AND state <> 'idle'").scalar() == 0
    monkeypatch.setattr(stage_match, "fuse", real_fuse)
    published = run_batch(load_settings(), H1)
    assert published["copied_ahead"] and published["rows_accepted"] > 0
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM source_record").scalar() == published["rows_accepted"] \
            - conn.exec_driver_sql("SELECT COUNT(*) FROM screening_result").scalar()


def test_a_run_that_fails_after_every_copy_ahead_leaves_nothing(warehouses, tmp_path, monkeypatch):
    """The persons and outcomes go in while the stages after fuse run: one of those stages fails,
    and none of the rows copied ahead, nor their take-back notes, is left."""
    db = first_hour(tmp_path, warehouses, monkeypatch, "late", isolated=True)

    def planning_fails(*args, **kwargs):
        time.sleep(2)  # the persons and outcomes are being copied meanwhile
        raise RuntimeError("planning stopped here")

    monkeypatch.setattr(stage_publish, "plan_push", planning_fails)
    with pytest.raises(RuntimeError, match="planning stopped here"):
        run_batch(load_settings(), H1)
    with db.connect() as conn:
        for table in [*AHEAD, "batch_undo", "run_log"]:
            assert conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() == 0, table


def test_a_publish_killed_while_it_copies_stops_the_run_at_the_next_step(warehouses, tmp_path, monkeypatch):
    """The publish's child dies (out of memory, say) during its copies beside resolve: the run
    stops when it would tell it that resolve is done, not after fuse, with one clear error."""
    db = first_hour(tmp_path, warehouses, monkeypatch, "killed", isolated=True)
    fused = []
    monkeypatch.setattr(publish_ahead, "copy_ahead", lambda *args: os._exit(9))
    monkeypatch.setattr(stage_match, "fuse", lambda *args, **kwargs: fused.append(1))
    with pytest.raises(StageKilled, match="the stage publish ended without an answer"):
        run_batch(load_settings(), H1)
    assert fused == []
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM source_record").scalar() == 0


def test_the_same_batch_run_again_is_taken_back_before_its_copies_ahead_and_gives_the_same_warehouse(
        warehouses, tmp_path, monkeypatch):
    db = first_hour(tmp_path, warehouses, monkeypatch, "again", isolated=True)
    first = run_batch(load_settings(), H1)
    before = checksums(db)
    published = run_batch(load_settings(), H1)  # start_batch takes the published batch back
    assert published["copied_ahead"] == first["copied_ahead"] != []
    after = checksums(db)
    assert [t for t in before if t not in SKIP and before[t] != after[t]] == []


def test_a_server_that_ends_idle_transactions_does_not_end_the_publish_waiting_on_the_stages(
        warehouses, tmp_path, monkeypatch):
    """The limit is the database's while the publish's session starts, then lifted (the push
    lists' own transaction, after the publish, is not what this test looks at)."""
    db = first_hour(tmp_path, warehouses, monkeypatch, "idle", isolated=True)

    def limit(value: str) -> None:
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"ALTER DATABASE {db.url.database} {value}")
        db.dispose()

    limit("SET idle_in_transaction_session_timeout = '500ms'")

    def slow_fuse(*args, real=stage_match.fuse, **kwargs):
        time.sleep(1.5)  # the publish's transaction idles meanwhile
        limit("RESET idle_in_transaction_session_timeout")
        return real(*args, **kwargs)

    monkeypatch.setattr(stage_match, "fuse", slow_fuse)
    published = run_batch(load_settings(), H1)
    assert published["copied_ahead"] and published["persons"] > 0


@pytest.fixture(autouse=True)
def _no_reports(monkeypatch):
    monkeypatch.setenv("SCREENFUSE_RUN_REPORT", "0")  # the report is not what these tests look at
