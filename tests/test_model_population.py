"""The prior follows the population (issue 10): a model keeps what does not depend on the number of
records (m and u per level, the other records of the same person per record) and each run computes
the prior for its population. A model trained on a few thousand records and used on a district's
million would otherwise overstate every pair's odds by several bits: a false link isolates the
wrong person. Synthetic records only."""
import dataclasses
import json
from importlib import resources
from datetime import date

import numpy as np
import pandas as pd
import pytest

from screenfuse.matching import dedupe, preset
from screenfuse.matching.engine import Population
from screenfuse.matching.columns import Columns
from screenfuse.matching.model import Model, prior_weight
from screenfuse.zh_person import prepare
from screenfuse.synthetic_flat import generate_flat


def flat(tmp_path, people: int) -> pd.DataFrame:
    generate_flat(people, 5, date(2020, 2, 10), tmp_path / f"r{people}.csv", tmp_path / f"t{people}.csv")
    return prepare(pd.read_csv(tmp_path / f"r{people}.csv", dtype=str, keep_default_na=False))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The zh_person model learnt (EM) from 3,000 and from 30,000 generated people."""
    settings = preset("zh_person")
    where = tmp_path_factory.mktemp("population")
    frames = {people: flat(where, people) for people in (3000, 30000)}
    small, large = (dedupe(frames[people], settings) for people in (3000, 30000))
    return small, large, frames[3000]


def test_a_model_learnt_on_few_records_gives_the_prior_a_model_learnt_on_many_would(trained):
    small, large, _ = trained
    assert small.model_source == large.model_source == "trained"
    n_small, n_large = small.model.trained_on, large.model.trained_on
    assert n_large > 8 * n_small
    # the training populations' priors differ about as much as their sizes (the prior falls as 1/N)
    assert small.model.prior / large.model.prior > 5
    # used on the larger population, the small model's prior is the large model's within 0.3 bits
    gap = prior_weight(small.model.prior_for(n_large)) - prior_weight(large.model.prior)
    assert abs(gap) < 0.3, gap  # (the prior of the training population was 3.4 bits off)
    assert small.model.matches_per_record == pytest.approx(large.model.matches_per_record, rel=0.4)


def test_the_prior_is_never_raised_above_the_training_population(trained):
    model = trained[1].model
    assert model.prior_for(10) == pytest.approx(model.prior)  # a ten-record file is part of a population
    assert model.prior_for(10 * model.trained_on) == pytest.approx(model.prior / 10, rel=1e-3)


def test_a_run_scores_its_pairs_with_the_prior_of_its_population(trained):
    """The same new records against the same neighbourhood: in a population ten times larger
    every link weighs log2(10) bits less, and the explanation says so."""
    small, _, records = trained
    model, settings = small.model, preset("zh_person")
    frame = _neighbourhood(small, records)
    new_ids = frame.loc[frame["record_id"].str.endswith("7"), "record_id"].to_numpy(dtype=object)
    previous = small.clusters[~small.clusters["record_id"].isin(new_ids) & small.clusters["record_id"].isin(frame["record_id"])]
    columns = Columns(frame)
    shares = {c.column: columns.shares(c.column) for c in model.comparisons if c.term_frequency}
    runs = {}
    for times in (1, 10):
        size = times * model.trained_on
        population = Population(size, shares, np.asarray(sorted(set(previous["person_id"])), dtype=object))
        runs[times] = dedupe(frame, settings, previous=previous, model=model, new_ids=new_ids, population=population)
        assert runs[times].prior == pytest.approx(model.prior_for(size)) and runs[times].model_source == "given"
    one, ten = (runs[t].links.set_index(["left_id", "right_id"]) for t in (1, 10))
    both = one.join(ten, lsuffix="_1", rsuffix="_10", how="inner")
    assert len(both) > 20
    expected = prior_weight(model.prior_for(10 * model.trained_on)) - prior_weight(model.prior)
    assert expected == pytest.approx(-np.log2(10), abs=0.01)
    assert np.allclose(both["match_weight_10"] - both["match_weight_1"], expected, atol=1e-3)
    assert both["explanation_10"].str.startswith(f'{{"prior": {prior_weight(runs[10].prior):.3f}').all()


def _neighbourhood(result, records: pd.DataFrame) -> pd.DataFrame:
    """The prepared records of the 400 largest persons of a result."""
    sizes = result.clusters.groupby("person_id").size().sort_values(ascending=False, kind="stable")
    ids = set(result.clusters.loc[result.clusters["person_id"].isin(sizes.index[:400]), "record_id"])
    return records[records["record_id"].isin(ids)].reset_index(drop=True)


def shipped_model() -> dict:
    return json.loads((resources.files("screenfuse.matching") / "zh_person_model.json").read_text(encoding="utf-8"))


def test_the_shipped_model_is_used_below_the_training_size_and_says_so():
    settings = preset("zh_person")
    rows = prepare(pd.DataFrame([
        {"record_id": f"r{k}", "name": name, "id_number": "", "phone": f"1380013{k:04d}"}
        for k, name in enumerate(["张伟", "王芳", "李娜", "刘洋"])]).fillna(""))
    result = dedupe(rows, settings)
    assert result.model_source == "shipped" and result.prior == pytest.approx(result.model.prior, rel=1e-3)
    shipped = shipped_model()  # its own size and matches per record, not the input's
    assert result.model.trained_on == shipped["trained_on"] > len(rows)
    assert result.model.matches_per_record == pytest.approx(shipped["matches_per_record"])


def test_a_model_saved_by_an_earlier_release_keeps_its_prior(trained):
    model = trained[0].model
    old = Model(model.prior, model.comparisons, model.em_iterations_run)  # no matches_per_record, no size
    again = Model.from_json(old.to_json())
    assert again.prior_for(10 ** 7) == model.prior
    assert Model.from_json(model.to_json()).prior_for(10 ** 7) == pytest.approx(model.prior_for(10 ** 7))


def test_a_run_without_a_model_learns_from_its_new_records_not_their_neighbourhood(trained):
    """Incremental, no model yet (the earlier inputs were too small): with enough new records the
    run learns from them alone, as a first input would (its neighbourhood is made of likely
    matches); with too few it uses the preset's shipped model."""
    small, _, records = trained
    new_ids = records["record_id"].iloc[::2].to_numpy(dtype=object)  # holding a few hundred matching pairs
    previous = small.clusters[~small.clusters["record_id"].isin(new_ids)]
    enough = dataclasses.replace(preset("zh_person"), min_records_to_train=500)
    learnt = dedupe(records, enough, previous=previous, new_ids=new_ids)
    assert learnt.model_source == "trained" and learnt.model.trained_on == len(new_ids)
    too_few = dataclasses.replace(preset("zh_person"), min_records_to_train=len(new_ids) + 1)
    shipped = dedupe(records, too_few, previous=previous, new_ids=new_ids)
    assert shipped.model_source == "shipped" and shipped.model.trained_on == shipped_model()["trained_on"]


def test_a_shipped_reason_takes_the_shipped_model_without_learning(trained):
    """With `shipped_reason`, no model and records enough to learn from, the run takes the
    shipped model and says why (the hourly rule after EM was turned down on more records), in a
    batch run as in an incremental one; without it EM learns, on as many records as it says."""
    small, _, records = trained
    settings = preset("zh_person")
    assert small.model_source == "trained" and small.learnt_from == len(records)
    kept = dedupe(records, settings, shipped_reason="turned down before")
    assert (kept.model_source, kept.model_reason, kept.learnt_from) == ("shipped", "turned down before", 0)
    old, new = records.iloc[:2000], records["record_id"].iloc[2000:].to_numpy()
    previous = dedupe(old.reset_index(drop=True), settings).clusters
    again = dedupe(records, settings, previous=previous, new_ids=new, shipped_reason="turned down before")
    assert (again.model_source, again.model_reason, again.learnt_from) == ("shipped", "turned down before", 0)
