"""The district's dialect table (SCREENFUSE_SOUND_FOLDS): the shipped one is the engine's default,
another district's changes which names taken by ear the pipeline forgives, a broken one stops a
run with one line naming the file's line."""
import pandas as pd
import pytest

from screenfuse import dialect
from screenfuse.config import ConfigError
from screenfuse.matching.zh_text import DEFAULT_SOUND_FOLDS
from screenfuse.resolve import SETTINGS, match_settings, resolve_identities


def table(tmp_path, monkeypatch, text: str):
    path = tmp_path / "folds.csv"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(dialect.FOLDS_VARIABLE, str(path))
    return path


def name_options(settings):
    return next(c.options for c in settings.comparisons if c.method == "zh_name")


def pair(left: str, right: str) -> pd.DataFrame:
    """Two forms of one woman with no ID: same birth date, sex, phone and address, the name by ear."""
    same = {"id_number": "", "phone": "13812345678", "birth_date": "1980-01-01", "sex": "女",
            "address": "武昌区中华路街道振华社区3栋2单元501室"}
    return pd.DataFrame([{"source_record_id": "a", "name": left, **same}, {"source_record_id": "b", "name": right, **same}])


def linked(records: pd.DataFrame) -> bool:
    return resolve_identities(records).links["person_id"].nunique() == 1


def test_the_shipped_table_is_the_engines_default(monkeypatch):
    monkeypatch.delenv(dialect.FOLDS_VARIABLE, raising=False)
    assert dialect.sound_folds() == tuple(DEFAULT_SOUND_FOLDS)
    assert name_options(match_settings())["sound_folds"] == tuple(DEFAULT_SOUND_FOLDS)
    assert match_settings().blocking == SETTINGS.blocking  # the table changes comparisons, never blocking keys


def test_a_districts_table_decides_which_names_taken_by_ear_link(tmp_path, monkeypatch):
    monkeypatch.delenv(dialect.FOLDS_VARIABLE, raising=False)
    assert linked(pair("刘芳", "牛芳"))  # Wuhan: n and l are one sound
    assert not linked(pair("荣芳", "隆芳"))  # r/l is no Wuhan confusion: one name for another
    table(tmp_path, monkeypatch, "heard,written,note\nR,L,r heard as l\nch,c,\n")
    assert name_options(match_settings())["sound_folds"] == (("r", "l"), ("ch", "c"))
    assert not linked(pair("刘芳", "牛芳"))  # the n/l fold is not in this district's table
    assert linked(pair("荣芳", "隆芳"))
    table(tmp_path, monkeypatch, "heard,written\n")  # the header only: no folds at all
    assert match_settings().comparisons[0].options["sound_folds"] == ()


def test_a_pair_listed_twice_is_one_fold_and_a_byte_order_mark_is_read(tmp_path, monkeypatch):
    table(tmp_path, monkeypatch, "\ufeffheard,written\nn,l\n n , l \n")
    assert dialect.sound_folds() == (("n", "l"),)


@pytest.mark.parametrize("text, expected", [
    ("heard,written\nn,l\nN1,l\n", r"folds\.csv, line 3: heard,written is .*toneless pinyin.*SCREENFUSE_SOUND_FOLDS"),
    ("heard,written\nn,\n", r"line 2: heard,written is .*pair of toneless pinyin"),
    ("from,to\nn,l\n", r"missing column\(s\) heard, written; expected heard,written\[,note\]"),
    ("", r"missing column\(s\) heard, written"),
])
def test_a_broken_table_names_the_line_and_the_fix(tmp_path, monkeypatch, text, expected):
    table(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        dialect.sound_folds()
    assert "\n" not in str(caught.value)


def test_a_missing_table_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(dialect.FOLDS_VARIABLE, str(tmp_path / "nowhere.csv"))
    with pytest.raises(ConfigError, match=r"nowhere\.csv: cannot be read.*set SCREENFUSE_SOUND_FOLDS"):
        dialect.sound_folds()


def test_an_edited_table_is_read_again(tmp_path, monkeypatch):
    path = table(tmp_path, monkeypatch, "heard,written\nn,l\n")
    assert dialect.sound_folds() == (("n", "l"),)
    path.write_text("heard,written\nn,l\nz,zh\n", encoding="utf-8")
    import os
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert dialect.sound_folds() == (("n", "l"), ("z", "zh"))


def test_a_broken_table_stops_the_run_before_anything_is_staged(tmp_path, monkeypatch, capsys):
    import sqlalchemy as sa

    from screenfuse.cli import main

    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    (tmp_path / "data" / "landing").mkdir(parents=True)
    table(tmp_path, monkeypatch, "heard,written\nn,l\nzh,\n")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["run", "--interval-end", "2020-02-11T16:00:00+00:00"]) == 2
    err = capsys.readouterr().err
    assert "folds.csv, line 3" in err and "SCREENFUSE_SOUND_FOLDS" in err and len(err.strip().splitlines()) == 1
    with sa.create_engine(f"sqlite:///{tmp_path}/w.db").connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM batch_stage")).scalar() == 0
