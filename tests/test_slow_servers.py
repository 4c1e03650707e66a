"""A real model on a small server: slow, short of context. What the client does about it.

Measured with llama.cpp on 2 CPU cores (README, "A rehearsal with a local model"): a
request that timed out times out again while the server keeps computing it, and a prompt
that fills the context cannot be helped by a larger ``max_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import respx
from llm_fakes import COMPLETIONS, completion
from test_openai_provider import failure, generate

from pipeline.contracts import PaperRequest, Problem
from pipeline.errors import GenerationFailed

LLAMA_CPP_CONTEXT_ERROR = {
    "error": {
        "code": 400,
        "message": "request (9760 tokens) exceeds the available context size (8192 tokens), try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 9760,
        "n_ctx": 8192,
    }
}
OPENAI_CONTEXT_ERROR = {
    "error": {
        "message": "This model's maximum context length is 8192 tokens. However, you requested 9760 tokens.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


def test_a_timed_out_request_is_sent_once_more_only() -> None:
    with respx.mock() as mock:
        route = mock.post(COMPLETIONS).mock(side_effect=httpx.ReadTimeout("timed out"))
        failed = failure(attempts=6)
    assert route.call_count == 2 and failed.reasons == ["transient"]
    assert "timed out" in str(failed)


def test_a_context_length_error_is_reported_as_such_and_not_retried() -> None:
    for body in (LLAMA_CPP_CONTEXT_ERROR, OPENAI_CONTEXT_ERROR):
        with respx.mock() as mock:
            route = mock.post(COMPLETIONS).mock(return_value=httpx.Response(400, json=body))
            failed = failure()
        assert route.call_count == 1 and failed.reasons == ["context_length"]
        assert "--examples" in str(failed)


def test_an_answer_cut_by_a_full_context_is_not_asked_again_with_more_tokens() -> None:
    """finish_reason "length" after 300 of 2048 allowed tokens: the context, not max_tokens, ran out."""
    cut = completion('{"tldr": "被截', finish_reason="length", completion_tokens=300)
    with respx.mock() as mock:
        route = mock.post(COMPLETIONS).mock(return_value=cut)
        failed = failure()
    assert route.call_count == 1 and failed.reasons == ["context_length"]
    assert "cut after 300 tokens although 2048 were allowed" in str(failed)


def test_a_failed_paper_keeps_its_answer_latency_and_mode() -> None:
    async def reject(request: PaperRequest, fields: Mapping[str, str]) -> list[Problem]:
        return [Problem("numbers", "tldr", "tldr states 99.9%, not found in the abstract")]

    with respx.mock() as mock:
        answer = {"tldr": "本文的方法将准确率提升到了99.9%。", "method": "作者设计了一种新的压缩方法并加以验证。"}
        mock.post(COMPLETIONS).mock(return_value=completion(answer=answer))
        [outcome] = generate(validate=reject, flags={"max_reasks": 0})
    assert isinstance(outcome, GenerationFailed) and outcome.reasons == ["numbers"] and outcome.answered
    assert outcome.last_output and "99.9%" in outcome.last_output
    assert outcome.latency_s > 0 and outcome.mode == "json_schema"
