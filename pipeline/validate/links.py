"""Bare links in a field: allowed when the abstract gives them, rejected otherwise.

Markdown links and images are markup and always rejected (``digest.markup``). A bare URL
is plain text, and real fields carry one now and then (a code or dataset link; 22 of
187,000 real fields of the calibration set), always one their abstract gives. A URL the
abstract does not give was invented or taken from another paper (the prompt's example
paper leaking into an answer): a reader would follow it.
"""

from __future__ import annotations

import re

# A URL is ASCII: "https://github.com/a/b上发布" ends before the Chinese.
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&*+,;=%]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\"/"


def _key(url: str) -> str:
    """A URL without scheme, "www.", trailing punctuation or slash, case-folded."""
    url = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    return url.rstrip(_TRAILING).lower()


def _may_link(text: str) -> bool:
    """A cheap test first: most values hold no link."""
    return "http" in text or "www." in text or "HTTP" in text or "WWW." in text


def links(text: str) -> list[str]:
    """The bare URLs of ``text``, as written."""
    if not _may_link(text):
        return []
    return [match.group().rstrip(_TRAILING) for match in _URL.finditer(text)]


def foreign_links(value: str, source_links: frozenset[str]) -> list[str]:
    """The URLs of ``value`` that are not among ``source_links`` (``link_keys`` of the
    title and abstract). A field may shorten a link the abstract gives, not extend it."""
    foreign = []
    for url in links(value):
        key = _key(url)
        if not any(known == key or known.startswith(key + "/") for known in source_links):
            foreign.append(url)
    return foreign


def link_keys(*texts: str) -> frozenset[str]:
    """The comparable form of every URL in ``texts``."""
    return frozenset(_key(url) for text in texts for url in links(text))


def without_links(text: str) -> str:
    """``text`` with its bare URLs blanked out: a link is judged by the link rule alone,
    not read for numbers and names ("github.com/org/repo" names no method)."""
    return _URL.sub(" ", text) if _may_link(text) else text
