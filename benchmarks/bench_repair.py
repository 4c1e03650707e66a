"""The repair job against the loopback server: throughput, faults, tokens, memory.

Run from the repository root: ``python benchmarks/bench_repair.py [--quick]``.

1. Throughput: N failed papers (default 400) at server latency L (default 200 ms) for
   concurrency 1, 8, 16, 32. Efficiency = (N x L / C) / wall: 1.0 means the job adds
   nothing to the server's latency. Target >= 0.85 at C=16 and C=32.
2. Faults: the same at C=16 with 10% injected 429s and 5% 500s: every paper must still be
   repaired, within 1.5x of the clean run's wall time.
3. Tokens per repaired paper as the client counts them, and the share of each prompt that
   is a prefix shared by all papers of a day (what a provider's prompt cache can reuse).
4. Peak memory (RSS) of a run over 20 days against one over 2: target within 1.5x.

The server runs in its own process (as a real one would); everything is written in a
temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import write_corpus  # noqa: E402

from pipeline import __version__  # noqa: E402
from pipeline.contracts import PaperRequest  # noqa: E402
from pipeline.detect.language import document_language  # noqa: E402
from pipeline.digest.loader import load  # noqa: E402
from pipeline.generate.client import LLMClient  # noqa: E402
from pipeline.generate.openai_provider import OpenAIProvider  # noqa: E402
from pipeline.generate.prompt import build_messages, load_prompts  # noqa: E402
from pipeline.generate.settings import build_settings  # noqa: E402
from pipeline.job.plan import examples_for, pick_examples  # noqa: E402
from pipeline.job.repair import Output, RepairJob, RepairOptions  # noqa: E402
from pipeline.job.report import RunReport  # noqa: E402

PAPERS_PER_DAY = 52  # 2 good papers (the prompt's examples) + 50 failed


@contextmanager
def server(*flags: str) -> Iterator[str]:
    """``digest-repair devserver`` in a subprocess; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "devserver", "--port", "0", *flags], stdout=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        proc.terminate()
        proc.wait(10)


