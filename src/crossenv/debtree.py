"""A tree of Debian packages made on disk without dpkg, and built beside DEST safely.

Provisioning (crossenv.provision, and the Rust and build-Python trees made the same
way) never runs dpkg or a maintainer script: each ``.deb`` is unpacked with
``dpkg-deb -x``, and what dpkg and base-files would have done that matters to a cross
build is done here: links made to point inside the tree (outside a chroot an absolute
link names the build machine's wrong-arch files) and the merged-/usr links. A build
happens in a sibling directory of DEST and may be killed at any point, so here too are
the checks and clean-ups that keep a failed build from leaving anything half-made.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from .apt import run_bounded
from .errors import ProvisionError


def deb_name_version(deb: Path) -> tuple[str, str]:
    """Split apt's ``name_version_arch.deb`` file name (the epoch's ``:`` is ``%3a``)."""
    name, version, _ = deb.stem.split("_", 2)
    return name, unquote(version)


def extract_deb(deb: Path, root: Path) -> None:
    """Unpack a ``.deb``'s files into ``root`` (no maintainer scripts, no dpkg database)."""
    if shutil.which("dpkg-deb") is None:
        raise ProvisionError("dpkg-deb not found; install the dpkg package to unpack .deb files")
    proc = run_bounded(["dpkg-deb", "-x", str(deb), str(root)], what=f"unpacking {deb.name}",
                       watch=root)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ProvisionError(f"cannot unpack {deb.name}: {detail}; run again (bad download?)")


def relativize_symlinks(root: Path) -> list[Path]:
    """Make every symlink under ``root`` point inside it, relatively; return those changed.

    Packages ship links such as ``usr/lib/<multiarch>/libz.so -> /lib/...``; outside a
    chroot these name the build machine's (wrong-arch) files, which cross linkers then
    pick up. Targets are read as if ``root`` were ``/``, so ``..`` never climbs out.
    Regular files (glibc's ``libc.so`` linker script) are left alone.
    """
    changed: list[Path] = []
    for link, target in list(_symlinks(root)):
        rel_dir = str(link.parent.relative_to(root))
        if not target.startswith("/") and not _climbs_out(rel_dir, target):
            continue  # already relative and inside: keep it exactly as shipped
        inside = posixpath.normpath(posixpath.join("/", rel_dir, target))
        link.unlink()
        link.symlink_to(posixpath.relpath(inside, posixpath.join("/", rel_dir)))
        changed.append(link)
    return changed


def merge_usr(root: Path) -> list[str]:
    """Add the ``/lib -> usr/lib`` (``bin``, ``sbin``, ``lib64`` ...) links of merged-/usr.

    From trixie on, packages ship only ``usr/lib/...`` and the top-level links come
    from base-files, which is not unpacked; glibc's ``libc.so`` script still names
    ``/lib/<multiarch>/libc.so.6``, so without them a cross link fails. A release
    whose packages ship real top-level directories keeps them as they are.
    """
    made = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if (root / "usr" / name).is_dir() and not os.path.lexists(root / name):
            (root / name).symlink_to(f"usr/{name}")
            made.append(name)
    return made


def _climbs_out(rel_dir: str, target: str) -> bool:
    """Whether relative ``target``, seen from ``rel_dir`` under the root, leaves the root."""
    normal = posixpath.normpath(posixpath.join(rel_dir, target))
    return normal == ".." or normal.startswith("../")


def escaping_symlinks(root: Path) -> list[Path]:
    """Return the symlinks under ``root`` that are absolute or lead outside it."""
    return [link for link, target in _symlinks(root)
            if target.startswith("/") or _climbs_out(str(link.parent.relative_to(root)), target)]


def _symlinks(root: Path) -> Iterator[tuple[Path, str]]:
    """Every symlink under ``root`` (not followed) with its target."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if os.path.islink(link := os.path.join(dirpath, name)):
                yield Path(link), os.readlink(link)


def writable_parent(dest: Path) -> None:
    """One line, before any work, when ``dest``'s directory cannot be written."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProvisionError(f"cannot create {dest.parent}: {exc.strerror or exc}; choose a "
                             "DEST in a directory you can write") from None
    if not os.access(dest.parent, os.W_OK | os.X_OK):
        raise ProvisionError(f"cannot write in {dest.parent} (read-only or not yours); "
                             "choose a DEST in a directory you can write")


_LEFTOVER = (r"\.{name}\.(?:build-[A-Za-z0-9_]+|link-[0-9a-f]{{8}}"
             r"|[0-9a-f]{{8}}\.trash-[0-9a-f]{{8}})")


def remove_leftovers(dest: Path) -> None:
    """Remove what a killed (SIGKILL, power loss) build of ``dest`` left; call under
    its lock, when no build of it is running."""
    pattern = re.compile(_LEFTOVER.format(name=re.escape(dest.name)))
    for entry in dest.parent.iterdir():
        if pattern.fullmatch(entry.name):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_symlink():
                entry.unlink()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt (as SIGINT does), so a build is
    unwound (apt killed, temp directory removed) instead of ending mid-write. A
    signal that is ignored (``nohup``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) not in (signal.SIG_IGN, None):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP while cleaning up; they are delivered afterwards."""
    blocked = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
