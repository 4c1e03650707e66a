"""Accepted generations and remembered failures in SQLite, so nothing is paid for twice.

Each accepted generation is committed the moment it is accepted (WAL journal), before any
digest is written: a run killed with SIGKILL and started again finds it here. A paper
whose answers the model keeps getting wrong is remembered too: after ``give_up_after``
failed nights it is skipped (``gave_up``) until its abstract, the model or the prompt
changes, which all change its key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..contracts import Generation, PaperRequest, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    arxiv_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    meta TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY,
    arxiv_id TEXT NOT NULL,
    content TEXT NOT NULL,
    reasons TEXT NOT NULL,
    message TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    nights INTEGER NOT NULL,
    last_night TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_by_paper ON failures (arxiv_id, content);
"""


def content_hash(title: str, abstract: str) -> str:
    """The paper's text as the model sees it: a new abstract version is a new paper."""
    return hashlib.sha256(f"{title}\x00{abstract}".encode()).hexdigest()


def cache_key(request: PaperRequest, model: str, prompt_version: str) -> str:
    """Everything that changes the answer: paper text, fields, language, model, prompt."""
    content = content_hash(request.title, request.abstract)
    parts = [request.id, content, ",".join(request.fields), request.language, model, prompt_version]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def tonight() -> str:
    """The local date of a run: two runs on one night count as one failed night."""
    return dt.date.today().isoformat()


@dataclass(frozen=True)
class Failure:
    """What the cache remembers of a paper the model's answers failed on."""

    arxiv_id: str
    reasons: tuple[str, ...]
    message: str
    attempts: int
    nights: int
    last_night: str
    model: str
    prompt_version: str

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "reasons": list(self.reasons)}


class GenerationCache:
    """A small store of accepted generations and failures; safe to share across asyncio tasks."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        if readonly:  # scan: look, never create or change
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def get(self, key: str) -> Generation | None:
        row = self._db.execute("SELECT fields, meta FROM generations WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        meta = json.loads(row[1])
        usage = Usage(**meta.pop("usage", {}))
        meta["checked"] = False  # the thresholds may have changed since: validate again
        return Generation(fields=json.loads(row[0]), usage=usage, **meta)

    def put(self, key: str, arxiv_id: str, generation: Generation) -> None:
        """Keep an accepted generation; the paper's failures are forgotten with it."""
        meta = asdict(generation)
        fields = meta.pop("fields")
        self._db.execute(
            "INSERT OR REPLACE INTO generations (key, arxiv_id, fields, meta, created) VALUES (?, ?, ?, ?, ?)",
            (key, arxiv_id, json.dumps(fields, ensure_ascii=False), json.dumps(meta), time.time()),
        )
        self._db.execute("DELETE FROM failures WHERE key = ?", (key,))

    def record_failure(
        self,
        key: str,
        request: PaperRequest,
        reasons: list[str],
        message: str,
        *,
        attempts: int,
        model: str,
        prompt_version: str,
        night: str,
    ) -> Failure:
        """Count one more failed night for the paper (a second run the same night does not)."""
        previous = self.failure(key)
        nights = 1 if previous is None else previous.nights + (previous.last_night != night)
        total = attempts + (previous.attempts if previous else 0)
        self._db.execute(
            "INSERT OR REPLACE INTO failures (key, arxiv_id, content, reasons, message, attempts, nights, "
            "last_night, model, prompt_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                request.id,
                content_hash(request.title, request.abstract),
                json.dumps(sorted(reasons)),
                message,
                total,
                nights,
                night,
                model,
                prompt_version,
            ),
        )
        return Failure(request.id, tuple(sorted(reasons)), message, total, nights, night, model, prompt_version)

    def failure(self, key: str) -> Failure | None:
        row = self._db.execute(f"SELECT {_FAILURE_COLUMNS} FROM failures WHERE key = ?", (key,)).fetchone()
        return _failure(row) if row else None

    def failures_of(self, arxiv_id: str, title: str, abstract: str) -> list[Failure]:
        """Every remembered failure of this text of the paper, whatever the model or prompt
        (``scan`` knows neither)."""
        rows = self._db.execute(
            f"SELECT {_FAILURE_COLUMNS} FROM failures WHERE arxiv_id = ? AND content = ? ORDER BY nights DESC",
            (arxiv_id, content_hash(title, abstract)),
        ).fetchall()
        return [_failure(row) for row in rows]

    def close(self) -> None:
        self._db.close()


_FAILURE_COLUMNS = "arxiv_id, reasons, message, attempts, nights, last_night, model, prompt_version"


def _failure(row: tuple[str, str, str, int, int, str, str, str]) -> Failure:
    arxiv_id, reasons, message, attempts, nights, last_night, model, prompt_version = row
    return Failure(arxiv_id, tuple(json.loads(reasons)), message, attempts, nights, last_night, model, prompt_version)
