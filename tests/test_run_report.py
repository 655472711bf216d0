"""The HTML run report: written by every run, rebuilt for any published batch, charts rendered
(inline SVG), and no personal data in it. Prints counts only."""
import json
import re
import shutil
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from screenfuse.cli import main
from screenfuse.run_report import Section, model_weights, render
from screenfuse.synthetic import generate


def test_model_weights_are_log2_m_over_u_per_level():
    params = {"comparisons": [{"column": "name", "levels": ["exact", "different"], "m": [0.5, 0.25], "u": [0.125, 1.0]}]}
    weights = model_weights(json.dumps(params))
    assert weights.values.tolist() == [["name", "exact", 2.0], ["name", "different", -2.0]]


def test_values_set_aside_are_counted_per_unit_and_reason_each_unreadable_field_apart():
    from screenfuse.run_report import kept_values

    kept = pd.DataFrame({"file_name": ["南湖收费站_0210.csv", "南湖收费站_0210.csv", "积玉桥社区.xlsx"],
                         "id_set_aside": ["id_number set aside: a number through Excel (digits lost)", "", None],
                         "unreadable": ["", "arrival_date, departure_date", "arrival_date"]})
    counted = kept_values(kept).sort_values(["unit", "reason"]).values.tolist()
    assert counted == [["南湖收费站", "arrival_date unreadable", 1], ["南湖收费站", "departure_date unreadable", 1],
                       ["南湖收费站", "id_number set aside: a number through Excel (digits lost)", 1],
                       ["积玉桥社区", "arrival_date unreadable", 1]]


def test_the_page_escapes_what_it_shows():
    page = render("B<1>", [("policy", "<script>alert(1)</script>")], [Section("T&T", "n<b>", "<svg></svg>")])
    assert "<script>" not in page and "&lt;script&gt;" in page and "T&amp;T" in page and "<svg></svg>" in page


