"""The Markdown digest model: byte-exact round trips and edits that touch only one value."""

from __future__ import annotations

from pathlib import Path

import pytest
from digest_factory import FakePaper, failed, markdown

from pipeline import load
from pipeline.digest.fields import FIELDS
from pipeline.digest.markdown import MarkdownDigest


def parse(text: str, name: str = "digest.md") -> MarkdownDigest:
    return MarkdownDigest.parse(Path(name), text)


def test_seeds_and_upstream_round_trip_byte_for_byte(seeds: list[Path], shared: Path) -> None:
    for path in [*seeds, shared / "upstream" / "2026-04-15.md"]:
        doc = load(path)
        assert doc.format == "markdown"
        assert doc.render() == path.read_bytes(), path
        assert not doc.notices


def test_paper_knows_its_values_and_where_they_sit() -> None:
    paper = FakePaper("2601.07839", title="HSS [v2]: a (sparse) ](model)", category="cs.CL")
    doc = parse(markdown([paper]))
    (p,) = doc.papers
    assert (p.index, p.id, p.category) == (1, "2601.07839", "cs.CL")
    assert p.title == "HSS [v2]: a (sparse) ](model)"
    assert p.url == "https://arxiv.org/abs/2601.07839"
    assert p.authors == "Ada Lovelace,Alan Turing"
    assert p.fields == paper.fields
    assert p.abstract == paper.abstract
    for name in FIELDS:  # byte offsets into the file
        start, end = p.spans[name]
        assert doc.data[start:end].decode() == paper.fields[name]


def test_setting_a_field_changes_only_that_value() -> None:
    papers = [failed(FakePaper("2601.00001")), FakePaper("2601.00002")]
    text = markdown(papers)
    doc = parse(text)
    doc.set_field(doc.papers[0], "method", "新的方法描述")
    out = doc.render().decode()
    assert out == text.replace("Method extraction failed", "新的方法描述", 1)
    assert doc.changed and doc.papers[0].fields["method"] == "新的方法描述"


def test_setting_the_same_value_is_not_a_change() -> None:
    doc = parse(markdown([FakePaper("2601.00001")]))
    doc.set_field(doc.papers[0], "tldr", doc.papers[0].fields["tldr"] or "")
    assert not doc.changed


def test_multi_line_values_and_abstracts() -> None:
    paper = FakePaper("2601.00003", abstract="First line of the abstract.\n  Second line, indented.")
    paper.fields["method"] = "1. 第一步\n2. 第二步"
    doc = parse(markdown([paper]))
    (p,) = doc.papers
    assert p.abstract == "First line of the abstract.\n  Second line, indented."
    assert p.fields["method"] == "1. 第一步\n2. 第二步"
    assert doc.render().decode() == markdown([paper])


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: t.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda t: "\ufeff" + t, id="bom"),
        pytest.param(lambda t: t.replace("\n\n", " \t\n\n"), id="trailing-spaces"),
    ],
)
def test_round_trip_of_unusual_bytes(transform, tmp_path: Path) -> None:
    papers = [failed(FakePaper("2601.00001")), FakePaper("2601.00002", category="cs.CV")]
    text = transform(markdown(papers))
    path = tmp_path / "d.md"
    path.write_bytes(text.encode("utf-8"))
    doc = load(path)
    assert len(doc.papers) == 2
    assert doc.papers[0].failed_fields == FIELDS
    assert doc.render() == path.read_bytes()
    doc.set_field(doc.papers[0], "tldr", "新摘要")
    out = doc.render()
    assert out == path.read_bytes().replace(b"Summary generation failed", "新摘要".encode(), 1)


def test_empty_value_without_space_after_label_gets_one() -> None:
    text = markdown([FakePaper("2601.00001")])
    text = text.replace("TL;DR: 本文研究了一些问题，并取得了12%的提升。", "TL;DR:")
    doc = parse(text)
    assert doc.papers[0].failed_fields == ("tldr",)
    doc.set_field(doc.papers[0], "tldr", "新摘要")
    assert "TL;DR: 新摘要\n" in doc.render().decode()


def test_an_entry_that_does_not_fit_is_kept_verbatim_and_reported() -> None:
    good = [FakePaper("2601.00001"), FakePaper("2601.00002"), FakePaper("2601.00003")]
    text = markdown(good)
    broken = text.replace("Result: 实验表明性能提升了12%。\n\n", "", 1)  # first entry loses Result
    doc = parse(broken)
    assert [p.id for p in doc.papers] == ["2601.00002", "2601.00003"]
    (notice,) = doc.notices
    assert notice.line == broken.splitlines().index("### [1] [A Study of Things](https://arxiv.org/abs/2601.00001)") + 1
    assert "'Result:' line" in notice.message
    assert doc.render().decode() == broken


def test_truncated_digest_keeps_every_byte_and_names_the_line() -> None:
    text = markdown([FakePaper("2601.00001"), FakePaper("2601.00002")])
    cut = text[: text.rindex("Conclusion:")]
    doc = parse(cut)
    assert [p.id for p in doc.papers] == ["2601.00001"]
    assert doc.notices[0].line == cut.count("\n", 0, cut.rindex("### [2]")) + 1
    assert doc.render().decode() == cut


def test_multi_line_value_must_not_be_written() -> None:
    doc = parse(markdown([failed(FakePaper("2601.00001"))]))
    with pytest.raises(ValueError):
        doc.set_field(doc.papers[0], "tldr", "two\nlines")
