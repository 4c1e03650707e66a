"""What the devserver can be told to do, and the ``devserver`` flags that say it.

The config and the flags live together so they cannot drift: ``config_from_args`` reads
one flag per config field, by name.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, fields

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MODEL = "devserver"
# OpenAI's documented limits of a batch input file.
BATCH_MAX_BYTES = 200_000_000
BATCH_MAX_REQUESTS = 50_000
CONTEXT_STYLES = ("openai", "llamacpp")

# The randomly injected faults of a live chat request and the config attribute holding
# each one's rate, in the order one draw is mapped onto their ranges. New faults go at the
# end, so that a seed gives the same earlier outcomes as before they existed.
LIVE_FAULT_RATES: dict[str, str] = {
    "injected_429": "rate_429",
    "error_500": "rate_500",
    "timeout": "rate_timeout",
    "malformed": "rate_malformed",
    "schema_violation": "rate_schema_violation",
    "length": "rate_length",
    "leaked": "rate_leak",
}
# A batch request has no connection to time out and no rate limit to hit: it draws its own
# per-request error and the faults of the answer's content.
BATCH_FAULT_RATES: dict[str, str] = {
    "batch_error": "batch_error_rate",
    "malformed": "rate_malformed",
    "schema_violation": "rate_schema_violation",
    "length": "rate_length",
    "leaked": "rate_leak",
}


@dataclass(frozen=True)
class DevServerConfig:
    """How the server behaves; durations in seconds, rates as fractions of requests."""

    host: str = DEFAULT_HOST
    port: int = 0
    latency: float = 0.0
    jitter: float = 0.0  # uniform extra delay in [0, jitter]
    max_concurrency: int = 0  # requests answered at once; later ones wait; 0 = unlimited
    rpm: int = 0  # requests admitted per sliding minute, then 429; 0 = unlimited
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_timeout: float = 0.0
    rate_malformed: float = 0.0
    rate_schema_violation: float = 0.0
    rate_length: float = 0.0  # answers cut mid-JSON with finish_reason "length"
    rate_leak: float = 0.0  # answers describing the prompt's first example paper
    retry_after: float = 1.0  # Retry-After of an injected 429
    hang: float = 30.0  # a "timeout" request hangs this long, then the connection closes
    json_schema: bool = True  # False: reject json_schema response formats like DeepSeek
    seed: int = 0
    model: str = DEFAULT_MODEL
    models: tuple[str, ...] = ()  # when set, the only model names that exist
    api_key: str = ""  # when set, the only bearer key accepted
    quota_exhausted: bool = False  # every billable request gets 429 insufficient_quota
    context_length: int = 0  # tokens a chat request may use, prompt and completion; 0 = unlimited
    context_style: str = "openai"  # whose error an over-long prompt gets: openai or llamacpp
    reask_copy: bool = False  # re-asks are answered with the previous answer, verbatim
    batch_api: bool = True  # False: /v1/files and /v1/batches do not exist
    batch_delay: float = 0.0  # seconds from a batch's creation to its end
    batch_error_rate: float = 0.0  # fraction of batch requests that fail with a 500
    batch_expire: bool = False  # batches expire after the delay, half of their requests done
    batch_max_bytes: int = BATCH_MAX_BYTES
    batch_max_requests: int = BATCH_MAX_REQUESTS

    def __post_init__(self) -> None:
        for table in (LIVE_FAULT_RATES, BATCH_FAULT_RATES):
            rates = [getattr(self, attr) for attr in table.values()]
            if any(rate < 0 for rate in rates) or sum(rates) > 1:
                raise ValueError("fault rates must be >= 0 and sum to at most 1")
        if min(self.latency, self.jitter, self.retry_after, self.hang, self.batch_delay) < 0:
            raise ValueError("durations must be >= 0")
        if self.context_style not in CONTEXT_STYLES:
            raise ValueError(f"context style must be one of {', '.join(CONTEXT_STYLES)}")
        if self.context_length < 0 or self.batch_max_bytes < 1 or self.batch_max_requests < 1:
            raise ValueError("--context-length must be >= 0 and the batch limits >= 1")

    @property
    def model_names(self) -> tuple[str, ...]:
        """The models ``/v1/models`` lists."""
        return self.models or (self.model,)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds from ``"0.2"``, ``"0.2s"`` or ``"200ms"``."""
    found = _DURATION.match(text)
    if not found:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 0.2, 0.2s or 200ms)")
    value = float(found.group(1))
    return value / 1000 if found.group(2) == "ms" else value


