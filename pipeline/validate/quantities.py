"""Find the quantities a text states and decide whether a source text supports them.

Summaries restate the abstract's numbers in another notation: ``3850万`` for "38.5 million",
``10倍`` for "10x", ``约40%`` for "40.2%", ``50亿`` for ``$5\\times10^9$``. Both sides are
reduced to a value, a unit and a measure before comparing:

- the value, after LaTeX (``latex.normalize``), magnitudes (万/亿, K/M/B, "million"),
  scientific notation and powers, with the slack of its rounding;
- the unit it is written with (%, percentage points, 倍/x, FPS, seconds, bytes, dB, months):
  like is compared with like, so "95 FPS" is not supported by an unrelated "98.5%";
- the measure named next to it in its clause (``measures``): "40%的均方根误差" is not
  supported by "40% mean accuracy";
- the model, dataset or method it is given for (``measures.Subjects``): "LLaMA-2-7B …
  2.26%" is not supported by "2.26% on LLaMA-2-13B".

The two sides are read differently on purpose. A summary's enumeration markers ("1）"),
digits of names ("GPT-4o", "3D", "阶段2") and dates ("3月") are not claims. The abstract
is harvested for every value a faithful summary may write: numbers inside names and
markers too, number words ("twenty-five", "two-thirds", "half a billion"), month names,
and other digit-group conventions ("10.000", "2 000").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property

from .latex import normalize, words
from .measures import NO_MEASURE, Measure, Subjects, alike, glossary, same_subject

LATIN_MAGNITUDES: dict[str, float] = {
    "k": 1e3,
    "K": 1e3,
    "thousand": 1e3,
    "M": 1e6,
    "million": 1e6,
    "mn": 1e6,
    "B": 1e9,
    "billion": 1e9,
    "bn": 1e9,
    "T": 1e12,
    "trillion": 1e12,
}
CJK_MAGNITUDES: dict[str, float] = {
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
}

# Units written after a number: what they measure and the factor to that unit's base.
UNITS: dict[str, tuple[str, float]] = {
    "%": ("%", 1),
    "percent": ("%", 1),
    "个百分点": ("pp", 1),
    "百分点": ("pp", 1),
    "pp": ("pp", 1),
    "percentage points": ("pp", 1),
    "percentage point": ("pp", 1),
    "points": ("pp", 1),
    "个点": ("pp", 1),
    "倍": ("x", 1),
    "x": ("x", 1),
    "×": ("x", 1),
    "times": ("x", 1),
    "fold": ("x", 1),
    "FPS": ("fps", 1),
    "fps": ("fps", 1),
    "帧/秒": ("fps", 1),
    "frames per second": ("fps", 1),
    "μs": ("s", 1e-6),
    "µs": ("s", 1e-6),
    "微秒": ("s", 1e-6),
    "ms": ("s", 1e-3),
    "milliseconds": ("s", 1e-3),
    "millisecond": ("s", 1e-3),
    "毫秒": ("s", 1e-3),
    "s": ("s", 1),
    "sec": ("s", 1),
    "seconds": ("s", 1),
    "秒": ("s", 1),
    "min": ("s", 60),
    "minutes": ("s", 60),
    "minute": ("s", 60),
    "分钟": ("s", 60),
    "h": ("s", 3600),
    "hours": ("s", 3600),
    "hour": ("s", 3600),
    "小时": ("s", 3600),
    "days": ("s", 86400),
    "day": ("s", 86400),
    "天": ("s", 86400),
    "KB": ("byte", 1e3),
    "MB": ("byte", 1e6),
    "GB": ("byte", 1e9),
    "TB": ("byte", 1e12),
    "PB": ("byte", 1e15),
    "dB": ("dB", 1),
    "月": ("month", 1),
}

# Which units of the source may support a field quantity of each unit ("" is a bare
# number, which any unit may support), the factor that maps the field's value onto that
# unit, and whether the path adds a unit the abstract does not write. "BLEU of 74.8" is
# often "74.8%", but "a perplexity of 1.64" is no "1.6%" of parameters: a number that
# gains a unit must keep the very measure the abstract names for it. (A fraction restated
# as a percentage, "0.87" for "87%", is in the index under "%".)
_SUPPORTING: dict[str, tuple[tuple[str, float, bool], ...]] = {
    "%": (("%", 1, False), ("pp", 1, False), ("", 1, True)),
    "pp": (("pp", 1, False), ("%", 1, False), ("", 1, True)),
}

# Words an abstract uses for numbers a summary writes in digits ("three datasets" -> 3个).
NUMBER_WORDS: dict[str, float] = {
    "zero": 0,
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
    "dozens": 12,
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
    "sixfold": 6,
    "sevenfold": 7,
    "eightfold": 8,
    "ninefold": 9,
    "tenfold": 10,
    "hundredfold": 100,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "dual": 2,
    "pair": 2,
    "bi": 2,
    "quarter": 25,
    "magnitude": 10,
}
# The words a cardinal number phrase is made of ("one hundred seventy seven").
_CARDINALS = {
    word: NUMBER_WORDS[word]
    for word in (
        *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
        *("thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty"),
        *("forty", "fifty", "sixty", "seventy", "eighty", "ninety"),
    )
}
_SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SCALES |= {word + "s": value for word, value in _SCALES.items()}  # "five hundreds of"
_SCALES |= {"decade": 10, "decades": 10, "century": 100, "centuries": 100}  # "two decades" -> 20年
_FRACTIONS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fifth": 5, "fifths": 5}
MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}

# Words before a number that announce a rounded value ("约40%", "over 40%").
APPROXIMATORS: tuple[str, ...] = (
    "约",
    "大约",
    "近",
    "将近",
    "接近",
    "超过",
    "超",
    "逾",
    "高达",
    "多达",
    "至少",
    "最多",
    "~",
    "≈",
    "∼",
    "≥",
    "≤",
    ">",
    "<",
    "about",
    "around",
    "approximately",
    "approx",
    "nearly",
    "over",
    "more than",
    "less than",
    "up to",
    "roughly",
    "almost",
    "at least",
)
# The same, written right after the number ("40%左右", "100多", "3倍以上", "8000+").
APPROXIMATE_SUFFIXES: tuple[str, ...] = ("左右", "以上", "上下", "多", "余", "+")

# A number glued after one of these nouns labels a thing ("阶段2", "表3"); it is not a claim.
LABEL_NOUNS: tuple[str, ...] = (
    "阶段",
    "步骤",
    "任务",
    "版本",
    "实验",
    "模块",
    "类型",
    "方案",
    "场景",
    "级别",
    "问题",
    "设置",
    "公式",
    "定理",
    "引理",
    "算法",
)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


# A magnitude letter glued to a digit is a name's ("10,000 T1-weighted", "9 T2I models").
_LATIN_MAGNITUDE = (
    r"(?:\+\s?|\s?-|\s{0,2})(?:thousand|million|billion|trillion)s?(?![A-Za-z])|\s?(?:k|K|M|B|T|mn|bn)(?![A-Za-z0-9])"
)
_UNIT_WORDS = [unit for unit in UNITS if unit[0].isascii() and unit[0].isalpha()]
_UNIT_SYMBOLS = [unit for unit in UNITS if unit not in _UNIT_WORDS]
_NUMBER = re.compile(
    r"(?=[.\d])"  # fails fast at the many positions that cannot start a number
    r"(?:(?<![\d.])(?P<int>\d{1,3}(?:,\d{3})+(?![\d])|\d+)(?:\.(?P<frac>\d+))?"
    r"|(?<![\w.])\.(?P<bare>\d+))"
    r"(?:\s?[×x*]\s?10(?:\^|(?=-\d))(?P<exp>-?\d+)|\^(?P<pow>-?\d+))?"
    r"(?:\s?(?P<infix>多|余)?(?P<cjk>" + _alternation(CJK_MAGNITUDES) + r")|(?P<latin>" + _LATIN_MAGNITUDE + r"))?"
    r"(?P<plus>\+|多|余)?(?:(?:\s?|-)(?P<unit>"
    + _alternation(_UNIT_SYMBOLS)
    + r"|(?:"
    + _alternation(_UNIT_WORDS)
    + r")(?![A-Za-z0-9])))?"
)
_APPROX = re.compile(_alternation(APPROXIMATORS), re.IGNORECASE)
_APPROX_AFTER = re.compile(r"\s*倍?(?:" + _alternation(APPROXIMATE_SUFFIXES) + ")")
_RANGE = re.compile(r"\s*(?:-{1,2}|–|—|~|～|至|到|to)\s*")
_LABEL = re.compile(r"(?:" + _alternation(LABEL_NOUNS) + r")\s?$")
# Words a number phrase is made of, and month names as an abstract writes them
# (capitalised: "may" is a verb).
_NUMBER_CORE = frozenset({*NUMBER_WORDS, *_SCALES, "thirds", "quarters", "fifths", "halves"})
_PHRASE_WORDS = _NUMBER_CORE | {"and", "a", "an", "point"}
_MONTH_NAMES = frozenset(name.capitalize() for name in MONTHS)
# Units after "a"/"an" that make it a one ("an hour" -> 1小时).
_ONE_OF = frozenset({"second", "minute", "hour", "day", "week", "month", "year", "decade", "century"})
_DECADE = re.compile(r"\b(?:1[5-9]|20)(\d)0s\b")
# Other ways of writing digit groups and decimals that a source may use ("10.000",
# "2 000", "3'123'253"; "72,64 %"; "97. 42%" from PDF extraction).
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:(?:, |[ .'])\d{3})+(?![\d])")
_DECIMAL_COMMA = re.compile(r"(?<![\d,])(\d+),(\d{1,2})(?!\d)")
_BROKEN_DECIMAL = re.compile(r"(?<![\d.])(\d+)\. (\d+)(?=\s?%)")
# How far before a number an approximating word may stand ("超过了 40%").
_APPROX_WINDOW = 6
_NAME_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-ℓ" + "".join(map(chr, range(0x370, 0x400)))
)
_CLAUSE_START = frozenset(" \t\n:：;；,，。、")
_CALENDAR = {"month": 12}
# The index key of numbers written with a unit or magnitude, read without it: only a bare
# number of a summary may restate them ("727μs" for "727微秒", never for "727%").
_UNIT_DROPPED = "unit dropped"


@dataclass(frozen=True)
class Quantity:
    """A number as written (``text`` at ``start``) and what it stands for.

    ``values`` are the values it may stand for, in its unit's base, each with the slack of
    its rounding ("40" stands for anything that rounds to 40); ``unit`` is "" for a bare
    number; ``measure`` the measure ids named next to it (empty: none).
    """

    text: str
    values: tuple[tuple[float, float], ...]
    unit: str
    approximate: bool
    start: int = 0
    measure: Measure = NO_MEASURE
    # The unit's factor to its base ("48小时" is 172,800 s): a bare "48" restates it too.
    factor: float = 1.0
    # The names (models, datasets, methods) it is given for, as written; empty: none.
    subject: frozenset[str] = frozenset()


def _in_name(text: str, start: int) -> bool:
    position = start
    while position > 0 and text[position - 1] in _NAME_CHARS:
        position -= 1
    return text[position].isalpha()


def _is_enumeration(text: str, match: re.Match[str]) -> bool:
    """A list marker: "(1)", "（2）", and "1)", "2、", "3." opening a clause or in a run."""
    if any(match.group(g) for g in ("frac", "bare", "cjk", "latin", "exp", "pow")):
        return False
    if match.group("unit") and match.group("unit") not in ("×", "x"):
        return False
    start, end = match.span("int")
    before, after = text[start - 1 : start], text[end : end + 1]
    if end - start > 2 or not after or after not in ")）、.":
        return False
    if before in ("(", "（"):
        return after in ")）"
    if after == "." and text[end + 1 : end + 2].isdigit():
        return False
    previous = text[:start].rstrip(" \t")[-1:]
    if not previous or previous in _CLAUSE_START:
        return after != "." or not text[end + 1 : end + 2].isdigit()
    # "1)将…2)每步…3)冻结…": a marker is one of a run of the same form.
    number = int(match.group("int"))
    return any(
        re.search(r"(?<![\d.])" + str(other) + re.escape(after) + r"(?!\d)", text)
        for other in (number - 1, number + 1)
        if other >= 0
    )


def _is_label(text: str, match: re.Match[str]) -> bool:
    """Digits of a name (GPT-4o, 3D, 2nd), a label (阶段2) or a date's month or day."""
    if _in_name(text, match.start()):
        return True
    if not any(match.group(g) for g in ("cjk", "latin", "unit")) and text[match.end() : match.end() + 1].isalpha():
        following = text[match.end()]
        if following.isascii():
            return True  # "3D", "4o", "2nd": a name, not a quantity
    return bool(_LABEL.search(text, max(0, match.start() - 4), match.start()))


