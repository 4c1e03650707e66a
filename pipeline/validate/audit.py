"""Run the validator's checks on the summaries a digest already has.

Failed fields are the repair's business; audit looks at the others, which were accepted
once, and reports the papers whose summaries look wrong (invented numbers or names,
wrong language, broken markup, repeated fields). The CLI prints what these functions
build: one dict per file, the totals, and the exit code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ..detect.language import digest_language
from ..digest.document import Document
from ..errors import Exit
from .validator import DEFAULT_VALIDATOR, Validator


def audit_document(
    document: Document, validator: Validator = DEFAULT_VALIDATOR, language: str | None = None
) -> dict[str, Any]:
    """``{"path", "papers", "errors", "suspect": [{"id", "index", "problems": [...]}]}`` for one file.

    ``language`` is the target for files whose names (or day) do not name one.
    """
    target = digest_language(document, language)
    suspect = []
    day = f"audit:{document.path}"  # grounding compares each summary with the file's papers
    validator.ground_day(day, [(paper.title, paper.abstract) for paper in document.papers])
    try:
        for paper in document.papers:
            failed = set(paper.failed(validator.matcher))
            present = {n: value for n, value in paper.fields.items() if n not in failed and value is not None}
            if not present:
                continue
            problems = validator.check(paper.title, paper.abstract, target, present)
            if problems:
                suspect.append(
                    {"id": paper.id, "index": paper.index, "problems": [problem.as_dict() for problem in problems]}
                )
    finally:
        validator.forget_day(day)
    errors = [notice.as_dict() for notice in document.notices if notice.level == "error"]
    return {"path": str(document.path), "papers": len(document.papers), "errors": errors, "suspect": suspect}


def audit_totals(files: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"papers", "suspect_papers", "by_code"}`` over the per-file dicts."""
    papers = suspect = 0
    by_code: Counter[str] = Counter()
    for item in files:
        papers += item.get("papers", 0)
        suspect += len(item.get("suspect", ()))
        for paper in item.get("suspect", ()):
            # A paper counts once per code, however many of its fields share it.
            by_code.update({problem["code"] for problem in paper["problems"]})
    return {"papers": papers, "suspect_papers": suspect, "by_code": dict(sorted(by_code.items()))}


def audit_exit_code(files: Iterable[Mapping[str, Any]], unreadable: int = 0) -> int:
    """2 when a file (or an entry of one) could not be read, else 1 when any paper is
    suspect, else 0."""
    files = list(files)
    if unreadable or any(item.get("errors") for item in files):
        return Exit.INPUT
    return Exit.SOME_FAILED if any(item.get("suspect") for item in files) else Exit.OK
