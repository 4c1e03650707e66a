"""``digest-repair scan``: the report users and scripts read, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from digest_factory import FakePaper, failed, jsonl, markdown

from pipeline.cli import main


def run_scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(["scan", "--json", *map(str, args)])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_scan_json_on_the_seeds(capsys, seeds: list[Path]) -> None:
    code, report, _ = run_scan(capsys, *seeds)
    assert code == 1
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    expected = {
        "000_8475de725130af0c.txt": (52, 26, 130),
        "002_ab36c4a1190218ee.txt": (51, 44, 220),
        "003_c65093c2f5984f4c.txt": (57, 0, 0),
    }
    for name, (papers, failed_papers, fields) in expected.items():
        f = by_name[name]
        assert f["format"] == "markdown"
        assert (f["papers"], len(f["failed"]), sum(len(p["fields"]) for p in f["failed"])) == (
            papers,
            failed_papers,
            fields,
        )
    assert report["totals"] == {
        "files": 3,
        "days": 3,
        "papers": 160,
        "failed_papers": 70,
        "failed_fields": 350,
        "suspect_fields": 25,
        "dropped_papers": 0,
        "gave_up": 0,
        "errors": 0,
    }
    first = by_name["000_8475de725130af0c.txt"]["failed"][0]
    assert first == {
        "id": "2601.07839",
        "index": 1,
        "line": 12,
        "title": "Hierarchical Sparse Plus Low Rank Compression of LLM",
        "fields": ["tldr", "motivation", "method", "result", "conclusion"],
        "gave_up": None,
    }


def test_scan_of_the_upstream_folder(capsys, shared: Path) -> None:
    code, report, _ = run_scan(capsys, shared / "upstream")
    assert code == 1
    assert [(Path(f["path"]).name, f["format"], len(f["failed"])) for f in report["files"]] == [
        ("2026-04-15.md", "markdown", 3),
        ("2026-04-15_AI_enhanced_Chinese.jsonl", "jsonl", 3),
    ]


def test_clean_file_exits_zero_and_prints_text(capsys, tmp_path: Path) -> None:
    path = tmp_path / "clean.md"
    path.write_text(markdown([FakePaper("2601.00001")]), encoding="utf-8")
    assert main(["scan", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 papers" in out and "0 failed papers" in out


def test_folder_walk_is_recursive_sorted_and_skips_non_digests(capsys, tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2026-01-02.md").write_text(markdown([failed(FakePaper("2601.00002"))]), encoding="utf-8")
    (tmp_path / "a.md").write_text(markdown([FakePaper("2601.00001")]), encoding="utf-8")
    (tmp_path / "README.md").write_text("# Notes\n\nnot a digest\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    (tmp_path / "2026-01-02.jsonl").write_text(
        json.dumps({"id": "2601.00002", "title": "T", "summary": "S"}) + "\n", encoding="utf-8"
    )  # a crawl
    (tmp_path / "2026-01-02_AI_enhanced_Chinese.jsonl").write_text(
        jsonl([failed(FakePaper("2601.00002"), "tldr")]), encoding="utf-8"
    )
    code, report, err = run_scan(capsys, tmp_path)
    assert code == 1 and err == ""
    assert [Path(f["path"]).relative_to(tmp_path).as_posix() for f in report["files"]] == [
        "2026-01-02_AI_enhanced_Chinese.jsonl",
        "a.md",
        "b/2026-01-02.md",
    ]


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input and a phrase its one-line message must contain."""
    gbk = tmp_path / "gbk.md"
    gbk.write_bytes(markdown([FakePaper("2601.00001")]).encode("gbk"))
    binary = tmp_path / "binary.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    empty_dir = tmp_path / "nothing-here"
    empty_dir.mkdir()
    (empty_dir / "notes.txt").write_text("x", encoding="utf-8")
    prose = tmp_path / "prose.txt"
    prose.write_text("Just some notes.\n", encoding="utf-8")
    return {
        "missing": (tmp_path / "missing.md", "no such file"),
        "empty-dir": (empty_dir, "no *.md or *.jsonl digests"),
        "empty": (empty, "empty file"),
        "binary": (binary, "binary file"),
        "gbk": (gbk, "not UTF-8"),
        "prose": (prose, "not a digest"),
    }


