"""A batch's writes to stored tables (screenfuse.batch_rows): a stored row is updated where it
lies, with the same values a delete and insert would leave (a column the frame lacks takes its
default), rows named for deletion go, and taking the batch back restores every row exactly."""
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from screenfuse import batch_rows, schema, warehouse


def person(pid: str, status: str = "none", **more) -> dict:
    return {"person_id": pid, "responsible_list": "中南路街道", "status": status, "n_records": 1,
            "feeds": "community", "as_of": "2020-02-10T13:00:00Z", **more}


def table(conn, name: str, key: str) -> pd.DataFrame:
    return warehouse.query_frame(conn, f"SELECT * FROM {name} ORDER BY {key}").set_index(key)


def test_stored_rows_are_updated_where_they_lie_and_taken_back_exactly(migrated_conn):
    first = [person("P1", measure="居家观察", next_change_at="2020-02-12T00:00:00Z"), person("P2"), person("P3")]
    batch_rows.replace_rows(migrated_conn, "B1", "person", "person_id", pd.DataFrame(first))
    # a row into a table that is not empty: the update path from here on
    batch_rows.replace_rows(migrated_conn, "B1b", "person", "person_id", pd.DataFrame([person("P0")]))
    before = table(migrated_conn, "person", "person_id")
    sqlite = not warehouse.is_postgres(migrated_conn)
    rowids = dict(migrated_conn.exec_driver_sql("SELECT person_id, rowid FROM person").fetchall()) if sqlite else {}

    later = [person("P1", "confirmed", next_change_at="2020-02-12T00:00:00Z"),  # status changes, measure gone
             person("P2", n_records=3), person("P4")]  # P2: an unindexed column only; P4 new
    existed, written = batch_rows.replace_rows(migrated_conn, "B2", "person", "person_id", pd.DataFrame(later),
                                               delete_keys=["P3", "P9"])
    assert existed == {"P1", "P2", "P3"} and len(written) == 3
    after = table(migrated_conn, "person", "person_id")
    assert sorted(after.index) == ["P0", "P1", "P2", "P4"]
    assert after.loc["P1", ["status", "measure", "next_change_at", "batch_id"]].tolist() == \
        ["confirmed", None, "2020-02-12T00:00:00Z", "B2"]  # the measure the frame lacks: NULL, as an insert
    assert after.loc["P2", ["status", "n_records", "batch_id"]].tolist() == ["none", 3, "B2"]
    assert after.loc["P0", "batch_id"] == "B1b"  # a row the batch did not name is not touched
    if sqlite:  # updated where they lie: a delete and insert would have given them new row ids
        moved = dict(migrated_conn.exec_driver_sql("SELECT person_id, rowid FROM person").fetchall())
        assert {p: moved[p] for p in ("P1", "P2")} == {p: rowids[p] for p in ("P1", "P2")}
    undo = warehouse.query_frame(migrated_conn,
                                 "SELECT row_key, CASE WHEN row_json IS NULL THEN 1 ELSE 0 END AS created FROM batch_undo "
                                 "WHERE batch_id = 'B2' ORDER BY row_key")
    # the images of the rows it changed or deleted, and the key of the row it made (taken back by key)
    assert undo.values.tolist() == [["P1", 0], ["P2", 0], ["P3", 0], ["P4", 1]]

    batch_rows.undo_batch(migrated_conn, "B2")
    pd.testing.assert_frame_equal(table(migrated_conn, "person", "person_id"), before)


def test_a_column_the_frame_lacks_takes_the_default_an_insert_would_give(migrated_conn):
    check = {"check_key": "2020-02-10|police", "report_day": "2020-02-10", "feed": "police", "expected": 3,
             "reported": 2, "silent": 1, "batch_id": "B1"}
    batch_rows.replace_rows(migrated_conn, "B1", "zero_report_check", "check_key", pd.DataFrame([{**check, "late": 1}]),
                            batch_column="changed_batch_id")
    batch_rows.replace_rows(migrated_conn, "B2", "zero_report_check", "check_key", pd.DataFrame([{**check, "reported": 3}]),
                            batch_column="changed_batch_id")
    row = table(migrated_conn, "zero_report_check", "check_key").iloc[0]
    assert (int(row["late"]), int(row["reported"]), row["changed_batch_id"]) == (0, 3, "B2")


