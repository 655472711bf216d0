"""Strict YAML configuration on pydantic, shared by the policy, the feed contracts and the matching settings.

A wrong configuration must stop the run with one line that names the key and the fix, never a
pydantic dump and never a silently changed value (a typo in a policy changes who is isolated).
The files' formats are pydantic models deriving from `StrictModel`; the field types below check a
value and say how to fix it (`ConfigProblem`); `checked` validates a document and turns pydantic's
ValidationError into one ConfigProblem (key path, problem) for the caller's own error class.

It lives in the matching package because matching must never import the app; the app imports it.
"""
from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Iterable, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
M = TypeVar("M", bound=BaseModel)


class ConfigProblem(ValueError):
    """What is wrong and how to fix it; `at`: where, below the key pydantic was checking."""

    def __init__(self, problem: str, at: str = ""):
        super().__init__(problem)
        self.problem = problem
        self.at = at


def join_path(*parts: Any) -> str:
    """('rules', 0, 'when') → 'rules[0].when'; a part may itself be a path ('[2].days')."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "":
            part = str(part)
            path += part if not path or part.startswith("[") else f".{part}"
    return path


def show(value: Any) -> str:
    """A value and its YAML kind, short, for messages."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (yes/no)"
    if isinstance(value, (int, float)):
        return f"{value} (a number)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}' (text)"
    if isinstance(value, (list, tuple)):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    return type(value).__name__


