"""The provider against a respx server: the fault matrix, one test per row.

Every row asserts the outcome and how many HTTP calls it took.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping

import httpx
import pytest
import respx
from llm_fakes import (
    COMPLETIONS,
    GOOD,
    SECRET,
    RejectFirst,
    accept_all,
    completion,
    error,
    make_provider,
    paper,
    request_body,
    settings,
)

from pipeline.contracts import Generation, PaperRequest, Problem, Provider, Validate
from pipeline.errors import Aborted, FatalLLMError, GenerationFailed
from pipeline.generate.openai_provider import OpenAIProvider
from pipeline.generate.schema import restricted_schema

TWO = {name: GOOD[name] for name in ("tldr", "method")}


@pytest.fixture
def route() -> Iterator[respx.Route]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router.post(COMPLETIONS)


def generate(
    *requests: PaperRequest,
    validate: Validate = accept_all,
    flags: Mapping[str, object] | None = None,
) -> list[Generation | Exception]:
    """Run ``requests`` one after another through one provider; errors are returned."""
    provider, _, client = make_provider(**(flags or {}))

    async def go() -> list[Generation | Exception]:
        outcomes: list[Generation | Exception] = []
        for request in requests or (paper(),):
            try:
                outcomes.append(await provider.generate(request, validate))
            except Exception as exc:  # noqa: BLE001 - the tests inspect it
                outcomes.append(exc)
        await client.aclose()
        return outcomes

    return asyncio.run(go())


def one(**flags: object) -> Generation:
    [outcome] = generate(flags=flags)
    assert isinstance(outcome, Generation), outcome
    return outcome


def failure(**flags: object) -> GenerationFailed:
    [outcome] = generate(flags=flags)
    assert isinstance(outcome, GenerationFailed), outcome
    return outcome


def test_provider_satisfies_the_contract() -> None:
    provider, _, _ = make_provider()
    checked: Provider = provider
    assert checked.name == "openai"


# --- the fault matrix -------------------------------------------------------------------


def test_429_with_retry_after_then_success(route: respx.Route) -> None:
    route.mock(side_effect=[error(429, "rate limited", {"retry-after": "3"}), completion(answer=TWO)])
    provider, sleep, client = make_provider()
    result = asyncio.run(provider.generate(paper(), accept_all))
    asyncio.run(client.aclose())
    assert result.fields == TWO
    assert route.call_count == 2 and result.attempts == 2
    assert sleep.delays == [3.0]


def test_500_then_success(route: respx.Route) -> None:
    route.mock(side_effect=[error(500, "internal"), completion(answer=TWO)])
    assert one().fields == TWO
    assert route.call_count == 2


def test_timeout_then_success(route: respx.Route) -> None:
    route.mock(side_effect=[httpx.ReadTimeout("timed out"), completion(answer=TWO)])
    assert one().attempts == 2
    assert route.call_count == 2


def test_connection_reset_then_success(route: respx.Route) -> None:
    route.mock(
        side_effect=[
            httpx.ReadError("[Errno 104] Connection reset by peer"),
            completion(answer=TWO),
        ]
    )
    assert one().fields == TWO
    assert route.call_count == 2


def test_401_stops_the_run_after_one_call(route: respx.Route) -> None:
    route.mock(return_value=error(401, f"Incorrect API key provided: {SECRET}"))
    first, second = generate(paper(id="a"), paper(id="b"))
    assert isinstance(first, FatalLLMError)
    assert isinstance(second, Aborted)  # the key is known bad: no other paper may use it
    assert route.call_count == 1
    assert SECRET not in str(first) and SECRET not in str(second)


def test_400_on_json_schema_falls_back_and_later_papers_skip_it(route: respx.Route) -> None:
    route.mock(
        side_effect=[
            error(400, "This response_format type is unavailable now"),
            completion(answer=TWO),
            completion(answer=TWO),
        ]
    )
    first, second = generate(paper(id="a"), paper(id="b"))
    assert isinstance(first, Generation) and isinstance(second, Generation)
    assert (first.mode, second.mode) == ("json_object", "json_object")
    assert (first.attempts, second.attempts) == (2, 1)
    assert route.call_count == 3
    formats = [request_body(call)["response_format"]["type"] for call in route.calls]
    assert formats == ["json_schema", "json_object", "json_object"]


def test_invalid_json_with_latex_backslashes_is_decoded(route: respx.Route) -> None:
    raw = (
        '```json\n{"tldr": "在$\\rho \\geq 0.9$时，$\\alpha \\times \\beta$的\\frac{1}{2}成立。", '
        '"method": "使用\\nabla 梯度与\\text{HSS}分解进行压缩。"}\n```'
    )
    route.mock(return_value=completion(raw))
    result = one()
    assert result.fields["tldr"] == "在$\\rho \\geq 0.9$时，$\\alpha \\times \\beta$的\\frac{1}{2}成立。"
    assert result.fields["method"] == "使用\\nabla 梯度与\\text{HSS}分解进行压缩。"
    assert route.call_count == 1 and result.reasks == 0


def test_missing_field_is_reasked_then_succeeds(route: respx.Route) -> None:
    route.mock(side_effect=[completion(answer={"tldr": GOOD["tldr"]}), completion(answer=TWO)])
    result = one()
    assert result.fields == TWO and result.reasks == 1
    assert route.call_count == 2
    reask = request_body(route.calls[1])["messages"][-1]["content"]
    assert "the field 'method' is missing" in reask
    assert "Fields to write: tldr, method" in reask  # an answer of the wrong shape is asked again whole
    assert GOOD["tldr"] not in reask  # rejected text is never shown: small models copy it back


def test_extra_field_is_reasked_then_succeeds(route: respx.Route) -> None:
    route.mock(side_effect=[completion(answer=GOOD), completion(answer=TWO)])
    result = one()
    assert result.fields == TWO and result.reasks == 1
    assert route.call_count == 2
    assert "'result' was not requested" in request_body(route.calls[1])["messages"][-1]["content"]


def test_wrong_type_is_reasked_then_succeeds(route: respx.Route) -> None:
    route.mock(side_effect=[completion(answer={**TWO, "method": ["a", "b"]}), completion(answer=TWO)])
    result = one()
    assert result.fields == TWO and result.reasks == 1
    assert route.call_count == 2


def test_finish_reason_length_retries_once_with_more_tokens(route: respx.Route) -> None:
    cut = completion('{"tldr": "被截', finish_reason="length", completion_tokens=500)  # max_tokens ran out
    route.mock(side_effect=[cut, completion(answer=TWO)])
    result = one(max_tokens=500)
    assert result.fields == TWO and result.reasks == 0
    assert route.call_count == 2
    assert [request_body(c)["max_tokens"] for c in route.calls] == [500, 1000]


def test_finish_reason_length_twice_gives_up(route: respx.Route) -> None:
    route.mock(return_value=completion('{"tldr": "被截', finish_reason="length", completion_tokens=4096))
    failed = failure()
    assert failed.reasons == ["length"]
    assert route.call_count == 2 and failed.attempts == 2


def test_refusal_fails_with_its_reason(route: respx.Route) -> None:
    route.mock(return_value=completion(None, refusal="I can't help with that."))
    failed = failure()
    assert failed.reasons == ["refusal"]
    assert "I can't help with that." in str(failed)
    assert route.call_count == 1


def test_content_filter_fails_with_its_reason(route: respx.Route) -> None:
    route.mock(return_value=completion("", finish_reason="content_filter"))
    failed = failure()
    assert failed.reasons == ["content_filter"]
    assert route.call_count == 1


def test_empty_choices_are_retried(route: respx.Route) -> None:
    route.mock(side_effect=[completion(choices=False), completion(answer=TWO)])
    assert one().fields == TWO
    assert route.call_count == 2


def test_always_failing_server_gives_up_after_the_configured_attempts(route: respx.Route) -> None:
    route.mock(side_effect=[error(502, "bad gateway"), error(503, "overloaded"), error(500, "last straw")])
    failed = failure(attempts=3)
    assert route.call_count == 3
    assert failed.attempts == 3
    assert failed.reasons == ["transient"]
    assert "last straw" in str(failed)


# --- provider quirks --------------------------------------------------------------------


def test_deepseek_blank_content_with_stop_is_retried(route: respx.Route) -> None:
    route.mock(side_effect=[completion("   ", finish_reason="stop"), completion(answer=TWO)])
    assert one().fields == TWO
    assert route.call_count == 2


def test_reasoning_only_answer_is_retried_and_extra_body_is_sent(route: respx.Route) -> None:
    route.mock(side_effect=[completion(None, reasoning="thinking..."), completion(answer=TWO)])
    result = one(extra_body={"thinking": {"type": "disabled"}})
    assert result.fields == TWO
    assert route.call_count == 2
    assert request_body(route.calls[0])["thinking"] == {"type": "disabled"}


def test_json_object_mode_prompt_contains_json(route: respx.Route) -> None:
    route.mock(return_value=completion(answer=TWO))
    one(response_format="json_object")
    body = request_body(route.calls[0])
    assert body["response_format"] == {"type": "json_object"}
    assert any("json" in m["content"].lower() for m in body["messages"])


# --- validation, re-asks, accounting ----------------------------------------------------


def test_validator_problems_reask_only_the_fields_that_have_them(route: respx.Route) -> None:
    fixed = {"tldr": "提出HSS压缩方法，在LLaMA-7B上取得1.64的困惑度。"}
    route.mock(side_effect=[completion(answer=TWO), completion(answer=fixed)])
    validate = RejectFirst()
    [result] = generate(validate=validate)
    assert isinstance(result, Generation) and result.reasks == 1
    assert result.fields == {**TWO, **fixed}  # the accepted method is kept
    assert validate.seen == [TWO, {**TWO, **fixed}]  # the whole answer is checked again
    second = request_body(route.calls[1])
    reask = second["messages"][-1]["content"]
    assert "- tldr: 1.65 does not occur" in reask and "Fields to write: tldr" in reask.splitlines()
    assert f"- method: {TWO['method']}" in reask  # accepted: shown so that it is not repeated
    assert TWO["tldr"] not in reask  # the rejected text is not shown
    assert list(second["response_format"]["json_schema"]["schema"]["properties"]) == ["tldr"]


def test_a_reask_answer_that_copies_the_rejected_text_ends_the_paper_at_once(route: respx.Route) -> None:
    """A small model asked again often sends the same answer: no use asking a third time."""
    route.mock(side_effect=[completion(answer=TWO), completion(answer={"tldr": TWO["tldr"]})])

    async def always(request: PaperRequest, fields: Mapping[str, str]) -> list[Problem]:
        return [Problem("numbers", "tldr", "1.65 does not occur in the abstract")]

    [failed] = generate(validate=always, flags={"max_reasks": 4})
    assert isinstance(failed, GenerationFailed)
    assert route.call_count == 2 and failed.reasks == 1
    assert failed.reasons == ["numbers", "copied_back"] and "repeats the rejected text (similarity 1.00)" in str(failed)


def test_reasks_are_bounded_and_the_failure_carries_the_last_output(route: respx.Route) -> None:
    route.mock(return_value=completion(answer={"tldr": "短"}))
    failed = failure(max_reasks=2)
    assert route.call_count == 3
    assert (failed.attempts, failed.reasks) == (3, 2)
    assert failed.reasons == ["missing_field", "too_short"]
    assert failed.last_output == '{"tldr": "短"}'
    assert failed.usage["prompt_tokens"] == 300


def test_schema_runs_before_the_validator(route: respx.Route) -> None:
    route.mock(side_effect=[completion("not json at all"), completion(answer=TWO)])
    seen: list[dict[str, str]] = []

    async def validate(request: PaperRequest, fields: object) -> list[Problem]:
        seen.append(dict(fields))  # type: ignore[call-overload]
        return []

    [result] = generate(validate=validate)
    assert isinstance(result, Generation)
    assert seen == [TWO]
    assert "invalid_json" not in request_body(route.calls[1])["messages"][-1]["content"]
    assert "no JSON object" in request_body(route.calls[1])["messages"][-1]["content"]


def test_request_body_has_model_paper_and_restricted_schema(route: respx.Route) -> None:
    route.mock(return_value=completion(answer=TWO))
    request = paper(fields=("tldr", "method"))
    one()
    body = request_body(route.calls[0])
    assert body["model"] == "test-model"
    last = body["messages"][-1]["content"]
    assert f"<title>{request.title}</title>" in last
    assert f"<abstract>{request.abstract}</abstract>" in last
    assert body["response_format"]["json_schema"]["schema"] == restricted_schema(("tldr", "method"))


def test_generation_accounting(route: respx.Route) -> None:
    route.mock(side_effect=[error(500, "x"), completion(answer=TWO, cached=64)])
    ticks = iter([10.0, 12.5])
    _, _, client = make_provider()
    provider = OpenAIProvider(client, settings(), clock=lambda: next(ticks))
    result = asyncio.run(provider.generate(paper(), accept_all))
    asyncio.run(client.aclose())
    assert result.provider == "openai"
    assert result.model == "test-model-2026"
    assert result.prompt_version == provider.prompt_version == "summary-v3"
    assert result.mode == "json_schema"
    assert (result.attempts, result.reasks, result.latency_s) == (2, 0, 2.5)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (100, 20)
    assert result.usage.cached_tokens == 64


def test_no_key_in_logs_or_exceptions(route: respx.Route, caplog: pytest.LogCaptureFixture) -> None:
    route.mock(side_effect=[error(500, f"key {SECRET} leaked"), error(403, f"{SECRET} forbidden")])
    with caplog.at_level(logging.DEBUG):
        [outcome] = generate()
    assert isinstance(outcome, FatalLLMError)
    assert SECRET not in caplog.text
    assert SECRET not in str(outcome) and SECRET not in repr(outcome)
    assert any(r.name == "pipeline.llm" for r in caplog.records)
