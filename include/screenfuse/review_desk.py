"""The review desk: people decide the record pairs the matching was unsure of.

The matching leaves a pair between `thresholds.review` and `thresholds.match` unlinked and queues
it (`match_review`; the view `v_match_review` shows both records side by side with each
comparison's contribution). A person decides it `same` or `different`:

- from the command line (`screenfuse review decide`): stored at once, source `cli`, acted on by
  the next hourly run;
- from the district's review list (复核清单.xlsx in each batch's outbox) filled in and dropped into
  `landing/review/` (the `review` feed, kind `decisions`): stored and acted on by the run that
  reads it, source `file`.

What a decision does (docs/review.md): `same` joins the two records' persons (a must-link the
clustering honours in every later run, unless a cannot-link or two different valid ID numbers
say otherwise); `different` keeps them apart for good (a `match_cannot_link` pair, source
`review`). Either way the pair is a label (`match_label`, source `review`) for the retraining,
and it never comes back to the desk. Pure functions, and the few reads and writes the CLI needs.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from screenfuse import datetimes
from screenfuse import normalize as nz
from screenfuse import warehouse

DECISION_WORDS = {"同一人": "same", "是同一人": "same", "same": "same",
                  "非同一人": "different", "不是同一人": "different", "different": "different"}
DECISION_LABELS = {"same": "同一人", "different": "非同一人"}
DECISION_COLUMNS = ["decision_id", "review_id", "left_record_id", "right_record_id", "decision", "decided_by",
                    "decided_at", "note", "source", "batch_id", "applied_batch_id", "outcome"]
INPUT_COLUMNS = ["source_record_id", "feed", "file_name", "file_sha256", "row_number", "unit", "review_id",
                 "decision", "event_time", "verifier", "note", "raw_json"]
UNKNOWN = "review item unknown (复核编号 not in match_review)"
DECIDED = "review item decided before (a pair is decided once)"
TWICE = "review item decided again in this batch"
NOT_DECIDED = "not decided yet (复核结论, 复核时间 and 复核人 empty): the row of a returned list left blank"
MIN_NAME_CHARS = 1
REVIEW_LIST = "复核清单"
SIDE_HEADERS = {"feed": "来源", "unit": "单位", "event_time": "时间", "name": "姓名", "id_number": "证件号",
                "birth_date": "出生日期", "sex": "性别", "phone": "手机", "address": "地址"}
ANSWER_HEADERS = ("复核结论", "复核时间", "复核人", "备注")  # what the reviewer fills in (contracts/review.yaml)

COMPARISON_LABELS = {"name": "姓名", "id_number": "证件号", "birth_date": "出生日期", "sex": "性别", "phone": "手机",
                     "address": "地址", "document": "其他证件"}
LEVEL_LABELS = {"exact": "相同", "same_pinyin": "同音", "similar": "相近", "different": "不同", "missing": "缺",
                "typo": "一位之差", "transposed": "两位互换", "same_area": "同片区", "same_home": "同户"}


class ReviewError(ValueError):
    """A decision cannot be made; the message says why and what to do (one line, no personal data)."""


def decision_id(review_id: str, decided_at: str) -> str:
    return "D" + hashlib.sha1(f"{review_id}|{decided_at}".encode()).hexdigest()[:16].upper()


def evidence_text(explanation: str) -> str:
    """A review item's explanation (JSON) as a person reads it: each comparison's level and bits,
    the strongest first, e.g. `姓名 相同 +11.8; 手机 相同 +11.7; 地址 不同 -8.5`."""
    try:
        parts = json.loads(explanation or "{}")
    except ValueError:
        return ""
    rows = [(name, part) for name, part in parts.items() if isinstance(part, dict) and part.get("level") != "missing"]
    rows.sort(key=lambda row: -abs(float(row[1].get("bits", 0.0))))
    return "; ".join(f"{COMPARISON_LABELS.get(name, name)} {LEVEL_LABELS.get(p.get('level'), p.get('level'))} "
                     f"{float(p.get('bits', 0.0)):+.1f}" for name, p in rows)


def normalize_decisions(mapped: pd.DataFrame) -> pd.DataFrame:
    """A returned review list's rows → review_id, decision (同一人 / 非同一人, whichever way of
    saying it DECISION_WORDS knows; the cell as written otherwise, which the contract's check
    quarantines), event_time (normalized), verifier, note, unit."""
    col = lambda name: mapped[name] if name in mapped.columns else pd.Series([""] * len(mapped), index=mapped.index)  # noqa: E731
    words = nz.clean_text(col("decision")).str.replace(r"\s+", "", regex=True)
    return pd.DataFrame({"unit": nz.clean_text(col("unit")), "event_time": datetimes.normalize_datetimes(col("event_time")),
                         "review_id": nz.clean_text(col("review_id")),
                         "decision": words.str.lower().map(DECISION_WORDS).map(DECISION_LABELS).fillna(words),
                         "verifier": nz.clean_text(col("verifier")), "note": nz.clean_text(col("note"))},
                        index=mapped.index)


def undecided(staged: pd.DataFrame) -> pd.Series:
    """Rows of a returned list nobody filled in (no decision, time or reviewer)."""
    blank = lambda column: staged[column].fillna("").astype(str).str.strip().eq("")  # noqa: E731
    return blank("decision") & blank("event_time") & blank("verifier")


def check_decisions(staged: pd.DataFrame, reviews: pd.DataFrame, decided: pd.DataFrame) -> pd.Series:
    """Why each decision row cannot be applied ('' when it can): the review item must exist,
    its pair must not be decided before, and only once in the batch. `reviews`: review_id,
    left_record_id, right_record_id; `decided`: left_record_id, right_record_id already decided."""
    known = reviews.drop_duplicates("review_id").set_index("review_id") if len(reviews) else None
    done = set(zip(decided["left_record_id"], decided["right_record_id"])) if len(decided) else set()
    done |= {(b, a) for a, b in done}
    reasons, seen = [], set()
    for review_id in staged["review_id"]:
        if known is None or review_id not in known.index:
            reasons.append(UNKNOWN)
            continue
        pair = (known.at[review_id, "left_record_id"], known.at[review_id, "right_record_id"])
        if pair in done:
            reasons.append(DECIDED)
        elif pair in seen:
            reasons.append(TWICE)
        else:
            reasons.append("")
            seen.add(pair)
    return pd.Series(reasons, index=staged.index, dtype=object)


def file_decisions(accepted: pd.DataFrame, reviews: pd.DataFrame, batch_id: str, timezone: str) -> pd.DataFrame:
    """A batch's accepted decision rows → match_decision rows (source `file`, stored and applied
    by this batch). 复核时间 is on the policy's clock; stored in UTC like every time."""
    pairs = reviews.drop_duplicates("review_id").set_index("review_id")
    when = datetimes.moments(accepted["event_time"])
    if len(when) and when.dt.tz is None:
        when = when.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    stamp = when.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(when.notna(), accepted["event_time"])
    return pd.DataFrame({
        "decision_id": [decision_id(r, s) for r, s in zip(accepted["review_id"], stamp)],
        "review_id": accepted["review_id"],
        "left_record_id": accepted["review_id"].map(pairs["left_record_id"]),
        "right_record_id": accepted["review_id"].map(pairs["right_record_id"]),
        "decision": accepted["decision"].map(DECISION_WORDS), "decided_by": accepted["verifier"], "decided_at": stamp,
        "note": accepted["note"], "source": "file", "batch_id": batch_id, "applied_batch_id": batch_id, "outcome": None,
    }, columns=DECISION_COLUMNS).reset_index(drop=True)


