"""The hourly run's stages as plain functions: each reads and writes files under
work/<batch_id>/ or the warehouse, and returns a small dict of counts (no personal data), which is
what an Airflow task passes on. Every stage can be re-run for the same batch with the same result.
"""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import pandas as pd

from screenfuse.config import Settings
from screenfuse.contracts import load_contract, load_contracts, person_feeds
from screenfuse import feedback as fb
from screenfuse.fuse import fuse_persons, person_counts_by_status
from screenfuse.gazetteer import load_gazetteer
from screenfuse.ingest import discover_files, empty_records, stage_file
from screenfuse.lifecycle import status_changes
from screenfuse.pushlist import plan_push_items, write_outbox, write_tracing_list, write_zero_report
from screenfuse import reporting
from screenfuse.risk import community_levels
from screenfuse.readers import sha256_of
from screenfuse.records import RECORD_COLUMNS
from screenfuse.matching import Model
from screenfuse.policy import Policy, configured_policy_text, parse_policy
from screenfuse.resolve import resolve_identities
from screenfuse.validation import audit_persons, validate_rows
from screenfuse import schema, warehouse

QUARANTINE_COLUMNS = ["quarantine_id", "batch_id", "feed", "file_name", "file_sha256", "row_number", "level", "reason", "raw_json"]


class ReconciliationError(RuntimeError):
    """Rows read ≠ rows accepted + rows quarantined for a file: something was lost."""


def batch_id_for(data_interval_end: datetime) -> str:
    """The batch key: the end of the hourly interval in UTC, e.g. 20200210T1300Z."""
    return data_interval_end.astimezone(timezone.utc).strftime("%Y%m%dT%H%MZ")


def feed_names() -> list[str]:
    return sorted(load_contracts())


def start_batch(settings: Settings, batch_id: str) -> dict:
    """Fresh work folder for the batch, a warehouse at the code's schema revision (else
    WarehouseSchemaError: run `screenfuse db upgrade`), and the run's policy.

    The policy (SCREENFUSE_POLICY, else the packaged default) is loaded and checked here, once per
    run, and its text kept in the work folder: every later task of the run decides under the same
    policy even if the file is edited meanwhile; the next run picks up the edit."""
    schema.require_current(warehouse.engine_for(settings.warehouse_url))  # a run never creates or alters tables
    folder = settings.batch_dir(batch_id)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    feeds = feed_names()
    text, source = configured_policy_text()
    policy = parse_policy(text, source=source, feeds=person_feeds())  # a broken file stops the run here, naming the key
    _path(settings, batch_id, "policy.yaml").write_text(text, encoding="utf-8")
    _path(settings, batch_id, "policy.json").write_text(json.dumps({"source": policy.source}), encoding="utf-8")
    return {"batch_id": batch_id, "feeds": feeds, "policy_version": policy.version}


def run_policy(settings: Settings, batch_id: str) -> Policy:
    """The policy this run started with (kept by start_batch)."""
    text = _path(settings, batch_id, "policy.yaml").read_text(encoding="utf-8")
    source = json.loads(_path(settings, batch_id, "policy.json").read_text(encoding="utf-8"))["source"]
    return parse_policy(text, source=source, feeds=person_feeds())


def _path(settings: Settings, batch_id: str, name: str):
    return settings.batch_dir(batch_id) / name


