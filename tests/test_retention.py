"""Retention on SQLite and PostgreSQL: after `retention.days_after_last_measure` without a change
and without a measure, a person's personal data is gone from every table, its matching state
with it, the older batches' files too; counts and statuses stay; what was removed is counted;
a second pass removes nothing; hourly runs go on."""
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import match_state, schema
from screenfuse.cli import main
from screenfuse.config import load_settings
from screenfuse.pipeline import batch_id_for, run_batch
from screenfuse.resolve import SETTINGS
from screenfuse.retention import run_retention
from screenfuse.synthetic import generate
from screenfuse.warehouse import engine_for

H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
LATER = H1 + timedelta(days=31)


def _text_cells(engine) -> str:
    """Every text cell of every table, one string (the scan looks for values in it)."""
    inspector, parts = sa.inspect(engine), []
    with engine.connect() as conn:
        for table in inspector.get_table_names():
            if table in ("alembic_version", "batch_stage"):
                continue
            frame = pd.read_sql(sa.text(f"SELECT * FROM {table}"), conn)
            for column in frame.columns:
                # object or pandas' str dtype (pandas 3 reads text as str: `== object` alone saw nothing)
                if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
                    parts.append("\n".join(frame[column].dropna().astype(str)))
    return "\n".join(parts)


STAFF = ("核查员甲", "复核员乙", "指挥部丙")
NOTES = ("其母亲说人已离开", "上门核实两人不同", "误填")


def _staff_rows(engine, old_batch: str, recent_batch: str) -> None:
    """An answer, a review decision and a revocation applied by the first batch, carrying staff
    names and notes, and a decision applied long after (inside the retention period)."""
    with engine.begin() as conn:
        item = conn.execute(sa.text("SELECT push_item_id FROM push_item ORDER BY push_item_id LIMIT 1")).scalar()
        conn.execute(sa.text("UPDATE push_item SET answered_by = :v, answered_batch_id = :b WHERE push_item_id = :i"),
                     {"v": STAFF[0], "b": old_batch, "i": item})
        conn.execute(sa.text("INSERT INTO push_feedback (answer_id, batch_id, feed, file_name, file_sha256, row_number, "
                             "push_item_id, result, verifier, note) VALUES ('feedback-1', :b, 'feedback', 'a.csv', "
                             "'0', 2, :i, '已核实', :v, :n)"), {"b": old_batch, "i": item, "v": STAFF[0], "n": NOTES[0]})
        decision = ("INSERT INTO match_decision (decision_id, review_id, left_record_id, right_record_id, decision, "
                    "decided_by, decided_at, source, applied_batch_id, note) VALUES (:d, 'R1', :l, 'r', 'different', :v, "
                    "'2020-02-10T13:30:00Z', 'cli', :b, :n)")
        conn.execute(sa.text(decision), [{"d": "D-old", "l": "l-old", "v": STAFF[1], "b": old_batch, "n": NOTES[1]},
                                         {"d": "D-recent", "l": "l-recent", "v": "复核员丁", "b": recent_batch,
                                          "n": "recent"}])
        conn.execute(sa.text("INSERT INTO answer_revocation (push_item_id, revoked_at, revoked_by, reason, pairs, "
                             "record_ids, applied_batch_id) VALUES (:i, '2020-02-10T13:40:00Z', :v, :n, 0, '', :b)"),
                     {"i": item, "v": STAFF[2], "n": NOTES[2], "b": old_batch})


@pytest.fixture(scope="module")
def retired(tmp_path_factory, warehouse_url):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("retention") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    mp.delenv("SCREENFUSE_POLICY", raising=False)
    engine = engine_for(warehouse_url)
    schema.upgrade(engine)
    generate(300, 23, date(2020, 2, 10), home / "landing", home / "truth")
    (home / "landing" / "police" / "某派出所_20200210_补.csv").write_text(
        "派出所,登记时间,姓名,公民身份号码\n某派出所,not a time,,\n", encoding="utf-8")  # a row quarantined
    (home / "landing" / "hospital" / "empty.csv").write_bytes(b"")  # a file quarantined whole (a copy kept)
    run_batch(load_settings(), H1)
    with engine.connect() as conn:
        persons = pd.read_sql("SELECT * FROM person", conn)
        links = pd.read_sql("SELECT source_record_id, person_id FROM person_link", conn)
        records = pd.read_sql("SELECT source_record_id, name, id_number, phone FROM source_record", conn)
    with engine.connect() as conn:
        terms = pd.read_sql("SELECT term_key, n FROM match_term", conn).set_index("term_key")["n"]
    _staff_rows(engine, batch_id_for(H1), batch_id_for(LATER))
    early = run_retention(load_settings(), H1 + timedelta(days=10))
    main_out = main(["retention", "--now", LATER.isoformat().replace("+00:00", "Z")])
    with engine.connect() as conn:
        run = pd.read_sql("SELECT * FROM retention_run ORDER BY run_id", conn)
    again = run_retention(load_settings(), LATER)
    yield {"engine": engine, "home": home, "persons": persons, "links": links, "records": records, "early": early,
           "exit": main_out, "run": run, "again": again, "mp": mp, "terms": terms}
    mp.undo()


def test_nothing_goes_before_its_time(retired):
    assert retired["early"]["persons"] == 0 and retired["early"]["landing_files"] == 0


def test_persons_without_a_measure_lose_their_personal_data_and_keep_their_status(retired):
    before = retired["persons"].set_index("person_id")
    free = set(before.index[before["measure"].fillna("") == ""])
    assert retired["exit"] == 0 and 100 < len(free) < len(before)
    with retired["engine"].connect() as conn:
        after = pd.read_sql("SELECT * FROM person", conn).set_index("person_id")
    gone = after[after["retired_at"].notna()]
    assert set(gone.index) == free
    assert gone[["name", "id_number", "phone", "address", "birth_date", "id_pseudonym"]].isna().all().all()
    assert (gone["status"] == before.loc[gone.index, "status"]).all()
    kept = after.loc[sorted(set(after.index) - free)]
    assert kept["name"].notna().all()  # a person under a measure keeps everything


