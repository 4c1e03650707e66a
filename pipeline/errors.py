"""Exceptions of digest-repair.

DigestRepairError                 base: the CLI prints ``Kind: message`` and exits
├── InputError                    a file or path that cannot be read or parsed (exit 2)
│   └── NotADigest                readable text, but no digest markup (skipped in folders)
├── UsageError                    bad flags or configuration (exit 2)
├── LLMError                      a call to the model failed for one paper
│   ├── TransientLLMError         worth retrying: 429, 408, 409, 5xx, timeouts, resets
│   ├── ResponseFormatRejected    the server refused this response_format mode
│   └── FatalLLMError             stops the whole run: bad key, no permission (exit 3)
├── GenerationFailed              a paper gave up after retries and re-asks
└── Aborted                       the run stopped early: signal, budget (exit 3)
"""

from __future__ import annotations

import os
from typing import Any


class DigestRepairError(Exception):
    """Base class; ``str()`` is the one line the CLI prints."""

    kind = "Error"


class InputError(DigestRepairError):
    """A path that cannot be read or parsed; names the file and, where known, the line."""

    kind = "InputError"

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None):
        self.path = os.fspath(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")

    def as_dict(self) -> dict[str, int | str | None]:
        """The shape reports use for every problem with a file (as ``Notice.as_dict``)."""
        return {"line": self.line, "level": "error", "message": self.message}


class NotADigest(InputError):
    """Text that is neither digest Markdown nor JSON lines; skipped when walking folders."""


class UsageError(DigestRepairError):
    kind = "UsageError"


class LLMError(DigestRepairError):
    """A single call failed; ``reason`` is a stable code for reports."""

    kind = "LLMError"
    reason = "llm_error"

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, reason: str | None = None
    ):
        self.status = status
        self.retry_after = retry_after
        if reason is not None:
            self.reason = reason
        super().__init__(message)


class TransientLLMError(LLMError):
    reason = "transient"


class ResponseFormatRejected(LLMError):
    reason = "response_format_rejected"


class FatalLLMError(LLMError):
    kind = "AuthError"
    reason = "auth"


class GenerationFailed(DigestRepairError):
    """A paper could not be given valid fields; carries what the report needs."""

    kind = "GenerationFailed"

    def __init__(
        self,
        reasons: list[str],
        message: str,
        *,
        attempts: int = 0,
        reasks: int = 0,
        last_output: str | None = None,
        usage: dict[str, Any] | None = None,
    ):
        self.reasons = reasons
        self.attempts = attempts
        self.reasks = reasks
        self.last_output = last_output
        self.usage = usage or {}
        super().__init__(message)


class Aborted(DigestRepairError):
    kind = "Aborted"
