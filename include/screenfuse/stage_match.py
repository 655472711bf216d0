"""Match stages: resolve the batch's records into persons, fuse the persons the batch touches.

What they read, by index: the neighbourhood of the new records (`screenfuse.match_state`), the
records, links and open status rows of the persons in focus, and nothing else. The persons in
focus are those whose records the resolution changed (a new record, a record that moved: the
persons before and after; a neighbour whose person kept every record is not fused again), those
whose status or measure changes with time by now (`person.next_change_at`), those with an item
past due, those the batch's answers name, and the close contacts and index cases of all these
(`contact_circle`).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd

from screenfuse import contact_edges, isolation
from screenfuse import mass_screening as ms
from screenfuse import match_state, retrain, review_desk, revocation, screening_state, warehouse
from screenfuse.config import Settings
from screenfuse.contracts import load_contracts, person_feeds
from screenfuse.fuse import fuse_persons, next_change, person_counts_by_status
from screenfuse.gazetteer import load_gazetteer
from screenfuse.ingest import empty_records
from screenfuse.lifecycle import status_changes
from screenfuse.matching import Model
from screenfuse.pseudonyms import with_pseudonyms
from screenfuse.pipeline import batch_time, engine, guard, iso, run_policy, state
from screenfuse.records import ORIGIN_COLUMNS, RECORD_COLUMNS
from screenfuse.resolve import (
    NORMALIZED_AT_INGEST, SETTINGS, match_settings, plain_text, prepare_records, resolve_identities,
)
from screenfuse.stage_process import release_memory
from screenfuse.state_schema import MATCH_COLUMNS
from screenfuse.text_keys import is_in, map_by_key

LINK_COLUMNS = ["source_record_id", "person_id", "match_weight", "match_probability", "match_rule", "explanation",
                "changed_batch_id", "previous_person_id"]


# what fuse reads of a record: not the row as sent, nor the file and batch it came in
FUSED_COLUMNS = [c for c in RECORD_COLUMNS if c not in ORIGIN_COLUMNS]
READ_COLUMNS = ", ".join(FUSED_COLUMNS)
# what fuse reads of its records before the screening join: their ids, and whom they name (contacts)
NAMING_COLUMNS = ["source_record_id", "id_number", "contact_of_id", "contact_of_name", "details_json"]


def batch_records(stage, columns: list[str] = RECORD_COLUMNS) -> pd.DataFrame:
    """The batch's accepted person records, only `columns` of them (read from the stage so)."""
    frames = [stage.get(f"{feed}.accepted", columns) for feed in person_feeds()]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_records()[columns]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def batch_answers(stage) -> pd.DataFrame:
    """The batch's accepted feedback answers (every feed of kind `answers`)."""
    from screenfuse import feedback as fb

    frames = [stage.get(f"{feed}.accepted") for feed, c in sorted(load_contracts().items()) if c.kind == "answers"]
    frames = [f for f in frames if not f.empty]
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame({c: pd.Series(dtype=object) for c in fb.ANSWER_COLUMNS}))


def batch_decisions(stage) -> pd.DataFrame:
    """The review decisions of the batch's returned review lists (every feed of kind `decisions`)."""
    frames = [stage.get(f"{feed}.accepted") for feed, c in sorted(load_contracts().items()) if c.kind == "decisions"]
    frames = [f for f in frames if not f.empty]
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame({c: pd.Series(dtype=object) for c in review_desk.DECISION_COLUMNS}))


