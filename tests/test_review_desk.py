"""The review desk: reading returned review lists, checking decisions, what a decision stores, and
the `screenfuse review` commands on a real warehouse (a `different` decision keeps the pair apart
from the next run on, and the pair never comes back). Prints ids and counts only."""
import json
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from screenfuse import review_desk as rd
from screenfuse.cli import main
from screenfuse.synthetic import generate

REVIEWS = pd.DataFrame({"review_id": ["R1", "R2", "R3"], "left_record_id": ["a", "c", "e"],
                        "right_record_id": ["b", "d", "f"]})


def staged(*rows):
    return pd.DataFrame(rows, columns=["review_id", "decision", "event_time", "verifier"])


def test_the_ways_people_write_a_decision_are_read_as_the_two_values():
    mapped = pd.DataFrame({"review_id": [" R1 ", "R2", "R3", "R4", "R5"],
                           "decision": ["同一人", " 非同一人", "不是同一人", "SAME", "也许"],
                           "event_time": ["2020-02-10 21:40", "2020/2/10 21:41", "", "", ""],
                           "verifier": ["复核员01", "", "", "", ""]})
    out = rd.normalize_decisions(mapped)
    assert out["review_id"].tolist() == ["R1", "R2", "R3", "R4", "R5"]
    # an unknown word stays as written: the contract's allowed values quarantine it with a reason
    assert out["decision"].tolist() == ["同一人", "非同一人", "非同一人", "同一人", "也许"]
    assert out["event_time"].iloc[0].startswith("2020-02-10") and out["event_time"].iloc[1].startswith("2020-02-10")


@given(st.lists(st.text(max_size=12), min_size=1, max_size=8))
def test_reading_decisions_never_fails_and_keeps_every_row(words):
    out = rd.normalize_decisions(pd.DataFrame({"review_id": words, "decision": words, "event_time": words,
                                               "verifier": words}))
    assert len(out) == len(words)
    known = out["decision"].isin(["同一人", "非同一人"])
    assert all(rd.DECISION_WORDS.get(w.strip().lower().replace(" ", "")) for w in out.loc[known, "decision"])


def test_a_decision_must_name_a_known_item_not_decided_before_and_only_once():
    decided = pd.DataFrame({"left_record_id": ["d"], "right_record_id": ["c"]})  # either way round
    rows = staged(["R1", "同一人", "t", "v"], ["R9", "同一人", "t", "v"], ["R2", "非同一人", "t", "v"],
                  ["R1", "非同一人", "t", "v"], ["R3", "同一人", "t", "v"])
    assert rd.check_decisions(rows, REVIEWS, decided).tolist() == ["", rd.UNKNOWN, rd.DECIDED, rd.TWICE, ""]


def test_blank_rows_of_a_returned_list_are_told_apart_from_decisions():
    rows = staged(["R1", "", "", ""], ["R2", "同一人", "", ""], ["R3", "", "2020-02-10 21:00", ""])
    assert rd.undecided(rows).tolist() == [True, False, False]


def test_file_decisions_are_stored_in_utc_with_the_pair_and_labelled():
    accepted = pd.DataFrame({"review_id": ["R1", "R2"], "decision": ["同一人", "非同一人"],
                             "event_time": ["2020-02-10T21:40:00", "2020-02-10T08:00:00"],
                             "verifier": ["复核员01", "复核员02"], "note": ["", "见面核实"]})
    rows = rd.file_decisions(accepted, REVIEWS, "B2", "Asia/Shanghai")
    assert rows["decision"].tolist() == ["same", "different"]
    assert rows["decided_at"].tolist() == ["2020-02-10T13:40:00Z", "2020-02-10T00:00:00Z"]
    assert rows[["left_record_id", "right_record_id"]].values.tolist() == [["a", "b"], ["c", "d"]]
    assert set(rows["source"]) == {"file"} and set(rows["applied_batch_id"]) == {"B2"}
    labels = rd.labels_from(rows, "B2")
    assert labels[["label", "source", "reference"]].values.tolist() == [["same", "review", "R1"],
                                                                       ["different", "review", "R2"]]
    # only `different` keeps a pair apart, and a pair a 非本人 answer keeps apart already is not stored twice
    apart = rd.cannot_link_rows(rows, pd.DataFrame({"left_id": [], "right_id": []}), "B2")
    assert apart[["left_record_id", "right_record_id", "source"]].values.tolist() == [["c", "d", "review"]]
    assert rd.cannot_link_rows(rows, pd.DataFrame({"left_id": ["d"], "right_id": ["c"]}), "B2").empty


