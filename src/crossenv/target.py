"""What a :class:`~crossenv.request.CreateRequest` comes to: the host, the toolchain that
builds for it, the tags its wheels may have, and the build interpreter, worked out once.

Before this existed the facts were derived in the CLI and again in the API (with
different defaults) and then stored back into the options object beside the user's
choices. :func:`resolve` is the one derivation; creation and every generator read the
:class:`Target` it returns.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from . import host as host_mod
from . import launcher
from . import toolchain as toolchain_mod
from .buildpython import resolve as build_python_for
from .errors import CrossenvError
from .host import HostDescription
from .model import Toolchain
from .request import CreateRequest
from .tags import platform_tags_for

logger = logging.getLogger("crossenv")


@dataclasses.dataclass(frozen=True)
class Target:
    """The host, its toolchain and its tags: the derived facts of one request."""

    host: HostDescription
    toolchain: Toolchain
    #: the platform tags cross-pip accepts, best first
    platform_tags: tuple[str, ...]
    #: what ``platform.libc_ver()`` answers in cross-python (None: the host has no glibc)
    libc: tuple[str, str] | None
    #: the native interpreter of the host's X.Y the venvs are made from
    build_python: Path


def resolve(request: CreateRequest) -> Target:
    """Describe the host, find its toolchain, compute its tags and find (or provide) the
    build interpreter, in that order: each step is checked before the next, and the last
    one is the only one with side effects (it may provision a Debian Python)."""
    host = host_mod.describe(
        request.host_python, sysroot=request.sysroot,
        sysconfigdata_file=request.sysconfigdata_file, machine=request.machine,
        trust_host_flags=request.trust_host_flags,
        overridden=[name for name, _ in request.config_vars])
    chain = toolchain_mod.find(
        host, kind=request.toolchain, cc=request.cc, cxx=request.cxx, ar=request.ar,
        sysroot=host.sysroot, relative=request.relative_toolchain, glibc=request.glibc,
        unverified_ok=not request.verify_toolchain)
    if request.compiler_launcher:
        launcher.check(request.compiler_launcher, chain.kind, chain.cc[0])
    try:
        libc, tags = platform_tags_for(
            host, manylinux=request.manylinux,
            platform_tags=request.platform_tags, extra=request.extra_platform_tags,
            no_manylinux=request.no_manylinux, toolchain=chain)
    except ValueError as exc:
        raise CrossenvError(f"{exc}; see crossenv --help for the tag options") from None
    # last of the checks: finding (or provisioning) another build python has side effects
    build_python = build_python_for(host.version_str, request.build_python)
    logger.info("build python %s (%s)", build_python.executable, build_python.origin)
    major, minor = build_python.version.split(".")
    host_mod.check_version(host, (int(major), int(minor)))
    return Target(host=host, toolchain=chain, platform_tags=tuple(tags), libc=libc,
                  build_python=Path(build_python.executable))


__all__ = ["Target", "resolve"]
