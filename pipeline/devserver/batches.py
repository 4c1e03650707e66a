"""The Batch API, in memory: ``/v1/batches`` create, retrieve, cancel and list.

As OpenAI's (which Azure, Groq and Together also serve): a batch reads its input file's
lines when created, then runs ``validating -> in_progress -> finalizing -> completed``
over ``--batch-delay`` seconds of wall time since its creation. Progress is a function of
that time, observed whenever a batch is read, so a delay of 0 ends a batch by its first
retrieve. A file whose lines are wrong (not JSON, a field missing, a duplicate
``custom_id``, another URL or model, more requests than allowed) makes the batch
``failed`` with one entry per problem in ``errors``, as OpenAI reports them.

Each request is answered by ``ChatCompletions``, the code that answers live requests, with
the content faults drawn from the batch's own seeded stream (so a batch's results do not
depend on live traffic) and ``--batch-error-rate`` per-request 500s. Successful results go
to the output file and failed ones to the error file, in OpenAI's batch output format.
``--batch-expire`` ends batches ``expired`` with the first half of their requests done and
the rest in the error file as ``batch_expired``; ``cancel`` keeps what was done by then.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import faults
from .chat import ChatCompletions
from .config import BATCH_FAULT_RATES, DevServerConfig
from .files import FileStore, missing
from .wire import Refusal, Reply, Request, cursor_page, invalid_request, json_reply, openai_error

BATCH_ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = 24 * 3600
STATUSES = ("validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled")
TERMINAL = frozenset({"failed", "completed", "expired", "cancelled"})
EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."
DUPLICATE_MESSAGE = (
    "The custom_id for this request is a duplicate of another request. "
    "The custom_id parameter must be unique for each individual request in a batch."
)
MAX_REPORTED_ERRORS = 1000
# Requests answered between two yields to the event loop (about 50 ms of work): a large
# batch ending must not stall the live requests the server is answering meanwhile.
ANSWERS_PER_YIELD = 256
_REQUIRED = ("custom_id", "method", "url", "body")


@dataclass(frozen=True)
class _Line:
    custom_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class _Result:
    """One request's line of the output or error file."""

    line: dict[str, Any]
    ok: bool
    usage: dict[str, Any] | None = None


@dataclass
class _Batch:
    id: str
    input_file_id: str
    metadata: dict[str, str] | None
    created: float
    lines: list[_Line]
    errors: list[dict[str, Any]]
    draw: faults.FaultDraw
    target: int  # requests done by the end: all, or half when batches expire
    status: str = "validating"
    results: list[_Result] = field(default_factory=list)
    drawn: Counter[str] = field(default_factory=Counter)
    stamps: dict[str, int] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None


def _error(code: str, message: str, line: int | None = None, param: str | None = None) -> dict[str, Any]:
    """One entry of a failed batch's ``errors.data``."""
    return {"code": code, "line": line, "message": message, "param": param}