def make_days(folder: Path, papers: int) -> None:
    days = max(1, papers // (PAPERS_PER_DAY - 2))
    folder.mkdir(parents=True)
    write_corpus(folder, days, PAPERS_PER_DAY, failed_share=1.0)


@dataclass
class Run:
    wall: float
    report: RunReport


def repair(folder: Path, url: str, concurrency: int) -> Run:
    settings = build_settings(
        {"concurrency": concurrency},
        environ={"OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": url, "MODEL_NAME": "devserver"},
    )

    async def go() -> RunReport:
        client = LLMClient.from_settings(settings)
        provider = OpenAIProvider(client, settings)
        out = Path(tempfile.mkdtemp(dir=folder.parent))
        report = RunReport(provider.name, provider.model, provider.prompt_version, __version__)
        job = RepairJob(
            provider,
            report=report,
            gate=client.gate,
            options=RepairOptions(concurrency=concurrency, output=Output("out", out_dir=out)),
        )
        try:
            return await job.run([folder])
        finally:
            await client.aclose()

    start = time.perf_counter()
    report = asyncio.run(go())
    return Run(time.perf_counter() - start, report)


def throughput(tmp: Path, papers: int, latency: float, concurrencies: list[int]) -> dict[int, Run]:
    folder = tmp / "throughput"
    make_days(folder, papers)
    runs = {}
    with server("--latency", str(latency)) as url:
        repair(folder, url, 4)  # warm up imports and the server
        print(f"\n1. throughput: {papers} failed papers, latency {latency * 1000:.0f} ms, cores {os.cpu_count()}")
        print(f"{'C':>4} {'wall s':>8} {'papers/s':>9} {'efficiency':>10} {'repaired':>9} {'HTTP':>6}")
        for c in concurrencies:
            run = runs[c] = repair(folder, url, c)
            t = run.report.totals()
            eff = papers * latency / c / run.wall
            line = f"{c:>4} {run.wall:>8.2f} {papers / run.wall:>9.1f} {eff:>10.2f} {t['repaired']:>9}"
            print(f"{line} {t['requests']:>6}")
    return runs


def faults(tmp: Path, papers: int, latency: float, clean: Run | None) -> None:
    folder = tmp / "faults"
    make_days(folder, papers)
    with server(
        "--latency",
        str(latency),
        "--rate-429",
        "0.10",
        "--rate-500",
        "0.05",
        "--retry-after",
        str(latency),
        "--seed",
        "3",
    ) as url:
        run = repair(folder, url, 16)
    t = run.report.totals()
    print(
        f"\n2. faults at C=16 (10% 429 with Retry-After {latency}s, 5% 500): "
        f"repaired {t['repaired']}/{papers}, failed {t['failed']}, wall {run.wall:.2f} s",
        end="",
    )
    print(f", {run.wall / clean.wall:.2f}x the clean run (target <= 1.5x)" if clean else "")


def tokens(tmp: Path, latency: float) -> None:
    """A fresh server, so its prompt-cache estimate sees each prompt for the first time."""
    folder = tmp / "tokens"
    make_days(folder, PAPERS_PER_DAY - 2)
    with server("--latency", str(latency)) as url:
        run = repair(folder, url, 8)
    repaired = [p for p in run.report.papers if p.outcome == "repaired"]
    prompt = sum(p.usage.prompt_tokens for p in repaired) / len(repaired)
    completion = sum(p.usage.completion_tokens for p in repaired) / len(repaired)
    cached = sum(p.usage.cached_tokens for p in repaired) / len(repaired)
    # The stable prefix, measured on the prompts themselves: serialise each paper's messages
    # and find the longest prefix the papers of one category share (they get the same
    # style examples, so the same system message).
    document = load(sorted(folder.glob("*.md"))[0])
    language = document_language(document)
    pool = pick_examples(document, language, 2)
    prompts = load_prompts()
    failed = [p for p in document.papers if p.failed_fields]
    category = max({p.category for p in failed}, key=lambda c: sum(p.category == c for p in failed))
    texts = [
        json.dumps(
            build_messages(
                PaperRequest(p.id, p.title, p.abstract, p.failed_fields, language, examples_for(pool, p.category, 2)),
                prompts,
                2,
            ),
            ensure_ascii=False,
        )
        for p in failed
        if p.category == category
    ]
    prefix = os.path.commonprefix(texts)
    share = len(prefix) / (sum(map(len, texts)) / len(texts))
    print(
        f"\n3. tokens per repaired paper ({len(repaired)} papers, one day): prompt {prompt:.0f}, "
        f"completion {completion:.0f}; the server counts {cached:.0f} ({cached / prompt:.0%}) prompt tokens "
        f"as a cacheable prefix; the prompts share a stable prefix of {share:.0%} ({len(prefix)} chars)"
    )


_CHILD = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def memory(tmp: Path, latency: float) -> None:
    print(f"\n4. peak memory of `digest-repair repair` (C=8, latency {latency * 1000:.0f} ms)")
    print(f"{'days':>5} {'files':>6} {'papers':>7} {'peak RSS MB':>12}")
    peaks = {}
    with server("--latency", str(latency)) as url:
        for days in (2, 20):
            folder = tmp / f"memory{days}"
            folder.mkdir()
            write_corpus(folder, days, 400, failed_share=0.1, seed=days)
            env = {**os.environ, "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": url}
            cmd = [
                sys.executable,
                "-m",
                "pipeline",
                "repair",
                str(folder),
                "--out",
                str(tmp / f"out{days}"),
                "--no-cache",
                "--quiet",
                "--concurrency",
                "8",
            ]
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, *cmd], env=env, check=True, capture_output=True, text=True
            )
            peaks[days] = int(out.stdout.strip().splitlines()[-1]) / 1024
            print(f"{days:>5} {days * 2:>6} {days * 400:>7} {peaks[days]:>12.1f}")
    print(f"ratio 20 days / 2 days: {peaks[20] / peaks[2]:.2f} (target <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.2, help="server latency in seconds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 papers, 50 ms")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 16, 32])
    args = parser.parse_args()
    papers, latency = (100, 0.05) if args.quick else (args.papers, args.latency)
    papers = (papers // (PAPERS_PER_DAY - 2)) * (PAPERS_PER_DAY - 2) or PAPERS_PER_DAY - 2
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        runs = throughput(tmp, papers, latency, args.concurrency)
        faults(tmp, papers, latency, runs.get(16))
        tokens(tmp, latency)
        memory(tmp, 0.01)


if __name__ == "__main__":
    main()
