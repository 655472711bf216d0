"""Pairwise precision, recall and F1 of a clustering against the truth, and cluster errors.

Counts pairs from group sizes (n·(n-1)/2), never by listing pairs, so it scales to millions.
"""
from __future__ import annotations

import pandas as pd


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> dict:
    """predicted and truth: cluster labels indexed by the same record ids."""
    frame = pd.DataFrame({"p": predicted, "t": truth}).dropna()
    predicted_pairs = _pairs(frame.groupby("p").size())
    true_pairs = _pairs(frame.groupby("t").size())
    both = _pairs(frame.groupby(["p", "t"]).size())
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_true = frame.groupby("t")["p"].nunique()
    per_pred = frame.groupby("p")["t"].nunique()
    return {
        "records": len(frame), "true_persons": int(frame["t"].nunique()), "predicted_persons": int(frame["p"].nunique()),
        "precision": precision, "recall": recall, "f1": f1, "true_pairs": true_pairs, "predicted_pairs": predicted_pairs,
        "split_persons": int((per_true > 1).sum()),  # real people spread over several predicted persons
        "merged_persons": int((per_pred > 1).sum()),  # predicted persons holding several real people
    }
