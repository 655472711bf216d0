"""Mass screening: results joined to samples, and the policy rules that read the outcome."""
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenfuse import mass_screening as ms
from screenfuse.fuse import fuse_persons
from screenfuse.policy import PolicyError, default_policy, parse_policy, record_status

AS_OF = pd.Timestamp("2020-05-16 04:00:00", tz="UTC")  # 12:00 in Wuhan


def samples(*rows):
    """(record id, tube, pool, sampled at[, inline result, inline time])."""
    out = []
    for row in rows:
        rid, tube, pool, at, *inline = row
        out.append({"source_record_id": rid, "sample_id": tube, "pool_id": pool, "sampled_at": at,
                    "inline_result": inline[0] if inline else "", "inline_result_time": inline[1] if len(inline) > 1 else ""})
    return pd.DataFrame(out, columns=ms.SAMPLE_COLUMNS)


def results(*rows):
    """(result id, tube, pool, result, at)."""
    return pd.DataFrame([dict(zip(["result_id", "sample_id", "pool_id", "result", "result_time"], r)) for r in rows],
                        columns=["result_id", "sample_id", "pool_id", "result", "result_time"])


def outcome(join, rid):
    return join.outcomes.set_index("source_record_id").loc[rid]


POOL_OF_THREE = samples(("a", "S1", "P1", "2020-05-15 08:00:00"), ("b", "S2", "P1", "2020-05-15 08:01:00"),
                        ("c", "S3", "P1", "2020-05-15 08:02:00"))


def test_a_positive_pool_applies_to_every_member():
    join = ms.join_results(POOL_OF_THREE, results(("r1", "", "P1", "阳性", "2020-05-15 20:00:00")), AS_OF)
    o = join.outcomes
    assert o["source_record_id"].tolist() == ["a", "b", "c"]
    assert o["screening_scope"].tolist() == ["pool"] * 3 and o["screening_result"].tolist() == ["阳性"] * 3
    assert o["pool_positive"].all() and not o["individual_positive"].any()
    assert o["screening_result_time"].tolist() == ["2020-05-15 20:00:00"] * 3
    assert join.counts["pools_positive"] == 1 and join.counts["pool_positive_members"] == 3


def test_a_later_retest_of_a_member_overrides_the_pool_for_that_member_only():
    join = ms.join_results(POOL_OF_THREE, results(
        ("r1", "", "P1", "阳性", "2020-05-15 20:00:00"),
        ("r2", "S1", "P1", "阴性", "2020-05-16 01:00:00"),  # a re-test row names the tube (and its pool)
        ("r3", "S2", "", "阳性", "2020-05-16 01:10:00"),
    ), AS_OF)
    a, b, c = (outcome(join, r) for r in "abc")
    assert (a.screening_scope, a.screening_result, a.pool_positive) == ("individual", "阴性", True)
    assert (b.screening_scope, b.screening_result, b.individual_positive) == ("individual", "阳性", True)
    assert (c.screening_scope, c.screening_result) == ("pool", "阳性")


def test_an_own_result_older_than_the_pool_result_does_not_override_it_unless_positive():
    pool = samples(("a", "S1", "P1", "2020-05-15 08:00:00"), ("b", "S2", "P1", "2020-05-15 08:00:00"))
    join = ms.join_results(pool, results(("r0", "S1", "", "阴性", "2020-05-15 10:00:00"),
                                         ("r1", "S2", "", "阳性", "2020-05-15 10:00:00"),
                                         ("r2", "", "P1", "阴性", "2020-05-15 20:00:00")), AS_OF)
    assert (outcome(join, "a").screening_scope, outcome(join, "a").screening_result) == ("pool", "阴性")
    assert (outcome(join, "b").screening_scope, outcome(join, "b").screening_result) == ("individual", "阳性")


