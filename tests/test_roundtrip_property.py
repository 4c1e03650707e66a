"""Hypothesis: any digest we can write in the upstream markup comes back byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

from digest_factory import FakePaper, markdown
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.digest.fields import FIELDS
from pipeline.digest.jsonl import JsonlDigest
from pipeline.digest.markdown import MarkdownDigest

_LINE_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\n\r\x85\u2028\u2029")
one_line = st.text(_LINE_CHARS, min_size=1, max_size=40).map(str.strip).filter(bool)
tricky_title = (
    st.lists(
        st.one_of(one_line, st.sampled_from(["[", "]", "(", ")", "](", "[x](y)", "中文", "$\\alpha$"])),
        min_size=1,
        max_size=6,
    )
    .map(" ".join)
    .map(str.strip)
    .filter(bool)
)
# An abstract's lines must not be the line that closes the entry: the markup cannot say that
# (upstream's template cannot either), so such digests are not ones the pipeline writes.
multi_line = st.lists(one_line.filter(lambda line: not line.startswith("</details>")), min_size=1, max_size=3).map(
    "\n".join
)


@st.composite
def papers(draw: st.DrawFn) -> list[FakePaper]:
    count = draw(st.integers(1, 4))
    result = []
    for i in range(count):
        fields = {name: draw(one_line) for name in FIELDS}
        # Values must not begin with a later label on a new line; the markup cannot say that.
        result.append(
            FakePaper(
                id=f"2601.{i:05d}",
                title=draw(tricky_title),
                category=draw(st.sampled_from(["cs.LG", "cs.CL"])),
                abstract=draw(multi_line),
                fields=fields,
            )
        )
    return result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(papers(), st.booleans(), st.booleans())
def test_generated_digests_round_trip(ps: list[FakePaper], crlf: bool, trailing_newline: bool) -> None:
    text = markdown(ps)
    if crlf:
        text = text.replace("\n", "\r\n")
    if not trailing_newline:
        text = text.rstrip("\r\n")
    doc = MarkdownDigest.parse(Path("d.md"), text)
    assert doc.render().decode() == text
    assert [p.id for p in doc.papers] == [p.id for p in sorted(ps, key=lambda p: p.category != ps[0].category)]
    for parsed in doc.papers:
        original = next(p for p in ps if p.id == parsed.id)
        assert parsed.title == original.title
        assert parsed.abstract.replace("\r\n", "\n") == original.abstract.strip()
        assert parsed.fields == {k: v.strip() for k, v in original.fields.items()}


@settings(max_examples=100, deadline=None)
@given(papers(), st.data())
def test_an_edit_changes_only_its_value(ps: list[FakePaper], data: st.DataObject) -> None:
    text = markdown(ps)
    doc = MarkdownDigest.parse(Path("d.md"), text)
    paper = data.draw(st.sampled_from(doc.papers))
    name = data.draw(st.sampled_from(FIELDS))
    value = data.draw(one_line)
    start, end = paper.spans[name]  # byte offsets
    doc.set_field(paper, name, value)
    data = text.encode()
    assert doc.render() == data[:start] + value.encode() + data[end:]


json_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({"title": json_text, "summary": json_text, "tldr": json_text}), min_size=1, max_size=4
    ),
    st.booleans(),
    st.booleans(),
    st.data(),
)
def test_jsonl_round_trips_and_an_edit_changes_one_line(
    records: list[dict[str, str]], ensure_ascii: bool, crlf: bool, data: st.DataObject
) -> None:
    eol = "\r\n" if crlf else "\n"
    objects = [
        {"id": f"2601.{i:05d}", "title": r["title"], "summary": r["summary"], "AI": {"tldr": r["tldr"]}}
        for i, r in enumerate(records)
    ]
    text = "".join(json.dumps(obj, ensure_ascii=ensure_ascii) + eol for obj in objects)
    doc = JsonlDigest.parse(Path("d_AI_enhanced_Chinese.jsonl"), text)
    assert doc.render().decode() == text
    paper = data.draw(st.sampled_from(doc.papers))
    value = data.draw(json_text)
    doc.set_field(paper, "method", value)
    before, after = text.split(eol), doc.render().decode().split(eol)
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [paper.line - 1]
    assert json.loads(after[paper.line - 1])["AI"] == {"tldr": objects[paper.index - 1]["AI"]["tldr"], "method": value}
