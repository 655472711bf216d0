"""What a large publish writes into SQLite's scratch (`sqlite_bulk`), and the part of it that
`screenfuse run` writes ahead, while fuse runs.

A first load's scratch is its publish's longest path: 24 of 27 s for 1,000,000 records
(2026-12-06), written on the second core while the first copies. Half of it (the records, their
match rows and block keys, the tubes and results: 13 s) is known once resolve is done, and fuse
keeps one core busy for 40 s. So `screenfuse run` writes those tables beside fuse, in a process of
its own (`write_ahead`), into a scratch the run's process holds (its lock) until its publish is
done; the publish takes them as its own (`Scratch.adopt`) and writes only the rest. The Airflow
DAG's tasks may each run on another worker: its publish writes the whole scratch itself.
"""
from __future__ import annotations

import logging

from screenfuse import screening_state
from screenfuse.arrow_rows import Rows
from screenfuse.config import Settings
from screenfuse.contracts import person_feeds
from screenfuse.pipeline import guard, state
from screenfuse.records import RECORD_COLUMNS
from screenfuse.sqlite_bulk import Scratch

log = logging.getLogger(__name__)

# what a first load into empty tables writes whole (replace_rows finds nothing stored): the
# stage's frame and the batch column it gets
FIRST_LOAD = {"person": ("persons", "batch_id"), "person_link": ("links", "changed_batch_id"),
              "screening_outcome": ("screening_outcome", "batch_id"), "match_term": ("match_term", "batch_id")}
# the large tables every large batch writes whole, made of these staged frames (a feed's each) and
# columns (None: the table's own); the order is the one the publish copies them in
WHOLE = {"source_record": (lambda: [f"{feed}.accepted" for feed in person_feeds()], RECORD_COLUMNS),
         "match_record": (lambda: ["match_record"], None), "match_key": (lambda: ["match_key"], None),
         "screening_sample": (lambda: [f"{feed}.samples" for feed in screening_state.sample_feeds()], None),
         "screening_result": (lambda: [f"{feed}.accepted" for feed in screening_state.result_feeds()], None),
         "person_status": (lambda: ["status_open"], None)}
AHEAD = ("source_record", "match_record", "match_key", "screening_sample", "screening_result")  # staged before fuse
ORDER = ("person", "person_link", "source_record", "match_term", "screening_outcome", "match_record", "match_key",
         "screening_sample", "screening_result", "person_status")


def scratch_rows(stage, batch_id: str, first_load_tables: list[str], tables=ORDER) -> dict[str, Rows]:
    """What each of `tables` is written from (the stage's payloads), in the order the publish
    copies them; a table of `FIRST_LOAD` only if it is one of `first_load_tables`. A first load's
    records stream as staged, by file and row: their ids (feed, file, row) keep together, which a
    copy takes as fast as key order (3.4 s either way, 2026-12-06), and a sort would hold the
    million records at once."""
    jobs = {}
    for table in tables:
        if table in FIRST_LOAD and table in first_load_tables:
            name, batch_column = FIRST_LOAD[table]
            jobs[table] = Rows([stage.payload(name)], constants={batch_column: batch_id})
        elif table in WHOLE:
            names, columns = WHOLE[table]
            jobs[table] = Rows([stage.payload(name) for name in names()], columns,
                               in_key_order=table != "source_record")
    return jobs


def write_ahead(settings: Settings, batch_id: str, scratch: Scratch, attempt: str | None = None) -> dict:
    """In a process beside fuse: the tables of `AHEAD` written into `scratch`, one at a time (a
    table's payloads are let go once it is written); what was written, table by table (its columns
    and rows, as `Scratch.tables` holds them). A batch the publish would not write through the
    scratch (too few rows) writes nothing; a table that cannot be written (a full disk, an error)
    is left to the publish. A batch run again meanwhile stops here as it stops fuse (`guard`);
    this process killed (out of memory) fails the run as any stage's child does."""
    guard(settings, batch_id, attempt)
    try:
        stage = state(settings, batch_id, attempt)
        large = scratch.active and stage.rows_staged() >= scratch.threshold
    except Exception as error:  # noqa: BLE001 - the publish writes the whole scratch then
        log.warning("nothing written ahead (%s); the publish writes it all", type(error).__name__)
        return {}
    for table in AHEAD if large else ():
        try:
            scratch.stage(table, scratch_rows(stage, batch_id, [], [table])[table])
        except Exception as error:  # noqa: BLE001 - the publish writes what is not written here
            log.warning("%s: not written ahead (%s); the publish writes it", table, type(error).__name__)
    return {table: scratch.tables[table] for table in AHEAD if table in scratch.tables}
