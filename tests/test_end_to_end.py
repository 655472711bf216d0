"""The hourly DAG, run through Airflow on generated feeds plus bad files, against a real warehouse."""
from datetime import date, datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse.synthetic import generate

FIRST = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
SECOND = datetime(2020, 2, 10, 14, tzinfo=timezone.utc)


def run_dag(logical_date):
    from airflow.dag_processing.dagbag import DagBag

    from screenfuse.config import PROJECT_ROOT

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "screenfuse_hourly.py")).get_dag("screenfuse_hourly")
    return dag.test(logical_date=logical_date)


def table(engine, name, where=""):
    return pd.read_sql(sa.text(f"SELECT * FROM {name} {where}"), engine)


@pytest.fixture(scope="module")
def scenario(airflow_db, tmp_path_factory):
    """Generate feeds, add bad files, run the DAG twice for one interval and once for the next."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("e2e") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.delenv("SCREENFUSE_WAREHOUSE_URL", raising=False)
    landing = home / "landing"
    generate(800, 7, date(2020, 2, 10), landing, home / "truth")
    (landing / "hospital" / "empty.csv").write_bytes(b"")
    (landing / "hospital" / "header_only.csv").write_text("医疗机构,就诊时间,患者姓名,人员类别\n", encoding="utf-8")
    (landing / "police" / "no_name.csv").write_bytes("派出所,登记时间,公民身份号码\n某派出所,2020-02-10 08:00,\n".encode("gbk"))
    engine = sa.create_engine(f"sqlite:///{home / 'warehouse.db'}")
    first = run_dag(FIRST)
    snapshot = {name: table(engine, name) for name in ("person", "person_link", "source_record", "quarantine", "push_item")}
    again = run_dag(FIRST)
    # the next hour: one file delivered again under a new name, nothing else new
    src = sorted((landing / "police").glob("*派出所_*.csv"))[0]
    (landing / "police" / "resent.csv").write_bytes(src.read_bytes())
    second = run_dag(SECOND)
    yield {"home": home, "engine": engine, "runs": (first, again, second), "snapshot": snapshot}
    mp.undo()


def test_runs_succeed(scenario):
    assert [r.state for r in scenario["runs"]] == ["success"] * 3


def test_every_row_is_accepted_or_quarantined(scenario):
    engine, home = scenario["engine"], scenario["home"]
    files = table(engine, "ingest_file", "WHERE batch_id = '20200210T1300Z'")
    assert (files["rows_read"] == files["rows_accepted"] + files["rows_quarantined"]).all()
    truth = pd.read_csv(home / "truth" / "truth.csv")
    assert files["rows_read"].sum() == len(truth) + 1  # + the one row of the file without a name column
    loaded = files[files["status"] == "loaded"]
    records = table(engine, "source_record", "WHERE batch_id = '20200210T1300Z'")
    quarantine = table(engine, "quarantine", "WHERE batch_id = '20200210T1300Z'")
    assert len(records) == loaded["rows_accepted"].sum()
    assert (quarantine["level"] == "row").sum() == loaded["rows_quarantined"].sum()
    reasons = dict(zip(files["file_name"], files["reason"]))
    assert "empty file" in reasons["empty.csv"]
    assert "no rows" in reasons["header_only.csv"]
    assert "required column 'name'" in reasons["no_name.csv"]
    assert set(quarantine.loc[quarantine["level"] == "file", "file_name"]) == {"empty.csv", "header_only.csv", "no_name.csv"}
    assert (home / "quarantine" / "20200210T1300Z" / "police" / "no_name.csv").exists()
    # every accepted source record is linked to exactly one existing person
    links = table(engine, "person_link")
    persons = table(engine, "person")
    assert set(table(engine, "source_record")["source_record_id"]) == set(links["source_record_id"])
    assert set(links["person_id"]) == set(persons["person_id"])


def test_warehouse_contents(scenario):
    engine = scenario["engine"]
    persons = table(engine, "person")
    for status in ("confirmed", "suspected", "fever", "close_contact"):
        assert (persons["status"] == status).sum() > 0, status
    assert persons["person_id"].is_unique
    items = table(engine, "push_item")
    assert items["street"].nunique() >= 10
    assert set(items["person_id"]) <= set(persons.loc[persons["measure"] != "", "person_id"])
    outbox = scenario["home"] / "outbox" / "20200210T1300Z"
    for street in items["street"].unique():
        listed = pd.read_csv(outbox / f"{street}.csv", dtype=str, encoding="utf-8-sig")
        assert len(listed) == (items["street"] == street).sum()
        assert (outbox / f"{street}.xlsx").exists()
    views = pd.read_sql(sa.text("SELECT * FROM v_feed_reconciliation"), engine)
    assert views["balanced"].eq(1).all()


def test_rerun_of_the_same_interval_is_idempotent(scenario):
    engine, before = scenario["engine"], scenario["snapshot"]
    for name, frame in before.items():
        now = table(engine, name)
        if name == "person":  # later batches update batch_id/as_of; the people are the same
            cols = ["person_id", "name", "id_number", "status", "measure", "responsible_list", "n_records"]
            frame, now = frame[cols], now[cols]
        assert differing_columns(frame, now) == [], name


def differing_columns(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Columns whose values differ (names only: a failure must not print personal data)."""
    key = a.columns[0]
    if len(a) != len(b) or set(a[key]) != set(b[key]):
        return [key]
    a = a.sort_values(key).reset_index(drop=True).astype(object).fillna("<null>")
    b = b.sort_values(key).reset_index(drop=True).astype(object).fillna("<null>")
    return [c for c in a.columns if not (a[c] == b[c]).all()]


def test_file_delivered_again_is_skipped_and_recorded(scenario):
    engine = scenario["engine"]
    second = table(engine, "ingest_file", "WHERE batch_id = '20200210T1400Z'")
    assert second["status"].tolist().count("loaded") == 0
    resent = second.set_index("file_name").loc["resent.csv"]
    assert resent["status"] == "duplicate" and "20200210T1300Z" in resent["reason"]
    assert len(table(engine, "push_item", "WHERE batch_id = '20200210T1400Z'")) == 0  # nothing pushed twice
    run = table(engine, "run_log", "WHERE batch_id = '20200210T1400Z'").iloc[0]
    assert run["rows_read"] == 0 and run["persons"] == len(table(engine, "person"))


def test_no_personal_data_in_xcom(scenario):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    people = pd.read_csv(scenario["home"] / "truth" / "people.csv", dtype=str)
    with create_session() as session:
        values = [str(x.value) for x in session.query(XComModel).filter(XComModel.dag_id == "screenfuse_hourly")]
    assert values
    text = "\n".join(values)
    leaked = sum(1 for v in pd.concat([people["id_number"], people["phone"], people["name"]]) if v and v in text)
    assert leaked == 0  # a count, so a failure does not print the values
