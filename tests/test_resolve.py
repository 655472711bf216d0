"""Resolution on small hand-made cases that must and must not match, plus invariants."""
import pandas as pd
from hypothesis import given, settings, strategies as st

from conftest import make_id
from screenfuse.resolve import resolve_identities

ID_A = make_id("42010619800101123")
ID_B = make_id("42010619850505234")


def records(*rows):
    """Rows as units type them → the source-record columns resolution reads."""
    frame = pd.DataFrame(rows).fillna("")
    return pd.DataFrame({
        "source_record_id": frame["rid"], "name": frame["name"],
        "id_number": frame.get("id", ""), "phone": frame.get("phone", ""), "address": frame.get("address", ""),
    })


def resolve(rec, **kwargs):
    return resolve_identities(rec, **kwargs).links


def same_person(links, a, b):
    ids = dict(zip(links["source_record_id"], links["person_id"]))
    return ids[a] == ids[b]


def swap(value, i):
    return value[:i] + value[i + 1] + value[i] + value[i + 2:]


def test_must_match():
    rec = records(
        {"rid": "r1", "name": "张伟", "id": ID_A, "phone": "13812345678"},
        {"rid": "r2", "name": "張偉", "id": ID_A.lower()},                      # traditional name
        {"rid": "r3", "name": "章伟", "phone": "+86 138-1234-5678"},             # homophone, phone, no ID
        {"rid": "r4", "name": "张伟", "id": swap(ID_A, 14)},                     # swapped digits
        {"rid": "r5", "name": "张 伟", "id": ID_A[:6] + ID_A[8:17]},             # old 15-digit ID
    )
    links = resolve(rec)
    assert links["person_id"].nunique() == 1


def test_must_not_match():
    rec = records(
        # two people named 王芳 with different valid IDs and the same phone (a household)
        {"rid": "h1", "name": "王芳", "id": ID_A, "phone": "13812345678"},
        {"rid": "h2", "name": "王芳", "id": ID_B, "phone": "13812345678"},
        # parent and child sharing phone and community, different given names
        {"rid": "f1", "name": "李建国", "phone": "13912345001", "address": "振华社区3-2-501"},
        {"rid": "f2", "name": "李明", "phone": "13912345001", "address": "振华社区3栋2单元501室"},
        # the same common name, nothing else in common
        {"rid": "c1", "name": "刘洋", "phone": "13712345001"},
        {"rid": "c2", "name": "刘洋", "phone": "13612345002"},
    )
    links = resolve(rec)
    assert links["person_id"].nunique() == 6


def test_arrivals_from_abroad_link_across_spellings_and_keep_their_own_numbers():
    """Foreign arrivals: an accented name and a North American number written two ways are one
    person; a Chicago number (+1 312 555 0147) is not the Chinese mobile 131 2555 0147 of
    another person of the same name."""
    rec = records(
        {"rid": "a1", "name": "José García", "phone": "+1 (415) 555-0132"},
        {"rid": "a2", "name": "JOSE GARCIA", "phone": "+1 415 555 0132"},
        {"rid": "b1", "name": "Lü Wei", "phone": "138 1234 5678"},
        {"rid": "b2", "name": "吕伟", "phone": "+86 13812345678"},
        {"rid": "c1", "name": "Maria Lopez", "phone": "+1 312 555 0147"},
        {"rid": "c2", "name": "MARIA LOPEZ", "phone": "13125550147"},
    )
    links = resolve(rec)
    assert same_person(links, "a1", "a2") and same_person(links, "b1", "b2")
    assert not same_person(links, "c1", "c2") and not same_person(links, "a1", "c1")


def test_filler_ids_and_phones_link_nobody():
    """What a unit types to fill a required cell (000000000000000000, 同上, 13800000000) is not
    evidence: two people with the same common name and the same filler are two people."""
    rec = records(
        {"rid": "z1", "name": "陈静", "id": "000000000000000000", "phone": "13800000000", "address": "首义路社区1栋"},
        {"rid": "z2", "name": "陈静", "id": "000000000000000000", "phone": "13800000000", "address": "粮道街7栋"},
        {"rid": "o1", "name": "张伟", "id": "111111111111111111", "phone": "11111111111"},
        {"rid": "o2", "name": "张伟", "id": "111111111111111111", "phone": "11111111111"},
        {"rid": "d1", "name": "王芳", "id": "同上", "phone": "同上"},
        {"rid": "d2", "name": "王芳", "id": "同上", "phone": "同上"},
    )
    links = resolve(rec)
    assert links["person_id"].nunique() == 6


