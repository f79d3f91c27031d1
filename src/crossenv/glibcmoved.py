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
An ``-flto`` link (pybind11's CMake default) is different: the call to
``pthread_once`` that ``std::call_once`` makes is in the IR of the module, and after
code generation ld binds it to libc.so.6's default version, the stubs having been
dropped as not needed. So the linker script also names ``crossenv-gthread-refs.o``
(:func:`build_refs`): an object whose only content is an undefined global reference to
each moved function that libstdc++'s headers call inline (``gthr-posix.h``). An
ordinary object's reference is seen before the stubs, so libpthread.so.0's stub is
needed and these functions bind to its old versions in every C++ module, LTO or not
(a C++ module then needs libpthread.so.0, which every glibc has).
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


#: the POSIX functions libstdc++'s headers call inline (gcc's ``gthr-posix.h``): the
#: ones an LTO code generation can add to a module after ld's symbol resolution
GTHREAD_CALLS = frozenset((
    "pthread_once", "pthread_getspecific", "pthread_setspecific", "pthread_create",
    "pthread_join", "pthread_equal", "pthread_self", "pthread_detach", "pthread_cancel",
    "sched_yield", "pthread_mutex_lock", "pthread_mutex_trylock",
    "pthread_mutex_timedlock", "pthread_mutex_unlock", "pthread_mutex_init",
    "pthread_mutex_destroy", "pthread_cond_init", "pthread_cond_broadcast",
    "pthread_cond_signal", "pthread_cond_wait", "pthread_cond_timedwait",
    "pthread_cond_destroy", "pthread_key_create", "pthread_key_delete",
    "pthread_mutexattr_init", "pthread_mutexattr_settype", "pthread_mutexattr_destroy",
    "pthread_cond_clockwait", "pthread_mutex_clocklock", "pthread_rwlock_rdlock",
    "pthread_rwlock_tryrdlock", "pthread_rwlock_wrlock", "pthread_rwlock_trywrlock",
    "pthread_rwlock_unlock", "pthread_rwlock_clockrdlock", "pthread_rwlock_clockwrlock",
    "pthread_rwlock_timedrdlock", "pthread_rwlock_timedwrlock",
))
#: the object of :func:`build_refs`
REFS = "crossenv-gthread-refs.o"


def refs_source(names: list[str]) -> str:
    """C source of an object with one undefined global reference per name, and nothing
    else (no code, no data, no relocation)."""
    return "".join(f'__asm__(".globl {name}");\n' for name in sorted(names))


def build_refs(cc: tuple[str, ...], libc: Path, glibc: tuple[int, int], out: Path
               ) -> list[str]:
    """Write :data:`REFS` into *out* when libstdc++'s inline calls include moved
    functions for a host with *glibc*; ``[REFS]`` or ``[]``."""
    if glibc >= MOVED_IN:
        return []
    names = [s.name for s in moved(stublib.defined_symbols(libc), glibc).get(
        "libpthread.so.0", []) if s.name in GTHREAD_CALLS]
    if not names:
        return []
    (out / "gthread-refs.c").write_text(refs_source(names))
    stublib.run_compiler(cc, ["-c", "-fPIC", "-o", str(out / REFS),
                              str(out / "gthread-refs.c")], "the gthread references object")
    return [REFS]


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
