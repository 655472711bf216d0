"""The pipeline's one resolution seam: source records in, person links, review queue and the
merges and splits out. Behind it is the matching engine with the zh_person preset.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screenfuse import addresses
from screenfuse.dialect import sound_folds
from screenfuse.matching import MatchSettings, Model, Population, dedupe, preset
from screenfuse.matching.columns import as_text  # the engine's reading of a column as Python strings
from screenfuse.forked import cores, map_forked
from screenfuse.zh_person import PARALLEL_FROM_ROWS, combination_groups, document_columns, prepare, spread_categorical
from screenfuse.state_schema import MATCH_COLUMNS
from screenfuse.text_keys import is_in, map_by_key

# id_status: a number stored converted from 15 digits (converted_15) looks valid when read again
RAW_COLUMNS = ["record_id", "name", "id_number", "id_type", "id_status", "phone", "phone2", "birth_date", "sex", "address"]
SETTINGS = preset("zh_person")  # as shipped; a run compares with `match_settings()`, the district's


def match_settings() -> MatchSettings:
    """The zh_person preset with the district's dialect table (screenfuse.dialect) in its name
    comparison: what every run, retraining and label evaluation scores pairs with."""
    return _with_folds(sound_folds())


@lru_cache(maxsize=4)
def _with_folds(folds: tuple[tuple[str, str], ...]) -> MatchSettings:
    comparisons = tuple(replace(c, options={**c.options, "sound_folds": folds}) if c.method == "zh_name" else c
                        for c in SETTINGS.comparisons)
    return SETTINGS.with_overrides(comparisons=comparisons)


# what ingest normalized already (screenfuse.ingest.normalize_rows) and resolve takes as it is:
# the stage's records are not normalized a second time (docs/benchmarks.md)
NORMALIZED_AT_INGEST = ["name", "name_pinyin", "id_type", "id_number", "id_status", "birth_date", "sex", "phone", "phone2",
                        "address"]


def prepare_records(records: pd.DataFrame, normalized_at_ingest: bool = False) -> pd.DataFrame:
    """Source records → the matching columns the engine compares (record_id + MATCH_COLUMNS),
    computed once per record at ingest and kept in the warehouse (`match_record`).
    `normalized_at_ingest`: the records are the ingest stage's (their NORMALIZED_AT_INGEST columns
    are taken as they are), and the matching columns come back categoricals, for the engine
    (`plain_text` gives what the warehouse stores); otherwise every column is normalized, and
    comes back plain text."""
    frame = records.rename(columns={"source_record_id": "record_id"})
    if normalized_at_ingest:
        return _from_ingest(frame)[["record_id", *MATCH_COLUMNS]]
    return plain_text(prepare(frame.reindex(columns=RAW_COLUMNS, fill_value=""))[["record_id", *MATCH_COLUMNS]])


def plain_text(prepared: pd.DataFrame) -> pd.DataFrame:
    """Prepared records as the warehouse stores them: categoricals (which the engine takes for
    their codes) as plain text."""
    return prepared.astype({c: object for c, dtype in prepared.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)})


def _from_ingest(frame: pd.DataFrame) -> pd.DataFrame:
    """`prepare` of records ingest normalized, computing only what ingest does not keep: the
    document key, the trusted ID and the address parts. Ingest's normalization is final (a second
    pass changes nothing: tests/test_normalize.py, test_resolve.py). Every matching column comes
    back a categorical, as `prepare` gives it: the engine takes its codes instead of hashing a
    million strings again. The codes are Arrow's dictionary encoding of the stage's text; what is
    computed, once per distinct value (or combination of values) it is computed from."""
    coded = {c: _dictionary_codes(frame[c]) for c in NORMALIZED_AT_INGEST}
    out = {"record_id": pd.Series(as_text(frame["record_id"]), dtype=object)}
    for column in ("name", "name_pinyin", "birth_date", "sex", "phone", "phone2"):
        codes, values = coded[column]
        out[column] = pd.Categorical.from_codes(codes, categories=pd.Index(values, dtype=object), validate=False)
    group, rows = combination_groups([coded[c][0] for c in ("id_type", "id_number", "id_status")])
    documents_of = document_columns(*(coded[c][1][coded[c][0][rows]] for c in ("id_type", "id_number", "id_status")))
    out |= {name: spread_categorical(values, group) for name, values in documents_of.items()}
    codes, values = coded["address"]
    parts = _address_parts(values)
    out |= {name: spread_categorical(parts[name], codes) for name in addresses.ADDRESS_PARTS}
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _dictionary_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, distinct values as Python strings) of a text column, missing read as ''.
    A column Arrow cannot take as text (values of mixed types, a lone surrogate) is coded by
    pandas from its values as text."""
    try:
        array = pa.array(column, from_pandas=True)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) or pa.types.is_null(array.type):
            encoded = pc.dictionary_encode(array.cast(pa.large_string()).fill_null(""))
            return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
                    np.asarray(encoded.dictionary.to_pylist(), dtype=object))
    except (pa.ArrowException, TypeError, ValueError, UnicodeError):
        pass
    codes, values = pd.factorize(as_text(column))
    return codes.astype(np.int64), np.asarray(values, dtype=object)