@pytest.fixture()
def published(tmp_path, monkeypatch):
    monkeypatch.setenv("SCREENFUSE_HOME", str(tmp_path))
    monkeypatch.delenv("SCREENFUSE_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("SCREENFUSE_SETTLE_SECONDS", "0")
    monkeypatch.setenv("SCREENFUSE_RUN_REPORT", "1")
    generate(600, 3, date(2020, 2, 10), tmp_path / "landing", tmp_path / "truth", zero_reports=True)
    assert main(["db", "upgrade"]) == 0
    assert main(["run", "--interval-end", "2020-02-10T13:00:00+00:00"]) == 0
    return tmp_path


def test_every_run_writes_a_report_with_its_charts_and_no_personal_data(published, capsys):
    assert main(["run", "--interval-end", "2020-02-10T14:00:00+00:00"]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    # not a terminal: a plain line per stage with its time, the feeds' ingest as one
    stages = [line.split("]")[0][1:] for line in captured.err.splitlines() if line.startswith("[")]
    assert stages == ["start_batch", "ingest", "resolve_identities", "fuse_persons",
                      "plan_push_items, check_zero_reports, rate_communities", "publish_warehouse", "write_push_lists",
                      "finish_batch, write_report", "run"]
    path = published / "reports" / "20200210T1400Z" / "index.html"
    assert str(path) in printed and path.exists() and (published / "reports" / "20200210T1300Z" / "index.html").exists()
    page = (published / "reports" / "20200210T1300Z" / "index.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h2>([^<]*)</h2>", page)
    assert titles[:4] == ["Rows per feed", "Quarantine reasons per unit", "Values set aside in rows kept, per unit",
                          "People with a status, per street"]
    assert "The matching model" in titles and page.count("<svg") >= 6
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")  # self-contained
    engine = sa.create_engine(f"sqlite:///{published / 'warehouse.db'}")
    with engine.connect() as conn:
        records = pd.read_sql(sa.text("SELECT name, id_number, phone FROM source_record"), conn)
    values = {v for column in records for v in records[column].dropna().astype(str) if len(v) >= 2}
    leaked = [v for v in values if v in page]
    assert len(values) > 500 and leaked == []
    with engine.connect() as conn:  # the "links changed" figure is counted at publish, not read again each hour
        runs = dict(conn.execute(sa.text("SELECT batch_id, links_changed FROM run_log")).all())
        held = dict(conn.execute(sa.text("SELECT changed_batch_id, COUNT(*) FROM person_link GROUP BY 1")).all())
    assert runs["20200210T1300Z"] > 500 and runs["20200210T1300Z"] >= held.get("20200210T1300Z", 0)
    assert runs["20200210T1400Z"] == held.get("20200210T1400Z", 0)


def test_a_large_batchs_run_writes_its_report_after_its_stages_children(published, capsys, monkeypatch):
    """With each stage in a child (a large batch's way; plan, zero reports and risk side by side),
    the report is drawn here after them, every push item is pushed and the stage is empty."""
    monkeypatch.setenv("SCREENFUSE_STAGE_PROCESS_MB", "0")
    assert main(["run", "--interval-end", "2020-02-10T14:00:00+00:00"]) == 0
    stages = [line.split("]")[0][1:] for line in capsys.readouterr().err.splitlines() if line.startswith("[")]
    assert stages[-3:] == ["write_push_lists", "finish_batch, write_report", "run"]
    page = (published / "reports" / "20200210T1400Z" / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<h2>([^<]*)</h2>", page)[:4] == ["Rows per feed", "Quarantine reasons per unit",
                                                         "Values set aside in rows kept, per unit",
                                                         "People with a status, per street"]
    engine = sa.create_engine(f"sqlite:///{published / 'warehouse.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM batch_stage")).scalar() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM push_item WHERE state = 'open'")).scalar() == 0


def test_a_report_that_cannot_be_written_fails_the_run_after_the_stage_is_emptied(published, capsys):
    """The stage is emptied beside the report (pipeline._report_while_finishing): a report that
    fails (here its folder cannot be made: a file stands where it goes) still leaves no personal
    data staged, and the run says in one line what failed."""
    reports = published / "reports"
    shutil.rmtree(reports)
    reports.write_text("not a folder")
    assert main(["run", "--interval-end", "2020-02-10T14:00:00+00:00"]) == 2
    said = capsys.readouterr().err.splitlines()[-1]  # one line, not a traceback
    assert said.startswith(f"screenfuse: error: cannot use {reports}") and "fix:" in said
    assert "batch 20200210T1400Z is published; its report was not written" in said
    engine = sa.create_engine(f"sqlite:///{published / 'warehouse.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM batch_stage")).scalar() == 0
        assert conn.execute(sa.text("SELECT MAX(batch_id) FROM run_log")).scalar() == "20200210T1400Z"


@pytest.mark.parametrize("report_fails", [False, True])
def test_the_stage_emptied_beside_the_report_raises_its_own_error_first_with_the_reports_noted(published, report_fails):
    """_report_while_finishing with an emptying that really fails (an attempt that is no longer the
    batch's: another run finished it): that error is raised, after the report was drawn or, if
    the report failed too, with the report's error noted on it, not lost."""
    from screenfuse import pipeline
    from screenfuse.batch_state import AttemptSuperseded
    from screenfuse.config import load_settings

    settings, batch = load_settings(), "20200210T1300Z"
    reports = published / "reports"
    shutil.rmtree(reports)
    if report_fails:
        reports.write_text("not a folder")
    with pytest.raises(AttemptSuperseded) as raised:
        pipeline._report_while_finishing(settings, batch, "an-attempt-long-gone", pipeline.report_policy(settings, batch))
    notes = getattr(raised.value, "__notes__", [])
    if report_fails:
        assert len(notes) == 1 and notes[0].startswith("and the run report failed: NotADirectoryError")
        assert f"batch {batch} is published; its report was not written" in notes[0]
    else:
        assert notes == [] and (reports / batch / "index.html").is_file()


