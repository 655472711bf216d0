"""The matching engine: comparator levels, EM, constraints, review queue, incremental runs."""
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from conftest import make_id
from screenfuse.matching import SettingsError, dedupe, load_settings_file, preset
from screenfuse.matching.comparators import METHODS
from screenfuse.matching.columns import PairValues
from screenfuse.matching.settings import parse_settings
from screenfuse.zh_person import prepare

ID_A = make_id("42010619800101123")
ID_B = make_id("42010619850505234")


def levels(method, left, right, thresholds=None, **columns):
    """Level names the comparator gives each (left, right) pair."""
    frame = pd.DataFrame({"v": left + right, **{k: v[0] + v[1] for k, v in columns.items()}})
    n = len(left)
    get = PairValues(frame, np.arange(n), np.arange(n, 2 * n))
    spec = METHODS[method]
    t = thresholds or spec.default_thresholds
    names = ["missing", *spec.level_names(t)]
    return [names[x] for x in spec.compare(get, "v", t, {"pinyin_column": "py", "trusted_column": "ok", "second_column": "v2"})]


def test_zh_name_levels():
    names = prepare(pd.DataFrame({"name": ["张伟", "章伟", "张伟国", "李娜", ""]}))
    frame_left = ["张伟"] * 5
    py_left = [names["name_pinyin"][0]] * 5
    out = levels("zh_name", frame_left, list(names["name"]), py=(py_left, list(names["name_pinyin"])))
    assert out == ["exact", "same_pinyin", "similar", "different", "missing"]


def test_resident_id_levels():
    swapped = ID_A[:10] + ID_A[11] + ID_A[10] + ID_A[12:]
    typo = ID_A[:5] + str((int(ID_A[5]) + 1) % 10) + ID_A[6:]
    right = [ID_A, swapped, typo, ID_B, "", "110105194912310029"]
    ok_right = [ID_A, "", "", ID_B, "", ""]
    out = levels("resident_id", [ID_A] * 6, right, ok=([ID_A] * 6, ok_right))
    assert out == ["exact", "one_edit", "one_edit", "both_valid_different", "missing", "different"]


def test_date_levels():
    out = levels("date", ["1980-03-05"] * 5, ["1980-03-05", "1980-03-06", "1980-05-03", "1980-11-20", "1975-03-05"])
    assert out == ["exact", "one_digit", "day_month_swapped", "same_year", "different"]


DATE_CHARS = "0123456789-/年月日xX𠀀𠀁"


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(DATE_CHARS, max_size=11), st.text(DATE_CHARS, max_size=11)), min_size=1, max_size=30))
def test_date_levels_are_those_of_a_character_by_character_reading(pairs):
    """The date comparator packs each date into two words; it gives the levels a character-by-
    character reading of YYYYMMDD gives (separators dropped), for any text, characters beyond
    16 bits included."""
    def reading(a: str, b: str) -> str:
        if not a or not b:
            return "missing"
        if a == b:
            return "exact"
        x, y = (v[:10].replace("-", "")[:8].ljust(8, "\0") for v in (a, b))
        if sum(p != q for p, q in zip(x, y)) == 1:
            return "one_digit"
        if x[:4] == y[:4] and x[4:6] == y[6:8] and x[6:8] == y[4:6]:
            return "day_month_swapped"
        return "same_year" if x[:4] == y[:4] else "different"

    left, right = [a for a, _ in pairs], [b for _, b in pairs]
    assert levels("date", left, right) == [reading(a, b) for a, b in pairs]


@hsettings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["", "ann", "anne", "bob", "王芳", "x"]), min_size=2, max_size=25),
       st.lists(st.tuples(st.integers(0, 24), st.integers(0, 24)), min_size=1, max_size=60))
