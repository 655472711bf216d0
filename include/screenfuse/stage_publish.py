"""Publish stages: plan the push lists, check zero reports, rate communities, publish the batch
in one transaction (the outbox is `stage_outbox`'s).

Reads, by index: push items of the persons in focus, deliveries of the days being checked, the
counts of persons with a status per community. Writes only what changed: new rows of the batch,
and the rows of the persons it touched replaced (their before-images kept so that a re-run of
the batch restores them first, see `pipeline.take_back`).
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pandas as pd
import sqlalchemy as sa

from screenfuse import feedback as fb
from screenfuse import (batch_rows, isolation, labels, match_state, publish_ahead, reporting, retrain, review_desk,
                        revocation, schema, screening_state, sqlite_bulk, sqlite_fold, warehouse)
from screenfuse.config import Settings
from screenfuse.contracts import reference_feeds
from screenfuse.gazetteer import load_gazetteer
from screenfuse.pipeline import (BatchOrderError, batch_time, check_order, engine, feed_names, guard, iso,
                                 latest_published, run_policy, state, take_back)
from screenfuse.pushlist import PushPlan, plan_push_items
from screenfuse.risk import community_levels
from screenfuse.scratch_ahead import FIRST_LOAD, ORDER, scratch_rows
from screenfuse.stage_ingest import ITEM_COLUMNS_READ, ReconciliationError
from screenfuse.stage_match import batch_answers, batch_records
from screenfuse.text_keys import is_in
from screenfuse.validation import AUDITED_PERSON_COLUMNS, GX_BESIDE_FROM, ImportBeside, audit_persons, orphan_links

PLANNED_PERSON_COLUMNS = ["person_id", "status", "measure", "responsible_list", "community", "status_reason"]


def plan_push(settings: Settings, batch_id: str, as_of: datetime, attempt: str | None = None) -> dict:
    """Push-list delta of the batch: the street offices' answers applied first (feedback), then
    new items, items to close, items to escalate, for the persons in focus."""
    guard(settings, batch_id, attempt)
    stage, policy = state(settings, batch_id, attempt), run_policy(settings, batch_id, attempt)
    # the persons' columns the plans read: a first load's persons whole are a GB (3 s to read)
    persons, links_before = stage.get("persons", PLANNED_PERSON_COLUMNS), stage.get("links_before")
    answers = batch_answers(stage).rename(columns={"answered_at": "event_time"})
    apart, decisions, gone = stage.get("answer_apart"), stage.get("decisions"), stage.get("persons_gone")
    with engine(settings).begin() as conn:
        # no item yet (a first load): the sorted list of its million persons would find none
        people = [] if warehouse.is_empty(conn, "push_item") else sorted(
            set(links_before["person_id"].tolist()) | set(persons["person_id"].tolist()) | set(gone["person_id"].tolist()))
        by_person = warehouse.rows_by_keys(conn, "push_item", "person_id", people, columns=ITEM_COLUMNS_READ)
        named = warehouse.rows_by_keys(conn, "push_item", "push_item_id", answers["push_item_id"].astype(str),
                                       columns=ITEM_COLUMNS_READ)
        known = match_state.cannot_link_among(conn, pd.concat([apart["left_record_id"], apart["right_record_id"],
                                                               decisions["left_record_id"], decisions["right_record_id"]]))
    before = pd.concat([by_person, named], ignore_index=True).drop_duplicates("push_item_id")
    answer_plan = fb.plan_answers(answers, before, links_before, known, batch_id, policy.timezone)
    # the pairs the resolution kept apart (stage_match.answered_apart: a revoked answer keeps none),
    # those not stored before
    stored = set(zip(known["left_id"].tolist(), known["right_id"].tolist()))
    apart = apart[pd.Series([pair not in stored for pair in zip(apart["left_record_id"], apart["right_record_id"])],
                            index=apart.index, dtype=bool)]
    answer_plan = replace(answer_plan, cannot_link=apart.reset_index(drop=True))
    plan = plan_push_items(persons, fb.items_with_answers(before, answer_plan), stage.get("status_open"), batch_id,
                           as_of.astimezone(timezone.utc), policy)
    # missed daily checks at isolation points: items beside the persons' measures (screenfuse.isolation)
    missed_new, missed_closes = isolation.plan_items(stage.get("isolation_missed"), stage.get("isolation_stay"), persons,
                                                     fb.items_with_answers(before, answer_plan), batch_id,
                                                     as_of.astimezone(timezone.utc), policy)
    plan = PushPlan(pd.concat([f for f in (plan.new, missed_new) if len(f)] or [plan.new], ignore_index=True),
                    pd.concat([f for f in (plan.closes, missed_closes) if len(f)] or [plan.closes], ignore_index=True),
                    plan.escalations[~plan.escalations["push_item_id"].isin(missed_closes["push_item_id"])])
    closes = pd.concat([plan.closes, fb.answer_closes(answer_plan, plan.closes, batch_id, iso(as_of))], ignore_index=True)
    # the review decisions' `different` pairs are kept apart for good, beside the answers' pairs
    reviewed_apart = review_desk.cannot_link_rows(decisions, pd.concat(
        [known, answer_plan.cannot_link.rename(columns={"left_record_id": "left_id", "right_record_id": "right_id"})],
        ignore_index=True), batch_id)
    cannot_link = pd.concat([f for f in (answer_plan.cannot_link, reviewed_apart) if len(f)] or [answer_plan.cannot_link],
                            ignore_index=True)
    pair_labels = pd.concat([labels.from_answers(answer_plan.cannot_link, answer_plan.updates),
                             review_desk.labels_from(decisions, batch_id)], ignore_index=True)
    with stage.writing():
        for name, frame in (("push_items", plan.new), ("push_close", closes), ("push_answer", answer_plan.updates),
                            ("police_tracing", answer_plan.tracing), ("cannot_link", cannot_link),
                            ("push_escalate", plan.escalations), ("labels", pair_labels)):
            stage.put(name, frame)
    reasons = plan.new["reason"].value_counts()
    return {"push_items": len(plan.new), "lists": int(plan.new["street"].nunique()) if len(plan.new) else 0,
            "new_measure": int(reasons.get("new_measure", 0)), "status_changed": int(reasons.get("status_changed", 0)),
            "rerouted": int(reasons.get("rerouted", 0)), "missed_check": int(reasons.get(isolation.MISSED_REASON, 0)),
            "closed": len(closes), "escalated": len(plan.escalations),
            "answered": len(answer_plan.updates), "traced": len(answer_plan.tracing),
            "cannot_link_pairs": len(cannot_link), "review_decisions": len(decisions)}


def check_zero_reports(settings: Settings, batch_id: str, as_of: datetime, attempt: str | None = None) -> dict:
    """Zero reporting, for every feed the policy's `zero_report` names: each day whose deadline
    passed since the last check is checked (its units on time, late (迟报) or silent); a report of
    a day checked before, from a unit found silent then, makes it late and updates the day's row."""
    guard(settings, batch_id, attempt)
    stage, rules = state(settings, batch_id, attempt), run_policy(settings, batch_id, attempt).zero_report
    units = reporting.expected_units(rules.deadline_hour)
    mine = [stage.get(f"{feed}.deliveries") for feed in feed_names()]
    mine = pd.concat([f for f in mine if not f.empty] or [pd.DataFrame(columns=reporting.DELIVERY_COLUMNS)],
                     ignore_index=True)
    previous = stage.get_json("started_after")["batch_id"]
    found = {name: [] for name in ("silent_unit", "late_report", "zero_report_check", "zero_report_update")}
    with engine(settings).begin() as conn:
        manifest = warehouse.query_frame(conn, "SELECT feed, file_name, file_mtime_ns FROM batch_manifest "
                                               "WHERE batch_id = :b", b=batch_id)
        mine = mine[reporting.DELIVERY_COLUMNS].merge(manifest, on=["feed", "file_name"], how="left")
        mine["arrived_at"] = reporting.arrivals(mine.pop("file_mtime_ns"), batch_time(previous) if previous else None, as_of)
        first = conn.exec_driver_sql("SELECT MIN(data_interval_end) FROM run_log").scalar()
        first_end = datetime.strptime(first, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) if first else as_of
        first_day = reporting.local_day(min(first_end, as_of), rules.timezone)
        # a run long after the last one (a paused DAG, a demo's 2020 data) checks the last days only
        first_day = max(first_day, reporting.local_day(as_of, rules.timezone) - timedelta(days=rules.max_days_back))
        for feed, hour in sorted(rules.deadline_hour.items()):
            done = set(warehouse.query_frame(conn, "SELECT report_day FROM zero_report_check WHERE feed = :f "
                                                   "AND report_day >= :d", f=feed, d=first_day.isoformat())["report_day"])
            days = [d for d in reporting.days_due(first_day, as_of, rules.timezone, hour) if d.isoformat() not in done]
            before = _rows_of_days(conn, "unit_delivery", "feed, unit_id, report_day, file_name, row_count, arrived_at",
                                   feed, [d.isoformat() for d in days])
            delivered = pd.concat([f for f in (before, mine) if not f.empty] or [mine], ignore_index=True)
            quiet, late, check = reporting.check_days(units, delivered, feed, days, hour, rules.timezone)
            found["silent_unit"].append(quiet)
            found["late_report"].append(late)
            found["zero_report_check"].append(check)
            again = mine[(mine["feed"] == feed) & mine["report_day"].isin(done)]  # reports of days checked before
            if len(again):
                old_days = sorted(set(again["report_day"].tolist()))
                late, updated = reporting.late_after_check(
                    again, _rows_of_days(conn, "silent_unit", "*", feed, old_days),
                    _rows_of_days(conn, "late_report", "*", feed, old_days),
                    _rows_of_days(conn, "zero_report_check", "*", feed, old_days))
                found["late_report"].append(late)
                found["zero_report_update"].append(updated)
    frames = {name: pd.concat(parts, ignore_index=True) if parts else pd.DataFrame() for name, parts in found.items()}
    frames["zero_report_check"] = frames["zero_report_check"].assign(changed_batch_id=batch_id)
    with stage.writing():
        for name in ("silent_unit", "late_report", "zero_report_check"):
            stage.put(name, frames[name].assign(batch_id=batch_id))
        stage.put("zero_report_update", frames["zero_report_update"])
        stage.put("unit_delivery", mine.assign(batch_id=batch_id))
    checks, late = frames["zero_report_check"], frames["late_report"]
    return {"days_checked": int(checks["report_day"].nunique()) if len(checks) else 0, "units_expected": len(units),
            "silent": len(frames["silent_unit"]), "late": len(late),
            "late_after_check": int(late["after_check"].sum()) if len(late) else 0, "deliveries": len(mine)}


