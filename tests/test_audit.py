"""Audit: the fidelity checks over summaries a digest already has."""

from __future__ import annotations

from pathlib import Path

from digest_factory import FakePaper, failed, jsonl, markdown

from pipeline import load
from pipeline.validate.audit import audit_document, audit_exit_code, audit_totals

GOOD = FakePaper("2601.00001")
WRONG_NUMBER = FakePaper("2601.00002", fields={**GOOD.fields, "result": "实验表明性能提升了47%。"})
ENGLISH = FakePaper("2601.00003", fields={**GOOD.fields, "tldr": "We study things and improve results by 12%."})


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_suspect_papers_are_reported_with_their_problems(tmp_path: Path) -> None:
    papers = [GOOD, WRONG_NUMBER, ENGLISH, GOOD, GOOD]
    document = load(_write(tmp_path, "d.md", markdown(papers)))
    report = audit_document(document)
    assert report["path"] == str(document.path) and report["papers"] == 5
    suspect = {item["id"]: item for item in report["suspect"]}
    assert set(suspect) == {"2601.00002", "2601.00003"}
    assert suspect["2601.00002"]["index"] == 2
    assert suspect["2601.00002"]["problems"] == [
        {"field": "result", "code": "numbers", "message": "result states 47%, not found in the abstract"}
    ]
    assert [p["code"] for p in suspect["2601.00003"]["problems"]] == ["language"]
    assert audit_totals([report]) == {"papers": 5, "suspect_papers": 2, "by_code": {"language": 1, "numbers": 1}}
    assert audit_exit_code([report]) == 1


def test_failed_fields_are_not_audited(tmp_path: Path) -> None:
    papers = [failed(GOOD, "tldr", "method"), failed(FakePaper("2601.00009"), *GOOD.fields)]
    document = load(_write(tmp_path, "d.jsonl", jsonl(papers)))
    report = audit_document(document)
    assert report["suspect"] == []
    assert audit_exit_code([report]) == 0
    assert audit_exit_code([report], unreadable=1) == 2


def test_the_target_language_can_be_overridden(tmp_path: Path) -> None:
    document = load(_write(tmp_path, "d.md", markdown([GOOD, GOOD, GOOD])))
    report = audit_document(document, language="English")
    assert len(report["suspect"]) == 3