def test_distinct_value_pairs_name_every_pair_once(values, pairs):
    """A scorer runs once per distinct pair of values (PairValues.distinct_at): each pair of
    records points at its own values, and no pair of values is listed twice."""
    pairs = [(a % len(values), b % len(values)) for a, b in pairs]
    left, right = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    get = PairValues(pd.DataFrame({"v": values}), left, right)
    rows = np.arange(0, len(pairs), 2)
    a, b, which = get.distinct_at("v", rows)
    assert [(a[w], b[w]) for w in which] == [(values[left[r]], values[right[r]]) for r in rows]
    assert len(set(zip(a.tolist(), b.tolist()))) == len(a)


def test_mobile_levels_with_second_number():
    out = levels("mobile", ["13812345678"] * 4, ["13812345678", "13812345679", "13900000000", "13700000000"],
                 v2=([""] * 4, ["", "", "", "13812345678"]))
    assert out == ["exact", "one_edit", "different", "exact"]


def test_two_neighbouring_digits_swapped_is_one_typing_error_in_a_phone():
    out = levels("mobile", ["13812345678"] * 3, ["13812346578", "13812345687", "13812346587"], v2=([""] * 3, [""] * 3))
    assert out == ["one_edit", "one_edit", "different"]


def test_address_levels():
    pairs = [
        ("振华社区3栋2单元501室", "湖北省武汉市武昌区振华社区3栋2单元501室"),  # exact once normalized
        ("中山路12号振华社区3号楼501", "振华社区3-2-501"),  # same home, written two ways
        ("振华社区3栋2单元", "振华社区3栋2单元502室"),  # similar tokens, no room on one side
        ("振华社区3栋501室", "振华社区8栋1204室"),  # same community, another home
        ("振华社区3栋501室", "新村花园社区8栋1204室"),  # another community
        ("紫阳大街289号", "振华社区3栋2单元501室"),  # a road and number cannot disagree with a home
        ("", "振华社区3栋501室"),
    ]
    left, right = (prepare(pd.DataFrame({"address": list(side)})) for side in zip(*pairs))
    columns = {f"v_{part}": (list(left[f"address_{part}"]), list(right[f"address_{part}"])) for part in ("home", "area")}
    out = levels("address", list(left["address"]), list(right["address"]), **columns)
    assert out == ["exact", "same_home", "similar>=0.9", "same_area", "different", "missing", "missing"]


def test_string_similarity_levels():
    close = "jaro_winkler>=0.92 or one typo"
    assert levels("jaro_winkler", ["martha"] * 3, ["martha", "marhta", "xyz"]) == ["exact", close, "different"]
    # one typing error reaches the close level whatever the score (a letter changed in a short
    # name: mary, maxy at 0.87); not below four letters (jon, jo stays at 0.8), nor two errors
    assert levels("jaro_winkler", ["mary", "mark", "jon", "kate", "kate"], ["maxy", "park", "jo", "kyle", ""]) == \
        [close, close, "jaro_winkler>=0.8", "different", "missing"]
    assert levels("jaro_winkler", ["mary", "mary"], ["maxy", "mary"], thresholds=(0.95,)) == \
        ["jaro_winkler>=0.95 or one typo", "exact"]
    assert levels("edit_distance", ["12345"] * 4, ["12345", "12354", "13254", "99999"]) == ["exact", "osa<=1", "osa<=2", "different"]
    assert levels("numeric", ["10", "10", "10"], ["10.0", "10.5", "x"], thresholds=(1.0,)) == ["exact", "within_1", "missing"]


