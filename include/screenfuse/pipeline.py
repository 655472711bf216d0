"""A batch's life: start (policy, manifest, taking back a published run of the same batch),
the stages in order, finish. The stages themselves are `stage_ingest`, `stage_match`,
`stage_publish` and `stage_outbox`; what they hand each other lives in the warehouse
(`screenfuse.batch_state`), so any worker can run any task.

Only the latest batch can be run again: re-running it first takes back what it published
(`batch_rows.undo_batch`), then runs it from the same starting point and the same files. An
older batch is refused: its later batches were built on it.
"""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa

from screenfuse import batch_rows, landing, schema, warehouse
from screenfuse.batch_state import BatchState
from screenfuse.config import ConfigError, Settings
from screenfuse.contracts import load_contracts, person_feeds
from screenfuse.dialect import sound_folds
from screenfuse.policy import Policy, configured_policy_text, parse_policy
from screenfuse.stage_process import release_memory

log = logging.getLogger(__name__)


class BatchOrderError(RuntimeError):
    """A batch older than the latest published one was asked to run."""


def batch_id_for(data_interval_end: datetime) -> str:
    """The batch key: the end of the hourly interval in UTC, e.g. 20200210T1300Z."""
    return data_interval_end.astimezone(timezone.utc).strftime("%Y%m%dT%H%MZ")


def batch_time(batch_id: str) -> datetime:
    """The end of the batch's interval (the inverse of `batch_id_for`)."""
    return datetime.strptime(batch_id, "%Y%m%dT%H%MZ").replace(tzinfo=timezone.utc)


def feed_names() -> list[str]:
    return sorted(load_contracts())


def engine(settings: Settings) -> sa.Engine:
    return warehouse.engine_for(settings.warehouse_url)


def state(settings: Settings, batch_id: str, attempt: str | None = None) -> BatchState:
    """The batch's stage as `attempt` sees it (None: no check, whichever attempt is current)."""
    return BatchState(engine(settings), batch_id, attempt)


def latest_published(conn) -> str | None:
    row = conn.execute(sa.text("SELECT MAX(batch_id) FROM run_log")).first()
    return row[0] if row else None


def check_order(conn, batch_id: str) -> bool:
    """Refuse a batch older than the latest published one; True when this batch is the latest
    published one (a re-run), which needs its before-images (a batch taken back loses them: the
    one before it can then not be taken back)."""
    latest = latest_published(conn)
    if latest and batch_id < latest:
        raise BatchOrderError(
            f"batch {batch_id} is older than the latest published batch {latest}: re-running it would mix "
            f"states; re-run {latest} instead, or restore the warehouse from a backup taken before {batch_id} "
            "and replay the batches in order")
    if latest == batch_id and not conn.execute(sa.text(
            "SELECT 1 FROM batch_undo WHERE batch_id = :b AND table_name = '#batch'"), {"b": batch_id}).first():
        raise BatchOrderError(
            f"batch {batch_id} cannot be taken back: its before-images are gone (a later batch was published "
            "and taken back since); restore the warehouse from a backup and replay the batches in order")
    return latest == batch_id


def take_back(conn, batch_id: str) -> None:
    """Undo a published batch in `conn`'s transaction: its block keys (found from its records),
    then its rows and the before-images it kept (batch_rows.undo_batch)."""
    from screenfuse import match_state
    from screenfuse.resolve import SETTINGS

    match_state.forget_batch(conn, batch_id, SETTINGS)
    batch_rows.undo_batch(conn, batch_id)


