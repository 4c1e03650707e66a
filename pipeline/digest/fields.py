"""The five AI fields, in the order the upstream pipeline writes them.

This is the one place that names them: the Markdown labels, the JSONL keys and the
legacy key all derive from here.
"""

from __future__ import annotations

FIELDS: tuple[str, ...] = ("tldr", "motivation", "method", "result", "conclusion")

# How each field is labelled in the Markdown digest ("TL;DR: ...").
MARKDOWN_LABELS: dict[str, str] = {
    "tldr": "TL;DR",
    "motivation": "Motivation",
    "method": "Method",
    "result": "Result",
    "conclusion": "Conclusion",
}

# Upstream wrote the TL;DR under "task" before April 2025; such files are still served.
LEGACY_KEYS: dict[str, str] = {"task": "tldr"}


def parse_field_list(text: str) -> tuple[str, ...]:
    """Turn a user's ``tldr,method`` into a validated tuple in canonical order."""
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(wanted - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; choose from {', '.join(FIELDS)}")
    return tuple(name for name in FIELDS if name in wanted)
