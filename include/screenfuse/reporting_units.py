"""Who must report daily (零报告): the expected units of each feed the policy's `zero_report` names.

A unit reports through one feed, its `unit_type` (checkpoint, police, hospital, ...: a feed whose
contract is of kind persons). The units are listed in `data/reporting_units.csv` (columns
unit_id, unit_type, unit_name, street; `SCREENFUSE_UNITS` points at another file); the units of
the `community` feed are the gazetteer's communities (unit_id = community_code), which the list
does not repeat. Which feeds are checked is the policy's choice (`zero_report.deadline_hour`), not
this module's: a feed added there, with its units listed here, is checked without code changes.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd

from screenfuse.config import ConfigError, packaged_path
from screenfuse.gazetteer import load_gazetteer

UNIT_COLUMNS = ["unit_id", "unit_type", "unit_name", "street"]
GAZETTEER_FEED = "community"  # its units are the gazetteer's communities


def units_path() -> Path:
    return packaged_path("SCREENFUSE_UNITS", "data/reporting_units.csv")


@lru_cache(maxsize=4)
def _listed(path: str, feeds: tuple[str, ...]) -> pd.DataFrame:
    """The units file, checked: every row names a known feed, an id and a name; ids are unique."""
    fix = "(fix the file, or set SCREENFUSE_UNITS to a fixed one)"
    try:
        listed = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"reporting units {path}: cannot be read ({exc.__class__.__name__}) {fix}") from None
    missing = [c for c in UNIT_COLUMNS if c not in listed.columns]
    if missing:
        raise ConfigError(f"reporting units {path}: missing column(s) {', '.join(missing)}; expected "
                          f"{', '.join(UNIT_COLUMNS)} {fix}")
    listed = listed[UNIT_COLUMNS].apply(lambda column: column.str.strip())
    line = pd.Series(range(2, len(listed) + 2), index=listed.index)  # the file's line numbers (header = 1)
    bad = listed[~listed["unit_type"].isin(feeds)]
    if len(bad):
        raise ConfigError(f"reporting units {path}, line {line[bad.index[0]]}: unit_type '{bad['unit_type'].iloc[0]}' "
                          f"is not a feed; the unit_type is the feed its daily file comes through, one of "
                          f"{', '.join(feeds)} {fix}")
    empty = listed[(listed["unit_id"] == "") | (listed["unit_name"] == "")]
    if len(empty):
        raise ConfigError(f"reporting units {path}, line {line[empty.index[0]]}: unit_id and unit_name are required "
                          f"{fix}")
    twice = listed[listed["unit_id"].duplicated()]
    if len(twice):
        raise ConfigError(f"reporting units {path}, line {line[twice.index[0]]}: unit_id '{twice['unit_id'].iloc[0]}' "
                          f"is listed twice; give each unit its own id {fix}")
    # the community feed's units are the gazetteer's: rows of the list for it are not read
    return listed[listed["unit_type"] != GAZETTEER_FEED].reset_index(drop=True)


def _person_feeds() -> tuple[str, ...]:
    from screenfuse.contracts import person_feeds

    return tuple(person_feeds())


def listed_units() -> pd.DataFrame:
    return _listed(str(units_path()), _person_feeds())


def feeds_with_units() -> set[str]:
    """The feeds that have at least one expected unit (the list's unit types, and community)."""
    return set(listed_units()["unit_type"]) | {GAZETTEER_FEED}


def expected_units(feeds: Iterable[str] | None = None) -> pd.DataFrame:
    """Every unit expected to report daily, of `feeds` (default: every feed with units): the
    listed units, and for the community feed every community of the gazetteer."""
    listed = listed_units()
    wanted = None if feeds is None else set(feeds)
    parts = [listed if wanted is None else listed[listed["unit_type"].isin(wanted)]]
    if wanted is None or GAZETTEER_FEED in wanted:
        comm = load_gazetteer().communities
        parts.append(pd.DataFrame({"unit_id": comm["community_code"], "unit_type": GAZETTEER_FEED,
                                   "unit_name": comm["community"], "street": comm["street"]}))
    return pd.concat(parts, ignore_index=True).drop_duplicates("unit_id")[UNIT_COLUMNS].reset_index(drop=True)
