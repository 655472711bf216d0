"""Retraining: a candidate model learnt from the accumulated warehouse, judged against the current
one on every label the warehouse holds, promoted only if it is no worse (docs/matching.md, "How the
model learns"). Plain functions; the DAG `screenfuse_retrain` and `screenfuse retrain` wire them.

1. Sample: whole persons drawn at random (their records by index) up to `max_records`, the memory
   budget; whole persons keep every pair of a person, so the records per person (the prior) and
   m (how matches agree) are learnt as on the whole warehouse.
2. Train: the engine's own training (EM, `train_checked`) on the sample's candidate pairs. When
   EM gives no candidate (too few records, or its checks turn it down: a district's mass screening
   at scale) and there are labels enough to judge by, the candidate is the current model itself,
   recalibrated on the labels: the labels still move the threshold where EM cannot learn.
3. Calibrate: the labels set the candidate's `calibration` (screenfuse.labels.calibrate).
4. Evaluate: current and candidate on every labelled pair (the candidate's calibration learnt from
   the other folds' labels, so it is judged on labels it did not see), and on the sample's pairs
   the two models decide differently.
5. Promote if no worse (`labels.no_worse`) and at least `min_labels` labels exist; record the
   candidate (promoted or not) in `match_model` with its version and metrics, and on promotion the
   records whose links the new model decides differently in `match_relink`: the next hourly run
   resolves only them again (merges and splits recorded in `person_event`), every other person
   keeps its id.
Figures only leave this module: record ids stay in the warehouse's tables.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa

from screenfuse import labels as lb
from screenfuse import match_state, warehouse
from screenfuse.config import Settings
from screenfuse.matching import MatchSettings, Model
from screenfuse.matching.blocking import candidate_pairs
from screenfuse.matching.anchors import Trained, train_checked
from screenfuse.matching.columns import Columns
from screenfuse.matching.model import comparison_levels, contributions, prior_weight
from screenfuse.pipeline import engine
from screenfuse.resolve import SETTINGS, match_settings
from screenfuse.state_schema import MATCH_COLUMNS

NO_TERMS = pd.DataFrame({"term_key": pd.Series(dtype=object), "n": pd.Series(dtype="int64")})


@dataclass(frozen=True)
class RetrainOptions:
    max_records: int = 200_000  # the memory budget: records sampled for training (and per re-link pass)
    min_labels: int = 20  # fewer labels than this: nothing to judge a candidate by, it is not promoted
    seed: int = 0


def current_model(conn) -> tuple[str, Model]:
    """The model hourly runs use now: the latest promoted one, else the preset's shipped model."""
    stored = warehouse.query_frame(conn, "SELECT model_id, params_json FROM match_model WHERE promoted = 1 "
                                         "ORDER BY version DESC LIMIT 1")
    if len(stored):
        return stored["model_id"].iloc[0], Model.from_json(stored["params_json"].iloc[0])
    return f"shipped:{SETTINGS.preset}", Model.fallback(SETTINGS.preset)


def sample_records(conn, max_records: int, seed: int) -> pd.DataFrame:
    """Prepared records (record_id + MATCH_COLUMNS) of whole persons drawn at random, at most
    `max_records` of them (a person larger than what is left is skipped)."""
    persons = warehouse.query_frame(conn, "SELECT person_id FROM person ORDER BY person_id")["person_id"].to_numpy(dtype=object)
    total = conn.exec_driver_sql("SELECT COUNT(*) FROM person_link").scalar() or 0
    if not len(persons) or not total:
        return pd.DataFrame(columns=["record_id", *MATCH_COLUMNS])
    order = np.random.default_rng(seed).permutation(len(persons))
    wanted = persons[order[: max(1, math.ceil(len(persons) * min(1.0, 1.1 * max_records / total)))]]
    links = warehouse.rows_by_keys(conn, "person_link", "person_id", wanted, columns="source_record_id, person_id")
    sizes = links.groupby("person_id").size().reindex(wanted).dropna()
    kept = sizes.index[np.cumsum(sizes.to_numpy()) <= max_records]
    ids = links.loc[links["person_id"].isin(kept), "source_record_id"]
    records = warehouse.rows_by_keys(conn, "match_record", "record_id", ids, columns="record_id, " + ", ".join(MATCH_COLUMNS))
    return records.sort_values("record_id", ignore_index=True)