@pytest.mark.parametrize("kind", ["missing", "empty-dir", "empty", "binary", "gbk", "prose"])
def test_unusable_input_is_one_line_exit_2_and_others_still_scanned(capsys, tmp_path: Path, kind: str) -> None:
    bad, phrase = _bad_inputs(tmp_path)[kind]
    good = tmp_path / "good.md"
    good.write_text(markdown([failed(FakePaper("2601.00001"))]), encoding="utf-8")
    before = bad.read_bytes() if bad.is_file() else None
    code, report, err = run_scan(capsys, bad, good)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(bad)) and phrase in lines[0]
    assert "Traceback" not in err
    assert [len(f["failed"]) for f in report["files"]] == [0, 1]
    if before is not None:
        assert bad.read_bytes() == before


def test_gbk_error_names_the_line(capsys, tmp_path: Path) -> None:
    path = tmp_path / "gbk.md"
    path.write_bytes("### [1] [T](https://arxiv.org/abs/1)\nline two\n第三行\n".encode("gbk"))
    main(["scan", str(path)])
    assert f"{path}:3: error: not UTF-8" in capsys.readouterr().err


def test_truncated_digest_names_the_line_and_still_reports_the_rest(capsys, tmp_path: Path) -> None:
    text = markdown([failed(FakePaper("2601.00001")), FakePaper("2601.00002")])
    text = text[: text.rindex("Result:")]
    path = tmp_path / "cut.md"
    path.write_text(text, encoding="utf-8")
    code, report, err = run_scan(capsys, path)
    line = text.count("\n", 0, text.index("### [2]")) + 1
    assert code == 2
    assert err.strip() == (
        f"{path}:{line}: error: entry [2] (2601.00002) has no 'Result:' line (truncated or edited?); kept as is"
    )
    assert len(report["files"][0]["failed"]) == 1


def test_jsonl_line_that_is_not_json(capsys, tmp_path: Path) -> None:
    path = tmp_path / "day_AI_enhanced_Chinese.jsonl"
    path.write_text(jsonl([failed(FakePaper("2601.00001"))]) + "{oops\n", encoding="utf-8")
    code, report, err = run_scan(capsys, path)
    assert code == 2
    assert err.startswith(f"{path}:2: error: not JSON")
    assert report["files"][0]["papers"] == 1


def test_duplicate_ids_are_warned_and_both_kept(capsys, tmp_path: Path) -> None:
    path = tmp_path / "dup.md"
    path.write_text(markdown([failed(FakePaper("2601.00001")), failed(FakePaper("2601.00001"))]), encoding="utf-8")
    code, report, err = run_scan(capsys, path)
    assert code == 1
    assert "warning: duplicate arXiv id 2601.00001 (first at line" in err
    assert len(report["files"][0]["failed"]) == 2


def test_placeholder_flag(capsys, tmp_path: Path) -> None:
    paper = FakePaper("2601.00001")
    paper.fields["result"] = "结果生成失败"
    path = tmp_path / "d.md"
    path.write_text(markdown([paper]), encoding="utf-8")
    assert main(["scan", str(path)]) == 0
    assert main(["scan", "--placeholder", "结果生成失败", str(path)]) == 1


def test_module_and_console_script_run(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001"))]), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "scan", "--json", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["totals"]["failed_fields"] == 5
    script = Path(sys.executable).with_name("digest-repair")
    if script.exists():
        proc = subprocess.run([str(script), "scan", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 1


def test_debug_variable_shows_traceback(tmp_path: Path, monkeypatch) -> None:
    from pipeline.errors import UsageError

    monkeypatch.setenv("DIGEST_REPAIR_DEBUG", "1")
    with pytest.raises(UsageError):
        main(["scan", "--threshold", "nonsense=1", str(tmp_path)])


def test_explicit_crawl_file_is_not_a_digest(capsys, tmp_path: Path) -> None:
    path = tmp_path / "2026-01-02.jsonl"
    path.write_text(json.dumps({"id": "2601.00002", "title": "T", "summary": "S"}) + "\n", encoding="utf-8")
    code, report, err = run_scan(capsys, path)
    assert code == 2 and "raw crawl" in err and report["files"][0]["papers"] == 0
