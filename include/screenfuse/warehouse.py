"""The one module that talks to the warehouse (SQLAlchemy; SQLite by default, PostgreSQL too).

SQL text lives in sql/ (migrations, views, publish and query files); this module runs it with bound
parameters and writes frames with Core inserts inside one transaction. The schema is made by
migrations (screenfuse.schema, `screenfuse db upgrade`), never by a run.
"""
from __future__ import annotations

import math
import re
import weakref
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from screenfuse.config import SQL_DIR, seconds_from_env



def sql_statements(relative: str) -> list[str]:
    """The statements of one file under sql/, split at ';' that ends a line, comments dropped."""
    text = (SQL_DIR / relative).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    body = "\n".join(lines)
    return [s.strip() for s in body.replace(";\n", ";\x00").split("\x00") if s.strip().rstrip(";").strip()]


def sql_query(relative: str) -> str:
    (statement,) = sql_statements(relative)
    return statement.rstrip(";")


SQLITE_BUSY_SECONDS = 30  # default of SCREENFUSE_SQLITE_BUSY_SECONDS (also PostgreSQL's wait for the publish lock)
SQLITE_CACHE_MB = 128
# pages of a new SQLite warehouse (SQLite's default is 4 KB): a first load writes GBs, each page
# twice (the WAL, then its checkpoint), one write call a page; 16 KB pages made the 1,000,000-record
# publish about a sixth faster (docs/benchmarks.md, "16 KB pages"). A warehouse made earlier keeps its pages.
SQLITE_PAGE_BYTES = 16384


class WarehouseUnavailable(RuntimeError):
    """The warehouse went away or stayed locked mid-step: nothing of the step's transaction was
    written, and running the step again (Airflow retries it) picks up from the same state."""


def _unavailable(context) -> None:
    """SQLAlchemy's handle_error hook: a lost or refused connection, or a SQLite write lock held
    past the busy timeout, becomes one clear line (no SQL, no bound values)."""
    if context.is_pre_ping:  # the pool is checking a pooled connection: let it reconnect
        return
    found = unavailable_error(context.original_exception, context.is_disconnect)
    if found is not None:
        raise found from None


@contextmanager
def driver_errors():
    """Calls made on the driver's own connection (COPY, binary reads) bypass SQLAlchemy's
    handle_error hook: a lost connection among them says so in the same one line."""
    try:
        yield
    except Exception as exc:
        found = unavailable_error(exc)
        if found is not None:
            raise found from None
        raise


def unavailable_error(error: BaseException, disconnect: bool = False) -> WarehouseUnavailable | None:
    """The WarehouseUnavailable a driver error means, or None: a lost or refused connection, a
    lock waited on past the timeout."""
    name, sqlstate = type(error).__name__, getattr(error, "sqlstate", None) or ""
    # a connection exception (08…) or the server shutting down or starting (57P01-57P03)
    disconnect = disconnect or sqlstate in ("08000", "08001", "08003", "08004", "08006", "08007",
                                            "57P01", "57P02", "57P03")  # not 08P01: a protocol bug
    if sqlstate == "55P03":  # lock_not_available: lock_timeout passed
        return WarehouseUnavailable(
            f"waited over {busy_seconds():g} s (SCREENFUSE_SQLITE_BUSY_SECONDS) for another run's publish lock on the "
            "PostgreSQL warehouse: this step wrote nothing; run it again (Airflow retries it), and look for a "
            "session holding a screenfuse transaction open (pg_stat_activity)")
    if disconnect or (name == "OperationalError" and type(error).__module__.startswith("psycopg")):
        return WarehouseUnavailable(
            f"the warehouse database connection was lost or refused ({name}: "
            f"{str(error).splitlines()[0][:160] if str(error) else 'no detail'}): this step's transaction "
            "was rolled back; run it again when the database is back (Airflow retries it)")
    if name == "OperationalError" and "locked" in str(error):
        return WarehouseUnavailable(
            f"the SQLite warehouse stayed locked by another writer for over {busy_seconds():g} s "
            "(SCREENFUSE_SQLITE_BUSY_SECONDS): this step wrote nothing; run it again (Airflow retries it), and look "
            "for a process holding a write transaction on the warehouse file (readers never block, but during a first "
            "load's publish)")
    return None


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    """The engine of a warehouse URL. Errors never show the bound values (personal data). SQLite
    runs in WAL mode (readers, e.g. a BI tool, never block a publish, nor a publish them) and waits
    up to SQLITE_BUSY_SECONDS for another writer."""
    if not url.startswith("sqlite"):
        engine = sa.create_engine(url, future=True, hide_parameters=True, pool_pre_ping=True)
        if engine.dialect.name == "postgresql":
            sa.event.listen(engine, "connect", lambda connection, _: _postgres_settings(connection))
    else:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        busy = busy_seconds()
        engine = sa.create_engine(url, future=True, hide_parameters=True, connect_args={"timeout": busy})
        sa.event.listen(engine, "connect", lambda connection, _: _sqlite_pragmas(connection, busy))
    sa.event.listen(engine, "handle_error", _unavailable)
    _MADE.add(engine)
    return engine


