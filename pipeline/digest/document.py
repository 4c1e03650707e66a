"""The format-independent digest model: papers, notices, edits, and ``load``.

A document keeps the exact bytes it was read from and a list of papers that point into
them. Changing a field or inserting a paper records an edit; ``render`` splices the edits
into the original bytes, so every byte outside a changed value comes back as it was read.

Bytes, not text: a digest is mostly English abstracts with Chinese summaries, and Python
stores such a string in two bytes per character, plus a second copy while decoding. Kept
as bytes, a digest costs its size once; each paper decodes only its own short values, and
its abstract when asked.
"""

from __future__ import annotations

import codecs
import re
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .fields import FIELDS
from .placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from .write import fingerprint

_ARXIV_ID = re.compile(r"arxiv\.org/(?:abs|pdf)/(.+?)(?:v\d+)?(?:\.pdf)?/?$")


def arxiv_id_from_url(url: str) -> str | None:
    """``2601.07839`` from ``https://arxiv.org/abs/2601.07839v2`` (None for other URLs)."""
    match = _ARXIV_ID.search(url.strip())
    return match.group(1) if match else None


@dataclass(frozen=True)
class Notice:
    """A line-level problem in a file that was otherwise read (kept verbatim, reported).

    ``level`` is ``"error"`` when part of the file could not be parsed (scan exits 2) and
    ``"warning"`` when everything was parsed but deserves a look (duplicate ids).
    """

    line: int
    message: str
    level: str = "error"

    def as_dict(self) -> dict[str, int | str]:
        return {"line": self.line, "level": self.level, "message": self.message}


@dataclass(frozen=True)
class CrawlPaper:
    """One paper of the crawl; ``record`` is its JSON object, keys in the crawl's order."""

    position: int  # 1-based, first occurrence in the crawl
    record: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def title(self) -> str:
        return str(self.record.get("title") or "")

    @property
    def category(self) -> str:
        """The main category, ``categories[0]``: the Markdown section the paper belongs in."""
        categories = self.record.get("categories")
        return str(categories[0]) if isinstance(categories, list) and categories else ""

    @property
    def authors(self) -> list[str]:
        authors = self.record.get("authors")
        return [str(a) for a in authors] if isinstance(authors, list) else []

    @property
    def abstract(self) -> str:
        return str(self.record.get("summary") or "")

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "category": self.category}


# The values a Markdown paper keeps the byte span of: those an edit replaces, and the abstract.
SPANNED: tuple[str, ...] = (*FIELDS, "abstract")


@dataclass(eq=False, slots=True)
class Paper:
    """One paper entry; ``fields`` maps each AI field to its text (None when absent). It is
    read-only: ``Document.set_field`` changes a value, and ``fields`` then shows the new one.

    The abstract is read from the document when asked for: it is most of a digest, and
    only the papers being repaired (and the prompt's examples) need it. ``offsets`` holds
    the byte spans of ``SPANNED`` in the file, two numbers each (Markdown only: a JSONL
    paper is its line, ``line``); ``spans`` shows them by name.
    """

    index: int
    id: str
    title: str
    url: str
    authors: str
    category: str
    fields: Mapping[str, str | None]
    line: int
    read_abstract: Callable[[], str] = field(repr=False)
    offsets: array[int] | None = field(default=None, repr=False)

    @property
    def abstract(self) -> str:
        return self.read_abstract()

    @property
    def spans(self) -> dict[str, tuple[int, int]]:
        """``{"tldr": (start, end), ..., "abstract": ...}``: byte offsets into the file."""
        o = self.offsets
        return {} if o is None else {name: (o[2 * i], o[2 * i + 1]) for i, name in enumerate(SPANNED)}

    def failed(self, matcher: PlaceholderMatcher = DEFAULT_MATCHER) -> tuple[str, ...]:
        """The fields that are missing, blank or a failure placeholder."""
        return tuple(name for name in FIELDS if matcher.is_failed(self.fields.get(name)))

    @property
    def failed_fields(self) -> tuple[str, ...]:
        return self.failed()


@dataclass
class Document(ABC):
    """A parsed digest file. Subclasses know their markup; this class knows the rest."""

    path: Path
    data: bytes
    papers: list[Paper] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    # The hash of the bytes read (``write.fingerprint``): the writer checks the file still has them.
    source_sha256: str | None = field(default=None, repr=False)

    format: str = "digest"

    @abstractmethod
    def set_field(self, paper: Paper, name: str, value: str) -> None:
        """Replace one AI field of ``paper``; only that value's bytes change on render."""

    @abstractmethod
    def insert_paper(self, paper: CrawlPaper, fields: Mapping[str, str], order: Mapping[str, int]) -> None:
        """Add a paper the digest lacks, with all five ``fields``, where ``order`` (arXiv id
        to crawl position) puts it; ``papers`` stays as parsed, the change shows on render."""

    @abstractmethod
    def chunks(self) -> Iterator[bytes]:
        """The document's bytes with every recorded change applied, piece by piece: the
        writer streams them, so a large digest is never held twice in memory."""

    @property
    @abstractmethod
    def changed(self) -> bool:
        """True once any field was set to a value different from the original, or a paper inserted."""

    def render(self) -> bytes:
        """The bytes to write: the input, byte for byte, where nothing changed."""
        return self.data if not self.changed else b"".join(self.chunks())

    @property
    def is_crawl(self) -> bool:
        """True for upstream's raw crawl (papers without any AI fields), not a digest."""
        return False

    def present_ids(self) -> set[str]:
        """Every arXiv id the file holds, entries kept verbatim included."""
        return {paper.id for paper in self.papers}

    def unidentified_lines(self) -> list[int]:
        """Lines of entries kept verbatim whose arXiv id cannot be read: while there are
        any, which papers the file lacks is unknown, so none may be restored into it."""
        return []

    def find(self, arxiv_id: str) -> list[Paper]:
        return [paper for paper in self.papers if paper.id == arxiv_id]

    def duplicate_notices(self) -> list[Notice]:
        """One notice per repeated arXiv id (the papers themselves are all kept)."""
        first_line: dict[str, int] = {}
        notices = []
        for paper in self.papers:
            if paper.id in first_line:
                message = f"duplicate arXiv id {paper.id} (first at line {first_line[paper.id]})"
                notices.append(Notice(paper.line, message, level="warning"))
            else:
                first_line[paper.id] = paper.line
        return notices


_VALIDATE_CHUNK = 1 << 20


def read_source(path: Path) -> tuple[bytes, str]:
    """A digest's exact bytes, checked to be UTF-8 text, and their ``fingerprint``; or
    InputError saying why the file is unusable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file or directory") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if not data or data.isspace():  # not strip(): that copies a large file
        raise InputError(path, "empty file")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise InputError(path, "binary file (contains NUL bytes), not a digest", line=line)
    if not _is_utf8(data):
        try:  # only a broken file pays for decoding it whole, to say where it breaks
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            message = f"not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded)"
            raise InputError(path, message, line=line) from None
    return data, fingerprint(data)


def _is_utf8(data: bytes) -> bool:
    """Validate piece by piece: decoding the whole file at once would cost twice its size."""
    if data.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _VALIDATE_CHUNK):
            decoder.decode(view[start : start + _VALIDATE_CHUNK], final=start + _VALIDATE_CHUNK >= len(data))
    except UnicodeDecodeError:
        return False
    return True