def test_each_run_records_what_its_blocking_did_and_the_report_shows_it(published):
    """run_log.match_blocking: per rule of the preset, the pairs estimated and proposed, and the
    context comparisons; the report's Blocking section charts them and names the context."""
    from screenfuse.resolve import SETTINGS

    engine = sa.create_engine(f"sqlite:///{published / 'warehouse.db'}")
    with engine.connect() as conn:
        text = conn.execute(sa.text("SELECT match_blocking FROM run_log WHERE batch_id = '20200210T1300Z'")).scalar()
        shown = conn.execute(sa.text("SELECT match_blocking FROM analytics_run_log")).scalar()
    report = json.loads(text)
    assert shown == text
    rules = ["+".join(p.label for p in rule) for rule in SETTINGS.blocking]
    assert [r["rule"] for r in report["rules"]] == rules
    by_rule = {r["rule"]: r for r in report["rules"]}
    assert by_rule["id_number"]["pairs"] > 0 and all(r["estimated"] >= r["pairs"] >= r["new_pairs"] >= 0
                                                     for r in report["rules"] if not r["refined_with"])
    assert sum(r["new_pairs"] for r in report["rules"]) > 0
    context = {c["column"]: c for c in report["context"] if c["role"] == "context"}
    assert set(context) == {"phone", "address"} and len({c["why"] for c in context.values()}) == 1
    said = {"settings": "the settings", "model": "the model"}[context["phone"]["why"]]  # the shipped model's roles here
    page = (published / "reports" / "20200210T1300Z" / "index.html").read_text(encoding="utf-8")
    section = page.split("<h2>Blocking</h2>", 1)[1].split("</section>", 1)[0]
    assert "<svg" in section and f"Context (evidence a household shares): phone ({said}), address ({said})." in section
    assert "id_number" in section


