"""The providers' Batch API: the same chat requests, run on their fleet within 24 hours at
half the price (OpenAI, and in the same shape Azure OpenAI, Groq, Together).

A batch is a JSONL file of requests, each ``{"custom_id", "method", "url", "body"}`` with
the very body a live request would send, uploaded with ``purpose="batch"``; the batch
answers with an output file (one line per answered request) and an error file. This
module speaks that protocol through the run's ``openai`` client; which papers go in and
what their answers become is the job's business (``job/batches.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import openai

from ..errors import FatalLLMError
from .client import LLMClient, map_sdk_error

ENDPOINT: Final = "/v1/chat/completions"
COMPLETION_WINDOW: Final = "24h"
# OpenAI's limits per input file; the others' are the same or larger.
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
TERMINAL = frozenset({"completed", "expired", "cancelled", "failed"})


class BatchUnsupported(FatalLLMError):
    kind = "BatchUnsupported"
    reason = "batch_unsupported"


@dataclass(frozen=True)
class Line:
    """One request of a batch: a live request's body under a ``custom_id``."""

    custom_id: str
    body: dict[str, Any]

    def encode(self) -> bytes:
        item = {"custom_id": self.custom_id, "method": "POST", "url": ENDPOINT, "body": self.body}
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def chunks(lines: Iterable[Line], max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES) -> Iterator[bytes]:
    """Input files within the provider's limits: at most ``max_requests`` lines and
    ``max_bytes`` bytes each."""
    parts: list[bytes] = []
    size = 0
    for line in lines:
        data = line.encode()
        if parts and (len(parts) >= max_requests or size + len(data) > max_bytes):
            yield b"".join(parts)
            parts, size = [], 0
        parts.append(data)
        size += len(data)
    if parts:
        yield b"".join(parts)


@dataclass(frozen=True)
class BatchInfo:
    """What the provider says of a batch."""

    id: str
    status: str
    total: int
    completed: int
    failed: int
    output_file_id: str | None
    error_file_id: str | None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class Result:
    """One request's outcome: the chat completion it got, or why it got none."""

    custom_id: str
    response: dict[str, Any] | None
    error: str | None


class BatchClient:
    """Upload, create, poll and download batches with the run's client and key."""

    def __init__(self, client: LLMClient) -> None:
        self._client = client
        self._sdk = client.sdk
        self.requests = 0  # HTTP requests to the files and batches endpoints

    async def check_supported(self) -> None:
        """Raise ``BatchUnsupported`` (exit 3) when the server has no Batch API (DeepSeek)."""
        self.requests += 1
        try:
            await self._sdk.batches.list(limit=1)
        except openai.NotFoundError as exc:
            raise BatchUnsupported(
                f"{self._client.base_url} has no Batch API (/batches answered 404); run without --batch"
            ) from exc
        except openai.OpenAIError as exc:
            raise self._mapped(exc) from exc

    async def submit(self, data: bytes, metadata: dict[str, str]) -> BatchInfo:
        """Upload one input file and start a batch on it."""
        self.requests += 2
        try:
            uploaded = await self._sdk.files.create(file=("requests.jsonl", data), purpose="batch")
            batch = await self._sdk.batches.create(
                input_file_id=uploaded.id,
                endpoint=ENDPOINT,
                completion_window=COMPLETION_WINDOW,
                metadata=metadata,
            )
        except openai.OpenAIError as exc:
            raise self._mapped(exc) from exc
        return _info(batch)

    async def retrieve(self, batch_id: str) -> BatchInfo:
        self.requests += 1
        try:
            return _info(await self._sdk.batches.retrieve(batch_id))
        except openai.OpenAIError as exc:
            raise self._mapped(exc) from exc

    async def results(self, info: BatchInfo) -> list[Result]:
        """Every answered or failed request of a finished batch (output and error files)."""
        results: list[Result] = []
        for file_id in (info.output_file_id, info.error_file_id):
            if not file_id:
                continue
            self.requests += 1
            try:
                content = await self._sdk.files.content(file_id)
            except openai.OpenAIError as exc:
                raise self._mapped(exc) from exc
            results += [_result(json.loads(line)) for line in content.content.splitlines() if line.strip()]
        return results

    def _mapped(self, exc: openai.OpenAIError) -> Exception:
        return map_sdk_error(exc, self._client.api_key, self._client.base_url)


def _info(batch: Any) -> BatchInfo:
    counts = batch.request_counts
    return BatchInfo(
        id=batch.id,
        status=batch.status,
        total=counts.total if counts else 0,
        completed=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
    )


def _result(item: dict[str, Any]) -> Result:
    """A line of an output or error file: a 200 with its body, or the error it names."""
    custom_id = str(item.get("custom_id"))
    response = item.get("response") or {}
    body = response.get("body") if isinstance(response, dict) else None
    if isinstance(response, dict) and response.get("status_code") == 200 and isinstance(body, dict):
        return Result(custom_id, body, None)
    error = item.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
    status = response.get("status_code") if isinstance(response, dict) else None
    message = error.get("message") if isinstance(error, dict) else str(error)
    code = error.get("code") if isinstance(error, dict) else None
    return Result(custom_id, None, f"{code or status or 'error'}: {message or 'no answer'}")
