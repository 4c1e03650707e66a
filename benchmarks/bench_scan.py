"""Scanning speed (MB/s on one core) and peak memory against the number of files.

Generates a synthetic corpus in a temporary folder (default >= 100 MB), scans it with the
library in a fresh subprocess, and prints a table. Target: >= 60 MB/s, and peak memory
that does not grow with the number of files (scanning streams file by file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import write_corpus  # noqa: E402

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pipeline.detect.scan import scan_paths
paths = sorted(Path(sys.argv[1]).iterdir())[: int(sys.argv[2])]
size = sum(p.stat().st_size for p in paths)
start = time.perf_counter()
papers = failed = 0
for scan in scan_paths(paths):
    papers += scan.papers
    failed += len(scan.failed)
elapsed = time.perf_counter() - start
print(json.dumps({"files": len(paths), "bytes": size, "seconds": elapsed, "papers": papers,
                  "failed": failed, "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def measure(folder: Path, files: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder), str(files)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=60, help="days (each a .md and a .jsonl)")
    parser.add_argument("--papers", type=int, default=500, help="papers per day")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        total = write_corpus(folder, args.days, args.papers)
        print(f"corpus: {args.days * 2} files, {total / 1e6:.1f} MB, cores: {os.cpu_count()}")
        print(f"{'files':>6} {'MB':>8} {'papers':>8} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12}")
        for files in (2, 20, args.days * 2):
            r = measure(folder, files)
            print(
                f"{r['files']:>6} {r['bytes'] / 1e6:>8.1f} {r['papers']:>8} {r['seconds']:>8.2f} "
                f"{r['bytes'] / 1e6 / r['seconds']:>7.1f} {r['peak_rss_kb'] / 1024:>12.1f}"
            )


if __name__ == "__main__":
    main()
