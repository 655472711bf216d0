"""Identity documents: resident IDs and the documents of people without one (passports, 港澳/台湾
permits, foreign permanent residence cards): detection, normalization and matching."""
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from conftest import make_id
from screenfuse import documents
from screenfuse.match_state import block_keys
from screenfuse.resolve import SETTINGS, prepare_records, resolve_identities

S = lambda *values: pd.Series(list(values), dtype=object)  # noqa: E731
PASSPORT = st.from_regex(r"[A-Z]{1,2}[0-9]{6,7}", fullmatch=True)
RESIDENT_FIRST17 = st.from_regex(r"[1-8][0-9]{5}(19[5-9][0-9]|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
                                 fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(PASSPORT, st.sampled_from(["{p}", "{l}", " {p} ", "{w}", "{a}-{b}", "{a} {b}"]))
def test_any_passport_like_number_round_trips(number, template):
    typed = template.format(p=number, l=number.lower(), w=number.translate({c: c + 0xFEE0 for c in range(33, 127)}),
                            a=number[:3], b=number[3:])
    out = documents.normalize_documents(S(typed, number))
    assert out["id_number"].tolist() == [number, number] and out["id_status"].tolist() == ["document"] * 2
    assert out["id_type"].iloc[0] == out["id_type"].iloc[1] != documents.RESIDENT
    again = documents.normalize_documents(out["id_number"], out["id_type"])  # normalizing again changes nothing
    assert again.equals(out)
    declared = documents.normalize_documents(S(typed), S("护照"))
    assert declared.loc[0, ["id_type", "id_number", "id_status"]].tolist() == ["passport", number, "document"]


@settings(max_examples=200, deadline=None)
@given(RESIDENT_FIRST17, st.sampled_from(["", "居民身份证", "身份证"]))
def test_a_valid_resident_id_is_always_a_resident_id(first17, kind):
    valid = make_id(first17)
    out = documents.normalize_documents(S(valid, valid.lower(), f"{valid[:6]} {valid[6:]}"), S(kind, kind, kind))
    assert out["id_type"].tolist() == [documents.RESIDENT] * 3
    assert out["id_status"].tolist() == ["valid"] * 3 and out["id_number"].tolist() == [valid] * 3


@settings(max_examples=200, deadline=None)
@given(RESIDENT_FIRST17, st.integers(0, 16), st.integers(1, 9))
def test_an_18_character_number_failing_its_check_is_a_mistyped_resident_id(first17, position, delta):
    valid = make_id(first17)
    wrong = valid[:position] + str((int(valid[position]) + delta) % 10) + valid[position + 1:]
    out = documents.normalize_documents(S(wrong))
    assert out.loc[0, ["id_type", "id_status", "id_number"]].tolist() == [documents.RESIDENT, "failed_check", wrong]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=25), st.one_of(st.none(), st.text(max_size=12)))
def test_detection_never_raises_and_always_gives_a_known_type_and_status(number, kind):
    out = documents.normalize_documents(S(number), None if kind is None else S(kind))
    assert list(out.columns) == documents.DOCUMENT_COLUMNS
    assert out.loc[0, "id_type"] in ("", *documents.DOCUMENT_TYPES)
    assert out.loc[0, "id_status"] in documents.ID_STATUSES


ID_IN_CELL = make_id("42010619800101123")


@pytest.mark.parametrize("cell", [
    f"身份证:{ID_IN_CELL}", f"身份证号{ID_IN_CELL}", f"身份证号码：{ID_IN_CELL}", f"ID No. {ID_IN_CELL}",
    f"'{ID_IN_CELL}", f'="{ID_IN_CELL}"', f"{ID_IN_CELL}（本人）", f"{ID_IN_CELL}/13812345678",
    f"13812345678, {ID_IN_CELL}", f"{ID_IN_CELL[:6]} {ID_IN_CELL[6:14]} {ID_IN_CELL[14:]}",
])
def test_an_id_with_a_label_a_wrapper_a_note_or_a_phone_beside_it_is_read(cell):
    """Each of these cost the row (id_number unusable) when it had no phone or address."""
    out = documents.normalize_documents(pd.Series([cell]))
    assert (out["id_number"].iat[0], out["id_status"].iat[0]) == (ID_IN_CELL, "valid")


