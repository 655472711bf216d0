"""The loaded policy: frozen values every decision reads (the file's format is policy_schema.py).

Frozen, with read-only mappings, so a policy stays what was validated, and picklable, so Airflow
tasks can pass it on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from screenfuse.matching.strict_config import one_line
from screenfuse.policy_isolation import Isolation

NO_STATUS = "none"
CONDITIONS = ("temperature_at_least", "action_contains_any", "category_in", "nucleic_acid_in", "contact_link",
              "came_from_key_area", "screening_result_in", "pool_result_in", "result_overdue",
              "medicine_category_in", "symptoms_contain_any", "reported_as_in")
# the record fields beyond the canonical columns those conditions read (pharmacy and self_report
# contracts, in details_json): 药品类别, 症状, 申报类别
DETAIL_CONDITIONS = {"medicine_category_in": "medicine_category", "symptoms_contain_any": "symptoms",
                     "reported_as_in": "reported_as"}
SCREENING_RESULTS = ("阴性", "阳性", "待复核", "无效")  # what mass-screening results may be (the contracts' allowed)
# the record fields a status's days may count from (`counts_from`): the record's own time, or the
# date of the event it reports (返回日期 a canonical column; 末次接触日期, 出院日期 in details_json)
EVENT_DATE_FIELDS = ("event_time", "arrival_date", "last_contact_date", "discharged_on")
# the record fields a refinement arrival class reads (community/checkpoint contracts, in details_json):
# 出行目的/来沪事由 and 离开日期/拟离开日期 (seed 002 l.28: business travellers leave within 7 days)
PURPOSE_FIELD = "travel_purpose"
DEPARTURE_FIELD = "departure_date"


class PolicyError(ValueError):
    """A policy file is wrong; the message names the file, the key (dotted path) and the fix."""

    def __init__(self, source: str, key: str, problem: str):
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(one_line(f"policy {source}", key, problem))

    def __reduce__(self):  # rebuilt from its parts, not its message (a stage's child process sends it back)
        return type(self), (self.source, self.key, self.problem)


class _Frozen(dict):
    """A dict that refuses changes, so a loaded policy stays what was validated (and still pickles)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a loaded policy is read-only; change the policy file and load it again")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (_Frozen, (dict(self),))


@dataclass(frozen=True)
class Status:
    name: str
    label: str
    priority: int  # 1 = highest


@dataclass(frozen=True)
class Rule:
    status: str
    feeds: tuple[str, ...]  # empty: every feed
    when: Mapping[str, Any]  # condition → value; all must hold


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    days: int | None
    hours_to_act: float


@dataclass(frozen=True)
class VerifyFirst:
    statuses: tuple[str, ...]
    until_feed: str
    measure: str


@dataclass(frozen=True)
class LifecycleStep:
    label: str
    measure: str
    days: int | None  # None only for the last step: until a feedback closes it


@dataclass(frozen=True)
class Contacts:
    status: str  # the status of a close contact (close_contact)
    by_index_status: Mapping[str, str]  # the index case's status → the contact's measure


@dataclass(frozen=True)
class Release:
    status: str  # the status released (asymptomatic, close_contact)
    after_days: int  # the observation period, from the latest record giving the status
    negative_tests: int  # negative results after that record needed
    negative: tuple[Mapping[str, Any], ...]  # what counts as a negative result: any of these condition sets
    then: str  # the status from the release (released), for its measure's days
    waiting_measure: str | None  # the measure once the period is over without the negatives


@dataclass(frozen=True)
class Place:
    """A place of an arrival class, matched in `came_from`, on the list from `since` to `until`."""

    name: str
    spellings: tuple[str, ...]  # the name and its aliases: any of them contained in came_from matches
    since: date | None = None  # on the list from this day (None: always); judged on the arrival day
    until: date | None = None  # last day on the list (None: still on it)


