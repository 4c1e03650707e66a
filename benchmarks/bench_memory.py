"""Peak memory of `digest-repair repair` on one large digest, against the file's size.

Writes one synthetic digest of about ``--mb`` MB (Markdown, then JSONL), with 20% of its
papers failed, and repairs it with the offline provider in a fresh process (``--out``,
no cache), reading the child's peak RSS. Target: at most 3x the file's size, and
(see bench_repair.py) flat in the number of files.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import markdown, paper  # noqa: E402


def _render(kind: str, papers: list[dict]) -> str:
    return markdown(papers) if kind == "markdown" else "".join(json.dumps(p) + "\n" for p in papers)


def write_digest(folder: Path, kind: str, megabytes: float) -> tuple[Path, int]:
    """A digest of about ``megabytes``, one paper in five failed; returns it and its papers."""
    rng = random.Random(11)
    sample = len(_render(kind, [paper(rng, i, failed=i % 5 == 4) for i in range(200)]).encode()) / 200
    count = int(megabytes * 1e6 / sample)
    papers = [paper(rng, i, failed=i % 5 == 4) for i in range(count)]
    path = folder / ("2026-01-15.md" if kind == "markdown" else "2026-01-15_AI_enhanced_Chinese.jsonl")
    path.write_text(_render(kind, papers), encoding="utf-8")
    return path, count


def peak_rss_mb(argv: list[str]) -> tuple[float, float]:
    """(peak RSS of the child in MB, seconds): each measurement in a fresh grandchild."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True, text=True).stdout
    rss, seconds = out.split()
    return float(rss), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=100.0, help="size of the digest")
    parser.add_argument("--tool", help="the digest-repair to measure (default: this environment's)")
    args = parser.parse_args()
    tool = args.tool or str(Path(sys.executable).with_name("digest-repair"))
    idle, _ = peak_rss_mb([tool, "--version"])
    print(f"interpreter with the package imported: {idle:.0f} MB")
    print(f"{'format':<9} {'file MB':>8} {'papers':>7} {'peak RSS MB':>12} {'x file':>7} {'seconds':>8}")
    for kind in ("markdown", "jsonl"):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "in"
            folder.mkdir()
            path, papers = write_digest(folder, kind, args.mb)
            size = path.stat().st_size / 1e6
            argv = [tool, "repair", str(path), "--provider", "extractive", "--no-cache", "--quiet"]
            rss, seconds = peak_rss_mb([*argv, "--out", str(Path(tmp) / "out")])
            print(f"{kind:<9} {size:>8.1f} {papers:>7} {rss:>12.0f} {rss / size:>7.2f} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
