"""Batch mode against the loopback server's Batch API: submit now, collect on a later run.

What a user relies on: papers submitted are paid once (never live and batched, never in
two batches), a later run writes them with no live call, answers that fail validation are
re-asked, papers a batch did not answer are planned again, and a server without the API
stops the run at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from digest_factory import FakePaper, failed, jsonl, markdown

from pipeline import load
from pipeline.cli import main
from pipeline.devserver.server import DevServerConfig, fetch_stats, running_server
from pipeline.generate.cache import GenerationCache

KEY = "sk-test-not-a-real-key-0123456789"


@pytest.fixture
def day(tmp_path: Path) -> list[Path]:
    """A day of eight failed papers (and one good one), in its .md and its enhanced .jsonl."""
    papers = [FakePaper("2601.09999")] + [failed(FakePaper(f"2601.0000{i}")) for i in range(8)]
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "2026-04-15.md").write_text(markdown(papers))
    (folder / "2026-04-15_AI_enhanced_Chinese.jsonl").write_text(jsonl(papers))
    return sorted(folder.iterdir())


def repair(monkeypatch: pytest.MonkeyPatch, url: str, folder: Path, cache: Path, report: Path, *args: str) -> int:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    return main(["repair", "-q", str(folder), "--cache", str(cache), "--report", str(report), *args])


def read(report: Path) -> dict:
    loaded: dict = json.loads(report.read_text())
    return loaded


def failed_papers(paths: list[Path]) -> int:
    return sum(bool(p.failed_fields) for path in paths for p in load(path).papers)


def test_submit_now_collect_on_the_next_run_with_no_live_call(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache, report = day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json"
    before = [path.read_bytes() for path in day]
    with running_server(DevServerConfig()) as url:
        assert repair(monkeypatch, url, folder, cache, report, "--batch") == 0
        submitted = read(report)
        assert [path.read_bytes() for path in day] == before  # nothing written yet
        # The Batch API requests only: list (is it there?), upload, create.
        assert submitted["totals"]["pending"] == 8 and submitted["totals"]["requests"] == 3
        ((batch),) = submitted["batches"]
        assert batch["action"] == "submitted" and batch["requests"] == 8
        assert {r["batch"] for f in submitted["files"] for r in f["results"]} == {batch["id"]}

        assert repair(monkeypatch, url, folder, cache, report) == 0  # the next night, batch or not
        stats = fetch_stats(url)
    collected = read(report)
    assert stats["total"] == 0  # not one live chat request
    assert collected["totals"]["repaired"] == 8 and collected["totals"]["generations"] == 8
    assert collected["totals"]["tokens"]["prompt"] > 0 and collected["batches"][0]["action"] == "collected"
    assert collected["batches"][0]["billing"] == "batch"
    assert failed_papers(day) == 0
    # The .md and the .jsonl got the same fields from the one request per paper.
    assert [p.fields for p in load(day[0]).papers] == [p.fields for p in load(day[1]).papers]


def test_wait_submits_waits_collects_and_writes_in_one_command(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_server(DevServerConfig(batch_delay=0.2)) as url:
        code = repair(monkeypatch, url, day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json", "--batch", "--wait")
        assert code == 0 and fetch_stats(url)["total"] == 0
    report = read(tmp_path / "r.json")
    assert report["totals"]["repaired"] == 8 and failed_papers(day) == 0
    assert {b["action"] for b in report["batches"]} == {"collected"}


def test_a_paper_already_pending_is_neither_submitted_again_nor_asked_live(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache, report = day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json"
    with running_server(DevServerConfig(batch_delay=3600)) as url:
        assert repair(monkeypatch, url, folder, cache, report, "--batch") == 0
        assert repair(monkeypatch, url, folder, cache, report, "--batch") == 0
        again = read(report)
        assert repair(monkeypatch, url, folder, cache, report) == 0
        live = read(report)
        stats = fetch_stats(url)
    assert stats["batches"]["created"] == 1 and stats["total"] == 0
    assert again["totals"]["pending"] == 8 and [b["action"] for b in again["batches"]] == ["waiting"]
    assert live["totals"]["pending"] == 8 and live["totals"]["generations"] == 0
    assert failed_papers(day) == 16  # still failed in both files, paid for once, on its way


def test_answers_that_fail_validation_are_re_asked_live_with_their_problems(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache, report = day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json"
    with running_server(DevServerConfig(rate_schema_violation=1.0)) as url:
        # --wait re-asks in batches too: 1 + --max-reasks batches, then it reports what is left.
        assert repair(monkeypatch, url, folder, cache, report, "--batch", "--wait", "--max-reasks", "1") == 1
        assert fetch_stats(url)["batches"]["created"] == 2
    waited = read(report)
    assert [b["rejected"] for b in waited["batches"]] == [8, 8] and waited["totals"]["pending"] == 0
    assert {r["reasons"][0] for f in waited["files"] for r in f["results"]} == {"batch"}
    with running_server(DevServerConfig()) as url:
        assert repair(monkeypatch, url, folder, cache, report) == 0
        assert fetch_stats(url)["total"] == 8  # one re-ask per paper
    results = [r for f in read(report)["files"] for r in f["results"]]
    assert {(r["outcome"], r["reasks"], r["attempts"]) for r in results} == {("repaired", 1, 1)}
    assert failed_papers(day) == 0


def test_an_expired_batch_returns_its_unanswered_papers_to_the_plan(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache, report = day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json"
    with running_server(DevServerConfig(batch_expire=True)) as url:
        assert repair(monkeypatch, url, folder, cache, report, "--batch") == 0
        assert repair(monkeypatch, url, folder, cache, report) == 0
        stats = fetch_stats(url)
    collected = read(report)
    (batch,) = collected["batches"]
    assert batch["status"] == "expired" and batch["accepted"] == 4 and batch["returned"] == 4
    assert stats["total"] == 4  # the four the batch never answered, asked live
    assert collected["totals"]["repaired"] == 8 and failed_papers(day) == 0


def test_per_request_errors_return_those_papers_to_the_next_batch(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache, report = day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json"
    with running_server(DevServerConfig(batch_error_rate=0.5, seed=3)) as url:
        assert repair(monkeypatch, url, folder, cache, report, "--batch") == 0
        assert repair(monkeypatch, url, folder, cache, report, "--batch") == 0
        second = read(report)
    collected, submitted = second["batches"]
    returned = collected["returned"]
    assert 0 < returned < 8 and collected["accepted"] == 8 - returned
    assert submitted["action"] == "submitted" and submitted["requests"] == returned
    assert second["totals"]["pending"] == returned and second["totals"]["repaired"] == 8 - returned


def test_a_collect_killed_midway_resumes_without_writing_twice(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache, report = day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json"
    closing = GenerationCache.close_batch

    def killed(self: GenerationCache, batch_id: str) -> None:
        raise SystemExit(137)  # as if SIGKILL came after the answers were cached

    with running_server(DevServerConfig()) as url:
        assert repair(monkeypatch, url, folder, cache, report, "--batch") == 0
        monkeypatch.setattr(GenerationCache, "close_batch", killed)
        with pytest.raises(SystemExit):
            repair(monkeypatch, url, folder, cache, report)
        assert failed_papers(day) == 16  # killed before writing
        monkeypatch.setattr(GenerationCache, "close_batch", closing)
        assert repair(monkeypatch, url, folder, cache, report) == 0
        written = [path.read_bytes() for path in day]
        assert repair(monkeypatch, url, folder, cache, report) == 0
        stats = fetch_stats(url)
    assert stats["total"] == 0 and stats["batches"]["created"] == 1
    assert failed_papers(day) == 0 and [path.read_bytes() for path in day] == written
    assert read(report)["totals"]["papers"] == 0  # the last run found nothing left to do


def test_a_server_without_the_batch_api_stops_at_once(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    with running_server(DevServerConfig(batch_api=False)) as url:
        code = repair(monkeypatch, url, day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json", "--batch")
        assert fetch_stats(url)["total"] == 0
    assert code == 3
    assert "BatchUnsupported:" in capsys.readouterr().err and "has no Batch API" in read(tmp_path / "r.json")["aborted"]


def test_dry_run_with_batch_counts_requests_and_tokens_and_sends_nothing(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    with running_server(DevServerConfig()) as url:
        code = repair(
            monkeypatch, url, day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json", "--batch", "--dry-run"
        )
        stats = fetch_stats(url)
    assert code == 0 and stats["total"] == 0 and stats["batches"]["created"] == 0
    err = capsys.readouterr().err
    assert "dry run: 8 paper(s) to generate" in err and "billed at the provider's batch rate" in err


def test_batch_needs_a_model_and_a_cache(day: list[Path], capsys) -> None:
    assert main(["repair", str(day[0].parent), "--batch", "--provider", "extractive"]) == 2
    assert "--batch needs a model" in capsys.readouterr().err
    assert main(["repair", str(day[0].parent), "--wait"]) == 2


def test_large_work_is_split_into_files_within_the_limits(
    day: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50,000 requests or 200 MB per input file: here three requests per file."""
    monkeypatch.setattr("pipeline.job.batches.MAX_REQUESTS", 3)
    with running_server(DevServerConfig()) as url:
        assert repair(monkeypatch, url, day[0].parent, tmp_path / "c.sqlite", tmp_path / "r.json", "--batch") == 0
        assert fetch_stats(url)["batches"]["created"] == 3
    assert [b["requests"] for b in read(tmp_path / "r.json")["batches"]] == [3, 3, 2]
