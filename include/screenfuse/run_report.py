"""The run report: one self-contained HTML page per batch (`reports/<batch>/index.html`) that a
data engineer or the command centre opens after a run, with charts.

Charts are Vega-Lite specifications built with Altair and rendered to SVG by vl-convert, inlined
in the page: no script, no network, nothing to install to read it. What it shows (aggregates only,
never a name, ID number or phone): rows per feed and quarantine reasons per unit of the batch;
people with a status per street; the runs of the last three days (rows, status changes, push
items, links, review items, merges and splits); the day's 应收尽收 figures; push backlog and answer
times per street; silent units; the matching model's weights per comparison level. Reads by
batch and by index (the last runs, the open items, the persons with a status), not the history.
Rendered charts are cached by what they are drawn from (`screenfuse.report_charts`).
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from screenfuse import warehouse
from screenfuse.report_charts import CHART_CACHE, chart_svg, prune_charts

RECENT_RUNS = 72  # the "over time" charts: the last three days of hourly runs
OPEN_STATES = ("open", "pushed", "acknowledged", "escalated")
WIDTH = 640
RUN_GROUPS = {"rows_accepted": "rows", "rows_quarantined": "rows", "status_changes": "persons", "merges": "persons",
              "splits": "persons", "links changed": "persons", "review items": "persons", "push_items": "push items",
              "push_items_answered": "push items", "push_items_escalated": "push items", "push_items_closed": "push items"}


@dataclass
class Section:
    title: str
    note: str
    svg: str  # '' when there is nothing to show (the note says so)


def _unit(file_name: str) -> str:
    """The unit a file's name names (`<unit>_<date>...`), as the zero reporting reads it."""
    return str(file_name or "").split("_")[0].rsplit(".", 1)[0] or "?"


def read_frames(conn, batch_id: str, statuses: list[str]) -> dict[str, pd.DataFrame]:
    """What the report needs, by batch and by index."""
    q = lambda sql, **p: warehouse.query_frame(conn, sql, **p)  # noqa: E731
    runs = q(f"SELECT * FROM run_log WHERE batch_id <= :b ORDER BY batch_id DESC LIMIT {RECENT_RUNS}", b=batch_id)
    since = runs["batch_id"].min() if len(runs) else batch_id
    named = {f"s{k}": s for k, s in enumerate(statuses)} or {"s0": ""}
    frames = {
        "runs": runs.sort_values("batch_id"),
        "files": q("SELECT feed, status, rows_read, rows_accepted, rows_quarantined FROM ingest_file WHERE batch_id = :b",
                   b=batch_id),
        "quarantine": q("SELECT feed, file_name, reason FROM quarantine WHERE batch_id = :b", b=batch_id),
        "kept": q("SELECT file_name, id_set_aside, unreadable FROM source_record WHERE batch_id = :b "
                  "AND (COALESCE(id_set_aside, '') <> '' OR COALESCE(unreadable, '') <> '')", b=batch_id),
        "status": q(f"""SELECT responsible_list AS street, status, COUNT(*) AS persons FROM person
                        WHERE status IN ({', '.join(':' + k for k in named)}) GROUP BY responsible_list, status""",
                    **named),
        "events": q("SELECT batch_id, event, COUNT(*) AS n FROM person_event WHERE batch_id >= :s AND batch_id <= :b "
                    "GROUP BY batch_id, event", s=since, b=batch_id),
        "reviews": q("SELECT batch_id, COUNT(*) AS n FROM match_review WHERE batch_id >= :s AND batch_id <= :b "
                     "GROUP BY batch_id", s=since, b=batch_id),
        "backlog": q(f"""SELECT street, state, COUNT(*) AS items FROM push_item
                         WHERE state IN ({', '.join(repr(s) for s in OPEN_STATES)}) GROUP BY street, state"""),
        "answers": q("SELECT street, answer_hours FROM push_item WHERE answered_batch_id >= :s AND answered_batch_id <= :b "
                     "AND answer_hours IS NOT NULL", s=since, b=batch_id),
        "silent": q("SELECT report_day, feed, street FROM silent_unit WHERE batch_id = :b", b=batch_id),
        "model": q("SELECT model_id, version, params_json FROM match_model WHERE promoted = 1 "
                   "ORDER BY version DESC LIMIT 1"),
    }
    try:  # the command centre's day (views over the day's records; absent on a warehouse without them)
        frames["day"] = q("SELECT day, label, new_persons, standing, not_held FROM v_daily_case_figures "
                          "WHERE day = (SELECT MAX(day) FROM v_report_day)")
    except Exception:  # noqa: BLE001 (a view the warehouse lacks must not lose the rest of the report)
        frames["day"] = pd.DataFrame(columns=["day", "label", "new_persons", "standing", "not_held"])
    return frames


