"""The grounding check with the real embedded models on real data (``../shared``): the real
model's copies of a prompt example are rejected as ``grounding`` with the lexical checks
off, real summaries pass, swapped ones do not. Samples are small: the two tests embed
about 80 abstracts, under a minute on a shared 2-core CPU. Skips without ``../shared`` or
without the ``grounding`` extra.

``benchmarks/bench_grounding.py`` measures the same on whole days; it reuses the loaders here.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from realcorpus import TARBALL, RealPaper, read_corpus

from pipeline.digest.fields import FIELDS
from pipeline.digest.loader import load
from pipeline.generate.embeddings import embedded_backend, extra_missing

if TYPE_CHECKING:
    from pipeline.validate.grounding import Grounder

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED = SHARED / "seeds" / "000_8475de725130af0c.txt"
ANSWERS = SHARED / "realmodel" / "answers.jsonl"
# The prompt's examples when the real model answered (the first prompt, which showed their
# abstracts too): two good papers of the same digest.
EXAMPLE_TITLES = ("HOSC", "KVzap")
# The answers that copied a field of KVzap (read; bench_real_model's trigram test agrees).
LEAKED: dict[tuple[str, int], set[str]] = {
    ("2601.07878", 1): {"conclusion"},
    ("2601.07878", 2): {"conclusion"},
    ("2601.07878", 3): {"conclusion"},
    ("2601.08044", 1): {"result", "conclusion"},
    ("2601.08044", 2): {"result", "conclusion"},
    ("2601.08044", 3): {"result", "conclusion"},
}
DAY = "2025-03-26"  # a day of the calibration set outside the days the rule was calibrated on
GENUINE = 8


@dataclass(frozen=True)
class RealAnswer:
    id: str
    call: int
    title: str
    abstract: str
    fields: dict[str, str]
    verdict: str | None


@dataclass(frozen=True)
class RealModelCase:
    """Seed 000 as the real model met it: its papers, the prompt's examples, the answers."""

    candidates: list[tuple[str, str]]
    examples: list[str]  # titles
    example_fields: list[dict[str, str]]
    answers: list[RealAnswer]


def realmodel_case(every_paper: bool = False) -> RealModelCase:
    """The answered papers and the two examples as candidates (``every_paper``: all 52 of
    the digest, as a run on the whole day has them)."""
    if not (SEED.is_file() and ANSWERS.is_file()):
        pytest.skip("../shared (seeds, realmodel) is not beside this checkout")
    answers = [json.loads(line) for line in ANSWERS.read_text(encoding="utf-8").splitlines() if line.strip()]
    document = load(SEED)
    examples = [paper for paper in document.papers if paper.title.startswith(EXAMPLE_TITLES)]
    answered = {answer["id"] for answer in answers}
    papers = [p for p in document.papers if every_paper or p in examples or p.url.rsplit("/", 1)[-1] in answered]
    return RealModelCase(
        candidates=[(paper.title, paper.abstract) for paper in papers],
        examples=[paper.title for paper in examples],
        example_fields=[{name: value or "" for name, value in paper.fields.items()} for paper in examples],
        answers=[
            RealAnswer(
                a["id"],
                a["call"],
                a["title"],
                a["abstract"],
                {k: v for k, v in a["answer"].items() if isinstance(v, str)},
                (a.get("verdict") or {}).get("label"),
            )
            for a in answers
        ],
    )


def day_papers(day: str, folder: Path | None = None) -> list[RealPaper]:
    """One day of the calibration set, from an unpacked ``folder`` or from the tarball."""
    name = f"{day}_AI_enhanced_Chinese.jsonl"
    if folder is not None and (folder / name).is_file():
        data = (folder / name).read_bytes()
    elif TARBALL.is_file():
        with tarfile.open(TARBALL, "r:xz") as archive:
            handle = archive.extractfile(name)
            assert handle is not None
            data = handle.read()
    else:
        pytest.skip("../shared/calibration is not beside this checkout")
    with tempfile.TemporaryDirectory() as alone:  # read_corpus reads every day of a folder
        (Path(alone) / name).write_bytes(data)
        return read_corpus(Path(alone))


def complete(papers: list[RealPaper]) -> list[RealPaper]:
    """Papers with all five fields written in Chinese (the calibrated case)."""
    return [p for p in papers if set(p.fields) == set(FIELDS) and all(_chinese(v) for v in p.fields.values())]


def _chinese(text: str) -> bool:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= 4


# -- tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grounder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Grounder]:
    missing = extra_missing()
    if missing:
        pytest.skip(f"the grounding extra is not installed (missing {', '.join(missing)})")
    from pipeline.generate.cache import GenerationCache
    from pipeline.validate.grounding import Grounder

    store = GenerationCache(tmp_path_factory.mktemp("grounding") / "vectors.sqlite")
    yield Grounder(embedded_backend(), store=store, remember_answers=True)
    store.close()


def _own(case: RealModelCase, answer: RealAnswer) -> tuple[str, str]:
    """The answered paper as the digest has it (the day's candidate, not the answer's copy)."""
    return next((title, abstract) for title, abstract in case.candidates if title == answer.title)


def test_every_copied_example_is_rejected_as_grounding_without_the_lexical_checks(grounder: Grounder) -> None:
    case = realmodel_case()
    day = grounder.day(case.candidates)
    for answer in case.answers:
        title, abstract = _own(case, answer)
        problems = grounder.check(day, title, abstract, answer.fields, examples=case.examples, language="Chinese")
        copied = LEAKED.get((answer.id, answer.call), set())
        if copied:
            flagged = {p.field for p in problems if "style example 'KVzap" in p.message}
            assert flagged & copied, (answer.id, answer.call, problems)
        else:
            assert problems == [], (answer.id, answer.call, problems)


def test_real_summaries_pass_and_swapped_answers_do_not(grounder: Grounder) -> None:
    papers = complete(day_papers(DAY))[: GENUINE + 4]
    day = grounder.day([(paper.title, paper.abstract) for paper in papers])
    sample = papers[:GENUINE]
    for paper in sample:
        assert grounder.check(day, paper.title, paper.abstract, paper.fields, language="Chinese") == [], paper.id
    for paper, donor in zip(sample[:3], sample[1:4], strict=True):
        whole = grounder.check(day, paper.title, paper.abstract, donor.fields, language="Chinese")
        assert whole and whole[0].field is None and donor.title[:20] in whole[0].message, (paper.id, whole)
        one = {**paper.fields, "result": donor.fields["result"]}
        problems = grounder.check(day, paper.title, paper.abstract, one, language="Chinese")
        assert [p.field for p in problems] == ["result"], (paper.id, problems)
