"""Pairwise precision, recall and F1 of a clustering against the truth, and cluster errors.

Counts pairs from group sizes (n·(n-1)/2), never by listing pairs, so it scales to millions.
"""
from __future__ import annotations

import numpy as np
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


def blocking_recall(frame: pd.DataFrame, settings, truth: pd.Series) -> list[dict]:
    """Per blocking rule (and for their union): how many candidate pairs it makes and what share
    of the true pairs (records of one real person) it finds. A true pair no rule finds can never
    be linked, so this bounds the recall of everything after blocking. `*_after` figures are the
    rule as the run uses it, after adaptive refinement (equal to the others when none was needed);
    the union is after refinement.

    truth: true entity labels indexed by the settings' unique id (records without one are left out).
    """
    from screenfuse.matching.blocking import unique_sorted, pairs_within_groups, rule_codes
    from screenfuse.matching.columns import Columns, text_index

    columns = Columns(frame)
    ids = columns.values(settings.unique_id)
    labels = truth.set_axis(text_index(truth.index.astype(str))).reindex(text_index(ids))
    true_code = pd.factorize(labels.to_numpy(dtype=object), use_na_sentinel=True)[0]
    known = true_code[true_code >= 0]
    true_pairs = _pairs(pd.Series(np.bincount(known))) if len(known) else 0
    cache: dict = {}
    rows, found_any = [], []
    n = len(ids)
    from screenfuse.matching.adaptive_blocking import plan_rules

    plans = plan_rules(columns, settings.blocking, settings.max_block_size,
                       int(settings.max_pairs_per_record * n), cache, several_keys=True)
    for rule, plan in zip(settings.blocking, plans):
        row = {"rule": "+".join(p.label for p in rule)}
        for when, parts in (("", [rule_codes(columns, rule, cache)]), ("_after", plan.parts)):
            pairs = unique_sorted(np.concatenate([a * n + b for a, b, _, _ in (
                pairs_within_groups(codes, settings.max_block_size) for codes in parts)]))
            left, right = pairs // n, pairs % n
            hit = (true_code[left] == true_code[right]) & (true_code[left] >= 0)
            row.update({f"pairs{when}": int(len(left)), f"true_pairs_found{when}": int(hit.sum()),
                        f"recall{when}": hit.sum() / true_pairs if true_pairs else 1.0})
        found_any.append(left[hit] * n + right[hit])  # what a batch run scores: after refinement
        rows.append(row)
    union = int(len(np.unique(np.concatenate(found_any)))) if found_any else 0
    rows.append({"rule": "all rules", "pairs": None, "true_pairs_found": union,
                 "recall": union / true_pairs if true_pairs else 1.0})
    return rows