@dataclass(frozen=True)
class ArrivalClass:
    """One of the arrival classes (seed 002 l.24): which arrivals it takes and the status they get.

    A place class has `places` (or `any_place`); a refinement class (`of`) takes arrivals already in
    one of the classes `of` whose travel purpose and planned departure say so (商务, leaving within
    `leaves_within_days` days of the arrival)."""

    name: str
    label: str
    status: str
    places: tuple[Place, ...] = ()
    any_place: bool = False
    of: tuple[str, ...] = ()
    purpose_contains: tuple[str, ...] = ()
    leaves_within_days: int | None = None

    @property
    def refines(self) -> bool:
        return bool(self.of)


@dataclass(frozen=True)
class Arrivals:
    """The arrival classes, checked in order (the first place class that matches takes the record)."""

    within_days: int | None  # the arrival at most this many days before the record (None: no limit)
    not_arrivals: tuple[str, ...]  # came_from values that are not a place (无, 本地, …): not an arrival
    classes: tuple[ArrivalClass, ...]

    @property
    def statuses(self) -> dict[str, str]:
        return {c.name: c.status for c in self.classes}


@dataclass(frozen=True)
class RiskLevel:
    name: str
    label: str
    meaning: str
    when_any: Mapping[str, int]  # status → persons living in the community (≥); empty: default level
    actions: tuple[str, ...]


@dataclass(frozen=True)
class ZeroReport:
    timezone: str
    deadline_hour: Mapping[str, int]  # feed → hour of the day (local time) by which each unit reports
    max_days_back: int = 7  # a run checks at most this many past days (a catch-up after a long pause)


@dataclass(frozen=True)
class Policy:
    """A validated policy file. Sequences are highest first; mappings are read-only."""

    version: str
    title: str
    statuses: tuple[Status, ...]
    key_areas: tuple[str, ...]
    key_area_days: int | None
    rules: tuple[Rule, ...]
    measure_specs: Mapping[str, Measure]
    measures: Mapping[str, str]  # status → measure name
    verify_first: VerifyFirst | None
    after_discharge: tuple[LifecycleStep, ...]
    community_actions: Mapping[str, str]  # action → label
    risk_levels: tuple[RiskLevel, ...]
    zero_report: ZeroReport
    expires: tuple[str, ...] = ()  # statuses that end on their own after their measure's days
    ends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # status → earlier statuses a later record of it ends
    terminal: tuple[str, ...] = ()  # statuses no later record changes (死亡); later records are flagged
    counts_from: Mapping[str, str] = field(default_factory=dict)  # status → record field its days count from
    timezone: str = "Asia/Shanghai"  # IANA zone of every time people read (push lists) and type (反馈时间)
    severity_field: str = ""  # the record field holding a case's severity (病情分型)
    severity_measures: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # status → severity → measure
    release: tuple[Release, ...] = ()  # statuses that end by a negative result after an observation period
    contacts: Contacts | None = None  # a close contact's measure by the index case's status
    arrivals: Arrivals | None = None  # the arrival classes (seed 002 l.24), judged on the arrival day
    city_lists: Any = None  # policy_city_lists.CityLists: the city's categories → statuses (seed 002 l.34)
    result_due_hours: float | None = None  # mass screening: a sample without a result this long after sampling is overdue
    isolation: Isolation | None = None  # isolation points: the daily check's deadline, what ends a stay
    retention_days: float | None = None  # personal data kept this long after a person's last measure ended (None: kept)
    source: str = field(default="", compare=False)  # where it was loaded from
    sha256: str = field(default="", compare=False)  # of the file, for an edit whose version was not bumped

    @property
    def status_priority(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.statuses)

    @property
    def status_rank(self) -> dict[str, int]:
        return {s.name: i for i, s in enumerate(self.statuses)}

    @property
    def status_labels(self) -> dict[str, str]:
        return {s.name: s.label for s in self.statuses}

    @property
    def measure_labels(self) -> dict[str, str]:
        return {m.name: m.label for m in self.measure_specs.values()}

    @property
    def hours_to_act(self) -> dict[str, float]:
        return {m.name: m.hours_to_act for m in self.measure_specs.values()}

    @property
    def expiry_days(self) -> dict[str, int]:
        """Status → days it lasts after the record that gave it (only the statuses in `expires`)."""
        return {s: self.measure_specs[self.measures[s]].days for s in self.expires}
