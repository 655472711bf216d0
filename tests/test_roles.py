"""Roles and row-level security on PostgreSQL (`screenfuse db roles`), checked by connecting as
each role: a street office sees only its own push items and people, the district sees all, the
analytics role reads the analytics layer and no identifier, the pipeline role runs batches under
row-level security but cannot alter the schema, and the grants survive runs and upgrades."""
import re
import uuid
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse.cli import main
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.synthetic import generate
from screenfuse.warehouse import engine_for
from test_databases import R1, R3, doc_grants, use


def _denied(url: str, statement: str) -> bool:
    with engine_for(url).connect() as conn:
        try:
            conn.exec_driver_sql(statement)
        except sa.exc.ProgrammingError as exc:
            return "permission denied" in str(exc) or "must be owner" in str(exc)
    return False


def _count(url: str, statement: str) -> int:
    with engine_for(url).connect() as conn:
        return conn.exec_driver_sql(statement).scalar()


@pytest.fixture
def secured(pg_server, tmp_path, monkeypatch):
    """A warehouse set up as docs/warehouse.md says, one run by the pipeline role, then
    `screenfuse db roles` (as the owner, with CREATEROLE), then a second run under row security."""
    n = uuid.uuid4().hex[:6]
    owner, rw, bi, db, prefix = f"sfo_{n}", f"sfrw_{n}", f"sfbi_{n}", f"sfdb_{n}", f"sf{n}"

    def named(statement: str) -> str:
        statement = statement.replace("screenfuse_owner", owner).replace("screenfuse_rw", rw).replace("screenfuse_bi", bi)
        statement = re.sub(r"\bscreenfuse\b", db, statement)
        return re.sub(r"'change-me-\w+'", "'pw'", statement)

    as_superuser, as_owner = doc_grants()
    pg_server.admin(*map(named, as_superuser), f"ALTER ROLE {owner} CREATEROLE")
    urls = {"owner": pg_server.url(db, owner, "pw"), "rw": pg_server.url(db, rw, "pw"), "bi": pg_server.url(db, bi, "pw")}
    made = []
    try:
        import psycopg

        with psycopg.connect(sa.make_url(urls["owner"]).set(drivername="postgresql").render_as_string(False),
                             autocommit=True) as conn:
            for statement in as_owner:
                conn.execute(named(statement))
        home = tmp_path / "data"
        use(monkeypatch, home, urls["owner"])
        generate(300, 17, date(2020, 2, 10), home / "landing", home / "truth")
        assert main(["db", "upgrade"]) == 0
        use(monkeypatch, home, urls["rw"])
        run_batch(load_settings(), R1)
        use(monkeypatch, home, urls["owner"])
        assert main(["db", "roles", "--prefix", prefix, "--pipeline-role", rw, "--analytics-role", bi]) == 0
        generate(300, 17, date(2020, 2, 11), home / "landing", home / "truth", day_index=1)
        use(monkeypatch, home, urls["rw"])
        second = run_batch(load_settings(), R3)  # under row-level security: persons and items rewritten
        with engine_for(urls["owner"]).connect() as conn:
            items = pd.read_sql("SELECT street FROM push_item", conn)
            roles = dict(conn.exec_driver_sql("SELECT street, role_name FROM street_office_role").all())
        street = items["street"].value_counts().index[0]
        for who, group in (("street", roles[street]), ("district", f"{prefix}_district")):
            login = f"sfu_{who}_{n}"
            pg_server.admin(f"CREATE ROLE {login} LOGIN PASSWORD 'pw'", f"GRANT {group} TO {login}")
            made.append(login)
            urls[who] = pg_server.url(db, login, "pw")
        yield {"urls": urls, "street": street, "items": items, "run": second, "home": home, "monkeypatch": monkeypatch}
    finally:
        for url in urls.values():
            engine_for(url).dispose()
        pg_server.admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        with engine_for(pg_server.url()).connect() as conn:
            groups = conn.execute(sa.text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :p)"),
                                  {"p": f"{prefix}_"}).scalars().all()
        engine_for(pg_server.url()).dispose()
        pg_server.admin(*[f"DROP ROLE IF EXISTS {r}" for r in [*made, *groups, rw, bi, owner]])


def test_a_street_office_sees_only_its_own_items_and_people(secured):
    url, street = secured["urls"]["street"], secured["street"]
    mine = int((secured["items"]["street"] == street).sum())
    assert 0 < mine < len(secured["items"])
    assert _count(url, "SELECT COUNT(*) FROM push_item") == mine
    assert _count(url, f"SELECT COUNT(*) FROM push_item WHERE street <> '{street}'") == 0
    assert _count(url, "SELECT COUNT(*) FROM person") > 0
    assert _count(url, f"SELECT COUNT(*) FROM person WHERE responsible_list <> '{street}'") == 0
    for other in ("SELECT 1 FROM source_record", "SELECT 1 FROM v_push_list", "SELECT 1 FROM person_status",
                  "SELECT 1 FROM analytics.person"):
        assert _denied(url, other), other


