"""The build machine: the one running crossenv, its build venv and the cross compilers.

Several steps need to know it (which Debian build Python or rustc runs here, which
cross-gcc package to name, whether a "host" is really this machine) and each used to
ask ``platform.machine()`` or ``os.uname()`` and look the answer up on its own. It is
described here once, as a row of :mod:`crossenv.arches` like any host. (The build
system generators in :mod:`crossenv.backends` still ask for themselves.)
"""

from __future__ import annotations

import dataclasses
import functools
import os

from . import arches


@dataclasses.dataclass(frozen=True)
class BuildMachine:
    """``uname -m`` of this machine and its row of crossenv.arches (None if unknown)."""

    machine: str
    arch: arches.Arch | None

    @property
    def debian(self) -> str | None:
        """Its Debian architecture name (``amd64``), if it has one."""
        return self.arch.debian if self.arch is not None else None


@functools.cache
def build_machine() -> BuildMachine:
    """This machine, described once per process."""
    machine = os.uname().machine
    return BuildMachine(machine, arches.find_machine(machine))


__all__ = ["BuildMachine", "build_machine"]
