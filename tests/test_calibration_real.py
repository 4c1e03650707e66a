"""The validator on a seeded sample of the calibration set (``../shared/calibration``: 223
real days written by the upstream model): the floors ``benchmarks/bench_calibration.py``
reports on the whole set, asserted on a sample in a few seconds. Skips without the set."""

from __future__ import annotations

from functools import cache

import pytest
from realcorpus import (
    MIN_ACCEPTED,
    TARBALL,
    Acceptance,
    Rejection,
    acceptance,
    checked,
    corruptions,
    floor,
    read_corpus,
    rejection,
    sample,
)

from pipeline.validate.validator import Validator

SEED = 20260415
PAPERS = 2000  # acceptance: a 0.5% floor on 2,000 papers leaves 10 papers of slack
CORRUPTED = 300


@cache
def _measured() -> tuple[Acceptance, Rejection]:
    if not TARBALL.is_file():
        pytest.skip("../shared/calibration is not beside this checkout")
    population = checked(read_corpus(TARBALL))
    papers = sample(population, PAPERS, SEED)
    accepted = acceptance(Validator(), papers)
    flagged = {(flag.paper.day, flag.paper.index) for flag in accepted.flags}
    clean = [paper for paper in papers if (paper.day, paper.index) not in flagged]
    rejected = rejection(Validator(), corruptions(sample(clean, CORRUPTED, SEED), SEED, population))
    return accepted, rejected


@pytest.mark.parametrize("code", Validator().codes)  # grounding: tests/test_grounding_real.py
def test_real_summaries_pass_each_check(code: str) -> None:
    accepted, _ = _measured()
    assert accepted.rate(code) >= MIN_ACCEPTED, (code, accepted.flagged[code])


def test_corruptions_are_rejected_with_the_right_code_and_controls_pass() -> None:
    _, rejected = _measured()
    assert {"number_unit", "names", "stub", "refusal", "english", "truncated", "control_shorter"} <= set(rejected.total)
    for kind in rejected.total:
        need = floor(kind)
        if need is not None:
            assert rejected.rate(kind) >= need, (kind, rejected.rate(kind), rejected.missed.get(kind, [])[:3])
