"""Retention: personal data is kept only as long as the policy says.

A person whose last change (`person.as_of`: a record, a status, a measure ending) is older than
`retention.days_after_last_measure` and who has no measure now is retired: its name, ID number,
phone, address, birth date and pseudonyms are removed from `person`, its source records keep
only what is not personal (feed, unit, times, statuses, street and community), its matching
state goes (no later record is compared with it). Its person id, statuses, push items and counts
stay, so the figures do not change. Raw rows older than the same cutoff go too: quarantined
rows', answers' and lab results' `raw_json`, the names of the staff who answered, decided or
revoked and their notes, staged work of batches that never finished, the
landing files taken by older batches, and the quarantine copies and push lists of older batches. What was
removed is counted in `retention_run` (counts, never the data).

Read by index (`ix_person_retention`: retired_at, as_of); run daily, not hourly.
"""
from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta, timezone

import pandas as pd
import sqlalchemy as sa

from screenfuse import match_state, warehouse
from screenfuse.batch_state import ATTEMPT
from screenfuse.config import Settings
from screenfuse.pipeline import batch_id_for, iso, latest_published

PERSON_COLUMNS = ("name", "id_number", "birth_date", "phone", "address", "id_pseudonym", "phone_pseudonym")
RECORD_COLUMNS = ("name", "name_pinyin", "id_number", "birth_date", "region_code", "phone", "phone2", "address",
                  "contact_of_name", "contact_of_id", "details_json", "raw_json")
FILES_TAKEN = ("loaded", "duplicate", "quarantined", "zero_report")  # not `held`: such a file still waits


class RetentionDeferred(RuntimeError):
    """An hourly run is in progress: retention waits (it would remove what that run has read)."""


def retire(settings: Settings, engine: sa.Engine, days: float, now: datetime) -> dict:
    """Remove what is older than `days` before `now`, in one transaction under the publish lock
    (an hourly run never sees half of it), and never while a batch runs (RetentionDeferred); the
    files after the commit. Returns the counts it recorded."""
    from screenfuse.resolve import SETTINGS

    cutoff = now.astimezone(timezone.utc) - timedelta(days=days)
    cut, cut_batch = iso(cutoff), batch_id_for(cutoff)
    counts = {}
    with engine.begin() as conn:
        warehouse.lock_for_publish(conn)  # no batch starts or publishes while this runs
        latest = latest_published(conn) or ""
        running = conn.execute(sa.text("SELECT MIN(batch_id) FROM batch_stage WHERE name = :a AND batch_id > :l"),
                               {"a": ATTEMPT, "l": latest}).scalar()
        if running:  # it read persons and records this would blank: it would publish them back
            raise RetentionDeferred(f"batch {running} has started and is not published (running, or failed and "
                                    "waiting to be cleared): retention removed nothing and runs again later")
        persons = warehouse.query_frame(
            conn, "SELECT person_id FROM person WHERE retired_at IS NULL AND as_of < :cut "
                  "AND (measure IS NULL OR measure = '')", cut=cut)["person_id"]
        records = warehouse.rows_by_keys(conn, "person_link", "person_id", persons, columns="source_record_id")
        record_ids = records["source_record_id"]
        counts["persons"] = _blank(conn, "person", "person_id", persons, PERSON_COLUMNS, retired_at=iso(now))
        counts["source_records"] = _blank(conn, "source_record", "source_record_id", record_ids, RECORD_COLUMNS)
        counts["match_keys"], counts["match_records"] = match_state.forget_records(conn, record_ids, SETTINGS)
        counts["undo_rows"] = _forget_images(conn, pd.concat([persons, record_ids]))
        counts["quarantine_rows"] = conn.execute(sa.text(
            "UPDATE quarantine SET raw_json = NULL WHERE batch_id < :b AND raw_json IS NOT NULL"), {"b": cut_batch}).rowcount
        counts["answer_rows"] = conn.execute(sa.text(
            "UPDATE push_feedback SET raw_json = NULL, note = NULL WHERE batch_id < :b AND raw_json IS NOT NULL"),
            {"b": cut_batch}).rowcount
        counts["staff_rows"] = _forget_staff(conn, cut_batch)
        counts["stage_rows"] = conn.execute(sa.text("DELETE FROM batch_stage WHERE batch_id < :b"), {"b": cut_batch}).rowcount
        counts["lab_rows"] = conn.execute(sa.text(
            "UPDATE screening_result SET raw_json = NULL WHERE batch_id < :b AND raw_json IS NOT NULL"),
            {"b": cut_batch}).rowcount
        files = _files_taken_before(conn, settings, cut_batch)
        folders = _folders_before(settings, cut_batch)
        counts["landing_files"], counts["folders"] = len(files), len(folders)
        run = {"run_id": f"{iso(now)}/{uuid.uuid4().hex[:8]}", "cutoff": cut, "days": float(days), **counts}
        warehouse.bulk_insert(conn, "retention_run", pd.DataFrame([run]))
    # files go once the rows are committed: a rollback above leaves every file where it was
    for path in files:
        path.unlink(missing_ok=True)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return run


