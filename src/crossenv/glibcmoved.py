"""Link the symbols glibc 2.34 moved into libc.so.6 as an older host has them.

glibc 2.34 merged libpthread, libdl, librt, libutil, libanl and part of libresolv
into libc.so.6, and gave the moved symbols a new default version: linked against a
Debian 12 sysroot (glibc 2.36), ``std::call_once`` needs ``pthread_once@GLIBC_2.34``
and ``dlopen`` ``dlopen@GLIBC_2.34``, so a module that any manylinux_2_28 system
could load (its ``pthread_once@GLIBC_2.17`` is in libpthread.so.0) is refused by the
policy check. libc.so.6 still defines the old versions, as non-defaults.

For a host older than 2.34, crossenv writes one stub per old library
(:mod:`crossenv.stublib`): SONAME ``libpthread.so.0`` and the moved symbols under their
newest version the host has, as defaults. ENV's ``libstdc++.so`` linker script
(:mod:`crossenv.cxxruntime`) lists them ``AS_NEEDED``, and g++ puts ``-lstdc++`` before
``-lc``: a C++ module that calls ``pthread_once`` then needs libpthread.so.0's
``GLIBC_2.17`` as with an old toolchain (glibc 2.34+ keeps libpthread.so.0 for this);
one that does not gains nothing. C links are left alone (setuptools puts the
sysroot's library directory before crossenv's, so a ``libc.so`` of crossenv's would
serve some builds and not others). Symbols that are new in 2.34 (``closefrom``)
have no older version and keep needing 2.34, which ``crossenv check`` reports.
Not covered yet: an ``-flto`` link (pybind11's CMake default) whose code generation
adds the call binds it to libc.so.6: gcc gives ld only ``-lc`` again after code
generation, and the stubs were dropped as not needed.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import stublib

#: the glibc that moved these symbols into libc.so.6
MOVED_IN = (2, 34)
#: where each moved symbol lived before 2.34, by name (glibc's own split)
OLD_HOMES = (
    ("libpthread.so.0", re.compile(r"(_?_?pthread_|sem_|cnd_|mtx_|thrd_|tss_|call_once$)")),
    ("libdl.so.2", re.compile(r"dl(open|close|sym|vsym|error|addr1?|info|mopen)$")),
    ("librt.so.1", re.compile(r"(aio_|lio_|mq_|__mq_open_2$|shm_|timer_)")),
    ("libutil.so.1", re.compile(r"(forkpty|openpty|login|login_tty|logout|logwtmp)$")),
    ("libanl.so.1", re.compile(r"(gai_|getaddrinfo_a$)")),
    ("libresolv.so.2", re.compile(r"(res_|dn_|ns_)")),
)


def _glibc_version(version: str) -> tuple[int, ...] | None:
    if not version.startswith("GLIBC_"):
        return None
    try:
        return tuple(int(part) for part in version[6:].split("."))
    except ValueError:
        return None


def moved(symbols: list[stublib.Symbol], glibc: tuple[int, int]
          ) -> dict[str, list[stublib.Symbol]]:
    """Old library -> the symbols to link from its stub: those whose default (newest)
    version is newer than *glibc*, under their newest version up to *glibc*."""
    newest: dict[str, tuple[int, ...]] = {}
    for sym in symbols:
        number = _glibc_version(sym.version)
        if number is not None and number > newest.get(sym.name, ()):
            newest[sym.name] = number
    too_new = {name for name, number in newest.items() if number > glibc}
    old = stublib.newest(
        (s for s in symbols if s.name in too_new),
        lambda v: (_glibc_version(v) or (999,)) <= glibc, lambda v: _glibc_version(v) or ())
    found: dict[str, list[stublib.Symbol]] = {}
    for sym in old:
        for soname, pattern in OLD_HOMES:
            if pattern.match(sym.name):
                found.setdefault(soname, []).append(sym)
                break
    return found


def find_libc(sysroot_dirs: tuple[str, ...]) -> Path | None:
    """The sysroot's ``libc.so.6``, the first in gcc's order of its directories."""
    for directory in sysroot_dirs:
        path = Path(directory, "libc.so.6")
        if path.is_file():
            return path
    return None


def build_stubs(cc: tuple[str, ...], libc: Path, glibc: tuple[int, int], out: Path) -> list[str]:
    """Write a stub per old library into *out* for a host with *glibc*; their names."""
    if glibc >= MOVED_IN:
        return []
    names = []
    for soname, symbols in sorted(moved(stublib.defined_symbols(libc), glibc).items()):
        name = f"crossenv-{soname.split('.so')[0]}-stub.so"
        stublib.build(cc, symbols, soname, out / name)
        names.append(name)
    return names
