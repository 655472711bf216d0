"""The publish's last stage: the batch's push lists (a street office's each), the police tracing
list, the district's review list and the zero-report checks, written to the outbox from what the
publish committed; then the batch's new items are marked pushed.
"""
from __future__ import annotations

import sqlalchemy as sa

from screenfuse import review_desk, warehouse
from screenfuse.config import Settings
from screenfuse.pipeline import engine, run_policy, state
from screenfuse.pushlist import (RECORD_COLUMNS_READ, remove_leftovers, replacing_folder, write_outbox, write_table,
                                 write_tracing_list, write_zero_report)


def write_push_lists(settings: Settings, batch_id: str, attempt: str | None = None) -> dict:
    """Outbox files for the batch's lists, read back from the warehouse (and the police tracing
    list and the daily zero-report checks of the batch); then its new items are marked pushed in
    this batch."""
    db, policy = engine(settings), run_policy(settings, batch_id, attempt)
    final = settings.outbox / batch_id
    read = lambda conn, query: warehouse.query_frame(conn, warehouse.sql_query(query), batch_id=batch_id)  # noqa: E731
    with db.begin() as conn:
        # one writer of a batch's outbox at a time (an Airflow retry beside its zombie shares the
        # attempt), and none once a later start of the batch took it back: checked under the lock
        warehouse.lock_for_publish(conn)
        state(settings, batch_id, attempt).check(conn)
        items = warehouse.sort_rows(read(conn, "queries/batch_push_list.sql"), ["street", "community", "due_at", "person_id"])
        tracing = warehouse.sort_rows(read(conn, "queries/batch_police_tracing.sql"), ["street", "push_item_id"])
        checks = warehouse.sort_rows(read(conn, "queries/batch_silent_units.sql"),
                                     ["report_day", "feed", "state", "street", "unit_id"])
        reviews = review_desk.open_items(conn)
        named = sorted({r for text in items["source_records"].dropna() for r in str(text).split(";") if r})
        records = warehouse.rows_by_keys(conn, "source_record", "source_record_id", named, columns=RECORD_COLUMNS_READ)
        remove_leftovers(final)  # under the lock no other writer of this batch is alive: a killed one's
        with replacing_folder(final) as folder:  # the batch's lists appear whole, or not at all
            written = write_outbox(items, folder, policy, records)
            written += write_tracing_list(tracing, folder, policy.timezone)
            if len(reviews):  # the district's review list, every item still open
                written += write_table(review_desk.review_list_table(reviews), folder, review_desk.REVIEW_LIST,
                                       review_desk.REVIEW_LIST,
                                       choices={review_desk.ANSWER_HEADERS[0]: list(review_desk.DECISION_LABELS.values())})
            reports = write_zero_report(checks, folder)
        pushed = sum(conn.execute(sa.text(statement.rstrip(";")), {"batch_id": batch_id}).rowcount or 0
                     for statement in warehouse.sql_statements("publish/mark_pushed.sql"))
    return {"outbox": str(settings.outbox / batch_id), "files": len(written), "pushed": pushed,
            "lists": len(written) // 2, "traced": len(tracing), "zero_report_files": len(reports),
            "review_items_open": len(reviews)}
