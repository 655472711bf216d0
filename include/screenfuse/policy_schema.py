"""The policy file's format as pydantic models (every key is explained in docs/policy.md).

Each section checks its own values (types, ranges, the fix in the message); `PolicyFile` checks
what one section says about another (a rule's status, a measure, a feed) and builds the frozen
`Policy` the pipeline reads. To add a key: add a field here, then use it in `to_policy`.

A key that may be left out has the default None (or ()); written as `null` it is checked like any
other value, so an empty key is refused rather than taken for a missing one.
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationInfo, field_validator, model_validator

from screenfuse.matching.strict_config import (
    NAME, ConfigProblem, ListOf, NamedMapping, Number, OnlyTrue, StrictModel, Text, WholeNumber, choice, show,
)
from screenfuse.policy_arrivals import ArrivalsSpec, check_arrival_statuses
from screenfuse.policy_city_lists import CityListsSpec
from screenfuse.policy_isolation import IsolationSpec
from screenfuse.policy_risk_levels import RiskLevelSpec, checked_levels
from screenfuse.policy_types import (
    CONDITIONS, EVENT_DATE_FIELDS, NO_STATUS, SCREENING_RESULTS, Contacts, LifecycleStep, Release, Measure, Policy, RiskLevel, Rule, Status, VerifyFirst,
    ZeroReport, _Frozen,
)
from screenfuse.policy_zero_report import DEFAULT_TIMEZONE, ZeroReportSpec, known_zone  # noqa: F401  (re-exported)
from screenfuse.records import ORIGIN_COLUMNS



class StatusSpec(StrictModel):
    label: Text
    priority: WholeNumber(1, what="a whole number (1 = highest)")


class KeyAreasSpec(StrictModel):
    names: ListOf(Text, allow_empty=True)
    within_days: WholeNumber(0, what="a whole number of days", nullable=True) = None


class Conditions(StrictModel):
    """A rule's `when`: every condition given must hold."""

    temperature_at_least: Number(35.0, 42.0, "degrees Celsius (e.g. 37.3)") = None
    action_contains_any: ListOf(Text) = None
    category_in: ListOf(Text) = None
    nucleic_acid_in: ListOf(Text) = None
    contact_link: OnlyTrue = None
    came_from_key_area: OnlyTrue = None
    screening_result_in: ListOf(Any) = None
    pool_result_in: ListOf(Any) = None
    result_overdue: OnlyTrue = None
    medicine_category_in: ListOf(Text) = None  # pharmacy: 药品类别 (退烧, 止咳, 感冒, 抗病毒, 抗生素)
    symptoms_contain_any: ListOf(Text) = None  # 症状 (self_report, pharmacy) contains one of these
    reported_as_in: ListOf(Text) = None  # self_report: what the person reports themselves as (申报类别)

    @model_validator(mode="after")
    def _known_values(self) -> "Conditions":
        if not self.model_fields_set:
            raise ConfigProblem(f"has no condition; add at least one of {', '.join(CONDITIONS)}")
        for name in ("screening_result_in", "pool_result_in"):
            for i, value in enumerate(getattr(self, name) or ()):
                choice(value, SCREENING_RESULTS, "screening result", at=f"{name}[{i}]")
        return self

    def given(self) -> dict[str, Any]:
        """The conditions the file gives, as the rule evaluation reads them."""
        values = {name: getattr(self, name) for name in CONDITIONS if name in self.model_fields_set}
        if "temperature_at_least" in values:
            values["temperature_at_least"] = float(values["temperature_at_least"])
        return values


class RuleSpec(StrictModel):
    status: Any
    when: Conditions
    feeds: ListOf(Any) = ()


class MeasureSpec(StrictModel):
    label: Text
    hours_to_act: Number(0.25, 24 * 30, "hours")
    days: WholeNumber(1, what="a whole number of days", nullable=True) = None


class VerifyFirstSpec(StrictModel):
    statuses: ListOf(Any)
    until_feed: Any
    measure: Any


