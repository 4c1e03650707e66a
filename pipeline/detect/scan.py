"""``digest-repair scan``: detection over many paths, one file in memory at a time.

Each digest is also checked against its day's crawl (``YYYY-MM-DD.jsonl`` beside it),
where there is one, for papers upstream dropped without a trace. Totals count a paper
once per day: a day's ``.md`` and ``.jsonl`` hold the same papers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from ..digest.crawl import CrawlFinder, day_key
from ..digest.document import Document, Paper
from ..digest.loader import iter_documents
from ..digest.placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from ..errors import Exit, InputError
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
    ids: frozenset[str] = field(default_factory=frozenset, repr=False)  # to count a day's papers once

    @property
    def day(self) -> tuple[str, str]:
        """(folder, day): the files of one day share their papers."""
        return day_key(Path(self.path))

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


# What is remembered of a failed paper the repair job gave up on (``gave_up``), or None.
GaveUp = Callable[[Paper], dict[str, Any] | None]


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    matcher: PlaceholderMatcher = DEFAULT_MATCHER,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    gave_up: GaveUp | None = None,
) -> Iterator[FileScan]:
    """Scan each digest under ``paths``; unreadable ones come back with ``errors`` set.

    ``gave_up`` looks up what the repair job's cache remembers of a failed paper."""
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
            ids=frozenset(paper.id for paper in document.papers),
            language=detection.language,
            failed=[
                {
                    "id": item.paper.id,
                    "index": item.paper.index,
                    "line": item.paper.line,
                    "title": item.paper.title,
                    "fields": list(item.fields),
                    "gave_up": gave_up(item.paper) if gave_up else None,
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


def by_day(scans: Iterable[FileScan]) -> Iterator[list[FileScan]]:
    """Scans grouped by day; a folder walk is sorted, so a day's files come together."""
    for _, group in groupby(scans, key=lambda scan: scan.day):
        yield list(group)


def day_totals(scans: list[FileScan]) -> dict[str, Any]:
    """One day's counts, each paper once however many of the day's files it is in."""
    failed: dict[str, set[str]] = {}
    for scan in scans:
        for item in scan.failed:
            failed.setdefault(item["id"], set()).update(item["fields"])
    folder, day = scans[0].day
    return {
        "day": day,
        "folder": folder,
        "files": [scan.path for scan in scans],
        "papers": len(frozenset().union(*(scan.ids for scan in scans))),
        "failed_papers": len(failed),
        "failed_fields": sum(map(len, failed.values())),
        "suspect_fields": len({(i["id"], i["field"]) for s in scans for i in s.suspect}),
        "dropped_papers": len({item["id"] for s in scans if s.dropped for item in s.dropped}),
        "gave_up": len({item["id"] for s in scans for item in s.failed if item.get("gave_up")}),
    }


def totals(scans: list[FileScan]) -> dict[str, int]:
    days = [day_totals(group) for group in by_day(scans)]
    return {
        "files": len(scans),
        "days": len(days),
        **{
            key: sum(d[key] for d in days)
            for key in ("papers", "failed_papers", "failed_fields", "suspect_fields", "dropped_papers", "gave_up")
        },
        "errors": sum(len(s.errors) for s in scans),
    }


def exit_code(scans: list[FileScan]) -> int:
    """0 nothing failed, 1 some papers failed or were dropped, 2 something could not be
    read or parsed."""
    if any(s.errors for s in scans):
        return Exit.INPUT
    return Exit.SOME_FAILED if any(s.failed or s.dropped for s in scans) else Exit.OK
