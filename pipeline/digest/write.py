"""Write repaired digests: atomically in place, as copies in another folder, or as a diff.

In place means a temporary file in the same folder, fsync, then ``os.replace``: a reader
(or a crash, or SIGKILL) sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError

Chunks = Iterable[bytes]
_READ_CHUNK = 1 << 20


def fingerprint(data: bytes) -> str:
    """What ``write_atomic(expected=...)`` compares: the hash of the bytes the run read."""
    return hashlib.sha256(data).hexdigest()


def _file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes | Chunks, *, backup: bool = False, expected: str | None = None) -> None:
    """Replace ``path`` with ``data`` (bytes, or chunks written as they come) atomically,
    keeping its permission bits and its owner.

    With ``expected`` (the ``fingerprint`` of the bytes the run read), a file that changed
    on disk meanwhile, say rewritten by the upstream job, is left alone rather than
    overwritten with stale text. A read-only file is refused, never replaced: its mode is
    the owner's way of saying so, and root could replace it anyway.
    """
    path = Path(os.path.realpath(path))  # through a symbolic link: replace the file it names
    info = path.stat() if path.exists() else None
    if info is not None:
        if not info.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK):
            raise InputError(path, "is read-only; not written (make it writable to repair it)", reason="read_only")
        if expected is not None and _file_fingerprint(path) != expected:
            message = "changed on disk since it was read; not written (run again)"
            raise InputError(path, message, reason="changed_on_disk")
    if backup and info is not None:
        _copy_atomic(path, path.with_name(path.name + ".bak"))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in [data] if isinstance(data, bytes) else data:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, info.st_mode & 0o7777 if info else 0o644)
        if info is not None and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
            _keep_owner(Path(tmp), path, info)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _keep_owner(tmp: Path, path: Path, info: os.stat_result) -> None:
    """Give the new file the old one's owner, or refuse: a repair must not take a file over."""
    try:
        os.chown(tmp, info.st_uid, info.st_gid)
    except PermissionError:
        message = f"belongs to uid {info.st_uid}; replacing it would change its owner, so it is not written"
        raise InputError(path, message, reason="foreign_owner") from None


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
