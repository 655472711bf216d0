"""The policy's community risk levels (社区风险等级): each level's thresholds, the last one the
default that applies when no other does."""
from __future__ import annotations

from typing import Any

from pydantic import field_validator

from screenfuse.matching.strict_config import NAME, ConfigProblem, ListOf, StrictModel, Text, WholeNumber, show

THRESHOLDS_WANTED = "expected a mapping of status → number of persons (e.g. {confirmed: 1})"


class RiskLevelSpec(StrictModel):
    level: Text
    label: Text
    when_any: dict[Any, WholeNumber(1, what="a number of persons")] = None
    actions: ListOf(Any)
    meaning: Text = None

    @field_validator("level")
    @classmethod
    def _level_name(cls, name: str) -> str:
        if not NAME.match(name):
            raise ConfigProblem("is not a valid level name; use lower-case letters, digits and _")
        return name

    @field_validator("when_any", mode="before")
    @classmethod
    def _thresholds_mapping(cls, value: Any) -> Any:
        if value is None:  # the default level may leave it empty
            return {}
        if not isinstance(value, dict):
            raise ConfigProblem(f"is {show(value)}; {THRESHOLDS_WANTED}")
        return value


def checked_levels(levels: tuple[RiskLevelSpec, ...]) -> tuple[RiskLevelSpec, ...]:
    """Each level named once; every level but the last has thresholds, the last (the default) none."""
    seen: set[str] = set()
    for i, level in enumerate(levels):
        if level.level in seen:
            raise ConfigProblem(f"is '{level.level}' again; give each level its own name", at=f"[{i}].level")
        seen.add(level.level)
        last = i == len(levels) - 1
        if last and level.when_any:
            raise ConfigProblem("is set on the last level, which is the default (it applies when no other level "
                                "does); remove it, or add a lower level after this one", at=f"[{i}].when_any")
        if not last and "when_any" not in level.model_fields_set:
            raise ConfigProblem("is missing; add it (see docs/policy.md)", at=f"[{i}].when_any")
        if not last and not level.when_any:
            raise ConfigProblem(f"is an empty mapping; {THRESHOLDS_WANTED}", at=f"[{i}].when_any")
    return levels
