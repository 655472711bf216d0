"""Mass-screening samples and results in the warehouse: what a run reads to join them.

Samples (`screening_sample`) and lab results (`screening_result`) are kept as they arrive, by
batch, indexed by tube (sample_id) and pool (pool_id). A run joins, for the persons in focus,
their samples with every result of those tubes and pools (`mass_screening.join_results`) and
keeps each sample's outcome (`screening_outcome`). Persons come into focus when a result names
one of their tubes or pools, or when a sample of theirs has waited past the policy's
`mass_screening.result_due_hours` since the last run.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from screenfuse import mass_screening as ms
from screenfuse import warehouse
from screenfuse.contracts import load_contracts
from screenfuse.text_keys import is_in, map_by_key

SAMPLE_COLUMNS_READ = "source_record_id, " + ", ".join(c for c in ms.SAMPLE_COLUMNS if c != "source_record_id")
RESULT_COLUMNS_READ = "result_id, sample_id, pool_id, result, result_time"


def sample_feeds() -> list[str]:
    """Person feeds whose records carry a tube (a `sample_id` field): their samples are kept."""
    return sorted(n for n, c in load_contracts().items() if c.kind == "persons" and "sample_id" in c.fields)


def result_feeds() -> list[str]:
    return sorted(n for n, c in load_contracts().items() if c.kind == "results")


def batch_frames(stage) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(samples, results) this batch brought."""
    return batch_samples(stage), batch_results(stage)


def batch_samples(stage) -> pd.DataFrame:
    samples = [stage.get(f"{feed}.samples") for feed in sample_feeds()]
    return pd.concat([s for s in samples if len(s)], ignore_index=True) if any(len(s) for s in samples) else \
        pd.DataFrame(columns=ms.SAMPLE_COLUMNS)


def batch_results(stage) -> pd.DataFrame:
    results = [stage.get(f"{feed}.accepted") for feed in result_feeds()]
    return pd.concat([r for r in results if len(r)], ignore_index=True) if any(len(r) for r in results) else \
        pd.DataFrame(columns=ms.RESULT_COLUMNS)


def records_named(conn, results: pd.DataFrame, as_of: datetime, since: datetime | None, timezone: str,
                  due_hours: float | None, samples: pd.DataFrame | None = None) -> list[str]:
    """Stored sample records a run must look at again: those whose tube or pool a new result
    names (a lab's row, or a result written on a new sampling row with a pool: the pool's result,
    which reaches the members sampled in earlier hours), and those sampled in the window that
    makes them overdue since the last run."""
    tubes = results.loc[results["sample_id"].fillna("") != "", "sample_id"].astype(str)
    pools = results.loc[(results["sample_id"].fillna("") == "") & (results["pool_id"].fillna("") != ""), "pool_id"]
    if samples is not None and len(samples):
        inline = samples[(samples["inline_result"].fillna("") != "") & (samples["pool_id"].fillna("") != "")]
        pools = pd.concat([pools, inline["pool_id"]], ignore_index=True)
    found = [warehouse.rows_by_keys(conn, "screening_sample", "sample_id", tubes.unique(), columns="source_record_id"),
             warehouse.rows_by_keys(conn, "screening_sample", "pool_id", pools.astype(str).unique(), columns="source_record_id")]
    if due_hours is not None and since is not None:
        local = lambda moment: (moment.astimezone(_zone(timezone)) - timedelta(hours=due_hours)).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
        found.append(warehouse.query_frame(conn, "SELECT source_record_id FROM screening_sample "
                                                 "WHERE sampled_at > :lo AND sampled_at <= :hi",
                                           lo=local(since), hi=local(as_of)))
    return sorted(set(pd.concat(found, ignore_index=True)["source_record_id"].tolist()))


