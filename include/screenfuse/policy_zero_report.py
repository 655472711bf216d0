"""The policy's `zero_report` section (零报告) and its local clock, as pydantic models.

`zero_report.deadline_hour` names every feed whose units must report daily, with the local hour
by which they do; the units themselves are listed in `data/reporting_units.csv`
(screenfuse.reporting_units). A feed named here with no unit listed would be checked against
nobody, so it is refused with the fix.
"""
from __future__ import annotations

from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from screenfuse.matching.strict_config import ConfigProblem, StrictModel, Text, WholeNumber, choice, show

DEFAULT_TIMEZONE = "Asia/Shanghai"


def known_zone(timezone: str | None) -> str | None:
    """An IANA time zone name, else the problem and the fix."""
    if timezone is None:
        return None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigProblem(f"is '{timezone}', not a known time zone; use an IANA name such as "
                            f"{DEFAULT_TIMEZONE}") from None
    return timezone


class ZeroReportSpec(StrictModel):
    deadline_hour: dict[Any, WholeNumber(1, 24, what="an hour of the day")]
    # how many past days a run checks at most: a DAG triggered long after the last run checks the
    # last week, not every day since (project default; the seeds check each day as it ends)
    max_days_back: WholeNumber(1, 366, what="a number of days") = 7
    timezone: Text = None  # older policies named the local clock here; the top-level `timezone` now

    _known_zone = field_validator("timezone")(known_zone)

    @field_validator("deadline_hour", mode="before")
    @classmethod
    def _some_feeds(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ConfigProblem(f"is {show(value)}; expected a mapping of feed → hour (e.g. {{hospital: 16}})")
        return value

    def check_feeds(self, feeds: Iterable[str]) -> None:
        """Every feed named is a known feed and has units that must report."""
        from screenfuse.reporting_units import feeds_with_units, units_path

        for feed in self.deadline_hour:
            choice(feed, feeds, "feed", at=f"zero_report.deadline_hour.{feed}", is_key=True)
        with_units = feeds_with_units()
        for feed in self.deadline_hour:
            if feed not in with_units:
                raise ConfigProblem(
                    f"names a feed without reporting units: list the units of feed {feed} in {units_path().name} "
                    f"(unit_id, unit_type {feed}, unit_name, street; SCREENFUSE_UNITS names another file), "
                    f"or remove {feed} here", at=f"zero_report.deadline_hour.{feed}")