def test_a_report_is_rebuilt_for_any_published_batch_and_refused_for_others(published, capsys):
    path = published / "reports" / "20200210T1300Z" / "index.html"
    path.unlink()
    assert main(["report", "--batch", "20200210T1300Z"]) == 0 and path.exists()
    assert main(["report"]) == 0 and "20200210T1300Z" in capsys.readouterr().out  # the latest by default
    assert main(["report", "--batch", "20200210T0900Z"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was not published" in err


def test_charts_an_earlier_report_rendered_are_read_from_the_cache_and_unused_ones_pruned(published):
    """An hour without new files draws mostly the last hour's charts: each rendered chart is kept
    by the hash of its specification and read back, not rendered again; one no report used for
    CHART_CACHE_DAYS is dropped."""
    import os

    from screenfuse.report_charts import CHART_CACHE, CHART_CACHE_DAYS

    cache, page = published / "reports" / CHART_CACHE, published / "reports" / "20200210T1300Z" / "index.html"
    cached = sorted(cache.glob("*.svg"))
    text = page.read_text(encoding="utf-8")
    assert len(cached) >= 6 and all(p.read_text(encoding="utf-8") in text for p in cached)
    marker = '<svg id="from-the-cache"></svg>'
    cached[0].write_text(marker, encoding="utf-8")  # what the cache holds is what the page shows
    old = cache / ("0" * 64 + ".svg")
    old.write_text("<svg></svg>", encoding="utf-8")
    for unused_for_long in (old, cached[1]):  # cached[1] is drawn again: touched, so kept
        os.utime(unused_for_long, (0, 0))
    assert main(["report", "--batch", "20200210T1300Z"]) == 0
    text = page.read_text(encoding="utf-8")
    assert marker in text and text.count("<svg") >= 6
    assert not old.exists() and all(p.exists() for p in cached)
    assert os.stat(cached[1]).st_mtime > 86400 * CHART_CACHE_DAYS


def test_summary_as_json_says_what_the_text_says(published, capsys):
    capsys.readouterr()
    assert main(["summary", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["published"] and data["last_batch"] == "20200210T1300Z" and data["every_row_accounted"]
    assert sum(data["persons_by_status"].values()) > 300 and {f["feed"] for f in data["feeds"]} >= {"community", "police"}
    assert main(["summary"]) == 0
    text = capsys.readouterr().out
    assert f"persons resolved: {sum(data['persons_by_status'].values())}" in text


def test_the_report_can_be_turned_off_and_a_wrong_switch_is_named(published, capsys, monkeypatch):
    monkeypatch.setenv("SCREENFUSE_RUN_REPORT", "0")
    assert main(["run", "--interval-end", "2020-02-10T14:00:00+00:00"]) == 0
    assert "not written (SCREENFUSE_RUN_REPORT=0)" in capsys.readouterr().out
    assert not (published / "reports" / "20200210T1400Z").exists()
    monkeypatch.setenv("SCREENFUSE_RUN_REPORT", "yes")
    assert main(["run", "--interval-end", "2020-02-10T15:00:00+00:00"]) == 2
    assert "SCREENFUSE_RUN_REPORT='yes' is neither 1" in capsys.readouterr().err


def test_a_report_whose_charts_are_all_cached_never_starts_the_chart_engine(published, monkeypatch):
    """Starting the engine is half a second of an hour without new files, and vl-convert holds the
    interpreter while it starts (a start in a thread overlaps nothing): it starts only for a chart
    the cache does not hold. Nor is Altair imported (another half second): a chart is looked up by
    its data, not by the specification Altair would build."""
    import sys

    import vl_convert

    assert main(["report", "--batch", "20200210T1300Z"]) == 0  # every chart of the batch now cached
    page = published / "reports" / "20200210T1300Z" / "index.html"
    drawn = page.read_text(encoding="utf-8")

    def engine(spec):
        raise AssertionError("the chart engine was started for a cached chart")

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", engine)
    monkeypatch.setitem(sys.modules, "altair", None)  # `import altair` now fails
    assert main(["report", "--batch", "20200210T1300Z"]) == 0
    charts = lambda text: [part.split("</svg>")[0] for part in text.split("<svg")[1:]]  # noqa: E731
    assert charts(page.read_text(encoding="utf-8")) == charts(drawn) and len(charts(drawn)) >= 6


def test_a_chart_is_drawn_again_when_its_data_changes(tmp_path):
    """The cache is keyed by what a chart is drawn from: the same data under the same title is
    read back (a kept chart marked here comes back marked), other data or another title is another
    chart, drawn by the engine into a file of its own."""
    import altair as alt

    from screenfuse.report_charts import chart_svg

    def chart(frame):
        return lambda: alt.Chart(frame).mark_bar().encode(x="n:Q", y="feed:N")

    one, other = pd.DataFrame({"feed": ["police"], "n": [3]}), pd.DataFrame({"feed": ["police"], "n": [4]})
    first = chart_svg("Rows", one, chart(one), tmp_path)
    assert first.startswith("<svg") and len(list(tmp_path.glob("*.svg"))) == 1
    (kept,) = tmp_path.glob("*.svg")
    kept.write_text("<svg>kept</svg>", encoding="utf-8")
    assert chart_svg("Rows", one, chart(one), tmp_path) == "<svg>kept</svg>"  # read back, not drawn
    assert chart_svg("Rows", other, chart(other), tmp_path) not in (first, "<svg>kept</svg>")  # new data: drawn
    assert chart_svg("Other title", one, chart(one), tmp_path) == first  # drawn again, under its own key
    named, unnamed = pd.DataFrame({"feed": ["police", ""], "n": [3, 1]}), pd.DataFrame({"feed": ["police", None], "n": [3, 1]})
    chart_svg("Rows", named, chart(named), tmp_path)
    chart_svg("Rows", unnamed, chart(unnamed), tmp_path)  # a missing value is not empty text
    assert len(list(tmp_path.glob("*.svg"))) == 5


def test_a_chart_of_new_data_is_drawn_from_its_kept_specification_as_altair_draws_it(published, monkeypatch):
    """An hour's report draws "The last runs" anew: its specification, kept without its data, is
    filled with the hour's rows instead of being built by Altair (not imported), and every chart
    comes out as the one drawn from Altair's specification."""
    import sys

    from screenfuse.report_charts import CHART_CACHE

    cache, page = published / "reports" / CHART_CACHE, published / "reports" / "20200210T1300Z" / "index.html"
    charts = lambda text: [part.split("</svg>")[0] for part in text.split("<svg")[1:]]  # noqa: E731
    drawn = charts(page.read_text(encoding="utf-8"))  # the run's report: every specification Altair's
    kept = sorted(cache.glob("*.json"))
    assert len(kept) >= 6 and len(drawn) >= 6
    for svg in cache.glob("*.svg"):
        svg.unlink()
    monkeypatch.setitem(sys.modules, "altair", None)  # `import altair` now fails
    assert main(["report", "--batch", "20200210T1300Z"]) == 0
    assert charts(page.read_text(encoding="utf-8")) == drawn
    assert sorted(cache.glob("*.json")) == kept and len(list(cache.glob("*.svg"))) == len(drawn)


def test_a_kept_shape_filled_with_new_data_is_the_specification_altair_builds(tmp_path):
    """A shape kept from one frame, filled with another of the same columns (a missing number and
    text, other rows), is the specification Altair builds from that frame; data Altair writes
    otherwise (infinities, a number among text, dates) is left to Altair, and a date's shape is
    not kept."""
    import altair as alt

    from screenfuse.report_charts import chart_spec

    same = lambda a, b: json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # noqa: E731
    bars = lambda frame: lambda: alt.Chart(frame).mark_bar().encode(x="n:Q", y="feed:N", color="late:N")  # noqa: E731
    first = pd.DataFrame({"feed": ["police", "checkpoint"], "n": [3.0, 4.5], "late": [True, False], "k": [1, 2]})
    later = pd.DataFrame({"feed": ["police", None, "hospital"], "n": [float("nan"), 1.0, 2.25], "late": [False, True, False],
                          "k": [5, 6, 7]})
    assert same(chart_spec("Feeds", first, bars(first), tmp_path), chart_spec("Feeds", first, bars(first)))
    never = lambda: (_ for _ in ()).throw(AssertionError("built again"))  # noqa: E731
    assert same(chart_spec("Feeds", later, never, tmp_path), chart_spec("Feeds", later, bars(later)))
    for odd in (first.assign(n=[float("inf"), 1.0]), first.assign(feed=pd.Series(["police", None], dtype=object))):
        assert same(chart_spec("Feeds", odd, bars(odd), tmp_path), chart_spec("Feeds", odd, bars(odd)))
    days = pd.DataFrame({"day": pd.to_datetime(["2020-02-10"]), "n": [3]})
    spec = chart_spec("Days", days, lambda: alt.Chart(days).mark_bar().encode(x="n:Q", y="day:T"), tmp_path)
    assert spec["datasets"]["table"] == [{"day": "2020-02-10T00:00:00", "n": 3}]
    assert len(list(tmp_path.glob("*.json"))) == 1  # the Feeds shape only


def test_a_chart_of_more_than_five_thousand_rows_is_drawn():
    """Altair refuses more than 5,000 rows by default; a district's answers of three days are more."""
    from screenfuse.run_report import sections

    empty = lambda *columns: pd.DataFrame(columns=list(columns))  # noqa: E731
    frames = {"files": empty("feed", "rows_accepted", "rows_quarantined"), "quarantine": empty("file_name", "reason"),
              "kept": empty("file_name", "id_set_aside", "unreadable"), "status": empty("street", "status", "persons"),
              "runs": empty("batch_id"), "events": empty("batch_id", "event", "n"), "reviews": empty("batch_id", "n"),
              "day": empty("day", "label", "new_persons", "standing", "not_held"), "backlog": empty("street", "state", "items"),
              "answers": pd.DataFrame({"street": ["中华路街道"] * 6000, "answer_hours": [1.5] * 6000}),
              "silent": empty("report_day", "feed", "street"), "model": empty("model_id", "version", "params_json")}
    drawn = {s.title: s.svg for s in sections(frames, {})}
    assert drawn["Answer times per street"].startswith("<svg")


def test_a_report_written_again_after_its_run_labels_by_the_configured_policy(published):
    """The DAG's report task takes the run's policy while the stage holds it; cleared alone after
    the run finished (its stage emptied), it takes the configured policy instead of failing."""
    from screenfuse import pipeline
    from screenfuse.config import load_settings
    from screenfuse.run_report import write_report

    settings = load_settings()
    assert pipeline.report_policy(settings, "20200210T1300Z") is None  # the run is over
    assert write_report(settings, "20200210T1300Z", pipeline.report_policy(settings, "20200210T1300Z")).is_file()

