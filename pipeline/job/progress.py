"""Progress on stderr: a tqdm bar on a terminal, plain log lines in cron and CI logs."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

from .report import PaperResult


class Progress:
    """Counts papers as they finish; tqdm draws the bar, so this only feeds it numbers."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self._stream = stream or sys.stderr
        self._tty = enabled and self._stream.isatty()
        self._quiet = not enabled
        self._bar: tqdm | None = None
        self.done = self.repaired = self.failed = self.tokens = 0
        self.total = 0

    def add_total(self, count: int) -> None:
        self.total += count
        if self._tty:
            if self._bar is None:
                self._bar = tqdm(total=0, file=self._stream, unit="paper", dynamic_ncols=True)
            self._bar.total = self.total
            self._bar.refresh()

    def paper_done(self, result: PaperResult) -> None:
        """Count a paper as it finishes. A paper that was not attempted (a budget, a stop,
        a batch it waits in, a paper given up on) leaves the count instead: the counter
        then climbs one by one in the order papers finish, and the closing lines sum up
        the others."""
        if result.outcome in ("skipped", "pending"):
            self.total -= 1
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()
            return
        self.done += 1
        self.repaired += result.outcome in ("repaired", "cached")
        self.failed += result.outcome == "failed"
        self.tokens += result.usage.total
        if self._bar is not None:
            self._bar.set_postfix(repaired=self.repaired, failed=self.failed, tokens=self.tokens, refresh=False)
            self._bar.update(1)
        elif not self._quiet:
            reasons = f" ({', '.join(result.reasons)})" if result.reasons else ""
            print(f"[{self.done}/{self.total}] {result.id} {result.outcome}{reasons}", file=self._stream)

    def note(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=self._stream)
        elif not self._quiet:
            print(message, file=self._stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
