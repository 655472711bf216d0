"""PerPerson's picks and joins equal the pandas reductions they replace, whatever the mix of persons
with one record (which are never sorted) and with several, masks included. Synthetic values only."""
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screenfuse.per_person import PerPerson, codes

rows = st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3", "P4", "P5", "P6", "P7"]),
                          st.sampled_from(["2020-02-01 08:00:00", "2020-02-01 09:00:00", "2020-02-02 07:00:00"]),
                          st.integers(0, 3), st.sampled_from(["甲", "乙", "丙", ""]), st.booleans()),
                min_size=1, max_size=40)


def frame(data) -> pd.DataFrame:
    rec = pd.DataFrame(data, columns=["person_id", "event_time", "rank", "text", "masked"])
    rec["source_record_id"] = [f"R{i:03d}" for i in range(len(rec))]
    return rec


def masked(data, use_mask: bool):
    """(records, their PerPerson, the mask or None, the records the mask keeps)."""
    rec = frame(data)
    mask = rec["masked"].to_numpy() if use_mask else None
    return rec, PerPerson(rec), mask, rec[mask] if use_mask else rec


@settings(max_examples=200, deadline=None)
@given(rows, st.booleans(), st.booleans())
def test_first_is_the_first_row_of_each_person_sorted_by_the_keys(data, up, use_mask):
    rec, by, mask, kept = masked(data, use_mask)
    got = by.first([rec["rank"].to_numpy(), by.time], [up, False], mask)
    expected = kept.assign(neg_time=-by.time[kept.index]).sort_values(
        ["person_id", "rank", "neg_time"], ascending=[True, up, True], kind="stable").drop_duplicates("person_id")
    assert got.tolist() == expected.index.tolist()


@settings(max_examples=200, deadline=None)
@given(rows, st.booleans(), st.booleans())
def test_joined_joins_each_persons_values_sorted_and_distinct_when_asked(data, distinct, use_mask):
    rec, by, mask, kept = masked(data, use_mask)
    got = by.joined(rec["text"], codes(rec["text"]), ";", mask=mask, distinct=distinct)

    def join(values: pd.Series) -> str:
        values = sorted(values.tolist())
        return ";".join(dict.fromkeys(values) if distinct else values)

    expected = kept.groupby("person_id")["text"].agg(join).reindex(by.index, fill_value="")
    assert got.tolist() == expected.tolist() and list(got.index) == list(by.index)
    assert (np.asarray(by.alone) == rec["person_id"].map(rec["person_id"].value_counts()).eq(1).to_numpy()).all()
