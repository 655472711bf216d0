"""The warehouse on each database, through whole runs (screenfuse.pipeline.run_batch): the same
feeds give the same warehouse on SQLite and PostgreSQL, row for row; on PostgreSQL a run needs only
the read/write rights of docs/warehouse.md; on SQLite (WAL) a reader holding a read transaction
does not make a publish fail. Failures print table names and counts, never personal data."""
import hashlib
import itertools
import math
import re
import sqlite3
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import schema
from screenfuse.cli import main
from screenfuse.config import PROJECT_ROOT, load_settings
from screenfuse.pipeline import run_batch
from screenfuse.report import summary_text
from screenfuse.synthetic import answer_push_lists, generate
from screenfuse.warehouse import SQLITE_BUSY_SECONDS, SQLITE_PAGE_BYTES, engine_for, schema_columns

R1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
R2 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)
R3 = datetime(2020, 2, 11, 14, tzinfo=timezone.utc)


def use(monkeypatch, home: Path, url: str) -> None:
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    monkeypatch.delenv("SCREENFUSE_LANDING", raising=False)
    monkeypatch.delenv("SCREENFUSE_POLICY", raising=False)


def _value(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "∅"
    if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
        return format(float(v), ".9g")
    return str(v)


def content(engine, name: str) -> tuple[list[str], int, str]:
    """Columns, row count and a checksum of the rows (order-free, numbers compared as numbers)."""
    with engine.connect() as conn:
        result = conn.execute(sa.text(f"SELECT * FROM {name}"))
        columns, rows = list(result.keys()), sorted(tuple(map(_value, row)) for row in result)
    return columns, len(rows), hashlib.sha256(repr(rows).encode("utf-8")).hexdigest()


def play_the_loop(monkeypatch, home: Path, url: str) -> dict:
    """Three runs over two days with the street offices' answers in between; every table and
    view's content, and the outbox CSV files."""
    use(monkeypatch, home, url)
    landing = home / "landing"
    generate(400, 13, date(2020, 2, 10), landing, home / "truth", zero_reports=True)
    assert main(["db", "upgrade"]) == 0
    run_batch(load_settings(), R1)
    answer_push_lists(home / "outbox" / "20200210T1300Z", landing / "feedback", 13, datetime(2020, 2, 10, 13, 5))
    run_batch(load_settings(), R2)
    generate(400, 13, date(2020, 2, 11), landing, home / "truth", day_index=1, zero_reports=True)
    run_batch(load_settings(), R3)
    engine = engine_for(url)
    inspector = sa.inspect(engine)
    names = sorted(inspector.get_table_names()) + sorted(v for v in inspector.get_view_names()
                                                         if not v.startswith("analytics_"))
    with engine.connect() as conn:  # the analytics layer: a schema on PostgreSQL, analytics_* views on SQLite
        analytics = schema.analytics_view_names(conn)
    outbox = {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in sorted((home / "outbox").rglob("*.csv"))}
    summary, _ = summary_text(load_settings())
    lines = [line for line in summary.splitlines() if str(home) not in line and "warehouse " not in line]
    tables = {name: content(engine, name) for name in names}
    tables |= {name.replace(".", "_"): content(engine, name) for name in analytics}
    return {"tables": tables, "outbox": outbox, "summary": lines}


def test_the_same_feeds_give_the_same_warehouse_on_both_databases(warehouses, tmp_path, monkeypatch):
    lite = play_the_loop(monkeypatch, tmp_path / "sqlite", warehouses.new("sqlite"))
    pg = play_the_loop(monkeypatch, tmp_path / "postgresql", warehouses.new("postgresql"))
    assert set(lite["tables"]) == set(pg["tables"]) >= set(schema_columns()) | set(schema.view_names())
    assert len([n for n in lite["tables"] if n.startswith("analytics_")]) >= 20
    for name in ("person", "source_record", "push_item", "push_feedback", "person_status", "community_risk",
                 "silent_unit", "v_person_timeline", "v_push_backlog"):
        assert lite["tables"][name][1] > 0, name  # the loop filled them: the comparison means something
    assert lite["tables"]["run_log"][1] == pg["tables"]["run_log"][1] == 3
    columns = [n for n in lite["tables"] if lite["tables"][n][0] != pg["tables"][n][0]]
    assert columns == []  # same columns in the same order
    differ = {n: (lite["tables"][n][1], pg["tables"][n][1]) for n in lite["tables"]
              if lite["tables"][n][2] != pg["tables"][n][2] and n != "batch_manifest"}  # the files' own times differ
    assert differ == {}  # table or view → row counts (SQLite, PostgreSQL) where the contents differ
    assert len(lite["outbox"]) > 10 and lite["outbox"] == pg["outbox"]
    assert len(lite["summary"]) > 30 and lite["summary"] == pg["summary"]  # counts only, in the same order


def test_sqlite_readers_do_not_block_a_publish(warehouses, tmp_path, monkeypatch):
    url = warehouses.new("sqlite")
    home = tmp_path / "data"
    use(monkeypatch, home, url)
    generate(150, 5, date(2020, 2, 10), home / "landing", home / "truth")
    assert main(["db", "upgrade"]) == 0
    with engine_for(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_SECONDS * 1000
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_BYTES  # a new warehouse's pages
    # a BI tool's connection of its own, in the middle of a read transaction
    reader = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM person").fetchone() == (0,)
        started = time.monotonic()
        run_batch(load_settings(), R1)  # publishes, then marks the items pushed: two write transactions
        assert time.monotonic() - started < SQLITE_BUSY_SECONDS  # never waited on the reader
        assert reader.execute("SELECT COUNT(*) FROM person").fetchone() == (0,)  # its snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT COUNT(*) FROM person").fetchone()[0] > 0
    finally:
        reader.close()


def test_a_warehouse_made_earlier_keeps_its_pages(tmp_path):
    path = tmp_path / "old.db"
    made = sqlite3.connect(path)  # SQLite's default pages, as a warehouse of an earlier release has
    made.execute("CREATE TABLE t (v TEXT)")
    made.execute("INSERT INTO t VALUES ('x')")
    made.commit()
    made.close()
    assert SQLITE_PAGE_BYTES != 4096
    with engine_for(f"sqlite:///{path}").connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("SELECT v FROM t").scalar() == "x"


_names = itertools.count(1)


def doc_grants() -> tuple[list[str], list[str]]:
    """The statements of the PostgreSQL roles block of docs/warehouse.md: (as a superuser, as the
    owner in the warehouse database)."""
    text = (PROJECT_ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    block = re.search(r"```sql\n(-- 1\. as a superuser.*?)```", text, re.S).group(1)
    at = block.index("-- 2.")
    first, second = block[:at], block[at:]
    statements = [[s.strip() for s in re.sub(r"--[^\n]*", "", part).split(";") if s.strip()] for part in (first, second)]
    return statements[0], statements[1]


def test_a_run_needs_only_read_write_rights_on_postgresql(pg_server, tmp_path, monkeypatch):
    import psycopg

    n = next(_names)
    owner, rw, bi, db = f"sf_owner_{n}", f"sf_rw_{n}", f"sf_bi_{n}", f"sf_rights_{n}"

    def named(statement: str) -> str:
        statement = statement.replace("screenfuse_owner", owner).replace("screenfuse_rw", rw).replace("screenfuse_bi", bi)
        statement = re.sub(r"\bscreenfuse\b", db, statement)
        return (statement.replace("'change-me-owner'", "'owner-pw'").replace("'change-me-rw'", "'rw-pw'")
                .replace("'change-me-bi'", "'bi-pw'"))

    as_superuser, as_owner = doc_grants()
    assert any("ALTER DEFAULT PRIVILEGES" in s for s in as_owner)
    pg_server.admin(*map(named, as_superuser))
    owner_url, rw_url = pg_server.url(db, owner, "owner-pw"), pg_server.url(db, rw, "rw-pw")
    bi_url = pg_server.url(db, bi, "bi-pw")
    try:
        with psycopg.connect(sa.make_url(owner_url).set(drivername="postgresql").render_as_string(False),
                             autocommit=True) as conn:
            for statement in as_owner:
                conn.execute(named(statement))
        home = tmp_path / "data"
        use(monkeypatch, home, owner_url)
        generate(200, 9, date(2020, 2, 10), home / "landing", home / "truth")
        assert main(["db", "upgrade"]) == 0

        use(monkeypatch, home, rw_url)
        with engine_for(rw_url).connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.exec_driver_sql("CREATE TABLE sneaky (x INTEGER)")
        with pytest.raises(sa.exc.ProgrammingError, match="must be owner|permission denied for schema"):
            main(["db", "upgrade"])  # the r/w role cannot migrate
        first = run_batch(load_settings(), R1)
        assert first["persons"] > 0 and first["push_items"] > 0

        use(monkeypatch, home, owner_url)
        assert main(["db", "upgrade"]) == 0  # views recreated: the default privileges cover them
        use(monkeypatch, home, rw_url)
        run_batch(load_settings(), R2)
        with engine_for(rw_url).connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM run_log")).scalar() == 2
            assert conn.execute(sa.text("SELECT COUNT(*) FROM v_push_list")).scalar() == first["push_items"]
        with engine_for(bi_url).connect() as conn:  # BI: the analytics layer, recreated by the upgrade, and only it
            assert conn.execute(sa.text("SELECT COUNT(*) FROM analytics.person")).scalar() > 0
            assert conn.execute(sa.text("SELECT COUNT(*) FROM analytics.push_backlog")).scalar() > 0
        for forbidden in ("SELECT id_number FROM person", "SELECT * FROM v_push_list", "SELECT 1 FROM source_record"):
            with engine_for(bi_url).connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.exec_driver_sql(forbidden)
    finally:
        for url in (owner_url, rw_url, bi_url):
            engine_for(url).dispose()
        pg_server.admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"DROP ROLE IF EXISTS {rw}",
                        f"DROP ROLE IF EXISTS {bi}", f"DROP ROLE IF EXISTS {owner}")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_nul_in_a_cell_does_not_stop_a_run_and_errors_hide_values(warehouses, tmp_path, monkeypatch, kind):
    url = warehouses.new(kind)
    home = tmp_path / "data"
    use(monkeypatch, home, url)
    generate(60, 5, date(2020, 2, 10), home / "landing", home / "truth")
    touched = 0
    for path in sorted((home / "landing").rglob("*.csv")):
        lines = path.read_bytes().split(b"\n")
        if len(lines) > 2 and not lines[0].startswith(b"\xef\xbb\xbf"):
            lines[1] = lines[1][:3] + b"\x00" + lines[1][3:]  # inside the unit's name (first column)
            path.write_bytes(b"\n".join(lines))
            touched += 1
    assert touched >= 3
    assert main(["db", "upgrade"]) == 0
    run = run_batch(load_settings(), R1)  # PostgreSQL text cannot hold NUL: the reader drops it
    assert run["rows_accepted"] > 50
    engine = engine_for(url)
    with engine.connect() as conn:
        units = conn.execute(sa.text("SELECT DISTINCT unit FROM source_record")).scalars().all()
        assert units and not any("\x00" in (u or "") for u in units)
    secret = "420106198001011234"
    insert = sa.text("INSERT INTO match_model (model_id, preset, params_json) VALUES ('m', 'p', :params)")
    with pytest.raises(sa.exc.IntegrityError) as raised:
        with engine.begin() as conn:
            conn.execute(insert, [{"params": secret}, {"params": secret}])
    assert secret not in str(raised.value)  # a database error never prints the values it was given
