"""``repair --restore-dropped``: papers of the crawl that a digest lacks are generated and
inserted, in crawl order, and nothing else moves."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import jsonschema
import pytest
import respx
from digest_factory import FakePaper, failed, jsonl, markdown
from llm_fakes import completion
from runs import calls, repair

from pipeline import load
from pipeline.cli import main
from pipeline.devserver.answers import build_answer, parse_task
from pipeline.digest.crawl import read_crawl
from pipeline.digest.fields import FIELDS
from pipeline.digest.jsonl import JsonlDigest
from pipeline.digest.markdown import MarkdownDigest
from pipeline.generate.resources import schema

DAY = "2026-01-20"
MD, ENHANCED, CRAWL = f"{DAY}.md", f"{DAY}_AI_enhanced_Chinese.jsonl", f"{DAY}.jsonl"
DATA = Path(__file__).resolve().parents[1] / "data"

# Crawl order; (category, dropped?). cs.RO has no section left in the digest.
PLAN = [
    ("cs.CL", True),
    ("cs.LG", False),
    ("cs.CL", False),
    ("cs.RO", True),
    ("cs.CV", False),
    ("cs.CL", True),
    ("cs.LG", False),
    ("cs.CL", False),
    ("cs.RO", True),
    ("cs.CV", False),
    ("cs.LG", True),
    ("cs.CV", True),
]


def crawl_text(papers: list[FakePaper]) -> str:
    """Upstream's crawl: the enhanced objects without ``AI``, written with ensure_ascii=False."""
    return "".join(
        json.dumps({k: v for k, v in json.loads(line).items() if k != "AI"}, ensure_ascii=False) + "\n"
        for line in jsonl(papers).splitlines()
    )


def build_day(folder: Path) -> tuple[list[FakePaper], list[str]]:
    """Crawl, enhanced JSONL and digest of a day; returns the crawl's papers and the dropped ids."""
    papers = [
        FakePaper(
            f"2601.{i:05d}",
            title=f"Paper {i}: Sparse Things",
            category=cat,
            authors=(f"Author {i}", "Bea Zhang"),
            abstract=f"We study problem {i} with sparse models. Accuracy improves by {10 + i}%.",
        )
        for i, (cat, _) in enumerate(PLAN, start=1)
    ]
    dropped = [p.id for p, (_, gone) in zip(papers, PLAN, strict=True) if gone]
    kept = [p for p in papers if p.id not in dropped]
    failed(kept[1], "method")  # an ordinary repair in the same run
    folder.mkdir(exist_ok=True)
    (folder / CRAWL).write_text(crawl_text([*papers, papers[4]]), encoding="utf-8")  # a repeated id
    (folder / MD).write_text(markdown(kept), encoding="utf-8")
    (folder / ENHANCED).write_text(jsonl(kept), encoding="utf-8")
    return papers, dropped


def undo(text: str, ids: list[str], new_categories: list[str]) -> str:
    """Remove inserted entries and sections, then number and count as a fresh digest would."""
    for cat in new_categories:
        text, n = re.subn(rf"- \[{re.escape(cat)}\]\(#{re.escape(cat)}\) \[Total: \d+\]\n", "", text)
        assert n == 1
        text, n = re.subn(
            rf"\s*<div id='{re.escape(cat)}'></div>.*?</details>(?=\s*(?:<div id=|$))", "", text, flags=re.S
        )
        assert n == 1
    for arxiv_id in ids:
        entry = rf"### \[\d+\] \[[^\n]*\]\(https://arxiv\.org/abs/{re.escape(arxiv_id)}\)\n.*?</details>"
        text, n = re.subn(rf"(?<=</details>)\s*{entry}", "", text, flags=re.S)  # after an entry
        if n == 0:
            text, n = re.subn(rf"{entry}\s*(?=### \[)", "", text, flags=re.S)  # first of its section
        assert n == 1, arxiv_id
    counter = iter(range(1, 10_000))
    text = re.sub(r"^### \[\d+\] ", lambda _: f"### [{next(counter)}] ", text, flags=re.M)
    for cat, body in re.findall(r"<div id='([^']+)'></div>(.*?)(?=<div id=|\Z)", text, flags=re.S):
        count = len(re.findall(r"^### \[", body, flags=re.M))
        text = re.sub(rf"(- \[{re.escape(cat)}\]\(#{re.escape(cat)}\) \[Total: )\d+\]", rf"\g<1>{count}]", text)
    return text


