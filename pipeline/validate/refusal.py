"""A model's refusal written instead of a summary: the one list of its phrases.

A refusal speaks in the first person ("我无法", "I cannot", "As an AI, I ...") or is the
whole answer ("抱歉，…", "无法完成该请求。"). Matching the bare phrases anywhere read
ordinary prose as refusals: "这项工作为AI心理健康平台…" contains 作为AI, and "LLM作为AI评分员"
or "作为语言模型基准测试的主流方式" use 作为 as "as". So a role ("as an AI") only counts when
the writer goes on as "I", and an apology or "cannot do it" only when it opens the field
or a sentence. Quoted refusals ("如“抱歉，我无法回答”") describe one, and phrases the
abstract itself uses (a paper about refusals) are its subject.
"""

from __future__ import annotations

import re

# A summary never says "I": these are refusals wherever they stand.
FIRST_PERSON: tuple[str, ...] = (
    "i cannot",
    "i can't",
    "i can not",
    "i'm sorry",
    "i am sorry",
    "i apologize",
    "i'm unable",
    "i am unable",
    "i don't have access",
    "i do not have access",
    "我无法",
    "我不能",
    "我没有办法",
    "我很抱歉",
    "我们无法提供",
)
# Roles a model refuses in, counted only when followed by "I"/"我".
ROLES: tuple[str, ...] = (
    "as an ai",
    "as an ai language model",
    "as an ai assistant",
    "as a language model",
    "as a large language model",
    "as an llm",
    "作为一个ai",
    "作为ai",
    "作为一个人工智能",
    "作为人工智能",
    "作为一个语言模型",
    "作为语言模型",
    "作为一个ai语言模型",
    "作为ai语言模型",
    "作为一个人工智能语言模型",
    "作为ai助手",
    "作为一个ai助手",
)
# Apologies and "cannot do it", counted when they open the field or a sentence.
OPENINGS: tuple[str, ...] = (
    "sorry",
    "unfortunately, i",
    "抱歉",
    "对不起",
    "很遗憾",
    "非常抱歉",
    "很抱歉",
    "无法完成",
    "无法回答",
    "无法生成",
    "无法提供",
    "无法总结",
    "无法根据",
)


def _alternation(phrases: tuple[str, ...]) -> str:
    return "|".join(sorted((re.escape(p).replace(r"\ ", r"\s+") for p in phrases), key=len, reverse=True))


_REFUSAL = re.compile(
    r"(?:" + _alternation(FIRST_PERSON) + r")"
    r"|(?:" + _alternation(ROLES) + r")\s*[，,:：]?\s*(?:i\b|我)"
    r"|(?:^|(?<=[。！？.!?；;]))\s*(?:" + _alternation(OPENINGS) + r")",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」|『[^』]*』|‘[^’]*’")


# Every phrase above holds one of these: most fields are spared the full search.
_HINTS = re.compile(r"[iI][ '’]|我|抱歉|对不起|遗憾|无法|[Ss]orry|[Uu]nfortunately")


def refusal(value: str, abstract: str) -> str | None:
    """The refusal phrase ``value`` reads as, or None."""
    if not _HINTS.search(value):
        return None
    for match in _REFUSAL.finditer(_QUOTED.sub("", value)):
        phrase = match.group().strip()
        if phrase.lower() not in abstract.lower():
            return phrase
    return None
