"""Mass nucleic-acid screening (全员核酸筛查): the labs' results joined to the people sampled.

A sampling point registers each person with their own tube (样本编号) and, when ten tubes are
tested as one (十混一), the pool (混检管号). Results come hours later from a lab, for a tube or for
a pool, sometimes twice, sometimes contradicting each other, sometimes for a tube nobody has
registered yet. `join_results` gives every sample record the one outcome that applies to the
person, from whatever samples and results are known so far. It is a pure join over the ids at
hand, so a result that comes before its sample waits (as an orphan) and applies in the run that
brings the sample. Vectorized: no Python loop over rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from screenfuse import datetimes
from screenfuse import normalize as nz
from screenfuse.text_keys import text_index

POSITIVE, NEGATIVE, RETEST, INVALID = "阳性", "阴性", "待复核", "无效"
RESULT_VALUES = (NEGATIVE, POSITIVE, RETEST, INVALID)  # the contracts' allowed results
_CAUTION = {NEGATIVE: 0, INVALID: 1, RETEST: 2, POSITIVE: 3}  # two results at the same minute: the most cautious
INDIVIDUAL, POOL, AWAITING, SUPERSEDED = "individual", "pool", "awaiting", "superseded"

SAMPLE_COLUMNS = ["source_record_id", "sample_id", "pool_id", "sampling_point", "sampled_at",
                  "inline_result", "inline_result_time"]
RESULT_COLUMNS = ["result_id", "batch_id", "feed", "file_name", "file_sha256", "row_number", "lab",
                  "sample_id", "pool_id", "result", "result_time", "sampled_at", "raw_json"]
OUTCOME_COLUMNS = ["source_record_id", "sample_id", "pool_id", "screening_result", "screening_result_time",
                   "screening_scope", "pool_result", "pool_result_time", "individual_positive", "pool_positive",
                   "awaiting_result", "hours_waited", "result_overdue", "result_conflict", "superseded_by"]
# the outcomes' booleans (stored as 0/1)
FLAGS = ("individual_positive", "pool_positive", "awaiting_result", "result_overdue", "result_conflict")
ORPHAN_COLUMNS = ["result_id", "sample_id", "pool_id", "result", "result_time", "reason"]
NO_SAMPLE, NO_POOL = "no sample with this sample_id (yet)", "no sample in this pool (yet)"
_NAT = np.iinfo(np.int64).min  # NaT as int64: sorts first, never later than a real time
_MINUTE = 60 * 10**9  # nanoseconds


@dataclass(frozen=True)
class ScreeningJoin:
    outcomes: pd.DataFrame  # one row per sample record, in input order (OUTCOME_COLUMNS)
    orphans: pd.DataFrame  # result rows for tubes no sample names (ORPHAN_COLUMNS), kept, not lost

    @property
    def counts(self) -> dict[str, int]:
        o = self.outcomes
        scope = o["screening_scope"].value_counts()
        return {"samples": len(o), **{s: int(scope.get(s, 0)) for s in (INDIVIDUAL, POOL, AWAITING, SUPERSEDED)},
                "individual_positive": int(o["individual_positive"].sum()),
                "pool_positive_members": int(o["pool_positive"].sum()),
                "pools_positive": int(o.loc[o["pool_positive"], "pool_id"].nunique()),
                "invalid": int((o["screening_result"].eq(INVALID) & o["screening_scope"].isin([INDIVIDUAL, POOL])).sum()),
                "overdue": int(o["result_overdue"].sum()), "conflicts": int(o["result_conflict"].sum()),
                "orphan_results": len(self.orphans)}


# ------------------------------------------------------------------------------------ ingest

def normalize_results(mapped: pd.DataFrame, contract) -> pd.DataFrame:
    """Header-mapped lab result rows (a contract of kind `results`) → normalized columns; the row
    suite checks them (`_tube_given`: a row must name a tube, its own or its pool)."""
    from screenfuse.row_fields import extra_fields

    blank = pd.Series("", index=mapped.index, dtype=object)
    out = pd.DataFrame(index=mapped.index)
    out["unit"] = nz.clean_text(mapped["unit"] if "unit" in mapped else blank)
    out["event_time"] = datetimes.normalize_datetimes(mapped["event_time"] if "event_time" in mapped else blank)
    extra, flags = extra_fields(mapped, contract, {"unit", "event_time"}, reference=out["event_time"])
    out = out.join(extra).join(flags)
    out["_tube_given"] = (out["sample_id"] != "") | (out["pool_id"] != "")
    return out


SAMPLE_FIELDS = ["sample_id", "pool_id", "result", "result_time"]  # columns, or keys of details_json


def sample_sources(columns) -> list[str]:
    """The columns `sample_rows` reads of records holding `columns`: a caller takes only those of
    a million rows, not every column."""
    wanted = ["source_record_id", "unit", "event_time", *SAMPLE_FIELDS]
    if not set(SAMPLE_FIELDS) <= set(columns):
        wanted.append("details_json")
    return [c for c in wanted if c in columns]


def sample_rows(records: pd.DataFrame) -> pd.DataFrame:
    """Accepted `mass_screening` records → the sample table (SAMPLE_COLUMNS). Reads the staged
    columns, or `details_json` for records read back from `source_record`."""
    if not set(SAMPLE_FIELDS) <= set(records.columns):
        import pyarrow.json as pj  # one C++ parse of all rows, not json.loads per row
        from io import BytesIO

        text = "\n".join(records["details_json"].fillna("{}").astype(str)) + "\n"
        parsed = pj.read_json(BytesIO(text.encode("utf-8"))).to_pandas() if len(records) else pd.DataFrame()
        records = records.drop(columns=[f for f in SAMPLE_FIELDS if f in records]).reset_index(drop=True)
        records = records.join(parsed.reindex(columns=SAMPLE_FIELDS).fillna("").astype(str))
    out = records.rename(columns={"unit": "sampling_point", "event_time": "sampled_at", "result": "inline_result",
                                  "result_time": "inline_result_time"})
    return out.reindex(columns=SAMPLE_COLUMNS).fillna("").reset_index(drop=True)


def result_rows(accepted: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """Accepted result rows (staged by a `results` feed) → the result table (RESULT_COLUMNS)."""
    out = accepted.rename(columns={"source_record_id": "result_id", "unit": "lab", "event_time": "result_time"})
    return out.assign(batch_id=batch_id).reindex(columns=RESULT_COLUMNS).reset_index(drop=True)


def keys_to_read(new_samples: pd.DataFrame, new_results: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The sample ids and pool ids whose stored samples and results a run must read to join what it
    brought: its samples' tubes and pools, and the tubes and pools its results name."""
    ids = pd.concat([new_samples.get("sample_id", pd.Series(dtype=object)), new_results.get("sample_id", pd.Series(dtype=object))])
    pools = pd.concat([new_samples.get("pool_id", pd.Series(dtype=object)), new_results.get("pool_id", pd.Series(dtype=object))])
    return sorted(set(ids.fillna("")) - {""}), sorted(set(pools.fillna("")) - {""})


