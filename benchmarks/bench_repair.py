"""Throughput of concurrent chat calls against the loopback devserver.

Run from the repository root: ``python -m benchmarks.bench_repair [--quick]``.

Efficiency is the ideal wall time (N x latency / concurrency) over the measured one: 1.0
means the client adds nothing to the server's latency. ``run_once`` is the seam where the
repair job will replace the raw SDK loop; it writes nothing anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from pipeline.devserver import DevServerConfig, fetch_stats, running_server

CONCURRENCIES: tuple[int, ...] = (1, 8, 16, 32)
DEFAULT_REQUESTS = 400
DEFAULT_LATENCY = 0.2
QUICK_REQUESTS = 80
QUICK_LATENCY = 0.05
TARGET_EFFICIENCY = 0.85  # at concurrency 16 and 32

_ABSTRACT = (
    "Sparse attention cuts the cost of long contexts. We propose SparQ-Lite, which keeps "
    "the 64 most relevant keys per query. On LongBench it retains 98.5% of dense accuracy "
    "while running 3.2x faster. These results suggest that most attention is redundant."
)


def _messages(index: int) -> list[ChatCompletionMessageParam]:
    """A request shaped like the repair job's: shared instructions, then the paper."""
    return [
        {"role": "system", "content": "You summarise arXiv papers as one JSON object."},
        {
            "role": "user",
            "content": (
                "Target language: Chinese\nFields to write: tldr, method, result\n\n"
                f"<title>Paper {index}: SparQ-Lite</title>\n<abstract>{_ABSTRACT}</abstract>"
            ),
        },
    ]


async def _run(base_url: str, n: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as http:
        # openai types http_client as httpx2's but accepts httpx's (it checks both);
        # its own retries are off so every call is one request.
        client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key="devserver",
            http_client=http,  # type: ignore[arg-type]
            max_retries=0,
        )
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with gate:
                await client.chat.completions.create(
                    model="devserver",
                    messages=_messages(index),
                    response_format={"type": "json_object"},
                )

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - start


def run_once(base_url: str, n: int, concurrency: int) -> float:
    """Seconds to complete ``n`` calls with at most ``concurrency`` in flight."""
    return asyncio.run(_run(base_url, n, concurrency))


@dataclass(frozen=True)
class Row:
    concurrency: int
    wall_s: float
    requests: int
    server_requests: int
    latency: float

    @property
    def rate(self) -> float:
        return self.requests / self.wall_s

    @property
    def efficiency(self) -> float:
        return self.requests * self.latency / self.concurrency / self.wall_s


def measure(n: int, latency: float, concurrencies: Sequence[int]) -> list[Row]:
    """One server for all runs; each row checks the server saw exactly ``n`` calls."""
    rows = []
    with running_server(DevServerConfig(latency=latency)) as base_url:
        run_once(base_url, 1, 1)  # warm-up: the SDK imports its resources lazily
        for concurrency in concurrencies:
            before = fetch_stats(base_url)["total"]
            wall = run_once(base_url, n, concurrency)
            seen = fetch_stats(base_url)["total"] - before
            rows.append(Row(concurrency, wall, n, seen, latency))
    return rows


def format_table(rows: Sequence[Row]) -> str:
    lines = [f"{'C':>3} {'N':>5} {'wall s':>8} {'req/s':>8} {'efficiency':>10} {'server':>7}"]
    lines += [
        f"{r.concurrency:>3} {r.requests:>5} {r.wall_s:>8.2f} {r.rate:>8.1f} "
        f"{r.efficiency:>10.2f} {r.server_requests:>7}"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: N={QUICK_REQUESTS}, latency {QUICK_LATENCY}s",
    )
    parser.add_argument("-n", type=int, default=None, help=f"requests (default {DEFAULT_REQUESTS})")
    parser.add_argument(
        "--latency",
        type=float,
        default=None,
        help=f"server latency in seconds (default {DEFAULT_LATENCY})",
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCIES))
    args = parser.parse_args(argv)
    n = args.n or (QUICK_REQUESTS if args.quick else DEFAULT_REQUESTS)
    latency = args.latency if args.latency is not None else (QUICK_LATENCY if args.quick else DEFAULT_LATENCY)
    print(
        f"openai {openai.__version__}, httpx {httpx.__version__}, {os.cpu_count()} cores, "
        f"N={n}, latency {latency * 1000:.0f} ms, target efficiency {TARGET_EFFICIENCY}"
    )
    print(format_table(measure(n, latency, args.concurrency)))


if __name__ == "__main__":
    main()
