"""Calibration on real digests: good summaries pass, known-bad mutations of them do not.

Reads ``../shared`` (the seeds and the upstream sample) and skips without it.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path

from mutations import Case, good_cases, mutations

from pipeline.validate.validator import DEFAULT_VALIDATOR

# Share of real, accepted papers that must pass each lexical check.
MIN_GOOD_PASS = 0.97
# Share of each mutation kind that must be rejected with an expected code.
MIN_REJECTED = {"swap": 0.90}
MIN_REJECTED_DETERMINISTIC = 0.98
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _codes(case: Case) -> set[str]:
    problems = DEFAULT_VALIDATOR.check(case.title, case.abstract, case.language, case.fields)
    return {problem.code for problem in problems}


@cache
def _goods(shared: Path) -> tuple[Case, ...]:
    return tuple(good_cases(shared))


@cache
def _rejection_rates(shared: Path) -> dict[str, float]:
    # Mutate papers every check accepts, so a rejection is the mutation's doing.
    clean = [case for case in good_cases(shared, unique=True) if not _codes(case)]
    caught, total = Counter[str](), Counter[str]()
    for case in mutations(clean):
        total[case.kind] += 1
        caught[case.kind] += bool(_codes(case) & case.expected)
    return {kind: caught[kind] / total[kind] for kind in total}


def test_good_papers_pass_numbers_and_terms(shared: Path) -> None:
    goods = _goods(shared)
    assert len(goods) >= 90 + 2 * 200
    failing = Counter[str]()
    for case in goods:
        failing.update(_codes(case) & {"numbers", "terms"})
    for code in ("numbers", "terms"):
        assert 1 - failing[code] / len(goods) >= MIN_GOOD_PASS, (code, failing)


def test_every_english_entry_in_a_chinese_digest_is_flagged(shared: Path) -> None:
    english = [case for case in _goods(shared) if case.language == "Chinese" and not _CJK.search(case.fields["tldr"])]
    assert len(english) >= 5
    for case in english:
        assert "language" in _codes(case), case.id


def test_mutations_are_rejected_with_the_right_code(shared: Path) -> None:
    rates = _rejection_rates(shared)
    assert set(rates) == {"swap", "numbers", "terms", "placeholder", "english", "markup", "duplicate"}
    for kind, rate in rates.items():
        assert rate >= MIN_REJECTED.get(kind, MIN_REJECTED_DETERMINISTIC), (kind, rate)
