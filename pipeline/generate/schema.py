"""The answer schema: what is sent to the model, what its answer is checked against.

``schemas/summary.schema.json`` is the single source of the fields' length bounds; the
validator reads them through :func:`length_bounds` rather than keeping its own copy.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict

from ..contracts import Problem
from ..digest.fields import FIELDS
from . import resources

SCHEMA_FILE = "summary.schema.json"

# jsonschema's keyword -> our stable problem code (reports and re-ask prompts use them).
_PROBLEM_CODES: dict[str, str] = {
    "type": "wrong_type",
    "minLength": "too_short",
    "maxLength": "too_long",
}


@dataclass(frozen=True)
class LengthBounds:
    min_chars: int
    max_chars: int


class Summary(BaseModel):
    """Typed access to a validated answer; absent fields were not requested."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tldr: str | None = None
    motivation: str | None = None
    method: str | None = None
    result: str | None = None
    conclusion: str | None = None

    def present(self) -> dict[str, str]:
        """The fields the answer contains, in canonical order."""
        return {name: value for name in FIELDS if (value := getattr(self, name)) is not None}


def summary_schema() -> dict[str, Any]:
    """A private copy of the full schema (the loaded one is cached and shared)."""
    return copy.deepcopy(resources.schema(SCHEMA_FILE))


def length_bounds(field: str) -> LengthBounds:
    """The character bounds of one field, as the schema declares them."""
    spec = resources.schema(SCHEMA_FILE)["properties"][field]
    return LengthBounds(int(spec["minLength"]), int(spec["maxLength"]))


def restricted_schema(fields: Sequence[str]) -> dict[str, Any]:
    """The schema for an answer holding exactly ``fields`` (shared: do not mutate it).

    Strict structured output needs every listed property required and no others allowed;
    metadata keywords (``$schema``, ``$id``) are left out because some servers reject them.
    """
    unknown = [name for name in fields if name not in FIELDS]
    if unknown or not fields:
        raise ValueError(f"cannot build a schema for fields {list(fields)!r}")
    return _restricted(tuple(name for name in FIELDS if name in fields))


@functools.cache
def _restricted(ordered: tuple[str, ...]) -> dict[str, Any]:
    """Built once per field set: every paper of a run asks for one of a few sets."""
    full = summary_schema()
    return {
        "type": "object",
        "properties": {name: full["properties"][name] for name in ordered},
        "required": list(ordered),
        "additionalProperties": False,
    }


@functools.cache
def _validator(ordered: tuple[str, ...]) -> Draft202012Validator:
    return Draft202012Validator(_restricted(ordered))


def schema_problems(answer: object, fields: Sequence[str]) -> list[Problem]:
    """Everything wrong with ``answer`` against the restricted schema, as stable codes."""
    if not isinstance(answer, Mapping):
        return [Problem("not_an_object", None, "the answer must be one JSON object")]
    if _well_formed(answer, fields):
        return []
    # Missing and extra keys are computed directly: jsonschema reports them as one error
    # per keyword without naming the field in a structured way.
    problems = [
        Problem("missing_field", name, f"the field {name!r} is missing") for name in fields if name not in answer
    ]
    problems += [
        Problem("extra_field", str(name), f"the field {name!r} was not requested")
        for name in answer
        if name not in fields
    ]
    validator = _validator(tuple(name for name in FIELDS if name in fields))
    for error in validator.iter_errors(dict(answer)):
        code = _PROBLEM_CODES.get(str(error.validator))
        if code is None:
            continue  # required / additionalProperties: reported above
        field = str(error.path[0]) if error.path else None
        problems.append(Problem(code, field, _describe(code, field, error.instance)))
    return problems


def _well_formed(answer: Mapping[str, Any], fields: Sequence[str]) -> bool:
    """The common case, decided without running the JSON-schema validator: exactly the
    requested fields, all strings within their bounds."""
    if set(answer) != set(fields):
        return False
    for name, value in answer.items():
        if name not in FIELDS or not isinstance(value, str):
            return False
        bounds = length_bounds(name)
        if not bounds.min_chars <= len(value) <= bounds.max_chars:
            return False
    return True


def parse_summary(answer: Mapping[str, Any]) -> Summary:
    """Typed view of an answer that passed :func:`schema_problems`."""
    return Summary.model_validate(dict(answer))


def _describe(code: str, field: str | None, value: object) -> str:
    if code == "wrong_type":
        return f"the field {field!r} must be a string, not {type(value).__name__}"
    size = len(value) if isinstance(value, str) else 0
    if field is None or field not in FIELDS:
        return f"the field {field!r} has the wrong length ({size} characters)"
    bounds = length_bounds(field)
    return f"the field {field!r} has {size} characters; write between {bounds.min_chars} and {bounds.max_chars}"
