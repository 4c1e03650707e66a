"""Find the failed and the suspect fields of one parsed digest.

*Failed* fields (missing, blank or a placeholder) are what ``repair`` regenerates.
*Suspect* fields are present but written in another language than the digest's own
(an English TL;DR in a Chinese digest); they are reported, not repaired.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..digest.document import Document, Paper
from ..digest.fields import FIELDS
from ..digest.placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from ..thresholds import DEFAULT_THRESHOLDS, Thresholds
from .language import detect_language, digest_language


@dataclass(frozen=True)
class FailedPaper:
    paper: Paper
    fields: tuple[str, ...]


@dataclass(frozen=True)
class SuspectField:
    paper: Paper
    field: str
    language: str


@dataclass
class Detection:
    """What the detector found in one document."""

    document: Document
    language: str
    failed: list[FailedPaper] = field(default_factory=list)
    suspect: list[SuspectField] = field(default_factory=list)

    @property
    def failed_fields(self) -> int:
        return sum(len(item.fields) for item in self.failed)


def detect(
    document: Document,
    matcher: PlaceholderMatcher = DEFAULT_MATCHER,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Detection:
    language = digest_language(document)
    detection = Detection(document, language)
    for paper in document.papers:
        failed = paper.failed(matcher)
        if failed:
            detection.failed.append(FailedPaper(paper, failed))
        for name in FIELDS:
            value = paper.fields.get(name)
            if name in failed or not value:
                continue
            detected = detect_language(value, thresholds)
            if detected and detected != language:
                detection.suspect.append(SuspectField(paper, name, detected))
    return detection
