"""The offline provider: fills the fields with the abstract's own sentences, chosen by role.

It is the default when no API key is configured and the last resort when a model gave
up, so it never fails and never calls the validator. By construction its output passes
the fidelity checks (every number and name is copied from the abstract, fields are one
line without markup and are distinct sentences, lengths are trimmed to the schema's
bounds) except ``language`` when the digest is not English: it cannot translate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..contracts import Generation, PaperRequest, Usage, Validate
from ..digest.fields import FIELDS
from ..digest.markup import sanitize
from .schema import LengthBounds, length_bounds

MARK_PREFIX = "[extractive] "
ELLIPSIS = "…"

# Words ending in "." that do not end a sentence ("et al. [3]", "Fig. 3", "vs. BERT").
ABBREVIATIONS = frozenset(
    {
        "al",
        "fig",
        "figs",
        "eq",
        "eqs",
        "sec",
        "secs",
        "tab",
        "ref",
        "refs",
        "cf",
        "vs",
        "approx",
        "resp",
        "no",
        "vol",
        "dr",
        "prof",
        "mr",
        "ms",
        "st",
    }
)

# Sentence-final punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+")
# "e.g.", "i.e.", "U.S." never end a sentence; a lone "X." usually does in an abstract.
_DOTTED_INITIALS = re.compile(r"(?:[A-Za-z]\.){2,}")
_LAST_TOKEN = re.compile(r"(\S+)$")
# Where a long sentence may be cut into clauses that stand alone, when sentences are few.
_CLAUSE_BREAK = re.compile(r"(?<=;)\s+")

# Sentences that describe the paper's packaging, not its content: never a summary. Any
# sentence with a bare URL is one, so no URL reaches a field.
_BOILERPLATE = re.compile(
    r"https?://|www\.|github\.com|\b(?:code|data|dataset|models?|implementation)s?\b"
    r"[^.]{0,40}\b(?:is|are|will be|to be)\s+(?:made\s+)?(?:publicly\s+)?(?:available|released)"
    r"|\baccepted (?:at|to|by|for)\b",
    re.IGNORECASE,
)

# "reaches 90%", "3.1x fewer", "outperforms": wording of results, whatever else it says.
_REPORTED_GAIN = r"\d(?:\.\d+)?\s*(?:\\?%|x\b|×)|\b(?:outperform|achiev|surpass)"

# How strongly a sentence's wording says it plays each role. A sentence's score for a
# role is the sum of the weights of the patterns it matches plus a position prior.
ROLE_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "tldr": (
        (
            r"\b(?:we|this (?:paper|work|article|study)|here)\b[^.]{0,60}?"
            r"\b(?:propose|present|introduce|develop)s?\b",
            3.0,
        ),
        (
            r"\b(?:we|this (?:paper|work))\b[^.]{0,30}?\b(?:prove|show|study|investigate|"
            r"analy[sz]e|extend|generaliz)",
            1.5,
        ),
        (r"\bin this (?:paper|work|article|study)\b", 1.0),
        (r"\b(?:novel|new|first)\b", 0.5),
    ),
    "motivation": (
        (
            r"\b(?:challeng|problem|issue|limitation|bottleneck|gap|lack|difficult|costly|"
            r"expensive|suffer|hinder|struggle|fail|neglect|overlook)",
            1.5,
        ),
        (r"\b(?:however|despite|although|remains?|yet|unclear|unexplored|open question)\b", 1.0),
        (r"\b(?:critical|crucial|important|essential|increasingly|widely|growing|require)", 0.5),
        (_REPORTED_GAIN, -1.5),  # a measured gain is a result, not the problem
    ),
    "method": (
        (
            r"\b(?:we|this (?:paper|work))\b[^.]{0,60}?\b(?:propose|present|introduce|develop|"
            r"design|formulate|build|extend|generaliz)",
            1.5,
        ),
        (
            r"\b(?:specifically|consists? of|based on|leverag|employ|incorporat|combin|"
            r"architecture|module|framework|algorithm|approach|mechanism|objective|"
            r"train|encod|decod|formulat|optimi[sz])",
            1.0,
        ),
        (r"\b(?:first|then|finally|further|moreover|in addition)\b", 0.5),
        (_REPORTED_GAIN, -1.0),
    ),
    "result": (
        (
            r"\b(?:experiment|evaluat|benchmark|empirical|results?\b|outperform|achiev|"
            r"surpass|improv|state-of-the-art|sota|accuracy|speedup|reduc)",
            1.5,
        ),
        (r"\b(?:show|demonstrat|reveal|find|found|observe)", 1.0),
        (r"\d", 1.0),
        (r"%|\bx\b|×", 1.0),
    ),
    "conclusion": (
        (
            r"\b(?:we conclude|in conclusion|overall|these (?:results|findings) (?:suggest|"
            r"indicate|highlight|show)|our (?:results|findings|work) (?:suggest|indicate|"
            r"highlight|open|pave))",
            3.0,
        ),
        (
            r"\b(?:pav\w* the way|implication|insight|future|promising|potential|"
            r"generali[sz]|applicab|establish|paradigm|broad|practical)",
            1.5,
        ),
        (r"\b(?:thereby|thus|therefore|hence|enabling|making it)\b", 1.0),
    ),
}
# The conclusion is left out: many abstracts end on a result, and the claim then sits
# earlier.
STORY_ORDER: tuple[str, ...] = ("motivation", "method", "result")

_COMPILED_CUES = {
    role: tuple((re.compile(pattern, re.IGNORECASE), weight) for pattern, weight in cues)
    for role, cues in ROLE_CUES.items()
}


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences without breaking "e.g.", "et al.", "1.64" or "Fig. 3"."""
    text = " ".join(text.split())
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if end < len(text) and not _ends_sentence(text[start : match.start() + 1], text[end]):
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_sentence(before: str, next_char: str) -> bool:
    """Whether the punctuation closing ``before`` ends a sentence, given what follows."""
    if next_char.islower():
        return False
    found = _LAST_TOKEN.search(before)
    if found is None or not before.endswith("."):
        return True
    token = found.group(1).lstrip("([\"'")
    return not (_DOTTED_INITIALS.fullmatch(token) or token[:-1].lower() in ABBREVIATIONS)


