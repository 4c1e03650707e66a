"""The offline provider: sentence splitting, role choice, bounds, determinism."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from pipeline.contracts import PaperRequest, Problem
from pipeline.digest.fields import FIELDS
from pipeline.generate.extractive import MARK_PREFIX, ExtractiveProvider, split_sentences, trim
from pipeline.generate.schema import LengthBounds, length_bounds
from pipeline.validate.validator import Validator

# Real abstracts from an upstream digest (2026-04-15).
DENOISING = (
    "The core challenge of hyperspectral image denoising is striking the right balance "
    "between data fidelity and noise prior modeling. Most existing methods place too much "
    "emphasis on the intrinsic priors of the image while overlooking diverse noise "
    "assumptions and the dynamic trade-off between fidelity and priors. To address these "
    "issues, we propose a denoising framework that integrates noise prior reduction and a "
    "spatial-spectral adaptive fidelity term. This framework considers comprehensive noise "
    "priors with fewer parameters and introduces an adaptive weight tensor to dynamically "
    "balance the fidelity and prior regularization terms. An efficient optimization "
    "algorithm based on the alternating direction method of multipliers is designed to "
    "ensure stable and fast convergence. Extensive experiments on simulated and real-world "
    "datasets demonstrate that the proposed model achieves superior denoising performance "
    "while maintaining competitive computational efficiency."
)
PRIVACY = (
    "As data-privacy regulations tighten and statistical models are increasingly deployed "
    "on sensitive human-sourced data, privacy-preserving linear regression has become a "
    "critical necessity. For the add-remove DP model, Kulesza et al. (2024) and Fitzsimons "
    "et al. (2024) have independently shown that the size of the dataset can be privately "
    'estimated for "free". In this work, we extend this free lunch result via carefully '
    "crafted multidimensional simplex transformations to variables and functions that are "
    "bounded in the interval [0,1]. We provide both analytical and numerical results to "
    "demonstrate the superiority of our approach. Our proposed transformations have general "
    "applicability and can be readily adapted for differentially private polynomial "
    "regression."
)
# A typical ML abstract with numbers, written for this test.
SPARSE = (
    "Long-context inference is bottlenecked by the quadratic cost of attention. Existing "
    "sparse methods, e.g. top-k pruning, fail to preserve accuracy on retrieval tasks. We "
    "propose SparQ-Lite, a training-free method that keeps the 64 most relevant keys per "
    "query. Specifically, it estimates key relevance from a low-rank sketch of the queries "
    "(see Fig. 3). On LongBench, SparQ-Lite retains 98.5% of dense accuracy and runs 3.2x "
    "faster than FlashAttention. We conclude that most attention mass is redundant in long "
    "contexts. Code is available at https://github.com/example/sparq."
)


def paper(abstract: str, fields: tuple[str, ...] = FIELDS, title: str = "A paper") -> PaperRequest:
    return PaperRequest(id="1", title=title, abstract=abstract, fields=fields, language="English")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Methods, e.g. BERT, work. They fail.", ["Methods, e.g. BERT, work.", "They fail."]),
        (
            "As Smith et al. Showed, it works. Next one.",
            ["As Smith et al. Showed, it works.", "Next one."],
        ),
        ("That is, i.e. This holds. Done.", ["That is, i.e. This holds.", "Done."]),
        ("It scores 1.64 on X. It is 2.5x faster.", ["It scores 1.64 on X.", "It is 2.5x faster."]),
        (
            "See Fig. 3 for details. Also Eq. 2 holds.",
            ["See Fig. 3 for details.", "Also Eq. 2 holds."],
        ),
        ("It beats GPT-4 by 3%. Really!", ["It beats GPT-4 by 3%.", "Really!"]),
        ("We ask (why?). Then we answer.", ["We ask (why?).", "Then we answer."]),
        (
            "Data from the U.S. Census is used. Next.",
            ["Data from the U.S. Census is used.", "Next."],
        ),
        ("no final stop", ["no final stop"]),
        ("Line one.\n  Line two.", ["Line one.", "Line two."]),
    ],
)
def test_split_sentences_edge_cases(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_roles_on_a_typical_ml_abstract() -> None:
    out = ExtractiveProvider().summarize(paper(SPARSE))
    assert out["tldr"].startswith("We propose SparQ-Lite")
    assert out["motivation"].startswith("Long-context inference is bottlenecked")
    assert out["method"].startswith("Specifically")
    assert "98.5%" in out["result"] and "3.2x" in out["result"]
    assert out["conclusion"].startswith("We conclude")
    assert "github" not in " ".join(out.values())  # packaging sentences are not summaries


def test_roles_on_real_abstracts() -> None:
    out = ExtractiveProvider().summarize(paper(DENOISING))
    assert out["tldr"].startswith("To address these issues, we propose")
    assert out["motivation"].startswith("The core challenge")
    assert out["result"].startswith("Extensive experiments")

    out = ExtractiveProvider().summarize(paper(PRIVACY))
    assert out["tldr"].startswith("In this work, we extend")
    assert "critical necessity" in out["motivation"]
    assert "analytical and numerical results" in out["result"]
    assert out["conclusion"].startswith("Our proposed transformations have general")
    assert "Kulesza et al. (2024) and Fitzsimons et al. (2024)" in " ".join(out.values())


@pytest.mark.parametrize("abstract", [DENOISING, PRIVACY, SPARSE])
def test_fields_do_not_share_sentences(abstract: str) -> None:
    out = ExtractiveProvider().summarize(paper(abstract))
    used = [sentence for text in out.values() for sentence in split_sentences(text)]
    assert len(used) == len(set(used))


@pytest.mark.parametrize("abstract", [DENOISING, PRIVACY, SPARSE])
def test_english_output_passes_the_validator(abstract: str) -> None:
    """The documented guarantee: only ``language`` can fail, and only in other languages."""
    english = paper(abstract)
    assert Validator().check_request(english, ExtractiveProvider().summarize(english)) == []
    chinese = PaperRequest("1", "A paper", abstract, FIELDS, "Chinese")
    problems = Validator().check_request(chinese, ExtractiveProvider().summarize(chinese))
    assert {problem.code for problem in problems} == {"language"}


def test_semicolon_clauses_stand_in_when_sentences_are_few() -> None:
    out = ExtractiveProvider().summarize(
        paper("Prior work is slow; it also ignores memory. We propose Fast; it is 2x faster.")
    )
    assert len(set(out.values())) == 4  # four clauses for five fields


def test_only_requested_fields_and_deterministic() -> None:
    provider = ExtractiveProvider()
    out = provider.summarize(paper(SPARSE, ("tldr", "result")))
    assert list(out) == ["tldr", "result"]
    assert out == ExtractiveProvider().summarize(paper(SPARSE, ("tldr", "result")))


def test_fields_stay_within_schema_bounds() -> None:
    long_sentence = "We propose " + " ".join(["a very long method description"] * 80) + "."
    out = ExtractiveProvider(mark=True).summarize(paper(long_sentence + " " + SPARSE))
    for name, text in out.items():
        bounds = length_bounds(name)
        assert bounds.min_chars <= len(text) <= bounds.max_chars
    assert out["tldr"].endswith("…")


def test_bounds_are_injectable() -> None:
    tight: Mapping[str, LengthBounds] = {name: LengthBounds(10, 40) for name in FIELDS}
    out = ExtractiveProvider(bounds=tight).summarize(paper(SPARSE))
    assert all(len(text) <= 40 for text in out.values())


def test_trim_cuts_at_a_word() -> None:
    assert trim("alpha beta gamma", 12) == "alpha beta…"
    assert trim("short", 12) == "short"


def test_mark_prefixes_every_field() -> None:
    out = ExtractiveProvider(mark=True).summarize(paper(SPARSE))
    assert all(text.startswith(MARK_PREFIX) for text in out.values())


def test_output_is_one_line_without_markup() -> None:
    abstract = (
        "Prior `tools` are <b>slow</b>\nand brittle. We propose [FastTool](https://x.org), "
        "which is 2x faster. Experiments confirm it."
    )
    out = ExtractiveProvider().summarize(paper(abstract))
    text = " ".join(out.values())
    for bad in ("`", "<b>", "](", "\n", "https"):
        assert bad not in text
    assert "FastTool" in text


def test_short_abstracts_reuse_sentences_and_empty_ones_use_the_title() -> None:
    out = ExtractiveProvider().summarize(paper("We propose X for Y. It works well. Ke"))
    assert set(out.values()) == {"We propose X for Y.", "It works well."}  # "Ke" is too short
    out = ExtractiveProvider().summarize(paper("", ("tldr",), title="A title of the paper"))
    assert out == {"tldr": "A title of the paper"}


def test_generate_never_validates_and_reports_no_usage() -> None:
    def validate(request: PaperRequest, fields: Mapping[str, str]) -> list[Problem]:
        raise AssertionError("the last resort does not ask the validator")

    generation = asyncio.run(ExtractiveProvider().generate(paper(SPARSE), validate))
    assert (generation.provider, generation.model, generation.mode) == (
        "extractive",
        "extractive",
        "extractive",
    )
    assert generation.prompt_version == "extractive-v1"
    assert generation.usage.total == 0 and generation.usage.cached_tokens == 0
    assert list(generation.fields) == list(FIELDS)


def test_sections_follow_the_abstracts_order_and_gains_are_results() -> None:
    abstract = (
        "Natural-language feedback is an abundant but noisy source of guidance for agents. "
        "We propose TalkShape, a method that turns feedback into a shaping reward. "
        "A language model maps each utterance to a potential over states. "
        "In 4 sparse-reward environments, TalkShape reaches 90% of expert return with 3.1x fewer steps. "
        "With feedback from 24 people it still achieves a 2.4x gain. "
        "Our results indicate that potential shaping makes feedback a safe training signal."
    )
    out = ExtractiveProvider().summarize(paper(abstract))
    sentences = split_sentences(abstract)
    where = {role: next(i for i, s in enumerate(sentences) if out[role].startswith(s[:30])) for role in out}
    assert where["motivation"] < where["method"] < where["result"]
    assert out["motivation"].startswith("Natural-language feedback")
    assert "%" not in out["motivation"] and "x fewer" not in out["method"]
