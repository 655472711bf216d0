import pytest

from screenfuse.contracts import ContractError, load_contract, load_contracts


def test_nine_feeds_ship_with_contracts():
    assert sorted(load_contracts()) == ["arrivals", "checkpoint", "city_list", "community", "feedback", "hospital",
                                        "isolation_monitoring", "isolation_point", "mass_screening",
                                        "mass_screening_result", "pharmacy", "police", "review", "self_report"]
    assert load_contracts()["feedback"].kind == "answers"
    assert load_contracts()["mass_screening_result"].kind == "results"
    assert load_contracts()["isolation_point"].kind == "reference"
    from screenfuse.contracts import person_feeds, reference_feeds, result_feeds

    # feedback answers items, lab results name tubes, the points list names places: none enters matching
    assert person_feeds() == ["arrivals", "checkpoint", "city_list", "community", "hospital", "isolation_monitoring",
                              "mass_screening", "pharmacy", "police", "self_report"]
    assert result_feeds() == ["mass_screening_result"]
    assert reference_feeds() == ["isolation_point"]


def test_header_aliases_chinese_english_and_marks():
    contract = load_contract("checkpoint")
    mapping = contract.header_map(["卡点名称", "检测时间*", " 姓名 ", "证件号码", "PHONE", "备注"])
    assert mapping == {"卡点名称": "unit", "检测时间*": "event_time", " 姓名 ": "name",
                       "证件号码": "id_number", "PHONE": "phone"}


def test_a_header_with_a_note_in_brackets_is_its_fields():
    """身份证号码（18位） used to be left unmapped: every row accepted without its ID."""
    mapping = load_contract("hospital").header_map(["患者姓名", "身份证号码（18位）", "联系电话(手机)", "备注(如有)"])
    assert mapping == {"患者姓名": "name", "身份证号码（18位）": "id_number", "联系电话(手机)": "phone"}


def test_an_exact_header_wins_over_a_noted_one_and_a_note_naming_someone_else_maps_nothing():
    mapping = load_contract("hospital").header_map(["姓名", "联系电话(家属)", "联系电话", "身份证号（监护人）", "身份证号"])
    assert mapping == {"姓名": "name", "联系电话": "phone", "身份证号": "id_number"}
    assert load_contract("hospital").header_map(["姓名", "联系电话(家属)"]) == {"姓名": "name"}


def test_first_matching_header_wins():
    mapping = load_contract("hospital").header_map(["患者姓名", "姓名"])
    assert mapping == {"患者姓名": "name"}


_EXTRA = "feed: extra\npatterns: ['*.csv']\nfields:\n  name: {type: name}\n  unit: {type: text}\n  event_time: {type: datetime}\n"


@pytest.mark.parametrize("body, words", [
    ("feed: extra\npatterns: ['*.csv']\n", "fields is missing; add it (see docs/feeds.md)"),
    ("feed: extra\npatterns: ['*.csv']\nfields:\n  name: {type: nme}\n", "fields.name.type"),
    ("feed: extra\npatterns: ['*.csv']\nfields:\n  name: {type: name, requird: true}\n", "requird"),
    ("feed: other\npatterns: ['*.csv']\nfields:\n  name: {type: name}\n  unit: {type: text}\n  event_time: {type: datetime}\n", "file name"),
    ("feed: extra\npatterns: ['*.csv']\nfields:\n  name: {type: name}\n", "fields.event_time is missing"),
    ("feed: [unclosed\n", "not valid YAML"),
    ("feed: extra\n\tpatterns: ['*.csv']\n", "not valid YAML at line 2, column 1 (found character '\\t' that cannot start any token)"),
    ("feed: extra\nkind: results\npatterns: ['*.csv']\nfields:\n  unit: {type: text}\n  event_time: {type: datetime}\n"
     "  result: {type: text}\n  sample_id: {type: code}\n", "fields.pool_id is missing; every feed of kind results"),
    ("feed: extra\npatterns: ['*.csv']\nfields:\n  name: {type: name}\n  unit: {type: text}\n  event_time: {type: datetime}\n"
     "  raw_json: {type: text}\n", "fields.raw_json is a name the ingest sets itself"),
    # the same checks as the policy file: a key given twice, a lone value for a list, yes/no, near misses
    (_EXTRA + "  name: {type: text}\n", "fields.name is given twice (lines 4 and 7); keep one"),
    (_EXTRA.replace("['*.csv']", "'*.csv'"), "patterns is '*.csv' (text); expected a non-empty list; write it as a list"),
    (_EXTRA.replace("{type: name}", "{type: name, required: 'yes'}"), "fields.name.required is 'yes' (text); expected true or false"),
    (_EXTRA.replace("{type: name}", "{type: nam}"), "fields.name.type is 'nam' (text), not a known field type (did you mean 'name'?)"),
    (_EXTRA + "kind: answer\n", "kind is 'answer' (text), not a known kind (did you mean 'answers'?)"),
    (_EXTRA + "address_from: [adress]\n", "address_from[0] is 'adress' (text), not a known field"),
    (_EXTRA + "titel: extra\n", "titel is not a known key (did you mean 'title'?); allowed here: feed, patterns, fields"),
    ("", "the file is empty; expected a mapping with keys feed, patterns, fields"),
])
def test_bad_contracts_name_the_key(tmp_path, body, words):
    (tmp_path / "extra.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(ContractError, match=None) as caught:
        load_contracts(tmp_path)
    assert words in str(caught.value)
    assert "extra.yaml" in str(caught.value)


def test_every_hospital_category_the_default_policy_uses_is_accepted():
    """A category a policy rule reads but the contract rejects would be quarantined before the
    rule sees it (出院 and 死亡 were: discharged and deceased could never be reached)."""
    from screenfuse.contracts import person_feeds
    from screenfuse.policy import default_policy

    allowed = set(load_contract("hospital").fields["category"].allowed)
    used = {c for rule in default_policy(person_feeds()).rules for c in rule.when.get("category_in", ())}
    assert used and used <= allowed, sorted(used - allowed)
