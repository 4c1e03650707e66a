"""The ``digest-repair`` command line: parse flags, call the library, print, exit.

Every command returns its exit code; library errors are printed as one line
(``Kind: message``) unless ``DIGEST_REPAIR_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import logging
import os
import re
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from . import __version__
from .detect.language import LANGUAGE_ALIASES, normalize_language
from .detect.scan import FileScan, GaveUp, by_day, day_totals, exit_code, scan_paths, totals
from .devserver.server import add_arguments as add_devserver_arguments
from .devserver.server import config_from_args, serve
from .digest.crawl import crawl_path, day_files
from .digest.document import Paper
from .digest.fields import FIELDS, parse_field_list
from .digest.loader import iter_documents, load
from .digest.placeholders import PlaceholderMatcher
from .digest.write import write_atomic
from .errors import EXIT_CODES_HELP, DigestRepairError, Exit, InputError, UsageError
from .generate.batch import MAX_REQUESTS, BatchClient
from .generate.cache import GenerationCache
from .generate.embeddings import GROUNDING_CHOICES
from .generate.openai_provider import OpenAIProvider
from .generate.providers import PROVIDERS, ProviderSetup, choose_provider
from .generate.settings import RESPONSE_FORMATS, build_settings
from .job.batches import Batches
from .job.progress import Progress
from .job.repair import DEFAULT_GIVE_UP_AFTER, Output, RepairJob, RepairOptions
from .job.report import RunReport
from .thresholds import DEFAULT_THRESHOLDS, Thresholds
from .validate.audit import audit_document, audit_exit_code, audit_totals
from .validate.validator import Validator, build_grounder


def _add_detection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--placeholder",
        action="append",
        default=[],
        metavar="TEXT",
        help="also treat a field whose whole value is TEXT as failed (repeatable)",
    )
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
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
    print(
        f"{scan.path} ({scan.format}, {scan.papers} papers, {scan.language}): "
        f"{len(scan.failed)} failed, {len(scan.suspect)} suspect fields"
    )
    for item in scan.failed:
        gave_up = item.get("gave_up")
        note = f"  (gave up after {gave_up['nights']} nights: {', '.join(gave_up['reasons'])})" if gave_up else ""
        print(f"  [{item['index']}] {item['id']}  {item['title'][:70]}  -> {', '.join(item['fields'])}{note}")
    by_paper: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for item in scan.suspect:
        by_paper.setdefault((item["index"], item["id"]), []).append(item)
    for (index, arxiv_id), items in by_paper.items():
        fields = ", ".join(item["field"] for item in items)
        print(f"  suspect [{index}] {arxiv_id}  {fields} in {items[0]['language']}, not {items[0]['expected']}")
    if scan.dropped is None:
        crawl = crawl_path(Path(scan.path))
        if crawl is None or not crawl.exists():
            beside = f"no crawl file {crawl.name} beside it" if crawl else "its name gives no day"
            print(f"  dropped papers not checked: {beside}")
        else:
            print(f"  dropped papers not checked: the crawl file {crawl.name} is unusable (see above)")
    elif scan.dropped:
        print(f"  {len(scan.dropped)} dropped (in the crawl {Path(scan.crawl or '').name}, not here):")
        for item in scan.dropped:
            print(f"  dropped {item['id']}  {item['title'][:70]}  ({item['category']})")


def _print_day(day: dict[str, Any]) -> None:
    """A day's counts, each paper once, before the files that share them."""
    print(
        f"day {day['day']} ({len(day['files'])} files, {day['papers']} papers): {day['failed_papers']} failed "
        f"({day['failed_fields']} fields), {day['dropped_papers']} dropped; each paper counted once, files below"
    )


