"""The JSONL model: unchanged lines byte for byte, changed lines in the file's own style."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from digest_factory import FakePaper, failed, jsonl

from pipeline import load
from pipeline.digest.fields import FIELDS
from pipeline.digest.jsonl import JsonlDigest


def parse(text: str) -> JsonlDigest:
    return JsonlDigest.parse(Path("day_AI_enhanced_Chinese.jsonl"), text)


def test_upstream_enhanced_file_round_trips(shared: Path) -> None:
    path = shared / "upstream" / "2026-04-15_AI_enhanced_Chinese.jsonl"
    doc = load(path)
    assert doc.format == "jsonl" and len(doc.papers) == 209
    assert doc.render() == path.read_bytes()
    assert doc.style.ensure_ascii


def test_changed_line_keeps_key_order_and_escaping(shared: Path) -> None:
    path = shared / "upstream" / "2026-04-15_AI_enhanced_Chinese.jsonl"
    doc = load(path)
    paper = next(p for p in doc.papers if p.failed_fields)
    doc.set_field(paper, "tldr", "新的摘要，含 $\\alpha$ 与 “引号”")
    before = path.read_text(encoding="utf-8").splitlines(keepends=True)
    after = doc.render().decode().splitlines(keepends=True)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [paper.line - 1]
    line = after[paper.line - 1]
    assert line.isascii() and line.endswith("\n")
    old, new = json.loads(before[paper.line - 1]), json.loads(line)
    assert list(new) == list(old) and list(new["AI"]) == list(old["AI"])
    old["AI"]["tldr"] = "新的摘要，含 $\\alpha$ 与 “引号”"
    assert new == old


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_style_of_the_file_is_kept(ensure_ascii: bool) -> None:
    text = jsonl([failed(FakePaper("2601.00001")), FakePaper("2601.00002")], ensure_ascii=ensure_ascii)
    doc = parse(text)
    doc.set_field(doc.papers[0], "tldr", "中文摘要")
    first = doc.render().decode().splitlines()[0]
    assert ("中文摘要" in first) is (not ensure_ascii)
    assert json.loads(first)["AI"]["tldr"] == "中文摘要"
    assert doc.render().decode().splitlines()[1] == text.splitlines()[1]


def test_compact_separators_are_kept() -> None:
    obj = {"id": "2601.00001", "title": "T", "summary": "S", "AI": {"tldr": "Error"}}
    text = json.dumps(obj, separators=(",", ":")) + "\r\n"
    doc = parse(text)
    doc.set_field(doc.papers[0], "tldr", "好")
    assert doc.render().decode() == json.dumps({**obj, "AI": {"tldr": "好"}}, separators=(",", ":")) + "\r\n"


def test_missing_ai_object_and_missing_fields_are_failed() -> None:
    lines = [
        json.dumps({"id": "a1", "title": "T", "summary": "S"}),
        json.dumps({"id": "a2", "title": "T", "summary": "S", "AI": {"tldr": "好的摘要", "method": "方法"}}),
    ]
    doc = parse("\n".join(lines) + "\n")
    assert doc.papers[0].failed_fields == FIELDS
    assert doc.papers[1].failed_fields == ("motivation", "result", "conclusion")
    for name in FIELDS:
        doc.set_field(doc.papers[0], name, f"{name}值")
    assert list(json.loads(doc.render().decode().splitlines()[0])) == ["id", "title", "summary", "AI"]


def test_legacy_task_key_counts_as_tldr_and_is_written_back() -> None:
    obj = {
        "id": "a1",
        "summary": "S",
        "AI": {"task": "Error", "motivation": "m", "method": "m2", "result": "r", "conclusion": "c"},
    }
    doc = parse(json.dumps(obj) + "\n")
    assert doc.papers[0].failed_fields == ("tldr",)
    doc.set_field(doc.papers[0], "tldr", "新")
    assert json.loads(doc.render().decode())["AI"] == {**obj["AI"], "task": "新"}


def test_line_that_is_not_json_is_kept_and_reported() -> None:
    good = jsonl([FakePaper("2601.00001"), FakePaper("2601.00002")])
    first, second = good.splitlines(keepends=True)
    text = first + '{"id": "broken", "title": \n' + second
    doc = parse(text)
    assert [p.id for p in doc.papers] == ["2601.00001", "2601.00002"]
    assert [(n.line, n.level) for n in doc.notices] == [(2, "error")]
    assert "not JSON" in doc.notices[0].message
    doc.set_field(doc.papers[1], "tldr", "新")
    assert doc.render().decode().splitlines(keepends=True)[1] == '{"id": "broken", "title": \n'


def test_crawl_file_is_recognised() -> None:
    crawl = json.dumps({"id": "a1", "title": "T", "summary": "S"}, ensure_ascii=False) + "\n"
    assert parse(crawl).is_crawl
    assert not parse(jsonl([FakePaper("2601.00001")])).is_crawl