class StepSpec(StrictModel):
    label: Text
    measure: Any
    days: WholeNumber(1, what="a whole number of days", nullable=True, null_hint=" (or null on the last step)") = None


class SeveritySpec(StrictModel):
    """The measure a status needs by the case's severity (病情分型), read from the record `field`."""

    field: Text
    measures: NamedMapping(dict[Any, Any], "status")

    @field_validator("field")
    @classmethod
    def _field_name(cls, name: str) -> str:
        if not NAME.match(name):
            raise ConfigProblem(f"is '{name}', not a record field name; use the contract's field name (e.g. severity)")
        if name in ORIGIN_COLUMNS:  # fuse does not read them (stage_match.FUSED_COLUMNS)
            raise ConfigProblem(f"is '{name}', which says where a record came from, not a fact of it; "
                                "use the contract's field name (e.g. severity)")
        return name

    @field_validator("measures", mode="before")
    @classmethod
    def _severity_tables(cls, value: Any) -> Any:
        for status, table in (value.items() if isinstance(value, dict) else ()):
            if not isinstance(table, dict) or not table:
                raise ConfigProblem(f"is {show(table)}; expected a mapping of severity → measure "
                                    "(e.g. {轻型: transfer_mobile_cabin_hospital})", at=str(status))
            for severity in table:
                if not isinstance(severity, str) or not severity.strip():
                    raise ConfigProblem(f"is {show(severity)}; a severity is the text the hospital writes "
                                        "(轻型, 普通型, 重型, 危重型)", at=f"{status}.{severity}")
        return value


class ContactsSpec(StrictModel):
    """A close contact's measure by the status of their index case (密接对象)."""

    status: Any
    by_index_status: NamedMapping(Any, "status")


class ReleaseSpec(StrictModel):
    """When a status ends: its observation period is over and enough negative results came after it."""

    after_days: WholeNumber(1, what="a whole number of days")
    negative_tests: WholeNumber(1, what="a whole number of negative results")
    negative: ListOf(Conditions)
    then: Any
    waiting_measure: Any = None


class MassScreeningSpec(StrictModel):
    result_due_hours: Number(1, 24 * 14, "hours")


class RetentionSpec(StrictModel):
    days_after_last_measure: Number(1, 3650, "days")


