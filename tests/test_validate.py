"""The validator: one test per problem code, and its use as ``contracts.Validate``."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.contracts import PaperRequest, Validate
from pipeline.detect.language import english_prose
from pipeline.digest.placeholders import COMPLIANCE_REPLY
from pipeline.thresholds import DEFAULT_THRESHOLDS, Thresholds
from pipeline.validate.overlap import duplicates
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
    assert asyncio.run(validate(_request(), GOOD)) == []


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
    problems = DEFAULT_VALIDATOR.check_request(_request(("tldr",), "English"), {"tldr": GOOD["tldr"]})
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
    for value in ("<script>alert(1)</script>结论", "结论</details>", "### 结论", "结论\n### 小结\n"):
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
    phrase = "本文使用 Hierarchical Sparse Plus 压缩，困惑度为1.64。"
    assert "length" in [p.code for p in strict.check(TITLE, ABSTRACT, "Chinese", {"tldr": phrase})]
    assert DEFAULT_VALIDATOR.check(TITLE, ABSTRACT, "Chinese", {"tldr": phrase}) == []


def test_unknown_target_languages_are_not_judged() -> None:
    english = "HSS compresses LLaMA-7B with a sparse and a low-rank part."
    assert DEFAULT_VALIDATOR.check(TITLE, ABSTRACT, "Klingon", {"tldr": english}) == []


def test_a_field_that_repeats_another_twice_is_a_duplicate() -> None:
    once = "提出HSS压缩方法，在LLaMA-7B上取得更低的困惑度。"
    problems = duplicates({"tldr": once, "result": once + once}, DEFAULT_THRESHOLDS)
    assert [(p.code, p.field) for p in problems] == [("duplicate", "result")]


# The examples: real summaries (and real small-model answers) of the calibration set.


@pytest.mark.parametrize(
    "value",
    [
        "这项工作为AI心理健康平台的设计提供了指导。",  # "作为AI" inside "工作为AI"
        "研究大语言模型作为AI评分员的可靠性。",
        "作为语言模型基准测试的主流方式，多项选择题存在偏差。",
        "该会议作为AI领域的领导者，其审稿流程备受关注。",
    ],
)
def test_prose_that_contains_a_refusal_phrase_is_not_a_refusal(value: str) -> None:
    assert _codes({**GOOD, "motivation": value}) == set()


@pytest.mark.parametrize(
    "value",
    [
        "我无法根据摘要判断该方法的具体实现。",
        "作为AI，我无法访问论文全文。",
        "作为一个AI语言模型，我不能对该论文进行总结。",
        "As an AI, I don't have access to the full paper.",
        "I cannot summarize this paper without its full text.",
        "抱歉，无法完成该请求。",
        "该论文很有意思。抱歉，我无法继续。",
    ],
)
def test_first_person_and_whole_field_refusals_are_placeholders(value: str) -> None:
    assert ("placeholder", "method") in _codes({**GOOD, "method": value})


@pytest.mark.parametrize(
    "value",
    ["N/A", "无", "暂无", "暂无相关信息", "生成失败", "该字段生成失败，请参考原文摘要。", "...", "未提及具体结果。"],
)
def test_failure_stubs_are_placeholders(value: str) -> None:
    problems = DEFAULT_VALIDATOR.check(TITLE, ABSTRACT, "Chinese", {**GOOD, "result": value})
    assert [p.code for p in problems if p.field == "result"] == ["placeholder"]


@pytest.mark.parametrize(
    "value",
    [
        "未明确提及具体方法，但目标是解决水下环境带来的挑战。",
        "未在摘要中提供，需要完整文章内容来得出结论。",
        "摘要中未提供具体实验结果，但研究目标是开发一个系统。",
        "Not mentioned in the abstract.",
    ],
)
def test_non_answers_are_placeholders(value: str) -> None:
    assert ("placeholder", "result") in _codes({**GOOD, "result": value})


def test_a_conclusion_that_is_only_a_link_is_no_answer() -> None:
    only_link = "代码已开源，可在GitHub（Danielz-z/LGF-EEG-Emotion）获取。"
    assert ("placeholder", "conclusion") in _codes({**GOOD, "conclusion": only_link})
    with_content = "HSS兼顾硬件友好与压缩效果，代码已开源。"
    assert _codes({**GOOD, "conclusion": with_content}) == set()


def test_a_field_cut_mid_sentence_is_a_length_problem() -> None:
    cut = "在WikiText上困惑度为1.64，比稠密基线快3倍，显著提升了"
    problems = DEFAULT_VALIDATOR.check(TITLE, ABSTRACT, "Chinese", {**GOOD, "result": cut})
    assert [(p.code, p.field) for p in problems] == [("length", "result")]
    assert "cut off mid-sentence" in problems[0].message


def test_a_three_word_english_tldr_in_a_chinese_digest_is_english() -> None:
    assert ("language", "tldr") in _codes({**GOOD, "tldr": "HSS compresses LLaMA"})


def test_formulas_citations_and_metric_tuples_are_not_copied_prose() -> None:
    abstract = (
        "We report AUC: 0.967 vs 0.965; F1: 0.912 vs 0.908; precision 0.88 vs 0.87 (Smith et al., 2020) "
        "and the loss $\\Theta_{\\text{post}} - \\Theta_{\\text{pre}} = \\lambda \\cdot \\nabla L$ on GPT-4o, "
        "Claude-3, Gemini-1.5, Llama-3-8B, Qwen2-7B, Mistral-7B and Phi-3."
    )
    field = (
        "结果为AUC: 0.967 vs 0.965; F1: 0.912 vs 0.908; precision 0.88 vs 0.87，"
        "模型包括GPT-4o, Claude-3, Gemini-1.5, Llama-3-8B, Qwen2-7B, Mistral-7B and Phi-3。"
    )
    problems = DEFAULT_VALIDATOR.check("T", abstract, "Chinese", {"result": field})
    assert "length" not in [p.code for p in problems]


def test_a_list_one_item_per_line_is_fine_and_a_heading_is_not() -> None:
    listed = "1) 将最大权重移入稀疏矩阵；\n2) 对残差做层次低秩分解，外部秩为512。"
    assert _codes({**GOOD, "method": listed}) == set()
    assert ("markup", "method") in _codes({**GOOD, "method": "方法如下：\n### 步骤\n外部秩为512。"})


def test_a_bare_link_must_be_one_the_abstract_gives() -> None:
    abstract = ABSTRACT + " Code: https://github.com/example/hss."
    given = {**GOOD, "conclusion": "HSS兼顾硬件友好与压缩效果，代码见https://github.com/example/hss。"}
    assert DEFAULT_VALIDATOR.check(TITLE, abstract, "Chinese", given) == []
    invented = {**GOOD, "conclusion": "HSS兼顾硬件友好与压缩效果，代码见https://github.com/other/repo。"}
    problems = DEFAULT_VALIDATOR.check(TITLE, abstract, "Chinese", invented)
    assert [(p.code, p.field) for p in problems] == [("markup", "conclusion")]
    assert "github.com/other/repo" in problems[0].message


def test_a_field_pasted_inside_another_is_a_duplicate() -> None:
    pasted = {**GOOD, "motivation": GOOD["motivation"] + GOOD["method"] + GOOD["result"]}
    assert ("duplicate", "motivation") in _codes(pasted)
    # The TL;DR sums the others up: a TL;DR that restates the conclusion is fine.
    summing_up = {**GOOD, "tldr": GOOD["tldr"] + GOOD["conclusion"]}
    assert _codes(summing_up) == set()


def test_a_number_attached_to_the_wrong_measure_is_reported_as_such() -> None:
    abstract = "Our method achieves approximately 40% mean accuracy in 7-class emotion recognition."
    problems = DEFAULT_VALIDATOR.check("T", abstract, "Chinese", {"result": "实验中实现了约40%的均方根误差。"})
    assert [p.code for p in problems] == ["numbers"]
    assert "another measure" in problems[0].message


def test_the_number_check_reads_the_unit() -> None:
    abstract = "The detector runs at over 120 FPS and reaches 98.5% accuracy."
    fields = {"result": "检测器推理速度超过95 FPS，准确率为98.5%。"}
    assert [p.code for p in DEFAULT_VALIDATOR.check("T", abstract, "Chinese", fields)] == ["numbers"]


# A number given for another variant of a name (rehearsal, paper 2601.07878: the 13B
# model's recovery restated for the 7B model).
VARIANTS = "Our loss recovers 4.12% of the lost accuracy on LLaMA-2-7B, 0.93% on OPT-6.7B, and 2.26% on LLaMA-2-13B."


@pytest.mark.parametrize(
    "result",
    [
        "对于LLaMA-2-7B，我们的方法恢复了2.26%的准确率。",
        "在LLaMA-2-7B上恢复2.26%的准确率。",
    ],
)
def test_a_number_given_for_another_variant_of_a_name_is_reported(result: str) -> None:
    problems = DEFAULT_VALIDATOR.check("T", VARIANTS, "Chinese", {"result": result})
    assert [p.code for p in problems] == ["numbers"]
    assert "LLaMA-2-13B" in problems[0].message


@pytest.mark.parametrize(
    "result",
    [
        "在LLaMA-2-13B上恢复2.26%的准确率，在LLaMA-2-7B上恢复4.12%。",
        "在LLaMA-2-7B和LLaMA-2-13B上分别恢复4.12%和2.26%的准确率。",
        "在LLaMA-2上恢复2.26%的准确率。",  # the family, not another member of it
        "损失函数恢复了0.93%至4.12%的准确率。",  # no name: any
    ],
)
def test_a_number_given_for_its_own_name_or_none_passes(result: str) -> None:
    assert DEFAULT_VALIDATOR.check("T", VARIANTS, "Chinese", {"result": result}) == []


def test_a_field_that_says_a_sentence_twice_is_a_duplicate() -> None:
    # Rehearsal, paper 2601.07873: a small model looping inside one field.
    said = "实验结果表明，HSS在保持参数稳定的同时，有效提高了压缩效果，并保持了下游任务上的一般能力。"
    problems = duplicates({"result": said + said}, DEFAULT_THRESHOLDS)
    assert [(p.code, p.field) for p in problems] == [("duplicate", "result")]
    assert "says the same thing twice" in problems[0].message


def test_parallel_results_with_their_own_numbers_are_not_repetition() -> None:
    parallel = "在KTH数据集上将轨迹误差减少了67.9%，速度提升了2倍。在MRPB数据集上将轨迹误差减少了77.1%，速度提升了3倍。"
    assert duplicates({"result": parallel}, DEFAULT_THRESHOLDS) == []


ENGLISH_ABSTRACT = ABSTRACT + " HSS consistently beats dense baselines, compared to pruning."


@pytest.mark.parametrize(
    ("value", "run"),
    [
        ("HSS在多个基准上 consistently 优于稠密基线。", "consistently"),  # upstream, 22 real papers
        ("HSS consistently优于稠密基线，且更省内存。", "HSS consistently"),  # rehearsal 2601.07876
        ("困惑度更低。 compared to其他方法，HSS更省内存。", "compared to"),  # rehearsal 2601.07873
    ],
)
def test_english_prose_left_in_a_chinese_field_is_a_language_problem(value: str, run: str) -> None:
    problems = DEFAULT_VALIDATOR.check(TITLE, ENGLISH_ABSTRACT, "Chinese", {"result": value})
    assert [(p.code, p.message) for p in problems] == [("language", f"result leaves English untranslated: {run!r}")]


@pytest.mark.parametrize(
    "value",
    [
        "在Tanks and Temples数据集上表现优异，内存更省。",  # a name
        "提出“drawing to reason in space”范式，提升空间推理。",  # a quoted term
        "补语连词that的省略与信息密度相关。",  # a word being discussed
        "除obj_pp_to_subj_pp外，所有分割均完全匹配。",  # an identifier
        "HSS的token数量减少，fine-tuning成本更低。",  # technical words, no prose
    ],
)
def test_names_terms_and_technical_words_in_chinese_are_not_prose(value: str) -> None:
    assert english_prose(value) == []