def cue_score(sentence: str, role: str) -> float:
    """How strongly the wording alone says ``sentence`` plays ``role``."""
    return sum(weight for pattern, weight in _COMPILED_CUES[role] if pattern.search(sentence))


def _position_prior(role: str, index: int, count: int) -> float:
    """Where abstracts usually put each role: problem first, claims last."""
    pos = index / (count - 1) if count > 1 else 0.0
    last = index == count - 1
    priors = {
        "tldr": 0.5 * (1.0 - pos),
        "motivation": 1.5 * (1.0 - pos),
        "method": 0.5 * (1.0 - abs(pos - 0.4)),
        "result": 1.5 * pos,
        "conclusion": 2.0 if last else 2.0 * pos - 1.0,
    }
    return priors[role]


def assign_roles(sentences: Sequence[str], roles: Sequence[str]) -> dict[str, int]:
    """The highest-scoring assignment of one distinct sentence to each role.

    An exact search over (sentence, set of roles already filled), which stays tiny: five
    roles make 32 states. Roles left over when there are fewer sentences than roles take
    their best sentence even though another role has it.
    """
    count = len(sentences)
    scores = [[cue_score(s, role) + _position_prior(role, i, count) for role in roles] for i, s in enumerate(sentences)]
    # Abstracts tell their story in order (problem, method, results), so those sections
    # take sentences in that order; the TL;DR and the conclusion may take any sentence.
    later = [
        sum(
            1 << j
            for j, other in enumerate(roles)
            if other in STORY_ORDER and STORY_ORDER.index(other) > STORY_ORDER.index(role)
        )
        if role in STORY_ORDER
        else 0
        for role in roles
    ]
    best: dict[int, tuple[float, tuple[tuple[int, int], ...]]] = {0: (0.0, ())}
    for i in range(count):
        step = dict(best)
        for mask, (total, chosen) in best.items():
            for r in range(len(roles)):
                if mask & (1 << r) or mask & later[r]:
                    continue
                candidate = (total + scores[i][r], (*chosen, (r, i)))
                new_mask = mask | (1 << r)
                if new_mask not in step or candidate[0] > step[new_mask][0]:
                    step[new_mask] = candidate
        best = step
    fullest = max(best, key=lambda m: (bin(m).count("1"), best[m][0]))
    assignment = {roles[r]: i for r, i in best[fullest][1]}
    for r, role in enumerate(roles):
        if role not in assignment and count:
            column = [row[r] for row in scores]
            assignment[role] = column.index(max(column))
    return assignment


