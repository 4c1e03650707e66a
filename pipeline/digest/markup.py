"""What a value written into a digest may not contain: found (the validator's ``markup``
check) or removed (the sanitiser, applied before every write).

It lives with the formats because it is a property of the markup. A field value is
spliced into a Markdown line (``TL;DR: <value>``) or a JSON string that is later rendered
as Markdown, so anything that starts a block, opens raw HTML, links, or carries a control
character can break the page or inject script. Both the check and the sanitiser read the
single ``RULES`` table below, so they cannot disagree on "forbidden". Math such as
``k<g``, ``c>D(P)`` and ``$...$`` is not HTML under CommonMark and passes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.entities import html5

from .fields import MARKDOWN_LABELS

# Summaries carry LaTeX. "\n" + letters is ambiguous: "\nabla" is LaTeX, "step.\nThen" a
# newline between sentences. Only these commands are LaTeX: the JSON decoder keeps them
# (generate/decode.py) and the sanitiser restores them after a control character.
LATEX_N_COMMANDS = frozenset(
    {
        "nabla", "natural", "ne", "nearrow", "neg", "neq", "newcommand", "newline",
        "nexists", "ngeq", "ngtr", "ni", "nleftarrow", "nleq", "nless", "nmid", "nobreak",
        "noindent", "nolimits", "nonumber", "norm", "normalsize", "not", "notin",
        "nparallel", "nprec", "nrightarrow", "nsim", "nsubseteq", "nsucc", "nsupseteq",
        "nu", "nvdash", "nwarrow",
    }
)  # fmt: skip

# Labels that start a line of the digest; a value starting with one forges a new field.
LINE_LABELS: tuple[str, ...] = (*MARKDOWN_LABELS.values(), "TLDR", "Abstract", "Main category")

# Elements that start an HTML block (or hide the digest's ``<details>``) even unclosed.
DANGEROUS_ELEMENTS: tuple[str, ...] = (
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "details",
    "summary",
    "div",
    "svg",
    "img",
    "textarea",
    "html",
    "body",
    "head",
    "meta",
    "link",
    "base",
    "form",
)

# JSON/Python escapes a mis-decoded LaTeX command leaves behind ("\frac" read as "\f"+"rac"):
# these never occur on purpose, so the backslash is restored before any letter.
_ALWAYS_LATEX = {"\x07": "\\a", "\x08": "\\b", "\x0b": "\\v", "\x0c": "\\f"}
# Tab, newline and return are also real whitespace: restore only whole known commands.
_WHITESPACE_LATEX = {
    "\t": re.compile(r"(?:heta|au|imes|ext|ilde|op|anh|frac)(?![A-Za-z])"),
    # The same LaTeX commands the JSON decoder keeps when it meets "\n" + letters.
    "\n": re.compile(
        "(?:" + "|".join(sorted((c[1:] for c in LATEX_N_COMMANDS), key=len, reverse=True)) + ")(?![A-Za-z])"
    ),
    "\r": re.compile(r"(?:ho|ight|angle|ightarrow)(?![A-Za-z])"),
}
_ESCAPE_LETTER = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# CommonMark decodes only entities HTML5 defines; "&TL;" stays text.
_ENTITY_NAMES = "|".join(sorted((name[:-1] for name in html5 if name.endswith(";")), key=len, reverse=True))
_TAG_NAME = r"[A-Za-z][A-Za-z0-9-]*"
_ATTRIBUTE = (
    r"\s+[A-Za-z_:][A-Za-z0-9_.:-]*"
    r"(?:\s*=\s*(?:[^\"'=<>`\x00-\x20]+|'[^']*'|\"[^\"]*\"))?"
)
# CommonMark 0.31 raw HTML (open/closing tag, comment, processing instruction,
# declaration, CDATA) plus autolinks, which render as links.
_RAW_HTML = (
    rf"<{_TAG_NAME}(?:{_ATTRIBUTE})*\s*/?>"
    rf"|</{_TAG_NAME}\s*>"
    r"|<!--(?:-?>|[\s\S]*?-->)|<!--"
    r"|<\?[\s\S]*?\?>"
    r"|<![A-Za-z][^>]*>"
    r"|<!\[CDATA\[[\s\S]*?\]\]>"
    r"|<[A-Za-z][A-Za-z0-9.+-]{1,31}:[^\x00-\x20<>]*>"
    r"|<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?>"
)
_LABEL_ALT = "|".join(re.escape(label).replace(";", ";?") for label in LINE_LABELS)
# What a Markdown line may not start with: headings, quotes, bullets, fences, thematic
# breaks, tables, link definitions, HTML blocks, and forged field labels. "1. " is allowed:
# real method fields open with an enumeration, and a value never starts a digest line.
_BLOCK_START = (
    r"^[ \t]*(?:#{1,6}(?=[ \t]|$)|>|[-+*](?=[ \t]|$)"
    r"|`{3,}|~{3,}|(?:[-=_*][ \t]*){3,}$|\[[^\]]*\]:|\||<(?=[A-Za-z/!?]))"
    rf"|^[ \t*_]*(?:{_LABEL_ALT})[ \t*_]*[:：]"
)


def _restore_control(match: re.Match[str]) -> str:
    """The LaTeX backslash a control character stands for, or a space."""
    char, rest = match.group(), match.string[match.end() :]
    if char in _ALWAYS_LATEX and rest[:1].isascii() and rest[:1].isalpha():
        return _ALWAYS_LATEX[char]
    if char in _WHITESPACE_LATEX and _WHITESPACE_LATEX[char].match(rest):
        return _ESCAPE_LETTER[char]
    return " "


@dataclass(frozen=True)
class Rule:
    """One kind of forbidden text: how to find it and what the sanitiser puts instead.

    A rule that is not ``reported`` is only the sanitiser's: the text is fine as a value
    and only needs normalising on the way into a digest line.
    """

    name: str
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]
    reported: bool = True


RULES: tuple[Rule, ...] = (
    Rule(
        "control character",
        re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\r(?!\n)"),
        _restore_control,
    ),
    # Real fields list their steps one per line ("1) 采用…\n2) 引入…"); joined with spaces
    # they read the same. What a new line would start (a heading, a quote, a field label)
    # is still found by the block rule below, at the start of every line.
    Rule("line break", re.compile(r"\r?\n"), _restore_control, reported=False),
    Rule("raw HTML", re.compile(_RAW_HTML), " "),
    Rule(
        # An unclosed tag with an event handler or URL attribute: a browser closes it with
        # the next line's ">" (the Motivation line sits inside the raw <details> block).
        "HTML attribute",
        re.compile(
            rf"<{_TAG_NAME}(?:[\s/]+[^\s<>=]+)*?[\s/]+"
            r"(?:on[a-z]+|href|src|srcdoc|style|action|formaction|xlink:href|data)\s*=",
            re.I,
        ),
        " ",
    ),
    Rule(
        "HTML element start",
        re.compile(rf"</?\s*(?:{'|'.join(DANGEROUS_ELEMENTS)})(?![A-Za-z0-9-])", re.I),
        " ",
    ),
    Rule(
        "HTML entity",
        re.compile(rf"&(?:#[0-9]{{1,7}}|#[xX][0-9A-Fa-f]{{1,6}}|{_ENTITY_NAMES});"),
        lambda match: html.unescape(match.group()),
    ),
    Rule(
        "Markdown link or image",
        re.compile(r"!?\[([^\[\]]*)\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\[\]]*\])"),
        r"\1",
    ),
    # LaTeX quotes copied from an abstract (`Random Sampling') are quotes, not code.
    Rule("LaTeX quote", re.compile(r"`([^`'\n]{1,80})'"), r"‘\1’", reported=False),
    Rule("backtick", re.compile(r"`(?![^`'\n]{1,80}')"), ""),
    Rule(
        "script URL",
        re.compile(r"(?<![a-z])(?:java|vb)script\s*:|(?<![a-z])data\s*:\s*[a-z]+/[a-z0-9.+-]+", re.I),
        "",
    ),
    Rule("block marker or field label at the start", re.compile(_BLOCK_START, re.I | re.M), ""),
)

_SPACES = re.compile(r"[ \u00a0]{2,}")


@dataclass(frozen=True)
class Finding:
    rule: str
    text: str

    def __str__(self) -> str:
        return f"{self.rule} {self.text[:40]!r}"


# Every rule needs one of these characters, or a block marker or label opening a line:
# most values have none, and one search is cheaper than each rule's.
_MAYBE_MARKUP = re.compile(
    r"[<>&\[\]`:：\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|^[ \t]*[#>+*\-=_~|]",
    re.M,
)


def find_markup(text: str) -> list[Finding]:
    """The first match of each rule in ``text`` (empty when the text is safe to write)."""
    if not _MAYBE_MARKUP.search(text):
        return []
    findings = []
    for rule in RULES:
        if not rule.reported:
            continue
        match = rule.pattern.search(text)
        if match:
            findings.append(Finding(rule.name, match.group()))
    return findings


def sanitize(text: str) -> str:
    """``text`` on one line with everything ``find_markup`` forbids removed or restored.

    Removing one construct can create another (``<scr<b>ipt>``), so the rules run until
    nothing changes; every pass removes at least one special character, so this ends.
    """
    previous = None
    while text != previous:
        previous = text
        for rule in RULES:
            text = rule.pattern.sub(rule.replacement, text)
        text = _SPACES.sub(" ", text).strip()
    return text