def _gave_up_lookup(args: argparse.Namespace) -> tuple[GaveUp | None, GenerationCache | None]:
    """What the repair cache remembers of papers it gave up on (nothing without a cache)."""
    path = _cache_path(args)
    if args.no_cache or not path.is_file():
        return None, None
    try:
        cache = GenerationCache(path, readonly=True)
    except sqlite3.Error as exc:
        print(f"warning: cannot read the cache {path}: {exc}; gave_up papers not shown", file=sys.stderr)
        return None, None

    def lookup(paper: Paper) -> dict[str, Any] | None:
        found = [f for f in cache.failures_of(paper.id, paper.title, paper.abstract) if f.nights >= args.give_up_after]
        return found[0].as_dict() if found and args.give_up_after else None

    return lookup, cache


def cmd_scan(args: argparse.Namespace) -> int:
    matcher = PlaceholderMatcher(args.placeholder)
    gave_up, cache = _gave_up_lookup(args)
    scans, days = [], []
    try:
        for group in by_day(scan_paths(args.paths, matcher, _thresholds(args), gave_up)):
            day = day_totals(group)
            for scan in group:
                _print_errors(scan)
            if not args.json:
                if len(group) > 1:
                    _print_day(day)
                for scan in group:
                    _print_scan_text(scan)
            scans += group
            days.append(day)
    finally:
        if cache is not None:
            cache.close()
    summary = totals(scans)
    if args.json:
        document = {"files": [s.as_dict() for s in scans], "days": days, "totals": summary}
        json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(
            f"Total: {summary['files']} files ({summary['days']} days), {summary['papers']} papers, "
            f"{summary['failed_papers']} failed papers ({summary['failed_fields']} fields), "
            f"{summary['suspect_fields']} suspect fields, {summary['dropped_papers']} dropped papers, "
            f"{summary['gave_up']} given up, {summary['errors']} errors (papers counted once per day)"
        )
    return exit_code(scans)


# Flags that map one-to-one onto LLMSettings (flag beats environment beats default).
_LLM_FLAGS = {
    "base_url": ("--base-url", str, "OpenAI-compatible endpoint (env OPENAI_BASE_URL)"),
    "model": ("--model", str, "model name (env MODEL_NAME)"),
    "timeout_s": ("--timeout", float, "seconds per request"),
    "extra_body": ("--extra-body", str, 'JSON merged into every request, e.g. \'{"thinking": {"type": "disabled"}}\''),
    "attempts": ("--attempts", int, "HTTP attempts per request (429/5xx/timeouts are retried)"),
    "max_wait_s": ("--max-wait", float, "total seconds of retry back-off per request"),
    "max_reasks": ("--max-reasks", int, "re-asks after an answer fails validation"),
    "max_tokens": ("--max-tokens", int, "completion token limit per request"),
    "concurrency": ("--concurrency", int, "requests in flight across all files (default 8)"),
    "examples": ("--examples", int, "good papers of the same digest shown as style examples (default 2)"),
    "rpm": ("--rpm", float, "client-side limit of requests per minute, paced evenly (env DIGEST_REPAIR_RPM)"),
    "embeddings_model": ("--embeddings-model", str, "the model of --grounding api (env EMBEDDINGS_MODEL)"),
    "max_consecutive_failures": (
        "--max-consecutive-failures",
        int,
        "stop the run (exit 3) after N papers in a row failed for the same transport reason (default 3; 0: never)",
    ),
}


def _add_grounding_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grounding",
        choices=GROUNDING_CHOICES,
        help="check that each summary is about its own paper: embedded models (the grounding extra), "
        "the server's /v1/embeddings (api), or off (env DIGEST_REPAIR_GROUNDING; default auto: "
        "embedded when installed)",
    )


def _grounding_choice(args: argparse.Namespace) -> str:
    """Flag beats environment beats ``auto``."""
    return str(args.grounding or os.environ.get("DIGEST_REPAIR_GROUNDING", "").strip() or "auto")


