"""The provider: ask for one paper's fields, check the answer, re-ask until it is usable.

Transport failures are retried inside ``LLMClient``; this loop reacts to the *content*:
a truncated answer is asked again with more room, an invalid one is re-asked with its
problems, a refusal is final. Every outcome carries the accounting reports need.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from difflib import SequenceMatcher
from types import MappingProxyType
from typing import Any

from ..contracts import Generation, PaperRequest, Prior, Problem, Usage, Validate
from ..digest.fields import FIELDS
from ..errors import FatalLLMError, GenerationFailed, LLMError
from .client import CallTally, Clock, Completion, LLMClient, ResponseMode, read_completion, usage_of
from .decode import DecodeError, decode_object
from .prompt import Message, Prompts, build_messages, build_reask_messages, load_prompts
from .schema import parse_summary, restricted_schema, schema_problems
from .settings import LLMSettings
from .tokens import estimate_completion, estimate_tokens

logger = logging.getLogger("pipeline.llm")

# A truncated answer is asked once more with this many times the token budget.
LENGTH_RETRY_FACTOR = 2
# A re-ask's answer this close (difflib ratio) to the text it was to fix copied it back:
# asking again would get the same, so the paper ends at once.
COPY_BACK_SIMILARITY = 0.95
# An answer cut (finish_reason "length") before this share of max_tokens was cut by the
# model's context, not by max_tokens: asking with a larger max_tokens cannot help.
CONTEXT_FULL_SHARE = 0.9

# finish_reason values that end the paper with that reason code (no re-ask helps).
_FINAL_FINISH_REASONS = frozenset({"content_filter"})


@dataclass(frozen=True)
class Answer:
    """One answer of the model for a paper, as the loop judged it (for rehearsals)."""

    request: PaperRequest
    number: int  # 1 for the paper's first answer
    content: str
    problems: tuple[Problem, ...]  # empty: accepted


class OpenAIProvider:
    """``contracts.Provider`` for any OpenAI-compatible chat completions server."""

    name = "openai"
    expected_problems: frozenset[str] = frozenset()  # a model's answer must pass every check
    billed = True

    def __init__(
        self,
        client: LLMClient,
        settings: LLMSettings,
        *,
        prompts: Prompts | None = None,
        clock: Clock = time.monotonic,
        on_answer: Callable[[Answer], None] | None = None,
    ) -> None:
        """``on_answer`` sees every answer with its verdict: what a rehearsal records."""
        self._client = client
        self._settings = settings
        self._prompts = prompts or load_prompts()
        self._clock = clock
        self._on_answer = on_answer

    @property
    def model(self) -> str:
        return self._settings.model

    @property
    def prompt_version(self) -> str:
        return self._prompts.version

    @property
    def requests(self) -> int:
        return self._client.requests

    @property
    def mode(self) -> str:
        """The response mode the next request (or batch line) uses."""
        return self._client.mode.value

    def _messages(self, ask: _Ask) -> list[Message]:
        examples = self._settings.examples
        if not ask.problems:
            return build_messages(ask.request, self._prompts, examples)
        return build_reask_messages(ask.request, self._prompts, examples, ask.problems, ask.accepted)

    def batch_body(self, request: PaperRequest) -> dict[str, Any]:
        """The body a live request for ``request`` would send, for a batch line."""
        ask = _Ask.first(request)
        schema = restricted_schema(ask.request.fields)
        return self._client.body(self._messages(ask), schema, self._settings.max_tokens, self._client.mode)

    async def batch_answer(
        self, request: PaperRequest, response: dict[str, Any], mode: str, validate: Validate
    ) -> Generation | Prior | None:
        """A batch's answer for ``request``, checked like a live one: accepted fields, the
        answer and its problems to re-ask with, or None when it holds no answer at all."""
        try:
            completion = read_completion(response, ResponseMode(mode), self._settings.model)
        except LLMError:
            return None  # blank, no choices: ask again from the start
        final = _final_reason(completion)
        if final is not None:
            return Prior(completion.content, (Problem(final[0], None, final[1]),))
        fields, problems = await _check(request, _Ask.first(request), completion, validate)
        if problems:
            return Prior(json.dumps(fields, ensure_ascii=False) if fields else completion.content, tuple(problems))
        return self._accepted(fields, completion, attempts=1, reasks=int(request.prior is not None),
                              latency_s=0.0, usage=usage_of(response))  # fmt: skip

    def estimate(self, request: PaperRequest) -> Usage:
        """The first request's tokens: its prompt as built, an answer of typical length."""
        ask = _Ask.first(request)
        prompt = sum(estimate_tokens(message["content"]) for message in self._messages(ask))
        return Usage(prompt_tokens=prompt, completion_tokens=estimate_completion(len(ask.request.fields)))

    async def generate(self, request: PaperRequest, validate: Validate) -> Generation:
        """Validated fields for ``request.fields``, or ``GenerationFailed``.

        A re-ask asks only for the fields that had problems, with the accepted ones shown
        as context; an answer that repeats the rejected text ends the paper at once.
        ``FatalLLMError`` (bad key, no permission) propagates: it must stop the whole run.
        """
        paper = _Paper(
            request, CallTally(request.id), clock=self._clock, started=self._clock(), mode=self._client.mode.value
        )
        paper.reasks = int(request.prior is not None)  # a batch's answer was the first attempt
        ask = _Ask.first(request)
        answers = 0
        max_tokens = self._settings.max_tokens
        while True:
            try:
                completion = await self._client.complete(
                    self._messages(ask), restricted_schema(ask.request.fields), max_tokens=max_tokens, tally=paper.tally
                )
            except FatalLLMError:
                raise
            except LLMError as exc:
                raise paper.failed([exc.reason], str(exc)) from exc
            paper.mode = completion.mode.value

            if completion.finish_reason == "length":
                written = completion.usage.completion_tokens
                if written and written < CONTEXT_FULL_SHARE * max_tokens:
                    # Cut well before max_tokens: the prompt fills the model's context, and a
                    # larger max_tokens cannot make room.
                    detail = (
                        f"the answer was cut after {written} tokens although {max_tokens} were allowed: the "
                        f"prompt ({completion.usage.prompt_tokens} tokens) fills the model's context "
                        "(use fewer --examples or a larger server context)"
                    )
                    raise paper.failed(["context_length"], detail, completion.content)
                if max_tokens == self._settings.max_tokens:
                    max_tokens *= LENGTH_RETRY_FACTOR
                    logger.info("paper=%s truncated; asking again with max_tokens=%d", request.id, max_tokens)
                    continue
            answers += 1
            final = _final_reason(completion)
            if final is not None:
                self._judged(request, answers, completion.content, [Problem(final[0], None, final[1])])
                raise paper.failed([final[0]], final[1], completion.content, answered=True)

            fields, problems = await _check(request, ask, completion, validate)
            self._judged(request, answers, completion.content, problems)
            if not problems:
                return self._accepted(fields, completion, attempts=paper.tally.calls, reasks=paper.reasks,
                                      latency_s=self._clock() - paper.started, usage=paper.tally.usage)  # fmt: skip
            reasons = sorted({problem.code for problem in problems})
            summary = "; ".join(f"{p.field or '-'}: {p.message}" for p in problems)
            copied = ask.copied(fields)
            if copied is not None:
                detail = f"the re-ask's answer repeats the rejected text (similarity {copied:.2f}): {summary}"
                raise paper.failed([*reasons, "copied_back"], detail, completion.content, answered=True)
            if paper.reasks >= self._settings.max_reasks:
                raise paper.failed(reasons, summary, completion.content, answered=True)
            paper.reasks += 1
            ask = ask.next(request, fields, problems)
            logger.info(
                "paper=%s re-ask %d/%d of %s: %s", request.id, paper.reasks, self._settings.max_reasks,
                ", ".join(ask.request.fields), ", ".join(reasons),
            )  # fmt: skip

    def _accepted(
        self, fields: dict[str, str], completion: Completion, *, attempts: int, reasks: int, latency_s: float,
        usage: Usage,
    ) -> Generation:  # fmt: skip
        """The generation of fields the validator found nothing wrong with (``checked``)."""
        return Generation(
            fields=fields,
            provider=self.name,
            model=completion.model,
            prompt_version=self._prompts.version,
            mode=completion.mode.value,
            attempts=attempts,
            reasks=reasks,
            latency_s=latency_s,
            usage=usage,
            checked=True,
        )

    def _judged(self, request: PaperRequest, number: int, content: str, problems: list[Problem]) -> None:
        if self._on_answer is not None:
            self._on_answer(Answer(request, number, content, tuple(problems)))


