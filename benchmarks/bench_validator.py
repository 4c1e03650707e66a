"""Validator acceptance, rejection and cost on real digests.

Run from the repository root: ``python benchmarks/bench_validator.py [--shared DIR]``.

Acceptance: share of good (accepted, non-failed) papers of ``../shared`` that pass each
check. Rejection: share of each mutation kind (``tests/mutations.py``) caught with an
expected code, and by any code. Cost: milliseconds per paper, cold (first validation of a
paper: the abstract's numbers and names are read) and warm (a re-ask of the same paper).
Targets: >= 97% acceptance for numbers and terms, >= 98% rejection per deterministic
kind, >= 90% for swaps, <= 1.5 ms of CPU per paper cold. Writes nothing. The real-data
calibration (44,000 papers) is ``bench_calibration.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from mutations import Case, good_cases, mutations  # noqa: E402

from pipeline.validate import latex  # noqa: E402
from pipeline.validate.validator import Validator  # noqa: E402


def _codes(validator: Validator, case: Case) -> set[str]:
    return {p.code for p in validator.check(case.title, case.abstract, case.language, case.fields)}


def acceptance(validator: Validator, goods: list[Case]) -> None:
    failing: Counter[str] = Counter()
    for case in goods:
        failing.update(_codes(validator, case))
    print(f"\nAcceptance on {len(goods)} good papers (share passing each check)")
    for check in validator.codes:
        print(f"  {check:<12} {1 - failing[check] / len(goods):7.1%}  ({failing[check]} flagged)")


def rejection(validator: Validator, goods: list[Case]) -> None:
    clean = [case for case in goods if not _codes(validator, case)]
    caught: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for case in mutations(clean):
        codes = _codes(validator, case)
        total[case.kind] += 1
        caught[case.kind] += bool(codes & case.expected)
        flagged[case.kind] += bool(codes)
    print(f"\nRejection of mutations of {len(clean)} clean papers")
    print(f"  {'kind':<12} {'cases':>6} {'right code':>11} {'any code':>9}")
    for kind in total:
        print(f"  {kind:<12} {total[kind]:>6} {caught[kind] / total[kind]:>11.1%} {flagged[kind] / total[kind]:>9.1%}")


def cost(goods: list[Case], rounds: int) -> None:
    def run(validator: Validator, clock: Callable[[], float]) -> float:
        start = clock()
        for case in goods:
            validator.check(case.title, case.abstract, case.language, case.fields)
        return (clock() - start) / len(goods) * 1000

    def cold(clock: Callable[[], float]) -> float:
        # A new validator has read no abstract yet, and neither has the shared LaTeX reader.
        latex.normalize.cache_clear()
        latex.words.cache_clear()
        return run(Validator(), clock)

    # CPU time is what checking costs; wall time on a shared machine adds the neighbours'.
    cold_cpu = min(cold(time.process_time) for _ in range(rounds))
    cold_wall = min(cold(time.perf_counter) for _ in range(rounds))
    warm_validator = Validator()
    run(warm_validator, time.process_time)
    warm_cpu = min(run(warm_validator, time.process_time) for _ in range(rounds))
    print(
        f"\nCost per paper (best of {rounds}): cold {cold_cpu:.3f} ms CPU ({cold_wall:.3f} ms wall), "
        f"warm {warm_cpu:.3f} ms CPU (targets: cold <= 1.5 ms, a re-ask < 1 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=ROOT.parent / "shared",
        help="folder with seeds/ and upstream/ (default: ../shared)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="timing repetitions")
    args = parser.parse_args()
    if not (args.shared / "seeds").is_dir():
        sys.exit(f"no real digests under {args.shared}; pass --shared DIR")
    validator = Validator()
    unique = good_cases(args.shared, unique=True)
    acceptance(validator, good_cases(args.shared))
    rejection(validator, unique)
    cost(unique, args.rounds)


if __name__ == "__main__":
    main()
