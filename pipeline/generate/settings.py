"""Settings of the generation layer, and every default in one place.

The environment is read when settings are built, never at import time; a command-line
flag beats an environment variable, which beats the default.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from ..errors import UsageError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_RESPONSE_FORMAT = "auto"
DEFAULT_ATTEMPTS = 6  # a 429 storm must not cost a paper; the wait budget bounds the time
DEFAULT_MAX_WAIT_S = 120.0
DEFAULT_MAX_REASKS = 2
DEFAULT_MAX_TOKENS = 2048
DEFAULT_CONCURRENCY = 8
DEFAULT_EXAMPLES = 2
# Papers in a row failing for the same transport reason before the run stops (exit 3).
DEFAULT_MAX_CONSECUTIVE_FAILURES = 3
# Backoff between transport retries without Retry-After: 0.5 s, 1 s, 2 s ... up to 8 s, plus
# up to 0.5 s of jitter; the openai SDK's own defaults (INITIAL/MAX_RETRY_DELAY), which its
# servers are tuned for. A slot waiting here costs one request in flight, not the run.
DEFAULT_BACKOFF_S = 0.5
DEFAULT_BACKOFF_MAX_S = 8.0

# "auto" tries the modes in this order and remembers those the server rejects.
RESPONSE_FORMATS: tuple[str, ...] = ("auto", "json_schema", "json_object", "text")

# Setting name -> environment variable. The README's configuration table mirrors this.
ENVIRONMENT: dict[str, str] = {
    "api_key": "OPENAI_API_KEY",
    "base_url": "OPENAI_BASE_URL",
    "model": "MODEL_NAME",
    "timeout_s": "DIGEST_REPAIR_TIMEOUT",
    "extra_body": "DIGEST_REPAIR_EXTRA_BODY",
    "response_format": "DIGEST_REPAIR_RESPONSE_FORMAT",
    "attempts": "DIGEST_REPAIR_ATTEMPTS",
    "max_wait_s": "DIGEST_REPAIR_MAX_WAIT",
    "max_reasks": "DIGEST_REPAIR_MAX_REASKS",
    "max_tokens": "DIGEST_REPAIR_MAX_TOKENS",
    "concurrency": "DIGEST_REPAIR_CONCURRENCY",
    "examples": "DIGEST_REPAIR_EXAMPLES",
    "rpm": "DIGEST_REPAIR_RPM",
    "max_consecutive_failures": "DIGEST_REPAIR_MAX_CONSECUTIVE_FAILURES",
    "embeddings_model": "EMBEDDINGS_MODEL",
}


@dataclass(frozen=True)
class LLMSettings:
    """How to reach the model and how hard to try; ``api_key`` never appears in a repr."""

    api_key: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    timeout_s: float = DEFAULT_TIMEOUT_S
    # Merged into every request body, e.g. {"thinking": {"type": "disabled"}}.
    extra_body: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    response_format: str = DEFAULT_RESPONSE_FORMAT
    attempts: int = DEFAULT_ATTEMPTS
    max_wait_s: float = DEFAULT_MAX_WAIT_S
    max_reasks: int = DEFAULT_MAX_REASKS
    max_tokens: int = DEFAULT_MAX_TOKENS
    concurrency: int = DEFAULT_CONCURRENCY
    examples: int = DEFAULT_EXAMPLES
    # Requests per minute, paced evenly (0: as fast as the concurrency allows).
    rpm: float = 0.0
    # The circuit breaker: stop the run after this many papers in a row failed for the same
    # transport reason (0: never).
    max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES
    # The model of --grounding api, on the same server and key.
    embeddings_model: str = ""
    backoff_s: float = DEFAULT_BACKOFF_S
    backoff_max_s: float = DEFAULT_BACKOFF_MAX_S

    def __post_init__(self) -> None:
        problems = []
        if self.response_format not in RESPONSE_FORMATS:
            problems.append(f"response format must be one of {', '.join(RESPONSE_FORMATS)}")
        for name in ("attempts", "max_tokens", "concurrency"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        for name in (
            "max_reasks",
            "examples",
            "max_wait_s",
            "backoff_s",
            "backoff_max_s",
            "rpm",
            "max_consecutive_failures",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        if not (self.timeout_s > 0 and math.isfinite(self.timeout_s)):
            problems.append("timeout must be a positive number of seconds")
        if not self.model.strip():
            problems.append("model name is empty")
        if problems:
            raise UsageError("; ".join(problems))
        object.__setattr__(self, "extra_body", MappingProxyType(dict(self.extra_body)))


def build_settings(flags: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None) -> LLMSettings:
    """Settings from command-line ``flags`` (None = not given), then ``environ``, then defaults.

    Values may be typed or strings as the environment gives them; ``extra_body`` is JSON.
    """
    environ = os.environ if environ is None else environ
    known = {spec.name: spec for spec in fields(LLMSettings)}
    unknown = sorted(set(flags or {}) - set(known))
    if unknown:
        raise UsageError(f"unknown LLM setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in known.items():
        raw = (flags or {}).get(name)
        source = f"--{name.replace('_', '-')}"
        if raw is None and name in ENVIRONMENT and environ.get(ENVIRONMENT[name], "").strip():
            raw, source = environ[ENVIRONMENT[name]], ENVIRONMENT[name]
        if raw is not None:
            values[name] = _convert(name, spec.default, raw, source)
    return LLMSettings(**values)


def _convert(name: str, default: object, raw: object, source: str) -> object:
    """Coerce a flag or environment value to the type of the setting's default."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    try:
        if name == "extra_body":
            loaded = json.loads(text)
            if not isinstance(loaded, dict):
                raise ValueError("expected a JSON object")
            return loaded
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError as exc:
        raise UsageError(f"{source}: cannot use {text!r} ({exc})") from None
    return text
