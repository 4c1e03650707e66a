"""The Files API, in memory: ``/v1/files`` upload (multipart/form-data), list, retrieve, content, delete.

It checks what OpenAI checks at upload: the purpose, the size, and that a ``batch``
file is named ``*.jsonl``. A batch file's lines are read when a batch is created from it
(``batches.py``), where OpenAI reports their problems too: as a failed batch, not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .wire import Refusal, Reply, Request, cursor_page, invalid_request, json_reply, openai_error

FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
BATCH_FILE_LIFETIME = 30 * 24 * 3600  # OpenAI's default expiry of batch files
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PARAMETER = re.compile(r'\b(name|filename)="([^"]*)"', re.IGNORECASE)
_FILE_PATH = re.compile(r"^/v1/files/([^/]+)(/content)?$")


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_object(self) -> dict[str, Any]:
        """OpenAI's FileObject."""
        expires = self.created_at + BATCH_FILE_LIFETIME if self.purpose.startswith("batch") else None
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": expires,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass(frozen=True)
class FormField:
    """One part of a multipart/form-data body: a plain value has no filename."""

    data: bytes
    filename: str | None = None


def parse_multipart(content_type: str, body: bytes) -> dict[str, FormField]:
    """The fields of a multipart/form-data body, by name; raises ``ValueError`` if it is not one."""
    found = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or found is None:
        raise ValueError("Invalid Content-Type header: expected multipart/form-data with a boundary.")
    delimiter = b"--" + found.group(1).encode("latin-1")
    fields: dict[str, FormField] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, separator, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("A multipart/form-data part has no header.")
        parameters = {key.lower(): value for key, value in _PARAMETER.findall(head.decode("utf-8", "replace"))}
        if "name" in parameters:
            fields[parameters["name"]] = FormField(data.removesuffix(b"\r\n"), parameters.get("filename"))
    return fields


def missing(param: str) -> Refusal:
    return invalid_request(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def file_too_large() -> Refusal:
    """What OpenAI answers an upload over the size limit."""
    return invalid_request("File is too large.")


def no_such_file(file_id: str) -> Reply:
    return json_reply(404, openai_error(f"No such File object: {file_id}", param="id"))


class FileStore:
    """Uploaded files and the files batches write, with their counters."""

    def __init__(self, wall: Callable[[], float], max_bytes: int) -> None:
        self._wall = wall
        self._max_bytes = max_bytes
        self._files: dict[str, StoredFile] = {}
        self._created = 0
        self.uploaded = 0
        self.deleted = 0

    def add(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        self._created += 1
        stored = StoredFile(f"file-dev{self._created:06d}", filename, purpose, data, int(self._wall()))
        self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def stats(self) -> dict[str, int]:
        return {
            "uploaded": self.uploaded,
            "written": self._created - self.uploaded,
            "deleted": self.deleted,
            "stored": len(self._files),
            "bytes": sum(len(stored.data) for stored in self._files.values()),
        }

    def handle(self, request: Request) -> Reply:
        """Every ``/v1/files`` route."""
        if request.path == "/v1/files":
            if request.method == "POST":
                return self._upload(request)
            if request.method == "GET":
                return self._list(request)
        found = _FILE_PATH.match(request.path)
        if found is None:
            return json_reply(404, openai_error("Not Found"))
        file_id, content = found.groups()
        stored = self._files.get(file_id)
        if stored is None:
            return no_such_file(file_id)
        if request.method == "GET" and content:
            return Reply(200, stored.data, content_type="application/octet-stream")
        if request.method == "GET":
            return json_reply(200, stored.to_object())
        if request.method == "DELETE" and not content:
            del self._files[file_id]
            self.deleted += 1
            return json_reply(200, {"id": file_id, "object": "file", "deleted": True})
        return json_reply(405, openai_error(f"Method {request.method} not allowed on {request.path}."))

    def _upload(self, request: Request) -> Reply:
        try:
            form = parse_multipart(request.headers.get("content-type", ""), request.body)
        except ValueError as exc:
            return invalid_request(str(exc)).reply()
        purpose = form.get("purpose")
        upload = form.get("file")
        if purpose is None:
            return missing("purpose").reply()
        if upload is None or upload.filename is None:
            return missing("file").reply()
        purpose_text = purpose.data.decode("utf-8", "replace").strip()
        if purpose_text not in FILE_PURPOSES:
            allowed = ", ".join(f"'{name}'" for name in FILE_PURPOSES)
            message = f"Invalid value: '{purpose_text}'. Supported values are: {allowed}."
            return invalid_request(message, param="purpose", code="invalid_value").reply()
        if len(upload.data) > self._max_bytes:
            return file_too_large().reply()
        if purpose_text == "batch" and not upload.filename.lower().endswith(".jsonl"):
            return invalid_request("Invalid file format for Batch API. Must be .jsonl").reply()
        self.uploaded += 1
        return json_reply(200, self.add(upload.filename, purpose_text, upload.data).to_object())

    def _list(self, request: Request) -> Reply:
        purpose = request.query.get("purpose")
        chosen = [stored for stored in self._files.values() if purpose in (None, stored.purpose)]
        if request.query.get("order", "desc") == "desc":
            chosen.reverse()
        return cursor_page(
            [stored.to_object() for stored in chosen], request.query, default_limit=10_000, max_limit=10_000
        )
