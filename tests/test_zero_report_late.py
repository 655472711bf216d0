"""Late reports (迟报) and silent police stations through whole runs (run_batch) on both databases.

Runs (UTC; local = UTC+8, deadline 16:00 local = 08:00 UTC): R0 02-10 15:00 local (before the
deadline), no run at 16:00, R1 02-10 17:00 local (checks 02-10), R2 02-11 01:00 local. Police
stations: most send a zero report before the deadline; 徐家棚 sends at 16:30 local (late, before
the check); 杨园 sends at 02-11 01:00 local (silent at the check, then late); 石洞 never sends."""
import os
from datetime import datetime, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse import batch_rows
from screenfuse.cli import main
from screenfuse.config import load_settings
from screenfuse.pipeline import run_batch
from screenfuse.report import summary_text
from screenfuse.reporting_units import expected_units

R0 = datetime(2020, 2, 10, 7, tzinfo=timezone.utc)
R1 = datetime(2020, 2, 10, 9, tzinfo=timezone.utc)
R2 = datetime(2020, 2, 10, 17, tzinfo=timezone.utc)
HEADER = "派出所,登记时间,姓名\n"
LATE_BEFORE, LATE_AFTER, SILENT = "徐家棚派出所", "杨园派出所", "石洞派出所"


def zero_report(landing, station, at: datetime):
    path = landing / "police" / f"{station}_20200210.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER, encoding="utf-8")
    os.utime(path, (at.timestamp(), at.timestamp()))


def frame(engine, sql):
    with engine.connect() as conn:
        result = conn.execute(sa.text(sql))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def police_day(engine):
    row = frame(engine, "SELECT expected, reported, late, silent, batch_id, changed_batch_id FROM zero_report_check "
                        "WHERE report_day = '2020-02-10' AND feed = 'police'")
    return row.iloc[0].tolist()