def _read(text: str, match: re.Match[str]) -> Quantity:
    fraction = match.group("frac") or match.group("bare") or ""
    digits = (match.group("int") or "0").replace(",", "")
    raw = float(digits + "." + (fraction or "0"))
    unit_text = match.group("unit") or ""
    unit, factor = UNITS.get(unit_text.strip(), ("", 1.0))
    rounding = 0.5 * 10 ** -len(fraction)
    approximate = False
    scale = 1.0
    if match.group("cjk"):
        scale = CJK_MAGNITUDES[match.group("cjk")]
        # A summary converting 234,954,223 to 2.349亿 or 68.8 million to 6800万 truncates as
        # often as it rounds: a whole unit of the last significant digit either way, when
        # there are two or more ("10万" is not any number from 0 to 20万: it is rounded).
        zeros = len(digits) - len(digits.rstrip("0")) if not fraction and raw else 0
        significant = len(digits.strip("0")) + len(fraction)
        rounding = (10.0 ** -len(fraction) if fraction else 10.0**zeros) * (1.0 if significant >= 2 else 0.5)
        approximate = bool(match.group("infix"))
    elif match.group("latin"):
        word = match.group("latin").strip().lstrip("+-").strip()
        scale = LATIN_MAGNITUDES.get(word, LATIN_MAGNITUDES.get(word.rstrip("s"), 1.0))
        approximate = match.group("latin").lstrip().startswith("+")
    values: list[tuple[float, float]] = []
    if match.group("exp"):
        power = 10.0 ** int(match.group("exp"))
        values.append((raw * power * scale * factor, rounding * power * scale * factor))
    elif match.group("pow"):
        exponent = int(match.group("pow"))
        if abs(exponent) <= 12 and 0 < raw < 1e6:
            values.append((raw**exponent * scale * factor, 0.0))
        values.append((raw * scale * factor, rounding * scale * factor))  # "1024²" also restates 1024
    else:
        values.append((raw * scale * factor, rounding * scale * factor))
    if unit in _CALENDAR and (not 1 <= raw <= _CALENDAR[unit] or scale != 1.0 or fraction):
        unit, factor = "", 1.0  # "13月", "2亿月" are no months: read the number alone
    before = text[max(0, match.start() - _APPROX_WINDOW) : match.start()]
    approximate = (
        approximate
        or bool(match.group("plus"))  # "8000+", "200多小时"
        or bool(_APPROX.search(before) or _APPROX_AFTER.match(text, match.end()))
    )
    return Quantity(match.group(), tuple(values), unit, approximate, match.start(), factor=factor)


