"""The devserver's Files and Batch APIs, through the official ``openai`` SDK as the tool will use them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from test_devserver import ABSTRACT, TITLE, user_message

from pipeline.contracts import PaperRequest
from pipeline.devserver.batches import DUPLICATE_MESSAGE, EXPIRED_MESSAGE
from pipeline.devserver.server import DevServerConfig, fetch_stats, running_server
from pipeline.digest.fields import FIELDS
from pipeline.validate.validator import Validator

KEY = "sk-devserver-test-0123456789abcdef"
START = 1_760_000_000.0


class FakeWall:
    """The server's Unix-time clock, stepped by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def request_line(custom_id: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "m", "messages": [user_message()], **body},
    }


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()


def requests(count: int) -> bytes:
    return jsonl([request_line(f"paper-{i}") for i in range(count)])


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall()


@pytest.fixture
def served(request: pytest.FixtureRequest, wall: FakeWall) -> Iterator[tuple[str, openai.OpenAI]]:
    """A server with the test's config and the fake wall clock, and an SDK client."""
    config = getattr(request, "param", DevServerConfig())
    with running_server(config, wall=wall) as url, openai.OpenAI(base_url=url, api_key=KEY, max_retries=0) as client:
        yield url, client


def configured(**values: Any) -> Any:
    return pytest.mark.parametrize("served", [DevServerConfig(**values)], indirect=True)


def submit(client: openai.OpenAI, data: bytes, **metadata: str) -> str:
    uploaded = client.files.create(file=("requests.jsonl", data), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata=metadata or None,
    )
    assert batch.status == "validating"
    return batch.id


def message(error: openai.APIStatusError) -> str:
    """The server's ``error.message`` (the SDK's own ``.message`` prefixes the status)."""
    assert isinstance(error.body, dict)
    return str(error.body["message"])


def lines(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def test_a_batch_runs_through_the_sdk_like_live_requests(served: tuple[str, openai.OpenAI]) -> None:
    url, client = served
    uploaded = client.files.create(file=("requests.jsonl", requests(3)), purpose="batch")
    assert (uploaded.object, uploaded.purpose, uploaded.status, uploaded.bytes) == (
        "file",
        "batch",
        "processed",
        len(requests(3)),
    )
    assert uploaded.filename == "requests.jsonl" and uploaded.expires_at == int(START) + 30 * 24 * 3600
    assert client.files.retrieve(uploaded.id) == uploaded
    assert client.files.content(uploaded.id).content == requests(3)
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h", metadata={"day": "2601"}
    )
    assert (batch.status, batch.metadata, batch.expires_at) == ("validating", {"day": "2601"}, int(START) + 86400)
    done = client.batches.retrieve(batch.id)  # no delay: over by the first retrieve
    assert done.status == "completed" and done.error_file_id is None and done.model == "m"
    assert done.request_counts is not None and done.request_counts.model_dump() == {
        "total": 3,
        "completed": 3,
        "failed": 0,
    }
    assert done.completed_at == done.in_progress_at == done.finalizing_at == int(START)
    output = lines(client, done.output_file_id)
    assert [line["custom_id"] for line in output] == ["paper-0", "paper-1", "paper-2"]
    paper = PaperRequest("1", TITLE, ABSTRACT, FIELDS, "Chinese")
    for line in output:
        assert line["id"].startswith("batch_req_") and line["error"] is None
        assert line["response"]["status_code"] == 200 and line["response"]["request_id"].startswith("req_")
        body = line["response"]["body"]
        assert body["object"] == "chat.completion" and body["usage"]["completion_tokens"] > 0
        assert Validator().check_request(paper, json.loads(body["choices"][0]["message"]["content"])) == []
    assert done.usage is not None
    assert done.usage.input_tokens == sum(line["response"]["body"]["usage"]["prompt_tokens"] for line in output)
    assert client.files.retrieve(done.output_file_id or "").purpose == "batch_output"
    assert client.files.delete(uploaded.id).deleted
    with pytest.raises(openai.NotFoundError) as gone:
        client.files.retrieve(uploaded.id)
    assert message(gone.value) == f"No such File object: {uploaded.id}"
    stats = fetch_stats(url)
    assert stats["files"] == {"uploaded": 1, "written": 1, "deleted": 1, "stored": 1, "bytes": stats["files"]["bytes"]}
    assert stats["batches"]["created"] == 1 and stats["batches"]["by_status"]["completed"] == 1
    assert (stats["batches"]["requests"], stats["batches"]["outcomes"]) == (3, {"ok": 3})
    assert stats["total"] == 0  # batch requests are not live chat requests


