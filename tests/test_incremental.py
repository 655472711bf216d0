"""Hourly runs that cost what the hour brought, and stay right: re-running the latest batch gives
the same warehouse (content checksums of every table), an older batch is refused without a
change, a file still being written waits, a replay from empty gives the same warehouse, and the
neighbourhood the warehouse hands the engine resolves exactly as the whole population would."""
import os
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import schema
from screenfuse.config import load_settings
from screenfuse.pipeline import BatchOrderError, run_batch
from screenfuse.synthetic import generate
from screenfuse.warehouse import engine_for
from warehouse_content import checksums

H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
H2 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)
H3 = datetime(2020, 2, 11, 14, tzinfo=timezone.utc)
def upgraded(url: str, monkeypatch) -> sa.Engine:
    """The warehouse at `url`, migrated, and the runs pointed at it."""
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    schema.upgrade(engine_for(url))
    return engine_for(url)


def three_hours(home, url, monkeypatch):
    """Day 1 in the first hour, nothing in the second, day 2 (people seen again) in the third."""
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    engine = upgraded(url, monkeypatch)
    landing = home / "landing"
    generate(400, 5, date(2020, 2, 10), landing, home / "truth")
    run_batch(load_settings(), H1)
    run_batch(load_settings(), H2)
    generate(400, 5, date(2020, 2, 11), landing, home / "truth", day_index=1)
    run_batch(load_settings(), H3)
    return engine


