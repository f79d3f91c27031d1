"""The data classes every stage passes around: what the user chose, where the parts of
ENV live, and the commands that build for the host.

This module is a leaf (stdlib only) so that the generators, the toolchain probe and
creation can all import it without importing each other.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .manylinux import Glibc


@dataclasses.dataclass(frozen=True)
class Toolchain:
    """Commands (argv prefixes, flags included) that build code for the host."""

    kind: str
    triplet: str  # the GNU triplet the compilers build for
    cc: tuple[str, ...]
    cxx: tuple[str, ...]
    ar: tuple[str, ...]
    ranlib: tuple[str, ...] = ()
    strip: tuple[str, ...] = ()
    sysroot: Path | None = None
    #: extra -I/-L flags the sysconfigdata adds to CFLAGS/LDFLAGS (zig: no sysroot libc)
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    #: the Fortran compiler (``<triplet>-gfortran``), if installed: scipy and other
    #: meson/CMake projects with Fortran sources need one for the host
    fc: tuple[str, ...] = ()
    #: the glibc the toolchain promises to link against: zig's stubs stop at the version
    #: of its ``-target aarch64-linux-gnu.2.17``. None for compilers that link the
    #: sysroot's own, newer glibc. crossenv's zig toolchain sets it when it is made; a
    #: zig Toolchain built from its words alone gets it from its target, once, here.
    glibc: Glibc | None = None

    def __post_init__(self) -> None:
        if self.kind != "zig":
            object.__setattr__(self, "glibc", None)
        elif self.glibc is None:
            object.__setattr__(self, "glibc", Glibc.from_zig_target(self.triplet))

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind, "triplet": self.triplet, "cc": list(self.cc), "cxx": list(self.cxx),
            "ar": list(self.ar), "ranlib": list(self.ranlib), "strip": list(self.strip),
            "sysroot": str(self.sysroot) if self.sysroot else None,
            "cflags": list(self.cflags), "ldflags": list(self.ldflags), "fc": list(self.fc),
        }



@dataclasses.dataclass
class Options:
    """What the generators (crossenv.backends) and creation's staging read about one ENV.

    Not an input shape: every front door builds a :class:`crossenv.request.CreateRequest`,
    and :func:`crossenv.create.generator_options` makes this from it and its resolved
    :class:`crossenv.target.Target` (tags, libc, build interpreter), once per ENV.
    Defaults are crossenv 1.x's."""

    clear: str | None = None  # None, "default", "cross", "build", "both"
    cross_prefix: Path | None = None
    system_site_packages: bool = False
    with_build_pip: bool = True
    with_cross_pip: bool = True
    config_vars: Mapping[str, str] = dataclasses.field(default_factory=dict)
    env_vars: Sequence[tuple[str, str, str]] = ()  # (name, operator, value)
    platform_tags: Sequence[str] = ()
    libc: tuple[str, str] | None = None
    prompt: str | None = None
    host_requirements: Sequence[str] = ()
    # The native interpreter of the host's X.Y the venvs are made from (crossenv.buildpython).
    build_python: Path | None = None
    # Run in front of the host C/C++ compiler by the compiler wrappers (crossenv.launcher).
    compiler_launcher: tuple[str, ...] = ()
    # The manylinux glibc level gcc links C++ extensions for (crossenv.cxxruntime);
    # None: its default, manylinux_2_28.
    manylinux: tuple[int, int] | None = None


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where things live in a finished ENV (final paths, not the staging ones, or the
    staging ones for a staged Layout): every file name creation writes outside the
    generators is named here once."""

    env: Path
    cross: Path
    python_version: str = f"{sys.version_info[0]}.{sys.version_info[1]}"  # the host's X.Y

    #: the environment's record (crossenv.envrecord reads and writes it)
    RECORD_NAME = "crossenv.json"
    #: the host's sysconfigdata as cross-python imports it, in :attr:`crossenv_dir`
    SYSCONFIGDATA_NAME = "_crossenv_sysconfigdata.py"
    #: the runtime shim's generated configuration, in :attr:`cross_site`
    RUNTIME_CONFIG_NAME = "_crossenv_config.py"

    @property
    def record(self) -> Path:
        return self.env / self.RECORD_NAME

    @property
    def bin(self) -> Path:
        return self.env / "bin"

    @property
    def build(self) -> Path:
        return self.env / "build"

    @property
    def build_python(self) -> Path:
        return self.build / "bin" / "python"

    @property
    def cross_python(self) -> Path:
        return self.cross / "bin" / "python"

    def site_packages(self, prefix: Path) -> Path:
        return prefix / "lib" / f"python{self.python_version}" / "site-packages"

    @property
    def cross_site(self) -> Path:
        return self.site_packages(self.cross)

    @property
    def crossenv_dir(self) -> Path:
        """Generated host files: sysconfigdata, include overlay, meson/cmake files."""
        return self.cross / "crossenv"

    @property
    def sysconfigdata(self) -> Path:
        return self.crossenv_dir / self.SYSCONFIGDATA_NAME

    @property
    def runtime_config(self) -> Path:
        return self.cross_site / self.RUNTIME_CONFIG_NAME

    @property
    def include_overlay(self) -> Path:
        """Debian's multiarch pyconfig.h made reachable (crossenv.create)."""
        return self.crossenv_dir / "include"

    @property
    def host_packages(self) -> Path:
        """Host copies of ``--host-requirement`` packages (crossenv.backends.hostreqs)."""
        return self.crossenv_dir / "host-packages"

    def script(self, name: str) -> Path:
        """``ENV/bin/<name>``: cross-python, cross-pip, build-pip, activate ..."""
        return self.bin / name

    @property
    def host_prefix(self) -> Path:
        """``ENV/host``: the host python's venv and what ``crossenv run`` installs."""
        return self.env / "host"

    @property
    def host_site(self) -> Path:
        return self.host_prefix / "site-packages"
