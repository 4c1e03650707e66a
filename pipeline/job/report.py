"""What a repair run did, per file and per paper, in the shape of ``report.schema.json``.

An outcome says what happened to the paper's *files*, not only to its generation:
``repaired`` and ``cached`` papers were written (or shown, in a dry run); an accepted
generation that could not be written is ``unwritten``. Totals count each paper of each
day once, whatever the number of files it is in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..contracts import Generation, Problem, Usage
from ..errors import Exit, GenerationFailed

OUTCOMES = ("repaired", "cached", "failed", "skipped", "unwritten", "planned", "pending")
# Outcomes that leave a paper broken in its files (exit 1 when nothing worse happened).
_NOT_DONE = frozenset({"failed", "skipped", "unwritten"})
_WRITTEN = frozenset({"repaired", "cached"})
# The last answer of a failed paper is kept for reading, up to this many characters.
LAST_OUTPUT_CHARS = 4000


@dataclass
class PaperResult:
    """The outcome for one paper of one day (shared by its Markdown and JSONL entries)."""

    id: str
    index: int
    title: str
    fields: tuple[str, ...]
    outcome: str = "skipped"  # one of OUTCOMES
    reasons: list[str] = field(default_factory=list)
    message: str | None = None
    attempts: int = 0
    reasks: int = 0
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    provider: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    mode: str | None = None  # the response mode of the last request (json_schema, ...)
    batch: str | None = None  # the batch the paper waits in, or its answer came from
    last_output: str | None = None  # a failed paper's last answer, cut to LAST_OUTPUT_CHARS
    warnings: list[Problem] = field(default_factory=list)
    new_fields: dict[str, str] = field(default_factory=dict, repr=False)  # as written
    # A dropped paper (in the crawl, not in a file): inserted when repaired or cached, and
    # ``index`` is its position in the crawl, as it had none in the digest.
    restored: bool = False

    def accept(self, generation: Generation, *, cached: bool, warnings: list[Problem]) -> None:
        self.outcome = "cached" if cached else "repaired"
        self.reasons, self.message, self.warnings = [], None, warnings
        self.provider, self.model = generation.provider, generation.model
        self.prompt_version, self.mode = generation.prompt_version, generation.mode
        if not cached:  # a cached answer cost nothing in this run
            self.attempts, self.reasks = generation.attempts, generation.reasks
            self.usage, self.latency_s = generation.usage, generation.latency_s

    def fail(self, error: GenerationFailed) -> None:
        self.outcome, self.reasons, self.message = "failed", list(error.reasons), str(error)
        self.attempts, self.reasks = error.attempts, error.reasks
        self.usage = Usage.from_dict(error.usage)
        self.latency_s, self.mode = error.latency_s, error.mode
        self.last_output = error.last_output[:LAST_OUTPUT_CHARS] if error.last_output else None

    def skip(self, reason: str, message: str | None = None) -> None:
        self.outcome, self.reasons, self.message = "skipped", [reason], message

    def unwritten(self, reason: str, message: str) -> None:
        """Accepted, but a file it belongs in could not be written (the answer stays cached)."""
        self.outcome, self.reasons, self.message = "unwritten", [reason], message

    def plan(self, estimate: Usage) -> None:
        """A dry run: what generating this paper would cost, nothing sent."""
        self.outcome, self.reasons, self.usage = "planned", [], estimate

    def pend(self, batch: str | None) -> None:
        """Submitted to a batch (``None`` until the batch exists): written when collected."""
        self.outcome, self.reasons, self.batch = "pending", [], batch

    @property
    def generated(self) -> bool:
        """True when this run sent the paper to a provider (a cache hit is not a generation)."""
        return self.attempts > 0 and self.outcome not in ("cached", "planned")

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
            "mode": self.mode,
            "batch": self.batch,
            "last_output": self.last_output,
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
    dry_run: bool = False
    billing: str = "live"  # batch: requests sent through the provider's Batch API, at its batch rate
    requests: int = 0  # HTTP requests the run sent (the providers count them)
    batches: list[dict[str, Any]] = field(default_factory=list)  # submitted, collected or waiting
    seconds: float = 0.0

    def totals(self) -> dict[str, Any]:
        count = {k: sum(p.outcome == k for p in self.papers) for k in OUTCOMES}
        spent, planned = Usage(), Usage()
        for p in self.papers:
            (planned if p.outcome == "planned" else spent).add(p.usage)
        return {
            "files": len(self.files),
            "files_written": sum(f.written is not None for f in self.files),
            "papers": len(self.papers),
            **count,
            "gave_up": sum(p.reasons == ["gave_up"] for p in self.papers),
            "restored": sum(p.restored and p.outcome in _WRITTEN for p in self.papers),
            "fields_repaired": sum(len(p.fields) for p in self.papers if p.outcome in _WRITTEN),
            "fields_failed": sum(len(p.fields) for p in self.papers if p.outcome in _NOT_DONE),
            "generations": sum(p.generated for p in self.papers),
            "requests": self.requests,
            "tokens": _tokens(spent),
            "estimate": _tokens(planned),
            "seconds": round(self.seconds, 3),
        }

    def exit_code(self) -> int:
        """The worst of: interrupted, the run could not work, input problems, papers left broken."""
        if self.interrupted:
            return Exit.INTERRUPTED
        if self.aborted:
            return Exit.RUN_FAILED
        if any(f.errors for f in self.files):
            return Exit.INPUT
        return Exit.SOME_FAILED if any(p.outcome in _NOT_DONE for p in self.papers) else Exit.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": "digest-repair",
            "version": self.version,
            "provider": self.provider,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "started": self.started,
            "finished": _now(),
            "exit_code": int(self.exit_code()),
            "aborted": self.aborted,
            "dry_run": self.dry_run,
            "billing": self.billing,
            "batches": self.batches,
            "notes": self.notes,
            "files": [f.as_dict() for f in self.files],
            "totals": self.totals(),
        }


def _tokens(usage: Usage) -> dict[str, int]:
    return {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens, "cached": usage.cached_tokens}
