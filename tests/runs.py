"""Running the CLI against the loopback server, shared by the end-to-end tests."""

from __future__ import annotations

from pipeline.cli import main
from pipeline.devserver.server import fetch_stats


def calls(url: str) -> int:
    """Chat requests the loopback server has answered so far."""
    return int(fetch_stats(url)["total"])


def repair(*args: object) -> int:
    """``digest-repair repair --quiet ARGS...``; returns the exit code."""
    return main(["repair", "--quiet", *map(str, args)])
