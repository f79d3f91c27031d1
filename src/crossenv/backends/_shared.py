"""Facts several generators name, kept below them so that no generator imports another.

How to run a host program here (qemu), where the host's pkg-config files are, where the
guarded compiler wrappers and the emulator are: each computed here once, named by the
generators that need it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .. import arches
from ..host import HostDescription
from ..model import Toolchain

#: the emulator script (runs host ELF programs under qemu, others directly), written by
#: the ``emulator`` generator and named by CMake's toolchain and autotools' LOG_COMPILER
EMULATOR_NAME = "emulator"
#: the guarded compiler wrappers' directory (written by the ``compilerwrap`` generator)
WRAPPER_DIR = "bin"


def qemu_command(host: HostDescription) -> list[str] | None:
    """``qemu-ARCH[-static] -L ROOT`` for running host programs here, if possible.

    ROOT is the sysroot, or else the libc a Debian cross compiler package installs
    (``/usr/<triplet>``); without either, dynamic host programs cannot run, and no
    wrapper is better than one that fails meson's sanity check.
    """
    root = host.sysroot
    if root is None:
        candidate = Path("/usr") / host.triplet
        root = candidate if (candidate / "lib").is_dir() else None
    if root is None:
        return None
    found = arches.which_qemu(host.arch) if host.arch else None  # the one qemu lookup
    return [found, "-L", str(root)] if found else None


def pkg_config_libdirs(host: HostDescription) -> list[str]:
    """The sysroot's pkg-config directories (multiarch first), as the host sees them."""
    if host.sysroot is None:
        return []
    root = str(host.sysroot)
    dirs = []
    if host.multiarch:
        dirs.append(f"{root}/usr/lib/{host.multiarch}/pkgconfig")
    dirs += [f"{root}/usr/lib/pkgconfig", f"{root}/usr/share/pkgconfig"]
    return dirs


def pkg_config_variables(host: HostDescription) -> dict[str, str]:
    """``PKG_CONFIG_LIBDIR`` (and ``PKG_CONFIG_SYSROOT_DIR`` with a sysroot)."""
    out = {"PKG_CONFIG_LIBDIR": ":".join(pkg_config_libdirs(host))}
    if host.sysroot is not None:
        out["PKG_CONFIG_SYSROOT_DIR"] = str(host.sysroot)
    return out


def wrapper_name(program: str) -> str:
    """The guarded wrapper's file name for the compiler *program*."""
    return os.path.basename(program) or "cc"


def wrapper_path(crossenv_dir: Path, program: str) -> Path:
    return crossenv_dir / WRAPPER_DIR / wrapper_name(program)


def wrapped(chain: Toolchain, crossenv_dir: Path) -> Toolchain:
    """*chain* with its C, C++ and Fortran compiler programs replaced by the wrappers in
    *crossenv_dir* (their flags, ``--sysroot`` included, stay on the command line)."""
    def swap(words: tuple[str, ...]) -> tuple[str, ...]:
        if not words:
            return words
        return (str(wrapper_path(crossenv_dir, words[0])), *words[1:])

    return dataclasses.replace(chain, cc=swap(chain.cc), cxx=swap(chain.cxx), fc=swap(chain.fc))