def test_em_recovers_known_m_on_a_small_case():
    rng = np.random.default_rng(0)
    entities = 3000
    rows = []
    for e in range(entities):
        a, b = f"a{rng.integers(1e9)}", f"b{rng.integers(1e9)}"
        for copy in range(2):
            rows.append({"id": f"{e}-{copy}", "block": str(e // 5),
                         "a": a if copy == 0 or rng.random() < 0.9 else f"x{rng.integers(1e9)}",
                         "b": b if copy == 0 or rng.random() < 0.7 else f"y{rng.integers(1e9)}"})
    frame = pd.DataFrame(rows)
    settings = parse_settings({"unique_id": "id", "blocking": [["block"]],
                               "comparisons": [{"column": "a", "method": "exact"}, {"column": "b", "method": "exact"}]})
    result = dedupe(frame, settings)
    m = {c.column: c.m[0] for c in result.model.comparisons}
    assert m["a"] == pytest.approx(0.9, abs=0.03) and m["b"] == pytest.approx(0.7, abs=0.03)


def zh(*rows):
    return prepare(pd.DataFrame(rows).fillna(""))


def test_household_shares_context_not_identity():
    frame = zh(
        {"record_id": "mother", "name": "李秀英", "phone": "13900000001", "address": "振华社区3栋2单元501室"},
        {"record_id": "son", "name": "李明", "phone": "13900000001", "address": "振华社区3-2-501"},
        {"record_id": "son2", "name": "李明", "phone": "+86 139-0000-0001", "address": "振华社区3栋501室"},
    )
    result = dedupe(frame, preset("zh_person"))
    person = dict(zip(result.clusters["record_id"], result.clusters["person_id"]))
    assert person["son"] == person["son2"] and person["son"] != person["mother"]


def test_a_typo_in_one_identity_field_does_not_make_a_person_a_household():
    """Same name, sex and phone, birth dates one digit apart (a typo: the date agrees only in part,
    below the 2 bits a clear agreement needs): one person, so the shared phone and home count.
    Without the name (同上), sex (1 bit) cannot vouch for the half-agreeing date: the phone and
    home say which household, not which member."""
    home = {"phone": "16917107156", "address": "振华社区3栋2单元501室"}
    frame = zh({"record_id": "a", "name": "王立强", "birth_date": "2004-10-15", "sex": "M", **home},
               {"record_id": "b", "name": "王立强", "birth_date": "2004-10-16", "sex": "M", **home},
               {"record_id": "e", "name": "同上", "birth_date": "2004-10-14", "sex": "M", **home})
    result = dedupe(frame, preset("zh_person"))
    person = dict(zip(result.clusters["record_id"], result.clusters["person_id"]))
    level = json.loads(result.links.iloc[0]["explanation"])["birth_date"]
    assert level["level"] == "one_digit" and 0 < level["bits"] < 2
    assert person["a"] == person["b"] and person["e"] != person["a"]


def test_links_explain_themselves():
    # (a phone on one side: two records equal in every compared column are exact twins, joined
    # before any pair is scored; see the twins test)
    frame = zh({"record_id": "r1", "name": "张伟", "id_number": ID_A},
               {"record_id": "r2", "name": "張偉", "id_number": ID_A, "phone": "13812345678"})
    link = dedupe(frame, preset("zh_person")).links.iloc[0]
    parts = json.loads(link["explanation"])
    assert parts["name"]["level"] == "exact" and parts["id_number"]["level"] == "exact"
    total = parts["prior"] + sum(v["bits"] for k, v in parts.items() if k != "prior")
    assert total == pytest.approx(link["match_weight"], abs=0.01)


def test_pairs_scored_a_few_at_a_time_give_the_same_links_and_explanations(monkeypatch):
    """The engine scores SCORE_ROWS pairs at a time and weighs again only the pairs it explains:
    chunks of 3 give the same persons, weights and explanations as one chunk."""
    from screenfuse.matching import engine

    rows = [{"record_id": f"r{k}", "name": name, "id_number": ID_A if k % 3 == 0 else "",
             "phone": "13812345678" if k % 2 else "", "address": f"振华社区{k % 4}栋"}
            for k, name in enumerate(["张伟", "張偉", "张玮", "章伟", "张伟", "王芳", "王芳", "汪芳", "张伟", "王方"])]
    settings = preset("zh_person").with_overrides(review_threshold=0.01)
    whole = dedupe(zh(*rows), settings)
    monkeypatch.setattr(engine, "SCORE_ROWS", 3)
    chunked = dedupe(zh(*rows), settings)
    assert whole.candidate_pairs > 3 and len(whole.links) and len(whole.review)  # more than one chunk
    pd.testing.assert_frame_equal(whole.clusters, chunked.clusters)
    pd.testing.assert_frame_equal(whole.links, chunked.links)
    pd.testing.assert_frame_equal(whole.review, chunked.review)


def test_grey_zone_goes_to_review_not_linked():
    # same name, no other evidence but the same community: not enough to link, worth a look
    frame = zh({"record_id": "a", "name": "欧阳娜娜", "address": "振华社区3栋"},
               {"record_id": "b", "name": "欧阳娜娜", "address": "振华社区5栋"})
    result = dedupe(frame, preset("zh_person").with_overrides(match_threshold=0.999, review_threshold=0.01))
    assert result.clusters["person_id"].nunique() == 2
    assert len(result.review) == 1 and json.loads(result.review.iloc[0]["explanation"])["name"]["level"] == "exact"


def test_cannot_link_is_remembered():
    frame = zh({"record_id": "a", "name": "张伟", "id_number": ID_A}, {"record_id": "b", "name": "张伟", "id_number": ID_A})
    together = dedupe(frame, preset("zh_person"))
    assert together.clusters["person_id"].nunique() == 1
    apart = dedupe(frame, preset("zh_person"), previous=together.clusters,
                   cannot_link=pd.DataFrame({"left_id": ["a"], "right_id": ["b"]}))
    assert apart.clusters["person_id"].nunique() == 2
    assert set(apart.changes["event"]) == {"split"}


def test_must_link_joins_a_review_pair_and_a_cannot_link_still_wins():
    frame = zh({"record_id": "a", "name": "欧阳娜娜", "address": "振华社区3栋"},
               {"record_id": "b", "name": "欧阳娜娜", "address": "振华社区5栋"},
               {"record_id": "c", "name": "李娜", "address": "振华社区5栋"})
    settings = preset("zh_person").with_overrides(match_threshold=0.999, review_threshold=0.01)
    assert dedupe(frame, settings).clusters["person_id"].nunique() == 3
    same = pd.DataFrame({"left_id": ["a"], "right_id": ["b"]})
    joined = dedupe(frame, settings, must_link=same)
    person = joined.clusters.set_index("record_id")["person_id"]
    assert person["a"] == person["b"] != person["c"] and len(joined.review) == 0
    # a decided "same" that contradicts a "not the same" is refused: a false link is the worse error
    kept_apart = dedupe(frame, settings, must_link=same, cannot_link=same)
    assert kept_apart.clusters["person_id"].nunique() == 3


def test_no_pair_is_queued_for_review_whose_persons_a_constraint_keeps_apart():
    """A reviewer asked about a pair whose persons a 非本人 pair or two different valid ID numbers
    keep apart could only see a `same` refused: such pairs are not queued, the others still are."""
    settings = preset("zh_person").with_overrides(match_threshold=0.999, review_threshold=0.01)
    frame = zh({"record_id": "a1", "name": "欧阳娜娜", "address": "振华社区3栋"},
               {"record_id": "a2", "name": "欧阳娜娜", "address": "振华社区3栋2单元"},
               {"record_id": "b1", "name": "欧阳娜娜", "address": "振华社区5栋"},
               {"record_id": "c1", "name": "欧阳娜娜", "address": "振华社区7栋"})
    pairs = lambda result: {tuple(sorted(p)) for p in zip(result.review["left_id"], result.review["right_id"])}  # noqa: E731
    together = pd.DataFrame({"left_id": ["a1"], "right_id": ["a2"]})
    free = dedupe(frame, settings, must_link=together)
    assert {("a1", "b1"), ("a2", "b1"), ("b1", "c1")} <= pairs(free)
    apart = dedupe(frame, settings, must_link=together, cannot_link=pd.DataFrame({"left_id": ["a1"], "right_id": ["b1"]}))
    assert not {("a1", "b1"), ("a2", "b1")} & pairs(apart)  # a1 and a2 are one person, kept apart from b1
    assert {("a1", "c1"), ("b1", "c1")} <= pairs(apart)

    with_ids = zh({"record_id": "a1", "name": "欧阳娜娜", "id_number": ID_A, "address": "振华社区3栋"},
                  {"record_id": "a2", "name": "欧阳娜娜", "address": "振华社区3栋2单元"},
                  {"record_id": "b1", "name": "欧阳娜娜", "id_number": ID_B, "address": "振华社区5栋"})
    result = dedupe(with_ids, settings, must_link=together)
    person = result.clusters.set_index("record_id")["person_id"]
    assert person["a1"] == person["a2"] != person["b1"]
    assert ("a2", "b1") not in pairs(result)  # a2 has no ID, but its person holds another one than b1's


def test_must_link_reaches_a_record_outside_the_new_records_neighbourhood():
    # incremental: the decided pair's records are old and share no key with the new record; the
    # decision still joins them, and each earlier person keeps its records
    frame = zh({"record_id": "a", "name": "欧阳娜娜", "address": "振华社区3栋"},
               {"record_id": "b", "name": "欧阳娜娜", "address": "振华社区5栋"},
               {"record_id": "n", "name": "王强", "address": "积玉桥社区1栋"})
    settings = preset("zh_person").with_overrides(match_threshold=0.999, review_threshold=0.01)
    earlier = dedupe(frame[frame["record_id"] != "n"], settings)
    later = dedupe(frame, settings, previous=earlier.clusters, model=earlier.model, new_ids=np.array(["n"]),
                   must_link=pd.DataFrame({"left_id": ["b"], "right_id": ["a"]}))
    person = later.clusters.set_index("record_id")["person_id"]
    assert person["a"] == person["b"] != person["n"]
    assert set(later.changes["event"]) == {"merge"}
    assert person["a"] in set(earlier.clusters["person_id"])  # an earlier id is kept


def test_incremental_equals_batch_with_the_same_model():
    rng = np.random.default_rng(3)
    people = [{"name": f"张{c}{d}", "id": make_id(f"4201061980{m:02d}{d:02d}{c:03d}"[:17]), "phone": f"138{rng.integers(1e8):08d}"}
              for c, (m, d) in enumerate(zip(rng.integers(1, 13, 300), rng.integers(1, 28, 300)))]
    rows = []
    for k, p in enumerate(people):
        for copy in range(1 + k % 3):
            rows.append({"record_id": f"r{k:03d}-{copy}", "name": p["name"],
                         "id_number": p["id"] if copy != 1 else "", "phone": p["phone"] if copy != 2 else ""})
    frame = zh(*rows)
    settings = preset("zh_person")
    batch = dedupe(frame, settings)
    first = frame[frame["record_id"] < "r150"]
    earlier = dedupe(first, settings, model=batch.model)
    later = dedupe(frame, settings, previous=earlier.clusters, model=batch.model,
                   new_ids=frame.loc[frame["record_id"] >= "r150", "record_id"].to_numpy())
    as_sets = lambda c: sorted(sorted(s) for _, s in c.groupby("person_id")["record_id"])  # noqa: E731
    assert as_sets(later.clusters) == as_sets(batch.clusters)
    kept = later.clusters.merge(earlier.clusters, on="record_id")
    assert (kept["person_id_x"] == kept["person_id_y"]).all()  # earlier persons keep their ids


@pytest.mark.parametrize("doc, words", [
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a", "method": "soundex"}]}, "method is 'soundex'"),
    ({"unique_id": "id", "blocking": [], "comparisons": [{"column": "a", "method": "exact"}]}, "blocking is an empty list; expected a non-empty list of rules"),
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a", "method": "exact"}],
      "thresholds": {"match": 0.4, "review": 0.6}}, "0 < review <= match < 1"),
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a", "method": "exact"}], "seed": "x"},
     "seed is 'x' (text); expected a whole number ≥ 0"),
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a", "method": "exact", "rol": "context"}]},
     "comparisons[0].rol is not a known key (did you mean 'role'?)"),
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a", "method": "exact", "role": "contxt"}]},
     "comparisons[0].role is 'contxt' (text), not a known role (did you mean 'context'?)"),
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a"}]},
     "comparisons[0].method is missing; add it (see docs/matching.md)"),
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a", "method": "exact", "m": [0.9, 1.5]}]},
     "comparisons[0].m[1] is 1.5 (a number); expected a probability from 0 to 1"),
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a", "method": "exact"}], "prior": 1},
     "prior is a probability strictly between 0 and 1"),
    ({"unique_id": "id", "blocking": [["a"], []], "comparisons": [{"column": "a", "method": "exact"}]},
     "blocking[1] is an empty list; list at least one column"),
    ({"unique_id": "id", "blocking": [["a[x:]"]], "comparisons": [{"column": "a", "method": "exact"}]}, "blocking[0]"),
    ({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "a", "method": "exact", "m": [0.5]}]}, ".m needs 2"),
])
def test_bad_settings_name_the_key(doc, words):
    with pytest.raises(SettingsError) as caught:
        parse_settings(doc)
    assert words in str(caught.value)


