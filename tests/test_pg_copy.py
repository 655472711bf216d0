"""Rows COPY'd into PostgreSQL as CSV from Arrow (pg_copy) read back as the tuple path writes
them: NULL stays NULL, an empty text stays empty, quotes, commas, line breaks and backslashes
stay as they are, numbers exact; a chunk Arrow does not take goes the tuple path."""
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from screenfuse import pg_copy, warehouse

COLUMNS = ["row_no", "t", "i", "f", "b"]
TEXT = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=8)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)


@pytest.fixture(scope="module")
def pg(pg_server):
    url = pg_server.url(name := pg_server.create_database())
    engine = warehouse.engine_for(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE copied (row_no bigint PRIMARY KEY, t text, i bigint, f double precision, "
                             "b boolean, d date)")
    yield engine
    engine.dispose()
    pg_server.drop_database(name)


def written(engine, frame: pd.DataFrame, columns=None) -> list[tuple]:
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM copied")
        warehouse.bulk_insert(conn, "copied", frame, columns)
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {', '.join(columns or COLUMNS)} FROM copied "
                                                       "ORDER BY row_no").fetchall()]


def plain(value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.one_of(st.none(), TEXT), st.one_of(st.none(), st.integers(-2**63 + 1, 2**63 - 1)),
                               FLOATS, st.one_of(st.none(), st.booleans())), min_size=1, max_size=25),
       text_dtype=st.sampled_from(["object", "string[pyarrow]", "string[python]"]))
def test_what_is_copied_reads_back_as_it_was(pg, rows, text_dtype):
    texts, ints, floats, bools = zip(*rows)
    frame = pd.DataFrame({"row_no": np.arange(len(rows)), "t": pd.Series(texts, dtype=text_dtype),
                          "i": pd.Series(ints, dtype="Int64"), "f": np.array(floats, dtype=float),
                          "b": pd.Series(bools, dtype="boolean")})
    assert pg_copy.as_arrow(frame) is not None  # these kinds go the CSV path
    back = written(pg, frame)
    for (row_no, t, i, f, b), (t0, i0, f0, b0) in zip(back, rows):
        assert (t, i, b) == (t0, i0, b0)
        assert (f is None and math.isnan(f0)) or f == f0  # NaN → NULL (as the tuple path), others exact


def test_a_chunk_arrow_does_not_take_goes_the_tuple_path_in_the_same_transaction(pg, monkeypatch):
    """Two chunks of text only go as CSV (empty text, NULL, quotes and a comma, a line break, a
    carriage return, a backslash N); the third holds a date and goes row by row; all land."""
    monkeypatch.setattr(warehouse, "BULK_ROWS", 2)
    as_csv = []
    monkeypatch.setattr(pg_copy, "csv_bytes", lambda table, made=pg_copy.csv_bytes: as_csv.append(table.num_rows)
                        or made(table))
    frame = pd.DataFrame({"row_no": [1, 2, 3, 4, 5, 6], "t": ["", None, 'a,"b"', "line\nbreak\r", "\\N", "张三"],
                          "d": pd.Series([None, None, None, None, date(2020, 2, 10), None], dtype=object)})
    assert written(pg, frame, ["row_no", "t", "d"]) == [
        (1, "", None), (2, None, None), (3, 'a,"b"', None), (4, "line\nbreak\r", None),
        (5, "\\N", date(2020, 2, 10)), (6, "张三", None)]
    assert as_csv == [2, 2]  # the first two chunks as CSV, the third (a date) row by row


def test_numbers_and_booleans_for_a_text_column_are_written_as_the_tuple_path_writes_them(pg):
    """Arrow would write 3.0 as "3" and True as "true"; the tuple path (and SQLite) keep "3.0"."""
    frame = pd.DataFrame({"row_no": [1, 2], "t": [3.0, 1e-7]})
    assert pg_copy.as_arrow(frame, frozenset({"t"})) is None and pg_copy.as_arrow(frame) is not None
    assert written(pg, frame, ["row_no", "t"]) == [(1, "3.0"), (2, "1e-07")]


def test_csv_goes_in_utf8_whatever_the_connections_encoding(pg):
    """A client encoding other than UTF-8 (GBK) reads the CSV Arrow wrote as UTF-8 all the same."""
    frame = pd.DataFrame({"row_no": [1, 2], "t": ["张三", "武汉市武昌区中南路街道"]})
    with pg.begin() as conn:
        conn.exec_driver_sql("SET LOCAL client_encoding = 'GBK'")
        conn.exec_driver_sql("DELETE FROM copied")
        warehouse.bulk_insert(conn, "copied", frame)
    with pg.connect() as conn:  # read back in UTF-8
        assert conn.exec_driver_sql("SELECT row_no, t FROM copied ORDER BY row_no").fetchall() == [
            (1, "张三"), (2, "武汉市武昌区中南路街道")]


def test_a_refused_row_names_no_value(pg):
    """PostgreSQL quotes the row in its error: the message says the table and the constraint only."""
    frame = pd.DataFrame({"row_no": [7, 7], "t": ["张三 13812345678", "李四"]})
    with pytest.raises(RuntimeError) as refused, pg.begin() as conn:
        warehouse.bulk_insert(conn, "copied", frame)
    assert "copied_pkey" in str(refused.value) and "13812345678" not in str(refused.value)


def test_a_float32_column_is_written_as_the_tuple_path_writes_it(pg):
    """36.6 held as float32 is 36.599998474121094 to Python (the tuple path, and SQLite): the CSV
    carries that value too, not float32's shortest form "36.6"."""
    frame = pd.DataFrame({"row_no": [1], "f": np.array([36.6], dtype=np.float32)})
    assert written(pg, frame, ["row_no", "f"]) == [(1, float(np.float32(36.6)))]


