"""One reading of LaTeX and typographic notation, shared by every check that compares text.

Abstracts are LaTeX source (``$\\geq80\\%$``, ``$F_1$``, ``Schr\\"odinger``, ``\\ECUAS{n}``)
and summaries are rendered prose ("80%", "F1", "Schrödinger", "ECUAS"). When the numbers,
names and copy checks each undid a different part of the notation, every gap between
them was a false alarm. ``normalize`` turns both sides into the same plain text:

- accents are folded on both sides (``\\'e``, ``{\\o}``, "é" -> e; "Möbius" -> Mobius);
- sub- and superscripts are glued to their base (``F_1``, ``L_{2}``, "E³" -> F1, L2, E3)
  except after a digit, where ``^`` is a power ("1024²" -> ``1024^2``);
- ``\\sim``, ``\\approx`` become ``~`` and ``\\times``, ``\\cdot`` become ``×``; relations
  (``\\geq``, ``\\pm``) become their symbol, so a number glued to them is read;
- Greek letters become Greek characters (neither side then has a Latin "alpha");
- ``\\text{x}``-style wrappers keep their content, math operators (``\\log``) and unknown
  macros (``\\ECUAS``, ``\\alinet``) become words, and other commands disappear;
- ``$`` and braces disappear, and a LaTeX tie between a number and a unit is a space.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Commands whose argument is the text itself.
_WRAPPERS = (
    "text|textbf|textit|texttt|textsc|textrm|textsf|textnormal|textup|emph|mathrm|mathbf|mathit|mathsf|mathtt"
    "|mathcal|mathbb|mathfrak|mathscr|boldsymbol|bm|operatorname|mbox|hbox|underline|overline|widehat|widetilde"
    "|hat|tilde|bar|vec|dot|ddot|check|breve|ensuremath|url"
)
_SYMBOLS: dict[str, str] = {
    "sim": "~",
    "approx": "~",
    "simeq": "~",
    "textasciitilde": "~",
    "times": "×",
    "cdot": "×",
    "pm": "±",
    "mp": "∓",
    "geq": "≥",
    "ge": "≥",
    "geqslant": "≥",
    "leq": "≤",
    "le": "≤",
    "leqslant": "≤",
    "gg": "≫",
    "ll": "≪",
    "lt": "<",
    "gt": ">",
    "neq": "≠",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "infty": "∞",
    "percent": "%",
    "ldots": "…",
    "dots": "…",
    "cdots": "…",
}
_GREEK_LETTERS: dict[str, str] = dict(
    zip(
        [
            "alpha",
            "beta",
            "gamma",
            "delta",
            "epsilon",
            "varepsilon",
            "zeta",
            "eta",
            "theta",
            "vartheta",
            "iota",
            "kappa",
            "lambda",
            "mu",
            "nu",
            "xi",
            "pi",
            "rho",
            "varrho",
            "sigma",
            "tau",
            "upsilon",
            "phi",
            "varphi",
            "chi",
            "psi",
            "omega",
            "Gamma",
            "Delta",
            "Theta",
            "Lambda",
            "Xi",
            "Pi",
            "Sigma",
            "Upsilon",
            "Phi",
            "Psi",
            "Omega",
        ],
        "αβγδεεζηθθικλμνξπρρστυφφχψωΓΔΘΛΞΠΣΥΦΨΩ",
        strict=True,
    )
)
# Commands that are layout or references, not words: dropped.
_DROPPED = frozenset(
    [
        "frac",
        "dfrac",
        "tfrac",
        "sqrt",
        "left",
        "right",
        "big",
        "Big",
        "bigg",
        "Bigg",
        "quad",
        "qquad",
        "cite",
        "citep",
        "citet",
        "ref",
        "eqref",
        "label",
        "begin",
        "end",
        "footnote",
        "href",
        "item",
        "newline",
        "noindent",
        "displaystyle",
        "textstyle",
        "scriptstyle",
        "limits",
        "nolimits",
        "mathop",
        "mathbin",
        "mathrel",
        "hspace",
        "vspace",
        "kern",
        "mkern",
        "phantom",
        "small",
        "large",
        "Large",
        "tiny",
        "footnotesize",
        "normalsize",
        "scriptsize",
        "huge",
        "textcolor",
        "color",
        "bf",
        "it",
        "rm",
        "sf",
        "tt",
        "em",
        "cal",
        "prime",
        "star",
        "ast",
        "circ",
        "bullet",
        "colon",
        "vert",
        "mid",
        "lvert",
        "rvert",
        "lVert",
        "rVert",
        "langle",
        "rangle",
        "lceil",
        "rceil",
        "lfloor",
        "rfloor",
        "in",
        "notin",
        "cup",
        "cap",
        "subset",
        "subseteq",
        "supset",
        "forall",
        "exists",
        "partial",
        "nabla",
        "sum",
        "prod",
        "int",
        "oint",
        "wedge",
        "vee",
        "oplus",
        "otimes",
        "odot",
        "setminus",
        "emptyset",
        "varnothing",
        "mapsto",
        "implies",
        "iff",
        "cdotp",
        "space",
        "enspace",
        "thinspace",
        "medspace",
        "nobreakspace",
    ]
)
# Accent commands and the letters they sit on: \'e, \"{o}, {\'e}, \v{c}, \c c.
_ACCENT = re.compile(r"\{?\\(?:[\'\"`^~=.]|[uvHckrb](?![A-Za-z]))\s*\{?\\?([A-Za-z])\}?\}?")
_SPECIAL_LETTER = re.compile(r"\{?\\(o|O|ss|ae|AE|oe|OE|l|L|aa|AA|i|j)(?![A-Za-z])\}?")
_TEXT_SCRIPT = re.compile(r"\\text(super|sub)script\s*\{([^{}]*)\}")
# A group of one token ("{D}^{3}", "{ETOR}") is the token: unwrapped before scripts glue.
_SIMPLE_GROUP = re.compile(r"\{([A-Za-z0-9.]+)\}")
_WRAPPER = re.compile(r"\\(?:" + _WRAPPERS + r")\s*\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+)\s*|\\([%$&#_{}|,;:! ])")
# A sub- or superscript is one character, or a braced group (LaTeX's own rule).
_SCRIPT = re.compile(r"(?<=[A-Za-z\u0370-\u03ff])[_^](?:\{\s*([^{}\s]{1,8})\s*\}|([A-Za-z0-9\u0370-\u03ff]))")
_REFERENCE = re.compile(r"\\(?:cite[a-z]*|ref|eqref|autoref|cref|label|href)\s*\{[^{}]*\}")
_POWER = re.compile(r"(?<=\d)\s*\^\s*\{\s*([-−]?\d+)\s*\}")
_THIN_SPACE = {",": "", ";": "", ":": "", "!": "", " ": " "}
_ESCAPED = {"%": "%", "$": "$", "&": "&", "#": "#", "_": "_", "{": "{", "}": "}", "|": "|"}
# "Pythia-$1.4$B" is one token, "with $400$ samples" three.
_GLUED_DOLLAR = re.compile(r"(?<=[\w\-^.}])\$+(?=[\w^_.{])")
_TIE = re.compile(r"(?<=\d)~(?=[A-Za-z%])")
_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")
_SUBSCRIPT_RUN = re.compile(r"[₀₁₂₃₄₅₆₇₈₉](?:\.?[₀₁₂₃₄₅₆₇₈₉])*")
_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻₀₁₂₃₄₅₆₇₈₉", "0123456789-0123456789")
_MARKERS = re.compile(r"[\\${}^_~⁰¹²³⁴⁵⁶⁷⁸⁹⁻₀₁₂₃₄₅₆₇₈₉]")


def _fold_table() -> dict[int, str]:
    """Latin letters with diacritics -> their base letters ("é" -> "e", "ø" -> "o")."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
        if base != char and base.isascii():
            table[code] = base
    table.update({ord("ø"): "o", ord("Ø"): "O", ord("ß"): "ss", ord("æ"): "ae", ord("Æ"): "AE", ord("ł"): "l"})
    table.update({ord("đ"): "d", ord("œ"): "oe", ord("Œ"): "OE", ord("ı"): "i", ord("Ł"): "L", ord("Đ"): "D"})
    table.update({0x2212: "-", 0x2013: "-", 0xFF05: "%", 0x00A0: " ", 0x202F: " ", 0x2009: " "})
    return table


