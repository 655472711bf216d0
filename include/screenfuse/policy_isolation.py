"""The policy's `isolation` section (集中隔离点): when a point's daily check of a person is due and
what ends a stay, as a pydantic model and the frozen values the pipeline reads.

Seed 000 l.35: the points keep "全天候医学跟踪观察" and a database of each person's daily state
("隔离者动态监测 ... 实时掌握隔离者身体状况"); seed 003 l.71: temperature twice a day ("两测"). A person
held at a point with no monitoring row for a day once that day's deadline has passed is a missed
check (漏报), pushed to the point's street in that hour (screenfuse.isolation). The fever or
symptoms seen in isolation are ordinary `rules` (feeds: [isolation_monitoring]).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from screenfuse.matching.strict_config import ConfigProblem, ListOf, StrictModel, Text, WholeNumber, choice


@dataclass(frozen=True)
class Isolation:
    feed: str  # the daily monitoring feed (its `unit` is the point)
    deadline_hour: int  # local hour (1–24) by which a day's row of each person held must be in
    ends_stay: tuple[str, ...]  # a row whose action (去向) contains one of these ends the stay
    not_expected_measures: tuple[str, ...]  # a person with one of these measures is no longer expected
    not_expected_statuses: tuple[str, ...]  # … nor one with one of these statuses
    missed_check_measure: str  # the measure of the push item for a missed check
    points_feed: str  # the reference feed listing the points (their street routes the item)


class IsolationSpec(StrictModel):
    feed: Text
    points_feed: Text
    deadline_hour: WholeNumber(1, 24, what="an hour of the day")
    ends_stay: ListOf(Text)
    missed_check_measure: Text
    not_expected_measures: ListOf(Any, allow_empty=True) = ()
    not_expected_statuses: ListOf(Any, allow_empty=True) = ()

    def check_names(self, feeds: Iterable[str], statuses: Iterable[str], measures: Iterable[str]) -> None:
        """Every feed, status and measure named is one the feeds and the policy define."""
        from screenfuse.contracts import load_contracts

        feeds = list(feeds)
        choice(self.feed, feeds, "feed", at="isolation.feed")
        contracts = load_contracts()  # the points list is no person feed: looked up among every contract
        choice(self.points_feed, list(contracts), "feed", at="isolation.points_feed")
        kind = contracts[self.points_feed].kind
        if kind != "reference":
            raise ConfigProblem(f"is '{self.points_feed}', a feed of kind {kind}; name the feed of kind reference "
                                "that lists the points (isolation_point)", at="isolation.points_feed")
        choice(self.missed_check_measure, list(measures), "measure", at="isolation.missed_check_measure")
        for i, measure in enumerate(self.not_expected_measures):
            choice(measure, list(measures), "measure", at=f"isolation.not_expected_measures[{i}]")
        for i, status in enumerate(self.not_expected_statuses):
            choice(status, list(statuses), "status", at=f"isolation.not_expected_statuses[{i}]")

    def to_isolation(self) -> Isolation:
        return Isolation(self.feed, self.deadline_hour, tuple(self.ends_stay), tuple(self.not_expected_measures),
                         tuple(self.not_expected_statuses), self.missed_check_measure, self.points_feed)
