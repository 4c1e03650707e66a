"""The devserver's classifiable faults, through the official ``openai`` SDK as the tool sees them."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion
from test_devserver import ABSTRACT, TITLE, user_message

from pipeline.contracts import Example, PaperRequest, Problem
from pipeline.devserver.config import add_arguments, config_from_args
from pipeline.devserver.faults import QUOTA_MESSAGE
from pipeline.devserver.server import DevServerConfig, fetch_stats, running_server
from pipeline.generate.prompt import build_messages, build_reask_messages, load_prompts
from pipeline.validate.validator import Validator

KEY = "sk-devserver-test-0123456789abcdef"
FIELDS = ("tldr", "method")
EXAMPLE = Example(
    title="Other paper",
    fields={"tldr": "本文提出了OtherNet，在7个数据集上取得81.2%的准确率。", "method": "作者利用GraphX构建了OtherNet。"},
)
PAPER = PaperRequest("2601.00001", TITLE, ABSTRACT, FIELDS, "Chinese", (EXAMPLE,))


@contextlib.contextmanager
def serving(config: DevServerConfig | None = None) -> Iterator[tuple[str, openai.OpenAI]]:
    """A server with this config and an SDK client of it, as the tool builds one (no retries)."""
    with (
        running_server(config or DevServerConfig()) as url,
        openai.OpenAI(base_url=url, api_key=KEY, max_retries=0) as client,
    ):
        yield url, client


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, openai.OpenAI]]:
    """``serving`` the test's config (see ``configured``)."""
    with serving(getattr(request, "param", None)) as pair:
        yield pair


def ask(client: openai.OpenAI, messages: list[dict[str, str]] | None = None, **extra: Any) -> ChatCompletion:
    return client.chat.completions.create(
        model=extra.pop("model", "m"),
        messages=cast(Any, messages or [user_message("tldr, method")]),
        **extra,
    )


def configured(**values: Any) -> Any:
    """``served`` parametrised with one config."""
    return pytest.mark.parametrize("served", [DevServerConfig(**values)], indirect=True)


@configured(models=("small", "large"))
def test_unknown_models_get_openai_404(served: tuple[str, openai.OpenAI]) -> None:
    url, client = served
    with pytest.raises(openai.NotFoundError) as chat_error:
        ask(client, model="gpt-9")
    with pytest.raises(openai.NotFoundError) as embed_error:
        client.embeddings.create(model="gpt-9", input="text")
    assert chat_error.value.status_code == embed_error.value.status_code == 404
    assert chat_error.value.code == "model_not_found"
    assert chat_error.value.body == {
        "message": "The model `gpt-9` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }
    assert ask(client, model="large").choices[0].finish_reason == "stop"
    assert [model.id for model in client.models.list()] == ["small", "large"]
    assert fetch_stats(url)["outcomes"]["model_not_found"] == 1


@configured(quota_exhausted=True)
def test_exhausted_quota_is_a_429_without_retry_after(served: tuple[str, openai.OpenAI]) -> None:
    url, client = served
    with pytest.raises(openai.RateLimitError) as error:
        ask(client)
    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model="m", input="text")
    assert error.value.status_code == 429 and error.value.code == "insufficient_quota"
    assert error.value.body == {
        "message": QUOTA_MESSAGE,
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
    assert "retry-after" not in error.value.response.headers
    assert "retry-after-ms" not in error.value.response.headers
    assert client.models.list().data  # listing needs no credit
    stats = fetch_stats(url)
    assert stats["outcomes"]["quota_exhausted"] == 1 and stats["rejected"]["quota_exhausted"] == 2


@configured(api_key=KEY)
def test_a_wrong_key_gets_openai_401_with_the_key_masked(served: tuple[str, openai.OpenAI]) -> None:
    url, client = served
    wrong = "sk-wrong-key-abcdefghijklmnop"
    with (
        openai.OpenAI(base_url=url, api_key=wrong, max_retries=0) as intruder,
        pytest.raises(openai.AuthenticationError) as error,
    ):
        ask(intruder)
    assert error.value.status_code == 401 and error.value.code == "invalid_api_key"
    message = cast(dict[str, Any], error.value.body)["message"]
    assert message.startswith("Incorrect API key provided: sk-wrong********") and wrong not in message
    assert ask(client).choices[0].message.content  # the right key
    no_key = httpx.post(f"{url}/chat/completions", json={"model": "m", "messages": [user_message()]}, timeout=5)
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] is None
    assert httpx.get(f"{url}/models", timeout=5).status_code == 401
    assert fetch_stats(url)["rejected"]["unauthorized"] == 3


def _prompt_tokens(client: openai.OpenAI) -> int:
    usage = ask(client).usage
    assert usage is not None
    return usage.prompt_tokens


