"""Matching settings: which records to compare (blocking), how (comparisons), and when to link.

Read from YAML (documented in docs/matching.md) or taken from a preset; the format is the
pydantic models below (strict_config), and a wrong file stops with one line naming the key and
the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainValidator, field_validator

from screenfuse.matching.comparators import METHODS
from screenfuse.matching.zh_text import DEFAULT_SOUND_FOLDS
from screenfuse.matching.strict_config import (
    ConfigProblem, ListOf, Number, StrictModel, Text, WholeNumber, YesNo, checked, choice, join_path, one_line,
    read_yaml, show,
)

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
    detected: bool = False  # made context by detection (matching/context.py), not by the settings

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
    # besides the distinct keys: records equal on every compared column and on one of these,
    # present, are exact twins (one person before blocking: matching/twins.py)
    twin_keys: tuple[str, ...] = ()
    max_block_size: int = 2000
    u_sample_pairs: int = 300_000
    em_iterations: int = 30
    min_records_to_train: int = 2000  # below this a preset uses its shipped model instead of EM
    seed: int = 42
    preset: str | None = None
    detect_context: bool = False  # find the columns households share from the data (matching/context.py); opt-in
    max_pairs_per_record: float = 25.0  # comparison budget: candidate pairs per record (matching/blocking.py)

    def with_overrides(self, **changes) -> "MatchSettings":
        return replace(self, **changes)


def _key_part(value: Any) -> KeyPart:
    match = _KEY_PART.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ConfigProblem(f"is {show(value)}; expected a column name or a slice like id_number[:9]")
    start, stop = match["start"], match["stop"]
    return KeyPart(match["column"], int(start) if start else None, int(stop) if stop else None)


def _columns(value: Any) -> Any:
    """A blocking rule: a list of columns, or one column on its own."""
    columns = value if isinstance(value, list) else [value]
    if not columns:
        raise ConfigProblem("is an empty list; list at least one column")
    return columns


BlockingRule = Annotated[tuple[Annotated[KeyPart, PlainValidator(_key_part)], ...], BeforeValidator(_columns)]
Probabilities = ListOf(Number(0, 1, "a probability")) | None


_SOUND = re.compile(r"^[a-z]{1,4}$")


def sound_fold(value: Any) -> tuple[str, str]:
    """One (heard, written) pair of the zh_name sound-fold table, checked (the app checks its CSV rows with it)."""
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, str) and _SOUND.match(v) for v in value)):
        raise ConfigProblem(f"is {show(value)}; expected a pair of toneless pinyin sounds such as [n, l] "
                            "(the sound heard, the sound written)")
    return value[0], value[1]


class _ZhNameOptions(StrictModel):
    """Options of the zh_name method (docs/matching.md): the pinyin column, whether characters
    handwriting confuses by shape count as similar, the dialect sound-confusion table, and the
    column a name with a middle character left out must agree on to count as similar."""

    pinyin_column: Text = "name_pinyin"
    shape_similar: YesNo = True
    # a name with a middle character left out counts as similar only where both records agree on
    # this column (household members share a phone and an address, rarely a birth date); null: never
    dropped_character_needs: Text | None = "birth_date"
    sound_folds: ListOf(Annotated[tuple[str, str], PlainValidator(sound_fold)], allow_empty=True) = DEFAULT_SOUND_FOLDS


_METHOD_OPTIONS = {"zh_name": _ZhNameOptions}


class _ComparisonFile(StrictModel):
    column: Text
    method: Any
    thresholds: ListOf(Number(0, None, "a threshold"), allow_empty=True, nullable=True) = ()
    term_frequency: YesNo = False
    role: Any = "identity"
    m: Probabilities = None
    u: Probabilities = None
    options: dict[str, Any] | None = None

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: Any) -> str:
        return choice(method, sorted(METHODS), "method")

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: Any) -> str:
        return choice(role, ROLES, "role")

    def to_comparison(self) -> Comparison:
        options = dict(self.options or {})
        if self.method in _METHOD_OPTIONS:
            try:
                valid = checked(_METHOD_OPTIONS[self.method], options, "docs/matching.md")
            except ConfigProblem as problem:
                raise ConfigProblem(problem.problem, join_path("options", problem.at)) from None
            options = {key: getattr(valid, key) for key in options}  # as validated (trimmed, yes → True)
        comparison = Comparison(column=self.column, method=self.method,
                                thresholds=tuple(float(t) for t in self.thresholds),
                                term_frequency=self.term_frequency, role=self.role, options=options)
        levels = comparison.levels
        for key in ("m", "u"):
            values = getattr(self, key)
            if values is not None:
                if len(values) != len(levels) or not all(v > 0 for v in values):
                    raise ConfigProblem(f"needs {len(levels)} probabilities in (0, 1], one per level "
                                        f"({', '.join(levels)})", at=key)
                comparison = replace(comparison, **{key: tuple(float(v) for v in values)})
        return comparison


class _ThresholdsFile(StrictModel):
    match: Number(0, 1, "a match probability") = 0.95
    review: Number(0, 1, "a match probability") = None


class _SettingsFile(StrictModel):
    """A settings file (docs/matching.md); defaults are MatchSettings'."""

    unique_id: Text
    blocking: ListOf(BlockingRule, of="rules, each a list of columns")
    comparisons: ListOf(_ComparisonFile)
    thresholds: _ThresholdsFile | None = None
    prior: Number(0, 1, "a probability (or leave it out to learn it)", nullable=True) = None
    distinct_keys: ListOf(Text, allow_empty=True, nullable=True) = ()
    twin_keys: ListOf(Text, allow_empty=True, nullable=True) = ()
    max_block_size: WholeNumber(1) = 2000
    u_sample_pairs: WholeNumber(1) = 300_000
    em_iterations: WholeNumber(1) = 30
    min_records_to_train: WholeNumber(0) = 2000
    seed: WholeNumber(0) = 42
    detect_context: YesNo = False
    max_pairs_per_record: Number(1, None, "candidate pairs per record") = 25.0

    def to_settings(self) -> MatchSettings:
        thresholds = self.thresholds or _ThresholdsFile()
        match = float(thresholds.match)
        review = float(thresholds.review) if thresholds.review is not None else min(0.5, match)
        if not 0 < review <= match < 1:
            raise ConfigProblem(f"need 0 < review <= match < 1 (got review {review}, match {match})", at="thresholds")
        if self.prior is not None and not 0 < self.prior < 1:
            raise ConfigProblem("is a probability strictly between 0 and 1 (or leave it out to learn it)", at="prior")
        comparisons = []
        for i, spec in enumerate(self.comparisons):
            try:
                comparisons.append(spec.to_comparison())
            except ConfigProblem as problem:
                raise ConfigProblem(problem.problem, join_path("comparisons", i, problem.at)) from None
        return MatchSettings(
            unique_id=self.unique_id, blocking=self.blocking, comparisons=tuple(comparisons),
            match_threshold=match, review_threshold=review,
            prior=float(self.prior) if self.prior is not None else None, distinct_keys=self.distinct_keys,
            twin_keys=self.twin_keys, max_block_size=self.max_block_size, u_sample_pairs=self.u_sample_pairs,
            em_iterations=self.em_iterations,
            min_records_to_train=self.min_records_to_train, seed=self.seed,
            detect_context=self.detect_context, max_pairs_per_record=float(self.max_pairs_per_record),
        )


