"""Feedback answers on push items: pure functions, no Airflow."""
import pandas as pd

from screenfuse import feedback as fb
from screenfuse.contracts import load_contract


def answers(*rows):
    frame = pd.DataFrame(rows, columns=["push_item_id", "result", "event_time", "verifier"])
    return frame.assign(file_name="f.csv", row_number=range(1, len(frame) + 1), note="", unit="")


ITEMS = pd.DataFrame({
    "push_item_id": ["PIA", "PIB", "PIC", "PID", "PIE"],
    "person_id": ["P1", "P2", "P3", "P4", "P5"],
    "street": ["中华路街道"] * 5,
    "state": ["pushed", "escalated", "closed", "done", "pushed"],
    "source_records": ["r1", "r2", "r3", "r4", "r5a;r5b"],
    "answered_at": [None, None, None, "2020-02-10T10:00:00Z", None],
    "created_at": ["2020-02-10T13:00:00Z"] * 5,
    "due_at": ["2020-02-10T14:05:00Z"] * 5,
})


def test_contract_maps_the_chinese_headers():
    contract = load_contract("feedback")
    mapping = contract.header_map(["推送编号", "核查结果", "反馈时间", "核查人", "备注"])
    assert mapping == {"推送编号": "push_item_id", "核查结果": "result", "反馈时间": "event_time",
                       "核查人": "verifier", "备注": "note"}
    assert set(contract.required_fields) == {"push_item_id", "result", "event_time", "verifier"}


def test_normalize_answers_cleans_ids_and_times():
    mapped = pd.DataFrame({"push_item_id": [" pia "], "result": ["已核实"], "event_time": ["2020年2月10日 14:05"],
                           "verifier": ["核查员01"]})
    out = fb.normalize_answers(mapped)
    assert out.loc[0, "push_item_id"] == "PIA"
    assert out.loc[0, "event_time"].startswith("2020-02-10")


def test_unknown_closed_answered_and_repeated_answers_are_refused():
    frame = answers(("PIA", "已核实", "2020-02-10T14:00:00", "v1"), ("PIX", "已核实", "2020-02-10T14:00:00", "v1"),
                    ("PIC", "已核实", "2020-02-10T14:00:00", "v1"), ("PID", "已隔离", "2020-02-10T14:00:00", "v1"),
                    ("PIA", "已隔离", "2020-02-10T13:00:00", "v2"), ("PIB", "查无此人", "2020-02-10T14:00:00", "v1"))
    reasons = fb.check_answers(frame, ITEMS)
    # the earlier answer for PIA wins; the later one is refused
    assert reasons.tolist() == [fb.TWICE, fb.UNKNOWN, fb.CLOSED, fb.ANSWERED, "", ""]


def test_done_results_mark_done_and_not_found_goes_to_police():
    frame = answers(("PIA", "已核实", "2020-02-10T14:00:00", "v1"), ("PIB", "查无此人", "2020-02-10T14:10:00", "v2"))
    plan = fb.plan_answers(frame, ITEMS, pd.DataFrame(columns=["source_record_id", "person_id"]),
                           pd.DataFrame(columns=["left_id", "right_id"]), "B2")
    updates = plan.updates.set_index("push_item_id")
    assert updates.loc["PIA", "new_state"] == "done" and updates.loc["PIA", "done_at"] == "2020-02-10T14:00:00Z"
    assert updates.loc["PIA", "answer_hours"] == 1.0 and updates.loc["PIA", "answered_late"] == 0
    assert updates.loc["PIB", "answered_late"] == 1  # 14:10, due 14:05
    assert pd.isna(updates.loc["PIB", "new_state"]) and updates.loc["PIB", "answered_by"] == "v2"
    assert plan.closes.to_dict("records") == [{"push_item_id": "PIB", "close_reason": "not_found"}]
    assert plan.tracing[["push_item_id", "person_id", "street"]].values.tolist() == [["PIB", "P2", "中华路街道"]]
    seen = fb.items_with_answers(ITEMS, plan).set_index("push_item_id")["state"]
    assert seen["PIA"] == "done" and seen["PIB"] == "closed"


