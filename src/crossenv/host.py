"""Describe the host: the machine the built extension modules will run on.

Everything downstream (toolchain, generated sysconfigdata, runtime shim, meson and
cmake files, wheel tags) is computed from one :class:`HostDescription`. It is built
from files only — a host interpreter is never run on the build machine — so it
works for hosts that cannot run here at all.

Accepted inputs: the host ``python3.X`` executable, its prefix directory, a
``_sysconfigdata_*.py`` file, or a PEP 739 ``build-details.json``. This module finds
the sysconfig variables among them (:func:`describe`) and holds the checks creation
makes on a description; the description itself (and the validation of its values)
is crossenv.hostdescription's, and PEP 739 crossenv.builddetails'. Their public names
are importable from here, as they always were.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from . import arches, sysconfigdata, validate
from .builddetails import from_build_details, to_build_details
from .errors import HostError
from .hostdescription import HostDescription, from_config_vars, gnu_cpu_to_machine
from .machine import build_machine as this_machine

__all__ = ["HostDescription", "check_headers", "check_version", "describe",
           "from_build_details", "from_config_vars", "gnu_cpu_to_machine", "not_cross",
           "to_build_details"]


def not_cross(host: HostDescription, build_machine: str | None = None) -> str | None:
    """The one-line warning for a host that is the build machine itself, or None.

    The build machine's own Python (its architecture, no sysroot) makes a working
    environment that cross-compiles nothing: the wheels are the ones a venv makes.
    It is only warned about, not refused: crossenv 1.x accepted it, and an x86_64
    host *with* a sysroot (another glibc: ``crossenv --arch amd64``) is a real target.
    """
    build = arches.find_machine(build_machine) if build_machine else this_machine().arch
    if build is None or host.arch != build:
        return None
    if host.sysroot is not None and os.path.realpath(host.sysroot) != "/":
        return None
    return (f"the host is this machine's own {host.machine} Python (no sysroot), so nothing "
            "is cross-compiled: for native wheels use a venv (python3 -m venv); for "
            "another architecture give its Python or --arch (crossenv --arch arm64 ENV)")


def check_headers(host: HostDescription) -> None:
    """Refuse, at creation, a host with a sysroot whose ``Python.h``/``pyconfig.h`` cannot be
    found, or whose header directories hold a symlink that leaves it: the compiler
    would otherwise find the build machine's (``-I`` of a missing directory is ignored)."""
    if host.sysroot is None:
        return
    how = (f"install the host's libpython{host.version_str}-dev into the sysroot "
           "(crossenv provision --package), or pass the host's own prefix")
    if not (host.include_dir / "Python.h").is_file():
        raise HostError(f"the host's Python.h is not in {host.include_dir} (INCLUDEPY); {how}")
    if not any((d / "pyconfig.h").is_file() for d in (host.platinclude_dir, host.include_dir)):
        raise HostError(f"the host's pyconfig.h is in neither {host.platinclude_dir} nor "
                        f"{host.include_dir}; {how}")
    roots = [host.sysroot]
    for directory in dict.fromkeys((host.include_dir, host.platinclude_dir)):
        root = next((r for r in roots if validate.under(str(directory), str(r))), None)
        validate.no_escaping_links(directory, root or directory)


# -- discovery ---------------------------------------------------------------------------------

_PY_EXE = re.compile(r"python(\d+(?:\.\d+)?)?[a-z]*$")


def _is_elf(path: Path) -> bool:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the open
            return False
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _find_sysconfigdata(prefix: Path, version: str | None) -> list[Path]:
    found: dict[Path, Path] = {}
    for libdir in ("lib", "lib64"):
        pattern = f"python{version}*" if version else "python3.*"
        for stdlib in sorted((prefix / libdir).glob(pattern)):
            for candidate in sorted(stdlib.glob("_sysconfigdata_*.py")):
                found.setdefault(candidate.resolve(), candidate)
    return list(found.values())


