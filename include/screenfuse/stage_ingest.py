"""Ingest stages: read the files of the batch's manifest, validate every row.

Each returns a small dict of counts (no personal data), which is what an Airflow task passes on.
Reads: the manifest, files registered earlier with the same content (by SHA-256, indexed), the
push items the batch's answers name. Writes: the batch's stage only.
"""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

from screenfuse import feedback as fb
from screenfuse import mass_screening as ms
from screenfuse import isolation, reporting, review_desk, warehouse
from screenfuse.config import Settings
from screenfuse.contracts import load_contract
from screenfuse.gazetteer import DISTRICT_LIST, load_gazetteer
from screenfuse.ingest import READ_PROBLEM, empty_records, normalize_files, read_file
from screenfuse.ingest_files import read_files
from screenfuse.pipeline import batch_time, engine, guard, run_policy, state
from screenfuse.records import RECORD_COLUMNS
from screenfuse.validation import validate_rows

QUARANTINE_COLUMNS = ["quarantine_id", "batch_id", "feed", "file_name", "file_sha256", "row_number", "level", "reason", "raw_json"]
ANSWER_INPUT_COLUMNS = ["source_record_id", "feed", "file_name", "file_sha256", "row_number", "unit", "event_time",
                        "push_item_id", "result", "verifier", "note", "raw_json"]
POINT_INPUT_COLUMNS = ["source_record_id", "feed", "file_name", "file_sha256", "row_number", "unit", "event_time", "raw_json"]
RESULT_INPUT_COLUMNS = ["source_record_id", "feed", "file_name", "file_sha256", "row_number", "unit", "event_time",
                        "sample_id", "pool_id", "result", "sampled_at", "raw_json"]
ITEM_COLUMNS_READ = "push_item_id, person_id, street, status, measure, due_at, created_at, source_records, answered_at, state"


class ReconciliationError(RuntimeError):
    """Rows read ≠ rows accepted + rows quarantined for a file: something was lost."""