def test_duplicates_conflicts_and_ties():
    tubes = samples(("a", "S1", "", "2020-05-15 08:00:00"), ("b", "S2", "", "2020-05-15 08:00:00"),
                    ("c", "S3", "", "2020-05-15 08:00:00"))
    rows = results(("r1", "S1", "", "阴性", "2020-05-15 20:00:00"), ("r1b", "S1", "", "阴性", "2020-05-15 20:00:00"),
                   ("r2", "S2", "", "阳性", "2020-05-15 20:00:00"), ("r3", "S2", "", "阴性", "2020-05-16 02:00:00"),
                   ("r4", "S3", "", "阴性", "2020-05-15 20:00:00"), ("r5", "S3", "", "阳性", "2020-05-15 20:00:00"))
    kept = ms.join_results(tubes, rows, AS_OF)
    assert (outcome(kept, "a").screening_result, outcome(kept, "a").result_conflict) == ("阴性", False)
    # a negative re-run does not take a positive back: the hospital decides (seed 003)
    b = outcome(kept, "b")
    assert (b.screening_result, b.screening_result_time, b.result_conflict) == ("阳性", "2020-05-15 20:00:00", True)
    assert outcome(kept, "c").screening_result == "阳性"  # same minute: the more cautious result
    plain = ms.join_results(tubes, rows, AS_OF, keep_positive=False)
    assert outcome(plain, "b").screening_result == "阴性" and outcome(plain, "b").result_conflict
    assert kept.orphans.empty


def test_results_of_one_minute_resolve_to_the_most_cautious_whatever_the_seconds():
    tube = samples(("a", "S1", "", "2020-05-15 08:00:00"))
    rows = results(("r1", "S1", "", "待复核", "2020-05-15 11:00:10"), ("r2", "S1", "", "阴性", "2020-05-15 11:00:50"))
    assert outcome(ms.join_results(tube, rows, AS_OF), "a").screening_result == "待复核"
    later = results(("r1", "S1", "", "待复核", "2020-05-15 11:00:50"), ("r2", "S1", "", "阴性", "2020-05-15 11:01:00"))
    assert outcome(ms.join_results(tube, later, AS_OF), "a").screening_result == "阴性"  # the next minute: the latest


def test_an_unusable_own_result_is_no_retest_of_a_positive_pool():
    join = ms.join_results(POOL_OF_THREE, results(("r1", "", "P1", "阳性", "2020-05-15 10:30:00"),
                                                  ("r2", "S1", "", "无效", "2020-05-15 11:40:00"),
                                                  ("r3", "S2", "", "阴性", "2020-05-15 11:40:00")), AS_OF)
    assert (outcome(join, "a").screening_scope, outcome(join, "a").screening_result) == ("pool", "阳性")
    assert (outcome(join, "b").screening_scope, outcome(join, "b").screening_result) == ("individual", "阴性")
    both = ms.join_results(POOL_OF_THREE, results(("r1", "", "P1", "无效", "2020-05-15 10:30:00"),
                                                  ("r2", "S1", "", "无效", "2020-05-15 11:40:00")), AS_OF)
    assert outcome(both, "a").screening_scope == "individual"  # nothing usable either way: the later one


def test_an_own_tube_sampled_before_the_pool_sample_does_not_supersede_it():
    rows = samples(("single", "TA", "", "2020-05-15 07:00:00"), ("pooled", "TB", "P1", "2020-05-15 08:00:00"))
    rows["person_id"] = ["p1", "p1"]
    found = results(("r1", "", "P1", "阳性", "2020-05-15 10:30:00"), ("r2", "TA", "", "阴性", "2020-05-15 12:00:00"))
    o = ms.join_results(rows, found, AS_OF).outcomes.set_index("source_record_id")
    assert (o.loc["pooled", "screening_scope"], o.loc["pooled", "screening_result"]) == ("pool", "阳性")
    assert o.loc["pooled", "superseded_by"] == ""
    # two re-tests after the pool's swab: the one whose result came after the pool's supersedes it,
    # though the other was sampled later
    rows = samples(("pooled", "TB", "P1", "2020-05-15 08:00:00"), ("r1", "T1", "", "2020-05-15 09:00:00"),
                   ("r2", "T2", "", "2020-05-15 10:00:00"))
    rows["person_id"] = ["p1", "p1", "p1"]
    found = results(("p", "", "P1", "阳性", "2020-05-15 12:00:00"), ("a", "T1", "", "阴性", "2020-05-15 14:00:00"),
                    ("b", "T2", "", "阴性", "2020-05-15 11:00:00"))
    o = ms.join_results(rows, found, AS_OF).outcomes.set_index("source_record_id")
    assert (o.loc["pooled", "screening_scope"], o.loc["pooled", "superseded_by"]) == ("superseded", "r1")