def learn(records: pd.DataFrame, settings: MatchSettings | None = None) -> Trained:
    """The engine's EM on the records' candidate pairs, as the first batch trains (context
    detection when the settings ask, the check on a model that learnt households, and the checks
    of matching/anchors.py: `source` "shipped" when they fail, and then there is no candidate)."""
    settings = settings or match_settings()
    columns = Columns(records)
    left, right, _ = candidate_pairs(columns, settings.blocking, settings.max_block_size)
    return train_checked(columns, settings, left, right, comparison_levels(columns, settings, left, right))


def read_labels(conn) -> pd.DataFrame:
    """Every labelled pair: left_record_id, right_record_id, same (bool), places (a source of its
    labels may place the threshold: screenfuse.labels.PLACING). A pair labelled by several sources
    counts once; where they disagree the latest label wins."""
    rows = warehouse.query_frame(conn, "SELECT left_record_id, right_record_id, source, label, labelled_at FROM match_label")
    # a pair a review desk was shown places the threshold whatever label came last (an answer correcting it)
    pair = rows["left_record_id"].astype(str) + "|" + rows["right_record_id"].astype(str)
    rows["places"] = pair.isin(pair[rows["source"].isin(lb.PLACING)]).to_numpy()
    rows = rows.sort_values("labelled_at", na_position="first", kind="stable")
    rows = rows.drop_duplicates(["left_record_id", "right_record_id"], keep="last")
    return pd.DataFrame({"left_record_id": rows["left_record_id"], "right_record_id": rows["right_record_id"],
                         "same": rows["label"].eq("same").to_numpy(),
                         "places": rows["places"].to_numpy(dtype=bool)}).reset_index(drop=True)


def _scored(conn, records: pd.DataFrame) -> tuple[int, dict]:
    """The warehouse's population size and the records' term-frequency shares in it."""
    population = match_state.population(conn, records, NO_TERMS, match_settings())
    return population.size, population.shares


def _pairs_weights(model: Model, columns: Columns, left, right, levels, size: int) -> np.ndarray:
    matching = match_settings()
    small = size < matching.min_records_to_train
    weights = contributions(model.aligned(matching), levels, None if small else columns, left)
    return prior_weight(model.prior_for(size)) + weights.sum(axis=1)


def evaluate(conn, current: Model, candidate: Model, records: pd.DataFrame, labels: pd.DataFrame) -> tuple[Model, dict]:
    """The candidate calibrated on the labels, and the metrics of both models: on the labelled
    pairs (the candidate judged out of fold) and on the sample's pairs they decide differently."""
    matching = match_settings()
    threshold = lb.threshold_bits(matching)
    ids = pd.unique(pd.concat([labels["left_record_id"], labels["right_record_id"]]))
    labelled = warehouse.rows_by_keys(conn, "match_record", "record_id", ids, columns="record_id, " + ", ".join(MATCH_COLUMNS))
    size, shares = _scored(conn, labelled) if len(labelled) else (0, {})
    same = labels["same"].to_numpy(dtype=bool)
    scores = {name: lb.pair_weights(model, matching, labelled, labels["left_record_id"], labels["right_record_id"], size,
                                    shares)
              for name, model in (("current", current), ("raw", replace(candidate, calibration=0.0)))}
    places = labels["places"].to_numpy(dtype=bool)
    shift = lb.calibrate(scores["raw"][places], same[places], threshold)
    held_out = lb.held_out_weights(scores["raw"], same, lb.folds(labels["left_record_id"], labels["right_record_id"]),
                                   threshold, places)
    candidate = replace(candidate, calibration=shift)
    metrics = {"population": int(size), "labels": len(labels), "calibration_bits": round(shift, 3),
               "current": lb.confusion(scores["current"], same, threshold),
               "candidate": lb.confusion(held_out, same, threshold)}
    metrics["disagreements"] = _disagreements(conn, current, candidate, records)
    return candidate, metrics


