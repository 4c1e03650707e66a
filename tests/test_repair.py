"""``digest-repair repair`` and ``regen`` end to end, against the loopback server over HTTP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from digest_factory import FakePaper, failed, jsonl, markdown
from runs import calls, repair

from pipeline import load
from pipeline.cli import main
from pipeline.contracts import PaperRequest
from pipeline.detect.language import detect_language
from pipeline.digest.fields import FIELDS
from pipeline.generate.resources import schema
from pipeline.validate.validator import Validator


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    a, b = before.decode().splitlines(), after.decode().splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_failing_seeds_are_repaired_and_nothing_else_moves(server: str, seeds: list[Path], tmp_path: Path) -> None:
    copies = []
    for seed in seeds:
        shutil.copyfile(seed, tmp_path / seed.name)
        copies.append(tmp_path / seed.name)
    report_path = tmp_path / "report.json"
    assert repair(*copies, "--cache", tmp_path / "c.sqlite", "--report", report_path) == 0
    report = json.loads(report_path.read_text())
    assert report["totals"]["repaired"] == 70 and report["totals"]["failed"] == 0
    assert report["totals"]["generations"] == report["totals"]["requests"] == calls(server) == 70
    validator = Validator()
    for seed, copy in zip(seeds, copies, strict=True):
        before, after = load(seed), load(copy)
        assert not after.notices
        for old, new in zip(before.papers, after.papers, strict=True):
            assert new.failed_fields == ()
            failed_before = old.failed()
            for name in FIELDS:
                if name not in failed_before:
                    assert new.fields[name] == old.fields[name]
            if failed_before:
                request = PaperRequest(new.id, new.title, new.abstract, failed_before, "Chinese")
                assert validator.check_request(request, {n: new.fields[n] or "" for n in failed_before}) == []
        # Only lines that held a placeholder changed.
        for old_line, _ in changed_lines(seed.read_bytes(), copy.read_bytes()):
            assert old_line.split(": ", 1)[1] in {
                "Summary generation failed",
                "Motivation analysis unavailable",
                "Method extraction failed",
                "Result analysis unavailable",
                "Conclusion extraction failed",
            }
    # A second run has nothing to do and makes no call.
    assert repair(*copies, "--cache", tmp_path / "c.sqlite") == 0
    assert calls(server) == 70


def test_second_run_into_out_dir_makes_zero_calls(server: str, tmp_path: Path) -> None:
    day = tmp_path / "in"
    day.mkdir()
    (day / "d.md").write_text(markdown([failed(FakePaper("2601.00001")), FakePaper("2601.00002")]))
    cache = tmp_path / "c.sqlite"
    assert repair(day, "--out", tmp_path / "out", "--cache", cache) == 0
    first = (tmp_path / "out" / "d.md").read_bytes()
    assert calls(server) == 1
    assert repair(day, "--out", tmp_path / "out2", "--cache", cache) == 0
    assert calls(server) == 1
    assert (tmp_path / "out2" / "d.md").read_bytes() == first
    assert load(day / "d.md").papers[0].failed_fields == FIELDS  # the input is untouched


def test_upstream_day_md_and_jsonl_share_one_call_per_paper(server: str, shared: Path, tmp_path: Path) -> None:
    for f in (shared / "upstream").iterdir():
        shutil.copyfile(f, tmp_path / f.name)
    assert repair(tmp_path, "--cache", tmp_path / "c.sqlite") == 0
    assert calls(server) == 3
    md = {p.id: p for p in load(tmp_path / "2026-04-15.md").papers}
    js = {p.id: p for p in load(tmp_path / "2026-04-15_AI_enhanced_Chinese.jsonl").papers}
    repaired = [i for i in js if i in ("2604.12843", "2604.12481", "2604.12820")]
    assert len(repaired) == 3
    for arxiv_id in repaired:
        assert md[arxiv_id].fields == js[arxiv_id].fields
        assert not md[arxiv_id].failed_fields
    for name in ("2026-04-15.md", "2026-04-15_AI_enhanced_Chinese.jsonl"):
        lines = changed_lines((shared / "upstream" / name).read_bytes(), (tmp_path / name).read_bytes())
        assert len(lines) == (15 if name.endswith(".md") else 3)


def test_report_follows_its_schema(server: str, tmp_path: Path) -> None:
    (tmp_path / "d.md").write_text(markdown([failed(FakePaper("2601.00001"), "method")]))
    assert repair(tmp_path / "d.md", "--report", tmp_path / "r.json", "--no-cache") == 0
    report = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(report, schema("report.schema.json"))
    (paper,) = report["files"][0]["results"]
    assert paper["outcome"] == "repaired" and paper["fields"] == ["method"]
    assert paper["model"] and paper["prompt_version"] and paper["tokens"]["prompt"] > 0
    assert "sk-test" not in (tmp_path / "r.json").read_text()


def test_dry_run_sends_nothing_and_prints_the_plan(server: str, tmp_path: Path, capsys) -> None:
    """A dry run costs nothing: it says how many generations and tokens the run would take."""
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001"), "tldr"), failed(FakePaper("2601.00002"))]))
    before = path.read_bytes()
    assert repair(path, "--dry-run", "--report", tmp_path / "r.json") == 0
    err = capsys.readouterr().err
    assert "dry run: 2 paper(s) to generate, about " in err and f"would change: {path}" in err
    assert calls(server) == 0 and path.read_bytes() == before
    report = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(report, schema("report.schema.json"))
    totals = report["totals"]
    assert report["dry_run"] and totals["planned"] == 2 and totals["generations"] == 0
    assert totals["estimate"]["prompt"] > 500 and totals["estimate"]["completion"] == 2 * 10 + 6 * 110


def test_dry_run_shows_the_diff_of_what_costs_nothing(server: str, tmp_path: Path, capsys) -> None:
    """Answers already in the cache are free: the dry run shows them as a diff."""
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001"), "tldr")]))
    cache = tmp_path / "c.sqlite"
    assert repair(path, "--cache", cache, "--out", tmp_path / "out") == 0
    capsys.readouterr()
    before, served = path.read_bytes(), calls(server)
    assert repair(path, "--cache", cache, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "-TL;DR: Summary generation failed" in out and "+TL;DR: " in out
    assert path.read_bytes() == before and calls(server) == served


def test_in_place_write_keeps_mode_and_backup(server: str, tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001"), "tldr")]))
    path.chmod(0o640)
    before = path.read_bytes()
    assert repair(path, "--backup", "--no-cache") == 0
    assert (path.stat().st_mode & 0o777) == 0o640
    assert (tmp_path / "d.md.bak").read_bytes() == before
    assert path.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.md", "d.md.bak"]  # no temp files left


def test_file_with_nothing_to_repair_is_not_rewritten(server: str, tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([FakePaper("2601.00001")]))
    stamp = path.stat().st_mtime_ns
    assert repair(path) == 0
    assert path.stat().st_mtime_ns == stamp and calls(server) == 0


def test_openai_without_key_is_a_usage_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001"))]))
    assert repair(path, "--provider", "openai") == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    assert load(path).papers[0].failed_fields == FIELDS


def test_no_key_uses_extractive_with_one_warning(tmp_path: Path, capsys) -> None:
    path = tmp_path / "d.md"
    paper = failed(
        FakePaper(
            "2601.00001",
            abstract=(
                "Large models are expensive to serve. We propose FlowMix, a sparse router. "
                "Experiments show FlowMix cuts latency by 35% on 3 benchmarks. We conclude that routing is practical."
            ),
        )
    )
    path.write_text(markdown([paper, FakePaper("2601.00002")]))  # a Chinese digest
    assert repair(path, "--report", tmp_path / "r.json", "--no-cache") == 0
    err = capsys.readouterr().err
    assert err.count("warning: no OPENAI_API_KEY") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["provider"] == "extractive"
    assert {w["code"] for w in report["files"][0]["results"][0]["warnings"]} >= {"language"}
    assert load(path).papers[0].failed_fields == ()


def test_budget_stops_scheduling_and_reports_the_rest(server: str, tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper(f"2601.0000{i}")) for i in range(5)]))
    assert repair(path, "--max-papers", "2", "--concurrency", "1", "--report", tmp_path / "r.json", "--no-cache") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    outcomes = [r["outcome"] for r in report["files"][0]["results"]]
    assert outcomes == ["repaired", "repaired", "skipped", "skipped", "skipped"]
    assert report["files"][0]["results"][2]["reasons"] == ["budget"]
    assert calls(server) == 2
    assert [bool(p.failed_fields) for p in load(path).papers] == [False, False, True, True, True]


def test_one_bad_file_does_not_stop_the_others(server: str, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"\xff\xfe garbage")
    good = tmp_path / "good.md"
    good.write_text(markdown([failed(FakePaper("2601.00001"))]))
    assert repair(bad, good, "--no-cache") == 2
    assert f"{bad}:1" in capsys.readouterr().err
    assert bad.read_bytes() == b"\xff\xfe garbage"
    assert load(good).papers[0].failed_fields == ()


def test_regen_unknown_id_lists_closest(tmp_path: Path, capsys) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([FakePaper("2601.00001"), FakePaper("2601.00002")]))
    assert main(["regen", str(path), "--id", "2601.00003"]) == 2
    err = capsys.readouterr().err
    assert "no paper with id 2601.00003" in err and "2601.00001" in err


def test_regen_print_shows_chosen_fields_and_writes_nothing(server: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([FakePaper("2601.00001"), FakePaper("2601.00002")]))
    before = path.read_bytes()
    assert main(["regen", str(path), "--id", "2601.00002", "--fields", "tldr,method", "--print", "-q"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == "2601.00002" and set(shown["fields"]) == {"tldr", "method"}
    assert path.read_bytes() == before


def test_regen_force_rewrites_good_fields_of_one_paper_only(server: str, tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([FakePaper("2601.00001"), FakePaper("2601.00002")]))
    assert main(["regen", str(path), "--id", "2601.00001", "--force", "-q", "--no-cache"]) == 0
    first, second = load(path).papers
    assert first.fields != FakePaper("2601.00001").fields
    assert second.fields == FakePaper("2601.00002").fields


def test_jsonl_only_day(server: str, tmp_path: Path) -> None:
    path = tmp_path / "2026-01-02_AI_enhanced_Chinese.jsonl"
    path.write_text(jsonl([failed(FakePaper("2601.00001"), "result"), FakePaper("2601.00002")]))
    assert repair(path, "--no-cache") == 0
    assert [p.failed_fields for p in load(path).papers] == [(), ()]


def test_unusable_cache_path_is_a_one_line_usage_error(server: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001"))]))
    (tmp_path / "not-a-folder").write_text("x")
    assert repair(path, "--cache", tmp_path / "not-a-folder" / "c.sqlite") == 2
    assert calls(server) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("UsageError: cannot open the cache") and "Traceback" not in "".join(err)
    assert load(path).papers[0].failed_fields == FIELDS


def test_token_budget_stops_scheduling(server: str, tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper(f"2601.0000{i}")) for i in range(6)]))
    code = repair(path, "--max-total-tokens", "1", "--concurrency", "1", "--no-cache", "--report", tmp_path / "r.json")
    assert code == 1
    results = json.loads((tmp_path / "r.json").read_text())["files"][0]["results"]
    repaired = [r for r in results if r["outcome"] == "repaired"]
    assert 1 <= len(repaired) <= 2  # papers already admitted finish; no new one starts
    assert all(r["reasons"] == ["budget"] for r in results if r["outcome"] == "skipped")
    assert calls(server) == len(repaired)


def test_devserver_command_serves_models(tmp_path: Path) -> None:
    import subprocess
    import sys

    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "devserver", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.get(f"{url}/models", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_offline_provider_output_is_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001")), FakePaper("2601.00002")]))
    cache = tmp_path / "c.sqlite"
    assert repair(path, "--provider", "extractive", "--cache", cache, "--out", tmp_path / "out") == 0
    assert not cache.exists()


def test_fix_language_regenerates_english_entries_of_a_chinese_digest(
    server: str, seeds: list[Path], tmp_path: Path
) -> None:
    seed = next(s for s in seeds if s.name.startswith("000_"))
    copy = tmp_path / seed.name
    shutil.copyfile(seed, copy)
    assert repair(copy, "--no-cache") == 0
    assert calls(server) == 26
    suspects = [p.id for p in load(copy).papers if detect_language(p.fields["tldr"] or "") == "English"]
    assert len(suspects) == 4  # written in English, so reported by scan but left alone
    assert repair(copy, "--no-cache", "--fix-language") == 0
    assert calls(server) == 26 + 4
    after = {p.id: p for p in load(copy).papers}
    for arxiv_id in suspects:
        assert all(detect_language(after[arxiv_id].fields[n] or "") == "Chinese" for n in FIELDS)


def test_a_day_where_every_summary_failed_is_written_in_the_files_language(server: str, tmp_path: Path) -> None:
    """No good field to vote on: the enhanced file's name says what upstream asked for."""
    papers = [failed(FakePaper(f"2601.0000{i}")) for i in range(3)]
    (tmp_path / "2026-01-02.md").write_text(markdown(papers))
    (tmp_path / "2026-01-02_AI_enhanced_Chinese.jsonl").write_text(jsonl(papers))
    assert repair(tmp_path, "--no-cache") == 0
    for path in tmp_path.iterdir():
        for paper in load(path).papers:
            assert detect_language(paper.fields["tldr"] or "") == "Chinese", path