def test_orphans_are_kept_with_a_reason():
    join = ms.join_results(POOL_OF_THREE, results(("r1", "S9", "", "阴性", "2020-05-15 20:00:00"),
                                                  ("r2", "", "P9", "阳性", "2020-05-15 20:00:00"),
                                                  ("r3", "S9", "P1", "阳性", "2020-05-15 20:00:00")), AS_OF)
    assert join.orphans["result_id"].tolist() == ["r1", "r2", "r3"]
    assert join.orphans["reason"].tolist() == [ms.NO_SAMPLE, ms.NO_POOL, ms.NO_SAMPLE]
    # a result for an unknown tube is not spread over the pool it names
    assert join.outcomes["screening_scope"].eq("awaiting").all() and join.counts["orphan_results"] == 3


def test_results_before_their_samples_apply_when_the_samples_come():
    early = results(("r1", "", "P1", "阳性", "2020-05-15 20:00:00"), ("r2", "S4", "", "阴性", "2020-05-15 21:00:00"))
    first = ms.join_results(samples(), early, AS_OF)
    assert first.outcomes.empty and len(first.orphans) == 2
    later = pd.concat([POOL_OF_THREE, samples(("d", "S4", "", "2020-05-15 09:00:00"))], ignore_index=True)
    second = ms.join_results(later, early, AS_OF)
    assert second.orphans.empty
    assert second.outcomes["screening_result"].tolist() == ["阳性", "阳性", "阳性", "阴性"]


def test_awaiting_samples_count_their_hours_in_local_time():
    tubes = samples(("a", "S1", "", "2020-05-15 08:00:00"), ("b", "S2", "", "2020-05-16 02:00:00"),
                    ("c", "S3", "", "2020-05-15 08:00:00"))
    join = ms.join_results(tubes, results(("r", "S3", "", "阴性", "2020-05-15 20:00:00")), AS_OF, due_hours=24)
    o = join.outcomes.set_index("source_record_id")
    assert o.loc["a", "awaiting_result"] and o.loc["a", "hours_waited"] == 28.0 and o.loc["a", "result_overdue"]
    assert o.loc["b", "hours_waited"] == 10.0 and not o.loc["b", "result_overdue"]
    assert np.isnan(o.loc["c", "hours_waited"]) and not o.loc["c", "awaiting_result"]
    naive = ms.join_results(tubes, results(), pd.Timestamp("2020-05-16 12:00:00"))
    assert naive.outcomes["hours_waited"].tolist() == [28.0, 10.0, 28.0]  # a naive as_of is local time already


def test_inline_results_a_pool_row_speaks_for_its_pool():
    rows = samples(("a", "S1", "P1", "2020-05-15 08:00:00", "阳性", "2020-05-15 22:00:00"),
                   ("b", "S2", "P1", "2020-05-15 08:01:00"),
                   ("c", "S3", "", "2020-05-15 08:02:00", "阴性", ""),
                   ("d", "S4", "", "2020-05-15 08:03:00", "阴性", "不详"))
    join = ms.join_results(rows, results(), AS_OF)
    assert outcome(join, "b").screening_scope == "pool" and outcome(join, "b").screening_result == "阳性"
    assert outcome(join, "c").screening_result_time == "2020-05-15 08:02:00"  # no result time: the sampling time
    assert outcome(join, "d").screening_result_time == "2020-05-15 08:03:00"