def test_over_long_prompts_get_openai_context_length_exceeded() -> None:
    with serving() as (_, client):
        prompt = _prompt_tokens(client)
    limit = prompt + 100
    with serving(DevServerConfig(context_length=limit)) as (url, client):
        with pytest.raises(openai.BadRequestError) as with_max:
            ask(client, max_tokens=200)
        assert ask(client, max_tokens=100).choices[0].finish_reason == "stop"  # exactly fits
        long = [user_message("tldr, method", abstract=ABSTRACT * 20)]
        with pytest.raises(openai.BadRequestError) as without_max:
            ask(client, long)
        assert fetch_stats(url)["outcomes"]["context_length_exceeded"] == 2
    assert with_max.value.code == "context_length_exceeded"
    assert with_max.value.body == {
        "message": f"This model's maximum context length is {limit} tokens. However, you requested "
        f"{prompt + 200} tokens ({prompt} in the messages, 200 in the completion). "
        "Please reduce the length of the messages or completion.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
    message = cast(dict[str, Any], without_max.value.body)["message"]
    assert re.fullmatch(
        rf"This model's maximum context length is {limit} tokens\. However, your messages resulted in "
        r"\d+ tokens\. Please reduce the length of the messages\.",
        message,
    )


def test_llamacpp_style_refuses_a_full_context_and_cuts_an_answer_without_room() -> None:
    with serving() as (_, client):
        prompt = _prompt_tokens(client)
    config = DevServerConfig(context_length=prompt, context_style="llamacpp")
    with serving(config) as (_, client), pytest.raises(openai.BadRequestError) as refused:
        ask(client, max_tokens=10)
    assert refused.value.status_code == 400
    assert refused.value.response.json() == {
        "error": {
            "code": 400,
            "message": f"request ({prompt} tokens) exceeds the available context size ({prompt} tokens), "
            "try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": prompt,
            "n_ctx": prompt,
        }
    }
    config = DevServerConfig(context_length=prompt + 10, context_style="llamacpp")
    with serving(config) as (url, client):
        cut = ask(client, max_tokens=1000)  # llama.cpp takes it, then runs out of context
        assert fetch_stats(url)["outcomes"]["context_truncated"] == 1
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens <= 10


@configured(rate_length=1.0)
def test_length_faults_cut_the_answer_mid_json(served: tuple[str, openai.OpenAI]) -> None:
    url, client = served
    choice = ask(client).choices[0]
    assert choice.finish_reason == "length"
    content = choice.message.content or ""
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    with serving() as (_, plain):
        whole = ask(plain).choices[0].message.content or ""
    assert whole.startswith(content) and len(content) < len(whole)
    assert fetch_stats(url)["outcomes"]["length"] == 1


@configured(reask_copy=True)
def test_reasks_are_answered_with_the_previous_answer(served: tuple[str, openai.OpenAI]) -> None:
    """The re-ask does not show the rejected text; the server remembers what it said."""
    url, client = served
    prompts = load_prompts()
    first = json.loads(ask(client, build_messages(PAPER, prompts, 1)).choices[0].message.content or "")
    assert Validator().check_request(PAPER, first) == []  # a first ask is answered normally
    narrowed = replace(PAPER, fields=("tldr",))
    reask = build_reask_messages(narrowed, prompts, 1, [Problem("length", "tldr", "too short")], {})
    assert json.loads(ask(client, reask).choices[0].message.content or "") == {"tldr": first["tldr"]}
    outcomes = fetch_stats(url)["outcomes"]
    assert (outcomes["reask_copied"], outcomes["ok"]) == (1, 1)


@configured(rate_leak=1.0)
def test_leaks_describe_the_first_example_paper(served: tuple[str, openai.OpenAI]) -> None:
    url, client = served
    prompts = load_prompts()
    leaked = json.loads(ask(client, build_messages(PAPER, prompts, 1)).choices[0].message.content or "")
    assert leaked == dict(EXAMPLE.fields)
    assert Validator().check_request(PAPER, leaked)  # grounding catches the numbers and names of the other paper
    alone = json.loads(ask(client, build_messages(PAPER, prompts, 0)).choices[0].message.content or "")
    assert "SparQ-Lite" in alone["tldr"]  # without an example there is nothing to leak
    outcomes = fetch_stats(url)["outcomes"]
    assert (outcomes["leaked"], outcomes["ok"]) == (1, 1)


def _finishes(config: DevServerConfig, count: int) -> list[str]:
    with serving(config) as (_, client):
        messages = build_messages(PAPER, load_prompts(), 1)
        return [ask(client, messages).choices[0].message.content or "" for _ in range(count)]


def test_new_faults_are_seeded_and_reproducible() -> None:
    config = DevServerConfig(rate_length=0.3, rate_leak=0.3, seed=11)
    first = _finishes(config, 24)
    assert first == _finishes(config, 24)
    assert len(set(first)) == 3  # normal, cut and leaked answers all occur
    assert first != _finishes(DevServerConfig(rate_length=0.3, rate_leak=0.3, seed=12), 24)


def test_the_new_flags_build_the_config() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = (
        "--models a,b --api-key k --quota-exhausted --context-length 4096 --context-style llamacpp "
        "--rate-length 0.1 --rate-leak 0.2 --reask-copy --no-batch --batch-delay 2s --batch-error-rate 0.3 "
        "--batch-expire --batch-max-bytes 1000 --batch-max-requests 10"
    )
    config = config_from_args(parser.parse_args(flags.split()))
    assert (config.models, config.api_key, config.quota_exhausted) == (("a", "b"), "k", True)
    assert (config.context_length, config.context_style) == (4096, "llamacpp")
    assert (config.rate_length, config.rate_leak, config.reask_copy) == (0.1, 0.2, True)
    assert (config.batch_api, config.batch_delay, config.batch_error_rate, config.batch_expire) == (
        False,
        2.0,
        0.3,
        True,
    )
    assert (config.batch_max_bytes, config.batch_max_requests) == (1000, 10)
    assert config_from_args(parser.parse_args([])) == DevServerConfig(port=8000)
    with pytest.raises(ValueError):
        DevServerConfig(batch_error_rate=0.6, rate_malformed=0.5)
    with pytest.raises(ValueError):
        DevServerConfig(context_style="vllm")
