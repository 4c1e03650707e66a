"""Pairing digests with their day's crawl, and ``scan``'s report of dropped papers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from digest_factory import FakePaper, jsonl, markdown

from pipeline import load
from pipeline.cli import main
from pipeline.digest.crawl import CrawlFinder, crawl_path, read_crawl


def crawl_lines(papers: list[FakePaper]) -> str:
    """Upstream's crawl: the enhanced objects without ``AI``, written with ensure_ascii=False."""
    return "".join(
        json.dumps({k: v for k, v in json.loads(line).items() if k != "AI"}, ensure_ascii=False) + "\n"
        for line in jsonl(papers).splitlines()
    )


def scan_json(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, dict[str, Any]]:
    code = main(["scan", "--json", *map(str, paths)])
    return code, json.loads(capsys.readouterr().out)


def day(tmp_path: Path) -> list[FakePaper]:
    """A day of five crawled papers; 2601.00002 and 2601.00005 were dropped."""
    papers = [
        FakePaper(f"2601.0000{i}", title=f"Paper {i}", category=cat)
        for i, cat in enumerate(["cs.CL", "cs.LG", "cs.CL", "cs.CV", "cs.RO"], start=1)
    ]
    kept = [p for p in papers if p.id not in ("2601.00002", "2601.00005")]
    (tmp_path / "2026-01-02.jsonl").write_text(crawl_lines([*papers, papers[0]]), encoding="utf-8")  # a repeat
    (tmp_path / "2026-01-02.md").write_text(markdown(kept), encoding="utf-8")
    (tmp_path / "2026-01-02_AI_enhanced_Chinese.jsonl").write_text(jsonl(kept), encoding="utf-8")
    return papers


@pytest.mark.parametrize(
    ("name", "crawl"),
    [
        ("2026-04-15.md", "2026-04-15.jsonl"),
        ("2026-04-15_AI_enhanced_Chinese.jsonl", "2026-04-15.jsonl"),
        ("2026-04-15_AI_enhanced_English.jsonl", "2026-04-15.jsonl"),
        ("digest.txt", "digest.jsonl"),
    ],
)
def test_crawl_is_found_by_the_digests_name(name: str, crawl: str) -> None:
    assert crawl_path(Path("some/dir") / name) == Path("some/dir") / crawl


def test_a_crawl_is_not_its_own_crawl() -> None:
    assert crawl_path(Path("d/2026-04-15.jsonl")) is None


def test_read_crawl_counts_a_repeated_id_once(tmp_path: Path) -> None:
    papers = day(tmp_path)
    crawl = read_crawl(tmp_path / "2026-01-02.jsonl")
    assert [p.id for p in crawl.papers] == [p.id for p in papers]
    assert [p.position for p in crawl.papers] == [1, 2, 3, 4, 5]
    assert crawl.papers[4].as_dict() == {"id": "2601.00005", "title": "Paper 5", "category": "cs.RO"}


def test_dropped_papers_per_file(tmp_path: Path) -> None:
    day(tmp_path)
    finder = CrawlFinder()
    for name in ("2026-01-02.md", "2026-01-02_AI_enhanced_Chinese.jsonl"):
        crawl = finder.find(tmp_path / name)
        assert crawl is not None
        assert [p.id for p in crawl.dropped(load(tmp_path / name))] == ["2601.00002", "2601.00005"]


def test_a_jsonl_with_ai_fields_named_like_a_crawl_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text(jsonl([FakePaper("2601.00001")]), encoding="utf-8")
    (tmp_path / "d.md").write_text(markdown([FakePaper("2601.00002")]), encoding="utf-8")
    assert CrawlFinder().find(tmp_path / "d.md") is None


