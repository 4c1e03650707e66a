"""The built wheel carries the prompts and schemas and finds them without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import pipeline

ROOT = Path(__file__).resolve().parents[1]


def test_lazy_exports_match_the_type_checking_imports() -> None:
    """pipeline/__init__.py lists each public name twice (lazy map, typed imports): in sync."""
    import ast

    tree = ast.parse((ROOT / "pipeline" / "__init__.py").read_text(encoding="utf-8"))
    typed = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for stmt in node.body
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
    }
    assert typed == set(pipeline.__all__) - {"__version__"}


def test_import_is_light() -> None:
    """Reading digests does not import the OpenAI SDK (scripts and scans start fast)."""
    code = "import sys, pipeline; pipeline.load; assert 'openai' not in sys.modules, 'openai imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_is_exported() -> None:
    assert set(pipeline.__all__) >= {"load", "Document", "Paper", "FIELDS", "DigestRepairError"}
    for name in pipeline.__all__:
        assert hasattr(pipeline, name), name


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed: {proc.stderr[-2000:]}")
    (path,) = out.glob("digest_repair-*.whl")
    return path


def test_wheel_contains_prompts_and_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        p.relative_to(ROOT).as_posix()
        for d in ("prompts", "schemas")
        for p in (ROOT / d).iterdir()
        if p.suffix in (".txt", ".json")
    }
    assert shipped, "no prompt or schema files in the checkout"
    for rel in shipped:
        assert f"pipeline/{rel}" in names, rel
    # The validator's data files: measures, two-letter abbreviations, clause endings, and
    # the grounding check's centering means.
    data_files = [*(ROOT / "pipeline" / "validate").glob("*.tsv"), *(ROOT / "pipeline" / "validate").glob("*.npz")]
    assert any(path.suffix == ".npz" for path in data_files)
    for data in sorted(data_files):
        assert f"pipeline/validate/{data.name}" in names, data.name


def test_installed_wheel_loads_resources_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        "import pipeline, pipeline.generate.resources as r;"
        "from importlib import resources;"
        "names = [p.name for p in resources.files('pipeline.schemas').iterdir() if p.name.endswith('.json')];"
        "assert names, names;"
        "[r.schema(n) for n in names];"
        "prompts = [p.name for p in resources.files('pipeline.prompts').iterdir() if p.name.endswith('.txt')];"
        "[r.prompt_text(n) for n in prompts];"
        "import pipeline.validate.measures as m, pipeline.validate.terms as t, pipeline.validate.endings as e;"
        "assert m.Glossary.load().mentions('准确率') and t.abbreviations()['KL'] and '能力' in e.clause_endings();"
        "print(pipeline.__file__, len(names), len(prompts))"
    )
    # -S: site-packages' .pth files (the editable install's finder) are not read, so only the
    # wheel can answer for `pipeline`; the dependencies come from site-packages by path.
    paths = sysconfig.get_paths()
    pythonpath = os.pathsep.join([str(target), paths["purelib"], paths["platlib"]])
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": pythonpath},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(str(target))


def test_readme_scripted_repair_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python example, with the offline provider, on the bundled sample."""
    import asyncio
    import shutil

    shutil.copytree(ROOT / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    provider = pipeline.ExtractiveProvider()
    report = pipeline.RunReport(provider.name, provider.model, provider.prompt_version, pipeline.__version__)
    job = pipeline.RepairJob(
        provider, report=report, options=pipeline.RepairOptions(output=pipeline.Output("out", out_dir=Path("out")))
    )
    asyncio.run(job.run(["data/"]))
    assert report.totals()["repaired"] == 5 and report.exit_code() == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "2026-01-15.md",
        "2026-01-15_AI_enhanced_Chinese.jsonl",
    ]
