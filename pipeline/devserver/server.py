"""A loopback OpenAI-compatible server with injectable latency and faults: the HTTP layer.

End-to-end tests and benchmarks talk to it over real HTTP; users run it as
``digest-repair devserver`` to try the tool without a key. It is plain asyncio streams
speaking HTTP/1.1 with keep-alive: the standard library's threading server costs a thread
and a connection setup per request, which a 32-way benchmark would measure instead of
the client.

This module reads requests, checks the key and the quota, routes, and adds what only a
live connection has: latency, concurrency, the per-minute budget, and the transport faults
(429, 500, timeouts). Chat answers are ``chat.py``'s, embeddings ``embeddings.py``'s, the
Files and Batch APIs ``files.py``'s and ``batches.py``'s.

Faults are decided by one seeded draw per admitted request, so the number of each
outcome over a run is reproducible whatever the interleaving of concurrent requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

from . import embeddings, faults
from .batches import BatchStore
from .chat import SCHEMA_UNSUPPORTED_MESSAGE, ChatCompletions
from .config import (
    DEFAULT_HOST,
    DEFAULT_MODEL,
    DEFAULT_PORT,
    LIVE_FAULT_RATES,
    DevServerConfig,
    add_arguments,
    config_from_args,
    parse_duration,
)
from .files import FileStore, file_too_large
from .wire import Headers, Refusal, Reply, Request, error_reply, invalid_request, json_reply, openai_error

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MODEL",
    "DEFAULT_PORT",
    "OUTCOMES",
    "SCHEMA_UNSUPPORTED_MESSAGE",
    "DevServer",
    "DevServerConfig",
    "add_arguments",
    "config_from_args",
    "fetch_stats",
    "parse_duration",
    "running_server",
    "serve",
]

MAX_HEADER_BYTES = 64 * 1024
# A body larger than this is refused unread (a file upload's own limit is checked too).
MIN_BODY_CAP = 32 * 1024 * 1024
BODY_OVERHEAD = 1024 * 1024
BODY_PIECE = 1024 * 1024

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
    "length",
    "leaked",
    "reask_copied",
    "context_truncated",
    "context_length_exceeded",
    "model_not_found",
    "unauthorized",
    "quota_exhausted",
)
# Drawn outcomes that end a live request before it is answered.
_TRANSPORT_FAULTS = frozenset({"injected_429", "timeout", "error_500"})


def _retry_headers(seconds: float) -> Headers:
    """Whole seconds for HTTP, milliseconds for clients (like openai's) that read them."""
    return (
        ("Retry-After", str(math.ceil(seconds))),
        ("retry-after-ms", str(round(seconds * 1000))),
    )


class DevServer:
    """The server and its counters; ``start`` it inside a running event loop.

    ``clock`` (monotonic) paces the per-minute budget, ``wall`` (Unix time) stamps files
    and batches and times a batch's progress; tests pass fakes to step through time.
    """

    def __init__(
        self,
        config: DevServerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._draw = faults.FaultDraw(config.seed, {o: getattr(config, a) for o, a in LIVE_FAULT_RATES.items()})
        self._jitter = random.Random(f"{config.seed}-jitter")
        self._slots = asyncio.Semaphore(config.max_concurrency) if config.max_concurrency else None
        self._admitted: deque[float] = deque()
        self._chat = ChatCompletions(config)
        self._files = FileStore(wall, config.batch_max_bytes)
        self._batches = BatchStore(config, self._chat, self._files, wall)
        self._outcomes = dict.fromkeys(OUTCOMES, 0)
        self._drawn: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        self._embedding_requests = 0
        self._embedding_inputs = 0
        self._embedding_outcomes: Counter[str] = Counter()
        self._total = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._body_cap = max(config.batch_max_bytes, MIN_BODY_CAP) + BODY_OVERHEAD
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.base_url = ""

    def stats(self) -> dict[str, Any]:
        """Counters: chat requests (total, by outcome, concurrency reached), requests refused
        for the key or the quota on any endpoint, embeddings, files and batches."""
        return {
            "total": self._total,
            "outcomes": dict(self._outcomes),
            "in_flight": self._in_flight,
            "max_in_flight": self._max_in_flight,
            "rejected": {
                "unauthorized": self._rejected["unauthorized"],
                "quota_exhausted": self._rejected["quota_exhausted"],
            },
            "embeddings": {
                "requests": self._embedding_requests,
                "inputs": self._embedding_inputs,
                "outcomes": dict(self._embedding_outcomes),
            },
            "files": self._files.stats(),
            "batches": self._batches.stats(),
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
                path, _, query = target.partition("?")
                keep_alive = version == "HTTP/1.1" and headers.get("connection") != "close"
                body = await self._read_body(reader, headers)
                if body is None:
                    refusal = file_too_large() if path == "/v1/files" else _payload_too_large()
                    writer.write(refusal.reply().encode(keep_alive=False))
                    await writer.drain()
                    return
                request = Request(method, path, body, dict(urllib.parse.parse_qsl(query)), headers)
                reply = await self._route(request)
                if reply is None:
                    return
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
        except asyncio.CancelledError:
            return  # aclose dropped the connection: end quietly, not as a failed callback
        finally:
            writer.close()
            if task is not None:
                self._connections.discard(task)

    async def _read_body(self, reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes | None:
        """The body; None when it is over the cap. An oversized body is still read, and
        dropped as it comes, so that the client gets to read the refusal."""
        kept: list[bytes] = []
        size = 0
        async for piece in _body_pieces(reader, headers):
            size += len(piece)
            if size <= self._body_cap:
                kept.append(piece)
        return b"".join(kept) if size <= self._body_cap else None

    async def _route(self, request: Request) -> Reply | None:
        method, path = request.method, request.path
        if (method, path) == ("GET", "/_stats"):
            return json_reply(200, self.stats())
        if (method, path) == ("POST", "/v1/chat/completions"):
            return await self._live_chat(request)
        if (method, path) == ("POST", "/v1/embeddings"):
            return self._embed(request)
        api = next(
            (name for name in ("files", "batches") if path == f"/v1/{name}" or path.startswith(f"/v1/{name}/")), None
        )
        refusal = self._gate(request, billable=api is not None and method == "POST" and path == f"/v1/{api}")
        if refusal is not None:
            return refusal.reply()
        if (method, path) == ("GET", "/v1/models"):
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": "digest-repair"}
                for name in self.config.model_names
            ]
            return json_reply(200, {"object": "list", "data": data})
        if api is not None and not self.config.batch_api:
            return json_reply(404, openai_error("Not Found", "not_found_error"))
        if api == "files":
            return self._files.handle(request)
        if api == "batches":
            return await self._batches.handle(request)
        return error_reply(404, f"no route {method} {path}", "not_found")

    def _gate(self, request: Request, *, billable: bool) -> Refusal | None:
        """OpenAI's 401 for a wrong key (``--api-key``), then its 429 for no quota
        (``--quota-exhausted``) on requests that would be billed: chat, embeddings, file
        uploads and batch creation. Listing, reading and cancelling need no credit."""
        refusal = None
        if self.config.api_key:
            refusal = faults.check_key(self.config.api_key, request.headers.get("authorization"))
        if refusal is None and billable and self.config.quota_exhausted:
            refusal = faults.insufficient_quota()
        if refusal is not None:
            self._rejected[refusal.outcome] += 1
        return refusal

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

    def _billed_body(self, request: Request) -> object:
        """The JSON body of a billed request, or the ``Refusal`` of its key, quota or syntax."""
        refusal = self._gate(request, billable=True)
        if refusal is not None:
            return refusal
        try:
            return request.json()
        except ValueError as exc:
            return invalid_request(f"cannot read the request: {exc}")

    async def _live_chat(self, request: Request) -> Reply | None:
        self._total += 1
        body = self._billed_body(request)
        admitted = body if isinstance(body, Refusal) else self._chat.admit(body)
        if isinstance(admitted, Refusal):
            self._count(admitted.outcome)
            return admitted.reply()
        wait = self._over_rpm()
        if wait is not None:
            self._count("rate_limited")
            return error_reply(429, "Rate limit reached for requests", "requests", _retry_headers(wait))
        drawn = self._draw()
        completion: dict[str, Any] = {}
        if drawn in _TRANSPORT_FAULTS:
            self._count(drawn)
        else:
            # Written now, in admission order: later requests may finish first.
            self._drawn[drawn] += 1
            outcome, completion = self._chat.respond(admitted, drawn, self._drawn[drawn])
            self._count(outcome)
        if drawn == "injected_429":
            return error_reply(
                429,
                "Rate limit reached (injected)",
                "requests",
                _retry_headers(self.config.retry_after),
            )
        if drawn == "timeout":
            await self._sleep(self.config.hang)
            return None
        async with self._slots or contextlib.nullcontext():
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            try:
                await self._sleep(self.config.latency + self._jitter.uniform(0, self.config.jitter))
            finally:
                self._in_flight -= 1
        if drawn == "error_500":
            return error_reply(500, "The server had an error (injected)", "server_error")
        return json_reply(200, completion)

    def _embed(self, request: Request) -> Reply:
        self._embedding_requests += 1
        body = self._billed_body(request)
        result = body if isinstance(body, Refusal) else self._embedding(body)
        if isinstance(result, Refusal):
            self._embedding_outcomes[result.outcome] += 1
            return result.reply()
        self._embedding_outcomes["ok"] += 1
        self._embedding_inputs += len(result["data"])
        return json_reply(200, result)

    def _embedding(self, body: object) -> dict[str, Any] | Refusal:
        model = body.get("model") if isinstance(body, dict) else None
        return self._chat.check_model(model) or embeddings.create(body, self.config.model)


async def _body_pieces(reader: asyncio.StreamReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    """A request body in pieces of at most ``BODY_PIECE`` bytes, by Content-Length or chunked."""
    if "chunked" not in headers.get("transfer-encoding", "").lower():
        left = int(headers.get("content-length", "0"))
        while left > 0:
            piece = await reader.readexactly(min(left, BODY_PIECE))
            left -= len(piece)
            yield piece
        return
    while True:
        left = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if left == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers
            return
        while left > 0:
            piece = await reader.readexactly(min(left, BODY_PIECE))
            left -= len(piece)
            yield piece
        await reader.readexactly(2)


def _payload_too_large() -> Refusal:
    message = "Request Entity Too Large"
    return Refusal("bad_request", 413, openai_error(message))


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


_DEFAULTS = DevServerConfig()


@contextlib.contextmanager
def running_server(config: DevServerConfig = _DEFAULTS, *, wall: Callable[[], float] = time.time) -> Iterator[str]:
    """A server on 127.0.0.1 and a free port, in a background thread; yields its base URL.

    ``wall`` is the server's Unix-time clock: a fake one steps batches through their life.
    """
    server = DevServer(replace(config, host=DEFAULT_HOST, port=0), wall=wall)
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
