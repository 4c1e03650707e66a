"""Build the chat messages for one paper from the templates in ``prompts/``.

Message order serves the provider's prompt-prefix cache: the system prompt and the
example papers come first and repeat across a day's papers; the paper itself comes last.
The final user message always ends with ``<title>`` and ``<abstract>`` blocks and holds
the ``Target language:`` and ``Fields to write:`` lines (test servers parse them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from string import Template

from ..contracts import Example, PaperRequest, Problem
from ..detect.language import normalize_language
from ..digest.fields import FIELDS
from . import resources

# Each template starts with this line; the version is recorded with every generation.
_VERSION_LINE = re.compile(r"\A#\s*version:\s*(\S+)[ \t]*\r?\n")

# Our delimiter tags inside data would end a block early: "</abstract>" in an abstract
# becomes "<\/abstract>". Nothing else in the data is escaped.
_DELIMITER_TAG = re.compile(r"<(/?\s*(?:title|abstract|previous_answer)\s*)>", re.IGNORECASE)

Message = dict[str, str]


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    text: str

    def render(self, **values: str) -> str:
        # string.Template: "$" inside the substituted values (LaTeX) is never interpreted.
        return Template(self.text).substitute(values)


@dataclass(frozen=True)
class Prompts:
    system: PromptTemplate
    user: PromptTemplate
    reask: PromptTemplate

    @property
    def version(self) -> str:
        """One id when the three templates agree, else each template's id."""
        parts = (self.system, self.user, self.reask)
        versions = {part.version for part in parts}
        if len(versions) == 1:
            return versions.pop()
        return ";".join(f"{part.name}={part.version}" for part in parts)


def load_template(name: str) -> PromptTemplate:
    """A template from ``prompts/<name>.txt`` with its version line removed."""
    text = resources.prompt_text(f"{name}.txt")
    match = _VERSION_LINE.match(text)
    if match is None:
        raise ValueError(f"prompts/{name}.txt must start with '# version: <id>'")
    return PromptTemplate(name, match.group(1), text[match.end() :].strip() + "\n")


def load_prompts() -> Prompts:
    return Prompts(load_template("system"), load_template("user"), load_template("reask"))


def build_messages(request: PaperRequest, prompts: Prompts, max_examples: int) -> list[Message]:
    """System prompt, up to ``max_examples`` worked examples, then the paper."""
    return [*_prefix(request, prompts, max_examples), _user(request, prompts, request)]


def build_reask_messages(
    request: PaperRequest,
    prompts: Prompts,
    max_examples: int,
    previous: str,
    problems: Sequence[Problem],
) -> list[Message]:
    """The same prefix, then the problems and previous answer ahead of the paper again.

    The re-ask replaces the last user message instead of extending the conversation, so
    the abstract is sent once and the cached prefix still matches.
    """
    listed = "\n".join(
        f"- {problem.field}: {problem.message}" if problem.field else f"- {problem.message}" for problem in problems
    )
    reask = prompts.reask.render(problems=listed, previous=_neutralise(previous.strip()))
    last = _user(request, prompts, request)
    return [
        *_prefix(request, prompts, max_examples),
        {**last, "content": reask + "\n" + last["content"]},
    ]


def _prefix(request: PaperRequest, prompts: Prompts, max_examples: int) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": prompts.system.render()}]
    for example in request.examples[: max(max_examples, 0)]:
        answer = {name: example.fields[name] for name in _ordered(request.fields) if name in example.fields}
        if not answer:
            continue  # an example without the requested fields teaches nothing
        messages.append(_user(request, prompts, example))
        messages.append({"role": "assistant", "content": json.dumps(answer, ensure_ascii=False)})
    return messages


def _user(request: PaperRequest, prompts: Prompts, paper: PaperRequest | Example) -> Message:
    content = prompts.user.render(
        language=normalize_language(request.language),
        fields=", ".join(_ordered(request.fields)),
        title=_neutralise(" ".join(paper.title.split())),
        abstract=_neutralise(paper.abstract.strip()),
    )
    return {"role": "user", "content": content.rstrip("\n")}


def _ordered(fields: Sequence[str]) -> list[str]:
    return [name for name in FIELDS if name in fields]


def _neutralise(text: str) -> str:
    return _DELIMITER_TAG.sub(lambda match: "<\\" + match.group(1) + ">", text)
