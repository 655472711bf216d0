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
from screenfuse.contracts import load_contract, load_contracts
from screenfuse.fuse import fuse_persons, person_counts_by_status
from screenfuse.gazetteer import load_gazetteer
from screenfuse.ingest import discover_files, empty_records, stage_file
from screenfuse.lifecycle import status_changes
from screenfuse.pushlist import plan_push_items, write_outbox
from screenfuse.readers import sha256_of
from screenfuse.records import RECORD_COLUMNS
from screenfuse.matching import Model
from screenfuse.policy import Policy, configured_policy, parse_policy
from screenfuse.resolve import resolve_identities
from screenfuse.validation import audit_persons, validate_rows
from screenfuse import warehouse

QUARANTINE_COLUMNS = ["quarantine_id", "batch_id", "feed", "file_name", "file_sha256", "row_number", "level", "reason", "raw_json"]


class ReconciliationError(RuntimeError):
    """Rows read ≠ rows accepted + rows quarantined for a file: something was lost."""


def batch_id_for(data_interval_end: datetime) -> str:
    """The batch key: the end of the hourly interval in UTC, e.g. 20200210T1300Z."""
    return data_interval_end.astimezone(timezone.utc).strftime("%Y%m%dT%H%MZ")


def feed_names() -> list[str]:
    return sorted(load_contracts())


def start_batch(settings: Settings, batch_id: str) -> dict:
    """Fresh work folder for the batch, a warehouse schema that is up to date, and the run's policy.

    The policy (SCREENFUSE_POLICY, else the packaged default) is loaded and checked here, once per
    run, and its text kept in the work folder: every later task of the run decides under the same
    policy even if the file is edited meanwhile; the next run picks up the edit."""
    folder = settings.batch_dir(batch_id)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    feeds = feed_names()
    policy = configured_policy(feeds)  # a broken file stops the run here, naming the key
    text = policy_text(policy)
    _path(settings, batch_id, "policy.yaml").write_text(text, encoding="utf-8")
    _path(settings, batch_id, "policy.json").write_text(json.dumps({"source": policy.source}), encoding="utf-8")
    warehouse.ensure_schema(warehouse.engine_for(settings.warehouse_url))
    return {"batch_id": batch_id, "feeds": feeds, "policy_version": policy.version}


def policy_text(policy: Policy) -> str:
    """The text of the file a policy was loaded from (the packaged default or SCREENFUSE_POLICY)."""
    from importlib import resources
    from pathlib import Path

    if policy.source.endswith("(packaged)"):
        return resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8")
    return Path(policy.source).read_text(encoding="utf-8")


def run_policy(settings: Settings, batch_id: str) -> Policy:
    """The policy this run started with (kept by start_batch)."""
    text = _path(settings, batch_id, "policy.yaml").read_text(encoding="utf-8")
    source = json.loads(_path(settings, batch_id, "policy.json").read_text(encoding="utf-8"))["source"]
    return parse_policy(text, source=source, feeds=feed_names())


def _path(settings: Settings, batch_id: str, name: str):
    return settings.batch_dir(batch_id) / name