def test_keys_given_as_numbers_find_their_stored_text_rows(migrated_conn):
    batch_rows.replace_rows(migrated_conn, "B1", "match_term", "term_key", pd.DataFrame({"term_key": ["7", "8"], "n": [1, 1]}))
    batch_rows.replace_rows(migrated_conn, "B2", "match_term", "term_key", pd.DataFrame({"term_key": [7, 9], "n": [5, 1]}))
    stored = table(migrated_conn, "match_term", "term_key")
    assert stored["n"].to_dict() == {"7": 5, "8": 1, "9": 1}
    # compared as they are stored, whatever their type: a row that comes out the same is left alone,
    # a changed one keeps its before-image
    batch_rows.replace_rows(migrated_conn, "B3", "match_term", "term_key", pd.DataFrame({"term_key": [7, 8], "n": [5, 2]}),
                            same_unless=())
    stored = table(migrated_conn, "match_term", "term_key")
    assert stored["batch_id"].to_dict() == {"7": "B2", "8": "B3", "9": "B2"}
    images = warehouse.query_frame(migrated_conn, "SELECT row_key FROM batch_undo WHERE batch_id = 'B3'")
    assert images["row_key"].tolist() == ["8"]


KEYS = st.sampled_from([f"P{i}" for i in range(8)])
BATCH = st.tuples(st.dictionaries(KEYS, st.tuples(st.sampled_from(["none", "confirmed", "close_contact"]),
                                                  st.integers(1, 3), st.sampled_from([None, "t1", "t2"])),
                                  max_size=6),
                  st.lists(KEYS, max_size=3, unique=True))


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    engine = warehouse.engine_for(f"sqlite:///{tmp_path_factory.mktemp('rows') / 'warehouse.db'}")
    schema.upgrade(engine)
    yield engine
    engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(BATCH, min_size=1, max_size=5))
def test_batches_of_replacements_and_deletions_leave_what_a_plain_model_says(batches, sqlite_engine):
    """Any sequence of batches leaves what a dictionary model of them says, and taking the last
    batch back gives the table the batch before it left, to the row (SQLite, each example in a
    transaction rolled back; the cases above run on PostgreSQL too)."""
    model: dict = {}
    with sqlite_engine.connect() as conn, conn.begin() as transaction:
        before = None
        for at, (rows, deletions) in enumerate(batches):
            before = table(conn, "person", "person_id")
            frame = pd.DataFrame([person(k, s, n_records=n, next_change_at=t) for k, (s, n, t) in rows.items()],
                                 columns=list(person("P").keys()) + ["next_change_at"])
            batch_rows.replace_rows(conn, f"B{at}", "person", "person_id", frame, delete_keys=deletions)
            for k in deletions:
                model.pop(k, None)
            model.update({k: (s, n, t, f"B{at}") for k, (s, n, t) in rows.items()})
            stored = table(conn, "person", "person_id")
            got = {k: (r.status, int(r.n_records), None if pd.isna(r.next_change_at) else r.next_change_at,
                       r.batch_id) for k, r in stored.iterrows()}
            assert got == model
        batch_rows.undo_batch(conn, f"B{len(batches) - 1}")
        pd.testing.assert_frame_equal(table(conn, "person", "person_id"), before)
        transaction.rollback()


def test_a_frame_holding_a_key_twice_is_refused(migrated_conn):
    batch_rows.replace_rows(migrated_conn, "B1", "match_term", "term_key", pd.DataFrame({"term_key": ["7"], "n": [1]}))
    with pytest.raises(ValueError, match="term_key twice"):
        batch_rows.replace_rows(migrated_conn, "B2", "match_term", "term_key",
                                pd.DataFrame({"term_key": ["7", "7"], "n": [1, 2]}))


