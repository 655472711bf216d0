"""Matching settings: which records to compare (blocking), how (comparisons), and when to link.

Read from YAML (documented in docs/matching.md) or taken from a preset; validated on load with
errors that name the key and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from screenfuse.matching.comparators import METHODS

ROLES = ("identity", "context")
_KEY_PART = re.compile(r"^(?P<column>[A-Za-z_][A-Za-z0-9_]*)(\[(?P<start>-?\d*):(?P<stop>-?\d*)\])?$")


class SettingsError(ValueError):
    """A settings file is wrong; the message names the key and the fix."""


@dataclass(frozen=True)
class KeyPart:
    """One column of a blocking rule, optionally a slice of it (id_number[:9])."""

    column: str
    start: int | None = None
    stop: int | None = None

    @property
    def label(self) -> str:
        if self.start is None and self.stop is None:
            return self.column
        return f"{self.column}[{'' if self.start is None else self.start}:{'' if self.stop is None else self.stop}]"


@dataclass(frozen=True)
class Comparison:
    column: str
    method: str
    thresholds: tuple[float, ...] = ()
    term_frequency: bool = False
    role: str = "identity"  # context evidence (shared phone, address) counts only when no identity evidence disagrees
    m: tuple[float, ...] | None = None  # per level, best first; learned by EM when absent
    u: tuple[float, ...] | None = None  # per level; estimated by random sampling when absent
    options: dict = field(default_factory=dict)  # method-specific (pinyin_column, second_column, ...)

    @property
    def label(self) -> str:
        return self.column

    @property
    def levels(self) -> list[str]:
        return METHODS[self.method].level_names(self.thresholds or METHODS[self.method].default_thresholds)


@dataclass(frozen=True)
class MatchSettings:
    unique_id: str
    blocking: tuple[tuple[KeyPart, ...], ...]
    comparisons: tuple[Comparison, ...]
    match_threshold: float = 0.95  # link when the match probability reaches this
    review_threshold: float = 0.50  # between the two: not linked, queued for a person to decide
    prior: float | None = None  # probability that two random records match; learned when absent
    distinct_keys: tuple[str, ...] = ()  # records with different non-empty values here never join
    max_block_size: int = 2000
    u_sample_pairs: int = 300_000
    em_iterations: int = 30
    min_records_to_train: int = 2000  # below this a preset uses its shipped model instead of EM
    seed: int = 42
    preset: str | None = None

    def with_overrides(self, **changes) -> "MatchSettings":
        return replace(self, **changes)


def _parse_key(part: str, where: str) -> KeyPart:
    match = _KEY_PART.match(str(part).strip())
    if not match:
        raise SettingsError(f"{where}: '{part}' is not a column name or a slice like id_number[:9]")
    start = match["start"]
    stop = match["stop"]
    return KeyPart(match["column"], int(start) if start else None, int(stop) if stop else None)


def parse_settings(doc: dict, source: str = "settings") -> MatchSettings:
    if not isinstance(doc, dict):
        raise SettingsError(f"{source}: expected a mapping with unique_id, blocking and comparisons")
    known = {"unique_id", "blocking", "comparisons", "thresholds", "prior", "distinct_keys",
             "max_block_size", "u_sample_pairs", "em_iterations", "min_records_to_train", "seed"}
    unknown = set(doc) - known
    if unknown:
        raise SettingsError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
    for key in ("unique_id", "blocking", "comparisons"):
        if key not in doc:
            raise SettingsError(f"{source}: missing key '{key}' (see docs/matching.md)")
    if not isinstance(doc["blocking"], list) or not doc["blocking"]:
        raise SettingsError(f"{source}: 'blocking' must be a list of rules, each a list of columns")
    rules = []
    for n, rule in enumerate(doc["blocking"]):
        columns = rule if isinstance(rule, list) else [rule]
        if not columns:
            raise SettingsError(f"{source}: blocking[{n}] is empty; list at least one column")
        rules.append(tuple(_parse_key(c, f"{source}: blocking[{n}]") for c in columns))
    if not isinstance(doc["comparisons"], list) or not doc["comparisons"]:
        raise SettingsError(f"{source}: 'comparisons' must be a non-empty list")
    comparisons = [_parse_comparison(spec, f"{source}: comparisons[{n}]") for n, spec in enumerate(doc["comparisons"])]
    thresholds = doc.get("thresholds") or {}
    if not isinstance(thresholds, dict) or set(thresholds) - {"match", "review"}:
        raise SettingsError(f"{source}: 'thresholds' takes match and review (match probabilities, 0-1)")
    match_t = float(thresholds.get("match", 0.95))
    review_t = float(thresholds.get("review", min(0.5, match_t)))
    if not 0 < review_t <= match_t < 1:
        raise SettingsError(f"{source}: thresholds need 0 < review <= match < 1 (got review {review_t}, match {match_t})")
    prior = doc.get("prior")
    if prior is not None and not 0 < float(prior) < 1:
        raise SettingsError(f"{source}: 'prior' is a probability between 0 and 1 (or leave it out to learn it)")
    return MatchSettings(
        unique_id=str(doc["unique_id"]),
        blocking=tuple(rules),
        comparisons=tuple(comparisons),
        match_threshold=match_t,
        review_threshold=review_t,
        prior=float(prior) if prior is not None else None,
        distinct_keys=tuple(doc.get("distinct_keys") or ()),
        max_block_size=int(doc.get("max_block_size", 2000)),
        u_sample_pairs=int(doc.get("u_sample_pairs", 300_000)),
        em_iterations=int(doc.get("em_iterations", 30)),
        min_records_to_train=int(doc.get("min_records_to_train", 2000)),
        seed=int(doc.get("seed", 42)),
    )


def _parse_comparison(spec, where: str) -> Comparison:
    if not isinstance(spec, dict) or "column" not in spec or "method" not in spec:
        raise SettingsError(f"{where}: needs 'column' and 'method', e.g. {{column: surname, method: jaro_winkler}}")
    method = spec["method"]
    if method not in METHODS:
        raise SettingsError(f"{where}.method is {method!r}; use one of {', '.join(sorted(METHODS))}")
    known = {"column", "method", "thresholds", "term_frequency", "role", "m", "u", "options"}
    unknown = set(spec) - known
    if unknown:
        raise SettingsError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
    role = spec.get("role", "identity")
    if role not in ROLES:
        raise SettingsError(f"{where}.role is {role!r}; use identity or context")
    thresholds = tuple(float(t) for t in spec.get("thresholds", ()) or ())
    comparison = Comparison(
        column=str(spec["column"]), method=method, thresholds=thresholds,
        term_frequency=bool(spec.get("term_frequency", False)), role=role,
        options=dict(spec.get("options") or {}),
    )
    levels = len(comparison.levels)
    for key in ("m", "u"):
        if spec.get(key) is not None:
            values = tuple(float(v) for v in spec[key])
            if len(values) != levels or not all(0 < v <= 1 for v in values):
                raise SettingsError(f"{where}.{key} needs {levels} probabilities in (0, 1], one per level "
                                    f"({', '.join(comparison.levels)})")
            comparison = replace(comparison, **{key: values})
    return comparison


def load_settings_file(path: Path) -> MatchSettings:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SettingsError(f"{path}: not valid YAML{where}; fix the syntax "
                            "(quote slices in flow lists: \"id_number[:9]\")") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_settings(doc, str(path))


ZH_PERSON = {
    "unique_id": "record_id",
    "blocking": [
        ["id_number"], ["phone"],
        ["name_pinyin", "birth_date"],
        ["name_pinyin", "id_number[:9]"], ["id_number[9:]"],
        ["name_pinyin", "address_area"],
        ["name_pinyin", "phone[:7]"], ["name_pinyin", "phone[7:]"],
    ],
    "comparisons": [
        {"column": "name", "method": "zh_name", "term_frequency": True},
        {"column": "id_number", "method": "resident_id"},
        {"column": "birth_date", "method": "date"},
        {"column": "sex", "method": "exact"},
        {"column": "phone", "method": "mobile", "role": "context", "term_frequency": True},
        {"column": "address", "method": "address", "role": "context"},
    ],
    "thresholds": {"match": 0.95, "review": 0.5},
    "distinct_keys": ["id_trusted"],
}
PRESETS = {"zh_person": ZH_PERSON}


def preset(name: str) -> MatchSettings:
    if name not in PRESETS:
        raise SettingsError(f"unknown preset {name!r}; available: {', '.join(PRESETS)}")
    return parse_settings(PRESETS[name], f"preset {name}").with_overrides(preset=name)
