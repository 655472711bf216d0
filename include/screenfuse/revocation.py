"""The district revokes a 非本人 answer.

A street office's 非本人 ("not this person") answer keeps the item's records apart from the
person's others for good (screenfuse.feedback). When the district finds the answer wrong (the
office checked the wrong door), it revokes it with a reason: the answer's cannot-link pairs and
their `different` labels go, the revocation is recorded (who, when, why), and the next hourly run
resolves those records again, so they can join again under the model.
"""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from screenfuse import warehouse

MIN_REASON_CHARS = 4


class RevocationError(ValueError):
    """The revocation cannot be made; the message says why (one line, no personal data)."""


def revoke_not_same_person(conn, push_item_id: str, reason: str, revoked_by: str, now: datetime) -> dict:
    """Revoke the 非本人 answer of `push_item_id` in `conn`'s transaction (under the publish lock)."""
    reason, revoked_by = (reason or "").strip(), (revoked_by or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise RevocationError("give the reason for the record (--reason, at least 4 characters)")
    if not revoked_by:
        raise RevocationError("say who revokes it (--by)")
    warehouse.lock_for_publish(conn)
    item = conn.execute(sa.text("SELECT close_reason FROM push_item WHERE push_item_id = :i"), {"i": push_item_id}).first()
    if item is None:
        raise RevocationError(f"push item {push_item_id} is unknown")
    if item[0] != "not_same_person":
        raise RevocationError(f"push item {push_item_id} was not closed by a 非本人 answer: nothing to revoke")
    if conn.execute(sa.text("SELECT 1 FROM answer_revocation WHERE push_item_id = :i"), {"i": push_item_id}).first():
        raise RevocationError(f"the 非本人 answer of push item {push_item_id} was revoked before")
    pairs = warehouse.query_frame(conn, "SELECT left_record_id, right_record_id FROM match_cannot_link "
                                        "WHERE push_item_id = :i", i=push_item_id)
    conn.execute(sa.text("DELETE FROM match_cannot_link WHERE push_item_id = :i"), {"i": push_item_id})
    labels = conn.execute(sa.text("DELETE FROM match_label WHERE source = 'answer' AND reference = :i"),
                          {"i": push_item_id}).rowcount
    records = sorted(set(pairs["left_record_id"]) | set(pairs["right_record_id"]))
    row = {"push_item_id": push_item_id, "revoked_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "revoked_by": revoked_by,
           "reason": reason, "pairs": len(pairs), "record_ids": ";".join(records), "applied_batch_id": None}
    warehouse.bulk_insert(conn, "answer_revocation", pd.DataFrame([row]))
    return {"pairs": len(pairs), "labels": labels, "records": len(records)}


def pending(conn) -> tuple[list[str], list[str]]:
    """(push item ids, record ids) of revocations no hourly run has applied yet (by index)."""
    rows = warehouse.query_frame(conn, "SELECT push_item_id, record_ids FROM answer_revocation "
                                       "WHERE applied_batch_id IS NULL")
    records = sorted({r for text in rows["record_ids"] for r in str(text).split(";") if r})
    return rows["push_item_id"].tolist(), records


def mark_applied(conn, push_item_ids: list[str], batch_id: str) -> None:
    """The batch resolved those revocations' records again (its publish transaction)."""
    if push_item_ids:
        conn.execute(sa.text("UPDATE answer_revocation SET applied_batch_id = :b WHERE push_item_id = :i"),
                     [{"b": batch_id, "i": i} for i in push_item_ids])


def revoked_among(conn, push_item_ids) -> set[str]:
    """Which of these items' 非本人 answers the district revoked (by key)."""
    found = warehouse.rows_by_keys(conn, "answer_revocation", "push_item_id", pd.Series(push_item_ids, dtype=object)
                                   .dropna().astype(str), columns="push_item_id")
    return set(found["push_item_id"])