def ingest_feed(settings: Settings, batch_id: str, feed: str, attempt: str | None = None) -> dict:
    """Read, map and normalize the batch's files of one feed; quarantine bad files whole."""
    guard(settings, batch_id, attempt)
    contract, gazetteer, db = load_contract(feed), load_gazetteer(), engine(settings)
    zone = run_policy(settings, batch_id, attempt).timezone  # a time sent with its zone, on the district's clock
    with db.begin() as conn:
        manifest = warehouse.query_frame(conn, "SELECT file_name, file_sha256 FROM batch_manifest "
                                               "WHERE batch_id = :b AND feed = :f ORDER BY file_name", b=batch_id, f=feed)
        registered = warehouse.rows_by_keys(conn, "ingest_file", "file_sha256", manifest["file_sha256"],
                                            columns="file_sha256, file_name, status, batch_id")
    registered = registered[registered["status"].isin(["loaded", "quarantined", "zero_report"])]
    zero = registered["status"] == "zero_report"
    loaded_in = registered[~zero].groupby("file_sha256")["batch_id"].min().to_dict()
    # zero reports of different units may be byte for byte the same header: name and content count
    zero_in = registered[zero].groupby(["file_sha256", "file_name"])["batch_id"].min().to_dict()
    files, read, quarantined, seen, zero_seen = [], [], [], {}, set()
    # each content read once, before the files are gone through in order (a copy under another
    # name is the same outcome); a large delivery's files are read across the cores
    wanted = {}
    for name, sha in zip(manifest["file_name"], manifest["file_sha256"]):
        path = settings.landing / feed / name
        if sha not in loaded_in and sha not in wanted and (sha, name) not in zero_in and path.is_file():
            wanted[sha] = path
    done = read_files(list(wanted.values()), list(wanted), contract, gazetteer, zone=zone)
    for name, sha in zip(manifest["file_name"], manifest["file_sha256"]):
        path = settings.landing / feed / name
        if sha in loaded_in or sha in seen:
            where = f"batch {loaded_in[sha]}" if sha in loaded_in else f"this batch as {seen[sha]}"
            files.append(_file_row(batch_id, feed, name, sha, "duplicate", f"same content already registered in {where}"))
            continue
        if (sha, name) in zero_in or (sha, name) in zero_seen:
            where = f"batch {zero_in[(sha, name)]}" if (sha, name) in zero_in else "this batch"
            files.append(_file_row(batch_id, feed, name, sha, "duplicate", f"same zero report already registered in {where}"))
            continue
        if not path.is_file():
            staged_status, reason = "quarantined", "listed in the batch's manifest but gone from the landing folder"
            quarantined.append(_file_quarantine(batch_id, feed, name, sha, reason))
            files.append(_file_row(batch_id, feed, name, sha, staged_status, reason))
            continue
        staged = done.pop(sha, None)  # taken out: a file's rows are held once, by `read`, until they are one frame
        if staged is None or staged.file_name != name:  # read under another name (a zero report), or gone since
            staged = read_file(path, contract, sha)
            normalize_files([staged], contract, gazetteer, zone)
        if staged.status == "zero_report":
            zero_seen.add((sha, name))
        elif staged.status != "changed":  # another name with the registered content is still read
            seen[sha] = name
        if staged.status == "quarantined":
            target = settings.quarantine / batch_id / feed / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            quarantined.append(_file_quarantine(batch_id, feed, name, sha, staged.reason))
        if staged.status in ("held", "changed"):  # offered to later runs: one quarantine row per run that saw it
            quarantined.append(_file_quarantine(batch_id, feed, name, sha, staged.reason, again=staged.status))
        status = staged.status if staged.status in ("quarantined", "zero_report", "held", "changed") else "loaded"
        files.append(_file_row(batch_id, feed, name, sha, status, staged.reason, staged.file_format, staged.encoding,
                               staged.rows_read, staged.blank_rows, staged.unmapped_headers))
        if not staged.records.empty:
            read.append(staged)
    del done  # every file read is in `read` or holds no rows
    frames = [f.records for f in read]
    staged_rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    del frames, read  # each file's rows are in staged_rows now: not held twice while they are staged
    with state(settings, batch_id, attempt).writing() as stage:
        stage.put(f"{feed}.staged", staged_rows)
        stage.put(f"{feed}.file_quarantine", pd.DataFrame(quarantined, columns=QUARANTINE_COLUMNS))
        stage.put_json(f"{feed}.files", files)
    held = sum(f["status"] == "held" for f in files)
    return {"feed": feed, "files": len(files), "rows_staged": len(staged_rows),
            "files_quarantined": len(quarantined) - held, "files_held": held,
            "files_duplicate": sum(f["status"] == "duplicate" for f in files)}


def _file_quarantine(batch_id, feed, name, sha, reason, again: str = "") -> dict:
    """A file-level quarantine row; `again` (held, changed): a file offered to later runs, whose
    content may come back, gets a row per batch."""
    key = f"{feed}-{sha[:12]}-{again}-{batch_id}" if again else f"{feed}-{sha[:12]}-file"
    return {"quarantine_id": key, "batch_id": batch_id, "feed": feed, "file_name": name,
            "file_sha256": sha, "row_number": None, "level": "file", "reason": reason, "raw_json": None}


def _file_row(batch_id, feed, name, sha, status, reason="", file_format="", encoding="", rows_read=0,
              blank_rows=0, unmapped=()) -> dict:
    return {"batch_id": batch_id, "feed": feed, "file_name": name, "file_sha256": sha, "status": status,
            "reason": reason, "file_format": file_format, "encoding": encoding, "rows_read": rows_read,
            "rows_accepted": 0, "rows_quarantined": 0, "blank_rows": blank_rows,
            "unmapped_headers": "|".join(unmapped)}


