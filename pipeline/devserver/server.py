"""A loopback OpenAI-compatible chat server with injectable latency and faults.

End-to-end tests and benchmarks talk to it over real HTTP; users run it as
``digest-repair devserver`` to try the tool without a key. It is plain asyncio streams
speaking HTTP/1.1 with keep-alive: the standard library's threading server costs a thread
and a connection setup per request, which a 32-way benchmark would measure instead of
the client.

Faults are decided by one seeded draw per admitted request, so the number of each
outcome over a run is reproducible whatever the interleaving of concurrent requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import re
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, fields, replace
from http import HTTPStatus
from typing import Any

from .answers import PrefixIndex, build_answer, estimate_tokens, parse_task, prompt_text

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MODEL = "devserver"
# What DeepSeek answers when asked for a json_schema response format.
SCHEMA_UNSUPPORTED_MESSAGE = "This response_format type is unavailable now"
MAX_HEADER_BYTES = 64 * 1024

# Every outcome a chat request can have, in the order /_stats lists them.
OUTCOMES: tuple[str, ...] = (
    "ok",
    "rate_limited",
    "injected_429",
    "error_500",
    "timeout",
    "malformed",
    "schema_violation",
    "schema_unsupported",
    "bad_request",
)
# The randomly injected faults and the config attribute holding each one's rate.
FAULT_RATES: dict[str, str] = {
    "injected_429": "rate_429",
    "error_500": "rate_500",
    "timeout": "rate_timeout",
    "malformed": "rate_malformed",
    "schema_violation": "rate_schema_violation",
}


@dataclass(frozen=True)
class DevServerConfig:
    """How the server behaves; durations in seconds, rates as fractions of requests."""

    host: str = DEFAULT_HOST
    port: int = 0
    latency: float = 0.0
    jitter: float = 0.0  # uniform extra delay in [0, jitter]
    max_concurrency: int = 0  # requests answered at once; later ones wait; 0 = unlimited
    rpm: int = 0  # requests admitted per sliding minute, then 429; 0 = unlimited
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_timeout: float = 0.0
    rate_malformed: float = 0.0
    rate_schema_violation: float = 0.0
    retry_after: float = 1.0  # Retry-After of an injected 429
    hang: float = 30.0  # a "timeout" request hangs this long, then the connection closes
    json_schema: bool = True  # False: reject json_schema response formats like DeepSeek
    seed: int = 0
    model: str = DEFAULT_MODEL

    def __post_init__(self) -> None:
        rates = [getattr(self, attr) for attr in FAULT_RATES.values()]
        if any(rate < 0 for rate in rates) or sum(rates) > 1:
            raise ValueError("fault rates must be >= 0 and sum to at most 1")
        if min(self.latency, self.jitter, self.retry_after, self.hang) < 0:
            raise ValueError("durations must be >= 0")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds from ``"0.2"``, ``"0.2s"`` or ``"200ms"``."""
    found = _DURATION.match(text)
    if not found:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 0.2, 0.2s or 200ms)")
    value = float(found.group(1))
    return value / 1000 if found.group(2) == "ms" else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``devserver`` flags; kept here so they cannot drift from the config."""
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    add(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"0 picks a free port (default {DEFAULT_PORT})",
    )
    add("--latency", type=parse_duration, default=0.0, help="delay per answer: 0.2, 0.2s or 200ms")
    add("--jitter", type=parse_duration, default=0.0, help="extra random delay, up to this much")
    add("--max-concurrency", type=int, default=0, help="answer at most N at once (0 = unlimited)")
    add("--rpm", type=int, default=0, help="admit N requests per minute, then 429 (0 = unlimited)")
    add("--rate-429", type=float, default=0.0, help="fraction answered 429 with Retry-After")
    add("--rate-500", type=float, default=0.0, help="fraction answered 500")
    add("--rate-timeout", type=float, default=0.0, help="fraction that hang, then close")
    add("--rate-malformed", type=float, default=0.0, help="fraction whose content is broken JSON")
    add(
        "--rate-schema-violation",
        type=float,
        default=0.0,
        help="fraction whose JSON misses a field or has a wrong type",
    )
    add("--retry-after", type=parse_duration, default=1.0, help="Retry-After of injected 429s")
    add("--hang", type=parse_duration, default=30.0, help="how long a timeout request hangs")
    add(
        "--no-json-schema",
        dest="json_schema",
        action="store_false",
        help="reject json_schema response formats with 400, like DeepSeek",
    )
    add("--seed", type=int, default=0, help="seed of fault injection and jitter")
    add("--model", default=DEFAULT_MODEL, help="model name reported by /v1/models")


def config_from_args(args: argparse.Namespace) -> DevServerConfig:
    """Build the config from parsed ``add_arguments`` flags."""
    return DevServerConfig(**{f.name: getattr(args, f.name) for f in fields(DevServerConfig)})


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, keep_alive: bool) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
            "Content-Type: application/json",
            f"Content-Length: {len(self.body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def _json_reply(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> _Reply:
    return _Reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers)


def _error(status: int, message: str, kind: str, headers: tuple[tuple[str, str], ...] = ()) -> _Reply:
    return _json_reply(status, {"error": {"message": message, "type": kind}}, headers)


def _retry_headers(seconds: float) -> tuple[tuple[str, str], ...]:
    """Whole seconds for HTTP, milliseconds for clients (like openai's) that read them."""
    return (
        ("Retry-After", str(math.ceil(seconds))),
        ("retry-after-ms", str(round(seconds * 1000))),
    )


class DevServer:
    """The server and its counters; ``start`` it inside a running event loop."""

    def __init__(
        self,
        config: DevServerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._faults = random.Random(config.seed)
        self._jitter = random.Random(f"{config.seed}-jitter")
        self._slots = asyncio.Semaphore(config.max_concurrency) if config.max_concurrency else None
        self._admitted: deque[float] = deque()
        self._prefixes = PrefixIndex()
        self._outcomes = dict.fromkeys(OUTCOMES, 0)
        self._total = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.base_url = ""

    def stats(self) -> dict[str, Any]:
        """Counters of chat requests: total, by outcome, and concurrency reached."""
        return {
            "total": self._total,
            "outcomes": dict(self._outcomes),
            "in_flight": self._in_flight,
            "max_in_flight": self._max_in_flight,
        }

    async def start(self) -> str:
        """Listen and return the base URL (``http://host:port/v1``)."""
        self._server = await asyncio.start_server(
            self._connection, self.config.host, self.config.port, limit=MAX_HEADER_BYTES
        )
        host, port = self._server.sockets[0].getsockname()[:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self.base_url

    async def aclose(self) -> None:
        """Stop listening and drop open connections, hung ones included."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, version = request_line.split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in header_lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                reply = await self._route(method, target.partition("?")[0], body)
                if reply is None:
                    return
                keep_alive = version == "HTTP/1.1" and headers.get("connection") != "close"
                writer.write(reply.encode(keep_alive))
                await writer.drain()
                if not keep_alive:
                    return
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            return  # the client went away or spoke something other than HTTP/1.1
        finally:
            writer.close()
            if task is not None:
                self._connections.discard(task)

    async def _route(self, method: str, path: str, body: bytes) -> _Reply | None:
        if (method, path) == ("POST", "/v1/chat/completions"):
            return await self._chat(body)
        if (method, path) == ("GET", "/v1/models"):
            model = {
                "id": self.config.model,
                "object": "model",
                "created": 0,
                "owned_by": "digest-repair",
            }
            return _json_reply(200, {"object": "list", "data": [model]})
        if (method, path) == ("GET", "/_stats"):
            return _json_reply(200, self.stats())
        return _error(404, f"no route {method} {path}", "not_found")

    def _count(self, outcome: str) -> None:
        self._outcomes[outcome] += 1

    def _over_rpm(self) -> float | None:
        """Seconds until a slot frees when the per-minute budget is spent, else None."""
        if not self.config.rpm:
            return None
        now = self._clock()
        while self._admitted and now - self._admitted[0] >= 60:
            self._admitted.popleft()
        if len(self._admitted) >= self.config.rpm:
            return 60 - (now - self._admitted[0])
        self._admitted.append(now)
        return None

    def _draw_fault(self) -> str:
        """One draw per admitted request, mapped onto consecutive ranges of the rates."""
        draw = self._faults.random()
        for outcome, attr in FAULT_RATES.items():
            draw -= getattr(self.config, attr)
            if draw < 0:
                return outcome
        return "ok"

    async def _chat(self, raw: bytes) -> _Reply | None:
        self._total += 1
        try:
            body = json.loads(raw)
            task = parse_task(body)
        except (ValueError, AttributeError, TypeError) as exc:
            self._count("bad_request")
            return _error(400, f"cannot read the request: {exc}", "invalid_request_error")
        if body.get("stream"):
            self._count("bad_request")
            return _error(400, "the devserver does not stream", "invalid_request_error")
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema" and not self.config.json_schema:
            self._count("schema_unsupported")
            return _error(400, SCHEMA_UNSUPPORTED_MESSAGE, "invalid_request_error")
        wait = self._over_rpm()
        if wait is not None:
            self._count("rate_limited")
            return _error(429, "Rate limit reached for requests", "requests", _retry_headers(wait))
        outcome = self._draw_fault()
        self._count(outcome)
        ordinal = self._outcomes[outcome]  # taken now: later requests may finish first
        if outcome == "injected_429":
            return _error(
                429,
                "Rate limit reached (injected)",
                "requests",
                _retry_headers(self.config.retry_after),
            )
        if outcome == "timeout":
            await self._sleep(self.config.hang)
            return None
        async with self._slots or contextlib.nullcontext():
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            try:
                await self._sleep(self.config.latency + self._jitter.uniform(0, self.config.jitter))
            finally:
                self._in_flight -= 1
        if outcome == "error_500":
            return _error(500, "The server had an error (injected)", "server_error")
        content = self._content(build_answer(task), outcome, ordinal)
        return _json_reply(200, self._completion(body, content))

    def _content(self, answer: dict[str, Any], outcome: str, ordinal: int) -> str:
        """The answer as JSON text, broken in alternating ways when a fault asks for it."""
        if outcome == "schema_violation" and answer:
            name = next(reversed(answer))
            if ordinal % 2:
                del answer[name]  # a missing field
            else:
                answer[name] = [answer[name]]  # a wrong type
        text = json.dumps(answer, ensure_ascii=False)
        if outcome == "malformed":
            if ordinal % 2:
                return text.replace('": "', '": "\\(\\mathcal{O}(n)\\) ', 1)  # LaTeX, unescaped
            return text[: len(text) // 2]  # truncated
        return text

    def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        prompt = prompt_text(body)
        cached = estimate_tokens(prompt[: self._prefixes.add(prompt)])
        prompt_tokens = estimate_tokens(prompt)
        completion_tokens = estimate_tokens(content)
        return {
            "id": f"chatcmpl-devserver-{self._total}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.config.model,
            "system_fingerprint": "devserver",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }


def fetch_stats(base_url: str, timeout: float = 5.0) -> dict[str, Any]:
    """The counters of a server reached over HTTP (``base_url`` as ``start`` returns it)."""
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/_stats", timeout=timeout) as response:
        stats: dict[str, Any] = json.load(response)
    return stats


def serve(config: DevServerConfig, ready: Callable[[str], None] | None = None) -> None:
    """Run until interrupted; ``ready`` receives the base URL once the port is bound."""

    async def forever() -> None:
        server = DevServer(config)
        url = await server.start()
        if ready is not None:
            ready(url)
        try:
            await asyncio.Event().wait()
        finally:
            await server.aclose()

    asyncio.run(forever())


@contextlib.contextmanager
def running_server(config: DevServerConfig = DevServerConfig()) -> Iterator[str]:
    """A server on 127.0.0.1 and a free port, in a background thread; yields its base URL."""
    server = DevServer(replace(config, host=DEFAULT_HOST, port=0))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="devserver", daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(server.start(), loop).result()
    finally:
        asyncio.run_coroutine_threadsafe(server.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
