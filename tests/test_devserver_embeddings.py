"""``POST /v1/embeddings`` on the devserver, through the official ``openai`` SDK."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence

import openai
import pytest
from test_devserver import ABSTRACT

from pipeline.devserver.embeddings import DIMENSIONS, embed
from pipeline.devserver.server import fetch_stats, running_server

SUMMARY = "SparQ-Lite keeps the 64 most relevant keys and retains 98.5% of dense accuracy on LongBench."
UNRELATED = "A survey of crop rotation practices among farmers in northern Europe during the 1990s."
CHINESE = "本文提出了SparQ-Lite稀疏注意力方法，在LongBench上保留了98.5%的稠密精度。"
CHINESE_NEAR = "SparQ-Lite稀疏注意力方法在LongBench上的精度为98.5%。"
CHINESE_FAR = "这项研究调查了北欧农民的轮作做法。"


@pytest.fixture
def client() -> Iterator[tuple[str, openai.OpenAI]]:
    with running_server() as url, openai.OpenAI(base_url=url, api_key="k", max_retries=0) as sdk:
        yield url, sdk


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_come_in_openai_shape_as_floats_or_base64(client: tuple[str, openai.OpenAI]) -> None:
    url, sdk = client
    texts = [ABSTRACT, SUMMARY, CHINESE]
    decoded = sdk.embeddings.create(model="embed-small", input=texts)  # the SDK asks for base64
    floats = sdk.embeddings.create(model="embed-small", input=texts, encoding_format="float")
    assert decoded.object == "list" and decoded.model == "embed-small"
    assert [item.index for item in floats.data] == [0, 1, 2]
    for packed, plain in zip(decoded.data, floats.data, strict=True):
        assert len(plain.embedding) == DIMENSIONS
        assert math.isclose(math.fsum(x * x for x in plain.embedding), 1.0, rel_tol=1e-9)
        assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(packed.embedding, plain.embedding, strict=True))
    assert floats.usage.prompt_tokens == floats.usage.total_tokens > 0
    single = sdk.embeddings.create(model="embed-small", input=SUMMARY, encoding_format="float")
    assert single.data[0].embedding == floats.data[1].embedding  # deterministic
    stats = fetch_stats(url)["embeddings"]
    assert stats == {"requests": 3, "inputs": 7, "outcomes": {"ok": 3}}


def test_texts_sharing_names_numbers_and_words_are_close() -> None:
    assert cosine(embed(ABSTRACT), embed(SUMMARY)) > cosine(embed(ABSTRACT), embed(UNRELATED)) + 0.2
    assert cosine(embed(CHINESE), embed(CHINESE_NEAR)) > cosine(embed(CHINESE), embed(CHINESE_FAR)) + 0.2
    # Across languages only the shared names and numbers count: closer than unrelated, no more.
    assert cosine(embed(CHINESE), embed(SUMMARY)) > cosine(embed(CHINESE), embed(UNRELATED))


def test_dimensions_shorten_and_renormalise(client: tuple[str, openai.OpenAI]) -> None:
    _, sdk = client
    short = sdk.embeddings.create(model="m", input=ABSTRACT, dimensions=64, encoding_format="float").data[0].embedding
    full = embed(ABSTRACT)[:64]
    norm = math.sqrt(math.fsum(x * x for x in full))
    assert len(short) == 64
    assert all(math.isclose(a, b / norm, abs_tol=1e-12) for a, b in zip(short, full, strict=True))
    with pytest.raises(openai.BadRequestError) as error:
        sdk.embeddings.create(model="m", input=ABSTRACT, dimensions=1024)
    assert error.value.param == "dimensions"


def test_token_arrays_and_empty_inputs_are_refused(client: tuple[str, openai.OpenAI]) -> None:
    url, sdk = client
    with pytest.raises(openai.BadRequestError) as tokens:
        sdk.embeddings.create(model="m", input=[[1, 2, 3]])
    with pytest.raises(openai.BadRequestError) as empty:
        sdk.embeddings.create(model="m", input="")
    assert tokens.value.status_code == 400 and tokens.value.param == "input"
    assert "token arrays" in tokens.value.message
    assert empty.value.body == {
        "message": "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }
    assert fetch_stats(url)["embeddings"]["outcomes"] == {"bad_request": 2}


def test_thousands_of_texts_are_fast(client: tuple[str, openai.OpenAI]) -> None:
    _, sdk = client
    texts = [f"{ABSTRACT} Variant {i} with {i * 7} keys." for i in range(2048)]
    start = time.perf_counter()
    response = sdk.embeddings.create(model="m", input=texts)
    assert time.perf_counter() - start < 3.0
    assert len(response.data) == 2048 and response.data[-1].index == 2047
