"""Shared fixtures: a clean environment for every test, and the real digests in ../shared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.devserver.server import DevServerConfig, running_server
from pipeline.generate.settings import ENVIRONMENT

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = Path(__file__).resolve().parents[1] / "data"

_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
_ENV = (
    *ENVIRONMENT.values(),
    "LANGUAGE",
    "DIGEST_REPAIR_DEBUG",
    "DIGEST_REPAIR_CACHE",
    *_PROXIES,
    *(name.lower() for name in _PROXIES),
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's keys, model, language, cache or proxies; grounding is
    off unless a test turns it on (whether its extra is installed must not change results,
    and the loopback server's template answers are not about any paper)."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("DIGEST_REPAIR_GROUNDING", "off")


@pytest.fixture
def shared() -> Path:
    """``../shared`` beside the checkout (CI has it); tests skip cleanly without it."""
    if not (SHARED / "seeds").is_dir():
        pytest.skip("../shared (real digests) is not beside this checkout")
    return SHARED


@pytest.fixture
def seeds(shared: Path) -> list[Path]:
    return sorted((shared / "seeds").glob("*.txt"))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The loopback OpenAI-compatible server, with the environment pointing at it."""
    with running_server(DevServerConfig()) as url:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789")
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        yield url
