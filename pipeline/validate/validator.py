"""Decide whether generated summary fields may be written, and audit existing ones.

Valid JSON is not enough: an answer may invent numbers or names, repeat itself, refuse,
be in the wrong language or carry markup that breaks the page. Each check returns
``Problem``s with a stable code (the table in the README lists them with their
thresholds); the generation loop re-asks with them and ``audit`` reports them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from itertools import combinations

from ..contracts import PaperRequest, Problem
from ..detect.language import CHECKED_LANGUAGES, detect_language, normalize_language
from ..digest.fields import FIELDS
from ..digest.markup import find_markup
from ..digest.placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from ..generate.schema import schema_problems
from ..thresholds import DEFAULT_THRESHOLDS, Thresholds
from . import quantities, terms

# The stable problem codes, in the order the checks run (reports and the README use them).
CODES: tuple[str, ...] = (
    "schema",
    "placeholder",
    "language",
    "numbers",
    "terms",
    "markup",
    "length",
    "duplicate",
)

# What a model writes instead of an answer. Matched case-insensitively anywhere in a
# field unless the abstract itself contains the phrase (a paper about refusals).
REFUSAL_PHRASES: tuple[str, ...] = (
    "i cannot",
    "i can't",
    "i can not",
    "i'm sorry",
    "i am sorry",
    "i apologize",
    "i'm unable",
    "i am unable",
    "as an ai",
    "as a language model",
    "as an llm",
    "抱歉",
    "对不起",
    "很遗憾",
    "我无法",
    "我不能",
    "作为一个ai",
    "作为ai",
    "作为人工智能",
    "作为一个人工智能",
    "作为语言模型",
    "作为一个语言模型",
)

_REFUSAL = re.compile("|".join(map(re.escape, REFUSAL_PHRASES)), re.IGNORECASE)

# schema.py's codes that are about size, not shape: reported as ``length``.
_LENGTH_CODES = frozenset({"too_short", "too_long"})

# Papers whose derived numbers and names a validator keeps: a batch's concurrent re-asks.
_CACHED_PAPERS = 1024

_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」|『[^』]*』|‘[^’]*’")
_LATIN_RUN = re.compile(r"[^\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
_WORD = re.compile(r"[a-z0-9]+")
_NOT_TEXT = re.compile(r"[\W_]+")


def _paper_context(title: str, abstract: str) -> tuple[quantities.Source, terms.Vocabulary, dict[str, tuple[int, ...]]]:
    """Everything the checks derive from one paper (each validator caches it for re-asks)."""
    positions: dict[str, list[int]] = {}
    for index, word in enumerate(_WORD.findall(abstract.lower())):
        positions.setdefault(word, []).append(index)
    return (
        quantities.Source.of((title, abstract)),
        terms.Vocabulary((title, abstract)),
        {word: tuple(where) for word, where in positions.items()},
    )


class Validator:
    """The ``contracts.Validate`` callable; also used by ``audit`` on existing summaries."""

    def __init__(
        self,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        matcher: PlaceholderMatcher = DEFAULT_MATCHER,
    ) -> None:
        self.thresholds = thresholds
        self.matcher = matcher
        self._context = lru_cache(maxsize=_CACHED_PAPERS)(_paper_context)

    def prepare(self, title: str, abstract: str) -> None:
        """Derive the paper's numbers and names now, e.g. while waiting for the network,
        so that checking the answer later is cheap."""
        self._context(title, abstract)

    def __call__(self, request: PaperRequest, fields: Mapping[str, str]) -> list[Problem]:
        return self.check(request.title, request.abstract, request.language, fields, expected=request.fields)

    def check(
        self,
        title: str,
        abstract: str,
        language: str,
        fields: Mapping[str, object],
        expected: tuple[str, ...] | None = None,
    ) -> list[Problem]:
        """All problems of ``fields`` for the paper ``title``/``abstract``.

        ``expected`` names the fields that must be present (default: those given).
        """
        wanted = tuple(fields) if expected is None else expected
        problems = [
            Problem("length" if p.code in _LENGTH_CODES else "schema", p.field, p.message)
            for p in schema_problems(fields, wanted)
        ]
        if problems and problems[0].field is None:
            return problems  # not an object: nothing else can be read
        texts = {name: value for name, value in fields.items() if name in wanted and isinstance(value, str)}
        language = normalize_language(language)
        written: dict[str, str] = {}
        for name, value in texts.items():
            refused = self._placeholder(name, value, abstract)
            if refused:
                problems += refused
            else:
                written[name] = value
                problems += self._field_problems(name, value, title, abstract, language)
        return problems + self._duplicates(written)

    def _placeholder(self, name: str, value: str, abstract: str) -> list[Problem]:
        if self.matcher.is_failed(value):
            shown = value.strip() or "empty"
            return [Problem("placeholder", name, f"{name} is a failure placeholder ({shown!r})")]
        inside = self.matcher.contains_placeholder(value)
        if inside:
            return [Problem("placeholder", name, f"{name} contains the placeholder {inside!r}")]
        # A quoted refusal ("如“抱歉，我无法回答”") describes one; it is not one.
        for match in _REFUSAL.finditer(_QUOTED.sub("", value)):
            phrase = match.group()
            if phrase.lower() not in abstract.lower():
                return [Problem("placeholder", name, f"{name} reads as a refusal ({phrase!r})")]
        return []

    def _field_problems(self, name: str, value: str, title: str, abstract: str, language: str) -> list[Problem]:
        t = self.thresholds
        source, vocabulary, word_positions = self._context(title, abstract)
        problems: list[Problem] = []
        detected = detect_language(value, t)
        wrong_language = language in CHECKED_LANGUAGES and detected not in (None, language)
        if wrong_language:
            problems.append(Problem("language", name, f"{name} is written in {detected}, not {language}"))
        missing_numbers = quantities.unsupported(value, source, t.number_tolerance, t.number_approx_tolerance)
        if missing_numbers:
            shown = ", ".join(q.text.strip() for q in missing_numbers[:5])
            problems.append(Problem("numbers", name, f"{name} states {shown}, not found in the abstract"))
        # In Chinese prose every Latin word is a name; in English only name-like ones are.
        every_word = detected == "Chinese"
        missing_terms = terms.unsupported(value, vocabulary, every_word=every_word, thresholds=t)
        if missing_terms:
            shown = ", ".join(missing_terms[:5])
            problems.append(Problem("terms", name, f"{name} names {shown}, not in the title or abstract"))
        findings = find_markup(value)
        if findings:
            shown = "; ".join(map(str, findings))
            problems.append(Problem("markup", name, f"{name} contains forbidden markup: {shown}"))
        if language != "English" and not wrong_language:
            copied = _longest_copy(value, word_positions)
            if copied >= t.copied_words:
                problems.append(
                    Problem("length", name, f"{name} copies {copied} consecutive words of the English abstract")
                )
        return problems

    def _duplicates(self, texts: Mapping[str, str]) -> list[Problem]:
        problems: list[Problem] = []
        reported: set[str] = set()
        ordered = sorted(texts, key=lambda n: FIELDS.index(n) if n in FIELDS else len(FIELDS))
        shingles = {name: _trigrams(texts[name]) for name in ordered}
        for first, second in combinations(ordered, 2):
            smaller, larger = sorted((len(shingles[first]), len(shingles[second])))
            # Jaccard similarity cannot exceed the ratio of the trigram *set* sizes (not of
            # the texts' lengths: a field that repeats another twice has the same set).
            if second in reported or smaller < self.thresholds.duplicate_similarity * larger:
                continue
            score = _jaccard(shingles[first], shingles[second])
            if score >= self.thresholds.duplicate_similarity:
                reported.add(second)
                problems.append(Problem("duplicate", second, f"{second} repeats {first} (similarity {score:.2f})"))
        return problems


def _longest_copy(value: str, positions: Mapping[str, tuple[int, ...]]) -> int:
    """Longest run of consecutive abstract words that ``value`` repeats in one Latin run."""
    best = 0
    for run in _LATIN_RUN.findall(value.lower()):
        words = _WORD.findall(run)
        # Dynamic programming over (field word, abstract position) pairs that continue.
        previous: dict[int, int] = {}
        for word in words:
            current = {i: previous.get(i - 1, 0) + 1 for i in positions.get(word, ())}
            best = max(best, *current.values(), 0)
            previous = current
    return best


def _trigrams(text: str) -> set[str]:
    folded = _NOT_TEXT.sub("", text).lower()
    return {folded[i : i + 3] for i in range(len(folded) - 2)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


DEFAULT_VALIDATOR = Validator()
