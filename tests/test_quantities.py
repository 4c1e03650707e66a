"""Number extraction and normalisation: what counts as the same quantity."""

from __future__ import annotations

import pytest

from pipeline.thresholds import DEFAULT_THRESHOLDS as T
from pipeline.validate.quantities import Source, extract, unsupported


def _supported(field: str, abstract: str) -> bool:
    source = Source.of([abstract])
    return not unsupported(field, source, T.number_tolerance, T.number_approx_tolerance)


@pytest.mark.parametrize(
    ("field", "abstract"),
    [
        ("处理超过100万条", "over 1,000,000 records"),
        ("提升40.2%", "improves by 40.2\\%"),
        ("约40%", "improves accuracy by 40.2%"),
        ("40%", "a 40.2% gain"),
        ("快10倍", "10x faster"),
        ("快10倍", "10$\\times$ faster"),
        ("快10倍", "a 10× speed-up"),
        ("快10倍", "tenfold faster"),
        ("400个样本", "with $400$ samples"),
        ("3850万参数", "38.5 million parameters"),
        ("3850万参数", "38.5M parameters"),
        ("700亿参数", "70 billion parameters"),
        ("700亿参数", "a 70B model"),
        ("7B模型", "7 billion parameters"),
        ("128K上下文", "128k context"),
        ("1.01-1.74倍加速", "speedups of 1.01-1.74x"),
        ("3个数据集", "three datasets"),
        ("超200万样本", "over two million samples"),
        ("r=-0.35", "a correlation of r = -.35"),
        ("准确率0.87", "87% accuracy"),
        ("准确率87%", "an accuracy of 0.87"),
        ("自2018年以来", "released between 2018 and 2026"),
        ("提升20个百分点", "an improvement of 20 pp"),
    ],
)
def test_restated_quantities_are_supported(field: str, abstract: str) -> None:
    assert _supported(field, abstract)


@pytest.mark.parametrize(
    ("field", "abstract"),
    [
        ("提升45%", "improves by 40.2%"),
        ("快12倍", "10x faster"),
        ("3850万参数", "38.5 billion parameters"),
        ("700亿参数", "a 7B model"),
        ("约14个", "15 functions"),
        ("2025年", "released in 2024"),
    ],
)
def test_changed_quantities_are_not_supported(field: str, abstract: str) -> None:
    assert not _supported(field, abstract)


@pytest.mark.parametrize(
    "text",
    [
        "(1) 提出方法 (2) 实验",
        "1) 提出；2) 分析",
        "1. 提出；2. 分析",
        "①提出②分析",
        "（3）结论",
        "GPT-4o 与 Llama-3.1-8B",
        "F1 和 COVID-19",
        "参数ω0",
    ],
)
def test_enumerations_and_names_are_not_quantities(text: str) -> None:
    assert extract(text) == []


def test_scaled_values_keep_their_rounding() -> None:
    # A number written with 万/亿 may be rounded or truncated at its last significant digit:
    # "3850万" is 38.5 million give or take 100,000, "2.349亿" is 234,954,223 too.
    (quantity,) = extract("3850万")
    assert (3.85e7, 1e5) in quantity.values
    (quantity,) = extract("2.349亿")
    assert quantity.values[0][1] == pytest.approx(1e5)


def test_approximation_words_widen_the_tolerance() -> None:
    assert extract("约40%")[0].approximate
    assert extract("40%左右")[0].approximate
    assert not extract("达到40%")[0].approximate
    assert not extract("21个多峰函数")[0].approximate


def test_a_small_number_ending_a_sentence_is_a_quantity_not_a_list_marker() -> None:
    assert [q.text for q in extract("HSS improves BLEU on WMT by 7.")] == ["7"]
    assert extract("The steps: 1. collect, 2) train.") == []


