"""Labelled pairs from the generators' truth, as a review would decide them (the retraining's tests)."""
import numpy as np
import pandas as pd
import sqlalchemy as sa

from screenfuse import labels as lb
from screenfuse.matching.blocking import candidate_pairs
from screenfuse.matching.columns import Columns
from screenfuse.resolve import SETTINGS


def table(engine, sql: str) -> pd.DataFrame:
    return pd.read_sql(sa.text(sql), engine)


def truth_of(engine, home) -> pd.Series:
    """person_key per source_record_id, from the generator's truth files."""
    truth = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted((home / "truth").glob("truth*.csv"))])
    records = table(engine, "SELECT source_record_id, feed, file_name, row_number FROM source_record")
    records["row_number"] = records["row_number"].astype(str)
    joined = records.merge(truth, on=["feed", "file_name", "row_number"], how="inner")
    assert len(joined) > 0.9 * len(records)
    return joined.set_index("source_record_id")["person_key"]


def truth_labels(engine, truth: pd.Series, per_kind: int = 150) -> pd.DataFrame:
    """Labelled pairs (as a review would decide them): candidate pairs of the warehouse, same or
    different by the truth, up to `per_kind` of each."""
    records = table(engine, "SELECT * FROM match_record").drop(columns="batch_id").sort_values("record_id", ignore_index=True)
    columns = Columns(records)
    left, right, _ = candidate_pairs(columns, SETTINGS.blocking, SETTINGS.max_block_size)
    ids = columns.values("record_id")
    a, b = ids[left], ids[right]
    known = pd.Index(a).isin(truth.index) & pd.Index(b).isin(truth.index)
    a, b = a[known], b[known]
    same = truth.reindex(a).to_numpy() == truth.reindex(b).to_numpy()
    pick = np.r_[np.flatnonzero(same)[:per_kind], np.flatnonzero(~same)[:per_kind]]
    return pd.DataFrame({"left_record_id": a[pick], "right_record_id": b[pick], "source": "review",
                         "label": np.where(same[pick], "same", "different"), "batch_id": None,
                         "labelled_at": "2020-02-12T01:00:00Z", "reference": "test"})


def review_band_labels(engine, truth: pd.Series, model, count: int = 200) -> pd.DataFrame:
    """The `count` labelled pairs nearest the link threshold under `model` (scored as an hourly run
    would): the pairs a review desk sees, where a label can move the threshold."""
    every = truth_labels(engine, truth, per_kind=10 ** 9)
    records = table(engine, "SELECT * FROM match_record").drop(columns="batch_id")
    weights = lb.pair_weights(model, SETTINGS, records, every["left_record_id"], every["right_record_id"], len(records))
    near = np.argsort(np.abs(weights - lb.threshold_bits(SETTINGS)), kind="stable")[:count]
    return every.iloc[np.sort(near)].reset_index(drop=True)
