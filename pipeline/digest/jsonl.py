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
from .insert import BOM

_LINE = re.compile(rb"[^\n]*\n|[^\n]+")
_KEPT_ID = re.compile(rb'"id"\s*:\s*"([^"\\]+)"')


def _split_eol(raw: bytes) -> tuple[bytes, bytes]:
    """``(b'{...}', b'\r\n')``: a line's content and its own line ending (maybe none)."""
    body = raw.removesuffix(b"\n")
    body = body.removesuffix(b"\r") if body != raw else body
    return body, raw[len(body) :]


def looks_like_jsonl(data: bytes) -> bool:
    """The first non-blank line is a JSON object."""
    start = len(BOM) if data.startswith(BOM) else 0
    while start < len(data) and data[start] in b"\r\n\t ":
        start += 1
    match = _LINE.match(data, start)
    if match is None:
        return False
    try:
        return isinstance(json.loads(match.group()), dict)
    except ValueError:
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
    """The style that round-trips the file's first lines (decoded); else a best guess."""
    for style in _STYLES:
        if samples and all(style.dumps(obj) == raw for raw, obj in samples):
            return style
    raw = samples[0][0] if samples else ""
    ensure_ascii = raw.isascii()
    separators = (", ", ": ") if '", "' in raw or '": ' in raw else (",", ":")
    return JsonStyle(ensure_ascii, separators)


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
    """A JSONL file as its bytes plus where each line starts.

    Objects are parsed to read their papers and then dropped; a line is parsed again only
    to be edited (its new object kept until rendering). A large file thus costs its bytes
    and the papers' short fields, not a tree of every object.
    """

    format: str = "jsonl"
    style: JsonStyle = field(default_factory=JsonStyle)
    _bounds: list[int] = field(default_factory=lambda: [0], repr=False)  # line n is bytes [n-1, n)
    _kept: list[int] = field(default_factory=list, repr=False)  # non-blank lines that are not objects
    # line -> {AI key: new value}; the object is rebuilt when rendered, not kept meanwhile.
    _edited: dict[int, dict[str, str]] = field(default_factory=dict, repr=False)
    _has_ai: bool = field(default=False, repr=False)
    _keys: dict[str, str] = field(default_factory=lambda: {name: name for name in FIELDS}, repr=False)
    # Restored papers: the line number they follow (0: the file's start) -> (crawl position, object).
    _inserted: dict[int, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, path: Path, data: bytes | str) -> JsonlDigest:
        """Parse a file's bytes (text is encoded first, for convenience)."""
        data = data.encode("utf-8") if isinstance(data, str) else data
        doc = cls(path=path, data=data)
        samples: list[tuple[str, Any]] = []
        keys_found = False
        for number, match in enumerate(_LINE.finditer(data), start=1):
            doc._bounds.append(match.end())
            body = doc._body(number)
            if not body.strip():
                continue
            try:
                obj = json.loads(body)
            except json.JSONDecodeError as exc:
                doc.notices.append(Notice(number, f"not JSON ({exc.msg}); line kept as is"))
                doc._kept.append(number)
                continue
            if not isinstance(obj, dict):
                doc.notices.append(Notice(number, "JSON value is not an object; line kept as is"))
                doc._kept.append(number)
                continue
            ai = obj.get("AI")
            doc._has_ai = doc._has_ai or "AI" in obj
            if not keys_found and isinstance(ai, dict) and ai:
                doc._keys, keys_found = {name: _ai_key(ai, name) for name in FIELDS}, True
            if len(samples) < 3:
                samples.append((body.decode("utf-8"), obj))
            doc.papers.append(doc._paper_from(obj, number, len(doc.papers) + 1))
        doc.style = _sniff_style(samples)
        doc.notices.extend(doc.duplicate_notices())
        return doc

    def _raw(self, number: int) -> bytes:
        """Line ``number`` exactly as read, end of line included."""
        return self.data[self._bounds[number - 1] : self._bounds[number]]

    def _body(self, number: int) -> bytes:
        body, _ = _split_eol(self._raw(number))
        return body.removeprefix(BOM) if number == 1 else body

    def _object(self, number: int) -> dict[str, Any]:
        """The line's object as read, parsed again from the file."""
        loaded: dict[str, Any] = json.loads(self._body(number))
        return loaded

    def _edited_object(self, number: int) -> dict[str, Any]:
        """The line's object with its edits applied (``"AI"`` made an object if it was not)."""
        obj = self._object(number)
        if not isinstance(obj.get("AI"), dict):
            obj["AI"] = {}  # upstream puts "AI" last; a stray non-object value is replaced in place
        obj["AI"].update(self._edited.get(number, {}))
        return obj

    def _paper_from(self, obj: dict[str, Any], line: int, index: int) -> Paper:
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
            fields={name: _field_value(ai, name) for name in FIELDS},
            line=line,
            read_abstract=lambda: str(self._object(line).get("summary") or ""),
        )

    def set_field(self, paper: Paper, name: str, value: str) -> None:
        if name not in FIELDS:
            raise KeyError(name)
        ai = self._object(paper.line).get("AI")
        key = _ai_key(ai, name) if isinstance(ai, dict) else name
        edits = self._edited.setdefault(paper.line, {})
        edits[key] = value
        if isinstance(ai, dict) and all(ai.get(k) == v for k, v in edits.items()):
            del self._edited[paper.line]  # set back to what the file has: unchanged
        paper.fields = {**paper.fields, name: value}

    def insert_paper(self, paper: CrawlPaper, fields: Mapping[str, str], order: Mapping[str, int]) -> None:
        # After the last line whose paper comes earlier in the crawl, else before the first
        # paper; ids the crawl does not know never decide the place.
        after = self.papers[0].line - 1 if self.papers else len(self._bounds) - 1
        for existing in self.papers:
            position = order.get(existing.id)
            if position is not None and position < paper.position:
                after = existing.line
        # Like upstream: the crawl's keys in the crawl's order, then "AI" last.
        obj = {key: value for key, value in paper.record.items() if key != "AI"}
        obj["AI"] = {self._keys[name]: fields[name] for name in FIELDS}
        self._inserted.setdefault(after, []).append((paper.position, obj))

    def present_ids(self) -> set[str]:
        # A line kept as is (not JSON) still holds its paper: never restore it twice.
        kept = (_KEPT_ID.search(self._raw(number)) for number in self._kept)
        return super().present_ids() | {found[1].decode("utf-8", "replace") for found in kept if found}

    def unidentified_lines(self) -> list[int]:
        return [number for number in self._kept if not _KEPT_ID.search(self._raw(number))]

    @property
    def changed(self) -> bool:
        return bool(self._inserted or self._edited)

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(line number, JSON object)`` of every object line, in file order."""
        for paper in self.papers:
            yield paper.line, self._object(paper.line)

    @property
    def is_crawl(self) -> bool:
        return bool(self.papers) and not self._has_ai

    def chunks(self) -> Iterator[bytes]:
        if not self.changed:
            yield self.data
            return
        data, bounds = self.data, self._bounds
        pos = 0
        if 0 in self._inserted and data.startswith(BOM):
            yield BOM  # the BOM stays the file's first character
            pos = len(BOM)
        for number in sorted(set(self._edited) | set(self._inserted)):
            if number in self._edited:
                start = max(bounds[number - 1], pos)
                yield data[pos:start]
                yield self._serialise(number, bom=data.startswith(BOM, start))
                pos = bounds[number]
            if number in self._inserted:
                yield data[pos : bounds[number]]
                pos = max(pos, bounds[number])
                yield self._insertion(number)
        yield data[pos:]

    def _eol(self) -> bytes:
        """The file's line ending, from its first line that has one."""
        for number in range(1, len(self._bounds)):
            eol = _split_eol(self._raw(number))[1]
            if eol:
                return eol
        return b"\n"

    def _insertion(self, after: int) -> bytes:
        """The restored lines that follow line ``after``, in crawl order."""
        objs = [obj for _, obj in sorted(self._inserted.get(after, ()), key=lambda item: item[0])]
        if not objs:
            return b""
        eol = self._eol()
        bodies = [self.style.dumps(obj).encode("utf-8") for obj in objs]
        if after and not _split_eol(self._raw(after))[1]:
            return b"".join(eol + body for body in bodies)  # no final newline before, none after
        return b"".join(body + eol for body in bodies)

    def _serialise(self, number: int, *, bom: bool) -> bytes:
        body = self.style.dumps(self._edited_object(number)).encode("utf-8")
        return (BOM if bom else b"") + body + _split_eol(self._raw(number))[1]
