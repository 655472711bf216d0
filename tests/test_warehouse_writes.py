"""What a publish writes: a person whose row comes out the same is left alone (no rewrite, no
before-image), a changed one is replaced and can be taken back, a first load into empty tables
writes everything; the output audit (real Great Expectations) catches what BI relies on."""
import pandas as pd
import pytest
from hypothesis import given, strategies as st
import sqlalchemy as sa

from screenfuse import batch_rows, schema, warehouse
from screenfuse.validation import audit_persons, orphan_links

STATUSES = ("confirmed", "close_contact", "none")


def person(pid: str, status: str = "none", as_of: str = "2020-02-10T13:00:00Z", **more) -> dict:
    return {"person_id": pid, "responsible_list": "中南路街道", "status": status, "measure": more.pop("measure", ""),
            "n_records": more.pop("n_records", 1), "feeds": "community", "as_of": as_of, **more}


def stored(conn) -> pd.DataFrame:
    return warehouse.query_frame(conn, "SELECT person_id, status, batch_id, as_of FROM person ORDER BY person_id")


def test_a_row_that_comes_out_the_same_is_not_rewritten_and_a_changed_one_can_be_taken_back(migrated_conn):
    first = pd.DataFrame([person("P1"), person("P2"), person("P3", n_records=2)])
    existed, written = batch_rows.replace_rows(migrated_conn, "B1", "person", "person_id", first, same_unless=("as_of",))
    assert (existed, len(written)) == (set(), 3)  # a first load: nothing stored, everything written

    later = "2020-02-10T14:00:00Z"
    again = pd.DataFrame([person("P1", as_of=later), person("P2", "confirmed", as_of=later),
                          person("P3", n_records=2, as_of=later), person("P4", as_of=later)])
    existed, written = batch_rows.replace_rows(migrated_conn, "B2", "person", "person_id", again, same_unless=("as_of",))
    assert existed == {"P1", "P2", "P3"}
    assert sorted(written["person_id"]) == ["P2", "P4"]  # P1 and P3 came out the same
    rows = stored(migrated_conn).set_index("person_id")
    assert rows["batch_id"].to_dict() == {"P1": "B1", "P2": "B2", "P3": "B1", "P4": "B2"}
    assert rows.loc["P1", "as_of"] == "2020-02-10T13:00:00Z"
    images = warehouse.query_frame(migrated_conn, "SELECT row_key FROM batch_undo WHERE batch_id = 'B2' "
                                                  "AND row_json IS NOT NULL")
    assert images["row_key"].tolist() == ["P2"]  # only the row it replaced

    batch_rows.undo_batch(migrated_conn, "B2")
    back = stored(migrated_conn).set_index("person_id")
    assert back["status"].to_dict() == {"P1": "none", "P2": "none", "P3": "none"}
    assert set(back["batch_id"]) == {"B1"}


def test_without_same_unless_every_row_in_the_frame_is_rewritten(migrated_conn):
    batch_rows.replace_rows(migrated_conn, "B1", "person", "person_id", pd.DataFrame([person("P1")]))
    _, written = batch_rows.replace_rows(migrated_conn, "B2", "person", "person_id", pd.DataFrame([person("P1")]))
    assert len(written) == 1 and stored(migrated_conn)["batch_id"].tolist() == ["B2"]


def test_the_person_audit_catches_what_bi_relies_on():
    good = pd.DataFrame([person("P1"), person("P2", "confirmed")])
    assert audit_persons(good, STATUSES) == []
    assert audit_persons(good.iloc[0:0], STATUSES) == []
    bad = pd.DataFrame([person("P1"), person("P1", "recovered_somehow"), person("P3", n_records=0)])
    assert set(audit_persons(bad, STATUSES)) == {"person_id not unique", "unknown status", "person without records"}