def check_digest(path: Path, crawl_ids: list[str]) -> MarkdownDigest:
    """Parses cleanly, indices 1..N, every total matches its section, sections in crawl order."""
    document = load(path)
    assert isinstance(document, MarkdownDigest)
    assert not document.notices
    assert [p.index for p in document.papers] == list(range(1, len(document.papers) + 1))
    text = path.read_text(encoding="utf-8")
    toc = dict(re.findall(r"^- \[([^\]]+)\]\(#[^)]+\) \[Total: (\d+)\]", text, flags=re.M))
    sections = re.findall(r"<div id='([^']+)'></div>(.*?)(?=<div id=|\Z)", text, flags=re.S)
    assert list(toc) == [cat for cat, _ in sections]
    rank = {arxiv_id: k for k, arxiv_id in enumerate(crawl_ids)}
    for cat, body in sections:
        ids = re.findall(r"^### \[\d+\] \[[^\n]*\]\(https://arxiv\.org/abs/([^)]+)\)", body, flags=re.M)
        assert int(toc[cat]) == len(ids)
        assert ids == sorted(ids, key=rank.__getitem__)
        assert all(p.category == cat for p in document.papers if p.id in ids)
    return document


def test_restore_dropped_day(server: str, tmp_path: Path) -> None:
    papers, dropped = build_day(tmp_path / "day")
    day = tmp_path / "day"
    before = {name: (day / name).read_bytes() for name in (MD, ENHANCED, CRAWL)}
    report_path = tmp_path / "r.json"
    assert repair(day, "--restore-dropped", "--no-cache", "--report", report_path) == 0
    assert calls(server) == len(dropped) + 1

    report = json.loads(report_path.read_text())
    jsonschema.validate(report, schema("report.schema.json"))
    assert report["totals"]["restored"] == len(dropped) and report["totals"]["failed"] == 0
    for f in report["files"]:
        restored = [r for r in f["results"] if r["restored"]]
        assert sorted(r["id"] for r in restored) == sorted(dropped)
        assert all(r["outcome"] == "repaired" and r["fields"] == list(FIELDS) for r in restored)

    # The enhanced JSONL: the crawl's order, each line the crawl's object plus "AI" last.
    crawl = [json.loads(line) for line in before[CRAWL].decode().splitlines()][: len(papers)]
    lines = (day / ENHANCED).read_text(encoding="utf-8").splitlines(keepends=True)
    old_lines = before[ENHANCED].decode().splitlines(keepends=True)
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in crawl]
    for line, record in zip(lines, crawl, strict=True):
        obj = json.loads(line)
        assert list(obj) == [*record, "AI"] and {k: obj[k] for k in record} == record
        assert list(obj["AI"]) == list(FIELDS) and all(obj["AI"].values())
        if record["id"] in dropped:
            assert line == json.dumps(obj) + "\n"  # the file's style: plain json.dumps
    kept = [line for line in lines if json.loads(line)["id"] not in dropped]
    assert kept[:1] + kept[2:] == old_lines[:1] + old_lines[2:]  # the second one was repaired

    # The digest: clean, numbered, counted, and the same fields as the JSONL.
    document = check_digest(day / MD, [p.id for p in papers])
    assert sorted(p.id for p in document.papers) == sorted(p.id for p in papers)
    enhanced = {p.id: p for p in load(day / ENHANCED).papers}
    for paper in document.papers:
        assert paper.fields == enhanced[paper.id].fields and not paper.failed_fields
        assert paper.url == f"https://arxiv.org/abs/{paper.id}"
    restored = {p.id: p for p in document.papers if p.id in dropped}
    assert restored["2601.00001"].authors == "Author 1,Bea Zhang" and restored["2601.00001"].category == "cs.CL"
    assert restored["2601.00001"].abstract == papers[0].abstract
    assert re.findall(r"^- \[(cs\.\w+)\]", (day / MD).read_text(), flags=re.M) == [
        "cs.LG",
        "cs.CL",
        "cs.CV",
        "cs.RO",
    ]  # the new section last

    # Taking the inserted entries out again gives back the original bytes, repair aside.
    repaired_only = (day / MD).read_text(encoding="utf-8")
    original = before[MD].decode()
    paper = load(day / MD).find("2601.00003")[0]
    original = original.replace("Method: Method extraction failed", f"Method: {paper.fields['method']}")
    in_old_sections = [i for i in dropped if i not in ("2601.00004", "2601.00009")]  # not the cs.RO ones
    assert undo(repaired_only, in_old_sections, ["cs.RO"]) == original

    # A second run has nothing to restore: no call, no byte changed.
    after = {name: (day / name).read_bytes() for name in (MD, ENHANCED)}
    stamps = {name: (day / name).stat().st_mtime_ns for name in (MD, ENHANCED)}
    assert repair(day, "--restore-dropped", "--no-cache") == 0
    assert calls(server) == len(dropped) + 1
    assert {name: (day / name).read_bytes() for name in (MD, ENHANCED)} == after
    assert {name: (day / name).stat().st_mtime_ns for name in (MD, ENHANCED)} == stamps


