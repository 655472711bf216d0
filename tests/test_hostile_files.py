"""Every hostile file ends as specified (tests/hostile_corpus.py): quarantined whole with its
reason, rows quarantined with theirs, or accepted after normalization; and the run reconciles:
rows in = accepted + quarantined, per file and for the run, duplicates skipped counted apart."""
from __future__ import annotations

import os
from datetime import datetime, timezone

import pandas as pd
import pytest

import hostile_corpus
from screenfuse import schema
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.warehouse import engine_for

H1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, warehouse_url):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("hostile") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    folder = home / "landing" / "checkpoint"
    folder.mkdir(parents=True)
    cases = [c for c in hostile_corpus.cases() if os.environ.get("HOSTILE_ONLY", c.name) in c.name]
    for case in cases:
        (folder / case.name).write_bytes(case.data)
    schema.upgrade(engine_for(warehouse_url))
    run = run_batch(load_settings(), H1)
    with engine_for(warehouse_url).connect() as conn:
        files = pd.read_sql("SELECT * FROM ingest_file", conn).set_index("file_name")
        quarantine = pd.read_sql("SELECT file_name, row_number, level, reason FROM quarantine", conn)
        run_log = pd.read_sql("SELECT * FROM run_log", conn)
    yield {"cases": cases, "files": files, "quarantine": quarantine, "run": run, "run_log": run_log}
    mp.undo()


def test_each_hostile_file_ends_as_specified(corpus_run):
    files, quarantine, wrong = corpus_run["files"], corpus_run["quarantine"], []
    for case in corpus_run["cases"]:
        got = files.loc[case.name]
        rows = quarantine[(quarantine["file_name"] == case.name) & (quarantine["level"] == "row")]
        outcome = (got["status"], int(got["rows_accepted"]), len(rows))
        if outcome != (case.status, case.accepted, len(case.quarantined)) or case.reason not in got["reason"]:
            wrong.append(f"{case.name}: got {outcome} '{got['reason']}', want "
                         f"{(case.status, case.accepted, len(case.quarantined))} '{case.reason}'")
            continue
        for piece, reason in zip(case.quarantined, sorted(rows["reason"])):
            if piece not in reason:
                wrong.append(f"{case.name}: row reason '{reason}' lacks '{piece}'")
    assert wrong == [], "\n".join(wrong)


def test_every_row_is_accepted_or_quarantined_and_the_run_reconciles(corpus_run):
    files, run = corpus_run["files"], corpus_run["run_log"].iloc[0]
    counted = files[files["status"] != "duplicate"]
    assert (counted["rows_read"] == counted["rows_accepted"] + counted["rows_quarantined"]).all()
    assert run["rows_read"] == counted["rows_read"].sum() == run["rows_accepted"] + run["rows_quarantined"]
    assert run["files_seen"] == len(corpus_run["cases"])
    assert run["files_duplicate"] == (files["status"] == "duplicate").sum() == 1
    whole = corpus_run["quarantine"].query("level == 'file'")
    assert set(whole["file_name"]) == set(files.index[files["status"] == "quarantined"])


def test_no_quarantine_reason_carries_a_value_of_the_row(corpus_run):
    reasons = " ".join(corpus_run["quarantine"]["reason"]) + " ".join(corpus_run["files"]["reason"])
    for value in ("张伟", "赵六", hostile_corpus.ID1, "4201061980", "HYPERLINK"):
        assert value not in reasons

