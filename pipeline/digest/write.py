"""Write repaired digests: atomically in place, as copies in another folder, or as a diff.

In place means a temporary file in the same folder, fsync, then ``os.replace``: a reader
(or a crash, or SIGKILL) sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import InputError


def write_atomic(path: Path, data: bytes, *, backup: bool = False, expected: bytes | None = None) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its permission bits.

    With ``expected`` (the bytes the run read), a file that changed on disk meanwhile, say
    rewritten by the upstream job, is left alone rather than overwritten with stale text.
    """
    path = Path(os.path.realpath(path))  # through a symbolic link: replace the file it names
    if expected is not None and path.read_bytes() != expected:
        raise InputError(path, "changed on disk since it was read; not written (run again)")
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    if backup and path.exists():
        _copy_atomic(path, path.with_name(path.name + ".bak"))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _copy_atomic(source: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copy2(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def unified_diff(path: Path, before: bytes, after: bytes) -> str:
    """The change as ``diff -u`` shows it, for ``--dry-run``."""
    old = before.decode("utf-8").splitlines(keepends=True)
    new = after.decode("utf-8").splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))


def output_path(path: Path, root: Path | None, out_dir: Path) -> Path:
    """Where ``--out DIR`` puts a repaired copy: the same path relative to its input root."""
    if root is not None:
        return out_dir / path.relative_to(root)
    return out_dir / path.name
