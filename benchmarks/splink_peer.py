"""Splink 5 (DuckDB backend) as a benchmark peer for our matching engine.

Benchmark-only: runs in .venv-bench (see requirements-bench.txt). The FEBRL models follow the
settings of Splink's own febrl3/febrl4 DuckDB examples, so the peer is Splink as its authors
tune it, not a strawman. Each run returns (seconds, clusters[rec_id|record_id, cluster_id]).

Usage: .venv-bench/bin/python benchmarks/splink_peer.py
"""

from __future__ import annotations

import logging
import time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

# Both FEBRL examples train the same way: lambda from high-precision rules, u by random
# sampling (1e6 pairs, as in the examples), m by EM blocked on date of birth, then postcode.
_FEBRL_DETERMINISTIC = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
_SWAPPED_NAMES = "l.given_name = r.surname and l.surname = r.given_name"


def _febrl3_settings() -> tuple[SettingsCreator, list, float, float]:
    """Splink's febrl3 example: settings, deterministic rules, recall, cluster threshold.

    The example stops at predict(0.2) and gives no clustering threshold, so we use 0.9.
    """
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("soc_sec_id"), block_on("given_name"), block_on("surname"),
            block_on("date_of_birth"), block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    rules = _FEBRL_DETERMINISTIC + [f"{_SWAPPED_NAMES} and l.date_of_birth = r.date_of_birth"]
    return settings, rules, 0.9, 0.9


def _febrl4_settings() -> tuple[SettingsCreator, list, float, float]:
    """Splink's febrl4 'detailed' model, switched from link_only (A vs B) to dedupe_only.

    The example clusters at match probability 0.99.
    """
    tf = {"term_frequency_adjustments": True}
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), _SWAPPED_NAMES, block_on("date_of_birth"),
            block_on("soc_sec_id"), block_on("state", "address_1"),
            block_on("street_number", "address_1"), block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(**tf),
            cl.NameComparison("surname").configure(**tf),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(**tf),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(**tf),
        ],
    )
    return settings, list(_FEBRL_DETERMINISTIC), 0.8, 0.99


def _blank_to_null(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """'' means missing in our data; Splink needs NULL, or two blanks count as agreement."""
    out = df[columns].copy()
    return out.astype(object).where(out.ne(""), None)


def _train_predict_cluster(
    df: pd.DataFrame, settings: SettingsCreator, deterministic_rules: list, recall: float,
    em_rules: list, threshold: float, id_col: str, seed: int = 2,
) -> pd.DataFrame:
    """The Splink workflow of its docs: lambda, u (random sampling), m (EM), predict, cluster."""
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(deterministic_rules, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    # predict(0.2) as in the examples: clustering only keeps edges >= threshold anyway.
    pred = linker.inference.predict(threshold_match_probability=min(0.2, threshold))
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=threshold
    )
    return clusters.as_pandas_dataframe()[[id_col, "cluster_id"]]


def run_splink_febrl(
    df: pd.DataFrame, variant: str = "febrl3", threshold: float | None = None
) -> tuple[float, pd.DataFrame]:
    """Deduplicate a FEBRL frame (datasets.febrl) with Splink's documented model for `variant`.

    Returns (wall seconds for settings -> training -> predict -> cluster, [rec_id, cluster_id]).
    `true_id` is never passed to Splink.
    """
    settings, rules, recall, default_threshold = {
        "febrl3": _febrl3_settings, "febrl4": _febrl4_settings
    }[variant]()
    start = time.perf_counter()
    data = _blank_to_null(df, [c for c in df.columns if c != "true_id"])
    clusters = _train_predict_cluster(
        data, settings, rules, recall,
        em_rules=[block_on("date_of_birth"), block_on("postcode")],
        threshold=default_threshold if threshold is None else threshold, id_col="rec_id",
    )
    return time.perf_counter() - start, clusters


ZH_COLUMNS = ["record_id", "name", "name_pinyin", "id_number", "phone", "birth_date", "sex", "address"]


def run_splink_zh(
    df: pd.DataFrame, compare_address: bool = False, threshold: float = 0.9
) -> tuple[float, pd.DataFrame]:
    """Deduplicate Chinese person records (canonical columns, '' = missing) with a hand-tuned model.

    DuckDB's string distances work on UTF-8 bytes, not characters: one changed Han character is
    Levenshtein 2-3 and a 3-character name with one changed character scores Jaro-Winkler about
    0.8-0.9. So the name's fuzzy level is JW >= 0.9 (one trailing character changed) and sound-alike
    characters are left to the name_pinyin comparison. Address is off by default (free text that
    varies a lot between feeds); turn it on with compare_address=True.
    Returns (wall seconds, [record_id, cluster_id]).
    """
    comparisons = [
        cl.JaroWinklerAtThresholds("name", [0.9]),
        cl.ExactMatch("name_pinyin").configure(term_frequency_adjustments=True),
        cl.LevenshteinAtThresholds("id_number", [1, 2]),
        cl.LevenshteinAtThresholds("phone", [1]),
        cl.ExactMatch("birth_date"),
        cl.ExactMatch("sex"),
    ]
    if compare_address:
        comparisons.append(cl.JaroWinklerAtThresholds("address", [0.9, 0.8]))
    settings = SettingsCreator(
        unique_id_column_name="record_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("id_number"), block_on("phone"), block_on("name_pinyin", "birth_date"),
        ],
        comparisons=comparisons,
    )
    start = time.perf_counter()
    clusters = _train_predict_cluster(
        _blank_to_null(df, ZH_COLUMNS), settings,
        deterministic_rules=[block_on("id_number"), block_on("name", "birth_date", "phone")],
        recall=0.8,
        # Each EM pass can't estimate m for the columns it blocks on, so use two disjoint ones.
        em_rules=[block_on("id_number"), block_on("name_pinyin", "birth_date")],
        threshold=threshold, id_col="record_id",
    )
    return time.perf_counter() - start, clusters


def main() -> None:
    from datasets import febrl

    from screenfuse.matching.evaluate import pairwise_scores

    print(f"{'dataset':8} {'records':>7} {'seconds':>8} {'precision':>9} {'recall':>7} {'F1':>7}")
    for name in ("febrl3", "febrl4"):
        df = febrl(name)
        seconds, clusters = run_splink_febrl(df, variant=name)
        s = pairwise_scores(clusters.set_index("rec_id")["cluster_id"], df.set_index("rec_id")["true_id"])
        print(f"{name:8} {len(df):7d} {seconds:8.2f} {s['precision']:9.4f} {s['recall']:7.4f} {s['f1']:7.4f}")


if __name__ == "__main__":
    main()
