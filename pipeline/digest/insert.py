"""Where restored papers go in a Markdown digest, and the edits that put them there.

Upstream's ``convert.py`` writes a table of contents (``- [cat](#cat) [Total: N]``), then
per main category a ``<div id='cat'></div>`` anchor, a ``# cat [[Back]](#toc)`` header
and that category's entries in the order of the JSONL, numbered ``[1]..[N]`` across the
whole file. Inserting papers therefore means: find the paper's section (or add one),
put the entry after the section's entries that precede it in crawl order, then renumber
and recount. All of it is expressed as insertions at byte offsets and replacements of
spans of the original bytes, so the document's other bytes stay as they were.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .document import CrawlPaper, arxiv_id_from_url

# Upstream's ``paper_template.md`` up to ``</details>``; what follows an entry (blank
# lines, the next entry or section) is taken from the file itself.
ENTRY_TEMPLATE = (
    "### [{index}] [{title}](https://arxiv.org/abs/{id})\n"
    "*{authors}*\n\n"
    "Main category: {category}\n\n"
    "TL;DR: {tldr}\n\n\n"
    "<details>\n  <summary>Details</summary>\n"
    "Motivation: {motivation}\n\n"
    "Method: {method}\n\n"
    "Result: {result}\n\n"
    "Conclusion: {conclusion}\n\n"
    "Abstract: {abstract}\n\n"
    "</details>"
)
# Upstream joins entries with a blank line after the template's own final newline, and
# starts each section with two blank lines: both are "\n\n\n" after ``</details>``.
DEFAULT_GAP = "\n\n\n"
BOM = "\ufeff".encode()

_ANCHOR = re.compile(
    rb"^<div id='(?P<cat>[^'\r\n]+)'></div>[ \t]*\r?\n(?:[ \t]*\r?\n)*"
    rb"# (?P<cat2>[^\r\n]+?) \[\[Back\]\]\(#toc\)[ \t]*\r?\n(?:[ \t]*\r?\n)*",
    re.M,
)
_TOC_LINE = re.compile(
    rb"^- \[(?P<cat>[^\]\r\n]+)\]\(#(?P=cat)\) \[Total: (?P<total>\d+)\][ \t]*(?P<eol>\r?\n|$)", re.M
)


@dataclass
class _Entry:
    start: int
    end: int  # just after ``</details>`` (or the entry's last non-blank character)
    id: str | None
    index_span: tuple[int, int]


@dataclass
class _Section:
    category: str | None  # None: a digest without sections, all entries in one list
    start: int
    header_end: int
    entries: list[_Entry] = field(default_factory=list)
    total_span: tuple[int, int] | None = None  # the N of its ``[Total: N]`` line


@dataclass
class Layout:
    """The skeleton of a digest: sections with their entries, the TOC, and its spacing."""

    data: bytes
    eol: bytes
    sections: list[_Section]
    entry_gap: bytes  # between two entries of a section
    section_gap: bytes  # between a section's last entry and the next anchor
    toc_end: int | None  # just after the last TOC line

    @classmethod
    def parse(cls, data: bytes, headers: Sequence[re.Match[bytes]]) -> Layout:
        """``headers``: the matches of ``markdown.ENTRY_HEADER`` at each entry's start."""
        entry_starts = [header.start() for header in headers]
        first_eol = data.find(b"\n")
        eol = b"\r\n" if first_eol > 0 and data[first_eol - 1 : first_eol] == b"\r" else b"\n"
        anchors = [m for m in _ANCHOR.finditer(data) if m["cat"] == m["cat2"]]
        sections = [_Section(m["cat"].decode("utf-8"), m.start(), m.end()) for m in anchors]
        if not sections:
            sections = [_Section(None, 0, entry_starts[0] if entry_starts else len(data))]
        bounds = sorted([s.start for s in sections[1:]] + list(entry_starts) + [len(data)])
        section_gap = entry_gap = None
        for header in headers:
            start = header.start()
            stop = bounds[bisect.bisect_right(bounds, start)]
            closing = data.rfind(b"</details>", start, stop)
            end = closing + len(b"</details>") if closing != -1 else len(data[start:stop].rstrip()) + start
            section = next((s for s in reversed(sections) if s.start <= start), sections[0])
            if section.entries and entry_gap is None and not data[section.entries[-1].end : start].strip():
                entry_gap = data[section.entries[-1].end : start]
            url = header["url"].decode("utf-8") if header["url"] is not None else None
            section.entries.append(_Entry(start, end, url and arxiv_id_from_url(url), header.span("index")))
        for before, after in itertools.pairwise(sections):
            if before.entries and section_gap is None and not data[before.entries[-1].end : after.start].strip():
                section_gap = data[before.entries[-1].end : after.start]
        toc_end = None
        head = sections[0].start if sections[0].category else 0
        for line in _TOC_LINE.finditer(data, 0, head):
            toc_end = line.end()
            for section in sections:
                if section.category == line["cat"].decode("utf-8") and section.total_span is None:
                    section.total_span = line.span("total")
        default = DEFAULT_GAP.encode().replace(b"\n", eol)
        return cls(data, eol, sections, entry_gap or default, section_gap or default, toc_end)

    def section_header(self, category: str) -> bytes:
        """A new section's anchor and header, spaced like the file's first section."""
        name, eol = category.encode("utf-8"), self.eol
        template = next((s for s in self.sections if s.category), None)
        if template is None:
            return b"<div id='" + name + b"'></div>" + eol + eol + b"# " + name + b" [[Back]](#toc)" + eol + eol
        match = _ANCHOR.match(self.data, template.start)
        assert match is not None
        data, start = self.data, match.start()
        return (
            data[start : match.start("cat")]
            + name
            + data[match.end("cat") : match.start("cat2")]
            + name
            + data[match.end("cat2") : match.end()]
        )


