"""The policy's `city_lists` section (市下推重点人员) and the statuses it gives, as one concept.

Seed 002 l.34: the district pushes "市下推重点人员信息" (the city's lists of key persons) to the streets
"对重点人员进行精准排摸、及时管控". Each row of such a list names a category (密接, 境外来返 …) the city
chose; the policy maps each category, as written, to a status. A category the policy does not map is
still a person the city asked about: the row is accepted and gets `unknown` (a status whose measure
is a door-to-door check by default), so it is never dropped; v_city_list_categories lists the
categories and `screenfuse summary` names those the policy does not map.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from pydantic import field_validator

from screenfuse.matching.strict_config import ConfigProblem, StrictModel, Text, choice, show
from screenfuse.normalize import clean_text
from screenfuse.policy_types import _Frozen


@dataclass(frozen=True)
class CityLists:
    feed: str  # the feed of the city's lists (city_list)
    categories: Mapping[str, str]  # category as the city writes it (clean_text: half-width, trimmed) → status
    unknown: str | None  # the status of a row whose category is not mapped (None: no status)


class CityListsSpec(StrictModel):
    """`city_lists`: the feed, category → status, and the status of a category not listed."""

    feed: Text
    categories: dict[Any, Any]
    unknown: Any = None

    @field_validator("categories", mode="before")
    @classmethod
    def _some_categories(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ConfigProblem(f"is {show(value)}; expected a mapping of category (as the city writes it) → status, "
                                "e.g. {密接: close_contact}")
        for key in value:
            if not isinstance(key, str) or not key.strip():
                raise ConfigProblem(f"is {show(key)}; a category is the text of the list's 人员类别 column", at=str(key))
        return value

    def check(self, feeds: Iterable[str], findings: list[str], status_measures: dict) -> None:
        """The feed is a feed of person records; every status is one the file defines; `unknown`
        needs a measure (a row the city pushed is acted on)."""
        choice(self.feed, list(feeds), "feed", at="city_lists.feed")
        for category, status in self.categories.items():
            choice(status, findings, "status", at=f"city_lists.categories.{category}")
        if self.unknown is not None:
            choice(self.unknown, findings, "status", at="city_lists.unknown")
            if status_measures.get(self.unknown) is None:
                raise ConfigProblem(f"is '{self.unknown}', which has no measure in status_measures; a person the city "
                                    f"pushed down is checked (seed 002 l.34 精准排摸): add status_measures.{self.unknown}",
                                    at="city_lists.unknown")

    def to_city_lists(self) -> CityLists:
        return CityLists(self.feed, _Frozen({_category(k): v for k, v in self.categories.items()}), self.unknown)


def _category(text: str) -> str:
    return clean_text(pd.Series([text])).iloc[0]


def city_list_statuses(records: pd.DataFrame, city_lists: CityLists) -> pd.Series:
    """Each record's status from its city-list category ("" for records of other feeds, and for
    an unmapped category when the policy has no `unknown`)."""
    out = pd.Series("", index=records.index, dtype=object)
    if "feed" not in records or not len(records):
        return out
    mine = (records["feed"] == city_lists.feed).to_numpy()
    if not mine.any():
        return out
    category = records.loc[mine, "category"] if "category" in records else pd.Series("", index=records.index[mine])
    category = clean_text(category.fillna("").astype(str))
    mapped = category.map(dict(city_lists.categories))
    out[mine] = mapped.fillna(city_lists.unknown or "").to_numpy(dtype=object)
    return out


def unmapped_categories(categories: pd.Series, city_lists: CityLists | None) -> np.ndarray:
    """Which of the given categories (as stored) the policy does not map."""
    known = set(city_lists.categories) if city_lists is not None else set()
    cleaned = clean_text(categories.fillna("").astype(str))
    return (~cleaned.isin(known)).to_numpy()
