"""The Markdown digest written by the upstream pipeline (``template.md`` per paper).

Parsing finds each ``### [N] [Title](url)`` entry and records where every value sits;
everything else (table of contents, anchors, section headers, blank lines) is verbatim
bytes that are never touched. An entry that does not fit the markup is kept verbatim and
reported with its line number. Restored papers are inserted by ``insert.py``'s plan.
The patterns run on the file's bytes (UTF-8: every marker is ASCII), offsets are bytes.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .document import SPANNED, CrawlPaper, Document, Notice, Paper, arxiv_id_from_url
from .fields import FIELDS, MARKDOWN_LABELS
from .insert import BOM, Layout, Plan, Restored, plan

# An entry's first line. It matches wherever an entry starts; ``url`` is None when the rest
# of the line is not "[Title](url)" (a broken entry, kept verbatim).
ENTRY_HEADER = re.compile(rb"### \[(?P<index>\d+)\] (?:\[[^\r\n]*\]\((?P<url>[^\s)]*)\)[ \t]*(?=\r?$))?", re.M)


def _value_until(name: str, next_line: str) -> bytes:
    """A value that runs (over lines) until the line starting with ``next_line``.

    Unrolled per line rather than a lazy ``.*?``: the engine then tests the next label
    once per line instead of once per character, which doubles parsing speed.
    """
    return rf"(?P<{name}>[^\n]*(?:\n(?!{next_line})[^\n]*)*)\n".encode()


# One entry of upstream's template. Values are captured up to the next label; trailing
# white space is trimmed from the spans afterwards (see _trimmed_span).
_ENTRY = re.compile(
    rb"### \[(?P<index>\d+)\] \[(?P<title>[^\r\n]*)\]\((?P<url>[^\s)]*)\)[ \t]*\r?\n"
    rb"\*(?P<authors>[^\r\n]*)\*[ \t]*\r?\n"
    rb"(?:[ \t]*\r?\n)*Main category:[ ]?(?P<category>[^\r\n]*)\r?\n"
    rb"(?:[ \t]*\r?\n)*TL;DR:[ ]?"
    + _value_until("tldr", "<details>")
    + rb"<details>[ \t]*\r?\n[ \t]*<summary>Details</summary>[ \t]*\r?\n"
    rb"(?:[ \t]*\r?\n)*Motivation:[ ]?"
    + _value_until("motivation", "Method:")
    + rb"Method:[ ]?"
    + _value_until("method", "Result:")
    + rb"Result:[ ]?"
    + _value_until("result", "Conclusion:")
    + rb"Conclusion:[ ]?"
    + _value_until("conclusion", "Abstract:")
    + rb"Abstract:[ ]?"
    + _value_until("abstract", "</details>")
    + rb"</details>"
)

# In order, what a well-formed entry must contain; used to say what a broken one lacks.
_REQUIRED = (
    ("'*authors*' line", re.compile(rb"^\*[^\r\n]*\*[ \t]*\r?$", re.M)),
    ("'Main category:' line", re.compile(rb"^Main category:", re.M)),
    ("'TL;DR:' line", re.compile(rb"^TL;DR:", re.M)),
    ("'<details>' block", re.compile(rb"^<details>", re.M)),
    *(
        (f"'{MARKDOWN_LABELS[name]}:' line", re.compile(rf"^{re.escape(MARKDOWN_LABELS[name])}:".encode(), re.M))
        for name in FIELDS[1:]
    ),
    ("'Abstract:' line", re.compile(rb"^Abstract:", re.M)),
    ("closing '</details>'", re.compile(rb"^</details>", re.M)),
)

_MARKERS = (b"<div id=toc>", b"# Table of Contents")
_TRAILING_SPACE = b" \t\r\n\x0b\x0c"


def looks_like_markdown(data: bytes) -> bool:
    """A digest has entry headers (or at least the upstream table of contents)."""
    return bool(_entry_starts(data[:200_000])) or any(marker in data[:4096] for marker in _MARKERS)


def _value(data: bytes, start: int, end: int) -> str:
    """The value a reader sees: decoded, CRLF folded to LF (the file's bytes are untouched)."""
    return data[start:end].decode("utf-8").replace("\r\n", "\n")


_FIELD_SLOT = {name: i for i, name in enumerate(FIELDS)}


class _Fields(Mapping[str, "str | None"]):
    """A paper's five values, decoded from the file (or from the edit that replaced one)
    each time they are read. Kept decoded for every paper, they would cost a digest about
    half its size again; the detector reads each once."""

    __slots__ = ("_doc", "_offsets")

    def __init__(self, doc: MarkdownDigest, offsets: array[int]) -> None:
        self._doc = doc
        self._offsets = offsets

    def __getitem__(self, name: str) -> str | None:
        slot = _FIELD_SLOT[name]
        span = (self._offsets[2 * slot], self._offsets[2 * slot + 1])
        edited = self._doc._edits.get(span)
        if edited is None:
            return _value(self._doc.data, *span)
        return edited.decode("utf-8").removeprefix(" ") if span[0] == span[1] else edited.decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass
class MarkdownDigest(Document):
    format: str = "markdown"
    _edits: dict[tuple[int, int], bytes] = field(default_factory=dict, repr=False)
    _verbatim_ids: set[str] = field(default_factory=set, repr=False)  # of entries kept as is
    _unidentified: list[int] = field(default_factory=list, repr=False)  # their lines, when no id
    _restored: list[Restored] = field(default_factory=list, repr=False)
    _layout: Layout | None = field(default=None, repr=False)
    _plan: Plan = field(default_factory=Plan, repr=False)  # the restored papers' edits

    @classmethod
    def parse(cls, path: Path, data: bytes | str) -> MarkdownDigest:
        """Parse a digest's bytes (text is encoded first, for convenience)."""
        data = data.encode("utf-8") if isinstance(data, str) else data
        doc = cls(path=path, data=data)
        starts = _entry_starts(data)
        line, counted = 1, 0
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(data)
            line += data.count(b"\n", counted, start)
            counted = start
            match = _ENTRY.match(data, start, end)
            if match is None:
                doc.notices.append(Notice(line, _describe_misfit(data, start, end)))
                url = _header(data, start)["url"]
                if url is not None:
                    url = url.decode("utf-8")
                    doc._verbatim_ids.add(arxiv_id_from_url(url) or url)
                else:
                    doc._unidentified.append(line)
                continue
            doc.papers.append(doc._paper_from(match, line))
        doc.notices.extend(doc.duplicate_notices())
        return doc

    def set_field(self, paper: Paper, name: str, value: str) -> None:
        if name not in FIELDS:
            raise KeyError(name)
        if "\n" in value or "\r" in value:
            raise ValueError("a Markdown field value must be a single line")
        start, end = paper.spans[name]
        # "TL;DR:" with nothing after the colon: keep the template's "Label: value" form.
        prefix = b" " if start == end and self.data[start - 1 : start] == b":" else b""
        new = prefix + value.encode("utf-8")
        if self.data[start:end] == new:
            self._edits.pop((start, end), None)
        else:
            self._edits[(start, end)] = new  # paper.fields reads it from here

    def _paper_from(self, match: re.Match[bytes], line: int) -> Paper:
        data = self.data
        offsets = array("q")
        for name in SPANNED:
            offsets.extend(_trimmed_span(data, match.span(name)))
        start, end = offsets[-2], offsets[-1]
        url = match["url"].decode("utf-8")
        return Paper(
            index=int(match["index"]),
            id=arxiv_id_from_url(url) or url,
            title=match["title"].decode("utf-8"),
            url=url,
            authors=match["authors"].decode("utf-8"),
            category=_value(data, *_trimmed_span(data, match.span("category"))),
            fields=_Fields(self, offsets),
            line=line,
            read_abstract=lambda: _value(data, start, end),
            offsets=offsets,
        )

    def present_ids(self) -> set[str]:
        return super().present_ids() | self._verbatim_ids

    def unidentified_lines(self) -> list[int]:
        return list(self._unidentified)

    def insert_paper(self, paper: CrawlPaper, fields: Mapping[str, str], order: Mapping[str, int]) -> None:
        values = {name: fields[name] for name in FIELDS}
        if any("\n" in value or "\r" in value for value in values.values()):
            raise ValueError("a Markdown field value must be a single line")
        if self._layout is None:
            self._layout = Layout.parse(self.data, [_header(self.data, start) for start in _entry_starts(self.data)])
        self._restored.append(Restored(paper, values))
        # Every insertion renumbers what follows it: plan them all again from the original.
        self._plan = plan(self._layout, self._restored, order)

    @property
    def changed(self) -> bool:
        return bool(self._edits or self._restored)

    def chunks(self) -> Iterator[bytes]:
        if not self.changed:
            yield self.data
            return
        edits = {
            **self._edits,
            **self._plan.replacements,
            **{(offset, offset): data for offset, data in self._plan.inserts.items()},
        }
        pos = 0
        for (start, end), value in sorted(edits.items()):
            yield self.data[pos:start]
            yield value
            pos = end
        yield self.data[pos:]


def _entry_starts(data: bytes) -> list[int]:
    """Offsets of the ``### [N] `` lines; a plain ``find`` loop is several times faster
    than a multi-line regex scan over a whole digest."""
    starts, pos = [], data.find(b"### [")
    while pos != -1:
        if (pos == 0 or data[pos - 1] == 0x0A or data[:pos] == BOM) and ENTRY_HEADER.match(data, pos):
            starts.append(pos)
        pos = data.find(b"### [", pos + 5)
    return starts


def _trimmed_span(data: bytes, span: tuple[int, int]) -> tuple[int, int]:
    """The span without trailing white space (blank lines, spaces, the CR of CRLF)."""
    start, end = span
    while end > start and data[end - 1] in _TRAILING_SPACE:
        end -= 1
    return start, end


def _header(data: bytes, start: int) -> re.Match[bytes]:
    header = ENTRY_HEADER.match(data, start)
    assert header is not None  # ``start`` came from _entry_starts, which matched it
    return header


def _describe_misfit(data: bytes, start: int, end: int) -> str:
    """Say which part of the template a broken entry lacks, e.g. after a truncation."""
    header = _header(data, start)
    if header["url"] is None:
        line = data[start:end].splitlines()[0].decode("utf-8")
        return f"entry header {line[:60]!r} is not '### [N] [Title](url)'; kept as is"
    url = header["url"].decode("utf-8")
    name = f"entry [{int(header['index'])}] ({arxiv_id_from_url(url) or url})"
    pos = header.end()
    for what, pattern in _REQUIRED:
        found = pattern.search(data, pos, end)
        if found is None:
            return f"{name} has no {what} (truncated or edited?); kept as is"
        pos = found.end()
    return f"{name} does not fit the digest markup; kept as is"
