"""Feedback: what street offices send back about the items pushed to them (the fifth feed).

A feedback row names a push item (推送编号), a result (核查结果), when (反馈时间), who checked
(核查人) and a note (备注). The feed's contract (`contracts/feedback.yaml`, kind `answers`) is
read and validated like the other feeds; its rows are answers, not person records, so they never
enter matching. What each result does to the item:

| result | item | and |
|---|---|---|
| 已核实 / 已隔离 / 已转运 | done (acknowledged, answered) | |
| 查无此人 | closed (`not_found`) | the person goes on the police tracing list (公安协查清单) |
| 已离开本辖区 | closed (`left_area`), or `rerouted` when the person's newest address is in another street | a rerouted person gets an item on the new street's list |
| 非本人 | closed (`not_same_person`) | a permanent cannot-link between the item's records and the person's other records (when every record backs the item: between its first record and the others): the same run splits the person (the pairs are read before matching); each pair is also a `different` label (`match_label`, screenfuse.labels) |

An answer counts only from the street office the item was pushed to (or the district, which
answers its own list): the answering unit is the street office the file's name names
(`<街道>_<日期>_反馈.csv`, as the generator and the offices name them), else the row's 街道 (反馈单位)
cell. The two must not name two offices, and only a file's name can say the district. An answer
from another street office, or from a unit that cannot be told, is quarantined, as is an answer for an unknown item, an item closed or answered before, or a second
answer for the same item in one batch. Pure functions (frames in, frames out).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from screenfuse import datetimes
from screenfuse import normalize as nz

RESULTS = {"已核实": "verified", "已隔离": "isolated", "已转运": "transferred",
           "查无此人": "not_found", "已离开本辖区": "left_area", "非本人": "not_same_person"}
DONE_RESULTS = ("已核实", "已隔离", "已转运")
CLOSE_REASON = {"查无此人": "not_found", "已离开本辖区": "left_area", "非本人": "not_same_person"}
ANSWER_COLUMNS = ["answer_id", "batch_id", "feed", "file_name", "file_sha256", "row_number", "unit", "push_item_id",
                  "result", "answered_at", "verifier", "note", "raw_json"]
UPDATE_COLUMNS = ["push_item_id", "new_state", "acknowledged_at", "done_at", "answered_by", "answered_at",
                  "answer_result", "answered_batch_id", "answer_hours", "answered_late"]
TRACING_COLUMNS = ["trace_id", "batch_id", "push_item_id", "person_id", "street", "answered_at", "reason"]
CANNOT_LINK_COLUMNS = ["left_record_id", "right_record_id", "source", "batch_id", "push_item_id"]
UNKNOWN, CLOSED, ANSWERED, TWICE = ("push item unknown", "push item already closed",
                                    "push item already answered", "push item answered again in this batch")
OTHER_STREET = "push item belongs to another street office (answers count only from the office it was pushed to)"
NO_UNIT = ("answering street office unknown or unclear: name the file <街道>_<日期>_反馈.csv, and leave 街道 empty "
           "or the same office")
_OFFICE_WORDS = ("街道办事处", "街道办", "办事处", "街道")
NOT_ANSWERED = "not answered yet (核查结果, 反馈时间 and 核查人 empty): the row of a returned list left blank"


def normalize_answers(mapped: pd.DataFrame) -> pd.DataFrame:
    """Header-mapped feedback rows → answer columns (text cleaned, time normalized)."""
    n = len(mapped)
    col = lambda name: mapped[name] if name in mapped.columns else pd.Series([""] * n, index=mapped.index)  # noqa: E731
    out = pd.DataFrame(index=mapped.index)
    out["unit"] = nz.clean_text(col("unit"))
    out["event_time"] = datetimes.normalize_datetimes(col("event_time"))
    out["push_item_id"] = nz.clean_text(col("push_item_id")).str.upper()
    for name in ("result", "verifier", "note"):
        out[name] = nz.clean_text(col(name))
    return out


def _stem(unit: str) -> str:
    """A street office's name without the word for "office" (粮道街道办事处 → 粮道)."""
    for word in _OFFICE_WORDS:
        if unit.endswith(word) and len(unit) > len(word):
            return unit[: -len(word)]
    return unit


def _offices_named(answers: pd.DataFrame, offices: list[str]) -> tuple[pd.Series, pd.Series]:
    """(the office each row's unit cell names, the office its file's name names), '' for none: a
    unit cell naming no known office is kept as written (it then matches no item); the file's
    office is the longest office name (or its stem) in the name."""
    by_stem = {_stem(o): o for o in offices} | {o: o for o in offices}
    names = sorted(by_stem, key=len, reverse=True)
    cell = answers["unit"].fillna("").astype(str).str.strip() if "unit" in answers else pd.Series("", index=answers.index)
    from_cell = cell.map(lambda u: by_stem.get(u) or by_stem.get(_stem(u)) or u if u else "")

    def from_file(name: str) -> str:
        stem = str(name).rsplit("/", 1)[-1]
        return next((by_stem[n] for n in names if n and n in stem), "")

    files = answers["file_name"].fillna("").astype(str) if "file_name" in answers else pd.Series("", index=answers.index)
    return from_cell, files.map(from_file)