def test_a_settings_file_with_a_key_given_twice_is_refused(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("unique_id: id\nblocking: [[a]]\ncomparisons: [{column: a, method: exact}]\nseed: 1\nseed: 2\n",
                    encoding="utf-8")
    with pytest.raises(SettingsError, match=r"settings.yaml: seed is given twice \(lines 4 and 5\); keep one"):
        load_settings_file(path)
    path.write_text("blocking: [[a], [id_number[:9]]]\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid YAML at line 1.*quote slices"):
        load_settings_file(path)


def test_input_without_a_configured_column():
    settings = parse_settings({"unique_id": "id", "blocking": [["a"]], "comparisons": [{"column": "b", "method": "exact"}]})
    with pytest.raises(SettingsError, match="no column"):
        dedupe(pd.DataFrame({"id": ["1", "2"], "a": ["x", "x"]}), settings)


def test_prepare_in_worker_processes_gives_what_one_process_gives(tmp_path):
    """Large inputs are normalized by worker processes (forked: only distinct values travel);
    the result is the same frame, row for row."""
    from datetime import date

    from screenfuse.synthetic_flat import generate_flat

    generate_flat(300, 3, date(2020, 2, 10), tmp_path / "flat.csv", tmp_path / "truth.csv")
    frame = pd.read_csv(tmp_path / "flat.csv", dtype=str, keep_default_na=False)
    serial = prepare(frame, workers=1)
    parallel = prepare(frame, workers=2, parallel_from_rows=1)
    pd.testing.assert_frame_equal(serial, parallel)
    assert (serial["name_pinyin"] != "").mean() > 0.9  # a broken normalization would leave it empty


def test_a_script_without_a_main_guard_runs_once_when_prepare_uses_workers(tmp_path):
    """forkserver or spawn would import the caller's script again in every worker: a user's
    script without `if __name__ == "__main__"` would then run itself once per worker."""
    import subprocess
    import sys

    marker = tmp_path / "runs.txt"
    script = tmp_path / "user_script.py"
    script.write_text(
        "import pandas as pd\n"
        "from screenfuse.zh_person import prepare\n"
        f"open({str(marker)!r}, 'a').write('run\\n')\n"
        "prepare(pd.DataFrame({'record_id': ['a', 'b', 'c'], 'name': ['张伟', '李娜', '王芳']}),"
        " workers=2, parallel_from_rows=1)\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert marker.read_text().splitlines() == ["run"]


def test_a_thousand_exact_twins_are_one_person_without_a_thousand_squared_pairs():
    # one person screened 3,000 times (a commuter, a daily-tested worker): every record the same;
    # blocked as they are, every rule's block is over the budget and max_block_size and was left
    # out, so the person came out as 3,000 persons
    twins = [{"record_id": f"t{k:04d}", "name": "张伟", "id_number": ID_A, "phone": "13812345678"} for k in range(3000)]
    other = {"record_id": "u", "name": "张伟", "id_number": ID_A, "phone": "13900000000"}  # not a twin: a new phone
    result = dedupe(zh(*twins, other), preset("zh_person"))
    assert result.clusters["person_id"].nunique() == 1
    assert len(result.twins) == 2999 and set(result.twins["twin_of"]) == {"t0000"}
    assert result.candidate_pairs < 10  # the first twin and the other record, not 4.5 million pairs


@pytest.mark.parametrize("typed", ["420106560714351", "420106195607143519"])  # old 15 digits; failing its check
def test_a_person_screened_hundreds_of_times_with_an_untrusted_id_is_one_person(typed):
    # an old 15-digit ID or one failing its check is no distinct key, yet records equal on every
    # compared column and on the number as typed are one person: blocked as they are, 400 of them
    # filled every rule past the budget and came out as 400 persons
    twins = [{"record_id": f"t{k:03d}", "name": "孙建华", "id_number": typed, "phone": "13761920437"} for k in range(400)]
    others = [{"record_id": f"o{k:04d}", "name": f"王{chr(0x4E00 + k)}", "phone": f"139{k:08d}"} for k in range(2500)]
    result = dedupe(zh(*twins, *others), preset("zh_person"))
    person = result.clusters.set_index("record_id")["person_id"]
    assert person[[f"t{k:03d}" for k in range(400)]].nunique() == 1
    assert len(result.twins) == 399


def test_twins_need_an_identifier_and_a_reviewers_no_keeps_them_apart():
    same_name = [{"record_id": f"n{k}", "name": "张伟"} for k in range(3)]  # a common name, nothing else
    assert len(dedupe(zh(*same_name), preset("zh_person")).twins) == 0
    pair = zh({"record_id": "a", "name": "张伟", "id_number": ID_A}, {"record_id": "b", "name": "张伟", "id_number": ID_A})
    apart = dedupe(pair, preset("zh_person"), cannot_link=pd.DataFrame({"left_id": ["a"], "right_id": ["b"]}))
    assert len(apart.twins) == 0 and apart.clusters["person_id"].nunique() == 2


def test_a_record_bridging_a_person_of_many_twins_and_another_id_never_joins_the_two():
    # 5,000 twins of A and a relative B (another ID, same name and phone) bridged by a record
    # with no ID: the component breaks the distinct-ID rule and is rebuilt edge by edge; A's
    # twins stay one person, B stays apart (the rebuild merges the smaller group into the larger)
    twins = [{"record_id": f"a{k:04d}", "name": "张伟", "id_number": ID_A, "phone": "13812345678",
              "address": "积玉桥一路1号"} for k in range(5000)]
    relative = {"record_id": "b", "name": "张伟", "id_number": ID_B, "phone": "13812345678", "address": "积玉桥一路1号"}
    bridge = {"record_id": "x", "name": "张伟", "phone": "13812345678", "address": "积玉桥一路1号"}
    clusters = dedupe(zh(*twins, relative, bridge), preset("zh_person")).clusters.set_index("record_id")["person_id"]
    assert clusters[[f"a{k:04d}" for k in range(5000)]].nunique() == 1
    assert clusters["b"] != clusters["a0000"]


@hsettings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["mary", None, "", "maxy", "ZHANG wei", "张伟"]), min_size=1, max_size=12))
def test_columns_of_pandas_strings_give_what_plain_strings_give(raw):
    """Columns factorizes pandas' own (Arrow) strings as they are and points each record at its
    distinct value, and keeps those codes: the values must be those of the same column as Python
    strings, and the codes the same blocks numbered in the same order (missing and '' as -1)."""
    from screenfuse.matching.columns import Columns

    arrow = Columns(pd.DataFrame({"v": pd.Series(raw, dtype="str")}))
    plain = Columns(pd.DataFrame({"v": pd.Series(raw, dtype=object)}))
    assert arrow.frame["v"].dtype != object
    assert arrow.values("v").tolist() == plain.values("v").tolist() == [v or "" for v in raw]
    codes, codes_plain = arrow.codes("v"), plain.codes("v")
    assert ((codes < 0) == np.array([not v for v in raw])).all() and ((codes < 0) == (codes_plain < 0)).all()
    assert pd.factorize(codes)[0].tolist() == pd.factorize(codes_plain)[0].tolist()
    assert all(np.diff(codes[codes >= 0][np.argsort(codes_plain[codes_plain >= 0], kind="stable")]) >= 0)
    assert arrow.uniques("v")[codes[codes >= 0]].tolist() == [v for v in raw if v]
    assert arrow.value_counts("v")[codes[codes >= 0]].tolist() == [raw.count(v) for v in raw if v]
    values = arrow.values("v")
    for i, j in [(i, j) for i in range(len(raw)) for j in range(len(raw)) if raw[i] and raw[i] == raw[j]]:
        assert values[i] is values[j]  # one str per distinct value