# The examples (real summaries and abstracts of the calibration set), each a case
# that used to be a false alarm: the number is read the same way on both sides.
@pytest.mark.parametrize(
    ("field", "abstract"),
    [
        ("在35亿token上训练", "trained on 3.5B tokens"),  # a magnitude before Latin letters
        ("包含1.459亿token", "145,900,000 tokens"),
        ("超过80%的样本", "in $\\geq80\\%$ of the cases"),  # LaTeX glued to the number
        ("约24%", "improves by $\\sim24\\%$"),
        ("1024²分辨率", "at $1024^2$ resolution"),  # a superscript is a power
        ("1024²分辨率", "at 1024x1024 resolution"),
        ("25个模型", "twenty-five models"),  # hyphenated number words
        ("177名参与者", "one hundred seventy seven participants"),
        ("约5亿参数", "half a billion parameters"),
        ("2026年3月发布", "released in March 2026"),  # a date's month
        ("在阶段2中微调", "the model is fine-tuned in the second stage"),  # a label, not a quantity
        ("50亿个样本，其中2.349亿个", "$5\\times10^9$ samples, of which 234,954,223"),
        ("超过9亿个节点", "900+ million nodes"),
        ("900多万样本", "over 9 million samples"),
        ("900-1400万网格单元", "9 to 14 million cells"),
        ("42.8万样本", "428,966 samples"),
        ("准确率为10,000", "10.000 images"),
        ("耗时48小时", "a 48-hour forecast"),
        ("推理时间仅250毫秒", "inference in only 250 milliseconds"),
        ("BLEU为74.8%", "a BLEU score of 74.8"),
        ("性能提升28%", "performance gains of 28+% on Screenspot-pro"),
        ("准确率约55-70%", "accuracies typically around 55--70%"),
    ],
)
def test_real_restatements_are_supported(field: str, abstract: str) -> None:
    assert _supported(field, abstract)


@pytest.mark.parametrize(
    ("field", "abstract"),
    [
        # A number matched without its unit: 95 is within 约's 5% of an unrelated 98.5%.
        ("推理速度超过95 FPS", "It runs at over 120 FPS with 98.5% accuracy."),
        ("约96%", "reduces storage by nearly 50%. First, we ..."),  # "first" is no 100%
        ("3亿参数模型", "our compact 3-billion-parameter model"),  # 3亿 is 300 million
        ("2.5倍加速", "a 2.5% gain"),
    ],
)
def test_a_number_must_keep_its_unit(field: str, abstract: str) -> None:
    assert not _supported(field, abstract)


def test_a_number_keeps_its_measure() -> None:
    """A real small model wrote "约40%的均方根误差" (RMSE) for "40% mean accuracy"."""
    abstract = "achieving approximately 40% mean accuracy in 7-class emotion recognition."
    assert _supported("准确率约为40%", abstract)
    assert _supported("实现约40%的平均准确率", abstract)
    assert not _supported("实现约40%的均方根误差", abstract)
    (quantity,) = unsupported("实现约40%的均方根误差", Source.of([abstract]), 0.0, 0.05)
    assert "rmse" in quantity.measure.ids


def test_a_number_keeps_its_measure_across_a_list_of_metrics() -> None:
    """A number the abstract lists among several metrics agrees with each of them, and one
    the abstract names no measure for agrees with any."""
    listed = "Random forest achieved the highest performance (accuracy, F1, precision, recall, ROC-AUC near 0.85)."
    assert _supported("随机森林准确率接近0.85", listed)
    both = "a classification accuracy of 92.52% and an F1-score of 92.76%"
    assert _supported("92.52%的分类准确率和92.76%的F1分数", both)
    assert _supported("在30亿参数LLaMA模型上", "on a 3B LLaMA model the compression ratio is higher")


def test_parameters_are_not_a_percentage() -> None:
    """A real small model wrote "占总7B参数的1.6%" for "1.6B parameters of 7B"."""
    abstract = (
        "targeting only the self-attention projections (1.6 B parameters of Q, K, and V matrices out of a "
        "total 7B parameters) suffices. For example, sHSS-RCM achieves a perplexity of 1.64."
    )
    assert _supported("1.6 B参数的Q、K和V矩阵", abstract)
    assert not _supported("占总7B参数的1.6%", abstract)


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("2026年3月", ["2026"]),  # the month is a date's, compared as a month
        ("阶段2", []),
        ("1）4D感知掩码", []),
        ("1)将响应分割 2)每步 3)冻结", []),
        ("3D高斯", []),
        ("GPT-4o", []),
    ],
)
def test_dates_labels_markers_and_names_are_not_claims(text: str, claims: list[str]) -> None:
    assert [q.text for q in extract(text) if q.unit != "month"] == claims
