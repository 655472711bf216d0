"""The warehouse schema by migration: `screenfuse db upgrade` / `db current` on an empty warehouse,
on a warehouse made before migrations (adopted, stamped at the baseline), and the one-line error
of a run against a warehouse that is not at the head revision. Real SQLite and PostgreSQL."""
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import schema
from screenfuse.cli import main
from screenfuse.warehouse import engine_for, schema_columns, sql_statements

KINDS = ["sqlite", "postgresql"]


def tables_and_columns(engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}


@pytest.mark.parametrize("kind", KINDS)
def test_upgrade_creates_the_baseline_and_the_views(warehouses, kind, monkeypatch, capsys):
    url = warehouses.new(kind)
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    engine = engine_for(url)
    head = schema.head_revision()
    assert main(["db", "current"]) == 0
    out, err = capsys.readouterr()
    assert out == "empty\n" and err == f'warehouse at revision empty, code expects {head} — fix: run "screenfuse db upgrade"\n'
    with pytest.raises(schema.WarehouseSchemaError) as raised:
        schema.require_current(engine)
    assert str(raised.value) == f'warehouse at revision empty, code expects {head} — fix: run "screenfuse db upgrade"'
    assert tables_and_columns(engine) == {}  # checking created nothing

    schema.upgrade(engine, schema.BASELINE)  # the baseline makes exactly the tables of its SQL file
    baseline = {table: {name for name, _ in columns} for table, columns in schema_columns().items()}
    assert len(baseline) == 18
    have = tables_and_columns(engine)
    assert have.pop("alembic_version") == {"version_num"}
    assert have == baseline
    assert main(["db", "upgrade"]) == 0
    assert f"→ {head} (" in capsys.readouterr().out
    schema.require_current(engine)
    inspector = sa.inspect(engine)
    views = {v for v in inspector.get_view_names() if not v.startswith("analytics_")}
    with engine.connect() as conn:
        analytics = schema.analytics_view_names(conn)
    prefixed = [v for v in inspector.get_view_names() if v.startswith("analytics_")] if kind == "sqlite" else [
        f"analytics.{v}" for v in inspector.get_view_names(schema="analytics")]
    assert sorted(prefixed) == sorted(analytics) and len(analytics) == 26
    assert views == set(schema.view_names()) and len(views) == 34  # v_match_review: 0018; v_resent_deliveries: views.sql only; v_late_reports: 0009; v_contact_chain, v_contact_edges_unresolved: 0010; v_isolation_occupancy, v_isolation_missed_checks: 0011; v_arrivals_unplaced, v_city_list_categories; v_unreadable_values: 0027
    with engine.connect() as conn:
        for view in views:  # every view answers on an empty warehouse (the local clock is one constant row)
            assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {view}")).scalar() == (view == "v_local_clock"), view
        for view in analytics:
            assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {view}")).scalar() == 0, view

    # again: nothing to migrate, the views are recreated
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO match_model (model_id, preset, params_json) VALUES ('m', 'p', '{}')"))
    assert main(["db", "upgrade"]) == 0
    assert f"{head} → {head} (already at the head); 34 views and 26 analytics views recreated" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert capsys.readouterr() == (f"{head}\n", "")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT model_id FROM match_model")).scalars().all() == ["m"]
    with engine.begin() as conn:  # records after 死亡 (0004) are listed for data-quality review
        conn.execute(sa.text("INSERT INTO person (person_id, responsible_list, status, n_records, batch_id, "
                             "after_terminal) VALUES ('P1', 'L', 'deceased', 2, 'b', 'r2'), "
                             "('P2', 'L', 'none', 1, 'b', '')"))
        review = conn.execute(sa.text("SELECT person_id, after_terminal FROM v_after_terminal_review")).all()
    assert [tuple(row) for row in review] == [("P1", "r2")]


