"""The loopback chat server, exercised over real HTTP."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from pipeline.contracts import PaperRequest
from pipeline.detect.language import detect_language
from pipeline.devserver.server import (
    SCHEMA_UNSUPPORTED_MESSAGE,
    DevServerConfig,
    add_arguments,
    config_from_args,
    fetch_stats,
    parse_duration,
    running_server,
)
from pipeline.digest.fields import FIELDS
from pipeline.validate.validator import Validator

TITLE = "SparQ-Lite: Sparse Attention for Long Contexts"
ABSTRACT = (
    "Long-context inference is bottlenecked by attention, because (1) keys grow and (2) "
    "memory is scarce. We propose SparQ-Lite, which keeps the 64 most relevant keys per "
    "query. On LongBench it retains 98.5% of dense accuracy and runs 3.2x faster than "
    "FlashAttention on 1,024 documents with $k=16$ and Llama-2 (13B)."
)


def user_message(
    fields: str = "tldr, motivation, method, result, conclusion",
    language: str = "Chinese",
    title: str = TITLE,
    abstract: str = ABSTRACT,
) -> dict[str, str]:
    """The project's prompt convention, as ``prompts/user.txt`` renders it."""
    return {
        "role": "user",
        "content": (
            f"Target language: {language}\nFields to write: {fields}\n\n"
            f"Answer with a json object whose keys are exactly: {fields}.\n\n"
            f"<title>{title}</title>\n<abstract>{abstract}</abstract>"
        ),
    }


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """One client per test: a new one per request would cost more than the request."""
    with httpx.Client() as client:
        yield client


def chat(
    http: httpx.Client,
    base_url: str,
    messages: list[dict[str, str]],
    timeout: float = 10.0,
    **extra: Any,
) -> httpx.Response:
    body = {"model": "test-model", "messages": messages, **extra}
    return http.post(f"{base_url}/chat/completions", json=body, timeout=timeout)


def answer_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    loaded: dict[str, Any] = json.loads(response.json()["choices"][0]["message"]["content"])
    return loaded


def test_answers_are_chinese_and_quote_only_the_abstract(http: httpx.Client) -> None:
    with running_server() as url:
        answer = answer_of(chat(http, url, [user_message()]))
    assert list(answer) == ["tldr", "motivation", "method", "result", "conclusion"]
    source = TITLE + " " + ABSTRACT
    for text in answer.values():
        assert detect_language(text) == "Chinese"
        assert "\n" not in text and 10 <= len(text) <= 600
        for number in re.findall(r"\d+(?:[.,]\d+)*", text):
            assert number in ABSTRACT
        for name in re.findall(r"[A-Za-z][A-Za-z0-9-]*", text):
            assert name in source
    assert len(set(answer.values())) == 5
    assert Validator().check_request(PaperRequest("1", TITLE, ABSTRACT, FIELDS, "Chinese"), answer) == []
    assert "SparQ-Lite" in answer["tldr"]  # the title's name is the method
    assert "98.5%" in answer["result"]


def test_english_answers_and_requested_fields_only(http: httpx.Client) -> None:
    with running_server() as url:
        answer = answer_of(chat(http, url, [user_message("tldr, result", language="English")]))
    assert list(answer) == ["tldr", "result"]
    assert all(detect_language(text) == "English" for text in answer.values())


def test_json_schema_properties_name_the_fields(http: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"method": {"type": "string"}}}
    response_format = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
    with running_server() as url:
        answer = answer_of(chat(http, url, [user_message("tldr")], response_format=response_format))
    assert list(answer) == ["method"]


def test_reask_conversation_is_answered_for_the_paper(http: httpx.Client) -> None:
    example = user_message(title="Other paper", abstract="An unrelated abstract about 7 cats.")
    reask = {"role": "user", "content": "Your previous answer had problems: - tldr: too short"}
    messages = [
        {"role": "system", "content": "You summarise papers."},
        example,
        {"role": "assistant", "content": '{"tldr": "例子"}'},
        user_message("tldr, method"),
        {"role": "assistant", "content": '{"tldr": "短"}'},
        reask,
    ]
    with running_server() as url:
        answer = answer_of(chat(http, url, messages))
    assert list(answer) == ["tldr", "method"]
    assert "SparQ-Lite" in answer["tldr"] and "7" not in answer["method"]


