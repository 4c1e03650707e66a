"""digest-repair: find and regenerate failed AI summaries in daily arXiv digests.

The public API is what this module exports; everything else may move.
"""

from .document import Document, Notice, Paper
from .errors import DigestRepairError, InputError, NotADigest, UsageError
from .fields import FIELDS
from .loader import load

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "DigestRepairError",
    "Document",
    "InputError",
    "NotADigest",
    "Notice",
    "Paper",
    "UsageError",
    "__version__",
    "load",
]
