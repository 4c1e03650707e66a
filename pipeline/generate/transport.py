"""An HTTP transport of several small connection pools instead of one large one.

httpcore's pool re-examines every connection against every queued request each time a
request starts or ends: O(connections²) work per event. At 32 connections that cost more
CPU than everything else the repair job does (measured: 45% of the run), so a run at
high concurrency became client-bound. Shards of ``SHARD_SIZE`` connections keep the work
per event small; each request goes to the least busy shard.
"""

from __future__ import annotations

import math
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator

import httpx

SHARD_SIZE = 8


class _CountedStream(httpx.AsyncByteStream):
    """A response body that gives its shard's slot back when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: list[int], index: int) -> None:
        self._stream = stream
        self._load = release
        self._index = index
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._load[self._index] -= 1
        await self._stream.aclose()


class ShardedTransport(httpx.AsyncBaseTransport):
    """``connections`` in total, split into pools of at most ``shard_size``.

    httpx reads ``HTTPS_PROXY`` and friends only for its own default transport, so the
    caller passes the proxy (see ``environment_proxy``).
    """

    def __init__(self, connections: int, *, shard_size: int = SHARD_SIZE, proxy: str | None = None) -> None:
        count = max(1, math.ceil(connections / shard_size))
        size = math.ceil(connections / count)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        ssl_context = httpx.create_ssl_context()  # loading the CA bundle once, not per shard
        self._shards = [httpx.AsyncHTTPTransport(limits=limits, verify=ssl_context, proxy=proxy) for _ in range(count)]
        self._load = [0] * count

    @property
    def shards(self) -> int:
        return len(self._shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._shards)), key=self._load.__getitem__)
        self._load[index] += 1
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            self._load[index] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CountedStream(response.stream, self._load, index),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


def environment_proxy(url: str) -> str | None:
    """The proxy the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``) sets for ``url``."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)
