"""Clustering invariants, on random link graphs (hypothesis): a person never holds two values of a
distinct key nor both records of a cannot-link pair; every link used joins one person; without
constraints the persons are the connected components; records without links are persons of
their own."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from screenfuse.matching.clustering import cluster


@st.composite
def graphs(draw):
    n = draw(st.integers(0, 25))
    links = draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0)),
                                    st.floats(0.5, 30)), max_size=60)) if n else []
    links = [(a, b, w) for a, b, w in links if a != b]
    ids = draw(st.lists(st.sampled_from(["", "", "A", "B", "C"]), min_size=n, max_size=n))
    apart = draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0))), max_size=5)) if n else []
    apart = {(min(a, b), max(a, b)) for a, b in apart if a != b}
    left = np.array([a for a, _, _ in links], dtype=np.int64)
    right = np.array([b for _, b, _ in links], dtype=np.int64)
    weight = np.array([w for _, _, w in links], dtype=float)
    return n, left, right, weight, np.array(ids, dtype=object), apart


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_constraints_hold_and_used_links_join_one_person(graph):
    n, left, right, weight, ids, apart = graph
    labels, used = cluster(n, left, right, weight, [ids], apart)
    assert len(labels) == n and len(used) == len(left)
    for label in set(labels.tolist()):
        held = {v for v in ids[labels == label] if v}
        assert len(held) <= 1  # never two valid IDs in one person
    assert all(labels[a] != labels[b] for a, b in apart)
    assert all(labels[left[e]] == labels[right[e]] for e in np.flatnonzero(used))


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_without_constraints_persons_are_the_connected_components(graph):
    n, left, right, weight, _, _ = graph
    labels, used = cluster(n, left, right, weight, [], set())
    assert used.all()
    if n:
        _, components = connected_components(coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n)),
                                             directed=False)
        # the same partition: a record pair is together in one exactly when it is in the other
        assert np.array_equal(labels[:, None] == labels[None, :], components[:, None] == components[None, :])


def test_records_without_links_are_persons_of_their_own():
    labels, used = cluster(4, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), [], set())
    assert labels.tolist() == [0, 1, 2, 3] and len(used) == 0
    labels, _ = cluster(0, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), [], set())
    assert len(labels) == 0