def _share_range_suffixes(text: str, quantities: list[tuple[re.Match[str], Quantity]]) -> list[Quantity]:
    """The first end of a range takes the second's magnitude and unit: "900-1400万", "7-22%",
    "9 to 14 million"."""
    if not quantities:
        return []
    out = []
    for (match, quantity), following in zip(quantities, [*quantities[1:], None], strict=True):
        bare = not any(match.group(g) for g in ("cjk", "latin", "unit", "exp", "pow"))
        if bare and following is not None:
            second_match, second = following
            gap = _RANGE.fullmatch(text, match.end(), second_match.start())
            raw = quantity.values[0][0]
            scale = second.values[0][0] / _raw_value(second_match) if _raw_value(second_match) else 1.0
            # "200到20万" is 200 to 200,000: a first end that would outgrow the second keeps its own.
            if (
                gap
                and any(second_match.group(g) for g in ("cjk", "latin", "unit"))
                and raw * scale <= second.values[0][0]
            ):
                rounding = quantity.values[0][1] * scale
                quantity = Quantity(
                    quantity.text,
                    ((raw * scale, rounding),),
                    second.unit,
                    quantity.approximate,
                    quantity.start,
                    factor=second.factor,
                )
        out.append(quantity)
    return out


def _raw_value(match: re.Match[str]) -> float:
    fraction = match.group("frac") or match.group("bare") or "0"
    return float((match.group("int") or "0").replace(",", "") + "." + fraction)