def _rows_of_days(conn, table: str, columns: str, feed: str, days: list[str]) -> pd.DataFrame:
    """Rows of a zero-reporting table for one feed and some days (by its (report_day, feed) index)."""
    if not days:
        return pd.DataFrame(columns=[c.strip() for c in columns.split(",")] if columns != "*" else [])
    warehouse.load_keys(conn, "k_days", pd.DataFrame({"v": days}))
    return warehouse.query_frame(conn, f"SELECT {columns} FROM {table} WHERE feed = :f "
                                       "AND report_day IN (SELECT v FROM k_days)", f=feed)


def rate_communities(settings: Settings, batch_id: str, attempt: str | None = None) -> dict:
    """Each community's risk level under the run's policy: persons with a status, as the
    warehouse holds them with the persons this batch fused in their place."""
    guard(settings, batch_id, attempt)
    stage = state(settings, batch_id, attempt)
    persons = stage.get("persons", ["person_id", "community", "status"])
    policy = run_policy(settings, batch_id, attempt)
    # the statuses by name, not `<> 'none'`: an inequality reads every person, a list reads by index
    statuses = {f"s{i}": name for i, name in enumerate(policy.status_priority) if name != "none"}
    living = persons[["community", "status"]]
    with engine(settings).begin() as conn:
        # no person stored yet (a first load): none to count, and a temporary table of its million
        # persons, then made Python objects, would cost seconds for none
        if not warehouse.is_empty(conn, "person"):
            replaced = set(persons["person_id"].tolist()) | set(stage.get("persons_gone")["person_id"].tolist())
            warehouse.load_keys(conn, "k_replaced", pd.DataFrame({"person_id": pd.Series(sorted(replaced), dtype=object)}))
            stored = warehouse.query_frame(conn, f"""
                SELECT community, status, COUNT(*) AS n FROM person
                WHERE status IN ({', '.join(':' + k for k in statuses)})
                  AND person_id NOT IN (SELECT person_id FROM k_replaced)
                GROUP BY community, status""", **statuses)  # counts, not persons: the database does the reading
            stored = stored.loc[stored.index.repeat(stored["n"].astype(int)), ["community", "status"]]
            living = pd.concat([stored, living], ignore_index=True)
    levels = community_levels(living, load_gazetteer().communities, policy, batch_id)
    stage.put("community_risk", levels)
    return {"communities": len(levels), "by_level": {k: int(v) for k, v in levels["risk_level"].value_counts().items()}}


