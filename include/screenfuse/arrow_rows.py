"""A table's rows straight from the stage's Arrow payloads, for SQLite's C path (sqlite_bulk).

Read into pandas and converted back to Arrow, a first load's million records cost seconds and
GBs (their text becomes Python objects, 3 GB at the publish's peak). Here the staged Arrow
batches are taken as they are, with the values the tuple path stores from the same payloads read
back by pandas (`batch_state.frame_from`, then `warehouse.bulk_insert`): text, integers, reals,
booleans, nulls. Pandas' reading is followed where it changes a value: an integer column holding
a missing value (after the parts are joined) reads as floats, unless it was a nullable integer
column (`Int64`). A column of another kind (dates, times, lists) or of two kinds across the parts
is not taken (`NotTaken`): the table goes the tuple path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from screenfuse.batch_state import ARROW_MAGIC

CHUNK_ROWS = 100_000  # rows handed to the driver at a time
_KINDS = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_floating,
          pa.types.is_boolean)


class NotTaken(ValueError):
    """A payload the C path does not take as it is (the tuple path writes the table)."""


@dataclass
class Rows:
    """What one scratch table is written from: the payloads of its parts (a feed each), the
    columns to take, columns of one value to add (the batch id), and whether the rows must be
    in the order of `key` (the table's first key column) or may stay as staged."""
    payloads: list[bytes]
    columns: list[str] | None = None  # None: every column of the table
    key: str | None = None
    constants: dict[str, str] = field(default_factory=dict)
    in_key_order: bool = True

    def narrow_to(self, names: list[str]) -> None:
        """Keep only the table's columns `names` (a constant over a staged column of the same name
        wins; None: every one of them)."""
        self.constants = {c: v for c, v in self.constants.items() if c in names}
        self.columns = [c for c in names if (self.columns is None or c in self.columns) and c not in self.constants]


def _open(payload: bytes, columns: list[str]) -> tuple[pa.Schema, dict, Iterator[pa.RecordBatch], int]:
    """(schema of `columns`, pandas' dtype of each, their batches, rows) of one payload; a staged
    Arrow file is read a batch at a time, only those columns decompressed."""
    if payload.startswith(ARROW_MAGIC):
        whole = pa.ipc.open_file(pa.py_buffer(payload))
        meta = whole.schema.pandas_metadata or {}
        fields = [whole.schema.names.index(c) for c in columns if c in whole.schema.names]
        reader = pa.ipc.open_file(pa.py_buffer(payload), options=pa.ipc.IpcReadOptions(included_fields=fields))
        rows = whole.count_rows() if fields else 0  # from the batches' headers: nothing decompressed
        batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        schema = reader.schema
    else:  # a stage an earlier version wrote (Parquet): read whole
        table = pq.read_table(pa.py_buffer(payload))
        meta = table.schema.pandas_metadata or {}
        table = table.select([c for c in columns if c in table.schema.names])
        rows, batches, schema = table.num_rows, iter(table.to_batches()), table.schema
    numpy = {c.get("name"): str(c.get("numpy_type", "")) for c in meta.get("columns", [])}
    return schema, numpy, batches, rows


def plain_type(kind: pa.DataType) -> pa.DataType | None:
    """The type a bulk path writes for `kind` (a dictionary's values), or None (not taken: the
    tuple path writes it). Also pg_copy's."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_null(kind):
        return pa.null()
    return kind if any(test(kind) for test in _KINDS) else None


def plan(rows: Rows) -> tuple[pa.Schema, int]:
    """The one schema every part's batches are cast to, and the rows in all; NotTaken when a
    column is of a kind the C path does not take, of two kinds across the parts, or integers that
    pandas would join with another part's gap in a way not followed here (an object column)."""
    types: dict[str, pa.DataType] = {}
    seen: dict[str, int] = {}  # how many parts hold a column of values (not all missing)
    absent: set[str] = set()  # a column a part lacks or holds only missing values in
    with_nulls: set[str] = set()  # an integer column with a missing value in some part
    nullable: dict[str, int] = {}  # parts holding it as a nullable integer column (Int64)
    total = parts = 0
    for payload in rows.payloads:
        schema, numpy, batches, count = _open(payload, rows.columns)
        if not count:
            continue
        total, parts = total + count, parts + 1
        absent |= {c for c in rows.columns if c not in schema.names}
        for name in schema.names:
            kind = plain_type(schema.field(name).type)
            if kind is None:
                raise NotTaken(f"column {name} is {schema.field(name).type}")
            if pa.types.is_null(kind):
                absent.add(name)
                continue
            seen[name] = seen.get(name, 0) + 1
            if pa.types.is_integer(kind):
                nullable[name] = nullable.get(name, 0) + numpy.get(name, "").startswith(("Int", "UInt"))
                if _has_nulls(payload, name):
                    with_nulls.add(name)
            known = types.setdefault(name, kind)
            if known != kind and not (_texts(known) and _texts(kind)):
                raise NotTaken(f"column {name} is {known} in one part, {kind} in another")
    fields = []
    for name in [c for c in rows.columns if c in seen or c in absent and c in _held(rows, c)]:
        kind = types.get(name, pa.string())  # a column only ever missing: NULL, as text
        if _texts(kind):
            kind = pa.large_string()
        elif pa.types.is_integer(kind):
            if name in absent or 0 < nullable[name] < seen[name]:
                raise NotTaken(f"column {name}: integers joined with a gap")
            if name in with_nulls and not nullable[name]:
                kind = pa.float64()  # pandas reads an integer column with a missing value as floats
        fields.append(pa.field(name, kind))
    fields += [pa.field(name, pa.large_string()) for name in rows.constants]
    return pa.schema(fields), total


def _held(rows: Rows, name: str) -> set[str]:
    """{name} if some part has a column of that name (of missing values only), else nothing: a
    column no part holds keeps the table's default."""
    for payload in rows.payloads:
        schema, _, _, count = _open(payload, [name])
        if count and name in schema.names:  # an empty part is left out, as pandas' join leaves it
            return {name}
    return set()


def _texts(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _has_nulls(payload: bytes, name: str) -> bool:
    _, _, batches, _ = _open(payload, [name])
    return any(batch.column(0).null_count for batch in batches)


def _conform(batch: pa.RecordBatch, schema: pa.Schema, constants: dict[str, str]) -> pa.RecordBatch:
    arrays = []
    for target in schema:
        if target.name in constants:
            arrays.append(pa.array(np.full(batch.num_rows, constants[target.name], dtype=object), pa.large_string()))
        elif target.name in batch.schema.names:
            column = batch.column(target.name)
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            # unchecked, as pandas converts: an integer past 2**53 becomes the nearest float
            arrays.append(column.cast(target.type, safe=False) if column.type != target.type else column)
        else:
            arrays.append(pa.nulls(batch.num_rows, target.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batches(rows: Rows, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The rows as batches of `schema`, at most CHUNK_ROWS each, part by part as staged: one
    staged batch decoded at a time."""
    for payload in rows.payloads:
        for batch in _open(payload, rows.columns)[2]:
            for at in range(0, batch.num_rows, CHUNK_ROWS):
                yield _conform(batch.slice(at, CHUNK_ROWS), schema, rows.constants)


def in_order(rows: Rows) -> bool:
    """Whether the rows may be written as staged: they need not be in key order, or already are."""
    return not rows.in_key_order or rows.key is None or _sorted(rows)


def _sorted(rows: Rows) -> bool:
    """Whether the key's values, part after part, never go down."""
    last = None
    for payload in rows.payloads:
        for batch in _open(payload, [rows.key])[2]:
            column = batch.column(0)
            if not len(column):
                continue
            if column.null_count:
                return False
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            if len(column) > 1 and not pc.all(pc.less_equal(column.slice(0, len(column) - 1), column.slice(1))).as_py():
                return False
            if last is not None and pc.less(column[0], last).as_py():
                return False
            last = column[len(column) - 1]
    return True