def model_weights(params_json: str) -> pd.DataFrame:
    """comparison, level, bits (log2 m/u) of a stored model: Splink's "match weights" chart."""
    params = json.loads(params_json)
    rows = []
    for comparison in params.get("comparisons", []):
        for level, m, u in zip(comparison["levels"], comparison["m"], comparison["u"]):
            bits = math.log2(max(m, 1e-9) / max(u, 1e-9))
            rows.append({"comparison": comparison["column"], "level": level, "bits": round(max(min(bits, 30), -30), 2)})
    return pd.DataFrame(rows, columns=["comparison", "level", "bits"])


def sections(frames: dict[str, pd.DataFrame], status_labels: dict[str, str], cache: Path | None = None) -> list[Section]:
    """The report's charts, each with a one-line note saying what it shows (rendered charts and
    their specifications cached in `cache`, when given). Altair is imported for the first chart
    whose specification the cache does not hold. A chart's build never reads its frame's values
    (its kept specification is filled with other data): what depends on the data is in the frame."""
    alt = None
    out: list[Section] = []

    def draw(frame: pd.DataFrame, build):
        nonlocal alt
        if alt is None:
            import altair

            alt = altair
            # Altair refuses data of more than 5,000 rows (meant for charts a browser draws); these
            # are drawn here, and a district's answers of three days can be more
            alt.data_transformers.disable_max_rows()
        return build(alt.Chart(frame))

    def add(title: str, note: str, frame: pd.DataFrame, build) -> None:
        out.append(Section(title, note if len(frame) else note + " Nothing to show in this run.",
                           chart_svg(title, frame, lambda: draw(frame, build), cache) if len(frame) else ""))

    files = frames["files"].groupby("feed")[["rows_accepted", "rows_quarantined"]].sum().reset_index()
    rows = files.melt("feed", var_name="rows", value_name="count").replace(
        {"rows": {"rows_accepted": "accepted", "rows_quarantined": "quarantined"}})
    add("Rows per feed", "Rows this batch read from each feed, accepted or quarantined with a reason.", rows[rows["count"] > 0],
        lambda c: c.mark_bar().encode(y=alt.Y("feed:N", title=None), x=alt.X("count:Q", title="rows"),
                                      color=alt.Color("rows:N", scale=alt.Scale(range=["#4c78a8", "#e45756"]))
                                      ).properties(width=WIDTH))

    def unit_reason_bars(c):  # rows per unit, coloured by reason
        return c.mark_bar().encode(y=alt.Y("unit:N", title=None, sort="-x"), x=alt.X("rows:Q"),
                                   color=alt.Color("reason:N", legend=alt.Legend(orient="bottom", columns=1, labelLimit=600))
                                   ).properties(width=WIDTH)

    quarantine = frames["quarantine"].assign(unit=lambda f: f["file_name"].map(_unit),
                                             reason=lambda f: f["reason"].astype(str).str.slice(0, 60))
    reasons = quarantine.groupby(["unit", "reason"]).size().rename("rows").reset_index()
    reasons = reasons.sort_values("rows", ascending=False).head(40)
    add("Quarantine reasons per unit", "Why this batch's rows and files were set aside, by the unit that sent them "
        "(the 40 largest groups).", reasons, unit_reason_bars)
    add("Values set aside in rows kept, per unit", "Rows accepted with a value set aside: an ID number that is "
        "none (v_id_set_aside), an optional date that could not be read (v_unreadable_values); the values as sent "
        "stay in the rows' raw_json.", kept_values(frames["kept"]), unit_reason_bars)
    status = frames["status"].assign(status=lambda f: f["status"].map(status_labels).fillna(f["status"]))
    add("People with a status, per street", "Every person the warehouse holds with a status other than none, by "
        "the list responsible for them (street office or 区级清单).", status,
        lambda c: c.mark_bar().encode(y=alt.Y("street:N", title=None, sort="-x"), x=alt.X("persons:Q"),
                                      color=alt.Color("status:N")).properties(width=WIDTH))
    runs = frames["runs"]
    if len(runs):
        series = runs[["batch_id", "rows_accepted", "rows_quarantined", "status_changes", "push_items",
                       "push_items_answered", "push_items_escalated", "push_items_closed"]].copy()
        series["links changed"] = pd.to_numeric(runs["links_changed"], errors="coerce").fillna(0)  # as published
        events = frames["events"]
        for event in ("merge", "split"):
            series[f"{event}s"] = series["batch_id"].map(events[events["event"] == event].set_index("batch_id")["n"]).fillna(0)
        series["review items"] = series["batch_id"].map(frames["reviews"].set_index("batch_id")["n"]).fillna(0)
        long = series.melt("batch_id", var_name="figure", value_name="count")
        long["count"] = pd.to_numeric(long["count"], errors="coerce").fillna(0)
        long["group"] = long["figure"].map(RUN_GROUPS)
        long["figure"] = long["figure"].str.replace("push_items_", "items ").str.replace("_", " ")
    else:
        long = pd.DataFrame(columns=["batch_id", "figure", "count", "group"])
    add("The last runs", f"Per run (up to the last {RECENT_RUNS}): rows, status changes, push items, links changed, "
        "review items, merges and splits.", long,
        lambda c: c.mark_line(point=True).encode(x=alt.X("batch_id:O", title="batch"), y=alt.Y("count:Q", title=None),
                                                 color="figure:N").properties(width=WIDTH, height=120)
        .facet(row=alt.Row("group:N", title=None)).resolve_scale(y="independent", color="independent"))
    day = frames["day"].melt(["day", "label"], var_name="figure", value_name="persons") if len(frames["day"]) else frames["day"]
    add("应收尽收 today", "The command centre's figures of the latest day: new persons per category, standing, and "
        "those not yet held (docs/warehouse.md, Daily figures).", day,
        lambda c: c.mark_bar().encode(y=alt.Y("label:N", title=None), x=alt.X("persons:Q"), color="figure:N",
                                      yOffset="figure:N").properties(width=WIDTH))
    add("Push backlog per street", "Items still open on each street office's list, by state (escalated: past due).",
        frames["backlog"],
        lambda c: c.mark_bar().encode(y=alt.Y("street:N", title=None, sort="-x"), x=alt.X("items:Q"), color="state:N")
        .properties(width=WIDTH))
    add("Answer times per street", "Hours from push to answer, of the answers the last runs applied.",
        frames["answers"],
        lambda c: c.mark_boxplot().encode(y=alt.Y("street:N", title=None), x=alt.X("answer_hours:Q", title="hours"))
        .properties(width=WIDTH))
    silent = frames["silent"].groupby(["report_day", "feed"]).size().rename("units").reset_index()
    add("Silent units", "Units that sent nothing for a day whose deadline this run checked (zero reporting).", silent,
        lambda c: c.mark_bar().encode(y=alt.Y("feed:N", title=None), x=alt.X("units:Q"), color="report_day:N")
        .properties(width=WIDTH))
    blocking, blocking_note = blocking_figures(frames["runs"])
    add("Blocking", "Candidate pairs per blocking rule in this run: estimated from key counts before any block was "
        "split, after, and the pairs the rule proposed (a pair several rules propose counts for each; in an hour "
        "after the first, the estimate counts the records read around the new ones, the proposed pairs only "
        "those with a new record). "
        + blocking_note, blocking,
        lambda c: c.mark_bar().encode(y=alt.Y("rule:N", title=None, sort=None), x=alt.X("pairs:Q"),
                                      color=alt.Color("figure:N", sort=None), yOffset=alt.YOffset("figure:N", sort=None))
        .properties(width=WIDTH))
    weights = model_weights(frames["model"]["params_json"].iloc[0]) if len(frames["model"]) else model_weights("{}")
    add("The matching model", "Match weight (bits, log2 m/u) of each comparison level of the model hourly runs use: "
        "positive levels are evidence for the same person, negative against.", weights,
        lambda c: c.mark_bar().encode(y=alt.Y("level:N", title=None, sort=None), x=alt.X("bits:Q"),
                                      color=alt.condition("datum.bits > 0", alt.value("#4c78a8"), alt.value("#e45756")),
                                      row=alt.Row("comparison:N", title=None)).properties(width=WIDTH - 120))
    return out


