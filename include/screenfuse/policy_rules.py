"""The policy's rules applied to records: each record's status, each community's risk level and
the step after discharge. Pure and vectorised (one pass per rule over the frame); what the rules
are comes from the loaded Policy (policy.py loads it)."""
from __future__ import annotations

import re
from typing import Any, Iterable

import numpy as np
import pandas as pd

from screenfuse.arrival_rules import arrival_classes, detail_field
from screenfuse.per_person import lookup
from screenfuse.policy_city_lists import city_list_statuses
from screenfuse.policy_types import DETAIL_CONDITIONS, NO_STATUS, Policy


def record_status(records: pd.DataFrame, policy: Policy) -> pd.Series:
    """What each source record on its own says about the person: the highest-priority status any
    rule gives it, the status of the arrival class it is in (`arrivals`: `arrival_rules`) or of its
    city-list category (`city_lists`: `policy_city_lists`), else "none". Reads feed, temperature, category, action,
    contact_of_name, contact_of_id, came_from, arrival_date and event_time (and medicine_category, symptoms,
    reported_as: columns or details_json; travel_purpose, departure_date for a refinement class), and for
    mass-screening samples the joined outcome (screening_result, screening_scope, hours_waited:
    `mass_screening.attach_outcomes`); a missing column counts as empty."""
    facts = _Facts(records, policy)
    rank = policy.status_rank
    best = np.full(len(records), rank[NO_STATUS], dtype=np.int64)
    for rule in policy.rules:
        hit = facts.from_feeds(rule.feeds)
        for condition, value in rule.when.items():
            hit = hit & facts.holds(condition, value)
        best = np.where(hit, np.minimum(best, rank[rule.status]), best)
    if policy.arrivals is not None and len(records):
        arrival = arrival_classes(records, policy.arrivals)
        by_class = {"": rank[NO_STATUS]} | {c.name: rank[c.status] for c in policy.arrivals.classes}
        best = np.minimum(best, lookup(arrival, by_class, rank[NO_STATUS]).astype(np.int64))
    if policy.city_lists is not None and len(records):
        listed = city_list_statuses(records, policy.city_lists)
        best = np.minimum(best, lookup(listed, rank | {"": rank[NO_STATUS]}, rank[NO_STATUS]).astype(np.int64))
    names = np.array(policy.status_priority, dtype=object)
    return pd.Series(names[best], index=records.index, dtype=object)


def matches_any(records: pd.DataFrame, policy: Policy, conditions: Iterable[Any]) -> np.ndarray:
    """Records for which every condition of at least one of the condition sets holds (the
    conditions of a rule's `when`, e.g. a release's `negative`)."""
    facts = _Facts(records, policy)
    hit = np.zeros(len(records), dtype=bool)
    for when in conditions:
        both = np.ones(len(records), dtype=bool)
        for condition, value in when.items():
            both = both & facts.holds(condition, value)
        hit |= both
    return hit


