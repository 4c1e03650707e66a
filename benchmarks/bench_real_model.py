"""Rehearse with a real model: the repair path on N failed papers of a digest, every
answer recorded with its verdict.

The loopback server's answers pass by construction; a real model's do not. This runs the
product's own job (prompts, client, validator, re-asks) against any OpenAI-compatible
server named by the usual environment (OPENAI_BASE_URL, OPENAI_API_KEY, MODEL_NAME; a
local llama.cpp server, see README "A rehearsal with a local model") on the first N
failed papers of a digest, and writes every answer, with the problems found in it, to a
JSONL file for reading (the shape of ../shared/realmodel/answers.jsonl). It prints what a
user would want to know before trusting a model: papers written and rejected, how often a
re-ask turned a paper around, how often a re-ask answer copied the previous one, how many
answers described the prompt's example paper instead of the target (and how many of those
the validator caught), and the seconds and tokens per paper.

Without a reachable server it says so and exits 0: it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.generate.client import LLMClient
from pipeline.generate.decode import DecodeError, decode_object
from pipeline.generate.embeddings import GROUNDING_CHOICES
from pipeline.generate.openai_provider import Answer, OpenAIProvider
from pipeline.generate.settings import build_settings
from pipeline.job.repair import Output, RepairJob, RepairOptions
from pipeline.job.report import RunReport
from pipeline.validate.overlap import trigrams
from pipeline.validate.validator import Validator, build_grounder

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_8475de725130af0c.txt"
# An answer field is a leak when this share of its character trigrams is found in one
# field of an example paper of the prompt (a copied sentence, not a shared word).
LEAK_CONTAINMENT = 0.5
COPY_SIMILARITY = 0.95  # a re-ask answer this close to the previous one copied it back


def reachable(base_url: str, key: str) -> bool:
    request = urllib.request.Request(base_url.rstrip("/") + "/models", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=5):
            return True
    except OSError:
        return False


def leaked_from(fields: dict[str, Any], examples: list[dict[str, Any]]) -> str | None:
    """The title of the example paper an answer copies a field from, if it does."""
    for example in examples:
        sources = [trigrams(str(value)) for value in example["fields"].values()]
        for value in fields.values():
            mine = trigrams(str(value))
            if len(mine) >= 10 and any(len(mine & source) / len(mine) >= LEAK_CONTAINMENT for source in sources):
                return str(example["title"])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("digest", nargs="?", type=Path, default=SEED, help="a digest with failed papers")
    parser.add_argument("--papers", type=int, default=10, help="failed papers to repair (the first N)")
    parser.add_argument("--answers", type=Path, default=Path("rehearsal-answers.jsonl"), help="JSONL of every answer")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per request (a CPU server is slow)")
    parser.add_argument("--max-reasks", type=int, default=2)
    parser.add_argument(
        "--grounding", choices=GROUNDING_CHOICES, default="auto", help="the grounding check, as on repair"
    )
    args = parser.parse_args()
    base_url = os.environ.get("OPENAI_BASE_URL", "")
    key = os.environ.get("OPENAI_API_KEY", "none")
    if not base_url or not reachable(base_url, key):
        print(f"no OpenAI-compatible server at OPENAI_BASE_URL={base_url!r}: nothing to rehearse (skipped)")
        return 0
    if not args.digest.is_file():
        print(f"{args.digest} not found (../shared is not beside the checkout): skipped")
        return 0
    settings = build_settings(
        {"timeout_s": args.timeout, "concurrency": 1, "max_reasks": args.max_reasks, "api_key": key},
        environ=os.environ,
    )
    answers: list[Answer] = []

    async def run(folder: Path, out: Path) -> RunReport:
        client = LLMClient.from_settings(settings)
        provider = OpenAIProvider(client, settings, on_answer=answers.append)
        report = RunReport(provider.name, provider.model, provider.prompt_version, __version__)
        options = RepairOptions(concurrency=1, max_papers=args.papers, output=Output("out", out_dir=out))
        grounder, notice = build_grounder(args.grounding, settings)
        if notice:
            print(notice)
        validator = Validator(grounding=grounder or "off")
        job = RepairJob(provider, options=options, report=report, gate=client.gate, validator=validator)
        try:
            return await job.run([folder])
        finally:
            await client.aclose()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        shutil.copyfile(args.digest, folder / (args.digest.stem + ".md"))
        report = asyncio.run(run(folder, Path(tmp) / "out"))
    print_summary(report, answers, args.answers)
    return 0


def print_summary(report: RunReport, answers: list[Answer], path: Path) -> None:
    papers = [p for p in report.papers if p.outcome in ("repaired", "failed")]
    outcome = {p.id: p for p in papers}
    by_paper: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_paper[answer.request.id].append(answer)
    leaks = caught = copies = 0
    with path.open("w", encoding="utf-8") as handle:
        for paper_id, given in by_paper.items():
            previous = None
            for answer in given:
                try:
                    fields = decode_object(answer.content)
                except DecodeError:
                    fields = {}
                examples = [{"title": e.title, "fields": dict(e.fields)} for e in answer.request.examples]
                leak = leaked_from(fields, examples)
                copied = previous is not None and difflib.SequenceMatcher(None, previous, answer.content).ratio()
                leaks += leak is not None
                caught += leak is not None and bool(answer.problems)
                copies += bool(copied and copied >= COPY_SIMILARITY)
                result = outcome.get(paper_id)
                record = {
                    "id": paper_id,
                    "title": answer.request.title,
                    "abstract": answer.request.abstract,
                    "call": answer.number,
                    "final_call": answer is given[-1],
                    "answer": fields or answer.content,
                    "problems": [problem.as_dict() for problem in answer.problems],
                    "leaked_from": leak,
                    "similarity_to_previous": round(copied, 3) if copied is not False else None,
                    "run_outcome": result.outcome if result else None,
                    "reasons": result.reasons if result else [],
                }
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                previous = answer.content
    written = [p for p in papers if p.outcome == "repaired"]
    reasked = [p for p in papers if p.reasks > 0]
    turned = [p for p in reasked if p.outcome == "repaired"]
    seconds = sum(p.latency_s for p in papers) / max(len(papers), 1)
    tokens = sum(p.usage.total for p in papers) / max(len(papers), 1)
    print(f"model {report.model}, prompt {report.prompt_version}: {len(papers)} papers, {len(answers)} answers")
    print(f"  written {len(written)}, rejected {len(papers) - len(written)}")
    print(f"  re-asks: {sum(p.reasks for p in papers)} in {len(reasked)} papers, {len(turned)} turned around")
    print(f"  re-ask answers copying the previous one (>= {COPY_SIMILARITY}): {copies}")
    print(f"  answers leaking an example paper: {leaks}, caught by the validator: {caught}")
    print(f"  seconds per paper {seconds:.0f}, tokens per paper {tokens:.0f}")
    for p in papers:
        print(f"  {p.id} {p.outcome} {','.join(p.reasons)} (answers {p.attempts}, re-asks {p.reasks})")
    print(f"every answer: {path}")


if __name__ == "__main__":
    sys.exit(main())
