"""The engine's threads (matching/threads.py): the same result as one thread, in the same order."""
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from screenfuse.matching import dedupe, model, preset, threads
from screenfuse.matching.blocking import scoring_pairs
from screenfuse.matching.settings import parse_settings
from screenfuse.zh_person import prepare
from test_matching_context import EXPLODING, _exploding


@pytest.fixture
def small_parts(monkeypatch):
    """Threads from a few hundred values on, so small fixtures take the threaded paths."""
    monkeypatch.setattr(threads, "SPLIT_SORT_FROM", 64)
    monkeypatch.setattr(model, "COMPARE_PART_PAIRS", 50)


def one_thread(monkeypatch) -> None:
    monkeypatch.setattr(threads, "MAX_THREADS", 1)


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2 ** 62), 2 ** 62), max_size=400))
def test_a_sort_in_pieces_equals_one_sort(values):
    values = np.asarray(values, dtype=np.int64)
    expected = np.sort(values)
    original = threads.SPLIT_SORT_FROM
    threads.SPLIT_SORT_FROM = 8  # (hypothesis runs the body many times: no fixture per example)
    try:
        threads.sort_in_place(values)
    finally:
        threads.SPLIT_SORT_FROM = original
    assert np.array_equal(values, expected)


def test_each_keeps_the_items_order_and_raises_what_an_item_raised():
    names = set()

    def work(x):
        names.add(threading.current_thread().name)
        return x * x

    assert threads.each(work, range(50)) == [x * x for x in range(50)]
    if threads.threads() > 1:
        assert any(n.startswith("screenfuse-engine") for n in names)

    def fails(x):
        if x == 7:
            raise ValueError("item 7")
        return x

    with pytest.raises(ValueError, match="item 7"):
        threads.each(fails, range(10))


def test_a_worker_does_not_start_threads_of_its_own():
    inner = threads.each(lambda _: {threading.current_thread().name for _ in threads.each(lambda y: y, range(4))},
                         range(4))
    assert all(len(names) == 1 for names in inner)  # each item's inner work ran in its own thread only


@pytest.mark.parametrize("length, smallest", [(0, 10), (5, 10), (100, 10), (101, 1), (10, 100)])
def test_parts_cover_the_rows_once_in_order(length, smallest):
    parts = threads.parts(length, smallest)
    covered = np.concatenate([np.arange(length)[p] for p in parts]) if parts else np.empty(0)
    assert np.array_equal(covered, np.arange(length))
    assert len(parts) <= threads.threads() and (length >= smallest * 2 or len(parts) == 1)


def _result(frame, settings):
    result = dedupe(frame, settings)
    return (result.clusters.to_dict("list"), result.link_rows.tolist(), result.review_rows.tolist(),
            [str(s) for s in result.rule_stats], result.model.to_json())


def test_a_refined_batch_is_the_same_in_threads_as_in_one(small_parts, monkeypatch):
    """The exploding street: rules refined and split by further keys, their parts built side by
    side, compared in parts and scored in chunks."""
    if threads.threads() < 2:
        pytest.skip("one core: nothing runs side by side")
    frame, _ = _exploding()
    settings = parse_settings(EXPLODING)
    budget = int(settings.max_pairs_per_record * len(frame))
    threaded_pairs = scoring_pairs(frame, settings.blocking, settings.max_block_size, budget)
    threaded = _result(frame, settings)
    one_thread(monkeypatch)
    pairs = scoring_pairs(frame, settings.blocking, settings.max_block_size, budget)
    assert all(np.array_equal(a, b) for a, b in zip(threaded_pairs[:2] + threaded_pairs[3:], pairs[:2] + pairs[3:]))
    assert threaded_pairs[2] == pairs[2]
    assert threaded == _result(frame, settings)


def test_chinese_records_are_the_same_in_threads_as_in_one(small_parts, monkeypatch, tmp_path):
    """zh_person's comparators (per-value transforms shared by the parts of one column)."""
    if threads.threads() < 2:
        pytest.skip("one core: nothing runs side by side")
    from datetime import date

    from screenfuse.synthetic_flat import generate_flat

    generate_flat(1500, 4, date(2020, 2, 10), tmp_path / "flat.csv", tmp_path / "truth.csv")
    frame = prepare(pd.read_csv(tmp_path / "flat.csv", dtype=str, keep_default_na=False))
    settings = preset("zh_person")
    threaded = _result(frame, settings)
    one_thread(monkeypatch)
    assert threaded == _result(frame, settings)