@pytest.mark.parametrize(
    ("value", "expected"), [("Chinese", "Chinese"), ("zh", "Chinese"), ("en_US:en", "Chinese"), ("C", "Chinese")]
)
def test_language_variable_is_the_upstream_name_not_a_gettext_locale(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("LANGUAGE", value)
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001")), FakePaper("2601.00002")]))  # a Chinese digest
    assert repair(path, "--no-cache") == 0
    assert detect_language(load(path).papers[0].fields["tldr"] or "") == expected


def test_report_folder_is_created_and_an_unwritable_report_is_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001")), FakePaper("2601.00002")]))
    assert repair(path, "--provider", "extractive", "--report", tmp_path / "logs" / "day" / "r.json") == 0
    assert (tmp_path / "logs" / "day" / "r.json").exists()
    (tmp_path / "file").write_text("x")
    assert repair(path, "--provider", "extractive", "--report", tmp_path / "file" / "r.json") == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("UsageError: cannot write the report")


def test_scan_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    import subprocess
    import sys

    for i in range(3):
        (tmp_path / f"d{i}.md").write_text(markdown([failed(FakePaper(f"2601.0000{j}")) for j in range(40)]))
    proc = subprocess.run(f"{sys.executable} -m pipeline scan {tmp_path} | head -1", shell=True,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert "Traceback" not in proc.stderr and proc.stdout.count("\n") == 1


def test_a_file_reached_twice_is_repaired_once(tmp_path: Path) -> None:
    day = tmp_path / "day"
    day.mkdir()
    (day / "d.md").write_text(markdown([failed(FakePaper("2601.00001")), FakePaper("2601.00002")]))
    (day / "latest.md").symlink_to(day / "d.md")
    report = tmp_path / "r.json"
    assert repair(day, day / "d.md", "--provider", "extractive", "--report", report) == 0
    assert json.loads(report.read_text())["totals"]["files"] == 1


def test_two_inputs_with_the_same_name_do_not_overwrite_each_others_copy(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "d.md").write_text(
            markdown([failed(FakePaper(f"2601.0000{ord(name)}")), FakePaper("2601.00002")])
        )
    assert (
        repair(tmp_path / "a" / "d.md", tmp_path / "b" / "d.md", "--provider", "extractive", "--out", tmp_path / "o")
        == 2
    )
    assert [p.id for p in load(tmp_path / "o" / "d.md").papers][0] == f"2601.0000{ord('a')}"


def test_enhanced_files_of_one_day_in_two_languages_are_written_each_in_its_own(server: str, tmp_path: Path) -> None:
    papers = [failed(FakePaper("2601.00001")), FakePaper("2601.00002")]
    for language in ("Chinese", "English"):
        (tmp_path / f"2026-01-02_AI_enhanced_{language}.jsonl").write_text(jsonl(papers))
    assert repair(tmp_path, "--no-cache") == 0
    for language in ("Chinese", "English"):
        (paper, _) = load(tmp_path / f"2026-01-02_AI_enhanced_{language}.jsonl").papers
        assert detect_language(paper.fields["tldr"] or "") == language


def test_an_unforeseen_error_fails_one_paper_not_the_run(tmp_path: Path) -> None:
    import asyncio

    import pipeline

    class Broken(pipeline.ExtractiveProvider):
        async def generate(self, request, validate):  # type: ignore[no-untyped-def]
            if request.id == "2601.00001":
                raise ValueError("a server answer nothing foresaw")
            return await super().generate(request, validate)

    path = tmp_path / "d.md"
    path.write_text(
        markdown([failed(FakePaper("2601.00001")), failed(FakePaper("2601.00003")), FakePaper("2601.00002")])
    )
    provider = Broken()
    report = pipeline.RunReport(provider.name, provider.model, provider.prompt_version, pipeline.__version__)
    asyncio.run(pipeline.RepairJob(provider, report=report, options=pipeline.RepairOptions()).run([path]))
    outcomes = {p.id: (p.outcome, p.reasons) for p in report.papers}
    assert outcomes == {"2601.00001": ("failed", ["internal_error"]), "2601.00003": ("repaired", [])}
    assert report.exit_code() == 1


def test_quiet_prints_nothing_on_a_good_night_and_the_problems_otherwise(tmp_path: Path, capsys) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper("2601.00001")), FakePaper("2601.00002")]))
    assert repair(path, "--provider", "extractive", "--out", tmp_path / "o") == 0
    assert capsys.readouterr().err == ""
    assert repair(path, tmp_path / "missing.md", "--provider", "extractive", "--out", tmp_path / "o2") == 2
    expected = f"  error: {tmp_path / 'missing.md'}: no such file or directory"
    assert capsys.readouterr().err.splitlines() == [expected]


def test_rpm_paces_the_requests(server: str, tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([failed(FakePaper(f"2601.0000{i}")) for i in range(6)] + [FakePaper("2601.00099")]))
    report = tmp_path / "r.json"
    assert repair(path, "--no-cache", "--out", tmp_path / "a", "--report", report) == 0
    assert json.loads(report.read_text())["totals"]["seconds"] < 0.5
    assert repair(path, "--no-cache", "--out", tmp_path / "b", "--rpm", "600", "--report", report) == 0
    assert json.loads(report.read_text())["totals"]["seconds"] >= 0.45  # 6 requests, one per 0.1 s
    assert calls(server) == 12
