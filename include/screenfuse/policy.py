"""Policy: which facts give which status, what each status needs, how fast, as a YAML file.

Policies changed every few weeks during the epidemic (which areas are key areas, how long
isolation lasts, how fast a transfer must happen), so the command centre edits a file instead of
code. The file is checked strictly when loaded: a typo must stop the run with a message naming
the key and the fix, never silently change who is isolated. The loaded `Policy` is frozen, and
its `version` is recorded with every decision made under it.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import yaml

POLICY_ENV = "SCREENFUSE_POLICY"
NO_STATUS = "none"
CONDITIONS = ("temperature_at_least", "action_contains_any", "category_in", "nucleic_acid_in", "contact_link",
              "came_from_key_area", "screening_result_in", "pool_result_in", "result_overdue")
SCREENING_RESULTS = ("阴性", "阳性", "待复核", "无效")  # what mass-screening results may be (the contracts' allowed)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_REQUIRED = ("version", "statuses", "key_areas", "rules", "measures", "status_measures",
                 "after_discharge", "community_actions", "community_risk", "zero_report")
_TOP_OPTIONAL = ("title", "verify_first", "expires", "ends", "mass_screening")


class PolicyError(ValueError):
    """A policy file is wrong; the message names the file, the key (dotted path) and the fix."""

    def __init__(self, source: str, key: str, problem: str):
        self.source = source
        self.key = key
        super().__init__(f"policy {source}: {key} {problem}" if key else f"policy {source}: {problem}")


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
    result_due_hours: float | None = None  # mass screening: a sample without a result this long after sampling is overdue
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


# ------------------------------------------------------------------------------------- loading

PACKAGED_SOURCE = "default.yaml (packaged)"


def load_policy(path: str | os.PathLike, feeds: Iterable[str] | None = None) -> Policy:
    """Read and validate a policy file. `feeds`: the feed names rules may use (default: the
    feeds whose contract is of kind persons)."""
    return parse_policy(_read_file(Path(path)), source=str(path), feeds=feeds)


def default_policy(feeds: Iterable[str] | None = None) -> Policy:
    """The policy shipped with the package (policies/default.yaml)."""
    return parse_policy(_packaged_text(), source=PACKAGED_SOURCE, feeds=feeds)


def configured_policy(feeds: Iterable[str] | None = None) -> Policy:
    """The policy a run uses: the file named by SCREENFUSE_POLICY, else the packaged default."""
    text, source = configured_policy_text()
    return parse_policy(text, source=source, feeds=feeds)


def configured_policy_text() -> tuple[str, str]:
    """The text of the policy a run uses and where it comes from, read once (a run keeps this
    text, so an edit made while it runs waits for the next run)."""
    path = os.environ.get(POLICY_ENV, "").strip()
    return (_read_file(Path(path)), path) if path else (_packaged_text(), PACKAGED_SOURCE)


def _packaged_text() -> str:
    return resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8")


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), "", f"cannot be read ({exc.strerror or exc}); check {POLICY_ENV}") from None


def parse_policy(text: str, source: str = "<text>", feeds: Iterable[str] | None = None) -> Policy:
    """Validate policy YAML text into a Policy."""
    if feeds is None:  # the feeds of person records (feedback answers items, it has no statuses)
        from screenfuse.contracts import person_feeds

        feeds = person_feeds()
    doc = _read_yaml(text, source)
    return _Reader(source, tuple(feeds)).policy(doc, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


def _read_yaml(text: str, source: str) -> Any:
    """Safe YAML, refusing a key given twice (PyYAML would silently keep the last one)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PolicyError(source, "", "is empty; start from include/screenfuse/policies/default.yaml")
        _check_duplicates(node, "", source, set())
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise PolicyError(source, "", f"is not valid YAML{where} ({problem}); fix the syntax") from None
    finally:
        loader.dispose()


