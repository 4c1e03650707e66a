"""Helpers for the generation-layer tests: canned server answers, settings, recorders."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from pipeline.contracts import Example, PaperRequest, Problem
from pipeline.generate.client import LLMClient
from pipeline.generate.openai_provider import OpenAIProvider
from pipeline.generate.settings import LLMSettings, build_settings

BASE_URL = "https://llm.test/v1"
COMPLETIONS = f"{BASE_URL}/chat/completions"
SECRET = "sk-test-SECRET0123456789abcdef"

GOOD = {
    "tldr": "提出HSS压缩方法，在LLaMA-7B上以30%稀疏度取得1.64的困惑度。",
    "motivation": "大模型的内存与计算开销巨大，需要有原则的压缩方法。",
    "method": "先把大幅值权重移入稀疏矩阵S，再对残差做递归的HSS低秩分解，并用RCM置换。",
    "result": "在LLaMA-7B上，30%稀疏度和外秩512时困惑度为1.64，优于稠密基线。",
    "conclusion": "HSS在节省内存的同时保持了可比的困惑度，且对硬件友好。",
}


def paper(fields: tuple[str, ...] = ("tldr", "method"), **changes: Any) -> PaperRequest:
    values: dict[str, Any] = {
        "id": "2601.07839",
        "title": "Hierarchical Sparse Plus Low Rank Compression of LLM",
        "abstract": "We present HSS compression. With a 30\\% sparsity budget the "
        "perplexity is 1.64 on WikiText ($\\rho \\geq 0.9$).",
        "fields": fields,
        "language": "Chinese",
        "examples": (),
    }
    values.update(changes)
    return PaperRequest(**values)


def example(title: str = "Neighbour paper") -> Example:
    return Example(title=title, fields=dict(GOOD), category="cs.CV")


def settings(**flags: object) -> LLMSettings:
    """Test settings: a fake key, the test server, no real waiting between retries."""
    defaults: dict[str, object] = {
        "api_key": SECRET,
        "base_url": BASE_URL,
        "model": "test-model",
        "backoff_s": 0.5,
        "backoff_max_s": 2.0,
    }
    return build_settings({**defaults, **flags}, environ={})


class SleepRecorder:
    """The injected sleep: records the requested delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_provider(**flags: object) -> tuple[OpenAIProvider, SleepRecorder, LLMClient]:
    sleep = SleepRecorder()
    config = settings(**flags)
    client = LLMClient.from_settings(config, sleep=sleep)
    return OpenAIProvider(client, config), sleep, client


def completion(
    content: str | None = None,
    *,
    answer: Mapping[str, Any] | None = None,
    finish_reason: str = "stop",
    refusal: str | None = None,
    reasoning: str | None = None,
    cached: int | None = None,
    choices: bool = True,
    completion_tokens: int = 20,
) -> httpx.Response:
    """A chat completion response; ``answer`` is serialised to ``content`` as JSON."""
    if answer is not None:
        content = json.dumps(answer, ensure_ascii=False)
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    usage: dict[str, Any] = {
        "prompt_tokens": 100,
        "completion_tokens": completion_tokens,
        "total_tokens": 100 + completion_tokens,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model-2026",
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}] if choices else [],
        "usage": usage,
    }
    return httpx.Response(200, json=body)


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return httpx.Response(status, json=body, headers=dict(headers or {}))


def request_body(item: Any) -> dict[str, Any]:
    """The JSON body of a recorded respx call or of an ``httpx.Request``."""
    request = item if isinstance(item, httpx.Request) else item.request
    loaded: dict[str, Any] = json.loads(request.content)
    return loaded


async def accept_all(request: PaperRequest, fields: Mapping[str, str]) -> list[Problem]:
    return []


class RejectFirst:
    """A validator fake that finds one problem in the first answer only."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def __call__(self, request: PaperRequest, fields: Mapping[str, str]) -> list[Problem]:
        self.seen.append(dict(fields))
        if len(self.seen) == 1:
            return [Problem("numbers", "tldr", "1.65 does not occur in the abstract")]
        return []
