"""The Markdown digest written by the upstream pipeline (``template.md`` per paper).

Parsing finds each ``### [N] [Title](url)`` entry and records where every value sits;
everything else (table of contents, anchors, section headers, blank lines) is verbatim
text that is never touched. An entry that does not fit the markup is kept verbatim and
reported with its line number. Restored papers are inserted by ``insert.py``'s plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .document import CrawlPaper, Document, Notice, Paper, arxiv_id_from_url
from .fields import FIELDS, MARKDOWN_LABELS
from .insert import Layout, Plan, Restored, plan

# An entry's first line. It matches wherever an entry starts; ``url`` is None when the rest
# of the line is not "[Title](url)" (a broken entry, kept verbatim).
ENTRY_HEADER = re.compile(r"### \[(?P<index>\d+)\] (?:\[[^\r\n]*\]\((?P<url>[^\s)]*)\)[ \t]*(?=\r?$))?", re.M)


def _value_until(name: str, next_line: str) -> str:
    """A value that runs (over lines) until the line starting with ``next_line``.

    Unrolled per line rather than a lazy ``.*?``: the engine then tests the next label
    once per line instead of once per character, which doubles parsing speed.
    """
    return rf"(?P<{name}>[^\n]*(?:\n(?!{next_line})[^\n]*)*)\n"


# One entry of upstream's template. Values are captured up to the next label; trailing
# white space is trimmed from the spans afterwards (see _trimmed_span).
_ENTRY = re.compile(
    r"### \[(?P<index>\d+)\] \[(?P<title>[^\r\n]*)\]\((?P<url>[^\s)]*)\)[ \t]*\r?\n"
    r"\*(?P<authors>[^\r\n]*)\*[ \t]*\r?\n"
    r"(?:[ \t]*\r?\n)*Main category:[ ]?(?P<category>[^\r\n]*)\r?\n"
    r"(?:[ \t]*\r?\n)*TL;DR:[ ]?"
    + _value_until("tldr", "<details>")
    + r"<details>[ \t]*\r?\n[ \t]*<summary>Details</summary>[ \t]*\r?\n"
    r"(?:[ \t]*\r?\n)*Motivation:[ ]?"
    + _value_until("motivation", "Method:")
    + r"Method:[ ]?"
    + _value_until("method", "Result:")
    + r"Result:[ ]?"
    + _value_until("result", "Conclusion:")
    + r"Conclusion:[ ]?"
    + _value_until("conclusion", "Abstract:")
    + r"Abstract:[ ]?"
    + _value_until("abstract", "</details>")
    + r"</details>"
)

# Values a paper keeps a span of: the ones edits replace, and the abstract it reads lazily.
_SPANS = (*FIELDS, "abstract")

# In order, what a well-formed entry must contain; used to say what a broken one lacks.
_REQUIRED = (
    ("'*authors*' line", re.compile(r"^\*[^\r\n]*\*[ \t]*\r?$", re.M)),
    ("'Main category:' line", re.compile(r"^Main category:", re.M)),
    ("'TL;DR:' line", re.compile(r"^TL;DR:", re.M)),
    ("'<details>' block", re.compile(r"^<details>", re.M)),
    *(
        (f"'{MARKDOWN_LABELS[name]}:' line", re.compile(rf"^{re.escape(MARKDOWN_LABELS[name])}:", re.M))
        for name in FIELDS[1:]
    ),
    ("'Abstract:' line", re.compile(r"^Abstract:", re.M)),
    ("closing '</details>'", re.compile(r"^</details>", re.M)),
)

_MARKERS = ("<div id=toc>", "# Table of Contents", "### [")


def looks_like_markdown(text: str) -> bool:
    """A digest has entry headers (or at least the upstream table of contents)."""
    head = text[:4096]
    return bool(_entry_starts(text[:200_000])) or any(marker in head for marker in _MARKERS[:2])


def _unwrap(value: str) -> str:
    """The value a reader sees: CRLF folded to LF (the bytes in the file are untouched)."""
    return value.replace("\r\n", "\n")


@dataclass
class MarkdownDigest(Document):
    format: str = "markdown"
    _edits: dict[tuple[int, int], str] = field(default_factory=dict, repr=False)
    _verbatim_ids: set[str] = field(default_factory=set, repr=False)  # of entries kept as is
    _unidentified: list[int] = field(default_factory=list, repr=False)  # their lines, when no id
    _restored: list[Restored] = field(default_factory=list, repr=False)
    _layout: Layout | None = field(default=None, repr=False)
    _plan: Plan = field(default_factory=Plan, repr=False)  # the restored papers' edits

    @classmethod
    def parse(cls, path: Path, text: str) -> MarkdownDigest:
        doc = cls(path=path, text=text)
        starts = _entry_starts(text)
        line, counted = 1, 0
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(text)
            line += text.count("\n", counted, start)
            counted = start
            match = _ENTRY.match(text, start, end)
            if match is None:
                doc.notices.append(Notice(line, _describe_misfit(text, start, end)))
                url = _header(text, start)["url"]
                if url is not None:
                    doc._verbatim_ids.add(arxiv_id_from_url(url) or url)
                else:
                    doc._unidentified.append(line)
                continue
            doc.papers.append(_paper_from(text, match, line))
        doc.notices.extend(doc.duplicate_notices())
        return doc

    def set_field(self, paper: Paper, name: str, value: str) -> None:
        if name not in FIELDS:
            raise KeyError(name)
        if "\n" in value or "\r" in value:
            raise ValueError("a Markdown field value must be a single line")
        start, end = paper.spans[name]
        # "TL;DR:" with nothing after the colon: keep the template's "Label: value" form.
        prefix = " " if start == end and self.text[start - 1 : start] == ":" else ""
        if self.text[start:end] == prefix + value:
            self._edits.pop((start, end), None)
        else:
            self._edits[(start, end)] = prefix + value
        paper.fields[name] = value

    def present_ids(self) -> set[str]:
        return super().present_ids() | self._verbatim_ids

    def unidentified_lines(self) -> list[int]:
        return list(self._unidentified)

    def insert_paper(self, paper: CrawlPaper, fields: Mapping[str, str], order: Mapping[str, int]) -> None:
        values = {name: fields[name] for name in FIELDS}
        if any("\n" in value or "\r" in value for value in values.values()):
            raise ValueError("a Markdown field value must be a single line")
        if self._layout is None:
            self._layout = Layout.parse(self.text, [_header(self.text, start) for start in _entry_starts(self.text)])
        self._restored.append(Restored(paper, values))
        # Every insertion renumbers what follows it: plan them all again from the original.
        self._plan = plan(self._layout, self._restored, order)

    @property
    def changed(self) -> bool:
        return bool(self._edits or self._restored)

    def chunks(self) -> Iterator[str]:
        if not self.changed:
            yield self.text
            return
        edits = {
            **self._edits,
            **self._plan.replacements,
            **{(offset, offset): text for offset, text in self._plan.inserts.items()},
        }
        pos = 0
        for (start, end), value in sorted(edits.items()):
            yield self.text[pos:start]
            yield value
            pos = end
        yield self.text[pos:]


def _entry_starts(text: str) -> list[int]:
    """Offsets of the ``### [N] `` lines; a plain ``find`` loop is several times faster
    than a multi-line regex scan over a whole digest."""
    starts, pos = [], text.find("### [")
    while pos != -1:
        if (pos == 0 or text[pos - 1] == "\n" or text[:pos] == "\ufeff") and ENTRY_HEADER.match(text, pos):
            starts.append(pos)
        pos = text.find("### [", pos + 5)
    return starts


def _trimmed_span(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The span without trailing white space (blank lines, spaces, the CR of CRLF)."""
    start, end = span
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _paper_from(text: str, match: re.Match[str], line: int) -> Paper:
    spans = {name: _trimmed_span(text, match.span(name)) for name in _SPANS}
    start, end = spans["abstract"]
    url = match["url"]
    return Paper(
        index=int(match["index"]),
        id=arxiv_id_from_url(url) or url,
        title=match["title"],
        url=url,
        authors=match["authors"],
        category=_unwrap(text[slice(*_trimmed_span(text, match.span("category")))]),
        fields={name: _unwrap(text[slice(*spans[name])]) for name in FIELDS},
        line=line,
        read_abstract=lambda: _unwrap(text[start:end]),
        spans=spans,
    )


def _header(text: str, start: int) -> re.Match[str]:
    header = ENTRY_HEADER.match(text, start)
    assert header is not None  # ``start`` came from _entry_starts, which matched it
    return header


def _describe_misfit(text: str, start: int, end: int) -> str:
    """Say which part of the template a broken entry lacks, e.g. after a truncation."""
    header = _header(text, start)
    if header["url"] is None:
        line = text[start:end].splitlines()[0]
        return f"entry header {line[:60]!r} is not '### [N] [Title](url)'; kept as is"
    name = f"entry [{header['index']}] ({arxiv_id_from_url(header['url']) or header['url']})"
    pos = header.end()
    for what, pattern in _REQUIRED:
        found = pattern.search(text, pos, end)
        if found is None:
            return f"{name} has no {what} (truncated or edited?); kept as is"
        pos = found.end()
    return f"{name} does not fit the digest markup; kept as is"
