"""What an hour reads around its new records (match_state.neighbourhood), on both databases: a
new record with a valid ID does not read the stored namesakes whose own valid ID differs (the
distinct key keeps them apart whatever they share), and still reads those without a valid ID,
those with its own ID, and everything a record without a valid ID shares a key with. The stored
keys sit in match_key, or split between it and match_key_recent (an hour's keys): the same reads.
How a batch's keys are stored (match_state.key_table) and folded is tested last."""
from __future__ import annotations

import dataclasses
import zlib

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import match_state, schema, warehouse
from screenfuse.resolve import SETTINGS, prepare_records
from screenfuse.warehouse import engine_for

from conftest import make_id

MINE, OTHER = make_id("42010619850101123"), make_id("42010619850101456")  # born the same day
STORED = {  # record → (ID number, person): all named 张伟, born in the 1980s in the same district
    "s-other-id": (OTHER, "P1"),  # a namesake with a valid ID of his own: never the same person
    "s-no-id": ("", "P2"),  # a namesake whose ID was not written down
    "s-bad-id": ("420106198501011239", "P3"),  # ... or was written wrong (check digit)
    "s-mine": (MINE, "P4"),  # the same ID: the same person
    # ... or written as an old 15-digit ID, a sequence digit typed wrong: converted, it passes the
    # check, yet it is not a valid ID of another person's (its check digit was computed)
    "s-old-id": (MINE[:6] + MINE[8:14] + "124", "P5"),
}


def _prepared(ids: dict[str, str], name: str = "张伟") -> pd.DataFrame:
    raw = pd.DataFrame({"record_id": list(ids), "name": name, "id_number": list(ids.values()), "id_type": "",
                        "phone": "", "phone2": "", "birth_date": "1985-01-01", "sex": "", "address": ""})
    return prepare_records(raw)


@pytest.fixture(scope="module", params=["match_key", "split"])
def stored(warehouse_url, request):
    engine = engine_for(warehouse_url)
    schema.upgrade(engine)
    prepared = _prepared({record: number for record, (number, _) in STORED.items()})
    keys = match_state.block_keys(prepared, SETTINGS)
    # split: every other record's keys in the recent keys' table, as an hour after a fold leaves them
    recent = keys["record_id"].isin(list(STORED)[1::2]) if request.param == "split" else keys["record_id"].isna()
    with engine.begin() as conn:  # the other param's rows gone (one warehouse per database)
        for table in ("match_record", "person_link", *match_state.KEY_TABLES):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        warehouse.bulk_insert(conn, "match_record", prepared.assign(batch_id="B1"))
        warehouse.bulk_insert(conn, "match_key", keys[~recent])
        warehouse.bulk_insert(conn, "match_key_recent", keys[recent])
        warehouse.bulk_insert(conn, "person_link", pd.DataFrame({
            "source_record_id": list(STORED), "person_id": [p for _, p in STORED.values()], "match_rule": "alone",
            "changed_batch_id": "B1"}))
    yield engine
    engine.dispose()


def _read(engine, *new_ids: str, narrow: bool = True, settings=SETTINGS, name: str = "张伟") -> set[str]:
    new = _prepared({f"new{i}": number for i, number in enumerate(new_ids)}, name)
    keys = match_state.block_keys(new, settings)
    if narrow:
        keys = keys.assign(narrow=match_state.narrow_keys(keys, new, settings))
    with engine.begin() as conn:
        records, _ = match_state.neighbourhood(conn, keys, settings)
    return set(records["record_id"]) - set(new["record_id"])


def test_a_new_record_with_a_valid_id_skips_namesakes_with_another(stored):
    assert _read(stored, MINE) == {"s-no-id", "s-bad-id", "s-mine", "s-old-id"}


def test_a_new_record_without_a_valid_id_reads_every_namesake(stored):
    assert _read(stored, "") == set(STORED)
    assert _read(stored, "420106198501011230") == set(STORED)  # a wrong check digit


def test_a_name_with_a_middle_character_more_reads_the_stored_names_through_surname_and_birth(stored):
    # 张小伟 / 张伟 share no pinyin key; the surname and the birth date (the preset's last rule) meet
    assert _read(stored, "", name="张小伟") == set(STORED)
    without = dataclasses.replace(SETTINGS, blocking=SETTINGS.blocking[:-1])
    assert _read(stored, "", name="张小伟", settings=without) == set()


