"""Make every link see the sysroot's C library, not the cross toolchain's own copy.

Debian's cross compilers (``gcc-aarch64-linux-gnu``) come with a glibc of their own
(``libc6-dev-arm64-cross`` in ``/usr/aarch64-linux-gnu/lib``), and gcc searches
that directory *before* the ``--sysroot``'s library directories, for ``-l`` and
for the start files (``crt1.o``, ``crti.o``...) alike (``gcc -print-search-dirs``
lists it right after gcc's own directory). With a host older than the build
machine's toolchain (a bullseye sysroot, glibc 2.31, and bookworm's cross gcc,
glibc 2.36) an extension that calls ``dlopen`` links against the toolchain's
``libc.so.6`` (where ``dlopen`` moved in 2.34: ``GLIBC_2.34``) or its empty
``libdl.a`` stub, and fails to import on the host.

``-L`` cannot fix the start files (gcc looks for them in its own prefixes only) and
``LIBRARY_PATH`` is ignored by cross compilers. ``-B DIR`` is searched first for
both, and gcc passes it to the linker as ``-L DIR`` after the build's own ``-L``
options, so a project's own libraries still win. ``-B`` also makes gcc look for
programs (``as``, ``collect2``) in DIR, so DIR is never a sysroot directory
(untrusted: it could hold an ``as``) but ``ENV/cross/crossenv/hostlibc``, which
holds only symbolic links, one per start file and per C library the toolchain
would otherwise take from its own copy, to the sysroot's file. The sysroot's
``libc.so`` is a linker script naming ``/lib/<multiarch>/libc.so.6``: ld resolves
the link, sees a script inside the sysroot, and looks for that name in the sysroot.

The compiler's own runtime libraries (libgcc, libstdc++, libatomic, the
sanitizers...) belong to the compiler that compiled the code and stay its own.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from pathlib import Path

from . import _proc
from .errors import CrossenvError
from .model import Toolchain

DIR_NAME = "hostlibc"

#: libraries of the compiler, not of the C library: they must match the compiler
_COMPILER_RUNTIME = re.compile(
    r"lib(gcc|gcc_s|stdc\+\+|supc\+\+|atomic|gomp|itm|quadmath|gfortran|objc|ssp|"
    r"asan|hwasan|lsan|tsan|ubsan|cc1|vtv|phobos|gphobos|gdruntime|go|backtrace)$")
_START_FILE = re.compile(r"^[A-Za-z]*crt[0-9in]\.o$")  # crt1.o, Scrt1.o, crti.o, crtn.o...
_LIBRARY = re.compile(r"^(lib[^.]+)\.(so|a)(\.[0-9.]+)?$")

logger = logging.getLogger("crossenv")


@dataclasses.dataclass(frozen=True)
class SearchDirs:
    """gcc's library/start-file directories, split at the sysroot's first one."""

    install: str  # gcc's own directory (libgcc, crtbegin.o): never shadowed
    before: tuple[str, ...]  # searched before the sysroot: the toolchain's copy
    sysroot: tuple[str, ...]  # the sysroot's, in gcc's order


def parse_search_dirs(text: str, sysroot: Path) -> SearchDirs:
    """Split the output of ``gcc --sysroot=S -print-search-dirs`` (or clang's)."""
    install, libraries = "", ""
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        if key == "install":
            install = os.path.normpath(value.strip())
        elif key == "libraries":
            libraries = value.strip()
    root = os.path.normpath(str(sysroot))
    before: list[str] = []
    inside: list[str] = []
    for entry in libraries.split(":"):
        entry = os.path.normpath(entry.strip().removeprefix("="))
        if not entry or entry == ".":
            continue
        if entry == root or entry.startswith(root + os.sep):
            inside.append(entry)
        elif not inside and entry != install and entry not in before:
            before.append(entry)
    return SearchDirs(install, tuple(before), tuple(dict.fromkeys(inside)))


def _names(directory: str) -> tuple[set[str], set[str]]:
    """(start files, library stems) of the toolchain's copy in *directory*."""
    starts: set[str] = set()
    stems: set[str] = set()
    try:
        entries = os.listdir(directory)
    except OSError:
        return starts, stems
    for name in entries:
        if _START_FILE.match(name):
            starts.add(name)
        match = _LIBRARY.match(name)
        if match and not _COMPILER_RUNTIME.match(match.group(1)):
            stems.add(match.group(1))
    return starts, stems


def choose(dirs: SearchDirs, sysroot: Path) -> dict[str, str]:
    """Link name -> the sysroot file that must win over the toolchain's copy.

    For a library the toolchain has in any form (``libdl.a`` only, since glibc 2.34),
    every development form the sysroot has (``libdl.so`` and ``libdl.a``) is taken, so
    ``-ldl`` finds the sysroot's shared library before the toolchain's static stub.
    A sysroot file that resolves outside the sysroot is left out.
    """
    starts: set[str] = set()
    stems: set[str] = set()
    for directory in dirs.before:
        found = _names(directory)
        starts |= found[0]
        stems |= found[1]
    real_root = os.path.realpath(sysroot)
    wanted = sorted(starts) + [f"{stem}.{ext}" for stem in sorted(stems) for ext in ("so", "a")]
    chosen: dict[str, str] = {}
    for name in wanted:
        for directory in dirs.sysroot:
            path = os.path.join(directory, name)
            if not os.path.isfile(path):
                continue
            real = os.path.realpath(path)
            if os.path.commonpath([real_root, real]) != real_root:
                logger.warning("not linking against %s: it resolves outside the sysroot (%s)",
                               path, real)
                break
            chosen[name] = path
            break
    return chosen


def search_dirs(chain: Toolchain) -> SearchDirs | None:
    """Ask the C compiler where it looks (None if it cannot say: not gcc or clang)."""
    if chain.sysroot is None or not chain.cc or chain.kind == "zig":
        return None
    try:
        proc = _proc.run([*chain.cc, "-print-search-dirs"], timeout=60, check=False)
    except CrossenvError:  # cannot be started
        return None
    if proc.returncode != 0:
        return None
    return parse_search_dirs(proc.stdout, chain.sysroot)


def pin(chain: Toolchain, stage_dir: Path, final_dir: Path) -> Toolchain:
    """Write ``stage_dir`` (the links) and return *chain* with ``-B final_dir/`` on its
    C, C++ and Fortran compiler commands; *chain* unchanged when the toolchain has no C library
    of its own ahead of the sysroot's."""
    dirs = search_dirs(chain)
    if dirs is None or not dirs.before or not dirs.sysroot or chain.sysroot is None:
        return chain
    chosen = choose(dirs, chain.sysroot)
    if not chosen:
        return chain
    stage_dir.mkdir(parents=True, exist_ok=True)
    for name, target in chosen.items():
        link = stage_dir / name
        if os.path.lexists(link):
            link.unlink()
        link.symlink_to(target)
    flag = f"-B{final_dir}/"

    def add(words: tuple[str, ...]) -> tuple[str, ...]:
        return (*words, flag) if words else words

    # gfortran is a gcc driver: its links need the sysroot's C library just the same
    return dataclasses.replace(chain, cc=add(chain.cc), cxx=add(chain.cxx), fc=add(chain.fc))