def test_without_the_flag_or_without_a_crawl_nothing_is_inserted(server: str, tmp_path: Path) -> None:
    papers, dropped = build_day(tmp_path / "day")
    day = tmp_path / "day"
    assert repair(day, "--no-cache") == 0
    assert calls(server) == 1 and not set(dropped) & load(day / MD).present_ids()
    (day / CRAWL).unlink()
    assert repair(day, "--restore-dropped", "--no-cache") == 0
    assert calls(server) == 1 and len(load(day / ENHANCED).papers) == len(papers) - len(dropped)


def test_naming_only_the_digest_restores_into_it_alone(server: str, tmp_path: Path) -> None:
    papers, _ = build_day(tmp_path / "day")
    day = tmp_path / "day"
    before = (day / ENHANCED).read_bytes()
    assert repair(day / MD, "--restore-dropped", "--no-cache") == 0
    check_digest(day / MD, [p.id for p in papers])
    assert len(load(day / MD).papers) == len(papers)
    assert (day / ENHANCED).read_bytes() == before


def test_a_paper_whose_generation_fails_is_inserted_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = "http://llm.test/v1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", base)
    papers, dropped = build_day(tmp_path / "day")
    day = tmp_path / "day"
    poisoned = "2601.00006"
    crawl = (
        (day / CRAWL).read_text(encoding="utf-8").replace("We study problem 6 with", "POISON study of problem 6 with")
    )
    (day / CRAWL).write_text(crawl, encoding="utf-8")

    def answer(request: httpx.Request) -> httpx.Response:
        task = parse_task(json.loads(request.content))
        fields = build_answer(task)
        if "POISON" in task.abstract:  # numbers the abstract does not have: never valid
            fields = {name: "该方法将准确率提升了 99.9%，远超所有基线。" for name in task.fields}
        return completion(answer=fields)

    with respx.mock() as mock:
        mock.post(f"{base}/chat/completions").mock(side_effect=answer)
        code = repair(day, "--restore-dropped", "--no-cache", "--report", tmp_path / "r.json", "--max-reasks", "1")
    assert code == 1
    report = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(report, schema("report.schema.json"))
    assert report["totals"]["restored"] == len(dropped) - 1 and report["totals"]["failed"] == 1
    for f in report["files"]:
        (bad,) = [r for r in f["results"] if r["id"] == poisoned]
        assert bad["outcome"] == "failed" and bad["restored"] is True
    for name in (MD, ENHANCED):
        ids = load(day / name).present_ids()
        assert poisoned not in ids and set(dropped) - {poisoned} <= ids
    check_digest(day / MD, [p.id for p in papers if p.id != poisoned])


def test_bundled_sample_day(tmp_path: Path) -> None:
    copy = tmp_path / "data-copy"
    shutil.copytree(DATA, copy)
    assert main(["repair", "-q", str(copy), "--restore-dropped", "--no-cache", "--provider", "extractive"]) == 0
    crawl_ids = [p.id for p in read_crawl(copy / "2026-01-15.jsonl").papers]
    md = check_digest(copy / "2026-01-15.md", crawl_ids)
    enhanced = load(copy / "2026-01-15_AI_enhanced_Chinese.jsonl")
    assert [p.id for p in enhanced.papers] == crawl_ids
    (restored,) = md.find("2601.10318")
    assert restored.index == 6 and restored.category == "cs.CL" and not restored.failed_fields
    assert restored.fields == enhanced.find("2601.10318")[0].fields
    assert "- [cs.CL](#cs.CL) [Total: 5]" in (copy / "2026-01-15.md").read_text(encoding="utf-8")


