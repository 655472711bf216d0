"""Rows into PostgreSQL by COPY, as CSV that Arrow writes in C.

psycopg's `write_row` takes one Python tuple a row: the publish of a first load of 1,000,000
records spent 66 s of its 133 s making tuples and writing them (docs/benchmarks.md,
"PostgreSQL's first-load publish by CSV"). Arrow writes the same rows as CSV from the frame's
columns. PostgreSQL's CSV reads an unquoted empty field as NULL and a quoted one as text, and
Arrow quotes every text value (an empty one too) and leaves nulls empty: NULL stays NULL and ""
stays "". Numbers are written in their shortest exact form, the text in UTF-8 whatever the
connection's encoding. A chunk with a column of a kind SQLite's C path does not take either
(`arrow_rows.plain_type`: dates, times, bytes, objects of mixed kinds), or numbers for a text
column, is written the tuple path, as before.
"""
from __future__ import annotations

import itertools
from typing import Callable, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from screenfuse import arrow_rows
from screenfuse.arrow_rows import NotTaken, Rows, plain_type

_TEXT = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def as_arrow(part: pd.DataFrame, text_columns: frozenset[str] = frozenset()) -> pa.Table | None:
    """The chunk as an Arrow table of text, numbers, booleans and nulls (NaN and NA → null), or
    None when a column is of another kind, cannot be converted, or holds numbers or booleans for
    a text column of `text_columns` (Arrow would write 3.0 as "3", true as "true"; the tuple path
    writes "3.0" and "t", as SQLite keeps them)."""
    try:
        table = pa.Table.from_pandas(part, preserve_index=False)
    except (pa.ArrowException, OverflowError, UnicodeError, TypeError, ValueError):
        return None  # e.g. an int past 64 bits, a lone surrogate: the tuple path says what it is
    columns = []
    for name, column in zip(table.column_names, table.columns):
        kind = plain_type(column.type)  # a categorical column: its values
        if kind is None or (name in text_columns and not any(text(kind) for text in _TEXT)):
            return None
        if kind != column.type:
            column = column.cast(kind)
        columns.append(_double(column))
    return pa.table(columns, names=table.column_names)


def _double(column):
    """A float32's value as the tuple path (and SQLite) has it."""
    return column.cast(pa.float64()) if pa.types.is_floating(column.type) and column.type != pa.float64() else column


def csv_bytes(table: pa.Table) -> memoryview:
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, _CSV)
    return memoryview(sink.getvalue())


def copy_chunks(cursor, table: str, names: list[str], chunks: Iterable[pd.DataFrame],
                tuples: Callable[[pd.DataFrame, list[str]], list[tuple]]) -> None:
    """COPY the chunks (frames holding `names`) into `table`, in the caller's transaction: as CSV
    where Arrow takes a chunk, else row by row from `tuples(chunk, names)`. Chunks of one form in
    a row go through one COPY, sent by psycopg's writer thread while the next chunk is made: the
    server reads one chunk while this process makes the next."""
    from psycopg.copy import QueuedLibpqWriter

    columns = ", ".join(names)
    # Arrow writes UTF-8 whatever the connection's encoding (a GBK client would read it garbled)
    statement = {True: f"COPY {table} ({columns}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')",
                 False: f"COPY {table} ({columns}) FROM STDIN"}
    texts = text_columns(cursor, table)

    def forms():
        for part in chunks:
            arrow = as_arrow(part[names], texts)
            yield (arrow is not None), (part if arrow is None else arrow)

    for as_csv, run in itertools.groupby(forms(), key=lambda form: form[0]):
        with cursor.copy(statement[as_csv], writer=QueuedLibpqWriter(cursor)) as copy:
            for _, chunk in run:
                if as_csv:
                    copy.write(csv_bytes(chunk))
                    continue
                for row in tuples(chunk, names):
                    copy.write_row(row)


def copy_rows(cursor, table: str, rows: Rows, at_least: int = 0) -> int | None:
    """COPY `rows` (staged Arrow payloads, `arrow_rows`) into `table` a staged batch at a time,
    never as a frame: the values `copy_chunks` writes from the same payloads read by pandas; how
    many. None, and nothing copied, when they are fewer than `at_least`. NotTaken when a column is
    of a kind not taken so, or holds numbers for a text column (the tuple path writes those)."""
    from psycopg.copy import QueuedLibpqWriter

    schema, total = arrow_rows.plan(rows)
    if total < at_least:
        return None
    texts = text_columns(cursor, table)
    numbers = [f.name for f in schema if f.name in texts and not any(text(f.type) for text in _TEXT)]
    if numbers:
        raise NotTaken(f"numbers for the text columns {', '.join(numbers)}")
    statement = f"COPY {table} ({', '.join(schema.names)}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')"
    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        for batch in arrow_rows.batches(rows, schema):
            copy.write(csv_bytes(pa.table([_double(column) for column in batch.columns], names=schema.names)))
    return total


def text_columns(cursor, table: str) -> frozenset[str]:
    """The columns of `table` of PostgreSQL's string types (a temporary table's too)."""
    cursor.execute("SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                   "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
                   "AND t.typcategory = 'S'", (table,))
    return frozenset(row[0] for row in cursor.fetchall())
