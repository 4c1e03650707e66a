"""The upstream's JSON Lines files: ``*_AI_enhanced_<Language>.jsonl`` and the raw crawl.

One paper per line, AI fields under ``"AI"``, the abstract in ``"summary"``. Lines that
are not changed are written back byte for byte; a changed line is serialised again in
the file's own style (key order kept, ``\\uXXXX`` escapes or raw UTF-8 as the file has).
A restored paper is a new line in that style, placed by crawl order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .document import CrawlPaper, Document, Notice, Paper, arxiv_id_from_url
from .fields import FIELDS, LEGACY_KEYS

_LINE = re.compile(r"[^\n]*\n|[^\n]+")
_KEPT_ID = re.compile(r'"id"\s*:\s*"([^"\\]+)"')


def _split_eol(raw: str) -> tuple[str, str]:
    """``('{...}', '\r\n')``: a line's content and its own line ending (maybe none)."""
    body = raw.removesuffix("\n")
    body = body.removesuffix("\r") if body != raw else body
    return body, raw[len(body) :]


def looks_like_jsonl(text: str) -> bool:
    """The first non-blank line is a JSON object."""
    for match in _LINE.finditer(text.lstrip("\ufeff\r\n\t ")):
        try:
            return isinstance(json.loads(match.group()), dict)
        except ValueError:
            return False
    return False


@dataclass(frozen=True)
class JsonStyle:
    """How ``json.dumps`` must be called to reproduce this file's lines."""

    ensure_ascii: bool = True
    separators: tuple[str, str] = (", ", ": ")

    def dumps(self, obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=self.ensure_ascii, separators=self.separators)


_STYLES = tuple(JsonStyle(ascii_, seps) for ascii_ in (True, False) for seps in ((", ", ": "), (",", ":")))


def _sniff_style(samples: list[tuple[str, Any]]) -> JsonStyle:
    """The style that round-trips the file's first lines; else a best guess from them."""
    for style in _STYLES:
        if samples and all(style.dumps(obj) == raw for raw, obj in samples):
            return style
    raw = samples[0][0] if samples else ""
    ensure_ascii = raw.isascii()
    separators = (", ", ": ") if '", "' in raw or '": ' in raw else (",", ":")
    return JsonStyle(ensure_ascii, separators)


@dataclass
class _Line:
    raw: str  # exactly as read, end of line included
    obj: dict[str, Any] | None  # None for blank or unreadable lines
    dirty: bool = False


def _ai_key(ai: dict[str, Any], name: str) -> str:
    """The key a field lives under: ``tldr``, or the legacy ``task`` where only that exists."""
    if name not in ai:
        for legacy, canonical in LEGACY_KEYS.items():
            if canonical == name and legacy in ai:
                return legacy
    return name


def _field_value(ai: Any, name: str) -> str | None:
    if not isinstance(ai, dict):
        return None
    value = ai.get(_ai_key(ai, name))
    return value if isinstance(value, str) else None


