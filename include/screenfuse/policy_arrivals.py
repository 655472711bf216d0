"""The policy's `arrivals` section as pydantic models: the arrival classes of seed 002 l.24.

Seed 002 l.24 sorts arrivals into classes (重点国家 / 非重点国家入境, 重点地区 / 重点关注地区 / 国内其他地区
来沪返沪), each with its own measure and window; l.26 dates the key-country list ("从3月20日零点起,
新增澳大利亚、马来西亚等8国作为重点国家"); l.28 gives business travellers from key countries their own
measure. Each class names its places (with aliases, e.g. the traditional spelling) and when each
place is on the list; a record is judged by the lists in force on its arrival day. What a class's
status then needs is `status_measures`, as for every status; `PolicyFile` checks the names.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from screenfuse.matching.strict_config import (
    ConfigProblem, ListOf, NamedMapping, OnlyTrue, StrictModel, Text, WholeNumber, choice, show,
)
from screenfuse.policy_types import ArrivalClass, Arrivals, Place


def _check_day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigProblem(f"is {show(value)}; expected a day as YYYY-MM-DD (e.g. 2020-03-20), or remove the key")


Day = Annotated[date | None, BeforeValidator(_check_day)]


class PlaceSpec(StrictModel):
    """A place of a class: its name, other spellings, and the days it is on the list."""

    name: Text
    aliases: ListOf(Text, allow_empty=True) = ()
    since: Day = Field(None, alias="from")
    until: Day = None

    @model_validator(mode="after")
    def _in_order(self) -> "PlaceSpec":
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ConfigProblem(f"is {self.until}, before from ({self.since}); a place is on the list from `from` "
                                "to `until` (both included): swap them or fix the day", at="until")
        return self


class ArrivalClassSpec(StrictModel):
    """One class: `places` (or `any_place: true`), or a refinement of other classes (`of`)."""

    label: Text
    status: Any
    places: ListOf(PlaceSpec, allow_empty=True) = None
    any_place: OnlyTrue = None
    of: ListOf(Any) = None
    purpose_contains: ListOf(Text) = None
    leaves_within_days: WholeNumber(0, what="a whole number of days") = None

    @field_validator("places", mode="before")
    @classmethod
    def _names_alone(cls, value: Any) -> Any:
        """A place may be written as its name alone (湖北) when it has no alias and no dates."""
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> "ArrivalClassSpec":
        kinds = [k for k in ("places", "any_place", "of") if k in self.model_fields_set]
        if len(kinds) != 1:
            given = f"has {' and '.join(kinds)}" if kinds else "has none of places, any_place, of"
            raise ConfigProblem(f"{given}; give exactly one: `places` (the places of the class), `any_place: true` "
                                "(every other arrival) or `of` (a refinement of other classes)")
        refinement = {"purpose_contains", "leaves_within_days"} & self.model_fields_set
        if self.of is not None and not refinement:
            raise ConfigProblem("needs purpose_contains or leaves_within_days (what sets the refinement apart), "
                                "e.g. purpose_contains: [商务], leaves_within_days: 7", at="of")
        if self.of is None and refinement:
            key = sorted(refinement)[0]
            raise ConfigProblem("only applies to a refinement class; add `of: [key_country]` (the classes it "
                                "refines) or remove it", at=key)
        return self

    def to_class(self, name: str) -> ArrivalClass:
        return ArrivalClass(
            name=name, label=self.label, status=self.status,
            places=tuple(Place(p.name, tuple(dict.fromkeys((p.name, *p.aliases))), p.since, p.until)
                         for p in self.places or ()),
            any_place=bool(self.any_place), of=tuple(self.of or ()),
            purpose_contains=tuple(self.purpose_contains or ()), leaves_within_days=self.leaves_within_days)


class ArrivalsSpec(StrictModel):
    """`arrivals`: the classes in the order they are checked, the window and what is no place."""

    classes: NamedMapping(ArrivalClassSpec, "class")
    within_days: WholeNumber(0, what="a whole number of days", nullable=True) = None
    not_arrivals: ListOf(Text, allow_empty=True) = ()

    @model_validator(mode="after")
    def _order(self) -> "ArrivalsSpec":
        names = list(self.classes)
        catch_all = None
        for name, spec in self.classes.items():
            if spec.of is None:
                if catch_all is not None:
                    raise ConfigProblem(f"comes after `{catch_all}`, which takes every arrival (any_place: true), so "
                                        f"it never matches; move it before {catch_all}", at=f"classes.{name}")
                if spec.any_place:
                    catch_all = name
                continue
            for i, other in enumerate(spec.of):
                if not isinstance(other, str) or other not in names or self.classes[other].of is not None:
                    places = [n for n in names if self.classes[n].of is None]
                    raise ConfigProblem(f"is {show(other)}, not a class with places; known: {', '.join(places)}",
                                        at=f"classes.{name}.of[{i}]")
        return self

    def to_arrivals(self) -> Arrivals:
        return Arrivals(self.within_days, self.not_arrivals,
                        tuple(spec.to_class(name) for name, spec in self.classes.items()))


def check_arrival_statuses(arrivals: ArrivalsSpec, findings: list[str], status_measures: dict) -> None:
    """Each class's status is a status of the file with a measure (what the class needs)."""
    for name, spec in arrivals.classes.items():
        at = f"arrivals.classes.{name}.status"
        choice(spec.status, findings, "status", at=at)
        if status_measures.get(spec.status) is None:
            raise ConfigProblem(f"is '{spec.status}', which has no measure in status_measures; an arrival class "
                                f"needs its measure (seed 002 l.24): add status_measures.{spec.status}", at=at)