def join_for(conn, links: pd.DataFrame, new_samples: pd.DataFrame, new_results: pd.DataFrame, as_of: datetime,
             timezone: str, due_hours: float | None) -> ms.ScreeningJoin:
    """The outcome of every sample of the records in `links` (source_record_id, person_id), with
    the person of each (`person_id`)."""
    stored = warehouse.rows_by_keys(conn, "screening_sample", "source_record_id", links["source_record_id"],
                                    columns=SAMPLE_COLUMNS_READ)
    fresh = new_samples[is_in(new_samples["source_record_id"], links["source_record_id"])]
    # only the parts that hold rows: an empty stored part (a first load) would turn a million
    # samples' Arrow strings into Python objects (+0.5 GB)
    samples = pd.concat([p for p in (stored, fresh) if len(p)] or [stored], ignore_index=True) \
        .drop_duplicates("source_record_id")
    results = new_results.reindex(columns=["result_id", "sample_id", "pool_id", "result", "result_time"])
    # nothing stored, and every sample of the batch here (a first load): the look-ups by tube and
    # pool would find nothing, and listing a million tubes and pools cost a second
    if len(fresh) < len(new_samples) or not all(warehouse.is_empty(conn, t) for t in ("screening_sample", "screening_result")):
        tubes, pools = ms.keys_to_read(samples, pd.DataFrame(columns=["sample_id", "pool_id"]))
        results = pd.concat([warehouse.rows_by_keys(conn, "screening_result", "sample_id", tubes, columns=RESULT_COLUMNS_READ),
                             warehouse.rows_by_keys(conn, "screening_result", "pool_id", pools, columns=RESULT_COLUMNS_READ),
                             results, _pool_results_on_members(conn, samples, new_samples, pools)], ignore_index=True)
    person = map_by_key(samples["source_record_id"], links["source_record_id"], links["person_id"]).to_numpy()
    join = ms.join_results(samples.assign(person_id=person), results.drop_duplicates("result_id"), as_of, timezone,
                           due_hours)
    join.outcomes["person_id"] = person  # in the samples' order: `outcome_rows` need not look them up again
    return join


def _pool_results_on_members(conn, samples: pd.DataFrame, new_samples: pd.DataFrame, pools: list[str]) -> pd.DataFrame:
    """The results written on the sampling rows of other members of `pools` (stored, or this
    batch's), as pool result rows (result_id `inline:<record>`): an export copies the pool's
    result onto a member's row, and it reaches every member, whichever hour each was sampled in."""
    if not pools:
        return pd.DataFrame(columns=["result_id", "sample_id", "pool_id", "result", "result_time"])
    stored = warehouse.rows_by_keys(conn, "screening_sample", "pool_id", pools, columns=SAMPLE_COLUMNS_READ)
    stored = stored[stored["inline_result"].fillna("") != ""]
    fresh = new_samples[(new_samples["inline_result"].fillna("") != "") & (new_samples["pool_id"].fillna("") != "")]
    fresh = fresh[is_in(fresh["pool_id"], pools)]  # the few rows with a result first: a first load's million are not copied
    rows = pd.concat([p for p in (stored, fresh) if len(p)] or [stored], ignore_index=True)
    rows = rows[~is_in(rows["source_record_id"], samples["source_record_id"])]
    when = rows["inline_result_time"].fillna("")
    return pd.DataFrame({"result_id": "inline:" + rows["source_record_id"].astype(str), "sample_id": "",
                         "pool_id": rows["pool_id"], "result": rows["inline_result"],
                         "result_time": when.where(when != "", rows["sampled_at"])})


def outcome_rows(join: ms.ScreeningJoin, links: pd.DataFrame, batch_id: str, as_of: str) -> pd.DataFrame:
    """The join's outcomes as `screening_outcome` rows (flags as 0/1)."""
    out = join.outcomes.copy()
    if "person_id" not in out:  # `join_for` gives them
        out["person_id"] = map_by_key(out["source_record_id"], links["source_record_id"], links["person_id"]).to_numpy()
    for flag in ms.FLAGS:
        out[flag] = out[flag].astype(int)
    return out.assign(batch_id=batch_id, as_of=as_of)


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
