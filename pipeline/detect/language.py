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
