"""Whether a field was cut off mid-sentence.

A field cut mid-sentence ("…在多个基准上显著提升了") reads as complete to every other check.
Requiring a final "。" does not work: 4.8% of real upstream fields (27% in September 2025)
are complete sentences written without one, and since 2026 upstream writes its TL;DRs as
headlines without one. What a cut leaves behind is looked for instead, each sign measured
on the calibration set (README, "Calibration"):

- an ending that cannot end a sentence: a comma, an enumeration comma, a colon, an opening
  bracket or quote, a connector, particle or preposition (和, 与, 并, 在, 了, 的, …) that
  is not the end of a common word (参与, 合并, 存在, "是…的"), an English function word, or
  a last clause of one Chinese character ("…，模");
- half a word: a Latin word that is the beginning of a longer word of the abstract
  ("Transfor" for "Transformer"), or, in the TL;DR, two Chinese characters that never
  close a clause in real summaries ("…时空视" for "时空视频"; ``clause_endings.tsv`` lists
  those that do);
- a bracket or quote opened and never closed (a closer after a list marker, "1)", is not
  one);
- no sentence-final mark in a body field whose answer ends its other sentences with one,
  where the field is not a list of items (list items often go without). The TL;DR is left
  out of this one by default: whether it ends with "。" is a matter of the digest's style
  (``truncation_min_context_tldr``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources

# Marks that end a sentence, and what may follow them (closing quotes and brackets).
_FINAL = "。！？!?….．"
_CLOSERS = "”’」』）)]】》\"' "
# Endings that continue the sentence.
_OPEN_ENDINGS = frozenset("，,、：:；;（(“‘「『【《—-/")
# Connectors, particles and prepositions that do not end a Chinese clause ...
_DANGLING_CHARS = frozenset("和与及或并而但且以将把被使让于在了是其更从提的")
# ... unless they end one of these words (or "是…的", which closes what 是 opened).
_COMPLETE_WORDS = ("参与", "给与", "合并", "存在", "实在", "所在", "遵从", "服从", "前提", "目的", "私有的", "了了")
_SHI_DE = re.compile(r"是[^，。；,;]*的$")
# English words a sentence does not end on.
_DANGLING_WORDS = frozenset(
    {"and", "or", "but", "the", "a", "an", "of", "to", "with", "for", "in", "on", "by", "from", "that", "which"}
    | {"whose", "is", "are", "was", "were", "as", "than", "via", "into", "such", "including", "between", "among"}
)
_LAST_WORD = re.compile(r"([A-Za-z]+)\W*$")
_LAST_LATIN = re.compile(r"(?<![A-Za-z])([A-Za-z]{2,})$")
_LAST_TWO_CJK = re.compile(r"[\u4e00-\u9fff]{2}$")
# A clause of one character after a break: "…通过GRPO强化微调，模" (not "…提升3倍", "…在GitHub上").
_ONE_CHARACTER_CLAUSE = re.compile(r"[，、：；（(“]\s*[\u4e00-\u9fff]$")
_PAIRS = {"）": "（", ")": "(", "”": "“", "’": "‘", "」": "「", "』": "『", "】": "【", "》": "《", "]": "["}
_OPENERS = frozenset(_PAIRS.values())
_SAME_BRACKET = {"(": "（", "（": "("}
_BRACKET = re.compile("[" + re.escape("".join(_PAIRS) + "".join(_OPENERS)) + '"]')
# "1)", "a)", "iii)", "二）": a list marker's closer has no opener.
_MARKER = re.compile(r"(?<![A-Za-z0-9.])(?:\d{1,2}|[a-zA-Z]|[ivx]{1,4}|[一二三四五六七八九十])$")
_LIST = re.compile(r"(?:^|[\s；;，,。：:])(?:\(?[2-9][)）.、]|（[2-9]）|[②③④⑤])")


@cache
def clause_endings() -> frozenset[str]:
    """Two-character words that close clauses in real summaries (``clause_endings.tsv``)."""
    text = resources.files(__package__).joinpath("clause_endings.tsv").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _ended(text: str) -> bool:
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _FINAL


def _unbalanced(text: str) -> str | None:
    """The bracket or quote left open (or closed without an opener), if any."""
    stack: list[str] = []
    for match in _BRACKET.finditer(text):
        char, index = match.group(), match.start()
        before, after = text[index - 1 : index], text[index + 1 : index + 2]
        latin_before = before.isascii() and before.isalpha() or before == "\\"
        if char in '’"' and latin_before and after.isascii() and after.isalpha():
            continue  # an apostrophe ("model’s") or a LaTeX accent left over ("Mj\"olnir")
        if char in _OPENERS:
            stack.append(char)
        elif char in _PAIRS:
            # Half- and full-width brackets close each other: "（从O(2p)降到O(p))" is common.
            if stack and stack[-1] in (_PAIRS[char], _SAME_BRACKET.get(_PAIRS[char])):
                stack.pop()
            elif not _MARKER.search(text, 0, index):
                return char
        elif stack and stack[-1] == '"':
            stack.pop()
        else:
            stack.append(char)
    return stack[-1] if stack else None


def _dangling(text: str) -> str | None:
    """The word a sentence cannot end on, when ``text`` ends on one."""
    last = text[-1]
    if last in _OPEN_ENDINGS:
        return last
    if last in _DANGLING_CHARS and not text.endswith(_COMPLETE_WORDS) and not _SHI_DE.search(text):
        return last
    if _ONE_CHARACTER_CLAUSE.search(text):
        return last
    word = _LAST_WORD.search(text)
    if word and word.end(1) == len(text) and word.group(1).lower() in _DANGLING_WORDS:
        return word.group(1)
    return None


def _half_word(text: str, is_fragment: Callable[[str], bool], chinese_too: bool) -> str | None:
    """The half of a word ``text`` ends on, if it does (a Chinese one only when asked:
    1.4% of real fields without a final mark end on a rare but whole word)."""
    latin = _LAST_LATIN.search(text)
    if latin and is_fragment(latin.group(1)):
        return latin.group(1)
    chinese = _LAST_TWO_CJK.search(text) if chinese_too else None
    if chinese and chinese.group() not in clause_endings():
        return chinese.group()
    return None


def cut_off(
    name: str,
    fields: Mapping[str, str],
    min_context: int,
    is_fragment: Callable[[str], bool] = lambda _: False,
    min_context_tldr: int = 0,
) -> str | None:
    """Why ``fields[name]`` reads as cut off mid-sentence, or None.

    ``min_context``: how many other fields must end their sentences for a body field's
    missing final mark to count (``min_context_tldr`` for the TL;DR; 0: never);
    ``is_fragment``: whether a Latin word is the beginning of a longer word of the
    abstract, not a word of it.
    """
    text = fields[name].strip()
    if not text:
        return None
    opened = _unbalanced(text)
    if opened:
        return f"leaves {opened!r} unclosed"
    if _ended(text):
        return None
    dangling = _dangling(text)
    if dangling:
        return f"ends on {dangling!r}"
    # The TL;DR, which the style check below leaves out, is read for half a Chinese word.
    half = _half_word(text, is_fragment, chinese_too=name == "tldr")
    if half:
        return f"ends on half a word ({half!r})"
    others = [value for other, value in fields.items() if other != name and value.strip()]
    needed = min_context_tldr if name == "tldr" else min_context
    if not needed or len(others) < needed or not all(map(_ended, others)) or _LIST.search(text):
        return None
    return "ends without a full stop where the other fields have one"
