"""Which script a text is written in, and what the user's language names mean.

Chinese summaries routinely contain Latin-script names, acronyms and formulas, so the
decision weighs CJK characters against Latin *words*, not letters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..digest.crawl import day_language
from ..digest.document import Document
from ..digest.fields import FIELDS
from ..thresholds import DEFAULT_THRESHOLDS, Thresholds

# Runs, not single characters: findall then returns a few strings per text, not hundreds.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")

# Language names accepted from --language / LANGUAGE (the upstream uses "Chinese").
LANGUAGE_ALIASES: dict[str, str] = {
    "chinese": "Chinese",
    "zh": "Chinese",
    "zh-cn": "Chinese",
    "中文": "Chinese",
    "english": "English",
    "en": "English",
}

LANGUAGE_SAMPLE = 60  # papers that vote on a document's language

# Languages whose script is checked; any other target language always matches.
CHECKED_LANGUAGES = frozenset({"Chinese", "English"})


def normalize_language(name: str) -> str:
    """Map a user's language name to the canonical one; unknown names pass through."""
    return LANGUAGE_ALIASES.get(name.strip().lower(), name.strip())


@dataclass(frozen=True)
class ScriptProfile:
    cjk_chars: int
    latin_words: int

    @property
    def cjk_share(self) -> float:
        """Share of CJK among CJK characters and Latin words (0.0 when neither occurs)."""
        total = self.cjk_chars + self.latin_words
        return self.cjk_chars / total if total else 0.0


def profile(text: str) -> ScriptProfile:
    cjk = 0 if text.isascii() else sum(map(len, _CJK.findall(text)))
    return ScriptProfile(cjk, len(_LATIN_WORD.findall(text)))


def detect_language(text: str, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> str | None:
    """``"Chinese"``, ``"English"`` or None when the text is too short to tell."""
    p = profile(text)
    if p.cjk_chars + p.latin_words < thresholds.language_min_units:
        return None
    return "Chinese" if p.cjk_share >= thresholds.cjk_share_chinese else "English"


# English words that only prose uses: a Chinese field holding them in a lowercase run of
# Latin words ("compared to其他方法", "the model") has English left untranslated, and so
# does one holding an adverb ("在多个指标上 consistently 优于基线", "NOVAK consistently"). A
# lone function word is a word being discussed ("补语连词that"); a capitalised or numbered
# run is a name ("Tanks and Temples", "Chain of Thought"); a quoted run or an identifier
# ("parse_by_scene") is a term. All are left alone. (One string per list, split: a word
# per line would bury them.)
ENGLISH_FUNCTION_WORDS = frozenset(
    """the of to and with for which that is are was were be been by from as into than this these
    those its their our we they it an on at or but not no can could would should may might will
    also both such while whereas although because via using based""".split()  # noqa: SIM905
)
ENGLISH_ADVERBS = frozenset(
    """compared consistently significantly effectively efficiently respectively however therefore
    thus substantially notably remarkably""".split()  # noqa: SIM905
)
_LATIN_RUN = re.compile(r"(?<![\w\-])[A-Za-z][A-Za-z0-9'’\-]*(?:[ ]+[A-Za-z][A-Za-z0-9'’\-]*)*(?![\w\-])", re.ASCII)
_QUOTES = {"“": "”", '"': '"', "‘": "’", "'": "'", "「": "」", "《": "》"}


def english_prose(text: str) -> list[str]:
    """The runs of ``text`` (a field in a CJK language) that are English prose, not quoted:
    an adverb anywhere ("NOVAK consistently"), or lowercase words with a function word
    among several."""
    found = []
    for match in _LATIN_RUN.finditer(text):
        before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
        if before in _QUOTES and _QUOTES[before] == after:
            continue
        words = match.group().split()
        named = any(word[0].isupper() or any(c.isdigit() for c in word) for word in words)
        function = len(words) > 1 and not named and any(word in ENGLISH_FUNCTION_WORDS for word in words)
        if function or any(word in ENGLISH_ADVERBS for word in words):
            found.append(match.group())
    return found


def dominant_language(texts: Iterable[str], default: str = "English") -> str:
    """The language most of ``texts`` are written in: a digest's target language."""
    counts = Counter(lang for lang in map(detect_language, texts) if lang)
    return counts.most_common(1)[0][0] if counts else default


def digest_language(document: Document, override: str | None = None) -> str:
    """The language a digest's fields should be written in.

    What the file names wins (``_AI_enhanced_Chinese.jsonl``: what upstream was asked for),
    then, for a ``.md``, what its day's enhanced file names; then ``override`` (``--language``,
    ``LANGUAGE``); only then a vote of its fields, which a day of English extractive
    repairs or an English-leaning model would tip the wrong way.
    """
    return normalize_language(day_language(document.path) or override or document_language(document))


def document_language(document: Document) -> str:
    """The language most of a digest's good fields are written in: the target for new fields.

    A vote over the first ``LANGUAGE_SAMPLE`` good papers is as good as one over all of
    them and keeps scanning large files fast.
    """
    texts: list[str] = []
    for paper in document.papers:
        failed = paper.failed()
        if len(failed) < len(FIELDS):
            texts += [v for name, v in paper.fields.items() if v and name not in failed]
            if len(texts) >= LANGUAGE_SAMPLE * len(FIELDS):
                break
    return dominant_language(texts)