def extract(text: str) -> list[Quantity]:
    """The quantities ``text`` states: neither enumeration markers, digits of names nor labels."""
    text = normalize(text)
    found = [
        (match, _read(text, match))
        for match in _NUMBER.finditer(text)
        if not _is_label(text, match) and not _is_enumeration(text, match)
    ]
    return _share_range_suffixes(text, found)


def _written_values(text: str) -> Iterator[tuple[str, float, int, int]]:
    """(unit, value, start, end) of every number written in digits, in names and markers too."""
    found = [(match, _read(text, match)) for match in _NUMBER.finditer(text)]
    for (match, written), quantity in zip(found, _share_range_suffixes(text, found), strict=True):
        for value, _ in {*written.values, *quantity.values}:
            yield quantity.unit, value, match.start(), match.end()
        if written.unit != quantity.unit:
            yield written.unit, written.values[0][0], match.start(), match.end()  # a range's first end
        if quantity.unit or match.group("cjk") or match.group("latin"):
            # "727μs" and "403.39 million" as written: a bare "727" or "403.39" (MEPS) may
            # restate them, "727%" or "7亿" (for 7 billion) may not.
            yield _UNIT_DROPPED, _raw_value(match), match.start(), match.end()


def _worded_values(raw: str) -> Iterator[tuple[str, float, int, int]]:
    """Number phrases ("twenty-five", "half a billion") and months ("July") of ``raw``.

    Phrases are runs of number words among the text's words (a loop over plain strings:
    a regex of a hundred words costs more than the rest of the abstract's reading).
    """
    written = words(raw)
    lowered_words = " ".join(written).lower().split()
    lowered = normalize(raw).lower()
    if not _NUMBER_CORE.isdisjoint(lowered_words) or not _ONE_OF.isdisjoint(lowered_words):
        cursor = 0
        phrase: list[str] = []
        for low in (*lowered_words, ""):
            if low in _PHRASE_WORDS:
                phrase.append(low)
                continue
            if phrase:
                where = cursor = max(0, lowered.find(phrase[0], cursor))
                values = _phrase_values(" ".join(phrase))
                if phrase[-1] in ("a", "an") and low in _ONE_OF:
                    values.add(1)  # "an hour", "a day"
                for value in values:
                    yield "", value, where, where + len(phrase[0])
                phrase = []
    for month in _MONTH_NAMES.intersection(written):
        where = lowered.find(month.lower())
        yield "month", MONTHS[month.lower()], where, where + len(month)


