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
    # duplicate: a body field (not the TL;DR) is pasted inside another when this share of
    # its trigrams is found in the other. Calibration set (44,544 complete real papers):
    # 0.8 flags 7 papers (0.016%), each a result or motivation restated word for word in
    # another field; 0.7 would flag 140 (0.31%), 0.9 still catches every pasted field of
    # the real model's answers (0.94 to 1.00) but misses conclusions that reword a little.
    containment_share: float = 0.8
    # duplicate: fields with fewer trigrams than this are too short to be "pasted" anywhere.
    containment_min_trigrams: int = 10
    # length: a body field (not the TL;DR) without a final full stop reads as cut off when
    # at least this many other fields of the answer end with one (validate/endings.py).
    # Calibration set (44,542 real papers): 3 papers flagged, and with the other signs of a
    # cut (dangling endings, unclosed brackets, half words) 86.8% of fields cut at a random
    # point are caught.
    truncation_min_context: int = 2
    # length: the same for the TL;DR; 0 (the default) never judges a TL;DR by the other
    # fields' full stops. 4 catches 95.7% of cuts instead of 86.8%, but flags 144 more
    # papers of the calibration set (length acceptance 99.96% -> 99.64%) and 3.8% of the
    # 2026 digests in ../shared, whose upstream writes some TL;DRs as headlines without
    # one: an audit of 2026 would cry wolf, and a model shown those as style examples
    # would be re-asked.
    truncation_min_context_tldr: int = 0
    # terms: a Latin name must have at least this many characters to be checked.
    term_min_chars: int = 2
    # terms: a lower-case word this long may be the stem of a source word ("prefill" for
    # "prefilling"). Calibration: 5 leaves 2 of 296 good papers flagged (a typo and a
    # name the abstract hides behind a macro); 4 would accept more swapped jargon.
    term_min_stem_chars: int = 5
    # terms: an all-capitals acronym this long may abbreviate consecutive abstract words
    # ("GAMs" for "generalized additive models"); two letters match too much by chance, so
    # only the common ones listed in validate/abbreviations.tsv are expanded (KL, CT).
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
