"""Decide whether generated summary fields may be written, and audit existing ones.

Valid JSON is not enough: an answer may invent numbers or names, repeat itself, refuse,
be cut off, be in the wrong language or carry markup that breaks the page. Each check
returns ``Problem``s with a stable code (the table in the README lists them with their
thresholds); the generation loop re-asks with them and ``audit`` reports them. The checks
themselves live in the modules named for what they read: ``quantities`` and ``measures``
(numbers), ``terms`` (names), ``refusal``, ``links``, ``endings`` (cut-off fields) and
``overlap`` (repeated fields, copied abstract), all reading LaTeX through ``latex``.

With a ``grounding`` backend, an answer the lexical checks accept is also checked for
meaning against the abstracts of its day (``grounding``): a fluent summary of another
paper names nothing the lexical checks could miss. The day's papers are registered
(``ground_day``) and embedded (``embed_day``, slow: a worker thread) by the caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from ..contracts import PaperRequest, Problem
from ..detect.language import CHECKED_LANGUAGES, detect_language, english_prose, normalize_language, profile
from ..digest.markup import find_markup
from ..digest.placeholders import DEFAULT_MATCHER, PlaceholderMatcher
from ..generate.embeddings import build_embeddings_client, select_backend
from ..generate.schema import schema_problems
from ..generate.settings import LLMSettings, build_settings
from ..thresholds import DEFAULT_THRESHOLDS, Thresholds
from . import endings, links, overlap, quantities, refusal, terms

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # numpy comes with the grounding extra: imported only when grounding is on
    from .grounding import Day, Grounder, VectorStore

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
    "grounding",
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


class _DayEntry:
    """A registered day: its papers, and its embeddings once made (by ``embed_day`` ahead
    of the checks, or by the first check that needs them: whichever comes first, once)."""

    def __init__(self, papers: list[tuple[str, str]]) -> None:
        self.papers = papers
        self.day: Day | None = None
        self.error: Exception | None = None
        self.done = False
        self.lock = threading.Lock()


class Validator:
    """The ``contracts.Validate`` callable; also used by ``audit`` on existing summaries.

    ``grounding`` is ``"auto"`` (the embedded backend when its extra is installed, else
    off with a notice), ``"embedded"``, ``"api"`` (``EMBEDDINGS_MODEL`` on the server the
    environment names), ``"off"``, or a ``Grounder`` built by the caller. The library's
    default is off: building a validator never loads the models unasked. When ``auto``
    leaves the check off, ``grounding_notice`` says why in one line, for the caller to show.
    """

    def __init__(
        self,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        matcher: PlaceholderMatcher = DEFAULT_MATCHER,
        grounding: str | Grounder = "off",
    ) -> None:
        self.thresholds = thresholds
        self.matcher = matcher
        self._context = lru_cache(maxsize=_CACHED_PAPERS)(_paper_context)
        if grounding == "off":  # no settings read: a bad environment cannot break a validator without it
            self.grounder, self.grounding_notice = None, None
        elif isinstance(grounding, str):
            self.grounder, self.grounding_notice = build_grounder(grounding, build_settings({}, os.environ))
        else:
            self.grounder, self.grounding_notice = grounding, None
        self._days: dict[str, _DayEntry] = {}
        self._day_of: dict[str, str] = {}  # paper key -> the day it is checked against
        self._lock = threading.Lock()

    @property
    def codes(self) -> tuple[str, ...]:
        """The problem codes this validator can report (``grounding`` only when it is on):
        what a measurement of its acceptance should list."""
        return CODES if self.grounder is not None else tuple(code for code in CODES if code != "grounding")

    # -- the days grounding checks against ------------------------------------------------

    def ground_day(self, day: str, papers: Iterable[tuple[str, str]]) -> bool:
        """Register the papers (title, abstract) of day ``day``: the answer for each is then
        checked against the others. False (nothing to do) without grounding."""
        if self.grounder is None:
            return False
        entry = _DayEntry(list(papers))
        with self._lock:
            self._days[day] = entry
            for title, abstract in entry.papers:
                self._day_of[_paper_key(title, abstract)] = day
        return True

    def embed_day(self, day: str) -> None:
        """Embed a registered day's papers now: slow (the models run on the CPU), so the job
        calls it in a worker thread while its first requests are on the wire. Raises what
        embedding raised (the day's checks then skip grounding)."""
        entry = self._days.get(day)
        if entry is not None and self._embedded(entry) is None and entry.error is not None:
            raise entry.error

    def _embedded(self, entry: _DayEntry) -> Day | None:
        """The day's vectors, made on the first call; a check arriving meanwhile waits."""
        with entry.lock:
            if not entry.done and self.grounder is not None:
                try:
                    entry.day = self.grounder.day(entry.papers)
                except Exception as exc:  # the models or the embeddings API: checked without grounding
                    entry.error = exc
                    logger.warning("grounding check skipped for a day: %s: %s", type(exc).__name__, exc)
                entry.done = True
            return entry.day

    def forget_day(self, day: str) -> None:
        """Drop a written day's vectors: memory stays flat over many days."""
        with self._lock:
            entry = self._days.pop(day, None)
            if entry is not None:
                for title, abstract in entry.papers:
                    self._day_of.pop(_paper_key(title, abstract), None)

    def prepare(self, title: str, abstract: str) -> None:
        """Derive the paper's numbers and names now, e.g. while waiting for the network,
        so that checking the answer later is cheap."""
        paper = self._context(title, abstract)
        paper.source, paper.vocabulary  # noqa: B018 - computed and cached

    async def __call__(self, request: PaperRequest, fields: Mapping[str, str]) -> list[Problem]:
        """``check_request``; with grounding in a worker thread (the models block)."""
        if self.grounder is None:
            return self.check_request(request, fields)
        return await asyncio.to_thread(self.check_request, request, fields)

    def check_request(self, request: PaperRequest, fields: Mapping[str, object]) -> list[Problem]:
        """``check`` for the paper and fields of a request (blocks while grounding)."""
        examples = tuple(example.title for example in request.examples)
        return self.check(request.title, request.abstract, request.language, fields, request.fields, examples)

    def check(
        self,
        title: str,
        abstract: str,
        language: str,
        fields: Mapping[str, object],
        expected: tuple[str, ...] | None = None,
        examples: Sequence[str] = (),
    ) -> list[Problem]:
        """All problems of ``fields`` for the paper ``title``/``abstract``.

        ``expected`` names the fields that must be present (default: those given);
        ``examples`` the titles of the prompt's style examples (grounding holds an answer
        to being nearer its own abstract than theirs).
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
        problems += overlap.duplicates(written, self.thresholds)
        if not problems and written:  # only an answer that would be written costs the models
            problems += self._grounding(title, abstract, language, written, examples)
        return problems

    def _grounding(
        self, title: str, abstract: str, language: str, written: Mapping[str, str], examples: Sequence[str]
    ) -> list[Problem]:
        """``grounding`` problems against the paper's registered day (none without one)."""
        entry = self._days.get(self._day_of.get(_paper_key(title, abstract), ""))
        day = None if self.grounder is None or entry is None else self._embedded(entry)
        if day is None:
            return []
        assert self.grounder is not None
        return self.grounder.check(day, title, abstract, written, examples=examples, language=language)

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
        elif language == "Chinese" and detected == "Chinese":
            untranslated = english_prose(value)
            if untranslated:
                shown = ", ".join(repr(run) for run in untranslated[:3])
                problems.append(Problem("language", name, f"{name} leaves English untranslated: {shown}"))
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


def _paper_key(title: str, abstract: str) -> str:
    return hashlib.sha256(f"{title}\x00{abstract}".encode()).hexdigest()


def build_grounder(
    choice: str, settings: LLMSettings, store: VectorStore | None = None
) -> tuple[Grounder | None, str | None]:
    """The grounder ``--grounding CHOICE`` names (the ``api`` backend on ``settings``'
    server, key and ``embeddings_model``; vectors kept in ``store``), and the one notice
    line to print when ``auto`` leaves it off."""
    backend, notice = select_backend(
        choice, api_client=lambda: build_embeddings_client(settings), model=settings.embeddings_model
    )
    if backend is None:
        return None, notice
    from .grounding import Grounder  # numpy: only once grounding is on

    return Grounder(backend, store=store), notice


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
