"""A field cut off mid-sentence, told apart from real fields written without a full stop."""

from __future__ import annotations

import pytest

from pipeline.thresholds import DEFAULT_THRESHOLDS as T
from pipeline.validate.endings import clause_endings, cut_off
from pipeline.validate.terms import Vocabulary

ANSWER = {
    "tldr": "提出一种稀疏低秩压缩方法，在LLaMA-7B上取得1.64的困惑度。",
    "motivation": "大语言模型对内存和算力要求极高。",
    "method": "将最大权重移入稀疏矩阵，并对残差做层次低秩分解。",
    "result": "在WikiText上困惑度为1.64，比稠密基线快3倍。",
    "conclusion": "该方法兼顾硬件友好与压缩效果。",
}


def _cut(name: str, value: str, answer: dict[str, str] = ANSWER) -> str | None:
    vocabulary = Vocabulary(["Hierarchical Sparse Plus Low-Rank compression of Transformer models on WikiText"])
    return cut_off(name, {**answer, name: value}, T.truncation_min_context, vocabulary.is_fragment)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("result", "在WikiText上困惑度为1.64，比稠密基线显著提升了"),  # the "…提升了"
        ("result", "在WikiText上困惑度为1.64，"),
        ("method", "将最大权重移入稀疏矩阵（并对残差"),
        ("method", "将最大权重移入稀疏矩阵，并对残差做层次低秩分解和"),
        ("conclusion", "该方法兼顾硬件友好与压缩效果，适合部署在边缘设"),  # no final stop, the others have one
        ("tldr", "提出一种稀疏低秩压缩方法，在LLaMA-7B上取得1.64的困"),  # half a word
        ("tldr", "提出一种稀疏低秩压缩方法，通过微调，模"),  # a last clause of one character
        ("method", "将最大权重移入稀疏矩阵，并对残差做层次低秩分解，基于Transfor"),  # half a Latin word
        ("result", "The method improves perplexity on WikiText and"),
    ],
)
def test_fields_cut_mid_sentence(name: str, value: str) -> None:
    assert _cut(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tldr", "评估自我中心视频中的时间理解能力"),  # a headline TL;DR without a full stop
        ("tldr", "基于Thrust库的GPU加速SBD实现，相比CPU执行获得最高40倍加速，显著减少SQD迭代总时间"),  # 2026 style
        ("tldr", "提出一种稀疏低秩压缩方法，代码已开源在GitHub上"),
        ("tldr", "稀疏低秩压缩基于Transformer"),
        ("method", "1) 采用可学习提示 2) 引入轻量级模块 3) 构建数据集"),  # list items
        ("method", "包括1）可学习提示，2）轻量级模块。"),  # closers of list markers
        ("conclusion", "这种假设是不充分的。"),
        ("conclusion", 'Mj\\"olnir是有效的闪电参数化工具。'),  # a LaTeX accent left over
        ("result", "模型在“中奖票”子网络上保持性能，即‘默读’能力。"),
        ("method", "内存高效的预热机制（从O(2p)降到O(p + p/k)）和协同耦合。"),  # mixed-width brackets
        ("result", "推理速度超过1000 FPS"),  # no field of this answer ends with a full stop
    ],
)
def test_complete_fields(name: str, value: str) -> None:
    answer = ANSWER if name != "result" or value.endswith("。") else {n: v.rstrip("。") for n, v in ANSWER.items()}
    assert _cut(name, value, answer) is None


def test_the_clause_endings_are_package_data_of_whole_words() -> None:
    endings = clause_endings()
    assert {"能力", "性能", "方法", "模型", "视频"} <= endings
    assert "时空视" not in endings and all(len(word) == 2 for word in endings)
