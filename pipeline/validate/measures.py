"""What a number measures: the metric or noun named next to it, in English or Chinese.

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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

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
