"""What a number measures, and what it is given for: the metric named next to it, in
English or Chinese, and the model, dataset or method it belongs to.

A number is only half a fact: "40% mean accuracy" restated as "约40%的均方根误差" keeps the
40% and loses the meaning. The glossary (``measures.tsv``, shipped with the package) names
a few hundred common ML measures in both languages; ``Glossary.attached`` finds the one
written right next to a number, on either side, so ``quantities`` can ask whether the
abstract gives the number *for the same measure*.

The check only fires on a clear change of measure. Two names agree when they share a
measure or a broader one (RMSE and MAE are both an error); measures of different kinds
are not compared at all (a metric, an efficiency figure, an amount such as parameters:
"7B参数" next to an abstract's "7B model with higher recall" is no conflict); and a number
the abstract names no measure for agrees with any.

The same holds for the thing measured (``Subjects``): "2.26% on LLaMA-2-13B" restated as
"LLaMA-2-7B的困惑度降低了2.26%" keeps the number and gives it to another model. A number's
subject is the name written with it in its sentence (the nearest before it with no other
number between, or one right after it), or its place in a "respectively" list ("A和B上
分别达到x和y"). Subjects are compared like with like: the summary's must be of the same
family as the abstract's (LLaMA-2-7B and LLaMA-2-13B, CIFAR-10 and CIFAR-100); one that is
a part of the other (LLaMA-2 and LLaMA-2-7B) agrees, and a number the abstract gives with no
name, or in a list it pairs with none, agrees with any.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

from .terms import GENERIC_TERMS, is_name_like, key

# How close a measure's name must stand to its number, and what may not stand between
# them (another number, a clause break, a conjunction). In the real summaries read, a name
# within 8 characters is the number's own; further away it is often the clause's subject
# ("在11个数据集上…小样本") or another number's ("用户评价…提高0.64").
_MAX_GAP = 8
_WINDOW = 40
_BREAK = re.compile(r"[\d，。；;,!?！？、和与及或]|\.(?:\s|$)|\b(?:and|or)\b")
# After a number only a classifier, 的 or an adjective may stand before its measure ("40%的
# 均方根误差", "87% mean accuracy"); "300个基于真实用户…" names users, not what 300 counts.
_AFTER = re.compile(r"[\s\-个名项种次位条份例的之]*(?:[A-Za-z][A-Za-z0-9\-]*\s+)?")
# The measures an abstract names around a number it gives: the rest of its sentence, within
# this many characters ("accuracy, F1, precision, recall, ROC-AUC near 0.85").
_AROUND = 120
_SENTENCE_END = re.compile(r"[。！？；;]|[.!?](?=\s|$)")
# English names are compared word by word ("F1-score", "pass@1" and "top-1" are one word).
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9@+\-]*")
_CJK = re.compile(r"[\u3400-\u9fff]")
# The glossary's id for words that hold a measure's name but name none ("零样本" holds 样本).
NOT_A_MEASURE = "-"


@dataclass(frozen=True)
class Measure:
    """What a name stands for: measure ids (its own and broader ones) and their kinds."""

    ids: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.ids)

    def __or__(self, other: Measure) -> Measure:
        return Measure(self.ids | other.ids, self.kinds | other.kinds)

    def agrees(self, own: Measure, around: Measure, *, any_kind: bool = False) -> bool:
        """True unless this (a summary's) and ``own`` (the abstract's, for the same value)
        are measures of one kind (of any kind: ``any_kind``) with nothing in common,
        ``around`` included."""
        if not self or not own or (not any_kind and self.kinds.isdisjoint(own.kinds)):
            return True
        return not self.ids.isdisjoint((own | around).ids)


NO_MEASURE = Measure()


@dataclass(frozen=True)
class Mention:
    """A measure named in a text, and its span."""

    start: int
    end: int
    measure: Measure = field(default=NO_MEASURE)


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex for many literal words, as a trie: fast, and the longest word wins."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [(r"\s+" if char == " " else re.escape(char)) + build(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return "(?:" + body + ")?" if len(branches) == 1 else body[:-1] + ")?"
        return body

    return build(trie)


class Glossary:
    """Names of measures in two languages.

    English names are matched as sequences of whole words (a dictionary keyed by the first
    word: a regex of hundreds of alternatives costs half a millisecond per abstract),
    Chinese names, which have no word boundaries, by one trie-shaped regex.
    """

    def __init__(self, rows: Iterable[tuple[str, str, Sequence[str], Sequence[str]]]) -> None:
        """``rows``: (id, kind, broader ids, names in any language)."""
        ids: dict[str, set[str]] = {}
        kinds: dict[str, set[str]] = {}
        for measure_id, kind, broader, names in rows:
            for word in names:
                name = word.lower().strip()
                if measure_id != NOT_A_MEASURE:
                    ids.setdefault(name, set()).update((measure_id, *broader))
                    kinds.setdefault(name, set()).add(kind)
                else:
                    ids.setdefault(name, set())
        named = {name: Measure(frozenset(ids[name]), frozenset(kinds.get(name, ()))) for name in ids}
        self._by_first: dict[str, list[tuple[tuple[str, ...], Measure]]] = {}
        self._other: dict[str, Measure] = {}
        for name, measure in named.items():
            if name.isascii():
                words = tuple(_WORD.findall(name))
                self._by_first.setdefault(words[0], []).append((words, measure))
            else:
                self._other[name] = measure
        for candidates in self._by_first.values():
            candidates.sort(key=lambda item: -len(item[0]))  # the longest name wins
        self._other_pattern = re.compile(_trie_pattern(self._other))

    @classmethod
    def load(cls) -> Glossary:
        """The glossary shipped with the package (``measures.tsv``)."""
        text = resources.files(__package__).joinpath("measures.tsv").read_text(encoding="utf-8")
        rows = []
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            measure, kind, broader, english, chinese = (line.split("\t") + [""] * 4)[:5]
            words = [word for word in (*english.split("|"), *chinese.split("|")) if word.strip()]
            rows.append((measure.strip(), kind.strip(), [b.strip() for b in broader.split(",") if b.strip()], words))
        return cls(rows)

    def mentions(self, text: str) -> list[Mention]:
        """Every measure named in ``text``, left to right (words that only hold a name,
        such as "零样本", are found and then left out)."""
        found: list[Mention] = []
        tokens = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]
        index = 0
        while index < len(tokens):
            step = 1
            for words, measure in self._by_first.get(tokens[index][2], ()):
                span = tokens[index : index + len(words)]
                if len(span) == len(words) and all(token[2] == word for token, word in zip(span, words, strict=True)):
                    found.append(Mention(span[0][0], span[-1][1], measure))
                    step = len(words)
                    break
            index += step
        if _CJK.search(text):
            found += [Mention(m.start(), m.end(), self._other[m.group()]) for m in self._other_pattern.finditer(text)]
            found.sort(key=lambda mention: mention.start)
        return [mention for mention in found if mention.measure]

    def names(self, word: str) -> bool:
        """True when ``word`` alone is the name of a measure ("F1", "AUC", "top-1")."""
        folded = word.lower()
        return any(words == (folded,) for words, _ in self._by_first.get(folded, ())) or folded in self._other

    def attached(self, text: str, start: int, end: int) -> Measure:
        """The measure of the number at ``text[start:end]``: the name written right next to
        it ("准确率达到87%", "40%的均方根误差", "87% accuracy", "an accuracy of 87%"), with at
        most a few linking characters between and no other number or clause break; the
        closer side wins, the one before on a tie. None when no name is that close: a
        measure named further away may belong to another number."""
        low, high = max(0, start - _WINDOW), min(len(text), end + _WINDOW)
        best: tuple[int, int] | None = None
        found = NO_MEASURE
        mentions = self.mentions(text[low:high])
        for index, mention in enumerate(mentions):
            # Names written together are one compound, named by its last ("token加速":
            # a speed-up, "内存成本": a cost).
            if index + 1 < len(mentions) and mentions[index + 1].start == mention.end:
                continue
            first = index
            while first and mentions[first - 1].end == mentions[first].start:
                first -= 1
            mention_start, mention_end = mentions[first].start + low, mention.end + low
            if mention_end <= start:
                gap, rank = text[mention_end:start], (start - mention_end, 0)
            elif mention_start >= end:
                gap, rank = text[end:mention_start], (mention_start - end, 1)
                if not _AFTER.fullmatch(gap):
                    continue
            else:
                continue
            if len(gap) > _MAX_GAP or _BREAK.search(gap):
                continue
            if best is None or rank < best:
                best, found = rank, mention.measure
        return found

    def around(self, text: str, start: int, end: int) -> Measure:
        """Every measure named in the sentence of ``text[start:end]``, near it."""
        low = max(0, start - _AROUND)
        high = min(len(text), end + _AROUND)
        before = [m.end() for m in _SENTENCE_END.finditer(text, low, start)]
        after = _SENTENCE_END.search(text, end, high)
        low, high = (before[-1] if before else low), (after.start() if after else high)
        found = NO_MEASURE
        for mention in self.mentions(text[low:high]):
            found = found | mention.measure
        return found

    def agree_with_source(self, measure: Measure, text: str, start: int, end: int, strict: bool = False) -> bool:
        """True unless a summary's number, attached to ``measure``, is given by the abstract
        at ``text[start:end]`` explicitly for another measure of the same kind (of any kind
        when ``strict``), and its sentence names none that agrees (a list of metrics before
        a list of numbers)."""
        if not measure:
            return True
        own = self.attached(text, start, end)
        return measure.agrees(own, self.around(text, start, end) if own else NO_MEASURE, any_kind=strict)


@cache
def glossary() -> Glossary:
    """The package's glossary, read once."""
    return Glossary.load()


