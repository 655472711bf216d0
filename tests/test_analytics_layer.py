"""The analytics layer BI reads: no name, ID number, phone, address or birth date in any of its
views, on SQLite (analytics_* views) and PostgreSQL (the analytics schema); ID numbers and
phones as keyed pseudonyms, the same across runs, different under another key, none without a
key; birth dates as age bands."""
import hashlib
import hmac
from datetime import date, datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import schema
from screenfuse.config import ConfigError, load_settings
from screenfuse.pipeline import run_batch
from screenfuse.pseudonyms import KEY_VARIABLE, age_bands, checked_key, pseudonyms
from screenfuse.synthetic import generate
from screenfuse.warehouse import engine_for

KEY = "k" * 16 + "0123456789abcdef0123"  # test key, 36 characters
H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
H2 = datetime(2020, 2, 11, 14, tzinfo=timezone.utc)
PERSONAL = ("name", "id_number", "phone", "address", "birth_date")


@pytest.fixture(scope="module")
def layer(tmp_path_factory, warehouse_url):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("analytics") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    mp.setenv(KEY_VARIABLE, KEY)
    mp.delenv("SCREENFUSE_POLICY", raising=False)
    engine = engine_for(warehouse_url)
    schema.upgrade(engine)
    generate(300, 21, date(2020, 2, 10), home / "landing", home / "truth")
    run_batch(load_settings(), H1)
    with engine.connect() as conn:
        first = pd.read_sql("SELECT person_id, id_number, id_pseudonym, phone_pseudonym FROM person", conn)
    generate(300, 21, date(2020, 2, 11), home / "landing", home / "truth", day_index=1)
    run_batch(load_settings(), H2)
    yield {"engine": engine, "first": first, "mp": mp}
    mp.undo()


def _views(conn) -> list[str]:
    return schema.analytics_view_names(conn)


def test_every_analytics_view_answers_and_names_no_personal_column(layer):
    with layer["engine"].connect() as conn:
        views = _views(conn)
        assert len(views) >= 20
        for view in views:
            columns = list(pd.read_sql(f"SELECT * FROM {view} LIMIT 1", conn).columns)
            personal = [c for c in columns if c in PERSONAL or c.endswith(tuple("_" + w for w in PERSONAL))]
            assert personal in ([], ["unit_name"]), view  # a reporting unit's name: an institution


def test_the_run_log_view_shows_what_each_run_linked_and_with_which_model(layer):
    with layer["engine"].connect() as conn:
        view = next(v for v in _views(conn) if v.endswith("run_log"))
        shown = pd.read_sql(f"SELECT * FROM {view} ORDER BY batch_id", conn)
        stored = pd.read_sql("SELECT batch_id, links_changed, match_model, match_population FROM run_log "
                             "ORDER BY batch_id", conn)
    assert len(shown) == 2 and shown["links_changed"].iloc[0] > 0
    for column in ("links_changed", "match_model", "match_population"):
        assert shown[column].tolist() == stored[column].tolist(), column
    assert {"match_model_reason", "match_prior"} <= set(shown.columns)


def test_no_value_of_a_person_reaches_the_analytics_layer(layer):
    """Every ID number, phone, name, address and birth date the restricted tables hold is looked
    for in every cell of every analytics view: none is found."""
    with layer["engine"].connect() as conn:
        people = pd.read_sql("SELECT name, id_number, phone, address, birth_date FROM person", conn)
        records = pd.read_sql("SELECT name, id_number, phone, address FROM source_record", conn)
        planted = set()
        for frame in (people, records):
            for column in frame.columns:
                planted |= {v for v in frame[column].dropna().astype(str) if len(v) >= 2}
        numbers = {v for v in planted if sum(ch.isdigit() for ch in v) >= 7}  # IDs, phones: also inside text
        cells = set()
        for view in _views(conn):
            frame = pd.read_sql(f"SELECT * FROM {view}", conn)
            cells |= {str(v) for column in frame.columns for v in frame[column].dropna().tolist()}
    assert len(planted) > 500
    assert not (cells & planted)
    assert not [c for c in cells if any(n in c for n in numbers if len(c) >= len(n))]


