"""The repair job: detect, generate, validate and write, over many files at once.

Data flows one way: files are grouped into *days* (a ``.md`` digest and its
``_AI_enhanced_*.jsonl`` share one generation per arXiv id), each failed paper becomes
one task, tasks run concurrently under one limit across all files, and a day's files are
written as soon as its last task finishes. Days are loaded lazily, so memory stays flat
however many files a run covers. With ``restore_dropped``, a paper of the day's crawl
that a file lacks is one more task, whose targets insert the paper instead of setting
fields; a paper whose generation fails is inserted nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiolimiter import AsyncLimiter

from .cache import GenerationCache, cache_key
from .contracts import Example, Gate, Generation, PaperRequest, Problem, Provider
from .crawl import Crawl, CrawlFinder, CrawlPaper, day_key
from .discover import Candidate, discover
from .document import Document, Paper
from .errors import Aborted, FatalLLMError, GenerationFailed, InputError
from .fields import FIELDS
from .language import detect_language, normalize_language
from .loader import open_candidate
from .placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from .progress import Progress
from .report import FileResult, PaperResult, RunReport
from .sanitize import sanitize
from .validate import Validator
from .write import output_path, unified_diff, write_atomic


@dataclass(frozen=True)
class Output:
    """Where repaired text goes: ``in-place``, ``out`` (copies in ``out_dir``), ``dry-run``
    (a unified diff, nothing written) or ``none`` (nothing written, nothing shown)."""

    mode: str = "in-place"
    out_dir: Path | None = None
    backup: bool = False


@dataclass(frozen=True)
class RepairOptions:
    concurrency: int = 8
    rpm: float | None = None
    max_papers: int | None = None
    max_total_tokens: int | None = None
    language: str | None = None  # overrides each digest's dominant language
    examples: int = 2
    grace_s: float = 30.0  # how long in-flight calls may finish after SIGINT/SIGTERM
    output: Output = field(default_factory=Output)
    # regen: only these ids, these fields (None: the failed ones), even when not failed.
    ids: frozenset[str] | None = None
    fields: tuple[str, ...] | None = None
    restore_dropped: bool = False  # insert the papers of the day's crawl that a file lacks


def group_days(candidates: Iterable[Candidate | InputError]) -> Iterator[list[Candidate] | InputError]:
    """Candidates grouped by day, in the order their first file appears."""
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for item in candidates:
        if isinstance(item, InputError):
            yield item
        else:
            groups.setdefault(day_key(item.path), []).append(item)
    yield from groups.values()


@dataclass
class _Target:
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
class _Task:
    request: PaperRequest
    result: PaperResult
    targets: list[_Target]
    day: _Day


@dataclass
class _Day:
    documents: list[tuple[Candidate, Document, FileResult]]
    tasks: list[_Task] = field(default_factory=list)
    by_id: dict[str, _Task] = field(default_factory=dict)
    language: str = ""
    examples: tuple[Example, ...] = ()
    remaining: int = 0
    written: bool = False


def pick_examples(document: Document, language: str, k: int) -> tuple[Example, ...]:
    """The first ``k`` wholly good papers written in ``language``: the same for every paper
    of the day, so the prompt's prefix (instructions + examples) is cacheable."""
    examples: list[Example] = []
    for paper in document.papers:
        if len(examples) >= k:
            break
        values = paper.fields
        if paper.failed() or not all(detect_language(values[n] or "") in (language, None) for n in FIELDS):
            continue
        examples.append(Example(paper.title, paper.abstract, {n: values[n] or "" for n in FIELDS}))
    return tuple(examples)