_MADE: weakref.WeakSet = weakref.WeakSet()  # the engines this process made, for `close_engines`


def close_engines() -> None:
    """Close the pooled connections of every engine this process made: on SQLite the last close
    folds the write-ahead log into the database, which an exit that skips the collector
    (`cli.console`) would otherwise leave to the next connection."""
    for engine in list(_MADE):
        engine.dispose()


def busy_seconds() -> float:
    """How long a SQLite writer waits for another one (SCREENFUSE_SQLITE_BUSY_SECONDS)."""
    return seconds_from_env("SCREENFUSE_SQLITE_BUSY_SECONDS", SQLITE_BUSY_SECONDS)


def _postgres_settings(dbapi_connection) -> None:
    """No JIT compilation: the views' plans are many small subplans, and PostgreSQL compiled them
    for seconds before running them for less than one (v_person_whereabouts: 4.1 s of compiling,
    0.7 s of running, 46,636 persons). `screenfuse db upgrade` sets it for the database's other
    sessions too (a BI tool's): `schema.database_settings`."""
    cursor = dbapi_connection.cursor()
    # a server without the setting (before PostgreSQL 11, some compatible products) is left as it is
    cursor.execute("SELECT set_config('jit', 'off', false) WHERE current_setting('jit', true) IS NOT NULL")
    cursor.close()
    dbapi_connection.commit()  # the setting outlives the transaction the driver opened for it


def _sqlite_pragmas(dbapi_connection, busy: float) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")  # a database not yet written only; before WAL
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
    # a page cache of up to SQLITE_CACHE_MB (SQLite's default is 2 MB): index pages of a large
    # warehouse stay in memory while a batch inserts into them
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_MB * 1024}")
    cursor.close()


_CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+) \((.*)\)", re.S)
_COLUMN = re.compile(r"^\s*(\w+)\s+(TEXT|INTEGER|DOUBLE PRECISION)\b")


def schema_columns(relative: str = "migrations/0001_baseline.sql") -> dict[str, list[tuple[str, str]]]:
    """Table → (column, type) as the CREATE TABLE statements of one file under sql/ declare them
    (by default the baseline revision's)."""
    out = {}
    for statement in sql_statements(relative):
        found = _CREATE.search(statement)
        if found:
            lines = [line.split("--")[0] for line in found.group(2).splitlines()]
            out[found.group(1)] = [(m.group(1), m.group(2)) for m in map(_COLUMN.match, lines)
                                   if m and m.group(1).upper() not in ("PRIMARY", "UNIQUE")]
    return out


def read_frame(engine: sa.Engine, query_file: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql_query(query_file)), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def sort_rows(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Rows in code point order of `by`, NULLs first: the order SQLite gives text, on every database.
    ORDER BY on text follows the database's collation (a PostgreSQL database created for Chinese
    sorts by pinyin) and PostgreSQL puts NULLs last, so output whose order people see (outbox files,
    the summary) is sorted here, not in SQL."""
    return frame.sort_values(by, na_position="first", kind="stable", ignore_index=True) if len(frame) else frame


def execute(engine: sa.Engine, statement_file: str, **params) -> int:
    """Run the statements of one file under sql/ in one transaction; rows changed."""
    changed = 0
    with engine.begin() as conn:
        for statement in sql_statements(statement_file):
            changed += conn.execute(sa.text(statement.rstrip(";")), params).rowcount or 0
    return changed


def statement_rows(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """Frame → insert parameters for the table's columns; NaN/NA → NULL, numpy → Python."""
    present = [c for c in columns if c in frame.columns]
    records = frame[present].astype(object).to_dict(orient="records")
    for row in records:
        for key, value in row.items():
            if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
                row[key] = None
            elif hasattr(value, "item"):
                row[key] = value.item()
    return records