def test_latency_is_honoured(http: httpx.Client) -> None:
    with running_server(DevServerConfig(latency=0.15)) as url:
        start = time.perf_counter()
        chat(http, url, [user_message()])
        elapsed = time.perf_counter() - start
    assert 0.15 <= elapsed < 1.0


def test_injected_429_carries_retry_after(http: httpx.Client) -> None:
    with running_server(DevServerConfig(rate_429=1.0, retry_after=2.0)) as url:
        response = chat(http, url, [user_message()])
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.headers["retry-after-ms"] == "2000"


def test_requests_beyond_the_rpm_get_429(http: httpx.Client) -> None:
    with running_server(DevServerConfig(rpm=2)) as url:
        statuses = [chat(http, url, [user_message()]).status_code for _ in range(3)]
        third = chat(http, url, [user_message()])
        stats = fetch_stats(url)
    assert statuses == [200, 200, 429]
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert stats["outcomes"]["rate_limited"] == 2


def _statuses(http: httpx.Client, config: DevServerConfig, count: int) -> list[int]:
    with running_server(config) as url:
        return [chat(http, url, [user_message()]).status_code for _ in range(count)]


def test_500_injection_is_reproducible_with_a_seed(http: httpx.Client) -> None:
    config = DevServerConfig(rate_500=0.3, seed=7)
    first = _statuses(http, config, 40)
    assert first == _statuses(http, config, 40)
    assert set(first) == {200, 500}
    assert 4 <= first.count(500) <= 20
    assert first != _statuses(http, DevServerConfig(rate_500=0.3, seed=8), 40)


def test_outcome_counts_do_not_depend_on_concurrency(http: httpx.Client) -> None:
    config = DevServerConfig(rate_500=0.3, seed=7)
    sequential = _statuses(http, config, 40).count(500)

    async def concurrent(url: str) -> list[int]:
        async with httpx.AsyncClient(timeout=10) as client:
            body = {"model": "m", "messages": [user_message()]}
            responses = await asyncio.gather(*(client.post(f"{url}/chat/completions", json=body) for _ in range(40)))
        return [r.status_code for r in responses]

    with running_server(config) as url:
        assert asyncio.run(concurrent(url)).count(500) == sequential
        assert fetch_stats(url)["outcomes"]["error_500"] == sequential


def test_json_schema_can_be_refused_like_deepseek(http: httpx.Client) -> None:
    schema_format = {
        "type": "json_schema",
        "json_schema": {"name": "s", "schema": {"type": "object"}},
    }
    with running_server(DevServerConfig(json_schema=False)) as url:
        refused = chat(http, url, [user_message()], response_format=schema_format)
        accepted = chat(http, url, [user_message()], response_format={"type": "json_object"})
    assert refused.status_code == 400
    assert refused.json() == {"error": {"message": SCHEMA_UNSUPPORTED_MESSAGE, "type": "invalid_request_error"}}
    assert accepted.status_code == 200


def test_malformed_content_alternates_latex_and_truncation(http: httpx.Client) -> None:
    with running_server(DevServerConfig(rate_malformed=1.0)) as url:
        contents = [chat(http, url, [user_message()]).json()["choices"][0]["message"]["content"] for _ in range(2)]
    for content in contents:
        with pytest.raises(json.JSONDecodeError):
            json.loads(content)
    assert "\\(" in contents[0]
    assert not contents[1].endswith("}")


def test_schema_violations_miss_a_field_or_change_its_type(http: httpx.Client) -> None:
    with running_server(DevServerConfig(rate_schema_violation=1.0)) as url:
        missing = answer_of(chat(http, url, [user_message("tldr, method")]))
        wrong_type = answer_of(chat(http, url, [user_message("tldr, method")]))
    assert list(missing) == ["tldr"]
    assert isinstance(wrong_type["method"], list)