def _address_parts(values: np.ndarray) -> dict[str, np.ndarray]:
    """The parts of distinct normalized addresses, across the cores when they are many."""
    workers = cores() if len(values) >= PARALLEL_FROM_ROWS else 1
    chunks = np.array_split(values, workers * 2) if workers > 1 else [values]
    done = map_forked(lambda chunk: addresses.address_parts(pd.Series(chunk, dtype=object)), chunks, workers)
    return {name: np.concatenate([part[name].to_numpy(dtype=object) for part in done]) if done else
            np.array([], dtype=object) for name in addresses.ADDRESS_PARTS}


@dataclass
class Resolution:
    links: pd.DataFrame  # source_record_id, person_id, match_weight, match_probability, match_rule, explanation
    review: pd.DataFrame  # left/right record and person ids, weight, probability, explanation
    changes: pd.DataFrame  # event (merge/split), person_id, other_person_ids
    model: Model
    model_trained: bool  # learnt from these records (not the stored one, not the preset's shipped one)
    model_source: str = "trained"  # trained | given | shipped (see screenfuse.matching.DedupeResult)
    model_reason: str = ""  # why the shipped model was used
    prior: float = 0.0  # the prior the pairs were scored with, for the population's size
    population_size: int = 0
    learnt_from: int = 0  # records EM ran on (0: none ran; see screenfuse.matching.DedupeResult)
    rule_stats: list = field(default_factory=list)  # per blocking rule (matching.blocking.RuleStats)
    context: list = field(default_factory=list)  # per comparison (matching.context.ContextFinding)

    def blocking_report(self) -> dict:
        """What blocking did and which comparisons counted as context: counts and column names
        only (run_log.match_blocking, the run report's Blocking section)."""
        rules = [{"rule": r.rule, "estimated": int(r.estimated), "refined_with": r.refined_with,
                  "also_split_by": r.also_split_by, "estimated_after": int(r.estimated_after),
                  "capped_blocks": int(r.capped_blocks), "skipped_blocks": int(r.skipped_blocks),
                  "pairs": int(r.pairs), "new_pairs": int(r.new_pairs)} for r in self.rule_stats]
        context = [{"column": c.column, "role": c.role, "why": c.why} for c in self.context]
        return {"rules": rules, "context": context}