@pytest.mark.parametrize("persons_kind", ["string[pyarrow]", object])
@pytest.mark.parametrize("links_kind", ["string[pyarrow]", "string[python]", object])
def test_a_link_to_a_person_the_batch_did_not_fuse_is_an_orphan(persons_kind, links_kind):
    persons = pd.DataFrame({"person_id": pd.Series(["P1", "P2"], dtype=persons_kind)})
    links = lambda ids: pd.DataFrame({"person_id": pd.Series(ids, dtype=links_kind)})  # noqa: E731
    assert orphan_links(persons, links(["P1", "P2", "P1"])) == ""
    assert orphan_links(persons, links(["P1", "P9"])).startswith("1 linked person id")
    assert orphan_links(persons, links(["P9", "P1", "P9", "P8"])).startswith("2 linked person id")
    assert orphan_links(persons, links(["P1", None])).startswith("1 linked person id")  # a link to no id at all
    assert orphan_links(persons.iloc[0:0], links(["P1"])).startswith("1 linked person id")
    assert orphan_links(persons, links([])) == ""


def test_ids_that_are_not_all_text_are_compared_as_they_are():
    persons = pd.DataFrame({"person_id": [1, 2]})
    assert orphan_links(persons, pd.DataFrame({"person_id": [1, 2]})) == ""
    assert orphan_links(persons, pd.DataFrame({"person_id": pd.Series([1, "1", "2"], dtype=object)})).startswith("2 linked")


def _indexes(engine) -> list:
    with engine.connect() as c:
        return c.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                 "AND tbl_name = 'person' ORDER BY name").fetchall()


def test_a_bulk_load_into_an_empty_sqlite_table_builds_its_indexes_after_the_rows(warehouses, monkeypatch):
    """A first load drops a table's secondary indexes and builds them from the rows (faster than
    a million random inserts): afterwards they are all there, answer look-ups, and a failed load
    rolls them back with the rows."""
    monkeypatch.setattr(warehouse, "INDEX_AFTER_ROWS", 3)
    engine = warehouse.engine_for(warehouses.new("sqlite"))
    schema.upgrade(engine)
    made = _indexes(engine)
    assert any(name == "ix_person_status" for name, _ in made)
    rows = pd.DataFrame([person(f"P{i}", STATUSES[i % 3], batch_id="B1") for i in range(9)])

    with pytest.raises(RuntimeError), engine.begin() as conn:
        warehouse.lock_for_publish(conn)
        warehouse.bulk_insert(conn, "person", rows)
        raise RuntimeError("the publish failed after the load")
    assert _indexes(engine) == made

    with engine.begin() as conn:
        warehouse.lock_for_publish(conn)
        assert warehouse.bulk_insert(conn, "person", rows) == 9
    assert _indexes(engine) == made
    with engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT person_id FROM person WHERE status = 'confirmed'"))
        assert "ix_person_status" in plan
        found = conn.exec_driver_sql("SELECT person_id FROM person INDEXED BY ix_person_status "
                                     "WHERE status = 'confirmed' ORDER BY person_id").scalars().all()
        assert found == ["P0", "P3", "P6"]
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    with engine.begin() as conn:  # not empty any more: a later batch inserts into the indexes as they are
        warehouse.lock_for_publish(conn)
        warehouse.bulk_insert(conn, "person", pd.DataFrame([person(f"Q{i}", batch_id="B2") for i in range(5)]))
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM person INDEXED BY ix_person_status "
                                    "WHERE status = 'none'").scalar() == 8


def test_sqlite_is_never_analyzed_after_a_bulk_load(warehouses):
    """SQLite plans the runs' queries well without statistics: refresh_statistics leaves it alone."""
    engine = warehouse.engine_for(warehouses.new("sqlite"))
    schema.upgrade(engine)
    assert not schema.refresh_statistics(engine, 1_000_000, 0)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar() == 0


