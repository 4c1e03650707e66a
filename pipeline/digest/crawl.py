"""Upstream's raw crawl (``YYYY-MM-DD.jsonl``) and the papers a day's digests dropped.

Since October 2025 upstream drops a paper whose content check fails closed, silently:
it is in the crawl but in neither the enhanced JSONL nor the Markdown digest. The crawl
sits beside them, named by the day; this module pairs a digest with it by name and
lists what the digest lacks.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import InputError
from .document import CrawlPaper, Document, Notice, read_source
from .jsonl import JsonlDigest

_ENHANCED = re.compile(r"^(?P<day>.+?)_AI_enhanced_(?P<language>[^/]*)\.jsonl$")


def day_key(path: Path) -> tuple[str, str]:
    """``2026-04-15.md``, ``2026-04-15_AI_enhanced_Chinese.jsonl`` and the crawl
    ``2026-04-15.jsonl`` share a day: ``(folder, "2026-04-15")``."""
    match = _ENHANCED.match(path.name)
    return str(path.parent), match["day"] if match else path.stem


def named_language(path: Path) -> str | None:
    """``Chinese`` for ``2026-04-15_AI_enhanced_Chinese.jsonl``: what upstream was asked to
    write, which holds even on a day where every summary failed."""
    match = _ENHANCED.match(path.name)
    return match["language"] if match and match["language"] else None


def day_files(path: Path) -> list[Path]:
    """The digests of ``path``'s day in its folder, ``path`` included: its ``.md`` and its
    ``_AI_enhanced_<Language>.jsonl`` files (never the crawl), sorted."""
    key = day_key(path)
    folder = Path(key[0])
    crawl_name = f"{key[1]}.jsonl"
    found = {path}
    if folder.is_dir():
        found.update(
            p
            for p in folder.glob(f"{glob.escape(key[1])}*")
            if p.suffix in (".md", ".jsonl") and p.name != crawl_name and day_key(p) == key and p.is_file()
        )
    return sorted(found)


def day_language(path: Path) -> str | None:
    """The language the day of ``path`` names: its own ``_AI_enhanced_<Language>`` name, or
    for a ``.md`` that of its day's one enhanced file (None when none or several name one)."""
    own = named_language(path)
    if own:
        return own
    named = {named_language(p) for p in day_files(path)} - {None}
    return named.pop() if len(named) == 1 else None


def crawl_path(path: Path) -> Path | None:
    """Where the crawl of digest ``path`` would be (None when ``path`` is that name itself)."""
    folder, day = day_key(path)
    candidate = Path(folder) / f"{day}.jsonl"
    return None if candidate.name == path.name else candidate


@dataclass
class Crawl:
    """A crawl file: its papers in order, each arXiv id once (the first occurrence)."""

    path: Path
    papers: list[CrawlPaper] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    has_ai: bool = False  # some line carries an "AI" object: an enhanced file, not a crawl

    @cached_property
    def order(self) -> dict[str, int]:
        """arXiv id to position: where a restored paper goes relative to the others."""
        return {paper.id: paper.position for paper in self.papers}

    def dropped(self, document: Document) -> list[CrawlPaper]:
        """The crawl's papers that ``document`` lacks, in crawl order."""
        present = document.present_ids()
        return [paper for paper in self.papers if paper.id not in present]


def read_crawl(path: Path) -> Crawl:
    """Parse a crawl file; lines that are not JSON objects with an ``id`` are noted, not fatal."""
    lines = JsonlDigest.parse(path, read_source(path)[0])
    crawl = Crawl(path, notices=[n for n in lines.notices if n.level == "error"], has_ai=not lines.is_crawl)
    seen: set[str] = set()
    for number, record in lines.records():
        if not record.get("id"):
            crawl.notices.append(Notice(number, 'not a paper (no "id"); line ignored'))
            continue
        paper_id = str(record["id"])
        if paper_id not in seen:  # upstream's crawl can repeat a paper; it counts once
            seen.add(paper_id)
            crawl.papers.append(CrawlPaper(len(crawl.papers) + 1, record))
    return crawl


class CrawlFinder:
    """Finds the crawl paired with a digest, reading each crawl once for the day's files.

    Only the last crawl is kept: a folder walk is sorted, so a day's files are adjacent.
    """

    def __init__(self) -> None:
        self._last: tuple[Path, Crawl | InputError | None] | None = None

    def find(self, digest: Path) -> Crawl | None:
        """The crawl beside ``digest`` or None; InputError when it exists but is unusable."""
        path = crawl_path(digest)
        if path is None:
            return None
        if self._last is None or self._last[0] != path:
            self._last = (path, _load(path))
        found = self._last[1]
        if isinstance(found, InputError):
            raise found
        return found


def _load(path: Path) -> Crawl | InputError | None:
    if not path.is_file():
        return None
    try:
        crawl = read_crawl(path)
    except InputError as exc:
        return InputError(exc.path, f"crawl file unusable, dropped papers not checked: {exc.message}", exc.line)
    # A "<day>.jsonl" with AI fields is some digest named like a crawl, not a crawl.
    return None if crawl.has_ai or not crawl.papers else crawl
