"""Every tunable number of the detector and validator, in one place.

Length bounds are the exception: they live in ``schemas/summary.schema.json`` because the
same numbers are sent to the model as the structured-output schema.

Each default was calibrated on real upstream output (see README, "Validator thresholds");
the CLI exposes them as ``--threshold NAME=VALUE``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    # language: a text with fewer CJK characters + Latin words than this is not judged.
    language_min_units: int = 4
    # language: share of CJK characters among (CJK characters + Latin words) at or above
    # which a text counts as Chinese. Real Chinese summaries sit far above 0.5 even with
    # many names; English ones at 0.
    cjk_share_chinese: float = 0.35
    # length: a non-English field that copies this many consecutive abstract words is a copy.
    # Good Chinese fields quote names and phrases of at most 8 words.
    copied_words: int = 12
    # duplicate: two fields whose character-trigram Jaccard similarity reaches this are
    # duplicates. Good papers peak at 0.57 (median of each paper's closest pair: 0.20); a
    # field copied with a few words changed stays above 0.8.
    duplicate_similarity: float = 0.7
    # terms: a Latin name must have at least this many characters to be checked.
    term_min_chars: int = 2
    # terms: a lower-case word this long may be the stem of a source word ("prefill" for
    # "prefilling"). Calibration: 5 leaves 2 of 296 good papers flagged (a typo and a
    # name the abstract hides behind a macro); 4 would accept more swapped jargon.
    term_min_stem_chars: int = 5
    # terms: an all-capitals acronym this long may abbreviate consecutive abstract words
    # ("GAMs" for "generalized additive models"); two letters match too much by chance.
    acronym_min_letters: int = 3
    # numbers: relative tolerance when comparing a field's quantity with the abstract's, on
    # top of rounding to the digits written ("40%" accepts 40.2%). Rounding alone accepts
    # all 502 good papers but one (a derived ratio); any relative slack blurs years and
    # counts (1% of 2024 is 20), so the default is none.
    number_tolerance: float = 0.0
    # numbers: relative tolerance when the field marks the number as rounded ("约40%",
    # "超过3倍", "nearly 40%").
    number_approx_tolerance: float = 0.05

    def with_overrides(self, assignments: list[str]) -> Thresholds:
        """Apply ``NAME=VALUE`` strings from the command line."""
        known = {f.name: f.type for f in fields(self)}
        changes: dict[str, Any] = {}
        for item in assignments:
            name, sep, raw = item.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in known:
                raise ValueError(f"unknown threshold {item!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            try:
                changes[name] = type(current)(raw)
            except ValueError:
                raise ValueError(f"threshold {name} needs a number, got {raw!r}") from None
        return replace(self, **changes)


DEFAULT_THRESHOLDS = Thresholds()
