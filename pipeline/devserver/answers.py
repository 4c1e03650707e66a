"""What the development server reads from a chat request and what it answers.

The answers must pass the fidelity validator, so they quote only numbers and Latin
names copied verbatim from the abstract; everything else is template text in the target
language, different for each field so no two fields look like duplicates.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..detect.language import normalize_language
from ..digest.fields import FIELDS

_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
_ABSTRACT = re.compile(r"<abstract>(.*?)</abstract>", re.DOTALL)
_LANGUAGE = re.compile(r"^\s*Target language:\s*(.+?)\s*$", re.MULTILINE)
_FIELD_LIST = re.compile(r"^\s*Fields to write:\s*(.+?)\s*$", re.MULTILINE)
_STYLE_EXAMPLE = re.compile(r"<style_example>\s*(.*?)\s*</style_example>", re.DOTALL)
_REASK_OPENING = "Your previous answer for this paper could not be used"
# What prompt.py does to our delimiter tags inside data ("</abstract>" -> "<\/abstract>").
_NEUTRALISED_TAG = re.compile(r"<\\(/?\s*(?:title|abstract|style_example)\s*)>", re.IGNORECASE)

# Acronyms and CamelCase names ("BERT", "LoRA", "ImageNet", "GPT-4"); a lone capitalised
# word ("We", "The") is ordinary prose, not a name.
_NAME = re.compile(r"\b[A-Za-z]*[A-Z][a-z]*[A-Z][A-Za-z]*(?:-[A-Za-z0-9]+)*\b")
# Numbers with the unit or sign that belongs to them ("1.64", "12.5%", "3x"), but not
# enumerators "(1)", parts of names ("GPT-4", "21K") or LaTeX, which validators ignore.
_NUMBER = re.compile(r"(?<![\w.,(-])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?%|x\b|×|(?![\w)]|\.\w))")
_MATH = re.compile(r"\$[^$]*\$|\\[A-Za-z]+\{[^}]*\}")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

MAX_NAMES = 3
MAX_NUMBERS = 3


@dataclass(frozen=True)
class ChatTask:
    """The paper and instructions a chat request carries, by this project's prompt convention."""

    title: str
    abstract: str
    language: str
    fields: tuple[str, ...]


def _message_text(message: Mapping[str, Any]) -> str:
    """A message's text, whether ``content`` is a string or a list of parts."""
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content if isinstance(part, Mapping))


def parse_task(body: Mapping[str, Any]) -> ChatTask:
    """Read the task from a chat request body.

    Each item is taken from the latest user message that has it, so a re-ask (which adds
    a user message with the problems, maybe narrowing the fields) is understood. A
    ``json_schema`` response format names the fields by its ``properties``.
    """
    users = [_message_text(m) for m in body.get("messages", []) if m.get("role") == "user"]

    def latest(pattern: re.Pattern[str]) -> str | None:
        for text in reversed(users):
            found = pattern.search(text)
            if found:
                return found.group(1).strip()
        return None

    fields: tuple[str, ...] = FIELDS
    response_format = body.get("response_format") or {}
    properties = (response_format.get("json_schema") or {}).get("schema", {}).get("properties")
    listed = latest(_FIELD_LIST)
    if properties:
        fields = tuple(properties)
    elif listed:
        fields = tuple(part.strip() for part in listed.split(",") if part.strip())
    return ChatTask(
        title=latest(_TITLE) or "",
        abstract=latest(_ABSTRACT) or "",
        language=normalize_language(latest(_LANGUAGE) or "English"),
        fields=fields,
    )