def resolve(settings: Settings, batch_id: str, attempt: str | None = None) -> dict:
    """Match this batch's records against the persons they can touch and each other, with the
    stored model; the first batch trains and stores one."""
    guard(settings, batch_id, attempt)
    stage = state(settings, batch_id, attempt)
    matching = match_settings()  # the zh_person preset with the district's dialect table
    prepared = prepare_records(batch_records(stage, ["source_record_id", *NORMALIZED_AT_INGEST]), normalized_at_ingest=True)
    terms, keys = match_state.term_counts(prepared, matching), None
    with engine(settings).begin() as conn:
        stored = warehouse.query_frame(conn, "SELECT model_id, params_json FROM match_model WHERE promoted = 1 "
                                             "ORDER BY version DESC LIMIT 1")
        declined = em_declined(conn) if stored.empty else None
        model = Model.from_json(stored["params_json"].iloc[0]) if len(stored) else None  # a first load uses it too
        version = int(conn.exec_driver_sql("SELECT COALESCE(MAX(version), 0) FROM match_model").scalar()) + 1
        has_history = conn.exec_driver_sql("SELECT 1 FROM person_link LIMIT 1").first() is not None
        relink = retrain.relink_after_promotion(conn) if has_history else []
        # records of 非本人 answers the district revoked since: resolved again (screenfuse.revocation)
        revoked, revoked_records = revocation.pending(conn) if has_history else ([], [])
        relink = sorted(set(relink) | set(revoked_records))
        # this batch's 非本人 answers: their pairs are kept apart in this very run
        apart = answered_apart(conn, batch_answers(stage), batch_id)
        # review decisions to act on: this batch's returned lists and those made at the command line
        decisions = pd.concat([batch_decisions(stage), review_desk.pending(conn)], ignore_index=True) \
            if has_history else batch_decisions(stage).iloc[:0]
        if has_history:
            keys = match_state.block_keys(prepared, matching)
            # records of remembered 非本人 pairs still together, and the records a newly promoted
            # model decides differently: resolved again as if new (screenfuse.retrain)
            again = sorted(set(match_state.still_together(conn, stage.get_json("started_after")["batch_id"])) | set(relink)
                           | set(apart["left_record_id"].tolist()) | set(apart["right_record_id"].tolist())
                           | set(decisions["left_record_id"].tolist()) | set(decisions["right_record_id"].tolist()))
            again_rows = warehouse.rows_by_keys(conn, "match_record", "record_id", again,
                                                columns="record_id, " + ", ".join(MATCH_COLUMNS))
            again_keys = match_state.block_keys(again_rows, matching)
            seeds = pd.concat([keys.assign(narrow=match_state.narrow_keys(keys, prepared, matching)),
                               again_keys.assign(narrow=match_state.narrow_keys(again_keys, again_rows, matching))],
                              ignore_index=True)
            around, previous = match_state.neighbourhood(conn, seeds, matching, extra_records=again)
            frame = pd.concat([around[~is_in(around["record_id"], prepared["record_id"])], prepared], ignore_index=True)
            population = match_state.population(conn, frame, terms, matching)
            cannot_link = pd.concat([match_state.cannot_link_among(conn, frame["record_id"]),
                                     apart.rename(columns={"left_record_id": "left_id", "right_record_id": "right_id"})[
                                         ["left_id", "right_id"]], review_desk.as_pairs(decisions, "different")],
                                    ignore_index=True)
            decided = pd.concat([review_desk.decided_pairs(conn, frame["record_id"]), decisions], ignore_index=True)
            new_ids = pd.unique(pd.concat([prepared["record_id"], pd.Series(relink, dtype=object)])).astype(object)
            declined = declined if declined and len(new_ids) <= declined else None  # more records: EM tried again
            result = resolve_identities(frame, previous, new_ids=new_ids, model=model, cannot_link=cannot_link,
                                        population=population, prepared=True,
                                        must_link=review_desk.as_pairs(decided, "same"),
                                        shipped_reason=(f"EM was turned down on {declined:,} records: not "
                                                        "tried again on fewer") if declined else None)
        else:
            previous, declined = pd.DataFrame(columns=["source_record_id", "person_id"]), None
            result = resolve_identities(prepared, model=model, prepared=True)
            frame, decided = prepared, decisions
    if keys is None:  # a first load's millions of keys made after the engine let go of its pairs, not beside them
        keys = match_state.block_keys(prepared, matching)
    links = result.links.merge(previous.rename(columns={"person_id": "previous_person_id"}), on="source_record_id", how="left")
    changed = links["previous_person_id"].isna() | (links["previous_person_id"] != links["person_id"])
    links = _keep_what_joined(settings, links[changed].assign(changed_batch_id=batch_id)[LINK_COLUMNS])
    # a decided pair never comes back to the desk
    review = result.review[~review_desk.is_decided(result.review, decided)].assign(batch_id=batch_id, state="open")
    review.insert(0, "review_id", [f"R{batch_id}-{a}-{b}" for a, b in zip(review["left_record_id"], review["right_record_id"])])
    # each record's person now, for the decisions' outcomes (none in most hours: a first load's
    # million links are not indexed for nothing)
    person_now = result.links.drop_duplicates("source_record_id").set_index("source_record_id")["person_id"] \
        if len(decisions) else pd.Series(dtype=object)
    decisions = decisions.drop_duplicates("decision_id").assign(outcome=review_desk.outcomes(decisions, person_now))
    resolution = result.links[["source_record_id", "person_id"]].assign(
        person_before=map_by_key(result.links["source_record_id"], previous["source_record_id"],
                                 previous["person_id"]).to_numpy())
    # only records that are new or changed person put their persons in focus: a neighbour whose
    # person kept every record fuses the same (at 3M records the neighbourhood is 8x the batch)
    resolution = resolution[resolution["person_before"].isna() | (resolution["person_before"] != resolution["person_id"])]
    trained = {"model_id": batch_id, "preset": "zh_person", "params_json": result.model.to_json(), "version": version,
               "created_at": iso(batch_time(batch_id)), "promoted": 1, "promoted_by": "hourly"}
    with stage.writing():
        stage.put("match_record", plain_text(prepared).assign(batch_id=batch_id))
        stage.put("match_key", keys)
        stage.put("match_term", terms)
        stage.put("links", links)
        stage.put("answer_apart", apart)
        stage.put("decisions", decisions)
        stage.put("resolution", resolution)
        stage.put("review", review)
        stage.put("person_events", result.changes.assign(batch_id=batch_id))
        stage.put("match_model", pd.DataFrame([trained] if result.model_trained else [], columns=list(trained)))
        stage.put_json("revocations", {"push_item_ids": revoked})
        stage.put_json("model_used", model_used(result, stored["model_id"].iloc[0] if len(stored) else None, batch_id,
                                                declined))
    return {"new_records": len(prepared), "records_read": len(frame), "links_changed": len(links),
            "persons_touched": len(set(resolution["person_id"].tolist()) | set(resolution["person_before"].dropna().tolist())),
            "review_items": len(review),
            "merges": int((result.changes["event"] == "merge").sum()),
            "splits": int((result.changes["event"] == "split").sum()), "incremental": has_history,
            "model_trained": result.model_trained, "model": result.model_source, "relinked": len(relink),
            "review_decisions": {k: int(v) for k, v in decisions["outcome"].str.split(":").str[0].value_counts().items()}}