def kept_values(kept: pd.DataFrame) -> pd.DataFrame:
    """Rows kept with a value set aside → rows per unit and reason (the 40 largest groups): the ID
    set-aside reasons as they are, each unreadable field as `<field> unreadable`."""
    units = kept["file_name"].map(_unit)
    ids = pd.DataFrame({"unit": units, "reason": kept["id_set_aside"].fillna("")})
    fields = kept["unreadable"].fillna("").str.split(", ")
    dates = pd.DataFrame({"unit": units, "field": fields}).explode("field")
    dates = pd.DataFrame({"unit": dates["unit"], "reason": dates["field"].fillna("") + " unreadable"})[dates["field"] != ""]
    both = pd.concat([ids[ids["reason"] != ""], dates], ignore_index=True)
    counts = both.groupby(["unit", "reason"]).size().rename("rows").reset_index()
    return counts.sort_values("rows", ascending=False).head(40)


def blocking_figures(runs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The reported batch's `match_blocking` (run_log; the latest of `runs`) as rows rule, figure,
    pairs, and a sentence on the splits, the blocks left out and the context comparisons."""
    empty = pd.DataFrame(columns=["rule", "figure", "pairs"])
    run = runs[runs["batch_id"] == runs["batch_id"].max()] if len(runs) else runs
    text = run["match_blocking"].iloc[0] if len(run) and "match_blocking" in run else None
    if not isinstance(text, str) or not text:
        return empty, "This run did not record it (published before revision 0025)."
    report = json.loads(text)
    rows, notes = [], []
    for r in report["rules"]:
        if r["estimated"] >= 0:
            rows.append((r["rule"], "estimated", r["estimated"]))
        if r["refined_with"] or r["capped_blocks"]:
            rows.append((r["rule"], "estimated after splitting", max(r["estimated_after"], 0)))
            notes.append(f"{r['rule']}: large blocks split by {r['refined_with'] or 'no further key'}"
                         + (f", {r['capped_blocks']} blocks left out" if r["capped_blocks"] else ""))
        if r["skipped_blocks"]:
            notes.append(f"{r['rule']}: {r['skipped_blocks']} blocks over the size limit left out")
        rows.append((r["rule"], "proposed", r["pairs"]))
    said = {"settings": "the settings", "model": "the model", "detected": "found in the data"}
    context = [f"{c['column']} ({said.get(c['why'], c['why'])})"
               for c in report["context"] if c["role"] == "context"]
    sentence = ("; ".join(notes) + ". ") if notes else "No block was split or left out. "
    sentence += f"Context (evidence a household shares): {', '.join(context)}." if context else "No context comparison."
    return pd.DataFrame(rows, columns=["rule", "figure", "pairs"]) if rows else empty, sentence


def render(batch_id: str, facts: list[tuple[str, str]], parts: list[Section]) -> str:
    """The page: a title, a table of the run's figures, then each chart with its note."""
    e = html.escape
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    body = "".join(f'<section><h2>{e(s.title)}</h2><p class="note">{e(s.note)}</p>'
                   f'{"<div class=chart>" + s.svg + "</div>" if s.svg else ""}</section>' for s in parts)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>screenfuse run {e(batch_id)}</title>'
            '<style>body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2rem;max-width:60rem}'
            'table{border-collapse:collapse}th,td{text-align:left;padding:.2rem .8rem;border-bottom:1px solid #ddd}'
            '.note{color:#555}section{margin-top:2rem}</style></head>'
            f'<body><h1>screenfuse run {e(batch_id)}</h1><table>{rows}</table>{body}</body></html>')


