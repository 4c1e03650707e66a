"""Find the quantities a text states and decide whether a source text supports them.

Summaries restate the abstract's numbers in another notation: ``3850万`` for "38.5 million",
``10倍`` for "10x", ``约40%`` for "40.2%", ``$400$`` for "400". Both sides are reduced to
plain numbers before comparing, and the source side also offers the values a faithful
summary may derive (number words, percentages as fractions, rounded values).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

# Magnitude suffixes, written after a number, and what they multiply it by.
MAGNITUDES: dict[str, float] = {
    "k": 1e3,
    "K": 1e3,
    "thousand": 1e3,
    "千": 1e3,
    "万": 1e4,
    "十万": 1e5,
    "百万": 1e6,
    "千万": 1e7,
    "亿": 1e8,
    "十亿": 1e9,
    "百亿": 1e10,
    "千亿": 1e11,
    "万亿": 1e12,
    "M": 1e6,
    "million": 1e6,
    "mn": 1e6,
    "B": 1e9,
    "billion": 1e9,
    "bn": 1e9,
    "T": 1e12,
    "trillion": 1e12,
}

# Words an abstract uses for numbers a summary writes in digits ("three datasets" -> 3个).
NUMBER_WORDS: dict[str, float] = {
    "single": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
    "dozen": 12,
    "half": 50,
    "twice": 2,
    "double": 2,
    "doubles": 2,
    "doubling": 2,
    "triple": 3,
    "triples": 3,
    "tripling": 3,
    "quadruple": 4,
    "twofold": 2,
    "threefold": 3,
    "fourfold": 4,
    "fivefold": 5,
    "tenfold": 10,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "dual": 2,
    "pair": 2,
    "bi": 2,
    "quarter": 25,
    "magnitude": 10,
}

# Words before a number that announce a rounded value ("约40%", "over 40%").
APPROXIMATORS: tuple[str, ...] = (
    "约",
    "大约",
    "近",
    "将近",
    "接近",
    "超过",
    "逾",
    "高达",
    "多达",
    "至少",
    "最多",
    "~",
    "≈",
    "∼",
    "about",
    "around",
    "approximately",
    "nearly",
    "over",
    "more than",
    "up to",
    "roughly",
    "almost",
    "at least",
)
# The same, written right after the number ("40%左右", "100多", "3倍以上").
APPROXIMATE_SUFFIXES: tuple[str, ...] = ("左右", "以上", "上下", "多", "余")

# LaTeX that hides a plain number ("$400$", "30\\%", "1{,}000", "10$\\times$").
_LATEX = re.compile(r"\\(?:times|cdot)|\{,\}|\\[,;!: ]|\\%|\$")
_LATEX_REPLACEMENTS = {"\\times": "×", "\\cdot": "×", "{,}": ",", "\\%": "%", "$": " "}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")

# A number inside a token that starts with a letter belongs to a name (GPT-4o, LLaMA-7B,
# F1, ω0), which the ``terms`` check compares; these are the characters of such tokens.
_NAME_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-ℓ" + "".join(map(chr, range(0x370, 0x400)))
)
# Enumeration markers are not quantities: "(1)", "（2）", and "1)", "2、", "3." at a
# clause start.
_CLAUSE_START = frozenset(" \t\n:：;；,，。、")
_ENUMERATION_CLOSE = frozenset(")）、.")
_MAGNITUDE_ALT = "|".join(sorted(map(re.escape, MAGNITUDES), key=len, reverse=True))
_NUMBER = re.compile(
    r"(?=[.\d])"  # fails fast at the many positions that cannot start a number
    r"(?:(?<![\d.])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"|(?<![\w.])\.(?P<bare>\d+))"
    r"(?:\s?(?P<mag>" + _MAGNITUDE_ALT + r")(?![A-Za-z]))?"
    r"(?P<pct>\s?%|\s?percent|\s?个百分点|\s?pp\b)?"
)
_NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b(?:[\s-]+(thousand|million|billion|trillion)\b)?")
_APPROX = re.compile("|".join(map(re.escape, APPROXIMATORS)), re.IGNORECASE)
_APPROX_AFTER = re.compile(r"\s*倍?(?:" + "|".join(APPROXIMATE_SUFFIXES) + ")")
# How far before a number an approximating word may stand ("超过了 40%").
_APPROX_WINDOW = 6


@dataclass(frozen=True)
class Quantity:
    """A number as written (``text``) and the values it may stand for, each with the
    slack of its rounding: "40" stands for anything that rounds to 40, "40%" also for 0.40.
    """

    text: str
    values: tuple[tuple[float, float], ...]
    approximate: bool


def normalize(text: str) -> str:
    """Undo LaTeX and typographic notation so numbers read the same on both sides."""
    if "\\" in text or "$" in text or "{" in text:
        text = _LATEX.sub(lambda m: _LATEX_REPLACEMENTS.get(m.group(), ""), text)
    return text.translate(_SUPERSCRIPTS)


def _in_name(text: str, start: int) -> bool:
    position = start
    while position > 0 and text[position - 1] in _NAME_CHARS:
        position -= 1
    return text[position].isalpha()


def _is_enumeration(text: str, match: re.Match[str]) -> bool:
    if match.group("frac") or match.group("bare") or match.group("mag") or match.group("pct"):
        return False
    start, end = match.span("int")
    before, after = text[start - 1 : start], text[end : end + 1]
    if end - start > 2 or after not in _ENUMERATION_CLOSE or not after:
        return False
    if before in ("(", "（"):
        return after in ")）"
    # A marker opens a clause: "方法：1. ..." or ", 2) ...", never "improves BLEU by 7."
    previous = text[:start].rstrip(" \t")[-1:]
    return (not previous or previous in _CLAUSE_START) and not text[end + 1 : end + 2].isdigit()


def extract(text: str) -> list[Quantity]:
    """The quantities ``text`` states: neither enumeration markers nor digits of names."""
    text = normalize(text)
    quantities = []
    for match in _NUMBER.finditer(text):
        if _in_name(text, match.start()) or _is_enumeration(text, match):
            continue
        fraction = match.group("frac") or match.group("bare") or ""
        raw = float((match.group("int") or "0").replace(",", "") + "." + (fraction or "0"))
        half_unit = 0.5 * 10 ** -len(fraction)
        scales = {1.0, MAGNITUDES.get(match.group("mag") or "", 1.0)}
        if match.group("pct") and raw <= 100:
            scales.add(0.01)  # "87%" may restate "0.87"; 150% is rarely written as 1.5
        before = text[max(0, match.start() - _APPROX_WINDOW) : match.start()]
        approximate = bool(_APPROX.search(before) or _APPROX_AFTER.match(text, match.end()))
        values = tuple((raw * scale, half_unit * scale) for scale in sorted(scales))
        quantities.append(Quantity(match.group(), values, approximate))
    return quantities


@dataclass(frozen=True)
class Source:
    """Every value a title and abstract support, sorted for fast nearest lookups."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Source:
        values: set[float] = set()
        for text in texts:
            for quantity in extract(text):
                values.update(value for value, _ in quantity.values)
            for word, magnitude in _NUMBER_WORD.findall(text.lower()):
                values.add(NUMBER_WORDS[word])
                # "five million" -> 5e6 as well as 5.
                values.add(NUMBER_WORDS[word] * MAGNITUDES.get(magnitude, 1.0))
        # A fraction may be restated as a percentage and the other way round.
        values |= {v * 100 for v in values if v <= 1}
        return cls(tuple(sorted(values)))

    def supports(self, quantity: Quantity, tolerance: float, approx_tolerance: float) -> bool:
        """True when some source value equals ``quantity`` within rounding and tolerance."""
        relative = approx_tolerance if quantity.approximate else tolerance
        for value, rounding in quantity.values:
            slack = max(rounding, relative * value)
            if self._has_value_within(value - slack, value + slack):
                return True
        return False

    def _has_value_within(self, low: float, high: float) -> bool:
        position = bisect_left(self.values, low - 1e-9)
        return position < len(self.values) and self.values[position] <= high + 1e-9


def unsupported(text: str, source: Source, tolerance: float, approx_tolerance: float) -> list[Quantity]:
    """The quantities of ``text`` that ``source`` does not support."""
    return [q for q in extract(text) if not source.supports(q, tolerance, approx_tolerance)]