def test_twins_are_never_one_person():
    """Twins: same birth date, address and phone, valid IDs that differ only in the sequence digits,
    names one character apart."""
    rec = records(
        {"rid": "t1", "name": "张子涵", "id": make_id("42010620100101123"), "phone": "13912345678", "address": "首义路社区5栋101"},
        {"rid": "t2", "name": "张子函", "id": make_id("42010620100101125"), "phone": "13912345678", "address": "首义路社区5栋101"},
        {"rid": "t3", "name": "张子涵", "phone": "13912345678", "address": "首义路社区5栋101"},  # which twin: not said
    )
    links = resolve(rec)
    assert not same_person(links, "t1", "t2")


def test_an_old_15_digit_id_typed_wrong_once_still_finds_the_persons_18_digit_id():
    """A 15-digit ID has no check digit of its own: converted, a mistyped digit gives a number
    that passes the check yet differs from the person's real ID in that digit and the check. It
    is compared tolerantly (one mistyped digit), never as a second valid ID that keeps apart."""
    real = make_id("42010619560714351")
    old_typed_wrong = real[:6] + real[8:14] + "361"  # the 15-digit form, its sequence digit 5 typed as 6
    rec = records(
        {"rid": "old", "name": "孙建华", "id": old_typed_wrong, "phone": "13761920437", "address": "首义路社区5栋101"},
        {"rid": "new", "name": "孙建华", "id": real, "phone": "13761920437", "address": "首义路社区5栋101"},
        {"rid": "twin", "name": "孙建国", "id": make_id("42010619560714371"), "phone": "13761920437",
         "address": "首义路社区5栋101"},
    )
    links = resolve(rec)
    assert same_person(links, "old", "new")
    assert not same_person(links, "twin", "new") and not same_person(links, "twin", "old")


def test_two_valid_ids_never_join_even_through_a_bridge():
    rec = records(
        {"rid": "a", "name": "赵敏", "id": ID_A, "phone": "13811112222"},
        {"rid": "bridge", "name": "赵敏", "phone": "13811112222"},
        {"rid": "b", "name": "赵敏", "id": ID_B, "phone": "13811112222"},
    )
    links = resolve(rec)
    assert not same_person(links, "a", "b")


def test_person_ids_are_stable_across_runs_and_new_records():
    first = records({"rid": "r1", "name": "张伟", "id": ID_A}, {"rid": "r2", "name": "李娜", "id": ID_B})
    run1 = resolve(first)
    more = pd.concat([first, records({"rid": "r0", "name": "张伟", "id": ID_A})], ignore_index=True)
    run2 = resolve(more, previous=run1)
    ids1 = dict(zip(run1.source_record_id, run1.person_id))
    ids2 = dict(zip(run2.source_record_id, run2.person_id))
    assert ids2["r1"] == ids1["r1"] and ids2["r2"] == ids1["r2"] and ids2["r0"] == ids1["r1"]


SURNAMES, GIVEN = "王李张刘陈", "伟芳娜敏静丽"


@st.composite
def record_sets(draw):
    n = draw(st.integers(2, 12))
    rows = []
    for k in range(n):
        rows.append({
            "rid": f"r{k:02d}",
            "name": draw(st.sampled_from(SURNAMES)) + draw(st.sampled_from(GIVEN)),
            "id": draw(st.sampled_from(["", ID_A, ID_B, swap(ID_A, 15)])),
            "phone": draw(st.sampled_from(["", "13812345678", "13987654321"])),
        })
    return records(*rows)


@settings(max_examples=60, deadline=None)
@given(record_sets(), st.randoms(use_true_random=False))
def test_order_does_not_matter_and_rerun_is_identical(rec, rnd):
    base = resolve(rec)
    shuffled = rec.sample(frac=1, random_state=rnd.randint(0, 10_000)).reset_index(drop=True)
    again = resolve(shuffled)
    merged = base.merge(again, on="source_record_id")
    assert (merged["person_id_x"] == merged["person_id_y"]).all()
    # re-running with its own previous links changes nothing
    rerun = resolve(rec, previous=base)
    assert rerun.set_index("source_record_id")["person_id"].equals(base.set_index("source_record_id")["person_id"])
    # no person ever holds two different valid IDs
    joined = rec.merge(base, on="source_record_id")
    valid = joined[joined["id_number"].isin([ID_A, ID_B])]
    assert (valid.groupby("person_id")["id_number"].nunique() <= 1).all()


