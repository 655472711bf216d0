"""Status history: each person's status and measure over time, one row per period.

`person_status` keeps, per person, the periods during which a status and a measure held
(valid_from … valid_to, valid_to empty while current), the policy version they were decided
under, the batch that decided them and the source records that caused the change. A run compares
the persons it fused with the current rows as they were before the batch:

- a different status or measure closes the current row and opens a new one;
- the same status and measure writes nothing (a renewing record only moves `status_expires_at`);
- a status that ended on its own (policy `expires`) is a change like any other, of kind
  `expired`, valid from the moment it ended, caused by the records whose time ran out;
- a person id that no longer exists (merged into another) has its current row closed.

A person without a row has the implicit status `none`: people with nothing to act on are not
written. Pure functions (frames in, frames out); the warehouse I/O is in `screenfuse.warehouse`.
"""
from __future__ import annotations

import pandas as pd

from screenfuse.policy import NO_STATUS, Policy
from screenfuse.text_keys import is_in

HISTORY_COLUMNS = ["person_id", "status", "measure", "valid_from", "valid_to", "change", "policy_version",
                   "batch_id", "closed_batch_id", "cause"]
CLOSE_COLUMNS = ["person_id", "valid_to", "closed_batch_id"]
# change: set (first status), raised / lowered (by priority), measure (same status, other measure),
# expired (ended on its own)


def status_changes(persons: pd.DataFrame, current: pd.DataFrame, batch_id: str, as_of: str,
                   policy: Policy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to open, current rows to close) for one batch.

    `persons`: the fused persons (person_id, status, measure, status_reason, expired_status,
    expired_reason, expired_at); `current`: the open history rows before this batch
    (person_id, status, measure, valid_from); `as_of`: the batch's time (UTC ISO text)."""
    rank = policy.status_rank
    now = persons.set_index("person_id")
    before = current.set_index("person_id") if len(current) else pd.DataFrame(
        columns=["status", "measure", "valid_from"], index=pd.Index([], name="person_id"))
    before = before.reindex(now.index)
    had = before["status"].notna()
    old_status = before["status"].fillna(NO_STATUS)
    old_measure = before["measure"].fillna("")
    new_measure = now["measure"].fillna("")
    changed = (old_status != now["status"]) | (old_measure != new_measure)
    changed &= had | (now["status"] != NO_STATUS)
    now, before, old_status = now[changed], before[changed], old_status[changed]
    gone = current[~is_in(current["person_id"], persons["person_id"])] if len(current) else current
    closes_gone = pd.DataFrame({"person_id": gone["person_id"] if len(gone) else [], "valid_to": as_of,
                                "closed_batch_id": batch_id}, columns=CLOSE_COLUMNS)
    if now.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS), closes_gone.reset_index(drop=True)

    expired = (now.get("expired_status", "") == old_status) & (now["status"].map(rank) > old_status.map(rank))
    change = pd.Series("measure", index=now.index, dtype=object)
    change[now["status"].map(rank) < old_status.map(rank)] = "raised"
    change[now["status"].map(rank) > old_status.map(rank)] = "lowered"
    change[before["status"].isna()] = "set"
    change[expired] = "expired"
    valid_from = pd.Series(as_of, index=now.index, dtype=object)
    if expired.any():
        ended = now.loc[expired, "expired_at"].where(now.loc[expired, "expired_at"] != "", as_of)
        # never before the period it closes began
        ended = ended.where(ended >= before.loc[expired, "valid_from"].fillna(""), before.loc[expired, "valid_from"])
        valid_from[expired] = ended
    cause = now["status_reason"].fillna("").where(~expired, now.get("expired_reason", ""))
    opens = pd.DataFrame({
        "person_id": now.index, "status": now["status"].to_numpy(), "measure": now["measure"].fillna("").to_numpy(),
        "valid_from": valid_from.to_numpy(), "valid_to": None, "change": change.to_numpy(),
        "policy_version": policy.version, "batch_id": batch_id, "closed_batch_id": None,
        "cause": cause.to_numpy(),
    }, columns=HISTORY_COLUMNS)
    closing = before["status"].notna()
    closes = pd.DataFrame({"person_id": now.index[closing], "valid_to": valid_from[closing].to_numpy(),
                           "closed_batch_id": batch_id}, columns=CLOSE_COLUMNS)
    if len(closes_gone):
        closes = pd.concat([closes, closes_gone], ignore_index=True)
    return opens.reset_index(drop=True), closes.reset_index(drop=True)