def ingest_feed(settings: Settings, batch_id: str, feed: str) -> dict:
    """Register, read, map and normalize every new file of one feed; quarantine bad files whole."""
    contract, gazetteer = load_contract(feed), load_gazetteer()
    engine = warehouse.engine_for(settings.warehouse_url)
    registered = warehouse.read_frame(engine, "queries/registered_files.sql", batch_id=batch_id)
    zero = registered["status"] == "zero_report"
    loaded_in = dict(zip(registered.loc[~zero, "file_sha256"], registered.loc[~zero, "batch_id"]))
    # zero reports of different units may be byte for byte the same header: name and content count
    zero_in = dict(zip(zip(registered.loc[zero, "file_sha256"], registered.loc[zero, "file_name"]),
                       registered.loc[zero, "batch_id"]))
    files, frames, quarantined, seen, zero_seen = [], [], [], {}, set()
    for path in discover_files(settings.landing, contract):
        sha = sha256_of(path)
        if sha in loaded_in or sha in seen:
            where = f"batch {loaded_in[sha]}" if sha in loaded_in else f"this batch as {seen[sha]}"
            files.append(_file_row(batch_id, feed, path.name, sha, "duplicate", f"same content already registered in {where}"))
            continue
        if (sha, path.name) in zero_in or (sha, path.name) in zero_seen:
            where = f"batch {zero_in[(sha, path.name)]}" if (sha, path.name) in zero_in else "this batch"
            files.append(_file_row(batch_id, feed, path.name, sha, "duplicate", f"same zero report already registered in {where}"))
            continue
        staged = stage_file(path, contract, gazetteer, sha)
        if staged.status == "zero_report":
            zero_seen.add((sha, path.name))
        else:
            seen[sha] = path.name
        if staged.status == "quarantined":
            target = settings.quarantine / batch_id / feed / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            quarantined.append({"quarantine_id": f"{feed}-{sha[:12]}-file", "batch_id": batch_id, "feed": feed,
                                "file_name": path.name, "file_sha256": sha, "row_number": None,
                                "level": "file", "reason": staged.reason, "raw_json": None})
        status = {"quarantined": "quarantined", "zero_report": "zero_report"}.get(staged.status, "loaded")
        files.append(_file_row(batch_id, feed, path.name, sha, status,
                               staged.reason, staged.file_format, staged.encoding, staged.rows_read,
                               staged.blank_rows, staged.unmapped_headers))
        if not staged.records.empty:
            frames.append(staged.records)
    staged_rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    staged_rows.to_parquet(_path(settings, batch_id, f"{feed}.staged.parquet"), index=False)
    pd.DataFrame(quarantined, columns=QUARANTINE_COLUMNS).to_parquet(
        _path(settings, batch_id, f"{feed}.file_quarantine.parquet"), index=False)
    _path(settings, batch_id, f"{feed}.files.json").write_text(json.dumps(files, ensure_ascii=False), encoding="utf-8")
    return {"feed": feed, "files": len(files), "rows_staged": len(staged_rows),
            "files_quarantined": len(quarantined), "files_duplicate": sum(f["status"] == "duplicate" for f in files)}


def _file_row(batch_id, feed, name, sha, status, reason="", file_format="", encoding="", rows_read=0,
              blank_rows=0, unmapped=()) -> dict:
    return {"batch_id": batch_id, "feed": feed, "file_name": name, "file_sha256": sha, "status": status,
            "reason": reason, "file_format": file_format, "encoding": encoding, "rows_read": rows_read,
            "rows_accepted": 0, "rows_quarantined": 0, "blank_rows": blank_rows,
            "unmapped_headers": "|".join(unmapped)}