def _add_generation_flags(parser: argparse.ArgumentParser) -> None:
    _add_grounding_flags(parser)
    group = parser.add_argument_group("model")
    group.add_argument(
        "--provider",
        choices=PROVIDERS,
        help="openai (default when OPENAI_API_KEY is set) or the offline extractive provider",
    )
    group.add_argument(
        "--fallback", choices=["extractive"], help="write extractive fields for papers the model gave up on"
    )
    group.add_argument("--mark-extractive", action="store_true", help="prefix extractive fields with [extractive]")
    group.add_argument(
        "--response-format",
        choices=RESPONSE_FORMATS,
        help="force a response mode (default auto: json_schema, then json_object, then text)",
    )
    group.add_argument("--language", help="target language (env LANGUAGE; default: the digest's own)")
    for name, (flag, kind, text) in _LLM_FLAGS.items():
        group.add_argument(flag, dest=name, type=kind, help=text)
    run = parser.add_argument_group("run")
    _add_cache_flags(run)
    run.add_argument(
        "--lock-timeout",
        dest="lock_timeout_s",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run on the same folder or cache (default 0: stop at once, exit 3)",
    )
    run.add_argument(
        "--report", type=Path, metavar="FILE.json", help="write the run report (schemas/report.schema.json)"
    )
    run.add_argument("--verbose", "-v", action="store_true", help="log every request and response (never the key)")
    run.add_argument("--quiet", "-q", action="store_true", help="print only what needs attention")
    out = parser.add_argument_group("output")
    out.add_argument("--dry-run", action="store_true", help="print a unified diff, write nothing")
    out.add_argument("--out", type=Path, metavar="DIR", help="write repaired copies into DIR instead of in place")
    out.add_argument("--backup", action="store_true", help="keep FILE.bak when writing in place")
    _add_detection_flags(parser)


def _cache_path(args: argparse.Namespace) -> Path:
    default = Path(user_cache_dir("digest-repair")) / "cache.sqlite"
    path: Path = args.cache or Path(os.environ.get("DIGEST_REPAIR_CACHE") or default)
    return path


def _add_cache_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--cache",
        type=Path,
        metavar="PATH",
        help="SQLite cache of accepted answers and failures (env DIGEST_REPAIR_CACHE; default in the user cache dir)",
    )
    group.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def _add_give_up_flag(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--give-up-after",
        type=int,
        default=DEFAULT_GIVE_UP_AFTER,
        metavar="N",
        help=f"skip a paper the model failed on for N nights until its abstract, model or prompt changes "
        f"(default {DEFAULT_GIVE_UP_AFTER}; 0: never)",
    )


def _cache(args: argparse.Namespace) -> GenerationCache | None:
    """The cache, also in ``--dry-run``: what it holds costs nothing and shows in the diff."""
    if args.no_cache:
        return None
    path = _cache_path(args)
    try:
        return GenerationCache(path)
    except (OSError, sqlite3.Error) as exc:
        raise UsageError(f"cannot open the cache {path}: {exc}") from None


def _language_from_environment() -> str | None:
    """The upstream pipeline's ``LANGUAGE`` (e.g. ``Chinese``). The same variable is GNU
    gettext's locale list (``en_US:en`` on many systems): only a plain name counts."""
    value = os.environ.get("LANGUAGE", "").strip()
    if not value:
        return None
    known = normalize_language(value) in LANGUAGE_ALIASES.values()
    if not known and not re.fullmatch(r"[A-Z][a-z]{2,}", value):
        print(f"warning: ignoring LANGUAGE={value!r} (a locale list, not a language name)", file=sys.stderr)
        return None
    return value


def _output(args: argparse.Namespace, *, print_only: bool = False) -> Output:
    if sum(map(bool, (args.dry_run, args.out, print_only))) > 1:
        raise UsageError("choose one of --dry-run, --out and --print")
    if args.dry_run:
        return Output("dry-run")
    if print_only:
        return Output("none")
    if args.out:
        return Output("out", out_dir=args.out)
    return Output("in-place", backup=args.backup)


# Flags of `repair` that `regen` does not have; their defaults are RepairOptions'.
_RUN_FLAGS = (
    "batch",
    "wait",
    "max_papers",
    "max_total_tokens",
    "grace_s",
    "restore_dropped",
    "fix_language",
    "give_up_after",
    "retry_failed",
)