def test_not_the_same_person_stores_cannot_links_to_the_other_records():
    links = pd.DataFrame({"source_record_id": ["r5a", "r5b", "r5c", "r5d"], "person_id": ["P5"] * 4})
    known = pd.DataFrame({"left_id": ["r5a"], "right_id": ["r5c"]})
    plan = fb.plan_answers(answers(("PIE", "非本人", "2020-02-10T14:00:00", "v1")), ITEMS, links, known, "B2")
    pairs = set(zip(plan.cannot_link["left_record_id"], plan.cannot_link["right_record_id"]))
    assert pairs == {("r5a", "r5d"), ("r5b", "r5c"), ("r5b", "r5d")}  # (r5a, r5c) was already stored
    assert set(plan.cannot_link["source"]) == {"feedback"} and set(plan.cannot_link["push_item_id"]) == {"PIE"}


def test_not_the_same_person_when_every_record_backs_the_item():
    links = pd.DataFrame({"source_record_id": ["r5a", "r5b"], "person_id": ["P5", "P5"]})
    plan = fb.plan_answers(answers(("PIE", "非本人", "2020-02-10T14:00:00", "v1")), ITEMS, links,
                           pd.DataFrame(columns=["left_id", "right_id"]), "B2")
    assert plan.cannot_link[["left_record_id", "right_record_id"]].values.tolist() == [["r5a", "r5b"]]


def test_left_area_stays_open_for_the_plan_and_is_closed_unless_rerouted():
    frame = answers(("PIA", "已离开本辖区", "2020-02-10T14:00:00", "v1"), ("PIB", "已离开本辖区", "2020-02-10T14:00:00", "v1"))
    plan = fb.plan_answers(frame, ITEMS, pd.DataFrame(columns=["source_record_id", "person_id"]),
                           pd.DataFrame(columns=["left_id", "right_id"]), "B2")
    seen = fb.items_with_answers(ITEMS, plan).set_index("push_item_id")
    assert seen.loc["PIA", "state"] == "pushed" and seen.loc["PIA", "answered_at"] == "2020-02-10T14:00:00Z"
    rerouted = pd.DataFrame({"push_item_id": ["PIA"], "closed_at": ["t"], "closed_batch_id": ["B2"],
                             "close_reason": ["rerouted"]})
    extra = fb.answer_closes(plan, rerouted, "B2", "2020-02-10T14:00:00Z")
    assert extra[["push_item_id", "close_reason"]].values.tolist() == [["PIB", "left_area"]]


def test_answer_times_are_read_on_the_offices_local_clock():
    frame = answers(("PIA", "已核实", "2020-02-10 22:00:00", "v1"), ("PIB", "已隔离", "2020-02-10 22:10:00", "v1"))
    plan = fb.plan_answers(frame, ITEMS, pd.DataFrame(columns=["source_record_id", "person_id"]),
                           pd.DataFrame(columns=["left_id", "right_id"]), "B2", "Asia/Shanghai")
    updates = plan.updates.set_index("push_item_id")
    assert updates.loc["PIA", "answered_at"] == "2020-02-10T14:00:00Z"  # 22:00 in Beijing
    assert updates.loc["PIA", "answer_hours"] == 1.0 and updates.loc["PIA", "answered_late"] == 0
    assert updates.loc["PIB", "answered_late"] == 1  # 14:10 UTC, due 14:05


