"""A batch's writes to the stored tables, and taking them back.

A publish replaces rows by key (`replace_rows`); each row it changes is kept first as a
before-image in `batch_undo`, and the key of each row it creates is kept there too (no image), so
`undo_batch` restores the warehouse the batch started from by key. The tables need no index on the
batch that last wrote a row: a row updated by an hour would move in it, from a random place of a
tree of millions (a first load's or an old hour's entries), and those moves were a sixth of the
pages an hour at 3,000,000 records wrote (docs/hourly.md). A table empty before the batch is marked
(`#empty`): taking the batch back empties it, with no key kept for a first load's millions. A row
that is stored already is updated where it lies, and on SQLite an indexed column only in the rows
where it changed: deleting and inserting it again would write a leaf of every index, the key's
too, each at a random place in a tree of millions of rows, and those pages were most of what an
hour's commit cost on a large warehouse (docs/hourly.md).
"""
from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa

from screenfuse.text_keys import is_in, text_index
from screenfuse.warehouse import (BULK_ROWS, bulk_insert, driver_errors, is_empty, is_postgres, key_filter, load_keys,
                                  query_frame, sql_statements, _tuples, _values)

EMPTY = "#empty"  # batch_undo's table_name for "this table was empty before the batch" (row_key: the table)
# table → (key, the column naming the batch that wrote the row): what `undo_batch` restores
UNDO_TABLES = {"person": ("person_id", "batch_id"), "person_link": ("source_record_id", "changed_batch_id"),
               "match_term": ("term_key", "batch_id"), "screening_outcome": ("source_record_id", "batch_id"),
               "zero_report_check": ("check_key", "changed_batch_id"),  # a day's check, updated by a late report
               "contact_edge": ("source_record_id", "batch_id"),
               "isolation_point": ("point_name", "batch_id")}  # the points list: the latest row of a point


class Replaced(NamedTuple):
    existed: set  # keys that had a row before
    written: pd.DataFrame  # the rows of `frame` that were written (new or different)


def replace_rows(conn, batch_id: str, table: str, key: str, frame: pd.DataFrame, delete_keys=(),
                 batch_column: str = "batch_id", same_unless: tuple[str, ...] | None = None,
                 staged=None) -> Replaced:
    """Rows of `frame` replace the rows with the same `key` (whole: a column the frame lacks takes
    its default), rows keyed by `delete_keys` go; rows that existed before this batch are kept in
    `batch_undo` first, so `undo_batch` can restore them. Untouched rows are not rewritten; with
    `same_unless`, neither is a row whose stored values equal the new ones in every column but
    those (e.g. the time it was computed). Into an empty table, `staged` (a `sqlite_bulk.Scratch`
    holding `frame` with its batch column) copies the rows in."""
    if is_empty(conn, table):  # a key twice fails the table's own key here
        if len(frame) or (staged is not None and staged.ready(table)):
            mark_empty(conn, batch_id, table)
        if staged is None or staged.copy(conn, table) is None:
            bulk_insert(conn, table, frame.assign(**{batch_column: batch_id}) if len(frame) else frame)
        return Replaced(set(), frame)  # nothing stored yet (a first load): nothing to look up
    if len(frame) and frame[key].astype(str).duplicated().any():  # an update by key would take the last
        raise ValueError(f"{table}: the rows to write hold a {key} twice")
    keys = pd.Index(frame[key].tolist() if len(frame) else []).union(pd.Index(list(delete_keys)))
    if not len(keys):
        return Replaced(set(), frame)
    where, params = key_filter(conn, table, key, keys)
    before = query_frame(conn, f"SELECT * FROM {table} WHERE {where}", **params)
    existed = set(before[key]) if len(before) else set()
    if same_unless is not None and len(before) and len(frame):
        frame = _changed(frame, before, key, {batch_column, *same_unless})
        named = [*frame[key].astype(str).tolist(), *(str(k) for k in delete_keys)]
        before = before[is_in(before[key].astype(str), named)]
    _keep_images(conn, batch_id, table, key, before[before[batch_column] != batch_id] if len(before) else before)
    rows = frame.assign(**{batch_column: batch_id}) if len(frame) else frame
    stored = {str(k) for k in existed}
    written = set(rows[key].astype(str)) if len(rows) else set()
    there = is_in(rows[key].astype(str), list(stored)) if len(rows) else np.zeros(0, dtype=bool)
    gone = [k for k in delete_keys if str(k) in stored and str(k) not in written]
    if gone:
        where, params = key_filter(conn, table, key, gone)
        conn.execute(sa.text(f"DELETE FROM {table} WHERE {where}"), params)
    _update_in_place(conn, table, key, batch_column, rows[there], before)
    created = rows[~there]
    if len(created):  # taken back by key (no image: the row did not exist)
        bulk_insert(conn, "batch_undo", pd.DataFrame({"batch_id": batch_id, "table_name": table,
                                                      "row_key": created[key].astype(str).to_numpy(), "row_json": None}))
    bulk_insert(conn, table, created)
    return Replaced(existed, frame)