def old_ensure_schema(engine, leave_out_column=("run_log", "policy_sha256"), leave_out_table="community_risk"):
    """What the old ensure_schema made on an older release: tables (one added later missing, one
    column added later missing), their indexes and the views; no alembic_version."""
    column = re.compile(rf"^\s*{leave_out_column[1]}\s.*$\n?", re.M)
    with engine.begin() as conn:
        for statement in sql_statements(schema.BASELINE_SQL):
            if f"CREATE TABLE {leave_out_table} " in statement or f" ON {leave_out_table} " in statement:
                continue
            if f"CREATE TABLE {leave_out_column[0]} " in statement:
                statement = column.sub("", statement).replace("policy_version      TEXT,", "policy_version      TEXT")
            conn.exec_driver_sql(statement.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ").rstrip(";"))
        old_tables = set(sa.inspect(conn).get_table_names())
        for statement in sql_statements(schema.VIEWS_SQL):
            read = set(re.findall(r"(?:FROM|JOIN)\s+(\w+)", statement))
            if leave_out_table not in statement and leave_out_column[1] not in statement and read <= old_tables | {
                    "v_push_list", "v_community_risk"} and "after_terminal" not in statement \
                    and "id_set_aside" not in statement and "changed_batch_id" not in statement \
                    and "unreadable" not in statement:
                # views of that release read tables and columns of that release (after_terminal: 0004,
                # id_set_aside: 0006, zero_report_check.changed_batch_id: 0009, unreadable: 0027)
                conn.exec_driver_sql(statement.rstrip(";"))
        conn.execute(sa.text("INSERT INTO person_event (batch_id, event, person_id, other_person_ids) "
                             "VALUES ('20200210T1300Z', 'merge', 'P1', 'P2')"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_warehouse_made_before_migrations_is_adopted(warehouses, kind, monkeypatch, capsys):
    url = warehouses.new(kind)
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    engine = engine_for(url)
    old_ensure_schema(engine)
    before = tables_and_columns(engine)
    assert "community_risk" not in before and "policy_sha256" not in before["run_log"]
    state = schema.revision(engine)
    assert state.current is None and state.unversioned
    head = schema.head_revision()
    with pytest.raises(schema.WarehouseSchemaError) as raised:
        schema.require_current(engine)
    assert str(raised.value) == ("warehouse at revision unversioned (tables made before migrations), "
                                 f'code expects {head} — fix: run "screenfuse db upgrade"')

    assert main(["db", "upgrade"]) == 0
    assert f"unversioned → {head} (adopted (tables made before migrations) and upgraded)" in capsys.readouterr().out
    fresh = engine_for(warehouses.new(kind))
    schema.upgrade(fresh)
    assert tables_and_columns(engine) == tables_and_columns(fresh)  # as if made by migrations
    assert {v for v in sa.inspect(engine).get_view_names() if not v.startswith("analytics_")} == set(schema.view_names())
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT person_id, other_person_ids FROM person_event")).all() == [("P1", "P2")]
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
    schema.require_current(engine)


@pytest.mark.parametrize("kind", KINDS)
def test_a_warehouse_migrated_by_newer_code_is_not_touched(warehouses, kind, monkeypatch, capsys):
    url = warehouses.new(kind)
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    engine = engine_for(url)
    assert main(["db", "upgrade"]) == 0
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    capsys.readouterr()
    assert main(["db", "upgrade"]) == 2
    assert capsys.readouterr().err == ("screenfuse: error: warehouse at revision 0999, which this code does not know "
                                       "(migrated by newer code?); not upgrading — fix: run the screenfuse version "
                                       "that made it, or restore a backup\n")
    with pytest.raises(schema.WarehouseSchemaError, match="^warehouse at revision 0999, which this code does not know"):
        schema.require_current(engine)
    assert {v for v in sa.inspect(engine).get_view_names() if not v.startswith("analytics_")} == set(schema.view_names())  # left as they were


def test_revisions_form_one_line_from_the_baseline():
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(schema.alembic_config())
    assert scripts.get_heads() == [schema.head_revision()]  # one head: no branches to merge
    chain = [r.revision for r in scripts.walk_revisions()][::-1]
    assert chain[0] == schema.BASELINE == "0001"
    assert chain == [f"{n:04d}" for n in range(1, len(chain) + 1)]  # numbered in order
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path


def _row(engine, table: str, values: dict) -> None:
    """A row with `values`, every other NOT NULL column filled with a blank of its type."""
    filler = {c["name"]: (0 if "INT" in str(c["type"]).upper() else "") for c in sa.inspect(engine).get_columns(table)
              if not c["nullable"] and c["name"] not in values}
    row = filler | values
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"), row)


@pytest.mark.parametrize("kind", KINDS)
def test_0022_takes_the_distinct_key_from_stored_ids_converted_from_15_digits(warehouses, kind):
    """A stored record whose ID was converted from 15 digits loses `id_trusted` (its check digit
    was computed, never typed); a valid 18-digit ID keeps it."""
    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine, "0021")
    for record, status, number in (("old", "converted_15", "11010519491231002X"),
                                   ("new", "valid", "110105194912310029")):
        _row(engine, "source_record", {"source_record_id": record, "id_status": status, "id_number": number})
        _row(engine, "match_record", {"record_id": record, "batch_id": "b", "id_number": number, "id_trusted": number})
    schema.upgrade(engine)
    with engine.connect() as conn:
        trusted = dict(conn.execute(sa.text("SELECT record_id, id_trusted FROM match_record")).all())
    assert trusted == {"old": "", "new": "110105194912310029"}


@pytest.mark.parametrize("kind", KINDS)
def test_0026_reads_stored_addresses_again_and_moves_their_area_keys(warehouses, kind):
    """A village address stored by an earlier release (its county and town kept in the community,
    its group in Chinese numerals, no home) is read again: the stored address, its matching columns
    and its key of the rule on name and area change; an address that reads the same stays as it is."""
    from screenfuse import match_state
    from screenfuse.resolve import SETTINGS

    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine, "0025")
    rule = [i for i, r in enumerate(SETTINGS.blocking) if [p.column for p in r] == ["name_pinyin", "address_area"]]
    stale = pd.DataFrame({"record_id": ["village", "city"], "name_pinyin": ["liujing", "zhangwei"],
                          "address": ["县周巷镇新建村 15号", "振华社区 3栋 501室"],
                          "address_area": ["县周巷镇新建村", "振华社区"], "address_home": ["", "振华社区|3栋|501室"]})
    for row, stored in zip(stale.to_dict("records"), ["孝昌县周巷镇新建村四组15号", "振华社区3栋501室"]):
        _row(engine, "source_record", {"source_record_id": row["record_id"], "address": stored})
        _row(engine, "match_record", {"batch_id": "b", **row})
    old_keys = match_state.block_keys(stale, SETTINGS, only_rules=rule)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO match_key (block_key, record_id) VALUES (:k, :r)"),
                     [{"k": int(k), "r": r} for k, r in zip(old_keys["block_key"], old_keys["record_id"])])
    schema.upgrade(engine)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT source_record_id, address FROM source_record")).all())
        parts = {r[0]: tuple(r[1:]) for r in conn.execute(sa.text(
            "SELECT record_id, address, address_area, address_home FROM match_record")).all()}
        keys = set(conn.execute(sa.text("SELECT block_key, record_id FROM match_key")).all())
    assert stored == {"village": "孝昌县周巷镇新建村4组15号", "city": "振华社区3栋501室"}
    assert parts == {"village": ("新建村 4组 15号", "新建村", "新建村|4组|15号"),
                     "city": ("振华社区 3栋 501室", "振华社区", "振华社区|3栋|501室")}
    now = stale.assign(address_area=["新建村", "振华社区"])
    assert keys == {(int(k), r) for k, r in zip(*match_state.block_keys(now, SETTINGS, only_rules=rule)[
        ["block_key", "record_id"]].to_numpy().T)}


