"""What the user asks of creation: one frozen request, whatever front door it came through.

``crossenv HOST_PYTHON ENV`` (crossenv.cli), :func:`crossenv.api.create` and
``crossenv buildwheel`` (its per-identifier options) used to build three different
shapes of this, with different defaults, and the CLI's shape also carried facts worked
out on the way (the tag ladder, the libc, the resolved build interpreter). Now each
front door builds a :class:`CreateRequest` holding only the user's choices, already
parsed (a glibc level is a :class:`~crossenv.manylinux.Glibc`, a launcher its resolved
words), and :func:`crossenv.api.create` runs the one creation sequence on it. What is
derived from the request (the host description, the toolchain, the tags) is a
:class:`crossenv.target.Target`, computed once by that sequence.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from .manylinux import Glibc

if TYPE_CHECKING:
    from .provision import Sysroot

#: ``--clear`` and friends: which existing parts of ENV are replaced
CLEAR_CHOICES = (None, "default", "cross", "build", "both")
TOOLCHAIN_CHOICES = ("auto", "gnu", "clang", "zig")


@dataclasses.dataclass(frozen=True)
class CreateRequest:
    """One environment to make, as the user chose it (defaults are crossenv 1.x's).

    ``host`` is the host Python (an interpreter, its prefix, its sysconfigdata or a
    PEP 739 build-details.json) or a provisioned :class:`crossenv.provision.Sysroot`.
    ``env`` is the directory to make; None (only with a Sysroot) means a cached one
    under a key of everything the environment depends on, reused when it exists.
    """

    host: str | Path | Sysroot
    env: Path | None = None

    # -- ENV's parts (crossenv 1.x options)
    clear: str | None = None  # see CLEAR_CHOICES
    cross_prefix: Path | None = None
    system_site_packages: bool = False
    with_build_pip: bool = True
    with_cross_pip: bool = True
    prompt: str | None = None
    env_vars: tuple[tuple[str, str, str], ...] = ()  # (name, operator, value)
    #: the native interpreter of the host's X.Y: a path, "debian", or None (found, else
    #: provided; crossenv.buildpython)
    build_python: str | None = None

    # -- how the host is described
    sysroot: Path | None = None
    sysconfigdata_file: str | None = None
    machine: str | None = None
    trust_host_flags: bool = False
    config_vars: tuple[tuple[str, str], ...] = ()  # --config-var NAME=VALUE, in order
    host_requirements: tuple[str, ...] = ()

    # -- the toolchain
    toolchain: str = "auto"  # see TOOLCHAIN_CHOICES
    cc: str | None = None
    cxx: str | None = None
    ar: str | None = None
    relative_toolchain: bool = False
    verify_toolchain: bool = True  # False: --no-verify-toolchain
    compiler_launcher: tuple[str, ...] = ()  # as crossenv.launcher.resolve returns it

    # -- wheel tags and the glibc level
    #: ``--manylinux``: declared levels, each one's ladder accepted; the first one is the
    #: glibc zig compiles against
    manylinux: tuple[Glibc, ...] = ()
    platform_tags: tuple[str, ...] = ()  # --platform-tag: replace the default ladder
    extra_platform_tags: tuple[str, ...] = ()  # --extra-platform-tag
    no_manylinux: bool = False
    #: the manylinux level gcc links C++ extensions for (crossenv.cxxruntime); None: its
    #: default, manylinux_2_28
    cxx_manylinux: Glibc | None = None

    def __post_init__(self) -> None:
        if self.clear not in CLEAR_CHOICES:
            raise ValueError(f"clear={self.clear!r}: use one of {CLEAR_CHOICES}")
        if self.toolchain not in TOOLCHAIN_CHOICES:
            raise ValueError(f"toolchain={self.toolchain!r}: use one of {TOOLCHAIN_CHOICES}")
        if self.env is None and isinstance(self.host, (str, Path)):
            raise ValueError("a cached environment (env=None) needs a provisioned Sysroot "
                             "as its host; give env= for a host python")

    @property
    def host_python(self) -> Path:
        """The host interpreter (or prefix, sysconfigdata, build-details.json) given."""
        return Path(self.host) if isinstance(self.host, (str, Path)) else self.host.python

    @property
    def glibc(self) -> Glibc | None:
        """The glibc zig compiles against: the first ``--manylinux`` level."""
        return self.manylinux[0] if self.manylinux else None


__all__ = ["CLEAR_CHOICES", "TOOLCHAIN_CHOICES", "CreateRequest"]