def reviews_named(conn, review_ids) -> pd.DataFrame:
    """review_id, left_record_id, right_record_id of these review items (by key)."""
    return warehouse.rows_by_keys(conn, "match_review", "review_id", pd.Series(list(review_ids), dtype=object).astype(str),
                                  columns="review_id, left_record_id, right_record_id")


def decided_pairs(conn, record_ids) -> pd.DataFrame:
    """Every stored decision (DECISION_COLUMNS) with a record among `record_ids` (by index)."""
    ids = pd.Series(list(record_ids), dtype=object).astype(str)
    found = pd.concat([warehouse.rows_by_keys(conn, "match_decision", column, ids)
                       for column in ("left_record_id", "right_record_id")], ignore_index=True)
    return found.drop_duplicates("decision_id").reset_index(drop=True)[DECISION_COLUMNS]


def pending(conn) -> pd.DataFrame:
    """Decisions made at the command line that no hourly run has acted on yet (by index)."""
    return warehouse.query_frame(conn, "SELECT * FROM match_decision WHERE applied_batch_id IS NULL")[DECISION_COLUMNS]


def as_pairs(decisions: pd.DataFrame, decision: str) -> pd.DataFrame:
    """left_id, right_id of the decisions saying `decision` (the engine's must_link / cannot_link)."""
    chosen = decisions[decisions["decision"] == decision]
    return pd.DataFrame({"left_id": chosen["left_record_id"].astype(str), "right_id": chosen["right_record_id"].astype(str)})