# -- the document API, without a job ---------------------------------------------------------

NEW = {name: f"新的{name}。" for name in FIELDS}


def crawl_of(tmp_path: Path, papers: list[FakePaper]) -> Path:
    path = tmp_path / "c.jsonl"
    path.write_text(crawl_text(papers), encoding="utf-8")
    return path


def test_markdown_with_crlf_keeps_crlf(tmp_path: Path) -> None:
    papers = [
        FakePaper("2601.00001", category="cs.CL"),
        FakePaper("2601.00002", category="cs.CL"),
        FakePaper("2601.00003", category="cs.AI"),
    ]
    crawl = read_crawl(crawl_of(tmp_path, papers))
    text = markdown(papers[:1]).replace("\n", "\r\n")
    document = MarkdownDigest.parse(tmp_path / "d.md", text)
    for paper in crawl.dropped(document):
        document.insert_paper(paper, NEW, crawl.order)
    out = document.render().decode()
    assert "\n" not in out.replace("\r\n", "")
    again = MarkdownDigest.parse(tmp_path / "d.md", out)
    assert not again.notices and [p.id for p in again.papers] == ["2601.00001", "2601.00002", "2601.00003"]
    expected = [
        papers[0],
        FakePaper("2601.00002", category="cs.CL", fields=dict(NEW)),
        FakePaper("2601.00003", category="cs.AI", fields=dict(NEW)),
    ]
    assert out == markdown(expected).replace("\n", "\r\n")


def test_markdown_insertions_match_a_fresh_upstream_render(tmp_path: Path) -> None:
    """Inserting dropped papers gives the digest upstream would have written with them."""
    papers = [
        FakePaper(f"2601.0000{i}", category=cat, fields=dict(NEW))
        for i, cat in enumerate(["cs.CL", "cs.LG", "cs.CL", "cs.CL", "cs.LG", "cs.AI"], start=1)
    ]
    crawl = read_crawl(crawl_of(tmp_path, papers))
    for kept in ([0, 1], [1, 2], [0, 1, 4], [3]):
        document = MarkdownDigest.parse(tmp_path / "d.md", markdown([papers[i] for i in kept]))
        for paper in reversed(crawl.dropped(document)):  # the order of completion does not matter
            document.insert_paper(paper, NEW, crawl.order)
        sections = list(dict.fromkeys(papers[i].category for i in kept))
        sections += [p.category for p in papers if p.category not in sections]
        expected = markdown(sorted(papers, key=lambda p: sections.index(p.category)))
        assert document.render().decode() == expected, kept


def test_jsonl_insertion_keeps_style_bom_and_missing_final_newline(tmp_path: Path) -> None:
    papers = [FakePaper(f"2601.0000{i}", title=f"Título {i}") for i in range(1, 4)]
    crawl = read_crawl(crawl_of(tmp_path, papers))
    text = "\ufeff" + jsonl([papers[1]], ensure_ascii=False).rstrip("\n")
    document = JsonlDigest.parse(tmp_path / "e.jsonl", text)
    for paper in crawl.dropped(document):
        document.insert_paper(paper, NEW, crawl.order)
    out = document.render().decode()
    assert out.startswith("\ufeff{") and not out.endswith("\n")
    lines = out.removeprefix("\ufeff").split("\n")
    assert lines[1] == text.removeprefix("\ufeff")
    assert [json.loads(line)["id"] for line in lines] == ["2601.00001", "2601.00002", "2601.00003"]
    assert "Título 1" in lines[0]  # ensure_ascii=False, like the file


def test_jsonl_insertion_uses_the_legacy_task_key_where_the_file_does(tmp_path: Path) -> None:
    papers = [FakePaper("2601.00001"), FakePaper("2601.00002")]
    crawl = read_crawl(crawl_of(tmp_path, papers))
    text = jsonl(papers[:1]).replace('"tldr"', '"task"')
    document = JsonlDigest.parse(tmp_path / "e.jsonl", text)
    document.insert_paper(crawl.papers[1], NEW, crawl.order)
    new = json.loads(document.render().decode().splitlines()[1])
    assert list(new["AI"]) == ["task", *FIELDS[1:]]


