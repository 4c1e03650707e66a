"""What a repair run did, per file and per paper, in the shape of ``report.schema.json``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..contracts import Generation, Problem, Usage
from ..errors import GenerationFailed

EXIT_OK, EXIT_SOME_FAILED, EXIT_INPUT, EXIT_ABORTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class PaperResult:
    """The outcome for one paper of one day (shared by its Markdown and JSONL entries)."""

    id: str
    index: int
    title: str
    fields: tuple[str, ...]
    outcome: str = "skipped"  # repaired | cached | failed | skipped
    reasons: list[str] = field(default_factory=list)
    message: str | None = None
    attempts: int = 0
    reasks: int = 0
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    provider: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    warnings: list[Problem] = field(default_factory=list)
    new_fields: dict[str, str] = field(default_factory=dict, repr=False)  # as written
    # A dropped paper (in the crawl, not in a file): inserted when repaired or cached, and
    # ``index`` is its position in the crawl, as it had none in the digest.
    restored: bool = False

    def accept(self, generation: Generation, *, cached: bool, warnings: list[Problem]) -> None:
        self.outcome = "cached" if cached else "repaired"
        self.reasons, self.message, self.warnings = [], None, warnings
        self.provider, self.model = generation.provider, generation.model
        self.prompt_version = generation.prompt_version
        if not cached:  # a cached answer cost nothing in this run
            self.attempts, self.reasks = generation.attempts, generation.reasks
            self.usage, self.latency_s = generation.usage, generation.latency_s

    def fail(self, error: GenerationFailed) -> None:
        self.outcome, self.reasons, self.message = "failed", list(error.reasons), str(error)
        self.attempts, self.reasks = error.attempts, error.reasks
        self.usage = Usage.from_dict(error.usage)

    def skip(self, reason: str) -> None:
        self.outcome, self.reasons = "skipped", [reason]

    @property
    def called(self) -> bool:
        """True when this run spent a generation on the paper."""
        return self.outcome == "repaired" or (self.outcome == "failed" and self.attempts > 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "index": self.index,
            "title": self.title,
            "fields": list(self.fields),
            "outcome": self.outcome,
            "reasons": self.reasons,
            "message": self.message,
            "attempts": self.attempts,
            "reasks": self.reasks,
            "tokens": {
                "prompt": self.usage.prompt_tokens,
                "completion": self.usage.completion_tokens,
                "cached": self.usage.cached_tokens,
            },
            "latency_s": round(self.latency_s, 4),
            "provider": self.provider,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "warnings": [p.as_dict() for p in self.warnings],
            "restored": self.restored,
        }


@dataclass
class FileResult:
    path: str
    format: str | None = None
    papers: int = 0
    written: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    # (the paper's index in this file, its result): a day's .md and .jsonl share results,
    # but each numbers its papers its own way ([N] in sections vs line order).
    results: list[tuple[int, PaperResult]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "papers": self.papers,
            "written": self.written,
            "errors": self.errors,
            "results": [result.as_dict() | {"index": index} for index, result in self.results],
        }


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunReport:
    """Collects file results as the run goes; ``as_dict`` is the ``--report`` document."""

    provider: str
    model: str
    prompt_version: str
    version: str
    started: str = field(default_factory=_now)
    notes: list[str] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)
    papers: list[PaperResult] = field(default_factory=list)  # each paper of each day once
    aborted: str | None = None
    interrupted: bool = False
    seconds: float = 0.0

    def totals(self) -> dict[str, Any]:
        count = {k: sum(p.outcome == k for p in self.papers) for k in ("repaired", "cached", "failed", "skipped")}
        usage = Usage()
        for p in self.papers:
            usage.add(p.usage)
        return {
            "files": len(self.files),
            "files_written": sum(f.written is not None for f in self.files),
            "papers": len(self.papers),
            **count,
            "restored": sum(p.restored and p.outcome in ("repaired", "cached") for p in self.papers),
            "fields_repaired": sum(len(p.fields) for p in self.papers if p.outcome in ("repaired", "cached")),
            "fields_failed": sum(len(p.fields) for p in self.papers if p.outcome in ("failed", "skipped")),
            "calls": sum(p.called for p in self.papers),
            "tokens": {
                "prompt": usage.prompt_tokens,
                "completion": usage.completion_tokens,
                "cached": usage.cached_tokens,
            },
            "seconds": round(self.seconds, 3),
        }

    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.aborted:
            return EXIT_ABORTED
        if any(f.errors for f in self.files):
            return EXIT_INPUT
        return EXIT_SOME_FAILED if any(p.outcome in ("failed", "skipped") for p in self.papers) else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": "digest-repair",
            "version": self.version,
            "provider": self.provider,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "started": self.started,
            "finished": _now(),
            "exit_code": self.exit_code(),
            "aborted": self.aborted,
            "notes": self.notes,
            "files": [f.as_dict() for f in self.files],
            "totals": self.totals(),
        }
