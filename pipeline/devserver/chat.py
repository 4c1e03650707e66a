"""One chat completion, from request body to response body: shared by live and batch requests.

A live request and a line of a batch input file are answered by the same two steps, so
a batch proves what live requests prove: ``admit`` refuses what the server would refuse
(a body it cannot read, an unknown model, a refused response format, a prompt too long),
and ``respond`` writes the answer, with the content fault drawn for it. What only a live
connection has (latency, 429s, timeouts, 500s) stays in ``server.py``.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import faults
from .answers import (
    ChatTask,
    PrefixIndex,
    build_answer,
    estimate_tokens,
    is_reask,
    leaked_answer,
    parse_task,
    prompt_text,
)
from .config import DevServerConfig
from .wire import Refusal, invalid_request

# What DeepSeek answers when asked for a json_schema response format.
SCHEMA_UNSUPPORTED_MESSAGE = "This response_format type is unavailable now"


@dataclass(frozen=True)
class ChatRequest:
    """An admitted request: its body, the task it carries and its prompt's size."""

    body: Mapping[str, Any]
    task: ChatTask
    prompt: str
    prompt_tokens: int


class ChatCompletions:
    """Admits chat requests and writes their completions; keeps the prefix cache and ids."""

    def __init__(self, config: DevServerConfig) -> None:
        self._config = config
        self._prefixes = PrefixIndex()
        self._ids = itertools.count(1)
        # --reask-copy: the last answer given for each paper (by title), to give it again.
        self._last_answers: dict[str, dict[str, Any]] = {}

    def check_model(self, model: object) -> Refusal | None:
        """OpenAI's 404 when ``--models`` is set and does not name this one."""
        if self._config.models and model not in self._config.models:
            return faults.model_not_found(str(model or ""))
        return None

    def admit(self, body: object) -> ChatRequest | Refusal:
        """The request, read and checked; or the refusal the server answers instead."""
        try:
            if not isinstance(body, Mapping):
                raise TypeError("the body must be a JSON object")
            task = parse_task(body)
        except (ValueError, AttributeError, TypeError) as exc:
            return invalid_request(f"cannot read the request: {exc}")
        if body.get("stream"):
            return invalid_request("the devserver does not stream", param="stream")
        refusal = self.check_model(body.get("model"))
        if refusal is not None:
            return refusal
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema" and not self._config.json_schema:
            error = {"message": SCHEMA_UNSUPPORTED_MESSAGE, "type": "invalid_request_error"}
            return Refusal("schema_unsupported", 400, {"error": error})
        prompt = prompt_text(body)
        request = ChatRequest(body, task, prompt, estimate_tokens(prompt))
        if self._config.context_length:
            max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
            refusal = faults.context_exceeded(
                self._config.context_style,
                self._config.context_length,
                request.prompt_tokens,
                max_tokens if isinstance(max_tokens, int) else None,
            )
            if refusal is not None:
                return refusal
        return request

    def respond(self, request: ChatRequest, drawn: str, ordinal: int) -> tuple[str, dict[str, Any]]:
        """The outcome the request ends with, and its chat completion.

        ``drawn`` is the content fault drawn for it (or "ok"), ``ordinal`` how many were
        drawn for that fault so far. A re-ask under ``--reask-copy`` copies the previous
        answer whatever was drawn; a leak needs an example in the prompt, else the answer
        is the normal one. An answer longer than the context has room for is cut.
        """
        outcome = drawn
        copied = self._copy(request) if self._config.reask_copy and is_reask(request.body) else None
        if copied is not None:
            outcome, text = "reask_copied", json.dumps(copied, ensure_ascii=False)
        else:
            answer = leaked_answer(request.body, request.task) if drawn == "leaked" else None
            if answer is None:
                outcome = "ok" if drawn == "leaked" else drawn
                answer = build_answer(request.task)
            text = faults.render(answer, outcome, ordinal)
            self._last_answers[request.task.title] = answer
        finish = "length" if outcome == "length" else "stop"
        if self._config.context_length:
            room = max(self._config.context_length - request.prompt_tokens, 0)
            if estimate_tokens(text) > room:
                outcome, text, finish = "context_truncated", faults.truncate_tokens(text, room), "length"
        return outcome, self._completion(request, text, finish)

    def _copy(self, request: ChatRequest) -> dict[str, Any] | None:
        """The previous answer for this paper, its fields asked again given again verbatim
        (what small models do when shown a re-ask); None when it has none of them."""
        previous = self._last_answers.get(request.task.title) or {}
        copied = {name: previous[name] for name in request.task.fields if name in previous}
        return copied or None

    def _completion(self, request: ChatRequest, content: str, finish_reason: str) -> dict[str, Any]:
        cached = estimate_tokens(request.prompt[: self._prefixes.add(request.prompt)])
        completion_tokens = estimate_tokens(content)
        return {
            "id": f"chatcmpl-devserver-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.body.get("model") or self._config.model,
            "system_fingerprint": "devserver",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": request.prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": request.prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }
