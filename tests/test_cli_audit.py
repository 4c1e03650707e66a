"""``digest-repair audit`` as users and scripts run it."""

from __future__ import annotations

import json
from pathlib import Path

from digest_factory import FakePaper, failed, markdown

from pipeline.cli import main


def test_audit_json_lists_suspects_and_exits_1(tmp_path: Path, capsys) -> None:
    invented = FakePaper("2601.00002")
    invented.fields["result"] = "实验表明 FooNet 的性能提升了 87%。"  # neither FooNet nor 87% is in the abstract
    path = tmp_path / "d.md"
    path.write_text(markdown([FakePaper("2601.00001"), invented, failed(FakePaper("2601.00003"))]))
    assert main(["audit", "--json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    (file,) = report["files"]
    assert file["papers"] == 3
    (suspect,) = file["suspect"]
    assert (suspect["id"], suspect["index"]) == ("2601.00002", 2)
    assert {(p["field"], p["code"]) for p in suspect["problems"]} == {("result", "terms"), ("result", "numbers")}
    assert report["totals"] == {"papers": 3, "suspect_papers": 1, "by_code": {"numbers": 1, "terms": 1}}


def test_clean_digest_exits_0_and_unreadable_input_exits_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "d.md"
    path.write_text(markdown([FakePaper("2601.00001")]))
    assert main(["audit", str(path)]) == 0
    assert "0 of 1 papers suspect" in capsys.readouterr().out
    assert main(["audit", str(path), str(tmp_path / "missing.md")]) == 2
    assert f"{tmp_path / 'missing.md'}: no such file" in capsys.readouterr().err


def test_threshold_flag_tunes_the_checks(tmp_path: Path, capsys) -> None:
    paper = FakePaper("2601.00001")
    paper.fields["conclusion"] = paper.fields["result"]  # a repeated field
    path = tmp_path / "d.md"
    path.write_text(markdown([paper]))
    assert main(["audit", "--json", str(path)]) == 1
    assert "duplicate" in capsys.readouterr().out
    assert main(["audit", "--threshold", "duplicate_similarity=1.01", str(path)]) == 0
