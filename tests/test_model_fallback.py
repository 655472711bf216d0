"""The shipped model is never stored as a trained one (issue 10), on the path where EM ran and its
checks turned it down: a district's mass screening samples nearly everyone once, so a first batch
of 3,000 sampling rows holds a handful of matching pairs (matching/anchors.py). The batch and the
retraining after it say why they used the shipped model, and neither writes a `match_model` row:
a later batch with enough duplicates can still learn one. Synthetic records only."""
from datetime import date, datetime, timezone

import pandas as pd
import sqlalchemy as sa

from conftest import hand_made_home
from screenfuse import retrain
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.resolve import SETTINGS
from screenfuse.synthetic_mass import generate_mass_screening

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
    finally:
        engine.dispose()
        mp.undo()
