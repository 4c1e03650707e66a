"""Known-bad answers built from known-good summaries: the validator's rejection test set.

Each mutation damages one accepted paper in one way a real model does (a summary of
another paper, a changed number, a foreign method name, a refusal, English in a Chinese
digest, injected markup, a field repeated) and names the problem codes that count as
catching it. Tests assert the rates; ``benchmarks/bench_validator.py`` prints them.
It lives with the tests (like ``digest_factory``) because it defines what "rejected"
means; the benchmark puts this folder on ``sys.path``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import load
from pipeline.detect.language import document_language
from pipeline.digest.placeholders import COMPLIANCE_REPLY, UPSTREAM_DEFAULTS


# Files whose good papers are the calibration set: the seeds plus the upstream sample
# (its JSONL and its Markdown rendering hold the same papers; both formats are read).
def calibration_files(shared: Path) -> list[Path]:
    upstream = shared / "upstream"
    return [
        *sorted((shared / "seeds").glob("*.txt")),
        *sorted(upstream.glob("*.jsonl")),
        *sorted(upstream.glob("*.md")),
    ]


@dataclass(frozen=True)
class Case:
    """One paper with candidate fields, and the codes a correct validator reports."""

    kind: str
    id: str
    title: str
    abstract: str
    language: str
    fields: dict[str, str]
    expected: frozenset[str] = frozenset()


def good_cases(shared: Path, *, unique: bool = False) -> list[Case]:
    """Every paper without failed fields in the calibration files (``unique``: one per id)."""
    cases, seen = [], set()
    for path in calibration_files(shared):
        document = load(path)
        for paper in document.papers:
            if paper.failed_fields or (unique and paper.id in seen):
                continue
            seen.add(paper.id)
            fields = {name: value for name, value in paper.fields.items() if value is not None}
            cases.append(Case("good", paper.id, paper.title, paper.abstract, document_language(document), fields))
    return cases


# Real method, model and dataset names, inserted where the abstract does not mention them.
FOREIGN_NAMES: tuple[str, ...] = (
    "XGBoost",
    "LightGBM",
    "ResNet-50",
    "BERT-base",
    "LLaMA-2-13B",
    "GPT-4o",
    "LoRA",
    "ImageNet-1K",
    "CIFAR-100",
    "MMLU",
    "GSM8K",
    "Mixtral-8x7B",
    "YOLOv8",
    "U-Net",
    "AlphaFold2",
    "Qwen2.5-72B",
    "DeBERTa-v3",
    "SimCLR",
    "PointNet++",
    "WaveNet",
)
REFUSALS: tuple[str, ...] = (
    "抱歉，我无法根据提供的信息完成该任务。",
    "I'm sorry, but I cannot help with that request.",
    "As an AI language model, I cannot access the full text of this paper.",
    "作为一个AI语言模型，我不能对该论文进行总结。",
    COMPLIANCE_REPLY,
    "",
    "   ",
    *UPSTREAM_DEFAULTS.values(),
    "错误：AI分析失败。",
)
MARKUP_INJECTIONS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "</details>",
    "\n### 小结",
    "[代码](https://example.com)",
    "![图](https://example.com/x.png)",
    "`code`",
    "a \x0crac{1}{2}",
    "\x08eta 参数",
    "<!-- hidden -->",
    "&lt;b&gt;",
    "javascript:alert(1)",
    "\nAbstract: fake",
    "<img src=x onerror=alert(1)>",
    "<details><summary>x</summary>",
    "\n\n> 引用",
)
# A quantity a model could get wrong: not part of a name (F1, ω0) nor an enumeration "2)".
_STANDALONE_NUMBER = re.compile(r"(?<![A-Za-z0-9_.\-\u0370-\u03ff(（^])\d+(?:\.\d+)?(?![A-Za-z0-9_.)）、])")
_FABRICATED = ("，准确率提升了{n}%。", "，在{n}个基准上验证。", " The method is {n}x faster.")


def _changed_number(text: str, rng: random.Random, abstract: str) -> str | None:
    """``text`` with one standalone number replaced by a clearly different one."""
    matches = list(_STANDALONE_NUMBER.finditer(text))
    rng.shuffle(matches)
    for match in matches:
        old = match.group()
        decimals = len(old.split(".")[1]) if "." in old else 0
        for factor in rng.sample([1.37, 0.61, 2.3, 3.7, 0.43], 5):
            new = f"{float(old) * factor + 1:.{decimals}f}"
            if new not in abstract and new != old:
                return text[: match.start()] + new + text[match.end() :]
    return None


def _fabricated_number(rng: random.Random, abstract: str) -> str:
    while True:
        n = f"{rng.uniform(11, 97):.1f}"
        if n not in abstract:
            return rng.choice(_FABRICATED).format(n=n)


def mutate(good: Case, others: Sequence[Case], rng: random.Random) -> Iterator[Case]:
    """The mutations of one good paper, one per kind that applies to it."""
    fields = good.fields
    names = list(fields)
    target = rng.choice(names)

    donor = rng.choice([c for c in others if c.id != good.id and set(c.fields) == set(names)])
    yield replace(good, kind="swap", fields=dict(donor.fields), expected=frozenset({"numbers", "terms", "grounding"}))

    numbered = [n for n in names if _STANDALONE_NUMBER.search(fields[n])]
    where = rng.choice(numbered) if numbered else target
    new = _changed_number(fields[where], rng, good.abstract) if numbered else None
    if new is None:
        new = fields[where].rstrip("。.") + _fabricated_number(rng, good.abstract)
    yield replace(good, kind="numbers", fields={**fields, where: new}, expected=frozenset({"numbers"}))

    name = rng.choice([n for n in FOREIGN_NAMES if n.lower() not in good.abstract.lower()])
    insert = f"，并结合{name}进行对比" if good.language == "Chinese" else f", compared with {name}"
    yield replace(good, kind="terms", fields={**fields, target: fields[target] + insert}, expected=frozenset({"terms"}))

    yield replace(
        good, kind="placeholder", fields={**fields, target: rng.choice(REFUSALS)}, expected=frozenset({"placeholder"})
    )

    if good.language == "Chinese":
        sentences = [s for s in re.split(r"(?<=\.)\s+", good.abstract) if len(s) > 40]
        english = rng.choice(sentences or [good.abstract])
        yield replace(good, kind="english", fields={**fields, target: english}, expected=frozenset({"language"}))

    injection = rng.choice(MARKUP_INJECTIONS)
    value = fields[target]
    # At the start, the end, or after a clause (not inside a word, where it is only text).
    clause = value.find("，") + 1
    at = rng.choice([0, clause or len(value) // 2, len(value)])
    yield replace(
        good,
        kind="markup",
        fields={**fields, target: value[:at] + injection + value[at:]},
        expected=frozenset({"markup"}),
    )

    copies = rng.sample([n for n in names if n != "tldr"], 2) if "tldr" in fields else names[1:3]
    yield replace(
        good,
        kind="duplicate",
        fields={**fields, **{n: fields.get("tldr", fields[names[0]]) for n in copies}},
        expected=frozenset({"duplicate"}),
    )


def mutations(goods: Sequence[Case], seed: int = 20260415) -> list[Case]:
    """Every mutation of every good paper, reproducibly (each paper draws from its own
    random stream, so adding or dropping a paper leaves the others' mutations alone)."""
    return [case for good in goods for case in mutate(good, goods, random.Random(f"{seed}:{good.id}"))]
