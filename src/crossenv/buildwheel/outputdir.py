"""The output directory: checked before the first build, held by one run, written whole.

A run learns that ``--output-dir`` is unusable (a file, read-only, below a file, a
dangling symlink, a parent it may not write) before it spends an hour building, from
one line that names the path. Two runs writing into one directory would overwrite each
other's logs and report, so a run holds an exclusive lock on the directory
(``.crossenv-buildwheel.lock``, released when the process ends, even when it is killed)
and a second one stops at once, naming the first one's pid. A wheel is written under a
temporary name in the directory and renamed into place, so a full disk or a kill never
leaves a truncated wheel under its final name.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from ..errors import CrossenvError

LOCK_NAME = ".crossenv-buildwheel.lock"


class OutputDirError(CrossenvError):
    """The output directory cannot be used (or another run holds it)."""


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def prepare(path: Path) -> Path:
    """Create ``path`` if needed and prove a file can be written in it; one line else."""
    hint = "give a writable directory with --output-dir"
    if path.is_symlink() and not path.exists():
        raise OutputDirError(f"output directory {path} is a symlink to "
                             f"{os.readlink(path)}, which does not exist; {hint}")
    if path.exists() and not path.is_dir():
        raise OutputDirError(f"output directory {path} exists and is not a directory; {hint}")
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputDirError(f"output directory {path}: {parent} is not a "
                                     f"directory; {hint}")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".crossenv-probe-"):
            pass
    except OSError as exc:
        raise OutputDirError(f"output directory {path} cannot be written: {_why(exc)}; "
                             f"{hint}") from None
    return path


def lock(path: Path) -> IO[str]:
    """Hold ``path`` for this run: the returned file keeps the lock until it is closed
    (or the process ends); another run holding it is one line."""
    handle = open(path / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 - kept open
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            handle.close()
            raise OutputDirError(f"output directory {path}: cannot lock {LOCK_NAME}: "
                                 f"{_why(exc)}") from None
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise OutputDirError(f"output directory {path} is in use by another crossenv "
                             f"buildwheel run (pid {holder}); wait for it to finish or give "
                             "another --output-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def publish(source: Path, directory: Path) -> Path:
    """Copy ``source`` into ``directory`` under a temporary name, then rename it to its
    own name: the final name only ever holds a complete file."""
    final = directory / source.name
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{source.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, tmp)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def write_text(path: Path, text: str) -> None:
    """``path`` written whole (temporary name in its directory, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
