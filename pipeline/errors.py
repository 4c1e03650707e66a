"""Exceptions of digest-repair, and the exit codes every command shares.

DigestRepairError                 base: the CLI prints ``Kind: message`` and exits
├── InputError                    a file or path that cannot be read or parsed (exit 2)
│   └── NotADigest                readable text, but no digest markup (skipped in folders)
├── UsageError                    bad flags or configuration (exit 2)
├── RunError                      the run cannot work at all: lock held, output not writable (exit 3)
├── LLMError                      a call to the model failed for one paper
│   ├── TransientLLMError         worth retrying: 429, 408, 409, 5xx, timeouts, resets
│   │   ├── ConnectFailed         no connection at all (refused, DNS, TLS): retried once
│   │   └── RequestTimedOut       no answer within --timeout: retried once
│   ├── ResponseFormatRejected    the server refused this response_format mode
│   └── FatalLLMError             stops the whole run (exit 3): no paper can succeed
│       ├── AuthError             401, 403: the key or its permissions
│       ├── ProviderUnreachable   connection refused, DNS or TLS failure, twice
│       ├── ModelNotFound         404 for the model
│       ├── EndpointNotFound      404 for the URL itself
│       ├── QuotaExhausted        429 insufficient_quota, 402: no credit left
│       └── ProviderFailing       K papers in a row failed for the same transport reason
├── GenerationFailed              a paper gave up after retries and re-asks
└── Aborted                       the run stopped early: signal, budget (exit 3)
"""

from __future__ import annotations

import os
from enum import IntEnum
from typing import Any


class Exit(IntEnum):
    """The exit codes of every command (``scan``, ``audit``, ``repair``, ``regen``).

    A nightly workflow treats 1 as "reported, not fatal" (``|| test $? -eq 1``), so 1 must
    only ever mean that the model's answers, not the run, failed.
    """

    OK = 0  # nothing left to do
    SOME_FAILED = 1  # some papers still failed after trying (their answers), or scan/audit found some
    INPUT = 2  # input problems: unreadable or truncated files, read-only targets, bad flags; other files done
    RUN_FAILED = 3  # the run could not work: auth, provider unreachable, unknown model, quota, lock, output
    INTERRUPTED = 130  # SIGINT or SIGTERM


EXIT_CODES_HELP = """exit codes (every command):
  0    nothing left to do
  1    some papers still failed after trying (the model's answers, not the run);
       scan and audit: failed, dropped or suspect papers found
  2    input problems: unreadable or truncated files, read-only targets, bad flags
       (the other files are still done)
  3    the run could not work: authentication, provider unreachable, unknown model,
       quota, lock held past --lock-timeout, output not writable, budget exhausted
       before any work
  130  interrupted (SIGINT, SIGTERM)"""


class DigestRepairError(Exception):
    """Base class; ``str()`` is the one line the CLI prints, ``exit_code`` its exit."""

    kind = "Error"
    exit_code: int = Exit.INPUT


class InputError(DigestRepairError):
    """A path that cannot be read or parsed; names the file and, where known, the line."""

    kind = "InputError"
    exit_code = Exit.INPUT

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None, *, reason: str = "input"):
        self.path = os.fspath(path)
        self.line = line
        self.message = message
        self.reason = reason  # a stable code for reports: input, read_only, changed_on_disk, ...
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")

    def as_dict(self) -> dict[str, int | str | None]:
        """The shape reports use for every problem with a file (as ``Notice.as_dict``)."""
        return {"line": self.line, "level": "error", "message": self.message}


class NotADigest(InputError):
    """Text that is neither digest Markdown nor JSON lines; skipped when walking folders."""


class UsageError(DigestRepairError):
    kind = "UsageError"
    exit_code = Exit.INPUT


class RunError(DigestRepairError):
    """The run cannot work at all, whatever the input: another run holds the lock, the
    output folder cannot be written."""

    kind = "RunError"
    exit_code = Exit.RUN_FAILED


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
    max_attempts: int | None = None  # a cap below --attempts for this kind of failure


class ResponseFormatRejected(LLMError):
    reason = "response_format_rejected"


class ConnectFailed(TransientLLMError):
    """No connection could be made; retried once (a blip), then ``ProviderUnreachable``."""

    reason = "unreachable"
    max_attempts = 2


class RequestTimedOut(TransientLLMError):
    """No answer within ``--timeout``. Tried once more only: a request that timed out will
    likely time out again, and a local server keeps computing the one it was abandoned on."""

    max_attempts = 2


class FatalLLMError(LLMError):
    """No paper of this run can succeed: the client closes the run's gate, the job stops
    scheduling, writes what was accepted and exits 3. ``str()`` names the cause and the fix."""

    kind = "ProviderError"
    reason = "fatal"
    exit_code = Exit.RUN_FAILED


class AuthError(FatalLLMError):
    kind = "AuthError"
    reason = "auth"


class ProviderUnreachable(FatalLLMError):
    kind = "ProviderUnreachable"
    reason = "unreachable"


class ModelNotFound(FatalLLMError):
    kind = "ModelNotFound"
    reason = "model_not_found"


class EndpointNotFound(FatalLLMError):
    kind = "EndpointNotFound"
    reason = "endpoint_not_found"


class QuotaExhausted(FatalLLMError):
    kind = "QuotaExhausted"
    reason = "quota"


class ProviderFailing(FatalLLMError):
    kind = "ProviderFailing"
    reason = "provider_failing"


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
        answered: bool = False,
        latency_s: float = 0.0,
        mode: str | None = None,
    ):
        self.reasons = reasons
        self.attempts = attempts
        self.reasks = reasks
        self.last_output = last_output
        self.usage = usage or {}
        # True when the model answered and its answers were not usable (rejected, refused,
        # filtered, cut off): what the cache remembers, unlike a server that did not answer.
        self.answered = answered
        self.latency_s = latency_s
        self.mode = mode
        super().__init__(message)


class Aborted(DigestRepairError):
    kind = "Aborted"
    exit_code = Exit.RUN_FAILED