def test_pseudonyms_are_keyed_and_stable_across_runs(layer):
    with layer["engine"].connect() as conn:
        now = pd.read_sql("SELECT person_id, id_number, phone, id_pseudonym, phone_pseudonym, birth_date, age_band "
                          "FROM person", conn)
    with_id = now[now["id_number"].fillna("") != ""]
    assert len(with_id) > 100 and with_id["id_pseudonym"].notna().all()
    expected = [("p" + hmac.new(KEY.encode(), v.encode(), hashlib.sha256).hexdigest()[:32]) for v in with_id["id_number"]]
    assert with_id["id_pseudonym"].tolist() == expected
    assert now.loc[now["id_number"].fillna("") == "", "id_pseudonym"].isna().all()
    same = with_id.merge(layer["first"], on=["person_id", "id_number"], suffixes=("", "_first"))
    assert len(same) > 100 and (same["id_pseudonym"] == same["id_pseudonym_first"]).all()
    dated = now[now["birth_date"].fillna("") != ""]
    assert dated["age_band"].notna().all() and set(dated["age_band"]) <= {
        "0-6", "7-17", "18-39", "40-59", "60-69", "70-79", "80+"}


def test_another_key_gives_other_pseudonyms_and_no_key_none():
    values = pd.Series(["420106198103031234", "", None, "13812345678"])
    one = pseudonyms(values, checked_key(KEY))
    other = pseudonyms(values, checked_key(KEY[::-1]))
    assert one[0] != other[0] and one[0].startswith("p") and len(one[0]) == 33
    assert one[1] is None and one[2] is None
    assert pseudonyms(values, None).isna().all()


def test_a_short_key_or_the_example_placeholder_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match=f"{KEY_VARIABLE} is 6 characters long.*token_hex"):
        checked_key("abc123")
    with pytest.raises(ConfigError, match="placeholder"):
        checked_key("replace-with-64-random-hex-characters")


def test_the_key_connection_wins_and_an_empty_one_is_refused(monkeypatch):
    from screenfuse.pseudonyms import key_for_task

    monkeypatch.setenv(KEY_VARIABLE, "e" * 40)
    assert key_for_task(lambda: f" {KEY} ", not_defined=(LookupError,)) == KEY.encode()
    assert key_for_task(lambda: (_ for _ in ()).throw(LookupError()), not_defined=(LookupError,)) == b"e" * 40
    with pytest.raises(ConfigError, match="empty"):
        key_for_task(lambda: "", not_defined=(LookupError,))


def test_age_bands_count_birthdays():
    bands = age_bands(pd.Series(["2013-02-11", "2013-02-10", "1940-01-01", "", "bad"]), pd.Timestamp("2020-02-10"))
    assert bands.tolist() == ["0-6", "7-17", "80+", None, None]


def test_the_layer_is_a_schema_on_postgresql_and_prefixed_views_on_sqlite(layer, warehouse_url):
    with layer["engine"].connect() as conn:
        names = _views(conn)
        if warehouse_url.startswith("postgresql"):
            assert all(n.startswith("analytics.") for n in names)
            found = {r[0] for r in conn.execute(sa.text(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'analytics'"))}
            assert {n.split(".", 1)[1] for n in names} == found
        else:
            assert all(n.startswith("analytics_") for n in names)


def test_rotating_the_key_rewrites_every_pseudonym(layer, capsys):
    """`screenfuse db rekey` under a new key: every person's pseudonym is the new key's, and the
    command says how many persons it rewrote (no identifier printed)."""
    from screenfuse.cli import main

    new_key = "n" * 40
    layer["mp"].setenv(KEY_VARIABLE, new_key)
    assert main(["db", "rekey"]) == 0
    out = capsys.readouterr().out
    with layer["engine"].connect() as conn:
        now = pd.read_sql("SELECT id_number, id_pseudonym FROM person WHERE id_number <> ''", conn)
        total = conn.execute(sa.text("SELECT COUNT(*) FROM person")).scalar()
    assert f"of {total} persons" in out and not any(v in out for v in now["id_number"])
    assert now["id_pseudonym"].tolist() == [
        "p" + hmac.new(new_key.encode(), v.encode(), hashlib.sha256).hexdigest()[:32] for v in now["id_number"]]
    layer["mp"].delenv(KEY_VARIABLE)
    assert main(["db", "rekey"]) == 2
    assert KEY_VARIABLE in capsys.readouterr().err
