"""Latin-script names in a summary, and whether the title or abstract mentions them.

A summary that names a model, dataset or method its paper never mentions (``XGBoost`` in a
paper about EEG) was written for another paper or invented. Comparison ignores case,
hyphens and plural ``s``; an acronym is also supported by the words it abbreviates.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from functools import cached_property

from ..thresholds import Thresholds

# Terms a faithful summary may use although its abstract does not: field-wide acronyms and
# jargon the model adds when writing Chinese, and mathematical function names. "LLM",
# "Transformer", "MLP" and "ReLU" are deliberately absent: the acronym rule accepts "LLM"
# for "large language models", and naming them in a paper that never does is the main
# trace a swapped summary leaves (swap rejection 91% -> 95%, one more good paper flagged).
GENERIC_TERMS: frozenset[str] = frozenset(
    {
        # Field-wide acronyms.
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

_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'’.][A-Za-z0-9]+)*")
_SEPARATORS = re.compile(r"[-'’._]")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Filler words an acronym may skip ("Bayesian Optimization of Experiments" -> BOE).
_ACRONYM_SKIPPED = frozenset({"of", "and", "the", "for", "in", "on", "with", "to", "a", "an"})


def key(term: str) -> str:
    """Case-, hyphen- and plural-insensitive form of a term."""
    folded = term.lower() if term.isalnum() else _SEPARATORS.sub("", term.lower())
    if len(folded) > 3 and folded.endswith("s") and not folded.endswith("ss"):
        return folded[:-1]
    return folded


def _clean(text: str) -> str:
    return _LATEX_COMMAND.sub(" ", text)


def is_name_like(token: str) -> bool:
    """True for tokens that look like names in English prose: HSS, XGBoost, LLaMA-7B, F1."""
    upper = sum(char.isupper() for char in token)
    return upper >= 2 or any(char.isdigit() for char in token) or (upper == 1 and not token[0].isupper())


def names(text: str, *, every_word: bool, min_chars: int) -> list[str]:
    """Latin-script terms in ``text``: all of them (Chinese prose) or name-like ones only."""
    found = []
    for token in _NAME.findall(_clean(text)):
        if len(token) < min_chars or key(token) in GENERIC_TERMS:
            continue
        if every_word or is_name_like(token):
            found.append(token)
    return found


class Vocabulary:
    """The terms a title and abstract support, as ``key`` forms and word initials."""

    def __init__(self, texts: Iterable[str]) -> None:
        keys: set[str] = set()
        self._texts = [_clean(text) for text in texts]
        for text in self._texts:
            tokens = set(_NAME.findall(text.lower()))
            # Whole tokens, then the parts of hyphenated ones ("shss-rcm": "shss", "rcm").
            keys.update(token for token in tokens if token.isalnum())
            for token in tokens - keys:
                keys.add(_SEPARATORS.sub("", token))
                keys.update(part for part in _SEPARATORS.split(token) if part)
        # Singular forms too, so that ``key()`` of a field term, which drops a plural "s",
        # is found (a superset of the keys is cheaper than calling ``key`` per token).
        keys.update([k[:-1] for k in keys if len(k) > 3 and k.endswith("s") and k[-2] != "s"])
        self.keys = tuple(sorted(keys))

    @cached_property
    def initials(self) -> str:
        """First letters of consecutive words, with and without filler words (rarely used)."""
        runs = []
        for text in self._texts:
            words = [word.lower() for word in _WORD.findall(text)]
            runs.append("".join(word[0] for word in words))
            runs.append("".join(word[0] for word in words if word not in _ACRONYM_SKIPPED))
        return " " + " ".join(runs)

    def supports(self, term: str, min_stem: int, min_acronym: int) -> bool:
        """True when the source names ``term``, its parts, its stem or its spelled-out words."""
        parts = [part for part in _SEPARATORS.split(term) if part]
        if len(parts) > 1 and all(
            key(part) in GENERIC_TERMS or self.supports(part, min_stem, min_acronym) for part in parts
        ):
            return True
        folded = key(term)
        position = bisect_left(self.keys, folded)
        if position < len(self.keys):
            found = self.keys[position]
            # Exact, or a stem of a longer source word ("prefill" for "prefilling").
            if found == folded or (len(folded) >= min_stem and found.startswith(folded)):
                return True
        # An acronym may abbreviate consecutive words ("GAMs": generalized additive models).
        letters = term[:-1] if term.endswith("s") else term
        return letters.isupper() and letters.isalpha() and len(letters) >= min_acronym and (folded in self.initials)


def unsupported(text: str, vocabulary: Vocabulary, *, every_word: bool, thresholds: Thresholds) -> list[str]:
    """Terms of ``text`` that ``vocabulary`` does not support, each reported once."""
    missing: dict[str, str] = {}
    for term in names(text, every_word=every_word, min_chars=thresholds.term_min_chars):
        folded = key(term)
        if folded not in missing and not vocabulary.supports(
            term, thresholds.term_min_stem_chars, thresholds.acronym_min_letters
        ):
            missing[folded] = term
    return list(missing.values())
