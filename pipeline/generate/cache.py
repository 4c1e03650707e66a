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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..contracts import Example, Generation, PaperRequest, Prior, Problem, Usage

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
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    requests INTEGER NOT NULL,
    submitted REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_requests (
    custom_id TEXT PRIMARY KEY,
    batch_id TEXT,
    key TEXT NOT NULL,
    request TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS batch_requests_by_key ON batch_requests (key);
CREATE INDEX IF NOT EXISTS batch_requests_by_batch ON batch_requests (batch_id);
CREATE TABLE IF NOT EXISTS priors (
    key TEXT PRIMARY KEY,
    answer TEXT NOT NULL,
    problems TEXT NOT NULL
);
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
        """Keep an accepted generation; the paper's failures and prior answer go with it."""
        meta = asdict(generation)
        fields = meta.pop("fields")
        self._db.execute(
            "INSERT OR REPLACE INTO generations (key, arxiv_id, fields, meta, created) VALUES (?, ?, ?, ?, ?)",
            (key, arxiv_id, json.dumps(fields, ensure_ascii=False), json.dumps(meta), time.time()),
        )
        self._db.execute("DELETE FROM failures WHERE key = ?", (key,))
        self._db.execute("DELETE FROM priors WHERE key = ?", (key,))

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

    # -- batches: submitted requests, until their answers are collected --------------------

    def stage(self, custom_id: str, key: str, request: PaperRequest) -> None:
        """A request written to a batch input file that is not submitted yet."""
        self._db.execute(
            "INSERT OR REPLACE INTO batch_requests (custom_id, batch_id, key, request) VALUES (?, NULL, ?, ?)",
            (custom_id, key, request_to_json(request)),
        )

    def submitted(self, batch_id: str, custom_ids: list[str], mode: str, model: str, prompt_version: str) -> None:
        """The staged requests ``custom_ids`` now belong to batch ``batch_id``, in one transaction."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO batches (id, mode, model, prompt_version, requests, submitted) VALUES (?, ?, ?, ?, ?, ?)",
                (batch_id, mode, model, prompt_version, len(custom_ids), time.time()),
            )
            self._db.executemany(
                "UPDATE batch_requests SET batch_id = ? WHERE custom_id = ?", [(batch_id, c) for c in custom_ids]
            )

    def drop_unsubmitted(self) -> None:
        """Staged requests of a run that died before submitting them: they are not pending."""
        self._db.execute("DELETE FROM batch_requests WHERE batch_id IS NULL")

    def open_batches(self) -> list[tuple[str, str]]:
        """``(batch id, response mode)`` of every batch whose answers are not collected yet."""
        return [(row[0], row[1]) for row in self._db.execute("SELECT id, mode FROM batches ORDER BY submitted")]

    def batch_requests(self, batch_id: str) -> dict[str, tuple[str, PaperRequest]]:
        """custom_id -> (cache key, request) of a batch."""
        rows = self._db.execute("SELECT custom_id, key, request FROM batch_requests WHERE batch_id = ?", (batch_id,))
        return {custom_id: (key, request_from_json(request)) for custom_id, key, request in rows}

    def pending(self, key: str) -> str | None:
        """The open batch the paper's request waits in, if any: never ask twice for it."""
        row = self._db.execute(
            "SELECT batch_id FROM batch_requests WHERE key = ? AND batch_id IS NOT NULL", (key,)
        ).fetchone()
        return str(row[0]) if row else None

    def close_batch(self, batch_id: str) -> None:
        """Its answers are collected (or its papers returned to the plan): forget it."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM batch_requests WHERE batch_id = ?", (batch_id,))
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))

    def set_prior(self, key: str, prior: Prior) -> None:
        """A batch's answer that failed validation: the next request re-asks with it."""
        problems = json.dumps([problem.as_dict() for problem in prior.problems], ensure_ascii=False)
        self._db.execute(
            "INSERT OR REPLACE INTO priors (key, answer, problems) VALUES (?, ?, ?)", (key, prior.answer, problems)
        )

    def prior(self, key: str) -> Prior | None:
        row = self._db.execute("SELECT answer, problems FROM priors WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        problems = tuple(Problem(p["code"], p["field"], p["message"]) for p in json.loads(row[1]))
        return Prior(row[0], problems)

    def close(self) -> None:
        self._db.close()

    # -- embeddings: the grounding check's vectors, by model and text hash ------------------

    def vectors(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The stored vectors among ``(model, text hash)`` keys (a missing one is left out)."""
        if not self._embeddings_table(create=False):
            return {}
        by_model: dict[str, list[str]] = {}
        for model, digest in keys:
            by_model.setdefault(model, []).append(digest)
        found: dict[tuple[str, str], bytes] = {}
        for model, digests in by_model.items():
            for start in range(0, len(digests), _VECTOR_KEYS_PER_QUERY):
                chunk = digests[start : start + _VECTOR_KEYS_PER_QUERY]
                marks = ", ".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({marks})",
                    [model, *chunk],
                )
                found.update(((model, digest), bytes(vector)) for digest, vector in rows)
        return found

    def put_vectors(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        """Keep ``(model, text hash, vector bytes)`` in one transaction."""
        if not items:
            return
        self._embeddings_table(create=True)
        now = time.time()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (model, text_hash, vector, created) VALUES (?, ?, ?, ?)",
                [(model, digest, vector, now) for model, digest, vector in items],
            )

    def _embeddings_table(self, *, create: bool) -> bool:
        """Whether the table exists, creating it on first write (older caches lack it; a
        read-only cache is never changed)."""
        if create:
            self._db.executescript(_EMBEDDINGS_SCHEMA)
            return True
        row = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'embeddings'").fetchone()
        return row is not None


# Kept apart from _SCHEMA: created by the first vector written. ``created`` lets a job
# prune vectors of days long repaired.
_EMBEDDINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;
"""
# Hashes per SELECT: SQLite before 3.32 allows 999 bound parameters per statement.
_VECTOR_KEYS_PER_QUERY = 900


_FAILURE_COLUMNS = "arxiv_id, reasons, message, attempts, nights, last_night, model, prompt_version"


def _failure(row: tuple[str, str, str, int, int, str, str, str]) -> Failure:
    arxiv_id, reasons, message, attempts, nights, last_night, model, prompt_version = row
    return Failure(arxiv_id, tuple(json.loads(reasons)), message, attempts, nights, last_night, model, prompt_version)


def request_to_json(request: PaperRequest) -> str:
    """A request as stored for a batch (its prior answer is stored apart, if any)."""
    return json.dumps(asdict(replace(request, prior=None)), ensure_ascii=False)


def request_from_json(text: str) -> PaperRequest:
    data = json.loads(text)
    data.pop("prior", None)
    examples = tuple(Example(**e) for e in data.pop("examples"))
    return PaperRequest(**{**data, "fields": tuple(data["fields"])}, examples=examples)
