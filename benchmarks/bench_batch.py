"""A backfill through the Batch API against the same work through live calls.

N failed papers (default 2,000, in days of 50) are repaired twice against the loopback
server, each in a fresh process with a fresh cache: once live (``--concurrency 8``, the
server answering each request after ``--latency``), once with ``--batch --wait`` (the
server finishing each batch after ``--batch-delay``). Printed: HTTP requests the client
sent, requests the server answered, tokens billed (and at which rate), wall time and peak
memory. The server runs in its own process, as a real one would.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_repair import PAPERS_PER_DAY, make_days, server  # noqa: E402

_CHILD = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=False)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def stats(url: str) -> dict:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/_stats", timeout=10) as response:
        loaded: dict = json.load(response)
        return loaded


def run(folder: Path, url: str, work: Path, *flags: str) -> tuple[dict, float, float]:
    """One repair in a fresh process: (its report, wall seconds, peak RSS in MB)."""
    env = {**os.environ, "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": url, "MODEL_NAME": "devserver"}
    report = work / "report.json"
    # --grounding off: the loopback server's answers are templates, about no paper.
    cmd = [sys.executable, "-m", "pipeline", "repair", str(folder), "--quiet", "--out", str(work / "out"),
           "--cache", str(work / "cache.sqlite"), "--report", str(report), "--grounding", "off", *flags]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, *cmd], env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return json.loads(report.read_text()), wall, int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per live request")
    parser.add_argument("--batch-delay", type=float, default=5.0, help="seconds until a batch ends")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "days"
        make_days(folder, args.papers)
        papers = (args.papers // (PAPERS_PER_DAY - 2)) * (PAPERS_PER_DAY - 2)
        print(f"{papers} failed papers in {papers // (PAPERS_PER_DAY - 2)} days; cores: {os.cpu_count()}")
        print(f"{'mode':<7} {'repaired':>8} {'client HTTP':>11} {'answered':>9} {'prompt tok':>11} "
              f"{'compl. tok':>10} {'billing':>8} {'wall s':>7} {'peak MB':>8}")  # fmt: skip
        modes = {
            "live": (("--latency", str(args.latency)), ("--concurrency", "8")),
            "batch": (("--batch-delay", str(args.batch_delay)), ("--batch", "--wait")),
        }
        for mode, (server_flags, flags) in modes.items():
            work = Path(tmp) / mode
            work.mkdir()
            with server(*server_flags) as url:
                report, wall, peak = run(folder, url, work, *flags)
                served = stats(url)
            t = report["totals"]
            answered = served["total"] if mode == "live" else served["batches"]["requests"]
            print(f"{mode:<7} {t['repaired']:>8} {t['requests']:>11} {answered:>9} {t['tokens']['prompt']:>11} "
                  f"{t['tokens']['completion']:>10} {report['billing']:>8} {wall:>7.1f} {peak:>8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
