"""The run summary printed by `screenfuse summary` (and `make demo`): counts only, no personal data."""
from __future__ import annotations

import unicodedata

from screenfuse import schema, warehouse
from screenfuse.command_centre import command_centre_lines
from screenfuse.config import Settings, safe_url
from screenfuse.policy import configured_policy


WIDE = 22  # the longest feed name (mass_screening_result) and a space


def summary_text(settings: Settings) -> tuple[str, bool]:
    engine = warehouse.engine_for(settings.warehouse_url)
    if schema.revision(engine).label == "empty":
        return f'no published run: the warehouse is empty ({schema.UPGRADE_HINT}, then a run)', False
    schema.require_current(engine)
    last = warehouse.read_frame(engine, "queries/last_run.sql")
    if last.empty:
        return "no published run in the warehouse yet", False
    run = last.iloc[0]
    feeds = warehouse.sort_rows(warehouse.read_frame(engine, "queries/summary_feeds.sql"), ["feed"])
    status = warehouse.read_frame(engine, "queries/summary_status.sql").set_index("status")["persons"]
    push = warehouse.sort_rows(warehouse.read_frame(engine, "queries/summary_push.sql"), ["street"])
    lines = [f"last batch {run.batch_id} ({run.status}), warehouse {safe_url(settings.warehouse_url)}",
             f"policy {run.policy_version}", "",
             f"{'feed':<{WIDE}} files  dup  bad-file   rows read  accepted  quarantined"]
    for f in feeds.itertuples():
        lines.append(f"{f.feed:<{WIDE}} {f.files:>5} {f.files_duplicate:>4} {f.files_quarantined:>9} "
                     f"{f.rows_read:>11} {f.rows_accepted:>9} {f.rows_quarantined:>12}")
    balanced = bool((feeds["rows_read"] == feeds["rows_accepted"] + feeds["rows_quarantined"]).all())
    held = feeds[feeds["files_held"].fillna(0).astype(int) > 0]
    if len(held):  # schema drift: read again every run until the contract knows the new names
        lines.append("held for schema drift (runs that held a file; see ingest_file.reason): "
                     + ", ".join(f"{f.feed} {int(f.files_held)}" for f in held.itertuples()))
    lines += [f"every row accounted for (read = accepted + quarantined): {'yes' if balanced else 'NO'}", "",
              f"persons resolved: {int(status.sum())}"]
    # labels and order of the configured policy; a status it no longer defines is listed after
    policy = configured_policy()
    labels = policy.status_labels
    order = list(policy.status_priority) + sorted(set(status.index) - set(policy.status_priority))
    lines += [f"  {s:<17} {_pad(labels.get(s, ''), 14)} {int(status.get(s, 0)):>6}" for s in order]
    escalated = int(push["escalated"].sum()) if len(push) else 0
    lines += ["", f"open push-list items: {int(push['items'].sum()) if len(push) else 0} in {len(push)} lists"
              f" ({escalated} escalated, 超时)"]
    lines += [f"  {_pad(p.street, 14)} {p.items:>5}" + (f"  超时 {int(p.escalated)}" if p.escalated else "")
              for p in push.itertuples()]
    lines += [""] + command_centre_lines(engine, policy.timezone, _pad, policy.city_lists)
    lines += [""] + isolation_lines(engine)
    lines += [""] + loop_lines(engine)
    lines += ["", f"outbox:     {settings.outbox}", f"quarantine: {settings.quarantine} (and table quarantine)",
              "warehouse tables: person, person_status, source_record, person_link, quarantine, push_item, push_feedback, "
              "police_tracing, community_risk, silent_unit, late_report, run_log, ingest_file (BI views v_*)"]
    return "\n".join(lines), balanced