@pytest.mark.parametrize("kind", KINDS)
def test_0028_gives_stored_records_their_surname_and_birth_date_key(warehouses, kind):
    """Every stored record with a name and a birth date gets its key of the preset's last rule
    (name[:1] + birth_date); one without a birth date gets none; the keys it had stay."""
    from screenfuse import match_state
    from screenfuse.resolve import SETTINGS

    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine, "0027")
    stored = pd.DataFrame({"record_id": ["full", "other", "undated"], "name": ["刘超静", "王芳", "刘超静"],
                           "birth_date": ["1975-08-07", "1975-08-07", ""]})
    for row in stored.to_dict("records"):
        _row(engine, "match_record", {"batch_id": "b", **row})
    last = [len(SETTINGS.blocking) - 1]
    wanted = match_state.block_keys(stored, SETTINGS, only_rules=last)
    other = int(wanted.set_index("record_id").loc["other", "block_key"])
    with engine.begin() as conn:  # another rule's key, and one of this rule that 0002 stored already
        conn.execute(sa.text("INSERT INTO match_key (block_key, record_id) VALUES (7, 'full'), (:k, 'other')"),
                     {"k": other})
    schema.upgrade(engine)
    with engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT block_key, record_id FROM match_key")).all()
    assert len(keys) == len(set(keys)) == 3
    keys = set(keys)
    assert sorted(wanted["record_id"]) == ["full", "other"]
    assert keys == {(7, "full")} | {(int(k), r) for k, r in zip(wanted["block_key"], wanted["record_id"])}
    # the record whose name lost its middle character meets the stored full name through the key
    dropped = match_state.block_keys(pd.DataFrame({"record_id": ["new"], "name": ["刘静"], "birth_date": ["1975-08-07"]}),
                                     SETTINGS, only_rules=last)
    assert int(dropped["block_key"].iloc[0]) == int(wanted.set_index("record_id").loc["full", "block_key"])


