"""Synthetic digests for benchmarks: upstream markup, realistic sizes, some failures."""

from __future__ import annotations

import json
import random
from pathlib import Path

from pipeline.digest.fields import FIELDS
from pipeline.digest.insert import DEFAULT_GAP, ENTRY_TEMPLATE
from pipeline.digest.placeholders import UPSTREAM_DEFAULTS

_WORDS = (
    "model",
    "training",
    "graph",
    "sparse",
    "attention",
    "benchmark",
    "robust",
    "latent",
    "policy",
    "federated",
    "diffusion",
    "token",
    "retrieval",
    "privacy",
    "kernel",
    "agent",
)
_ZH = "本文提出了一种新的方法用于提升模型在多个基准上的性能并降低计算成本实验结果表明该方法有效"


def abstract(rng: random.Random, words: int = 220) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    gain = f"{rng.randint(1, 40)}.{rng.randint(0, 9)}%"
    return f"We propose FlowMix-{rng.randint(1, 99)}. {text} It improves accuracy by {gain}."


def summary(rng: random.Random, chars: int) -> str:
    return "".join(rng.choice(_ZH) for _ in range(chars)) + f"，提升{rng.randint(1, 40)}%。"


def paper(rng: random.Random, n: int, failed: bool) -> dict:
    fields = {
        name: UPSTREAM_DEFAULTS[name] if failed else summary(rng, 60 if name == "tldr" else 110) for name in FIELDS
    }
    return {
        "id": f"2601.{n:05d}",
        "title": f"Paper {n}: {' '.join(rng.choices(_WORDS, k=6))}",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "category": rng.choice(["cs.LG", "cs.CL", "cs.CV"]),
        "summary": abstract(rng),
        "AI": fields,
    }


def markdown(papers: list[dict]) -> str:
    cats = list(dict.fromkeys(p["category"] for p in papers))
    out = ["<div id=toc></div>\n\n# Table of Contents\n\n"]
    out += [f"- [{c}](#{c}) [Total: {sum(p['category'] == c for p in papers)}]\n" for c in cats]
    out.append("\n\n")
    index = 0
    for cat in cats:
        out.append(f"<div id='{cat}'></div>\n\n# {cat} [[Back]](#toc)\n\n")
        for p in (p for p in papers if p["category"] == cat):
            index += 1
            entry = ENTRY_TEMPLATE.format(
                index=index,
                title=p["title"],
                id=p["id"],
                authors=",".join(p["authors"]),
                category=cat,
                abstract=p["summary"],
                **p["AI"],
            )
            out.append(entry + DEFAULT_GAP)
    return "".join(out)


def write_corpus(folder: Path, files: int, papers_per_file: int, seed: int = 7, failed_share: float = 0.2) -> int:
    """Write ``files`` days (a .md and its enhanced .jsonl each); returns bytes written.

    The first two papers of each day are always good (style examples for the prompt);
    of the others, ``failed_share`` fail (exactly, rounded down).
    """
    rng = random.Random(seed)
    total = 0
    failing = int((papers_per_file - 2) * failed_share)
    for day in range(files):
        papers = [paper(rng, day * papers_per_file + i, failed=2 <= i < 2 + failing) for i in range(papers_per_file)]
        md = markdown(papers).encode()
        js = "".join(json.dumps(p) + "\n" for p in papers).encode()
        (folder / f"day{day:04d}.md").write_bytes(md)
        (folder / f"day{day:04d}_AI_enhanced_Chinese.jsonl").write_bytes(js)
        total += len(md) + len(js)
    return total