# --- bulk writes, key lookups and before-images (what incremental runs are built on) -------------

def is_postgres(conn) -> bool:
    return conn.dialect.name == "postgresql"


def _values(column: pd.Series) -> list:
    """One column as plain Python values (NaN/NA → None), converted per column, not per value."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        # straight from Arrow (nulls come as None): a quarter less time than through object values
        return column.array.__arrow_array__().to_pylist()
    values = column.tolist() if column.dtype.kind in "iubf" else column.astype(object).tolist()
    if column.dtype == object:  # numpy scalars put into an object column
        values = [v.item() if hasattr(v, "item") else v for v in values]
    for at in np.flatnonzero(column.isna().to_numpy()):
        values[at] = None
    return values


def _tuples(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as tuples of plain Python values, NaN/NA → None."""
    if frame.empty:
        return []
    return list(zip(*(_values(frame[c]) for c in columns)))


BULK_ROWS = 50_000  # rows made into Python tuples at a time: a whole batch at once costs GBs


def bulk_insert(conn, table: str, frame: pd.DataFrame, columns: list[str] | None = None) -> int:
    """Insert a frame fast: COPY on PostgreSQL (CSV that Arrow writes: pg_copy), executemany of
    tuples on SQLite; BULK_ROWS rows at a time (a million rows of forty columns as Python objects
    at once would hold several GB)."""
    if frame is None or frame.empty:
        return 0
    columns = columns or [c for c in table_columns(conn, table) if c in frame.columns]
    key = primary_key(conn, table)
    order = None
    if len(frame) > 1 and key and set(key) <= set(frame.columns) and not is_postgres(conn):
        # SQLite: in index order, a large batch writes far faster (by the key's first column:
        # sorting 7.5 million block keys by their record ids too would cost more than it saves);
        # the order is taken a chunk at a time, not as a sorted copy of a wide frame
        order = frame[key[0]].argsort(kind="stable").to_numpy()
        if (np.diff(order) > 0).all():
            order = None  # in order already: slices (Arrow's take from a column of many chunks, as
            # staged, costs a copy of the whole column each time: 4 s for 8.5 million keys)
    names = ", ".join(columns)
    raw = conn.connection.driver_connection
    parts = (frame.iloc[at:at + BULK_ROWS] if order is None else frame.iloc[order[at:at + BULK_ROWS]]
             for at in range(0, len(frame), BULK_ROWS))
    if is_postgres(conn):
        import psycopg

        from screenfuse import pg_copy

        try:
            with raw.cursor() as cursor:
                if row_security(conn, table):  # COPY FROM refuses a table under row-level security
                    marks = ", ".join("%s" for _ in columns)
                    for part in parts:
                        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", _tuples(part, columns))
                    return len(frame)
                pg_copy.copy_chunks(cursor, table, columns, parts, _tuples)
        except psycopg.Error as exc:  # its DETAIL and CONTEXT quote the row: personal data stays out
            if (lost := unavailable_error(exc)) is not None:  # the server went away mid-COPY
                raise lost from None
            diag = exc.diag
            raise RuntimeError(f"writing {table} failed: SQLSTATE {exc.sqlstate}, constraint "
                               f"{diag.constraint_name or '-'}, column {diag.column_name or '-'}") from None
    else:
        marks = ", ".join("?" for _ in columns)
        with driver_errors(), indexes_built_after(conn, table, len(frame)):
            for part in parts:
                raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", _tuples(part, columns))
    return len(frame)


INDEX_AFTER_ROWS = 100_000  # into an empty SQLite table, this many rows or more are loaded before its indexes


@contextmanager
def indexes_built_after(conn, table: str, rows: int):
    """A bulk load into an empty SQLite table (a first load): its secondary indexes are dropped and
    built again from the loaded rows, one sort each, instead of taking a million random inserts.
    Inside the caller's transaction: a failure rolls the indexes back with the rows."""
    # only inside an open transaction: sqlite3 runs DDL outside one at once, and a failed load would
    # leave the table without its indexes
    if rows < INDEX_AFTER_ROWS or not conn.connection.driver_connection.in_transaction \
            or not is_empty(conn, table):
        yield
        return
    made = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                "AND sql IS NOT NULL", (table,)).fetchall()
    for name, _ in made:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    yield
    for _, sql in made:
        conn.exec_driver_sql(sql)


