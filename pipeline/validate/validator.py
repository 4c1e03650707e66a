"""Decide whether generated summary fields may be written, and audit existing ones.

Valid JSON is not enough: an answer may invent numbers or names, repeat itself, refuse,
be cut off, be in the wrong language or carry markup that breaks the page. Each check
returns ``Problem``s with a stable code (the table in the README lists them with their
thresholds); the generation loop re-asks with them and ``audit`` reports them. The checks
themselves live in the modules named for what they read: ``quantities`` and ``measures``
(numbers), ``terms`` (names), ``refusal``, ``links``, ``endings`` (cut-off fields) and
``overlap`` (repeated fields, copied abstract), all reading LaTeX through ``latex``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property, lru_cache

from ..contracts import PaperRequest, Problem
from ..detect.language import CHECKED_LANGUAGES, detect_language, normalize_language, profile
from ..digest.markup import find_markup
from ..digest.placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from ..generate.schema import schema_problems
from ..thresholds import DEFAULT_THRESHOLDS, Thresholds
from . import endings, links, overlap, quantities, refusal, terms

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

# schema.py's codes that are about size, not shape: reported as ``length``.
_LENGTH_CODES = frozenset({"too_short", "too_long"})

# Papers whose derived numbers and names a validator keeps, for their re-asks and the check
# before writing: the papers in progress (twice --concurrency) with room to spare. Each
# costs about 10 KB: 1,024 of them were a tenth of a 100 MB digest's memory.
_CACHED_PAPERS = 256

_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


class _Paper:
    """Everything the checks derive from one paper's title and abstract, each part read
    the first time a check needs it (most answers never need the abstract's word index)."""

    def __init__(self, title: str, abstract: str) -> None:
        self.title, self.abstract = title, abstract

    @cached_property
    def source(self) -> quantities.Source:
        return quantities.Source.of((self.title, self.abstract))

    @cached_property
    def vocabulary(self) -> terms.Vocabulary:
        return terms.Vocabulary((self.title, self.abstract))

    @cached_property
    def words(self) -> Mapping[str, tuple[int, ...]]:
        return overlap.word_positions(self.abstract)

    @cached_property
    def links(self) -> frozenset[str]:
        return links.link_keys(self.title, self.abstract)


def _paper_context(title: str, abstract: str) -> _Paper:
    """The paper's derived context (each validator caches it for re-asks)."""
    return _Paper(title, abstract)


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
        paper = self._context(title, abstract)
        paper.source, paper.vocabulary  # noqa: B018 - computed and cached

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
                # "无" is too short because it is no answer: say the cause, not the symptom.
                problems = [p for p in problems if not (p.field == name and p.code == "length")] + refused
            else:
                written[name] = value
                problems += self._field_problems(name, value, title, abstract, language)
        if language in CHECKED_LANGUAGES:
            problems += self._cut_off(self._context(title, abstract), written, problems)
        return problems + overlap.duplicates(written, self.thresholds)

    def _placeholder(self, name: str, value: str, abstract: str) -> list[Problem]:
        if self.matcher.is_failed(value):
            shown = value.strip() or "empty"
            return [Problem("placeholder", name, f"{name} is a failure placeholder ({shown!r})")]
        inside = self.matcher.contains_placeholder(value)
        if inside:
            return [Problem("placeholder", name, f"{name} contains the placeholder {inside!r}")]
        empty = self.matcher.non_answer(value)
        if empty:
            return [Problem("placeholder", name, f"{name} is no answer ({empty!r}): say what the abstract does give")]
        phrase = refusal.refusal(value, abstract)
        if phrase:
            return [Problem("placeholder", name, f"{name} reads as a refusal ({phrase!r})")]
        return []

    def _field_problems(self, name: str, value: str, title: str, abstract: str, language: str) -> list[Problem]:
        t = self.thresholds
        paper = self._context(title, abstract)
        problems: list[Problem] = []
        detected = detect_language(value, t)
        if detected is None and language == "Chinese":
            # Too short to weigh scripts, but with no Chinese at all it is not Chinese.
            script = profile(value)
            detected = "English" if not script.cjk_chars and _LATIN_WORD.search(value) else None
        wrong_language = language in CHECKED_LANGUAGES and detected not in (None, language)
        if wrong_language:
            problems.append(Problem("language", name, f"{name} is written in {detected}, not {language}"))
        prose = links.without_links(value)
        missing_numbers = quantities.unsupported(prose, paper.source, t.number_tolerance, t.number_approx_tolerance)
        if missing_numbers:
            problems.append(Problem("numbers", name, _numbers_message(name, missing_numbers, paper.source, t)))
        # In Chinese prose every Latin word is a name; in English only name-like ones are.
        every_word = detected == "Chinese"
        missing_terms = terms.unsupported(prose, paper.vocabulary, every_word=every_word, thresholds=t)
        if missing_terms:
            shown = ", ".join(missing_terms[:5])
            problems.append(Problem("terms", name, f"{name} names {shown}, not in the title or abstract"))
        findings = [str(finding) for finding in find_markup(value)]
        findings += [f"link {url!r} the abstract does not give" for url in links.foreign_links(value, paper.links)]
        if findings:
            problems.append(Problem("markup", name, f"{name} contains forbidden markup: {'; '.join(findings)}"))
        if language != "English" and not wrong_language and overlap.may_copy(value, t.copied_words):
            copied = overlap.longest_copy(value, paper.words)
            if copied >= t.copied_words:
                problems.append(
                    Problem("length", name, f"{name} copies {copied} consecutive words of the English abstract")
                )
        return problems

    def _cut_off(self, paper: _Paper, written: Mapping[str, str], problems: list[Problem]) -> list[Problem]:
        """``length`` problems for fields that end mid-sentence (not for those already
        reported as too short or in the wrong language: the answer is re-asked anyway)."""
        known = {(p.field, p.code) for p in problems}
        found = []
        for name in written:
            if (name, "length") in known or (name, "language") in known:
                continue
            t = self.thresholds
            why = endings.cut_off(
                name, written, t.truncation_min_context, paper.vocabulary.is_fragment, t.truncation_min_context_tldr
            )
            if why:
                found.append(Problem("length", name, f"{name} is cut off mid-sentence: it {why}"))
        return found


def _numbers_message(name: str, missing: list[quantities.Quantity], source: quantities.Source, t: Thresholds) -> str:
    """What is wrong with the numbers: not in the abstract at all, given there for another
    measure, or for another model, dataset or method (the re-ask then says which)."""
    tolerances = (t.number_tolerance, t.number_approx_tolerance)
    given_for = {q: source.given_for(q, *tolerances) for q in missing}
    elsewhere = [q for q in missing if not given_for[q] and source.supports(q, *tolerances, measured=False)]
    absent = [q for q in missing if q not in elsewhere and not given_for[q]]
    said = []
    if absent:
        said.append(f"states {', '.join(q.text.strip() for q in absent[:5])}, not found in the abstract")
    if elsewhere:
        shown = ", ".join(f"{q.text.strip()} as {'/'.join(sorted(q.measure.ids))}" for q in elsewhere[:5])
        said.append(f"states {shown}, which the abstract gives for another measure")
    swapped = [(q, names) for q, names in given_for.items() if names][:5]
    if swapped:
        shown = ", ".join(f"{q.text.strip()} for {own}" for q, (_, own) in swapped)
        given = ", ".join(f"{theirs}" for _, (theirs, _) in swapped)
        said.append(f"states {shown}, which the abstract gives for {given}")
    return f"{name} " + "; ".join(said)


DEFAULT_VALIDATOR = Validator()
