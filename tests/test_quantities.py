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
    (quantity,) = extract("3850万")
    assert (3.85e7, 5e3) in quantity.values


def test_approximation_words_widen_the_tolerance() -> None:
    assert extract("约40%")[0].approximate
    assert extract("40%左右")[0].approximate
    assert not extract("达到40%")[0].approximate
    assert not extract("21个多峰函数")[0].approximate


def test_a_small_number_ending_a_sentence_is_a_quantity_not_a_list_marker() -> None:
    assert [q.text for q in extract("HSS improves BLEU on WMT by 7.")] == ["7"]
    assert extract("The steps: 1. collect, 2) train.") == []
