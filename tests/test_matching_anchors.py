"""The anchor check on EM's match class (matching/anchors.py): candidate pairs that agree on the
other identity columns say what EM should have learnt; a class of namesakes gives way to the
preset's shipped model."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from screenfuse.matching import dedupe, preset
from screenfuse.matching.anchors import MIN_ANCHORS, not_persons, train_checked
from screenfuse.matching.columns import Columns
from screenfuse.matching.model import Model
from screenfuse.resolve import prepare_records

SETTINGS = preset("zh_person")
ORDER = [c.column for c in SETTINGS.comparisons]


def _records(n: int, same_id_pairs: int) -> Columns:
    return Columns(_frame(n, same_id_pairs))


def _frame(n: int, same_id_pairs: int) -> pd.DataFrame:
    """Synthetic prepared records; rows 2i and 2i+1 are one person for i < same_id_pairs."""
    rng = np.random.default_rng(3)
    ids = [f"420106198{i:05d}{rng.integers(10):01d}" for i in range(n)]
    names = [a + b for a, b in zip(rng.choice(list("王李张刘陈杨黄赵吴周"), n), rng.choice(list("伟芳娜敏静丽强磊军洋"), n))]
    born = [str(np.datetime64("1980-01-01") + np.timedelta64(int(d), "D")) for d in rng.integers(0, 3650, n)]
    for i in range(same_id_pairs):
        ids[2 * i + 1], names[2 * i + 1], born[2 * i + 1] = ids[2 * i], names[2 * i], born[2 * i]
    raw = pd.DataFrame({"record_id": [f"r{i:05d}" for i in range(n)], "name": names, "id_number": ids,
                        "birth_date": born, "phone": "", "address": ""})
    frame = prepare_records(raw)
    frame["id_trusted"] = ids  # the distinct key, as the preparation marks valid IDs
    return frame


def _levels(pattern: dict, rows: int) -> np.ndarray:
    out = np.zeros((rows, len(ORDER)), dtype=np.int8)
    for column, level in pattern.items():
        out[:, ORDER.index(column)] = level
    return out


PERSON = {"name": 1, "id_number": 1, "birth_date": 1, "sex": 1}  # all agree exactly
# namesakes: one name, IDs both valid and different, born on different days
NAMESAKE = {"name": 1, "id_number": 3, "birth_date": 5, "sex": 2}


def _namesake_class(model: Model) -> Model:
    """The model EM learnt on 3,000,000 mass-screening records: its matches are namesakes."""
    taught = {"id_number": [0.002, 0.0, 0.91, 0.088], "birth_date": [0.007, 0.022, 0.0, 0.084, 0.887]}
    return dataclasses.replace(model, comparisons=[dataclasses.replace(c, m=taught.get(c.column, c.m))
                                                   for c in model.comparisons])


def test_shipped_model_passes_and_a_namesake_class_fails():
    anchors = MIN_ANCHORS + 50
    columns = _records(2 * anchors, anchors)
    left, right = np.arange(0, 2 * anchors, 2), np.arange(1, 2 * anchors, 2)
    levels = _levels(PERSON, anchors)
    shipped = Model.fallback("zh_person")
    assert not_persons(shipped, columns, SETTINGS, left, right, levels) == []
    short = {f.column: f for f in not_persons(_namesake_class(shipped), columns, SETTINGS, left, right, levels)}
    assert set(short) == {"id_number", "birth_date"}
    assert short["birth_date"].anchors == anchors and short["birth_date"].anchored == 1.0
    assert short["birth_date"].learnt < 0.01


def test_pairs_a_distinct_key_keeps_apart_are_not_anchors():
    # the same pairs, but their ID numbers differ: two people the settings say never join
    anchors = MIN_ANCHORS + 50
    columns = _records(2 * anchors, 0)
    left, right = np.arange(0, 2 * anchors, 2), np.arange(1, 2 * anchors, 2)
    levels = _levels({"name": 1, "birth_date": 1, "id_number": 1}, anchors)
    found = not_persons(_namesake_class(Model.fallback("zh_person")), columns, SETTINGS, left, right, levels)
    assert found and all(f.anchors == 0 and f.anchored is None for f in found)  # judged without anchors (below)


def test_without_anchors_a_class_that_never_agrees_on_two_identity_columns_is_not_persons():
    """An hour of new records holds too few duplicates to anchor anything: EM on 10,000 of the
    mass-screening records learnt ID number and birth date exact in 0 % of its matches."""
    columns = _records(200, 0)
    left, right = np.arange(0, 200, 2), np.arange(1, 200, 2)
    levels = _levels(NAMESAKE, 100)
    shipped = Model.fallback("zh_person")
    assert not_persons(shipped, columns, SETTINGS, left, right, levels) == []
    both = not_persons(_namesake_class(shipped), columns, SETTINGS, left, right, levels)
    assert {f.column for f in both} == {"id_number", "birth_date"} and "0%" in both[0].describe()
    one = dataclasses.replace(shipped, comparisons=[
        dataclasses.replace(c, m=[0.01, 0.0, 0.0, 0.1, 0.89]) if c.column == "birth_date" else c
        for c in shipped.comparisons])
    assert not_persons(one, columns, SETTINGS, left, right, levels) == []  # one noisy column is not enough


def test_em_that_learns_namesakes_gives_way_to_the_shipped_model():
    """Namesake pairs outnumber the true pairs 400 to 1, as a district's mass screening does:
    EM's class is the namesakes; the check says so and the preset's model is used."""
    anchors, namesakes = MIN_ANCHORS + 100, 120_000
    columns = _records(4000, anchors)
    rng = np.random.default_rng(5)
    left = np.r_[np.arange(0, 2 * anchors, 2), rng.integers(2 * anchors, 4000, namesakes)]
    right = np.r_[np.arange(1, 2 * anchors, 2), rng.integers(2 * anchors, 4000, namesakes)]
    apart = _levels(NAMESAKE, namesakes)  # namesakes vary as real ones do: a similar name, the same year
    apart[:, ORDER.index("name")] = np.where(rng.random(namesakes) < 0.8, 1, 2)
    apart[:, ORDER.index("birth_date")] = np.where(rng.random(namesakes) < 0.3, 4, 5)
    apart[:, ORDER.index("sex")] = rng.integers(1, 3, namesakes)
    levels = np.r_[_levels(PERSON, anchors), apart]
    trained = train_checked(columns, SETTINGS, left, right, levels)
    assert trained.source == "shipped" and "not persons" in trained.reason
    assert trained.model.to_json() == Model.fallback("zh_person").to_json()
    assert trained.findings == []  # EM's context findings describe the model set aside
    assert {f.column for f in trained.anchors} >= {"birth_date"}
    # the same settings without a preset: EM's model stays, and the finding is reported
    bare = train_checked(columns, SETTINGS.with_overrides(preset=None), left, right, levels)
    assert bare.source == "trained" and "may not be persons" in bare.reason
    assert bare.model.comparisons[ORDER.index("birth_date")].m[0] < 0.5


def test_a_model_learnt_from_few_matching_pairs_gives_way_to_the_shipped_model():
    """3,000 records of which 40 pairs are one person (an hour of a mass screening): too few
    typos to learn how a match disagrees; the preset's model is used and nothing claims training."""
    result = dedupe(_frame(3000, 40), SETTINGS)
    assert result.model_source == "shipped" and "too few matching pairs" in result.model_reason
    assert result.model.to_json() == Model.fallback("zh_person").to_json()
    linked = result.clusters.groupby("person_id")["record_id"].size()
    assert (linked == 2).sum() == 40  # the 40 pairs are still found, by the shipped model
