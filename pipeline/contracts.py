"""The small value types passed between stages: request -> provider -> validator -> job.

Kept apart from the stages themselves so each stage imports the data, not the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import Aborted


@dataclass(frozen=True)
class Example:
    """The fields of a good paper of the same digest, shown to the model as a style example
    (its abstract is not: there would be another paper's facts to borrow)."""

    title: str
    fields: Mapping[str, str]
    category: str = ""


@dataclass(frozen=True)
class Problem:
    """One reason a candidate field may not be written (``code`` is stable, for reports)."""

    code: str
    field: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Prior:
    """An answer already given for the paper (by a batch) and why it could not be used:
    the next request re-asks with them instead of starting over."""

    answer: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class PaperRequest:
    """What a provider needs to write the missing fields of one paper."""

    id: str
    title: str
    abstract: str
    fields: tuple[str, ...]
    language: str
    examples: tuple[Example, ...] = ()
    prior: Prior | None = None


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0
    return max(int(value), 0)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @classmethod
    def from_dict(cls, counts: Mapping[str, Any]) -> Usage:
        """From ``asdict`` output or a server's counts; anything not a finite number is 0
        (the server is untrusted: ``"n/a"`` or ``NaN`` must not stop a run)."""
        return cls(*(_count(counts.get(name)) for name in ("prompt_tokens", "completion_tokens", "cached_tokens")))

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_tokens += other.cached_tokens

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Generation:
    """Accepted fields for one paper plus the accounting every report records."""

    fields: dict[str, str]
    provider: str
    model: str
    prompt_version: str
    mode: str
    attempts: int = 1
    reasks: int = 0
    latency_s: float = 0.0
    usage: Usage = field(default_factory=Usage)
    # True when the provider ran the job's validator on exactly these fields and it found
    # nothing, so the job need not run it again (the extractive provider never validates).
    checked: bool = False


class Gate:
    """Closed by the job when the run stops (signal, bad key): a request not yet sent by
    then is never sent, wherever it waits (for a connection, a retry, a rate limit)."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def close(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def check(self) -> None:
        """Raise ``Aborted`` once closed."""
        if self.reason is not None:
            raise Aborted(self.reason)


class Validate(Protocol):
    """The validator as the generation loop sees it: a coroutine, because checking meaning
    (grounding) runs models that must not block the event loop."""

    async def __call__(self, request: PaperRequest, fields: Mapping[str, str]) -> list[Problem]: ...


class Provider(Protocol):
    """Writes the requested fields of one paper, validated, or raises GenerationFailed.

    ``expected_problems`` are validator codes its output is known to carry and that are
    written anyway, as report warnings (the offline provider cannot translate). ``billed``
    providers are not called in a dry run: ``estimate`` says what the call would cost.
    """

    name: str
    expected_problems: frozenset[str]
    billed: bool

    @property
    def requests(self) -> int:
        """HTTP requests sent so far: the report's total, papers cancelled mid-request included."""
        ...

    def estimate(self, request: PaperRequest) -> Usage:
        """The tokens generating ``request`` would take (an estimate, nothing is sent)."""
        ...

    @property
    def model(self) -> str: ...

    @property
    def prompt_version(self) -> str: ...

    async def generate(self, request: PaperRequest, validate: Validate) -> Generation: ...
