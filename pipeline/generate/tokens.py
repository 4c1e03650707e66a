"""Token counts estimated from text, for plans and dry runs (no tokenizer is shipped).

BPE tokenizers of current chat models spend about one token per CJK character and one per
four characters of Latin text; a plan needs the order of magnitude, not the exact bill.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")

# A field as upstream's model writes it: the calibration set's Chinese fields average
# about 110 characters (README, "Performance"), so about 110 tokens with JSON quoting.
COMPLETION_TOKENS_PER_FIELD = 110
# The JSON object around the fields: braces, keys, quotes.
COMPLETION_OVERHEAD_TOKENS = 10


def estimate_tokens(text: str) -> int:
    """Roughly what a BPE tokenizer counts: one per CJK character, one per four others."""
    cjk = len(_CJK.findall(text))
    return cjk + -(-(len(text) - cjk) // 4)


def estimate_completion(fields: int) -> int:
    """The completion tokens of an answer holding ``fields`` fields."""
    return COMPLETION_OVERHEAD_TOKENS + COMPLETION_TOKENS_PER_FIELD * fields