def test_timeouts_hang_then_close(http: httpx.Client) -> None:
    with running_server(DevServerConfig(rate_timeout=1.0, hang=0.3)) as url:
        with pytest.raises(httpx.ReadTimeout):
            chat(http, url, [user_message()], timeout=0.1)
        with pytest.raises(httpx.RemoteProtocolError):
            chat(http, url, [user_message()], timeout=5.0)
        assert fetch_stats(url)["outcomes"]["timeout"] == 2


def test_concurrency_cap_makes_extra_requests_wait() -> None:
    async def burst(url: str) -> float:
        async with httpx.AsyncClient(timeout=10) as client:
            body = {"model": "m", "messages": [user_message()]}
            start = time.perf_counter()
            await asyncio.gather(*(client.post(f"{url}/chat/completions", json=body) for _ in range(6)))
            return time.perf_counter() - start

    with running_server(DevServerConfig(latency=0.1, max_concurrency=2)) as url:
        elapsed = asyncio.run(burst(url))
        stats = fetch_stats(url)
    assert stats["max_in_flight"] == 2
    assert elapsed >= 0.3


def test_counters_and_models_endpoint(http: httpx.Client) -> None:
    with running_server(DevServerConfig(model="dev-model")) as url:
        chat(http, url, [user_message()])
        bad = http.post(f"{url}/chat/completions", content=b"{not json", timeout=5)
        models = http.get(f"{url}/models", timeout=5).json()
        stats = http.get(url.removesuffix("/v1") + "/_stats", timeout=5).json()
    assert bad.status_code == 400
    assert models["data"][0]["id"] == "dev-model"
    assert stats["total"] == 2
    assert stats["outcomes"]["ok"] == 1 and stats["outcomes"]["bad_request"] == 1


def test_usage_reports_the_cached_prefix(http: httpx.Client) -> None:
    system = {"role": "system", "content": "Shared instructions. " * 40}
    with running_server() as url:
        first = chat(http, url, [system, user_message()]).json()["usage"]
        again = chat(http, url, [system, user_message()]).json()["usage"]
        other = chat(http, url, [system, user_message(title="Another title")]).json()["usage"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    assert again["prompt_tokens_details"]["cached_tokens"] == again["prompt_tokens"]
    assert 0 < other["prompt_tokens_details"]["cached_tokens"] < other["prompt_tokens"]
    assert first["completion_tokens"] > 0


def test_the_openai_sdk_talks_to_it() -> None:
    async def call(url: str) -> str:
        async with httpx.AsyncClient() as http:
            # openai types http_client as httpx2's but accepts httpx's (it checks both).
            client = openai.AsyncOpenAI(
                base_url=url,
                api_key="x",
                http_client=http,  # type: ignore[arg-type]
                max_retries=0,
            )
            completion = await client.chat.completions.create(
                model="m",
                messages=[cast(ChatCompletionMessageParam, user_message("tldr"))],
                response_format={"type": "json_object"},
            )
        return completion.choices[0].message.content or ""

    with running_server() as url:
        assert "tldr" in json.loads(asyncio.run(call(url)))


def test_cli_flags_build_the_config() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(
        parser.parse_args(
            [
                "--latency",
                "200ms",
                "--jitter",
                "0.05",
                "--rate-500",
                "0.1",
                "--no-json-schema",
                "--max-concurrency",
                "4",
                "--seed",
                "3",
            ]
        )
    )
    assert (config.latency, config.jitter, config.rate_500) == (0.2, 0.05, 0.1)
    assert (config.json_schema, config.max_concurrency, config.seed) == (False, 4, 3)


def test_durations_and_rates_are_checked() -> None:
    assert parse_duration("1.5s") == 1.5 and parse_duration("2") == 2.0
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration("fast")
    with pytest.raises(ValueError):
        DevServerConfig(rate_500=0.7, rate_429=0.5)