def test_restore_into_the_upstream_day(server: str, shared: Path, tmp_path: Path) -> None:
    """The real upstream markup: its spacing, its final newline, a new section at the end."""
    enhanced = shared / "upstream" / "2026-04-15_AI_enhanced_Chinese.jsonl"
    records = [json.loads(line) for line in enhanced.read_text(encoding="utf-8").splitlines()]
    for record in records:
        del record["AI"]
    extra = [
        dict(records[50], id="2604.99990", title="Dropped in the middle"),
        dict(records[0], id="2604.99991", title="Dropped first", categories=["q-bio.NC", "cs.LG"]),
        dict(records[208], id="2604.99992", title="Dropped last"),
    ]
    crawl = [extra[1], *records[:51], extra[0], *records[51:], extra[2]]
    plain, restored = tmp_path / "plain", tmp_path / "restored"
    for folder in (plain, restored):
        folder.mkdir()
        for name in ("2026-04-15.md", enhanced.name):
            shutil.copyfile(shared / "upstream" / name, folder / name)
        (folder / "2026-04-15.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in crawl), encoding="utf-8"
        )
    assert repair(plain, "--no-cache") == 0
    assert repair(restored, "--restore-dropped", "--no-cache") == 0
    assert calls(server) == 3 + 3 + 3

    check_digest(restored / "2026-04-15.md", [r["id"] for r in crawl])
    assert [json.loads(line)["id"] for line in (restored / enhanced.name).read_text().splitlines()] == [
        r["id"] for r in crawl
    ]
    text = (restored / "2026-04-15.md").read_text(encoding="utf-8")
    assert text.endswith("</details>\n") and "- [q-bio.NC](#q-bio.NC) [Total: 1]\n\n\n<div id='cs.CV'>" in text
    assert undo(text, ["2604.99990", "2604.99992"], ["q-bio.NC"]) == (plain / "2026-04-15.md").read_text(
        encoding="utf-8"
    )
    plain_lines = (plain / enhanced.name).read_text(encoding="utf-8").splitlines(keepends=True)
    restored_lines = (restored / enhanced.name).read_text(encoding="utf-8").splitlines(keepends=True)
    assert [line for line in restored_lines if '"2604.9999' not in line[:20]] == plain_lines


def test_each_file_reports_its_own_index(server: str, tmp_path: Path) -> None:
    """A day's .md numbers papers by section, its .jsonl by line: the report says each."""
    papers = [
        failed(FakePaper("2601.00001", category="cs.CL")),
        FakePaper("2601.00002", category="cs.LG"),
        failed(FakePaper("2601.00003", category="cs.CL")),
    ]
    (tmp_path / "2026-01-02.md").write_text(markdown(papers))  # cs.CL: [1] 00001, [2] 00003
    (tmp_path / "2026-01-02_AI_enhanced_Chinese.jsonl").write_text(jsonl(papers))
    assert repair(tmp_path, "--no-cache", "--report", tmp_path / "r.json") == 0
    files = {Path(f["path"]).suffix: f for f in json.loads((tmp_path / "r.json").read_text())["files"]}
    assert {r["id"]: r["index"] for r in files[".md"]["results"]} == {"2601.00001": 1, "2601.00003": 2}
    assert {r["id"]: r["index"] for r in files[".jsonl"]["results"]} == {"2601.00001": 1, "2601.00003": 3}


def test_a_broken_entry_header_does_not_stop_a_restore(tmp_path: Path) -> None:
    """Which papers a file lacks is unknown while one entry's id cannot be read: the failed
    fields are still repaired, but nothing is restored (it could be that very entry)."""
    copy = tmp_path / "data-copy"
    shutil.copytree(DATA, copy)
    md = copy / "2026-01-15.md"
    text = md.read_text(encoding="utf-8")
    first = text.index("### [1] ")
    broken = text[:first] + "### [1] A title whose link was lost\n" + text[text.index("\n", first) + 1 :]
    md.write_text(broken, encoding="utf-8")
    code = main(
        ["repair", "-q", str(md), "--restore-dropped", "--provider", "extractive", "--report", str(tmp_path / "r.json")]
    )
    assert code == 2  # reported, and nothing restored where presence is unknown
    after = load(md)
    assert "### [1] A title whose link was lost\n" in md.read_text(encoding="utf-8")
    assert after.find("2601.10318") == [] and not any(p.failed_fields for p in after.papers)
    errors = json.loads((tmp_path / "r.json").read_text())["files"][0]["errors"]
    assert any("cannot be read" in e["message"] and e["line"] == 14 for e in errors)
