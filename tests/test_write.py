"""The atomic writer: the old file or the new one, never a mix, never a stale overwrite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.digest.write import fingerprint, output_path, unified_diff, write_atomic
from pipeline.errors import InputError


def test_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_bytes(b"old")
    path.chmod(0o600)
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["d.md"]


def test_a_failure_before_the_rename_leaves_the_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.md"
    path.write_bytes(b"old")

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["d.md"]


def test_backup_keeps_the_previous_bytes(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_bytes(b"old")
    write_atomic(path, b"new", backup=True)
    assert (tmp_path / "d.md.bak").read_bytes() == b"old" and path.read_bytes() == b"new"


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_text("rewritten by the upstream job meanwhile")
    with pytest.raises(InputError, match="changed on disk"):
        write_atomic(path, b"repaired", expected=fingerprint(b"what the run read"))
    assert path.read_text() == "rewritten by the upstream job meanwhile"
    write_atomic(path, b"repaired", expected=fingerprint(b"rewritten by the upstream job meanwhile"))
    assert path.read_text() == "repaired"


def test_out_dir_mirrors_the_folder_layout(tmp_path: Path) -> None:
    root = tmp_path / "data"
    assert output_path(root / "2026" / "d.md", root, tmp_path / "out") == tmp_path / "out" / "2026" / "d.md"
    assert output_path(tmp_path / "x" / "d.md", None, tmp_path / "out") == tmp_path / "out" / "d.md"


def test_diff_shows_only_the_changed_line() -> None:
    diff = unified_diff(Path("d.md"), b"a\nTL;DR: Error\nc\n", b"a\nTL;DR: ok\nc\n")
    assert "-TL;DR: Error\n+TL;DR: ok\n" in diff and diff.startswith("--- a/d.md")


def test_writing_through_a_symbolic_link_replaces_the_linked_file(tmp_path: Path) -> None:
    (tmp_path / "pub").mkdir()
    real = tmp_path / "pub" / "d.md"
    real.write_bytes(b"old")
    link = tmp_path / "latest.md"
    link.symlink_to(real)
    write_atomic(link, b"new", expected=fingerprint(b"old"))
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_chunks_are_written_in_order(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    write_atomic(path, iter([b"a", b"", b"bc"]))
    assert path.read_bytes() == b"abc"


def test_a_read_only_file_is_refused_not_replaced(tmp_path: Path) -> None:
    """Its mode is the owner's no: even root, who could replace it, leaves it alone."""
    path = tmp_path / "d.md"
    path.write_bytes(b"old")
    path.chmod(0o444)
    inode = path.stat().st_ino
    with pytest.raises(InputError, match="read-only") as caught:
        write_atomic(path, b"new")
    assert caught.value.reason == "read_only"
    assert path.read_bytes() == b"old" and path.stat().st_ino == inode
    assert [p.name for p in tmp_path.iterdir()] == ["d.md"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_the_owner_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_bytes(b"old")
    os.chown(path, 1234, 5678)
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and (path.stat().st_uid, path.stat().st_gid) == (1234, 5678)


def test_a_file_whose_owner_cannot_be_kept_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replacing another user's file would take it over: refused (as a non-root user would be)."""
    path = tmp_path / "d.md"
    path.write_bytes(b"old")
    monkeypatch.setattr(os, "geteuid", lambda: path.stat().st_uid + 1)

    def refuse(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    with pytest.raises(InputError, match="change its owner"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["d.md"]