def test_driver_errors_of_a_lost_server_are_warehouse_unavailable_and_others_are_not():
    """COPY and the stage's binary reads go through the driver's own cursor, past SQLAlchemy's error
    hook: `warehouse.driver_errors` gives the same one line for a server gone, shutting down or
    refusing, and lets any other error through as it is."""
    import psycopg
    from psycopg import errors

    for lost in (psycopg.OperationalError("consuming input failed: server closed the connection"),
                 errors.AdminShutdown(), errors.CrashShutdown(), errors.CannotConnectNow(), errors.ConnectionFailure()):
        with pytest.raises(warehouse.WarehouseUnavailable, match="connection was lost"), warehouse.driver_errors():
            raise lost
    with pytest.raises(warehouse.WarehouseUnavailable, match="publish lock"), warehouse.driver_errors():
        raise errors.LockNotAvailable()
    for other in (errors.UniqueViolation(), errors.QueryCanceled(), ValueError("a bug")):
        with pytest.raises(type(other)), warehouse.driver_errors():
            raise other


WIDE = ("CREATE TABLE staged_rows (k text PRIMARY KEY, s text, n bigint, x double precision, b boolean, o text, "
        "u text, i bigint, f double precision)")
KINDS = ["string[pyarrow]", "string[python]", object]


def _wide(engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS staged_rows")
        conn.exec_driver_sql(WIDE)
    warehouse._COLUMNS_CACHE.clear()


def _stored_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM staged_rows ORDER BY k").fetchall()]


def _by_frames(engine, payloads: list[bytes]) -> list[tuple]:
    """What a publish without copies ahead stores: the staged parts read back and joined by pandas
    (as `stage_match.batch_records`), then `bulk_insert`."""
    from screenfuse.batch_state import frame_from

    _wide(engine)
    with engine.begin() as conn:
        warehouse.bulk_insert(conn, "staged_rows", pd.concat([frame_from(p) for p in payloads], ignore_index=True))
    return _stored_rows(engine)


def _by_copy_rows(engine, payloads: list[bytes], at_least: int = 0) -> tuple[int | None, list[tuple]]:
    from screenfuse.arrow_rows import Rows

    _wide(engine)
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cursor:
        rows = Rows(payloads, [c for c in warehouse.table_columns(conn, "staged_rows")])
        copied = pg_copy.copy_rows(cursor, "staged_rows", rows, at_least)
    return copied, _stored_rows(engine)


texts = st.one_of(st.none(), st.text(alphabet=st.sampled_from('张王李 a1,"\n\\-\U00020000'), max_size=6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(texts, st.integers(-2**53, 2**53), st.one_of(st.none(), FLOATS), st.booleans(),
                               st.one_of(st.none(), st.integers(-5, 5)), st.floats(-1e6, 1e6, width=32)),
                     min_size=1, max_size=30),
       kind=st.sampled_from(KINDS), empty_column=st.booleans(), parts=st.sampled_from([1, 2, 3]))
def test_rows_copied_from_the_stage_are_stored_as_the_frames_read_back_store_them(
        pg, monkeypatch, rows, kind, empty_column, parts):
    """`copy_rows` (publish_ahead: staged Arrow batches, never a frame) against `bulk_insert` of the
    same parts read back by pandas: every value of every column the same, NULLs included; parts
    pandas would join into another kind are not taken (NotTaken), never stored otherwise."""
    from screenfuse import arrow_rows
    from screenfuse.batch_state import frame_bytes

    monkeypatch.setattr(arrow_rows, "CHUNK_ROWS", 4)  # several chunks, each converted on its own
    frame = pd.DataFrame({"k": [f"K{i:04d}" for i in range(len(rows))][::-1],
                          "s": pd.Series([r[0] for r in rows], dtype=kind), "n": [r[1] for r in rows],
                          "x": [r[2] for r in rows], "b": [r[3] for r in rows],
                          "o": pd.Series([r[0] for r in rows], dtype=object),
                          "u": pd.Series([None] * len(rows), dtype=object) if empty_column
                          else pd.Series(["x"] * len(rows), dtype="string[pyarrow]"),
                          "i": pd.array([r[4] for r in rows], dtype="Int64"),
                          "f": np.array([r[5] for r in rows], dtype=np.float32)})
    pieces = np.array_split(np.arange(len(frame)), min(parts, len(frame)))
    payloads = [frame_bytes(frame.iloc[p].reset_index(drop=True)) for p in pieces]
    expected = _by_frames(pg, payloads)
    try:
        copied, stored = _by_copy_rows(pg, payloads)
    except arrow_rows.NotTaken:
        assert len(payloads) > 1  # one part is always taken
        return
    assert copied == len(frame) and stored == expected


def test_copy_rows_copies_nothing_below_its_floor_and_leaves_numbers_for_a_text_column(pg):
    from screenfuse import arrow_rows
    from screenfuse.batch_state import frame_bytes

    frame = pd.DataFrame({"k": ["a", "b"], "s": ["x", None]})
    assert _by_copy_rows(pg, [frame_bytes(frame)], at_least=3) == (None, [])
    assert _by_copy_rows(pg, [frame_bytes(frame)], at_least=2) == (2, [("a", "x", *[None] * 7), ("b", *[None] * 8)])
    with pytest.raises(arrow_rows.NotTaken, match="text columns s"):
        _by_copy_rows(pg, [frame_bytes(pd.DataFrame({"k": ["a"], "s": [3.0]}))])