def _choose(candidates: list[Path], where: Path) -> Path:
    if not candidates:
        raise HostError(
            f"no _sysconfigdata_*.py under {where}/lib/python3.*; install the host's "
            "libpython3.X-stdlib there, or pass --sysconfigdata-file"
        )
    if len(candidates) == 1:
        return candidates[0]
    parsed = {path: sysconfigdata.load(path) for path in candidates}
    first = next(iter(parsed.values()))
    if all(values == first for values in parsed.values()):
        return candidates[0]
    names = ", ".join(path.name for path in candidates)
    raise HostError(f"{where} has several different sysconfigdata files ({names}); "
                    "choose one with --sysconfigdata-file")


def describe(
    source: str | os.PathLike[str],
    *,
    sysroot: str | os.PathLike[str] | None = None,
    sysconfigdata_file: str | os.PathLike[str] | None = None,
    machine: str | None = None,
    trust_host_flags: bool = False,
    overridden: Collection[str] = (),
) -> HostDescription:
    """Describe the host from an interpreter, prefix, sysconfigdata or build-details.json.

    *trust_host_flags* and *overridden* are passed to :func:`from_config_vars`.
    """
    checks: dict[str, Any] = {"trust_host_flags": trust_host_flags, "overridden": overridden}
    path = Path(source).absolute()
    root = Path(sysroot).absolute() if sysroot else None
    if root is not None and not root.is_dir():
        raise HostError(f"--sysroot {root} is not a directory; pass the host's root directory")
    if not path.exists() and not path.is_symlink():
        raise HostError(f"host python {path} does not exist; pass the host's python3.X "
                        "executable, its prefix, or its _sysconfigdata_*.py")

    # Not is_file(): a FIFO or device named *.py must reach the loader, which refuses it.
    if not path.is_dir() and path.name.endswith(".json"):
        return from_build_details(path, sysroot=root, machine=machine, **checks)
    if not path.is_dir() and path.suffix == ".py":
        config_vars = sysconfigdata.load(path)
        # SYSROOT/usr/lib/python3.X/_sysconfigdata.py -> actual prefix SYSROOT/usr
        actual = str(path.parent.parent.parent) if path.parent.name.startswith("python") else None
        return from_config_vars(config_vars, actual_prefix=actual, sysroot=root,
                                sysconfigdata_path=path, machine=machine, **checks)

    if path.is_dir():
        prefix, version = path, None
        if (prefix / "usr" / "lib").is_dir() and not (prefix / "lib" / "python3").exists() \
                and not _find_sysconfigdata(prefix, None):
            prefix = prefix / "usr"  # a sysroot was given instead of a prefix
    else:
        resolved = path if _is_elf(path) else path.resolve()
        name_match = _PY_EXE.match(path.name) or _PY_EXE.match(resolved.name)
        if not name_match or not _is_elf(resolved):
            raise HostError(f"{path} is not a Python interpreter; pass the host's python3.X "
                            "executable, its prefix, or its _sysconfigdata_*.py")
        version = name_match.group(1) if name_match.group(1) and "." in name_match.group(1) \
            else None
        prefix = path.parent.parent

    if sysconfigdata_file:
        data_path = Path(sysconfigdata_file).absolute()
        if not data_path.exists():
            raise HostError(f"--sysconfigdata-file {data_path} does not exist")
    else:
        data_path = _choose(_find_sysconfigdata(prefix, version), prefix)
    return from_config_vars(sysconfigdata.load(data_path), actual_prefix=str(prefix),
                            sysroot=root, sysconfigdata_path=data_path, machine=machine,
                            **checks)


def check_version(host: HostDescription, build_version: tuple[int, int] | None = None) -> None:
    """Refuse a host whose X.Y differs from the build interpreter's."""
    build = build_version or sys.version_info[:2]
    if tuple(build) != host.version:
        raise HostError(
            f"the host is Python {host.version_str} but crossenv runs on Python "
            f"{build[0]}.{build[1]}; run crossenv with a Python {host.version_str} build "
            f"interpreter (python{host.version_str} -m crossenv ...)"
        )
