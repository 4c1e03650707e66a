"""The glossary of measures: shipped as data, found next to numbers in both languages."""

from __future__ import annotations

import pytest

from pipeline.validate.measures import Glossary, Subjects, alike, glossary, same_subject


def _at(text: str, number: str) -> set[str]:
    start = text.index(number)
    return set(glossary().attached(text, start, start + len(number)).ids)


def test_the_glossary_is_package_data_of_a_few_hundred_names() -> None:
    names = sum(len(candidates) for candidates in glossary()._by_first.values()) + len(glossary()._other)
    assert 300 <= names <= 1000
    assert isinstance(Glossary.load(), Glossary)


@pytest.mark.parametrize(
    ("text", "number", "measure"),
    [
        ("实现约40%的均方根误差", "40%", "rmse"),
        ("准确率达到87.3%", "87.3%", "accuracy"),
        ("achieves 87.3% accuracy", "87.3%", "accuracy"),
        ("an accuracy of 87.3%", "87.3%", "accuracy"),
        ("achieving approximately 40% mean accuracy", "40%", "accuracy"),
        ("92.52%的分类准确率和92.76%的F1分数", "92.76%", "f1"),  # not the accuracy before 和
        ("提升5倍token加速", "5倍", "speedup"),  # a compound is named by its last word
        ("内存成本减少了约50%", "50%", "cost"),
        ("word error rate (WER) of 5.3", "5.3", "wer"),
        ("1.6 B参数", "1.6 B", "parameters"),
    ],
)
def test_the_measure_next_to_a_number(text: str, number: str, measure: str) -> None:
    assert measure in _at(text, number)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("在11个数据集上验证了SO在小样本适应中的优越性能", "11"),  # the clause's subject, far away
        ("在零样本设置下提升5%", "5%"),  # 零样本 holds 样本 but names no measure
        ("包含300个基于真实用户访谈的任务实例", "300"),
        ("实现了30.85倍的时间到首个token加速", "30.85倍"),
    ],
)
def test_no_measure_is_attached_from_afar(text: str, number: str) -> None:
    assert _at(text, number) == set()


def test_measures_of_different_kinds_are_not_compared() -> None:
    """An amount is not compared with a metric: "7B参数" vs "the 7B model ... higher recall"."""
    text = "the 7B model achieves higher recall"
    parameters = glossary().attached("7B参数", 0, 2)
    start = text.index("7B")
    assert glossary().agree_with_source(parameters, text, start, start + 2)


@pytest.mark.parametrize(
    ("first", "second", "same", "variants"),
    [
        ("LLaMA-2", "LLaMA-2-7B", True, False),  # a part of the other
        ("LLaMA-2-7B", "LLaMA-2-13B", False, True),
        ("CIFAR-10", "CIFAR-100", False, True),
        ("YOLOv8", "YOLOv12", False, True),
        ("VPP-SFT", "VPP-LLaVA", False, False),  # differ in words: maybe another kind
        ("LLMs", "LLM", True, False),
    ],
)
def test_names_of_one_thing_and_its_variants(first: str, second: str, same: bool, variants: bool) -> None:
    assert same_subject(first, second) is same
    assert alike(first, second) is variants


@pytest.mark.parametrize(
    ("text", "number", "names"),
    [
        ("recovers 2.26% on LLaMA-2-13B", "2.26%", {"LLaMA-2-13B"}),
        ("ViT-Tiny achieves 98.4% on it", "98.4%", {"ViT-Tiny"}),
        ("在A-1和B-2上分别达到91%和83%", "83%", {"B-2"}),
        ("91% and 83% on both sets", "91%", set()),  # a list of numbers, no list of names
    ],
)
def test_what_an_abstract_gives_a_number_for(text: str, number: str, names: set[str]) -> None:
    assert Subjects(text, tight=True).at(text.index(number)).names == names
