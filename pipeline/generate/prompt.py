"""Build the chat messages for one paper from the templates in ``prompts/``.

Two messages. The system message holds the instructions and, fenced as style examples, the
fields of a few good papers of the same digest: the same for every paper that gets the
same examples, so a provider's prompt-prefix cache serves it. The user message holds the
paper in ``<title>`` and ``<abstract>`` blocks after the ``Target language:`` and
``Fields to write:`` lines (test servers parse them), and ends by naming the language
again, in that language where ``prompts/languages.json`` knows it: a 1.5B model ignored the
first line and answered 10 of 10 Chinese requests in English, and followed the last.

The examples are not worked turns of a conversation: a small model shown another paper's
abstract and answer as its own earlier turn copies that answer (a real one wrote an
example's result and conclusion into 4 papers of 12). Shown apart, without their
abstracts, and marked as other papers, they set the style and carry no facts to borrow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from string import Template

from ..contracts import PaperRequest, Problem
from ..detect.language import normalize_language
from ..digest.fields import FIELDS
from . import resources

# Each template starts with this line; the version is recorded with every generation.
_VERSION_LINE = re.compile(r"\A#\s*version:\s*(\S+)[ \t]*\r?\n")

# Our delimiter tags inside data would end a block early: "</abstract>" in an abstract
# becomes "<\/abstract>". Nothing else in the data is escaped.
_DELIMITER_TAG = re.compile(r"<(/?\s*(?:title|abstract|style_example)\s*)>", re.IGNORECASE)

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
    examples: PromptTemplate
    user: PromptTemplate
    reask: PromptTemplate

    @property
    def version(self) -> str:
        """One id when the templates agree, else each template's id."""
        parts = (self.system, self.examples, self.user, self.reask)
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
    return Prompts(*(load_template(name) for name in ("system", "examples", "user", "reask")))


def build_messages(request: PaperRequest, prompts: Prompts, max_examples: int) -> list[Message]:
    """The instructions with up to ``max_examples`` style examples, then the paper."""
    return [_system(request, prompts, max_examples), _user(request, prompts)]


def build_reask_messages(
    request: PaperRequest,
    prompts: Prompts,
    max_examples: int,
    problems: Sequence[Problem],
    accepted: Mapping[str, str],
) -> list[Message]:
    """The same system message, then the problems, the fields already accepted, and the
    paper with ``request.fields`` narrowed to the fields to write again.

    The rejected text is not shown: a model shown its previous answer copies it back (4
    of 15 re-asks of a small model were byte-identical to the answer they were to fix).
    The accepted fields are shown, so that a rewritten field does not repeat them.
    """
    listed = "\n".join(
        f"- {problem.field}: {problem.message}" if problem.field else f"- {problem.message}" for problem in problems
    )
    kept = "".join(f"- {name}: {_neutralise(accepted[name])}\n" for name in _ordered(list(accepted)))
    reask = prompts.reask.render(
        problems=listed,
        accepted=f"\nThese fields were accepted; keep their content out of what you write:\n{kept}" if kept else "",
        fields=", ".join(_ordered(request.fields)),
    )
    last = _user(request, prompts)
    return [_system(request, prompts, max_examples), {**last, "content": reask + "\n" + last["content"]}]


def _system(request: PaperRequest, prompts: Prompts, max_examples: int) -> Message:
    """Instructions, then the style examples fenced apart: every requested field of them
    (all five, whatever this paper needs, so papers with the same examples share it)."""
    blocks = [
        "<style_example>\n" + _neutralise(json.dumps(dict(example.fields), ensure_ascii=False)) + "\n</style_example>"
        for example in request.examples[: max(max_examples, 0)]
        if example.fields
    ]
    content = prompts.system.render()
    if blocks:
        content += "\n" + prompts.examples.render(examples="\n".join(blocks))
    return {"role": "system", "content": content.rstrip("\n")}


def _user(request: PaperRequest, prompts: Prompts) -> Message:
    language = normalize_language(request.language)
    content = prompts.user.render(
        language=language,
        in_language=language_reminder(language),
        fields=", ".join(_ordered(request.fields)),
        title=_neutralise(" ".join(request.title.split())),
        abstract=_neutralise(request.abstract.strip()),
    )
    return {"role": "user", "content": content.rstrip("\n")}


def language_reminder(language: str) -> str:
    """The user message's last line: the language named in English, then in itself."""
    native = resources.prompt_data("languages.json").get(language)
    return f"Write every field in {language}." + (f" {native}" if isinstance(native, str) else "")


def _ordered(fields: Sequence[str]) -> list[str]:
    return [name for name in FIELDS if name in fields]


def _neutralise(text: str) -> str:
    return _DELIMITER_TAG.sub(lambda match: "<\\" + match.group(1) + ">", text)