def mark_empty(conn, batch_id: str, table: str) -> None:
    """Note that `table` held nothing before the batch, which fills it: taking it back empties it."""
    bulk_insert(conn, "batch_undo", pd.DataFrame([{"batch_id": batch_id, "table_name": EMPTY, "row_key": table,
                                                   "row_json": None}]))


def keep_only(conn, batch_id: str) -> None:
    """What earlier batches kept in `batch_undo` goes: only the latest batch can be taken back.
    On SQLite, a table that holds no row of this batch (as always, unless this publish kept some
    already) is emptied whole, which frees its pages at once; a delete by condition rewrites every
    page, and after a bulk batch (a million created keys) that cost the next hour seconds."""
    if not is_postgres(conn) and conn.exec_driver_sql(
            "SELECT 1 FROM batch_undo WHERE batch_id = ? LIMIT 1", (batch_id,)).first() is None:
        conn.exec_driver_sql("DELETE FROM batch_undo")
    else:
        conn.execute(sa.text("DELETE FROM batch_undo WHERE batch_id <> :b"), {"b": batch_id})


def _keep_images(conn, batch_id: str, table: str, key: str, before: pd.DataFrame) -> None:
    """The stored rows this batch replaces or deletes, as JSON in `batch_undo`."""
    if before.empty:
        return
    images = before.astype(object).where(before.notna(), None)
    bulk_insert(conn, "batch_undo", pd.DataFrame({
        "batch_id": batch_id, "table_name": table, "row_key": images[key].astype(str).to_numpy(),
        "row_json": [json.dumps(r, ensure_ascii=False, default=str) for r in images.to_dict(orient="records")]}))


def _update_in_place(conn, table: str, key: str, batch_column: str, rows: pd.DataFrame, stored: pd.DataFrame) -> None:
    """Stored rows (`stored`, as read) take the values of `rows` (same keys). On SQLite an indexed
    column is set only in the rows where its value changes (one statement for each set of such
    columns that occurs, run for its rows by key): an index is written only for the rows whose
    entry in it moves. PostgreSQL writes a new row version whatever changed: one statement, from a
    temporary table of the rows (COPY)."""
    if rows.empty:
        return
    facts = _columns(conn, table)
    present = [c for c in facts.names if c in rows.columns and c != key]
    absent = {c: facts.defaults.get(c, "NULL") for c in facts.names if c != key and c not in present}
    if is_postgres(conn):
        done = _update_from_copy(conn, table, key, rows, present, absent)
    else:
        indexed = [c for c in facts.names if c in facts.indexed and c not in (key, batch_column)]
        part = _changed_indexed(rows, stored, key, indexed, facts.defaults)
        cursor, done = conn.connection.driver_connection.cursor(), 0
        with driver_errors():  # the driver's own cursor: a lock held past the timeout is the same one line
            for mark in np.unique(part).tolist():
                moved = {c for bit, c in enumerate(indexed) if mark >> bit & 1}
                names = [c for c in present if c not in indexed or c in moved]
                sets = ", ".join([f"{c} = ?" for c in names] + [f"{c} = {v}" for c, v in absent.items()
                                                                 if c not in indexed or c in moved])
                chosen = rows[part == mark]
                for at in range(0, len(chosen), BULK_ROWS):
                    cursor.executemany(f"UPDATE {table} SET {sets} WHERE {key} = ?",
                                       _tuples(chosen.iloc[at:at + BULK_ROWS], [*names, key]))
                    done += cursor.rowcount
        cursor.close()
    if done != len(rows):  # a key the look-up found and the update did not: never lose a row
        raise RuntimeError(f"updating {table} in place matched {done} of {len(rows)} stored rows")


