"""The sharded transport spreads concurrent requests over its pools and frees slots."""

from __future__ import annotations

import asyncio

import httpx
import respx

from pipeline.transport import ShardedTransport


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
