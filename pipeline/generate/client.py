"""One chat completion, made reliable: response modes, error mapping, transport retries.

tenacity is the only retry layer (the SDK's own retries are off). The re-ask loop that
reacts to the *content* of an answer lives in ``openai_provider``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, cast

import httpx
import openai
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.stop import stop_base
from tenacity.wait import wait_exponential_jitter

from ..contracts import Gate, Usage
from ..errors import (
    AuthError,
    ConnectFailed,
    EndpointNotFound,
    FatalLLMError,
    LLMError,
    ModelNotFound,
    ProviderFailing,
    ProviderUnreachable,
    QuotaExhausted,
    RequestTimedOut,
    ResponseFormatRejected,
    TransientLLMError,
    UsageError,
)
from .prompt import Message
from .settings import LLMSettings
from .transport import ShardedTransport, environment_proxy

logger = logging.getLogger("pipeline.llm")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class ResponseMode(str, Enum):
    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    TEXT = "text"


# The "auto" setting walks this order; a mode the server rejects is skipped from then on.
FALLBACK_ORDER: tuple[ResponseMode, ...] = (
    ResponseMode.JSON_SCHEMA,
    ResponseMode.JSON_OBJECT,
    ResponseMode.TEXT,
)

# The request's response_format per mode (None: the parameter is left out).
_RESPONSE_FORMATS: dict[ResponseMode, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    ResponseMode.JSON_SCHEMA: lambda schema: {
        "type": "json_schema",
        "json_schema": {"name": "paper_summary", "strict": True, "schema": schema},
    },
    ResponseMode.JSON_OBJECT: lambda schema: {"type": "json_object"},
    ResponseMode.TEXT: lambda schema: None,
}

# Statuses worth another try besides 5xx; 400/401/403/404/422 are not.
_TRANSIENT_STATUSES = frozenset({408, 409, 429})
_AUTH_STATUSES = frozenset({401, 403})
# How servers say a prompt does not fit the model's context (OpenAI, vLLM, llama.cpp).
_CONTEXT_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error"})
_CONTEXT_TOO_SMALL = re.compile(r"maximum context length|exceeds the available context size|context window", re.I)
# A 429 with one of these codes is not a rate limit but an empty account: never retried.
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "insufficient_balance"})
# How servers word a rejected response_format (DeepSeek: "This response_format type is
# unavailable now"; others: "response format json_schema is not supported").
_FORMAT_REJECTION = re.compile(r"response[_ ]format|json[_ ]schema|json_object|structured output", re.IGNORECASE)
# Partial keys that servers echo back ("Incorrect API key provided: sk-proj-ab**cd").
_KEY_LIKE = re.compile(r"\b(sk|key)-[A-Za-z0-9_*.\-]{3,}")
_MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class Completion:
    """What one accepted HTTP answer said; the provider decides whether it is usable."""

    content: str
    refusal: str | None
    finish_reason: str | None
    model: str
    mode: ResponseMode
    usage: Usage = field(default_factory=Usage)  # of this answer alone


@dataclass
class CallTally:
    """Per-paper accounting that survives failures: HTTP calls made and tokens billed."""

    paper_id: str
    calls: int = 0
    usage: Usage = field(default_factory=Usage)


def map_sdk_error(exc: openai.OpenAIError, secret: str = "", base_url: str = "") -> LLMError:
    """The one place where the SDK's exceptions become ours (callers ``raise ... from``).

    What no retry can mend (a bad key, a missing model or endpoint, no credit) maps to a
    ``FatalLLMError`` that names the cause and the fix, so the run stops at the first one.
    """
    if isinstance(exc, openai.APITimeoutError):
        return RequestTimedOut("request timed out")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        detail = _redact(str(cause) or type(cause).__name__, secret)
        if isinstance(cause, httpx.ConnectError):  # refused, DNS, TLS: no server answered
            return ConnectFailed(f"cannot connect to {base_url or 'the server'} ({detail})")
        return TransientLLMError(f"connection error: {detail}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        # OpenAI puts the kind of error in "code", llama.cpp in "type" (its "code" is the status).
        codes = {str(exc.code or "").lower(), str(exc.type or "").lower()}
        # Redact before cutting: a key straddling the cut would no longer match.
        text = f"HTTP {status}: {_redact(_server_message(exc), secret)[:_MAX_DETAIL_CHARS]}"
        if status in _AUTH_STATUSES:
            return AuthError(f"{text} (check OPENAI_API_KEY and OPENAI_BASE_URL)", status=status)
        if status == 402 or codes & _QUOTA_CODES:
            return QuotaExhausted(f"{text} (no credit left on this key: top it up or use another key)", status=status)
        if status == 404:
            if "model_not_found" in codes or "model" in text.lower():
                return ModelNotFound(f"{text} (check MODEL_NAME or --model; /v1/models lists them)", status=status)
            where = f"{base_url.rstrip('/')}/chat/completions" if base_url else "the chat completions URL"
            return EndpointNotFound(f"{text} at {where} (check OPENAI_BASE_URL: it usually ends in /v1)", status=status)
        if status == 400 and (codes & _CONTEXT_CODES or _CONTEXT_TOO_SMALL.search(text)):
            fix = "use fewer --examples, a model with a larger context, or a larger server context (llama.cpp -c)"
            return LLMError(f"{text} ({fix})", status=status, reason="context_length")
        if status == 400 and _FORMAT_REJECTION.search(text):
            return ResponseFormatRejected(text, status=status)
        if status in _TRANSIENT_STATUSES or status >= 500:
            delay = retry_after(exc.response.headers)
            return TransientLLMError(text, status=status, retry_after=delay)
        return LLMError(text, status=status)
    return LLMError(_redact(str(exc), secret)[:_MAX_DETAIL_CHARS])


def _seconds(text: str | None) -> float | None:
    """A finite, non-negative number, or None: "nan" or "inf" must not disable the wait budget."""
    try:
        value = float(text or "")
    except ValueError:
        return None
    return max(value, 0.0) if math.isfinite(value) else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``)."""
    millis = _seconds(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def build_sdk_client(settings: LLMSettings) -> openai.AsyncOpenAI:
    """The official async client on a plain ``httpx.AsyncClient``, pools sized for the run.

    A legacy httpx client (rather than the SDK's default httpx2 one) is what respx sees,
    so tests exercise this very transport. SDK retries are off: tenacity retries.
    """
    if not settings.api_key:
        raise UsageError("no API key: set OPENAI_API_KEY")
    http_client = httpx.AsyncClient(
        transport=ShardedTransport(settings.concurrency, proxy=environment_proxy(settings.base_url)),
        timeout=httpx.Timeout(settings.timeout_s),
    )
    return openai.AsyncOpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout_s,
        max_retries=0,
        http_client=cast(Any, http_client),  # the SDK accepts legacy httpx clients
    )