class RepairJob:
    """One run over many paths; ``run`` returns the report, never raises for one paper."""

    def __init__(
        self,
        provider: Provider,
        *,
        options: RepairOptions,
        report: RunReport,
        validator: Validator | None = None,
        matcher: PlaceholderMatcher = DEFAULT_MATCHER,
        cache: GenerationCache | None = None,
        fallback: Provider | None = None,
        progress: Progress | None = None,
        gate: Gate | None = None,
        emit: Callable[[str], None] = print,
    ) -> None:
        self.provider = provider
        self.fallback = fallback
        self.options = options
        self.report = report
        self.validator = validator or Validator(matcher=matcher)
        self.matcher = matcher
        self.cache = cache
        self.progress = progress or Progress(enabled=False)
        self.emit = emit
        self.gate = gate or Gate()  # shared with the LLM client: closing it stops new requests
        self._stop_reason: str | None = None
        self._scheduled = 0
        self._tokens = 0
        self._open_days: list[_Day] = []
        self._crawls = CrawlFinder()
        # Problems a provider's output is known to have, written anyway and reported as
        # warnings: the extractive provider cannot translate ("language", "length").
        self._expected = {p.name: p.expected_problems for p in (provider, fallback) if p is not None}

    # -- stopping ---------------------------------------------------------------------

    def stop(self, reason: str) -> None:
        """Stop scheduling new papers (signal, auth failure); in-flight ones may finish."""
        if self._stop_reason is None:
            self._stop_reason = reason
            self.gate.close(reason)
            self.progress.note(f"stopping: {reason}")

    def _budget_left(self) -> str | None:
        """Why no further paper may start, or None."""
        if self._stop_reason:
            return self._stop_reason
        o = self.options
        if o.max_papers is not None and self._scheduled >= o.max_papers:
            return "budget"
        if o.max_total_tokens is not None and self._tokens >= o.max_total_tokens:
            return "budget"
        return None

    # -- the run ----------------------------------------------------------------------

    async def run(self, paths: Iterable[str | Path]) -> RunReport:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        handled = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal)
                handled.append(sig)
        try:
            await self._run(paths)
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            self.report.seconds = time.monotonic() - started
            self.progress.close()
        return self.report

    def _on_signal(self) -> None:
        self.report.interrupted = True
        self.stop("interrupted")

    async def _run(self, paths: Iterable[str | Path]) -> None:
        limit = self.options.concurrency
        # Papers in progress; the provider limits requests on the wire to ``limit``, and the
        # extra papers prepare their prompts meanwhile. Bounding them keeps days loading lazily.
        admission = asyncio.Semaphore(limit * 2)
        limiter = AsyncLimiter(self.options.rpm, 60) if self.options.rpm else None
        pending: set[asyncio.Task[None]] = set()

        for day in self._days(paths):
            self._open_days.append(day)
            self.progress.add_total(len(day.tasks))
            if not day.tasks:
                self._finish_day(day)
            for task in day.tasks:
                reason = self._budget_left()
                if reason is None and self._try_cache(task):
                    self._task_done(task)
                    continue
                if reason is None:
                    await admission.acquire()
                    reason = self._budget_left()  # may have changed while waiting
                    if reason is None:
                        self._scheduled += 1
                        job = asyncio.create_task(self._generate(task, limiter))
                        pending.add(job)
                        job.add_done_callback(pending.discard)
                        job.add_done_callback(lambda _: admission.release())
                        continue
                    admission.release()
                task.result.skip(reason)
                self._task_done(task)
            if self._stop_reason not in (None, "budget"):
                break  # interrupted or aborted: do not even load the remaining days

        if pending:
            grace = self.options.grace_s if self._stop_reason else None
            _, late = await asyncio.wait(pending, timeout=grace)
            for job in late:
                job.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for day in list(self._open_days):
            self._finish_day(day)
        if self._stop_reason and self._stop_reason != "budget" and not self.report.interrupted:
            self.report.aborted = self._stop_reason
        elif self._stop_reason == "budget" and self._scheduled == 0 and self.report.papers:
            self.report.aborted = "budget exhausted before any paper was repaired"

    # -- loading ----------------------------------------------------------------------

    def _days(self, paths: Iterable[str | Path]) -> Iterator[_Day]:
        for group in group_days(discover(paths)):
            if isinstance(group, InputError):
                self.report.files.append(FileResult(path=group.path, errors=[_error(group)]))
                self.progress.note(f"{group}")
                continue
            loaded = []
            for candidate in group:
                document = self._load(candidate)
                if document is not None:
                    result = FileResult(path=str(candidate.path), format=document.format,
                                        papers=len(document.papers))
                    result.errors += [n.as_dict() for n in document.notices if n.level == "error"]
                    self.report.files.append(result)
                    loaded.append((candidate, document, result))
            if loaded:
                day = self._plan(_Day(loaded))
                if self.options.restore_dropped:
                    self._plan_restores(day)
                day.remaining = len(day.tasks)
                yield day

    def _load(self, candidate: Candidate) -> Document | None:
        try:
            document = open_candidate(candidate)
        except InputError as exc:
            self._input_error(exc)
            return None
        for notice in document.notices if document else ():
            self.progress.note(f"{candidate.path}:{notice.line}: {notice.level}: {notice.message}")
        return document

    def _input_error(self, error: InputError) -> None:
        self.report.files.append(FileResult(path=error.path, errors=[_error(error)]))
        self.progress.note(str(error))

    def _plan(self, day: _Day) -> _Day:
        """One task per arXiv id of the day, covering the failed fields of every file."""
        # The JSONL is upstream's source of truth for title and abstract; prefer it.
        ordered = sorted(day.documents, key=lambda item: item[1].format != "jsonl")
        first = ordered[0][1]
        language = normalize_language(self.options.language or first.language)
        examples = pick_examples(first, language, self.options.examples)
        by_id: dict[str, _Task] = {}
        for _, document, file_result in ordered:
            for paper in document.papers:
                wanted = self._wanted_fields(paper)
                if not wanted:
                    continue
                task = by_id.get(paper.id)
                if task is None:
                    request = PaperRequest(paper.id, paper.title, paper.abstract, wanted, language, examples)
                    task = _Task(request, PaperResult(paper.id, paper.index, paper.title, wanted), [], day)
                    by_id[paper.id] = task
                    day.tasks.append(task)
                    self.report.papers.append(task.result)
                elif set(wanted) - set(task.request.fields):
                    union = tuple(n for n in FIELDS if n in wanted or n in task.request.fields)
                    task.request = PaperRequest(task.request.id, task.request.title, task.request.abstract,
                                                union, language, examples)
                    task.result.fields = union
                task.targets.append(_Target(document, paper, wanted))
                file_result.results.append(task.result)
        day.by_id, day.language, day.examples = by_id, language, examples
        return day

    def _plan_restores(self, day: _Day) -> None:
        """One task per paper of the crawl that some file of the day lacks: all five fields."""
        candidate = day.documents[0][0]
        try:
            crawl = self._crawls.find(candidate.path)
        except InputError as exc:
            self._input_error(exc)
            return
        if crawl is None:
            return
        present = [(document, file_result, document.present_ids()) for _, document, file_result in day.documents]
        for paper in crawl.papers:
            missing = [(document, result) for document, result, ids in present if paper.id not in ids]
            if not missing or (self.options.ids is not None and paper.id not in self.options.ids):
                continue
            task = day.by_id.get(paper.id)
            if task is None:  # the usual case: dropped from every file of the day
                request = PaperRequest(paper.id, paper.title, paper.abstract, FIELDS, day.language, day.examples)
                task = _Task(request, PaperResult(paper.id, paper.position, paper.title, FIELDS), [], day)
                day.by_id[paper.id] = task
                day.tasks.append(task)
                self.report.papers.append(task.result)
            else:  # failed in one file, missing from another: the insertion needs all five
                task.request = PaperRequest(task.request.id, task.request.title, task.request.abstract,
                                            FIELDS, day.language, day.examples)
                task.result.fields = FIELDS
            task.result.restored = True
            for document, file_result in missing:
                task.targets.append(_Target(document, None, FIELDS, restore=(paper, crawl)))
                file_result.results.append(task.result)

    def _wanted_fields(self, paper: Paper) -> tuple[str, ...]:
        o = self.options
        if o.ids is not None and paper.id not in o.ids:
            return ()
        return o.fields if o.fields is not None else paper.failed(self.matcher)

    # -- one paper ----------------------------------------------------------------------

    def _try_cache(self, task: _Task) -> bool:
        if self.cache is None:
            return False
        generation = self.cache.get(self._key(task))
        if generation is None:
            return False
        self._accept(task, generation, cached=True)
        return True

    def _key(self, task: _Task) -> str:
        return cache_key(task.request, self.provider.model, self.provider.prompt_version)

    async def _generate(self, task: _Task, limiter: AsyncLimiter | None) -> None:
        # Derive what validation needs from the abstract now, while other papers' requests
        # are on the wire, rather than in the burst of work when the answers arrive.
        self.validator.prepare(task.request.title, task.request.abstract)
        try:
            if limiter is not None:
                await limiter.acquire()
            generation = await self._call(task)
            if generation is not None:
                self._tokens += generation.usage.total
                if self._accept(task, generation, cached=False) and self.cache is not None \
                        and generation.provider == self.provider.name:
                    self.cache.put(self._key(task), task.request.id, generation)
        except asyncio.CancelledError:
            task.result.skip("interrupted")
        finally:
            self._task_done(task)

    async def _call(self, task: _Task) -> Generation | None:
        try:
            self.gate.check()
            return await self.provider.generate(task.request, self.validator)
        except Aborted:  # the run stopped before this paper's request was sent
            task.result.skip("interrupted" if self.report.interrupted else "aborted")
            return None
        except FatalLLMError as exc:
            self.stop(f"{exc.kind}: {exc}")
            task.result.skip("aborted")
            return None
        except GenerationFailed as exc:
            if self.fallback is None:
                task.result.fail(exc)
                return None
            self.progress.note(f"{task.request.id}: {exc}; using the {self.fallback.name} fallback")
            return await self.fallback.generate(task.request, self.validator)

    def _accept(self, task: _Task, generation: Generation, *, cached: bool) -> bool:
        """Validate once more, then write the fields into every file of the day."""
        fields = {name: sanitize(generation.fields.get(name, "")) for name in task.request.fields}
        unchanged = generation.checked and fields == generation.fields
        problems = [] if unchanged else self.validator(task.request, fields)
        expected = self._expected.get(generation.provider, frozenset())
        blocking = [p for p in problems if p.code not in expected]
        if blocking:
            task.result.fail(GenerationFailed(
                sorted({p.code for p in blocking}),
                "; ".join(f"{p.field or '-'}: {p.message}" for p in blocking[:3]),
                attempts=generation.attempts, reasks=generation.reasks,
            ))
            return False
        for target in task.targets:
            target.apply(fields)
        task.result.accept(generation, cached=cached, warnings=_unique(problems))
        task.result.new_fields = fields
        return True

    def _task_done(self, task: _Task) -> None:
        self.progress.paper_done(task.result)
        task.day.remaining -= 1
        if task.day.remaining == 0:
            self._finish_day(task.day)

    # -- writing ------------------------------------------------------------------------

    def _finish_day(self, day: _Day) -> None:
        if day.written:
            return
        day.written = True
        if day in self._open_days:
            self._open_days.remove(day)
        for candidate, document, file_result in day.documents:
            if not document.changed:
                continue
            try:
                file_result.written = self._write(candidate, document)
            except OSError as exc:
                file_result.errors.append({"line": None, "level": "error", "message": f"cannot write: {exc}"})
                self.progress.note(f"{candidate.path}: cannot write: {exc}")
        # Tasks and their day point at each other: break the cycle so the documents' texts
        # are freed now, not at the next full garbage collection (memory stays flat).
        for task in day.tasks:
            task.targets.clear()
        day.tasks.clear()
        day.by_id.clear()
        day.documents.clear()

    def _write(self, candidate: Candidate, document: Document) -> str | None:
        out = self.options.output
        data = document.render()
        if out.mode == "dry-run":
            self.emit(unified_diff(candidate.path, document.text.encode("utf-8"), data))
            return None
        if out.mode == "none":
            return None
        if out.mode == "out":
            assert out.out_dir is not None
            target = output_path(candidate.path, candidate.root, out.out_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, data)
            return str(target)
        write_atomic(candidate.path, data, backup=out.backup)
        return str(candidate.path)


def _error(error: InputError) -> dict[str, object]:
    return {"line": error.line, "level": "error", "message": error.message}


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