def validate_feed(settings: Settings, batch_id: str, feed: str) -> dict:
    """Row-level GX suite: accepted rows go on, failing rows are quarantined with their reasons."""
    contract = load_contract(feed)
    staged = pd.read_parquet(_path(settings, batch_id, f"{feed}.staged.parquet"))
    files = json.loads(_path(settings, batch_id, f"{feed}.files.json").read_text(encoding="utf-8"))
    answers = contract.kind == "answers"
    if staged.empty:
        staged = (_empty_answers() if answers else empty_records()).assign(reason="")
    else:
        staged["reason"] = validate_rows(staged, contract)
    if answers:
        # an answer must name an item that exists and is still open, once per batch
        items = warehouse.read_frame(warehouse.engine_for(settings.warehouse_url), "queries/push_items_before.sql",
                                     batch_id=batch_id)
        fine = staged["reason"] == ""
        staged.loc[fine, "reason"] = fb.check_answers(staged[fine], items)
        accepted = staged[staged["reason"] == ""].rename(
            columns={"source_record_id": "answer_id", "event_time": "answered_at"}).assign(batch_id=batch_id)[
            fb.ANSWER_COLUMNS]
    else:
        accepted = staged[staged["reason"] == ""].assign(batch_id=batch_id)[RECORD_COLUMNS]
    failed = staged[staged["reason"] != ""]
    row_quarantine = pd.DataFrame({
        "quarantine_id": failed["source_record_id"], "batch_id": batch_id, "feed": feed,
        "file_name": failed["file_name"], "file_sha256": failed["file_sha256"], "row_number": failed["row_number"],
        "level": "row", "reason": failed["reason"], "raw_json": failed["raw_json"],
    }, columns=QUARANTINE_COLUMNS)
    file_quarantine = pd.read_parquet(_path(settings, batch_id, f"{feed}.file_quarantine.parquet"))
    quarantine = pd.concat([q for q in (file_quarantine, row_quarantine) if not q.empty] or [row_quarantine], ignore_index=True)

    accepted_per_file = accepted.groupby("file_name").size()
    failed_per_file = failed.groupby("file_name").size()
    for row in files:
        if row["status"] == "loaded":
            row["rows_accepted"] = int(accepted_per_file.get(row["file_name"], 0))
            row["rows_quarantined"] = int(failed_per_file.get(row["file_name"], 0))
        elif row["status"] == "quarantined":
            row["rows_quarantined"] = row["rows_read"]
        if row["rows_read"] != row["rows_accepted"] + row["rows_quarantined"]:
            raise ReconciliationError(f"{feed}/{row['file_name']}: rows read {row['rows_read']} != accepted "
                                      f"{row['rows_accepted']} + quarantined {row['rows_quarantined']}")
    accepted.to_parquet(_path(settings, batch_id, f"{feed}.accepted.parquet"), index=False)
    # who reported (zero reporting): the unit in each file's name, and the units of its rows
    run_day = reporting.local_day(batch_time(batch_id), run_policy(settings, batch_id).zero_report.timezone).isoformat()
    files_frame = pd.DataFrame(files, columns=["file_name", "status"]) if files else pd.DataFrame(columns=["file_name", "status"])
    reporting.deliveries(feed, files_frame[["file_name", "status"]], staged[["file_name", "unit"]],
                         reporting.expected_units(), run_day).assign(batch_id=batch_id).to_parquet(
        _path(settings, batch_id, f"{feed}.deliveries.parquet"), index=False)
    quarantine.to_parquet(_path(settings, batch_id, f"{feed}.quarantine.parquet"), index=False)
    _path(settings, batch_id, f"{feed}.files.json").write_text(json.dumps(files, ensure_ascii=False), encoding="utf-8")
    return {"feed": feed, "rows_accepted": len(accepted), "rows_quarantined": len(failed),
            "files_quarantined": int((file_quarantine["level"] == "file").sum()) if len(file_quarantine) else 0}


def batch_time(batch_id: str) -> datetime:
    """The end of the batch's interval (the inverse of `batch_id_for`)."""
    return datetime.strptime(batch_id, "%Y%m%dT%H%MZ").replace(tzinfo=timezone.utc)


