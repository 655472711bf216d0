"""What an hour reads around its new records (match_state.neighbourhood), on both databases: a
new record with a valid ID does not read the stored namesakes whose own valid ID differs (the
distinct key keeps them apart whatever they share), and still reads those without a valid ID,
those with its own ID, and everything a record without a valid ID shares a key with."""
from __future__ import annotations

import pandas as pd
import pytest

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
}


def _prepared(ids: dict[str, str]) -> pd.DataFrame:
    raw = pd.DataFrame({"record_id": list(ids), "name": "张伟", "id_number": list(ids.values()), "id_type": "",
                        "phone": "", "phone2": "", "birth_date": "1985-01-01", "sex": "", "address": ""})
    return prepare_records(raw)


@pytest.fixture(scope="module")
def stored(warehouse_url):
    engine = engine_for(warehouse_url)
    schema.upgrade(engine)
    prepared = _prepared({record: number for record, (number, _) in STORED.items()})
    with engine.begin() as conn:
        warehouse.bulk_insert(conn, "match_record", prepared.assign(batch_id="B1"))
        warehouse.bulk_insert(conn, "match_key", match_state.block_keys(prepared, SETTINGS))
        warehouse.bulk_insert(conn, "person_link", pd.DataFrame({
            "source_record_id": list(STORED), "person_id": [p for _, p in STORED.values()], "match_rule": "alone",
            "changed_batch_id": "B1"}))
    yield engine
    engine.dispose()


def _read(engine, new_id: str, narrow: bool = True) -> set[str]:
    new = _prepared({"new": new_id})
    keys = match_state.block_keys(new, SETTINGS)
    if narrow:
        keys = keys.assign(narrow=match_state.narrow_keys(keys, new, SETTINGS))
    with engine.begin() as conn:
        records, _ = match_state.neighbourhood(conn, keys, SETTINGS)
    return set(records["record_id"])


def test_a_new_record_with_a_valid_id_skips_namesakes_with_another(stored):
    assert _read(stored, MINE) == {"s-no-id", "s-bad-id", "s-mine"}


def test_a_new_record_without_a_valid_id_reads_every_namesake(stored):
    assert _read(stored, "") == set(STORED)
    assert _read(stored, "420106198501011230") == set(STORED)  # a wrong check digit


def test_seeds_not_marked_narrow_read_everything(stored):
    assert _read(stored, MINE, narrow=False) == set(STORED)