@pytest.fixture(scope="module")
def hours(tmp_path_factory, warehouse_url):
    """Three hours on each database (SQLite and PostgreSQL)."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("hours") / "data"
    engine = three_hours(home, warehouse_url, mp)
    yield {"engine": engine, "home": home, "mp": mp, "url": warehouse_url}
    mp.undo()


def test_rerunning_the_latest_batch_gives_the_same_warehouse(hours):
    before = checksums(hours["engine"])
    run_batch(load_settings(), H3)
    after = checksums(hours["engine"])
    assert [t for t in before if before[t] != after.get(t)] == []
    with hours["engine"].connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM batch_stage").scalar() == 0  # nothing outlives the run


def test_an_older_batch_is_refused_and_changes_nothing(hours):
    before = checksums(hours["engine"])
    with pytest.raises(BatchOrderError, match="older than the latest published batch 20200211T1400Z"):
        run_batch(load_settings(), H2)
    assert checksums(hours["engine"]) == before


def test_a_replay_from_empty_gives_the_same_warehouse(hours, warehouses, tmp_path, monkeypatch):
    """Replayed with every stage in a child process of its own, as a large batch's stages run
    (stage_process): the same warehouse as the stages run in one process."""
    monkeypatch.setenv("SCREENFUSE_STAGE_PROCESS_MB", "0")
    again = three_hours(tmp_path / "data", warehouses.new(hours["url"].split(":")[0].split("+")[0]), monkeypatch)
    hours["mp"].setenv("SCREENFUSE_WAREHOUSE_URL", hours["url"])
    first, second = checksums(hours["engine"]), checksums(again)
    skip = {"batch_manifest", "run_log", "ingest_file"}  # file times differ between the two generations
    assert [t for t in first if t not in skip and first[t] != second[t]] == []


def test_the_large_tables_through_sqlites_scratch_give_the_same_warehouse(hours, warehouses, tmp_path, monkeypatch,
                                                                        caplog):
    """SQLite's C path for a first load's large tables (sqlite_bulk), here taken by every table of
    every batch: the same warehouse as rows bound one by one, and no scratch file left."""
    if not hours["url"].startswith("sqlite"):
        pytest.skip("SQLite's path: PostgreSQL writes by COPY")
    monkeypatch.setenv("SCREENFUSE_BULK_SCRATCH_ROWS", "1")
    url = warehouses.new("sqlite")
    with caplog.at_level("INFO", logger="screenfuse.sqlite_bulk"):
        again = three_hours(tmp_path / "data", url, monkeypatch)
    hours["mp"].setenv("SCREENFUSE_WAREHOUSE_URL", hours["url"])
    copied = {m.split(":")[0] for m in caplog.messages if "copied from the scratch" in m}
    assert {"source_record", "match_record", "match_key", "person_status", "person", "person_link", "match_term"} <= copied
    # the first hour, into an empty warehouse, was written past the write-ahead log; the later ones not
    assert [m for m in caplog.messages if m.startswith("first load")] == ["first load: rollback journal for its transaction"]
    probe = sqlite3.connect(url.removeprefix("sqlite:///"))  # not through the engine: its connect sets WAL
    assert probe.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    probe.close()
    first, second = checksums(hours["engine"]), checksums(again)
    skip = {"batch_manifest", "run_log", "ingest_file"}  # file times differ between the two generations
    assert [t for t in first if t not in skip and first[t] != second[t]] == []
    assert not list(Path(url.removeprefix("sqlite:///")).parent.glob("*.bulk-*"))


def test_a_first_load_whose_scratch_writer_dies_writes_its_persons_and_links_whole(warehouses, tmp_path, monkeypatch):
    """A first load reads only the checked columns of its persons and links, which the scratch
    holds whole. Its writer killed as it starts (a real SIGKILL), every table goes row by row:
    the persons and links are then read whole, and the warehouse is the tuple path's."""
    from screenfuse import sqlite_bulk

    started = sqlite_bulk.Scratch.stage_behind

    def killed_at_once(self, jobs):
        started(self, jobs)
        if self._writer is not None:
            self._writer.kill()
            self._writer.join()

    def first_hour(name: str, scratch_rows: str):
        monkeypatch.setenv("SCREENFUSE_BULK_SCRATCH_ROWS", scratch_rows)
        monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / name))
        engine = upgraded(warehouses.new("sqlite"), monkeypatch)
        generate(400, 5, date(2020, 2, 10), tmp_path / name / "landing", tmp_path / name / "truth")
        run_batch(load_settings(), H1)
        return engine

    by_rows = first_hour("rows", "0")
    monkeypatch.setattr(sqlite_bulk.Scratch, "stage_behind", killed_at_once)
    killed = first_hour("killed", "1")
    first, second = checksums(by_rows), checksums(killed)
    skip = {"batch_manifest", "run_log", "ingest_file"}  # file times differ between the two generations
    assert [t for t in first if t not in skip and first[t] != second[t]] == []
    with killed.connect() as conn:  # every column of every person, not only those checked
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM person WHERE name IS NULL OR policy_sha256 IS NULL").scalar() == 0


def test_block_keys_name_their_records_as_text_would_whether_or_not_the_ids_repeat():
    """A batch's keys name their records through a categorical over the records' ids (staged as a
    dictionary, written as text a batch at a time), ids that repeat too: each key names its own
    record, and both stage and read back as the same text."""
    from screenfuse.batch_state import frame_bytes, frame_from
    from screenfuse.match_state import block_keys
    from screenfuse.resolve import SETTINGS, prepare_records

    records = pd.DataFrame({"source_record_id": ["a", "b", "c", "d"], "name": ["张伟", "張偉", "李娜", "王芳"],
                            "id_number": "", "phone": ["13800138000", "138-0013-8000", "", "13912345678"],
                            "phone2": "", "birth_date": "", "sex": "", "address": ""})
    prepared = prepare_records(records)
    unique = block_keys(prepared, SETTINGS)
    repeated = block_keys(prepared.assign(record_id=["a", "a", "c", "d"]), SETTINGS)
    assert isinstance(unique["record_id"].dtype, pd.CategoricalDtype)
    assert isinstance(repeated["record_id"].dtype, pd.CategoricalDtype)
    assert np.array_equal(unique["block_key"], repeated["block_key"])
    assert repeated["record_id"].tolist() == unique["record_id"].astype(str).replace({"b": "a"}).tolist()
    for keys in (unique, repeated):
        back = frame_from(frame_bytes(keys))
        assert back["record_id"].astype(str).tolist() == keys["record_id"].astype(str).tolist()
        assert back["block_key"].tolist() == keys["block_key"].tolist()


