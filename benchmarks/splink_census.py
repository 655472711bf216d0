"""Splink 5 (DuckDB) on the census-style file (benchmarks/census.py), with and without address.

Benchmark-only (runs in .venv-bench). Names with Splink's NameComparison and term frequencies,
birth date with DateOfBirthComparison, address fields exact; the workflow of splink_peer.
"""
from __future__ import annotations

import time

import pandas as pd
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

from splink_peer import _blank_to_null, _train_predict_cluster

COLUMNS = ["rec_id", "given_name", "surname", "birth_date", "sex", "street_number", "street_name", "unit", "zip"]


def run_splink_census(df: pd.DataFrame, compare_address: bool = False, threshold: float = 0.9) -> tuple[float, pd.DataFrame]:
    tf = {"term_frequency_adjustments": True}
    comparisons = [
        cl.NameComparison("given_name").configure(**tf),
        cl.NameComparison("surname").configure(**tf),
        cl.DateOfBirthComparison("birth_date", input_is_string=True, datetime_format="%Y-%m-%d",
                                 invalid_dates_as_null=True),
        cl.ExactMatch("sex"),
    ]
    rules = [block_on("given_name", "surname"), block_on("birth_date"), block_on("surname", "substr(birth_date, 1, 4)")]
    if compare_address:
        comparisons += [cl.ExactMatch("street_number"), cl.JaroWinklerAtThresholds("street_name", [0.9]),
                        cl.ExactMatch("unit"), cl.ExactMatch("zip").configure(**tf)]
        rules += [block_on("surname", "zip")]
    settings = SettingsCreator(unique_id_column_name="rec_id", link_type="dedupe_only",
                               blocking_rules_to_generate_predictions=rules, comparisons=comparisons)
    start = time.perf_counter()
    clusters = _train_predict_cluster(
        _blank_to_null(df, COLUMNS), settings,
        deterministic_rules=[block_on("given_name", "surname", "birth_date")], recall=0.8,
        em_rules=[block_on("birth_date"), block_on("given_name", "surname")],
        threshold=threshold, id_col="rec_id",
    )
    return time.perf_counter() - start, clusters
