"""The faults the devserver injects, each as the real server that has it answers.

Deterministic faults (an unknown model, an exhausted quota, a wrong key, a prompt too long
for the context) are the bodies OpenAI, or llama.cpp's server, sends: the client under
test must classify them by status and ``code`` as it would in production. Random faults
come from ``FaultDraw``: one seeded draw per request mapped onto consecutive ranges of
the rates, so the number of each outcome over a run is reproducible whatever the
interleaving of concurrent requests.
"""

from __future__ import annotations

import hmac
import json
import random
from collections.abc import Mapping
from typing import Any

from .answers import estimate_tokens
from .wire import Refusal, openai_error

QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)
NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
    "username) if you're accessing the API from your browser and are prompted for a username. You "
    "can obtain an API key from https://platform.openai.com/account/api-keys."
)
SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"


class FaultDraw:
    """A seeded stream of outcomes: each call draws once and maps the draw onto the rates."""

    def __init__(self, seed: int | str, rates: Mapping[str, float]) -> None:
        self._random = random.Random(seed)
        self._rates = dict(rates)

    def __call__(self) -> str:
        draw = self._random.random()
        for outcome, rate in self._rates.items():
            draw -= rate
            if draw < 0:
                return outcome
        return "ok"


def model_not_found(model: str) -> Refusal:
    message = f"The model `{model}` does not exist or you do not have access to it."
    return Refusal("model_not_found", 404, openai_error(message, code="model_not_found"))


def insufficient_quota() -> Refusal:
    """OpenAI's 429 for an account without credit: no Retry-After, since waiting won't help."""
    return Refusal("quota_exhausted", 429, openai_error(QUOTA_MESSAGE, "insufficient_quota", code="insufficient_quota"))


def mask_key(key: str) -> str:
    """A key as OpenAI quotes it back: its first 8 and last 4 characters, stars between."""
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def check_key(expected: str, authorization: str | None) -> Refusal | None:
    """None when the ``Authorization`` header carries the expected bearer key, else OpenAI's 401."""
    scheme, _, presented = (authorization or "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return Refusal("unauthorized", 401, openai_error(NO_KEY_MESSAGE))
    if hmac.compare_digest(presented.encode(), expected.encode()):
        return None
    message = (
        f"Incorrect API key provided: {mask_key(presented)}. "
        "You can find your API key at https://platform.openai.com/account/api-keys."
    )
    return Refusal("unauthorized", 401, openai_error(message, code="invalid_api_key"))


def context_exceeded(style: str, limit: int, prompt_tokens: int, max_tokens: int | None) -> Refusal | None:
    """The refusal of a prompt that does not fit ``limit`` tokens, or None when it fits.

    OpenAI counts the requested ``max_tokens`` with the prompt. llama.cpp's server refuses
    only a prompt that fills its context (``n_tokens >= n_ctx``) and otherwise generates
    until the context is full, so its limit on the completion shows as a cut answer.
    """
    if style == "llamacpp":
        if prompt_tokens < limit:
            return None
        # tools/server: format_error_response(ERROR_TYPE_EXCEED_CONTEXT_SIZE) plus the counts.
        message = (
            f"request ({prompt_tokens} tokens) exceeds the available context size ({limit} tokens), try increasing it"
        )
        error = {
            "code": 400,
            "message": message,
            "type": "exceed_context_size_error",
            "n_prompt_tokens": prompt_tokens,
            "n_ctx": limit,
        }
        return Refusal("context_length_exceeded", 400, {"error": error})
    requested = prompt_tokens + (max_tokens or 0)
    if requested <= limit:
        return None
    if max_tokens:
        detail = (
            f"However, you requested {requested} tokens ({prompt_tokens} in the messages, {max_tokens} "
            "in the completion). Please reduce the length of the messages or completion."
        )
    else:
        detail = f"However, your messages resulted in {prompt_tokens} tokens. Please reduce the length of the messages."
    message = f"This model's maximum context length is {limit} tokens. {detail}"
    return Refusal(
        "context_length_exceeded", 400, openai_error(message, code="context_length_exceeded", param="messages")
    )


def batch_server_error() -> Refusal:
    """A batch request that failed on the server side (`--batch-error-rate`)."""
    return Refusal("batch_error", 500, openai_error(SERVER_ERROR_MESSAGE, "server_error"))


def truncate_tokens(text: str, tokens: int) -> str:
    """The longest prefix of ``text`` that ``estimate_tokens`` counts as at most ``tokens``."""
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if estimate_tokens(text[:mid]) <= tokens:
            low = mid
        else:
            high = mid - 1
    return text[:low]


def render(answer: dict[str, Any], outcome: str, ordinal: int) -> str:
    """The answer as JSON text, broken in alternating ways when a content fault asks for it.

    ``ordinal`` counts the requests drawn for this fault so far; odd and even ones break
    differently, so a handful of requests shows every kind.
    """
    if outcome == "schema_violation" and answer:
        name = next(reversed(answer))
        if ordinal % 2:
            del answer[name]  # a missing field
        else:
            answer[name] = [answer[name]]  # a wrong type
    text = json.dumps(answer, ensure_ascii=False)
    if outcome == "malformed":
        if ordinal % 2:
            return text.replace('": "', '": "\\(\\mathcal{O}(n)\\) ', 1)  # LaTeX, unescaped
        return text[: len(text) // 2]  # truncated
    if outcome == "length":
        return truncate_tokens(text, estimate_tokens(text) // 2)  # max_tokens reached mid-JSON
    return text
