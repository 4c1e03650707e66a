"""Turn the paths a user gave into the digest files to read, in a stable order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

DIGEST_SUFFIXES = (".md", ".jsonl")


@dataclass(frozen=True)
class Candidate:
    """A file to read; ``explicit`` when the user named it (then it is read by content).

    ``root`` is the folder the user named, so ``--out DIR`` can mirror the layout below it.
    """

    path: Path
    explicit: bool
    root: Path | None = None


def discover(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Candidate | InputError]:
    """Yield each named file, and each ``*.md``/``*.jsonl`` below each named folder.

    A file reached twice (named and inside a named folder, or through a symbolic link) is
    yielded once: read twice, its second write would clobber the first. Problems are
    yielded, not raised, so one bad path never stops the others.
    """
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in DIGEST_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                yield InputError(path, "no *.md or *.jsonl digests in this folder")
            candidates = [Candidate(p, explicit=False, root=path) for p in found]
        elif path.exists():
            candidates = [Candidate(path, explicit=True)]
        else:
            yield InputError(path, "no such file or directory")
            continue
        for candidate in candidates:
            real = candidate.path.resolve()
            if real not in seen:
                seen.add(real)
                yield candidate
