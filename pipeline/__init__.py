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
    "FIELDS": "digest.fields",
    "Aborted": "errors",
    "DigestRepairError": "errors",
    "FatalLLMError": "errors",
    "GenerationFailed": "errors",
    "InputError": "errors",
    "LLMError": "errors",
    "NotADigest": "errors",
    "UsageError": "errors",
    "Document": "digest.document",
    "Notice": "digest.document",
    "Paper": "digest.document",
    "Gate": "contracts",
    "Generation": "contracts",
    "PaperRequest": "contracts",
    "Problem": "contracts",
    "ExtractiveProvider": "generate.extractive",
    "LLMClient": "generate.client",
    "LLMSettings": "generate.settings",
    "build_settings": "generate.settings",
    "iter_documents": "digest.loader",
    "load": "digest.loader",
    "OpenAIProvider": "generate.openai_provider",
    "Output": "job.repair",
    "RepairJob": "job.repair",
    "RepairOptions": "job.repair",
    "RunReport": "job.report",
    "scan_paths": "detect.scan",
    "Validator": "validate.validator",
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
    from .detect.scan import scan_paths
    from .digest.document import Document, Notice, Paper
    from .digest.fields import FIELDS
    from .digest.loader import iter_documents, load
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
    from .generate.client import LLMClient
    from .generate.extractive import ExtractiveProvider
    from .generate.openai_provider import OpenAIProvider
    from .generate.settings import LLMSettings, build_settings
    from .job.repair import Output, RepairJob, RepairOptions
    from .job.report import RunReport
    from .validate.validator import Validator