REMOVED = "(removed by retention)"  # in place of a name or reason a column may not leave empty
# who answered, decided or revoked, and the free text beside it, per table: (batch column, columns)
STAFF_COLUMNS = {"push_item": ("answered_batch_id", ("answered_by",)),
                 "push_feedback": ("batch_id", ("verifier", "note")),
                 "match_decision": ("applied_batch_id", ("decided_by", "note")),
                 "answer_revocation": ("applied_batch_id", ("revoked_by", "reason"))}
REQUIRED = {"decided_by", "revoked_by", "reason"}  # NOT NULL columns: REMOVED instead of NULL


def _forget_staff(conn, cut_batch: str) -> int:
    """Staff names and notes of rows that batches older than the cutoff applied (by each table's
    batch index); a second pass changes nothing."""
    changed = 0
    for table, (batch, columns) in STAFF_COLUMNS.items():
        sets = ", ".join(f"{c} = {':gone' if c in REQUIRED else 'NULL'}" for c in columns)
        left = " OR ".join(f"({c} IS NOT NULL AND {c} <> :gone)" for c in columns)
        changed += conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE {batch} < :b AND ({left})"),
                                {"b": cut_batch, "gone": REMOVED}).rowcount or 0
    return changed


def _blank(conn, table: str, key: str, keys: pd.Series, columns, **also) -> int:
    """Set `columns` to NULL (and `also`) on the rows of `keys`, by key."""
    if not len(keys):
        return 0
    name = warehouse.load_keys(conn, f"k_retire_{table}", pd.DataFrame({key: keys.astype(object)}))
    sets = ", ".join([f"{c} = NULL" for c in columns] + [f"{c} = :{c}" for c in also])
    return conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE {key} IN (SELECT {key} FROM {name})"), also).rowcount


def _forget_images(conn, keys: pd.Series) -> int:
    """The latest batch's before-images of these persons' and records' rows lose their values
    (personal data); each keeps its key, so taking that batch back deletes the row the batch
    wrote, as it does a row the batch created, instead of leaving it with the batch's values."""
    if not len(keys):
        return 0
    name = warehouse.load_keys(conn, "k_retire_undo", pd.DataFrame({"row_key": keys.astype(str).astype(object)}))
    return conn.exec_driver_sql(f"UPDATE batch_undo SET row_json = NULL WHERE row_json IS NOT NULL "
                                f"AND row_key IN (SELECT row_key FROM {name})").rowcount


def _files_taken_before(conn, settings: Settings, cut_batch: str) -> list:
    """Landing files batches older than the cutoff took, still there as they were taken (same
    size and modification time: a newer file under the same name is not theirs). A file held
    for schema drift still waits: kept."""
    taken = warehouse.query_frame(conn, f"""
        SELECT m.feed, m.file_name, m.file_size, m.file_mtime_ns FROM batch_manifest m
        JOIN ingest_file f ON f.batch_id = m.batch_id AND f.feed = m.feed AND f.file_name = m.file_name
        WHERE m.batch_id < :b AND f.status IN ({', '.join(repr(s) for s in FILES_TAKEN)})""", b=cut_batch)
    found = []
    for feed, name, size, mtime in zip(taken["feed"], taken["file_name"], taken["file_size"], taken["file_mtime_ns"]):
        path = settings.landing / feed / name
        try:
            stat = path.stat()
        except OSError:
            continue
        if stat.st_size == int(size) and stat.st_mtime_ns == int(mtime) and path not in found:
            found.append(path)
    return found


def _folders_before(settings: Settings, cut_batch: str) -> list:
    """Quarantine copies and push lists of batches older than the cutoff (`<folder>/<batch id>/`)."""
    return [folder for root in (settings.quarantine, settings.outbox) if root.is_dir()
            for folder in sorted(root.iterdir())
            if folder.is_dir() and not folder.name.startswith(".") and folder.name < cut_batch]


def run_retention(settings: Settings, now: datetime | None = None) -> dict | None:
    """Retention under the configured policy; None when the policy keeps data (no `retention`)."""
    from screenfuse.contracts import person_feeds
    from screenfuse.pipeline import engine
    from screenfuse.policy import configured_policy

    days = configured_policy(person_feeds()).retention_days
    if days is None:
        return None
    return retire(settings, engine(settings), days, now or datetime.now(timezone.utc))
