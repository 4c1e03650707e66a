"""What a field shares with another text: another field (repeated or pasted inside), or the
English abstract (copied into a non-English digest).

Fields are compared as sets of character trigrams (letters and digits only, case-folded),
which works the same for Chinese and English. Two measures answer two questions:

- *similarity* (Jaccard): are two fields the same text? A field copied with a few words
  changed stays above 0.8;
- *containment* (the share of the shorter field's trigrams found in the longer one): is
  one field pasted inside another? A motivation that holds the whole method and result,
  or a conclusion that is 96% the result, scores low on similarity (the container is much
  longer) and near 1 on containment. The TL;DR is left out of containment: it sums up the
  other fields, and real TL;DRs restate the conclusion all the time.

The same similarity reads one field against itself: a field that says one of its sentences
or clauses twice (a small model looping: "实验结果表明，MOSE…一般能力。实验结果表明，MOSE…
一般能力。") repeats itself. Real summaries state parallel facts in parallel clauses ("在KTH上
减少了67.9%。在MRPB上减少了77.1%。"): two parts that carry different numbers are two facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

from ..contracts import Problem
from ..digest.fields import FIELDS
from ..thresholds import Thresholds
from .latex import LETTER_RUN, normalize, words

_NOT_TEXT = re.compile(r"[\W_]+")
# Fields a body field may not be pasted into, or from: the TL;DR sums the others up.
_SUMMARY_FIELDS = frozenset({"tldr"})
# The copy rule compares ordinary words: numbers, formula symbols and one-letter names
# (metric tuples "AUC: 0.967 vs 0.965", "$\Theta_{post}$") are not copied prose.
_LATIN_RUN = re.compile(r"[^\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
# Where a field's sentences, and their clauses, end (a comma or colon inside "1,000" or
# "3:1" ends nothing).
_SENTENCE_END = re.compile(r"(?<=[。！？；;!?])|(?<=[.])\s+")
_CLAUSE_END = re.compile(r"(?<=[。！？；;!?，：])|(?<=[.,:])\s+")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_SHOWN = 60  # characters of a repeated part quoted in the message


def trigrams(text: str) -> set[str]:
    """The character trigrams the checks compare (letters and digits, case-folded); also
    how ``benchmarks/bench_real_model.py`` tells an answer that copies a style example."""
    return _Field.of("", text).shingles


def _jaccard(a: set[str], b: set[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if a and b else 0.0


@dataclass(frozen=True)
class _Field:
    name: str
    text: str
    shingles: set[str]
    # Trigram occurrences beyond each one's first: a part said twice repeats all of its own.
    repeats: int

    @classmethod
    def of(cls, name: str, text: str) -> _Field:
        folded = _NOT_TEXT.sub("", text).lower()
        grams = [folded[i : i + 3] for i in range(len(folded) - 2)]
        shingles = set(grams)
        return cls(name, text, shingles, len(grams) - len(shingles))


def duplicates(texts: Mapping[str, str], thresholds: Thresholds) -> list[Problem]:
    """A ``duplicate`` problem for each field that repeats, or is pasted inside, another,
    or says one of its own sentences or clauses twice."""
    ordered = sorted(texts, key=lambda n: FIELDS.index(n) if n in FIELDS else len(FIELDS))
    fields = [_Field.of(name, texts[name]) for name in ordered]
    problems = _across_fields(fields, thresholds)
    reported = {problem.field for problem in problems}
    # Two parts of at least ``containment_min_trigrams`` similar enough share that share
    # of them, each trigram then written twice: a field without as many repeats is spared.
    needed = thresholds.duplicate_similarity * thresholds.containment_min_trigrams
    for field in fields:
        repeated = None if field.name in reported or field.repeats < needed else repetition(field.text, thresholds)
        if repeated is not None:
            shown = repeated if len(repeated) <= _SHOWN else repeated[:_SHOWN] + "…"
            problems.append(Problem("duplicate", field.name, f"{field.name} says the same thing twice: {shown!r}"))
    return problems


def repetition(text: str, thresholds: Thresholds) -> str | None:
    """The first sentence or clause of ``text`` that a later one repeats (trigram
    similarity at least ``duplicate_similarity``, both at least ``containment_min_trigrams``
    long, the same numbers in both), or None.

    Calibration set (44,542 real papers, 222,697 fields): no two sentences of one field
    reach 0.7 (the closest pair, 0.6, states two results with different numbers); three
    pairs of clauses do, each a parallel result with its own numbers ("XLM-RoBERTa对僧伽罗语
    为88.1%；…为85.9%。"), hence the numbers rule: no real field is flagged.
    """
    for boundary in (_SENTENCE_END, _CLAUSE_END):
        parts = [_Field.of("", part) for part in boundary.split(text) if part.strip()]
        parts = [part for part in parts if len(part.shingles) >= thresholds.containment_min_trigrams]
        for first, second in combinations(parts, 2):
            if _jaccard(first.shingles, second.shingles) >= thresholds.duplicate_similarity and _DIGITS.findall(
                first.text
            ) == _DIGITS.findall(second.text):
                return first.text.strip()
    return None


def _across_fields(fields: list[_Field], thresholds: Thresholds) -> list[Problem]:
    """Fields that repeat, or are pasted inside, another field."""
    problems: list[Problem] = []
    reported: set[str] = set()
    for first, second in combinations(fields, 2):
        small, large = sorted((len(first.shingles), len(second.shingles)))
        if not small:
            continue
        # Jaccard similarity cannot exceed the ratio of the trigram *set* sizes (not of
        # the texts' lengths: a field that repeats another twice has the same set).
        if second.name not in reported and small >= thresholds.duplicate_similarity * large:
            score = _jaccard(first.shingles, second.shingles)
            if score >= thresholds.duplicate_similarity:
                reported.add(second.name)
                problems.append(
                    Problem("duplicate", second.name, f"{second.name} repeats {first.name} (similarity {score:.2f})")
                )
                continue
        if {first.name, second.name} & _SUMMARY_FIELDS or small < thresholds.containment_min_trigrams:
            continue
        inner, outer = (first, second) if len(first.shingles) <= len(second.shingles) else (second, first)
        if outer.name in reported:
            continue
        share = len(inner.shingles & outer.shingles) / len(inner.shingles)
        if share >= thresholds.containment_share:
            reported.add(outer.name)
            problems.append(Problem("duplicate", outer.name, f"{outer.name} contains {inner.name} ({share:.0%} of it)"))
    return problems


def word_positions(abstract: str) -> dict[str, tuple[int, ...]]:
    """Where each ordinary word stands in ``abstract`` (the copy rule's index)."""
    positions: dict[str, list[int]] = {}
    for index, word in enumerate(w.lower() for w in words(abstract) if len(w) > 1):
        positions.setdefault(word, []).append(index)
    return {word: tuple(where) for word, where in positions.items()}


def _words_of(run: str) -> list[str]:
    """The ordinary words of a Latin run, read as the abstract's are (``latex.words``)."""
    return [word for word in LETTER_RUN.findall(run) if len(word) > 1]


def may_copy(value: str, words: int) -> bool:
    """True when ``value`` has enough Latin words in a row to copy ``words`` of the abstract
    (most Chinese fields have not, and are spared reading the abstract's words)."""
    return any(len(_words_of(run)) >= words for run in _LATIN_RUN.findall(normalize(value).lower()))


def longest_copy(value: str, positions: Mapping[str, tuple[int, ...]]) -> int:
    """Longest run of consecutive abstract words that ``value`` repeats in one Latin run."""
    best = 0
    for run in _LATIN_RUN.findall(normalize(value).lower()):
        # Dynamic programming over (field word, abstract position) pairs that continue.
        previous: dict[int, int] = {}
        for word in _words_of(run):
            current = {i: previous.get(i - 1, 0) + 1 for i in positions.get(word, ())}
            best = max(best, *current.values(), 0)
            previous = current
    return best
