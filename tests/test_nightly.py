"""The nightly job tells the truth and never pays twice: one test per way it used not to.

Each test runs the command line as cron or a workflow would and checks what a workflow
relies on: the exit code (one table for every command), the one line that says why, the
number of requests paid for, and the files.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import respx
from digest_factory import FakePaper, failed, jsonl, markdown
from llm_fakes import completion
from runs import calls, repair

from pipeline import load
from pipeline.cli import main
from pipeline.devserver.answers import build_answer, parse_task
from pipeline.devserver.server import DevServerConfig, running_server
from pipeline.digest.fields import FIELDS

BASE = "http://llm.test/v1"
KEY = "sk-test-not-a-real-key-0123456789"


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)


def failed_day(folder: Path, count: int, *, day: str = "2026-04-15", md: bool = True) -> list[Path]:
    """A day of ``count`` failed papers (and one good one): its enhanced JSONL and its .md."""
    papers = [FakePaper("2601.09999")] + [failed(FakePaper(f"2601.{i:05d}")) for i in range(count)]
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{day}_AI_enhanced_Chinese.jsonl"]
    paths[0].write_text(jsonl(papers))
    if md:
        paths.append(folder / f"{day}.md")
        paths[1].write_text(markdown(papers))
    return paths


def good_answer(request: httpx.Request) -> httpx.Response:
    return completion(answer=build_answer(parse_task(json.loads(request.content))))


def report_of(path: Path) -> dict:
    loaded: dict = json.loads(path.read_text())
    return loaded


# --- the provider cannot work: exit 3 at once, one line, few requests --------------------


def test_closed_port_exits_3_in_seconds_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    paths = failed_day(tmp_path / "data", 59) + failed_day(tmp_path / "data", 3, day="2026-04-16")
    before = [p.read_bytes() for p in paths]
    started = time.monotonic()
    code = main(["repair", "-q", str(tmp_path / "data"), "--report", str(tmp_path / "r.json")])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 3 and elapsed < 10
    report = report_of(tmp_path / "r.json")
    assert report["aborted"].startswith("ProviderUnreachable: cannot connect to http://127.0.0.1:")
    assert "OPENAI_BASE_URL" in report["aborted"] and "aborted: ProviderUnreachable" in err
    # Each paper in progress (twice the concurrency are admitted) tried at most twice before
    # the gate closed; the rest never started.
    assert 2 <= report["totals"]["requests"] <= 2 * 16 and report["totals"]["repaired"] == 0
    assert [p.read_bytes() for p in paths] == before
    # The next day is not even read, and the report says its papers are in no count.
    assert not any("2026-04-16" in file["path"] for file in report["files"])
    unread = "1 more day(s) not read after the stop: `digest-repair scan` lists their failed papers"
    assert unread in report["notes"] and f"note: {unread}" in err


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (404, {"message": "The model `gpt-x` does not exist", "code": "model_not_found"}, "ModelNotFound"),
        (404, {"message": "Not Found"}, "EndpointNotFound"),
        (429, {"message": "You exceeded your current quota", "code": "insufficient_quota"}, "QuotaExhausted"),
        (401, {"message": "Incorrect API key provided"}, "AuthError"),
    ],
)
def test_what_no_retry_mends_stops_the_run_after_the_first_requests(
    api_env: None, tmp_path: Path, status: int, body: dict, kind: str
) -> None:
    failed_day(tmp_path / "data", 59, md=False)
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/chat/completions").mock(
            return_value=httpx.Response(status, json={"error": {"type": "invalid_request_error", **body}})
        )
        code = main(["repair", "-q", str(tmp_path / "data"), "--no-cache", "--report", str(tmp_path / "r.json")])
    assert code == 3
    assert route.call_count <= 8  # the papers already in flight, never retried; no paper after them
    assert report_of(tmp_path / "r.json")["aborted"].startswith(f"{kind}: HTTP {status}")


def test_three_papers_in_a_row_failing_the_same_way_stop_the_run(api_env: None, tmp_path: Path) -> None:
    failed_day(tmp_path / "data", 20, md=False)
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(503, json={"error": {}}))
        code = main(
            ["repair", "-q", str(tmp_path / "data"), "--no-cache", "--concurrency", "1", "--attempts", "2",
             "--report", str(tmp_path / "r.json")]
        )  # fmt: skip
    # Three papers spent their two attempts; the one or two others admitted meanwhile
    # (twice the concurrency) may have sent theirs. No further paper started.
    assert code == 3 and 3 * 2 <= route.call_count <= 3 * 2 + 2
    report = report_of(tmp_path / "r.json")
    assert report["aborted"].startswith("ProviderFailing: 3 papers in a row failed the same way (HTTP 503")
    assert report["totals"]["repaired"] == 0 and report["totals"]["skipped"] >= 16


def test_a_success_between_failures_resets_the_breaker(api_env: None, tmp_path: Path) -> None:
    failed_day(tmp_path / "data", 8, md=False)
    replies = iter([500, 500, 200, 500, 500, 200, 500, 500, 200])

    def flaky(request: httpx.Request) -> httpx.Response:
        status = next(replies, 200)
        return good_answer(request) if status == 200 else httpx.Response(status, json={"error": {}})

    with respx.mock() as mock:
        mock.post(f"{BASE}/chat/completions").mock(side_effect=flaky)
        code = main(["repair", "-q", str(tmp_path / "data"), "--no-cache", "--concurrency", "1", "--attempts", "1"])
    assert code == 1  # six papers failed, never three in a row: the run went on
    assert (
        sum(not p.failed_fields for p in load(tmp_path / "data" / "2026-04-15_AI_enhanced_Chinese.jsonl").papers) == 3
    )


def test_quota_429_is_not_retried_but_a_rate_limit_429_is(api_env: None, tmp_path: Path) -> None:
    failed_day(tmp_path / "data", 1, md=False)
    replies = [httpx.Response(429, json={"error": {"message": "Rate limit reached"}}, headers={"retry-after": "0"})]
    with respx.mock() as mock:
        route = mock.post(f"{BASE}/chat/completions").mock(side_effect=[*replies, good_answer])
        code = main(["repair", "-q", str(tmp_path / "data"), "--no-cache"])
    assert code == 0 and route.call_count == 2


# --- one exit-code table ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["scan", "audit", "repair", "regen"])
def test_every_command_prints_the_exit_code_table(command: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "exit codes (every command):" in out
    assert "3    the run could not work" in out and "130  interrupted" in out


def truncated_day(folder: Path) -> Path:
    """A day whose .md lost the end of its second entry: the entry cannot be read."""
    folder.mkdir()
    path = folder / "2026-04-15.md"
    text = markdown([failed(FakePaper("2601.00001")), FakePaper("2601.00002")])
    path.write_text(text[: text.rindex("</details>")])
    return path


@pytest.mark.parametrize("command", ["scan", "audit", "repair", "regen"])
def test_a_truncated_entry_exits_2_from_every_command(tmp_path: Path, command: str, capsys) -> None:
    path = truncated_day(tmp_path / "data")
    extra = {"repair": ["--provider", "extractive", "--out", str(tmp_path / "out")],
             "regen": ["--id", "2601.00001", "--provider", "extractive", "--out", str(tmp_path / "out")]}  # fmt: skip
    assert main([command, str(path), *extra.get(command, [])]) == 2
    assert "has no closing '</details>'" in capsys.readouterr().err or command in ("scan", "audit")


def test_restore_refuses_a_file_with_an_unreadable_entry(tmp_path: Path) -> None:
    """A truncated entry leaves its <details> open: anything inserted after it would be inside."""
    folder = tmp_path / "data"
    path = truncated_day(folder)
    crawl = [FakePaper("2601.00001"), FakePaper("2601.00002"), FakePaper("2601.00003", category="cs.AI")]
    (folder / "2026-04-15.jsonl").write_text(jsonl(crawl, ensure_ascii=False).replace(', "AI": {', ', "X": {'))
    before = path.read_bytes()
    report = tmp_path / "r.json"
    code = main(["repair", str(path), "--provider", "extractive", "--restore-dropped", "--report", str(report)])
    assert code == 2
    errors = report_of(report)["files"][0]["errors"]
    assert any("no dropped paper restored into this file" in e["message"] for e in errors)
    assert b"2601.00003" not in path.read_bytes() and path.read_bytes().startswith(before[:200])


# --- two runs at once --------------------------------------------------------------------


def _start(folder: Path, cache: Path, url: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": url}
    argv = [sys.executable, "-m", "pipeline", "repair", str(folder), "--cache", str(cache), "-q", *extra]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_run_on_the_same_folder_stops_at_once(tmp_path: Path) -> None:
    failed_day(tmp_path / "data", 10)
    with running_server(DevServerConfig(latency=0.3)) as url:
        first = _start(tmp_path / "data", tmp_path / "c.sqlite", url, "--concurrency", "2")
        time.sleep(1.0)  # the first run holds its locks
        second = _start(tmp_path / "data", tmp_path / "other.sqlite", url)
        assert second.wait(20) == 3
        assert "another digest-repair run holds the folder" in (second.stderr.read() if second.stderr else "")
        assert first.wait(60) == 0
        assert calls(url) == 10  # one payment per paper


def test_a_second_run_that_waits_pays_nothing(tmp_path: Path) -> None:
    """cron and a manual dispatch on one folder and cache: the second waits, then finds every
    answer in the cache."""
    paths = failed_day(tmp_path / "data", 10)
    with running_server(DevServerConfig(latency=0.3)) as url:
        first = _start(tmp_path / "data", tmp_path / "c.sqlite", url, "--concurrency", "2")
        time.sleep(1.0)
        second = _start(tmp_path / "data", tmp_path / "c.sqlite", url, "--lock-timeout", "60",
                        "--report", str(tmp_path / "r2.json"))  # fmt: skip
        assert first.wait(60) == 0 and second.wait(60) == 0
        assert calls(url) == 10
    totals = report_of(tmp_path / "r2.json")["totals"]
    assert totals["generations"] == 0 and totals["papers"] == 0  # nothing left to repair
    assert all(not p.failed_fields for path in paths for p in load(path).papers)


def test_a_run_killed_while_holding_the_lock_leaves_no_stale_lock(tmp_path: Path) -> None:
    failed_day(tmp_path / "data", 6)
    with running_server(DevServerConfig(latency=0.3)) as url:
        first = _start(tmp_path / "data", tmp_path / "c.sqlite", url, "--concurrency", "1")
        time.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = _start(tmp_path / "data", tmp_path / "c.sqlite", url)
        assert second.wait(60) == 0
    assert not [p for p in (tmp_path / "data").iterdir() if p.name.startswith(".")]  # no lock file in the data


# --- the language a day is written in ----------------------------------------------------


def english_leaning_day(folder: Path) -> list[Path]:
    """A Chinese day whose fields are 70% English (extractive repairs): 7 English, 3 Chinese."""
    english = {name: "We propose a simple method that improves results by 12% on the benchmark." for name in FIELDS}
    papers = [FakePaper(f"2601.0000{i}", fields=dict(english)) for i in range(7)]
    papers += [FakePaper(f"2601.0001{i}") for i in range(3)]
    papers.append(failed(FakePaper("2601.00099")))
    folder.mkdir()
    (folder / "2026-04-15_AI_enhanced_Chinese.jsonl").write_text(jsonl(papers))
    (folder / "2026-04-15.md").write_text(markdown(papers))
    return [folder / "2026-04-15_AI_enhanced_Chinese.jsonl", folder / "2026-04-15.md"]


def test_the_language_the_file_name_gives_wins_over_a_vote(tmp_path: Path, capsys) -> None:
    english_leaning_day(tmp_path / "data")
    main(["scan", "--json", str(tmp_path / "data")])
    files = json.loads(capsys.readouterr().out)["files"]
    assert [f["language"] for f in files] == ["Chinese", "Chinese"]  # the .md takes its day's
    for f in files:
        suspects = {item["id"] for item in f["suspect"]}
        assert suspects == {f"2601.0000{i}" for i in range(7)}  # the English ones, never the Chinese


def test_fix_language_on_the_md_alone_keeps_good_chinese(tmp_path: Path) -> None:
    md = english_leaning_day(tmp_path / "data")[1]
    main(["repair", "-q", str(md), "--provider", "extractive", "--fix-language", "--out", str(tmp_path / "out")])
    repaired = {p.id: p for p in load(tmp_path / "out" / md.name).papers}
    for i in range(3):  # the Chinese papers are left as they were
        assert repaired[f"2601.0001{i}"].fields == FakePaper("x").fields


# --- regen, truthful reports, write failures ---------------------------------------------


def test_regen_on_the_md_repairs_the_day_s_jsonl_too(server: str, tmp_path: Path) -> None:
    paths = failed_day(tmp_path / "data", 2)
    assert main(["regen", "-q", str(paths[1]), "--id", "2601.00001", "--no-cache"]) == 0
    for path in paths:
        by_id = {p.id: p for p in load(path).papers}
        assert not by_id["2601.00001"].failed_fields and by_id["2601.00000"].failed_fields
    assert calls(server) == 1
    assert load(paths[0]).find("2601.00001")[0].fields == load(paths[1]).find("2601.00001")[0].fields


def test_an_unwritable_output_is_a_run_level_error_and_nothing_is_counted_repaired(server: str, tmp_path: Path) -> None:
    failed_day(tmp_path / "data", 5)
    (tmp_path / "out").write_text("a file where the output folder should be")
    code = repair(tmp_path / "data", "--out", tmp_path / "out" / "sub", "--report", tmp_path / "r.json")
    report = report_of(tmp_path / "r.json")
    assert code == 3 and report["aborted"].startswith("RunError: cannot write")
    totals = report["totals"]
    assert totals["repaired"] == totals["fields_repaired"] == totals["files_written"] == 0
    assert totals["unwritten"] == 5
    assert {r["reasons"][0] for f in report["files"] for r in f["results"]} == {"write_failed"}


def test_a_read_only_file_is_refused_and_reported(server: str, tmp_path: Path) -> None:
    jsonl_path, md_path = failed_day(tmp_path / "data", 2)
    md_path.chmod(0o444)
    before, inode = md_path.read_bytes(), md_path.stat().st_ino
    code = repair(tmp_path / "data", "--no-cache", "--report", tmp_path / "r.json")
    assert code == 2
    assert md_path.read_bytes() == before and md_path.stat().st_ino == inode
    report = report_of(tmp_path / "r.json")
    md_report = next(f for f in report["files"] if f["path"] == str(md_path))
    assert "read-only" in md_report["errors"][0]["message"] and md_report["written"] is None
    assert {r["outcome"] for r in md_report["results"]} == {"unwritten"}
    assert report["totals"]["repaired"] == 0 and report["totals"]["unwritten"] == 2
    assert all(not p.failed_fields for p in load(jsonl_path).papers)  # the other file of the day is done


def test_the_budget_counts_generations_not_cache_hits(server: str, tmp_path: Path) -> None:
    failed_day(tmp_path / "data", 6, md=False)
    cache = tmp_path / "c.sqlite"
    assert repair(tmp_path / "data", "--cache", cache, "--out", tmp_path / "warm", "--max-papers", "5") == 1
    assert calls(server) == 5
    code = repair(tmp_path / "data", "--cache", cache, "--max-papers", "1", "--report", tmp_path / "r.json")
    totals = report_of(tmp_path / "r.json")["totals"]
    assert code == 0 and totals["cached"] == 5 and totals["repaired"] == 1 and totals["skipped"] == 0
    assert calls(server) == 6


# --- a paper the model always gets wrong ---------------------------------------------------


def test_a_paper_failed_on_three_nights_is_given_up_until_something_changes(
    api_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    folder = tmp_path / "data"
    failed_day(folder, 1, md=False)
    cache = tmp_path / "c.sqlite"

    invented = {  # distinct fields, each with a number the abstract never gives
        "tldr": "本文提出新方法，准确率达到99.9%。",
        "motivation": "现有方法的召回率只有99.9%，仍需改进。",
        "method": "作者设计了一个包含99.9%稀疏度的网络结构。",
        "result": "实验显示误差下降了99.9%，效果显著。",
        "conclusion": "结论是该方法可将成本降低99.9%。",
    }

    def invent(request: httpx.Request) -> httpx.Response:
        task = parse_task(json.loads(request.content))
        return completion(answer={name: invented[name] for name in task.fields})

    def night(date: str, *extra: str) -> tuple[int, int, dict]:
        monkeypatch.setattr("pipeline.job.repair.tonight", lambda: date)
        with respx.mock(assert_all_called=False) as mock:
            route = mock.post(f"{BASE}/chat/completions").mock(side_effect=invent)
            code = main(["repair", "-q", str(folder), "--cache", str(cache), "--report", str(tmp_path / "r.json"),
                         *extra])  # fmt: skip
        return code, route.call_count, report_of(tmp_path / "r.json")

    spent = [night("2026-04-15")[1], night("2026-04-15")[1], night("2026-04-16")[1], night("2026-04-17")[1]]
    assert all(n == 2 for n in spent)  # an answer and its copy; the second run of a night counts no night
    code, requests, report = night("2026-04-18")
    (result,) = report["files"][0]["results"]
    assert code == 1 and requests == 0 and result["outcome"] == "skipped" and result["reasons"] == ["gave_up"]
    assert "3 nights" in result["message"] and report["totals"]["gave_up"] == 1
    main(["scan", "--json", str(folder), "--cache", str(cache)])
    (item,) = json.loads(capsys.readouterr().out)["files"][0]["failed"]
    assert item["gave_up"]["nights"] == 3 and item["gave_up"]["reasons"] == ["copied_back", "numbers"]
    assert night("2026-04-18", "--retry-failed")[1] == 2
    assert night("2026-04-18", "--model", "another-model")[1] == 2  # a new model gets its chance
    path = folder / "2026-04-15_AI_enhanced_Chinese.jsonl"
    path.write_text(path.read_text().replace("We study things.", "We study things again."))
    assert night("2026-04-19")[1] == 2  # a new version of the abstract is a new paper


def test_a_server_that_does_not_answer_is_not_remembered_as_a_failure(api_env: None, tmp_path: Path) -> None:
    failed_day(tmp_path / "data", 1, md=False)
    for _ in range(4):
        with respx.mock() as mock:
            mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(500, json={"error": {}}))
            main(["repair", "-q", str(tmp_path / "data"), "--cache", str(tmp_path / "c.sqlite"), "--attempts", "1",
                  "--max-wait", "0", "--report", str(tmp_path / "r.json")])  # fmt: skip
        (result,) = report_of(tmp_path / "r.json")["files"][0]["results"]
        assert result["outcome"] == "failed" and result["reasons"] == ["transient"]


# --- scan counts a paper once per day --------------------------------------------------------


def test_scan_counts_each_paper_once_per_day(tmp_path: Path, capsys) -> None:
    failed_day(tmp_path / "data", 3)
    failed_day(tmp_path / "data", 2, day="2026-04-16", md=False)
    assert main(["scan", "--json", str(tmp_path / "data")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["failed_papers"] == 5 and report["totals"]["failed_fields"] == 25
    assert report["totals"]["papers"] == 4 + 3 and report["totals"]["days"] == 2
    first = report["days"][0]
    assert first["day"] == "2026-04-15" and len(first["files"]) == 2 and first["failed_papers"] == 3
    main(["scan", str(tmp_path / "data")])
    assert "day 2026-04-15 (2 files, 4 papers): 3 failed (15 fields)" in capsys.readouterr().out


def test_restore_dropped_dry_run_announces_the_generations_first(tmp_path: Path, monkeypatch, capsys) -> None:
    """A whole data branch of dropped papers: the dry run counts them, sends nothing."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    folder = tmp_path / "data"
    folder.mkdir()
    kept = [FakePaper("2601.00001")]
    (folder / "2026-04-15.md").write_text(markdown(kept))
    crawl = kept + [FakePaper(f"2601.001{i:02d}") for i in range(40)]
    (folder / "2026-04-15.jsonl").write_text(jsonl(crawl, ensure_ascii=False).replace(', "AI": {', ', "X": {'))
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{BASE}/chat/completions").mock(side_effect=good_answer)
        code = main(["repair", str(folder), "--restore-dropped", "--dry-run", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 0 and route.call_count == 0
    assert "dry run: 40 paper(s) to generate, about " in err
