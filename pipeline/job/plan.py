"""What a day needs: one task per arXiv id, with the files each task writes into.

A *day* is a ``.md`` digest and its ``_AI_enhanced_*.jsonl`` (or any single digest): one
generation per paper serves every file of the day. Planning reads the documents and the
day's crawl; it calls nothing and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from ..contracts import Example, PaperRequest
from ..detect.language import CHECKED_LANGUAGES, detect_language, digest_language
from ..digest.crawl import Crawl, CrawlFinder, CrawlPaper, day_key, named_language
from ..digest.discover import Candidate
from ..digest.document import Document, Paper
from ..digest.fields import FIELDS
from ..digest.placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from ..errors import InputError
from ..thresholds import DEFAULT_THRESHOLDS, Thresholds
from .report import FileResult, PaperResult


def group_days(candidates: Iterable[Candidate | InputError]) -> Iterator[list[Candidate] | InputError]:
    """Candidates grouped by day, in the order their first file appears.

    A day with enhanced files in several languages (``_AI_enhanced_Chinese`` and
    ``_AI_enhanced_English``) cannot share one generation: each file is then its own group.
    """
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for item in candidates:
        if isinstance(item, InputError):
            yield item
        else:
            groups.setdefault(day_key(item.path), []).append(item)
    for group in groups.values():
        languages = {named_language(candidate.path) for candidate in group} - {None}
        yield from ([candidate] for candidate in group) if len(languages) > 1 else [group]


# Good papers a day offers as style examples; each paper gets ``k`` of them (see examples_for).
EXAMPLE_POOL = 12


def pick_examples(
    document: Document, language: str, k: int, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> tuple[Example, ...]:
    """The day's style examples: its first wholly good papers written in ``language``,
    enough of them (``EXAMPLE_POOL``) to find ``k`` outside any one category."""
    examples: list[Example] = []
    for paper in document.papers:
        if len(examples) >= max(k, EXAMPLE_POOL) or k <= 0:
            break
        values = paper.fields
        if paper.failed() or not all(detect_language(values[n] or "", thresholds) in (language, None) for n in FIELDS):
            continue
        examples.append(Example(paper.title, {n: values[n] or "" for n in FIELDS}, paper.category))
    return tuple(examples)


def examples_for(pool: tuple[Example, ...], category: str, k: int) -> tuple[Example, ...]:
    """``k`` examples from other categories than the paper's, never its neighbours: a model
    mistakes a neighbour's facts for the paper's own. The same ones for every paper of a
    category, so their prompts share the system message (a provider's prefix cache)."""
    return tuple(example for example in pool if example.category != category)[:k]


@dataclass
class Target:
    """One file's share of a task: set ``fields`` of ``paper``, or insert ``restore``."""

    document: Document
    paper: Paper | None
    fields: tuple[str, ...]
    restore: tuple[CrawlPaper, Crawl] | None = None

    def apply(self, values: dict[str, str]) -> None:
        if self.restore is not None:
            paper, crawl = self.restore
            self.document.insert_paper(paper, values, crawl.order)
        else:
            assert self.paper is not None
            for name in self.fields:
                self.document.set_field(self.paper, name, values[name])


@dataclass
class Task:
    request: PaperRequest
    result: PaperResult
    targets: list[Target]
    day: Day

    def widen(self, fields: tuple[str, ...]) -> None:
        """Ask for ``fields`` too (another file of the day lacks more of this paper)."""
        union = tuple(name for name in FIELDS if name in fields or name in self.request.fields)
        self.request = replace(self.request, fields=union)
        self.result.fields = union


@dataclass
class Day:
    documents: list[tuple[Candidate, Document, FileResult]]
    tasks: list[Task] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)  # e.g. an unreadable crawl
    remaining: int = 0
    written: bool = False

    def release(self) -> None:
        """Drop the documents once written. Tasks and their day point at each other: breaking
        the cycle frees the texts now, not at the next full garbage collection."""
        for task in self.tasks:
            task.targets.clear()
        self.tasks.clear()
        self.documents.clear()