def start_batch(settings: Settings, batch_id: str) -> dict:
    """Check the order, take back an earlier run of this batch, stage the policy, take the files.

    The policy (SCREENFUSE_POLICY, else the packaged default) is loaded and checked once per run
    and its text staged: every task of the run decides under the same policy. Returns, with the
    feeds, the run's `attempt`: the stages take it so that a copy of the batch started later
    stops this one (batch_state.AttemptSuperseded) rather than mixing with it."""
    db = engine(settings)
    schema.require_current(db)  # a run never creates or alters tables (`screenfuse db upgrade` does)
    if not settings.landing.is_dir():  # a setting gone wrong, not an hour without files: all units would be "silent"
        raise ConfigError(f"the landing folder {settings.landing} does not exist (SCREENFUSE_LANDING, else "
                          "$SCREENFUSE_HOME/landing): create it, or point the variable at the folder units deliver to")
    feeds = feed_names()
    text, source = configured_policy_text()
    # a broken file stops the run here, naming the key; parsed once for the stages run in this process
    policy = _parsed_policy(text, source, tuple(person_feeds()))
    sound_folds()  # so does a broken dialect table (SCREENFUSE_SOUND_FOLDS), naming the line
    stage = state(settings, batch_id)
    with db.begin() as conn:
        warehouse.lock_for_publish(conn)  # one start or publish at a time: two copies of a batch take turns
        rerun = check_order(conn, batch_id)
        if rerun:
            take_back(conn, batch_id)
        latest = latest_published(conn)
        # what failed runs of batches older than the latest published one staged can never be
        # used again, and holds personal data
        conn.execute(sa.text("DELETE FROM batch_stage WHERE batch_id < :latest"), {"latest": latest or ""})
        attempt = stage.begin_attempt(conn)
    with stage.writing():
        stage.put_json("policy", {"text": text, "source": policy.source})
        stage.put_json("started_after", {"batch_id": latest})
    _, taken = landing.take_files(db, batch_id, settings.landing, load_contracts(), landing.settle_seconds())
    return {"batch_id": batch_id, "attempt": attempt, "feeds": feeds, "policy_version": policy.version,
            "rerun": rerun, **taken}


def run_policy(settings: Settings, batch_id: str, attempt: str | None = None) -> Policy:
    """The policy this run started with (staged by start_batch)."""
    staged = state(settings, batch_id, attempt).get_json("policy")
    return _parsed_policy(staged["text"], staged["source"], tuple(person_feeds()))


def report_policy(settings: Settings, batch_id: str):
    """The policy a batch's report labels by: the run's while its stage holds it; None once the
    run is over (a report written again later: the configured policy's)."""
    from screenfuse.batch_state import StageMissing

    try:
        return run_policy(settings, batch_id)
    except StageMissing:
        return None


@lru_cache(maxsize=4)
def _parsed_policy(text: str, source: str, feeds: tuple[str, ...]) -> Policy:
    """Each stage asks for the run's policy; the same text is parsed once per process."""
    return parse_policy(text, source=source, feeds=list(feeds))


def guard(settings: Settings, batch_id: str, attempt: str | None = None) -> None:
    """A stage that computes from the warehouse runs only before its batch is published, while
    no later batch is, and while its attempt is the batch's current one: else clear the whole run
    from start_batch (or, superseded, leave the batch to the run that started it again)."""
    with engine(settings).connect() as conn:
        state(settings, batch_id, attempt).check(conn)
        if check_order(conn, batch_id):
            raise BatchOrderError(f"batch {batch_id} is already published: clear the whole DAG run "
                                  "(from start_batch) to run it again")


def finish_batch(settings: Settings, batch_id: str, attempt: str | None = None) -> dict:
    """Empty the batch's stage: it holds personal data that must not outlive the run."""
    state(settings, batch_id, attempt).clear()
    return {"batch_id": batch_id, "stage_cleared": True}


