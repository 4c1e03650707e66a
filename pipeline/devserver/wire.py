"""The requests and replies the devserver's handlers exchange with its HTTP layer.

Handlers (chat, embeddings, files, batches) take a ``Request`` and give a ``Reply``; only
``server.py`` speaks HTTP. Errors come in OpenAI's shape, ``{"error": {"message", "type",
"param", "code"}}``, which the ``openai`` SDK reads into ``.code``, ``.param`` and ``.body``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    """One HTTP request, its body read in full; header names lower-cased."""

    method: str
    path: str
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` when it is not."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Headers = ()
    content_type: str = "application/json"

    def encode(self, keep_alive: bool) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def json_reply(status: int, payload: Any, headers: Headers = ()) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers)


def error_reply(status: int, message: str, kind: str, headers: Headers = ()) -> Reply:
    """The short ``{message, type}`` error the devserver has always sent for its own faults."""
    return json_reply(status, {"error": {"message": message, "type": kind}}, headers)


def openai_error(
    message: str, kind: str = "invalid_request_error", *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error body, all four keys present as OpenAI sends them."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass(frozen=True)
class Refusal:
    """A request answered with an error instead of a result, and the outcome it counts as.

    The same refusal becomes an HTTP reply for a live request and a non-200 ``response``
    line of a batch's error file for a batch request.
    """

    outcome: str
    status: int
    payload: dict[str, Any]
    headers: Headers = ()

    def reply(self) -> Reply:
        return json_reply(self.status, self.payload, self.headers)


def invalid_request(message: str, *, param: str | None = None, code: str | None = None, status: int = 400) -> Refusal:
    """A 400 ``invalid_request_error``: the request itself is wrong."""
    return Refusal("bad_request", status, openai_error(message, code=code, param=param))


def cursor_page(items: list[dict[str, Any]], query: Mapping[str, str], *, default_limit: int, max_limit: int) -> Reply:
    """One page of a list in OpenAI's cursor shape: ``limit`` items after the ``after`` id."""
    try:
        limit = int(query.get("limit", default_limit))
    except ValueError:
        limit = 0
    if not 1 <= limit <= max_limit:
        message = f"Invalid 'limit': expected an integer between 1 and {max_limit}."
        return json_reply(400, openai_error(message, code="invalid_value", param="limit"))
    after = query.get("after")
    ids = [item["id"] for item in items]
    start = 0
    if after is not None:  # an unknown cursor ends the listing rather than restarting it
        start = ids.index(after) + 1 if after in ids else len(items)
    page = items[start : start + limit]
    return json_reply(
        200,
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": start + limit < len(items),
        },
    )