@dataclass(frozen=True)
class Restored:
    """A paper to insert with its five fields."""

    paper: CrawlPaper
    fields: Mapping[str, str]

    def render(self, index: int, eol: bytes) -> bytes:
        p = self.paper
        text = ENTRY_TEMPLATE.format(
            index=index,
            id=p.id,
            title=_one_line(p.title),
            authors=_one_line(",".join(p.authors)),
            category=p.category,
            abstract=p.abstract.replace("\r\n", "\n"),
            **self.fields,
        ).encode("utf-8")
        return text.replace(b"\n", eol) if eol != b"\n" else text


def _one_line(text: str) -> str:
    """Header and author lines must stay one line each for the entry to parse."""
    return " ".join(text.split())


@dataclass
class Plan:
    """Bytes to insert at offsets, and spans to replace (indices, totals)."""

    inserts: dict[int, bytes] = field(default_factory=dict)
    replacements: dict[tuple[int, int], bytes] = field(default_factory=dict)


@dataclass
class _Placement:
    """Where each restored paper goes, before any text is written."""

    # offset -> [(kind, paper)]: "after" the entry ending there, or "before" the one starting there
    blocks: dict[int, list[tuple[str, Restored]]] = field(default_factory=dict)
    new_sections: dict[str, list[Restored]] = field(default_factory=dict)
    added: dict[str | None, int] = field(default_factory=dict)  # papers added per existing section


def _place(layout: Layout, restored: Sequence[Restored], order: Mapping[str, int]) -> _Placement:
    """Each paper after the entries of its section that precede it in crawl order."""
    by_category = {s.category: s for s in layout.sections}
    placed = _Placement()
    for item in sorted(restored, key=lambda r: r.paper.position):
        section = by_category.get(item.paper.category) or by_category.get(None)
        if section is None:
            placed.new_sections.setdefault(item.paper.category, []).append(item)
            continue
        placed.added[section.category] = placed.added.get(section.category, 0) + 1
        # Entries the crawl does not know never decide the place.
        earlier = [e for e in section.entries if order.get(e.id or "", math.inf) < item.paper.position]
        if earlier:
            placed.blocks.setdefault(earlier[-1].end, []).append(("after", item))
        else:
            offset = section.entries[0].start if section.entries else section.header_end
            placed.blocks.setdefault(offset, []).append(("before", item))
    return placed


def _numbers(layout: Layout, placed: _Placement, tail: int) -> dict[int, int]:
    """``id()`` of every entry, old and new, to its index in document order."""
    ordinals: list[tuple[int, int, int, _Entry | Restored]] = [
        (entry.start, 1, 0, entry) for s in layout.sections for entry in s.entries
    ]
    for offset, items in placed.blocks.items():  # inserted before an entry sorts first
        ordinals += [(offset, 0, k, item) for k, (_, item) in enumerate(items)]
    new = [item for items in placed.new_sections.values() for item in items]
    ordinals += [(tail, 2, k, item) for k, item in enumerate(new)]
    ordinals.sort(key=lambda o: o[:3])
    return {id(o[3]): number for number, o in enumerate(ordinals, start=1)}


def plan(layout: Layout, restored: Sequence[Restored], order: Mapping[str, int]) -> Plan:
    """Place every restored paper, then renumber all entries and recount touched sections.

    Computed afresh from the original layout each time, so the result does not depend
    on the order in which papers were restored.
    """
    placed = _place(layout, restored, order)
    ends = [e.end for s in layout.sections for e in s.entries] + [s.header_end for s in layout.sections]
    tail = max(ends, default=len(layout.data))  # after the last entry: where new sections go
    index = _numbers(layout, placed, tail)
    eol = layout.eol

    result = Plan()
    for section in layout.sections:
        for entry in section.entries:
            number = str(index[id(entry)]).encode()
            if layout.data[slice(*entry.index_span)] != number:
                result.replacements[entry.index_span] = number
        if section.category in placed.added and section.total_span is not None:
            total = str(len(section.entries) + placed.added[section.category]).encode()
            if layout.data[slice(*section.total_span)] != total:
                result.replacements[section.total_span] = total
    for offset, items in placed.blocks.items():
        result.inserts[offset] = b"".join(
            layout.entry_gap + item.render(index[id(item)], eol)
            if kind == "after"
            else item.render(index[id(item)], eol) + layout.entry_gap
            for kind, item in items
        )
    if placed.new_sections:
        # At the end: upstream orders the categories it was not told to prefer by set
        # iteration, i.e. arbitrarily, so after the existing ones is as upstream as any.
        result.inserts[tail] = result.inserts.get(tail, b"") + b"".join(
            layout.section_gap
            + layout.section_header(category)
            + layout.entry_gap.join(item.render(index[id(item)], eol) for item in items)
            for category, items in placed.new_sections.items()
        )
        if layout.toc_end is not None:
            lead = b"" if layout.data[layout.toc_end - 1 : layout.toc_end] == b"\n" else eol
            result.inserts[layout.toc_end] = lead + b"".join(
                f"- [{category}](#{category}) [Total: {len(items)}]".encode() + eol
                for category, items in placed.new_sections.items()
            )
    return result