def test_a_second_hour_without_files_reads_no_file_and_writes_no_person(hours):
    with hours["engine"].connect() as conn:
        run = pd.read_sql(sa.text("SELECT * FROM run_log WHERE batch_id = '20200210T1400Z'"), conn).iloc[0]
        manifest = conn.exec_driver_sql("SELECT COUNT(*) FROM batch_manifest WHERE batch_id = '20200210T1400Z' AND feed <> ''").scalar()
        rewritten = conn.exec_driver_sql("SELECT COUNT(*) FROM person WHERE batch_id = '20200210T1400Z'").scalar()
    assert (run["files_seen"], manifest, rewritten) == (0, 0, 0)


def test_the_neighbourhood_resolves_as_the_whole_population_would(hours):
    """The third hour again, by the engine over every record (the pre-warehouse way), from the
    state after the second hour: the same person for every record."""
    from screenfuse.matching import Model, dedupe
    from screenfuse.resolve import SETTINGS

    engine = hours["engine"]
    with engine.connect() as conn:
        records = pd.read_sql(sa.text("SELECT * FROM match_record"), conn)
        links = pd.read_sql(sa.text("SELECT source_record_id, person_id, changed_batch_id, previous_person_id "
                                    "FROM person_link"), conn)
        stored = conn.exec_driver_sql("SELECT params_json FROM match_model").scalar()
    # too few records to learn from: no model is stored and both use the preset's shipped one
    model = Model.from_json(stored) if stored else Model.fallback("zh_person")
    third = records["batch_id"] == "20200211T1400Z"
    before = links[~links["source_record_id"].isin(records.loc[third, "record_id"])].copy()
    moved = before["changed_batch_id"] == "20200211T1400Z"
    before.loc[moved, "person_id"] = before.loc[moved, "previous_person_id"]
    whole = dedupe(records.drop(columns="batch_id"), SETTINGS, previous=before.rename(columns={"source_record_id": "record_id"}),
                   model=model, new_ids=records.loc[third, "record_id"].to_numpy(dtype=object))
    got = links.set_index("source_record_id")["person_id"]
    want = whole.clusters.set_index("record_id")["person_id"].reindex(got.index)
    assert third.sum() > 0 and int((got != want).sum()) == 0


def test_a_file_still_being_written_waits_for_a_later_run(tmp_path, monkeypatch):
    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    upgraded(f"sqlite:///{home / 'warehouse.db'}", monkeypatch)
    monkeypatch.setenv("SCREENFUSE_SETTLE_SECONDS", "300")
    generate(60, 3, date(2020, 2, 10), home / "landing", home / "truth")
    files = sorted((home / "landing").rglob("*.*"))
    old = datetime(2020, 2, 10, 12, tzinfo=timezone.utc).timestamp()
    for path in files[1:]:
        os.utime(path, (old, old))  # every file but one was written long ago
    first = run_batch(load_settings(), H1)
    assert first["files_seen"] == len(files) - 1
    os.utime(files[0], (old, old))  # the writer is done
    second = run_batch(load_settings(), H2)
    assert second["files_seen"] == 1