def answering_units(answers: pd.DataFrame, offices: list[str], district: str = "") -> pd.Series:
    """The office each answer comes from, as one of `offices` (the streets and the district
    list), '' when it cannot be told: the unit cell and the file's name must not name two
    offices, and only the file's name can say the district (a street office's cell cannot)."""
    cell, file = _offices_named(answers, offices)
    unit = cell.where(cell != "", file)
    unit[(cell != "") & (file != "") & (cell != file)] = ""
    unit[(cell == district) & (file != district) & (cell != "")] = ""
    return unit


def unanswered(staged: pd.DataFrame) -> pd.Series:
    """Rows of a returned push list the office left blank (no result, time or checker): told
    apart from a wrong answer in the quarantine reason."""
    given = [staged[c].fillna("").astype(str).str.strip() != "" for c in ("result", "event_time", "verifier")
             if c in staged]
    if not given:
        return pd.Series(False, index=staged.index)
    return ~pd.concat(given, axis=1).any(axis=1)


def check_answers(answers: pd.DataFrame, items_before: pd.DataFrame, offices: list[str] | None = None,
                  district: str = "") -> pd.Series:
    """Reason per answer ('' = it applies): the item must exist and be open, once per batch, and
    the answer come from the item's street office or from `district` (with `offices`, the names
    `answering_units` recognises; None skips the check).

    `answers`: push_item_id, event_time, file_name, row_number, unit (rows GX accepted);
    `items_before`: push_item_id, state, street (as before this batch)."""
    reasons = pd.Series("", index=answers.index, dtype=object)
    if answers.empty:
        return reasons
    if offices is not None:
        unit = answering_units(answers, offices, district)
        street = answers["push_item_id"].map(dict(zip(items_before["push_item_id"], items_before["street"]))
                                             if len(items_before) else {})
        reasons[street.notna() & (unit != street) & (unit != district)] = OTHER_STREET
        reasons[unit == ""] = NO_UNIT
    state = dict(zip(items_before["push_item_id"], items_before["state"])) if len(items_before) else {}
    now = answers["push_item_id"].map(state)
    reasons[now.isna()] = UNKNOWN
    mine = reasons.isin(["", UNKNOWN])  # an answer from the wrong office says nothing of the item
    reasons[mine & now.eq("closed")] = CLOSED
    reasons[mine & now.isin(["done", "acknowledged"])] = ANSWERED
    ok = answers[reasons == ""].sort_values(["event_time", "file_name", "row_number"], kind="stable")
    reasons[ok.index[ok["push_item_id"].duplicated()]] = TWICE
    return reasons


@dataclass(frozen=True)
class AnswerPlan:
    updates: pd.DataFrame  # UPDATE_COLUMNS: what the answer writes on its item
    closes: pd.DataFrame  # push_item_id, close_reason: items the answer closes (left_area: unless the plan reroutes)
    tracing: pd.DataFrame  # TRACING_COLUMNS: 查无此人 → police tracing list
    cannot_link: pd.DataFrame  # CANNOT_LINK_COLUMNS: 非本人 → record pairs never to be linked again


def plan_answers(answers: pd.DataFrame, items_before: pd.DataFrame, links_before: pd.DataFrame,
                 known_cannot_link: pd.DataFrame, batch_id: str, timezone: str = "UTC") -> AnswerPlan:
    """What the batch's applicable answers (after `check_answers`) do.

    `items_before`: push_item_id, person_id, street, source_records; `links_before`:
    source_record_id, person_id (the resolution before this batch); `known_cannot_link`:
    left_id, right_id pairs already stored. `timezone`: the clock street offices write 反馈时间 in
    (the policy's `zero_report.timezone`); answer times are stored in UTC."""
    items = items_before.set_index("push_item_id") if len(items_before) else pd.DataFrame(
        columns=["person_id", "street", "source_records"])
    done = answers["result"].isin(DONE_RESULTS)
    # answer times on the warehouse's clock (UTC ISO, like created_at and due_at)
    when = datetimes.moments(answers["event_time"])
    if len(when) and when.dt.tz is None:
        when = when.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC").dt.tz_localize(None)
    stamp = when.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(when.notna(), answers["event_time"])
    created = pd.to_datetime(answers["push_item_id"].map(items["created_at"]) if "created_at" in items and len(answers)
                             else pd.Series(None, index=answers.index), errors="coerce", utc=True).dt.tz_localize(None)
    due = answers["push_item_id"].map(items["due_at"]) if "due_at" in items and len(answers) else pd.Series(
        None, index=answers.index, dtype=object)
    updates = pd.DataFrame({
        "push_item_id": answers["push_item_id"],
        "new_state": done.map({True: "done", False: None}),
        "acknowledged_at": stamp.where(done, None),
        "done_at": stamp.where(done, None),
        "answered_by": answers["verifier"],
        "answered_at": stamp,
        "answer_result": answers["result"],
        "answered_batch_id": batch_id,
        "answer_hours": ((when - created).dt.total_seconds() / 3600).round(2),
        "answered_late": (stamp > due.fillna("")).astype(int).where(due.notna(), None),
    }, columns=UPDATE_COLUMNS).reset_index(drop=True)
    closing = answers[answers["result"].isin(list(CLOSE_REASON))]
    closes = pd.DataFrame({"push_item_id": closing["push_item_id"],
                           "close_reason": closing["result"].map(CLOSE_REASON)}).reset_index(drop=True)

    lost = answers[answers["result"] == "查无此人"]
    tracing = pd.DataFrame({
        "trace_id": "T" + lost["push_item_id"],
        "batch_id": batch_id,
        "push_item_id": lost["push_item_id"],
        "person_id": lost["push_item_id"].map(items["person_id"]) if len(lost) else [],
        "street": lost["push_item_id"].map(items["street"]) if len(lost) else [],
        "answered_at": stamp[lost.index],
        "reason": "查无此人",
    }, columns=TRACING_COLUMNS).reset_index(drop=True)

    cannot_link = not_same_person_pairs(answers, items, links_before, known_cannot_link, batch_id)
    return AnswerPlan(updates, closes, tracing, cannot_link)