@dataclass(frozen=True)
class Planner:
    """Turns a day's loaded documents into tasks, by the run's options."""

    language: str | None = None  # for days whose files name no language (see digest_language)
    examples: int = 2
    ids: frozenset[str] | None = None  # regen: only these papers
    fields: tuple[str, ...] | None = None  # regen: these fields (None: the failed ones)
    restore_dropped: bool = False
    fix_language: bool = False  # also regenerate present fields in another language (suspects)
    matcher: PlaceholderMatcher = DEFAULT_MATCHER
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    crawls: CrawlFinder = field(default_factory=CrawlFinder)

    def plan(self, documents: list[tuple[Candidate, Document, FileResult]]) -> Day:
        day = Day(documents)
        # The JSONL is upstream's source of truth for title and abstract; prefer it.
        ordered = sorted(documents, key=lambda item: item[1].format != "jsonl")
        first = ordered[0][1]
        language = digest_language(first, self.language)
        pool = pick_examples(first, language, self.examples, self.thresholds)
        by_id: dict[str, Task] = {}
        for _, document, file_result in ordered:
            for paper in document.papers:
                wanted = self._wanted_fields(paper, language)
                if not wanted:
                    continue
                task = by_id.get(paper.id)
                if task is None:
                    examples = examples_for(pool, paper.category, self.examples)
                    request = PaperRequest(paper.id, paper.title, paper.abstract, wanted, language, examples)
                    task = by_id[paper.id] = Task(
                        request, PaperResult(paper.id, paper.index, paper.title, wanted), [], day
                    )
                    day.tasks.append(task)
                else:
                    task.widen(wanted)
                task.targets.append(Target(document, paper, wanted))
                file_result.results.append((paper.index, task.result))
        if self.restore_dropped:
            self._plan_restores(day, by_id, language, pool)
        day.remaining = len(day.tasks)
        return day

    def _wanted_fields(self, paper: Paper, language: str) -> tuple[str, ...]:
        if self.ids is not None and paper.id not in self.ids:
            return ()
        if self.fields is not None:
            return self.fields
        failed = paper.failed(self.matcher)
        if not self.fix_language or language not in CHECKED_LANGUAGES:
            return failed
        return tuple(
            name
            for name in FIELDS
            if name in failed or detect_language(paper.fields[name] or "", self.thresholds) not in (language, None)
        )

    def _plan_restores(self, day: Day, by_id: dict[str, Task], language: str, pool: tuple[Example, ...]) -> None:
        """One task per paper of the crawl that some file of the day lacks: all five fields."""
        try:
            crawl = self.crawls.find(day.documents[0][0].path)
        except InputError as exc:
            day.errors.append(exc)
            return
        if crawl is None:
            return
        present = []
        for candidate, document, file_result in day.documents:
            # An entry that could not be read may be that very paper, or (truncated) leave a
            # <details> open that anything inserted after it would land in.
            unreadable = [n.line for n in document.notices if n.level == "error"] + document.unidentified_lines()
            if unreadable:
                message = f"an entry at line {min(unreadable)} cannot be read: no dropped paper restored into this file"
                day.errors.append(InputError(candidate.path, message, line=min(unreadable)))
            else:
                present.append((document, file_result, document.present_ids()))
        for paper in crawl.papers:
            missing = [(document, result) for document, result, ids in present if paper.id not in ids]
            if not missing or (self.ids is not None and paper.id not in self.ids):
                continue
            task = by_id.get(paper.id)
            if task is None:  # the usual case: dropped from every file of the day
                examples = examples_for(pool, paper.category, self.examples)
                request = PaperRequest(paper.id, paper.title, paper.abstract, FIELDS, language, examples)
                task = by_id[paper.id] = Task(
                    request, PaperResult(paper.id, paper.position, paper.title, FIELDS), [], day
                )
                day.tasks.append(task)
            else:  # failed in one file, missing from another: the insertion needs all five
                task.widen(FIELDS)
            task.result.restored = True
            for document, file_result in missing:
                task.targets.append(Target(document, None, FIELDS, restore=(paper, crawl)))
                file_result.results.append((paper.position, task.result))
