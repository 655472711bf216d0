"""The matching engine: block → compare → score → cluster → stable ids, with explanations.

`dedupe` resolves a whole frame (batch), or only what new records change when `new_ids` is given
(incremental: new records are compared with each other and with existing ones, existing persons
stay joined as they were).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screenfuse.matching import threads
from screenfuse.matching.blocking import RuleStats, candidate_pairs, scoring_pairs
from screenfuse.matching.clustering import cluster, kept_apart
from screenfuse.matching.anchors import Trained, shipped, train_checked
from screenfuse.matching.context import ContextFinding
from screenfuse.matching.columns import Columns, as_text, is_in, text_index
from screenfuse.matching.model import Model, comparison_levels, contributions, prior_weight, probability
from screenfuse.matching.person_ids import assign_person_ids, person_changes
from screenfuse.matching.settings import MatchSettings, SettingsError
from screenfuse.matching.touched import pair_rows, shares_a_key, still_together
from screenfuse.matching.twins import twin_representatives

PAIR_COLUMNS = ["left_id", "right_id", "match_weight", "match_probability", "explanation"]
SCORE_ROWS = 1_000_000  # pairs scored at a time


@dataclass
class DedupeResult:
    clusters: pd.DataFrame  # record_id, person_id
    changes: pd.DataFrame  # merges and splits against `previous`
    model: Model
    rule_stats: list[RuleStats]
    timings: dict[str, float] = field(default_factory=dict)
    candidate_pairs: int = 0
    link_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False)
    review_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False)
    _explain: Callable[[np.ndarray], pd.DataFrame] | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)
    model_source: str = "trained"  # trained (on this input) | given (the caller's) | shipped (the preset's)
    model_reason: str = ""  # why the shipped model (input too small, or EM's matches not persons: matching/anchors.py)
    prior: float = 0.0  # the prior the pairs were scored with: the model's, for population_size records
    population_size: int = 0
    learnt_from: int = 0  # records EM ran on (0: none: a model given, too few records, or `shipped_reason`)
    context: list = field(default_factory=list)  # ContextFinding per comparison (matching/context.py)
    twins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["record_id", "twin_of"]))  # matching/twins.py

    @property
    def links(self) -> pd.DataFrame:
        """The links that joined records (PAIR_COLUMNS), explained; built on first use."""
        return self._pairs("links", self.link_rows)

    @property
    def review(self) -> pd.DataFrame:
        """Grey-zone pairs left apart for a person to decide (PAIR_COLUMNS), explained."""
        return self._pairs("review", self.review_rows)

    def _pairs(self, name: str, rows: np.ndarray) -> pd.DataFrame:
        if name not in self._cache:
            self._cache[name] = self._explain(rows) if self._explain else pd.DataFrame(columns=PAIR_COLUMNS)
        return self._cache[name]


class _Clock:
    def __init__(self, progress: Callable[[str, float], None] | None):
        self.progress, self.timings, self.start = progress, {}, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = now - self.start
        if self.progress:
            self.progress(stage, self.timings[stage])
        self.start = now


OPTION_COLUMNS = ("pinyin_column", "dropped_character_needs")


def _check_columns(frame: pd.DataFrame, settings: MatchSettings) -> None:
    needed = {settings.unique_id, *settings.distinct_keys, *settings.twin_keys}
    needed |= {p.column for rule in settings.blocking for p in rule}
    needed |= {c.column for c in settings.comparisons}
    # a column a comparison's options name (the zh_name default birth_date is used only when present)
    needed |= {c.options[key] for c in settings.comparisons for key in OPTION_COLUMNS if c.options.get(key)}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise SettingsError(f"input has no column(s) {', '.join(missing)} named in the settings; "
                            f"columns present: {', '.join(map(str, frame.columns))}")
    if not frame[settings.unique_id].is_unique:
        raise SettingsError(f"unique_id column '{settings.unique_id}' has repeated values; each record needs its own id")


def dedupe(frame: pd.DataFrame, settings: MatchSettings, previous: pd.DataFrame | None = None,
           cannot_link: pd.DataFrame | None = None, model: Model | None = None,
           new_ids: np.ndarray | None = None, progress: Callable[[str, float], None] | None = None,
           population: "Population | None" = None, must_link: pd.DataFrame | None = None,
           shipped_reason: str | None = None) -> DedupeResult:
    """Resolve `frame` (one row per record, keyed by settings.unique_id) into persons.

    previous: record_id, person_id of earlier runs (stable ids; pre-joined when incremental).
    cannot_link: left_id, right_id pairs a person said are not the same.
    must_link: left_id, right_id pairs a person said are the same: joined whatever their score,
    unless that breaks a cannot-link or a distinct key (those always win: a false link isolates
    the wrong person).
    model: a trained model to reuse; trained on this frame when absent.
    population: when `frame` is only the neighbourhood of the new records (a store read it by
    blocking key), what the whole population says: its size, term-frequency shares, ids in use.
    shipped_reason: with no model given, take the preset's shipped model for this reason instead of
    learning (e.g. EM's checks turned it down on a larger input before).
    """
    _check_columns(frame, settings)
    if new_ids is not None and previous is not None and len(previous) and cannot_link is not None and len(cannot_link):
        # both records of a "not the same person" pair still in one person are resolved as new:
        # linked again on their evidence, never kept joined by the earlier person
        new_ids = np.r_[np.asarray(new_ids, dtype=object).astype(str), still_together(previous, cannot_link)]
    if new_ids is not None and previous is not None and len(previous):
        learnt, tried = Trained(model, [], "given"), 0
        if model is None:  # nothing learnt yet (earlier inputs were too small, or EM's matches not persons)
            # learn as a first input does, from the new records alone: the neighbourhood read around
            # them is made of likely matches and would overstate how many records a person has
            new_rows = frame[is_in(frame[settings.unique_id].astype(str), np.asarray(new_ids, dtype=object).astype(str))]
            if shipped_reason and (kept := shipped(settings, shipped_reason)) is not None:
                learnt = kept
            elif len(new_rows) >= settings.min_records_to_train:
                learnt, tried = _learn(new_rows.reset_index(drop=True), settings), len(new_rows)
            else:  # too few new records: the shipped model; without a preset, whatever there is to learn from
                learnt = shipped(settings, TOO_SMALL) or _learn(frame, settings)
        result = _dedupe_affected(frame, settings, previous, cannot_link, learnt.model, new_ids, progress, population,
                                  learnt.source, must_link, learnt.reason)
        result.learnt_from = tried
        return result
    if model is None and shipped_reason and (kept := shipped(settings, shipped_reason)) is not None:
        model, source, reason = kept.model, kept.source, kept.reason  # no earlier persons near: the same rule
    else:
        source, reason = None, ""
    return _dedupe(frame, settings, previous, cannot_link, model, new_ids, progress, source=source,
                   must_link=must_link, reason=reason)


TOO_SMALL = "too few records to learn from: the preset's shipped model"


def budget(settings: MatchSettings, records: int) -> int:
    """The most candidate pairs a batch run of `records` records compares."""
    return int(settings.max_pairs_per_record * records)


def _learn(frame: pd.DataFrame, settings: MatchSettings) -> Trained:
    """A model learnt from `frame` (EM over its candidate pairs), whatever its size, or the preset's
    shipped one when what EM learnt fails the checks of matching/anchors.py."""
    columns = Columns(frame)
    spare = twin_representatives(columns, settings) != np.arange(len(columns))  # twins teach nothing twice
    left, right, _ = candidate_pairs(columns, settings.blocking, settings.max_block_size, budget=budget(settings, len(columns)),
                                     skip=spare if spare.any() else None)
    levels = comparison_levels(columns, settings, left, right)
    return train_checked(columns, settings, left, right, levels)


def _dedupe_affected(frame, settings, previous, cannot_link, model, new_ids, progress,
                     outside: "Population | None" = None, source: str = "given",
                     must_link: pd.DataFrame | None = None, reason: str = "") -> DedupeResult:
    """Incremental run on only what new records can touch.

    New records (and any record no run has resolved yet), the existing records sharing a blocking
    key with one, and every record of those records' persons are resolved again, with term frequencies of the
    whole population; all other records keep their person as it was.
    """
    clock = _Clock(progress)
    columns = Columns(frame)
    ids = columns.values(settings.unique_id)
    prev_ids, prev_person = as_text(previous["record_id"]), as_text(previous["person_id"])
    given_new = np.asarray(new_ids, dtype=object).astype(str)
    # one hash pass gives every record id an integer; the set operations below are on those
    code, _ = pd.factorize(np.concatenate([ids, prev_ids, given_new]))
    n, m = len(ids), len(prev_ids)
    id_code, prev_code, new_code = code[:n], code[n:n + m], code[n + m:]
    flag = lambda codes: np.bincount(codes, minlength=int(code.max()) + 1) > 0  # noqa: E731
    new_mask = flag(new_code)[id_code] | ~flag(prev_code)[id_code]  # never resolved: new as well
    affected = new_mask.copy()
    matches: dict = {}
    for rule in settings.blocking:
        affected |= shares_a_key(columns, rule, np.flatnonzero(new_mask), matches)
    person_code, persons = pd.factorize(prev_person)
    must = pair_rows(ids, must_link)
    if len(must[0]):  # a pair decided the same but in two persons: resolved now, wherever it is
        person_of_row = pd.Series(prev_person, index=text_index(prev_ids))
        person_of_row = person_of_row[~person_of_row.index.duplicated()].reindex(text_index(ids)).to_numpy()
        apart = person_of_row[must[0]] != person_of_row[must[1]]
        affected[must[0][apart]] = affected[must[1][apart]] = True
    while True:  # a person decided the same as an affected record's is resolved with it, and so on
        touched = np.bincount(person_code[flag(id_code[affected])[prev_code]], minlength=len(persons)) > 0
        grown = affected | flag(prev_code[touched[person_code]])[id_code]
        if len(must[0]):
            grown[must[1][grown[must[0]]]] = True
            grown[must[0][grown[must[1]]]] = True
        if (grown == affected).all():
            break
        affected = grown
    rows = np.flatnonzero(affected)
    if outside is None:
        population = Population(len(frame), {c.column: columns.shares(c.column)
                                             for c in model.comparisons if c.term_frequency}, np.asarray(persons, dtype=object))
    else:
        population = outside
    population = Population(population.size, {c: v[rows] for c, v in population.shares.items()},
                            population.person_ids)
    in_rows = flag(id_code[rows])[prev_code]
    clock.lap(f"affected ({len(rows):,} of {len(frame):,} records)")
    result = _dedupe(frame.iloc[rows], settings, previous[in_rows], cannot_link, model, new_ids, progress, population,
                     source, must_link, reason)
    kept = ~in_rows & flag(id_code)[prev_code]  # records gone from the input are not reported
    result.clusters = pd.concat([pd.DataFrame({"record_id": prev_ids[kept], "person_id": prev_person[kept]}),
                                 result.clusters], ignore_index=True)
    result.timings = {**clock.timings, **result.timings}
    return result


@dataclass
class Population:
    """What the whole population says when only part of it is resolved: its size, per
    term-frequency column each record's share of its value (aligned with the frame's rows), and
    the person ids in use (an array, or a function telling which of some ids are in use)."""
    size: int
    shares: dict[str, np.ndarray]
    person_ids: "np.ndarray | Callable[[np.ndarray], np.ndarray]"


def _dedupe(frame, settings, previous, cannot_link, model, new_ids, progress, population: Population | None = None,
            source: str | None = None, must_link: pd.DataFrame | None = None, reason: str = "") -> DedupeResult:
    clock = _Clock(progress)
    uid = settings.unique_id
    unsorted_ids = as_text(frame[uid])  # Python strings as they are: no round trip through pandas' own
    by_id = pc.sort_indices(pa.array(unsorted_ids, type=pa.string())).to_numpy()  # stable, and faster than numpy on str
    frame = frame.iloc[by_id].reset_index(drop=True)
    columns = Columns(frame, {c: v[by_id] for c, v in population.shares.items()} if population else None)
    ids = unsorted_ids[by_id]
    n = len(frame)
    position = pd.Series(np.arange(n), index=text_index(ids))
    new_mask = is_in(ids, np.asarray(new_ids, dtype=object).astype(str)) if new_ids is not None else None

    reviewed = (is_in(ids, np.r_[as_text(cannot_link["left_id"]), as_text(cannot_link["right_id"])])
                if cannot_link is not None and len(cannot_link) else None)
    twin = twin_representatives(columns, settings, keep_apart=reviewed)
    spare = twin != np.arange(n)  # twins of an earlier record: joined to it, not blocked
    learn = None  # which pairs a model learns from (None: all)
    if new_mask is None:  # a batch: a rule that explodes is refined, by further keys for scoring
        left, right, stats, learn = scoring_pairs(columns, settings.blocking, settings.max_block_size, budget(settings, n),
                                                  skip=spare if spare.any() else None)
    else:
        left, right, stats = candidate_pairs(columns, settings.blocking, settings.max_block_size, only_with=new_mask,
                                             skip=spare if spare.any() else None)
    clock.lap("block")
    levels = comparison_levels(columns, settings, left, right)
    clock.lap("compare")
    size = population.size if population else n
    # a batch of a few people's thousand records each has little to learn from: count them once
    small = (size if population else n - int(spare.sum())) < settings.min_records_to_train
    source = source or ("given" if model is not None else "trained")
    findings = []
    if model is None and small and (fallback := shipped(settings, TOO_SMALL)) is not None:
        model, source, reason = fallback.model, fallback.source, fallback.reason
    learnt_from = 0
    if model is None:
        taught = slice(None) if learn is None or learn.all() else learn
        trained = train_checked(columns, settings, left[taught], right[taught], levels[taught])
        model, findings, source, reason, learnt_from = trained.model, trained.findings, trained.source, trained.reason, n
        clock.lap("train")
    columns.let_go("rule")  # the rules' codes blocking and context detection shared: 8 bytes a record each
    model = model.aligned(settings)
    prior = model.prior_for(size)  # for this population, not the one the model was trained on
    # value shares of a handful of records say nothing about how common a value is
    weigh = lambda rows: contributions(model, levels[rows], None if small else columns, left[rows])  # noqa: E731
    # a pair's total, SCORE_ROWS pairs at a time: the (pairs × comparisons) bits of ten million
    # pairs are 650 MB; only the pairs a caller asks to explain get theirs again (_pairs_frame)
    total = np.empty(len(left), dtype=float)

    def score(at: int) -> None:
        total[at:at + SCORE_ROWS] = weigh(slice(at, at + SCORE_ROWS)).sum(axis=1)

    threads.each(score, range(0, len(left), SCORE_ROWS))
    total += prior_weight(prior)
    prob = probability(total)
    clock.lap("score")

    distinct = [columns.values(k) for k in settings.distinct_keys]
    conflict = np.zeros(len(left), dtype=bool)
    for key in settings.distinct_keys:
        codes = columns.codes(key)
        conflict |= (codes[left] >= 0) & (codes[right] >= 0) & (codes[left] != codes[right])
    forbidden = set()
    if cannot_link is not None and len(cannot_link):
        cl_left, cl_right = as_text(cannot_link["left_id"]), as_text(cannot_link["right_id"])
        known = is_in(cl_left, ids) & is_in(cl_right, ids)
        a = position.reindex(text_index(cl_left[known])).to_numpy()
        b = position.reindex(text_index(cl_right[known])).to_numpy()
        forbidden = {(int(min(x, y)), int(max(x, y))) for x, y in zip(a, b)}
        if forbidden:
            pair_code = left * n + right
            conflict |= np.isin(pair_code, np.array([x * n + y for x, y in forbidden], dtype=np.int64))
    link = (prob >= settings.match_threshold) & ~conflict
    review = (prob >= settings.review_threshold) & ~link & ~conflict

    edge_left, edge_right, edge_weight = left[link], right[link], total[link]
    if new_mask is not None and previous is not None and len(previous):
        # existing persons stay joined: chain their records with links stronger than any score
        prev_ids, prev_person = as_text(previous["record_id"]), as_text(previous["person_id"])
        here = is_in(prev_ids, ids)
        prev_ids, prev_person = prev_ids[here], prev_person[here]
        prev_pos = position.reindex(text_index(prev_ids)).to_numpy()
        old = ~new_mask[prev_pos]
        prev_pos, prev_person = prev_pos[old], prev_person[old]
        order = np.lexsort((prev_pos, prev_person))
        person_sorted, pos_sorted = prev_person[order], prev_pos[order]
        same = person_sorted[1:] == person_sorted[:-1]
        edge_left = np.r_[edge_left, pos_sorted[:-1][same]]
        edge_right = np.r_[edge_right, pos_sorted[1:][same]]
        edge_weight = np.r_[edge_weight, np.full(int(same.sum()), np.inf)]
    decided_left, decided_right = pair_rows(ids, must_link)
    if len(decided_left):  # a person decided they are the same: joined as firmly as an earlier person
        edge_left, edge_right = np.r_[edge_left, decided_left], np.r_[edge_right, decided_right]
        edge_weight = np.r_[edge_weight, np.full(len(decided_left), np.inf)]
    if spare.any():  # exact twins (matching/twins.py) join their first record
        edge_left, edge_right = np.r_[edge_left, twin[spare]], np.r_[edge_right, np.flatnonzero(spare)]
        edge_weight = np.r_[edge_weight, np.full(int(spare.sum()), np.inf)]
    labels, used = cluster(n, edge_left, edge_right, edge_weight, distinct, forbidden)
    person_ids = assign_person_ids(ids, labels, previous, population.person_ids if population else None)
    clock.lap("cluster")

    back = np.empty(n, dtype=np.int64)
    back[by_id] = np.arange(n)  # clusters in the input's order
    clusters = pd.DataFrame({"record_id": ids[back], "person_id": person_ids[back]})
    linked_rows = np.flatnonzero(link)[used[: int(link.sum())]]
    review_rows = np.flatnonzero(review)
    review_rows = review_rows[labels[left[review_rows]] != labels[right[review_rows]]]
    # a pair whose persons a constraint keeps apart is not asked: a `same` could not join them
    review_rows = review_rows[~kept_apart(labels, left[review_rows], right[review_rows], distinct, forbidden)]
    changes = person_changes(previous, clusters)
    clock.lap("changes")
    explain = lambda rows: _pairs_frame(ids, left, right, total, prob, weigh, levels, model, prior, rows)  # noqa: E731
    return DedupeResult(clusters, changes, model, stats, clock.timings, int(len(left)), linked_rows, review_rows, explain,
                        model_source=source, model_reason=reason, prior=prior, population_size=size, learnt_from=learnt_from,
                        context=findings or [ContextFinding(c.column, c.role, "model", 0, 0.0, 0.0) for c in model.comparisons],
                        twins=pd.DataFrame({"record_id": ids[spare], "twin_of": ids[twin[spare]]}))


def _pairs_frame(ids, left, right, total, prob, weigh, levels, model: Model, prior: float, rows: np.ndarray) -> pd.DataFrame:
    """Pairs with their weight and an explanation (JSON: each comparison's level and bits; `weigh`
    gives the bits of some pairs), built column by column rather than pair by pair."""
    weights = weigh(rows)
    explanation = pd.Series(f'{{"prior": {prior_weight(prior):.3f}', index=range(len(rows)), dtype=object)
    for k, comp in enumerate(model.comparisons):
        names = np.array(["missing", *comp.levels], dtype=object)
        level = pd.Series(names[levels[rows, k]], dtype=object)
        bits = pd.Series(np.round(weights[:, k], 3), dtype=float).map("{:.3f}".format)
        explanation = explanation + f', "{comp.column}": {{"level": "' + level + '", "bits": ' + bits + "}"
    return pd.DataFrame({
        "left_id": ids[left[rows]], "right_id": ids[right[rows]],
        "match_weight": np.round(total[rows], 4), "match_probability": np.round(prob[rows], 6),
        "explanation": (explanation + "}").to_numpy(dtype=object),
    }, columns=PAIR_COLUMNS)