def _grow(sentences: Sequence[str], assignment: Mapping[str, int], room: Mapping[str, int]) -> dict[str, list[int]]:
    """Give each unused sentence to a neighbouring field (never the TL;DR) it also fits.

    ``room`` caps each field's characters so that growing never forces a trim.
    """
    owner = {i: role for role, i in assignment.items()}
    members = {role: [i] for role, i in assignment.items()}

    def fits(role: str, sentence: str) -> bool:
        used = sum(len(sentences[j]) + 1 for j in members[role])
        return cue_score(sentence, role) > 0 and used + len(sentence) <= room[role]

    for i, sentence in enumerate(sentences):
        if i in owner:
            continue
        neighbours = [owner[j] for j in (i - 1, i + 1) if j in owner and owner[j] != "tldr"]
        fitting = [role for role in neighbours if fits(role, sentence)]
        if fitting:
            role = max(fitting, key=lambda name: cue_score(sentence, name))
            owner[i] = role
            members[role].append(i)
    return {role: sorted(indices) for role, indices in members.items()}


def trim(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + ELLIPSIS


class ExtractiveProvider:
    """A ``contracts.Provider`` that writes every field from the abstract, offline."""

    name = "extractive"
    model = "extractive"
    prompt_version = "extractive-v1"
    # Copied English sentences: wrong language, and a long copy, in a non-English digest;
    # an abstract with fewer sentences than fields must repeat one.
    expected_problems = frozenset({"language", "length", "duplicate"})
    billed = False  # offline and deterministic: a dry run may run it
    requests = 0  # it sends none

    def __init__(self, *, mark: bool = False, bounds: Mapping[str, LengthBounds] | None = None) -> None:
        """``bounds`` defaults to the schema's; ``mark`` prefixes each field (--mark-extractive)."""
        self._prefix = MARK_PREFIX if mark else ""
        self._bounds = bounds or {name: length_bounds(name) for name in FIELDS}

    def summarize(self, request: PaperRequest) -> dict[str, str]:
        """The requested fields, deterministic for a given title and abstract."""
        sentences = self._units(sanitize(request.abstract), request.fields)
        if not sentences:
            sentences = [sanitize(request.title)]
        room = {role: self._bounds[role].max_chars - len(self._prefix) for role in request.fields}
        groups = _grow(sentences, assign_roles(sentences, request.fields), room)
        return {
            role: self._prefix + trim(" ".join(sentences[i] for i in groups[role]), room[role])
            for role in request.fields
        }

    def _units(self, abstract: str, roles: Sequence[str]) -> list[str]:
        """The abstract's usable sentences, or its clauses when sentences are too few.

        Fragments shorter than every requested field's minimum ("Ke." after a stray
        line) are dropped, so each field meets its lower bound by construction.
        """
        shortest = max(self._bounds[role].min_chars for role in roles)
        sentences = [s for s in split_sentences(abstract) if not _BOILERPLATE.search(s)]
        if len(sentences) < len(roles):
            sentences = [part for s in sentences for part in _CLAUSE_BREAK.split(s)]
        return [s for s in sentences if len(s) >= shortest]

    def estimate(self, request: PaperRequest) -> Usage:
        return Usage()

    async def generate(self, request: PaperRequest, validate: Validate) -> Generation:
        """Never rejects its own output: ``validate`` is unused because this is the last resort."""
        # latency_s stays 0.0: the work is microseconds and a fixed value keeps runs identical.
        return Generation(
            fields=self.summarize(request),
            provider=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            mode="extractive",
            attempts=0,  # no request was sent
            usage=Usage(),
        )
