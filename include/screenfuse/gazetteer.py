"""The district's gazetteer: street offices, their communities and roads, and address routing.

The shipped gazetteer is Wuchang district's 14 street offices with generated communities and
roads; a deployment points SCREENFUSE_GAZETTEER at its own CSV with the same columns
(street_code, street, community_code, community, roads separated by '|').
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from screenfuse.config import packaged_path

DISTRICT_LIST = "区级清单"  # push list for people whose address cannot be routed to a street
REQUIRED_COLUMNS = ("street_code", "street", "community_code", "community", "roads")


@dataclass(frozen=True)
class Gazetteer:
    communities: pd.DataFrame  # one row per community

    @property
    def streets(self) -> list[str]:
        return sorted(self.communities["street"].unique())

    def route(self, addresses: pd.Series) -> pd.DataFrame:
        """Normalized addresses → street and community ('' where the address does not say).

        A community name settles both; otherwise a road or a street name settles the street.
        """
        comm = self.communities
        by_community = dict(zip(comm["community"], comm["street"]))
        road_to_street = {
            road: street
            for street, roads in zip(comm["street"], comm["roads"])
            for road in roads.split("|")
            if road
        }
        street_names = {s: s for s in comm["street"]} | {s[:-1]: s for s in comm["street"]}
        community = _first_match(addresses, by_community)
        street = community.map(by_community).fillna("")
        by_road = _first_match(addresses, road_to_street).map(road_to_street).fillna("")
        by_name = _first_match(addresses, street_names).map(street_names).fillna("")
        street = street.where(street != "", by_road)
        street = street.where(street != "", by_name)
        return pd.DataFrame({"street": street, "community": community}, index=addresses.index)


def _first_match(addresses: pd.Series, names: dict[str, str]) -> pd.Series:
    """Longest name from `names` found in each address ('' if none)."""
    if not names:
        return pd.Series("", index=addresses.index)
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return addresses.fillna("").str.extract(f"({alternatives})", expand=False).fillna("")


def gazetteer_path() -> Path:
    return packaged_path("SCREENFUSE_GAZETTEER", "data/gazetteer.csv")


@lru_cache(maxsize=4)
def _load(path: str) -> Gazetteer:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"gazetteer {path}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED_COLUMNS)} (set SCREENFUSE_GAZETTEER to a fixed file)"
        )
    return Gazetteer(frame)


def load_gazetteer() -> Gazetteer:
    return _load(str(gazetteer_path()))