def closest(word: Any, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a near miss among `options`, else ''."""
    word, options = str(word), list(options)
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    match = match or [o for o in options if len(word) >= 3 and (o.startswith(word) or word.startswith(o))]
    return f" (did you mean '{match[0]}'?)" if match else ""


def choice(value: Any, options: Iterable[str], what: str, at: str = "", is_key: bool = False) -> str:
    """`value` if it is one of `options` (names the file or the caller defines), else the problem.
    `is_key`: the value is a mapping key, which the path already shows."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        shown = "" if is_key else f" {show(value)},"
        plural = f"{what}es" if what.endswith("s") else f"{what}s"
        raise ConfigProblem(f"is{shown} not a known {what}{closest(value, options)}; "
                            f"known {plural}: {', '.join(options)}", at)
    return value


class StrictModel(BaseModel):
    """A mapping in a config file: unknown keys refused with the nearest known one, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        allowed = [field.alias or name for name, field in cls.model_fields.items()]
        if not isinstance(data, dict):
            raise ConfigProblem(f"is {show(data)}; expected a mapping with keys {', '.join(allowed)}")
        for key in data:
            if key not in allowed:
                raise ConfigProblem(f"is not a known key{closest(key, allowed)}; allowed here: {', '.join(allowed)}",
                                    at=str(key))
        return data


def checked(model: type[M], doc: Any, docs: str, context: dict | None = None) -> M:
    """`doc` validated as `model`, or ConfigProblem naming the first thing wrong (key path in `at`);
    `docs`: where the format is explained, for a missing key."""
    try:
        return model.model_validate(doc, context=context)
    except ValidationError as error:
        path, problem = _first_problem(error, docs)
        raise ConfigProblem(problem, path) from None


def one_line(prefix: str, path: str, problem: str) -> str:
    """The message a user reads: where, which key, what is wrong and the fix."""
    return f"{prefix}: {path} {problem}" if path else f"{prefix}: {problem}"


def _first_problem(error: ValidationError, docs: str) -> tuple[str, str]:
    detail = error.errors(include_url=False)[0]
    loc = [part for part in detail["loc"] if part != "[key]"]  # a bad mapping key: name the key itself
    cause = (detail.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigProblem):
        path, problem = join_path(*loc, cause.at), cause.problem
    elif detail["type"] == "missing":
        path, problem = join_path(*loc), f"is missing; add it (see {docs})"
    else:  # a check pydantic made itself
        message = detail["msg"]
        path, problem = join_path(*loc), f"is {show(detail['input'])}; {message[:1].lower()}{message[1:]}"
    if not path and problem.startswith("is "):
        problem = "the file " + problem
    return path, problem


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str, syntax_hint: str = "fix the syntax") -> Any:
    """Safe YAML, refusing a key given twice (PyYAML would silently keep the last one). Parsed by
    libyaml when PyYAML has it (the policy and the feed contracts: 0.13 → 0.02 s, in every run)."""
    loader = SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_duplicate_keys(node, "", set())
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        exc = _worded(text, exc)
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise ConfigProblem(f"is not valid YAML{where} ({problem}); {syntax_hint}") from None
    finally:
        loader.dispose()


def _worded(text: str, error: yaml.YAMLError) -> yaml.YAMLError:
    """libyaml's error, as PyYAML's own parser words it (it names the token: a tab, an alias)."""
    if SAFE_LOADER is yaml.SafeLoader:
        return error
    loader = yaml.SafeLoader(text)
    try:
        loader.get_single_node()
    except yaml.YAMLError as worded:
        return worded
    finally:
        loader.dispose()
    return error


def _refuse_duplicate_keys(node: yaml.Node, path: str, visited: set[int]) -> None:
    if id(node) in visited:  # an alias to a node already checked
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            here = join_path(path, key)
            if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                raise ConfigProblem(f"is given twice (lines {seen[key]} and {key_node.start_mark.line + 1}); keep one",
                                    here)
            seen[key] = key_node.start_mark.line + 1
            _refuse_duplicate_keys(value_node, here, visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicate_keys(item, f"{path}[{i}]", visited)


# -- field types: each checks a value and says how to fix it -----------------------------------

def _check_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        hint = "; put it in quotes" if isinstance(value, (int, float, bool)) else ""
        raise ConfigProblem(f"is {show(value)}; expected non-empty text{hint}")
    return value.strip()


def _check_scalar_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        hint = "; put it in quotes" if isinstance(value, bool) else ""
        raise ConfigProblem(f"is {show(value)}; expected text{hint}")
    return str(value)


def _check_yes_no(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigProblem(f"is {show(value)}; expected true or false")
    return value


def _check_only_true(value: Any) -> bool:
    if value is not True:
        raise ConfigProblem(f"is {show(value)}; only `true` is meaningful here (remove the condition to drop it)")
    return True


Text = Annotated[str, BeforeValidator(_check_text)]  # non-empty, trimmed
ScalarText = Annotated[str, BeforeValidator(_check_scalar_text)]  # any text, or a number read as text
YesNo = Annotated[bool, BeforeValidator(_check_yes_no)]
OnlyTrue = Annotated[bool, BeforeValidator(_check_only_true)]


def WholeNumber(low: int, high: int | None = None, what: str = "a whole number", nullable: bool = False,
                null_hint: str = " (or null)"):
    """An int from `low` to `high` (yes/no is not a number); `nullable`: null allowed."""
    def check(value: Any) -> int | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            limits = f"from {low} to {high}" if high is not None else f"≥ {low}"
            raise ConfigProblem(f"is {show(value)}; expected {what} {limits}{null_hint if nullable else ''}")
        return value
    return Annotated[int | None, BeforeValidator(check)]


def Number(low: float, high: float | None, what: str, nullable: bool = False):
    """An int or float from `low` to `high` (None: no upper limit), kept as written."""
    def check(value: Any) -> float | int | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high is not None and value > high):
            limits = f"from {low} to {high}" if high is not None else f"≥ {low}"
            raise ConfigProblem(f"is {show(value)}; expected {what} {limits}{' (or null)' if nullable else ''}")
        return value
    return Annotated[float | int | None, BeforeValidator(check)]


def ListOf(item: Any, allow_empty: bool = False, nullable: bool = False, of: str = ""):
    """A list (read as a tuple) whose items pydantic checks as `item`; a lone value gets the hint
    to write it as a list. `nullable`: null means an empty list; `of`: what the items are."""
    def check(value: Any) -> Any:
        if value is None and nullable:
            return ()
        if not isinstance(value, list) or (not value and not allow_empty):
            hint = f"; write it as a list: [{value}]" if isinstance(value, (str, int, float)) else ""
            wanted = f"a {'' if allow_empty else 'non-empty '}list{f' of {of}' if of else ''}"
            raise ConfigProblem(f"is {show(value)}; expected {wanted}{hint}")
        return value
    return Annotated[tuple[item, ...], BeforeValidator(check)]


def NamedMapping(value_type: Any, what: str):
    """A non-empty mapping whose keys are names the file defines (statuses, measures, ...):
    lower-case letters, digits and _."""
    def check(value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ConfigProblem(f"is {show(value)}; expected a mapping of {what} names")
        for name in value:
            if not isinstance(name, str) or not NAME.match(name):
                raise ConfigProblem(f"is not a valid {what} name; use lower-case letters, digits and _ "
                                    "(e.g. close_contact)", at=str(name))
        return value
    return Annotated[dict[str, value_type], BeforeValidator(check)]
