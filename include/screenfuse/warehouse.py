"""The one module that talks to the warehouse (SQLAlchemy; SQLite by default, PostgreSQL too).

SQL text lives in sql/ (migrations, views, publish and query files); this module runs it with bound
parameters and writes frames with Core inserts inside one transaction. The schema is made by
migrations (screenfuse.schema, `screenfuse db upgrade`), never by a run.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from screenfuse.config import SQL_DIR

PUBLISHED_TABLES = ("source_record", "person_link", "person", "quarantine", "ingest_file", "push_item", "run_log",
                    "match_review", "person_event", "match_model", "person_status", "push_feedback",
                    "police_tracing", "match_cannot_link", "unit_delivery", "silent_unit", "zero_report_check",
                    "community_risk")


def sql_statements(relative: str) -> list[str]:
    """The statements of one file under sql/, split at ';' that ends a line, comments dropped."""
    text = (SQL_DIR / relative).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    body = "\n".join(lines)
    return [s.strip() for s in body.replace(";\n", ";\x00").split("\x00") if s.strip().rstrip(";").strip()]


def sql_query(relative: str) -> str:
    (statement,) = sql_statements(relative)
    return statement.rstrip(";")


SQLITE_BUSY_SECONDS = 30


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    """The engine of a warehouse URL. Errors never show the bound values (personal data). SQLite
    runs in WAL mode (readers, e.g. a BI tool, never block a publish, nor a publish them) and waits
    up to SQLITE_BUSY_SECONDS for another writer."""
    if not url.startswith("sqlite"):
        return sa.create_engine(url, future=True, hide_parameters=True)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_SECONDS})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
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


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
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


def publish(engine: sa.Engine, batch_id: str, frames: dict[str, pd.DataFrame],
            updates: dict[str, pd.DataFrame] | None = None) -> None:
    """Write one batch in one transaction: its own rows replaced (and what it changed in earlier
    rows undone), current state replaced, then `updates` (sql/publish file → one execution per
    row, e.g. closing status rows) and the inserts of `frames` (table → rows)."""
    with engine.begin() as conn:
        for statement in sql_statements("publish/delete_batch.sql"):
            conn.execute(sa.text(statement.rstrip(";")), {"batch_id": batch_id})
        for statement in sql_statements("publish/replace_current_state.sql"):
            conn.execute(sa.text(statement.rstrip(";")))
        for query_file, frame in (updates or {}).items():
            if frame is None or frame.empty:
                continue
            rows = _rows(frame, list(frame.columns))
            for statement in sql_statements(query_file):
                conn.execute(sa.text(statement.rstrip(";")), rows)
        metadata = sa.MetaData()
        for name in PUBLISHED_TABLES:
            frame = frames.get(name)
            if frame is None or frame.empty:
                continue
            table = sa.Table(name, metadata, autoload_with=conn)
            rows = _rows(frame, [c.name for c in table.columns])
            for start in range(0, len(rows), 5000):
                conn.execute(table.insert(), rows[start:start + 5000])