@hsettings(max_examples=80, deadline=None)
@given(st.integers(1, 4).flatmap(lambda width: st.lists(st.lists(st.integers(-1, 3), min_size=width, max_size=width),
                                                        min_size=1, max_size=60)))
def test_row_groups_put_rows_together_exactly_when_every_code_is_equal(rows):
    from screenfuse.matching.twins import row_groups

    stacked = np.array(rows, dtype=np.int64)
    group = row_groups([stacked[:, j] for j in range(stacked.shape[1])])
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    same_rows = inverse.ravel()[:, None] == inverse.ravel()[None, :]
    assert (same_rows == (group[:, None] == group[None, :])).all()


@hsettings(max_examples=80, deadline=None)
@given(st.integers(1, 9).flatmap(lambda width: st.lists(st.lists(st.integers(0, 4), min_size=width, max_size=width),
                                                        min_size=1, max_size=60)))
def test_level_patterns_are_the_distinct_rows_in_order_with_their_counts(rows):
    """EM's input: counted in a table (few comparisons) or sorted (many), the same distinct rows
    in the same order, each with how often it occurs."""
    import screenfuse.matching.model as model

    levels = np.asarray(rows, dtype=np.int8)
    expected = sorted({tuple(r): rows.count(r) for r in rows}.items())
    for table in (model.PATTERN_TABLE, 0):
        model_table, model.PATTERN_TABLE = model.PATTERN_TABLE, table
        try:
            patterns, counts = model.level_patterns(levels)
        finally:
            model.PATTERN_TABLE = model_table
        assert [(tuple(p), c) for p, c in zip(patterns.tolist(), counts.tolist())] == expected
        assert patterns.dtype == np.int8


@given(st.lists(st.sampled_from(["a", "b", "中", "", "1"]), max_size=8), st.lists(st.sampled_from(["a", "中", "1", "x"]), max_size=5),
       st.sampled_from([list, set, lambda v: pd.Series(v, dtype="str"), lambda v: np.asarray(v, dtype=str)]))
def test_is_in_is_membership_whatever_holds_the_values(values, among, holder):
    from screenfuse.matching.columns import is_in

    arrow = pd.Series(values, dtype="str", index=range(100, 100 + len(values)))  # as a stage holds ids
    assert is_in(arrow, holder(among)).tolist() == [v in set(among) for v in values]