def ingest_feed(settings: Settings, batch_id: str, feed: str) -> dict:
    """Register, read, map and normalize every new file of one feed; quarantine bad files whole."""
    contract, gazetteer = load_contract(feed), load_gazetteer()
    engine = warehouse.engine_for(settings.warehouse_url)
    registered = warehouse.read_frame(engine, "queries/registered_files.sql", batch_id=batch_id)
    loaded_in = dict(zip(registered["file_sha256"], registered["batch_id"]))
    files, frames, quarantined, seen = [], [], [], {}
    for path in discover_files(settings.landing, contract):
        sha = sha256_of(path)
        if sha in loaded_in or sha in seen:
            where = f"batch {loaded_in[sha]}" if sha in loaded_in else f"this batch as {seen[sha]}"
            files.append(_file_row(batch_id, feed, path.name, sha, "duplicate", f"same content already registered in {where}"))
            continue
        seen[sha] = path.name
        staged = stage_file(path, contract, gazetteer, sha)
        if staged.status == "quarantined":
            target = settings.quarantine / batch_id / feed / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            quarantined.append({"quarantine_id": f"{feed}-{sha[:12]}-file", "batch_id": batch_id, "feed": feed,
                                "file_name": path.name, "file_sha256": sha, "row_number": None,
                                "level": "file", "reason": staged.reason, "raw_json": None})
        files.append(_file_row(batch_id, feed, path.name, sha, "quarantined" if staged.status == "quarantined" else "loaded",
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
    if staged.empty:
        staged = empty_records().assign(reason="")
    else:
        staged["reason"] = validate_rows(staged, contract)
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
    quarantine.to_parquet(_path(settings, batch_id, f"{feed}.quarantine.parquet"), index=False)
    _path(settings, batch_id, f"{feed}.files.json").write_text(json.dumps(files, ensure_ascii=False), encoding="utf-8")
    return {"feed": feed, "rows_accepted": len(accepted), "rows_quarantined": len(failed),
            "files_quarantined": int((file_quarantine["level"] == "file").sum()) if len(file_quarantine) else 0}


def _batch_records(settings: Settings, batch_id: str) -> pd.DataFrame:
    frames = [pd.read_parquet(_path(settings, batch_id, f"{feed}.accepted.parquet")) for feed in feed_names()]
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
    cannot_link = warehouse.read_frame(engine, "queries/cannot_link.sql")
    incremental = len(previous) > 0
    result = resolve_identities(records, previous if incremental else None,
                                new_ids=new["source_record_id"].to_numpy() if incremental else None,
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
    """Push-list delta of the batch: new items, items to close, items to escalate."""
    engine = warehouse.engine_for(settings.warehouse_url)
    persons = pd.read_parquet(_path(settings, batch_id, "persons.parquet"))
    before = warehouse.read_frame(engine, "queries/push_items_before.sql", batch_id=batch_id)
    status_opens = pd.read_parquet(_path(settings, batch_id, "status_open.parquet"))
    plan = plan_push_items(persons, before, status_opens, batch_id, as_of.astimezone(timezone.utc),
                           run_policy(settings, batch_id))
    plan.new.to_parquet(_path(settings, batch_id, "push_items.parquet"), index=False)
    plan.closes.to_parquet(_path(settings, batch_id, "push_close.parquet"), index=False)
    plan.escalations.to_parquet(_path(settings, batch_id, "push_escalate.parquet"), index=False)
    reasons = plan.new["reason"].value_counts()
    return {"push_items": len(plan.new), "lists": int(plan.new["street"].nunique()) if len(plan.new) else 0,
            "new_measure": int(reasons.get("new_measure", 0)), "status_changed": int(reasons.get("status_changed", 0)),
            "rerouted": int(reasons.get("rerouted", 0)), "closed": len(plan.closes), "escalated": len(plan.escalations)}


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
    }, updates={
        "publish/close_status.sql": pd.read_parquet(_path(settings, batch_id, "status_close.parquet")),
        "publish/close_push_item.sql": pd.read_parquet(_path(settings, batch_id, "push_close.parquet")),
        "publish/escalate_push_item.sql": pd.read_parquet(_path(settings, batch_id, "push_escalate.parquet")),
    })
    return {k: v for k, v in run.items() if k not in ("airflow_run_id",)}


def write_push_lists(settings: Settings, batch_id: str) -> dict:
    """Outbox files for the batch's lists, read back from the warehouse; then its new items are
    marked pushed in this batch."""
    engine = warehouse.engine_for(settings.warehouse_url)
    items = warehouse.read_frame(engine, "queries/batch_push_list.sql", batch_id=batch_id)
    written = write_outbox(items, settings.outbox / batch_id, run_policy(settings, batch_id))
    pushed = warehouse.execute(engine, "publish/mark_pushed.sql", batch_id=batch_id)
    return {"outbox": str(settings.outbox / batch_id), "files": len(written), "pushed": pushed,
            "lists": len(written) // 2}


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
    published = publish(settings, batch_id, run_id, (interval_end - timedelta(hours=1), interval_end))
    write_push_lists(settings, batch_id)
    return published
