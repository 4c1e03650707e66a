"""The repair job: load, plan, generate, validate and write, over many files at once.

Data flows one way: files are grouped into days and planned into tasks (``plan.py``: one
generation per arXiv id serves the day's ``.md`` and ``.jsonl``; with ``restore_dropped``
a paper of the day's crawl that a file lacks is one more task, inserted rather than
set). Tasks run concurrently across all files, and a day's files are written as soon as
its last task finishes. Days are loaded as work reaches them, so memory stays flat
however many files a run covers. A paper whose generation fails changes nothing.

The run holds a lock on its folders and its cache (``lock.py``), answers from the cache
cost nothing and are taken even past a budget, and a paper the model failed on for
``give_up_after`` nights is skipped (``gave_up``) instead of being paid for every night.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..contracts import Gate, Generation, Problem, Provider, Usage
from ..digest.discover import Candidate, discover
from ..digest.document import Document
from ..digest.loader import open_candidate
from ..digest.markup import sanitize
from ..digest.placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from ..digest.write import output_path, unified_diff, write_atomic
from ..errors import Aborted, FatalLLMError, GenerationFailed, InputError, RunError
from ..generate.cache import GenerationCache, cache_key, tonight
from ..validate.validator import Validator
from .batches import Batches
from .lock import hold, lock_targets
from .plan import Day, Planner, Task, group_days
from .progress import Progress
from .report import FileResult, RunReport

logger = logging.getLogger("pipeline.repair")

# Failed nights after which a paper is skipped as ``gave_up`` (0: never give up).
DEFAULT_GIVE_UP_AFTER = 3


@dataclass(frozen=True)
class Output:
    """Where repaired text goes: ``in-place``, ``out`` (copies in ``out_dir``), ``dry-run``
    (a unified diff, nothing written, no billed request) or ``none`` (nothing written,
    nothing shown: ``regen --print``)."""

    mode: str = "in-place"
    out_dir: Path | None = None
    backup: bool = False


@dataclass(frozen=True)
class RepairOptions:
    concurrency: int = 8
    max_papers: int | None = None  # generations; answers from the cache do not count
    max_total_tokens: int | None = None
    language: str | None = None  # for days whose files do not name their language
    examples: int = 2
    grace_s: float = 30.0  # how long in-flight calls may finish after SIGINT/SIGTERM
    output: Output = field(default_factory=Output)
    # regen: only these ids, these fields (None: the failed ones), even when not failed.
    ids: frozenset[str] | None = None
    fields: tuple[str, ...] | None = None
    restore_dropped: bool = False  # insert the papers of the day's crawl that a file lacks
    fix_language: bool = False  # also regenerate fields written in another language
    lock_timeout_s: float | None = 0.0  # wait this long for another run's lock; None: no lock
    give_up_after: int = DEFAULT_GIVE_UP_AFTER
    retry_failed: bool = False  # generate papers that gave up too
    batch: bool = False  # submit the papers to the provider's Batch API instead of asking live
    wait: bool = False  # with batch: wait for the batches, then collect and write them
    batch_rounds: int = 3  # with wait: batches per paper at most (its first answer and re-asks)


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
        batches: Batches | None = None,
        emit: Callable[[str], None] = print,
    ) -> None:
        """``batches`` (with the cache) collects finished batches in every run, and submits
        the papers instead of generating them with ``options.batch``."""
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
        self.batches = batches
        if options.batch and batches is None:
            raise ValueError("batch mode needs a Batches (a billed provider and a cache)")
        self._stop_reason: str | None = None
        self._scheduled = 0
        self._tokens = 0
        self._night = tonight()
        self._open_days: list[Day] = []
        self._pending: set[asyncio.Task[None]] = set()  # papers in progress
        self._unembedded: set[int] = set()  # days registered for grounding, not yet embedding
        self._written: set[Path] = set()  # --out targets of this run
        self.planner = Planner(
            language=options.language,
            examples=options.examples,
            ids=options.ids,
            fields=options.fields,
            restore_dropped=options.restore_dropped,
            fix_language=options.fix_language,
            matcher=matcher,
            thresholds=self.validator.thresholds,
        )
        # Problems a provider's output is known to have, written anyway and reported as
        # warnings: the extractive provider cannot translate ("language", "length").
        self._expected = {p.name: p.expected_problems for p in (provider, fallback) if p is not None}
        self._dry_run = options.output.mode == "dry-run"
        self._submitting = False  # this pass puts papers into batches
        self.report.dry_run = self._dry_run
        self.report.billing = "batch" if options.batch else "live"

    # -- stopping ---------------------------------------------------------------------

    def stop(self, reason: str, *, grace: float = 0.0) -> None:
        """Stop scheduling new papers (signal, a dead provider, an unwritable output);
        requests already on the wire may finish for ``grace`` seconds, then every paper
        still in progress is cancelled."""
        if self._stop_reason is None:
            self._stop_reason = reason
            self.gate.close(reason)
            self.progress.note(f"stopping: {reason}")
            asyncio.get_running_loop().call_later(grace, self._cancel_pending)

    def _cancel_pending(self) -> None:
        for job in list(self._pending):
            job.cancel()

    def _budget_left(self) -> str | None:
        """Why no further paper may be generated (a reason code), or None."""
        if self._stop_reason:
            return "interrupted" if self.report.interrupted else "aborted"
        o = self.options
        if o.max_papers is not None and self._scheduled >= o.max_papers:
            return "budget"
        if o.max_total_tokens is not None and self._tokens >= o.max_total_tokens:
            return "budget"
        return None

    # -- the run ----------------------------------------------------------------------

    async def run(self, paths: Iterable[str | Path]) -> RunReport:
        paths = list(paths)
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        handled = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal)
                handled.append(sig)
        try:
            async with self._lock(paths):
                await self._run_with_batches(paths)
        except (RunError, FatalLLMError) as exc:  # a lock held, no Batch API: nothing was done
            self.report.aborted = f"{exc.kind}: {exc}"
            self.progress.note(self.report.aborted)
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            if self.batches is not None:
                self.report.batches = [summary.as_dict() for summary in self.batches.summaries]
            providers = [p.requests for p in (self.provider, self.fallback) if p is not None]
            self.report.requests = sum(providers) + (self.batches.client.requests if self.batches else 0)
            self.report.seconds = time.monotonic() - started
            self.progress.close()
        return self.report

    @contextlib.asynccontextmanager
    async def _lock(self, paths: list[str | Path]) -> AsyncIterator[None]:
        """The run's folders and cache, held until the last write (a dry run writes nothing)."""
        timeout = self.options.lock_timeout_s
        if timeout is None or self._dry_run:
            yield
            return
        async with hold(lock_targets(paths, self.cache.path if self.cache else None), timeout):
            yield

    async def _run_with_batches(self, paths: list[str | Path]) -> None:
        """Collect what finished batches answered, then run. In batch mode the papers left
        to do are submitted instead of generated. With ``wait`` the run waits for its
        batches, collects them and goes round again, writing what was accepted and
        submitting re-asks of what was not, for ``batch_rounds`` batches at most (the first
        answer and its re-asks, as a live paper gets); a last pass writes the last answers."""
        batches = self.batches
        if batches is None or self._dry_run:
            await self._run(paths)
            return
        if self.options.batch:
            await batches.client.check_supported()
        rounds = self.options.batch_rounds if self.options.wait else 1
        for round_number in range(1, rounds + 2):
            await batches.collect(self.validator)
            self._submitting = self.options.batch and round_number <= rounds
            await self._run(paths)
            if not self._submitting:
                return
            before = len(batches.submitted)
            await batches.flush()
            if not self.options.wait or len(batches.submitted) == before or self._stop_reason is not None:
                return
            await batches.wait()
            self.report.files.clear()  # the next pass reports what became of each paper
            self.report.papers.clear()
            self._scheduled = self._tokens = 0

    def _ground(self, day: Day) -> None:
        """Give the validator the day's papers to check meaning against (cheap: nothing is
        embedded until a check needs it, or ``_embed_early`` starts it)."""
        papers = {(paper.title, paper.abstract) for _, document, _ in day.documents for paper in document.papers}
        papers |= {(task.request.title, task.request.abstract) for task in day.tasks}  # restored ones too
        if self.validator.ground_day(str(id(day)), sorted(papers)):
            self._unembedded.add(id(day))

    def _embed_early(self, day: Day) -> None:
        """At the day's first request, embed its papers in a worker thread while that
        request is on the wire. A day that sends none (cached, given up, a dry run, a
        budget reached) never loads the models."""
        if id(day) in self._unembedded:
            self._unembedded.discard(id(day))
            job = asyncio.create_task(self._embed_day(str(id(day))))
            self._pending.add(job)
            job.add_done_callback(self._pending.discard)

    async def _embed_day(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.validator.embed_day, key)
        except Exception as exc:  # the models or the embeddings API: grounding skipped, not the run
            note = f"grounding check skipped for a day: {type(exc).__name__}: {exc}"
            self.progress.note(note)
            if note not in self.report.notes:
                self.report.notes.append(note)

    def _on_signal(self) -> None:
        if self.report.interrupted:  # a second Ctrl-C: no more waiting
            self._cancel_pending()
            return
        self.report.interrupted = True
        self.stop("interrupted", grace=self.options.grace_s)

    async def _run(self, paths: Iterable[str | Path]) -> None:
        limit = self.options.concurrency
        # Papers in progress; the provider limits requests on the wire to ``limit``, and the
        # extra papers prepare their prompts meanwhile. Bounding them keeps days loading lazily.
        admission = asyncio.Semaphore(limit * 2)
        pending = self._pending

        groups = group_days(discover(paths))
        for day in self._days(groups):
            self._open_days.append(day)
            self.progress.add_total(len(day.tasks))
            if not day.tasks:
                self._finish_day(day)
            else:
                self._ground(day)
            for task in day.tasks:
                if not self.report.interrupted and (
                    await self._try_cache(task) or self._gave_up(task) or self._in_a_batch(task)
                ):
                    self._task_done(task)
                    continue
                self._resume_prior(task)
                if self._dry_run and self.provider.billed:
                    task.result.plan(self.provider.estimate(task.request))
                    self._task_done(task)
                    continue
                reason = self._budget_left()
                if reason is None and self.options.batch:
                    if self._submitting:
                        await self._submit(task)
                        continue
                    reason = "batch"  # the last pass of --wait: its batches' answers were not usable
                if reason is None:
                    await admission.acquire()
                    reason = self._budget_left()  # may have changed while waiting
                    if reason is None:
                        self._scheduled += 1
                        self._embed_early(day)
                        job = asyncio.create_task(self._generate(task))
                        pending.add(job)
                        job.add_done_callback(pending.discard)
                        job.add_done_callback(lambda _: admission.release())
                        continue
                    admission.release()
                task.result.skip(reason)
                self._task_done(task)
            if self._stop_reason is not None:  # interrupted or aborted: do not even load the remaining days
                unread = sum(1 for group in groups if not isinstance(group, InputError))
                if unread:  # their failed papers are in no count: say so
                    note = (
                        f"{unread} more day(s) not read after the stop: `digest-repair scan` lists their failed papers"
                    )
                    self.progress.note(note)
                    self.report.notes.append(note)
                break

        # A stop cancels what is left after its grace period (see stop()).
        await asyncio.gather(*pending, return_exceptions=True)
        for day in list(self._open_days):
            self._finish_day(day)
        self._note_expected_problems()
        if self._stop_reason and not self.report.interrupted:
            self.report.aborted = self._stop_reason
        elif self._scheduled == 0 and any("budget" in p.reasons for p in self.report.papers):
            self.report.aborted = "budget exhausted before any paper was repaired"

    def _note_expected_problems(self) -> None:
        """Say in the report, not only per paper, what was written with known problems."""
        for provider, codes in self._expected.items():
            papers = [p for p in self.report.papers if p.provider == provider and p.warnings]
            if papers:
                found = sorted({w.code for p in papers for w in p.warnings} & codes)
                self.report.notes.append(
                    f"{len(papers)} paper(s) written by the {provider} provider carry expected problems "
                    f"({', '.join(found)}): see each paper's warnings"
                )

    # -- loading ----------------------------------------------------------------------

    def _days(self, groups: Iterator[list[Candidate] | InputError]) -> Iterator[Day]:
        """Each group of files (one day) loaded and planned, as the run reaches it."""
        for group in groups:
            if isinstance(group, InputError):
                self._input_error(group)
                continue
            loaded = []
            for candidate in group:
                document = self._load(candidate)
                if document is not None:
                    result = FileResult(path=str(candidate.path), format=document.format, papers=len(document.papers))
                    result.errors += [n.as_dict() for n in document.notices if n.level == "error"]
                    self.report.files.append(result)
                    loaded.append((candidate, document, result))
            if loaded:
                day = self.planner.plan(loaded)
                results = {result.path: result for _, _, result in loaded}
                for error in day.errors:  # on the file's own entry when it is one of the day's
                    if error.path in results:
                        results[error.path].errors.append(error.as_dict())
                        self.progress.note(str(error))
                    else:
                        self._input_error(error)
                self.report.papers.extend(task.result for task in day.tasks)
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
        self.report.files.append(FileResult(path=error.path, errors=[error.as_dict()]))
        self.progress.note(str(error))

    # -- one paper ----------------------------------------------------------------------

    async def _try_cache(self, task: Task) -> bool:
        """Take an accepted answer from the cache: free, so no budget limits it. An answer
        a batch gave and this run collected counts as generated now (billed at batch rates)."""
        if self.cache is None:
            return False
        key = self._key(task)
        generation = self.cache.get(key)
        if generation is None:
            return False
        batch = self.batches.collected.get(key) if self.batches else None
        if await self._accept(task, generation, cached=batch is None) and batch is not None:
            task.result.batch = batch
        return True

    def _in_a_batch(self, task: Task) -> bool:
        """A paper waiting in a batch is neither asked again nor submitted twice."""
        batch = self.cache.pending(self._key(task)) if self.cache is not None and self.batches else None
        if batch is None:
            return False
        task.result.pend(batch)
        return True

    def _resume_prior(self, task: Task) -> None:
        """A batch's answer that failed validation: the next request re-asks with it."""
        prior = self.cache.prior(self._key(task)) if self.cache is not None else None
        if prior is not None:
            task.request = replace(task.request, prior=prior)

    async def _submit(self, task: Task) -> None:
        """Batch mode: the paper's request goes into the batch instead of to the server now."""
        assert self.batches is not None
        self._scheduled += 1
        self._tokens += self.provider.estimate(task.request).total
        task.result.pend(None)
        try:
            await self.batches.add(self._key(task), task.request, task.result)
        except RunError as exc:  # a full input file could not be submitted
            task.result.skip("aborted", str(exc))
            self.stop(f"{exc.kind}: {exc}")
        self._task_done(task)

    def _gave_up(self, task: Task) -> bool:
        """Skip a paper the model failed on for ``give_up_after`` nights (not with --retry-failed)."""
        o = self.options
        if self.cache is None or o.retry_failed or not o.give_up_after or not self.provider.billed:
            return False
        failure = self.cache.failure(self._key(task))
        if failure is None or failure.nights < o.give_up_after:
            return False
        task.result.skip(
            "gave_up",
            f"the model's answers failed on {failure.nights} nights ({', '.join(failure.reasons)}): skipped until "
            "the abstract, the model or the prompt changes (--retry-failed tries again)",
        )
        return True

    def _key(self, task: Task) -> str:
        return cache_key(task.request, self.provider.model, self.provider.prompt_version)

    async def _generate(self, task: Task) -> None:
        # Derive what validation needs from the abstract now, while other papers' requests
        # are on the wire, rather than in the burst of work when the answers arrive.
        self.validator.prepare(task.request.title, task.request.abstract)
        try:
            generation = await self._call(task)
            if generation is not None:
                self._tokens += generation.usage.total
                if (
                    await self._accept(task, generation, cached=False)
                    and self.cache is not None
                    and generation.provider == self.provider.name
                ):
                    self.cache.put(self._key(task), task.request.id, generation)
        except asyncio.CancelledError:  # by a signal's grace period, or a stop that cannot wait
            task.result.skip("interrupted" if self.report.interrupted else "aborted")
        except Exception as exc:  # a bug, or a server answer nothing foresaw: fail one paper, not the run
            logger.error("%s: internal error: %s: %s", task.request.id, type(exc).__name__, exc,
                         exc_info=bool(os.environ.get("DIGEST_REPAIR_DEBUG")))  # fmt: skip
            task.result.fail(GenerationFailed(["internal_error"], f"{type(exc).__name__}: {exc}"))
        finally:
            self._task_done(task)

    async def _call(self, task: Task) -> Generation | None:
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
            spent = Usage.from_dict(exc.usage)
            self._tokens += spent.total  # a paper the model failed on still cost its tokens
            self._remember(task, exc)
            if self.fallback is None:
                task.result.fail(exc)
                return None
            self.progress.note(f"{task.request.id}: {exc}; using the {self.fallback.name} fallback")
            generation = await self.fallback.generate(task.request, self.validator)
            # The report keeps what the model's attempts cost, under the fallback's answer.
            generation.attempts += exc.attempts
            generation.reasks += exc.reasks
            generation.usage.add(spent)
            return generation

    def _remember(self, task: Task, error: GenerationFailed) -> None:
        """Count a night on which the model answered and every answer was rejected."""
        if self.cache is None or not error.answered:
            return
        self.cache.record_failure(
            self._key(task),
            task.request,
            error.reasons,
            str(error),
            attempts=error.attempts,
            model=self.provider.model,
            prompt_version=self.provider.prompt_version,
            night=self._night,
        )

    async def _accept(self, task: Task, generation: Generation, *, cached: bool) -> bool:
        """Validate once more, then put the fields into every file of the day."""
        fields = {name: sanitize(generation.fields.get(name, "")) for name in task.request.fields}
        unchanged = generation.checked and fields == generation.fields
        problems = [] if unchanged else await self.validator(task.request, fields)
        expected = self._expected.get(generation.provider, frozenset())
        blocking = [p for p in problems if p.code not in expected]
        if blocking:
            task.result.fail(
                GenerationFailed(
                    sorted({p.code for p in blocking}),
                    "; ".join(f"{p.field or '-'}: {p.message}" for p in blocking[:3]),
                    attempts=generation.attempts,
                    reasks=generation.reasks,
                )
            )
            return False
        for target in task.targets:
            target.apply(fields)
        task.result.accept(generation, cached=cached, warnings=_unique(problems))
        if self.options.output.mode == "none":  # regen --print shows them; otherwise the files hold them
            task.result.new_fields = fields
        return True

    def _task_done(self, task: Task) -> None:
        self.progress.paper_done(task.result)
        task.day.remaining -= 1
        if task.day.remaining == 0:
            self._finish_day(task.day)

    # -- writing ------------------------------------------------------------------------

    def _finish_day(self, day: Day) -> None:
        if day.written:
            return
        day.written = True
        self.validator.forget_day(str(id(day)))
        self._unembedded.discard(id(day))
        if day in self._open_days:
            self._open_days.remove(day)
        unwritten: dict[int, tuple[str, str]] = {}  # id(document) -> (reason, message)
        for candidate, document, file_result in day.documents:
            if not document.changed:
                continue
            try:
                file_result.written = self._write(candidate, document)
            except InputError as exc:  # read-only, changed on disk, a --out name taken: this file only
                file_result.errors.append(exc.as_dict())
                self.progress.note(str(exc))
                unwritten[id(document)] = (exc.reason, str(exc))
            except OSError as exc:  # the output cannot be written at all: no point going on
                error = RunError(f"cannot write {candidate.path}: {exc.strerror or exc}")
                file_result.errors.append(InputError(candidate.path, f"cannot write: {exc.strerror or exc}").as_dict())
                unwritten[id(document)] = ("write_failed", str(error))
                self.stop(f"{error.kind}: {error} (the accepted answers are cached)")
        for task in day.tasks:
            if task.result.outcome in ("repaired", "cached"):
                failed = [unwritten[id(t.document)] for t in task.targets if id(t.document) in unwritten]
                if failed:
                    task.result.unwritten(*failed[0])
        day.release()  # memory stays flat however many days the run covers

    def _write(self, candidate: Candidate, document: Document) -> str | None:
        out = self.options.output
        if out.mode == "dry-run":
            self.emit(unified_diff(candidate.path, document.data, document.render()))
            return None
        if out.mode == "none":
            return None
        if out.mode == "out":
            assert out.out_dir is not None
            target = output_path(candidate.path, candidate.root, out.out_dir)
            if target in self._written:  # two inputs named alike: never overwrite a copy
                raise InputError(
                    candidate.path,
                    f"{target} was already written from another input; not written",
                    reason="out_conflict",
                )
            self._written.add(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, document.chunks())
            return str(target)
        write_atomic(candidate.path, document.chunks(), backup=out.backup, expected=document.source_sha256)
        return str(candidate.path)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
