"""The detector: exactly which fields failed, and which are suspect."""

from __future__ import annotations

from pathlib import Path

import pytest
from digest_factory import FakePaper, failed, markdown

from pipeline import load
from pipeline.detect.failures import detect
from pipeline.digest.markdown import MarkdownDigest
from pipeline.digest.placeholders import COMPLIANCE_REPLY, PLACEHOLDERS, PlaceholderMatcher


def doc_with(value: str, field: str = "result") -> MarkdownDigest:
    paper = FakePaper("2601.00001")
    paper.fields[field] = value
    return MarkdownDigest.parse(Path("d.md"), markdown([paper, FakePaper("2601.00002")]))


@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDERS))
def test_every_known_placeholder_fails_its_field(placeholder: str) -> None:
    assert doc_with(placeholder).papers[0].failed_fields == ("result",)


@pytest.mark.parametrize("value", ["", "   ", "AI enhancement failed after retries: 429 Too Many Requests"])
def test_blank_and_prefixed_values_fail(value: str) -> None:
    assert doc_with(value).papers[0].failed_fields == ("result",)


def test_placeholder_inside_real_text_is_not_a_failure() -> None:
    text = f"研究表明模型在 compliance test 中表现良好。{COMPLIANCE_REPLY}不是整段。"
    assert doc_with(text).papers[0].failed_fields == ()


def test_user_placeholders_are_added() -> None:
    doc = doc_with("摘要稍后补充")
    assert doc.papers[0].failed_fields == ()
    assert doc.papers[0].failed(PlaceholderMatcher(["摘要稍后补充"])) == ("result",)


@pytest.mark.parametrize(
    "value", ["生成失败", "N/A", "暂无相关信息", "该字段生成失败，请参考原文摘要。", "未明确提及具体结果。"]
)
def test_failure_stubs_are_failed_fields_that_scan_lists(value: str) -> None:
    doc = doc_with(value)
    assert doc.papers[0].failed_fields == ("result",)
    assert detect(doc).failed[0].fields == ("result",)


def test_partial_failure_is_per_field() -> None:
    doc = MarkdownDigest.parse(Path("d.md"), markdown([failed(FakePaper("2601.00001"), "method", "tldr")]))
    assert detect(doc).failed[0].fields == ("tldr", "method")


def test_english_entry_in_chinese_digest_is_suspect_not_failed() -> None:
    english = FakePaper(
        "2601.00009",
        fields={
            "tldr": "We propose a new method for sparse compression of large models.",
            "motivation": "Existing methods are slow and memory hungry on real hardware.",
            "method": "A two stage scheme with sparse and low rank parts is introduced.",
            "result": "Experiments show better perplexity with lower memory usage overall.",
            "conclusion": "The approach is practical and hardware friendly for deployment.",
        },
    )
    doc = MarkdownDigest.parse(Path("d.md"), markdown([FakePaper("2601.00001"), FakePaper("2601.00002"), english]))
    detection = detect(doc)
    assert detection.language == "Chinese"
    assert not detection.failed
    assert {(s.paper.id, s.field, s.language) for s in detection.suspect} == {
        ("2601.00009", name, "English") for name in english.fields
    }


EXPECTED_SEEDS = {
    "000_8475de725130af0c.txt": (52, 26, 130),
    "002_ab36c4a1190218ee.txt": (51, 44, 220),
    "003_c65093c2f5984f4c.txt": (57, 0, 0),
}


def test_seed_counts(seeds: list[Path]) -> None:
    for path in seeds:
        detection = detect(load(path))
        counts = (len(detection.document.papers), len(detection.failed), detection.failed_fields)
        assert counts == EXPECTED_SEEDS[path.name], path.name


def test_upstream_sample_has_three_failed_papers_in_both_files(shared: Path) -> None:
    md = detect(load(shared / "upstream" / "2026-04-15.md"))
    js = detect(load(shared / "upstream" / "2026-04-15_AI_enhanced_Chinese.jsonl"))
    assert len(md.failed) == len(js.failed) == 3
    assert {f.paper.id for f in md.failed} == {f.paper.id for f in js.failed}