UPDATES = {"publish/answer_push_item.sql": "push_answer", "publish/close_status.sql": "status_close",
           "publish/close_push_item.sql": "push_close", "publish/escalate_push_item.sql": "push_escalate"}
INSERTS = {"quarantine": None, "ingest_file": None, "push_item": "push_items", "match_review": "review",
           "person_event": "person_events", "match_model": "match_model", "person_status": "status_open",
           "push_feedback": None, "police_tracing": "police_tracing", "match_cannot_link": "cannot_link",
           "unit_delivery": "unit_delivery", "silent_unit": "silent_unit", "zero_report_check": "zero_report_check",
           "late_report": "late_report", "isolation_missed_check": "isolation_missed",
           "community_risk": "community_risk", "match_record": "match_record", "match_key": "match_key",
           "match_label": "labels"}


# tables whose rows a first load brings by the million: each is read from the stage when it is
# written and let go after, so the publish never holds them all at once
LARGE = {"match_record": lambda stage: stage.get("match_record"), "match_key": lambda stage: stage.get("match_key"),
         "screening_sample": screening_state.batch_samples, "screening_result": screening_state.batch_results,
         "person_status": lambda stage: stage.get("status_open")}
BULK_LOADS = {"source_record": batch_records, **LARGE}  # written whole from the stage