def check_zero_reports(settings: Settings, batch_id: str, as_of: datetime) -> dict:
    """Zero reporting: for each day whose deadline passed since the last check, the expected units
    of each feed that sent nothing for it (not even a header-only file) are silent."""
    engine = warehouse.engine_for(settings.warehouse_url)
    rules = run_policy(settings, batch_id).zero_report
    units = reporting.expected_units()
    mine = [pd.read_parquet(_path(settings, batch_id, f"{feed}.deliveries.parquet")) for feed in feed_names()]
    mine = pd.concat([f for f in mine if not f.empty] or [pd.DataFrame(columns=reporting.DELIVERY_COLUMNS)],
                     ignore_index=True)
    before = warehouse.read_frame(engine, "queries/unit_deliveries_before.sql", batch_id=batch_id)
    delivered = pd.concat([f for f in (before, mine) if not f.empty] or [mine], ignore_index=True)
    first = warehouse.read_frame(engine, "queries/first_run.sql", batch_id=batch_id)["first_end"].iloc[0]
    first_end = datetime.strptime(first, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) if first else as_of
    first_day = reporting.local_day(min(first_end, as_of), rules.timezone)
    checked = warehouse.read_frame(engine, "queries/zero_report_checked.sql", batch_id=batch_id)
    silent, checks = [], []
    for feed, hour in sorted(rules.deadline_hour.items()):
        done = set(checked.loc[checked["feed"] == feed, "report_day"])
        days = [d for d in reporting.days_due(first_day, as_of, rules.timezone, hour) if d.isoformat() not in done]
        quiet, check = reporting.silent_units(units, delivered, feed, days)
        silent.append(quiet)
        checks.append(check)
    silent = pd.concat(silent, ignore_index=True).assign(batch_id=batch_id)
    checks = pd.concat(checks, ignore_index=True).assign(batch_id=batch_id)
    mine.assign(batch_id=batch_id).to_parquet(_path(settings, batch_id, "unit_delivery.parquet"), index=False)
    silent.to_parquet(_path(settings, batch_id, "silent_unit.parquet"), index=False)
    checks.to_parquet(_path(settings, batch_id, "zero_report_check.parquet"), index=False)
    return {"days_checked": int(checks["report_day"].nunique()) if len(checks) else 0,
            "units_expected": len(units), "silent": len(silent), "deliveries": len(mine)}


def rate_communities(settings: Settings, batch_id: str) -> dict:
    """Each community's risk level under the run's policy, from the persons living there."""
    persons = pd.read_parquet(_path(settings, batch_id, "persons.parquet"))
    levels = community_levels(persons, load_gazetteer().communities, run_policy(settings, batch_id), batch_id)
    levels.to_parquet(_path(settings, batch_id, "community_risk.parquet"), index=False)
    return {"communities": len(levels), "by_level": {k: int(v) for k, v in levels["risk_level"].value_counts().items()}}


def _empty_answers() -> pd.DataFrame:
    columns = ["source_record_id", "feed", "file_name", "file_sha256", "row_number", "unit", "event_time",
               "push_item_id", "result", "verifier", "note", "raw_json"]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _batch_answers(settings: Settings, batch_id: str) -> pd.DataFrame:
    """The batch's accepted feedback answers (every feed of kind `answers`)."""
    frames = [pd.read_parquet(_path(settings, batch_id, f"{feed}.accepted.parquet"))
              for feed in sorted(set(feed_names()) - set(person_feeds()))]
    frames = [f for f in frames if not f.empty]
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame({c: pd.Series(dtype=object) for c in fb.ANSWER_COLUMNS}))


def _batch_records(settings: Settings, batch_id: str) -> pd.DataFrame:
    frames = [pd.read_parquet(_path(settings, batch_id, f"{feed}.accepted.parquet")) for feed in person_feeds()]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_records()


