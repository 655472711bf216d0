"""Feed contracts: what each unit sends, declared in YAML (contracts/<feed>.yaml).

Adding a feed is adding a contract: file patterns, and for each canonical field its type, whether
it is required, the allowed values and the header aliases the units use (Chinese and English).
The file's format is the pydantic models below; a wrong file stops with one line naming the key
and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationInfo, field_validator, model_validator

from screenfuse.config import packaged_path
from screenfuse.matching.strict_config import (
    ConfigProblem, ListOf, ScalarText, StrictModel, Text, YesNo, checked, choice, one_line, read_yaml, show,
)

FEED_KINDS = ("persons", "answers", "results", "reference", "decisions")
# medicine_category: a pharmacy's 药品类别, read into 退烧/止咳/感冒/抗病毒/抗生素 (screenfuse.medicines)
FIELD_TYPES = ("text", "name", "id_number", "phone", "datetime", "date", "temperature", "address", "code",
               "medicine_category", "count")
# columns every staged row gets from the file itself: a contract field of the same name would clash
RESERVED_FIELDS = ("source_record_id", "batch_id", "feed", "file_name", "file_sha256", "row_number",
                   "details_json", "raw_json")
# what a feed of each kind must declare (kind results: lab results for samples, see mass_screening.py)
KIND_FIELDS = {"persons": ("name", "event_time", "unit"), "answers": ("event_time", "unit"),
               "results": ("event_time", "unit", "result", "sample_id", "pool_id"),
               "reference": ("unit", "event_time"),  # reference: a list of places (isolation_point)
               "decisions": ("event_time", "unit", "review_id", "decision")}  # the review desk's (review_desk.py)


class ContractError(ValueError):
    """A contract file is wrong; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FeedContract:
    feed: str
    title: str
    patterns: tuple[str, ...]
    fields: dict[str, FieldSpec]
    address_from: tuple[str, ...] = field(default=())
    kind: str = "persons"  # persons | answers (to push items) | results (lab results) | reference (places)
    #                        | decisions (on review items)

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.required]

    def _field_of_header(self) -> dict[str, str]:
        """Each name and alias (as `header_key` compares them) → its field; an alias two fields
        give is the first's."""
        lookup: dict[str, str] = {}
        for spec in self.fields.values():
            for alias in (spec.name, *spec.aliases):
                lookup.setdefault(header_key(alias), spec.name)
        return lookup

    def header_map(self, headers: list[str]) -> dict[str, str]:
        """Map the file's headers to canonical field names (first matching header wins)."""
        lookup = self._field_of_header()
        mapping: dict[str, str] = {}
        for header in headers:
            target = lookup.get(header_key(header))
            if target and target not in mapping.values():
                mapping[header] = target
        # then a header with a note in brackets (身份证号码（18位）, 联系电话(手机)) for a field no header
        # named exactly; not one whose note names someone else (联系电话(家属), 身份证号（监护人）)
        for header in headers:
            note = _HEADER_NOTE.search(str(header))
            if header in mapping or not note or _SOMEONE_ELSE.search(note.group(0)):
                continue
            target = lookup.get(header_key(_HEADER_NOTE.sub("", str(header))))
            if target and target not in mapping.values():
                mapping[header] = target
        return mapping


    def second_headers(self, headers: list[str], mapping: dict[str, str]) -> dict[str, list[str]]:
        """Headers naming a field another header already maps (`header_map`), by the field, in the
        file's order: 姓名 and 受检者姓名 in one sheet (rows pasted in from two templates). Exact
        names only, never a note in brackets (联系电话(家属) is someone else's)."""
        lookup, mapped = self._field_of_header(), set(mapping.values())
        seconds: dict[str, list[str]] = {}
        for header in headers:
            target = lookup.get(header_key(header))
            if header not in mapping and target in mapped:
                seconds.setdefault(target, []).append(header)
        return seconds


_HEADER_NOTE = re.compile(r"[(（][^)）]*[)）]")
_SOMEONE_ELSE = re.compile(r"父|母|家长|监护|户主|家属|亲属|联系人|代|配偶|子女|紧急")


@lru_cache(maxsize=4096)
def _header_key(header: str) -> str:
    from screenfuse.normalize import to_halfwidth

    text = to_halfwidth(pd.Series([header])).iloc[0]
    text = re.sub(r"[\s*＊]|[(（]必填[)）]", "", text)
    return text.casefold()


