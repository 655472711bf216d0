"""The warehouse schema, by migration (Alembic).

`screenfuse db upgrade` (upgrade()) is the only thing that creates or alters warehouse tables: it
runs the revisions in screenfuse/migrations/versions/ up to the head, then drops and recreates
every BI view of sql/views.sql (views are derived objects, never migrated). A run only checks
that the warehouse is at the head revision (require_current()) and needs no right to create
anything. Alembic is configured in code here: there is no alembic.ini.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from screenfuse.warehouse import schema_columns, sql_statements

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
BASELINE_SQL = "migrations/0001_baseline.sql"
VIEWS_SQL = "views.sql"
ANALYTICS_SQL = "analytics.sql"  # the analytics layer: BI's views without personal identifiers
ANALYTICS_SCHEMA = "analytics"  # on PostgreSQL; on SQLite the views are named analytics_<name>
UPGRADE_HINT = 'run "screenfuse db upgrade"'


class WarehouseSchemaError(RuntimeError):
    """The warehouse is not at the revision this code expects; the message (one line) says what
    it is at and what to run."""


@dataclass(frozen=True)
class Revision:
    current: str | None   # None: no alembic_version table (or no row)
    head: str
    unversioned: bool     # tables made before migrations (by the old ensure_schema), not yet stamped

    @property
    def name(self) -> str:
        """The revision, "unversioned" (tables made before migrations) or "empty"."""
        return self.current or ("unversioned" if self.unversioned else "empty")

    @property
    def label(self) -> str:
        return "unversioned (tables made before migrations)" if self.name == "unversioned" else self.name

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def alembic_config(connection: sa.Connection | None = None):
    """Alembic's configuration, built in code; revisions run on `connection` (its transaction)."""
    from alembic.config import Config  # imported only when migrating: it costs a run a second
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revision(engine: sa.Engine) -> Revision:
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: sa.Connection) -> Revision:
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(conn).get_current_revision()
    unversioned = current is None and bool(_baseline_tables_present(conn))
    return Revision(current=current, head=head_revision(), unversioned=unversioned)