def resolve(settings: Settings, batch_id: str) -> dict:
    """Match this batch's records against earlier persons and each other (incremental after the
    first batch), with the stored model; the first batch trains and stores one."""
    engine = warehouse.engine_for(settings.warehouse_url)
    before = warehouse.read_frame(engine, "queries/source_records_before.sql", batch_id=batch_id)
    new = _batch_records(settings, batch_id)
    records = pd.concat([f for f in (before, new) if not f.empty] or [new], ignore_index=True)[RECORD_COLUMNS]
    records["temperature"] = pd.to_numeric(records["temperature"], errors="coerce")
    records["row_number"] = records["row_number"].astype("int64")
    previous = warehouse.read_frame(engine, "queries/previous_links.sql", batch_id=batch_id)
    stored = warehouse.read_frame(engine, "queries/latest_match_model.sql", batch_id=batch_id)
    model = Model.from_json(stored["params_json"].iloc[0]) if len(stored) and len(previous) else None
    cannot_link = warehouse.read_frame(engine, "queries/cannot_link.sql", batch_id=batch_id)
    incremental = len(previous) > 0
    result = resolve_identities(records, previous if incremental else None,
                                new_ids=new["source_record_id"].to_numpy(dtype=object) if incremental else None,
                                model=model, cannot_link=cannot_link)
    links = result.links.merge(previous.rename(columns={"person_id": "person_before"}), on="source_record_id", how="left")
    changed = links["person_before"].isna() | (links["person_before"] != links["person_id"])
    links["changed_batch_id"] = links["changed_batch_id"].where(~changed, batch_id)
    links["previous_person_id"] = links["previous_person_id"].where(~changed, links["person_before"])
    # a record this batch did not touch keeps the weight and explanation of the link that joined it
    kept = (links["match_rule"] == "kept") & links["kept_rule"].notna()
    for column in ("weight", "probability", "rule", "explanation"):
        target = column if column == "explanation" else f"match_{column}"
        links[target] = links[target].where(~kept, links[f"kept_{column}"])
    links = links.drop(columns=["person_before", "kept_weight", "kept_probability", "kept_rule", "kept_explanation"])
    links.to_parquet(_path(settings, batch_id, "links.parquet"), index=False)
    review = result.review.assign(batch_id=batch_id, state="open")
    review.insert(0, "review_id", [f"R{batch_id}-{a}-{b}" for a, b in zip(review["left_record_id"], review["right_record_id"])])
    review.to_parquet(_path(settings, batch_id, "review.parquet"), index=False)
    result.changes.assign(batch_id=batch_id).to_parquet(_path(settings, batch_id, "person_events.parquet"), index=False)
    model_rows = pd.DataFrame([{"model_id": batch_id, "preset": "zh_person", "params_json": result.model.to_json()}]
                              if result.model_trained else [], columns=["model_id", "preset", "params_json"])
    model_rows.to_parquet(_path(settings, batch_id, "match_model.parquet"), index=False)
    records.to_parquet(_path(settings, batch_id, "all_records.parquet"), index=False)
    return {"records": len(records), "new_records": len(new), "persons": int(result.links["person_id"].nunique()),
            "review_items": len(review), "merges": int((result.changes["event"] == "merge").sum()),
            "splits": int((result.changes["event"] == "split").sum()), "incremental": incremental,
            "model_trained": result.model_trained}


def fuse(settings: Settings, batch_id: str, as_of: datetime) -> dict:
    records = pd.read_parquet(_path(settings, batch_id, "all_records.parquet"))
    links = pd.read_parquet(_path(settings, batch_id, "links.parquet"))
    policy = run_policy(settings, batch_id)
    persons = fuse_persons(records, links, load_gazetteer().streets, _iso(as_of), policy)
    persons["batch_id"] = batch_id
    persons.to_parquet(_path(settings, batch_id, "persons.parquet"), index=False)
    engine = warehouse.engine_for(settings.warehouse_url)
    current = warehouse.read_frame(engine, "queries/status_before.sql", batch_id=batch_id)
    opens, closes = status_changes(persons, current, batch_id, _iso(as_of), policy)
    opens.to_parquet(_path(settings, batch_id, "status_open.parquet"), index=False)
    closes.to_parquet(_path(settings, batch_id, "status_close.parquet"), index=False)
    return {"persons": len(persons), "by_status": person_counts_by_status(persons, policy),
            "policy_version": policy.version, "status_changes": len(opens),
            "expired": int((opens["change"] == "expired").sum())}