def build(conn, batch_id: str, policy, cache: Path | None = None) -> str:
    """The report of a published batch as HTML text (charts cached in `cache`, when given)."""
    statuses = [s for s in policy.status_priority if s != "none"]
    frames = read_frames(conn, batch_id, statuses)
    run = frames["runs"][frames["runs"]["batch_id"] == batch_id]
    if run.empty:
        raise LookupError(f"batch {batch_id} was not published — fix: give a published batch "
                          f"(`screenfuse summary` names the last one)")
    r = run.iloc[0]
    facts = [("batch", batch_id), ("data interval", f"{r['data_interval_start']} – {r['data_interval_end']}"),
             ("policy", str(r["policy_version"])), ("files seen", str(r["files_seen"])),
             ("rows read / accepted / quarantined", f"{r['rows_read']} / {r['rows_accepted']} / {r['rows_quarantined']}"),
             ("persons", str(r["persons"])), ("new push items", str(r["push_items"])),
             ("matching model", f"{r['match_model']} ({r['match_model_reason']})"),
             ("written", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))]
    return render(batch_id, facts, sections(frames, policy.status_labels, cache))


def write_report(settings, batch_id: str, policy=None) -> Path:
    """Write `reports/<batch>/index.html` (replacing an earlier one of the batch) and return its path."""
    from screenfuse.pipeline import engine
    from screenfuse.policy import configured_policy

    policy = policy or configured_policy()
    cache = settings.reports / CHART_CACHE
    with engine(settings).connect() as conn:
        text = build(conn, batch_id, policy, cache)
    prune_charts(cache)
    path = settings.reports / batch_id / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".partial")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)
    return path
