"""Texts that the upstream pipeline and its forks write when a generation failed.

A field is failed when its *whole* value (stripped) equals one of these, or starts with
one of the prefixes. Matching whole values matters: "compliance test" also occurs inside
real abstracts and summaries.
"""

from __future__ import annotations

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
    }
)

PLACEHOLDER_PREFIXES: tuple[str, ...] = ("AI enhancement failed after retries",)


class PlaceholderMatcher:
    """Decides whether a field value is a failure placeholder (or empty)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._exact = PLACEHOLDERS | {text.strip() for text in extra if text.strip()}

    def is_failed(self, value: str | None) -> bool:
        """True for a missing, blank or placeholder value."""
        if value is None:
            return True
        text = value.strip()
        return not text or text in self._exact or text.startswith(PLACEHOLDER_PREFIXES)

    def contains_placeholder(self, value: str) -> str | None:
        """The placeholder found anywhere inside ``value`` (the validator's stricter test)."""
        for text in (*self._exact, *PLACEHOLDER_PREFIXES):
            if len(text) > 5 and text in value:
                return text
        return None


DEFAULT_MATCHER = PlaceholderMatcher()