def is_decided(pairs: pd.DataFrame, decisions: pd.DataFrame) -> pd.Series:
    """Which of these pairs (left_record_id, right_record_id) a decision covers, either way round."""
    done = set(zip(decisions["left_record_id"], decisions["right_record_id"])) if len(decisions) else set()
    done |= {(b, a) for a, b in done}
    return pd.Series([pair in done for pair in zip(pairs["left_record_id"], pairs["right_record_id"])],
                     index=pairs.index, dtype=bool)


def cannot_link_rows(decisions: pd.DataFrame, known: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The `match_cannot_link` rows the batch's `different` decisions add (source `review`), pairs
    stored before (`known`: left_id, right_id, e.g. from a 非本人 answer) left out."""
    stored = set(zip(known["left_id"], known["right_id"])) if len(known) else set()
    stored |= {(b, a) for a, b in stored}
    apart = decisions[decisions["decision"] == "different"]
    left = apart[["left_record_id", "right_record_id"]].min(axis=1) if len(apart) else pd.Series(dtype=object)
    right = apart[["left_record_id", "right_record_id"]].max(axis=1) if len(apart) else pd.Series(dtype=object)
    rows = pd.DataFrame({"left_record_id": left, "right_record_id": right, "source": "review", "batch_id": batch_id,
                         "push_item_id": None})
    keep = [pair not in stored for pair in zip(rows["left_record_id"], rows["right_record_id"])]
    return rows[pd.Series(keep, index=rows.index, dtype=bool)].drop_duplicates(["left_record_id", "right_record_id"]) \
        .reset_index(drop=True)


def labels_from(decisions: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The `match_label` rows of the decisions the batch acted on (source `review`)."""
    from screenfuse.labels import LABEL_COLUMNS

    left = decisions[["left_record_id", "right_record_id"]].min(axis=1) if len(decisions) else pd.Series(dtype=object)
    right = decisions[["left_record_id", "right_record_id"]].max(axis=1) if len(decisions) else pd.Series(dtype=object)
    return pd.DataFrame({"left_record_id": left, "right_record_id": right, "source": "review",
                         "label": decisions["decision"], "batch_id": batch_id, "labelled_at": decisions["decided_at"],
                         "reference": decisions["review_id"]}, columns=LABEL_COLUMNS).reset_index(drop=True)


JOINED, KEPT_APART = "joined", "kept apart"
REFUSED = "refused: the records stay apart (two different valid ID numbers, or a 非本人 answer, keep them apart)"


def outcomes(decisions: pd.DataFrame, person_of: pd.Series) -> pd.Series:
    """What the run did with each decision, given each record's person after it (`person_of`,
    indexed by record id): a `same` whose records are still two persons was refused by the
    clustering (a constraint wins over a decision)."""
    together = decisions["left_record_id"].map(person_of).eq(decisions["right_record_id"].map(person_of))
    same = decisions["decision"] == "same"
    return pd.Series([JOINED if s and t else REFUSED if s else KEPT_APART for s, t in zip(same, together)],
                     index=decisions.index, dtype=object)


def mark_applied(conn, decisions: pd.DataFrame, batch_id: str) -> None:
    """The batch acted on these command-line decisions (its publish transaction), with the outcome."""
    if len(decisions):
        conn.execute(sa.text("UPDATE match_decision SET applied_batch_id = :b, outcome = :o WHERE decision_id = :i"),
                     [{"b": batch_id, "o": o, "i": i} for i, o in zip(decisions["decision_id"], decisions["outcome"])])


CLOSE_ITEM = ("UPDATE match_review SET state = :state, closed_batch_id = :b "
              "WHERE state = 'open' AND batch_id <> :not_batch AND ((left_record_id = :l AND right_record_id = :r) "
              "OR (left_record_id = :r AND right_record_id = :l))")


def close_items(conn, batch_id: str, queued: pd.DataFrame, decided: pd.DataFrame, apart: pd.DataFrame) -> None:
    """Close the open items the batch ends (in its publish transaction, by the pair indexes): an
    earlier item of a pair the batch queued again is `superseded`; an item of a pair a decision
    settled is `decided`; one of a pair now kept apart (a cannot-link) is `apart`, and so is every
    other open item between the same two persons. Only open items
    are read for the desk (a partial index), so it costs what is open, not the history."""
    rows = [{"state": "superseded", "b": batch_id, "not_batch": batch_id, "l": l, "r": r}
            for l, r in zip(queued["left_record_id"], queued["right_record_id"])]
    for state, pairs in (("decided", decided), ("apart", apart)):
        rows += [{"state": state, "b": batch_id, "not_batch": "", "l": l, "r": r}
                 for l, r in zip(pairs["left_record_id"], pairs["right_record_id"])]
    if rows:
        conn.execute(sa.text(CLOSE_ITEM), rows)
    _close_between_persons_apart(conn, batch_id, pd.concat([pairs[["left_record_id", "right_record_id"]]
                                                           for pairs in (_different(decided), apart)
                                                           if len(pairs)] or [apart.iloc[:0]], ignore_index=True))


def _different(decisions: pd.DataFrame) -> pd.DataFrame:
    return decisions[decisions["decision"] == "different"] if "decision" in decisions.columns else decisions.iloc[:0]


def _close_between_persons_apart(conn, batch_id: str, apart: pd.DataFrame) -> None:
    """A pair kept apart (a `different` decision, a 非本人 answer) settles every open item between
    the same two persons: their other record pairs are `apart` too, as no `same` could join them.
    Read by index: the two persons' records (after this batch's links), their review items."""
    if apart.empty:
        return
    links = lambda key, values: warehouse.rows_by_keys(conn, "person_link", key, values,  # noqa: E731
                                                       columns="source_record_id, person_id")
    person_of = links("source_record_id", pd.unique(apart[["left_record_id", "right_record_id"]].to_numpy().ravel()))
    person_of = person_of.set_index("source_record_id")["person_id"]
    left, right = apart["left_record_id"].map(person_of), apart["right_record_id"].map(person_of)
    persons_apart = {tuple(sorted(p)) for p in zip(left, right) if isinstance(p[0], str) and isinstance(p[1], str)
                     and p[0] != p[1]}
    if not persons_apart:
        return
    members = links("person_id", sorted({p for pair in persons_apart for p in pair}))
    member_of = members.set_index("source_record_id")["person_id"]
    columns = "review_id, left_record_id, right_record_id, state"
    items = pd.concat([warehouse.rows_by_keys(conn, "match_review", side, member_of.index, columns=columns)
                       for side in ("left_record_id", "right_record_id")], ignore_index=True)
    items = items[items["state"] == "open"].drop_duplicates("review_id")
    between = [tuple(sorted((a, b))) in persons_apart if isinstance(a, str) and isinstance(b, str) else False
               for a, b in zip(items["left_record_id"].map(member_of), items["right_record_id"].map(member_of))]
    closing = items[pd.Series(between, index=items.index, dtype=bool)]
    if len(closing):
        conn.execute(sa.text("UPDATE match_review SET state = 'apart', closed_batch_id = :b "
                             "WHERE review_id = :r AND state = 'open'"),
                     [{"b": batch_id, "r": r} for r in closing["review_id"]])


def decisions_made(conn, limit: int | None = None) -> pd.DataFrame:
    """The latest decisions (no personal data: ids, who, when, what it did)."""
    query = ("SELECT review_id, decision, decided_by, decided_at, source, applied_batch_id, outcome FROM match_decision "
             "ORDER BY decided_at DESC, decision_id")
    if limit:
        query += f" LIMIT {int(limit)}"
    return warehouse.query_frame(conn, query)


def refused_lately(conn) -> int:
    """How many decisions the latest published run refused (a `same` a constraint overruled): the
    item is gone from the desk, so the desk says so (by the decisions' applied-batch index)."""
    latest = conn.exec_driver_sql("SELECT batch_id FROM run_log ORDER BY batch_id DESC LIMIT 1").scalar()
    if latest is None:
        return 0
    return int(conn.execute(sa.text("SELECT COUNT(*) FROM match_decision WHERE applied_batch_id = :b "
                                    "AND outcome LIKE 'refused%'"), {"b": latest}).scalar() or 0)


def open_items(conn, limit: int | None = None) -> pd.DataFrame:
    """The open review items (`v_match_review`), the likeliest matches first."""
    query = "SELECT * FROM v_match_review ORDER BY match_probability DESC, review_id"
    if limit:
        query += f" LIMIT {int(limit)}"
    return warehouse.query_frame(conn, query)


def open_item(conn, review_id: str) -> pd.Series | None:
    found = warehouse.query_frame(conn, "SELECT * FROM v_match_review WHERE review_id = :r", r=review_id)
    return found.iloc[0] if len(found) else None


def decide(conn, review_id: str, decision: str, decided_by: str, now: datetime, note: str = "") -> dict:
    """Store a person's decision on an open review item (in `conn`'s transaction, under the
    publish lock); the next hourly run acts on it."""
    word = DECISION_WORDS.get(str(decision).strip().lower())
    if word is None:
        raise ReviewError(f"decision '{decision}' is not one of same / different — fix: give same, different, "
                          f"同一人 or 非同一人")
    decided_by = (decided_by or "").strip()
    if len(decided_by) < MIN_NAME_CHARS:
        raise ReviewError("who decides is not given — fix: add --by NAME")
    warehouse.lock_for_publish(conn)
    row = conn.execute(sa.text("SELECT left_record_id, right_record_id FROM match_review WHERE review_id = :r"),
                       {"r": review_id}).first()
    if row is None:
        raise ReviewError(f"review item {review_id} is unknown — fix: `screenfuse review list` shows the open ones")
    decided = decided_pairs(conn, [row[0], row[1]])
    if {(row[0], row[1]), (row[1], row[0])} & set(zip(decided["left_record_id"], decided["right_record_id"])):
        raise ReviewError(f"review item {review_id} was decided before, and a pair is decided once — fix: nothing "
                          f"to do (`screenfuse review list --decided` shows the decision)")
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {"decision_id": decision_id(review_id, stamp), "review_id": review_id, "left_record_id": row[0],
              "right_record_id": row[1], "decision": word, "decided_by": decided_by, "decided_at": stamp,
              "note": (note or "").strip() or None, "source": "cli", "batch_id": None, "applied_batch_id": None,
              "outcome": None}
    warehouse.bulk_insert(conn, "match_decision", pd.DataFrame([record], columns=DECISION_COLUMNS))
    return record


def review_list_table(items: pd.DataFrame) -> pd.DataFrame:
    """The open review items (`open_items`) as the district's 复核清单: the item, how sure the
    matching was and why, both records side by side (A, B), and the empty columns the reviewer
    fills in; the same sheet dropped into `landing/review/` is a valid answer file."""
    table = pd.DataFrame({"复核编号": items["review_id"], "匹配概率": items["match_probability"].round(3),
                          "匹配权重": items["match_weight"].round(2),
                          "比对依据": items["explanation"].map(evidence_text)})
    for side, mark in (("left", "A"), ("right", "B")):
        for key, header in SIDE_HEADERS.items():
            table[f"记录{mark}{header}"] = items[f"{side}_{key}"].fillna("").astype(str)
    for header in ANSWER_HEADERS:
        table[header] = ""
    return table.reset_index(drop=True)