def test_a_file_with_a_time_ahead_settles_by_when_it_landed(tmp_path, monkeypatch):
    """Unzipped on a UTC server, an archive made in Wuhan gives its files times eight hours ahead:
    such a file settles by when it landed (its inode's change), not eight hours later."""
    import time

    from screenfuse.contracts import load_contracts
    from screenfuse.landing import take_files

    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    engine = upgraded(f"sqlite:///{home / 'warehouse.db'}", monkeypatch)
    generate(30, 3, date(2020, 2, 10), home / "landing", home / "truth")
    files = sorted((home / "landing").rglob("*.*"))
    ahead = time.time() + 8 * 3600
    os.utime(files[0], (ahead, ahead))
    _, now = take_files(engine, "b1", home / "landing", load_contracts(), 300)
    assert now["waiting"] == len(files)  # just landed: all wait
    later = time.time() + 400
    manifest, counts = take_files(engine, "b2", home / "landing", load_contracts(), 300, now=later)
    assert counts["waiting"] == 0 and files[0].name in set(manifest["file_name"])


def test_a_file_rewritten_after_its_batch_took_it_is_not_loaded_under_the_old_content(tmp_path, monkeypatch):
    """A unit resends a file under the same name after the hour took it, and the hour is re-run
    (cleared in Airflow): the re-run finds bytes that are not those its manifest registered. It
    loads none of them under the old content's hash (they used to be loaded, then loaded again by
    the next hour as a new delivery: every row twice); the next hour takes the new content once."""
    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    engine = upgraded(f"sqlite:///{home / 'warehouse.db'}", monkeypatch)
    generate(40, 4, date(2020, 2, 10), home / "landing", home / "truth")
    run_batch(load_settings(), H1)
    target = sorted((home / "landing" / "checkpoint").glob("*.csv"))[0]
    before = target.read_bytes()
    target.write_bytes(before + before.splitlines(keepends=True)[1])  # one row more: another content
    run_batch(load_settings(), H1)  # the re-run
    files = pd.read_sql(sa.text("SELECT batch_id, file_name, status, reason, rows_read FROM ingest_file "
                                f"WHERE file_name = '{target.name}'"), engine)
    assert files[["status", "rows_read"]].values.tolist() == [["changed", 0]]
    assert "changed since this batch took it" in files["reason"].iloc[0]
    assert not (home / "quarantine" / "20200210T1300Z" / "checkpoint" / target.name).exists()  # not the batch's bytes
    run_batch(load_settings(), H2)
    files = pd.read_sql(sa.text(f"SELECT batch_id, status, rows_read FROM ingest_file WHERE file_name = '{target.name}' "
                                "ORDER BY batch_id"), engine)
    rows = len(before.decode("utf-8-sig").strip().splitlines())  # the header, then the rows: one more than before
    assert files.values.tolist() == [["20200210T1300Z", "changed", 0], ["20200210T1400Z", "loaded", rows]]
    stored = pd.read_sql(sa.text(f"SELECT COUNT(*) AS n FROM source_record WHERE file_name = '{target.name}'"), engine)
    assert stored["n"].iloc[0] == rows


def test_block_keys_are_stable_and_skip_empty_parts():
    from screenfuse.match_state import block_keys
    from screenfuse.resolve import SETTINGS, prepare_records

    records = pd.DataFrame({"source_record_id": ["a", "b", "c"], "name": ["张伟", "張偉", ""],
                            "id_number": ["", "", ""], "phone": ["13800138000", "138-0013-8000", ""],
                            "phone2": "", "birth_date": "", "sex": "", "address": ""})
    keys = block_keys(prepare_records(records), SETTINGS)
    assert set(keys["record_id"]) == {"a", "b"}  # c has no value for any rule
    by_record = keys.groupby("record_id")["block_key"].apply(frozenset)
    assert by_record["a"] == by_record["b"]  # same phone, same pinyin: the same keys
    assert np.array_equal(block_keys(prepare_records(records), SETTINGS)["block_key"], keys["block_key"])
    # the values themselves: the warehouse holds keys of earlier releases, which a new hash would orphan
    mine = keys[keys["record_id"] == "a"]
    assert dict(zip(mine["rule"].tolist(), mine["block_key"].tolist())) == {
        1: -4801014390091589233, 6: -444655066649774452, 7: -6643143792540214931}