class _Facts:
    """The record columns the conditions read, cleaned once per call."""

    def __init__(self, records: pd.DataFrame, policy: Policy):
        self.records = records
        self.policy = policy
        self._text: dict[str, pd.Series] = {}

    def text(self, column: str) -> pd.Series:
        if column not in self._text:
            if column in self.records:
                self._text[column] = self.records[column].fillna("").astype(str).str.strip()
            else:
                self._text[column] = pd.Series("", index=self.records.index, dtype=object)
        return self._text[column]

    def detail(self, field: str) -> pd.Series:
        """A contract field beyond the canonical columns (details_json), read once per call."""
        if field not in self._text:
            if field in self.records or "details_json" not in self.records:
                mask = np.ones(len(self.records), dtype=bool)
            else:  # only the rows whose details name the field go through the regular expression
                key = '"' + field + '"'
                mask = self.records["details_json"].fillna("").astype(str).str.contains(key, regex=False).to_numpy()
            self._text[field] = detail_field(self.records, field, mask)
        return self._text[field]

    def from_feeds(self, feeds: tuple[str, ...]) -> np.ndarray:
        if not feeds:
            return np.ones(len(self.records), dtype=bool)
        return self.text("feed").isin(feeds).to_numpy()

    def holds(self, condition: str, value: Any) -> np.ndarray:
        if condition == "temperature_at_least":
            if "temperature" not in self.records:
                return np.zeros(len(self.records), dtype=bool)
            temperature = pd.to_numeric(self.records["temperature"], errors="coerce")
            return (temperature >= value).to_numpy(dtype=bool, na_value=False)
        if condition == "action_contains_any":
            return _contains_any(self.text("action"), value)
        if condition == "category_in":
            return self.text("category").isin(value).to_numpy()
        if condition == "nucleic_acid_in":
            return self.text("nucleic_acid").isin(value).to_numpy()
        if condition in ("screening_result_in", "pool_result_in"):
            # the joined outcome of a mass-screening sample (screenfuse.mass_screening): the result of
            # the person's own tube, or their pool's while no own result overrides it
            scope = "individual" if condition == "screening_result_in" else "pool"
            return ((self.text("screening_scope") == scope) & self.text("screening_result").isin(value)).to_numpy()
        if condition == "result_overdue":
            waited = pd.to_numeric(self.records["hours_waited"], errors="coerce").to_numpy(dtype=float, na_value=np.nan) \
                if "hours_waited" in self.records else np.full(len(self.records), np.nan)
            return (self.text("screening_scope") == "awaiting").to_numpy() & (waited >= self.policy.result_due_hours)
        if condition in ("medicine_category_in", "reported_as_in"):
            return self.detail(DETAIL_CONDITIONS[condition]).isin(value).to_numpy()
        if condition == "symptoms_contain_any":  # 无发热、咳嗽: a cough, no fever
            return _contains_any(_without_denied(self.detail("symptoms")), value)
        if condition == "contact_link":
            return (self.text("contact_of_name").ne("") | self.text("contact_of_id").ne("")).to_numpy()
        if condition == "came_from_key_area":
            return _contains_any(self.text("came_from"), self.policy.key_areas) & self.arrived_recently()
        raise ValueError(f"unknown condition {condition!r}")  # the loader admits only CONDITIONS

    def arrived_recently(self) -> np.ndarray:
        """Arrival within key_area_days before the record's date; unknown dates count as recent."""
        days = self.policy.key_area_days
        if days is None:
            return np.ones(len(self.records), dtype=bool)
        arrival = pd.to_datetime(self.text("arrival_date").str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        taken = pd.to_datetime(self.text("event_time").str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        recent = arrival.isna() | taken.isna() | (arrival >= taken - pd.Timedelta(days=days))
        return recent.to_numpy()


# a symptom a form or a caller denies (无发热, 没有咳嗽, 否认乏力, 不咳): one item of the list, up to the next separator
_NEGATED = re.compile(r"(?:^|(?<=[、,，;；/\s]))(?:无|没有|未|否认|否|不)[^、,，;；/\s]*")


def _contains_any(values: pd.Series, needles: Iterable[str]) -> np.ndarray:
    needles = [n for n in needles if n]
    if not needles:
        return np.zeros(len(values), dtype=bool)
    pattern = "|".join(re.escape(n) for n in needles)
    return _per_distinct(values, lambda v: v.str.contains(pattern, regex=True).to_numpy(dtype=bool))


def _per_distinct(values: pd.Series, check) -> np.ndarray:
    """`check` (a vectorized string test) of each row, run on the distinct values only: a batch
    of a million records holds a few thousand distinct actions, symptoms or places."""
    codes, uniques = pd.factorize(values.fillna(""), use_na_sentinel=False)
    return np.asarray(check(pd.Series(np.asarray(uniques, dtype=object), dtype=object)), dtype=bool)[codes]


def _without_denied(values: pd.Series) -> pd.Series:
    """The symptoms a list names without those it denies (无发热, 否认乏力), per distinct value."""
    codes, uniques = pd.factorize(values.fillna(""), use_na_sentinel=False)
    kept = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.replace(_NEGATED, "", regex=True)
    return pd.Series(kept.to_numpy(dtype=object)[codes], index=values.index, dtype=object)


def community_risk(counts: pd.DataFrame, policy: Policy) -> pd.Series:
    """Each community's risk level: the highest level any of whose thresholds its counts reach.

    `counts` has one row per community and one column per status the thresholds name (persons
    with that status living there); empty counts are 0."""
    levels = policy.risk_levels
    needed = sorted({status for level in levels for status in level.when_any})
    missing = [c for c in needed if c not in counts]
    if missing:
        raise ValueError(f"counts has no column {', '.join(missing)}; community_risk needs the number of "
                         "persons per status for every status the policy's community_risk thresholds name")
    chosen = np.full(len(counts), len(levels) - 1, dtype=np.int64)
    for i in range(len(levels) - 2, -1, -1):  # lower levels first, so a higher one overrides
        reached = np.zeros(len(counts), dtype=bool)
        for status, threshold in levels[i].when_any.items():
            reached |= pd.to_numeric(counts[status], errors="coerce").fillna(0).to_numpy() >= threshold
        chosen = np.where(reached, i, chosen)
    names = np.array([level.name for level in levels], dtype=object)
    return pd.Series(names[chosen], index=counts.index, dtype=object)


def after_discharge_measure(days_since_discharge: pd.Series, policy: Policy) -> pd.Series:
    """The measure of the after-discharge step a person is in, by whole days since discharge
    (day 0 = the discharge day); "" before discharge, once every step is over, or if unknown."""
    days = pd.to_numeric(days_since_discharge, errors="coerce")
    out = pd.Series("", index=days_since_discharge.index, dtype=object)
    start = 0.0
    for step in policy.after_discharge:
        end = start + step.days if step.days is not None else np.inf
        out[(days >= start) & (days < end)] = step.measure
        start = end
    return out
