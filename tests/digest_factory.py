"""Build digests in the upstream's exact markup from plain paper data, for tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pipeline.digest.fields import FIELDS
from pipeline.digest.placeholders import UPSTREAM_DEFAULTS

FAILED = dict(UPSTREAM_DEFAULTS)


@dataclass
class FakePaper:
    id: str
    title: str = "A Study of Things"
    authors: tuple[str, ...] = ("Ada Lovelace", "Alan Turing")
    category: str = "cs.LG"
    abstract: str = "We study things. Results improve by 12%."
    fields: dict[str, str] = field(
        default_factory=lambda: {
            "tldr": "本文研究了一些问题，并取得了12%的提升。",
            "motivation": "现有方法在这一问题上存在不足。",
            "method": "提出了一种新的方法来解决该问题。",
            "result": "实验表明性能提升了12%。",
            "conclusion": "该方法有效且具有推广价值。",
        }
    )


def entry(paper: FakePaper, index: int) -> str:
    f = paper.fields
    return (
        f"### [{index}] [{paper.title}](https://arxiv.org/abs/{paper.id})\n"
        f"*{','.join(paper.authors)}*\n\n"
        f"Main category: {paper.category}\n\n"
        f"TL;DR: {f['tldr']}\n\n\n"
        "<details>\n  <summary>Details</summary>\n"
        f"Motivation: {f['motivation']}\n\n"
        f"Method: {f['method']}\n\n"
        f"Result: {f['result']}\n\n"
        f"Conclusion: {f['conclusion']}\n\n"
        f"Abstract: {paper.abstract}\n\n"
        "</details>\n\n\n"
    )


def markdown(papers: list[FakePaper]) -> str:
    """A whole digest: table of contents, one section per category, entries numbered 1..N."""
    categories = list(dict.fromkeys(p.category for p in papers))
    out = ["<div id=toc></div>\n\n# Table of Contents\n\n"]
    for cat in categories:
        count = sum(p.category == cat for p in papers)
        out.append(f"- [{cat}](#{cat}) [Total: {count}]\n")
    out.append("\n\n")
    index = 0
    for cat in categories:
        out.append(f"<div id='{cat}'></div>\n\n# {cat} [[Back]](#toc)\n\n")
        for paper in (p for p in papers if p.category == cat):
            index += 1
            out.append(entry(paper, index))
    return "".join(out)


def jsonl(papers: list[FakePaper], *, ensure_ascii: bool = True) -> str:
    lines = []
    for p in papers:
        obj = {
            "id": p.id,
            "categories": [p.category],
            "pdf": f"https://arxiv.org/pdf/{p.id}",
            "abs": f"https://arxiv.org/abs/{p.id}",
            "authors": list(p.authors),
            "title": p.title,
            "comment": None,
            "summary": p.abstract,
            "AI": {k: p.fields[k] for k in FIELDS},
        }
        lines.append(json.dumps(obj, ensure_ascii=ensure_ascii) + "\n")
    return "".join(lines)


def failed(paper: FakePaper, *names: str) -> FakePaper:
    """The same paper with ``names`` (default: all five) replaced by upstream placeholders."""
    for name in names or FIELDS:
        paper.fields[name] = FAILED[name]
    return paper
