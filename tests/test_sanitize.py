"""The markup check and the sanitiser share one definition of forbidden text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.digest.markup import find_markup, sanitize

SAFE = [
    "当k<g时，c>D(P)成立",
    "k<g",
    "c>D(P)",
    "$a<b$ 且 $c>d$",
    "复杂度为 $O(n^{-1/2})$，提升 30%",
    "1. 提出方法；2. 实验验证",
    "使用 R&D 数据和 A & B 测试",
    "区间[0,1]上的函数",
    "代码见 https://github.com/NVIDIA/kvpress",
    "training data: 100 samples",
]

FORBIDDEN = [
    ("<script>alert(1)</script>", "raw HTML"),
    ("正文</details>", "raw HTML"),
    ("<details", "HTML element start"),
    ("正文<!-- 注释 -->", "raw HTML"),
    ("x &lt;b&gt; y", "HTML entity"),
    ("见[链接](https://example.com)", "Markdown link or image"),
    ("![图](x.png)", "Markdown link or image"),
    ("使用`code`", "backtick"),
    ("点击javascript:alert(1)", "script URL"),
    ("### 标题", "block marker or field label at the start"),
    ("> 引用", "block marker or field label at the start"),
    ("Abstract: 伪造", "block marker or field label at the start"),
    ("**TL;DR:** 文本", "block marker or field label at the start"),
    ("第一行\n### 第二行", "block marker or field label at the start"),
    ("第一行\nAbstract: 伪造", "block marker or field label at the start"),
    ("a \x0crac{1}{2}", "control character"),
    ("\x08eta", "control character"),
    ("a\rb", "control character"),
    ("使用`code`和`a'", "backtick"),
    ("<https://example.com>", "raw HTML"),
]


@pytest.mark.parametrize("text", SAFE)
def test_math_and_plain_text_pass(text: str) -> None:
    assert find_markup(text) == []
    assert sanitize(text) == text


@pytest.mark.parametrize(("text", "rule"), FORBIDDEN)
def test_forbidden_markup_is_found(text: str, rule: str) -> None:
    assert rule in [finding.rule for finding in find_markup(text)]


def test_a_commonmark_tag_between_math_is_html() -> None:
    # CommonMark reads "<g and c>" as an open tag, so the renderer would swallow it.
    assert find_markup("k<g and c>D(P)")


def test_mis_decoded_latex_escapes_are_restored() -> None:
    assert sanitize("a \x0crac{1}{2}, \x08eta, \theta, \nabla f") == "a \\frac{1}{2}, \\beta, \\theta, \\nabla f"


@pytest.mark.parametrize(
    "text",
    [
        "1) 采用可学习提示\n2) 引入轻量级模块\n3) 构建数据集",  # a real list, one item per line
        "第一行\n第二行",
        "第一行\r\n第二行",
    ],
)
def test_lines_are_not_markup_and_are_joined_when_written(text: str) -> None:
    assert find_markup(text) == []
    assert "\n" not in sanitize(text) and "\r" not in sanitize(text)


def test_a_latex_quote_is_a_quote_not_code() -> None:
    text = "提出方法`Random Sampling Knowledge Distillation'，减少存储。"
    assert find_markup(text) == []
    assert sanitize(text) == "提出方法‘Random Sampling Knowledge Distillation’，减少存储。"


def test_newlines_become_spaces_and_nested_tags_go() -> None:
    assert sanitize("第一行\n第二行") == "第一行 第二行"
    assert find_markup(sanitize("<scr<b>ipt>alert(1)</script>")) == []
    assert sanitize("### TL;DR: 本文") == "本文"
    assert sanitize("[代码](https://x.org/a(b))") == "代码"


_MARKUP_ALPHABET = st.sampled_from(
    list("<>/!?-&#;[]()`*_~|:=\"' \n\r\t\x0c\x08\x00\u2028abcdeghilprstxyzDP01中文")
    + [
        "<script",
        "</details>",
        "<!--",
        "-->",
        "&lt;",
        "&#60;",
        "javascript:",
        "###",
        "TL;DR:",
        "Abstract:",
        "![",
        "](",
        "<a href=x>",
        "<![CDATA[",
        "]]>",
        "<?",
        "?>",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_MARKUP_ALPHABET, max_size=40).map("".join))
def test_sanitised_markup_soup_passes_the_check(text: str) -> None:
    cleaned = sanitize(text)
    assert find_markup(cleaned) == []
    assert sanitize(cleaned) == cleaned


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_sanitised_arbitrary_text_passes_the_check(text: str) -> None:
    cleaned = sanitize(text)
    assert find_markup(cleaned) == []
    assert "\n" not in cleaned


@pytest.mark.parametrize(
    "text",
    ["x <input autofocus onfocus=alert(1)", 'x <a href=x onmouseover="alert(1)"', "x <video src=y", "<b style=x"],
)
def test_unclosed_tags_with_handlers_or_urls_are_markup(text: str) -> None:
    assert "HTML attribute" in [f.rule for f in find_markup(text)]
    assert find_markup(sanitize(text)) == [] and "<" not in sanitize(text)


@pytest.mark.parametrize("text", ["p<0.05 and k<g", "for k<n and m=5", "0<a<1 and b=2", "$x<y$"])
def test_inequalities_with_equals_signs_are_not_markup(text: str) -> None:
    assert find_markup(text) == [] and sanitize(text) == text


def test_a_newline_read_out_of_a_latex_command_is_restored_like_the_decoder_does() -> None:
    assert sanitize("$a \ne b$ and $x \ni S$ then\nwe go") == "$a \\ne b$ and $x \\ni S$ then we go"