@pytest.mark.parametrize("note", ["(父亲)", "（监护人）", "（户主）"])
def test_an_id_noted_as_someone_elses_is_not_this_persons(note):
    """A child's row with a parent's ID (noted so) would take the parent's birth date and sex and
    link the child to the parent by an exact ID: the cell stays unusable."""
    out = documents.normalize_documents(pd.Series([ID_IN_CELL + note]))
    assert (out["id_number"].iat[0], out["id_status"].iat[0]) == ("", "malformed")


def test_two_ids_in_one_cell_are_not_picked_from():
    out = documents.normalize_documents(pd.Series([f"{ID_IN_CELL}/{make_id('42010619900101123')}"]))
    assert out["id_status"].iat[0] == "malformed" and out["id_number"].iat[0] == ""


def test_each_document_form_without_a_type_column():
    pr2023 = make_id("91234519800101123")  # 2023 card: 18 characters from 9, the resident ID check
    out = documents.normalize_documents(S("H12345678", "M1234567801", "1234567(B)", "ABC123456789012", pr2023,
                                          pr2023[:-1] + ("0" if pr2023[-1] != "0" else "1"), "无", "！！", "123"))
    assert out["id_type"].tolist() == ["hk_macau_permit", "hk_macau_permit", "taiwan_permit", "foreign_pr_card",
                                       "foreign_pr_card", documents.RESIDENT, "", "", ""]
    assert out["id_status"].tolist() == ["document"] * 5 + ["failed_check", "missing", "malformed", "malformed"]
    assert (out["birth_date"].iloc[:5] == "").all()  # nothing is derived from another document


def test_bare_digits_without_a_type_are_no_document():
    """8 or 10 digits in an ID column without 证件类型: a 台胞证 of 2015, or a placeholder, a date,
    a phone fragment. A document links records near-certainly, so such a number is set aside (the
    row kept) unless the feed says 台胞证; two strangers both typed 12345678 must not be one person."""
    out = documents.normalize_documents(S("12345678", "20200301", "1234567890", "12345678"),
                                        S("", "", "", "台湾居民来往大陆通行证"))
    assert out["id_type"].tolist() == ["", "", "", "taiwan_permit"]
    # 1234567890 counts up: a filler, no number at all (missing), like 000000000000000000
    assert out["id_status"].tolist() == ["malformed", "malformed", "missing", "document"]
    assert out["id_number"].tolist() == ["", "", "", "12345678"]


def records(*rows):
    base = {"source_record_id": "", "name": "", "id_number": "", "id_type": "", "phone": "", "phone2": "",
            "birth_date": "", "sex": "", "address": ""}
    return pd.DataFrame([dict(base, **row) for row in rows])


def person_of(resolution) -> dict:
    return dict(zip(resolution.links["source_record_id"], resolution.links["person_id"]))


def test_the_same_passport_links_across_feeds_and_different_passports_do_not():
    frame = records(
        {"source_record_id": "checkpoint-1", "name": "约翰", "id_number": "E12345678", "phone": "13800000001"},
        {"source_record_id": "hospital-1", "name": "約翰", "id_number": "e1234 5678", "id_type": "护照"},
        {"source_record_id": "police-1", "name": "约翰", "id_number": "E87654321", "id_type": "passport",
         "phone": "13800000001"},
        {"source_record_id": "community-1", "name": "张伟", "id_number": "E12345678", "id_type": "台胞证"},
    )
    prepared = prepare_records(frame)
    assert prepared["id_number"].tolist() == ["", "", "", ""]  # never compared as resident IDs
    assert prepared["document"].tolist() == ["passport:E12345678", "passport:E12345678", "passport:E87654321",
                                             "taiwan_permit:E12345678"]
    person = person_of(resolve_identities(frame))
    assert person["checkpoint-1"] == person["hospital-1"]  # same passport, name in traditional characters
    assert person["police-1"] != person["checkpoint-1"]  # same name and phone, another passport: not linked
    assert person["community-1"] not in (person["checkpoint-1"], person["police-1"])