@dataclass
class JsonlDigest(Document):
    format: str = "jsonl"
    style: JsonStyle = field(default_factory=JsonStyle)
    _lines: list[_Line] = field(default_factory=list, repr=False)
    # Restored papers: the line number they follow (0: the file's start) -> (crawl position, object).
    _inserted: dict[int, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, path: Path, text: str) -> JsonlDigest:
        doc = cls(path=path, text=text)
        samples: list[tuple[str, Any]] = []
        for number, match in enumerate(_LINE.finditer(text), start=1):
            raw = match.group()
            body, _ = _split_eol(raw)
            if number == 1:
                body = body.removeprefix("\ufeff")
            line = _Line(raw, None)
            doc._lines.append(line)
            if not body.strip():
                continue
            try:
                obj = json.loads(body)
            except json.JSONDecodeError as exc:
                doc.notices.append(Notice(number, f"not JSON ({exc.msg}); line kept as is"))
                continue
            if not isinstance(obj, dict):
                doc.notices.append(Notice(number, "JSON value is not an object; line kept as is"))
                continue
            line.obj = obj
            if len(samples) < 3:
                samples.append((body, obj))
            doc.papers.append(_paper_from(obj, number, len(doc.papers) + 1))
        doc.style = _sniff_style(samples)
        doc.notices.extend(doc.duplicate_notices())
        return doc

    def set_field(self, paper: Paper, name: str, value: str) -> None:
        if name not in FIELDS:
            raise KeyError(name)
        line = self._lines[paper.line - 1]
        assert line.obj is not None
        ai = line.obj.get("AI")
        if not isinstance(ai, dict):
            # Upstream puts "AI" last; a stray non-object value is replaced in place.
            ai = {}
            line.obj["AI"] = ai
        key = _ai_key(ai, name)
        if ai.get(key) != value:
            ai[key] = value
            line.dirty = True
        paper.fields[name] = value

    def insert_paper(self, paper: CrawlPaper, fields: Mapping[str, str], order: Mapping[str, int]) -> None:
        # After the last line whose paper comes earlier in the crawl, else before the first
        # paper; ids the crawl does not know never decide the place.
        after = self.papers[0].line - 1 if self.papers else len(self._lines)
        for existing in self.papers:
            position = order.get(existing.id)
            if position is not None and position < paper.position:
                after = existing.line
        # Like upstream: the crawl's keys in the crawl's order, then "AI" last.
        obj = {key: value for key, value in paper.record.items() if key != "AI"}
        obj["AI"] = {self._ai_keys()[name]: fields[name] for name in FIELDS}
        self._inserted.setdefault(after, []).append((paper.position, obj))

    def present_ids(self) -> set[str]:
        # A line kept as is (not JSON) still holds its paper: never restore it twice.
        kept = (_KEPT_ID.search(line.raw) for line in self._lines if line.obj is None)
        return super().present_ids() | {found[1] for found in kept if found}

    def unidentified_lines(self) -> list[int]:
        return [
            number
            for number, line in enumerate(self._lines, start=1)
            if line.obj is None and line.raw.strip() and not _KEPT_ID.search(line.raw)
        ]

    def _ai_keys(self) -> dict[str, str]:
        """Field name to key as this file writes it (``task`` in pre-April-2025 files)."""
        for line in self._lines:
            ai = line.obj.get("AI") if line.obj is not None else None
            if isinstance(ai, dict) and ai:
                return {name: _ai_key(ai, name) for name in FIELDS}
        return {name: name for name in FIELDS}

    @property
    def changed(self) -> bool:
        return bool(self._inserted) or any(line.dirty for line in self._lines)

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(line number, JSON object)`` of every object line, in file order."""
        for number, line in enumerate(self._lines, start=1):
            if line.obj is not None:
                yield number, line.obj

    @property
    def is_crawl(self) -> bool:
        return bool(self.papers) and not any(line.obj is not None and "AI" in line.obj for line in self._lines)

    def render_text(self) -> str:
        if not self.changed:
            return self.text
        parts = [self._insertion(0)]
        for number, line in enumerate(self._lines, start=1):
            parts += [self._serialise(line) if line.dirty else line.raw, self._insertion(number)]
        if parts[0] and self.text.startswith("\ufeff"):  # the BOM stays the file's first character
            parts[0], parts[1] = "\ufeff" + parts[0], parts[1].removeprefix("\ufeff")
        return "".join(parts)

    def _insertion(self, after: int) -> str:
        """The restored lines that follow line ``after``, in crawl order."""
        objs = [obj for _, obj in sorted(self._inserted.get(after, ()), key=lambda item: item[0])]
        if not objs:
            return ""
        eol = next((_split_eol(line.raw)[1] for line in self._lines if _split_eol(line.raw)[1]), "\n")
        bodies = [self.style.dumps(obj) for obj in objs]
        if after and not _split_eol(self._lines[after - 1].raw)[1]:
            return "".join(eol + body for body in bodies)  # no final newline before, none after
        return "".join(body + eol for body in bodies)

    def _serialise(self, line: _Line) -> str:
        bom = "\ufeff" if line.raw.startswith("\ufeff") else ""
        return bom + self.style.dumps(line.obj) + _split_eol(line.raw)[1]


def _paper_from(obj: dict[str, Any], line: int, index: int) -> Paper:
    ai = obj.get("AI")
    url = str(obj.get("abs") or obj.get("pdf") or "")
    categories = obj.get("categories") or []
    raw_id = obj.get("id")
    return Paper(
        index=index,
        id=str(raw_id) if raw_id else (arxiv_id_from_url(url) or f"line-{line}"),
        title=str(obj.get("title") or ""),
        url=url,
        authors=", ".join(map(str, obj.get("authors") or [])),
        category=str(categories[0]) if isinstance(categories, list) and categories else "",
        abstract=str(obj.get("summary") or ""),
        fields={name: _field_value(ai, name) for name in FIELDS},
        line=line,
    )