def publish(settings: Settings, batch_id: str, airflow_run_id: str, interval: tuple[datetime, datetime],
            attempt: str | None = None, ahead: sqlite_bulk.Scratch | None = None, told=None, fold: bool = True,
            analyze: bool = True) -> dict:
    """Write the batch in one transaction: its new rows, the rows of the persons it touched that
    came out different, the counts. The person rows written are audited (GX) before the commit:
    a failed audit publishes nothing. A batch published before is taken back first. `ahead`: the
    tables `screenfuse run` wrote into a scratch of its own while fuse ran (`scratch_ahead`).
    `told`: this publish began beside resolve, and is told how far the run is (`publish_ahead`).
    `fold` False: SQLite's commit leaves its log for `screenfuse run` to fold in beside (`sqlite_fold`).
    `analyze` False: the statistics after a bulk load are left to the caller (`screenfuse run`
    refreshes them beside the push lists and the report: `statistics_refreshed` is None here)."""
    stage, db = state(settings, batch_id, attempt), engine(settings)
    if told is not None:
        return publish_ahead.publishing(db, stage, batch_id, told, lambda conn, transaction, copied: _publish(
            settings, stage, db, batch_id, airflow_run_id, interval, attempt, sqlite_bulk.Scratch(db, batch_id),
            held=(conn, transaction, copied), analyze=analyze))
    # SQLite: a first load's largest tables go to scratch files (sqlite_bulk.py), written by a
    # process of their own while the transaction goes on (an hour's batch, far smaller, is never read for it)
    with sqlite_bulk.Scratch(db, batch_id) as bulk:
        large = bulk.active and stage.rows_staged() >= bulk.threshold
        with db.connect() as conn:
            empty = [table for table in FIRST_LOAD if large and warehouse.is_empty(conn, table)]
        if large:  # the payloads read now: the transaction may hold the warehouse alone
            bulk.adopt(ahead)
            bulk.stage_behind(scratch_rows(stage, batch_id, empty,
                                           [table for table in ORDER if table not in bulk.tables]))
        first_load = large and len(empty) == len(FIRST_LOAD)  # no person yet: no reader has anything to read
        return _publish(settings, stage, db, batch_id, airflow_run_id, interval, attempt, bulk, first_load, fold=fold,
                        analyze=analyze)