def _rarely_written_values(text: str) -> Iterator[tuple[str, float, int, int]]:
    """Digit conventions few abstracts use: read only when a field's number is not found
    otherwise ("10.000", "2 000", "72,64 %", "97. 42%", "the 1990s")."""
    for match in _GROUPED.finditer(text):
        yield "", float(re.sub(r"[ .',]", "", match.group())), match.start(), match.end()
    for match in _DECIMAL_COMMA.finditer(text):
        value = float(match.group(1) + "." + match.group(2))
        yield "", value, match.start(), match.end()
        yield "%", value, match.start(), match.end()
    for match in _BROKEN_DECIMAL.finditer(text):
        yield "%", float(match.group(1) + "." + match.group(2)), match.start(), match.end()
    for match in _DECADE.finditer(text):
        yield "", int(match.group(1)) * 10, match.start(), match.end()  # "the 1990s" -> "90年代"


def _phrase_values(phrase: str) -> set[float]:
    """Values of an English number phrase: "twenty-five", "one hundred seventy seven",
    "two-thirds", "half a billion", "five million" (and of each number word alone)."""
    words_ = phrase.split()
    values = {NUMBER_WORDS[word] for word in words_ if word in NUMBER_WORDS}
    total, current, half = 0.0, None, False

    def flush() -> None:
        if current is not None or total:
            values.add(total + (current or 0))

    for index, word in enumerate(words_):
        if word == "point" and current is not None and index + 1 < len(words_) and words_[index + 1] in _CARDINALS:
            digits = "".join(
                str(int(_CARDINALS[w])) for w in words_[index + 1 :] if w in _CARDINALS and _CARDINALS[w] < 10
            )
            values.add(total + current + float("0." + digits))  # "three point two" -> 3.2
            continue
        if word == "half" and current is not None and index >= 2 and words_[index - 2 : index] == ["and", "a"]:
            values.add(total + current + 0.5)  # "two and a half" -> 2.5
            continue
        if word in _CARDINALS:
            # "three five" is two numbers; "twenty five" and "one hundred seven" are one.
            if current is not None and (current % 10 or _CARDINALS[word] >= 10 and current % 100):
                flush()
                total, current = 0.0, None
            current = (current or 0) + _CARDINALS[word]
        elif word == "half":
            half = True
        elif word in _SCALES:
            base = current if current is not None else (0.5 if half else 1.0)
            if _SCALES[word] < 1000:  # hundred, decade, century: still part of a smaller number
                current = base * _SCALES[word]
            else:
                total, current = total + base * _SCALES[word], 0
        elif word in _FRACTIONS and current:
            values.update((current / _FRACTIONS[word], 100 * current / _FRACTIONS[word]))
        elif word not in ("and", "a", "an"):
            flush()
            total, current, half = 0.0, None, False
    flush()
    return values