def _unknown(state: Revision) -> str | None:
    """The first words of the error for a revision this code does not know (newer code's), else None."""
    from alembic.script import ScriptDirectory

    known = {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if state.current and state.current not in known:
        return f"warehouse at revision {state.current}, which this code does not know (migrated by newer code?)"
    return None


def require_current(engine: sa.Engine) -> None:
    """Raise WarehouseSchemaError (one line) unless the warehouse is at the head revision."""
    if _at_newest_file(engine):  # the hourly case, answered without loading Alembic
        return
    state = revision(engine)
    if state.at_head:
        return
    unknown = _unknown(state)
    if unknown:
        raise WarehouseSchemaError(f"{unknown}; code expects {state.head}")
    raise WarehouseSchemaError(f"warehouse at revision {state.label}, code expects {state.head} — fix: {UPGRADE_HINT}")


def _at_newest_file(engine: sa.Engine) -> bool:
    """The warehouse's revision is the newest revision file's (ids are numbers, one line)."""
    newest = max(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == newest
    except sa.exc.DBAPIError:  # no alembic_version table: the full check says what to do
        return False


def upgrade(engine: sa.Engine, target: str = "head") -> tuple[Revision, Revision]:
    """Bring the warehouse to `target` (the head; tests may stop earlier) in one transaction (on
    PostgreSQL; SQLite commits DDL as it goes): views dropped, an unversioned warehouse adopted as
    the baseline, the revisions run, views recreated (at the head: they may read any table of it).
    Returns the revision before and after."""
    with engine.begin() as conn:
        before = _revision(conn)
        unknown = _unknown(before)
        if unknown:
            raise WarehouseSchemaError(f"{unknown}; not upgrading — fix: run the screenfuse version that made it, "
                                       f"or restore a backup")
        from alembic import command

        drop_views(conn)
        config = alembic_config(conn)
        if before.unversioned:
            adopt_unversioned(conn)
            command.stamp(config, BASELINE)
        command.upgrade(config, target)
        after = _revision(conn)
        if after.at_head:  # the views read tables of the head revision; an earlier target (tests) has none
            create_views(conn)
            database_settings(conn)
        return before, after


def database_settings(conn: sa.Connection) -> bool:
    """On PostgreSQL, no JIT compilation for the database's new sessions (a BI tool's too; the
    pipeline's own sessions set it themselves, `warehouse.engine_for`): the views' plans are many
    small subplans that PostgreSQL compiled for seconds to run for less than one. Only the
    database's owner may; for another role this is a warning naming the statement for the owner.
    Whether it was set."""
    if conn.dialect.name != "postgresql" or conn.exec_driver_sql("SELECT current_setting('jit', true)").scalar() is None:
        return False
    if conn.exec_driver_sql("""SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                               WHERE d.datname = current_database() AND s.setrole = 0
                                 AND 'jit=off' = ANY (s.setconfig)""").first():
        return True  # set already (by the owner): nothing to ask of this role
    name = conn.dialect.identifier_preparer.quote(conn.exec_driver_sql("SELECT current_database()").scalar())
    statement = f"ALTER DATABASE {name} SET jit = off"
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(statement)
    except sa.exc.DBAPIError as exc:
        logging.getLogger(__name__).warning("views on PostgreSQL run slower for other sessions (%s): as the database's "
                                            "owner, run %s", type(exc.orig).__name__, statement)
        return False
    return True


def adopt_unversioned(conn: sa.Connection) -> None:
    """A warehouse made by the old ensure_schema (tables, no alembic_version) becomes the baseline
    the way ensure_schema would have brought it there: missing tables and indexes created, missing
    columns added (nullable). The caller then stamps it at the baseline revision."""
    for statement in sql_statements(BASELINE_SQL):
        conn.exec_driver_sql(re.sub(r"^CREATE (TABLE|INDEX) ", r"CREATE \1 IF NOT EXISTS ", statement.rstrip(";")))
    inspector = sa.inspect(conn)
    for table, columns in schema_columns(BASELINE_SQL).items():
        have = {c["name"] for c in inspector.get_columns(table)}
        for name, sql_type in columns:
            if name not in have:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")


def _baseline_tables_present(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names()) & set(schema_columns(BASELINE_SQL))


_VIEW = re.compile(r"^CREATE VIEW (\w+)", re.M)


def view_names() -> list[str]:
    """The BI views of sql/views.sql, in the order they are created."""
    return [m.group(1) for s in sql_statements(VIEWS_SQL) for m in [_VIEW.search(s)] if m]


def analytics_prefix(conn: sa.Connection) -> str:
    """How an analytics view's name starts: the schema on PostgreSQL, a prefix on SQLite."""
    return f"{ANALYTICS_SCHEMA}." if conn.dialect.name == "postgresql" else f"{ANALYTICS_SCHEMA}_"


def _analytics_statements(conn: sa.Connection) -> list[str]:
    layer = analytics_prefix(conn)
    return [s.replace("{layer}", layer) for s in sql_statements(ANALYTICS_SQL)]


_ANALYTICS_VIEW = re.compile(r"^CREATE VIEW ([\w.]+)", re.M)


def analytics_view_names(conn: sa.Connection) -> list[str]:
    """The analytics layer's views as this database names them, in the order they are created."""
    return [m.group(1) for s in _analytics_statements(conn) for m in [_ANALYTICS_VIEW.search(s)] if m]


def drop_views(conn: sa.Connection) -> None:
    """Drop every view of sql/analytics.sql and sql/views.sql (last created first), so revisions
    may alter the tables under them (PostgreSQL refuses to drop or retype a column a view reads)."""
    if conn.dialect.name != "postgresql" or conn.exec_driver_sql(
            f"SELECT 1 FROM pg_namespace WHERE nspname = '{ANALYTICS_SCHEMA}'").first():
        for name in reversed(analytics_view_names(conn)):
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
    for name in reversed(view_names()):
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")


def create_views(conn: sa.Connection) -> None:
    for statement in sql_statements(VIEWS_SQL):
        conn.exec_driver_sql(statement.rstrip(";"))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {ANALYTICS_SCHEMA}")
    for statement in _analytics_statements(conn):
        conn.exec_driver_sql(statement.rstrip(";"))


def run_sql_file(relative: str) -> None:
    """In a revision: run the statements of a file under sql/ (e.g. sql/migrations/000N_name.sql)."""
    from alembic import op

    bind = op.get_bind()
    for statement in sql_statements(relative):
        bind.exec_driver_sql(statement.rstrip(";"))


STATISTICS_AFTER_ROWS = 100_000  # a batch of this many records, and a tenth of the persons held, is a bulk load


def refresh_statistics(engine: sa.Engine, added: int, persons_before: int, at_least: int | None = None) -> bool:
    """ANALYZE the warehouse tables the role owns after a bulk load on PostgreSQL (`added` records,
    at least `at_least` and a tenth of `persons_before`): until autovacuum gets to them the next
    hours' queries are planned blind. The r/w role of the runs owns none (autovacuum then); SQLite
    plans these queries well without statistics. True when tables were analyzed."""
    at_least = STATISTICS_AFTER_ROWS if at_least is None else at_least
    if engine.dialect.name != "postgresql" or added < at_least or added * 10 < persons_before:
        return False
    try:  # the batch is published already: statistics are worth a try, never a failed task
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            owned = conn.exec_driver_sql(
                "SELECT quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> 'batch_stage' "
                "AND pg_has_role(c.relowner, 'USAGE') ORDER BY 1").scalars().all()
            if owned:
                conn.exec_driver_sql(f"ANALYZE {', '.join(owned)}")
    except Exception as exc:  # noqa: BLE001 (a lost connection is WarehouseUnavailable, not a DBAPIError)
        logging.getLogger(__name__).warning("ANALYZE after the bulk load failed (%s): autovacuum will do it",
                                            type(exc).__name__)
        return False
    return bool(owned)
