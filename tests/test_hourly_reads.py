"""Cost follows the work: in an hourly run after the first, in a re-run of that hour (which takes
the batch back first) and in a retention run, no statement reads a stored table whole. Every statement the run sends to SQLite is planned (EXPLAIN QUERY PLAN) and a full scan of
a warehouse table fails the test, naming the table and the statement; a few small tables that
hold one row per run or per reviewer decision are allowed, each with its reason. Nor does a
statement probe an index with the product of two key lists."""
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import schema
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.retention import retire
from screenfuse.synthetic import answer_push_lists, generate
from screenfuse.synthetic_arrivals import generate_arrivals, generate_city_lists
from screenfuse.synthetic_isolation import generate_isolation
from screenfuse.synthetic_mass import generate_mass_screening
from screenfuse.warehouse import engine_for

# table → why reading it whole is bounded by something other than the history of persons
SMALL_TABLES = {
    "run_log": "one row per run; read for the latest run (ORDER BY its key, LIMIT 1)",
    "match_model": "one row per trained model",
    "batch_undo": "holds the before-images of the latest batch only",
    "alembic_version": "one row",
}


def _scanned(plan_rows, partial: set[str]) -> set[str]:
    """Names (tables or aliases) a plan reads whole: SCAN <name>, unless through a partial index
    (it holds only the rows of its condition, e.g. the open review items)."""
    return {row[3].split()[1] for row in plan_rows if row[3].startswith("SCAN ")
            and not (" USING INDEX " in row[3] and row[3].split(" USING INDEX ")[1].split()[0] in partial)}


def product_probes(plan_rows) -> list[str]:
    """Tables a plan searches by two or more index columns each taken from a list (`a IN (SELECT
    …) AND b IN (SELECT …)`): SQLite probes every pair of the lists, the product of their sizes (a
    re-run's take-back of 56,615 records: 464,192 block keys times the records, over ten minutes)."""
    lists = len({row[3] for row in plan_rows if row[3].startswith("LIST SUBQUERY")})  # a row value's list shows twice
    searched = [row[3] for row in plan_rows if row[3].startswith("SEARCH ") and row[3].count("=?") >= 2]
    return [row.split()[1] for row in searched] if lists >= 2 else []


def whole_reads(raw, statement: str, parameters, text: str) -> list[str]:
    """The stored tables (not the small ones) the plan of `statement` reads whole, on the SQLite
    connection `raw` (aliases resolved through the statement and the views it names)."""
    plan = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters or ()).fetchall()
    products = [f"{table} (the product of two key lists)" for table in product_probes(plan)]
    stored = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    partial = {r[0] for r in raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
               if r[1] and " WHERE " in r[1].upper()}
    views = dict(raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall())
    # a view's aliases are those of its own statement (v_match_review's r is match_review)
    words = set(text.replace(",", " ").split())
    expanded = " ".join([text, *(" ".join(sql.split()) for name, sql in views.items() if name in words)])
    tables = (_table_of(name, expanded) for name in _scanned(plan, partial))
    return [table for table in tables if table in stored and table not in SMALL_TABLES] + products


@pytest.fixture
def planned(tmp_path, monkeypatch):
    """Statements of the runs between `start()` and the end of the test, with the stored tables
    their plans scan (aliases resolved through the statement's FROM/JOIN clauses)."""
    found: list[tuple[str, str]] = []
    state = {"on": False}

    def probe(conn, cursor, statement, parameters, context, executemany):
        text = " ".join(statement.split())
        head = text.split(" ", 1)[0].upper() if text else ""
        if not state["on"] or executemany or head not in {"SELECT", "WITH", "DELETE", "UPDATE"}:
            return
        if text.upper().endswith("LIMIT 1") and " ORDER BY " not in text.upper():
            return  # "is there any row": stops at the first
        if text.upper().endswith("WHERE 1 = 0"):
            return  # a constant false condition: no row is read (the columns of an empty answer)
        for table in whole_reads(conn.connection.driver_connection, statement, parameters, text):
            found.append((table, text[:300]))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", probe)
    yield found, state
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", probe)


def _table_of(name: str, statement: str) -> str:
    """The table behind an alias of the statement (FROM push_item pi → push_item); else `name`."""
    words = statement.replace(",", " ").split()
    for i in range(1, len(words)):
        if words[i] == name and words[i - 1].upper() not in {"FROM", "JOIN", "UPDATE", "INTO", "AS"}:
            return words[i - 1]
    return name


def test_an_hour_its_rerun_and_retention_read_no_stored_table_whole(tmp_path, monkeypatch, planned):
    found, state = planned
    home = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    schema.upgrade(engine_for(url))
    landing = home / "landing"
    generate(300, 11, date(2020, 2, 10), landing, home / "truth")
    people = pd.read_csv(home / "truth" / "people.csv", dtype=str, keep_default_na=False)
    generate_mass_screening(600, 11, date(2020, 2, 10), landing, home / "truth", people=people)
    generate_arrivals(40, 11, date(2020, 2, 10), landing, home / "truth", people)
    generate_city_lists(30, 11, date(2020, 2, 10), landing, home / "truth", people)
    generate_isolation(11, date(2020, 2, 10), landing, home / "truth", people)  # points list, daily monitoring
    run_batch(load_settings(), datetime(2020, 2, 10, 13, tzinfo=timezone.utc))
    # the next day: new records of known people, the street offices' answers, results, zero reports
    answer_push_lists(home / "outbox" / "20200210T1300Z", landing / "feedback", 11, datetime(2020, 2, 10, 13, 5))
    generate(300, 11, date(2020, 2, 11), landing, home / "truth", day_index=1)
    generate_mass_screening(600, 11, date(2020, 2, 11), landing, home / "truth", people=people, day_index=1)
    generate_arrivals(40, 11, date(2020, 2, 11), landing, home / "truth", people, day_index=1)
    generate_city_lists(30, 11, date(2020, 2, 11), landing, home / "truth", people, day_index=1)
    generate_isolation(11, date(2020, 2, 11), landing, home / "truth", people, day_index=1)  # missed checks, fevers
    hour = datetime(2020, 2, 11, 14, tzinfo=timezone.utc)
    state["on"] = True
    published = run_batch(load_settings(), hour)
    assert published["rows_read"] > 0 and published["push_items_answered"] > 0  # the hour did real work
    # an operator clears the hour in Airflow: the batch is taken back (sql/publish/delete_batch.sql) and run again
    again = run_batch(load_settings(), hour)
    assert again["push_items_answered"] == published["push_items_answered"]
    # the daily retention under the publish lock, a day later: what both batches wrote is old enough
    removed = retire(load_settings(), engine_for(url), 0.5, hour + timedelta(days=1))
    state["on"] = False
    assert removed["persons"] > 0 and removed["answer_rows"] > 0  # it did real work
    with engine_for(url).connect() as conn:  # and found missed isolation checks (read by person, point)
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM isolation_missed_check").scalar() > 0
    whole = sorted(set(found))
    assert not whole, "statements that read a stored table whole (or probe a product of key lists):\n" + "\n".join(f"{t}: {s}" for t, s in whole)