def test_a_row_whose_image_retention_emptied_goes_when_its_batch_is_taken_back(migrated_conn):
    """Retention leaves no values in `batch_undo`, yet the latest batch is still taken back whole:
    a row whose before-image lost its values is deleted, as a row the batch created is."""
    from screenfuse import retention

    batch_rows.replace_rows(migrated_conn, "B1", "person", "person_id", pd.DataFrame([person("P1"), person("P2")]))
    batch_rows.replace_rows(migrated_conn, "B2", "person", "person_id",
                            pd.DataFrame([person("P1", "confirmed"), person("P2", "confirmed"), person("P3")]))
    assert retention._forget_images(migrated_conn, pd.Series(["P1", "P3"])) == 1  # P3 has a key, no image
    undo = warehouse.query_frame(migrated_conn, "SELECT row_key, CASE WHEN row_json IS NULL THEN 1 ELSE 0 END AS "
                                                "bare FROM batch_undo WHERE batch_id = 'B2' ORDER BY row_key")
    assert undo.values.tolist() == [["P1", 1], ["P2", 0], ["P3", 1]]
    batch_rows.undo_batch(migrated_conn, "B2")
    assert table(migrated_conn, "person", "person_id")["status"].to_dict() == {"P2": "none"}


def test_a_value_retention_forgets_leaves_the_undo_keys_of_its_count(migrated_conn):
    """A term count's key is its value (a name, a phone): when retention removes the last record
    holding it, its count goes and so does its key in `batch_undo`; a value others hold stays."""
    from screenfuse import match_state
    from screenfuse.resolve import SETTINGS

    records = pd.DataFrame({"record_id": ["r1", "r2"], "batch_id": "B2", "name": ["张三", "李四"]})
    warehouse.bulk_insert(migrated_conn, "match_record", records)
    batch_rows.replace_rows(migrated_conn, "B1", "match_term", "term_key",
                            pd.DataFrame({"term_key": ["name\t李四"], "n": [1]}))
    batch_rows.replace_rows(migrated_conn, "B2", "match_term", "term_key",
                            pd.DataFrame({"term_key": ["name\t张三", "name\t李四"], "n": [1, 2]}))
    match_state.forget_records(migrated_conn, ["r1", "r2"], SETTINGS)
    terms = table(migrated_conn, "match_term", "term_key")["n"].to_dict()
    assert "name\t张三" not in terms and terms["name\t李四"] == 1  # 李四 is held by a record of batch B1
    kept = warehouse.query_frame(migrated_conn, "SELECT row_key FROM batch_undo WHERE table_name = 'match_term'")
    assert kept["row_key"].tolist() == ["name\t李四"]  # its image stays: the count is still there


def test_only_the_latest_batch_keeps_what_takes_it_back(migrated_conn):
    batch_rows.replace_rows(migrated_conn, "B1", "person", "person_id", pd.DataFrame([person("P1")]))
    batch_rows.replace_rows(migrated_conn, "B2", "person", "person_id", pd.DataFrame([person("P1", "confirmed")]))
    batch_rows.keep_only(migrated_conn, "B3")  # a publish of B3 begins: nothing of this batch kept yet
    assert migrated_conn.exec_driver_sql("SELECT COUNT(*) FROM batch_undo").scalar() == 0
    batch_rows.replace_rows(migrated_conn, "B3", "person", "person_id", pd.DataFrame([person("P2")]))
    batch_rows.replace_rows(migrated_conn, "B4", "person", "person_id", pd.DataFrame([person("P3")]))
    batch_rows.keep_only(migrated_conn, "B4")  # what B4 kept stays
    kept = warehouse.query_frame(migrated_conn, "SELECT batch_id, row_key FROM batch_undo")
    assert kept.values.tolist() == [["B4", "P3"]]