def test_a_failed_analyze_after_a_published_bulk_load_is_a_warning_not_a_failure():
    """The batch is committed before ANALYZE: a server gone by then must not fail the publish task."""
    gone = warehouse.engine_for("postgresql+psycopg://nobody:none@127.0.0.1:1/warehouse")  # nothing listens there
    assert not schema.refresh_statistics(gone, 1_000_000, 0)


def test_a_run_takes_the_statistics_of_its_bulk_load_beside_the_push_lists(warehouses, tmp_path, monkeypatch):
    """`screenfuse run` refreshes them after its publish (pipeline.run_batch), not inside it: a
    bulk load (here: from 10 records) leaves the tables analyzed and says so."""
    from datetime import date, datetime, timezone

    from screenfuse.config import load_settings
    from screenfuse.pipeline import run_batch
    from screenfuse.synthetic import generate

    url = warehouses.new("postgresql")
    schema.upgrade(warehouse.engine_for(url))
    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    monkeypatch.setattr(schema, "STATISTICS_AFTER_ROWS", 10)
    generate(30, 3, date(2020, 2, 10), tmp_path / "data" / "landing", tmp_path / "truth")
    published = run_batch(load_settings(), datetime(2020, 2, 10, 13, tzinfo=timezone.utc))
    assert published["statistics_refreshed"] is True and published["persons_before"] == 0
    with warehouse.engine_for(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'source_record' "
                                    "AND last_analyze IS NOT NULL").scalar() == 1


def test_a_look_up_on_a_column_empty_in_most_rows_reads_by_index_on_postgresql(warehouses):
    """`contact_of_id` is empty in nearly every record. Behind a temporary key table PostgreSQL
    cannot see the keys, takes each for the common empty value and reads the whole table, every
    hour; the keys as one array parameter let it see they are rare and read by the index."""
    engine = warehouse.engine_for(warehouses.new("postgresql"))
    schema.upgrade(engine)
    n = 30_000
    ids = [f"4201{i:014d}" for i in range(n)]
    rows = pd.DataFrame({"source_record_id": [f"r{i}" for i in range(n)], "batch_id": "B1", "feed": "community",
                         "file_name": "f.csv", "file_sha256": "0" * 64, "row_number": range(n),
                         "id_number": ids, "contact_of_id": [ids[i - 1] if i in (10_000, 20_000) else "" for i in range(n)]})
    with engine.begin() as conn:
        warehouse.bulk_insert(conn, "source_record", rows)
        conn.exec_driver_sql("ANALYZE source_record")
    wanted = [ids[9_999], ids[19_999], ids[5]]
    sent = []  # the look-up exactly as rows_by_keys sends it, planned again with its parameters
    keep = lambda conn, cursor, statement, parameters, context, many: sent.append((statement, parameters)) \
        if statement.startswith("SELECT source_record_id FROM source_record") else None  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        with engine.begin() as conn:
            found = warehouse.rows_by_keys(conn, "source_record", "contact_of_id", wanted, columns="source_record_id")
            assert sorted(found["source_record_id"]) == ["r10000", "r20000"]
            assert len(sent) == 1
            with conn.connection.driver_connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sent[0][0], sent[0][1])
                plan = " ".join(r[0] for r in cursor.fetchall())
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    assert "Seq Scan on source_record" not in plan, plan
    assert "ix_source_record_contact_of" in plan, plan


@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=1, max_size=30),
       st.sampled_from(["str", "string[pyarrow]", "string[python]", "object"]))
def test_bulk_rows_carry_every_text_column_kind_as_plain_values(values, dtype):
    """Whatever string type a frame's column has, the rows written carry its texts, and None for a
    missing value (never the text 'nan', nor a float NaN)."""
    column = pd.Series(values, dtype=dtype)
    written = warehouse._values(column.iloc[::-1])
    assert written == [None if v is None else v for v in values[::-1]]
    assert all(v is None or type(v) is str for v in written)