def plan_push(settings: Settings, batch_id: str, as_of: datetime) -> dict:
    """Push-list delta of the batch: the street offices' answers applied first (feedback), then
    new items, items to close, items to escalate."""
    engine = warehouse.engine_for(settings.warehouse_url)
    persons = pd.read_parquet(_path(settings, batch_id, "persons.parquet"))
    before = warehouse.read_frame(engine, "queries/push_items_before.sql", batch_id=batch_id)
    status_opens = pd.read_parquet(_path(settings, batch_id, "status_open.parquet"))
    answers = _batch_answers(settings, batch_id).rename(columns={"answered_at": "event_time"})
    answer_plan = fb.plan_answers(answers, before,
                                  warehouse.read_frame(engine, "queries/previous_links.sql", batch_id=batch_id),
                                  warehouse.read_frame(engine, "queries/cannot_link.sql", batch_id=batch_id), batch_id,
                                  run_policy(settings, batch_id).zero_report.timezone)
    plan = plan_push_items(persons, fb.items_with_answers(before, answer_plan), status_opens, batch_id,
                           as_of.astimezone(timezone.utc), run_policy(settings, batch_id))
    closes = pd.concat([plan.closes, fb.answer_closes(answer_plan, plan.closes, batch_id, _iso(as_of))],
                       ignore_index=True)
    plan.new.to_parquet(_path(settings, batch_id, "push_items.parquet"), index=False)
    closes.to_parquet(_path(settings, batch_id, "push_close.parquet"), index=False)
    answer_plan.updates.to_parquet(_path(settings, batch_id, "push_answer.parquet"), index=False)
    answer_plan.tracing.to_parquet(_path(settings, batch_id, "police_tracing.parquet"), index=False)
    answer_plan.cannot_link.to_parquet(_path(settings, batch_id, "cannot_link.parquet"), index=False)
    plan.escalations.to_parquet(_path(settings, batch_id, "push_escalate.parquet"), index=False)
    reasons = plan.new["reason"].value_counts()
    return {"push_items": len(plan.new), "lists": int(plan.new["street"].nunique()) if len(plan.new) else 0,
            "new_measure": int(reasons.get("new_measure", 0)), "status_changed": int(reasons.get("status_changed", 0)),
            "rerouted": int(reasons.get("rerouted", 0)), "closed": len(closes), "escalated": len(plan.escalations),
            "answered": len(answer_plan.updates), "traced": len(answer_plan.tracing),
            "cannot_link_pairs": len(answer_plan.cannot_link)}


def publish(settings: Settings, batch_id: str, airflow_run_id: str, interval: tuple[datetime, datetime]) -> dict:
    """Audit the outputs, then write everything of the batch to the warehouse in one transaction."""
    persons = pd.read_parquet(_path(settings, batch_id, "persons.parquet"))
    links = pd.read_parquet(_path(settings, batch_id, "links.parquet"))
    policy = run_policy(settings, batch_id)
    problems = audit_persons(persons, links, policy.status_priority)
    if problems:
        raise RuntimeError("output audit failed, nothing published: " + "; ".join(problems))
    feeds = feed_names()
    files = pd.DataFrame([row for feed in feeds for row in json.loads(
        _path(settings, batch_id, f"{feed}.files.json").read_text(encoding="utf-8"))])
    quarantine = pd.concat([pd.read_parquet(_path(settings, batch_id, f"{feed}.quarantine.parquet")) for feed in feeds],
                           ignore_index=True)
    push_items = pd.read_parquet(_path(settings, batch_id, "push_items.parquet"))
    new_records = _batch_records(settings, batch_id)
    run = {
        "batch_id": batch_id, "airflow_run_id": airflow_run_id,
        "data_interval_start": _iso(interval[0]), "data_interval_end": _iso(interval[1]), "status": "published",
        "files_seen": len(files), "files_loaded": int((files.get("status") == "loaded").sum()) if len(files) else 0,
        "files_duplicate": int((files.get("status") == "duplicate").sum()) if len(files) else 0,
        "files_quarantined": int((files.get("status") == "quarantined").sum()) if len(files) else 0,
        "rows_read": int(files["rows_read"].sum()) if len(files) else 0,
        "rows_accepted": int(files["rows_accepted"].sum()) if len(files) else 0,
        "rows_quarantined": int(files["rows_quarantined"].sum()) if len(files) else 0,
        "persons": len(persons), "push_items": len(push_items),
        "push_items_closed": len(pd.read_parquet(_path(settings, batch_id, "push_close.parquet"))),
        "push_items_escalated": len(pd.read_parquet(_path(settings, batch_id, "push_escalate.parquet"))),
        "push_items_answered": len(pd.read_parquet(_path(settings, batch_id, "push_answer.parquet"))),
        "status_changes": len(pd.read_parquet(_path(settings, batch_id, "status_open.parquet"))),
        "policy_version": policy.version,
        "policy_sha256": policy.sha256,
    }
    if run["rows_read"] != run["rows_accepted"] + run["rows_quarantined"]:
        raise ReconciliationError(f"batch {batch_id}: rows read != accepted + quarantined")
    warehouse.publish(warehouse.engine_for(settings.warehouse_url), batch_id, {
        "source_record": new_records, "person_link": links, "person": persons, "quarantine": quarantine,
        "ingest_file": files, "push_item": push_items, "run_log": pd.DataFrame([run]),
        "match_review": pd.read_parquet(_path(settings, batch_id, "review.parquet")),
        "person_event": pd.read_parquet(_path(settings, batch_id, "person_events.parquet")),
        "match_model": pd.read_parquet(_path(settings, batch_id, "match_model.parquet")),
        "person_status": pd.read_parquet(_path(settings, batch_id, "status_open.parquet")),
        "push_feedback": _batch_answers(settings, batch_id),
        "police_tracing": pd.read_parquet(_path(settings, batch_id, "police_tracing.parquet")),
        "match_cannot_link": pd.read_parquet(_path(settings, batch_id, "cannot_link.parquet")),
        "unit_delivery": pd.read_parquet(_path(settings, batch_id, "unit_delivery.parquet")),
        "silent_unit": pd.read_parquet(_path(settings, batch_id, "silent_unit.parquet")),
        "zero_report_check": pd.read_parquet(_path(settings, batch_id, "zero_report_check.parquet")),
        "community_risk": pd.read_parquet(_path(settings, batch_id, "community_risk.parquet")),
    }, updates={
        "publish/answer_push_item.sql": pd.read_parquet(_path(settings, batch_id, "push_answer.parquet")),
        "publish/close_status.sql": pd.read_parquet(_path(settings, batch_id, "status_close.parquet")),
        "publish/close_push_item.sql": pd.read_parquet(_path(settings, batch_id, "push_close.parquet")),
        "publish/escalate_push_item.sql": pd.read_parquet(_path(settings, batch_id, "push_escalate.parquet")),
    })
    return {k: v for k, v in run.items() if k not in ("airflow_run_id",)}