# -------------------------------------------------------------------------------------- join

def join_results(samples: pd.DataFrame, results: pd.DataFrame, as_of, timezone: str = "Asia/Shanghai",
                 due_hours: float | None = None, keep_positive: bool = True) -> ScreeningJoin:
    """Each sample record's outcome: the result that applies to the person, when, and from which tube.

    `samples`: SAMPLE_COLUMNS (optionally `person_id`); `results`: result_id, sample_id, pool_id,
    result, result_time. Times are local wall-clock text (`YYYY-MM-DD HH:MM:SS`, as ingest writes
    them); `as_of` a moment (an aware one is converted to `timezone`).

    - Results for one tube (the sample's own, or the pool's): the latest result time wins, except
      that with `keep_positive` a 阳性 is never taken back by a later result of the same tube (the
      disagreement is flagged `result_conflict`): the designated hospital, not a re-run of the
      screening tube, decides (seed 003: 转运至定点医院甄别, 核酸检测+CT). An inline result on a row
      with a pool is that pool's result.
    - A pool's result applies to every member; a result of the member's own tube overrides it when it
      is as late or later (the re-test of a positive pool), or when it is 阳性.
    - An own result of 无效 is no re-test: a usable pool result still applies.
    - With `person_id`: a pool outcome is superseded by a usable own-tube result of the same person
      from a sample taken later (re-sampled alone), and a sample without a usable result (awaiting,
      无效) by any later sample of the same person.
    - Results of one tube within the same minute: the most cautious (阳性 > 待复核 > 无效 > 阴性).
    """
    n = len(samples)
    srid = _text(samples, "source_record_id")
    s_id, p_id = _text(samples, "sample_id"), _text(samples, "pool_id")
    sampled_text = _text(samples, "sampled_at")
    sampled = _ns(sampled_text)
    r_sid, r_pid = _text(results, "sample_id"), _text(results, "pool_id")
    r_res, r_text = _text(results, "result"), _text(results, "result_time")
    in_res, in_text = _text(samples, "inline_result"), _text(samples, "inline_result_time")
    in_text = np.where((in_text != "") & ~np.isnat(_dt(in_text)), in_text, sampled_text)  # else: sampling time
    inline = in_res != ""

    # every known result of a tube: the result rows, and the results already in the sampling rows
    # (on a row with a pool: the pool's). A result row names its own tube, else its pool.
    ev_key = np.r_[np.where(r_sid != "", r_sid, r_pid), np.where(p_id != "", p_id, s_id)[inline]].astype(object)
    ev_pool = np.r_[r_sid == "", (p_id != "")[inline]]
    ev_res, ev_text = np.r_[r_res, in_res[inline]].astype(object), np.r_[r_text, in_text[inline]].astype(object)
    ev_t = _ns(ev_text)
    tube, pool = (ev_key != "") & ~ev_pool, (ev_key != "") & ev_pool
    tubes = _latest(ev_key[tube], ev_res[tube], ev_t[tube], ev_text[tube], keep_positive)
    pools = _latest(ev_key[pool], ev_res[pool], ev_t[pool], ev_text[pool], keep_positive)

    i_res, i_t, i_text, i_conf = tubes.lookup(s_id)
    p_res, p_t, p_text, p_conf = pools.lookup(p_id)
    has_i, has_p = i_res != "", p_res != ""
    # an own 无效 is no re-test: a usable pool result still stands (a 阳性 pool's member stays in re-test)
    later_own = (i_t >= p_t) & ((i_res != INVALID) | (p_res == INVALID))
    own_wins = has_i & (~has_p | later_own | (keep_positive & (i_res == POSITIVE)))
    scope = np.where(own_wins, INDIVIDUAL, np.where(has_p, POOL, AWAITING)).astype(object)
    result = np.where(own_wins, i_res, p_res).astype(object)
    result_t = np.where(own_wins, i_t, np.where(has_p, p_t, _NAT))
    result_text = np.where(own_wins, i_text, p_text).astype(object)
    conflict = np.where(own_wins, i_conf, has_p & p_conf)

    superseded_by = np.full(n, "", dtype=object)
    if "person_id" in samples:
        superseded_by = _superseded(_text(samples, "person_id"), srid, scope, result, result_t, sampled)
        scope[superseded_by != ""] = SUPERSEDED

    awaiting = scope == AWAITING
    now = _as_of(as_of, timezone)
    hours = np.where(awaiting & (sampled != _NAT), (now - sampled.astype(np.float64)) / 3.6e12, np.nan)
    overdue = awaiting & (hours >= due_hours) if due_hours is not None else np.zeros(n, bool)
    text = lambda values: pd.Series(values, dtype=object)  # noqa: E731  (object, like the record frames)
    outcomes = pd.DataFrame({
        "source_record_id": text(srid), "sample_id": text(s_id), "pool_id": text(p_id),
        "screening_result": text(result), "screening_result_time": text(result_text), "screening_scope": text(scope),
        "pool_result": text(p_res), "pool_result_time": text(p_text),
        "individual_positive": (scope == INDIVIDUAL) & (result == POSITIVE), "pool_positive": p_res == POSITIVE,
        "awaiting_result": awaiting, "hours_waited": hours, "result_overdue": overdue,
        "result_conflict": conflict.astype(bool), "superseded_by": text(superseded_by),
    }, columns=OUTCOME_COLUMNS)
    return ScreeningJoin(outcomes, _orphans(results, r_sid, r_pid, s_id, p_id))


