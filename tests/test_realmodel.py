"""What a real small model wrote (``../shared/realmodel``): the validator must reject every
written answer a person judged bad, with a code that names what is wrong, and accept the
one judged acceptable. Skips without ``../shared``; nothing of the file is committed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.validate.validator import DEFAULT_VALIDATOR

ANSWERS = Path(__file__).resolve().parents[2] / "shared" / "realmodel" / "answers.jsonl"

# What each written answer's reading found (README of the file), as validator codes.
RIGHT_CODES: dict[str, set[str]] = {
    "2601.07839": {"numbers", "duplicate"},  # 1.6% of 7B parameters; TL;DR = method + result
    "2601.07873": {"duplicate"},  # motivation holds the method and the result
    "2601.07876": {"duplicate"},  # the conclusion is 96% of the result
    "2601.08094": {"numbers", "placeholder"},  # 40% accuracy as RMSE; a conclusion that is a link
}


def _written() -> list[dict]:
    if not ANSWERS.is_file():
        pytest.skip("../shared/realmodel is not beside this checkout")
    answers = [json.loads(line) for line in ANSWERS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [answer for answer in answers if answer.get("verdict")]


def _codes(answer: dict) -> set[str]:
    problems = DEFAULT_VALIDATOR.check(answer["title"], answer["abstract"], "Chinese", answer["answer"])
    return {problem.code for problem in problems}


def test_the_file_has_four_bad_written_answers_and_one_acceptable() -> None:
    labels = sorted(answer["verdict"]["label"] for answer in _written())
    assert labels == ["acceptable", "bad", "bad", "bad", "bad"]


def test_every_bad_written_answer_is_rejected_with_the_right_code() -> None:
    for answer in _written():
        if answer["verdict"]["label"] == "bad":
            assert _codes(answer) & RIGHT_CODES[answer["id"]], answer["id"]


def test_the_acceptable_answer_is_accepted() -> None:
    (acceptable,) = [answer for answer in _written() if answer["verdict"]["label"] == "acceptable"]
    assert _codes(acceptable) == set()


def test_the_small_model_mistakes_show_in_the_messages() -> None:
    by_id = {answer["id"]: answer for answer in _written()}
    rmse = by_id["2601.08094"]
    messages = [p.message for p in DEFAULT_VALIDATOR.check(rmse["title"], rmse["abstract"], "Chinese", rmse["answer"])]
    assert any("40%" in message and "another measure" in message for message in messages)
    assert any("no answer" in message for message in messages)
