"""One run at a time per data folder and per cache: the second run waits or stops.

Two overlapping runs (cron plus a manual dispatch) would each pay for every paper and race
to rename the same file. Each run therefore holds an exclusive ``flock`` on every folder it
reads digests from and on a ``<cache>.lock`` file beside the cache, from before its first
request until its last write, so the check that a file did not change and its
replacement cannot interleave with another run's.

A folder is locked through its own descriptor, so no lock file is left in the data (a
nightly ``git add data`` must not commit one); the cache's lock file sits in the cache
folder and says which process holds it. The kernel releases every lock when the process
ends, even by SIGKILL: there is no stale lock to clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path

from ..errors import RunError

POLL_S = 0.2  # how often a waiting run tries again


def lock_targets(paths: Iterable[str | os.PathLike[str]], cache: Path | None) -> list[Path]:
    """The folders the run reads digests from (a named file's folder), then the cache's lock
    file; sorted, so that two runs always take their locks in the same order."""
    folders = set()
    for raw in paths:
        path = Path(raw)
        folder = path if path.is_dir() else path.parent
        if folder.is_dir():
            folders.add(folder.resolve())
    targets = sorted(folders)
    if cache is not None:
        targets.append(cache.with_name(cache.name + ".lock"))
    return targets


def _open(target: Path) -> int:
    if target.is_dir():
        return os.open(target, os.O_RDONLY)
    return os.open(target, os.O_RDWR | os.O_CREAT, 0o644)


def _holder(target: Path) -> str:
    """Who holds a cache lock, as its holder wrote it (folders cannot say)."""
    if target.is_dir():
        return ""
    with contextlib.suppress(OSError):
        text = target.read_text(encoding="utf-8").strip()
        if text:
            return f" ({text})"
    return ""


@contextlib.asynccontextmanager
async def hold(
    targets: list[Path], timeout_s: float, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> AsyncIterator[None]:
    """Hold an exclusive lock on each target, waiting up to ``timeout_s`` for all of them.

    Raises ``RunError`` naming the busy target when another run keeps it past the timeout.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    opened: list[tuple[Path, int]] = []
    locked: set[int] = set()
    try:
        for target in targets:
            fd = _open(target)
            opened.append((target, fd))
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    locked.add(fd)
                    break
                except BlockingIOError:
                    if loop.time() >= deadline:
                        what = "the cache" if not target.is_dir() else "the folder"
                        waited = f"waited {timeout_s:g} s" if timeout_s else "--lock-timeout 0"
                        raise RunError(
                            f"another digest-repair run holds {what} {target}{_holder(target)}; {waited} "
                            "(pass --lock-timeout SECONDS to wait for it)"
                        ) from None
                    await sleep(POLL_S)
            if not target.is_dir():  # say who holds the cache, for the run that waits
                stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"pid {os.getpid()} since {stamp}\n".encode(), 0)
        yield
    finally:
        for target, fd in reversed(opened):
            if fd in locked and not target.is_dir():
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)  # nobody holds it now
            os.close(fd)  # closing the descriptor releases its flock
