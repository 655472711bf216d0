"""The review desk and the push lists, round trip through Airflow (dag.test(), state checked) on
SQLite and PostgreSQL: the first run writes the district's 复核清单 and the street offices'
lists; the filled-in workbooks, dropped into landing/, decide the pair and close the item in the
next run. Assertions print ids and counts only."""
from datetime import date, datetime, timezone

import pandas as pd
import pytest
from openpyxl import load_workbook

from screenfuse.cli import main
from screenfuse.review_desk import NOT_DECIDED, TWICE
from screenfuse.synthetic import generate
from test_end_to_end import run_dag, table

R1 = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
R2 = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)


def fill(sheet, rows: dict[int, dict[str, str]]) -> None:
    """Write values into the sheet's rows (2 = the first under the header) by header name."""
    columns = {cell.value: cell.column for cell in sheet[1]}
    for row, values in rows.items():
        for header, value in values.items():
            sheet.cell(row=row, column=columns[header], value=value)


@pytest.fixture(scope="module")
def desk(airflow_db, warehouse_url, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("desk") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    mp.delenv("SCREENFUSE_POLICY", raising=False)
    landing = home / "landing"
    # seed 6: the matching leaves two record pairs of one person (truth) for review, with one valid ID
    generate(2000, 6, date(2020, 2, 10), landing, home / "truth")
    assert main(["db", "upgrade"]) == 0
    import sqlalchemy as sa

    engine = sa.create_engine(warehouse_url)
    first = run_dag(R1)
    outbox = home / "outbox" / "20200210T1300Z"
    review_book = load_workbook(outbox / "复核清单.xlsx")
    sheet = review_book.active
    opened = pd.DataFrame(sheet.iter_rows(min_row=2, values_only=True), columns=[c.value for c in sheet[1]])
    checks = [(v.sqref, v.formula1) for v in sheet.data_validations.dataValidation]
    reviews_before = table(engine, "v_match_review")
    # the district decides the first item 同一人, enters it twice by mistake, and leaves the second blank
    fill(sheet, {2: {"复核结论": "同一人", "复核时间": "2020-02-10 21:40", "复核人": "复核员01"}})
    sheet.insert_rows(3)
    for column in range(1, sheet.max_column + 1):
        sheet.cell(row=3, column=column, value=sheet.cell(row=2, column=column).value)
    (landing / "review").mkdir(parents=True, exist_ok=True)
    review_book.save(landing / "review" / "复核清单_回传.xlsx")
    # a street office fills in its own list: the first item 已核实
    items = table(engine, "push_item")
    street = sorted(items["street"].unique())[0]
    push_book = load_workbook(outbox / f"{street}.xlsx")
    push_sheet = push_book.active
    item_id = push_sheet.cell(row=2, column=[c.value for c in push_sheet[1]].index("推送编号") + 1).value
    fill(push_sheet, {2: {"核查结果": "已核实", "反馈时间": "2020-02-10 21:30", "核查人": "核查员01"}})
    (landing / "feedback").mkdir(parents=True, exist_ok=True)
    push_book.save(landing / "feedback" / f"{street}_20200210_反馈.xlsx")
    push_checks = [(v.sqref, v.formula1) for v in push_sheet.data_validations.dataValidation]
    second = run_dag(R2)
    after = {name: table(engine, name) for name in ("person_link", "match_decision", "match_label", "push_item",
                                                    "quarantine", "match_cannot_link")}
    after["v_match_review"] = table(engine, "v_match_review")
    again = run_dag(R2)
    after_again = {name: table(engine, name) for name in after}
    yield {"runs": [first, second, again], "opened": opened, "checks": checks, "push_checks": push_checks,
           "reviews_before": reviews_before, "after": after, "again": after_again, "item_id": item_id,
           "engine": engine}
    mp.undo()


def test_the_runs_succeed(desk):
    assert [run.state for run in desk["runs"]] == ["success"] * 3


def test_the_review_list_holds_the_open_items_with_a_drop_down(desk):
    opened, reviews = desk["opened"], desk["reviews_before"]
    assert len(reviews) == 2 and sorted(opened["复核编号"]) == sorted(reviews["review_id"])
    assert opened["复核结论"].isna().all() and opened["比对依据"].str.contains("手机|姓名|证件号").all()
    assert [formula for _, formula in desk["checks"]] == ['"同一人,非同一人"']
    assert any(formula.startswith('"已核实,') and "非本人" in formula for _, formula in desk["push_checks"])


def test_the_returned_review_list_joins_the_pair_in_the_next_run(desk):
    decided_id = desk["opened"]["复核编号"].iloc[0]
    reviews = desk["reviews_before"].set_index("review_id")
    left, right = reviews.at[decided_id, "left_record_id"], reviews.at[decided_id, "right_record_id"]
    person_of = desk["after"]["person_link"].set_index("source_record_id")["person_id"]
    assert person_of[left] == person_of[right]
    decisions = desk["after"]["match_decision"]
    assert len(decisions) == 1
    row = decisions.iloc[0]
    assert (row["review_id"], row["decision"], row["source"], row["outcome"]) == (decided_id, "same", "file", "joined")
    assert row["batch_id"] == row["applied_batch_id"] == "20200210T1400Z" and row["decided_at"] == "2020-02-10T13:40:00Z"
    labels = desk["after"]["match_label"]
    assert labels.loc[labels["source"] == "review", ["label", "reference"]].values.tolist() == [["same", decided_id]]
    # both items were between the same two persons: joined, neither comes back to the desk
    assert desk["after"]["v_match_review"].empty


def test_blank_and_repeated_rows_of_a_returned_list_are_set_aside_with_a_reason(desk):
    quarantine = desk["after"]["quarantine"]
    reasons = sorted(quarantine.loc[quarantine["feed"] == "review", "reason"])
    assert reasons == sorted([NOT_DECIDED, TWICE])


def test_the_filled_in_push_list_answers_its_item(desk):
    items = desk["after"]["push_item"].set_index("push_item_id")
    assert items.at[desk["item_id"], "answer_result"] == "已核实" and items.at[desk["item_id"], "state"] == "done"


def test_running_the_batch_again_gives_the_same_decisions_and_links(desk):
    as_rows = lambda frame: sorted(map(tuple, frame.astype(object).fillna("<null>").astype(str).values.tolist()))  # noqa: E731
    changed = [name for name in ("person_link", "match_decision", "match_label", "push_item", "match_cannot_link")
               if as_rows(desk["after"][name]) != as_rows(desk["again"][name])]
    assert changed == []