@dataclass(frozen=True)
class _Tubes:
    """The one result per tube id (sorted unique ids and, aligned, result, time, text, conflict)."""

    ids: pd.Index
    result: np.ndarray
    t: np.ndarray
    text: np.ndarray
    conflict: np.ndarray

    def lookup(self, keys: np.ndarray):
        """Per key: result ('' if none), time (int64 ns), time as text, conflict."""
        if not len(self.ids):
            n = len(keys)
            return np.full(n, "", object), np.full(n, _NAT), np.full(n, "", object), np.zeros(n, bool)
        at = self.ids.get_indexer(keys)
        found = at >= 0
        take = np.where(found, at, 0)
        return (np.where(found, self.result[take], ""), np.where(found, self.t[take], _NAT),
                np.where(found, self.text[take], ""), found & self.conflict[take])


def _latest(keys, results, t, text, keep_positive: bool) -> _Tubes:
    """Per tube: its latest result (ties: the most cautious); with `keep_positive`, its latest 阳性
    if it ever had one. `conflict`: the tube's results disagree."""
    codes, uniques = pd.factorize(keys)
    k = len(uniques)
    caution = pd.Series(results, dtype=object).map(_CAUTION).fillna(-1).to_numpy()
    minute = np.where(t == _NAT, _NAT, t // _MINUTE)  # results of one minute: the most cautious, whatever the seconds
    order = np.lexsort((t, caution, minute, codes))
    last = order[_group_ends(codes[order])]
    result, when, shown = results[last].astype(object), t[last].copy(), text[last].astype(object)
    distinct = pd.DataFrame({"c": codes, "r": results}).drop_duplicates()
    conflict = np.bincount(distinct["c"].to_numpy(), minlength=k) > 1
    positive = np.flatnonzero(results == POSITIVE)
    if keep_positive and len(positive):
        ranked = positive[np.lexsort((t[positive], codes[positive]))]
        latest = ranked[_group_ends(codes[ranked])]
        result[codes[latest]], when[codes[latest]], shown[codes[latest]] = POSITIVE, t[latest], text[latest]
    return _Tubes(pd.Index(uniques), result, when, shown, conflict)


def _group_ends(sorted_codes: np.ndarray) -> np.ndarray:
    """Positions of the last element of each run of equal codes."""
    return np.flatnonzero(np.r_[sorted_codes[1:] != sorted_codes[:-1], True]) if len(sorted_codes) else np.array([], int)


def _superseded(person, srid, scope, result, result_t, sampled) -> np.ndarray:
    """Per record, the id of the person's record that supersedes its outcome ('' if none)."""
    out = np.full(len(person), "", dtype=object)
    known = person != ""
    codes, uniques = pd.factorize(person)

    def latest_per_person(rows, when):
        at = np.full(len(uniques), -1)
        t = np.full(len(uniques), _NAT)
        if len(rows):
            ranked = rows[np.lexsort((when[rows], codes[rows]))]
            ends = ranked[_group_ends(codes[ranked])]
            at[codes[ends]], t[codes[ends]] = ends, when[ends]
        return at[codes], t[codes]

    # the person's own tube sampled after this one, with a usable result no earlier than the pool's:
    # each pool record against the few own-tube records of its person (the latest such result wins)
    pooled = np.flatnonzero(known & (scope == POOL))
    own = np.flatnonzero(known & (scope == INDIVIDUAL) & (result != INVALID))
    if len(pooled) and len(own):
        pairs = pd.DataFrame({"person": codes[pooled], "row": pooled}).merge(
            pd.DataFrame({"person": codes[own], "by": own}), on="person")
        row, by = pairs["row"].to_numpy(), pairs["by"].to_numpy()
        later = (sampled[by] > sampled[row]) & (result_t[by] >= result_t[row])
        row, by = row[later], by[later]
        last = np.lexsort((result_t[by], row))
        ends = last[_group_ends(row[last])]
        out[row[ends]] = srid[by[ends]]
    by, when = latest_per_person(np.flatnonzero(known), sampled)
    unusable = (scope == AWAITING) | ((scope == INDIVIDUAL) & (result == INVALID)) | ((scope == POOL) & (result == INVALID))
    again = known & unusable & (out == "") & (when > sampled)
    out[again] = srid[by[again]]
    return out


def _orphans(results, r_sid, r_pid, s_id, p_id) -> pd.DataFrame:
    """Result rows no sample names: kept with the reason, and joined when their sample comes."""
    no_sample = (r_sid != "") & ~pd.Series(r_sid, dtype=object).isin(s_id).to_numpy()
    no_pool = (r_sid == "") & ~pd.Series(r_pid, dtype=object).isin(p_id[p_id != ""]).to_numpy()
    lost = no_sample | no_pool
    out = results.reindex(columns=ORPHAN_COLUMNS[:-1]).loc[lost].fillna("").reset_index(drop=True)
    out["reason"] = np.where(no_sample[lost], NO_SAMPLE, NO_POOL)
    return out


# ----------------------------------------------------------------------------------- helpers

def attach_outcomes(records: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Records with the outcome columns the policy's rules read (screening_result, screening_scope,
    hours_waited, ...), matched on source_record_id (the first outcome of an id); records of other
    feeds get empty ones. By position, not `merge`: a first load's million records took 1.6 s."""
    keys = text_index(outcomes["source_record_id"])
    first = np.flatnonzero(~keys.duplicated())
    at = keys[first].get_indexer(text_index(records["source_record_id"]))
    found, rows = at >= 0, first[at[at >= 0]]
    columns = [c for c in OUTCOME_COLUMNS if c not in ("source_record_id", "sample_id", "pool_id")]
    out = records.drop(columns=[c for c in columns if c in records]).reset_index(drop=True)
    for column in columns:
        picked = pd.Series(outcomes[column].to_numpy()[rows], dtype=object)
        if column in FLAGS:
            taken = np.zeros(len(out), dtype=bool)
            taken[found] = picked.astype("boolean").fillna(False).to_numpy(dtype=bool)
        elif column == "hours_waited":
            taken = np.full(len(out), np.nan)
            taken[found] = pd.to_numeric(picked, errors="coerce").to_numpy(dtype=float)
        else:
            taken = np.full(len(out), "", dtype=object)
            taken[found] = picked.where(picked.notna(), "").to_numpy(dtype=object)
        out[column] = taken
    return out


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), "", dtype=object)
    return frame[column].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _dt(text: np.ndarray) -> np.ndarray:
    return pd.to_datetime(pd.Series(text, dtype=object), format="%Y-%m-%d %H:%M:%S", errors="coerce").to_numpy()


def _ns(text: np.ndarray) -> np.ndarray:
    """Local wall-clock text → int64 nanoseconds (NaT: the smallest int64)."""
    return _dt(text).astype("datetime64[ns]").view(np.int64)


def _as_of(as_of, timezone: str) -> int:
    """`as_of` as local wall-clock nanoseconds, comparable with the records' local times."""
    moment = pd.Timestamp(as_of)
    if moment.tzinfo is not None:
        moment = moment.tz_convert(timezone).tz_localize(None)
    return int(moment.as_unit("ns").value)