@pytest.fixture(scope="module")
def late(warehouse_url, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("late") / "data"
    mp.setenv("SCREENFUSE_HOME", str(home))
    mp.setenv("SCREENFUSE_WAREHOUSE_URL", warehouse_url)
    for name in ("SCREENFUSE_LANDING", "SCREENFUSE_POLICY", "SCREENFUSE_UNITS"):
        mp.delenv(name, raising=False)
    landing = home / "landing"
    stations = expected_units(["police"])["unit_name"]
    for station in stations[~stations.isin([LATE_BEFORE, LATE_AFTER, SILENT])]:
        zero_report(landing, station, datetime(2020, 2, 10, 6, 30, tzinfo=timezone.utc))
    assert main(["db", "upgrade"]) == 0
    engine = sa.create_engine(warehouse_url)
    run_batch(load_settings(), R0)
    zero_report(landing, LATE_BEFORE, datetime(2020, 2, 10, 8, 30, tzinfo=timezone.utc))  # 16:30 local
    run_batch(load_settings(), R1)
    at_check = {"day": police_day(engine), "silent": frame(engine, "SELECT * FROM v_silent_units"),
                "late": frame(engine, "SELECT * FROM v_late_reports")}
    zero_report(landing, LATE_AFTER, R2)  # 02-11 01:00 local
    run_batch(load_settings(), R2)
    after = {"day": police_day(engine), "silent": frame(engine, "SELECT * FROM v_silent_units"),
             "late": frame(engine, "SELECT * FROM v_late_reports"), "summary": summary_text(load_settings())[0]}
    with engine.begin() as conn:  # take R2 back, as a re-run does first
        batch_rows.undo_batch(conn, "20200210T1700Z")
    undone = {"day": police_day(engine), "late": frame(engine, "SELECT * FROM v_late_reports")}
    rerun = run_batch(load_settings(), R2)  # R2 again (its manifest is kept): the same as before
    yield {"engine": engine, "home": home, "at_check": at_check, "after": after, "undone": undone, "rerun": rerun}
    engine.dispose()
    mp.undo()


def police(frame_):
    return frame_[frame_["feed"] == "police"]


def test_a_silent_police_station_is_listed(late):
    silent = police(late["at_check"]["silent"])
    assert set(silent["unit_name"]) == {LATE_AFTER, SILENT}
    assert set(silent["report_day"]) == {"2020-02-10"} and set(silent["found_in_batch"]) == {"20200210T0900Z"}
    report = pd.read_csv(late["home"] / "outbox" / "20200210T0900Z" / "零报告日报_20200210.csv", dtype=str,
                         encoding="utf-8-sig")
    got = dict(zip(report["单位名称"], report["报送情况"]))
    assert got[SILENT] == "未报" and got[LATE_AFTER] == "未报" and got[LATE_BEFORE] == "迟报"


def test_a_file_after_the_deadline_but_before_the_check_is_reported_late(late):
    assert late["at_check"]["day"] == [14, 12, 1, 2, "20200210T0900Z", "20200210T0900Z"]
    rows = police(late["at_check"]["late"])
    assert rows[["unit_name", "arrived_at", "after_check"]].values.tolist() == [
        [LATE_BEFORE, "2020-02-10T08:30:00Z", 0]]


def test_a_file_at_0100_local_the_next_day_turns_the_silent_station_late(late):
    after = late["after"]
    assert after["day"] == [14, 13, 2, 1, "20200210T0900Z", "20200210T1700Z"]
    assert set(police(after["silent"])["unit_name"]) == {SILENT}  # still silent; 杨园 no longer
    rows = police(after["late"]).set_index("unit_name")
    assert rows.loc[LATE_AFTER, ["arrived_at", "after_check", "recorded_in_batch"]].tolist() == [
        "2020-02-10T17:00:00Z", 1, "20200210T1700Z"]
    later = pd.read_csv(late["home"] / "outbox" / "20200210T1700Z" / "迟报_20200210.csv", dtype=str, encoding="utf-8-sig")
    assert later[["单位名称", "报送情况"]].values.tolist() == [[LATE_AFTER, "迟报"]]
    assert "2020-02-10  police        14    13    2     1" in after["summary"]


def test_taking_the_late_run_back_restores_the_day_and_a_rerun_repeats_it(late):
    assert late["undone"]["day"] == [14, 12, 1, 2, "20200210T0900Z", "20200210T0900Z"]
    assert set(police(late["undone"]["late"])["unit_name"]) == {LATE_BEFORE}
    assert police_day(late["engine"]) == late["after"]["day"]
    assert set(police(frame(late["engine"], "SELECT * FROM v_late_reports"))["unit_name"]) == {LATE_BEFORE, LATE_AFTER}


def test_a_run_long_after_the_last_checks_the_last_week_only(tmp_path, monkeypatch):
    """A DAG triggered two months after its last run (a paused deployment, the demo's 2020 data):
    zero reporting checks zero_report.max_days_back days (7), not every day since."""
    from datetime import date, datetime, timedelta, timezone

    import sqlalchemy as sa

    from screenfuse import schema
    from screenfuse.config import load_settings
    from screenfuse.pipeline import run_batch
    from screenfuse.synthetic import generate
    from screenfuse.warehouse import engine_for

    home, url = tmp_path / "data", f"sqlite:///{tmp_path}/w.db"
    monkeypatch.setenv("SCREENFUSE_HOME", str(home))
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", url)
    schema.upgrade(engine_for(url))
    generate(60, 3, date(2020, 2, 10), home / "landing", home / "truth", zero_reports=True)
    first = datetime(2020, 2, 10, 13, tzinfo=timezone.utc)
    run_batch(load_settings(), first)
    run_batch(load_settings(), first + timedelta(days=60))
    with engine_for(url).connect() as conn:
        days = conn.execute(sa.text("SELECT feed, COUNT(*) FROM zero_report_check GROUP BY feed")).all()
    assert days and max(n for _, n in days) == 9  # the first run's day, then today and the 7 days before (not 61)