def resolve_identities(records: pd.DataFrame, previous: pd.DataFrame | None = None,
                       new_ids: np.ndarray | None = None, model: Model | None = None,
                       cannot_link: pd.DataFrame | None = None, population: Population | None = None,
                       prepared: bool = False, must_link: pd.DataFrame | None = None,
                       shipped_reason: str | None = None) -> Resolution:
    """Records (source_record columns, or `prepared` ones from `prepare_records`) → persons.

    previous: source_record_id, person_id from earlier runs; with `new_ids`, only pairs that
    involve a new record are compared and earlier persons stay as they were (incremental).
    model: reuse a trained model (trained on `records` when absent).
    cannot_link / must_link: left_id, right_id pairs people decided are not / are the same.
    population: when `records` is only the neighbourhood of the new records (see
    `screenfuse.match_state`), what the whole warehouse says about them.
    shipped_reason: with no model, take the preset's shipped one for this reason, not learn (incremental).
    """
    frame = records if prepared else prepare_records(records)
    prev = previous.rename(columns={"source_record_id": "record_id"}) if previous is not None else None
    result = dedupe(frame, match_settings(), previous=prev, cannot_link=cannot_link, model=model, new_ids=new_ids,
                    population=population, must_link=must_link, shipped_reason=shipped_reason)
    strongest = pd.concat([
        result.links.rename(columns={"left_id": "record_id"}).drop(columns="right_id"),
        result.links.rename(columns={"right_id": "record_id"}).drop(columns="left_id"),
    ]).sort_values(["record_id", "match_weight"], ascending=[True, False]).drop_duplicates("record_id")
    links = result.clusters.merge(strongest, on="record_id", how="left")
    links["match_rule"] = np.where(links["match_weight"].notna(), "linked", "alone")
    if len(result.twins):  # joined as an exact twin of an earlier record (matching/twins.py)
        twin_of = map_by_key(links["record_id"], result.twins["record_id"], result.twins["twin_of"])
        is_twin = twin_of.notna().to_numpy() & links["match_weight"].isna().to_numpy()
        links.loc[is_twin, "match_rule"] = "twin"
        links.loc[is_twin, "explanation"] = ('{"twin_of": "' + twin_of[is_twin].astype(str) + '"}').to_numpy()
        counts = result.twins["twin_of"].value_counts()
        twins = map_by_key(links["record_id"], counts.index, counts.to_numpy())
        first = twins.notna().to_numpy() & links["match_weight"].isna().to_numpy()
        links.loc[first, "match_rule"] = "twin"
        links.loc[first, "explanation"] = ('{"twins": ' + twins[first].astype(int).astype(str) + "}").to_numpy()
    if new_ids is not None and prev is not None and len(prev):
        existing = is_in(links["record_id"], prev["record_id"]) & ~is_in(links["record_id"], new_ids)
        links.loc[existing & links["match_weight"].isna(), "match_rule"] = "kept"
    review = result.review.rename(columns={"left_id": "left_record_id", "right_id": "right_record_id"})
    for at, side in ((2, "left"), (3, "right")):
        review.insert(at, f"{side}_person_id", map_by_key(review[f"{side}_record_id"], result.clusters["record_id"],
                                                          result.clusters["person_id"]).to_numpy())
    changes = _with_evidence(result.changes, result, prev, cannot_link)
    return Resolution(
        links=links.rename(columns={"record_id": "source_record_id"})[
            ["source_record_id", "person_id", "match_weight", "match_probability", "match_rule", "explanation"]],
        review=review, changes=changes, model=result.model, model_trained=result.model_source == "trained",
        model_source=result.model_source, model_reason=result.model_reason, prior=result.prior, population_size=result.population_size,
        learnt_from=result.learnt_from, rule_stats=list(result.rule_stats), context=list(result.context),
    )


def _with_evidence(changes: pd.DataFrame, result, previous: pd.DataFrame | None,
                   cannot_link: pd.DataFrame | None) -> pd.DataFrame:
    """Each merge and split with its evidence (JSON list of pairs, record ids and scores only):
    a merge, the links that joined records of different earlier persons (`why` linked); a split,
    the pairs of its parts that were kept apart by a person's decision (非本人 answer, review:
    `why` cannot_link) or scored in the review band (`why` review), else one entry saying no pair of
    its parts reached the match threshold under the model of the run."""
    changes = changes.assign(evidence="[]")
    if changes.empty or previous is None or not len(previous):
        return changes
    before = dict(zip(previous["record_id"], previous["person_id"]))
    now = dict(zip(result.clusters["record_id"], result.clusters["person_id"]))
    links = result.links.assign(why="linked")
    crossing = links[links["left_id"].map(before).fillna("new") != links["right_id"].map(before).fillna("new")]
    apart = pd.concat([
        (cannot_link if cannot_link is not None else pd.DataFrame(columns=["left_id", "right_id"]))[["left_id", "right_id"]]
        .assign(why="cannot_link", match_weight=np.nan, explanation=None),
        result.review.assign(why="review")], ignore_index=True)[["left_id", "right_id", "why", "match_weight", "explanation"]]
    was = apart["left_id"].map(before)
    kept = (was.notna() & (was == apart["right_id"].map(before)) & (apart["left_id"].map(now) != apart["right_id"].map(now))).to_numpy()
    apart, was = apart[kept], was[kept]
    # a link inside a merged person crossing earlier persons; a pair of an earlier person's records now apart
    # (grouped for the persons of the events only: an hour's new records each cross to an earlier person)
    by_person = {}
    for event, frame, owner in (("merge", crossing, crossing["left_id"].map(now)), ("split", apart, was)):
        mine = owner.isin(changes.loc[changes["event"] == event, "person_id"]).to_numpy()
        by_person[event] = dict(tuple(frame[mine].groupby(owner[mine])))
    evidence = []
    for event, person in changes[["event", "person_id"]].itertuples(index=False):
        rows = by_person[event].get(person)
        pairs = [] if rows is None else rows[["left_id", "right_id", "why", "match_weight", "explanation"]].to_dict(orient="records")
        for pair in pairs:
            pair["match_weight"] = None if pd.isna(pair["match_weight"]) else round(float(pair["match_weight"]), 3)
            pair["explanation"] = json.loads(pair["explanation"]) if isinstance(pair["explanation"], str) else None
        if event == "split" and not pairs:
            pairs = [{"why": "no pair of its parts reached the match threshold under this run's model"}]
        evidence.append(json.dumps(pairs, ensure_ascii=False))
    return changes.assign(evidence=evidence)