def answered_apart(conn, answers: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The record pairs this batch's 非本人 answers keep apart (feedback.CANNOT_LINK_COLUMNS), read
    before matching so that the person splits in the answer's own run; the publish stores the
    same pairs (`plan_push`). By index: the answered items, their records' persons, those
    persons' records. A revoked answer keeps nothing apart."""
    from screenfuse import feedback as fb

    named = answers.loc[answers["result"] == "非本人", "push_item_id"].dropna().astype(str)
    named = named[~named.isin(revocation.revoked_among(conn, named))]
    if named.empty:
        return pd.DataFrame(columns=fb.CANNOT_LINK_COLUMNS)
    items = warehouse.rows_by_keys(conn, "push_item", "push_item_id", named, columns="push_item_id, source_records")
    pushed = sorted({r for text in items["source_records"] for r in str(text or "").split(";") if r})
    persons = warehouse.rows_by_keys(conn, "person_link", "source_record_id", pushed, columns="person_id")
    links = warehouse.rows_by_keys(conn, "person_link", "person_id", sorted(set(persons["person_id"].tolist())),
                                   columns="source_record_id, person_id")
    return fb.not_same_person_pairs(answers[answers["push_item_id"].isin(named)], items.set_index("push_item_id"),
                                    links, pd.DataFrame(columns=["left_id", "right_id"]), batch_id)


def em_declined(conn) -> int | None:
    """On how many records the checks last turned EM down (run_log, the latest run; None: they did not)."""
    row = conn.exec_driver_sql("SELECT em_declined_records FROM run_log ORDER BY batch_id DESC LIMIT 1").first()
    return int(row[0]) if row is not None and row[0] is not None else None


def model_used(result, stored_id: str | None, batch_id: str, declined: int | None = None) -> dict:
    """What run_log says of the model a run used (no personal data): which, why, and its prior;
    on how many records EM was turned down (by this run, or by the earlier run it relied on)."""
    reasons = {"given": (stored_id, "the latest promoted model"),
               "trained": (batch_id, "trained on this batch (no model stored yet)"),
               "shipped": (f"shipped:{SETTINGS.preset}", result.model_reason or "the preset's shipped model")}
    which, why = reasons[result.model_source]
    return {"match_model": which, "match_model_reason": why, "match_prior": float(result.prior),
            "match_population": int(result.population_size), "match_blocking": json.dumps(result.blocking_report()),
            "em_declined_records": result.learnt_from if result.model_source == "shipped" and result.learnt_from
            else declined}


def _keep_what_joined(settings: Settings, links: pd.DataFrame) -> pd.DataFrame:
    """A record that moved only because its person merged with another ("kept") keeps the weight,
    probability and explanation of the link that joined it in an earlier run."""
    moved = links["previous_person_id"].notna() & links["match_weight"].isna()
    if not moved.any():
        return links
    with engine(settings).connect() as conn:
        stored = warehouse.rows_by_keys(conn, "person_link", "source_record_id", links.loc[moved, "source_record_id"],
                                        columns="source_record_id, match_weight, match_probability, match_rule, explanation")
    stored = stored.set_index("source_record_id")
    out = links.copy()
    for column in ("match_weight", "match_probability", "match_rule", "explanation"):
        kept = out.loc[moved, "source_record_id"].map(stored[column])
        if column in ("match_weight", "match_probability"):  # NULL in the store (a twin, alone) reads as None
            kept = pd.to_numeric(kept, errors="coerce")
        out.loc[moved, column] = kept.where(kept.notna(), out.loc[moved, column])
    return out


def focus(conn, resolution: pd.DataFrame, answers: pd.DataFrame, as_of: str, everyone: bool = False,
          records=(), stored_any: bool = True):
    """Every record of the persons in focus (source_record_id, person_id) as resolved now and as
    it was before the batch, and the ids of those persons before it. `records`: stored records
    whose persons must be looked at again (e.g. a lab result named their tube). `stored_any`
    False: the warehouse holds no person yet, and only the batch's own are in focus."""
    # .tolist() first: iterating an Arrow column boxes each value, four to five times slower
    touched = set(resolution["person_id"].tolist()) | set(resolution["person_before"].dropna().tolist())
    if stored_any:
        persons, stored = _stored_focus(conn, resolution, answers, as_of, everyone, records, touched)
    else:  # as the look-ups would answer: nothing
        persons, stored = touched, pd.DataFrame.from_records([], columns=["source_record_id", "person_id"])
    now = pd.concat([stored, resolution[["source_record_id", "person_id"]]], ignore_index=True)
    was = resolution.dropna(subset=["person_before"])
    before = pd.concat([stored, pd.DataFrame({"source_record_id": was["source_record_id"], "person_id": was["person_before"]})],
                       ignore_index=True)
    return now, before, persons


def _stored_focus(conn, resolution: pd.DataFrame, answers: pd.DataFrame, as_of: str, everyone: bool, records,
                  touched: set) -> tuple[set, pd.DataFrame]:
    """The persons in focus, and the stored links of their records that the batch did not resolve."""
    timed = warehouse.query_frame(conn, "SELECT person_id FROM person WHERE next_change_at > '' AND next_change_at <= :t",
                                  t=as_of)
    overdue = warehouse.query_frame(conn, """SELECT DISTINCT person_id FROM push_item
        WHERE state IN ('open', 'pushed') AND due_at <= :t AND answered_at IS NULL""", t=as_of)
    answered = warehouse.rows_by_keys(conn, "push_item", "push_item_id", answers["push_item_id"].astype(str),
                                      columns="person_id")
    named = warehouse.rows_by_keys(conn, "person_link", "source_record_id", list(records), columns="person_id")
    persons = touched.union(*(set(frame["person_id"].tolist()) for frame in (timed, overdue, answered, named)))
    if everyone:  # a new policy decides again for every person: the one run that reads them all
        stored = warehouse.query_frame(conn, "SELECT source_record_id, person_id FROM person_link")
        persons |= set(stored["person_id"].tolist())
    else:
        stored = warehouse.rows_by_keys(conn, "person_link", "person_id", sorted(persons),
                                        columns="source_record_id, person_id")
    return persons, stored[~is_in(stored["source_record_id"], resolution["source_record_id"])]


def contact_circle(conn, records: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """The stored links (source_record_id, person_id) of the persons to fuse with those in focus so
    that a close contact's measure sees its index case (docs/policy.md, contacts): the contacts whose
    records name an ID number of a person in focus (contact_of_id), and the index cases named by the
    records of the persons in focus and of those contacts. By index (migration 0007), two look-ups."""
    def nonempty(values) -> list:
        return sorted({v for v in values.tolist() if isinstance(v, str) and v})  # a list: Arrow iterates slowly

    def persons_of(rows: pd.DataFrame) -> set:
        if rows.empty:
            return set()
        return set(warehouse.rows_by_keys(conn, "person_link", "source_record_id", rows["source_record_id"],
                                          columns="person_id")["person_id"])

    in_focus = set(links["person_id"].tolist())
    ids = nonempty(records["id_number"])
    naming = warehouse.rows_by_keys(conn, "source_record", "contact_of_id", ids, columns="source_record_id") \
        if ids else pd.DataFrame(columns=["source_record_id"])
    contacts = persons_of(naming) - in_focus
    contact_links = warehouse.rows_by_keys(conn, "person_link", "person_id", sorted(contacts),
                                           columns="source_record_id, person_id") if contacts else None
    named = set(nonempty(records["contact_of_id"]))
    if contact_links is not None and len(contact_links):
        theirs = warehouse.rows_by_keys(conn, "source_record", "source_record_id", contact_links["source_record_id"],
                                        columns="contact_of_id")
        named |= set(nonempty(theirs["contact_of_id"]))
    index_rows = warehouse.rows_by_keys(conn, "source_record", "id_number", sorted(named), columns="source_record_id") \
        if named else pd.DataFrame(columns=["source_record_id"])
    added = (contacts | persons_of(index_rows)) - in_focus
    if not added:
        return pd.DataFrame({"source_record_id": pd.Series(dtype=object), "person_id": pd.Series(dtype=object)})
    circle = warehouse.rows_by_keys(conn, "person_link", "person_id", sorted(added), columns="source_record_id, person_id")
    return circle[~is_in(circle["source_record_id"], links["source_record_id"])].reset_index(drop=True)


def fuse(settings: Settings, batch_id: str, as_of: datetime, attempt: str | None = None) -> dict:
    """Golden records, statuses and measures of the persons in focus; their status history."""
    guard(settings, batch_id, attempt)
    stage, policy, stamp = state(settings, batch_id, attempt), run_policy(settings, batch_id, attempt), iso(as_of)
    # the focus, the contacts and the screening join need only these of the batch's records; the
    # whole records are read after the join, not carried through it (a first load's are a GB)
    new = batch_records(stage, NAMING_COLUMNS)
    samples, results = screening_state.batch_frames(stage)
    zone = policy.zero_report.timezone
    with engine(settings).begin() as conn:
        last = warehouse.query_frame(conn, "SELECT policy_sha256, data_interval_end FROM run_log ORDER BY batch_id DESC LIMIT 1")
        new_policy = len(last) > 0 and last["policy_sha256"].iloc[0] != policy.sha256
        since = datetime.strptime(last["data_interval_end"].iloc[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) \
            if len(last) else None
        # nothing stored yet (a first load): every person and record in focus is the batch's own, and
        # the look-ups of stored ones, over a million ids each, would find nothing (3.5 s)
        stored_any = not warehouse.is_empty(conn, "person_link")
        named = screening_state.records_named(conn, results, as_of, since, zone, policy.result_due_hours, samples) \
            if stored_any else []
        links, links_before, persons_before = focus(conn, stage.get("resolution"), batch_answers(stage), stamp, new_policy,
                                                    named, stored_any)
        old = links[~is_in(links["source_record_id"], new["source_record_id"])] if stored_any else links.iloc[:0]
        records = warehouse.rows_by_keys(conn, "source_record", "source_record_id", old["source_record_id"],
                                         columns=READ_COLUMNS)
        if not new_policy and stored_any:  # with a new policy every person is in focus already
            circle = contact_circle(conn, pd.concat([r[NAMING_COLUMNS] for r in (records, new) if len(r)] or [new],
                                                    ignore_index=True), links)
            links = pd.concat([links, circle], ignore_index=True)
            links_before = pd.concat([links_before, circle], ignore_index=True)
            persons_before |= set(circle["person_id"].tolist())
            records = pd.concat([records, warehouse.rows_by_keys(conn, "source_record", "source_record_id",
                                                                 circle["source_record_id"], columns=READ_COLUMNS)],
                                ignore_index=True)
        current = warehouse.rows_by_keys(conn, "person_status", "person_id",
                                         sorted(persons_before | set(links["person_id"].tolist())) if stored_any else [],
                                         columns="person_id, status, measure, valid_from, policy_version, batch_id, valid_to")
        screening = screening_state.join_for(conn, links, samples, results, as_of, zone, policy.result_due_hours)
        del samples, results  # joined: a first load's million samples are a quarter of a GB
        edges = contact_edges.plan_edges(conn, new, stage.get("links"))
    current = current[current["valid_to"].isna()].drop(columns="valid_to")
    screened = {"samples": len(screening.outcomes), "orphan_results": len(screening.orphans),
                "awaiting": int(screening.outcomes["awaiting_result"].sum())}
    # each frame is staged (as Arrow bytes) when it is done and let go; all are written at the end
    with stage.writing():
        stage.put("screening_outcome", screening_state.outcome_rows(screening, links, batch_id, stamp))
        stage.put("contact_edges", edges)
        stage.put("links_before", links_before)
        n_edges = len(edges)
        del new
        release_memory()  # the join's frames are gone: the records are read into the memory they held
        new = batch_records(stage, FUSED_COLUMNS)
        # a first load's records are all new: taken as they are, not copied (a million records are GBs)
        records = new if records.empty else pd.concat([r for r in (records, new) if len(r)], ignore_index=True)[FUSED_COLUMNS]
        del new, links_before, edges
        records["temperature"] = pd.to_numeric(records["temperature"], errors="coerce")
        records = ms.attach_outcomes(records, screening.outcomes)
        del screening
        monitored = isolation.monitored(records, policy)  # all the isolation checks read of the records
        persons = fuse_persons(records, links, load_gazetteer().streets, stamp, policy)
        del records  # the rest of fuse runs beside the persons, not beside a first load's GB of records too
        release_memory()
        persons["batch_id"] = batch_id
        persons["next_change_at"] = next_change(persons, stamp, policy)
        stay, missed = _isolation_checks(settings, monitored, links, persons, stamp, batch_id, policy)
        persons["next_change_at"] = isolation.next_deadline(persons["next_change_at"], persons, stay)
        persons = with_pseudonyms(persons, settings.pseudonym_key, stamp)  # what the analytics layer shows
        gone = sorted(persons_before - set(persons["person_id"].tolist()))
        opens, closes = status_changes(persons, current, batch_id, stamp, policy)
        stage.put("persons", persons)
        stage.put("persons_gone", pd.DataFrame({"person_id": pd.Series(gone, dtype=object)}))
        stage.put("status_open", opens)
        stage.put("status_close", closes)
        stage.put("isolation_stay", stay)
        stage.put("isolation_missed", missed)
    return {"persons_fused": len(persons), "new_policy": new_policy, "persons_gone": len(gone), "by_status": person_counts_by_status(persons, policy),
            "policy_version": policy.version, "status_changes": len(opens), "contact_edges": n_edges,
            "expired": int((opens["change"] == "expired").sum()) if len(opens) else 0,
            "isolation": {"held": int(stay["held"].sum()) if len(stay) else 0, "missed_checks": len(missed)},
            "screening": screened}


def _isolation_checks(settings: Settings, records: pd.DataFrame, links: pd.DataFrame, persons: pd.DataFrame,
                      stamp: str, batch_id: str, policy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stays at isolation points of the persons in focus and the checks they missed by now that
    were not recorded before (screenfuse.isolation); reads by index the recorded misses of these
    persons and the streets of their points."""
    stay = isolation.stays(records, links, persons, stamp, policy)
    if not len(stay) or not stay["held"].any():
        return stay, pd.DataFrame(columns=isolation.MISSED_COLUMNS)
    with engine(settings).connect() as conn:
        stored = warehouse.rows_by_keys(conn, "isolation_missed_check", "person_id", sorted(stay["person_id"]),
                                        columns="check_key")
        points = warehouse.rows_by_keys(conn, "isolation_point", "point_name", sorted(set(stay["point"].tolist())),
                                        columns="point_name, street")
    streets = dict(zip(points["point_name"], points["street"].fillna("")))
    return stay, isolation.missed_rows(stay, stored, streets, batch_id, policy)
