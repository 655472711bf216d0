"""The shipped model is never stored as a trained one (issue 10), on the path where EM ran and its
checks turned it down: a district's mass screening samples nearly everyone once, so a first batch
of 3,000 sampling rows holds a handful of matching pairs (matching/anchors.py). The batch and the
retraining after it say why they used the shipped model, and neither writes a `match_model` row:
a later batch with enough duplicates can still learn one. With labels, the retraining recalibrates
the current model instead: the labels move the threshold where EM cannot learn (once such a model
is promoted, hourly runs use it and learning is the retraining's). Synthetic records only."""
import json
from dataclasses import replace
from datetime import date, datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import hand_made_home
from labelled import review_band_labels, truth_of
from screenfuse import retrain
from screenfuse.config import load_settings
from screenfuse.matching import Model
from screenfuse.pipeline import run_batch
from screenfuse.resolve import SETTINGS
from screenfuse.synthetic import generate
from screenfuse.synthetic_mass import generate_mass_screening
from screenfuse.warehouse import bulk_insert

HOUR = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
REJECTED = ("too few matching pairs", "EM's matches were not persons")


def test_a_model_the_checks_turn_down_is_used_as_shipped_and_never_stored(warehouses, tmp_path_factory):
    mp, home, engine = hand_made_home(tmp_path_factory, warehouses.new("sqlite"), "fallback")
    try:
        generate_mass_screening(3000, 11, date(2020, 2, 10), home / "landing", home / "truth")
        published = run_batch(load_settings(), HOUR)
        with engine.connect() as conn:
            run = pd.read_sql(sa.text("SELECT match_model, match_model_reason, match_population FROM run_log"), conn)
            records = conn.exec_driver_sql("SELECT COUNT(*) FROM match_record").scalar()
            stored = conn.exec_driver_sql("SELECT COUNT(*) FROM match_model").scalar()
        assert records >= SETTINGS.min_records_to_train  # enough records: EM ran, and was turned down
        assert published["rows_accepted"] >= records  # the sampling rows (and the results that follow them)
        assert run["match_model"].tolist() == ["shipped:zh_person"]
        assert run["match_model_reason"].iat[0].startswith(REJECTED), run["match_model_reason"].iat[0]
        assert run["match_model_reason"].iat[0].endswith("the preset's shipped model")
        assert stored == 0

        again = retrain.retrain(load_settings(), "test")  # the weekly retraining on the same warehouse
        assert again["trained"] is False and again["promoted"] is False
        assert again["sample_records"] == records and again["reason"].endswith(": no candidate")
        assert again["reason"].startswith(REJECTED)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM match_model").scalar() == 0

        # the next days: EM is not tried again on fewer records than it was turned down on, and is on more
        for day, rows in ((11, 2400), (12, 4000)):
            generate_mass_screening(rows, 11 + day, date(2020, 2, day), home / "landing", home / "truth", day_index=day)
            run_batch(load_settings(), HOUR.replace(day=day))
        with engine.connect() as conn:
            runs = pd.read_sql(sa.text("SELECT match_model, match_model_reason, em_declined_records, batch_id "
                                       "FROM run_log ORDER BY batch_id"), conn)
            day_records = pd.read_sql(sa.text("SELECT batch_id, COUNT(*) AS n FROM match_record GROUP BY batch_id "
                                              "ORDER BY batch_id"), conn)["n"].tolist()
        assert day_records[0] == records and SETTINGS.min_records_to_train <= day_records[1] <= records < day_records[2]
        assert runs["match_model"].tolist() == ["shipped:zh_person"] * 3
        assert runs["em_declined_records"].tolist() == [records, records, day_records[2]]
        assert runs["match_model_reason"].iat[1] == f"EM was turned down on {records:,} records: not tried again on fewer"
        assert runs["match_model_reason"].iat[2].startswith(REJECTED), runs["match_model_reason"].iat[2]
    finally:
        engine.dispose()
        mp.undo()