class _Index:
    """Values by unit, sorted, with where each was written: (text number, start, end)."""

    def __init__(self, harvest: Iterable[tuple[str, float, int, int, int]]) -> None:
        by_unit: dict[str, set[tuple[float, int, int, int]]] = {}
        for unit, value, number, start, end in harvest:
            by_unit.setdefault(unit, set()).add((value, number, start, end))
            if unit == "" and 0 < value < 1:  # a fraction may be restated as a percentage
                by_unit.setdefault("%", set()).add((value * 100, number, start, end))
        ordered = {unit: sorted(items) for unit, items in by_unit.items()}
        self.values = {unit: tuple(item[0] for item in items) for unit, items in ordered.items()}
        self.places = {unit: tuple(item[1:] for item in items) for unit, items in ordered.items()}

    def within(self, unit: str, low: float, high: float) -> Iterator[tuple[int, int, int]]:
        values = self.values.get(unit, ())
        position = bisect_left(values, low - 1e-9)
        while position < len(values) and values[position] <= high + 1e-9:
            yield self.places[unit][position]
            position += 1


class Source:
    """Every value a title and abstract support, by unit, with where each was written (so
    the measure named beside it can be read). What most abstracts write is read at once;
    rare digit conventions only when a field's number is not found otherwise."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._raw = tuple(texts)
        self._texts = tuple(normalize(text) for text in self._raw)
        self._index = _Index(
            (unit, value, number, start, end)
            for number, (raw, text) in enumerate(zip(self._raw, self._texts, strict=True))
            for unit, value, start, end in (*_written_values(text), *_worded_values(raw))
        )

    @classmethod
    def of(cls, texts: Iterable[str]) -> Source:
        return cls(texts)

    @cached_property
    def _rare(self) -> _Index:
        return _Index(
            (unit, value, number, start, end)
            for number, text in enumerate(self._texts)
            for unit, value, start, end in _rarely_written_values(text)
        )

    def supports(self, quantity: Quantity, tolerance: float, approx_tolerance: float, *, measured: bool = True) -> bool:
        """True when some source value equals ``quantity`` within rounding and tolerance,
        in a unit that may restate it, for the same measure and subject (``measured=False``:
        for any)."""
        return any(
            not measured or self._conflict(quantity, number, start) is None
            for number, start in self._occurrences(quantity, tolerance, approx_tolerance, measured)
        )

    def given_for(self, quantity: Quantity, tolerance: float, approx_tolerance: float) -> tuple[str, str] | None:
        """(the abstract's name, the summary's) when the abstract gives ``quantity`` for
        another model, dataset or method of the same family than the summary does."""
        conflicts = []
        for number, start in self._occurrences(quantity, tolerance, approx_tolerance, True):
            conflict = self._conflict(quantity, number, start)
            if conflict is None:
                return None
            conflicts.append(conflict)
        return conflicts[0] if conflicts else None

    def _occurrences(
        self, quantity: Quantity, tolerance: float, approx_tolerance: float, measured: bool
    ) -> Iterator[tuple[int, int]]:
        """(text, start) of every source value that restates ``quantity`` (for its measure
        when ``measured``); rare digit conventions last, read only if reached."""
        yield from self._found(self._index, quantity, tolerance, approx_tolerance, measured)
        yield from self._found(self._rare, quantity, tolerance, approx_tolerance, measured)

    def _found(
        self, index: _Index, quantity: Quantity, tolerance: float, approx: float, measured: bool
    ) -> Iterator[tuple[int, int]]:
        relative = approx if quantity.approximate else tolerance
        for value, rounding in quantity.values:
            slack = max(rounding, relative * abs(value))
            for unit, factor, unit_added in self._supporting(index, quantity, value):
                low, high = (value - slack) * factor, (value + slack) * factor
                for number, start, end in index.within(unit, min(low, high), max(low, high)):
                    text = self._texts[number]
                    if not measured or glossary().agree_with_source(quantity.measure, text, start, end, unit_added):
                        yield number, start

    def _conflict(self, quantity: Quantity, number: int, start: int) -> tuple[str, str] | None:
        """(the abstract's name, the summary's) when the value at ``start`` is given for a
        variant of, but not the same thing as, any the summary gives it for."""
        if not quantity.subject:
            return None
        given = Subjects.of(self._texts[number], tight=True).at(start)
        if any(same_subject(own, theirs) for own in quantity.subject for theirs in given.names):
            return None
        # Like with like: a variant of the abstract's name (7B for 13B) that its sentence
        # names too. Any two names are not compared: on the calibration set, "X% for A, which
        # the abstract gives for B" was a false alarm for 73 real papers (a dataset and the
        # method run on it, a baseline and the model compared with it) and caught 4 swaps.
        pairs = sorted(
            (theirs, own)
            for own in quantity.subject
            for theirs in given.names
            if alike(own, theirs) and any(same_subject(own, named) for named in given.sentence)
        )
        return pairs[0] if pairs else None

    @staticmethod
    def _supporting(index: _Index, quantity: Quantity, value: float) -> tuple[tuple[str, float, bool], ...]:
        """The source units that may restate ``quantity`` (see ``_SUPPORTING``)."""
        if quantity.unit == "":
            every = tuple((name, 1.0, False) for name in index.values)
            return (*every, ("%", 100.0, False)) if 0 < value < 1 else every
        default = ((quantity.unit, 1.0, False), ("", 1.0 / quantity.factor, False))
        return _SUPPORTING.get(quantity.unit, default)


def with_measures(text: str, quantities: list[Quantity]) -> list[Quantity]:
    """``quantities`` of ``text`` with the measure and the subject each is attached to."""
    if not quantities:
        return quantities
    text = normalize(text)
    terms = glossary()
    subjects = Subjects.of(text, tight=False)
    return [
        replace(q, measure=terms.attached(text, q.start, q.start + len(q.text)), subject=subjects.at(q.start).names)
        for q in quantities
    ]


def unsupported(text: str, source: Source, tolerance: float, approx_tolerance: float) -> list[Quantity]:
    """The quantities of ``text`` that ``source`` does not support."""
    return [q for q in with_measures(text, extract(text)) if not source.supports(q, tolerance, approx_tolerance)]