def header_key(header: str) -> str:
    """How headers are compared: half-width, no spaces or required-marks, case-folded (once per
    distinct header: every file of a layout repeats the same ones)."""
    return _header_key(str(header))


class _FieldFile(StrictModel):
    """One field of a contract file (see docs/feeds.md)."""

    type: Any
    required: YesNo = False
    aliases: ListOf(ScalarText, allow_empty=True) = ()
    allowed: ListOf(ScalarText, allow_empty=True) | None = None  # null or absent: any value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: Any) -> str:
        return choice(value, FIELD_TYPES, "field type")


class _ContractFile(StrictModel):
    """A contract file (contracts/<feed>.yaml). Validate with context={"file_name": <stem>}."""

    feed: Text
    patterns: ListOf(Text)
    fields: dict[str, _FieldFile]
    title: Text = None
    kind: Any = "persons"
    address_from: ListOf(Any, allow_empty=True) = ()

    @field_validator("fields", mode="before")
    @classmethod
    def _field_names(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ConfigProblem(f"is {show(value)}; expected a mapping of field names to specs (at least `type`)")
        for name in value:
            if name in RESERVED_FIELDS or str(name).startswith("_"):
                raise ConfigProblem("is a name the ingest sets itself; rename the field", at=str(name))
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> "_ContractFile":
        choice(self.kind, FEED_KINDS, "kind", at="kind")
        for needed in KIND_FIELDS[self.kind]:
            if needed not in self.fields:
                raise ConfigProblem(f"is missing; every feed of kind {self.kind} needs it", at=f"fields.{needed}")
        for i, part in enumerate(self.address_from):
            choice(part, self.fields, "field", at=f"address_from[{i}]")
        file_name = (info.context or {})["file_name"]
        if self.feed != file_name:
            raise ConfigProblem(f"is {show(self.feed)}; it must equal the file name '{file_name}'", at="feed")
        return self

    def to_contract(self) -> FeedContract:
        fields = {name: FieldSpec(name, spec.type, spec.required, spec.aliases, spec.allowed)
                  for name, spec in self.fields.items()}
        return FeedContract(feed=self.feed, title=self.title if self.title is not None else self.feed,
                            patterns=self.patterns, fields=fields, address_from=self.address_from, kind=self.kind)


def _parse(feed_file: Path) -> FeedContract:
    try:
        doc = read_yaml(feed_file.read_text(encoding="utf-8"))
        return checked(_ContractFile, doc, "docs/feeds.md", context={"file_name": feed_file.stem}).to_contract()
    except ConfigProblem as problem:
        raise ContractError(one_line(f"contract {feed_file}", problem.at, problem.problem)) from None


def contracts_dir() -> Path:
    return packaged_path("SCREENFUSE_CONTRACTS", "contracts")


def load_contracts(directory: Path | None = None) -> dict[str, FeedContract]:
    directory = directory or contracts_dir()
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ContractError(f"no feed contracts (*.yaml) in {directory}; set SCREENFUSE_CONTRACTS")
    return dict(_parsed(tuple((str(f), f.stat().st_mtime_ns) for f in files)))


@lru_cache(maxsize=16)
def _parsed(files: tuple[tuple[str, int], ...]) -> tuple[tuple[str, FeedContract], ...]:
    """Contracts parsed once per set of files and their modification times (a run asks often)."""
    return tuple((c.feed, c) for c in (_parse(Path(name)) for name, _ in files))


def result_feeds() -> list[str]:
    """The feeds whose rows are lab results for samples (kind results); they never enter matching."""
    return sorted(name for name, c in load_contracts().items() if c.kind == "results")


def reference_feeds() -> list[str]:
    """The feeds whose rows describe places, not persons (kind reference: the isolation points)."""
    return sorted(name for name, c in load_contracts().items() if c.kind == "reference")


def person_feeds() -> list[str]:
    """The feeds whose rows are person records (every feed but the answers to push items)."""
    return sorted(name for name, c in load_contracts().items() if c.kind == "persons")


def load_contract(feed: str) -> FeedContract:
    contracts = load_contracts()
    if feed not in contracts:
        raise ContractError(f"no contract for feed {feed!r}; known feeds: {', '.join(contracts)}")
    return contracts[feed]