def test_an_answer_time_without_its_hour_is_local_midnight_beside_one_with_it():
    """Answer times in either canonical form (a date alone is midnight) are each read on its own:
    left to infer the form from the first row, pandas read the date alone as missing, and its
    stored time stayed on the local clock. (Ingest writes every time with its hour; callers of
    plan_answers need not.)"""
    frame = answers(("PIA", "已核实", "2020-02-10 22:00:00", "v1"), ("PIB", "已隔离", "2020-02-11", "v1"))
    plan = fb.plan_answers(frame, ITEMS, pd.DataFrame(columns=["source_record_id", "person_id"]),
                           pd.DataFrame(columns=["left_id", "right_id"]), "B2", "Asia/Shanghai")
    updates = plan.updates.set_index("push_item_id")
    assert updates.loc["PIA", "answered_at"] == "2020-02-10T14:00:00Z"
    assert updates.loc["PIB", "answered_at"] == "2020-02-10T16:00:00Z"  # midnight in Beijing


OFFICES = ["中华路街道", "粮道街道", "区级清单"]


def test_an_answer_counts_only_from_the_office_the_item_was_pushed_to():
    """The answering office: the 街道 cell, else the office the file's name names. Another
    office's answer, or one whose office cannot be told, is quarantined; the district answers any."""
    frame = answers(*[(item, "已核实", "2020-02-10T14:00:00", "v") for item in ("PIA", "PIB", "PIE", "PIA", "PIB")])
    frame["file_name"] = ["中华路街道_20200210_反馈.csv", "粮道街道_20200210_反馈.csv", "answers.csv",
                          "区级清单_20200210_反馈.csv", "粮道_反馈.csv"]
    frame["unit"] = ["", "", "", "", ""]
    assert fb.answering_units(frame, OFFICES).tolist() == ["中华路街道", "粮道街道", "", "区级清单", "粮道街道"]
    reasons = fb.check_answers(frame, ITEMS, OFFICES, district="区级清单")
    assert reasons.tolist() == ["", fb.OTHER_STREET, fb.NO_UNIT, fb.TWICE, fb.OTHER_STREET]


def test_cell_and_file_name_must_agree_and_a_cell_never_says_the_district():
    """A street office cannot claim another office's or the district's items by what it types:
    a 街道 cell naming another office than the file, or naming the district, makes the answer's
    office unclear (quarantined); a cell alone (a district-wide file) and its short form count."""
    rows = [("PIA", "已核实", "2020-02-10T14:00:00", "v")] * 5
    frame = answers(*rows)
    frame["file_name"] = ["中华路街道_20200210_反馈.csv", "粮道街道_20200210_反馈.csv", "粮道街道_20200210_反馈.csv",
                          "answers.csv", "answers.csv"]
    frame["unit"] = ["中华路街道办事处", "中华路街道", "区级清单", "中华路", "区级清单"]
    assert fb.answering_units(frame, OFFICES, "区级清单").tolist() == ["中华路街道", "", "", "中华路街道", ""]
    reasons = fb.check_answers(frame, ITEMS, OFFICES, district="区级清单")
    assert reasons.tolist() == [fb.TWICE, fb.NO_UNIT, fb.NO_UNIT, "", fb.NO_UNIT]  # same time: by file name


def test_a_unit_cell_naming_no_known_office_matches_no_item():
    frame = answers(("PIA", "已核实", "2020-02-10T14:00:00", "v"))
    frame["file_name"], frame["unit"] = "answers.csv", "某某街道"
    assert fb.check_answers(frame, ITEMS, OFFICES, district="区级清单").tolist() == [fb.OTHER_STREET]


def test_a_refused_office_says_nothing_of_the_item():
    """Another office's answer for a closed item is refused for being another office's, and the
    item's own office can still answer it in the same batch."""
    frame = answers(("PIA", "已核实", "2020-02-10T13:00:00", "v"), ("PIA", "已隔离", "2020-02-10T14:00:00", "v"))
    frame["file_name"] = ["粮道街道_1.csv", "中华路街道_1.csv"]
    assert fb.check_answers(frame, ITEMS, OFFICES, district="区级清单").tolist() == [fb.OTHER_STREET, ""]
