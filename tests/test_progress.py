"""Progress output: a bar on a terminal, one plain line per paper in logs."""

from __future__ import annotations

import io

from pipeline.contracts import Usage
from pipeline.job.progress import Progress
from pipeline.job.report import PaperResult


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def result(outcome: str, reasons: list[str] | None = None) -> PaperResult:
    r = PaperResult("2601.00001", 1, "T", ("tldr",), outcome=outcome, reasons=reasons or [])
    r.usage = Usage(100, 20)
    return r


def test_log_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    progress.add_total(2)
    progress.paper_done(result("repaired"))
    progress.paper_done(result("failed", ["numbers"]))
    progress.close()
    assert stream.getvalue().splitlines() == ["[1/2] 2601.00001 repaired", "[2/2] 2601.00001 failed (numbers)"]


def test_bar_on_a_terminal_counts_repaired_failed_and_tokens() -> None:
    stream = Terminal()
    progress = Progress(stream)
    progress.add_total(2)
    progress.paper_done(result("repaired"))
    progress.paper_done(result("failed"))
    progress.close()
    out = stream.getvalue()
    assert "2/2" in out and "repaired=1" in out and "failed=1" in out and "tokens=240" in out
    assert "[1/2]" not in out


def test_quiet_prints_nothing() -> None:
    stream = Terminal()
    progress = Progress(stream, enabled=False)
    progress.add_total(1)
    progress.paper_done(result("repaired"))
    progress.note("hello")
    progress.close()
    assert stream.getvalue() == ""


def test_papers_not_attempted_leave_the_count_so_it_climbs_one_by_one() -> None:
    """A budget skips papers while others are in flight: they must not make the counter jump."""
    stream = io.StringIO()
    progress = Progress(stream)
    progress.add_total(4)
    progress.paper_done(result("repaired"))
    progress.paper_done(result("skipped", ["budget"]))
    progress.paper_done(result("skipped", ["budget"]))
    progress.paper_done(result("failed", ["numbers"]))
    progress.close()
    assert stream.getvalue().splitlines() == ["[1/4] 2601.00001 repaired", "[2/2] 2601.00001 failed (numbers)"]