def _update_from_copy(conn, table: str, key: str, rows: pd.DataFrame, present: list[str], absent: dict) -> int:
    staging = f"u_{table}"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {staging}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {staging} AS SELECT * FROM {table} WHERE 1 = 0")
    bulk_insert(conn, staging, rows, [key, *present])
    conn.exec_driver_sql(f"ANALYZE {staging}")  # its size known: the planner looks the rows up by key
    sets = ", ".join([f"{c} = s.{c}" for c in present] + [f"{c} = {v}" for c, v in absent.items()])
    done = conn.exec_driver_sql(f"UPDATE {table} SET {sets} FROM {staging} AS s WHERE {table}.{key} = s.{key}").rowcount
    conn.exec_driver_sql(f"DROP TABLE {staging}")
    return done


def _changed_indexed(rows: pd.DataFrame, stored: pd.DataFrame, key: str, indexed: list[str],
                     defaults: dict[str, str]) -> np.ndarray:
    """For each row, a bit for each of `indexed` whose value differs from the stored one (compared
    as written; a column `rows` lacks that has a default always counts as changed)."""
    part = np.zeros(len(rows), dtype=np.int64)
    if not indexed:
        return part
    stored = stored.drop_duplicates(key)
    was = stored.set_index(stored[key].astype(str)).reindex(rows[key].astype(str))
    for bit, column in enumerate(indexed):
        if column in rows.columns:
            moved = [a != b for a, b in zip(_values(rows[column]), _values(was[column]))]
        else:
            moved = [True] * len(rows) if column in defaults else was[column].notna().tolist()
        part |= np.asarray(moved, dtype=np.int64) << bit
    return part


class _Columns(NamedTuple):
    names: list[str]
    indexed: set[str]  # columns some secondary index holds
    defaults: dict[str, str]  # column → its default, as SQL (what an insert without it would store)


_COLUMNS: dict = {}


def _columns(conn, table: str) -> _Columns:
    cache = (str(conn.engine.url), table)
    if cache not in _COLUMNS:
        inspector = sa.inspect(conn)
        indexed = {c for index in inspector.get_indexes(table) for c in index["column_names"] if c}
        columns = inspector.get_columns(table)
        _COLUMNS[cache] = _Columns([c["name"] for c in columns], indexed,
                                   {c["name"]: str(c["default"]) for c in columns if c.get("default") is not None})
    return _COLUMNS[cache]


def _changed(frame: pd.DataFrame, stored: pd.DataFrame, key: str, ignore: set) -> pd.DataFrame:
    """The rows of `frame` that are new or differ from `stored` (compared as they are written),
    column by column: as row tuples in a dict, a large batch's 500,000 persons took 12 s."""
    columns = [c for c in frame.columns if c in stored.columns and c not in ignore and c != key]
    at = text_index(stored[key].astype(str)).get_indexer(text_index(frame[key].astype(str)))
    keep = at < 0  # new
    found, at = np.flatnonzero(~keep), at[~keep]
    for column in columns:
        differs = _objects(frame[column])[found] != _objects(stored[column])[at]
        keep[found[differs]] = True
    return frame[keep]


def _objects(column: pd.Series) -> np.ndarray:
    """A column as written (`_values`), in an array of objects: compared by value (None = None)."""
    values = np.empty(len(column), dtype=object)
    values[:] = _values(column)
    return values


def undo_batch(conn, batch_id: str) -> None:
    """Take a published batch back: its own rows go, rows it replaced are restored from
    `batch_undo`, and what it changed in earlier rows is undone (sql/publish/delete_batch.sql).
    The rows of `UNDO_TABLES` it wrote are found by the keys it kept, not by a batch column."""
    for statement in sql_statements("publish/delete_batch.sql"):
        conn.execute(sa.text(statement.rstrip(";")), {"batch_id": batch_id})
    undo = query_frame(conn, "SELECT table_name, row_key, row_json FROM batch_undo WHERE batch_id = :b", b=batch_id)
    emptied = set(undo.loc[undo["table_name"] == EMPTY, "row_key"].tolist())
    for table, (key, _) in UNDO_TABLES.items():
        if table in emptied:  # every row is the batch's
            conn.exec_driver_sql(f"DELETE FROM {table}")
        mine = undo[undo["table_name"] == table]
        if mine.empty:
            continue
        load_keys(conn, f"k_{table}_{key}", pd.DataFrame({key: mine["row_key"].astype(str)}))
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM k_{table}_{key})")
        images = mine["row_json"].dropna()
        if len(images):
            bulk_insert(conn, table, pd.DataFrame([json.loads(r) for r in images]))
    conn.execute(sa.text("DELETE FROM batch_undo WHERE batch_id = :b"), {"b": batch_id})  # the '#batch' mark too
