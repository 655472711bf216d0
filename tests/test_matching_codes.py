"""The engine's codes: categorical columns taken as they are, blocking keys sliced by Arrow, and a
rule's codes built once a run. Each must give exactly what hashing the plain strings gives."""
import numpy as np
import pandas as pd
from hypothesis import given, settings as hsettings, strategies as st

from conftest import make_id

from screenfuse.matching import dedupe, preset
from screenfuse.matching.blocking import rule_codes
from screenfuse.matching.columns import Columns
from screenfuse.matching.settings import KeyPart
from screenfuse.zh_person import prepare

VALUES = ["mary", "", "maxy", "ZHANG wei", "张伟", "😀x", "1"]


def same_columns(coded: Columns, plain: Columns, column: str) -> None:
    assert coded.values(column).tolist() == plain.values(column).tolist()
    assert coded.codes(column).tolist() == plain.codes(column).tolist()  # numbered alike: the same blocks in the same order
    assert coded.uniques(column).tolist() == plain.uniques(column).tolist()
    assert coded.value_counts(column).tolist() == plain.value_counts(column).tolist()


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*VALUES, None]), min_size=1, max_size=15),
       st.lists(st.sampled_from(["unused", "other", *VALUES]), max_size=4), st.randoms(use_true_random=False))
def test_a_categorical_column_gives_what_its_plain_strings_give(raw, unused, rng):
    """Categories in any order, some never used, '' among them or not, missing values: the codes
    are renumbered by first appearance and '' and missing are -1, as a factorize of the text gives."""
    categories = list(dict.fromkeys([v for v in raw if v is not None] + unused))
    rng.shuffle(categories)
    coded = Columns(pd.DataFrame({"v": pd.Categorical(raw, categories=categories)}))
    plain = Columns(pd.DataFrame({"v": pd.Series([v or "" for v in raw], dtype=object)}))
    same_columns(coded, plain, "v")
    assert (coded.codes("v") < 0).tolist() == [not v for v in raw]


def test_categories_that_read_as_the_same_text_are_one_value():
    coded = Columns(pd.DataFrame({"v": pd.Categorical([1, "1", "a", 1], categories=[1, "1", "a"])}))
    assert coded.codes("v").tolist() == [0, 0, 1, 0]
    assert coded.values("v").tolist() == ["1", "1", "a", "1"]


def test_a_categorical_with_no_value_at_all_is_all_missing():
    for column in (pd.Categorical([None, None]), pd.Series([np.nan] * 3).astype("category")):
        coded = Columns(pd.DataFrame({"v": column}))
        assert coded.codes("v").tolist() == [-1] * len(column)
        assert coded.values("v").tolist() == [""] * len(column)


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet="ab张伟😀0", max_size=5), min_size=1, max_size=20),
       st.sampled_from([(None, 1), (0, 2), (1, None), (-2, None), (None, -1), (2, 3), (-3, -1), (4, 2)]))
def test_a_sliced_key_holds_the_characters_python_slicing_gives(values, bounds):
    start, stop = bounds
    codes = rule_codes(Columns(pd.DataFrame({"v": pd.Series(values, dtype=object)})), (KeyPart("v", start, stop),), {})
    sliced = [v[start:stop] for v in values]
    assert ((codes < 0) == np.array([not s for s in sliced])).all()  # an empty slice is no key
    for i in range(len(values)):
        for j in range(len(values)):
            if sliced[i] and sliced[j]:
                assert (codes[i] == codes[j]) == (sliced[i] == sliced[j])


def test_a_slice_of_text_arrow_cannot_read_is_cut_as_python_cuts_it():
    values = np.array(["ab\udc80c", "ab\udc81c", "ab\udc80d", ""], dtype=object)  # lone surrogates
    codes = rule_codes(Columns(pd.DataFrame({"v": pd.Series(values, dtype=object)})), (KeyPart("v", None, 3),), {})
    assert codes.tolist() == [0, 1, 0, -1]


def test_a_rules_codes_are_built_once_a_run_and_cannot_be_changed_in_place():
    columns = Columns(pd.DataFrame({"a": ["x", "x", "y", ""], "b": ["1", "1", "1", "2"]}))
    rule = (KeyPart("a"), KeyPart("b", None, 1))
    first = rule_codes(columns, rule, {}, keep=True)
    assert rule_codes(columns, rule, {}, keep=True) is first
    assert first.tolist() == [0, 0, 1, -1] and not first.flags.writeable
    columns.let_go("rule")  # the engine lets them go once training has read them
    again = rule_codes(columns, rule, {}, keep=True)
    assert again is not first and again.tolist() == first.tolist()