_FOLD = _fold_table()


def _command(match: re.Match[str]) -> str:
    name, escaped = match.group(1), match.group(2)
    if escaped is not None:
        return _THIN_SPACE.get(escaped, _ESCAPED.get(escaped, ""))
    if name in _SYMBOLS:
        return _SYMBOLS[name]
    if name in _GREEK_LETTERS:
        return _GREEK_LETTERS[name]
    if name in _DROPPED:
        return " "
    # Math operators (\log, \max) and a paper's own macros (\ECUAS, \alinet) are words,
    # which keep their sub- or superscript (\ell_2 -> ell2).
    glued = match.string[match.end() : match.end() + 1] in ("_", "^")
    return " " + name + ("" if glued else " ")


def _superscript(match: re.Match[str]) -> str:
    return "^" + match.group().translate(_DIGITS)


def _subscript(match: re.Match[str]) -> str:
    return "_" + match.group().translate(_DIGITS)


@lru_cache(maxsize=1024)
def normalize(text: str) -> str:
    """``text`` with LaTeX and typographic notation read as plain text (see the module)."""
    if not text.isascii():
        text = text.translate(_FOLD)
    if not _MARKERS.search(text):
        return text
    text = _SUPERSCRIPT_RUN.sub(_superscript, text)
    text = _SUBSCRIPT_RUN.sub(_subscript, text)
    if "\\" in text:
        text = _REFERENCE.sub(" ", text)
        text = _ACCENT.sub(r"\1", text)
        text = _SPECIAL_LETTER.sub(r"\1", text)
        text = _TEXT_SCRIPT.sub(lambda m: ("^" if m.group(1) == "super" else "_") + "{" + m.group(2) + "}", text)
        for _ in range(3):  # nested wrappers: \textbf{\textit{x}}
            text, count = _WRAPPER.subn(r"\1", text)
            if not count:
                break
        text = text.replace("{,}", ",")
        text = _COMMAND.sub(_command, text)
    if "$" in text:
        text = _GLUED_DOLLAR.sub("", text).replace("$", " ")
    if "{" in text:
        text = _SIMPLE_GROUP.sub(r"\1", text.replace("}{", " "))
    text = _POWER.sub(r"^\1", text)
    text = _SCRIPT.sub(lambda m: m.group(1) or m.group(2), text)
    text = _TIE.sub(" ", text)
    if "{" in text or "}" in text:
        text = text.replace("{", "").replace("}", "")
    return text


# Letter runs, with an English possessive kept on its word ("Humanity's Last Exam": HLE).
LETTER_RUN = re.compile(r"[A-Za-z]+(?:['’]s\b)?")


@lru_cache(maxsize=256)
def words(text: str) -> tuple[str, ...]:
    """The letter runs of ``normalize(text)``, in order: read once per abstract and shared
    by the checks that read words (number words and months, acronym initials, the copy
    rule)."""
    return tuple(LETTER_RUN.findall(normalize(text)))