def summary_data(settings: Settings) -> tuple[dict, bool]:
    """What `summary` prints, as data (`summary --json`): counts and names only, no personal data."""
    import json

    engine = warehouse.engine_for(settings.warehouse_url)
    if schema.revision(engine).label == "empty":
        return {"published": False, "message": f"the warehouse is empty ({schema.UPGRADE_HINT}, then a run)"}, False
    schema.require_current(engine)
    last = warehouse.read_frame(engine, "queries/last_run.sql")
    if last.empty:
        return {"published": False, "message": "no published run in the warehouse yet"}, False
    records = lambda frame: json.loads(frame.to_json(orient="records", force_ascii=False))  # noqa: E731
    read = lambda name: warehouse.read_frame(engine, f"queries/{name}.sql")  # noqa: E731
    feeds = warehouse.sort_rows(read("summary_feeds"), ["feed"])
    status = read("summary_status")
    balanced = bool((feeds["rows_read"] == feeds["rows_accepted"] + feeds["rows_quarantined"]).all())
    run = last.iloc[0]
    with engine.connect() as conn:
        reviews = int(conn.exec_driver_sql("SELECT COUNT(*) FROM v_match_review").scalar() or 0)
    data = {"published": True, "last_batch": str(run.batch_id), "status": str(run.status),
            "policy": str(run.policy_version), "warehouse": safe_url(settings.warehouse_url),
            "feeds": records(feeds), "every_row_accounted": balanced,
            "persons_by_status": {str(k): int(v) for k, v in zip(status["status"], status["persons"])},
            "open_push_items": records(warehouse.sort_rows(read("summary_push"), ["street"])),
            "loop": records(read("summary_loop").fillna(0))[0], "answers": records(read("summary_answers")),
            "closed": records(read("summary_closed")), "community_risk": records(read("summary_risk")),
            "zero_reports": records(warehouse.sort_rows(read("summary_silent"), ["report_day", "feed"])),
            "open_review_items": reviews, "outbox": str(settings.outbox), "reports": str(settings.reports)}
    return data, balanced


def loop_lines(engine) -> list[str]:
    """The loop's figures: push items over their life, answers, communities per risk level,
    silent units per day."""
    loop = warehouse.read_frame(engine, "queries/summary_loop.sql").fillna(0).iloc[0]
    answers = warehouse.sort_rows(warehouse.read_frame(engine, "queries/summary_answers.sql"), ["result"])
    closed = warehouse.sort_rows(warehouse.read_frame(engine, "queries/summary_closed.sql"), ["close_reason"])
    risk = warehouse.sort_rows(warehouse.read_frame(engine, "queries/summary_risk.sql"), ["risk_rank", "risk_level"])
    silent = warehouse.sort_rows(warehouse.read_frame(engine, "queries/summary_silent.sql"), ["report_day", "feed"])
    lines = [f"the loop over {int(loop.runs)} runs: {int(loop.pushed)} items pushed, {int(loop.answered)} answered "
             f"({int(loop.answered_late)} after their due time), {int(loop.escalated)} escalated (超时), "
             f"{int(loop.closed)} closed, {int(loop.done)} done, {int(loop.still_open)} still open"]
    lines.append("  answers:  " + ", ".join(f"{a.result} {int(a.answers)}" for a in answers.itertuples()) if len(answers)
                 else "  answers:  none")
    lines.append("  closed:   " + ", ".join(f"{c.close_reason} {int(c.items)}" for c in closed.itertuples()) if len(closed)
                 else "  closed:   none")
    lines.append(f"  police tracing list (公安协查清单): {int(loop.traced)} people; 非本人: {int(loop.cannot_link_pairs)} "
                 f"record pairs kept apart, {int(loop.splits)} persons split")
    lines += ["", f"communities per risk level (latest run): {int(risk['communities'].sum()) if len(risk) else 0}"]
    lines += [f"  {r.risk_level:<17} {_pad(r.risk_label, 14)} {int(r.communities):>6}" for r in risk.itertuples()]
    lines += ["", "zero reporting (零报告): units expected / reported / of them late (迟报) / silent per day"]
    lines += [f"  {z.report_day}  {z.feed:<11} {int(z.expected):>4} {int(z.reported):>5} {int(z.late):>4} {int(z.silent):>5}"
              for z in silent.itertuples()] or ["  no day checked yet (a day is checked after its deadline)"]
    return lines


def isolation_lines(engine) -> list[str]:
    """The isolation points on their latest day: persons held, rooms free, daily checks missed."""
    points = warehouse.sort_rows(warehouse.read_frame(engine, "queries/summary_isolation.sql"), ["point"])
    if points.empty:
        return ["isolation points (隔离点): no daily monitoring yet"]
    rooms = points["rooms"].fillna(0).astype(int)
    lines = [f"isolation points (隔离点), {points['day'].iloc[0]} (v_isolation_occupancy): {len(points)} points, "
             f"{int(points['held'].sum())} held in {int(rooms.sum())} rooms, {int(points['missed'].sum())} daily checks "
             "missed (漏报)"]
    lines += [f"  {_pad(p.point, 20)} {_pad(p.street, 12)} held {int(p.held):>4} of {int(r):>4} rooms, missed "
              f"{int(p.missed):>3}" for p, r in zip(points.itertuples(), rooms)]
    return lines


def _pad(text: str, width: int) -> str:
    """Left-align text whose CJK characters take two columns in a terminal."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - columns, 0)