def test_scan_json_reports_dropped_once_per_day(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    day(tmp_path)
    code, report = scan_json(capsys, tmp_path)
    assert code == 1  # nothing failed, but papers were dropped
    assert [Path(f["path"]).name for f in report["files"]] == ["2026-01-02.md", "2026-01-02_AI_enhanced_Chinese.jsonl"]
    for f in report["files"]:
        assert f["crawl"] == str(tmp_path / "2026-01-02.jsonl")
        assert f["dropped"] == [
            {"id": "2601.00002", "title": "Paper 2", "category": "cs.LG"},
            {"id": "2601.00005", "title": "Paper 5", "category": "cs.RO"},
        ]
    assert report["totals"]["dropped_papers"] == 2  # not 4: the two files are one day


def test_scan_of_only_the_markdown_still_finds_the_crawl(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    day(tmp_path)
    _, report = scan_json(capsys, tmp_path / "2026-01-02.md")
    assert [d["id"] for d in report["files"][0]["dropped"]] == ["2601.00002", "2601.00005"]
    assert report["totals"]["dropped_papers"] == 2


def test_without_a_crawl_dropped_is_null_and_said(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "2026-01-03.md"
    path.write_text(markdown([FakePaper("2601.00001")]), encoding="utf-8")
    code, report = scan_json(capsys, path)
    assert code == 0
    assert report["files"][0]["dropped"] is None and report["files"][0]["crawl"] is None
    assert report["totals"]["dropped_papers"] == 0
    assert main(["scan", str(path)]) == 0
    out = capsys.readouterr().out
    assert "dropped papers not checked: no crawl file 2026-01-03.jsonl" in out
    assert "0 dropped papers" in out


def test_scan_text_lists_dropped_papers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    day(tmp_path)
    assert main(["scan", str(tmp_path / "2026-01-02.md")]) == 1
    out = capsys.readouterr().out
    assert "  dropped 2601.00002  Paper 2  (cs.LG)" in out and "  dropped 2601.00005  Paper 5  (cs.RO)" in out
    assert "2 dropped papers" in out.splitlines()[-1]


def test_an_unreadable_crawl_is_a_warning(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "2026-01-04.md").write_text(markdown([FakePaper("2601.00001")]), encoding="utf-8")
    (tmp_path / "2026-01-04.jsonl").write_bytes(b'{"id": "\xff"}\n')
    code, report = scan_json(capsys, tmp_path / "2026-01-04.md")
    assert code == 0 and report["files"][0]["dropped"] is None
    assert "not UTF-8" in report["files"][0]["warnings"][0]["message"]


def test_a_paper_kept_verbatim_is_not_dropped(tmp_path: Path) -> None:
    day(tmp_path)
    path = tmp_path / "2026-01-02.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Result: ", "Outcome: ", 1), encoding="utf-8")  # entry 1 no longer parses
    document = load(path)
    assert document.notices and "2601.00001" not in {p.id for p in document.papers}
    crawl = CrawlFinder().find(path)
    assert crawl is not None and [p.id for p in crawl.dropped(document)] == ["2601.00002", "2601.00005"]


def test_scan_counts_the_dropped_papers_of_the_upstream_day(
    capsys: pytest.CaptureFixture[str], shared: Path, tmp_path: Path
) -> None:
    """The real upstream day with a crawl built from it: its papers plus three that were dropped."""
    enhanced = shared / "upstream" / "2026-04-15_AI_enhanced_Chinese.jsonl"
    records = [json.loads(line) for line in enhanced.read_text(encoding="utf-8").splitlines()]
    for record in records:
        del record["AI"]
    extra = [dict(records[i], id=f"2604.9999{k}", title=f"Dropped {k}") for k, i in enumerate((0, 100, 208))]
    crawl = records[:1] + [extra[0]] + records[1:100] + [extra[1]] + records[100:] + [extra[2], records[5]]
    for name in ("2026-04-15.md", enhanced.name):
        (tmp_path / name).symlink_to(shared / "upstream" / name)
    (tmp_path / "2026-04-15.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in crawl), encoding="utf-8"
    )
    code, report = scan_json(capsys, tmp_path)
    assert code == 1
    assert [len(f["dropped"]) for f in report["files"]] == [3, 3]
    assert [d["id"] for d in report["files"][0]["dropped"]] == ["2604.99990", "2604.99991", "2604.99992"]
    assert report["totals"]["dropped_papers"] == 3
    # Named alone, the Markdown digest still finds its crawl.
    _, alone = scan_json(capsys, tmp_path / "2026-04-15.md")
    assert alone["totals"]["dropped_papers"] == 3


def test_a_jsonl_line_kept_verbatim_is_not_dropped(tmp_path: Path) -> None:
    day(tmp_path)
    path = tmp_path / "2026-01-02_AI_enhanced_Chinese.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[0] + lines[1][:-20] + "\n" + "".join(lines[2:]), encoding="utf-8")  # truncated
    document = load(path)
    assert document.notices and "2601.00003" not in {p.id for p in document.papers}
    crawl = CrawlFinder().find(path)
    assert crawl is not None and [p.id for p in crawl.dropped(document)] == ["2601.00002", "2601.00005"]


def test_scan_warns_when_an_unreadable_entry_may_be_listed_as_dropped(tmp_path: Path, capsys) -> None:
    import shutil

    from conftest import DATA

    for name in ("2026-01-15.md", "2026-01-15.jsonl"):
        shutil.copyfile(DATA / name, tmp_path / name)
    md = tmp_path / "2026-01-15.md"
    text = md.read_text(encoding="utf-8")
    first = text.index("### [1] ")
    md.write_text(text[:first] + "### [1] A lost link\n" + text[text.index("\n", first) + 1 :], encoding="utf-8")
    main(["scan", "--json", str(md)])
    (file,) = json.loads(capsys.readouterr().out)["files"]
    assert any("may be listed as dropped" in w["message"] for w in file["warnings"])
