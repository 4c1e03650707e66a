"""Texts that the upstream pipeline and its forks write when a generation failed.

A field is failed when its *whole* value (stripped) equals one of these, or starts with
one of the prefixes, or is a bare stub: a short "nothing here" ("N/A", "无", "暂无") or a
non-answer that only says the abstract does not give it ("未明确提及具体结果。"). Matching
whole values matters: "compliance test" also occurs inside real abstracts and summaries.

A value that *opens* with a non-answer and goes on ("未明确提及具体方法，但目标是…") is not
failed for ``scan`` (it has some content), but the validator rejects it: it does not do
the field's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The upstream's per-field defaults (daily-arXiv-ai-enhanced, ai/enhance.py).
UPSTREAM_DEFAULTS: dict[str, str] = {
    "tldr": "Summary generation failed",
    "motivation": "Motivation analysis unavailable",
    "method": "Method extraction failed",
    "result": "Result analysis unavailable",
    "conclusion": "Conclusion extraction failed",
}

COMPLIANCE_REPLY = "This content has not passed the compliance test and has been hidden."

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        *UPSTREAM_DEFAULTS.values(),
        "Processing failed",
        "Error",  # the upstream's placeholder before late 2025
        COMPLIANCE_REPLY,
        # Well-known forks.
        "错误：AI分析失败。",
        "深度总结生成失败",
        "(分析失败)",
        "未通过合规检测",
        "AI enhancement unavailable; see the original abstract.",
        "该字段生成失败，请参考原文摘要。",
    }
)

PLACEHOLDER_PREFIXES: tuple[str, ...] = ("AI enhancement failed after retries",)

# Short stubs that stand for "no answer", compared case-insensitively and without a final
# full stop. Too short or too common to look for inside a value.
STUBS: frozenset[str] = frozenset(
    {
        "n/a",
        "na",
        "none",
        "null",
        "nil",
        "tbd",
        "todo",
        "-",
        "--",
        "—",
        "…",
        "...",
        "无",
        "暂无",
        "暂无相关信息",
        "暂无信息",
        "无相关信息",
        "生成失败",
        "分析失败",
        "不适用",
        "待补充",
        "略",
    }
)

# Openings of a non-answer: the field says the abstract does not give what it asks for.
_NOT_GIVEN = (
    r"(?:(?:该|本)?(?:论文|文章|研究|工作|文中)|摘要(?:中)?)?\s*(?:尚)?未(?:在摘要中)?(?:明确)?"
    r"(?:提及|提到|说明|提供|给出|报告|描述|涉及)"
    r"|暂无"
    r"|(?:not|never)\s+(?:explicitly\s+)?(?:mentioned|specified|stated|provided|reported|given|described)"
    r"|(?:the\s+)?(?:abstract|paper)\s+does\s+not\s+(?:explicitly\s+)?(?:mention|specify|state|provide|report|give)"
)
NON_ANSWER = re.compile(r"\s*(?:" + _NOT_GIVEN + ")", re.IGNORECASE)
# A non-answer and nothing else: at most a short object ("具体结果", "in the abstract").
_BARE_NON_ANSWER = re.compile(r"\s*(?:" + _NOT_GIVEN + r")[^，,；;。.!?！？]{0,16}[。.!?！？]?\s*", re.IGNORECASE)
_FINAL_STOP = re.compile(r"[\s。.！!]+$")

# A field that only says where the code is ("代码已开源，可在GitHub（owner/repo）获取。") is
# no answer either: once links, repository names, "the code is available" and where to
# find it are taken away, nothing is left.
_POINTER = re.compile(
    r"https?://[!-~]+|www\.[!-~]+|(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
    r"|(?:the\s+)?(?:source\s+)?(?:code|data(?:sets?)?|models?|weights|implementation|benchmark)s?"
    r"(?:\s*(?:,|and)\s*(?:code|data(?:sets?)?|models?|weights))*\s+(?:is|are|will\s+be|has\s+been|have\s+been)"
    r"\s+(?:made\s+)?(?:publicly\s+|openly\s+|freely\s+)?(?:available|released|open-sourced)"
    r"|(?:源?代码|源码|数据集?|模型|权重|实现)(?:(?:和|与|及|、)(?:源?代码|数据集?|模型|权重))*(?:已|将|均|已经)*"
    r"(?:开源|公开|发布)",
    re.IGNORECASE,
)
# A pointer-only field is short and names one of these; most fields are spared the rest.
_POINTER_MAX_CHARS = 300
_POINTER_HINT = re.compile(r"/|http|www\.|开源|公开|发布|available|released", re.IGNORECASE)
_WHERE = re.compile(
    r"可在|可于|可通过|请见|详见|参见|见|地址[为是]?|链接|获取|下载|找到|查看|访问|获得|上|中|于"
    r"|\b(?:available|at|on|via|from|in|see|github|hugging\s?face|project|page|website|repository|repo)\b"
    r"|github|huggingface|项目主页|主页|网站|仓库|[\s\W_]",
    re.IGNORECASE,
)


def _stub_key(value: str) -> str:
    """``value`` compared as a stub: case-folded, without a final full stop ("无。", "N/A.")."""
    text = value.strip()
    return (_FINAL_STOP.sub("", text) or text).casefold()


class PlaceholderMatcher:
    """Decides whether a field value is a failure placeholder (or empty)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._exact = PLACEHOLDERS | {text.strip() for text in extra if text.strip()}
        # What may be found inside a value: long enough not to occur in ordinary prose.
        inside = sorted((t for t in (*self._exact, *PLACEHOLDER_PREFIXES) if len(t) > 5), key=len, reverse=True)
        self._inside = re.compile("|".join(map(re.escape, inside)))

    def is_failed(self, value: str | None) -> bool:
        """True for a missing, blank, placeholder or stub value (see the module)."""
        if value is None:
            return True
        text = value.strip()
        return (
            not text
            or text in self._exact
            or text.startswith(PLACEHOLDER_PREFIXES)
            or _stub_key(text) in STUBS
            or _BARE_NON_ANSWER.fullmatch(text) is not None
        )

    def contains_placeholder(self, value: str) -> str | None:
        """The placeholder found anywhere inside ``value`` (the validator's stricter test)."""
        match = self._inside.search(value)
        return match.group() if match else None

    @staticmethod
    def non_answer(value: str) -> str | None:
        """What makes ``value`` a non-answer: its opening ("未明确提及"), or that it is only
        a pointer to code or data; None for an answer."""
        match = NON_ANSWER.match(value)
        if match:
            return match.group().strip()
        if len(value) < _POINTER_MAX_CHARS and _POINTER_HINT.search(value):
            rest, pointers = _POINTER.subn(" ", value)
            if pointers and not _WHERE.sub("", rest):
                return "only a link"
        return None


DEFAULT_MATCHER = PlaceholderMatcher()
