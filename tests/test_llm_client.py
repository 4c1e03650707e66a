"""The SDK wrapper: settings, error mapping, transport, response modes, retries."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import respx
from llm_fakes import (
    BASE_URL,
    COMPLETIONS,
    SECRET,
    SleepRecorder,
    completion,
    error,
    request_body,
    settings,
)

from pipeline.errors import (
    AuthError,
    ConnectFailed,
    EndpointNotFound,
    LLMError,
    ModelNotFound,
    QuotaExhausted,
    RequestTimedOut,
    ResponseFormatRejected,
    TransientLLMError,
    UsageError,
)
from pipeline.generate.client import (
    CallTally,
    Completion,
    LLMClient,
    ResponseMode,
    build_sdk_client,
    map_sdk_error,
    retry_after,
)
from pipeline.generate.schema import restricted_schema
from pipeline.generate.settings import DEFAULT_MODEL, ENVIRONMENT, LLMSettings, build_settings

MESSAGES = [{"role": "system", "content": "Answer in json."}, {"role": "user", "content": "hi"}]
SCHEMA = restricted_schema(("tldr",))


@pytest.fixture
def route() -> Iterator[respx.Route]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router.post(COMPLETIONS)


def complete(client: LLMClient, tally: CallTally | None = None) -> Completion:
    """One completion through ``client``, closing its connection pool afterwards."""

    async def go() -> Completion:
        try:
            return await client.complete(MESSAGES, SCHEMA, max_tokens=100, tally=tally or CallTally("p1"))
        finally:
            await client.aclose()

    return asyncio.run(go())


def make_client(**flags: object) -> tuple[LLMClient, SleepRecorder]:
    sleep = SleepRecorder()
    return LLMClient.from_settings(settings(**flags), sleep=sleep), sleep


# --- settings ---------------------------------------------------------------------------


def test_flag_beats_environment_beats_default() -> None:
    environ = {"MODEL_NAME": "env-model", "DIGEST_REPAIR_ATTEMPTS": "7"}
    built = build_settings({"model": "flag-model", "attempts": None}, environ=environ)
    assert (built.model, built.attempts) == ("flag-model", 7)
    assert build_settings({}, environ={}).model == DEFAULT_MODEL


def test_environment_is_read_when_settings_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://deepseek.test")
    monkeypatch.setenv("DIGEST_REPAIR_EXTRA_BODY", '{"thinking": {"type": "disabled"}}')
    built = build_settings()
    assert built.base_url == "https://deepseek.test"
    assert built.extra_body == {"thinking": {"type": "disabled"}}


@pytest.mark.parametrize(
    ("flags", "environ"),
    [
        ({"response_format": "xml"}, {}),
        ({"attempts": 0}, {}),
        ({}, {"DIGEST_REPAIR_TIMEOUT": "soon"}),
        ({}, {"DIGEST_REPAIR_EXTRA_BODY": "[1]"}),
        ({"colour": "blue"}, {}),
    ],
)
def test_bad_settings_are_usage_errors(flags: dict[str, Any], environ: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        build_settings(flags, environ=environ)


def test_every_environment_variable_names_a_setting() -> None:
    assert set(ENVIRONMENT) <= set(LLMSettings.__dataclass_fields__)


def test_the_key_never_appears_in_settings_repr() -> None:
    built = build_settings({}, environ={"OPENAI_API_KEY": SECRET})
    assert built.api_key == SECRET
    assert SECRET not in repr(built) and SECRET not in str(built)


def test_a_missing_key_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        build_sdk_client(build_settings({}, environ={}))


# --- transport --------------------------------------------------------------------------


def test_requests_go_through_the_legacy_httpx_client_respx_sees(route: respx.Route) -> None:
    route.mock(return_value=completion('{"tldr": "ok"}'))
    client, _ = make_client()
    result = complete(client)
    assert route.call_count == 1
    assert result.content == '{"tldr": "ok"}'
    sent = route.calls[0].request
    assert str(sent.url) == COMPLETIONS
    assert sent.headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(("concurrency", "shards", "size"), [(3, 1, 3), (8, 1, 8), (16, 2, 8), (32, 4, 8), (20, 3, 7)])
def test_connection_pools_are_sized_from_concurrency(concurrency: int, shards: int, size: int) -> None:
    sdk = build_sdk_client(settings(concurrency=concurrency))
    http_client: Any = sdk._client
    assert isinstance(http_client, httpx.AsyncClient)
    transport: Any = http_client._transport
    assert transport.shards == shards
    assert {shard._pool._max_connections for shard in transport._shards} == {size}
    assert sdk.max_retries == 0
    assert str(sdk.base_url).rstrip("/") == BASE_URL


def test_request_body_carries_model_messages_schema_and_extra_body(route: respx.Route) -> None:
    route.mock(return_value=completion('{"tldr": "ok"}'))
    client, _ = make_client(extra_body={"thinking": {"type": "disabled"}})
    complete(client)
    body = request_body(route.calls[0])
    assert body["model"] == "test-model"
    assert body["messages"] == MESSAGES
    assert body["max_tokens"] == 100
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "paper_summary", "strict": True, "schema": SCHEMA},
    }
    assert body["thinking"] == {"type": "disabled"}


# --- error mapping ----------------------------------------------------------------------


def _status_error(
    cls: type[openai.APIStatusError], status: int, message: str, code: str | None = None, **headers: str
) -> openai.APIStatusError:
    request = httpx.Request("POST", COMPLETIONS)
    response = httpx.Response(status, headers=headers, request=request)
    body = {"message": message, "code": code}
    return cls(f"Error code: {status}", response=response, body=body)  # type: ignore[arg-type]


def _connection_error(cause: Exception) -> openai.APIConnectionError:
    try:
        raise openai.APIConnectionError(request=httpx.Request("POST", COMPLETIONS))  # type: ignore[arg-type]
    except openai.APIConnectionError as exc:
        exc.__cause__ = cause
        return exc


@pytest.mark.parametrize(
    ("exc", "expected", "status"),
    [
        (_status_error(openai.AuthenticationError, 401, "bad key"), AuthError, 401),
        (_status_error(openai.PermissionDeniedError, 403, "no access"), AuthError, 403),
        (
            _status_error(openai.RateLimitError, 429, "You exceeded your quota", "insufficient_quota"),
            QuotaExhausted,
            429,
        ),
        (_status_error(openai.APIStatusError, 402, "Insufficient Balance"), QuotaExhausted, 402),
        (
            _status_error(openai.NotFoundError, 404, "The model `x` does not exist", "model_not_found"),
            ModelNotFound,
            404,
        ),
        (_status_error(openai.NotFoundError, 404, "Not Found"), EndpointNotFound, 404),
        (
            _status_error(openai.BadRequestError, 400, "This response_format type is unavailable now"),
            ResponseFormatRejected,
            400,
        ),
        (_status_error(openai.BadRequestError, 400, "messages too long"), LLMError, 400),
        (_status_error(openai.UnprocessableEntityError, 422, "bad"), LLMError, 422),
        (_status_error(openai.RateLimitError, 429, "slow down"), TransientLLMError, 429),
        (_status_error(openai.APIStatusError, 408, "request timeout"), TransientLLMError, 408),
        (_status_error(openai.ConflictError, 409, "conflict"), TransientLLMError, 409),
        (_status_error(openai.InternalServerError, 500, "oops"), TransientLLMError, 500),
        (_status_error(openai.InternalServerError, 503, "overloaded"), TransientLLMError, 503),
        (
            openai.APITimeoutError(request=httpx.Request("POST", COMPLETIONS)),  # type: ignore[arg-type]
            RequestTimedOut,
            None,
        ),
        (
            openai.APIConnectionError(request=httpx.Request("POST", COMPLETIONS)),  # type: ignore[arg-type]
            TransientLLMError,
            None,
        ),
        (_connection_error(httpx.ConnectError("[Errno 111] Connection refused")), ConnectFailed, None),
        (_connection_error(httpx.ReadError("connection reset by peer")), TransientLLMError, None),
        (openai.OpenAIError("something else"), LLMError, None),
    ],
)
def test_sdk_errors_map_to_ours(exc: openai.OpenAIError, expected: type[LLMError], status: int | None) -> None:
    mapped = map_sdk_error(exc, SECRET)
    assert type(mapped) is expected
    assert mapped.status == status


def test_rate_limit_carries_retry_after() -> None:
    exc = _status_error(openai.RateLimitError, 429, "slow", **{"retry-after": "7"})
    assert map_sdk_error(exc).retry_after == 7.0


def test_mapped_messages_never_contain_the_key() -> None:
    exc = _status_error(openai.AuthenticationError, 401, f"Incorrect API key provided: {SECRET}. Or sk-proj-ab**cd")
    text = str(map_sdk_error(exc, SECRET))
    assert SECRET not in text and "ab**cd" not in text
    assert "[redacted]" in text


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # in the past
        ({"retry-after": "whenever"}, None),
        ({}, None),
    ],
)
def test_retry_after_headers(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(httpx.Headers(headers)) == expected


def test_mapped_errors_keep_the_sdk_error_as_cause(route: respx.Route) -> None:
    route.mock(return_value=error(404, "no such model"))
    client, _ = make_client()
    with pytest.raises(LLMError) as caught:
        complete(client)
    assert isinstance(caught.value.__cause__, openai.NotFoundError)


# --- response modes ---------------------------------------------------------------------


def test_forced_mode_is_used_and_not_abandoned(route: respx.Route) -> None:
    route.mock(return_value=error(400, "response_format json_object is not supported"))
    client, _ = make_client(response_format="json_object")
    with pytest.raises(ResponseFormatRejected):
        complete(client)
    assert route.call_count == 1
    assert request_body(route.calls[0])["response_format"] == {"type": "json_object"}


def test_text_mode_sends_no_response_format(route: respx.Route) -> None:
    route.mock(return_value=completion('{"tldr": "ok"}'))
    client, _ = make_client(response_format="text")
    assert complete(client).mode is ResponseMode.TEXT
    assert "response_format" not in request_body(route.calls[0])


def test_fallback_walks_all_modes_and_is_remembered(route: respx.Route) -> None:
    rejected = error(400, "This response_format type is unavailable now")
    route.mock(side_effect=[rejected, rejected, completion("{}"), completion("{}")])
    client, _ = make_client()

    async def two_papers() -> list[Completion]:
        first = await client.complete(MESSAGES, SCHEMA, max_tokens=9, tally=CallTally("a"))
        second = await client.complete(MESSAGES, SCHEMA, max_tokens=9, tally=CallTally("b"))
        await client.aclose()
        return [first, second]

    results = asyncio.run(two_papers())
    assert [r.mode for r in results] == [ResponseMode.TEXT, ResponseMode.TEXT]
    formats = [request_body(call).get("response_format", {}).get("type") for call in route.calls]
    assert formats == ["json_schema", "json_object", None, None]


def test_concurrent_papers_share_the_fallback(route: respx.Route) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        kind = request_body(request).get("response_format", {}).get("type")
        if kind == "json_schema":
            return error(400, "This response_format type is unavailable now")
        return completion('{"tldr": "ok"}')

    route.mock(side_effect=answer)
    client, _ = make_client()

    async def many() -> list[Completion]:
        calls = [client.complete(MESSAGES, SCHEMA, max_tokens=9, tally=CallTally(str(i))) for i in range(5)]
        results = await asyncio.gather(*calls)
        later = await client.complete(MESSAGES, SCHEMA, max_tokens=9, tally=CallTally("late"))
        await client.aclose()
        return [*results, later]

    results = asyncio.run(many())
    assert all(r.mode is ResponseMode.JSON_OBJECT for r in results)
    assert client.mode is ResponseMode.JSON_OBJECT
    # Five in flight may each meet the rejection once; the later paper never does.
    assert route.call_count <= 11
    assert request_body(route.calls[-1])["response_format"] == {"type": "json_object"}


# --- retries ----------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "delay"), [({"retry-after": "2"}, 2.0), ({"retry-after-ms": "1500"}, 1.5)])
def test_retry_after_is_honoured(route: respx.Route, headers: dict[str, str], delay: float) -> None:
    route.mock(side_effect=[error(429, "slow down", headers), completion("{}")])
    client, sleep = make_client()
    complete(client)
    assert route.call_count == 2
    assert sleep.delays == [delay]


def test_backoff_grows_exponentially_with_jitter(route: respx.Route) -> None:
    route.mock(return_value=error(503, "overloaded"))
    client, sleep = make_client(attempts=4, backoff_s=0.5, backoff_max_s=100)
    tally = CallTally("p")
    with pytest.raises(TransientLLMError, match="503"):
        complete(client, tally)
    assert route.call_count == 4 and tally.calls == 4
    assert len(sleep.delays) == 3
    for n, delay in enumerate(sleep.delays):
        assert 0.5 * 2**n <= delay <= 0.5 * 2**n + 0.5


def test_total_wait_budget_stops_retries(route: respx.Route) -> None:
    route.mock(return_value=error(429, "slow down", {"retry-after": "600"}))
    client, sleep = make_client(attempts=5, max_wait_s=60)
    with pytest.raises(TransientLLMError):
        complete(client)
    assert route.call_count == 1
    assert sleep.delays == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_no_retry_on_client_errors(route: respx.Route, status: int) -> None:
    route.mock(return_value=error(status, "no"))
    client, sleep = make_client()
    with pytest.raises(LLMError):
        complete(client)
    assert route.call_count == 1 and sleep.delays == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (completion(""), "empty_content"),
        (completion(None, reasoning='{"tldr": "only here"}'), "reasoning_only"),
        (completion(choices=False), "empty_choices"),
    ],
)
def test_empty_answers_are_retried_then_reported(route: respx.Route, answer: httpx.Response, reason: str) -> None:
    route.mock(return_value=answer)
    client, _ = make_client(attempts=2)
    with pytest.raises(TransientLLMError) as caught:
        complete(client)
    assert caught.value.reason == reason
    assert route.call_count == 2


def test_usage_and_calls_are_tallied_even_for_unusable_answers(route: respx.Route) -> None:
    route.mock(side_effect=[completion("", cached=10), completion("{}", cached=40)])
    client, _ = make_client()
    tally = CallTally("p")
    complete(client, tally)
    assert tally.calls == 2
    assert (tally.usage.prompt_tokens, tally.usage.completion_tokens) == (200, 40)
    assert tally.usage.cached_tokens == 50


def test_each_attempt_is_logged_without_the_key(route: respx.Route, caplog: pytest.LogCaptureFixture) -> None:
    route.mock(side_effect=[error(500, f"echo {SECRET}"), completion('{"tldr": "x"}')])
    client, _ = make_client()
    with caplog.at_level(logging.DEBUG):
        complete(client)
    attempts = [r for r in caplog.records if r.name == "pipeline.llm" and "call=" in r.getMessage()]
    assert {"call=1", "call=2"} <= {part for r in attempts for part in r.getMessage().split()}
    assert SECRET not in caplog.text


@pytest.mark.parametrize("bad", ["n/a", None, {"x": 1}, "NaN", -5, True])
def test_nonsense_token_counts_from_the_server_count_as_zero(route: respx.Route, bad: object) -> None:
    body = json.loads(completion('{"tldr": "ok"}').content)
    body["usage"] = {"prompt_tokens": bad, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": bad}}
    text = json.dumps(body).replace('"NaN"', "NaN")  # a bare NaN, as a sloppy server writes it
    route.mock(return_value=httpx.Response(200, content=text, headers={"content-type": "application/json"}))
    client, _ = make_client()
    tally = CallTally("p1")
    complete(client, tally)
    assert (tally.usage.prompt_tokens, tally.usage.completion_tokens, tally.usage.cached_tokens) == (0, 7, 0)


def test_a_key_straddling_the_length_cut_is_still_redacted() -> None:
    key = "gsk_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd"
    exc = _status_error(openai.AuthenticationError, 401, "x" * 280 + f" bad token {key}")
    text = str(map_sdk_error(exc, key))
    assert key[:12] not in text


def test_a_model_unavailable_is_not_a_response_format_rejection() -> None:
    exc = _status_error(openai.BadRequestError, 400, "The model foo is temporarily unavailable in your region")
    assert type(map_sdk_error(exc)) is LLMError
    exc = _status_error(openai.BadRequestError, 400, "This response_format type is unavailable now")
    assert type(map_sdk_error(exc)) is ResponseFormatRejected


@pytest.mark.parametrize("value", ["nan", "inf", "-3", "soon"])
def test_retry_after_that_is_not_a_finite_wait_is_ignored_or_clamped(value: str) -> None:
    seconds = retry_after({"retry-after": value})
    assert seconds is None or seconds == 0.0
