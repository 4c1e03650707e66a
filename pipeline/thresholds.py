"""Every tunable number of the detector and validator, in one place.

Length bounds are the exception: they live in ``schemas/summary.schema.json`` because the
same numbers are sent to the model as the structured-output schema.

Each default was calibrated on real upstream output (see README, "Validator thresholds");
the CLI exposes them as ``--threshold NAME=VALUE``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Thresholds:
    # language: a text with fewer CJK characters + Latin words than this is not judged.
    language_min_units: int = 4
    # language: share of CJK characters among (CJK characters + Latin words) at or above
    # which a text counts as Chinese. Real Chinese summaries sit far above 0.5 even with
    # many names; English ones at 0.
    cjk_share_chinese: float = 0.35
    # length: a non-English field that copies this many consecutive abstract words is a copy.
    copied_words: int = 12
    # duplicate: two fields whose character-trigram similarity reaches this are duplicates.
    duplicate_similarity: float = 0.85
    # terms: a Latin name must have at least this many characters to be checked.
    term_min_chars: int = 2
    # numbers: relative tolerance when comparing a field's quantity with the abstract's.
    number_tolerance: float = 0.01

    def with_overrides(self, assignments: list[str]) -> Thresholds:
        """Apply ``NAME=VALUE`` strings from the command line."""
        known = {f.name: f.type for f in fields(self)}
        changes: dict[str, int | float] = {}
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