def test_a_person_resampled_alone_or_again_supersedes_the_older_outcome():
    rows = samples(("a", "S1", "P1", "2020-05-15 08:00:00"), ("b", "S2", "P1", "2020-05-15 08:00:00"),
                   ("a2", "S7", "", "2020-05-16 07:00:00"),
                   ("x", "S8", "", "2020-05-15 08:00:00"), ("x2", "S9", "", "2020-05-16 08:00:00"))
    rows["person_id"] = ["p1", "p2", "p1", "p3", "p3"]
    found = results(("r1", "", "P1", "阳性", "2020-05-15 20:00:00"), ("r2", "S7", "", "阴性", "2020-05-16 10:00:00"))
    o = ms.join_results(rows, found, AS_OF).outcomes.set_index("source_record_id")
    assert (o.loc["a", "screening_scope"], o.loc["a", "superseded_by"]) == ("superseded", "a2")
    assert o.loc["b", "screening_scope"] == "pool"  # the other member still waits for their re-test
    assert (o.loc["x", "screening_scope"], o.loc["x", "superseded_by"]) == ("superseded", "x2")
    assert o.loc["x2", "screening_scope"] == "awaiting"
    without = ms.join_results(rows.drop(columns="person_id"), found, AS_OF).outcomes
    assert not without["screening_scope"].eq("superseded").any()


def test_sample_rows_read_details_json_like_the_staged_columns():
    staged = pd.DataFrame({"source_record_id": ["m1", "m2"], "unit": ["某采样点", "某采样点"],
                           "event_time": ["2020-05-15 08:00:00", "2020-05-15 08:01:00"],
                           "sample_id": ["S1", "S2"], "pool_id": ["P1", ""], "result": ["", "阴性"],
                           "result_time": ["", "2020-05-15 20:00:00"]})
    details = [json.dumps({k: r[k] for k in ("sample_id", "pool_id", "result", "result_time")}, ensure_ascii=False)
               for r in staged.to_dict("records")]
    stored = staged.drop(columns=["sample_id", "pool_id", "result", "result_time"]).assign(details_json=details)
    pd.testing.assert_frame_equal(ms.sample_rows(stored), ms.sample_rows(staged))
    assert ms.sample_rows(staged).columns.tolist() == ms.SAMPLE_COLUMNS
    assert ms.keys_to_read(ms.sample_rows(staged), results(("r", "", "P7", "阴性", "x"))) == (["S1", "S2"], ["P1", "P7"])


# --------------------------------------------------------------------------- property

@st.composite
def screenings(draw):
    n = draw(st.integers(0, 12))
    pools = draw(st.lists(st.sampled_from(["", "P1", "P2"]), min_size=n, max_size=n))
    rows = samples(*[(f"r{i}", f"S{i}", pools[i], f"2020-05-15 08:{i:02d}:00") for i in range(n)])
    kinds = st.tuples(st.sampled_from([f"S{i}" for i in range(n + 1)] + ["", ""]), st.sampled_from(["P1", "P2", "P3"]),
                      st.sampled_from(ms.RESULT_VALUES), st.integers(18, 21), st.sampled_from([0, 0, 20, 40]))
    found = results(*[(f"x{j}", tube, "" if tube else pool, res, f"2020-05-15 {hour}:00:{second:02d}")
                      for j, (tube, pool, res, hour, second) in enumerate(draw(st.lists(kinds, max_size=14)))])
    return rows, found


