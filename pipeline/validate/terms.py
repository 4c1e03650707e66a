"""Latin-script names in a summary, and whether the title or abstract mentions them.

A summary that names a model, dataset or method its paper never mentions (``XGBoost`` in a
paper about EEG) was written for another paper or invented. Comparison ignores case,
hyphens, accents and plural endings; an acronym is also supported by the words it
abbreviates.

The two sides are read differently on purpose. A summary's names are read whole, and a
token that is a size or a number with a unit ("7B", "2D", "50ms", "7B-27B") is a quantity
for the numbers check, not a name ("B-27B" was a name before). The abstract is read as a
superset, because it is where PDF extraction and LaTeX leave their marks: every sub-token
of a glued token ("andAUCof94", "introduceSkyLume"), every join of two adjacent tokens
("Flickr 30K", "GPT 4.5"), and every macro name (``\\ECUAS``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from functools import cache, cached_property, lru_cache
from importlib import resources

from ..thresholds import Thresholds
from .latex import normalize, words

# Terms a faithful summary may use although its abstract does not: field-wide acronyms and
# jargon the model adds when writing Chinese, and mathematical function names. "LLM",
# "Transformer", "MLP" and "ReLU" are deliberately absent: the acronym rule accepts "LLM"
# for "large language models", and naming them in a paper that never does is the main
# trace a swapped summary leaves (swap rejection 91% -> 95%, one more good paper flagged).
GENERIC_TERMS: frozenset[str] = frozenset(
    {
        # Field-wide acronyms and metric names.
        "ai",
        "gpu",
        "gpus",
        "cpu",
        "api",
        "ml",
        "dl",
        "nlp",
        "cv",
        "rl",
        "sota",
        "ood",
        "iid",
        "qa",
        "ui",
        "io",
        "pdf",
        "url",
        "github",
        "arxiv",
        "vs",
        "gnn",
        "http",
        "https",
        "www",
        "com",
        "org",
        "f1",
        "auc",
        "roc",
        "r2",
        # Units: they name no method, model or dataset ("TB级内存").
        "kb",
        "mb",
        "gb",
        "tb",
        "pb",
        "ms",
        "fps",
        "hz",
        "khz",
        "mhz",
        "ghz",
        "db",
        "flops",
        "gflops",
        "bpp",
        "tflops",
        # Jargon often left in English inside Chinese text.
        "token",
        "tokens",
        "prompt",
        "prompts",
        "pipeline",
        "benchmark",
        "baseline",
        "agent",
        "agents",
        "embedding",
        "encoder",
        "decoder",
        "attention",
        "fine",
        "tuning",
        "finetuning",
        "zero",
        "shot",
        "few",
        "end",
        "to",
        "top",
        "plug",
        "play",
        "and",
        "of",
        "the",
        "in",
        "for",
        "on",
        "with",
        "et",
        "al",
        "eg",
        "ie",
        # Suffixes glued to a Chinese word: "点wise", "知识aware".
        "wise",
        "based",
        "level",
        "aware",
        "free",
        # Mathematical function names.
        "sin",
        "cos",
        "tan",
        "tanh",
        "sigmoid",
        "softmax",
        "log",
        "exp",
        "max",
        "min",
        "argmax",
        "argmin",
        "sup",
        "inf",
        "lim",
        "det",
        "tr",
        "var",
        "mod",
        "sgn",
        "poly",
        "polylog",
    }
)

# A name starts with a letter, or with digits glued to letters ("3DGS"), never inside a
# number ("7B-27B" holds no name "B-27B"); digits may be grouped inside it ("4,096x4,096").
_NAME = re.compile(r"(?<![A-Za-z0-9.,])[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*(?:(?:[-'’.]|(?<=\d),(?=\d))[A-Za-z0-9]+)*")
# Sizes, resolutions and numbers with a unit: the numbers check's business.
_UNIT = r"(?:[A-Za-z]{0,2}|fps|FPS|[kMG]Hz|bps|[kMG]bps|mAh|kWh|GFLOPs|TFLOPs|FLOPs)"
_QUANTITY = re.compile(
    r"[\d.,]+(?:[xX×][\d.,]+)+"
    r"|(?:\d+(?:[.,]\d+)?" + _UNIT + r")(?:[-.,'’](?:\d+(?:[.,]\d+)?" + _UNIT + r"))*"
)
_SEPARATORS = re.compile(r"[-'’._,]")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Pieces of a glued token at case and letter/digit boundaries ("andAUCof94": and, AUC, of).
_PIECE = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z]|[^A-Za-z]|$|[a-z])|[vV]\d+(?:\.\d+)*|[A-Z]?[a-z]+|[A-Z]+|\d+")
# A glued token's tail from a lower/upper boundary ("introduceSkyLume": SkyLume).
_TAIL = re.compile(r"(?<=[a-z])[A-Z][A-Za-z0-9]*")
# Tokens (names or numbers) whose joins with their neighbour the abstract also offers.
_JOINABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9]|[A-Za-z0-9]")
# Filler words an acronym may skip ("Bayesian Optimization of Experiments" -> BOE,
# "Reinforcement Learning from Human Feedback" -> RLHF).
_PREFIXED_METRIC = re.compile(r"[a-z]([A-Z][A-Za-z0-9]+)")
# A mixed-case acronym's parts: a capital and the small letters after it ("Vi", "T").
_CAPITALISED = re.compile(r"[A-Z][a-z]*|^[a-z]+")
_ACRONYM_SKIPPED = frozenset({"of", "and", "the", "for", "in", "on", "with", "to", "a", "an", "from", "by", "via"})
# "Retrieval-Augmented Generation (RAG)" or "RAG（检索增强生成, Retrieval-Augmented Generation）"
# in the field itself: the spelled-out words of a supported acronym are supported too.
_SPELLED_OUT = re.compile(
    r"([A-Za-z][A-Za-z0-9]*)\s*[（(]([A-Za-z][A-Za-z\s\-]+)[)）]|([A-Za-z][A-Za-z\s\-]+?)\s*[（(]([A-Za-z][A-Za-z0-9]*)[)）]"
)


def key(term: str) -> str:
    """Case-, hyphen-, accent- and plural-insensitive form of a term."""
    return _forms(term)[0]


@lru_cache(maxsize=8192)
def _forms(term: str) -> tuple[str, ...]:
    """The term folded (case, separators), as each singular it may be ("cases": case, cas;
    "biases": biase, bias; "strategies": strategy), the likeliest first."""
    folded = term.lower() if term.isalnum() else _SEPARATORS.sub("", term.lower())
    if len(term) >= 3 and term.endswith("s") and term[:-1].isupper():
        return (folded[:-1],)  # an acronym's plural: IDs, KGs, LLMs
    return _singulars(folded)


def _singulars(word: str) -> tuple[str, ...]:
    """``word`` without a plural ending; "bias", "corpus", "analysis", "loss" have none."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is", "as")):
        return (word,)
    if word.endswith("ies") and len(word) > 4:
        return (word[:-3] + "y", word[:-1])
    if word.endswith("es"):
        return (word[:-1], word[:-2])
    return (word[:-1],)