TYPED = st.text(alphabet=list("张三李四王五陳偉國·. -0123456789Xx１２３（）+号栋单元室路街区市武汉"), max_size=22)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "name": st.one_of(TYPED, st.sampled_from(["不 详", "同 上", "無", "不詳", "x.", "X-", "Unknown.", "Wei\u00a0Zhang",
                                               "ZHANG  Wei", "阿依古丽·买买提", "阿依古丽 . 买买提", "Lǚ Wěi", "José García",
                                               "ИВАН ПЕТРОВ"])),
    "id_number": st.one_of(TYPED, st.sampled_from([ID_A, ID_B, ID_A[:6] + ID_A[8:17], swap(ID_A, 3), "E12345678",
                                                   "000000000000000000", "4.20106E+17"])),
    "id_type": st.sampled_from(["", "居民身份证", "护照", "港澳居民来往内地通行证", "其他"]),
    "phone": st.one_of(TYPED, st.sampled_from(["13812345678", "+86 138-1234-5678", "027-8765432", "+1 (312) 555-0147",
                                               "+13125550147", "13812345678 / +1 312 555 0147", "+852 9123 4567"])),
    "address": TYPED,
}), min_size=1, max_size=10))
def test_records_ingest_normalized_get_the_matching_columns_a_second_normalization_gives(rows):
    """prepare_records takes what ingest normalized as it is (one pass): the same matching columns
    as normalizing those records again with the preset's `prepare`, whatever the typed values."""
    from screenfuse.contracts import load_contract
    from screenfuse.gazetteer import load_gazetteer
    from screenfuse.ingest import normalize_rows
    from screenfuse.resolve import MATCH_COLUMNS, RAW_COLUMNS, prepare_records
    from screenfuse.zh_person import prepare

    mapped = pd.DataFrame(rows).assign(unit="某社区", event_time="2020-02-10 09:00")
    stored = normalize_rows(mapped, load_contract("community"), load_gazetteer())
    stored.insert(0, "source_record_id", [f"r{i}" for i in range(len(stored))])
    once = prepare_records(stored, normalized_at_ingest=True)
    again = prepare(stored.rename(columns={"source_record_id": "record_id"}).reindex(columns=RAW_COLUMNS, fill_value=""))
    assert once.columns.tolist() == ["record_id", *MATCH_COLUMNS]
    assert all(isinstance(once[c].dtype, pd.CategoricalDtype) for c in MATCH_COLUMNS)  # the engine takes the codes
    pd.testing.assert_frame_equal(once.reset_index(drop=True).astype(object),
                                  again[once.columns].reset_index(drop=True).astype(object))


def test_records_arrow_cannot_read_as_text_are_coded_from_their_values():
    """prepare_records' ingest path codes the stage's text with Arrow; a frame that is not the
    stage's (values of mixed types, missing values, a lone surrogate) is coded from its values as
    text instead: the same categories, the same rows."""
    from screenfuse.resolve import MATCH_COLUMNS, NORMALIZED_AT_INGEST, plain_text, prepare_records

    frame = pd.DataFrame({c: pd.Series(["", None, ""], dtype=object) for c in NORMALIZED_AT_INGEST})
    frame.insert(0, "source_record_id", pd.Series(["r1", "r\ud8002", "r3"], dtype=object))
    frame["name"] = pd.Series(["张伟", None, "\ud800李"], dtype=object)
    frame["phone"] = pd.Series(["13812345678", 13812345678, None], dtype=object)
    frame["sex"] = pd.Series(["M", "M", "F"], dtype="str")
    prepared = prepare_records(frame, normalized_at_ingest=True)
    assert all(isinstance(prepared[c].dtype, pd.CategoricalDtype) for c in MATCH_COLUMNS)
    text = plain_text(prepared)
    assert text["record_id"].tolist() == ["r1", "r\ud8002", "r3"]
    assert text["name"].tolist() == ["张伟", "", "\ud800李"]
    assert text["phone"].tolist() == ["13812345678", "13812345678", ""]
    assert text["sex"].tolist() == ["M", "M", "F"]
