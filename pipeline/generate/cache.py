"""Accepted generations in SQLite, so no accepted answer is ever paid for twice.

Each accepted generation is committed the moment it is accepted (WAL journal), before any
digest is written: a run killed with SIGKILL and started again finds it here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

from ..contracts import Generation, PaperRequest, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    arxiv_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    meta TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(request: PaperRequest, model: str, prompt_version: str) -> str:
    """Everything that changes the answer: paper text, fields, language, model, prompt."""
    content = hashlib.sha256(f"{request.title}\x00{request.abstract}".encode()).hexdigest()
    parts = [request.id, content, ",".join(request.fields), request.language, model, prompt_version]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class GenerationCache:
    """A small key-value store of accepted generations; safe to share across asyncio tasks."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get(self, key: str) -> Generation | None:
        row = self._db.execute("SELECT fields, meta FROM generations WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        meta = json.loads(row[1])
        usage = Usage(**meta.pop("usage", {}))
        meta["checked"] = False  # the thresholds may have changed since: validate again
        return Generation(fields=json.loads(row[0]), usage=usage, **meta)

    def put(self, key: str, arxiv_id: str, generation: Generation) -> None:
        meta = asdict(generation)
        fields = meta.pop("fields")
        self._db.execute(
            "INSERT OR REPLACE INTO generations (key, arxiv_id, fields, meta, created) VALUES (?, ?, ?, ?, ?)",
            (key, arxiv_id, json.dumps(fields, ensure_ascii=False), json.dumps(meta), time.time()),
        )

    def close(self) -> None:
        self._db.close()
