"""The ``digest-repair`` command line: parse flags, call the library, print, exit.

Every command returns its exit code; library errors are printed as one line
(``Kind: message``) unless ``DIGEST_REPAIR_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .errors import DigestRepairError, UsageError
from .placeholders import PlaceholderMatcher
from .scan import FileScan, exit_code, scan_paths, totals
from .thresholds import DEFAULT_THRESHOLDS, Thresholds

EXIT_USAGE = 2


def _add_detection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--placeholder", action="append", default=[], metavar="TEXT",
        help="also treat a field whose whole value is TEXT as failed (repeatable)",
    )
    parser.add_argument(
        "--threshold", action="append", default=[], metavar="NAME=VALUE",
        help="tune a detector/validator threshold (repeatable; see README)",
    )


def _thresholds(args: argparse.Namespace) -> Thresholds:
    try:
        return DEFAULT_THRESHOLDS.with_overrides(args.threshold)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _print_errors(scan: FileScan) -> None:
    for error in scan.errors + scan.warnings:
        where = f"{scan.path}:{error['line']}" if error.get("line") else scan.path
        print(f"{where}: {error['level']}: {error['message']}", file=sys.stderr)


def _print_scan_text(scan: FileScan) -> None:
    if scan.format is None:
        return
    print(f"{scan.path} ({scan.format}, {scan.papers} papers, {scan.language}): "
          f"{len(scan.failed)} failed, {len(scan.suspect)} suspect fields")
    for item in scan.failed:
        print(f"  [{item['index']}] {item['id']}  {item['title'][:70]}  -> {', '.join(item['fields'])}")
    for item in scan.suspect:
        print(f"  suspect [{item['index']}] {item['id']}  {item['field']} is {item['language']}")


def cmd_scan(args: argparse.Namespace) -> int:
    matcher = PlaceholderMatcher(args.placeholder)
    scans = []
    for scan in scan_paths(args.paths, matcher, _thresholds(args)):
        _print_errors(scan)
        if not args.json:
            _print_scan_text(scan)
        scans.append(scan)
    summary = totals(scans)
    if args.json:
        json.dump({"files": [s.as_dict() for s in scans], "totals": summary}, sys.stdout,
                  ensure_ascii=False, indent=2)
        print()
    else:
        print(f"Total: {summary['files']} files, {summary['papers']} papers, "
              f"{summary['failed_papers']} failed papers ({summary['failed_fields']} fields), "
              f"{summary['suspect_fields']} suspect fields, {summary['errors']} errors")
    return exit_code(scans)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest-repair",
        description="Find and regenerate failed AI summaries in daily arXiv digests.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser("scan", help="list papers whose AI fields failed",
                          description="List papers whose AI fields failed, per file, then totals. "
                                      "Exit 0 nothing failed, 1 some failed, 2 unreadable input.")
    scan.add_argument("paths", nargs="+", metavar="PATH", help="digest files or folders")
    scan.add_argument("--json", action="store_true", help="print one JSON document")
    _add_detection_flags(scan)
    scan.set_defaults(func=cmd_scan)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except DigestRepairError as exc:
        if os.environ.get("DIGEST_REPAIR_DEBUG"):
            raise
        print(f"{exc.kind}: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_USAGE)
    except KeyboardInterrupt:
        print("Interrupted", file=sys.stderr)
        return 130
