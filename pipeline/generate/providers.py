"""Choose the provider for a run: the model behind an API key, or the offline default."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contracts import Gate, Provider
from ..errors import UsageError
from .client import LLMClient
from .extractive import ExtractiveProvider
from .openai_provider import OpenAIProvider
from .settings import LLMSettings

PROVIDERS = ("openai", "extractive")

NO_KEY_WARNING = (
    "warning: no OPENAI_API_KEY; using the offline extractive provider (copies sentences of the "
    "abstract, untranslated). Pass --provider openai to require a model."
)


@dataclass
class ProviderSetup:
    provider: Provider
    fallback: Provider | None = None
    client: LLMClient | None = None  # closed by the caller when the run ends
    notes: list[str] = field(default_factory=list)
    gate: Gate = field(default_factory=Gate)  # give it to the job: stopping closes it


def choose_provider(
    requested: str | None,
    settings: LLMSettings,
    *,
    fallback: str | None = None,
    mark_extractive: bool = False,
) -> ProviderSetup:
    """``openai`` when a key is configured (or asked for), else ``extractive`` with a warning.

    Asking for ``openai`` without a key is a usage error: a nightly job whose secret went
    missing must fail loudly, not quietly degrade to extractive text.
    """
    name = requested or ("openai" if settings.api_key else "extractive")
    extractive = ExtractiveProvider(mark=mark_extractive)
    if name == "extractive":
        notes = [] if requested else [NO_KEY_WARNING]
        return ProviderSetup(extractive, notes=notes)
    if name != "openai":
        raise UsageError(f"unknown provider {name!r}; choose from {', '.join(PROVIDERS)}")
    if not settings.api_key:
        raise UsageError("--provider openai needs an API key: set OPENAI_API_KEY")
    gate = Gate()
    client = LLMClient.from_settings(settings, gate=gate)
    return ProviderSetup(
        OpenAIProvider(client, settings),
        fallback=extractive if fallback == "extractive" else None,
        client=client,
        gate=gate,
    )