@configured(batch_delay=30.0)
def test_a_batch_moves_through_its_statuses_over_the_delay(served: tuple[str, openai.OpenAI], wall: FakeWall) -> None:
    _, client = served
    batch_id = submit(client, requests(10))
    seen = []
    for step in (5, 15, 25, 31):
        wall.now = START + step
        batch = client.batches.retrieve(batch_id)
        assert batch.request_counts is not None
        seen.append((batch.status, batch.request_counts.completed))
    assert seen == [("validating", 0), ("in_progress", 5), ("finalizing", 10), ("completed", 10)]
    assert (batch.in_progress_at, batch.finalizing_at, batch.completed_at) == (START + 10, START + 20, START + 30)
    assert batch.output_file_id is not None


@configured(batch_error_rate=0.4, seed=3)
def test_per_request_errors_go_to_the_error_file(served: tuple[str, openai.OpenAI]) -> None:
    url, client = served
    batch = client.batches.retrieve(submit(client, requests(20)))
    errors = lines(client, batch.error_file_id)
    assert batch.request_counts is not None
    assert batch.request_counts.failed == len(errors) and 2 <= len(errors) <= 15
    assert batch.request_counts.completed == len(lines(client, batch.output_file_id)) == 20 - len(errors)
    for line in errors:
        assert line["response"]["status_code"] == 500 and line["error"] is None
        assert line["response"]["body"]["error"]["type"] == "server_error"
    assert fetch_stats(url)["batches"]["outcomes"]["batch_error"] == len(errors)
    # The same seed gives the same errors to the same batch of the same server run.
    with (
        running_server(DevServerConfig(batch_error_rate=0.4, seed=3)) as other_url,
        openai.OpenAI(base_url=other_url, api_key=KEY, max_retries=0) as other,
    ):
        twin = other.batches.retrieve(submit(other, requests(20)))
        assert [line["custom_id"] for line in lines(other, twin.error_file_id)] == [
            line["custom_id"] for line in errors
        ]


@configured(batch_expire=True)
def test_expired_batches_keep_half_and_list_the_rest_as_batch_expired(served: tuple[str, openai.OpenAI]) -> None:
    _, client = served
    batch = client.batches.retrieve(submit(client, requests(4)))
    assert batch.status == "expired" and batch.expired_at == int(START)
    assert batch.request_counts is not None and batch.request_counts.model_dump() == {
        "total": 4,
        "completed": 2,
        "failed": 2,
    }
    assert [line["custom_id"] for line in lines(client, batch.output_file_id)] == ["paper-0", "paper-1"]
    expired = lines(client, batch.error_file_id)
    assert [line["custom_id"] for line in expired] == ["paper-2", "paper-3"]
    assert all(line["response"] is None for line in expired)
    assert expired[0]["error"] == {"code": "batch_expired", "message": EXPIRED_MESSAGE}


