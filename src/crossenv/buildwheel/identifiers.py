"""Which build identifiers exist: cibuildwheel's names for what crossenv can build.

An identifier is ``cp311-manylinux_aarch64``: a CPython X.Y and a Linux architecture.
crossenv can build one when a Debian release in :mod:`crossenv.releases` ships that
CPython for that architecture (its sysroot is the host) and a cross toolchain exists,
so the matrix is derived from the release table rather than listed a second time.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from .. import arches, releases
from ..errors import CrossenvError

#: cibuildwheel's Linux architecture names (``uname -m``) -> Debian's (crossenv.arches).
ARCHS: dict[str, str] = {
    machine: arches.by_machine(machine).debian or machine
    for machine in ("aarch64", "armv7l", "ppc64le", "s390x", "i686", "riscv64")
}
#: ``--archs auto``: the foreign architectures cibuildwheel users build most (and which
#: Debian's cross gcc covers for every release).
AUTO_ARCHS = ("aarch64", "armv7l", "ppc64le", "s390x")
#: cibuildwheel's Linux names crossenv does not build, with why.
UNSUPPORTED_ARCHS = {
    "x86_64": "the build machine's own architecture: build it natively (cibuildwheel)",
}
_GROUPS = {"auto": AUTO_ARCHS, "auto64": ("aarch64", "ppc64le", "s390x"),
           "auto32": ("armv7l",), "all": tuple(ARCHS)}
_IDENTIFIER_RE = re.compile(r"cp3(\d+)-manylinux_([a-z0-9_]+)")


class SelectionError(CrossenvError):
    """The archs, build/skip or --only selection names nothing crossenv can build."""


@dataclasses.dataclass(frozen=True, order=True)
class Identifier:
    """One build: ``python`` is X.Y, ``arch`` cibuildwheel's name (``aarch64``)."""

    python: str
    arch: str

    @property
    def name(self) -> str:
        return f"cp{self.python.replace('.', '')}-manylinux_{self.arch}"

    @property
    def debian_arch(self) -> str:
        return ARCHS[self.arch]

    @property
    def minor(self) -> int:
        return int(self.python.split(".")[1])

    def __str__(self) -> str:
        return self.name


def parse(name: str) -> Identifier:
    """``cp313-manylinux_riscv64`` -> Identifier; one line for anything else."""
    match = _IDENTIFIER_RE.fullmatch(name.strip())
    if not match or match[2] not in ARCHS:
        raise SelectionError(f"unknown build identifier {name!r}; crossenv builds "
                             f"cpXY-manylinux_ARCH with ARCH one of {', '.join(ARCHS)} "
                             "(see crossenv buildwheel --print-build-identifiers)")
    return Identifier(f"3.{int(match[1])}", match[2])


def available(archs: Iterable[str] | None = None,
              index: releases.Index | None = None) -> list[Identifier]:
    """Every identifier (of ``archs``, cibuildwheel's names; default all) that some
    Debian release ships, oldest Python first. ``index`` says what a release ships for
    an architecture (:func:`crossenv.archiveindex.live`: its archive's index); else the
    recorded table's rows. Per architecture: bullseye has Python 3.9 for arm64 and not,
    since its LTS, for s390x."""
    shipped = index or releases.recorded_row
    wanted = list(ARCHS) if archs is None else [a for a in ARCHS if a in set(archs)]
    found = {Identifier(python, arch)
             for arch in wanted for release in releases.RELEASES
             if ARCHS[arch] in release.architectures
             for python in shipped(release, ARCHS[arch]).pythons}
    return sorted(found, key=lambda i: (i.minor, list(ARCHS).index(i.arch)))


def parse_archs(value: str, warn: Callable[[str], None] | None = None) -> list[str]:
    """cibuildwheel's ``archs`` (space or comma separated; ``auto``, ``all``, ``native``).

    ``x86_64``/``native`` (the build machine) are left out with a warning, so a project's
    own list (``["x86_64", "aarch64", ...]``) still works; unknown names are errors.
    """
    chosen: list[str] = []
    for word in re.split(r"[\s,]+", value.strip()):
        if not word:
            continue
        if word in _GROUPS:
            chosen += _GROUPS[word]
        elif word in ARCHS:
            chosen.append(word)
        elif word in UNSUPPORTED_ARCHS or word == "native":
            why = UNSUPPORTED_ARCHS.get(word, UNSUPPORTED_ARCHS["x86_64"])
            if warn is not None:
                warn(f"archs {word} left out: {why}")
        else:
            raise SelectionError(f"unknown archs value {word!r}; use auto, all or some of: "
                                 f"{', '.join(ARCHS)}")
    if not chosen:
        raise SelectionError(f"archs {value!r} names no architecture crossenv cross-builds; "
                             "give auto, all or some of: " + ", ".join(ARCHS))
    return list(dict.fromkeys(chosen))
