"""The answer schema: bounds calibrated on real digests, restriction, problem codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pipeline.digest.fields import FIELDS, MARKDOWN_LABELS
from pipeline.digest.placeholders import DEFAULT_MATCHER
from pipeline.generate.schema import (
    Summary,
    length_bounds,
    parse_summary,
    restricted_schema,
    schema_problems,
    summary_schema,
)

_LABEL_LINE = re.compile(rf"^({'|'.join(map(re.escape, MARKDOWN_LABELS.values()))}): (.*)$", re.MULTILINE)
_BY_LABEL = {label: name for name, label in MARKDOWN_LABELS.items()}


def _real_good_fields(shared: Path) -> list[tuple[str, str]]:
    """Every non-placeholder field of the calibration digests (Markdown and JSONL)."""
    found: list[tuple[str, str]] = []
    for path in sorted((shared / "seeds").glob("*.txt")) + sorted(shared.glob("upstream/*.md")):
        for label, value in _LABEL_LINE.findall(path.read_text(encoding="utf-8")):
            found.append((_BY_LABEL[label], value))
    for path in sorted(shared.glob("upstream/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            found.extend(json.loads(line).get("AI", {}).items())
    return [(name, value) for name, value in found if not DEFAULT_MATCHER.is_failed(value)]


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(summary_schema())


def test_bounds_accept_every_real_good_field(shared: Path) -> None:
    fields = _real_good_fields(shared)
    assert len(fields) > 2000  # both Chinese and English fields occur
    rejected = [(name, len(value)) for name, value in fields if schema_problems({name: value}, (name,))]
    assert rejected == []


@pytest.mark.parametrize("value", ["", "好", "TBD", "x" * 5000, "很长的句子" * 400])
def test_bounds_reject_absurd_values(value: str) -> None:
    problems = schema_problems({"tldr": value}, ("tldr",))
    assert [p.code for p in problems] in (["too_short"], ["too_long"])
    assert problems[0].field == "tldr"


def test_length_bounds_come_from_the_schema_file() -> None:
    spec = summary_schema()["properties"]["method"]
    bounds = length_bounds("method")
    assert (bounds.min_chars, bounds.max_chars) == (spec["minLength"], spec["maxLength"])


def test_restricted_schema_is_strict_mode_compatible() -> None:
    schema = restricted_schema(("method", "tldr"))
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["tldr", "method"]  # canonical order
    assert list(schema["properties"]) == ["tldr", "method"]
    assert "$schema" not in schema and "$id" not in schema


def test_restricted_schema_does_not_share_state_with_the_cache() -> None:
    restricted_schema(("tldr",))["properties"]["tldr"]["maxLength"] = 1
    assert summary_schema()["properties"]["tldr"]["maxLength"] > 1


@pytest.mark.parametrize("fields", [(), ("summary",)])
def test_restricted_schema_refuses_unknown_fields(fields: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        restricted_schema(fields)


def test_problem_codes() -> None:
    answer = {"tldr": 3, "result": "extra field here", "conclusion": "短"}
    problems = schema_problems(answer, ("tldr", "method", "conclusion"))
    assert sorted((p.code, p.field) for p in problems) == [
        ("extra_field", "result"),
        ("missing_field", "method"),
        ("too_short", "conclusion"),
        ("wrong_type", "tldr"),
    ]


def test_a_non_object_answer_is_one_problem() -> None:
    assert [p.code for p in schema_problems(["tldr"], ("tldr",))] == ["not_an_object"]


def test_pydantic_model_gives_typed_access() -> None:
    summary = parse_summary({"method": "一种新的压缩方法。", "tldr": "一句话的总结内容。"})
    assert isinstance(summary, Summary)
    assert summary.method == "一种新的压缩方法。"
    assert list(summary.present()) == ["tldr", "method"]
    assert set(Summary.model_fields) == set(FIELDS)