@configured(batch_delay=30.0)
def test_cancel_keeps_what_was_done(served: tuple[str, openai.OpenAI], wall: FakeWall) -> None:
    _, client = served
    batch_id = submit(client, requests(6))
    wall.now = START + 15  # halfway through in_progress: 3 of 6 done
    cancelling = client.batches.cancel(batch_id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at == int(START) + 15
    wall.now = START + 16
    cancelled = client.batches.retrieve(batch_id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at == int(START) + 16
    assert cancelled.request_counts is not None and cancelled.request_counts.completed == 3
    assert [line["custom_id"] for line in lines(client, cancelled.output_file_id)] == ["paper-0", "paper-1", "paper-2"]
    assert cancelled.error_file_id is None
    with pytest.raises(openai.BadRequestError) as error:
        client.batches.cancel(batch_id)
    assert message(error.value) == "Cannot cancel batch with status 'cancelled'."


def test_bad_lines_fail_the_batch_with_openai_errors(served: tuple[str, openai.OpenAI]) -> None:
    _, client = served
    bad = [
        request_line("a"),
        "{not json",
        {key: value for key, value in request_line("b").items() if key != "method"},
        request_line("a"),
        {**request_line("c"), "url": "/v1/embeddings"},
        request_line("d", model="other"),
    ]
    data = b"".join((line if isinstance(line, str) else json.dumps(line)).encode() + b"\n" for line in bad)
    batch = client.batches.retrieve(submit(client, data))
    assert batch.status == "failed" and batch.failed_at == int(START) and batch.output_file_id is None
    assert batch.errors is not None and batch.errors.data is not None
    found = [(error.code, error.line, error.param) for error in batch.errors.data]
    assert found == [
        ("invalid_json_line", 2, None),
        ("missing_required_parameter", 3, "method"),
        ("duplicate_custom_id", 4, "custom_id"),
        ("url_mismatch", 5, "url"),
        ("model_mismatch", 6, "body.model"),
    ]
    assert batch.errors.data[2].message == DUPLICATE_MESSAGE
    assert batch.request_counts is not None and batch.request_counts.total == 0


@configured(batch_max_bytes=4000, batch_max_requests=2)
def test_uploads_and_batches_are_limited_like_openai(served: tuple[str, openai.OpenAI]) -> None:
    _, client = served
    with pytest.raises(openai.BadRequestError) as named:
        client.files.create(file=("requests.json", requests(1)), purpose="batch")
    assert message(named.value) == "Invalid file format for Batch API. Must be .jsonl"
    with pytest.raises(openai.BadRequestError) as large:
        client.files.create(file=("requests.jsonl", requests(6)), purpose="batch")
    assert message(large.value) == "File is too large."
    with pytest.raises(openai.BadRequestError) as purpose:
        client.files.create(file=("requests.jsonl", requests(1)), purpose="homework")  # type: ignore[arg-type]
    assert purpose.value.param == "purpose"
    batch = client.batches.retrieve(submit(client, requests(3)))
    assert batch.status == "failed" and batch.errors is not None and batch.errors.data is not None
    assert batch.errors.data[0].code == "too_many_tasks"
    with pytest.raises(openai.BadRequestError) as missing:
        client.batches.create(input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h")
    assert message(missing.value).startswith("Cannot find file file-nope")


@configured(models=("m",), context_length=10_000, rate_malformed=1.0)
def test_batch_requests_get_the_live_faults(served: tuple[str, openai.OpenAI]) -> None:
    _, client = served
    data = jsonl([request_line("good"), request_line("long", max_tokens=20_000), request_line("streamed", stream=True)])
    batch = client.batches.retrieve(submit(client, data))
    output = lines(client, batch.output_file_id)
    errors = {line["custom_id"]: line["response"] for line in lines(client, batch.error_file_id)}
    assert [line["custom_id"] for line in output] == ["good"]
    content = output[0]["response"]["body"]["choices"][0]["message"]["content"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)  # --rate-malformed applies to batch answers too
    assert errors["long"]["status_code"] == 400 and errors["long"]["body"]["error"]["code"] == "context_length_exceeded"
    assert errors["streamed"]["status_code"] == 400 and errors["streamed"]["body"]["error"]["param"] == "stream"


@configured(models=("m",))
def test_a_batch_of_an_unknown_model_answers_404_per_request(served: tuple[str, openai.OpenAI]) -> None:
    _, client = served
    batch = client.batches.retrieve(submit(client, jsonl([request_line("x", model="gpt-9")])))
    (line,) = lines(client, batch.error_file_id)
    assert line["response"]["status_code"] == 404 and line["response"]["body"]["error"]["code"] == "model_not_found"


def test_batches_list_newest_first_with_a_cursor(served: tuple[str, openai.OpenAI]) -> None:
    _, client = served
    ids = [submit(client, requests(1), n=str(n)) for n in range(3)]
    first = client.batches.list(limit=2)
    assert [batch.id for batch in first.data] == ids[::-1][:2] and first.has_more
    assert [batch.id for batch in client.batches.list(limit=2)] == ids[::-1]  # auto-paging
    assert [batch.id for batch in client.batches.list(after=ids[1]).data] == [ids[0]]
    assert [file.filename for file in client.files.list(purpose="batch_output")] == [
        f"batch_{ids[n]}_output.jsonl" for n in (2, 1, 0)
    ]


@configured(batch_api=False)
def test_without_the_batch_api_files_and_batches_are_404(served: tuple[str, openai.OpenAI]) -> None:
    _, client = served
    with pytest.raises(openai.NotFoundError) as upload:
        client.files.create(file=("requests.jsonl", requests(1)), purpose="batch")
    with pytest.raises(openai.NotFoundError):
        client.batches.list()
    assert upload.value.status_code == 404 and message(upload.value) == "Not Found"
    assert client.chat.completions.create(model="m", messages=[user_message()]).choices  # type: ignore[list-item]


class Unsized(io.RawIOBase):
    """A stream of unknown length: httpx sends it with Transfer-Encoding: chunked."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def test_chunked_uploads_are_read(served: tuple[str, openai.OpenAI]) -> None:
    url, client = served
    uploaded = client.files.create(file=("requests.jsonl", Unsized(requests(2))), purpose="batch")
    assert client.files.content(uploaded.id).content == requests(2)
    raw = httpx.post(
        f"{url}/files",
        files={"file": ("r.jsonl", requests(1))},
        data={"purpose": "batch"},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=5,
    )
    assert raw.status_code == 200 and raw.json()["bytes"] == len(requests(1))
