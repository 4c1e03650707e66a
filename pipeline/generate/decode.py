"""Turn a model's answer into a JSON object, tolerating what models actually send.

Models wrap JSON in code fences and prose, and write LaTeX (``$\\alpha$``) with single
backslashes. Most such escapes are invalid JSON and merely fail, but ``\\frac``, ``\\beta``,
``\\rho``, ``\\text`` and ``\\nabla`` are *valid* escapes (form feed, backspace, carriage
return, tab, newline) followed by letters, which ``json.loads`` silently corrupts. The
repair below runs before parsing and keeps them as LaTeX. Nothing is ever evaluated.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from ..digest.markup import LATEX_N_COMMANDS

# A fenced block anywhere in the answer; its content is tried first.
_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_LETTERS = re.compile(r"[A-Za-z]+")

# Escapes JSON defines and a summary never wants as control characters when a letter
# follows: "\frac", "\beta", "\rho", "\times" are LaTeX, not form feed + "rac".
_CONTROL_BEFORE_LETTER = frozenset("bfrt")

# How many "{" positions are tried before giving up on an answer with braces in its prose.
_MAX_CANDIDATES = 8


class DecodeError(ValueError):
    """The answer holds no JSON object, even after repair."""


def decode_object(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (fences, prose and LaTeX escapes tolerated)."""
    bare = text.strip()
    # The usual answer is one bare object: parse it whole before searching for candidates.
    first = [bare] if bare.startswith("{") and bare.endswith("}") else []
    for candidate in itertools.chain(first, _candidates(text)):
        try:
            loaded = json.loads(repair_escapes(candidate), strict=False)
        except (ValueError, RecursionError):  # also: over-long integers, absurd nesting
            continue
        if isinstance(loaded, dict):
            return loaded
    raise DecodeError(f"no JSON object found in the answer ({len(text)} characters)")


_BACKSLASH = re.compile(r"\\(.?)", re.DOTALL)


def repair_escapes(text: str) -> str:
    """Double every backslash that does not start a JSON escape the author meant.

    A valid escape is kept, except a control-character escape directly followed by a
    letter, which is a LaTeX command (see module docstring).
    """

    def fix(match: re.Match[str]) -> str:
        following = match.group(1)
        if following in ('"', "\\", "/") or _is_meant_escape(text, match.start() + 1):
            return match.group()
        return "\\\\" + following

    return _BACKSLASH.sub(fix, text) if "\\" in text else text


def _is_meant_escape(text: str, at: int) -> bool:
    """Whether the escape letter at ``at`` (after a backslash) is a real JSON escape."""
    letter = text[at : at + 1]
    after = text[at + 1 : at + 2]
    if letter == "u":
        return _HEX4.fullmatch(text[at + 1 : at + 5]) is not None
    if letter in _CONTROL_BEFORE_LETTER:
        return not (after.isascii() and after.isalpha())
    if letter == "n":
        word = _LETTERS.match(text, at)
        return word is None or word.group() not in LATEX_N_COMMANDS
    return False


def _candidates(text: str) -> Iterator[str]:
    """Substrings that may be the JSON object, most likely first (found as needed)."""
    sources = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    for source in sources:
        start = source.find("{")
        tried = 0
        while start != -1 and tried < _MAX_CANDIDATES:
            end = _matching_brace(source, start)
            if end is not None:
                yield source[start : end + 1]
            tried += 1
            start = source.find("{", start + 1)


def _matching_brace(text: str, start: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``start``, skipping braces inside strings."""
    depth = 0
    in_string = False
    i = start
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None