def is_name_like(token: str) -> bool:
    """True for tokens that look like names in English prose: HSS, XGBoost, LLaMA-7B, F1."""
    upper = sum(char.isupper() for char in token)
    return upper >= 2 or any(char.isdigit() for char in token) or (upper == 1 and not token[0].isupper())


def _names_with_spans(text: str, *, every_word: bool, min_chars: int) -> list[re.Match[str]]:
    found = []
    for match in _NAME.finditer(text):
        token = match.group()
        if len(token) < min_chars or key(token) in GENERIC_TERMS or _QUANTITY.fullmatch(token):
            continue
        if every_word or is_name_like(token):
            found.append(match)
    return found


def names(text: str, *, every_word: bool, min_chars: int) -> list[str]:
    """Latin-script terms in ``text``: all of them (Chinese prose) or name-like ones only."""
    return [m.group() for m in _names_with_spans(normalize(text), every_word=every_word, min_chars=min_chars)]


@cache
def abbreviations() -> dict[str, tuple[str, ...]]:
    """The two-letter abbreviations the package knows (``abbreviations.tsv``) and their phrases."""
    text = resources.files(__package__).joinpath("abbreviations.tsv").read_text(encoding="utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            abbreviation, _, phrases = line.partition("\t")
            table[abbreviation.strip()] = tuple(_plain(p) for p in phrases.split("|") if p.strip())
    return table


def _plain(text: str) -> str:
    """Lower case, words only, single spaces: how phrases are compared ("Recurrence Plot.")."""
    return " " + " ".join(re.sub(r"[^a-z0-9']+", " ", text.lower()).split()) + " "


class Vocabulary:
    """The terms a title and abstract support, as ``key`` forms, word initials and text.

    Its tokens and their parts are read at once; what PDF extraction glued or split (the
    pieces of glued tokens, joins of neighbours) only when a field's term is not found
    among them, which is rare.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self._raw = tuple(texts)
        self._texts = [normalize(text) for text in self._raw]
        keys: set[str] = set()
        for text in self._texts:
            tokens = set(_NAME.findall(text.lower()))
            keys |= tokens
            # Hyphenated tokens also whole, in parts and as runs of parts ("shss-rcm": "shssrcm",
            # "shss", "rcm"; "gpt-4-based": "gpt4"; "llms-phi-2": "phi2").
            for token in tokens:
                if not token.isalnum():
                    parts = [part for part in _SEPARATORS.split(token) if part][:8]
                    keys.update(
                        "".join(parts[start:end])
                        for start in range(len(parts))
                        for end in range(start + 1, len(parts) + 1)
                    )
        self._keys = keys

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """The source's keys, sorted (for the stem rule)."""
        return tuple(sorted(self._keys))

    @cached_property
    def _glued_keys(self) -> set[str]:
        """Pieces and tails of glued tokens, and joins of adjacent tokens."""
        keys: set[str] = set()
        for text in self._texts:
            keys.update(piece.lower() for piece in _PIECE.findall(text))
            keys.update(tail.lower() for tail in _TAIL.findall(text))
            joinable = [_SEPARATORS.sub("", word.lower()) for word in _JOINABLE.findall(text)]
            keys.update(a + b for a, b in zip(joinable, joinable[1:], strict=False))
            triples = zip(joinable, joinable[1:], joinable[2:], strict=False)
            keys.update(a + b + c for a, b, c in triples)  # "N log N"
        return keys

    @cached_property
    def _glued_sorted(self) -> tuple[str, ...]:
        return tuple(sorted(self._glued_keys))

    @cached_property
    def _words(self) -> list[list[str]]:
        return [[word.lower() for word in words(text)] for text in self._raw]

    @cached_property
    def initials(self) -> str:
        """First letters of consecutive words, with and without filler words, and the
        capitals of the words ("Simulation of Urban MObility": SUMO); rarely used."""
        runs = []
        for raw, text_words in zip(self._raw, self._words, strict=True):
            runs.append("".join(word[0] for word in text_words))
            runs.append("".join(word[0] for word in text_words if word not in _ACRONYM_SKIPPED))
            runs.append("".join(char for char in "".join(words(raw)) if char.isupper()).lower())
        return " " + " ".join(runs)

    @cached_property
    def _plain_text(self) -> str:
        return " ".join(_plain(text) for text in self._texts)

    def is_fragment(self, word: str) -> bool:
        """True when ``word`` is not a source word but the beginning of a longer one, by at
        least three letters ("Transfor" for "Transformer"; "token" for "tokens" is a word)."""
        folded = word.lower()
        if not self._keys.isdisjoint(_plurals(folded)):
            return False
        position = bisect_left(self.keys, folded)
        return (
            position < len(self.keys)
            and self.keys[position].startswith(folded)
            and len(self.keys[position]) >= len(folded) + 3
        )

    def has(self, folded: str, min_stem: int) -> bool:
        """True when ``folded`` (a singular) is a source key, in the singular or plural, or
        the stem of one ("prefill": "prefilling"); glued and split tokens are read last."""
        plurals = _plurals(folded)
        if not self._keys.isdisjoint(plurals) or _has_stem(self.keys, folded, min_stem):
            return True
        return not self._glued_keys.isdisjoint(plurals) or _has_stem(self._glued_sorted, folded, min_stem)

    def supports(self, term: str, min_stem: int, min_acronym: int) -> bool:
        """True when the source names ``term``, its parts, its stem or its spelled-out words."""
        parts = [part for part in _SEPARATORS.split(term) if part]
        # A hyphenated name is its parts ("SHSS-RCM"), as long as one of them is written in
        # the source: "GPT-4V" is not supported by a version number and three initials.
        if (
            len(parts) > 1
            and any(any(self.has(form, min_stem) for form in _forms(part)) for part in parts)
            and all(self._part_supported(parts, index, min_stem, min_acronym) for index in range(len(parts)))
        ):
            return True
        if any(self.has(form, min_stem) for form in _forms(term)):
            return True
        if term[0].isdigit():
            # A number glued to a name by the writer ("8GPU", "子任务3WER"): the name counts.
            rest = term.lstrip("0123456789.")
            return bool(rest) and rest != term and self.supports(rest, min_stem, min_acronym)
        letters = term[:-1] if term.endswith("s") and len(term) > 2 else term
        if not letters.isalpha():
            return False
        capitals = sum(char.isupper() for char in letters)
        if letters.isupper():
            if len(letters) == 2 and letters in abbreviations():
                return any(phrase in self._plain_text for phrase in abbreviations()[letters])
            return len(letters) >= min_acronym and letters.lower() in self.initials
        # Mixed-case acronyms: "IoU" (intersection over union), "mAP", "ViT", "LoRA".
        if capitals >= 2 and len(letters) >= min_acronym:
            if letters.lower() in self.initials or self._abbreviates(letters):
                return True
            # A metric with a small "mean"/"macro" prefix: "mIoU" for "IoU", "mF1" for "F1".
            prefixed = _PREFIXED_METRIC.fullmatch(term)
            return prefixed is not None and self.supports(prefixed.group(1), min_stem, min_acronym)
        return False

    def _part_supported(self, parts: list[str], index: int, min_stem: int, min_acronym: int) -> bool:
        """Whether one part of a hyphenated name is supported. A bare number is a version and
        counts only with the part it numbers ("Llama-3" for "Llama 3"; "GPT-4" is not
        "GPT-4o")."""
        part = parts[index]
        if key(part) in GENERIC_TERMS:
            return True
        if part.isdigit():
            joins = [parts[i].lower() + parts[i + 1].lower() for i in (index - 1, index) if 0 <= i < len(parts) - 1]
            return any(self.has(join, min_stem) for join in joins)
        return self.supports(part, min_stem, min_acronym)

    def _abbreviates(self, term: str) -> bool:
        """True when a mixed-case acronym's capitals start consecutive words and its small
        letters continue them (ViT: Vi-sion T-ransformer; LoRA: Lo-w R-ank A-daptation;
        NeRF: Ne-ural R-adiance F-ields); filler words in between are skipped."""
        parts = [part.lower() for part in _CAPITALISED.findall(term)]
        if len(parts) < 2 or len(parts[0]) < 2 or "".join(parts) != term.lower():
            return False  # "VModA", "ICon": a lone first capital matches too much by chance
        for words_ in self._words:
            for start, first in enumerate(words_):
                if not first.startswith(parts[0]):
                    continue
                index, matched = start + 1, 1
                while matched < len(parts) and index < len(words_):
                    if words_[index].startswith(parts[matched]):
                        matched += 1
                    elif words_[index] not in _ACRONYM_SKIPPED:
                        break
                    index += 1
                if matched == len(parts):
                    return True
        return False


def _plurals(word: str) -> tuple[str, ...]:
    """``word`` and the plurals a source may write it in ("id": ids; "strategy": strategies)."""
    if word.endswith("y") and len(word) > 3:
        return word, word + "s", word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word, word + "es"
    return word, word + "s", word + "es"


def _has_stem(keys: tuple[str, ...], folded: str, min_stem: int) -> bool:
    """True when a key starts with ``folded``, a stem long enough to mean something."""
    if len(folded) < min_stem:
        return False
    position = bisect_left(keys, folded)
    return position < len(keys) and keys[position].startswith(folded)


def _spelled_out(text: str, vocabulary: Vocabulary, thresholds: Thresholds) -> set[str]:
    """Keys of words that spell out, in the field itself, an acronym the source supports."""
    spelled: set[str] = set()
    for match in _SPELLED_OUT.finditer(text):
        acronym, phrase = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        words = _WORD.findall(phrase)
        if not words or not vocabulary.supports(
            acronym, thresholds.term_min_stem_chars, thresholds.acronym_min_letters
        ):
            continue
        letters = "".join(c for c in acronym if c.isalpha()).lower()
        capitals = "".join(c for c in acronym if c.isupper()).lower()
        initials = "".join(word[0] for word in words).lower()
        if len(words) >= 2 and initials in (letters, capitals):
            spelled.update(key(word) for word in words)
            spelled.add(key(phrase.replace(" ", "-")))
    return spelled


def unsupported(text: str, vocabulary: Vocabulary, *, every_word: bool, thresholds: Thresholds) -> list[str]:
    """Terms of ``text`` that ``vocabulary`` does not support, each reported once."""
    text = normalize(text)
    found = _names_with_spans(text, every_word=every_word, min_chars=thresholds.term_min_chars)
    missing: dict[str, str] = {}
    spelled: set[str] | None = None
    for match in found:
        term = match.group()
        folded = key(term)
        if folded in missing or vocabulary.supports(
            term, thresholds.term_min_stem_chars, thresholds.acronym_min_letters
        ):
            continue
        if _joined_supported(text, match, vocabulary, thresholds.term_min_stem_chars):
            continue  # "Hugging Face" for "huggingface"
        if spelled is None:
            spelled = _spelled_out(text, vocabulary, thresholds)
        if folded in spelled:
            continue
        missing[folded] = term
    return list(missing.values())


def _joined_supported(text: str, match: re.Match[str], vocabulary: Vocabulary, min_stem: int) -> bool:
    """True when the term written together with its neighbour is a source term."""
    following = re.match(r" ([A-Za-z0-9][A-Za-z0-9]*)", text[match.end() :])
    preceding = re.search(r"([A-Za-z0-9][A-Za-z0-9]*) $", text[: match.start()])
    joins = [match.group() + following.group(1)] if following else []
    joins += [preceding.group(1) + match.group()] if preceding else []
    return any(vocabulary.has(key(join), min_stem) for join in joins)
