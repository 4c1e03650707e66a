"""The sharded transport spreads concurrent requests over its pools and frees slots."""

from __future__ import annotations

import asyncio

import httpx
import respx

from pipeline.generate.transport import ShardedTransport


def test_concurrent_requests_spread_over_shards_and_slots_are_returned() -> None:
    transport = ShardedTransport(32)
    seen: list[list[int]] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        seen.append(list(transport._load))
        await asyncio.sleep(0.01)
        return httpx.Response(200, json={"ok": True})

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            responses = await asyncio.gather(*(client.get("http://x.test/") for _ in range(32)))
            assert all(r.json() == {"ok": True} for r in responses)

    with respx.mock() as mock:
        mock.get("http://x.test/").mock(side_effect=slow)
        asyncio.run(run())
    assert transport.shards == 4
    assert max(max(load) - min(load) for load in seen) <= 1  # least-busy shard first
    assert transport._load == [0, 0, 0, 0]


def test_proxies_come_from_the_environment_like_httpx_default(monkeypatch) -> None:
    from pipeline.generate.transport import environment_proxy

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert environment_proxy("https://api.deepseek.com/v1") == "http://proxy.internal:3128"
    assert environment_proxy("http://127.0.0.1:8000/v1") is None
    transport = ShardedTransport(16, proxy=environment_proxy("https://api.openai.com/v1"))
    assert all(type(shard._pool).__name__ == "AsyncHTTPProxy" for shard in transport._shards)
