"""What counts as a failed field: upstream's placeholders, fork texts, stubs, non-answers."""

from __future__ import annotations

import pytest

from pipeline.digest.placeholders import DEFAULT_MATCHER, UPSTREAM_DEFAULTS, PlaceholderMatcher


@pytest.mark.parametrize(
    "value",
    [
        *UPSTREAM_DEFAULTS.values(),
        "Error",
        "",
        "   ",
        # Short stubs, whole-field: scan lists them and repair fixes them.
        "N/A",
        "n/a.",
        "无",
        "无。",
        "暂无",
        "暂无相关信息",
        "生成失败",
        "该字段生成失败，请参考原文摘要。",
        "...",
        "…",
        "None",
        # Non-answers that say nothing else, seen in real upstream output.
        "未提及具体结果。",
        "未明确提及具体结果。",
        "未提及具体方法。",
        "未在摘要中明确说明",
        "论文尚未提供具体实验结果",
        "暂无实验结果。",
        "Not mentioned in the abstract.",
    ],
)
def test_stubs_and_bare_non_answers_are_failed(value: str) -> None:
    assert DEFAULT_MATCHER.is_failed(value)


@pytest.mark.parametrize(
    "value",
    [
        "未来的研究方向包括多模态融合。",  # 未 opens no non-answer here
        "无监督方法在三个数据集上表现最好。",
        "暂停机制降低了延迟。",
        "这是一个无需训练的方法。",
        "None of the baselines converge.",
        # A non-answer that goes on has some content: not failed, but the validator rejects it.
        "未明确提及具体方法，但目标是解决水下环境带来的挑战。",
    ],
)
def test_ordinary_fields_are_not_failed(value: str) -> None:
    assert not DEFAULT_MATCHER.is_failed(value)


def test_non_answers_and_pointers_are_told_apart_from_answers() -> None:
    assert DEFAULT_MATCHER.non_answer("未明确提及具体方法，但目标是解决水下环境带来的挑战。") == "未明确提及"
    assert DEFAULT_MATCHER.non_answer("代码已开源，可在GitHub（Danielz-z/LGF-EEG-Emotion）获取。") == "only a link"
    assert DEFAULT_MATCHER.non_answer("The code is available at https://github.com/a/b.") == "only a link"
    assert DEFAULT_MATCHER.non_answer("AgentA/B利用大语言模型模拟用户行为。") is None
    assert DEFAULT_MATCHER.non_answer("EyeSeg显著提升了AR/VR中的视线估计性能，代码已开源。") is None


def test_a_stub_is_not_looked_for_inside_a_value() -> None:
    """Only long, distinctive placeholders are found inside a value: "暂无相关信息表明…" is prose."""
    assert DEFAULT_MATCHER.contains_placeholder("目前暂无相关信息表明该方法失效。") is None
    assert DEFAULT_MATCHER.contains_placeholder("结论：该字段生成失败，请参考原文摘要。") is not None


def test_extra_placeholders_still_match_whole_values() -> None:
    matcher = PlaceholderMatcher(["(待补全)"])
    assert matcher.is_failed("(待补全)") and not matcher.is_failed("方法(待补全)说明")
