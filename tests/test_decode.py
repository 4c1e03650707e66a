"""Tolerant decoding: every shape of answer models send, LaTeX kept intact."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.generate.decode import DecodeError, decode_object, repair_escapes


def test_plain_json() -> None:
    assert decode_object('{"tldr": "一句话"}') == {"tldr": "一句话"}


def test_code_fence_and_prose_are_stripped() -> None:
    text = 'Sure! Here is the JSON:\n```json\n{"tldr": "ok {braces} inside"}\n```\nHope it helps.'
    assert decode_object(text) == {"tldr": "ok {braces} inside"}


def test_leading_and_trailing_prose_without_fence() -> None:
    assert decode_object('Answer: {"tldr": "x"} -- done') == {"tldr": "x"}


def test_prose_with_braces_before_the_object() -> None:
    assert decode_object('Format {like this}. {"tldr": "x"}') == {"tldr": "x"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Invalid escapes: json.loads would fail.
        (r'{"m": "$\alpha$ and $\times$"}', r"$\alpha$ and $\times$"),
        (r'{"m": "$\rho \geq 0.9$"}', r"$\rho \geq 0.9$"),
        (r'{"m": "\mathcal{O}_K and \method{}"}', r"\mathcal{O}_K and \method{}"),
        (r'{"m": "30\% sparsity, \{a\}"}', r"30\% sparsity, \{a\}"),
        # Valid escapes followed by letters: json.loads would silently corrupt these.
        (r'{"m": "$\frac{a}{b}$"}', r"$\frac{a}{b}$"),
        (r'{"m": "$\beta$"}', r"$\beta$"),
        (r'{"m": "$\rho$"}', r"$\rho$"),
        (r'{"m": "\text{loss} \tau \theta"}', r"\text{loss} \tau \theta"),
        (r'{"m": "$\nabla f$, $a \neq b$, $\nu$"}', r"$\nabla f$, $a \neq b$, $\nu$"),
        (r'{"m": "\underline{x} \uparrow"}', r"\underline{x} \uparrow"),
    ],
)
def test_latex_backslashes_survive(raw: str, expected: str) -> None:
    assert decode_object(raw)["m"] == expected


def test_real_escapes_keep_their_meaning() -> None:
    raw = r'{"m": "1. 分类\n2. 综述 \"quoted\" a\\b \u00e9 a\/b"}'
    assert decode_object(raw)["m"] == '1. 分类\n2. 综述 "quoted" a\\b é a/b'


def test_newline_before_an_ordinary_word_stays_a_newline() -> None:
    assert decode_object(r'{"m": "first step.\nThen the second."}')["m"] == ("first step.\nThen the second.")


def test_correctly_escaped_latex_is_untouched() -> None:
    assert decode_object(r'{"m": "$\\frac{1}{2}$ \\nabla"}')["m"] == r"$\frac{1}{2}$ \nabla"


def test_raw_control_characters_inside_strings_are_tolerated() -> None:
    assert decode_object('{"m": "line one\nline two"}')["m"] == "line one\nline two"


def test_brace_inside_string_does_not_end_the_object() -> None:
    assert decode_object('{"m": "a } b", "n": "c"} trailing }') == {"m": "a } b", "n": "c"}


@pytest.mark.parametrize("text", ["", "no json here", '{"tldr": "unterminated', "[1, 2, 3]", '"just a string"'])
def test_undecodable_answers_raise(text: str) -> None:
    with pytest.raises(DecodeError):
        decode_object(text)


def test_nothing_is_evaluated() -> None:
    with pytest.raises(DecodeError):
        decode_object("{'tldr': __import__('os').getcwd()}")


def test_repair_leaves_valid_json_without_backslashes_alone() -> None:
    text = '{"a": "b", "c": ["d"]}'
    assert repair_escapes(text) == text


@given(st.dictionaries(st.sampled_from(["tldr", "method"]), st.text()))
def test_json_without_latex_round_trips(answer: dict[str, str]) -> None:
    """Whatever json.dumps writes is read back unchanged, except LaTeX-shaped escapes."""
    text = json.dumps(answer, ensure_ascii=False)
    decoded = decode_object(text)
    for key, value in answer.items():
        if not any(c in value for c in "\b\f\n\r\t"):
            assert decoded[key] == value


@given(st.text(alphabet=st.sampled_from(list("abfnrtuxAB01 \\/{}$")), max_size=60))
def test_repaired_text_is_always_a_valid_json_string(text: str) -> None:
    """Whatever backslashes a model writes, the repaired string parses."""
    decoded = json.loads('"' + repair_escapes(text) + '"', strict=False)
    # Each backslash is kept as an escape or doubled: none is ever invented.
    assert decoded.count("\\") <= text.count("\\")


def test_absurd_numbers_or_nesting_are_a_decode_error_not_a_crash() -> None:
    with pytest.raises(DecodeError):
        decode_object('{"tldr": "x", "n": ' + "9" * 5000 + "}")
    with pytest.raises(DecodeError):
        decode_object('{"a": ' * 50_000 + "1" + "}" * 50_000)
