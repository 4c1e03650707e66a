"""digest-repair: find and regenerate failed AI summaries in daily arXiv digests.

The public API is what this module exports; everything else may move. Names are imported
on first use, so ``pipeline.load`` does not pay for the OpenAI SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "FIELDS": "fields",
    "Aborted": "errors",
    "DigestRepairError": "errors",
    "FatalLLMError": "errors",
    "GenerationFailed": "errors",
    "InputError": "errors",
    "LLMError": "errors",
    "NotADigest": "errors",
    "UsageError": "errors",
    "Document": "document",
    "Notice": "document",
    "Paper": "document",
    "Gate": "contracts",
    "Generation": "contracts",
    "PaperRequest": "contracts",
    "Problem": "contracts",
    "detect": "detect",
    "ExtractiveProvider": "extractive",
    "LLMClient": "llm_client",
    "LLMSettings": "llm_config",
    "build_settings": "llm_config",
    "iter_documents": "loader",
    "load": "loader",
    "OpenAIProvider": "openai_provider",
    "Output": "repair",
    "RepairJob": "repair",
    "RepairOptions": "repair",
    "RunReport": "report",
    "scan_paths": "scan",
    "Validator": "validate",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from .contracts import Gate, Generation, PaperRequest, Problem
    from .detect import detect
    from .document import Document, Notice, Paper
    from .errors import (
        Aborted,
        DigestRepairError,
        FatalLLMError,
        GenerationFailed,
        InputError,
        LLMError,
        NotADigest,
        UsageError,
    )
    from .extractive import ExtractiveProvider
    from .fields import FIELDS
    from .llm_client import LLMClient
    from .llm_config import LLMSettings, build_settings
    from .loader import iter_documents, load
    from .openai_provider import OpenAIProvider
    from .repair import Output, RepairJob, RepairOptions
    from .report import RunReport
    from .scan import scan_paths
    from .validate import Validator