def not_same_person_pairs(answers: pd.DataFrame, items: pd.DataFrame, links_before: pd.DataFrame,
                          known_cannot_link: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The record pairs (CANNOT_LINK_COLUMNS) the 非本人 answers keep apart: each record that backs
    the item against each other record of its person before the batch (when every record backs
    it: its first record against the others). `items`: indexed by push_item_id, with
    `source_records`; pairs already in `known_cannot_link` (left_id, right_id) are not repeated.
    The resolution reads them before matching (the split happens in the answer's run) and the
    publish stores them: both call this, so both see the same pairs."""
    pairs = []
    person_of = dict(zip(links_before["source_record_id"], links_before["person_id"])) if len(links_before) else {}
    records_of: dict[str, list[str]] = {}
    for record, person in person_of.items():
        records_of.setdefault(person, []).append(record)
    known = set(zip(known_cannot_link["left_id"], known_cannot_link["right_id"])) if len(known_cannot_link) else set()
    for item_id in answers.loc[answers["result"] == "非本人", "push_item_id"]:
        if item_id not in items.index:
            continue
        pushed = [r for r in str(items.at[item_id, "source_records"] or "").split(";") if r]
        pushed = [r for r in pushed if r in person_of]
        if not pushed:
            continue
        person = person_of[pushed[0]]
        others = [r for r in sorted(records_of.get(person, [])) if r not in set(pushed)]
        if not others:  # every record of the person backs the item: the first one is set apart
            pushed, others = pushed[:1], pushed[1:]
        for a in pushed:
            for b in others:
                pair = (min(a, b), max(a, b))
                if pair not in known:
                    known.add(pair)
                    pairs.append((*pair, "feedback", batch_id, item_id))
    return pd.DataFrame(sorted(pairs), columns=CANNOT_LINK_COLUMNS)


def items_with_answers(items_before: pd.DataFrame, plan: AnswerPlan) -> pd.DataFrame:
    """The items as the push-list plan should see them once the batch's answers are applied:
    done and closed items are no longer open; an item whose person left the area stays open (with
    its answer time, so it is not escalated) so that the plan can reroute it."""
    if items_before.empty or plan.updates.empty:
        return items_before
    items = items_before.copy()
    answered = dict(zip(plan.updates["push_item_id"], plan.updates["answered_at"]))
    state = dict(zip(plan.updates["push_item_id"], plan.updates["new_state"]))
    reason = dict(zip(plan.closes["push_item_id"], plan.closes["close_reason"]))
    hit = items["push_item_id"].isin(answered)
    items.loc[hit, "answered_at"] = items.loc[hit, "push_item_id"].map(answered)
    done = items["push_item_id"].map(state).eq("done")
    items.loc[done, "state"] = "done"
    gone = items["push_item_id"].map(reason).isin(["not_found", "not_same_person"])
    items.loc[gone, "state"] = "closed"
    return items


def answer_closes(plan: AnswerPlan, push_closes: pd.DataFrame, batch_id: str, stamp: str) -> pd.DataFrame:
    """Closes the answers add to the push-list plan's own (push_item_id, closed_at,
    closed_batch_id, close_reason): an item the plan already closes (e.g. rerouted to the
    person's new street) keeps the plan's reason."""
    already = set(push_closes["push_item_id"]) if len(push_closes) else set()
    extra = plan.closes[~plan.closes["push_item_id"].isin(already)]
    return pd.DataFrame({"push_item_id": extra["push_item_id"], "closed_at": stamp, "closed_batch_id": batch_id,
                         "close_reason": extra["close_reason"]},
                        columns=["push_item_id", "closed_at", "closed_batch_id", "close_reason"]).reset_index(drop=True)