@settings(max_examples=300, deadline=None)
@given(screenings())
def test_every_sample_gets_one_outcome_and_a_pool_result_reaches_every_member_not_overridden(data):
    rows, found = data
    join = ms.join_results(rows, found, AS_OF)
    o = join.outcomes
    assert o["source_record_id"].tolist() == rows["source_record_id"].tolist()
    assert o["screening_scope"].isin(["individual", "pool", "awaiting"]).all()
    events = list(found[["sample_id", "pool_id", "result", "result_time"]].itertuples(index=False, name=None))
    for r in o.itertuples():
        mine = _effective([(res, t) for tube, _, res, t in events if tube and tube == r.sample_id])
        theirs = _effective([(res, t) for tube, pool, res, t in events if not tube and r.pool_id and pool == r.pool_id])
        later = mine and theirs and mine[1] >= theirs[1] and (mine[0] != "无效" or theirs[0] == "无效")
        if mine and (not theirs or later or mine[0] == "阳性"):
            expected = ("individual", *mine)
        else:  # the pool's result reaches every member its own tube's result does not override
            expected = ("pool", *theirs) if theirs else ("awaiting", "", "")
        assert (r.screening_scope, r.screening_result, r.screening_result_time) == expected
        assert r.individual_positive == (expected[0] == "individual" and expected[1] == "阳性")
        assert r.pool_positive == (theirs is not None and theirs[0] == "阳性")
    known_tubes, known_pools = set(rows["sample_id"]), set(rows["pool_id"]) - {""}
    orphans = {rid for rid, tube, pool, *_ in found.itertuples(index=False, name=None)
               if (tube and tube not in known_tubes) or (not tube and pool not in known_pools)}
    assert set(join.orphans["result_id"]) == orphans


def _effective(events):
    """The oracle for one tube: its latest positive if it ever had one, else its latest result
    (results of the latest minute: the most cautious, then the latest)."""
    if not events:
        return None
    positive = [t for res, t in events if res == "阳性"]
    if positive:
        return "阳性", max(positive)
    caution = {"阴性": 0, "无效": 1, "待复核": 2}
    return max(events, key=lambda e: (e[1][:16], caution[e[0]], e[1]))


# ------------------------------------------------------------------------------ policy

def joined_records(rows, found, **extra):
    """Sample records of feed mass_screening with the join's outcome attached."""
    o = ms.join_results(rows, found, AS_OF, due_hours=24).outcomes
    records = pd.DataFrame({"source_record_id": rows["source_record_id"], "feed": "mass_screening",
                            "event_time": rows["sampled_at"]})
    return ms.attach_outcomes(records, o).assign(**extra)


def test_default_rules_an_individual_positive_is_suspected_a_positive_pool_is_retested():
    policy = default_policy()
    rows = pd.concat([POOL_OF_THREE, samples(("d", "S4", "", "2020-05-15 09:00:00"),
                                             ("e", "S5", "", "2020-05-15 09:00:00"),
                                             ("f", "S6", "", "2020-05-15 09:00:00"))], ignore_index=True)
    found = results(("r1", "", "P1", "阳性", "2020-05-15 20:00:00"), ("r2", "S1", "", "阴性", "2020-05-16 01:00:00"),
                    ("r3", "S4", "", "阳性", "2020-05-15 20:00:00"), ("r4", "S5", "", "待复核", "2020-05-15 20:00:00"))
    status = record_status(joined_records(rows, found), policy)
    assert status.tolist() == ["none", "screening_retest", "screening_retest", "suspected", "screening_retest", "none"]
    assert policy.measures["screening_retest"] == "single_tube_retest"
    assert policy.measure_specs["single_tube_retest"].label.startswith("单管复核")
    assert policy.measures["suspected"] == "isolate_suspected"  # seed 004: 疑似患者集中隔离


def test_records_of_other_feeds_never_match_screening_conditions():
    policy = default_policy()
    other = pd.DataFrame({"source_record_id": ["h1"], "feed": ["hospital"], "event_time": ["2020-05-15 08:00:00"],
                          "category": [""], "nucleic_acid": ["阳性"]})
    attached = ms.attach_outcomes(other, ms.join_results(samples(), results(), AS_OF).outcomes)
    assert attached.loc[0, "screening_scope"] == "" and not attached.loc[0, "pool_positive"]
    assert record_status(attached, policy).tolist() == ["none"]
    assert record_status(other, policy).tolist() == ["none"]  # without the columns at all