def forms():
    """Records whose derived columns come from several raw columns at once: IDs valid, mistyped,
    of 15 digits and of other documents (declared or not), stored statuses, sexes and birth dates
    given beside the ID or without one, second phones in their own column or in the first."""
    valid, other = make_id("42010619800101123"), make_id("42010619850505234")
    old = valid[:6] + valid[8:17]  # the same ID in its old 15 digits
    ids = [valid, valid, other, old, valid[:-1] + "0", "G12345678", "", other, "无", "G12345678"]
    types = ["", "身份证", "护照", "", "passport", "", "护照"]  # the lists' lengths share no factor with 10:
    statuses = ["", "converted_15", ""]                        # a raw ID meets every value of each
    sexes = ["", "男", "F", "female", "2", "M", "女"]
    births = ["", "1980-01-02", "1979/3/4", "", "1990-05-06", "", "1991-07-08", "", "1980-01-02"]
    phones = ["13812345678", "138-1234-5678 / 13987654321", "", "+86 139 8765 4321", "027-87654321",
              "13800000000", "13712345678"]
    seconds = ["", "13987654321", "", "13612345678"]
    rows = [{"record_id": f"r{k:02d}", "name": ["张伟", "張偉", "李娜", "", "王芳"][k % 5], "id_number": ids[k % 10],
             "id_type": types[k % 7], "id_status": statuses[k % 3], "sex": sexes[k % 7], "birth_date": births[k % 9],
             "phone": phones[k % 7], "phone2": seconds[k % 4], "address": ["振华社区3-2-501", ""][k % 2]}
            for k in range(70)]
    return pd.DataFrame(rows)


def test_prepared_columns_are_those_each_record_gets_alone():
    """Columns computed once per distinct combination of raw values (ID, declared type, stored
    status, sex, birth date, phones) must be what each record gets when prepared on its own."""
    frame = forms()
    together = prepare(frame).astype(object)
    alone = pd.concat([prepare(frame.iloc[[k]]).astype(object) for k in range(len(frame))])
    pd.testing.assert_frame_equal(together, alone)
    assert together["document"].str.startswith("passport:").any() and (together["id_trusted"] != "").any()
    assert set(together["sex"]) >= {"M", "F"} and (together["phone2"] != "").any()


def test_every_matching_column_is_categorical_even_without_its_raw_column():
    prepared = prepare(pd.DataFrame({"record_id": ["a", "b"], "name": ["张伟", ""]}))
    matching = [c for c in prepared.columns if c != "record_id"]
    assert all(isinstance(prepared[c].dtype, pd.CategoricalDtype) for c in matching)
    assert prepared["address_home"].tolist() == ["", ""] and prepared["name"].tolist() == ["张伟", ""]


def test_prepare_hands_the_engine_its_codes_and_the_persons_are_those_of_plain_text():
    ids = ["420106198001011234", "420106198505052345", ""]
    raw = pd.DataFrame({"record_id": [f"r{k}" for k in range(9)],
                        "name": ["张伟", "張偉", "张伟", "李娜", "李娜", "王芳", "王芳", "", "赵六"],
                        "id_number": [ids[0], ids[0], "", ids[1], ids[1], "", "", "", ""],
                        "phone": ["13812345678", "138-1234-5678", "13812345678", "", "13900001111",
                                  "13700002222", "13700002222", "", "13600003333"],
                        "address": ["武汉市江汉区新华路1号", "", "武汉市江汉区新华路1号", "", "", "洪山区珞喻路2号",
                                    "洪山区珞喻路2号", "", ""]})
    prepared = prepare(raw)
    assert isinstance(prepared["name"].dtype, pd.CategoricalDtype)
    assert isinstance(prepared["address_area"].dtype, pd.CategoricalDtype)
    assert prepared["id_number"].cat.categories.dtype == object  # Python strings: not copied into pandas' own
    plain = prepared.astype(object)
    settings = preset("zh_person")
    coded_result, plain_result = dedupe(prepared, settings), dedupe(plain, settings)
    assert coded_result.clusters.equals(plain_result.clusters)
    assert coded_result.links.equals(plain_result.links)
