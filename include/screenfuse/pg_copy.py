"""Rows into PostgreSQL by COPY, as CSV that Arrow writes in C.

psycopg's `write_row` takes one Python tuple a row: the publish of a first load of 1,000,000
records spent 66 s of its 133 s making tuples and writing them (docs/benchmarks.md, "PostgreSQL's
first load"). Arrow writes the same rows as CSV from the frame's columns. PostgreSQL's CSV reads
an unquoted empty field as NULL and a quoted one as text, and Arrow quotes every text value (an
empty one too) and leaves nulls empty: NULL stays NULL and "" stays "". Numbers are written in
their shortest exact form. A chunk with a column of another kind (dates, times, bytes, objects of
mixed kinds) is written the tuple path, as before.
"""
from __future__ import annotations

import itertools
from typing import Callable, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

_TAKEN = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_floating,
          pa.types.is_boolean, pa.types.is_null)
_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def as_arrow(part: pd.DataFrame) -> pa.Table | None:
    """The chunk as an Arrow table of text, numbers, booleans and nulls (NaN and NA → null), or
    None when a column is of another kind or cannot be converted."""
    try:
        table = pa.Table.from_pandas(part, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):  # a categorical column: its values
            column = column.cast(column.type.value_type)
        if not any(taken(column.type) for taken in _TAKEN):
            return None
        if pa.types.is_floating(column.type) and column.type != pa.float64():
            column = column.cast(pa.float64())  # a float32's value as the tuple path (and SQLite) has it
        columns.append(column)
    return pa.table(columns, names=table.column_names)


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
    statement = {True: f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)", False: f"COPY {table} ({columns}) FROM STDIN"}

    def forms():
        for part in chunks:
            arrow = as_arrow(part[names])
            yield (arrow is not None), (part if arrow is None else arrow)

    for as_csv, run in itertools.groupby(forms(), key=lambda form: form[0]):
        with cursor.copy(statement[as_csv], writer=QueuedLibpqWriter(cursor)) as copy:
            for _, chunk in run:
                if as_csv:
                    copy.write(csv_bytes(chunk))
                    continue
                for row in tuples(chunk, names):
                    copy.write_row(row)