def _report_while_finishing(settings: Settings, batch_id: str, attempt: str | None, policy: Policy):
    """The run's report drawn while another thread empties the stage: the report reads the
    warehouse only, and the stage's delete runs in the database's C code, which lets the report's
    Python go on (a first load's GBs of stage: 1.5 s). The stage is emptied, or its error raised,
    whether or not the report could be written: it holds personal data."""
    from concurrent.futures import ThreadPoolExecutor

    from screenfuse.run_report import write_report

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="finish_batch") as pool:
        emptied = pool.submit(finish_batch, settings, batch_id, attempt)
        try:
            return write_report(settings, batch_id, policy)
        except Exception as error:  # the batch is published: only its report is missing
            error.add_note(f"batch {batch_id} is published; its report was not written (`screenfuse report "
                           f"--batch {batch_id}` writes it again)")
            raise
        finally:
            failed = emptied.exception()  # waits for the stage: its error first, the report's noted on it
            if failed is not None:
                report_error = sys.exc_info()[1]
                if report_error is not None:
                    failed.add_note("; ".join([f"and the run report failed: {type(report_error).__name__}: {report_error}",
                                               *getattr(report_error, "__notes__", [])]))
                raise failed


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _say(progress, stage: str) -> None:
    """A stage begins: the last one's frames are gone, so the allocators are asked to give their
    free memory back first; else, in one process, each stage's peak stacks on what the last one
    left (after reading a million mass-screening rows, 1.1 GB of freed memory stayed held)."""
    release_memory()
    if progress is not None:
        progress(stage)


class StagedBatch(NamedTuple):
    batch_id: str
    attempt: str
    isolated: bool  # its stages ran in child processes
    files_waiting: int  # files left for a later run: still being written (not settled)


def stage_batch(settings: Settings, interval_end: datetime, progress=None, ahead=None, publisher=None) -> StagedBatch:
    """Every stage before publishing, in order: a large batch's stages each run in a child process
    (`stage_process`, `isolated`), a small one's in this process.
    `progress`, if given, is called with each stage's name as it begins. `ahead`, a SQLite scratch
    this process holds: a large batch's tables known before fuse are written into it beside fuse
    (`scratch_ahead`). `publisher`: on PostgreSQL, a large batch's publish begins once ingest is
    done, and is told when resolve and every stage are done (`publish_ahead`)."""
    from screenfuse import scratch_ahead, stage_match, stage_process, stage_publish

    batch_id = batch_id_for(interval_end)
    threshold = stage_process.threshold_bytes()  # a wrong setting stops the run before it starts
    _say(progress, "start_batch")
    started = start_batch(settings, batch_id)
    attempt, isolated = started["attempt"], started["bytes"] >= threshold
    db = engine(settings)

    def run(stage, *args):
        return stage_process.call(isolated, db, stage, settings, batch_id, *args, attempt=attempt)

    _say(progress, "read_feed")
    run(ingest_feeds)
    if isolated and publisher is not None:
        publisher.start(attempt)
    _say(progress, "resolve_identities")
    run(stage_match.resolve)
    if publisher is not None:
        publisher.tell("resolved")
    _say(progress, "fuse_persons")
    fusing = [(stage_match.fuse, (settings, batch_id, interval_end), {"attempt": attempt})]
    if isolated and ahead is not None and ahead.active:  # fuse keeps one core busy: the scratch takes the other
        fusing.append((scratch_ahead.write_ahead, (settings, batch_id, ahead), {"attempt": attempt}))
    written = stage_process.call_together(isolated, db, fusing)[1:]
    if publisher is not None:
        publisher.tell("fused")
    if written:
        ahead.tables.update(written[0])
        log.info("written ahead of the publish: %s", ", ".join(written[0]) or "nothing")
    # three stages that read what the stages before them staged, not each other's work: side by
    # side, as in the DAG
    _say(progress, "plan_push_items, check_zero_reports, rate_communities")
    stage_process.call_together(isolated, db, [
        (stage_publish.plan_push, (settings, batch_id, interval_end), {"attempt": attempt}),
        (stage_publish.check_zero_reports, (settings, batch_id, interval_end), {"attempt": attempt}),
        (stage_publish.rate_communities, (settings, batch_id), {"attempt": attempt})])
    return StagedBatch(batch_id, attempt, isolated, started["waiting"])