def test_without_a_candidate_the_labels_recalibrate_the_current_model(warehouses, tmp_path_factory):
    """A small district (too few records for EM) whose model, promoted by hand, links too rarely:
    the review desk's labels (here the truth of the pairs nearest the threshold) recalibrate it,
    and the same labels again change nothing."""
    mp, home, engine = hand_made_home(tmp_path_factory, warehouses.new("sqlite"), "recalibrate")
    try:
        generate(600, 5, date(2020, 2, 10), home / "landing", home / "truth")
        run_batch(load_settings(), HOUR)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM match_record").scalar() < SETTINGS.min_records_to_train
        reluctant = replace(Model.fallback("zh_person"), calibration=-10.0)
        with engine.begin() as conn:
            bulk_insert(conn, "match_model", pd.DataFrame([{
                "model_id": "manual-0001", "preset": "zh_person", "params_json": reluctant.to_json(), "version": 1,
                "promoted": 1, "promoted_by": "test"}]))
            bulk_insert(conn, "match_label", review_band_labels(engine, truth_of(engine, home), Model.fallback("zh_person")))
        fixed = retrain.retrain(load_settings(), "test")
        assert fixed["candidate_kind"] == "recalibrated" and fixed["em"].startswith("too few records"), fixed.get("em")
        assert fixed["promoted"] is True and fixed["current_model"] == "manual-0001"
        assert fixed["candidate"]["missed_links"] < fixed["current"]["missed_links"]
        assert fixed["candidate"]["false_links"] <= fixed["current"]["false_links"] and fixed["calibration_bits"] > -10.0
        with engine.connect() as conn:
            row = pd.read_sql(sa.text("SELECT params_json, metrics_json FROM match_model WHERE model_id = :m"), conn,
                              params={"m": fixed["model_id"]}).iloc[0]
        stored = Model.from_json(row["params_json"])
        assert stored.comparisons == reluctant.comparisons and stored.prior == reluctant.prior  # only the threshold moved
        assert abs(stored.calibration - fixed["calibration_bits"]) < 1e-3
        assert json.loads(row["metrics_json"])["candidate_kind"] == "recalibrated"
        assert any("recalibrated on the labels" in line for line in retrain.report_lines(fixed))
        assert fixed["relink_records"] > 0  # the links the recalibration changes are resolved again next hour
        with engine.connect() as conn:  # in passes by block-key range, whole blocks each: the same records as one pass
            keys = sum(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() for t in ("match_key", "match_key_recent"))
            one = retrain.relink_records(conn, reluctant, stored, budget=10 ** 9)
            many = retrain.relink_records(conn, reluctant, stored, budget=keys // 7)
        assert len(one) == fixed["relink_records"] and many == one

        same = retrain.retrain(load_settings(), "test")  # the same labels again: nothing decided better
        assert same["promoted"] is False and same["reason"].endswith("nothing to promote")
        with engine.connect() as conn:  # recorded, not promoted: hourly runs keep the model above
            latest = pd.read_sql(sa.text("SELECT model_id, promoted FROM match_model ORDER BY version DESC"), conn)
        assert latest["model_id"].iat[0] == same["model_id"] and latest["promoted"].tolist()[:2] == [0, 1]
    finally:
        engine.dispose()
        mp.undo()


@pytest.mark.parametrize("passes", [1, 2, 3, 7, 43])
def test_the_relink_passes_hold_every_block_key_once(passes):
    """The extremes of a signed 64-bit key too, whatever the number of passes."""
    engine = sa.create_engine("sqlite://")
    keys = [-2 ** 63, -2 ** 63 + 1, -1, 0, 1, 2 ** 62, 2 ** 63 - 1] + [(k * 2654435761 ** 3) % 2 ** 64 - 2 ** 63
                                                                       for k in range(200)]
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE match_key (block_key BIGINT, record_id TEXT, PRIMARY KEY (block_key, record_id))")
        conn.execute(sa.text("INSERT INTO match_key VALUES (:k, :r)"), [{"k": k, "r": str(n)} for n, k in enumerate(keys)])
        seen = []
        for part in range(passes):
            within, bounds = retrain.key_range(part, passes)
            seen += [row[0] for row in conn.execute(sa.text(f"SELECT block_key FROM match_key WHERE {within}"), bounds)]
    assert sorted(seen) == sorted(keys)