def latest_event_times(settings: Settings, batch_id: str, feed: str, staged: pd.DataFrame,
                       attempt: str | None = None) -> pd.Series:
    """Per staged row, the latest event time it can honestly carry, naive on the policy's clock
    (the feeds' clock): the later of the batch's interval end and its file's modification time. A
    backfill or a catch-up after an outage takes files of later days in an early batch: their
    rows are not from the future, their files say when they were written."""
    zone = run_policy(settings, batch_id, attempt).timezone
    end = pd.Timestamp(batch_time(batch_id)).tz_convert(zone).tz_localize(None)
    with engine(settings).connect() as conn:
        files = warehouse.query_frame(conn, "SELECT file_name, file_mtime_ns FROM batch_manifest "
                                            "WHERE batch_id = :b AND feed = :f", b=batch_id, f=feed)
    written = pd.to_datetime(pd.to_numeric(files["file_mtime_ns"], errors="coerce"), unit="ns", utc=True)
    written = pd.Series(written.dt.tz_convert(zone).dt.tz_localize(None).to_numpy(), index=files["file_name"])
    per_row = pd.Series(staged["file_name"].map(written).to_numpy(), index=staged.index)
    return per_row.where(per_row > end, end)


def _passed(staged: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows without a reason to quarantine them (only `columns`, when given: the columns are
    cut before the rows are taken, so a first load's million rows copy only what goes on); the
    frame itself when every row passes and no columns are cut."""
    frame = staged[[c for c in columns if c in staged.columns]] if columns is not None else staged
    fine = staged["reason"] == ""
    return frame if bool(fine.all()) else frame[fine.to_numpy()]


COUNTED = ["reason", "file_name", "unit"]  # what the per-file counts and the deliveries read of every row


def validate_feed(settings: Settings, batch_id: str, feed: str, attempt: str | None = None) -> dict:
    """Row-level GX suite: accepted rows go on, failing rows are quarantined with their reasons."""
    guard(settings, batch_id, attempt)
    contract, stage = load_contract(feed), state(settings, batch_id, attempt)
    staged = stage.get(f"{feed}.staged")
    files = stage.get_json(f"{feed}.files")
    answers, results, reference = contract.kind == "answers", contract.kind == "results", contract.kind == "reference"
    samples, failed = None, None  # the tubes of a feed that has them (mass screening); the failing rows
    keep = None  # the rows of `accepted` to stage, when it still holds the failing ones too
    decisions = contract.kind == "decisions"
    if staged.empty:
        staged = (_empty(ANSWER_INPUT_COLUMNS) if answers else _empty(RESULT_INPUT_COLUMNS) if results
                  else _empty(POINT_INPUT_COLUMNS) if reference else _empty(review_desk.INPUT_COLUMNS) if decisions
                  else empty_records()).assign(reason="")
    else:
        # a person record dated after its file was written and after the batch is a wrong year or
        # clock (its durations would count from it); a lab result is kept whatever its clock says:
        # a positive must never wait on one
        latest = latest_event_times(settings, batch_id, feed, staged, attempt) if contract.kind == "persons" else None
        staged["reason"] = validate_rows(staged, contract, latest=latest)
        if READ_PROBLEM in staged:  # a row the reader could not read: its values are in the wrong columns
            problem = staged[READ_PROBLEM].fillna("").astype(str)
            staged["reason"] = problem.where(problem != "", staged["reason"])
    if answers:
        # an answer must name an item that exists and is still open, once per batch, and come
        # from the office the item was pushed to (or the district)
        with engine(settings).begin() as conn:
            items = warehouse.rows_by_keys(conn, "push_item", "push_item_id", staged["push_item_id"].dropna().astype(str),
                                           columns=ITEM_COLUMNS_READ)
        staged.loc[fb.unanswered(staged), "reason"] = fb.NOT_ANSWERED
        fine = staged["reason"] == ""
        offices = [*load_gazetteer().streets, DISTRICT_LIST]
        staged.loc[fine, "reason"] = fb.check_answers(staged[fine], items, offices, district=DISTRICT_LIST)
        accepted = _passed(staged).rename(
            columns={"source_record_id": "answer_id", "event_time": "answered_at"}).assign(batch_id=batch_id)[
            fb.ANSWER_COLUMNS]
    elif decisions:  # the review desk's: each names an open review item, decided once
        staged.loc[review_desk.undecided(staged), "reason"] = review_desk.NOT_DECIDED
        fine = staged["reason"] == ""
        with engine(settings).begin() as conn:
            reviews = review_desk.reviews_named(conn, staged.loc[fine, "review_id"])
            decided = review_desk.decided_pairs(conn, pd.concat([reviews["left_record_id"], reviews["right_record_id"]]))
        staged.loc[fine, "reason"] = review_desk.check_decisions(staged[fine], reviews, decided)
        accepted = review_desk.file_decisions(_passed(staged), reviews, batch_id,
                                              run_policy(settings, batch_id, attempt).timezone)
    elif results:  # lab results name tubes, not persons: kept for the screening join
        accepted = ms.result_rows(_passed(staged), batch_id)
    elif reference:  # a list of places (the isolation points): one row per point
        accepted = isolation.point_rows(_passed(staged), batch_id)
    else:
        tubes = "sample_id" in contract.fields
        keep = (staged["reason"] == "").to_numpy()
        failed = staged.iloc[np.flatnonzero(~keep)]  # few rows, taken by position (by a mask of a million: 1 s)
        # the accepted rows are not taken out here: staged, the rows quarantined are left out a
        # batch at a time as they are written (`BatchState.put`), never copied whole
        accepted = staged.assign(batch_id=batch_id)[RECORD_COLUMNS]
        if tubes:  # the few columns the tubes are made of, taken (all of them: a second GB)
            samples = ms.sample_rows(staged.loc[keep, ms.sample_sources(staged.columns)]
                                     ).assign(batch_id=batch_id)
        staged = staged[[c for c in COUNTED if c in staged.columns]]  # the rest is let go
    failed = staged[staged["reason"] != ""] if failed is None else failed  # few rows: a cheap take
    row_quarantine = pd.DataFrame({
        "quarantine_id": failed["source_record_id"], "batch_id": batch_id, "feed": feed,
        "file_name": failed["file_name"], "file_sha256": failed["file_sha256"], "row_number": failed["row_number"],
        "level": "row", "reason": failed["reason"], "raw_json": failed["raw_json"],
    }, columns=QUARANTINE_COLUMNS)
    file_quarantine = stage.get(f"{feed}.file_quarantine")
    quarantine = pd.concat([q for q in (file_quarantine, row_quarantine) if not q.empty] or [row_quarantine], ignore_index=True)
    # a whole file's row has no row number: kept as an integer column with gaps, never 3.0 (which
    # PostgreSQL refuses for an INTEGER column)
    quarantine["row_number"] = pd.to_numeric(quarantine["row_number"], errors="coerce").astype("Int64")

    # counted on the rows staged: a points list keeps one row per point of those it accepted
    accepted_per_file = staged.loc[staged["reason"] == "", "file_name"].value_counts()  # counts, not a copy
    failed_per_file = failed.groupby("file_name").size()
    for row in files:
        if row["status"] == "loaded":
            row["rows_accepted"] = int(accepted_per_file.get(row["file_name"], 0))
            row["rows_quarantined"] = int(failed_per_file.get(row["file_name"], 0))
        elif row["status"] in ("quarantined", "held"):
            row["rows_quarantined"] = row["rows_read"]
        if row["rows_read"] != row["rows_accepted"] + row["rows_quarantined"]:
            raise ReconciliationError(f"{feed}/{row['file_name']}: rows read {row['rows_read']} != accepted "
                                      f"{row['rows_accepted']} + quarantined {row['rows_quarantined']}")
    # who reported (zero reporting): the unit in each file's name, and the units of its rows
    run_day = reporting.local_day(batch_time(batch_id), run_policy(settings, batch_id, attempt).zero_report.timezone).isoformat()
    files_frame = pd.DataFrame(files, columns=["file_name", "status"]) if files else pd.DataFrame(columns=["file_name", "status"])
    deliveries = reporting.deliveries(feed, files_frame[["file_name", "status"]], staged[["file_name", "unit"]],
                                      reporting.expected_units(), run_day).assign(batch_id=batch_id)
    with stage.writing():
        if samples is not None:
            stage.put(f"{feed}.samples", samples)
        rows_accepted = stage.put(f"{feed}.accepted", accepted, keep)
        stage.put(f"{feed}.deliveries", deliveries)
        stage.put(f"{feed}.quarantine", quarantine)
        stage.put_json(f"{feed}.files", files)
    return {"feed": feed, "rows_accepted": rows_accepted, "rows_quarantined": len(failed),
            "files_quarantined": int((file_quarantine["level"] == "file").sum()) if len(file_quarantine) else 0}


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