def write_push_lists(settings: Settings, batch_id: str) -> dict:
    """Outbox files for the batch's lists, read back from the warehouse (and the police tracing
    list and the daily zero-report checks of the batch); then its new items are marked pushed in
    this batch."""
    engine = warehouse.engine_for(settings.warehouse_url)
    items = warehouse.sort_rows(warehouse.read_frame(engine, "queries/batch_push_list.sql", batch_id=batch_id),
                                ["street", "community", "due_at", "person_id"])
    written = write_outbox(items, settings.outbox / batch_id, run_policy(settings, batch_id))
    tracing = warehouse.sort_rows(warehouse.read_frame(engine, "queries/batch_police_tracing.sql", batch_id=batch_id),
                                  ["street", "push_item_id"])
    written += write_tracing_list(tracing, settings.outbox / batch_id)
    checks = warehouse.sort_rows(warehouse.read_frame(engine, "queries/batch_silent_units.sql", batch_id=batch_id),
                                 ["report_day", "feed", "street", "unit_id"])
    reports = write_zero_report(checks, settings.outbox / batch_id)
    pushed = warehouse.execute(engine, "publish/mark_pushed.sql", batch_id=batch_id)
    return {"outbox": str(settings.outbox / batch_id), "files": len(written), "pushed": pushed,
            "lists": len(written) // 2, "traced": len(tracing), "zero_report_files": len(reports)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_batch(settings: Settings, interval_end: datetime, run_id: str = "cli") -> dict:
    """Every stage in order, in this process: what the DAG does, for debugging without Airflow."""
    batch_id = batch_id_for(interval_end)
    start_batch(settings, batch_id)
    for feed in feed_names():
        ingest_feed(settings, batch_id, feed)
        validate_feed(settings, batch_id, feed)
    resolve(settings, batch_id)
    fuse(settings, batch_id, interval_end)
    plan_push(settings, batch_id, interval_end)
    check_zero_reports(settings, batch_id, interval_end)
    rate_communities(settings, batch_id)
    published = publish(settings, batch_id, run_id, (interval_end - timedelta(hours=1), interval_end))
    write_push_lists(settings, batch_id)
    return published
