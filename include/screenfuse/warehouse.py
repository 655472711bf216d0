"""The one module that talks to the warehouse (SQLAlchemy; SQLite by default, PostgreSQL too).

SQL text lives in sql/ (schema, views, publish and query files); this module runs it with bound
parameters and writes frames with Core inserts inside one transaction.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from screenfuse.config import SQL_DIR

PUBLISHED_TABLES = ("source_record", "person_link", "person", "quarantine", "ingest_file", "push_item", "run_log",
                    "match_review", "person_event", "match_model")


def sql_statements(relative: str) -> list[str]:
    """The statements of one file under sql/, split at ';' that ends a line, comments dropped."""
    text = (SQL_DIR / relative).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    body = "\n".join(lines)
    return [s.strip() for s in body.replace(";\n", ";\x00").split("\x00") if s.strip().rstrip(";").strip()]


def sql_query(relative: str) -> str:
    (statement,) = sql_statements(relative)
    return statement.rstrip(";")


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url, future=True)


def ensure_schema(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for statement in sql_statements("schema.sql") + sql_statements("views.sql"):
            conn.exec_driver_sql(statement.rstrip(";"))


def read_frame(engine: sa.Engine, query_file: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql_query(query_file)), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


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


def publish(engine: sa.Engine, batch_id: str, frames: dict[str, pd.DataFrame]) -> None:
    """Write one batch in one transaction: its own rows replaced, current state replaced."""
    with engine.begin() as conn:
        for statement in sql_statements("publish/delete_batch.sql"):
            conn.execute(sa.text(statement.rstrip(";")), {"batch_id": batch_id})
        for statement in sql_statements("publish/replace_current_state.sql"):
            conn.execute(sa.text(statement.rstrip(";")))
        metadata = sa.MetaData()
        for name in PUBLISHED_TABLES:
            frame = frames.get(name)
            if frame is None or frame.empty:
                continue
            table = sa.Table(name, metadata, autoload_with=conn)
            rows = _rows(frame, [c.name for c in table.columns])
            for start in range(0, len(rows), 5000):
                conn.execute(table.insert(), rows[start:start + 5000])
