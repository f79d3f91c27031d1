"""Replace parts of an environment so that a crash never leaves a broken one.

Why a module of its own: an ENV may be a user's existing directory (crossenv
1.x made ``ENV/build`` and ``ENV/cross`` inside it, and scripts rely on that),
so creation cannot build a whole new ENV beside the old one and rename it. It
builds the new parts in a staging directory *inside* ENV (same file system) and
then moves them in one by one with ``renameat2(RENAME_EXCHANGE)``: each part's
path always holds either the complete old or the complete new part. A journal
in the staging directory records the moves before the first one; a later create
of the same ENV that finds a journal finishes the moves (roll forward) or, if
the moves had not started, removes the staging directory.

Ownership: crossenv deletes only what carries its marks, a ``.crossenv-part``
file in each part it made and the journal in each staging directory, and
removes only the *empty* directories it created itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import secrets
import shutil
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

MARKER = ".crossenv-part"
JOURNAL = ".crossenv-journal"
STAGE_PREFIX = ".crossenv-stage-"
TRASH_PREFIX = ".crossenv-trash-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def new_txid() -> str:
    return secrets.token_hex(6)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write *path* atomically (a new inode: never through a hard link)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(directory: Path, part: str, txid: str, **extra: Any) -> None:
    write_json(directory / MARKER, {"part": part, "txid": txid, **extra})


def marker(directory: Path, part: str) -> dict[str, Any] | None:
    """The marker of a real (not symlinked) directory crossenv made as *part*."""
    if directory.is_symlink() or not directory.is_dir():
        return None
    data = read_json(directory / MARKER)
    return data if data is not None and data.get("part") == part else None


def is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _libc_renameat2() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None


def exchange(new: Path, final: Path) -> None:
    """Put *new* at *final*; the old *final* (if any) ends up at *new*.

    With RENAME_EXCHANGE (Linux, most local file systems) *final* never stops
    existing. Elsewhere two renames leave a short window without *final*, which
    :func:`recover` closes after a crash.
    """
    if not os.path.lexists(final):
        os.rename(new, final)
        return
    renameat2 = _libc_renameat2()
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(final),
                     _RENAME_EXCHANGE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(final))
    aside = new.with_name(new.name + ".old")
    os.rename(final, aside)
    os.rename(new, final)
    os.rename(aside, new)


def _apply(op: dict[str, Any], txid: str) -> None:
    """Do one journalled move; doing it again after it was done does nothing."""
    new, final = Path(op["new"]), Path(op["final"])
    if op["kind"] == "exchange":
        current = read_json(final / MARKER) if final.is_dir() else None
        if current is not None and current.get("txid") == txid:
            return  # already exchanged
        aside = new.with_name(new.name + ".old")
        if not os.path.lexists(final) and aside.exists():  # crashed inside the fallback
            os.rename(new, final)
            os.rename(aside, new)
            return
        exchange(new, final)
    elif op["kind"] == "files":
        final.mkdir(exist_ok=True)
        if new.is_dir():
            names = sorted(os.listdir(new), key=lambda n: n == MARKER)  # marker last
            for name in names:
                os.replace(new / name, final / name)
        for name in op.get("remove", []):
            path = final / name
            if path.is_symlink() or path.is_file():
                path.unlink()
    elif op["kind"] == "file" and new.exists():
        os.replace(new, final)


class Transaction:
    """A staging directory ``DIR/.crossenv-stage-TXID`` and its journal."""

    def __init__(self, directory: Path, txid: str | None = None) -> None:
        self.txid = txid or new_txid()
        self.path = directory / f"{STAGE_PREFIX}{self.txid}"
        self.ops: list[dict[str, Any]] = []
        self.extra: list[Path] = []

    def begin(self) -> None:
        self.path.mkdir(mode=0o700)
        self._journal("building")

    def extra_stage(self, beside: Path) -> Path:
        """A staging directory next to *beside* (a part outside ENV, --cross-prefix)."""
        path = beside.parent / f".{beside.name}.crossenv-stage-{self.txid}"
        self.extra.append(path)
        self._journal("building")  # recorded before it exists: never stranded
        path.mkdir(mode=0o700)
        write_json(path / JOURNAL, {"state": "part", "txid": self.txid})
        return path

    def _journal(self, state: str) -> None:
        write_json(self.path / JOURNAL, {
            "state": state, "txid": self.txid, "ops": self.ops,
            "extra": [str(p) for p in self.extra]})

    def commit(self) -> None:
        self._journal("committing")
        for op in self.ops:
            _apply(op, self.txid)
        self.discard()

    def discard(self) -> None:
        for path in [*self.extra, self.path]:
            remove_stage(path)


def remove_stage(path: Path) -> None:
    """Remove a staging directory crossenv made (it holds a journal) or an empty one."""
    if path.is_symlink() or not path.is_dir():
        return
    if not (path / JOURNAL).exists():
        # killed before its first journal was in place: only a partial journal in it
        for entry in path.iterdir():
            if not (entry.name.startswith(f".{JOURNAL}.") and entry.name.endswith(".tmp")):
                return  # not crossenv's
            entry.unlink()
        path.rmdir()
        return
    trash = path.with_name(path.name.replace("crossenv-stage-", "crossenv-trash-"))
    if trash != path:
        os.rename(path, trash)
    for entry in trash.iterdir():
        if entry.name == JOURNAL:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    (trash / JOURNAL).unlink()
    trash.rmdir()


def recover(directory: Path) -> int:
    """Finish or undo what an interrupted create of this ENV left; return how many.

    Call only under the ENV's lock: then no staging directory in it is live.
    """
    count = 0
    for entry in sorted(directory.iterdir()) if directory.is_dir() else []:
        if entry.name.startswith(TRASH_PREFIX):
            remove_stage(entry)
            count += 1
        elif entry.name.startswith(STAGE_PREFIX) and entry.is_dir() and not entry.is_symlink():
            journal = read_json(entry / JOURNAL)
            if journal is not None and journal.get("state") == "committing":
                for op in journal.get("ops", []):
                    _apply(op, str(journal.get("txid")))
            for extra in journal.get("extra", []) if journal else []:
                remove_stage(Path(extra))
                remove_stage(Path(extra).with_name(
                    Path(extra).name.replace("crossenv-stage-", "crossenv-trash-")))
            remove_stage(entry)
            count += 1
    return count


def make_dirs(path: Path) -> list[Path]:
    """``mkdir -p`` (honouring the umask) that returns the directories it created."""
    made: list[Path] = []
    for directory in [*reversed(path.parents), path]:
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        made.append(directory)
    return made


def remove_empty(made: Sequence[Path]) -> None:
    """Remove the directories :func:`make_dirs` created, if nobody wrote into them."""
    for directory in reversed(made):
        with contextlib.suppress(OSError):
            directory.rmdir()


def link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def link_tree(source: Path, target: Path, skip: Sequence[str] = ()) -> None:
    """Copy a tree with hard links, leaving out the relative paths in *skip*.

    The copy is nearly free and the original is never written through: crossenv
    writes every file it regenerates as a new inode (and pip does too).
    """
    skipped = {source / s for s in skip}
    shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy,
                    ignore=lambda d, names: [n for n in names if Path(d, n) in skipped])


class Interrupts:
    """SIGINT/SIGTERM/SIGHUP deferred to checkpoints between creation steps.

    virtualenv seeds with worker threads; an exception raised in the middle of a
    step could let them write into the staging directory after it was removed.
    Deferring to the next checkpoint (well under a second away) keeps cleanup exact.
    """

    def __init__(self) -> None:
        self.received: int | None = None

    def checkpoint(self) -> None:
        if self.received is not None:
            raise KeyboardInterrupt(f"signal {self.received}")


@contextlib.contextmanager
def deferred_signals() -> Iterator[Interrupts]:
    """Defer the signals; one that is ignored (``nohup``) stays ignored."""
    state = Interrupts()

    def handler(signum: int, frame: object) -> None:
        state.received = signum

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread
            if signal.getsignal(sig) == signal.SIG_IGN:
                continue
            previous[sig] = signal.signal(sig, handler)
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
