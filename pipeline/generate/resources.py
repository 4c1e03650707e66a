"""Load the prompt templates, their data and the JSON schemas that ship inside the package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def prompt_text(name: str) -> str:
    """A prompt template from ``prompts/`` (installed as ``pipeline.prompts``)."""
    return resources.files("pipeline.prompts").joinpath(name).read_text(encoding="utf-8")


@cache
def prompt_data(name: str) -> dict[str, Any]:
    """A JSON file of prompt text from ``prompts/`` (e.g. the language reminders)."""
    loaded: dict[str, Any] = json.loads(prompt_text(name))
    return loaded


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON schema from ``schemas/`` (installed as ``pipeline.schemas``)."""
    text = resources.files("pipeline.schemas").joinpath(name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