def _attached_by_merge(records, outcomes):
    """attach_outcomes as it was written before (a left merge), for comparison."""
    columns = [c for c in ms.OUTCOME_COLUMNS if c not in ("source_record_id", "sample_id", "pool_id")]
    out = records.drop(columns=[c for c in columns if c in records]).merge(
        outcomes.drop_duplicates("source_record_id")[["source_record_id", *columns]], on="source_record_id", how="left")
    for flag in ms.FLAGS:
        out[flag] = out[flag].astype("boolean").fillna(False).astype(bool)
    text = [c for c in columns if c != "hours_waited" and c not in out.select_dtypes("bool")]
    out[text] = out[text].astype(object).fillna("")
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=8, unique=True),
       st.lists(st.tuples(st.sampled_from(["a", "b", "c", "x"]), st.sampled_from(["阳性", "阴性", None]),
                          st.sampled_from([True, False, None]), st.sampled_from([1.5, None])), max_size=6))
def test_outcomes_attach_to_their_records_as_a_left_merge_would(ids, found):
    records = pd.DataFrame({"source_record_id": ids, "feed": "mass_screening",
                            "screening_scope": "stale"}, index=range(10, 10 + len(ids)))
    outcomes = pd.DataFrame({c: pd.Series([None] * len(found), dtype=object) for c in ms.OUTCOME_COLUMNS})
    outcomes["source_record_id"] = [f[0] for f in found]
    outcomes["screening_result"] = [f[1] for f in found]
    outcomes["pool_positive"] = [f[2] for f in found]
    outcomes["hours_waited"] = pd.to_numeric(pd.Series([f[3] for f in found], dtype=object))  # a float, as joined
    got, want = ms.attach_outcomes(records, outcomes), _attached_by_merge(records, outcomes)
    # a record named twice takes its first outcome; one without any gets empty text, False and NaN
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert list(got["source_record_id"]) == ids and "stale" not in set(got["screening_scope"])


def test_the_way_back_a_hospital_clears_a_screening_positive():
    policy = default_policy()
    rows = samples(("m1", "S1", "", "2020-05-15 08:00:00"))
    screened = joined_records(rows, results(("r", "S1", "", "阳性", "2020-05-15 20:00:00")))
    hospital = pd.DataFrame({"source_record_id": ["h1"], "feed": ["hospital"], "event_time": ["2020-05-16 09:00:00"],
                             "category": ["排除"]})
    records = pd.concat([screened, hospital], ignore_index=True)
    for column in ("name", "id_number", "id_status", "phone", "address", "street", "community", "birth_date", "sex"):
        records[column] = ""
    links = pd.DataFrame({"source_record_id": ["m1", "h1"], "person_id": ["P1", "P1"]})
    before = fuse_persons(records[records["feed"] == "mass_screening"], links, [], "2020-05-16T00:00:00Z", policy)
    assert (before.loc[0, "status"], before.loc[0, "measure"]) == ("suspected", "isolate_suspected")
    after = fuse_persons(records, links, [], "2020-05-16T02:00:00Z", policy)
    assert after.loc[0, "status"] == "cleared"


def test_an_exclusion_made_before_the_positive_result_came_does_not_clear_it():
    """A fever clinic's 排除 at 09:00, between the swab (08:00) and its 阳性 result (10:30): the
    排除 was made without the result, so the person is suspected, not cleared. A 排除 after the
    result still clears."""
    policy = default_policy()
    screened = joined_records(samples(("m1", "S1", "", "2020-05-15 08:00:00")),
                              results(("r", "S1", "", "阳性", "2020-05-15 10:30:00")))
    links = pd.DataFrame({"source_record_id": ["m1", "h1"], "person_id": ["P1", "P1"]})

    def status_with_exclusion_at(when):
        clinic = pd.DataFrame({"source_record_id": ["h1"], "feed": ["hospital"], "event_time": [when],
                               "category": ["排除"]})
        records = pd.concat([screened, clinic], ignore_index=True)
        for column in ("name", "id_number", "id_status", "phone", "address", "street", "community", "birth_date", "sex"):
            records[column] = ""
        return fuse_persons(records, links, [], "2020-05-15T04:00:00Z", policy).loc[0, "status"]

    assert status_with_exclusion_at("2020-05-15 09:00:00") == "suspected"
    assert status_with_exclusion_at("2020-05-15 10:30:00") == "cleared"  # the same moment: made with it
    assert status_with_exclusion_at("2020-05-15 11:00:00") == "cleared"


