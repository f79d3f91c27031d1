"""The links ``update-alternatives`` would make, made in an unpacked sysroot.

``dpkg-deb -x`` runs no maintainer scripts, so names that Debian provides only
through the alternatives system are missing from a provisioned sysroot:
``libblas.so.3``, ``liblapack.so.3``, ``libopenblas.so.0``, ``blas.pc``,
``hdf5.pc``... and builds that look for them (scipy's meson, h5py) fail. The
``update-alternatives --install LINK NAME PATH PRIORITY [--slave LINK NAME PATH]...``
commands in each package's ``postinst`` are read here as *data* (a sysroot is
untrusted input: nothing of it is ever run), and for each NAME the highest-priority
choice whose PATH the sysroot has is linked, as update-alternatives' automatic
mode would. A command with shell expansions (``$VAR``) cannot be read as data and
is left out; one inside a branch the script would not take names a PATH that was
not unpacked (hdf5's MPI flavours) and so is never chosen.

Every LINK and PATH must stay inside the sysroot, after resolving the links in it.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import shlex
from collections.abc import Iterable
from pathlib import Path

from . import _proc
from .errors import ProvisionError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+@:-]*")
# options of update-alternatives that take a value (skipped with it)
_VALUED = {"--altdir", "--admindir", "--instdir", "--root", "--log"}
_END = {";", "&&", "||", "|", "&", ")", "(", "then", "fi", "else", "do", "done"}


@dataclasses.dataclass(frozen=True)
class Alternative:
    """One ``--install`` command: its master link and the slaves that follow it."""

    name: str
    link: str
    path: str
    priority: int
    slaves: tuple[tuple[str, str, str], ...] = ()  # (name, link, path)
    package: str = ""


def _logical_lines(script: str) -> Iterable[str]:
    """The script's commands with ``\\``-newline continuations joined."""
    return re.sub(r"\\\n", " ", script).splitlines()


def parse_postinst(script: str, package: str = "") -> list[Alternative]:
    """Every ``update-alternatives --install`` in ``script`` that is plain data."""
    found = []
    for line in _logical_lines(script):
        if "update-alternatives" not in line:
            continue
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            words = list(lexer)
        except ValueError:  # unbalanced quotes: not data
            continue
        for start in [i for i, w in enumerate(words) if w == "update-alternatives"]:
            command = []
            for word in words[start + 1:]:
                if word in _END:
                    break
                command.append(word)
            alternative = _parse_command(command, package)
            if alternative is not None:
                found.append(alternative)
    return found


def _parse_command(words: list[str], package: str) -> Alternative | None:
    if any(ch in word for word in words for ch in "$`*?[") or "--install" not in words:
        return None  # an expansion (or a query): what it means is only known when run
    master: tuple[str, str, str, int] | None = None
    slaves: list[tuple[str, str, str]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--install" and len(words) >= i + 5 and master is None:
            link, name, path, priority = words[i + 1:i + 5]
            if not re.fullmatch(r"-?[0-9]{1,9}", priority):
                return None
            master = (link, name, path, int(priority))
            i += 5
        elif word == "--slave" and len(words) >= i + 4 and master is not None:
            slaves.append((words[i + 2], words[i + 1], words[i + 3]))
            i += 4
        elif word in _VALUED:
            i += 2
        elif word.startswith("--"):
            i += 1
        else:
            return None  # a word no --install form has
    if master is None:
        return None
    link, name, path, priority = master
    if not all(_NAME.fullmatch(n) for n in (name, *(s[0] for s in slaves))):
        return None
    return Alternative(name, link, path, priority, tuple(slaves), package)


def read_postinst(deb: Path) -> str:
    """The ``postinst`` of a ``.deb`` (empty when it has none); nothing is run."""
    proc = _proc.run(["dpkg-deb", "--info", "--", str(deb), "postinst"], check=False,
                     error=ProvisionError)
    return proc.stdout if proc.returncode == 0 else ""


def _inside(root: Path, absolute: str) -> Path | None:
    """``root/absolute`` if ``absolute`` is a clean absolute path whose existing part
    resolves inside ``root``; None otherwise."""
    if not absolute.startswith("/") or "\0" in absolute or \
            posixpath.normpath(absolute) != absolute or absolute == "/":
        return None
    candidate = root / absolute.lstrip("/")
    real_root = os.path.realpath(root)
    resolved = os.path.realpath(candidate)
    if resolved != real_root and not resolved.startswith(real_root + os.sep):
        return None
    return candidate


def _exists_inside(root: Path, absolute: str) -> bool:
    path = _inside(root, absolute)
    return path is not None and path.exists()


def choose(alternatives: Iterable[Alternative], root: Path) -> list[Alternative]:
    """The highest-priority alternative per name among those whose PATH the sysroot
    has (ties: the first PATH in sorted order, so the choice is reproducible)."""
    best: dict[str, Alternative] = {}
    for alt in alternatives:
        if not _exists_inside(root, alt.path):
            continue
        current = best.get(alt.name)
        if current is None or (alt.priority, current.path) > (current.priority, alt.path):
            best[alt.name] = alt
    return [best[name] for name in sorted(best)]


def _link(root: Path, link: str, path: str) -> bool:
    """Make ``root/link`` a relative symlink to ``root/path`` if both stay inside and
    nothing is at ``link`` yet (a file a package shipped is never replaced)."""
    target = _inside(root, path)
    where = _inside(root, link)
    if target is None or where is None or not target.exists() or os.path.lexists(where):
        return False
    parent = posixpath.dirname(link)
    for depth in range(1, parent.count("/") + 1):  # create missing parents, each checked
        step = "/".join(parent.split("/")[:depth + 1])
        if _inside(root, step) is None:
            return False
        directory = root / step.lstrip("/")
        if not os.path.lexists(directory):
            directory.mkdir()
        elif not directory.is_dir():
            return False
    if _inside(root, parent) is None:
        return False
    where.symlink_to(posixpath.relpath(path, parent))
    return True


def apply(root: Path, alternatives: Iterable[Alternative]) -> dict[str, dict[str, object]]:
    """Make the chosen links under ``root``; return them for the manifest, by name."""
    made: dict[str, dict[str, object]] = {}
    for alt in choose(alternatives, root):
        if not _link(root, alt.link, alt.path):
            continue
        slaves = {name: {"link": link, "path": path}
                  for name, link, path in alt.slaves if _link(root, link, path)}
        made[alt.name] = {"link": alt.link, "path": alt.path, "priority": alt.priority,
                          "package": alt.package, "slaves": slaves}
    return made


def from_debs(root: Path, debs: Iterable[Path]) -> dict[str, dict[str, object]]:
    """Read every ``.deb``'s postinst and make its alternatives' links under ``root``."""
    found: list[Alternative] = []
    for deb in debs:
        found += parse_postinst(read_postinst(deb), deb.name.split("_", 1)[0])
    return apply(root, found)
