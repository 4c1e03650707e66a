"""Batch mode for the repair job: submit papers to the provider's Batch API, collect the
answers on a later run, and wait for them when asked.

State lives in the cache database, so it survives the run that submitted it: which
requests wait in which batch, and, once collected, the accepted answers themselves (as
any accepted answer, in the generation cache). Collecting therefore only fills the cache;
the run that follows writes the papers like any cached answers, through the same
validation and writer. A run killed while collecting collects again next time: putting
an answer in the cache twice changes nothing, and a paper already written is no longer
failed, so nothing is written twice.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, Any

from ..contracts import Generation, PaperRequest, Prior, Validate
from ..errors import LLMError, RunError
from ..generate.batch import MAX_BYTES, MAX_REQUESTS, BatchClient, BatchInfo, Line
from ..generate.cache import GenerationCache
from ..generate.openai_provider import OpenAIProvider
from .progress import Progress
from .report import PaperResult

logger = logging.getLogger("pipeline.repair")

# Polling a batch for --wait: from this many seconds, growing by half each time, up to the cap.
POLL_FIRST_S = 2.0
POLL_MAX_S = 60.0


@dataclass
class BatchSummary:
    """One batch as the report shows it."""

    id: str
    action: str  # submitted | collected | waiting
    status: str
    requests: int
    accepted: int = 0
    rejected: int = 0  # answered, failed validation: re-asked next
    returned: int = 0  # no answer (error, expired, cancelled): planned again
    tokens: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "status": self.status,
            "requests": self.requests,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "returned": self.returned,
            "tokens": self.tokens,
            "billing": "batch",
        }


@dataclass
class _Chunk:
    """An input file being filled: its lines on disk, their papers in memory."""

    file: IO[bytes]
    custom_ids: list[str] = field(default_factory=list)
    results: list[PaperResult] = field(default_factory=list)
    size: int = 0


class Batches:
    """The job's side of the Batch API, for one run and one cache."""

    def __init__(
        self,
        client: BatchClient,
        provider: OpenAIProvider,
        cache: GenerationCache,
        progress: Progress,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_requests: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        """``max_requests`` and ``max_bytes`` per input file default to the provider's limits."""
        self.client = client
        self.provider = provider
        self.cache = cache
        self.progress = progress
        self.sleep = sleep
        self.max_requests = max_requests or MAX_REQUESTS
        self.max_bytes = max_bytes or MAX_BYTES
        self.summaries: list[BatchSummary] = []
        self.collected: dict[str, str] = {}  # cache key -> the batch its accepted answer came from
        self._chunk: _Chunk | None = None
        self.submitted: list[str] = []

    # -- collecting ----------------------------------------------------------------------

    async def collect(self, validate: Validate) -> None:
        """Put the answers of every finished batch of the cache into it (accepted ones as
        generations, rejected ones as the prior answer to re-ask with); papers without an
        answer go back to the plan. Unfinished batches keep their papers pending."""
        self.cache.drop_unsubmitted()
        for batch_id, mode in self.cache.open_batches():
            try:
                info = await self.client.retrieve(batch_id)
            except LLMError as exc:  # the provider cannot say now: keep waiting, next run asks again
                self.progress.note(f"batch {batch_id}: cannot read its status ({exc}); its papers stay pending")
                continue
            if not info.done:
                self._summary(info, "waiting")
                continue
            await self._collect(info, mode, validate)

    async def _collect(self, info: BatchInfo, mode: str, validate: Validate) -> None:
        summary = self._summary(info, "collected")
        requests = self.cache.batch_requests(info.id)
        answered = set()
        prompt = completion = 0
        for result in await self.client.results(info):
            found = requests.get(result.custom_id)
            if found is None:
                continue
            key, request = found
            answered.add(result.custom_id)
            outcome = None if result.response is None else await self._answer(request, result.response, mode, validate)
            if isinstance(outcome, Generation):
                self.cache.put(key, request.id, outcome)
                self.collected[key] = info.id
                summary.accepted += 1
                prompt += outcome.usage.prompt_tokens
                completion += outcome.usage.completion_tokens
            elif isinstance(outcome, Prior):
                self.cache.set_prior(key, outcome)
                summary.rejected += 1
            else:
                summary.returned += 1
        summary.returned += len(set(requests) - answered)  # expired, cancelled, failed batches
        summary.tokens = {"prompt": prompt, "completion": completion}
        self.cache.close_batch(info.id)
        self.progress.note(
            f"batch {info.id} ({info.status}): {summary.accepted} accepted, {summary.rejected} to re-ask, "
            f"{summary.returned} returned to the plan"
        )

    async def _answer(
        self, request: PaperRequest, response: dict[str, Any], mode: str, validate: Validate
    ) -> Generation | Prior | None:
        try:
            return await self.provider.batch_answer(request, response, mode, validate)
        except Exception as exc:  # an answer nothing foresaw: that paper is planned again
            logger.error("%s: batch answer unusable: %s: %s", request.id, type(exc).__name__, exc)
            return None

    # -- submitting ----------------------------------------------------------------------

    async def add(self, key: str, request: PaperRequest, result: PaperResult) -> None:
        """Write the paper's request into the current input file; submit it when full."""
        attempt = 1 + (request.prior is not None)
        custom_id = f"{request.id}:{key[:12]}:{attempt}"
        data = Line(custom_id, self.provider.batch_body(request)).encode()
        chunk = self._chunk
        if chunk is not None and (
            len(chunk.custom_ids) >= self.max_requests or chunk.size + len(data) > self.max_bytes
        ):
            await self.flush()
            chunk = None
        if chunk is None:  # the file lives until flush() uploads and closes it
            chunk = self._chunk = _Chunk(tempfile.TemporaryFile())  # noqa: SIM115
        chunk.file.write(data)
        chunk.size += len(data)
        chunk.custom_ids.append(custom_id)
        chunk.results.append(result)
        self.cache.stage(custom_id, key, request)

    async def flush(self) -> None:
        """Submit the current input file as a batch."""
        chunk, self._chunk = self._chunk, None
        if chunk is None:
            return
        with chunk.file:
            chunk.file.seek(0)
            try:
                info = await self.client.submit(chunk.file.read(), {"tool": "digest-repair"})
            except LLMError as exc:  # nothing was submitted: those papers are not pending
                for result in chunk.results:
                    result.skip("aborted", str(exc))
                raise RunError(f"cannot submit a batch of {len(chunk.custom_ids)} request(s): {exc}") from exc
        p = self.provider
        self.cache.submitted(info.id, chunk.custom_ids, p.mode, p.model, p.prompt_version)
        self.submitted.append(info.id)
        self._summary(info, "submitted").requests = len(chunk.custom_ids)
        for result in chunk.results:
            result.pend(info.id)
        self.progress.note(f"submitted batch {info.id}: {len(chunk.custom_ids)} request(s)")

    # -- waiting -------------------------------------------------------------------------

    async def wait(self) -> None:
        """Poll the batches this run submitted until each has ended, saying how far they are."""
        delay = POLL_FIRST_S
        waiting = list(self.submitted)
        while waiting:
            still = []
            for batch_id in waiting:
                info = await self.client.retrieve(batch_id)
                self.progress.note(
                    f"batch {info.id}: {info.status}, {info.completed}/{info.total} done, {info.failed} failed"
                )
                if not info.done:
                    still.append(batch_id)
            waiting = still
            if waiting:
                await self.sleep(delay)
                delay = min(delay * 1.5, POLL_MAX_S)

    def _summary(self, info: BatchInfo, action: str) -> BatchSummary:
        summary = BatchSummary(info.id, action, info.status, info.total)
        self.summaries = [s for s in self.summaries if s.id != info.id] + [summary]
        return summary