def test_result_overdue_reads_the_policy_hours():
    text = default_policy().source and _default_text().replace(
        "  - {status: suspected,        when: {screening_result_in: [阳性]}}",
        "  - {status: suspected,        when: {screening_result_in: [阳性]}}\n"
        "  - {status: key_area_arrival, when: {result_overdue: true}}")
    policy = parse_policy(text)
    rows = samples(("a", "S1", "", "2020-05-15 08:00:00"), ("b", "S2", "", "2020-05-16 02:00:00"))
    assert record_status(joined_records(rows, results()), policy).tolist() == ["key_area_arrival", "none"]
    longer = parse_policy(text.replace("result_due_hours: 24", "result_due_hours: 30"))
    assert record_status(joined_records(rows, results()), longer).tolist() == ["none", "none"]


def _default_text() -> str:
    from importlib import resources

    return resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, key, words", [
    ("when: {screening_result_in: [阳性]}", "when: {screening_result_in: [阳姓]}",
     "when.screening_result_in[0]", "known screening results: 阴性, 阳性, 待复核, 无效"),
    ("when: {pool_result_in: [阳性, 待复核]}", "when: {pool_result_in: 阳性}", "when.pool_result_in", "write it as a list"),
    ("when: {pool_result_in: [阳性, 待复核]}", "when: {pool_result_in: []}", "when.pool_result_in", "non-empty list"),
    ("when: {screening_result_in: [阳性]}", "when: {screening_reslt_in: [阳性]}", "when.screening_reslt_in",
     "did you mean 'screening_result_in'"),
    ("when: {screening_result_in: [阳性]}", "when: {result_overdue: false}", "when.result_overdue", "only `true`"),
    ("  result_due_hours: 24", "  result_due_hours: 0", "mass_screening.result_due_hours", "hours from 1"),
    ("  result_due_hours: 24", "  result_due_hours: '24'", "mass_screening.result_due_hours", "hours"),
    ("  result_due_hours: 24", "  result_due_hour: 24", "mass_screening.result_due_hour", "did you mean 'result_due_hours'"),
])
def test_screening_policy_mistakes_name_the_key(old, new, key, words):
    text = _default_text()
    assert old in text
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.replace(old, new, 1), source="p.yaml")
    assert key in caught.value.key and words in str(caught.value), str(caught.value)


def test_result_overdue_needs_the_hours():
    text = _default_text().replace("when: {screening_result_in: [阳性]}", "when: {result_overdue: true}", 1)
    text = text[:text.index("mass_screening:")] + text[text.index("# ----", text.index("mass_screening:")):]
    with pytest.raises(PolicyError, match="needs mass_screening.result_due_hours") as caught:
        parse_policy(text)
    assert caught.value.key.endswith("when.result_overdue")
    assert parse_policy(text.replace("when: {result_overdue: true}", "when: {category_in: [疑似]}")).result_due_hours is None


def test_the_tubes_are_made_from_their_few_columns_not_a_copy_of_every_record():
    """Validate takes only what `sample_rows` reads of a million accepted rows (a copy of every
    column was a second GB at the first load's peak); `details_json` only when the fields are not
    columns of their own."""
    staged = ["source_record_id", "feed", "name", "id_number", "phone", "address", "raw_json", "details_json",
              "unit", "event_time", "sample_id", "pool_id", "result", "result_time"]
    assert ms.sample_sources(staged) == ["source_record_id", "unit", "event_time", "sample_id", "pool_id", "result",
                                         "result_time"]
    read_back = ["source_record_id", "unit", "event_time", "name", "raw_json", "details_json"]
    assert ms.sample_sources(read_back) == ["source_record_id", "unit", "event_time", "details_json"]
    rows = pd.DataFrame({c: ["x"] for c in staged})
    assert ms.sample_rows(rows[ms.sample_sources(staged)]).equals(ms.sample_rows(rows))