def ingest_feeds(settings: Settings, batch_id: str, attempt: str | None = None) -> None:
    """Every feed read, then every feed validated (the DAG's read_feed, then validate_feed tasks),
    in one process: Great Expectations, which both use, is imported once (2 s), not once each. A
    feed's read and its validation do not stack: each frame goes before the next begins, and the
    validation's peak stands on what the reading left held (a first load of 1,000,000 records:
    2,494 MB for the process tree, against 2,426 MB in two processes; fuse's is higher)."""
    read_feeds(settings, batch_id, attempt)
    release_memory()
    validate_feeds(settings, batch_id, attempt)


def read_feeds(settings: Settings, batch_id: str, attempt: str | None = None) -> None:
    """Every feed's files read in turn (the DAG's read_feed tasks)."""
    _each_feed("ingest_feed", settings, batch_id, attempt)


def validate_feeds(settings: Settings, batch_id: str, attempt: str | None = None) -> None:
    """Every feed's rows validated in turn (the DAG's validate_feed tasks)."""
    _each_feed("validate_feed", settings, batch_id, attempt)


def _each_feed(step: str, settings: Settings, batch_id: str, attempt: str | None) -> None:
    from screenfuse import stage_ingest

    for feed in feed_names():
        getattr(stage_ingest, step)(settings, batch_id, feed, attempt=attempt)
        release_memory()


def run_batch(settings: Settings, interval_end: datetime, run_id: str = "cli", progress=None) -> dict:
    """Every stage in order, as the DAG runs them, without Airflow (a large batch's stages each in a
    child process, as Airflow's tasks are)."""
    from concurrent.futures import ThreadPoolExecutor

    from screenfuse import sqlite_bulk, sqlite_fold, stage_outbox, stage_process, stage_publish
    from screenfuse.config import reports_enabled
    from screenfuse.publish_ahead import PublishAhead

    report = reports_enabled()  # a wrong switch stops the run before it starts, not after it published
    # the scratch written ahead lives (with personal data) until the publish is done, held by this process
    interval = (interval_end - timedelta(hours=1), interval_end)
    publisher = PublishAhead(settings, batch_id_for(interval_end), run_id, interval)
    # SQLite: the publish's log folded into the database while the push lists and the report are written
    with sqlite_fold.FoldBeside(engine(settings)) as fold:
        with sqlite_bulk.Scratch(engine(settings), batch_id_for(interval_end)) as ahead:
            try:
                batch_id, attempt, isolated, waiting = stage_batch(settings, interval_end, progress, ahead, publisher)
                _say(progress, "publish_warehouse")
                published = publisher.result() if publisher.started else stage_process.call(
                    isolated, engine(settings), stage_publish.publish, settings, batch_id, run_id, interval,
                    attempt=attempt, ahead=ahead, fold=isolated or not fold.active, analyze=False)
            finally:  # a publish's child killed (out of memory) leaves its scratch file: personal data
                publisher.stop()  # a stage failed: the publish begun ahead rolls back
                if ahead.active:
                    sqlite_bulk.sweep(engine(settings))
        fold.start()
        published["files_waiting"] = waiting
        # PostgreSQL after a bulk load: the statistics (ANALYZE, seconds of the server's) are taken
        # while the push lists and the report are written, which read little
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="statistics") as beside:
            analyzed = beside.submit(schema.refresh_statistics, engine(settings), published["rows_accepted"],
                                     published["persons_before"])
            _say(progress, "write_push_lists")
            stage_outbox.write_push_lists(settings, batch_id, attempt=attempt)
            if report:
                policy = run_policy(settings, batch_id, attempt)  # the run's (its labels), while staged
                _say(progress, "finish_batch, write_report")
                published["report"] = str(_report_while_finishing(settings, batch_id, attempt, policy))
            else:
                _say(progress, "finish_batch")
                finish_batch(settings, batch_id, attempt)
                published["report"] = "not written (SCREENFUSE_RUN_REPORT=0)"
            published["statistics_refreshed"] = analyzed.result()
    published["log_folded"] = fold.folded  # SQLite: (busy, log pages, pages folded) of the fold beside; else None
    _say(progress, "done")
    return published