def test_each_task_on_its_own_host_gives_the_same_warehouse(tmp_path, monkeypatch):
    """Every task with its own private folder (as separate Celery workers would have), sharing only
    the landing folder and the warehouse: the same warehouse as one process."""
    from dataclasses import replace

    from screenfuse import pipeline, stage_ingest, stage_match, stage_outbox, stage_publish

    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "one"))
    generate(200, 9, date(2020, 2, 10), tmp_path / "one" / "landing", tmp_path / "truth")
    one = upgraded(f"sqlite:///{tmp_path / 'one' / 'warehouse.db'}", monkeypatch)
    run_batch(load_settings(), H1)
    one = checksums(one)

    upgraded(f"sqlite:///{tmp_path / 'shared.db'}", monkeypatch)
    shared = load_settings(f"sqlite:///{tmp_path / 'shared.db'}")
    hosts = iter(range(100))

    def host():  # a fresh private folder for each task, the landing folder and warehouse shared
        return replace(shared, home=tmp_path / f"host{next(hosts)}", landing=tmp_path / "one" / "landing")

    batch = pipeline.batch_id_for(H1)
    feeds = pipeline.start_batch(host(), batch)["feeds"]
    for feed in feeds:
        stage_ingest.ingest_feed(host(), batch, feed)
    for feed in feeds:
        stage_ingest.validate_feed(host(), batch, feed)
    stage_match.resolve(host(), batch)
    stage_match.fuse(host(), batch, H1)
    stage_publish.rate_communities(host(), batch)
    stage_publish.check_zero_reports(host(), batch, H1)
    stage_publish.plan_push(host(), batch, H1)
    stage_publish.publish(host(), batch, "cli", (H1.replace(hour=12), H1))
    stage_outbox.write_push_lists(host(), batch)
    pipeline.finish_batch(host(), batch)
    spread = checksums(engine_for(shared.warehouse_url))
    assert spread.keys() == one.keys()
    assert [t for t in one if one[t] != spread[t]] == []
    assert sorted(p.name for p in (tmp_path / "one" / "outbox" / batch).iterdir()) == sorted(
        p.name for p in next(tmp_path.glob("host*/outbox")).joinpath(batch).iterdir())


def test_rerunning_an_hour_that_took_no_file_takes_none_of_the_files_landed_since(tmp_path, monkeypatch):
    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    upgraded(f"sqlite:///{home / 'warehouse.db'}", monkeypatch)
    generate(40, 4, date(2020, 2, 10), home / "landing", home / "truth")
    run_batch(load_settings(), H1)
    assert run_batch(load_settings(), H2)["files_seen"] == 0
    generate(40, 4, date(2020, 2, 11), home / "landing", home / "truth", day_index=1)
    assert run_batch(load_settings(), H2)["files_seen"] == 0  # the re-run takes its own (empty) manifest
    assert run_batch(load_settings(), H3)["files_seen"] > 0


def test_persons_left_alone_are_what_fusing_everyone_would_give(hours):
    """The persons an hour did not touch keep their rows: fusing every person again at the last
    hour gives the same status, measure and list for each (nobody left out of focus)."""
    from screenfuse.fuse import fuse_persons
    from screenfuse.gazetteer import load_gazetteer
    from screenfuse.mass_screening import OUTCOME_COLUMNS, attach_outcomes
    from screenfuse.policy import configured_policy_text, parse_policy
    from screenfuse.contracts import person_feeds

    engine = hours["engine"]
    with engine.connect() as conn:
        records = pd.read_sql(sa.text("SELECT * FROM source_record"), conn)
        links = pd.read_sql(sa.text("SELECT source_record_id, person_id FROM person_link"), conn)
        stored = pd.read_sql(sa.text("SELECT person_id, status, measure, responsible_list FROM person"), conn)
    text, source = configured_policy_text()
    policy = parse_policy(text, source=source, feeds=person_feeds())
    records = attach_outcomes(records, pd.DataFrame(columns=OUTCOME_COLUMNS))
    everyone = fuse_persons(records, links, load_gazetteer().streets, "2020-02-11T14:00:00Z", policy)
    both = stored.merge(everyone, on="person_id", suffixes=("", "_all"))
    assert len(both) == len(stored) == len(everyone)
    differ = both[(both["status"] != both["status_all"]) | (both["measure"].fillna("") != both["measure_all"].fillna(""))
                  | (both["responsible_list"] != both["responsible_list_all"])]
    assert len(differ) == 0, differ[["person_id", "status", "status_all", "measure", "measure_all"]].head().to_dict("records")