def _run_job(args: argparse.Namespace, paths: list[str], output: Output, **regen: Any) -> tuple[RunReport, list[str]]:
    """Build settings, provider, validator and cache from flags; run; write the report.

    Returns the report and the notes already printed when the run began.
    """
    if args.report:  # before any paid call: a run must not end without its report
        try:
            args.report.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write the report {args.report}: {exc.strerror or exc}") from None
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    settings = build_settings(
        {name: getattr(args, name) for name in _LLM_FLAGS} | {"response_format": args.response_format}
    )
    setup = choose_provider(args.provider, settings, fallback=args.fallback, mark_extractive=args.mark_extractive)
    thresholds = _thresholds(args)
    matcher = PlaceholderMatcher(args.placeholder)
    # The offline provider is deterministic and free: there is nothing worth caching.
    cache = None if setup.provider.name == "extractive" else _cache(args)
    # The offline provider copies the paper's own sentences: there is no meaning to check.
    choice = _grounding_choice(args)
    grounding = "off" if setup.provider.name == "extractive" and choice == "auto" else choice
    grounder, grounding_notice = build_grounder(grounding, settings, cache)
    given = {name: getattr(args, name) for name in _RUN_FLAGS if getattr(args, name, None) is not None}
    options = RepairOptions(
        concurrency=settings.concurrency,
        language=args.language or _language_from_environment(),
        examples=settings.examples,
        output=output,
        lock_timeout_s=args.lock_timeout_s,
        batch_rounds=1 + settings.max_reasks,
        **given,
        **regen,
    )
    report = RunReport(setup.provider.name, setup.provider.model, setup.provider.prompt_version, __version__)
    progress = Progress(enabled=not args.quiet)
    for note in setup.notes:
        print(note, file=sys.stderr)
        report.notes.append(note)
    if grounding_notice:
        report.notes.append(grounding_notice)
        if not args.quiet:  # cron would mail it every night
            print(grounding_notice, file=sys.stderr)
    job = RepairJob(
        setup.provider,
        options=options,
        report=report,
        validator=Validator(thresholds, matcher, grounding=grounder or "off"),
        matcher=matcher,
        cache=cache,
        fallback=setup.fallback,
        progress=progress,
        gate=setup.gate,
        batches=_batches(setup, cache, progress, batch=options.batch),
    )

    async def run() -> RunReport:
        try:
            return await job.run(paths)
        finally:
            if setup.client is not None:
                await setup.client.aclose()

    try:
        asyncio.run(run())
    finally:
        if cache is not None:
            cache.close()
    if args.report:
        try:
            write_atomic(args.report, (json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n").encode())
        except OSError as exc:
            raise UsageError(f"cannot write the report {args.report}: {exc.strerror or exc}") from None
    return report, setup.notes


def _batches(setup: ProviderSetup, cache: GenerationCache | None, progress: Progress, *, batch: bool) -> Batches | None:
    """Batch state lives in the cache and speaks to the model's server: both are needed to
    submit (--batch) and, in every run that has them, to collect finished batches."""
    usable = isinstance(setup.provider, OpenAIProvider) and setup.client is not None and cache is not None
    if batch and not usable:
        raise UsageError("--batch needs a model (--provider openai with OPENAI_API_KEY) and the cache (not --no-cache)")
    if not usable:
        return None
    assert isinstance(setup.provider, OpenAIProvider) and setup.client is not None and cache is not None
    return Batches(BatchClient(setup.client), setup.provider, cache, progress)


def _print_summary(report: RunReport, shown: Sequence[str] = (), *, quiet: bool = False) -> None:
    """The closing table on stderr; ``shown`` are notes already printed when the run began.
    ``quiet`` leaves only what needs attention (cron mails nothing on a good night)."""
    if not quiet:
        _print_table(report)
        for note in report.notes:
            if note not in shown:
                print(f"  note: {note}", file=sys.stderr)
    if report.dry_run:  # what the real run would do and cost: the point of a dry run
        _print_plan(report)
    _print_problems(report)


def _print_plan(report: RunReport) -> None:
    t = report.totals()
    touched = sorted({f.path for f in report.files if any(r.outcome in ("planned", "cached", "repaired")
                                                          for _, r in f.results)})  # fmt: skip
    print(
        f"dry run: {t['planned']} paper(s) to generate, about {t['estimate']['prompt']:,} prompt + "
        f"{t['estimate']['completion']:,} completion tokens for the first request of each (re-asks cost more); "
        f"{t['cached']} from the cache, {t['gave_up']} given up; {len(touched)} file(s) would change",
        file=sys.stderr,
    )
    if report.billing == "batch":
        print(
            f"  as batches: {t['planned']} request(s) in {-(-t['planned'] // MAX_REQUESTS)} input file(s) or more, "
            "billed at the provider's batch rate (half the live price at OpenAI)",
            file=sys.stderr,
        )
    for path in touched:
        print(f"  would change: {path}", file=sys.stderr)


def _print_table(report: RunReport) -> None:
    t = report.totals()
    rows = [
        ("files", t["files"]),
        ("files written", t["files_written"]),
        ("papers to repair (once per day)", t["papers"]),
        ("repaired and written", t["repaired"]),
        ("restored (dropped papers inserted)", t["restored"]),
        ("from cache", t["cached"]),
        ("failed", t["failed"]),
        ("skipped", t["skipped"]),
        ("  of which given up", t["gave_up"]),
        ("accepted but not written", t["unwritten"]),
        ("planned (dry run)", t["planned"]),
        ("pending in batches", t["pending"]),
        ("fields written", t["fields_repaired"]),
        ("fields still failed", t["fields_failed"]),
        ("generations", t["generations"]),
        ("HTTP requests", t["requests"]),
        (
            "tokens (prompt/completion/cached)",
            f"{t['tokens']['prompt']}/{t['tokens']['completion']}/{t['tokens']['cached']}",
        ),
        ("seconds", t["seconds"]),
    ]
    print(f"digest-repair {report.provider} ({report.model}, prompt {report.prompt_version})", file=sys.stderr)
    for label, value in rows:
        print(f"  {label:<36} {value}", file=sys.stderr)


def _print_problems(report: RunReport) -> None:
    """Each paper that failed or was not written, then the skipped ones counted by reason
    (after an abort they are every paper left: one line, not hundreds), file errors, and
    after an abort the run's notes and its cause."""
    skipped: Counter[str] = Counter()
    for paper in report.papers:
        if paper.outcome in ("failed", "unwritten") or paper.reasons == ["gave_up"]:
            print(
                f"  {paper.outcome}: {paper.id} ({', '.join(paper.reasons)}) {paper.message or ''}".rstrip(),
                file=sys.stderr,
            )
        elif paper.outcome == "skipped":
            skipped.update(paper.reasons)
    for reason, count in sorted(skipped.items()):
        print(f"  skipped: {count} paper(s) ({reason})", file=sys.stderr)
    for file in report.files:
        for error in file.errors:
            where = f"{file.path}:{error['line']}" if error.get("line") else file.path
            print(f"  error: {where}: {error['message']}", file=sys.stderr)
    if report.aborted:  # what the run noted then matters too (the days it never read)
        for note in report.notes:
            print(f"  note: {note}", file=sys.stderr)
        print(f"  aborted: {report.aborted}", file=sys.stderr)


def cmd_repair(args: argparse.Namespace) -> int:
    if args.wait and not args.batch:
        raise UsageError("--wait goes with --batch")
    report, shown = _run_job(args, args.paths, _output(args))
    _print_summary(report, shown, quiet=args.quiet)
    return report.exit_code()


def cmd_regen(args: argparse.Namespace) -> int:
    document = load(args.file)
    if not document.find(args.id):
        ids = [p.id for p in document.papers]
        close = difflib.get_close_matches(args.id, ids, n=5, cutoff=0.5) or ids[:5]
        raise UsageError(f"{args.file}: no paper with id {args.id}; closest: {', '.join(close)}")
    try:
        fields = FIELDS if args.force else parse_field_list(args.fields) if args.fields else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    del document
    # One day, both files: the .md and its enhanced .jsonl hold the same paper.
    files = [str(path) for path in day_files(Path(args.file))]
    if fields is None and not any(p.failed_fields for path in files for p in load(path).find(args.id)):
        print(f"{args.id}: no failed fields; use --fields or --force to regenerate good ones", file=sys.stderr)
        return 0
    output = _output(args, print_only=args.print)
    # An explicit request for one paper: it is generated even if the nightly job gave up on it.
    report, shown = _run_job(args, files, output, ids=frozenset({args.id}), fields=fields, retry_failed=True)
    if args.print:
        for paper in report.papers:
            print(
                json.dumps(
                    {"id": paper.id, "outcome": paper.outcome, "fields": paper.new_fields, "reasons": paper.reasons},
                    ensure_ascii=False,
                    indent=2,
                )
            )
    else:
        _print_summary(report, shown, quiet=args.quiet)
    return report.exit_code()


def cmd_audit(args: argparse.Namespace) -> int:
    settings = build_settings({"embeddings_model": args.embeddings_model})
    grounder, notice = build_grounder(_grounding_choice(args), settings)
    if notice:
        print(notice, file=sys.stderr)
    if grounder is not None:  # the abstracts' vectors: kept, so a later audit or repair embeds them once
        grounder.store = _cache(args)
    validator = Validator(_thresholds(args), PlaceholderMatcher(args.placeholder), grounding=grounder or "off")
    language = args.language or _language_from_environment()
    files, unreadable = [], 0
    for document in iter_documents(args.paths):
        if isinstance(document, InputError):
            print(f"{document.kind}: {document}", file=sys.stderr)
            unreadable += 1
            continue
        result = audit_document(document, validator, normalize_language(language) if language else None)
        files.append(result)
        if not args.json:
            print(f"{result['path']}: {len(result['suspect'])} of {result['papers']} papers suspect")
            for paper in result["suspect"]:
                for problem in paper["problems"]:
                    print(
                        f"  [{paper['index']}] {paper['id']} {problem['field']}: {problem['code']}: "
                        f"{problem['message']}"
                    )
    summary = audit_totals(files)
    if args.json:
        json.dump({"files": files, "totals": summary}, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        codes = ", ".join(f"{code} {count}" for code, count in summary["by_code"].items()) or "none"
        print(f"Total: {summary['suspect_papers']} of {summary['papers']} papers suspect ({codes})")
    return audit_exit_code(files, unreadable)


def cmd_devserver(args: argparse.Namespace) -> int:
    try:
        serve(config_from_args(args), ready=lambda url: print(f"Serving an OpenAI-compatible API on {url}", flush=True))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _add_report_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    func: Callable[[argparse.Namespace], int],
    text: str,
    description: str,
) -> argparse.ArgumentParser:
    """A read-only command over digests: paths, ``--json``, and the detection flags."""
    parser = sub.add_parser(name, help=text, description=description, **_EXIT_EPILOG)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="digest files or folders")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    _add_detection_flags(parser)
    parser.set_defaults(func=func)
    return parser


# Every command's --help ends with the one exit-code table (errors.EXIT_CODES_HELP).
_EXIT_EPILOG: dict[str, Any] = {"epilog": EXIT_CODES_HELP, "formatter_class": argparse.RawDescriptionHelpFormatter}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest-repair",
        description="Find and regenerate failed AI summaries in daily arXiv digests.",
        **_EXIT_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = _add_report_command(
        sub,
        "scan",
        cmd_scan,
        "list papers whose AI fields failed",
        "List papers whose AI fields failed (and, where the day's crawl is beside a digest, "
        "papers it dropped), per day and file, then totals that count each paper once per day. "
        "Papers the repair job gave up on are marked, from its cache.",
    )
    remembered = scan.add_argument_group("failure memory (read from the repair cache)")
    _add_cache_flags(remembered)
    _add_give_up_flag(remembered)

    repair = sub.add_parser(
        "repair",
        help="regenerate the failed fields of every digest under PATH",
        description="Regenerate failed fields, validate them, and write the digests back (atomically, "
        "every other byte untouched). One run at a time per folder and cache.",
        **_EXIT_EPILOG,
    )
    repair.add_argument("paths", nargs="+", metavar="PATH", help="digest files or folders")
    budget = repair.add_argument_group("budget")
    budget.add_argument("--max-papers", type=int, help="stop scheduling new papers after N")
    budget.add_argument("--max-total-tokens", type=int, help="stop scheduling once this many tokens were used")
    budget.add_argument(
        "--grace",
        dest="grace_s",
        type=float,
        help="seconds in-flight calls may finish after SIGINT/SIGTERM (default 30)",
    )
    repair.add_argument(
        "--fix-language",
        action="store_true",
        help="also regenerate fields written in another language than the digest's (scan's suspects)",
    )
    repair.add_argument(
        "--restore-dropped",
        action="store_true",
        help="also insert the papers of the day's crawl (YYYY-MM-DD.jsonl beside the digest) "
        "that a digest lacks, with all five fields generated",
    )
    batch = repair.add_argument_group("batch mode (the provider's Batch API: within 24 h, at half the price)")
    batch.add_argument(
        "--batch",
        action="store_true",
        help="submit the papers as batches and return; a later run (batch or not) collects and writes them",
    )
    batch.add_argument("--wait", action="store_true", help="with --batch: wait for the batches, then write them")
    memory = repair.add_argument_group("failure memory")
    _add_give_up_flag(memory)
    memory.add_argument(
        "--retry-failed", action="store_true", help="generate papers the job gave up on too (their count goes on)"
    )
    _add_generation_flags(repair)
    repair.set_defaults(func=cmd_repair)

    regen = sub.add_parser(
        "regen",
        help="regenerate one paper",
        description="Regenerate one paper's failed fields (or --fields/--force for good ones) in every "
        "file of its day (the .md and its enhanced .jsonl).",
        **_EXIT_EPILOG,
    )
    regen.add_argument("file", metavar="FILE", help="a digest file")
    regen.add_argument("--id", required=True, metavar="ARXIV_ID", help="the paper's arXiv id")
    regen.add_argument("--fields", help=f"comma-separated fields to regenerate ({','.join(FIELDS)})")
    regen.add_argument("--force", action="store_true", help="regenerate all five fields, even good ones")
    regen.add_argument("--print", action="store_true", help="print the new fields as JSON; write nothing")
    _add_generation_flags(regen)
    regen.set_defaults(func=cmd_regen)

    audit = _add_report_command(
        sub,
        "audit",
        cmd_audit,
        "check the summaries a digest already has",
        "Run the validator's fidelity checks on the present (not failed) summaries and list suspect papers.",
    )
    audit.add_argument("--language", help="target language (env LANGUAGE; default: each digest's own)")
    _add_grounding_flags(audit)
    flag, kind, text = _LLM_FLAGS["embeddings_model"]
    audit.add_argument(flag, type=kind, help=text)
    _add_cache_flags(audit.add_argument_group("cache (the grounding check's vectors)"))

    devserver = sub.add_parser(
        "devserver",
        help="run a local OpenAI-compatible server for tests and rehearsals",
        description="A loopback /v1/chat/completions that answers from the request, with injectable "
        "latency, rate limits and faults. Counters at /_stats.",
    )
    add_devserver_arguments(devserver)
    devserver.set_defaults(func=cmd_devserver)
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
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("Interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:  # `digest-repair scan | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
