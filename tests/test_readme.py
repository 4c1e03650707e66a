"""The README documents every flag users can pass (help text and README must not drift)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pipeline.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(_subparsers()))
def test_every_flag_is_in_the_readme(command: str) -> None:
    flags = {
        option
        for action in _subparsers()[command]._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    missing = sorted(flag for flag in flags if not re.search(rf"{re.escape(flag)}\b", README))
    assert not missing, f"README does not mention {command} {' '.join(missing)}"
