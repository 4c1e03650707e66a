"""Open digests by content, whatever their extension (the seeds end in ``.txt``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import InputError, NotADigest
from .discover import Candidate, discover
from .document import Document, read_source
from .jsonl import JsonlDigest, looks_like_jsonl
from .markdown import MarkdownDigest, looks_like_markdown


def load(path: str | os.PathLike[str]) -> Document:
    """Parse a Markdown or JSONL digest; InputError (naming file and line) if it is neither."""
    path = Path(path)
    data, sha256 = read_source(path)
    document: Document
    if looks_like_jsonl(data):
        document = JsonlDigest.parse(path, data)
    elif looks_like_markdown(data):
        document = MarkdownDigest.parse(path, data)
    else:
        raise NotADigest(path, "not a digest: neither '### [N] [Title](url)' entries nor JSON lines", line=1)
    document.source_sha256 = sha256
    return document


def open_candidate(candidate: Candidate) -> Document | None:
    """Load a discovered file, or None when a folder walk should pass over it quietly.

    Raises InputError for files the user named that cannot be used. A raw crawl file
    (JSON lines without any ``"AI"`` object) is never a digest: read as one, every paper
    in it would look failed.
    """
    try:
        document = load(candidate.path)
    except NotADigest:
        if candidate.explicit:
            raise
        return None
    if document.is_crawl:
        if candidate.explicit:
            raise NotADigest(candidate.path, 'upstream\'s raw crawl (no "AI" fields), not a digest', line=1)
        return None
    return document


def iter_documents(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Document | InputError]:
    """Every digest under ``paths``, one at a time; problems are yielded, never raised."""
    for candidate in discover(paths):
        if isinstance(candidate, InputError):
            yield candidate
            continue
        try:
            document = open_candidate(candidate)
        except InputError as exc:
            yield exc
            continue
        if document is not None:
            yield document
