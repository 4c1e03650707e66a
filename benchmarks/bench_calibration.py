"""The validator on the calibration set: 223 real days, about 44,000 papers upstream wrote.

Run from the repository root: ``python benchmarks/bench_calibration.py [--sample N]``.

- Acceptance: share of the real papers (their non-failed fields, checked as ``audit``
  does) that each code lets pass, and that pass every code.
- Flags: a seeded sample of the papers still flagged, with the problem and the field, for
  reading (``--flags N``; ``--flags-json FILE`` writes every flag).
- Rejection: corruptions of the papers that pass (``tests/realcorpus.py``: a number
  changed with and without its unit, a foreign name, stubs, refusals, English fields,
  repeated and pasted fields, a cut-off field, markup, an invented link, a copied abstract,
  whole and single-field swaps with a paper of the same day and category) and controls
  that must pass (a decimal rounded with 约, a field shortened to its first sentence).

The set is read from ``benchmarks/.corpus/`` (git-ignored); when that is empty it is
unpacked there from ``../shared/calibration/enhanced-2025.tar.xz``. Without either the
benchmark says so and exits 0. Prints one table and one summary line; writes nothing else.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from realcorpus import (  # noqa: E402
    MIN_ACCEPTED,
    TARBALL,
    Acceptance,
    RealPaper,
    Rejection,
    acceptance,
    checked,
    corruptions,
    floor,
    read_corpus,
    rejection,
    sample,
)

from pipeline.thresholds import Thresholds  # noqa: E402
from pipeline.validate.validator import Validator  # noqa: E402

CORPUS = ROOT / "benchmarks" / ".corpus"


def _corpus(folder: Path, tarball: Path) -> Path | None:
    """The folder holding the set, unpacked from ``tarball`` the first time."""
    if any(folder.glob("*_AI_enhanced_*.jsonl")):
        return folder
    if not tarball.is_file():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:xz") as archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(".jsonl") and "/" not in m.name]
        archive.extractall(folder, members=members)  # noqa: S202 - our own data set, names checked
    return folder


def _row(name: str, cases: int, rate: float, need: float | None) -> str:
    verdict = "measured" if need is None else ("ok" if rate >= need else "BELOW")
    shown_need = "" if need is None else f">= {need:.1%}"
    return f"| {name:<26} | {cases:>7,} | {rate:>8.2%} | {shown_need:>9} | {verdict:<8} |"


def table(accepted: Acceptance, rejected: Rejection, codes: tuple[str, ...]) -> list[str]:
    lines = [
        "| check                      |   cases |     rate |     floor | verdict  |",
        "|----------------------------|--------:|---------:|----------:|----------|",
    ]
    for code in codes:  # the lexical checks: bench_grounding.py measures grounding
        lines.append(_row(f"accepted: {code}", accepted.papers, accepted.rate(code), MIN_ACCEPTED))
    lines.append(_row("accepted: every code", accepted.papers, accepted.rate(), None))
    for kind in sorted(rejected.total, key=lambda k: (k.startswith("control"), k.startswith("swap"), k)):
        label = ("passed: " if kind.startswith("control") else "rejected: ") + kind
        lines.append(_row(label, rejected.total[kind], rejected.rate(kind), floor(kind)))
    return lines


def _excerpt(text: str, size: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size] + "…"


def show_flags(accepted: Acceptance, count: int, seed: int) -> None:
    by_paper: dict[tuple[str, str, int], list] = {}
    for flag in accepted.flags:
        by_paper.setdefault((flag.paper.day, flag.paper.id, flag.paper.index), []).append(flag)
    keys = sorted(by_paper)
    print(f"\n{min(count, len(keys))} of {len(keys)} flagged papers, drawn with seed {seed}:")
    for number, paper_key in enumerate(random.Random(seed).sample(keys, min(count, len(keys))), 1):
        flags = by_paper[paper_key]
        print(f"\n{number}. {paper_key[0]} {paper_key[1]} (line {paper_key[2]}) {flags[0].paper.title[:90]}")
        for flag in flags:
            field = flag.problem.field or ""
            print(f"   [{flag.problem.code}] {flag.problem.message}")
            print(f"      {field}: {_excerpt(flag.paper.fields.get(field, ''))}")


# What closes a clause in a real summary: the two Chinese characters before a clause or
# sentence mark, or at the end of a field (``pipeline/validate/clause_endings.tsv``).
_CLAUSE_END = re.compile(r"([\u4e00-\u9fff]{2})(?=[，。；：！？、,;:.!?）)]|$)")
CLAUSE_ENDINGS_MIN = 2  # seen this often: a word, not one summary's slip


def derive_clause_endings(papers: list[RealPaper], out: Path) -> int:
    """Write the two-character words that close clauses in the set's summaries."""
    seen: Counter[str] = Counter()
    for paper in papers:
        for value in paper.fields.values():
            seen.update(_CLAUSE_END.findall(value.strip()))
    words = sorted(word for word, count in seen.items() if count >= CLAUSE_ENDINGS_MIN)
    header = (
        "# Two-character words that close a clause or a field in real Chinese summaries: the\n"
        "# calibration set (223 days of upstream output, 2025), each seen at least "
        f"{CLAUSE_ENDINGS_MIN} times.\n"
        "# A TL;DR without a final mark that ends on two characters not listed here ends on half\n"
        "# a word (validate/endings.py). Regenerate with\n"
        "# python benchmarks/bench_calibration.py --derive-clause-endings pipeline/validate/clause_endings.tsv\n"
    )
    out.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    return len(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of the unpacked set")
    parser.add_argument("--tarball", type=Path, default=TARBALL, help="the set, unpacked when --corpus is empty")
    parser.add_argument("--sample", type=int, default=0, help="papers to check (0: all)")
    parser.add_argument("--corrupt", type=int, default=4000, help="accepted papers to corrupt (0: all)")
    parser.add_argument("--seed", type=int, default=20260415)
    parser.add_argument("--flags", type=int, default=20, help="flagged papers to print for reading")
    parser.add_argument("--flags-json", type=Path, help="write every flag here, one JSON object per line")
    parser.add_argument("--missed", type=int, default=0, help="missed corruptions to print per kind")
    parser.add_argument(
        "--threshold", action="append", default=[], metavar="NAME=VALUE", help="measure other thresholds"
    )
    parser.add_argument("--derive-clause-endings", type=Path, metavar="FILE", help="write the clause endings and stop")
    args = parser.parse_args()
    folder = _corpus(args.corpus, args.tarball)
    if folder is None:
        print(f"calibration set not found ({args.corpus} is empty and {args.tarball} is absent): skipped")
        return
    started = time.perf_counter()
    population = checked(read_corpus(folder))
    if args.derive_clause_endings:
        count = derive_clause_endings(population, args.derive_clause_endings)
        print(f"{count:,} clause endings written to {args.derive_clause_endings}")
        return
    papers = sample(population, args.sample or len(population), args.seed)
    thresholds = Thresholds().with_overrides(args.threshold)
    validator = Validator(thresholds)
    checking = time.perf_counter()
    accepted = acceptance(validator, papers)
    per_paper = (time.perf_counter() - checking) / max(1, len(papers)) * 1000
    flagged = {(flag.paper.day, flag.paper.index) for flag in accepted.flags}
    clean = [paper for paper in papers if (paper.day, paper.index) not in flagged]
    targets = sample(clean, args.corrupt or len(clean), args.seed)
    rejected = rejection(Validator(thresholds), corruptions(targets, args.seed, population))
    print(f"Calibration set: {len(population):,} papers checked by audit, {len(papers):,} in this run")
    print("\n".join(table(accepted, rejected, validator.codes)))
    if args.flags:
        show_flags(accepted, args.flags, args.seed)
    for kind, cases in sorted(rejected.missed.items()):
        for case in cases[: args.missed]:
            changed = {n: v for n, v in case.fields.items() if case.paper.fields.get(n) != v}
            print(f"\nmissed {kind}: {case.paper.day} {case.paper.id} {json.dumps(changed, ensure_ascii=False)[:300]}")
    if args.flags_json:
        with args.flags_json.open("w", encoding="utf-8") as out:
            for flag in accepted.flags:
                record = {"day": flag.paper.day, "id": flag.paper.id, "index": flag.paper.index}
                record |= flag.problem.as_dict() | {"text": flag.paper.fields.get(flag.problem.field or "", "")}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    floors = [(kind, rejected.rate(kind)) for kind in rejected.total if floor(kind) is not None]
    worst_kind, worst = min(floors, key=lambda item: item[1] - (floor(item[0]) or 0))
    below = [kind for kind, rate in floors if rate < (floor(kind) or 0)]
    below += [code for code in validator.codes if accepted.rate(code) < MIN_ACCEPTED]
    print(
        f"\nsummary: accepted {accepted.rate():.2%} of {accepted.papers:,} real papers "
        f"(lowest code {min(validator.codes, key=accepted.rate)} {min(map(accepted.rate, validator.codes)):.2%}); "
        f"rejected {sum(rejected.caught[k] for k in rejected.total if not k.startswith(('control', 'swap')))}"
        f"/{sum(rejected.total[k] for k in rejected.total if not k.startswith(('control', 'swap')))} corruptions "
        f"(closest to its floor: {worst_kind} {worst:.2%}); "
        f"swaps {rejected.rate('swap_all'):.1%} whole, {rejected.rate('swap_one'):.1%} one field; "
        f"{per_paper:.2f} ms per paper; {time.perf_counter() - started:.0f} s; "
        + ("all floors met" if not below else "BELOW FLOOR: " + ", ".join(below))
    )


if __name__ == "__main__":
    main()
