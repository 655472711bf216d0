"""Policy: which facts give which status, what each status needs, how fast, as a YAML file.

Policies changed every few weeks during the epidemic (which areas are key areas, how long
isolation lasts, how fast a transfer must happen), so the command centre edits a file instead of
code. The file is checked strictly when loaded: a typo must stop the run with a message naming
the key and the fix, never silently change who is isolated. The loaded `Policy` is frozen, and
its `version` is recorded with every decision made under it.

This module finds and loads the file; its format is `policy_schema`, the loaded values
`policy_types`, and applying the rules to records `policy_rules` (all importable from here).
"""
from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path
from typing import Iterable

from screenfuse.matching.strict_config import ConfigProblem, checked, read_yaml
from screenfuse.policy_rules import after_discharge_measure, community_risk, record_status
from screenfuse.policy_schema import PolicyFile
from screenfuse.policy_types import (
    CONDITIONS, NO_STATUS, SCREENING_RESULTS, LifecycleStep, Measure, Policy, PolicyError, RiskLevel, Rule, Status,
    VerifyFirst, ZeroReport, _Frozen,  # noqa: F401  _Frozen: policies pickled before the split still load
)

__all__ = [
    "CONDITIONS", "NO_STATUS", "PACKAGED_SOURCE", "POLICY_ENV", "SCREENING_RESULTS", "LifecycleStep", "Measure",
    "Policy", "PolicyError", "RiskLevel", "Rule", "Status", "VerifyFirst", "ZeroReport", "after_discharge_measure",
    "community_risk", "configured_policy", "configured_policy_text", "default_policy", "load_policy",
    "parse_policy", "record_status",
]

POLICY_ENV = "SCREENFUSE_POLICY"
PACKAGED_SOURCE = "default.yaml (packaged)"
DOCS = "docs/policy.md"


def load_policy(path: str | os.PathLike, feeds: Iterable[str] | None = None) -> Policy:
    """Read and validate a policy file. `feeds`: the feed names rules may use (default: the
    feeds whose contract is of kind persons)."""
    return parse_policy(_read_file(Path(path)), source=str(path), feeds=feeds)


def default_policy(feeds: Iterable[str] | None = None) -> Policy:
    """The policy shipped with the package (policies/default.yaml)."""
    return parse_policy(_packaged_text(), source=PACKAGED_SOURCE, feeds=feeds)


def configured_policy(feeds: Iterable[str] | None = None) -> Policy:
    """The policy a run uses: the file named by SCREENFUSE_POLICY, else the packaged default."""
    text, source = configured_policy_text()
    return parse_policy(text, source=source, feeds=feeds)


def configured_policy_text() -> tuple[str, str]:
    """The text of the policy a run uses and where it comes from, read once (a run keeps this
    text, so an edit made while it runs waits for the next run)."""
    path = os.environ.get(POLICY_ENV, "").strip()
    return (_read_file(Path(path)), path) if path else (_packaged_text(), PACKAGED_SOURCE)


def _packaged_text() -> str:
    return resources.files("screenfuse").joinpath("policies/default.yaml").read_text(encoding="utf-8")


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), "", f"cannot be read ({exc.strerror or exc}); check {POLICY_ENV}") from None


def parse_policy(text: str, source: str = "<text>", feeds: Iterable[str] | None = None) -> Policy:
    """Validate policy YAML text into a Policy."""
    if feeds is None:  # the feeds of person records (feedback answers items, it has no statuses)
        from screenfuse.contracts import person_feeds

        feeds = person_feeds()
    try:
        doc = read_yaml(text)
        if doc is None:
            raise ConfigProblem("is empty; start from include/screenfuse/policies/default.yaml")
        policy_file = checked(PolicyFile, doc, DOCS, context={"feeds": tuple(feeds)})
    except ConfigProblem as problem:
        raise PolicyError(source, problem.at, problem.problem) from None
    return policy_file.to_policy(source, hashlib.sha256(text.encode("utf-8")).hexdigest())