def test_upgrading_a_warehouse_with_records_rebuilds_their_matching_state(tmp_path, monkeypatch):
    """Revision 0002 on a warehouse that already holds records (made before it) fills the matching
    state as the runs would have, and brings every person with a status back into focus."""
    import importlib

    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    engine = upgraded(f"sqlite:///{home / 'warehouse.db'}", monkeypatch)
    generate(80, 6, date(2020, 2, 10), home / "landing", home / "truth")
    run_batch(load_settings(), H1)
    state = ("match_record", "match_key", "match_term")
    # match_record.document is revision 0006's (its backfill fills it; see test_documents)
    # the block keys wherever they are (an hour's in match_key_recent; the backfill's in match_key)
    whole = {"match_key": "SELECT * FROM match_key UNION ALL SELECT * FROM match_key_recent"}
    read = lambda conn, t: pd.read_sql(sa.text(whole.get(t, f"SELECT * FROM {t}")), conn).drop(  # noqa: E731
        columns=["batch_id", "document"], errors="ignore").astype(str)
    with engine.begin() as conn:
        before = {t: read(conn, t) for t in state}
        for t in (*state, "match_key_recent"):
            conn.exec_driver_sql(f"DELETE FROM {t}")
        importlib.import_module("screenfuse.migrations.versions.0002_incremental_state")._backfill(conn)
        # as an upgrade runs it: IDs converted from 15 digits are no distinct key (revision 0022)
        importlib.import_module("screenfuse.migrations.versions.0022_old_ids_untrusted").untrust_converted(conn)
        after = {t: read(conn, t) for t in state}
        refocus = conn.exec_driver_sql("SELECT COUNT(*) FROM person WHERE next_change_at = '1970-01-01T00:00:00Z'").scalar()
        with_status = conn.exec_driver_sql("SELECT COUNT(*) FROM person WHERE status <> 'none'").scalar()
    for t in state:
        key = list(before[t].columns)
        assert before[t].sort_values(key).reset_index(drop=True).equals(after[t].sort_values(key).reset_index(drop=True)), t
    assert refocus == with_status > 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_revision_0031_finds_the_keys_an_earlier_publish_did_not_keep(tmp_path, monkeypatch, warehouses, kind):
    """A batch published before revision 0031 kept no key of the rows it created: the revision
    finds them through the batch indexes it then drops, so that batch is still taken back whole.
    What it finds equals what a publish keeps (a first load's tables marked empty, an hour's
    created keys beside its images), and, for `zero_report_check`, whose new rows the publish
    inserts and sql/publish/delete_batch.sql takes back, more than it needs."""
    import importlib

    revision = importlib.import_module("screenfuse.migrations.versions.0031_undo_by_kept_keys")
    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "data"))
    engine = upgraded(warehouses.new(kind), monkeypatch)  # its own: the module's warehouse holds later hours
    landing = tmp_path / "data" / "landing"
    kept = "SELECT table_name, row_key FROM batch_undo WHERE row_json IS NULL AND table_name <> '#batch'"
    found = []
    for day, hour in enumerate((H1, H3)):
        generate(120, 8, date(2020, 2, 10 + day), landing, tmp_path / "data" / "truth", day_index=day)
        run_batch(load_settings(), hour)
        with engine.begin() as conn:
            published = pd.read_sql(sa.text(kept), conn).sort_values(["table_name", "row_key"], ignore_index=True)
            conn.execute(sa.text("DELETE FROM batch_undo WHERE table_name <> '#batch' AND row_json IS NULL"))
            for index, table in revision.DROPPED.items():  # as an earlier revision left the warehouse
                conn.exec_driver_sql(f"CREATE INDEX {index} ON {table} (batch_id)")
            revision.keep_created_keys(conn)
            for index in revision.DROPPED:
                conn.exec_driver_sql(f"DROP INDEX {index}")
            again = pd.read_sql(sa.text(kept), conn).sort_values(["table_name", "row_key"], ignore_index=True)
        days = (again["table_name"] == "zero_report_check") | (again["row_key"] == "zero_report_check")
        pd.testing.assert_frame_equal(again[~days].reset_index(drop=True), published)
        found.append(published)
    assert set(found[0]["table_name"]) == {"#empty"} and {"person", "person_link", "match_term"} <= set(found[0]["row_key"])
    assert {"person", "person_link", "match_term"} <= set(found[1]["table_name"])  # the second hour created rows
    before = checksums(engine)
    run_batch(load_settings(), H3)  # taken back by the keys the revision found, and run again
    after = checksums(engine)
    assert after.pop("batch_undo") != before.pop("batch_undo")  # the publish's own keys, not the revision's superset
    assert after == before