def _changed_row_by_row(frame, stored, key, ignore):
    """What `_changed` must give: each row's values as written, compared as a tuple with the
    stored row's of the same key."""
    columns = [c for c in frame.columns if c in stored.columns and c not in ignore and c != key]
    old = dict(zip(stored[key].astype(str).tolist(), warehouse._tuples(stored, columns)))
    new = warehouse._tuples(frame, columns)
    return [old.get(k) != row for k, row in zip(frame[key].astype(str).tolist(), new)]


_TEXT = st.one_of(st.none(), st.sampled_from(["", "a", "中南路", "1", "nan"]))
_NUMBER = st.one_of(st.none(), st.sampled_from([0, 1, 2]), st.just(float("nan")), st.just(1.0))


@given(st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3", "P4", "P5"]), _TEXT, _NUMBER, _TEXT), max_size=6,
                unique_by=lambda row: row[0]),
       st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3", "P6"]), _TEXT, _NUMBER, _TEXT), max_size=5,
                unique_by=lambda row: row[0]),
       st.booleans())
def test_the_rows_that_changed_are_those_whose_written_values_differ(new_rows, stored_rows, arrow):
    columns = ["person_id", "status", "n_records", "as_of"]
    frame = pd.DataFrame(new_rows, columns=columns)
    if arrow:  # as staged (pandas' own strings, numbers with gaps) against as read (Python objects)
        frame = frame.astype({"person_id": "str", "status": "str", "n_records": "Float64"})
    stored_frame = pd.DataFrame(stored_rows, columns=columns).astype(object)
    expected = _changed_row_by_row(frame, stored_frame, "person_id", {"as_of"})
    got = batch_rows._changed(frame, stored_frame, "person_id", {"as_of"})
    assert got["person_id"].tolist() == frame["person_id"][expected].tolist()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_first_load_whose_persons_fail_the_audit_publishes_nothing(kind, warehouses, tmp_path, monkeypatch):
    """The audit of a first load's persons comes after its largest tables are copied (while Great
    Expectations is imported beside, `validation.ImportBeside`), inside the one transaction: a
    failed audit leaves the warehouse as empty as it was, and the batch can be run again."""
    from datetime import date, datetime, timezone

    from screenfuse import pipeline, stage_ingest, stage_match, sqlite_bulk, stage_publish, validation
    from screenfuse.config import load_settings
    from screenfuse.synthetic import generate

    url = warehouses.new(kind)
    schema.upgrade(warehouse.engine_for(url))
    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    monkeypatch.setenv(sqlite_bulk.VARIABLE, "1")  # SQLite: every table through the scratch, as a first load's
    monkeypatch.setattr(validation, "GX_BESIDE_FROM", 1)
    generate(30, 3, date(2020, 2, 10), tmp_path / "data" / "landing", tmp_path / "truth")
    settings, end = load_settings(), datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
    batch = pipeline.batch_id_for(end)
    for feed in pipeline.start_batch(settings, batch)["feeds"]:
        stage_ingest.ingest_feed(settings, batch, feed)
        stage_ingest.validate_feed(settings, batch, feed)
    stage_match.resolve(settings, batch)
    stage_match.fuse(settings, batch, end)
    for stage in (stage_publish.plan_push, stage_publish.check_zero_reports):
        stage(settings, batch, end)
    stage_publish.rate_communities(settings, batch)
    stage = pipeline.state(settings, batch)
    persons = stage.get("persons")
    stage.put("persons", persons.assign(status="no_such_status"))  # a status the policy does not know
    with pytest.raises(RuntimeError, match="output audit failed, nothing published: unknown status"):
        stage_publish.publish(settings, batch, "cli", (end.replace(hour=12), end))
    with warehouse.engine_for(url).connect() as conn:
        held = {t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar()
                for t in ("person", "person_link", "source_record", "match_key", "run_log")}
    assert held == dict.fromkeys(held, 0)
    stage.put("persons", persons)
    assert stage_publish.publish(settings, batch, "cli", (end.replace(hour=12), end))["persons"] == len(persons)