class LLMClient:
    """Makes chat completions with retries; remembers which response modes the server takes.

    The rejected-mode set is shared by every paper of the run. It is only changed between
    awaits, so concurrent tasks on one event loop see a consistent value without a lock.
    """

    def __init__(
        self,
        sdk: openai.AsyncOpenAI,
        settings: LLMSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        gate: Gate | None = None,
    ) -> None:
        self._sdk = sdk
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._rejected: set[ResponseMode] = set()
        # Requests in flight, across all papers. Held only while a request is on the wire,
        # not while a retry waits, so one paper's back-off never idles a connection.
        self._slots = asyncio.Semaphore(settings.concurrency)
        # --rpm: one request every 60/rpm seconds, retries and re-asks included; paced rather
        # than a whole minute's quota at once, which servers enforcing RPM over shorter
        # windows answer with 429s.
        self._pace = AsyncLimiter(1, 60 / settings.rpm) if settings.rpm else None
        self.gate = gate or Gate()
        self.requests = 0  # HTTP requests sent by this client, in-flight ones cancelled later included
        self._breaker = ConsecutiveFailures(settings.max_consecutive_failures)
        self._backoff = wait_exponential_jitter(
            multiplier=settings.backoff_s, max=settings.backoff_max_s, jitter=settings.backoff_s
        )

    @classmethod
    def from_settings(
        cls, settings: LLMSettings, *, sleep: Sleep = asyncio.sleep, gate: Gate | None = None
    ) -> LLMClient:
        return cls(build_sdk_client(settings), settings, sleep=sleep, gate=gate)

    async def aclose(self) -> None:
        await self._sdk.close()

    @property
    def sdk(self) -> openai.AsyncOpenAI:
        """The SDK client, for the endpoints this class does not wrap (the Batch API)."""
        return self._sdk

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def api_key(self) -> str:
        """For redacting server messages; never logged."""
        return self._settings.api_key

    @property
    def mode(self) -> ResponseMode:
        """The mode the next request uses."""
        if self._settings.response_format != "auto":
            return ResponseMode(self._settings.response_format)
        return next(mode for mode in FALLBACK_ORDER if mode not in self._rejected)

    async def complete(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        *,
        max_tokens: int,
        tally: CallTally,
    ) -> Completion:
        """One usable answer, falling back through response modes the server rejects.

        Raises ``TransientLLMError`` once retries are spent, ``FatalLLMError`` when no
        paper of the run can succeed (the gate is then closed), ``LLMError`` for other
        refusals of the request.
        """
        while True:
            mode = self.mode
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(TransientLLMError),
                wait=self._wait,
                stop=_AttemptsFor(self._settings.attempts) | _WaitBudget(self._settings.max_wait_s),
                sleep=self._sleep,
                before_sleep=_log_backoff,
                reraise=True,
            )
            try:
                completion: Completion = await retrying(self._attempt, messages, schema, max_tokens, mode, tally)
            except ResponseFormatRejected:
                if not self._reject(mode):
                    raise
                continue
            except ConnectFailed as exc:
                fix = "is the server running? check OPENAI_BASE_URL"
                raise self._fatal(ProviderUnreachable(f"{exc}; {fix}")) from exc
            except TransientLLMError as exc:
                failing = self._breaker.failed(exc)
                if failing is not None:
                    raise self._fatal(failing) from exc
                raise
            except FatalLLMError as exc:
                raise self._fatal(exc) from exc.__cause__
            self._breaker.succeeded()
            return completion

    def _fatal(self, error: FatalLLMError) -> FatalLLMError:
        """Close the run's gate: no other paper may spend a request on a dead provider."""
        self.gate.close(f"{error.kind}: {error}")
        return error

    def _reject(self, mode: ResponseMode) -> bool:
        """Stop using ``mode`` for the run; False when there is nothing to fall back to."""
        if self._settings.response_format != "auto" or mode is FALLBACK_ORDER[-1]:
            return False
        self._rejected.add(mode)
        logger.warning("server rejected response_format %s; using %s", mode.value, self.mode.value)
        return True

    def _wait(self, state: RetryCallState) -> float:
        """The server's Retry-After when it sent one, else exponential backoff with jitter."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, LLMError) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(state))

    async def _attempt(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        max_tokens: int,
        mode: ResponseMode,
        tally: CallTally,
    ) -> Completion:
        body = self.body(messages, schema, max_tokens, mode)
        try:
            # The SDK's documented low-level call, both ways in plain JSON: create() would
            # walk the body against its TypedDicts and build pydantic models of the answer,
            # which costs more CPU per call than everything else the job does.
            if self._pace is not None:
                await self._pace.acquire()
            async with self._slots:
                self.gate.check()
                tally.calls += 1
                self.requests += 1
                if logger.isEnabledFor(logging.DEBUG):  # the body holds the whole prompt
                    logger.debug("paper=%s call=%d request=%s", tally.paper_id, tally.calls, _dump(body))
                started = self._clock()
                response = await self._sdk.post("/chat/completions", cast_to=object, body=body)
        except openai.OpenAIError as exc:
            error = map_sdk_error(exc, self._settings.api_key, self._settings.base_url)
            logger.warning(
                "paper=%s call=%d mode=%s failed after %.2fs: %s: %s",
                tally.paper_id, tally.calls, mode.value, self._clock() - started,
                type(error).__name__, error,
            )  # fmt: skip
            raise error from exc
        if not isinstance(response, dict):
            raise _unusable("not_json", "the server's answer is not a JSON object")
        usage = _usage(response.get("usage"))
        tally.usage.add(usage)
        logger.info(
            "paper=%s call=%d mode=%s finish=%s tokens=%d+%d cached=%d latency=%.2fs",
            tally.paper_id, tally.calls, mode.value,
            _first_choice(response).get("finish_reason"),
            usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens,
            self._clock() - started,
        )  # fmt: skip
        completion = read_completion(response, mode, self._settings.model)
        logger.debug("paper=%s call=%d answer=%r", tally.paper_id, tally.calls, completion.content)
        return completion

    def body(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        max_tokens: int,
        mode: ResponseMode,
    ) -> dict[str, Any]:
        """The request body: what a live request sends and a batch line carries."""
        body: dict[str, Any] = {
            "model": self._settings.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
        }
        response_format = _RESPONSE_FORMATS[mode](schema)
        if response_format is not None:
            body["response_format"] = response_format
        body.update(self._settings.extra_body)
        return body


class _AttemptsFor(stop_base):
    """Stop after ``attempts``, or earlier where the failure's kind caps its own retries
    (a refused connection or a timeout is tried twice, a 429 up to ``attempts`` times)."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts

    def __call__(self, retry_state: RetryCallState) -> bool:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        cap = getattr(error, "max_attempts", None) or self.attempts
        return retry_state.attempt_number >= min(cap, self.attempts)