def test_a_batch_published_meanwhile_stops_a_publish_and_a_batch_without_images_is_not_taken_back(tmp_path, monkeypatch):
    from screenfuse import pipeline, stage_publish

    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    engine = upgraded(f"sqlite:///{home / 'warehouse.db'}", monkeypatch)
    generate(60, 8, date(2020, 2, 10), home / "landing", home / "truth")
    run_batch(load_settings(), H1)
    settings = load_settings()
    late = pipeline.stage_batch(settings, H3).batch_id  # H3 starts from H1 ...
    run_batch(load_settings(), H2)  # ... while H2 is published
    before = checksums(engine)
    with pytest.raises(BatchOrderError, match="20200210T1400Z was published while batch 20200211T1400Z ran"):
        stage_publish.publish(settings, late, "cli", (H3.replace(hour=13), H3))
    after = checksums(engine)
    assert [t for t in before if t != "batch_stage" and before[t] != after[t]] == []  # nothing written
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT MAX(batch_id) FROM run_log").scalar() == "20200210T1400Z"

    pipeline.start_batch(settings, pipeline.batch_id_for(H2))  # H2 taken back (its re-run then fails) ...
    with pytest.raises(BatchOrderError, match="batch 20200210T1300Z cannot be taken back"):
        run_batch(load_settings(), H1)  # ... so H1 is the latest again, but its images are gone


def test_the_hours_contact_edges_are_those_of_every_record_recomputed(hours):
    """The edges the hours kept up by index look-ups are the edges of every record naming an index
    case resolved again from the whole warehouse (what revision 0010 fills the table with)."""
    from screenfuse.contact_edges import EDGE_COLUMNS, all_edges

    with hours["engine"].connect() as conn:
        stored = pd.read_sql(sa.text(f"SELECT {', '.join(EDGE_COLUMNS)} FROM contact_edge"), conn)
        whole = all_edges(conn)
    assert int((stored["resolution"] == "id_number").sum()) > 0
    shown = [f.astype(object).where(f.notna(), None).sort_values("source_record_id", ignore_index=True)
             for f in (stored, whole)]
    assert shown[0].equals(shown[1])