def is_reask(body: Mapping[str, Any]) -> bool:
    """A re-ask (``prompts/reask.txt``): its last user message opens with the problems of
    the previous answer for the same paper."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return bool(users) and _message_text(users[-1]).startswith(_REASK_OPENING)


def leaked_answer(body: Mapping[str, Any], task: ChatTask) -> dict[str, Any] | None:
    """The requested fields of the prompt's first style example; None without examples.

    The examples are the fields of other papers, fenced in ``<style_example>`` blocks of
    the system message: copied into the answer, they describe the wrong paper.
    """
    system = " ".join(_message_text(m) for m in body.get("messages", []) if m.get("role") == "system")
    found = _STYLE_EXAMPLE.search(system)
    if found is None:
        return None
    try:
        fields = json.loads(_NEUTRALISED_TAG.sub(lambda match: "<" + match.group(1) + ">", found.group(1)))
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    written = build_answer(task)
    return {name: fields.get(name, written[name]) for name in task.fields}


def _unique(items: Sequence[str], limit: int) -> list[str]:
    """The first ``limit`` distinct items, in order of appearance."""
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen[:limit]


def build_answer(task: ChatTask) -> dict[str, str]:
    """One text per requested field, in the task's language, quoting only the abstract."""
    # Names the title repeats are most likely the paper's own method: quote them first.
    found = _NAME.findall(task.abstract)
    names = _unique(sorted(found, key=lambda name: name not in task.title), MAX_NAMES)
    prose = _MATH.sub(" ", task.abstract)
    numbers = _unique([n.strip() for n in _NUMBER.findall(prose)], MAX_NUMBERS)
    writer = _WRITERS.get(task.language, _english)
    texts = writer(names, numbers)
    return {name: texts.get(name, texts["tldr"]) for name in task.fields}


def _chinese(names: Sequence[str], numbers: Sequence[str]) -> dict[str, str]:
    method = names[0] if names else "新方法"
    parts = f"{'、'.join(names[1:])}等组件" if len(names) > 1 else "多个相互配合的模块"
    figures = f"取得了{'、'.join(numbers)}等关键指标，" if numbers else "在多个基准上"
    return {
        "tldr": f"本文针对现有方法的不足提出了{method}，并通过实验验证了其有效性与效率。",
        "motivation": "现有方法在准确性与计算效率之间难以兼顾，限制了其在真实场景中的应用，"
        "因此需要更加可靠且易于扩展的解决方案。",
        "method": f"作者设计了{method}，利用{parts}对问题进行建模，并给出了相应的训练与推理流程。",
        "result": f"实验结果表明，该方法{figures}整体表现优于对比的基线方法。",
        "conclusion": "研究表明所提方案简单有效且具有良好的通用性，为后续相关研究提供了新的思路。",
    }


def _english(names: Sequence[str], numbers: Sequence[str]) -> dict[str, str]:
    method = names[0] if names else "a new method"
    parts = f"components such as {' and '.join(names[1:])}" if len(names) > 1 else "several cooperating modules"
    figures = f"reaching {', '.join(numbers)} on the reported metrics" if numbers else "across the reported benchmarks"
    return {
        "tldr": f"The paper proposes {method} to overcome weaknesses of earlier approaches "
        "and shows that it works well in experiments.",
        "motivation": "Existing approaches struggle to be accurate and efficient at the same "
        "time, which limits their use in practical settings.",
        "method": f"The authors build {method} from {parts} and describe how it is trained and applied.",
        "result": f"Experiments show that the approach beats the compared baselines, {figures}.",
        "conclusion": "The study suggests that a simple design can be both effective and "
        "general, opening directions for follow-up work.",
    }


# Languages with their own templates; any other language is answered in English.
_WRITERS = {"Chinese": _chinese, "English": _english}


def estimate_tokens(text: str) -> int:
    """Roughly what a BPE tokenizer counts: one per CJK character, one per four others."""
    cjk = len(_CJK.findall(text))
    return cjk + -(-(len(text) - cjk) // 4)


def common_prefix_length(a: str, b: str) -> int:
    """Length of the longest common prefix, by bisection on C-speed slice comparisons."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


class PrefixIndex:
    """Remembers recent prompts to tell how much of a new one a prefix cache would hold.

    The longest common prefix with any string in a sorted list is shared with one of the
    two neighbours where the new string would be inserted, so a lookup is two comparisons.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._sorted: list[str] = []
        self._order: deque[str] = deque()
        self._capacity = capacity

    def add(self, prompt: str) -> int:
        """Record ``prompt``; return the characters it shares with an earlier prompt."""
        at = bisect.bisect_left(self._sorted, prompt)
        neighbours = self._sorted[max(at - 1, 0) : at + 1]
        shared = max((common_prefix_length(prompt, other) for other in neighbours), default=0)
        self._sorted.insert(at, prompt)
        self._order.append(prompt)
        if len(self._order) > self._capacity:
            oldest = self._order.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]
        return shared


def prompt_text(body: Mapping[str, Any]) -> str:
    """The request's messages flattened in order: what a prefix cache would key on."""
    return "".join(f"<|{m.get('role')}|>{_message_text(m)}" for m in body.get("messages", []))