def parse_settings(doc: dict, source: str = "settings") -> MatchSettings:
    """Settings from a parsed YAML document or a preset's dict."""
    try:
        return checked(_SettingsFile, doc, "docs/matching.md").to_settings()
    except ConfigProblem as problem:
        raise SettingsError(one_line(source, problem.at, problem.problem)) from None


def load_settings_file(path: Path) -> MatchSettings:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        doc = read_yaml(text, syntax_hint='fix the syntax (quote slices in flow lists: "id_number[:9]")')
    except ConfigProblem as problem:
        raise SettingsError(one_line(str(path), problem.at, problem.problem)) from None
    return parse_settings(doc, str(path))


ZH_PERSON = {
    "unique_id": "record_id",
    # the preset names its context columns (phone, address) itself; detecting more from the data
    # cost precision on the generator (P 0.9998 → 0.967, F1 0.9955 → 0.979)
    "detect_context": False,
    "blocking": [
        ["id_number"], ["phone"],
        ["name_pinyin", "birth_date"],
        ["name_pinyin", "id_number[:9]"], ["id_number[9:]"],
        ["name_pinyin", "address_area"],
        ["name_pinyin", "phone[:7]"], ["name_pinyin", "phone[7:]"],
        ["document"],
        # a name whose middle character a form left out (刘超静 / 刘静) shares no pinyin key with
        # the full one: the surname and the birth date bring them together (second generator,
        # section 7: recall 0.9931 → 0.9964, precision unchanged)
        ["name[:1]", "birth_date"],  # last: stored block keys are numbered by rule (screenfuse.match_state)
    ],
    "comparisons": [
        {"column": "name", "method": "zh_name", "term_frequency": True},
        {"column": "id_number", "method": "resident_id"},
        {"column": "birth_date", "method": "date"},
        {"column": "sex", "method": "exact"},
        {"column": "phone", "method": "mobile", "role": "context", "term_frequency": True},
        {"column": "address", "method": "address", "role": "context"},
        # passports and permits: too few to learn from; a number is rarely mistyped, never shared
        {"column": "document", "method": "document", "m": [0.97, 0.03], "u": [1e-6, 0.999999]},
    ],
    "thresholds": {"match": 0.95, "review": 0.5},
    "distinct_keys": ["id_trusted"],
    # a resident ID as typed (an old 15-digit one, one failing its check) or another document: a
    # person screened a hundred times with it sends a hundred equal records, one person
    "twin_keys": ["id_number", "document"],
}
PRESETS = {"zh_person": ZH_PERSON}


def preset(name: str) -> MatchSettings:
    if name not in PRESETS:
        raise SettingsError(f"unknown preset {name!r}; available: {', '.join(PRESETS)}")
    return parse_settings(PRESETS[name], f"preset {name}").with_overrides(preset=name)