def parse_names(text: str) -> tuple[str, ...]:
    """``"a,b"`` as ``("a", "b")``; at least one name."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one model name")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``devserver`` flags, one per ``DevServerConfig`` field."""
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    add(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"0 picks a free port (default {DEFAULT_PORT})",
    )
    add("--latency", type=parse_duration, default=0.0, help="delay per answer: 0.2, 0.2s or 200ms")
    add("--jitter", type=parse_duration, default=0.0, help="extra random delay, up to this much")
    add("--max-concurrency", type=int, default=0, help="answer at most N at once (0 = unlimited)")
    add("--rpm", type=int, default=0, help="admit N requests per minute, then 429 (0 = unlimited)")
    add("--rate-429", type=float, default=0.0, help="fraction answered 429 with Retry-After")
    add("--rate-500", type=float, default=0.0, help="fraction answered 500")
    add("--rate-timeout", type=float, default=0.0, help="fraction that hang, then close")
    add("--rate-malformed", type=float, default=0.0, help="fraction whose content is broken JSON")
    add(
        "--rate-schema-violation",
        type=float,
        default=0.0,
        help="fraction whose JSON misses a field or has a wrong type",
    )
    add("--rate-length", type=float, default=0.0, help='fraction cut mid-JSON, finish_reason "length"')
    add("--rate-leak", type=float, default=0.0, help="fraction describing the prompt's first example paper")
    add("--retry-after", type=parse_duration, default=1.0, help="Retry-After of injected 429s")
    add("--hang", type=parse_duration, default=30.0, help="how long a timeout request hangs")
    add(
        "--no-json-schema",
        dest="json_schema",
        action="store_false",
        help="reject json_schema response formats with 400, like DeepSeek",
    )
    add("--seed", type=int, default=0, help="seed of fault injection and jitter")
    add("--model", default=DEFAULT_MODEL, help="model name reported by /v1/models")
    add(
        "--models",
        type=parse_names,
        default=(),
        metavar="NAME[,NAME...]",
        help="only these models exist; others get 404 model_not_found",
    )
    add("--api-key", default="", metavar="KEY", help="accept only this bearer key; others get 401")
    add("--quota-exhausted", action="store_true", help="answer billable requests 429 insufficient_quota")
    add(
        "--context-length",
        type=int,
        default=0,
        metavar="N",
        help="prompt plus max_tokens beyond N tokens gets 400 (0 = unlimited)",
    )
    add(
        "--context-style",
        choices=CONTEXT_STYLES,
        default="openai",
        help="answer an over-long prompt like OpenAI (default) or llama.cpp's server",
    )
    add("--reask-copy", action="store_true", help="answer re-asks with the previous answer, verbatim")
    add(
        "--no-batch",
        dest="batch_api",
        action="store_false",
        help="answer /v1/files and /v1/batches 404, like a server without the Batch API",
    )
    add(
        "--batch-delay",
        type=parse_duration,
        default=0.0,
        metavar="SECONDS",
        help="time from a batch's creation to its end (0: over by its first retrieve)",
    )
    add("--batch-error-rate", type=float, default=0.0, help="fraction of batch requests that fail (500)")
    add("--batch-expire", action="store_true", help="batches expire after the delay, half of them done")
    add(
        "--batch-max-bytes",
        type=int,
        default=BATCH_MAX_BYTES,
        help=f"largest file upload (default {BATCH_MAX_BYTES:,}, OpenAI's)",
    )
    add(
        "--batch-max-requests",
        type=int,
        default=BATCH_MAX_REQUESTS,
        help=f"most requests in a batch (default {BATCH_MAX_REQUESTS:,}, OpenAI's)",
    )


def config_from_args(args: argparse.Namespace) -> DevServerConfig:
    """Build the config from parsed ``add_arguments`` flags."""
    return DevServerConfig(**{f.name: getattr(args, f.name) for f in fields(DevServerConfig)})