def test_the_district_sees_every_row(secured):
    assert _count(secured["urls"]["district"], "SELECT COUNT(*) FROM push_item") == len(secured["items"])
    assert _count(secured["urls"]["district"], "SELECT COUNT(*) FROM v_push_list") == len(secured["items"])


def test_the_analytics_role_reads_pseudonyms_never_an_id_number(secured):
    url = secured["urls"]["bi"]
    assert _count(url, "SELECT COUNT(*) FROM analytics.person") == _count(secured["urls"]["owner"],
                                                                          "SELECT COUNT(*) FROM person")
    # labels and decisions are record pairs people judged: the restricted tables' (issue 10), never BI's
    for raw in ("SELECT id_number FROM person", "SELECT 1 FROM source_record", "SELECT 1 FROM v_police_tracing",
                "SELECT 1 FROM match_label", "SELECT 1 FROM match_decision", "SELECT 1 FROM match_review"):
        assert _denied(url, raw), raw


def test_the_pipeline_role_runs_but_cannot_alter_the_schema(secured):
    url = secured["urls"]["rw"]
    assert secured["run"]["rows_read"] > 100 and secured["run"]["persons_rewritten"] > 50
    assert _count(url, "SELECT COUNT(*) FROM push_item") == len(secured["items"])  # its policy: every row
    assert _denied(url, "ALTER TABLE person ADD COLUMN sneaky TEXT")
    assert _denied(url, "ALTER TABLE push_item DISABLE ROW LEVEL SECURITY")
    assert _denied(url, "CREATE TABLE sneaky (x INTEGER)")
    assert _denied(url, "DELETE FROM street_office_role")  # who sees which street: not the pipeline's to change


def test_after_a_bulk_load_statistics_are_refreshed_where_the_role_may_and_skipped_where_not(secured):
    from screenfuse.schema import refresh_statistics

    analyzed = "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'source_record' AND last_analyze IS NOT NULL"
    assert not refresh_statistics(engine_for(secured["urls"]["owner"]), 99_999, 0)  # not a bulk load
    assert not refresh_statistics(engine_for(secured["urls"]["owner"]), 150_000, 2_000_000)  # a tenth of what is held
    assert not refresh_statistics(engine_for(secured["urls"]["rw"]), 10, 0, at_least=10)  # it owns no table
    assert _count(secured["urls"]["owner"], analyzed) == 0
    assert refresh_statistics(engine_for(secured["urls"]["owner"]), 10, 0, at_least=10)
    assert _count(secured["urls"]["owner"], analyzed) == 1


def test_grants_survive_an_upgrade_and_roles_run_again(secured):
    use(secured["monkeypatch"], secured["home"], secured["urls"]["owner"])
    assert main(["db", "upgrade"]) == 0  # recreates every view
    assert main(["db", "roles", "--prefix", "x" * 70]) == 2  # a bad name: one line, nothing done
    assert _count(secured["urls"]["bi"], "SELECT COUNT(*) FROM analytics.push_item") == len(secured["items"])
    mine = int((secured["items"]["street"] == secured["street"]).sum())
    assert _count(secured["urls"]["street"], "SELECT COUNT(*) FROM push_item") == mine


def test_no_session_of_the_warehouse_compiles_queries(secured, caplog):
    """PostgreSQL's JIT compiled a view's plan for seconds to run it for less than one: `db
    upgrade` (by the database's owner) turns it off for every new session, a BI tool's too; the
    pipeline's own sessions turn it off themselves; a role that may not alter the database is
    told what to run, and its transaction goes on."""
    import psycopg

    from screenfuse.schema import database_settings

    def plain(url: str) -> str:  # a session that is not screenfuse's (a BI tool's)
        with psycopg.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(False)) as conn:
            return conn.execute("SHOW jit").fetchone()[0]

    assert {plain(secured["urls"][who]) for who in ("owner", "rw", "bi")} == {"off"}
    with engine_for(secured["urls"]["rw"]).begin() as conn:
        assert database_settings(conn)  # set already: nothing asked of a role that may not
    assert "as the database's owner" not in caplog.text
    db = sa.make_url(secured["urls"]["owner"]).database
    with engine_for(secured["urls"]["owner"]).begin() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{db}" RESET jit')
    assert plain(secured["urls"]["bi"]) == "on"
    assert _count(secured["urls"]["bi"], "SHOW jit") == "off"  # screenfuse's own sessions: always
    with engine_for(secured["urls"]["rw"]).begin() as conn:
        assert not database_settings(conn)
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM person").scalar() > 0  # the transaction goes on
    assert f"as the database's owner, run ALTER DATABASE {db} SET jit = off" in caplog.text


def test_roles_on_sqlite_say_what_to_do_instead(tmp_path, monkeypatch, capsys):
    use(monkeypatch, tmp_path / "data", f"sqlite:///{tmp_path}/w.db")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "roles"]) == 2
    assert "need PostgreSQL" in capsys.readouterr().err