def test_each_run_says_which_model_it_used_and_the_shipped_one_is_never_stored(hours):
    """Hours of a few hundred records are too few to learn from: the preset's shipped model is
    used, said so in run_log with the prior for the warehouse's size, and not stored as trained
    (a later, larger batch can then learn one)."""
    with hours["engine"].connect() as conn:
        runs = pd.read_sql(sa.text("SELECT batch_id, match_model, match_model_reason, match_prior, match_population "
                                   "FROM run_log ORDER BY batch_id"), conn)
        stored = conn.exec_driver_sql("SELECT COUNT(*) FROM match_model").scalar()
        records = conn.exec_driver_sql("SELECT COUNT(*) FROM match_record").scalar()
    assert stored == 0
    assert set(runs["match_model"]) == {"shipped:zh_person"}
    assert runs["match_model_reason"].str.startswith("too few records to learn from").all()
    assert runs["match_population"].iloc[-1] == records and runs["match_prior"].gt(0).all()


def test_a_remembered_pair_the_latest_batch_put_together_is_resolved_again(tmp_path, monkeypatch):
    """still_together reads the pairs of the records the latest batch moved (by index): a pair
    joined by that batch comes back for resolving; a pair apart, or one no batch since moved, does not."""
    from screenfuse import warehouse
    from screenfuse.match_state import still_together

    engine = upgraded(f"sqlite:///{tmp_path / 'w.db'}", monkeypatch)
    links = pd.DataFrame({"source_record_id": ["a", "b", "c", "d", "e", "f"],
                          "person_id": ["P1", "P1", "P2", "P3", "P4", "P4"], "match_rule": "linked",
                          "changed_batch_id": ["B2", "B1", "B2", "B2", "B1", "B1"]})
    pairs = pd.DataFrame({"left_record_id": ["a", "c", "e"], "right_record_id": ["b", "d", "f"],
                          "source": "feedback", "batch_id": "B1"})
    with engine.begin() as conn:
        warehouse.bulk_insert(conn, "person_link", links)
        warehouse.bulk_insert(conn, "match_cannot_link", pairs)
        assert still_together(conn, "B2") == ["a", "b"]  # together since B2; c/d are apart
        assert still_together(conn, "B1") == ["a", "b", "e", "f"]  # b moved in B1: its pair is checked
        assert still_together(conn, None) == []  # nothing published yet


def test_an_hour_that_folds_the_recent_keys_reruns_to_the_same_warehouse(hours, warehouses, tmp_path, monkeypatch):
    """The fold at publish (match_state.key_table), on each database: the first load's keys fill
    the recent keys' table to the (lowered) fold size, so the next hour with keys moves them into
    match_key and puts its own in the emptied table; run_log counts what the table holds; a
    re-run of that hour gives the same warehouse."""
    from screenfuse import match_state

    url = warehouses.new(hours["url"].split(":")[0].split("+")[0])
    home = tmp_path / "data"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    engine = upgraded(url, monkeypatch)
    generate(400, 5, date(2020, 2, 10), home / "landing", home / "truth")
    run_batch(load_settings(), H1)

    def keys(table: str) -> set:
        with engine.connect() as conn:
            return set(map(tuple, conn.exec_driver_sql(f"SELECT block_key, record_id FROM {table}").all()))

    def held(batch: str) -> int:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT recent_keys FROM run_log WHERE batch_id = :b"), {"b": batch}).scalar()

    first = keys("match_key_recent")
    assert keys("match_key") == set() and held("20200210T1300Z") == len(first) > 0
    monkeypatch.setattr(match_state, "RECENT_KEYS_FOLD", len(first))
    generate(150, 6, date(2020, 2, 11), home / "landing", home / "truth", day_index=1)
    run_batch(load_settings(), H3)
    hour = keys("match_key_recent")
    assert 0 < len(hour) < len(first)  # an hour's keys, fewer than a fold: not written to match_key at once
    assert keys("match_key") == first and not hour & first and held("20200211T1400Z") == len(hour)
    before = checksums(engine)
    run_batch(load_settings(), H3)
    after = checksums(engine)
    assert [t for t in before if before[t] != after.get(t)] == []
    hours["mp"].setenv("SCREENFUSE_WAREHOUSE_URL", hours["url"])