def row_security(conn, table: str) -> bool:
    """Whether a PostgreSQL table has row-level security on (`screenfuse db roles`)."""
    return bool(conn.exec_driver_sql("SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass(%(t)s)",
                                     {"t": table}).scalar())


_COLUMNS_CACHE: dict = {}


def is_empty(conn, table: str) -> bool:
    """Whether `table` holds no row (one index probe, whatever its size)."""
    return conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is None


def table_columns(conn, table: str) -> list[str]:
    key = (str(conn.engine.url), table)
    if key not in _COLUMNS_CACHE:
        _COLUMNS_CACHE[key] = [c["name"] for c in sa.inspect(conn).get_columns(table)]
    return _COLUMNS_CACHE[key]


def primary_key(conn, table: str) -> list[str]:
    """The table's primary key columns ([] for none, e.g. a temporary key table)."""
    key = (str(conn.engine.url), table, "pk")
    if key not in _COLUMNS_CACHE:
        try:
            _COLUMNS_CACHE[key] = sa.inspect(conn).get_pk_constraint(table).get("constrained_columns") or []
        except sa.exc.NoSuchTableError:
            _COLUMNS_CACHE[key] = []
    return _COLUMNS_CACHE[key]


def load_keys(conn, name: str, frame: pd.DataFrame) -> str:
    """A temporary table `name` holding `frame` (key columns, text or integer), for joins that
    read by index only the rows a run touches; returns its name."""
    kinds = {c: ("BIGINT" if pd.api.types.is_integer_dtype(frame[c]) else "TEXT") for c in frame.columns}
    # on SQLite, in the temporary schema by name: an unqualified name a DROP does not find reads
    # every attached database, and holds it to the commit (a publish's scratch files, which its
    # writer is still writing: sqlite_bulk)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name if is_postgres(conn) else 'temp.' + name}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({', '.join(f'{c} {t}' for c, t in kinds.items())})")
    bulk_insert(conn, name, frame.drop_duplicates(), list(frame.columns))
    if len(frame.columns) == 1:
        conn.exec_driver_sql(f"CREATE INDEX ix_{name} ON {name} ({frame.columns[0]})")
    return name


def query_frame(conn, sql: str, **params) -> pd.DataFrame:
    """The rows of a query as a frame, built from the driver's plain tuples: from SQLAlchemy's Row
    objects pandas takes 2.5 times as long (it probes each row for namedtuple fields)."""
    result = conn.execute(sa.text(sql), params)
    columns = list(result.keys())
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return pd.DataFrame.from_records(rows, columns=columns)


def rows_by_keys(conn, table: str, key: str, values, columns: str = "*") -> pd.DataFrame:
    """Rows of `table` whose `key` is one of `values` (`key_filter`). An empty table answers at
    once: a first load would otherwise send every key of its batch to find nothing, for each
    look-up."""
    # the table's emptiness asked first: listing a first load's million keys costs seconds
    if is_empty(conn, table) or not (values := list(values)):
        return query_frame(conn, f"SELECT {columns} FROM {table} WHERE 1 = 0")
    where, params = key_filter(conn, table, key, values)
    return query_frame(conn, f"SELECT {columns} FROM {table} WHERE {where}", **params)


def key_filter(conn, table: str, key: str, values) -> tuple[str, dict]:
    """A condition "`key` is one of `values`" (text keys) and its parameters. PostgreSQL gets the
    values as one array parameter, which its planner reads value by value: behind a temporary key
    table they are unknown to it, and a column that is empty in most rows (`contact_of_id`) then
    looks as if every key matched most of the table, so it read all of it, each hour. SQLite
    joins a temporary key table `k_<table>_<key>` (its planner takes the index either way)."""
    if is_postgres(conn):
        return f"{key} = ANY(:keys)", {"keys": [str(v) for v in values if not pd.isna(v)]}
    name = load_keys(conn, f"k_{table}_{key}", pd.DataFrame({key: pd.Series(list(values), dtype=object)}))
    return f"{key} IN (SELECT {key} FROM {name})", {}


def lock_for_publish(conn) -> None:
    """Serialize publishing: PostgreSQL takes a transaction lock, SQLite its write lock now."""
    if is_postgres(conn):
        # a holder whose host died keeps its transaction open: wait as long as SQLite would, then say so
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(busy_seconds() * 1000)}ms'")
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(8411770)")  # screenfuse's publish lock
    else:
        conn.exec_driver_sql("DELETE FROM batch_undo WHERE 1 = 0")  # a write: SQLite holds the lock from here
