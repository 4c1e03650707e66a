"""``POST /v1/embeddings``: deterministic vectors by feature hashing, in OpenAI's shape.

Each text becomes the counts of its features (lower-cased Latin words, numbers, and
bigrams of CJK characters) hashed with blake2b into 256 signed buckets, L2-normalised.
Texts that share names, numbers and words are close; the same text always gets the same
vector, in every process (Python's ``hash()`` is salted per process, blake2b is not).

What this proves: plumbing. A client's batching, ``encoding_format`` (floats or base64 of
little-endian float32, which the ``openai`` SDK asks for by default), ``dimensions``,
ordering by ``index``, usage accounting, and that near-duplicates in one script score
higher than unrelated texts. What it does not: semantics. A paraphrase with other words
is far, and a Chinese summary is near its English abstract only through the names and
numbers they share; a real embedding model is needed to test cross-language judgement.
"""

from __future__ import annotations

import array
import base64
import functools
import hashlib
import math
import re
import sys
from collections.abc import Sequence
from typing import Any

from .answers import estimate_tokens
from .wire import Refusal, invalid_request, openai_error

DIMENSIONS = 256
MAX_INPUTS = 2048  # OpenAI's limit on the items of one request
_LATIN = re.compile(r"[a-z\u00df-\u024f]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
# OpenAI's answer to an input it cannot take (an empty string, a list with a non-string).
INVALID_INPUT_MESSAGE = (
    "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
)


def features(text: str) -> list[str]:
    """The hashed features of a text: Latin words, numbers, CJK bigrams (a lone character alone)."""
    lowered = text.lower()
    found = _LATIN.findall(lowered) + _NUMBER.findall(lowered)
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            found.append(run)
        else:
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return found or [text.strip() or text]


@functools.lru_cache(maxsize=65_536)
def _bucket(feature: str) -> tuple[int, float]:
    """The bucket and sign of a feature: stable across processes and machines."""
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little") % DIMENSIONS, 1.0 if digest[4] & 1 else -1.0


def embed(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """The unit vector of ``text``; fewer ``dimensions`` keep the first ones, renormalised.

    Shortening by truncation and renormalisation is what OpenAI's ``dimensions`` does.
    """
    vector = [0.0] * DIMENSIONS
    for feature in features(text):
        at, sign = _bucket(feature)
        vector[at] += sign
    vector = vector[:dimensions]
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0:  # every feature cancelled out or fell beyond the kept dimensions
        vector[0], norm = 1.0, 1.0
    return [value / norm for value in vector]


def encode_base64(vector: Sequence[float]) -> str:
    """Little-endian float32, base64: OpenAI's ``encoding_format="base64"``."""
    packed = array.array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _inputs(value: object) -> list[str] | Refusal:
    """The texts of ``input``: a string or a list of strings; token arrays are refused."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        return invalid_request(INVALID_INPUT_MESSAGE, param="input")
    if any(isinstance(item, (int, list)) and not isinstance(item, bool) for item in items):
        return invalid_request(
            "The devserver embeds text only: send strings, not token arrays.", param="input", code="invalid_value"
        )
    if not all(isinstance(item, str) and item for item in items):
        return invalid_request(INVALID_INPUT_MESSAGE, param="input")
    if len(items) > MAX_INPUTS:
        return invalid_request(f"Invalid 'input': at most {MAX_INPUTS} items per request.", param="input")
    return [str(item) for item in items]


def create(body: object, default_model: str) -> dict[str, Any] | Refusal:
    """The response to an embeddings request body (its model already checked), or its refusal."""
    if not isinstance(body, dict):
        return invalid_request("cannot read the request: the body must be a JSON object")
    texts = _inputs(body.get("input"))
    if isinstance(texts, Refusal):
        return texts
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        message = f"Invalid value: '{encoding}'. Supported values are: 'float' and 'base64'."
        return Refusal("bad_request", 400, openai_error(message, code="invalid_value", param="encoding_format"))
    dimensions = body.get("dimensions", DIMENSIONS)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= DIMENSIONS:
        return invalid_request(
            f"Invalid value for 'dimensions' = {dimensions}. Must be between 1 and {DIMENSIONS}.",
            param="dimensions",
            code="invalid_value",
        )
    data = []
    for index, text in enumerate(texts):
        vector = embed(text, dimensions)
        data.append(
            {
                "object": "embedding",
                "index": index,
                "embedding": vector if encoding == "float" else encode_base64(vector),
            }
        )
    tokens = sum(estimate_tokens(text) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model") or default_model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