def _check_duplicates(node: yaml.Node, path: str, source: str, visited: set[int]) -> None:
    if id(node) in visited:  # an alias to a node already checked
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            here = _join(path, key)
            if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                raise PolicyError(source, here, f"is given twice (lines {seen[key]} and "
                                  f"{key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line + 1
            _check_duplicates(value_node, here, source, visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicates(item, f"{path}[{i}]", source, visited)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    """A value and its YAML kind, for messages."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (yes/no)"
    if isinstance(value, (int, float)):
        return f"{value} (a number)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}' (text)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _closest(word: str, options: Iterable[str]) -> str:
    word, options = str(word), list(options)
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    match = match or [o for o in options if len(word) >= 3 and (o.startswith(word) or word.startswith(o))]
    return f" (did you mean '{match[0]}'?)" if match else ""


class _Reader:
    """Walks the parsed YAML, checking each key and building the frozen Policy."""

    def __init__(self, source: str, feeds: tuple[str, ...]):
        self.source = source
        self.feeds = feeds

    def fail(self, key: str, problem: str):
        raise PolicyError(self.source, key, problem)

    # -- shapes ---------------------------------------------------------------------------

    def mapping(self, node: Any, key: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> dict:
        allowed = (*required, *optional)
        if not isinstance(node, dict):
            self.fail(key, f"{'is' if key else 'the file is'} {_show(node)}; expected a mapping with keys "
                      f"{', '.join(allowed)}")
        for name in node:
            if name not in allowed:
                self.fail(_join(key, str(name)), f"is not a known key{_closest(name, allowed)}; "
                          f"allowed here: {', '.join(allowed)}")
        for name in required:
            if name not in node:
                self.fail(_join(key, name), "is missing; add it (see docs/policy.md)")
        return node

    def names(self, node: Any, key: str, what: str) -> dict:
        """A mapping whose keys are names the file defines (statuses, measures, ...)."""
        if not isinstance(node, dict) or not node:
            self.fail(key, f"is {_show(node)}; expected a mapping of {what} names")
        for name in node:
            if not isinstance(name, str) or not _NAME.match(name):
                self.fail(_join(key, str(name)), f"is not a valid {what} name; use lower-case letters, "
                          "digits and _ (e.g. close_contact)")
        return node

    def listing(self, node: Any, key: str, allow_empty: bool = False) -> list:
        if not isinstance(node, list) or (not node and not allow_empty):
            hint = f"; write it as a list: [{node}]" if isinstance(node, (str, int, float)) else ""
            self.fail(key, f"is {_show(node)}; expected a {'' if allow_empty else 'non-empty '}list{hint}")
        return node

    # -- scalars --------------------------------------------------------------------------

    def text(self, node: Any, key: str) -> str:
        if not isinstance(node, str) or not node.strip():
            hint = "; put it in quotes" if isinstance(node, (int, float, bool)) else ""
            self.fail(key, f"is {_show(node)}; expected non-empty text{hint}")
        return node.strip()

    def texts(self, node: Any, key: str, allow_empty: bool = False) -> tuple[str, ...]:
        return tuple(self.text(item, f"{key}[{i}]") for i, item in enumerate(self.listing(node, key, allow_empty)))

    def whole(self, node: Any, key: str, low: int, high: int | None = None, what: str = "a whole number",
              allow_null: bool = False) -> int | None:
        if node is None and allow_null:
            return None
        bad = isinstance(node, bool) or not isinstance(node, int) or node < low or (high is not None and node > high)
        if bad:
            limits = f"from {low} to {high}" if high is not None else f"≥ {low}"
            null = " (or null)" if allow_null else ""
            self.fail(key, f"is {_show(node)}; expected {what} {limits}{null}")
        return node

    def number(self, node: Any, key: str, low: float, high: float, what: str) -> float:
        if isinstance(node, bool) or not isinstance(node, (int, float)) or not low <= node <= high:
            self.fail(key, f"is {_show(node)}; expected {what} from {low} to {high}")
        return node

    def choice(self, node: Any, key: str, options: Iterable[str], what: str) -> str:
        options = list(options)
        if not isinstance(node, str) or node not in options:
            self.fail(key, f"is {_show(node)}, not a known {what}{_closest(node, options)}; "
                      f"known {what}s: {', '.join(options)}")
        return node

    def yes(self, node: Any, key: str) -> bool:
        if node is not True:
            self.fail(key, f"is {_show(node)}; only `true` is meaningful here (remove the condition to drop it)")
        return True

    # -- sections -------------------------------------------------------------------------

    def policy(self, doc: Any, sha256: str) -> Policy:
        doc = self.mapping(doc, "", _TOP_REQUIRED, _TOP_OPTIONAL)
        version = self.text(doc["version"], "version")
        title = self.text(doc["title"], "title") if "title" in doc else version
        self.statuses = self.read_statuses(doc["statuses"])
        key_areas, key_area_days = self.read_key_areas(doc["key_areas"])
        rules = tuple(self.read_rule(item, f"rules[{i}]") for i, item in enumerate(self.listing(doc["rules"], "rules")))
        self.measure_specs = self.read_measures(doc["measures"])
        measures = self.read_status_measures(doc["status_measures"])
        verify_first = self.read_verify_first(doc["verify_first"]) if "verify_first" in doc else None
        expires = self.read_expires(doc["expires"], measures) if "expires" in doc else ()
        ends = self.read_ends(doc["ends"]) if "ends" in doc else _Frozen({})
        after_discharge = self.read_after_discharge(doc["after_discharge"])
        actions = self.names(doc["community_actions"], "community_actions", "action")
        community_actions = _Frozen({n: self.text(v, f"community_actions.{n}") for n, v in actions.items()})
        risk_levels = self.read_risk_levels(doc["community_risk"], community_actions)
        zero_report = self.read_zero_report(doc["zero_report"])
        due = self.read_mass_screening(doc["mass_screening"]) if "mass_screening" in doc else None
        for i, rule in enumerate(rules):
            if "result_overdue" in rule.when and due is None:
                self.fail(f"rules[{i}].when.result_overdue", "needs mass_screening.result_due_hours (how many hours "
                          "after sampling a result is overdue); add it (see docs/policy.md)")
        return Policy(
            version=version, title=title, statuses=self.statuses, key_areas=key_areas, key_area_days=key_area_days,
            rules=rules, measure_specs=self.measure_specs, measures=measures, verify_first=verify_first,
            after_discharge=after_discharge, community_actions=community_actions, risk_levels=risk_levels,
            zero_report=zero_report, expires=expires, ends=ends, result_due_hours=due, source=self.source,
            sha256=sha256,
        )

    @property
    def status_names(self) -> list[str]:
        return [s.name for s in self.statuses]

    def read_statuses(self, node: Any) -> tuple[Status, ...]:
        statuses, by_priority = [], {}
        for name, spec in self.names(node, "statuses", "status").items():
            key = f"statuses.{name}"
            self.mapping(spec, key, ("label", "priority"))
            priority = self.whole(spec["priority"], f"{key}.priority", 1, what="a whole number (1 = highest)")
            if priority in by_priority:
                self.fail(f"{key}.priority", f"is {priority}, the same as statuses.{by_priority[priority]}.priority; "
                          "give each status its own priority (1 = highest)")
            by_priority[priority] = name
            statuses.append(Status(name, self.text(spec["label"], f"{key}.label"), priority))
        statuses.sort(key=lambda s: s.priority)
        if NO_STATUS not in by_priority.values():
            self.fail(f"statuses.{NO_STATUS}", "is missing; every policy needs the status `none` (lowest priority), "
                      "which a record gets when no rule matches")
        if statuses[-1].name != NO_STATUS:
            none = next(s for s in statuses if s.name == NO_STATUS)
            self.fail(f"statuses.{NO_STATUS}.priority", f"is {none.priority}; `none` must have the lowest priority, "
                      f"a number above {statuses[-1].priority} (statuses.{statuses[-1].name})")
        return tuple(statuses)

    def read_key_areas(self, node: Any) -> tuple[tuple[str, ...], int | None]:
        self.mapping(node, "key_areas", ("names",), ("within_days",))
        names = self.texts(node["names"], "key_areas.names", allow_empty=True)
        days = self.whole(node.get("within_days"), "key_areas.within_days", 0, what="a whole number of days",
                          allow_null=True)
        return names, days

    def read_rule(self, node: Any, key: str) -> Rule:
        self.mapping(node, key, ("status", "when"), ("feeds",))
        rule_statuses = [s for s in self.status_names if s != NO_STATUS]
        status = self.choice(node["status"], f"{key}.status", rule_statuses, "status")
        feeds: tuple[str, ...] = ()
        if "feeds" in node:
            items = self.listing(node["feeds"], f"{key}.feeds")
            feeds = tuple(self.choice(f, f"{key}.feeds[{i}]", self.feeds, "feed") for i, f in enumerate(items))
        when = self.mapping(node["when"], f"{key}.when", (), CONDITIONS)
        if not when:
            self.fail(f"{key}.when", f"has no condition; add at least one of {', '.join(CONDITIONS)}")
        conditions: dict[str, Any] = {}
        for name, value in when.items():
            here = f"{key}.when.{name}"
            if name == "temperature_at_least":
                conditions[name] = float(self.number(value, here, 35.0, 42.0, "degrees Celsius (e.g. 37.3)"))
            elif name in ("action_contains_any", "category_in", "nucleic_acid_in"):
                conditions[name] = self.texts(value, here)
            elif name in ("screening_result_in", "pool_result_in"):
                conditions[name] = tuple(self.choice(v, f"{here}[{j}]", SCREENING_RESULTS, "screening result")
                                         for j, v in enumerate(self.listing(value, here)))
            else:  # contact_link, came_from_key_area, result_overdue
                conditions[name] = self.yes(value, here)
        return Rule(status=status, feeds=feeds, when=_Frozen(conditions))

    def read_measures(self, node: Any) -> Mapping[str, Measure]:
        measures = {}
        for name, spec in self.names(node, "measures", "measure").items():
            key = f"measures.{name}"
            self.mapping(spec, key, ("label", "hours_to_act"), ("days",))
            days = self.whole(spec.get("days"), f"{key}.days", 1, what="a whole number of days", allow_null=True)
            hours = self.number(spec["hours_to_act"], f"{key}.hours_to_act", 0.25, 24 * 30, "hours")
            measures[name] = Measure(name, self.text(spec["label"], f"{key}.label"), days, hours)
        return _Frozen(measures)

    def read_status_measures(self, node: Any) -> Mapping[str, str]:
        if not isinstance(node, dict):
            self.fail("status_measures", f"is {_show(node)}; expected a mapping of status → measure")
        out = {}
        for status, measure in node.items():
            key = f"status_measures.{status}"
            if status not in self.status_names:
                self.fail(key, f"is not a known status{_closest(status, self.status_names)}; "
                          f"known statuses: {', '.join(self.status_names)}")
            if status == NO_STATUS:
                self.fail(key, "cannot have a measure: `none` is every person without a finding; remove it")
            if measure is not None:
                out[status] = self.choice(measure, key, self.measure_specs, "measure")
        return _Frozen(out)

    def read_verify_first(self, node: Any) -> VerifyFirst:
        self.mapping(node, "verify_first", ("statuses", "until_feed", "measure"))
        items = self.listing(node["statuses"], "verify_first.statuses")
        statuses = tuple(self.choice(s, f"verify_first.statuses[{i}]", self.status_names, "status")
                         for i, s in enumerate(items))
        until_feed = self.choice(node["until_feed"], "verify_first.until_feed", self.feeds, "feed")
        measure = self.choice(node["measure"], "verify_first.measure", self.measure_specs, "measure")
        return VerifyFirst(statuses, until_feed, measure)

    def read_expires(self, node: Any, measures: Mapping[str, str]) -> tuple[str, ...]:
        items = self.listing(node, "expires", allow_empty=True)
        out = []
        for i, status in enumerate(items):
            key = f"expires[{i}]"
            self.choice(status, key, [s for s in self.status_names if s != NO_STATUS], "status")
            measure = measures.get(status)
            if measure is None or self.measure_specs[measure].days is None:
                self.fail(key, f"is '{status}', whose measure ({measure or 'none'}) has no `days`; a status can only "
                          "end on its own after its measure's days: give the measure days or remove the status here")
            out.append(status)
        return tuple(out)

    def read_ends(self, node: Any) -> Mapping[str, tuple[str, ...]]:
        statuses = [s for s in self.status_names if s != NO_STATUS]
        out = {}
        for status, ended in self.names(node, "ends", "status").items():
            self.choice(status, f"ends.{status}", statuses, "status")
            items = self.listing(ended, f"ends.{status}")
            for i, other in enumerate(items):
                self.choice(other, f"ends.{status}[{i}]", statuses, "status")
                if other == status:
                    self.fail(f"ends.{status}[{i}]", "is the status itself; a later record of a status renews it, "
                              "it does not end it: remove it from the list")
            out[status] = tuple(items)
        return _Frozen(out)

    def read_after_discharge(self, node: Any) -> tuple[LifecycleStep, ...]:
        items = self.listing(node, "after_discharge")
        steps = []
        for i, spec in enumerate(items):
            key = f"after_discharge[{i}]"
            last = i == len(items) - 1
            self.mapping(spec, key, ("label", "measure") if last else ("label", "measure", "days"),
                         ("days",) if last else ())
            days = self.whole(spec.get("days"), f"{key}.days", 1, what="a whole number of days", allow_null=last)
            measure = self.choice(spec["measure"], f"{key}.measure", self.measure_specs, "measure")
            steps.append(LifecycleStep(self.text(spec["label"], f"{key}.label"), measure, days))
        return tuple(steps)

    def read_risk_levels(self, node: Any, actions: Mapping[str, str]) -> tuple[RiskLevel, ...]:
        items = self.listing(node, "community_risk")
        levels, seen = [], set()
        for i, spec in enumerate(items):
            key = f"community_risk[{i}]"
            last = i == len(items) - 1
            if last:
                self.mapping(spec, key, ("level", "label", "actions"), ("meaning", "when_any"))
            else:
                self.mapping(spec, key, ("level", "label", "when_any", "actions"), ("meaning",))
            name = self.text(spec["level"], f"{key}.level")
            if not _NAME.match(name):
                self.fail(f"{key}.level", "is not a valid level name; use lower-case letters, digits and _")
            if name in seen:
                self.fail(f"{key}.level", f"is '{name}' again; give each level its own name")
            seen.add(name)
            when_any: dict[str, int] = {}
            if last and spec.get("when_any"):
                self.fail(f"{key}.when_any", "is set on the last level, which is the default (it applies when no "
                          "other level does); remove it, or add a lower level after this one")
            if not last:
                thresholds = spec["when_any"]
                if not isinstance(thresholds, dict) or not thresholds:
                    self.fail(f"{key}.when_any", f"is {_show(thresholds)}; expected a mapping of status → "
                              "number of persons (e.g. {confirmed: 1})")
                for status, count in thresholds.items():
                    here = f"{key}.when_any.{status}"
                    self.choice(status, here, [s for s in self.status_names if s != NO_STATUS], "status")
                    when_any[status] = self.whole(count, here, 1, what="a number of persons")
            level_actions = tuple(self.choice(a, f"{key}.actions[{j}]", actions, "action")
                                  for j, a in enumerate(self.listing(spec["actions"], f"{key}.actions")))
            meaning = self.text(spec["meaning"], f"{key}.meaning") if "meaning" in spec else ""
            levels.append(RiskLevel(name, self.text(spec["label"], f"{key}.label"), meaning,
                                    _Frozen(when_any), level_actions))
        return tuple(levels)

    def read_mass_screening(self, node: Any) -> float:
        self.mapping(node, "mass_screening", ("result_due_hours",))
        return float(self.number(node["result_due_hours"], "mass_screening.result_due_hours", 1, 24 * 14, "hours"))

    def read_zero_report(self, node: Any) -> ZeroReport:
        self.mapping(node, "zero_report", ("timezone", "deadline_hour"))
        timezone = self.text(node["timezone"], "zero_report.timezone")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail("zero_report.timezone", f"is '{timezone}', not a known time zone; use an IANA name such as "
                      "Asia/Shanghai")
        hours = node["deadline_hour"]
        if not isinstance(hours, dict) or not hours:
            self.fail("zero_report.deadline_hour", f"is {_show(hours)}; expected a mapping of feed → hour "
                      "(e.g. {hospital: 16})")
        deadline = {self.choice(feed, f"zero_report.deadline_hour.{feed}", self.feeds, "feed"):
                    self.whole(hour, f"zero_report.deadline_hour.{feed}", 1, 24, what="an hour of the day")
                    for feed, hour in hours.items()}
        return ZeroReport(timezone, _Frozen(deadline))


# ---------------------------------------------------------------------------------- evaluation

def record_status(records: pd.DataFrame, policy: Policy) -> pd.Series:
    """What each source record on its own says about the person: the highest-priority status any
    rule gives it, else "none". Reads feed, temperature, category, action, contact_of_name,
    contact_of_id, came_from, arrival_date and event_time, and for mass-screening samples the
    joined outcome (screening_result, screening_scope, hours_waited: `mass_screening.attach_outcomes`);
    a missing column counts as empty."""
    facts = _Facts(records, policy)
    rank = policy.status_rank
    best = np.full(len(records), rank[NO_STATUS], dtype=np.int64)
    for rule in policy.rules:
        hit = facts.from_feeds(rule.feeds)
        for condition, value in rule.when.items():
            hit = hit & facts.holds(condition, value)
        best = np.where(hit, np.minimum(best, rank[rule.status]), best)
    names = np.array(policy.status_priority, dtype=object)
    return pd.Series(names[best], index=records.index, dtype=object)


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


def _contains_any(values: pd.Series, needles: Iterable[str]) -> np.ndarray:
    needles = [n for n in needles if n]
    if not needles:
        return np.zeros(len(values), dtype=bool)
    pattern = "|".join(re.escape(n) for n in needles)
    return values.str.contains(pattern, regex=True).to_numpy(dtype=bool)


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