@pytest.mark.parametrize("kind", KINDS)
def test_0023_counts_the_links_each_earlier_run_still_holds(warehouses, kind):
    """Runs published before the column get the links `person_link` holds for them (0 for none)."""
    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine, "0022")
    for batch in ("b1", "b2", "b3"):
        _row(engine, "run_log", {"batch_id": batch})
    for record, batch in (("r1", "b1"), ("r2", "b1"), ("r3", "b3")):
        _row(engine, "person_link", {"source_record_id": record, "changed_batch_id": batch})
    schema.upgrade(engine)
    with engine.connect() as conn:
        counts = dict(conn.execute(sa.text("SELECT batch_id, links_changed FROM run_log")).all())
    assert counts == {"b1": 2, "b2": 0, "b3": 1}


def test_the_unplaced_arrivals_view_reads_the_arrivals_records_first(tmp_path):
    """Read from the links, every link of the warehouse looked its record up (10 s of `screenfuse
    summary` at 1,000,000 records): the arrivals' records are read first, by their feed."""
    engine = engine_for(f"sqlite:///{tmp_path / 'w.db'}")
    schema.upgrade(engine)
    with engine.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT * FROM v_arrivals_unplaced")]
    assert not [step for step in plan if step.startswith("SCAN l")], plan
    assert any(step.startswith("SEARCH l USING INDEX sqlite_autoindex_person_link") for step in plan), plan


@pytest.mark.parametrize("kind", KINDS)
def test_0032_keeps_every_matching_row_in_its_key_tree(warehouses, kind):
    """The stored matching rows come through the rebuild as they were, with their batch index; on
    SQLite the table is then its key's tree (WITHOUT ROWID), and a duplicate id is still refused."""
    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine, "0031")
    from screenfuse.state_schema import MATCH_COLUMNS

    rows = [{"record_id": f"mass_screening-{n:03d}", "batch_id": f"b{n % 3}",
             **{c: (None if (n + i) % 5 == 0 else f"{c}-{n}") for i, c in enumerate(MATCH_COLUMNS)}}
            for n in (7, 1, 30, 12)]
    for row in rows:
        _row(engine, "match_record", row)
    schema.upgrade(engine)
    with engine.connect() as conn:
        stored = [dict(r._mapping) for r in conn.execute(sa.text(
            f"SELECT record_id, batch_id, {', '.join(MATCH_COLUMNS)} FROM match_record ORDER BY record_id"))]
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("match_record")}
        if kind == "sqlite":
            ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'match_record'").scalar()
            assert "WITHOUT ROWID" in ddl.upper()
    assert stored == sorted(rows, key=lambda r: r["record_id"])
    assert "ix_match_record_batch" in indexes
    with pytest.raises(sa.exc.IntegrityError):
        _row(engine, "match_record", rows[0])