def test_no_value_of_a_retired_person_is_left_anywhere_in_the_warehouse(retired):
    before, links, records = retired["persons"], retired["links"], retired["records"]
    free = set(before.loc[before["measure"].fillna("") == "", "person_id"])
    theirs = records[records["source_record_id"].isin(links.loc[links["person_id"].isin(free), "source_record_id"])]
    others = records[~records["source_record_id"].isin(theirs["source_record_id"])]
    kept = set(pd.concat([others["id_number"], others["phone"], others["name"]]).dropna())
    numbers = {v for v in pd.concat([theirs["id_number"], theirs["phone"]]).dropna() if len(v) >= 7} - kept
    names = {v for v in theirs["name"].dropna() if len(v) >= 2} - kept  # names no kept record also has
    assert len(numbers) > 100 and len(names) > 50
    cells = _text_cells(retired["engine"])
    assert sum(1 for v in numbers if v in cells) == 0  # a count: a failure prints no value
    words = set(cells.split())
    assert sum(1 for v in names if v in words) == 0  # whole cells/words: a name is short


def test_staff_names_and_notes_of_older_batches_go_and_newer_ones_stay(retired):
    cells = _text_cells(retired["engine"])
    assert sum(1 for v in STAFF + NOTES if v in cells) == 0
    kept = "复核员丁" in cells and "recent" in cells  # applied inside the retention period
    assert kept
    with retired["engine"].connect() as conn:
        decided = dict(conn.execute(sa.text("SELECT decision_id, decided_by FROM match_decision")).all())
    assert decided == {"D-old": "(removed by retention)", "D-recent": "复核员丁"}
    assert retired["run"]["staff_rows"].tolist() == [0, 4] and retired["again"]["staff_rows"] == 0


def test_their_matching_state_is_gone(retired):
    free = set(retired["persons"].loc[retired["persons"]["measure"].fillna("") == "", "person_id"])
    record_ids = set(retired["links"].loc[retired["links"]["person_id"].isin(free), "source_record_id"])
    with retired["engine"].connect() as conn:
        left = set(pd.read_sql("SELECT record_id FROM match_record", conn)["record_id"])
        keyed = set(pd.read_sql("SELECT record_id FROM match_key UNION SELECT record_id FROM match_key_recent",
                                conn)["record_id"])
    assert not (left & record_ids) and not (keyed & record_ids) and left and keyed  # the others' state stays


def test_older_batches_files_are_deleted_and_counted(retired):
    home, run = retired["home"], retired["run"].iloc[-1]
    first = batch_id_for(H1)
    assert not (home / "outbox" / first).exists() and not (home / "quarantine" / first).exists()
    assert not [p for p in (home / "landing").rglob("*") if p.is_file()]
    assert run["landing_files"] > 10 and run["folders"] == 2 and run["quarantine_rows"] >= 1
    assert run["persons"] > 100 and run["source_records"] >= run["persons"] and run["match_records"] > 0
    assert retired["again"]["persons"] == 0 and retired["again"]["landing_files"] == 0  # a second pass: nothing


def test_hourly_runs_go_on_after_retention(retired):
    home = retired["home"]
    generate(300, 23, date(2020, 2, 11), home / "landing", home / "truth", day_index=1)
    run = run_batch(load_settings(), LATER + timedelta(hours=1))
    assert run["rows_accepted"] > 100
    with retired["engine"].connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM person WHERE retired_at IS NULL")).scalar() > 100


def test_their_names_leave_the_term_counts(retired):
    """A name counted once in the matching term counts would still name the person: the counts
    are those of the records left, names of retired records gone."""
    with retired["engine"].connect() as conn:
        terms = pd.read_sql("SELECT term_key, n FROM match_term", conn).set_index("term_key")["n"]
        left = conn.execute(sa.text("SELECT COUNT(*) FROM match_record")).scalar()
    names = terms[terms.index.str.startswith("name\t") & (terms.index != "name\t")]
    before = retired["terms"]
    assert terms["#records"] == left < before["#records"]
    assert names.sum() == terms["name\t"] and (names > 0).all()
    assert len(names) < (before.index.str.startswith("name\t").sum() - 1)


def test_forgetting_records_twice_removes_nothing_more(retired):
    with retired["engine"].begin() as conn:
        assert match_state.forget_records(conn, ["no-such-record"], SETTINGS) == (0, 0)


def test_retention_waits_while_a_batch_runs(tmp_path, monkeypatch):
    """A batch started (it read persons and records) and not published: retention removes nothing
    and says so in one line; once the batch is published, it runs."""
    from screenfuse.pipeline import start_batch
    from screenfuse.retention import RetentionDeferred

    home, url = tmp_path / "data", f"sqlite:///{tmp_path}/w.db"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    schema.upgrade(engine_for(url))
    generate(60, 3, date(2020, 2, 10), home / "landing", home / "truth")
    run_batch(load_settings(), H1)
    start_batch(load_settings(), batch_id_for(H1 + timedelta(hours=1)))
    with pytest.raises(RetentionDeferred, match="not published"):
        run_retention(load_settings(), LATER)
    with engine_for(url).connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM person WHERE retired_at IS NOT NULL")).scalar() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM retention_run")).scalar() == 0
    run_batch(load_settings(), H1 + timedelta(hours=1))
    assert run_retention(load_settings(), LATER)["persons"] > 10