def _disagreements(conn, current: Model, candidate: Model, records: pd.DataFrame) -> dict:
    """How many of the sample's candidate pairs the two models decide differently (link or not)."""
    if records.empty:
        return {"pairs": 0, "candidate_links_only": 0, "current_links_only": 0, "sample_pairs": 0}
    size, shares = _scored(conn, records)
    columns, matching = Columns(records, shares), match_settings()
    left, right, _ = candidate_pairs(columns, matching.blocking, matching.max_block_size)
    levels = comparison_levels(columns, matching, left, right)
    threshold = lb.threshold_bits(matching)
    new = _pairs_weights(candidate, columns, left, right, levels, size) >= threshold
    old = _pairs_weights(current, columns, left, right, levels, size) >= threshold
    return {"pairs": int((new != old).sum()), "candidate_links_only": int((new & ~old).sum()),
            "current_links_only": int((old & ~new).sum()), "sample_pairs": int(len(left))}


def key_range(part: int, passes: int) -> tuple[str, dict]:
    """Pass `part` of `passes`: a condition on `block_key` and its bounds. Block keys are signed
    64-bit hashes, spread evenly: the ranges are equal, and together hold every key once."""
    bounds = {"low": -2 ** 63 + part * (2 ** 64 // passes)}
    if part < passes - 1:
        bounds["high"] = -2 ** 63 + (part + 1) * (2 ** 64 // passes)
    return " AND ".join(("block_key >= :low", "block_key < :high")[:len(bounds)]), bounds


def relink_records(conn, old: Model, new: Model, budget: int) -> list[str]:
    """Records of the candidate pairs the two models decide differently (link or not), over the
    whole warehouse, in passes of about `budget` records: records sharing a blocking key whose
    hash falls in the pass's range are read together (whole blocks), by the key tables' index, so
    the passes together read each key once."""
    keys = sum(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() or 0 for table in match_state.KEY_TABLES)
    passes = max(1, math.ceil(keys / max(budget, 1)))
    matching = match_settings()
    threshold = lb.threshold_bits(matching)
    found: set[str] = set()
    for part in range(passes):
        within, bounds = key_range(part, passes)
        ids = warehouse.query_frame(conn, " UNION ".join(
            f"SELECT record_id FROM {table} WHERE {within}" for table in match_state.KEY_TABLES), **bounds)["record_id"]
        records = warehouse.rows_by_keys(conn, "match_record", "record_id", ids,
                                         columns="record_id, " + ", ".join(MATCH_COLUMNS))
        if len(records) < 2:
            continue
        records = records.sort_values("record_id", ignore_index=True)
        size, shares = _scored(conn, records)
        columns = Columns(records, shares)
        left, right, _ = candidate_pairs(columns, matching.blocking, matching.max_block_size)
        levels = comparison_levels(columns, matching, left, right)
        differ = (_pairs_weights(new, columns, left, right, levels, size) >= threshold) != (
            _pairs_weights(old, columns, left, right, levels, size) >= threshold)
        values = columns.values("record_id")
        found |= set(values[left[differ]]) | set(values[right[differ]])
    return sorted(found)


def decided_by(dag_id: str, run_type: str | None, user: str | None) -> str:
    """Who promotes from a DAG run: the DAG for a scheduled run, and the Airflow user who
    triggered a manual one (`screenfuse_retrain:<user>`), as the command line records its user."""
    kind = str(getattr(run_type, "value", run_type) or "")
    return f"{dag_id}:{user}" if kind == "manual" and user else dag_id


def retrain(settings: Settings, by: str, promote: bool = True, dry_run: bool = False,
            options: RetrainOptions = RetrainOptions(), candidate: Model | None = None, now: datetime | None = None) -> dict:
    """Train (or take `candidate`, e.g. one trained elsewhere), evaluate, record, and promote if
    `promote` and the candidate is no worse on at least `options.min_labels` labels. `by`: who or
    what decides (`decided_by`: `screenfuse_retrain`, `screenfuse_retrain:<user>`, `cli:<user>`). `dry_run`: nothing is written. Returns
    figures only (the metrics, the version, whether it was promoted, how many records re-link)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with engine(settings).connect() as conn:
        seen = conn.exec_driver_sql("SELECT MAX(batch_id) FROM run_log").scalar()  # what the sample and relink see
        current_id, current = current_model(conn)
        records = sample_records(conn, options.max_records, options.seed)
        labels, kind, no_em = read_labels(conn), "trained", ""
        if candidate is None:
            least = match_settings().min_records_to_train
            trained = learn(records) if len(records) >= least else None
            if trained is None or trained.source != "trained":  # the shipped model is never stored as a trained one
                no_em = (f"too few records to learn from ({len(records)}, under {least})" if trained is None
                         else trained.reason.replace(": the preset's shipped model", ": no candidate"))
                if len(labels) < options.min_labels:
                    return {"trained": False, "promoted": False, "sample_records": len(records), "reason": no_em}
                # EM gave nothing, the labels can still move the threshold: the current model recalibrated
                candidate, kind = current, "recalibrated"
            else:
                candidate = trained.model
        candidate, metrics = evaluate(conn, current, candidate, records, labels)
        better = lb.no_worse(metrics["candidate"], metrics["current"])
        enough = len(labels) >= options.min_labels
        # a recalibration must decide some labelled pair better: the shift moves a little every week
        # (the warehouse grows), and an equal one would only cost a new version and a re-link
        no_gain = kind == "recalibrated" and metrics["candidate"]["errors"] >= metrics["current"]["errors"]
        promoted = bool(promote and better and enough and not no_gain and not dry_run)
        reason = ("no worse on the labels" if better else "worse on the labels") if enough else \
            f"too few labels to judge ({len(labels)}, under {options.min_labels})"
        if no_gain and better and enough:
            reason = "the recalibration decides no labelled pair better than the current model: nothing to promote"
        elif better and enough and not promoted:
            reason += " (a dry run)" if dry_run else " (recorded; --promote promotes it)"
        metrics.update({"current_model": current_id, "sample_records": len(records), "no_worse": better,
                        "promoted": promoted, "reason": reason, "candidate_kind": kind})
        if no_em:
            metrics["em"] = no_em
        relink = relink_records(conn, current, candidate, options.max_records) if promoted else []
    metrics["relink_records"] = len(relink)
    if dry_run:
        return {"trained": True, "version": None, "model_id": None, **metrics}
    with engine(settings).begin() as conn:
        warehouse.lock_for_publish(conn)  # no batch publishes between the check below and the model's row
        if promoted:  # records a batch published since `seen` were resolved under the old model: again too
            relink = sorted(set(relink) | set(published_since(conn, seen)))
            metrics["relink_records"] = len(relink)
        version = int(conn.exec_driver_sql("SELECT COALESCE(MAX(version), 0) FROM match_model").scalar()) + 1
        model_id = f"retrain-{version:04d}"
        row = {"model_id": model_id, "preset": SETTINGS.preset, "params_json": candidate.to_json(), "version": version,
               "created_at": stamp, "promoted": int(promoted), "promoted_by": by if promoted else None,
               "promoted_at": stamp if promoted else None, "metrics_json": json.dumps(metrics, sort_keys=True)}
        warehouse.bulk_insert(conn, "match_model", pd.DataFrame([row]))
        warehouse.bulk_insert(conn, "match_relink", pd.DataFrame({"model_id": model_id, "record_id": relink}))
    return {"trained": True, "version": version, "model_id": model_id, **metrics}


def published_since(conn, batch_id: str | None) -> list[str]:
    """The records of the batches published after `batch_id` (every record when None), by the
    batch index: a retraining that read the warehouse before they came re-links them too."""
    rows = warehouse.query_frame(conn, "SELECT record_id FROM match_record WHERE batch_id > :b", b=batch_id or "")
    return rows["record_id"].tolist()


def relink_if_promoted_meanwhile(conn, batch_id: str, used: str) -> int:
    """In a batch's publish (under the publish lock): when a model was promoted after the batch
    resolved with `used` (run_log.match_model), the batch's records go into the new model's
    `match_relink`, so the next hourly run resolves them again under it; how many went in. A
    batch that trained its own model used the latest. A re-run adds nothing twice."""
    latest = conn.exec_driver_sql("SELECT model_id FROM match_model WHERE promoted = 1 "
                                  "ORDER BY version DESC LIMIT 1").scalar()
    if latest is None or latest in (used, batch_id):
        return 0
    return conn.execute(sa.text("""
        INSERT INTO match_relink (model_id, record_id)
        SELECT :m, mr.record_id FROM match_record mr
        WHERE mr.batch_id = :b
          AND NOT EXISTS (SELECT 1 FROM match_relink x WHERE x.model_id = :m AND x.record_id = mr.record_id)"""),
        {"m": latest, "b": batch_id}).rowcount


def relink_after_promotion(conn) -> list[str]:
    """The records the hourly run resolves again because models were promoted since the last run
    (their `match_relink` rows, by index): only the first run under a newly promoted model reads them."""
    last = conn.execute(sa.text("SELECT match_model FROM run_log ORDER BY batch_id DESC LIMIT 1")).scalar()
    if last is None:
        return []
    promoted = warehouse.query_frame(conn, "SELECT model_id, version FROM match_model WHERE promoted = 1")
    used = promoted.loc[promoted["model_id"] == last, "version"]
    since = promoted.loc[promoted["version"] > (int(used.iloc[0]) if len(used) else 0), "model_id"]
    if since.empty:
        return []
    return sorted(set(warehouse.rows_by_keys(conn, "match_relink", "model_id", since, columns="record_id")["record_id"]))


def report_lines(result: dict) -> list[str]:
    """What a retrain found, one figure per line (current vs candidate): figures, never record ids."""
    if not result.get("trained"):
        return [f"candidate    none: {result['reason']}"]
    cur, cand = result["current"], result["candidate"]

    def show(value) -> str:
        return "-" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))

    how = (f"the current model recalibrated on the labels ({result['em']})"
           if result.get("candidate_kind") == "recalibrated" else f"trained on {result['sample_records']} sampled records")
    lines = [f"current      {result['current_model']}",
             f"candidate    {result['model_id'] or '(dry run: not recorded)'}, {how}, "
             f"calibration {result['calibration_bits']:+.3f} bits",
             f"labels       {result['labels']} ({cur['same']} same, {cur['different']} different)"]
    for key, name in (("false_links", "false links"), ("missed_links", "missed links"), ("errors", "errors"),
                      ("precision", "precision"), ("recall", "recall"), ("f1", "F1")):
        lines.append(f"{name:<12} current {show(cur[key])}, candidate {show(cand[key])}")
    d = result["disagreements"]
    lines.append(f"disagree     {d['pairs']} of {d['sample_pairs']} sampled pairs (candidate links only "
                 f"{d['candidate_links_only']}, current links only {d['current_links_only']})")
    lines.append(f"decision     {'promoted' if result['promoted'] else 'not promoted'}: {result['reason']}")
    lines.append(f"relink       {result['relink_records']} records resolved again by the next hourly run")
    return lines