@dataclass(frozen=True)
class _Ask:
    """What the next request asks for: the paper with its fields narrowed to those to write,
    the fields already accepted, the rejected text of the ones asked again (to spot a
    copy), and the problems that made them rejected (none for the first request)."""

    request: PaperRequest
    accepted: Mapping[str, str] = field(default_factory=dict)
    rejected: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    @classmethod
    def first(cls, request: PaperRequest) -> _Ask:
        """The whole paper; or, when it comes with a batch's rejected answer, a re-ask of it."""
        if request.prior is None:
            return cls(request)
        try:
            answer = decode_object(request.prior.answer)
        except DecodeError:
            answer = {}
        given = {k: v for k, v in answer.items() if k in request.fields and isinstance(v, str)}
        return cls(replace(request, prior=None)).next(request, given, list(request.prior.problems))

    def next(self, request: PaperRequest, answer: Mapping[str, str], problems: list[Problem]) -> _Ask:
        """Ask again for the fields with problems; a problem of the whole answer (no JSON,
        a field missing) asks again for everything this request asked."""
        asked = set(self.request.fields)
        named = {p.field for p in problems if p.code != "extra_field"}
        redo = asked if not answer or None in named or not named <= set(request.fields) else named
        accepted = {**self.accepted, **{k: v for k, v in answer.items() if k not in redo}}
        narrowed = replace(request, fields=tuple(name for name in FIELDS if name in redo), prior=None)
        rejected = {k: v for k, v in answer.items() if k in redo}
        return _Ask(narrowed, accepted, rejected, tuple(problems))

    def copied(self, answer: Mapping[str, str]) -> float | None:
        """How close the answer's rewritten fields are to their rejected text, when every one
        of them is a near copy (``COPY_BACK_SIMILARITY``); else None."""
        if not self.rejected:
            return None
        scores = [SequenceMatcher(None, old, answer.get(name, "")).ratio() for name, old in self.rejected.items()]
        lowest = min(scores)
        return lowest if lowest >= COPY_BACK_SIMILARITY else None


