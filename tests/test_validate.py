"""The validator: one test per problem code, and its use as ``contracts.Validate``."""

from __future__ import annotations

from pipeline.contracts import PaperRequest, Validate
from pipeline.digest.placeholders import COMPLIANCE_REPLY
from pipeline.thresholds import Thresholds
from pipeline.validate.validator import DEFAULT_VALIDATOR, Validator

TITLE = "HSS: Hierarchical Sparse Plus Low-Rank Compression of LLaMA-7B"
ABSTRACT = (
    "We present Hierarchical Sparse Plus Low-Rank (HSS) compression. Experiments on LLaMA-7B "
    "show that with a 30% sparsity budget and an outer rank of 512, HSS achieves a perplexity "
    "of 1.64 on WikiText, 3x faster than dense baselines, using 1.6 B parameters."
)
GOOD = {
    "tldr": "提出HSS压缩方法，在LLaMA-7B上以30%稀疏度实现1.64的困惑度。",
    "motivation": "大语言模型对内存和算力要求极高，需要有原则的压缩方法。",
    "method": "将最大权重移入稀疏矩阵，并对残差做层次低秩分解，外部秩为512。",
    "result": "在WikiText上困惑度为1.64，比稠密基线快3倍，仅需16亿参数。",
    "conclusion": "HSS兼顾硬件友好与压缩效果，适合部署。",
}


def _request(fields: tuple[str, ...] = tuple(GOOD), language: str = "Chinese") -> PaperRequest:
    return PaperRequest("2601.07839", TITLE, ABSTRACT, fields, language)


def _codes(fields: dict[str, object], **kwargs: object) -> set[tuple[str, str | None]]:
    problems = DEFAULT_VALIDATOR.check(TITLE, ABSTRACT, "Chinese", fields, **kwargs)  # type: ignore[arg-type]
    return {(p.code, p.field) for p in problems}


def test_a_faithful_answer_passes_as_the_validate_callable() -> None:
    validate: Validate = DEFAULT_VALIDATOR
    assert validate(_request(), GOOD) == []


def test_schema_missing_extra_and_wrong_type() -> None:
    fields = {**GOOD, "tldr": 42, "extra": "x"}
    del fields["method"]
    codes = _codes(fields, expected=tuple(GOOD))
    assert {("schema", "tldr"), ("schema", "extra"), ("schema", "method")} <= codes
    assert _codes([]) == {("schema", None)}  # type: ignore[arg-type]


def test_placeholders_refusals_and_blanks() -> None:
    for value in (
        "Summary generation failed",
        COMPLIANCE_REPLY,
        "",
        "  ",
        "抱歉，我无法完成该任务。",
        "As an AI language model, I cannot do that.",
        "结论如下：Method extraction failed",
    ):
        assert ("placeholder", "method") in _codes({**GOOD, "method": value})


def test_a_quoted_refusal_or_one_the_abstract_contains_is_not_a_refusal() -> None:
    quoted = "现有基准忽视了偏转回答（如“抱歉，我无法回答”）的重要性。"
    assert _codes({**GOOD, "motivation": quoted}) == set()
    problems = DEFAULT_VALIDATOR.check(
        "T",
        "Models answer 'I cannot help' too often.",
        "English",
        {"tldr": "Models say I cannot help too often, which hurts."},
    )
    assert [p.code for p in problems] == []


def test_language_english_in_a_chinese_digest_and_the_reverse() -> None:
    english = "HSS compresses LLaMA-7B with a sparse and a low-rank part."
    assert ("language", "tldr") in _codes({**GOOD, "tldr": english})
    problems = DEFAULT_VALIDATOR(_request(("tldr",), "English"), {"tldr": GOOD["tldr"]})
    assert [p.code for p in problems] == ["language"]


def test_latin_names_inside_chinese_are_normal() -> None:
    assert _codes({**GOOD, "tldr": "HSS在LLaMA-7B和WikiText上的困惑度为1.64，压缩效果显著。"}) == set()


def test_numbers_the_abstract_does_not_support() -> None:
    assert ("numbers", "result") in _codes({**GOOD, "result": "困惑度为1.46，比稠密基线快3倍。"})
    assert ("numbers", "result") in _codes({**GOOD, "result": "困惑度为1.64，比稠密基线快5倍。"})


def test_numbers_derived_the_way_real_summaries_do() -> None:
    fine = "约30%的稀疏度、外部秩512，困惑度1.64，快3倍，16亿参数（1.6B）。"
    assert _codes({**GOOD, "result": fine}) == set()


def test_foreign_names() -> None:
    assert ("terms", "method") in _codes({**GOOD, "method": GOOD["method"] + "并与XGBoost对比。"})
    assert _codes({**GOOD, "method": GOOD["method"] + "并在GPU上与基线对比。"}) == set()


def test_markup() -> None:
    for value in ("<script>alert(1)</script>结论", "结论</details>", "### 结论", "结论\n第二行"):
        assert ("markup", "conclusion") in _codes({**GOOD, "conclusion": value + "HSS兼顾硬件友好。"})


def test_length_bounds_and_copied_abstract() -> None:
    assert ("length", "tldr") in _codes({**GOOD, "tldr": "HSS。"})
    assert ("length", "tldr") in _codes({**GOOD, "tldr": "很好的方法。" * 200})
    copied = (
        "本文在大语言模型压缩任务中指出，experiments on llama-7b show that with a 30% "
        "sparsity budget and an outer rank of 512，这说明层次稀疏与低秩分解相结合能有效降低内存占用。"
    )
    assert ("length", "tldr") in _codes({**GOOD, "tldr": copied})


def test_duplicate_fields_are_reported_once_each() -> None:
    codes = _codes({**GOOD, "method": GOOD["tldr"], "result": GOOD["tldr"]})
    assert {("duplicate", "method"), ("duplicate", "result")} <= codes


def test_thresholds_are_tunable() -> None:
    strict = Validator(Thresholds().with_overrides(["copied_words=3"]))
    phrase = "本文使用 outer rank of 512 的设置，困惑度为1.64。"
    assert "length" in [p.code for p in strict.check(TITLE, ABSTRACT, "Chinese", {"tldr": phrase})]
    assert DEFAULT_VALIDATOR.check(TITLE, ABSTRACT, "Chinese", {"tldr": phrase}) == []


def test_unknown_target_languages_are_not_judged() -> None:
    english = "HSS compresses LLaMA-7B with a sparse and a low-rank part."
    assert DEFAULT_VALIDATOR.check(TITLE, ABSTRACT, "Klingon", {"tldr": english}) == []


def test_a_field_that_repeats_another_twice_is_a_duplicate() -> None:
    once = "提出HSS压缩方法，在LLaMA-7B上取得更低的困惑度。"
    problems = Validator()._duplicates({"tldr": once, "result": once + once})
    assert [(p.code, p.field) for p in problems] == [("duplicate", "result")]
