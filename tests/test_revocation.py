"""The district revokes a 非本人 answer (`screenfuse revoke`): the answer's cannot-link pairs and
labels go, who, when and why are recorded, and the next hourly run resolves the records again,
so the person is whole again; a re-run of that hour gives the same; wrong requests are one line."""
from datetime import date, datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import schema
from screenfuse.cli import main
from screenfuse.config import load_settings
from screenfuse.pipeline import batch_id_for, run_batch
from screenfuse.synthetic import generate
from screenfuse.warehouse import engine_for

H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
H2 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)
H3 = datetime(2020, 2, 10, 15, tzinfo=timezone.utc)
H4 = datetime(2020, 2, 10, 16, tzinfo=timezone.utc)


def _read(engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(sql), conn)


def _persons_of(engine, records) -> set:
    links = _read(engine, "SELECT source_record_id, person_id FROM person_link")
    return set(links.loc[links["source_record_id"].isin(records), "person_id"])


def _answered_not_same(home, engine):
    """Day 1 in H1, then a 非本人 answer for an item of a person with two or more records in H2:
    (the item, the person's records)."""
    generate(300, 29, date(2020, 2, 10), home / "landing", home / "truth")
    run_batch(load_settings(), H1)
    items = _read(engine, "SELECT push_item_id, person_id, street, source_records FROM push_item")
    sizes = _read(engine, "SELECT person_id, COUNT(*) AS n FROM person_link GROUP BY person_id").set_index("person_id")["n"]
    item = items[items["person_id"].map(sizes) >= 2].sort_values("push_item_id").iloc[0]
    records = set(_read(engine, "SELECT source_record_id FROM person_link WHERE person_id = :p".replace(
        ":p", f"'{item['person_id']}'"))["source_record_id"])
    answers = pd.DataFrame([{"推送编号": item["push_item_id"], "核查结果": "非本人", "反馈时间": "2020-02-10 21:30",
                             "核查人": "核查员01"}])
    (home / "landing" / "feedback").mkdir(parents=True, exist_ok=True)
    (home / "landing" / "feedback" / f"{item['street']}_20200210_反馈.csv").write_bytes(
        answers.to_csv(index=False).encode("utf-8-sig"))
    run_batch(load_settings(), H2)  # the answer: the pairs are stored
    return item, records


@pytest.fixture(scope="module")
def revoked(tmp_path_factory, warehouse_url):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("revoke") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    mp.delenv("SCREENFUSE_POLICY", raising=False)
    engine = engine_for(warehouse_url)
    schema.upgrade(engine)
    item, records = _answered_not_same(home, engine)
    run_batch(load_settings(), H3)  # the run after splits the person (feedback docs)
    split = _persons_of(engine, records)
    pairs_before = _read(engine, f"SELECT * FROM match_cannot_link WHERE push_item_id = '{item['push_item_id']}'")
    exit_code = main(["revoke", item["push_item_id"].lower(), "--reason", "核查走错门牌,实为本人", "--by", "区指挥部"])
    after_revoke = {
        "pairs": _read(engine, f"SELECT * FROM match_cannot_link WHERE push_item_id = '{item['push_item_id']}'"),
        "labels": _read(engine, f"SELECT * FROM match_label WHERE reference = '{item['push_item_id']}'"),
        "revocation": _read(engine, "SELECT * FROM answer_revocation"),
    }
    run_batch(load_settings(), H4)
    whole = _persons_of(engine, records)
    applied = _read(engine, "SELECT applied_batch_id FROM answer_revocation")["applied_batch_id"].tolist()
    run_batch(load_settings(), H4)  # the latest hour again: the same
    yield {"engine": engine, "item": item, "records": records, "split": split, "pairs_before": pairs_before,
           "exit": exit_code, "after": after_revoke, "whole": whole, "applied": applied,
           "again": _persons_of(engine, records),
           "applied_again": _read(engine, "SELECT applied_batch_id FROM answer_revocation")["applied_batch_id"].tolist()}
    mp.undo()


def test_the_answer_split_the_person_first(revoked):
    assert len(revoked["split"]) >= 2 and len(revoked["pairs_before"]) >= 1


def test_revoking_removes_the_pairs_and_labels_and_records_who_and_why(revoked):
    assert revoked["exit"] == 0
    assert revoked["after"]["pairs"].empty and revoked["after"]["labels"].empty
    row = revoked["after"]["revocation"].iloc[0]
    assert row["push_item_id"] == revoked["item"]["push_item_id"] and row["revoked_by"] == "区指挥部"
    assert row["reason"] == "核查走错门牌,实为本人" and row["pairs"] == len(revoked["pairs_before"])
    assert pd.isna(row["applied_batch_id"])


def test_the_next_run_makes_the_person_whole_again_and_a_rerun_agrees(revoked):
    assert len(revoked["whole"]) == 1
    assert revoked["applied"] == [batch_id_for(H4)]
    assert revoked["again"] == revoked["whole"] and revoked["applied_again"] == [batch_id_for(H4)]


def test_wrong_requests_are_one_line_and_change_nothing(revoked, capsys):
    item = revoked["item"]["push_item_id"]
    assert main(["revoke", item, "--reason", "again please", "--by", "x"]) == 2
    assert "revoked before" in capsys.readouterr().err
    other = _read(revoked["engine"], "SELECT push_item_id FROM push_item WHERE close_reason IS NULL")["push_item_id"].iloc[0]
    assert main(["revoke", other, "--reason", "no answer at all", "--by", "x"]) == 2
    assert "not closed by a 非本人 answer" in capsys.readouterr().err
    assert main(["revoke", item, "--reason", "no", "--by", "x"]) == 2
    assert "--reason" in capsys.readouterr().err
    assert len(_read(revoked["engine"], "SELECT * FROM answer_revocation")) == 1


def test_running_the_answering_hour_again_after_revoking_keeps_the_revocation(tmp_path, monkeypatch):
    """Revoked while the answering batch is the latest, then that batch run again (Airflow
    "clear"): the answer is applied again, its pairs are not stored again, the revocation holds."""
    home, url = tmp_path / "data", f"sqlite:///{tmp_path}/w.db"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    engine = engine_for(url)
    schema.upgrade(engine)
    item, records = _answered_not_same(home, engine)
    assert main(["revoke", item["push_item_id"], "--reason", "走错门牌", "--by", "区指挥部"]) == 0
    run_batch(load_settings(), H2)
    assert _read(engine, f"SELECT * FROM match_cannot_link WHERE push_item_id = '{item['push_item_id']}'").empty
    assert _read(engine, f"SELECT * FROM match_label WHERE reference = '{item['push_item_id']}'").empty
    assert _read(engine, "SELECT applied_batch_id FROM answer_revocation")["applied_batch_id"].tolist() == [batch_id_for(H2)]
    assert len(_persons_of(engine, records)) == 1