# -- What a number is given for ----------------------------------------------------------

# A name: letters first, then letters, digits and inner separators ("LLaMA-2-7B", "OPT-6.7B",
# "Qwen2.5-VL"), and a version written apart ("Swin v2"); a possessive is not part of it
# ("OmniQuant's").
_NAME = re.compile(
    r"(?<![A-Za-z0-9.\-])[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*(?: [vV]\d+(?:\.\d+)*(?![A-Za-z0-9]|\.\d))?"
)
_POSSESSIVE = re.compile(r"['’]s$")
_NUMBER = re.compile(r"(?<![A-Za-z0-9.])\d+(?:[.,]\d+)*")
# What joins two numbers into one range ("4.12-20.37%", "55 to 70"), and what lists numbers
# or names ("92.1%和88.3%", "A, B, and C").
_RANGE_GAP = re.compile(r"\s*%?\s*(?:-{1,2}|–|—|~|～|to|至|到)\s*")
_LIST_GAP = re.compile(
    r"\s*(?:%|倍|x|×|分|个百分点|pp|points)?\s*(?:,|，|、|/|和|与|及|以及|或|and|or|, and|, or)\s*(?:the\s+)?"
)
_RESPECTIVELY = re.compile(r"分别|依次|各自|respectively", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[。！？；;!?]|[.](?=\s|$)")
# How close a name must stand to a number to be what it is given for ("2.26-6.20% on
# LLaMA-2-13B", "ViT-Tiny achieves an F1-score of 98.4%", "33.0%（ViT-B32）"), with no clause
# break, conjunction or other number between (a list of names counts whole: "83% for both
# Swin v1 and Swin v2").
_GAP = 30
_CLAUSE_BREAK = re.compile(r"[，,、；;：:)）]|\b(?:and|or|but|while|whereas)\b|[和与及而]")
_SEGMENT = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_Span = tuple[int, int]
_Name = tuple[int, int, str]


@lru_cache(maxsize=4096)
def _segments(name: str) -> tuple[str, ...]:
    """A name's letter and number runs, case folded ("LLaMA-2-13B": llama, 2, 13, b); an
    acronym's plural is its singular ("LLMs": llm)."""
    if len(name) >= 3 and name.endswith("s") and name[:-1].isupper():
        name = name[:-1]
    return tuple(_SEGMENT.findall(name.lower()))


def same_subject(first: str, second: str) -> bool:
    """True when two names may name the same thing: one is the other or a part of it
    ("LLaMA-2" of "LLaMA-2-7B", "ResNet" of "ResNet-50"), not "CIFAR-10" of "CIFAR-100"."""
    a, b = _segments(first), _segments(second)
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return long[: len(short)] == short or key(first) == key(second)


def alike(first: str, second: str) -> bool:
    """True when two names are variants of one thing that differ only in their numbers
    (LLaMA-2-7B and LLaMA-2-13B, CIFAR-10 and CIFAR-100, YOLOv8 and YOLOv12), so that a
    number given for one is not given for the other. Names that differ in words (VPP-SFT, a
    dataset, and VPP-LLaVA, the model trained on it) may be of different kinds."""
    a, b = _segments(first), _segments(second)
    if len(a) != len(b) or not a or not a[0].isalpha() or a == b:
        return False
    return all(x == y or (x[0].isdigit() and y[0].isdigit()) for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Given:
    """What a number is given for: its names, and every name of its sentence."""

    names: frozenset[str] = frozenset()
    sentence: frozenset[str] = frozenset()


NOT_GIVEN = Given()


class Subjects:
    """The names each number of a text is given for, read once per text (``of``).

    The two sides are read differently on purpose. What an abstract gives a number for is
    only what it says explicitly (``tight``): a name right next to it, or its place in a
    "respectively" list; a number in a list without one, or far from any name, is given for
    nothing in particular. What a summary's number may be about is every name before it in
    its sentence since the previous number ("对于LLaMA-2-7B，我们的方法的困惑度降低了2.26%"; "ViT-
    Tiny优于ViT-Base，F1达98.4%" names both), and one right after it.
    """

    def __init__(self, text: str, *, tight: bool) -> None:
        self._tight = tight
        self._starts: list[int] = []
        self._given: list[tuple[_Span, Given]] = []
        low = 0
        for match in _SENTENCE_BREAK.finditer(text):
            self._read(text, low, match.end())
            low = match.end()
        self._read(text, low, len(text))

    @staticmethod
    @lru_cache(maxsize=512)
    def of(text: str, *, tight: bool) -> Subjects:
        return Subjects(text, tight=tight)

    def at(self, start: int) -> Given:
        """What the number written at ``start`` is given for."""
        index = bisect_right(self._starts, start) - 1
        if index < 0:
            return NOT_GIVEN
        (low, high), given = self._given[index]
        return given if low <= start < high else NOT_GIVEN

    def _read(self, text: str, low: int, high: int) -> None:
        names = [
            (match.start(), match.start() + len(name), name)
            for match in _NAME.finditer(text, low, high)
            for name in [_POSSESSIVE.sub("", match.group())]
            if _is_subject(name)
        ]
        numbers = _numbers(text, low, high, names)
        if not numbers:
            return
        lists = _runs(text, numbers)
        zipped = _respectively(text, low, high, names, lists)
        sentence = frozenset(name for _, _, name in names)
        for index, (start, end) in enumerate(numbers):
            previous = numbers[index - 1][1] if index else low
            following = numbers[index + 1][0] if index + 1 < len(numbers) else high
            found: set[str]
            if index in zipped:
                found = {zipped[index]}
            elif len(lists[index]) > 1 and self._tight:
                found = set()  # a list of numbers, and no list of names: given for no one
            else:
                found = _beside(text, names, (start, end), previous, following)
                if not self._tight:
                    found |= {name for low_, high_, name in names if previous <= low_ and high_ <= start}
            self._starts.append(start)
            self._given.append(((start, end), Given(frozenset(found), sentence)))


def _is_subject(name: str) -> bool:
    """A model, dataset or method name: name-like, not a measure, unit or field-wide term."""
    return len(name) >= 2 and is_name_like(name) and key(name) not in GENERIC_TERMS and not glossary().names(name)


def _numbers(text: str, low: int, high: int, names: list[_Name]) -> list[_Span]:
    """The numbers of a sentence, outside names, a range read as one."""
    spans: list[_Span] = []
    for match in _NUMBER.finditer(text, low, high):
        if any(start <= match.start() < end for start, end, _ in names):
            continue
        if spans and _RANGE_GAP.fullmatch(text, spans[-1][1], match.start()):
            spans[-1] = (spans[-1][0], match.end())
        else:
            spans.append(match.span())
    return spans


def _runs(text: str, spans: Sequence[tuple[int, int] | _Name]) -> list[tuple[int, ...]]:
    """For each span, the indices of the list it is written in ("A、B和C": all three)."""
    runs: list[tuple[int, ...]] = []
    current: list[int] = []
    for index, span in enumerate(spans):
        if current and _LIST_GAP.fullmatch(text, spans[current[-1]][1], span[0]):
            current.append(index)
        else:
            runs += [tuple(current)] * len(current)
            current = [index]
    runs += [tuple(current)] * len(current)
    return runs


def _respectively(text: str, low: int, high: int, names: list[_Name], lists: list[tuple[int, ...]]) -> dict[int, str]:
    """Numbers paired with names by "respectively" (分别): the one list of k names and
    the one list of k numbers of the sentence."""
    if not _RESPECTIVELY.search(text, low, high):
        return {}
    name_lists = {run for run in _runs(text, names) if len(run) > 1}
    number_lists = {run for run in lists if len(run) > 1}
    pairs = [(n, m) for n in name_lists for m in number_lists if len(n) == len(m)]
    if len(pairs) != 1:
        return {}
    name_run, number_run = pairs[0]
    return {number: names[name][2] for name, number in zip(name_run, number_run, strict=True)}


def _beside(text: str, names: list[_Name], number: _Span, previous: int, following: int) -> set[str]:
    """The names right before and right after a number (each with the list it is written
    in): within ``_GAP`` characters, with no clause break and no other number between."""
    start, end = number
    before = [
        index
        for index, (low, high, _) in enumerate(names)
        if max(previous, start - _GAP) <= low and high <= start and not _CLAUSE_BREAK.search(text, high, start)
    ]
    after = [
        index
        for index, (low, _, _) in enumerate(names)
        if end <= low < min(following, end + _GAP) and not _CLAUSE_BREAK.search(text, end, low)
    ]
    runs = _runs(text, names) if before or after else []
    return {names[other][2] for index in before[-1:] + after[:1] for other in runs[index]}