class ConsecutiveFailures:
    """The circuit breaker: K papers in a row whose requests all failed for the same
    transport reason (a dead server, a 5xx storm, blank answers) stop the run.

    One paper's request gives up only after its retries, so K in a row is a provider
    problem, not bad luck; a success anywhere resets the count. ``limit`` 0 never trips.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._last: tuple[str, int | None] | None = None
        self._count = 0

    def succeeded(self) -> None:
        self._last, self._count = None, 0

    def failed(self, error: TransientLLMError) -> ProviderFailing | None:
        """Count a paper's failed request; the fatal error once K in a row share a reason."""
        signature = (type(error).__name__ + error.reason, error.status)
        self._count = self._count + 1 if signature == self._last else 1
        self._last = signature
        if self.limit and self._count >= self.limit:
            return ProviderFailing(
                f"{self._count} papers in a row failed the same way ({error}): the provider looks down "
                "or overloaded; try again later (--max-consecutive-failures sets how many)",
                status=error.status,
            )
        return None


class _WaitBudget(stop_base):
    """Stop when the next sleep would take the total time slept past ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.idle_for + retry_state.upcoming_sleep > self.seconds


def _first_choice(response: dict[str, Any]) -> dict[str, Any]:
    choices = response.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return first if isinstance(first, dict) else {}


def read_completion(response: dict[str, Any], mode: ResponseMode, requested_model: str) -> Completion:
    """The completion's answer; an answer with nothing in it is retried like a dropped call.

    DeepSeek sometimes sends blank content with finish_reason "stop", and reasoning models
    may leave content empty with the answer only in ``reasoning_content``.
    """
    choice = _first_choice(response)
    if not choice:
        raise _unusable("empty_choices", "the server returned no choices")
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    content = message.get("content")
    content = content if isinstance(content, str) else ""
    refusal = message.get("refusal") or None
    finish = choice.get("finish_reason")
    if not content.strip() and not refusal and finish not in ("length", "content_filter"):
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning.strip():
            raise _unusable("reasoning_only", "the answer was only in the reasoning field")
        raise _unusable("empty_content", f"the answer was blank (finish_reason={finish})")
    return Completion(content, refusal, finish, response.get("model") or requested_model, mode, usage_of(response))


def _unusable(reason: str, message: str) -> TransientLLMError:
    """A transient error with its own reason code, so reports tell blank answers apart."""
    return TransientLLMError(message, reason=reason)


def usage_of(response: dict[str, Any]) -> Usage:
    """The tokens a chat completion reports (live or in a batch's output)."""
    return _usage(response.get("usage"))


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    # DeepSeek reports its prefix-cache hits under its own name.
    return Usage.from_dict({**raw, "cached_tokens": cached or raw.get("prompt_cache_hit_tokens")})


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) and message else exc.message


def _redact(text: str, secret: str) -> str:
    if secret:
        text = text.replace(secret, "[redacted]")
    return _KEY_LIKE.sub(r"\1-[redacted]", text)


def _dump(body: Mapping[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, default=str)


def _log_backoff(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.info("retrying in %.2fs after %s", state.upcoming_sleep, error)