@dataclass
class _Paper:
    """One paper's progress through the loop, for the failure report."""

    request: PaperRequest
    tally: CallTally
    clock: Clock
    started: float
    mode: str  # of the last answer (the client's mode until one arrives)
    reasks: int = 0

    def failed(
        self, reasons: list[str], detail: str, last_output: str | None = None, *, answered: bool = False
    ) -> GenerationFailed:
        logger.warning("paper=%s gave up (%s): %s", self.request.id, ", ".join(reasons), detail)
        return GenerationFailed(
            reasons,
            f"paper {self.request.id}: gave up after {self.tally.calls} call(s) and {self.reasks} re-ask(s): {detail}",
            attempts=self.tally.calls,
            reasks=self.reasks,
            last_output=last_output,
            usage=asdict(self.tally.usage),
            answered=answered,
            latency_s=self.clock() - self.started,
            mode=self.mode,
        )


def _final_reason(completion: Completion) -> tuple[str, str] | None:
    """(reason code, detail) when no re-ask can help: refusal, filter, still truncated."""
    if completion.refusal:
        return "refusal", completion.refusal
    if completion.finish_reason in _FINAL_FINISH_REASONS:
        return str(completion.finish_reason), f"finish_reason={completion.finish_reason}"
    if completion.finish_reason == "length":
        return "length", "the answer was still truncated with a larger max_tokens"
    return None


async def _check(
    request: PaperRequest, ask: _Ask, completion: Completion, validate: Validate
) -> tuple[dict[str, str], list[Problem]]:
    """Decode, check against the schema of the fields asked, then run the injected
    validator on the whole paper: the fields asked for with those accepted before."""
    try:
        answer = decode_object(completion.content)
    except DecodeError as exc:
        return {}, [Problem("invalid_json", None, f"{exc}; answer with one JSON object")]
    # Surrounding whitespace is never wanted; strip before the length bounds are checked.
    answer = {key: value.strip() if isinstance(value, str) else value for key, value in answer.items()}
    problems = schema_problems(answer, ask.request.fields)
    if problems:
        return {}, problems
    written = {**ask.accepted, **parse_summary(answer).present()}
    fields = {name: written[name] for name in FIELDS if name in written}
    return fields, list(await validate(request, MappingProxyType(fields)))