def test_the_outcome_says_when_a_same_decision_was_refused():
    decisions = pd.DataFrame({"left_record_id": ["a", "c", "e"], "right_record_id": ["b", "d", "f"],
                              "decision": ["same", "same", "different"]})
    person_of = pd.Series({"a": "P1", "b": "P1", "c": "P2", "d": "P3", "e": "P4", "f": "P5"})
    assert [o.split(":")[0] for o in rd.outcomes(decisions, person_of)] == ["joined", "refused", "kept apart"]


def test_evidence_reads_as_words_strongest_first():
    text = rd.evidence_text(json.dumps({"prior": -13.2, "name": {"level": "similar", "bits": 2.6},
                                        "phone": {"level": "exact", "bits": 10.7},
                                        "id_number": {"level": "missing", "bits": 0.0},
                                        "address": {"level": "different", "bits": -8.5}}))
    assert text == "手机 相同 +10.7; 地址 不同 -8.5; 姓名 相近 +2.6"


@pytest.fixture()
def warehouse(tmp_path, monkeypatch):
    """One published batch of 2,000 synthetic people (seed 2: the matching leaves one pair for review)."""
    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path))
    monkeypatch.delenv("SCREENFUSE_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("SCREENFUSE_SETTLE_SECONDS", "0")
    generate(2000, 2, date(2020, 2, 10), tmp_path / "landing", tmp_path / "truth")
    assert main(["db", "upgrade"]) == 0
    assert main(["run", "--interval-end", "2020-02-10T13:00:00+00:00"]) == 0
    return sa.create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")


def test_a_different_decision_at_the_command_line_keeps_the_pair_apart_for_good(warehouse, capsys):
    capsys.readouterr()
    assert main(["review", "list", "--json"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(items) == 1 and items[0]["evidence"]
    review_id = items[0]["review_id"]
    assert main(["review", "show", review_id]) == 0
    shown = capsys.readouterr().out
    assert "record A" in shown and "prior" in shown and f"{items[0]['match_weight']:+.2f}" in shown
    assert main(["review", "decide", review_id, "different", "--by", "复核员02", "--note", "上门核实"]) == 0
    capsys.readouterr()
    assert main(["review", "decide", review_id, "same", "--by", "复核员03"]) == 2
    assert "decided before" in capsys.readouterr().err
    assert main(["run", "--interval-end", "2020-02-10T14:00:00+00:00"]) == 0
    with warehouse.connect() as conn:
        decision = pd.read_sql(sa.text("SELECT * FROM match_decision"), conn)
        pair = pd.read_sql(sa.text("SELECT * FROM match_cannot_link WHERE source = 'review'"), conn)
        label = pd.read_sql(sa.text("SELECT * FROM match_label WHERE source = 'review'"), conn)
        still = pd.read_sql(sa.text("SELECT * FROM v_match_review"), conn)
        reviews = pd.read_sql(sa.text("SELECT * FROM match_review"), conn)
    assert decision[["decision", "source", "applied_batch_id", "outcome"]].values.tolist() == [
        ["different", "cli", "20200210T1400Z", "kept apart"]]
    assert len(pair) == 1 and pair["batch_id"].tolist() == ["20200210T1400Z"]
    assert label[["label", "reference"]].values.tolist() == [["different", review_id]]
    assert still.empty and reviews[["state", "closed_batch_id"]].values.tolist() == [["decided", "20200210T1400Z"]]
    assert main(["review", "list"]) == 0 and "no open review items" in capsys.readouterr().out
    assert main(["review", "list", "--decided"]) == 0 and "kept apart" in capsys.readouterr().out
    # re-running the batch applies the decision again, once
    assert main(["run", "--interval-end", "2020-02-10T14:00:00+00:00"]) == 0
    with warehouse.connect() as conn:
        again = pd.read_sql(sa.text("SELECT applied_batch_id, outcome FROM match_decision"), conn)
        pairs = pd.read_sql(sa.text("SELECT COUNT(*) AS n FROM match_cannot_link WHERE source = 'review'"), conn)
    assert again.values.tolist() == [["20200210T1400Z", "kept apart"]] and pairs["n"].iloc[0] == 1
    with warehouse.connect() as conn:  # closed again by the re-run (its take-back opened it)
        assert conn.execute(sa.text("SELECT state, closed_batch_id FROM match_review")).all() == [
            ("decided", "20200210T1400Z")]


def test_review_commands_say_what_to_do_in_one_line(warehouse, capsys):
    capsys.readouterr()
    assert main(["review", "show", "R-nothing"]) == 2
    assert "review list" in capsys.readouterr().err
    assert main(["review", "decide", "R-nothing", "same", "--by", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown" in err


REVIEW_ROW = ("INSERT INTO match_review (review_id, batch_id, left_record_id, right_record_id, left_person_id, "
              "right_person_id, match_weight, match_probability, explanation, state) "
              "VALUES (:i, :b, :l, :r, 'P1', 'P2', 1.0, 0.7, '{}', 'open')")


def items(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT review_id, state, closed_batch_id FROM match_review ORDER BY review_id")).all()]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_open_items_are_kept_by_state_closed_by_the_batch_that_ends_them(warehouses, kind):
    """The upgrade closes the items the view used to filter out (queued again later, decided, kept
    apart either way round); then a publish closes what its batch ends, by the pair indexes."""
    from screenfuse import schema
    from screenfuse.warehouse import engine_for

    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine, "0018")
    with engine.begin() as conn:
        conn.execute(sa.text(REVIEW_ROW), [{"i": i, "b": b, "l": l, "r": r} for i, b, l, r in (
            ("1ab", "B1", "a", "b"), ("2ab", "B2", "a", "b"), ("3cd", "B1", "c", "d"), ("4ef", "B1", "e", "f"),
            ("5gh", "B1", "g", "h"))])
        conn.execute(sa.text("INSERT INTO match_decision (decision_id, review_id, left_record_id, right_record_id, "
                             "decision, decided_by, decided_at, source, applied_batch_id) VALUES "
                             "('D1', '3cd', 'c', 'd', 'same', 'r01', '2020-02-10T13:00:00Z', 'cli', 'B2')"))
        conn.execute(sa.text("INSERT INTO match_cannot_link VALUES ('f', 'e', 'feedback', 'B2', 'PI1')"))
    schema.upgrade(engine)
    assert items(engine) == [("1ab", "superseded", "B2"), ("2ab", "open", None), ("3cd", "decided", "B2"),
                             ("4ef", "apart", "B2"), ("5gh", "open", None)]
    with engine.begin() as conn:
        conn.execute(sa.text(REVIEW_ROW), {"i": "6hg", "b": "B3", "l": "h", "r": "g"})
        queued = pd.DataFrame({"left_record_id": ["h"], "right_record_id": ["g"]})
        apart = pd.DataFrame({"left_record_id": ["a"], "right_record_id": ["b"]})
        rd.close_items(conn, "B3", queued, queued.iloc[:0], apart)
    found = dict((i, (s, b)) for i, s, b in items(engine))
    assert found["2ab"] == ("apart", "B3") and found["5gh"] == ("superseded", "B3") and found["6hg"] == ("open", None)
    with engine.connect() as conn:  # the desk reads the open items by the partial index's condition
        plan = " ".join(str(r) for r in conn.execute(sa.text(
            "EXPLAIN QUERY PLAN SELECT review_id FROM match_review WHERE state = 'open'" if kind == "sqlite" else
            "EXPLAIN SELECT review_id FROM match_review WHERE state = 'open'")).all())
    assert "ix_match_review_open" in plan or kind == "postgresql"  # PostgreSQL picks by size: a tiny table is read whole
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_pair_kept_apart_closes_every_open_item_between_the_same_two_persons(warehouses, kind):
    """`different` on one pair of persons P1 and P2 (or a 非本人 answer) leaves nothing to decide
    between them: their other open items close as `apart`; an item with a third person stays."""
    from screenfuse import schema
    from screenfuse.warehouse import engine_for

    engine = engine_for(warehouses.new(kind))
    schema.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO person_link (source_record_id, person_id, match_rule, changed_batch_id) "
                             "VALUES (:r, :p, 'linked', 'B1')"),
                     [{"r": r, "p": p} for r, p in (("a1", "P1"), ("a2", "P1"), ("b1", "P2"), ("b2", "P2"),
                                                    ("c1", "P3"), ("d1", "P4"), ("e1", "P5"))])
        conn.execute(sa.text(REVIEW_ROW), [{"i": i, "b": "B1", "l": l, "r": r} for i, l, r in (
            ("1", "a1", "b1"), ("2", "a2", "b2"), ("3", "b2", "a1"), ("4", "a2", "c1"), ("5", "c1", "b1"),
            ("6", "d1", "e1"), ("7", "e1", "c1"))])
    decided = pd.DataFrame({"left_record_id": ["a1", "c1"], "right_record_id": ["b1", "b1"],
                            "decision": ["different", "same"]})
    answered = pd.DataFrame({"left_record_id": ["e1"], "right_record_id": ["d1"]})  # a 非本人 answer
    with engine.begin() as conn:
        rd.close_items(conn, "B2", decided.iloc[:0], decided, answered)
    found = {i: s for i, s, _ in items(engine)}
    assert found == {"1": "decided", "2": "apart", "3": "apart", "4": "open", "5": "decided", "6": "apart",
                     "7": "open"}
    engine.dispose()


def test_a_refused_same_leaves_the_desk_and_the_desk_says_so(warehouse, capsys):
    """A `same` on a pair that a 非本人 pair stored since keeps apart is refused by the run: the
    item leaves the desk, and `review list` says a decision was refused and where to see it."""
    capsys.readouterr()
    assert main(["review", "list", "--json"]) == 0
    (item,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["review", "decide", item["review_id"], "same", "--by", "复核员04"]) == 0
    with warehouse.begin() as conn:  # a street office's 非本人 on the same two records, stored meanwhile
        left, right = conn.execute(sa.text("SELECT left_record_id, right_record_id FROM match_review")).one()
        conn.execute(sa.text("INSERT INTO match_cannot_link VALUES (:l, :r, 'feedback', '20200210T1300Z', 'PI1')"),
                     {"l": min(left, right), "r": max(left, right)})
    assert main(["run", "--interval-end", "2020-02-10T14:00:00+00:00"]) == 0
    with warehouse.connect() as conn:
        outcome = conn.execute(sa.text("SELECT outcome FROM match_decision")).scalar()
        persons = conn.execute(sa.text("SELECT COUNT(DISTINCT person_id) FROM person_link WHERE source_record_id "
                                       "IN (:l, :r)"), {"l": left, "r": right}).scalar()
    assert outcome.startswith("refused") and persons == 2
    capsys.readouterr()
    assert main(["review", "list"]) == 0
    out = capsys.readouterr().out
    assert "1 decision(s) of the latest run refused" in out and "no open review items" in out
    assert main(["review", "list", "--decided"]) == 0 and "refused" in capsys.readouterr().out