class PolicyFile(StrictModel):
    """The whole file. Validate with context={"feeds": [...]}, the feed names rules may use."""

    version: Text
    statuses: NamedMapping(StatusSpec, "status")
    rules: ListOf(RuleSpec)
    measures: NamedMapping(MeasureSpec, "measure")
    status_measures: dict[Any, Any]
    after_discharge: ListOf(StepSpec)
    community_actions: NamedMapping(Text, "action")
    community_risk: ListOf(RiskLevelSpec)
    zero_report: ZeroReportSpec
    title: Text = None
    key_areas: KeyAreasSpec = None  # the older single list (rule condition came_from_key_area)
    arrivals: ArrivalsSpec = None  # the arrival classes (policy_arrivals.py)
    city_lists: CityListsSpec = None  # the city's lists: category → status (policy_city_lists.py)
    timezone: Text = None  # the local clock of every time people read and type (default Asia/Shanghai)
    verify_first: VerifyFirstSpec = None
    expires: ListOf(Any, allow_empty=True) = ()
    ends: NamedMapping(ListOf(Any), "status") = None
    terminal: ListOf(Any, allow_empty=True) = ()
    counts_from: NamedMapping(Any, "status") = None
    mass_screening: MassScreeningSpec = None
    retention: RetentionSpec = None  # how long personal data is kept (screenfuse.retention)
    severity: SeveritySpec = None
    contacts: ContactsSpec = None
    release: NamedMapping(ReleaseSpec, "status") = None
    isolation: IsolationSpec = None  # isolation points' daily checks (policy_isolation.py)

    _known_zone = field_validator("timezone")(known_zone)

    @property
    def local_timezone(self) -> str:
        """`timezone`, else `zero_report.timezone` (older policies), else Asia/Shanghai."""
        return self.timezone or self.zero_report.timezone or DEFAULT_TIMEZONE

    @field_validator("statuses")
    @classmethod
    def _priorities_in_order(cls, statuses: dict[str, StatusSpec]) -> dict[str, StatusSpec]:
        by_priority: dict[int, str] = {}
        for name, spec in statuses.items():
            if spec.priority in by_priority:
                raise ConfigProblem(f"is {spec.priority}, the same as statuses.{by_priority[spec.priority]}.priority; "
                                    "give each status its own priority (1 = highest)", at=f"{name}.priority")
            by_priority[spec.priority] = name
        if NO_STATUS not in statuses:
            raise ConfigProblem("is missing; every policy needs the status `none` (lowest priority), which a record "
                                "gets when no rule matches", at=NO_STATUS)
        lowest = by_priority[max(by_priority)]
        if lowest != NO_STATUS:
            raise ConfigProblem(f"is {statuses[NO_STATUS].priority}; `none` must have the lowest priority, a number "
                                f"above {max(by_priority)} (statuses.{lowest})", at=f"{NO_STATUS}.priority")
        return statuses

    @field_validator("status_measures", mode="before")
    @classmethod
    def _a_mapping(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ConfigProblem(f"is {show(value)}; expected a mapping of status → measure")
        return value

    @field_validator("after_discharge")
    @classmethod
    def _only_the_last_step_open(cls, steps: tuple[StepSpec, ...]) -> tuple[StepSpec, ...]:
        for i, step in enumerate(steps[:-1]):
            if step.days is None:
                raise ConfigProblem("is missing or empty; only the last step may omit days: add it "
                                    "(see docs/policy.md)", at=f"[{i}].days")
        return steps

    @field_validator("community_risk")
    @classmethod
    def _levels_then_a_default(cls, levels: tuple[RiskLevelSpec, ...]) -> tuple[RiskLevelSpec, ...]:
        return checked_levels(levels)

    @model_validator(mode="after")
    def _names_defined(self, info: ValidationInfo) -> "PolicyFile":
        """Every status, measure, feed and action a section names is one the file (or the feeds) defines."""
        feeds = list((info.context or {})["feeds"])
        statuses = list(self.statuses)
        findings = [s for s in statuses if s != NO_STATUS]  # statuses a rule can give
        measures = list(self.measures)
        for i, rule in enumerate(self.rules):
            choice(rule.status, findings, "status", at=f"rules[{i}].status")
            for j, feed in enumerate(rule.feeds):
                choice(feed, feeds, "feed", at=f"rules[{i}].feeds[{j}]")
            if rule.when.came_from_key_area and self.key_areas is None:
                raise ConfigProblem("needs the key_areas section (names, within_days); add it, or remove this rule and "
                                    "describe the arrivals under `arrivals` (see docs/policy.md)",
                                    at=f"rules[{i}].when.came_from_key_area")
        if self.arrivals is not None:
            check_arrival_statuses(self.arrivals, findings, self.status_measures)
        if self.city_lists is not None:
            self.city_lists.check(feeds, findings, self.status_measures)
        for status, measure in self.status_measures.items():
            choice(status, statuses, "status", at=f"status_measures.{status}", is_key=True)
            if status == NO_STATUS:
                raise ConfigProblem("cannot have a measure: `none` is every person without a finding; remove it",
                                    at=f"status_measures.{status}")
            if measure is not None:
                choice(measure, measures, "measure", at=f"status_measures.{status}")
        if self.verify_first is not None:
            for i, status in enumerate(self.verify_first.statuses):
                choice(status, statuses, "status", at=f"verify_first.statuses[{i}]")
            choice(self.verify_first.until_feed, feeds, "feed", at="verify_first.until_feed")
            choice(self.verify_first.measure, measures, "measure", at="verify_first.measure")
        for i, status in enumerate(self.expires):
            choice(status, findings, "status", at=f"expires[{i}]")
            measure = self.status_measures.get(status)
            if measure is None or self.measures[measure].days is None:
                raise ConfigProblem(f"is '{status}', whose measure ({measure or 'none'}) has no `days`; a status can "
                                    "only end on its own after its measure's days: give the measure days or remove "
                                    "the status here", at=f"expires[{i}]")
        for status, ended in (self.ends or {}).items():
            choice(status, findings, "status", at=f"ends.{status}", is_key=True)
            for i, other in enumerate(ended):
                choice(other, findings, "status", at=f"ends.{status}[{i}]")
                if other == status:
                    raise ConfigProblem("is the status itself; a later record of a status renews it, it does not "
                                        "end it: remove it from the list", at=f"ends.{status}[{i}]")
        for i, status in enumerate(self.terminal):
            choice(status, findings, "status", at=f"terminal[{i}]")
            if self.status_measures.get(status) is not None:
                raise ConfigProblem(f"is '{status}', which has a measure in status_measures; no measure is pushed for "
                                    "a terminal status: remove its status_measures entry", at=f"terminal[{i}]")
            if status in self.expires or any(status in ended for ended in (self.ends or {}).values()):
                raise ConfigProblem(f"is '{status}', which expires or which ends lists; a terminal status never "
                                    "ends: remove it there or here", at=f"terminal[{i}]")
        for status, field_name in (self.counts_from or {}).items():
            choice(status, findings, "status", at=f"counts_from.{status}", is_key=True)
            choice(field_name, EVENT_DATE_FIELDS, "record field", at=f"counts_from.{status}")
        for status, table in (self.severity.measures if self.severity is not None else {}).items():
            choice(status, findings, "status", at=f"severity.measures.{status}", is_key=True)
            if self.status_measures.get(status) is None:
                raise ConfigProblem(f"is '{status}', which has no measure in status_measures; severity only refines "
                                    "a status's own measure (the one an unknown severity gets): add "
                                    f"status_measures.{status} or remove it here", at=f"severity.measures.{status}")
            for severity, measure in table.items():
                choice(measure, measures, "measure", at=f"severity.measures.{status}.{severity}")
        for status, spec in (self.release or {}).items():
            at = f"release.{status}"
            choice(status, findings, "status", at=at, is_key=True)
            if status in self.expires:
                raise ConfigProblem(f"is '{status}', which is also in expires; a status ends either on its own after its "
                                    "days (expires) or by a release after negative results: remove it from one",
                                    at=at)
            choice(spec.then, findings, "status", at=f"{at}.then")
            then_measure = self.status_measures.get(spec.then)
            if spec.then == status or then_measure is None or self.measures[then_measure].days is None:
                raise ConfigProblem(f"is '{spec.then}'; a release leads to another status whose measure has days (how "
                                    "long it lasts after the release, e.g. released → health_monitoring)", at=f"{at}.then")
            if spec.waiting_measure is not None:
                choice(spec.waiting_measure, measures, "measure", at=f"{at}.waiting_measure")
        if self.contacts is not None:
            choice(self.contacts.status, findings, "status", at="contacts.status")
            if self.status_measures.get(self.contacts.status) is None:
                raise ConfigProblem(f"is '{self.contacts.status}', which has no measure in status_measures; the index "
                                    "case only refines the contact's own measure (the one an unknown index gets): "
                                    f"add status_measures.{self.contacts.status}", at="contacts.status")
            for status, measure in self.contacts.by_index_status.items():
                choice(status, findings, "status", at=f"contacts.by_index_status.{status}", is_key=True)
                choice(measure, measures, "measure", at=f"contacts.by_index_status.{status}")
        for i, step in enumerate(self.after_discharge):
            choice(step.measure, measures, "measure", at=f"after_discharge[{i}].measure")
        for i, level in enumerate(self.community_risk):
            for status in level.when_any or {}:
                choice(status, findings, "status", at=f"community_risk[{i}].when_any.{status}", is_key=True)
            for j, action in enumerate(level.actions):
                choice(action, self.community_actions, "action", at=f"community_risk[{i}].actions[{j}]")
        if self.timezone and self.zero_report.timezone and self.zero_report.timezone != self.timezone:
            raise ConfigProblem(f"is '{self.zero_report.timezone}' but timezone is '{self.timezone}'; a policy has one "
                                "local clock: remove zero_report.timezone", at="zero_report.timezone")
        self.zero_report.check_feeds(feeds)
        if self.isolation is not None:
            self.isolation.check_names(feeds, statuses, measures)
        for i, rule in enumerate(self.rules):
            if rule.when.result_overdue and self.mass_screening is None:
                raise ConfigProblem("needs mass_screening.result_due_hours (how many hours after sampling a result "
                                    "is overdue); add it (see docs/policy.md)", at=f"rules[{i}].when.result_overdue")
        return self

    def to_policy(self, source: str, sha256: str) -> Policy:
        """The frozen Policy the pipeline reads: statuses and levels highest first, mappings read-only."""
        statuses = sorted((Status(name, spec.label, spec.priority) for name, spec in self.statuses.items()),
                          key=lambda status: status.priority)
        return Policy(
            version=self.version,
            title=self.title if self.title is not None else self.version,
            statuses=tuple(statuses),
            key_areas=self.key_areas.names if self.key_areas is not None else (),
            key_area_days=self.key_areas.within_days if self.key_areas is not None else None,
            arrivals=self.arrivals.to_arrivals() if self.arrivals is not None else None,
            city_lists=self.city_lists.to_city_lists() if self.city_lists is not None else None,
            isolation=self.isolation.to_isolation() if self.isolation is not None else None,
            rules=tuple(Rule(rule.status, rule.feeds, _Frozen(rule.when.given())) for rule in self.rules),
            measure_specs=_Frozen({name: Measure(name, spec.label, spec.days, spec.hours_to_act)
                                   for name, spec in self.measures.items()}),
            measures=_Frozen({s: m for s, m in self.status_measures.items() if m is not None}),
            verify_first=VerifyFirst(self.verify_first.statuses, self.verify_first.until_feed,
                                     self.verify_first.measure) if self.verify_first is not None else None,
            after_discharge=tuple(LifecycleStep(step.label, step.measure, step.days) for step in self.after_discharge),
            community_actions=_Frozen(self.community_actions),
            risk_levels=tuple(RiskLevel(level.level, level.label, level.meaning or "", _Frozen(level.when_any or {}),
                                        level.actions) for level in self.community_risk),
            zero_report=ZeroReport(self.local_timezone, _Frozen(self.zero_report.deadline_hour),
                                   int(self.zero_report.max_days_back)),
            timezone=self.local_timezone,
            expires=self.expires,
            ends=_Frozen(self.ends or {}),
            terminal=self.terminal,
            counts_from=_Frozen(self.counts_from or {}),
            result_due_hours=float(self.mass_screening.result_due_hours) if self.mass_screening else None,
            retention_days=float(self.retention.days_after_last_measure) if self.retention else None,
            release=tuple(Release(status, spec.after_days, spec.negative_tests,
                                  tuple(_Frozen(when.given()) for when in spec.negative), spec.then,
                                  spec.waiting_measure) for status, spec in (self.release or {}).items()),
            contacts=Contacts(self.contacts.status, _Frozen(self.contacts.by_index_status))
            if self.contacts is not None else None,
            severity_field=self.severity.field if self.severity is not None else "",
            severity_measures=_Frozen({status: _Frozen({str(k).strip(): v for k, v in table.items()})
                                       for status, table in self.severity.measures.items()}) if self.severity else _Frozen(),
            source=source,
            sha256=sha256,
        )