def _publish(settings: Settings, stage, db, batch_id: str, airflow_run_id: str, interval: tuple[datetime, datetime],
             attempt: str | None, bulk: sqlite_bulk.Scratch, first_load: bool = False, held: tuple | None = None,
             fold: bool = True, analyze: bool = True) -> dict:
    """The publish's audits and its one transaction; `bulk` holds the tables staged for it. A
    first load's transaction may have the SQLite warehouse to itself (`Scratch.journal_alone`):
    inside the transaction the stage is read through the transaction's own connection. `held`:
    (connection, its transaction begun, the tables it holds already) of a publish begun ahead."""
    conn, transaction, copied = held or (None, None, set())
    policy = run_policy(settings, batch_id, attempt)
    # the scratch attached before the stage is read: its writer, which a first load's publish waits
    # for, starts at once (3.7 s sooner) while this process reads and audits. The journal is left
    # once every other connection is closed, after the reading
    with (nullcontext(conn) if held else db.connect()) as conn, bulk.attached(conn), ImportBeside() as gx:
        # a first load's persons and links are copied from the scratch: only the columns checked
        # here are read (a million persons as a frame are 0.8 GB, 2 to 7 s of the publish's own
        # path); the whole rows only if their scratch was not written (`whole`)
        narrow = first_load or "person" in copied  # the rows go in whole from elsewhere: the audit's columns only
        persons = stage.get("persons", AUDITED_PERSON_COLUMNS if narrow else None)
        if len(persons) >= GX_BESIDE_FROM:  # the audit's library, while the tables are copied (the writer is forked)
            gx.start()
        links = stage.get("links", ["person_id"] if first_load or "person_link" in copied else None)
        orphans = orphan_links(persons, links)
        if orphans:
            raise RuntimeError(f"output audit failed, nothing published: {orphans}")
        feeds = feed_names()
        files = pd.DataFrame([row for feed in feeds for row in stage.get_json(f"{feed}.files")])
        frames = {"quarantine": pd.concat([stage.get(f"{feed}.quarantine") for feed in feeds], ignore_index=True),
                  "ingest_file": files, "push_feedback": batch_answers(stage)}
        frames.update({table: stage.get(name) for table, name in INSERTS.items() if name and table not in LARGE})
        updates = {query_file: stage.get(name) for query_file, name in UPDATES.items()}
        counts = {name: len(updates[f]) for f, name in UPDATES.items()} | {"status_open": len(stage.get("status_open", ["person_id"]))}
        gone = stage.get("persons_gone")["person_id"]
        run = {
            "batch_id": batch_id, "airflow_run_id": airflow_run_id, "data_interval_start": iso(interval[0]),
            "data_interval_end": iso(interval[1]), "status": "published", "files_seen": len(files),
            **{f"files_{s}": int(files["status"].isin(k).sum()) if len(files) else 0  # held (schema drift): quarantined this run
               for s, k in (("loaded", ["loaded"]), ("duplicate", ["duplicate"]), ("quarantined", ["quarantined", "held", "changed"]))},
            **{c: int(files[c].sum()) if len(files) else 0 for c in ("rows_read", "rows_accepted", "rows_quarantined")},
            "push_items": len(frames["push_item"]), "push_items_closed": counts["push_close"],
            "push_items_escalated": counts["push_escalate"], "push_items_answered": counts["push_answer"],
            "status_changes": counts["status_open"], "policy_version": policy.version, "policy_sha256": policy.sha256,
            **stage.get_json("model_used"),
        }
        if run["rows_read"] != run["rows_accepted"] + run["rows_quarantined"]:
            raise ReconciliationError(f"batch {batch_id}: rows read != accepted + quarantined")
        started_after = stage.get_json("started_after")["batch_id"]

        def write(table: str) -> None:
            if table in copied:
                return
            copied.add(table)
            if table == "match_key":
                return write_keys()
            if bulk.copy(conn, table) is None:
                warehouse.bulk_insert(conn, table, BULK_LOADS[table](stage))

        def whole(table: str, name: str, frame: pd.DataFrame) -> pd.DataFrame:
            """`frame`, or the stage's whole rows of `name` when a first load's scratch of `table`
            was not written (its rows then go the tuple path, every column of them)."""
            return frame if not first_load or bulk.ready(table) else stage.get(name)

        def write_keys() -> None:
            """The batch's block keys: an hour's to the recent keys' table (match_state.key_table)."""
            count = bulk.rows("match_key")  # once the scratch's writer is done with it
            keys = stage.get("match_key") if count is None else None
            count = len(keys) if keys is not None else count
            into, run["recent_keys"] = match_state.key_table(conn, count, held_keys)
            if keys is None:
                bulk.copy(conn, "match_key", into)
            else:
                warehouse.bulk_insert(conn, into, keys)

        with sqlite_fold.unfolded(conn, fold), bulk.journal_alone(conn, first_load), transaction or conn.begin(), \
                stage.reading(conn):
            warehouse.lock_for_publish(conn)  # one publish at a time; the check below sees the others' work
            stage.check(conn)  # a run of this batch started since this one: it publishes, this one stops
            if check_order(conn, batch_id):
                if copied:  # published meanwhile by another run (which superseded this one): its rows are here
                    raise BatchOrderError(f"batch {batch_id} was published while this run of it ran: nothing published")
                take_back(conn, batch_id)
            if latest_published(conn) != started_after:
                raise BatchOrderError(f"batch {latest_published(conn)} was published while batch {batch_id} ran: "
                                      f"clear the whole run of {batch_id} (from start_batch) so it starts from there")
            batch_rows.keep_only(conn, batch_id)  # only the latest can be re-run
            warehouse.bulk_insert(conn, "batch_undo", pd.DataFrame([{"batch_id": batch_id, "table_name": "#batch",
                                                                     "row_key": batch_id, "row_json": None}]))
            # the persons and links first and let go: a first load's records, written next, are the largest
            latest = conn.exec_driver_sql(
                "SELECT persons, recent_keys FROM run_log ORDER BY batch_id DESC LIMIT 1").first()
            before, held_keys = (int(latest[0] or 0), int(latest[1] or 0)) if latest else (0, 0)
            run["recent_keys"] = held_keys
            for table in bulk.adopted:  # written ahead: copied while the scratch's writer writes the rest
                write(table)
            # what BI tools will read from now on: a first load writes every person, audited while
            # the scratch's writer writes them; an hour, the rows that came out different
            problems = audit_persons(persons, policy.status_priority) if narrow else []
            persons = whole("person", "persons", persons)
            existed, written = (set(), persons) if "person" in copied else batch_rows.replace_rows(
                conn, batch_id, "person", "person_id", persons, delete_keys=gone, same_unless=("as_of",), staged=bulk)
            if not narrow:
                problems = audit_persons(written, policy.status_priority)
            if problems:
                raise RuntimeError("output audit failed, nothing published: " + "; ".join(problems))
            run["persons"] = int(before) + int((~is_in(persons["person_id"], list(existed))).sum()) - len(set(gone) & existed)
            rewritten = len(written)
            del persons, written
            if "person_link" not in copied:  # copied ahead into the empty table: publish_ahead
                batch_rows.replace_rows(conn, batch_id, "person_link", "source_record_id", whole("person_link", "links", links),
                                       batch_column="changed_batch_id", staged=bulk)
            run["links_changed"] = len(links)  # for the run report, which would otherwise count them every hour
            del links
            write("source_record")
            if "match_term" not in copied:
                match_state.add_terms(conn, batch_id, stage.get("match_term"), staged=bulk)
            if "screening_outcome" not in copied:
                batch_rows.replace_rows(conn, batch_id, "screening_outcome", "source_record_id", stage.get("screening_outcome"),
                                       same_unless=("as_of",), staged=bulk)
            batch_rows.replace_rows(conn, batch_id, "zero_report_check", "check_key", stage.get("zero_report_update"),
                                   batch_column="changed_batch_id")  # days checked before, now with late reports
            batch_rows.replace_rows(conn, batch_id, "contact_edge", "source_record_id", stage.get("contact_edges"), same_unless=())
            points = [stage.get(f"{feed}.accepted") for feed in reference_feeds()]
            points = pd.concat([p for p in points if len(p)], ignore_index=True) if any(len(p) for p in points) else None
            if points is not None:  # the points list: the latest row of a point replaces the stored one
                batch_rows.replace_rows(conn, batch_id, "isolation_point", "point_name",
                                       points.drop_duplicates("point_name", keep="last"), same_unless=())
            for query_file, frame in updates.items():
                if len(frame):
                    rows = warehouse.statement_rows(frame, list(frame.columns))
                    for statement in warehouse.sql_statements(query_file):
                        conn.execute(sa.text(statement.rstrip(";")), rows)
            for table, frame in frames.items():
                warehouse.bulk_insert(conn, table, frame)
            for table in LARGE:  # read from the stage one at a time: a first load holds GBs of them
                write(table)
            retrain.relink_if_promoted_meanwhile(conn, batch_id, run["match_model"])
            revocation.mark_applied(conn, stage.get_json("revocations")["push_item_ids"], batch_id)
            decisions = stage.get("decisions")  # returned review lists' decisions stored; the command line's applied
            warehouse.bulk_insert(conn, "match_decision", decisions[decisions["source"] == "file"][review_desk.DECISION_COLUMNS])
            review_desk.mark_applied(conn, decisions[decisions["source"] == "cli"], batch_id)
            review_desk.close_items(conn, batch_id, frames["match_review"], decisions, frames["match_cannot_link"])
            warehouse.bulk_insert(conn, "run_log", pd.DataFrame([run]))
    analyzed = schema.refresh_statistics(db, run["rows_accepted"], int(before)) if analyze else None
    # persons_rewritten and persons_before are for the task log and the caller; run_log has no such columns
    return {k: v for k, v in run.items() if k != "airflow_run_id"} | {
        "persons_rewritten": rewritten, "persons_before": int(before), "statistics_refreshed": analyzed}