def read_lines(data: bytes, max_requests: int) -> tuple[list[_Line], list[dict[str, Any]]]:
    """The requests of a batch input file and the problems that fail the batch."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], [_error("invalid_file_format", "The batch input file is not UTF-8 encoded JSONL.")]
    numbered = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not numbered:
        return [], [_error("empty_file", "The batch input file is empty.")]
    if len(numbered) > max_requests:
        message = f"The batch input file has {len(numbered)} requests, more than the maximum of {max_requests}."
        return [], [_error("too_many_tasks", message)]
    lines: list[_Line] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    model: object = None
    for number, raw in numbered:
        try:
            request = json.loads(raw)
        except ValueError:
            errors.append(_error("invalid_json_line", "This line is not parseable as valid JSON.", number))
            continue
        problem = _line_problem(request, seen, model)
        if problem is not None:
            code, message, param = problem
            errors.append(_error(code, message, number, param))
            continue
        seen.add(request["custom_id"])
        model = request["body"].get("model") if model is None else model
        lines.append(_Line(request["custom_id"], request["body"]))
    return lines, errors[:MAX_REPORTED_ERRORS]


def _line_problem(request: object, seen: set[str], model: object) -> tuple[str, str, str | None] | None:
    """Why one parsed line cannot be a request of the batch: (code, message, param), or None."""
    if not isinstance(request, dict):
        return "invalid_json_line", "This line is not a JSON object.", None
    for key in _REQUIRED:
        if key not in request:
            return "missing_required_parameter", f"Missing required parameter: '{key}'.", key
    if not isinstance(request["custom_id"], str) or not request["custom_id"]:
        return "invalid_type", "Invalid type for 'custom_id': expected a non-empty string.", "custom_id"
    if request["method"] != "POST":
        return "invalid_value", f"Invalid value: '{request['method']}'. Supported values are: 'POST'.", "method"
    if request["url"] != BATCH_ENDPOINT:
        message = f"The url '{request['url']}' of this request does not match the batch's endpoint '{BATCH_ENDPOINT}'."
        return "url_mismatch", message, "url"
    if not isinstance(request["body"], dict):
        return "invalid_type", "Invalid type for 'body': expected an object.", "body"
    if request["custom_id"] in seen:
        return "duplicate_custom_id", DUPLICATE_MESSAGE, "custom_id"
    if model is not None and request["body"].get("model") != model:
        message = f"The model of this request does not match the model '{model}' of the batch's other requests."
        return "model_mismatch", message, "body.model"
    return None


def _request_id(batch_id: str, index: int, kind: str) -> str:
    """A stable id for a request of a batch: the same batch gets the same ids in every run."""
    return hashlib.blake2b(f"{batch_id}:{index}:{kind}".encode(), digest_size=16).hexdigest()


class BatchStore:
    """Batches, their lazily answered requests, and their counters."""

    def __init__(
        self, config: DevServerConfig, chat: ChatCompletions, files: FileStore, wall: Callable[[], float]
    ) -> None:
        self._config = config
        self._chat = chat
        self._files = files
        self._wall = wall
        self._batches: dict[str, _Batch] = {}
        self._advancing = asyncio.Lock()  # one batch's requests are answered once, in order
        self._rates = {outcome: getattr(config, attr) for outcome, attr in BATCH_FAULT_RATES.items()}
        self.requests = 0
        self.outcomes: Counter[str] = Counter()

    def stats(self) -> dict[str, Any]:
        """Batches by the status they had when last read, and their requests by outcome."""
        by_status = Counter(batch.status for batch in self._batches.values())
        return {
            "created": len(self._batches),
            "by_status": {status: by_status[status] for status in STATUSES},
            "requests": self.requests,
            "outcomes": dict(self.outcomes),
        }

    async def handle(self, request: Request) -> Reply:
        """Every ``/v1/batches`` route."""
        parts = request.path.removeprefix("/v1/batches").strip("/").split("/")
        if parts == [""]:
            if request.method == "POST":
                return self._create(request)
            if request.method == "GET":
                return await self._list(request)
        batch = self._batches.get(parts[0])
        if batch is None:
            return json_reply(404, openai_error(f"No batch found with id '{parts[0]}'.", param="batch_id"))
        if parts[1:] == [] and request.method == "GET":
            await self._advance(batch)
            return json_reply(200, self._object(batch))
        if parts[1:] == ["cancel"] and request.method == "POST":
            return await self._cancel(batch)
        return json_reply(404, openai_error("Not Found"))

    def _create(self, request: Request) -> Reply:
        try:
            body = request.json()
        except ValueError as exc:
            return invalid_request(f"cannot read the request: {exc}").reply()
        refusal = self._check_create(body)
        if refusal is not None:
            return refusal.reply()
        stored = self._files.get(body["input_file_id"])
        if stored is None:
            message = f"Cannot find file {body['input_file_id']}, or project does not have access to it."
            return invalid_request(message, param="file_id").reply()
        if stored.purpose != "batch":
            message = f"The input file {stored.id} has purpose '{stored.purpose}'; a batch needs purpose 'batch'."
            return invalid_request(message, param="input_file_id").reply()
        lines, errors = read_lines(stored.data, self._config.batch_max_requests)
        number = len(self._batches) + 1
        batch = _Batch(
            id=f"batch_dev{number:06d}",
            input_file_id=stored.id,
            metadata=body.get("metadata"),
            created=self._wall(),
            lines=lines,
            errors=errors,
            draw=faults.FaultDraw(f"{self._config.seed}-batch-{number}", self._rates),
            target=len(lines) // 2 if self._config.batch_expire else len(lines),
        )
        self._batches[batch.id] = batch
        return json_reply(200, self._object(batch))

    def _check_create(self, body: object) -> Refusal | None:
        if not isinstance(body, dict):
            return invalid_request("cannot read the request: the body must be a JSON object")
        for key in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(body.get(key), str):
                return missing(key)
        if body["endpoint"] != BATCH_ENDPOINT:
            message = f"Invalid value: '{body['endpoint']}'. The devserver batches only '{BATCH_ENDPOINT}'."
            return invalid_request(message, param="endpoint", code="invalid_value")
        if body["completion_window"] != "24h":
            message = f"Invalid value: '{body['completion_window']}'. Supported values are: '24h'."
            return invalid_request(message, param="completion_window", code="invalid_value")
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and len(metadata) <= 16
            and all(
                isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
                for k, v in metadata.items()
            )
        ):
            message = "Invalid 'metadata': at most 16 string keys (64 characters) with string values (512 characters)."
            return invalid_request(message, param="metadata", code="invalid_value")
        return None

    async def _cancel(self, batch: _Batch) -> Reply:
        await self._advance(batch)
        if batch.status in TERMINAL:
            message = f"Cannot cancel batch with status '{batch.status}'."
            return json_reply(400, openai_error(message))
        if batch.status != "cancelling":
            batch.status = "cancelling"
            batch.stamps["cancelling_at"] = int(self._wall())
        return json_reply(200, self._object(batch))

    async def _list(self, request: Request) -> Reply:
        for batch in list(self._batches.values()):
            await self._advance(batch)
        newest_first = [self._object(batch) for batch in reversed(self._batches.values())]
        return cursor_page(newest_first, request.query, default_limit=20, max_limit=100)

    def _phase(self, batch: _Batch, elapsed: float) -> tuple[str, int]:
        """Where a batch is after ``elapsed`` seconds, and how many requests it has done."""
        third = self._config.batch_delay / 3
        if elapsed >= self._config.batch_delay:
            return "done", batch.target
        if elapsed < third:
            return "validating", 0
        if elapsed < 2 * third:
            return "in_progress", int(batch.target * (elapsed - third) / third)
        return "finalizing", batch.target

    async def _advance(self, batch: _Batch) -> None:
        """Bring a batch up to the current time: answer what is due, end it when it is over."""
        async with self._advancing:
            await self._advance_unlocked(batch)

    async def _advance_unlocked(self, batch: _Batch) -> None:
        if batch.status in TERMINAL:
            return
        if batch.status == "cancelling":
            self._finish(batch, "cancelled")
            return
        phase, done = self._phase(batch, self._wall() - batch.created)
        if phase == "validating":
            return
        third = self._config.batch_delay / 3
        if batch.errors:
            batch.status = "failed"
            batch.stamps["failed_at"] = int(batch.created + third)
            return
        batch.stamps.setdefault("in_progress_at", int(batch.created + third))
        while len(batch.results) < done:
            batch.results.append(self._answer(batch, len(batch.results)))
            if len(batch.results) % ANSWERS_PER_YIELD == 0:
                await asyncio.sleep(0)
        if phase == "done":
            batch.stamps.setdefault("finalizing_at", int(batch.created + 2 * third))
            self._finish(batch, "expired" if self._config.batch_expire else "completed")
        else:
            batch.status = phase
            if phase == "finalizing":
                batch.stamps.setdefault("finalizing_at", int(batch.created + 2 * third))

    def _answer(self, batch: _Batch, index: int) -> _Result:
        """Request ``index`` of the batch, answered as a live request would be."""
        line = batch.lines[index]
        admitted = self._chat.admit(line.body)
        usage = None
        if isinstance(admitted, Refusal):
            outcome, status, body = admitted.outcome, admitted.status, admitted.payload
        else:
            drawn = batch.draw()
            if drawn == "batch_error":
                refusal = faults.batch_server_error()
                outcome, status, body = refusal.outcome, refusal.status, refusal.payload
            else:
                batch.drawn[drawn] += 1
                outcome, body = self._chat.respond(admitted, drawn, batch.drawn[drawn])
                status, usage = 200, body["usage"]
        self.requests += 1
        self.outcomes[outcome] += 1
        response = {"status_code": status, "request_id": f"req_{_request_id(batch.id, index, 'req')}", "body": body}
        entry = {"id": f"batch_req_{_request_id(batch.id, index, 'line')}", "custom_id": line.custom_id}
        return _Result({**entry, "response": response, "error": None}, status == 200, usage)

    def _finish(self, batch: _Batch, status: str) -> None:
        """End a batch: write its output and error files (only those with lines) and stamp it."""
        failed = [result.line for result in batch.results if not result.ok]
        if status == "expired":
            for index in range(len(batch.results), len(batch.lines)):
                entry = {
                    "id": f"batch_req_{_request_id(batch.id, index, 'line')}",
                    "custom_id": batch.lines[index].custom_id,
                }
                failed.append(
                    {**entry, "response": None, "error": {"code": "batch_expired", "message": EXPIRED_MESSAGE}}
                )
                self.outcomes["batch_expired"] += 1
        succeeded = [result.line for result in batch.results if result.ok]
        if succeeded:
            batch.output_file_id = self._write(f"batch_{batch.id}_output.jsonl", succeeded)
        if failed:
            batch.error_file_id = self._write(f"batch_{batch.id}_error.jsonl", failed)
        batch.status = status
        ended = batch.created + self._config.batch_delay if status != "cancelled" else self._wall()
        batch.stamps[f"{status}_at"] = int(ended)

    def _write(self, filename: str, lines: list[dict[str, Any]]) -> str:
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
        return self._files.add(filename, "batch_output", data).id

    def _object(self, batch: _Batch) -> dict[str, Any]:
        """OpenAI's Batch object."""
        ok = [result for result in batch.results if result.ok]
        expired = len(batch.lines) - len(batch.results) if batch.status == "expired" else 0
        usages = [result.usage for result in ok if result.usage]
        input_tokens = sum(usage["prompt_tokens"] for usage in usages)
        output_tokens = sum(usage["completion_tokens"] for usage in usages)
        created = int(batch.created)
        model = batch.lines[0].body.get("model") if batch.lines else None
        stamps = (
            "in_progress_at",
            "finalizing_at",
            "completed_at",
            "failed_at",
            "expired_at",
            "cancelling_at",
            "cancelled_at",
        )
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": BATCH_ENDPOINT,
            "model": model,
            "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": created,
            "expires_at": created + COMPLETION_WINDOW,
            **{name: batch.stamps.get(name) for name in stamps},
            "request_counts": {
                "total": 0 if batch.errors else len(batch.lines),
                "completed": len(ok),
                "failed": len(batch.results) - len(ok) + expired,
            },
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {
                    "cached_tokens": sum(usage["prompt_tokens_details"]["cached_tokens"] for usage in usages)
                },
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
            "metadata": batch.metadata,
        }
