"""digest-repair: find and regenerate failed AI summaries in daily arXiv digests.

The public API is what this module exports; everything else may move.
"""

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

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "Aborted",
    "DigestRepairError",
    "Document",
    "ExtractiveProvider",
    "FatalLLMError",
    "Gate",
    "Generation",
    "GenerationFailed",
    "InputError",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "NotADigest",
    "Notice",
    "OpenAIProvider",
    "Output",
    "Paper",
    "PaperRequest",
    "Problem",
    "RepairJob",
    "RepairOptions",
    "RunReport",
    "UsageError",
    "Validator",
    "__version__",
    "build_settings",
    "detect",
    "iter_documents",
    "load",
    "scan_paths",
]
