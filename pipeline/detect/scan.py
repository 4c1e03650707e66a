"""``digest-repair scan``: detection over many paths, one file in memory at a time.

Each digest is also checked against its day's crawl (``YYYY-MM-DD.jsonl`` beside it),
where there is one, for papers upstream dropped without a trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..digest.crawl import CrawlFinder
from ..digest.document import Document
from ..digest.loader import iter_documents
from ..digest.placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from ..errors import InputError
from ..thresholds import DEFAULT_THRESHOLDS, Thresholds
from .failures import detect


@dataclass
class FileScan:
    """The summary of one file; holds no document, so a long run stays small."""

    path: str
    format: str | None = None
    papers: int = 0
    language: str | None = None
    failed: list[dict[str, Any]] = field(default_factory=list)
    suspect: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    crawl: str | None = None  # the crawl file the digest was checked against
    dropped: list[dict[str, str]] | None = None  # None: no crawl, not checked

    @property
    def failed_fields(self) -> int:
        return sum(len(item["fields"]) for item in self.failed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "papers": self.papers,
            "language": self.language,
            "failed": self.failed,
            "suspect": self.suspect,
            "errors": self.errors,
            "warnings": self.warnings,
            "crawl": self.crawl,
            "dropped": self.dropped,
        }


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    matcher: PlaceholderMatcher = DEFAULT_MATCHER,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Iterator[FileScan]:
    """Scan each digest under ``paths``; unreadable ones come back with ``errors`` set."""
    crawls = CrawlFinder()
    for document in iter_documents(paths):
        if isinstance(document, InputError):
            yield _failed_scan(document)
            continue
        detection = detect(document, matcher, thresholds)
        scan = FileScan(
            path=str(document.path),
            format=document.format,
            papers=len(document.papers),
            language=detection.language,
            failed=[
                {
                    "id": item.paper.id,
                    "index": item.paper.index,
                    "line": item.paper.line,
                    "title": item.paper.title,
                    "fields": list(item.fields),
                }
                for item in detection.failed
            ],
            suspect=[
                {
                    "id": item.paper.id,
                    "index": item.paper.index,
                    "line": item.paper.line,
                    "field": item.field,
                    "language": item.language,
                    "expected": detection.language,
                }
                for item in detection.suspect
            ],
            errors=[n.as_dict() for n in document.notices if n.level == "error"],
            warnings=[n.as_dict() for n in document.notices if n.level == "warning"],
        )
        _check_dropped(scan, document, crawls)
        yield scan


def _check_dropped(scan: FileScan, document: Document, crawls: CrawlFinder) -> None:
    """Fill ``crawl`` and ``dropped``; an unusable crawl is a warning, the digest still counts."""
    try:
        crawl = crawls.find(document.path)
    except InputError as exc:
        scan.warnings.append({"line": None, "level": "warning", "message": str(exc)})
        return
    if crawl is not None:
        scan.crawl = str(crawl.path)
        scan.dropped = [paper.as_dict() for paper in crawl.dropped(document)]
        for line in document.unidentified_lines():
            message = "an entry whose arXiv id cannot be read: its paper may be listed as dropped"
            scan.warnings.append({"line": line, "level": "warning", "message": message})


def _failed_scan(error: InputError) -> FileScan:
    return FileScan(path=error.path, errors=[error.as_dict()])


def dropped_papers(scans: list[FileScan]) -> int:
    """Dropped papers, each once per day: the Markdown and JSONL of a day share a crawl."""
    return len({(s.crawl, item["id"]) for s in scans if s.dropped for item in s.dropped})


def totals(scans: list[FileScan]) -> dict[str, int]:
    return {
        "files": len(scans),
        "papers": sum(s.papers for s in scans),
        "failed_papers": sum(len(s.failed) for s in scans),
        "failed_fields": sum(s.failed_fields for s in scans),
        "suspect_fields": sum(len(s.suspect) for s in scans),
        "dropped_papers": dropped_papers(scans),
        "errors": sum(len(s.errors) for s in scans),
    }


def exit_code(scans: list[FileScan]) -> int:
    """0 nothing failed, 1 some papers failed or were dropped, 2 something could not be
    read or parsed."""
    if any(s.errors for s in scans):
        return 2
    return 1 if any(s.failed or s.dropped for s in scans) else 0
