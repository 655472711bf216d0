"""What a warehouse holds, compared by content: per table, a hash of its rows in a stable order,
and the rows one warehouse has that another lacks (to count rows lost and duplicated)."""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

WORKING_TABLES = {"batch_stage"}  # emptied at the end of every run


def table_rows(engine) -> dict[str, pd.DataFrame]:
    """Every stored table but the working ones, as text, rows in a stable order."""
    out = {}
    with engine.connect() as conn:
        for name in sorted(set(sa.inspect(conn).get_table_names()) - WORKING_TABLES):
            frame = pd.read_sql(sa.text(f"SELECT * FROM {name}"), conn).astype(str)
            out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True) if len(frame) else frame
    return out


def checksums(engine) -> dict[str, str]:
    """Per table, a hash of its rows in a stable order (content, not counts)."""
    return {name: hashlib.sha256(frame.to_csv(index=False).encode() if len(frame) else b"").hexdigest()
            for name, frame in table_rows(engine).items()}


def row_differences(expected: dict[str, pd.DataFrame], got: dict[str, pd.DataFrame]) -> tuple[int, int]:
    """(rows of `expected` missing from `got`, rows of `got` beyond `expected`), over all tables."""
    lost = extra = 0
    for name in set(expected) | set(got):
        want = Counter(map(tuple, expected.get(name, pd.DataFrame()).itertuples(index=False)))
        have = Counter(map(tuple, got.get(name, pd.DataFrame()).itertuples(index=False)))
        lost += sum((want - have).values())
        extra += sum((have - want).values())
    return lost, extra


def folder_checksums(folder: Path) -> dict[str, str]:
    """Each file under `folder` (hidden ones too: a leftover is a difference) → its SHA-256."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
