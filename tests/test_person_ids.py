"""Person ids: stable across runs, never one given to two persons, never one in use elsewhere."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings as hsettings, strategies as st

from screenfuse.matching.person_ids import _person_id, assign_person_ids


def test_an_id_in_use_elsewhere_is_resalted_and_the_same_again_on_a_rerun():
    records = np.array(["r1", "r2", "r3"], dtype=object)
    labels = np.array([0, 0, 1])
    in_use = np.array([_person_id("r1")], dtype=object)  # the first cluster's id, held by another person
    ids = assign_person_ids(records, labels, None, reserved=in_use)
    assert ids[0] == ids[1] == _person_id("r1", 1) and ids[2] == _person_id("r3")
    again = assign_person_ids(records, labels, None, reserved=lambda c: np.isin(c, in_use))
    assert list(again) == list(ids)


def test_an_earlier_person_keeps_its_id_and_a_new_one_never_takes_it():
    previous = pd.DataFrame({"record_id": ["r1", "r2"], "person_id": [_person_id("r3"), _person_id("r3")]})
    ids = assign_person_ids(np.array(["r1", "r2", "r3"], dtype=object), np.array([0, 0, 1]), previous)
    assert ids[0] == ids[1] == _person_id("r3")  # most of its records had it
    assert ids[2] == _person_id("r3", 1)  # the new person's natural id is taken


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 15), min_size=1, max_size=80), st.sets(st.integers(0, 79), max_size=10))
def test_each_person_gets_one_id_no_other_holds(labels, held):
    labels = np.asarray(pd.factorize(np.asarray(labels))[0])
    records = np.array([f"r{i:03d}" for i in range(len(labels))], dtype=object)
    reserved = np.array([_person_id(f"r{i:03d}") for i in held], dtype=object)
    ids = assign_person_ids(records, labels, None, reserved=reserved)
    per_cluster = pd.Series(ids).groupby(labels).nunique()
    assert (per_cluster == 1).all()  # one id per person
    assert pd.Series(ids).groupby(ids).apply(lambda s: len(set(labels[s.index]))).max() == 1  # no id for two
    assert not set(ids) & set(reserved)
