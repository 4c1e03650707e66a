"""Open a digest by content, whatever its extension (the seeds end in ``.txt``)."""

from __future__ import annotations

import os
from pathlib import Path

from .document import Document, read_text
from .errors import NotADigest
from .jsonl import JsonlDigest, looks_like_jsonl
from .markdown import MarkdownDigest, looks_like_markdown


def load(path: str | os.PathLike[str]) -> Document:
    """Parse a Markdown or JSONL digest; InputError (naming file and line) if it is neither."""
    path = Path(path)
    text = read_text(path)
    if looks_like_jsonl(text):
        return JsonlDigest.parse(path, text)
    if looks_like_markdown(text):
        return MarkdownDigest.parse(path, text)
    raise NotADigest(path, "not a digest: neither '### [N] [Title](url)' entries nor JSON lines", line=1)
