"""Feed contracts: what each unit sends, declared in YAML (contracts/<feed>.yaml).

Adding a feed is adding a contract: file patterns, and for each canonical field its type, whether
it is required, the allowed values and the header aliases the units use (Chinese and English).
"""
from __future__ import annotations

from functools import lru_cache

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from screenfuse.config import packaged_path
import yaml

FEED_KINDS = ("persons", "answers", "results")
FIELD_TYPES = ("text", "name", "id_number", "phone", "datetime", "date", "temperature", "address", "code")
# columns every staged row gets from the file itself: a contract field of the same name would clash
RESERVED_FIELDS = ("source_record_id", "batch_id", "feed", "file_name", "file_sha256", "row_number",
                   "details_json", "raw_json")
# what a feed of each kind must declare (kind results: lab results for samples, see mass_screening.py)
KIND_FIELDS = {"persons": ("name", "event_time", "unit"), "answers": ("event_time", "unit"),
               "results": ("event_time", "unit", "result", "sample_id", "pool_id")}


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
    kind: str = "persons"  # persons: person records | answers: answers to push items | results: lab results

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.required]

    def header_map(self, headers: list[str]) -> dict[str, str]:
        """Map the file's headers to canonical field names (first matching header wins)."""
        lookup: dict[str, str] = {}
        for spec in self.fields.values():
            for alias in (spec.name, *spec.aliases):
                lookup.setdefault(header_key(alias), spec.name)
        mapping: dict[str, str] = {}
        for header in headers:
            target = lookup.get(header_key(header))
            if target and target not in mapping.values():
                mapping[header] = target
        return mapping


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


def _parse(feed_file: Path) -> FeedContract:
    where = f"contract {feed_file}"
    try:
        doc = yaml.safe_load(feed_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{where}: not valid YAML ({exc.__class__.__name__}); fix the syntax") from None
    if not isinstance(doc, dict):
        raise ContractError(f"{where}: expected a mapping with keys feed, patterns, fields")
    for key in ("feed", "patterns", "fields"):
        if key not in doc:
            raise ContractError(f"{where}: missing key '{key}'; add it (see docs/feeds.md)")
    if not isinstance(doc["fields"], dict) or not doc["fields"]:
        raise ContractError(f"{where}: 'fields' must map field names to specs")
    fields: dict[str, FieldSpec] = {}
    for name, spec in doc["fields"].items():
        if name in RESERVED_FIELDS or str(name).startswith("_"):
            raise ContractError(f"{where}: fields.{name} is a name the ingest sets itself; rename the field")
        if not isinstance(spec, dict):
            raise ContractError(f"{where}: fields.{name} must be a mapping with at least 'type'")
        ftype = spec.get("type")
        if ftype not in FIELD_TYPES:
            raise ContractError(
                f"{where}: fields.{name}.type is {ftype!r}; use one of {', '.join(FIELD_TYPES)}"
            )
        unknown = set(spec) - {"type", "required", "aliases", "allowed"}
        if unknown:
            raise ContractError(
                f"{where}: fields.{name} has unknown key(s) {', '.join(sorted(unknown))}; "
                "allowed: type, required, aliases, allowed"
            )
        allowed = spec.get("allowed")
        fields[name] = FieldSpec(
            name=name,
            type=ftype,
            required=bool(spec.get("required", False)),
            aliases=tuple(str(a) for a in spec.get("aliases", ())),
            allowed=tuple(str(a) for a in allowed) if allowed is not None else None,
        )
    kind = str(doc.get("kind", "persons"))
    if kind not in FEED_KINDS:
        raise ContractError(f"{where}: kind is {kind!r}; use one of {', '.join(FEED_KINDS)}")
    for needed in KIND_FIELDS[kind]:
        if needed not in fields:
            raise ContractError(f"{where}: fields.{needed} is missing; every feed of kind {kind} needs it")
    address_from = tuple(doc.get("address_from", ()))
    for part in address_from:
        if part not in fields:
            raise ContractError(f"{where}: address_from names unknown field '{part}'")
    if doc["feed"] != feed_file.stem:
        raise ContractError(f"{where}: feed is {doc['feed']!r}; it must equal the file name {feed_file.stem!r}")
    return FeedContract(
        feed=doc["feed"],
        title=str(doc.get("title", doc["feed"])),
        patterns=tuple(doc["patterns"]),
        fields=fields,
        address_from=address_from,
        kind=kind,
    )


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


def person_feeds() -> list[str]:
    """The feeds whose rows are person records (every feed but the answers to push items)."""
    return sorted(name for name, c in load_contracts().items() if c.kind == "persons")


def load_contract(feed: str) -> FeedContract:
    contracts = load_contracts()
    if feed not in contracts:
        raise ContractError(f"no contract for feed {feed!r}; known feeds: {', '.join(contracts)}")
    return contracts[feed]