def test_seeds_not_marked_narrow_read_everything(stored):
    assert _read(stored, MINE, narrow=False) == set(STORED)


def test_a_key_another_new_record_holds_without_a_valid_id_is_read_whole(stored):
    # two new namesakes share the name keys: one has a valid ID, the other none
    assert _read(stored, MINE, "") == set(STORED)


def test_the_same_id_is_read_when_its_own_key_is_too_big_to_read(stored):
    """Blocks of at most 5 records: four other persons typed the same ID (a valid-looking number
    shared by mistake), so the ID key is left out; s-mine still comes in through the name keys."""
    small_blocks = dataclasses.replace(SETTINGS, max_block_size=5)
    engine = stored
    others = [f"s-mine-{i}" for i in range(2, 6)]
    extra = _prepared({record: MINE for record in others}).assign(name="李娜", name_pinyin="lina")
    with engine.begin() as conn:
        warehouse.bulk_insert(conn, "match_record", extra.assign(batch_id="B2"))
        # two of the four in the recent keys' table: the key's records are read from both
        keys = match_state.block_keys(extra, SETTINGS)
        recent = keys["record_id"].isin(others[:2])
        warehouse.bulk_insert(conn, "match_key", keys[~recent])
        warehouse.bulk_insert(conn, "match_key_recent", keys[recent])
        warehouse.bulk_insert(conn, "person_link", pd.DataFrame({
            "source_record_id": others, "person_id": [f"P{i}" for i in range(5, 9)], "match_rule": "alone",
            "changed_batch_id": "B2"}))
    try:
        assert "s-mine" in _read(engine, MINE, settings=small_blocks)
    finally:
        with engine.begin() as conn:
            for table, key in (("match_record", "record_id"), ("match_key", "record_id"),
                               ("match_key_recent", "record_id"), ("person_link", "source_record_id")):
                conn.exec_driver_sql(f"DELETE FROM {table} WHERE {key} IN ({', '.join(repr(r) for r in others)})")


def _keys(conn) -> dict[str, set]:
    return {t: set(map(tuple, conn.exec_driver_sql(f"SELECT block_key, record_id FROM {t}").all()))
            for t in match_state.KEY_TABLES}


def _batch(name: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({"block_key": [zlib.crc32(f"{name}-{i}".encode()) for i in range(n)],
                         "record_id": [f"{name}-{i}" for i in range(n)]})


def _store(conn, keys: pd.DataFrame, held: int) -> tuple[str, int]:
    """A batch's keys stored as the publish stores them (fold at 10 keys)."""
    into, after = match_state.key_table(conn, len(keys), held, fold_at=10)
    warehouse.bulk_insert(conn, into, keys)
    return into, after


def test_an_hours_keys_go_to_the_recent_table_which_is_folded_when_full(warehouse_url):
    engine = engine_for(warehouse_url)
    schema.upgrade(engine)
    with engine.begin() as conn:
        for table in match_state.KEY_TABLES:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        first, second, third = _batch("h1", 6), _batch("h2", 6), _batch("h3", 3)
        assert _store(conn, first, 0) == ("match_key_recent", 6)
        assert _store(conn, second, 6) == ("match_key_recent", 12)  # 6 held before: no fold
        before = _keys(conn)
        assert before == {"match_key": set(), "match_key_recent": set(map(tuple, pd.concat([first, second]).values))}
        assert _store(conn, third.iloc[:0], 12) == ("match_key_recent", 12)  # an hour without keys: no fold
        assert _keys(conn) == before
        # 12 held: folded into match_key first, then the hour's keys in the emptied recent table
        assert _store(conn, third, 12) == ("match_key_recent", 3)
        after = _keys(conn)
        assert after == {"match_key": before["match_key_recent"], "match_key_recent": set(map(tuple, third.values))}
        # a re-run of that batch (its keys taken back from both tables, the count of the run
        # before it read again) stores them where the first run did
        for table in match_state.KEY_TABLES:
            conn.execute(sa.text(f"DELETE FROM {table} WHERE record_id LIKE 'h3-%'"))
        assert _store(conn, third, 12) == ("match_key_recent", 3)
        assert _keys(conn) == after
        # a batch as large as a fold goes straight to match_key, the recent keys stay
        assert _store(conn, _batch("bulk", 10), 3) == ("match_key", 3)
        assert _keys(conn)["match_key_recent"] == after["match_key_recent"]
    engine.dispose()