def test_documents_of_different_types_say_nothing_and_a_passport_never_meets_a_resident_id():
    valid = make_id("42010619800101123")
    frame = records(
        {"source_record_id": "a", "name": "王芳", "id_number": "12345678", "id_type": "台胞证", "phone": "13800000002"},
        {"source_record_id": "b", "name": "王芳", "id_number": "12345678", "id_type": "护照", "phone": "13800000002"},
        {"source_record_id": "c", "name": "李娜", "id_number": valid},
        {"source_record_id": "d", "name": "李娜", "id_number": valid, "id_type": "护照"},
    )
    result = resolve_identities(frame)
    explained = result.links.set_index("source_record_id")["explanation"].dropna()
    assert all('"document": {"level": "missing"' in e for e in explained)


def test_a_document_has_a_block_key_of_its_own():
    frame = prepare_records(records({"source_record_id": "a", "name": "约翰", "id_number": "E12345678"},
                                    {"source_record_id": "b", "name": "Joe", "id_number": "E12345678"}))
    (rule,) = [i for i, r in enumerate(SETTINGS.blocking) if [p.column for p in r] == ["document"]]
    keys = block_keys(frame, SETTINGS, only_rules=[rule])
    assert len(keys) == 2 and keys["block_key"].nunique() == 1


@pytest.mark.parametrize("number", ["123456789012345678", "987654321098765432", "012345678901234567",
                                    "1234567890", "42010612345678901X"])
def test_a_number_counting_up_or_down_is_a_placeholder(number):
    """A number typed to fill the cell (123456789012345678) links nobody: two records sharing it
    are two people who had no number to give."""
    out = documents.normalize_documents(pd.Series([number], dtype=object))
    assert (out["id_number"].iloc[0], out["id_status"].iloc[0]) == ("", "missing")


@settings(max_examples=200, deadline=None)
@given(RESIDENT_FIRST17)
def test_no_valid_resident_id_is_taken_for_a_counting_placeholder(first17):
    number = make_id(first17)
    out = documents.normalize_documents(pd.Series([number], dtype=object))
    assert out["id_number"].iloc[0] == number


def test_a_valid_id_that_counts_for_ten_digits_is_kept():
    """Born 1989-01-23 with sequence 456 and check digit 7, an ID counts 8901234567; so may an old
    15-digit one (region 110107, 890123, 456). They validate: no filler."""
    valid = make_id("11010819890123456")
    assert valid.endswith("7")  # the example's check digit: the run is ten long
    out = documents.normalize_documents(pd.Series([valid, "110107890123456"], dtype=object))
    assert out["id_status"].tolist() == ["valid", "converted_15"]
    assert out["id_number"].iloc[0] == valid


def _one_id_by_hand(number: str) -> list[str]:
    """What a plain 18-character resident ID gives, worked out one digit at a time (the oracle the
    bulk path is held to): status, birth date, sex, region."""
    import datetime
    import re

    number = number.upper()
    if re.search(r"(.)\1{7}", number):
        return ["", "", "missing", "", "", ""]  # a filler: no number given
    total = sum(int(d) * w for d, w in zip(number[:17], [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]))
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if "10X98765432"[total % 11] != number[17] or born is None or not 1900 <= born.year <= 2099:
        return [documents.RESIDENT, number, "failed_check", "", "", ""]
    return [documents.RESIDENT, number, "valid", born.isoformat(), "M" if int(number[16]) % 2 else "F", number[:6]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.from_regex(r"[1-8][0-9]{5}(1[89]|20|21)[0-9]{2}[0-3][0-9][0-3][0-9][0-9]{3}[0-9Xx]", fullmatch=True)
                | RESIDENT_FIRST17.map(make_id) | RESIDENT_FIRST17.map(lambda first17: make_id(first17).lower())
                | st.from_regex(r"[0-9]{3}([0-9])\1{7}[0-9]{6}[0-9X]", fullmatch=True), min_size=1, max_size=40))
def test_plain_resident_ids_read_in_bulk_are_read_as_one_at_a_time(numbers):
    """Most of a feed's IDs are read in bulk (byte matrices: check character, birth date, sex,
    region, fillers); each row must be what the rules give for that one number."""
    out = documents.normalize_documents(pd.Series(numbers, dtype=object))
    assert [row for row in out.itertuples(index=False, name=None)] == [tuple(_one_id_by_hand(n)) for n in numbers]
