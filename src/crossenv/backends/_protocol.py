"""What a generator is: the values it reads and the content it returns.

A generator (one module per build system, listed in :data:`crossenv.backends.TABLE`)
reads an :class:`Inputs` (what to build for) and a :class:`Place` (where its files will
be) and returns content: ``files(target, place) -> {relpath: (content, mode)}`` and
``env(target, place) -> {variable: value}``. It writes nothing itself, so the same
generators serve ``crossenv`` (which writes their files into the staged ENV) and
``crossenv describe`` (which prints them or writes them to ``--output-dir``). Generators
never import each other; what several need lives in :mod:`._shared`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, Union, runtime_checkable

from ..host import HostDescription
from ..model import Layout, Options, Toolchain


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What the generated files build for: made from the resolved
    :class:`crossenv.target.Target` of a request (or from ``describe``'s host), plus the
    compilers the files name and the options that shape them."""

    host: HostDescription
    toolchain: Toolchain  #: the real cross compilers (probed; recorded in crossenv.json)
    #: the compilers generated files name: the guarded wrappers (compilerwrap) for the
    #: generators the table marks ``guarded`` when the wrappers are made, else *toolchain*
    compilers: Toolchain
    options: Options


@dataclasses.dataclass(frozen=True)
class Place:
    """Where the generated files will be: final paths, whatever directory they are staged in."""

    directory: Path  #: ENV/cross/crossenv, describe's --output-dir, or the working directory
    #: the environment being made; None when ``crossenv describe`` generates for a host
    layout: Layout | None
    python: str | None  #: the python meson and CMake name (cross-python, describe --python)
    #: the emulator script when one is written (set by the table from the emulator generator)
    emulator: Path | None = None

    def env_layout(self, what: str) -> Layout:
        """The environment's layout, for generators that make sense in an ENV only."""
        if self.layout is None:
            raise ValueError(f"{what} are made in an environment only")
        return self.layout


@dataclasses.dataclass(frozen=True)
class Link:
    """A symbolic link to *target* (relative targets stay relative)."""

    target: Path


@dataclasses.dataclass(frozen=True)
class Copy:
    """A copy of the file *source* (a binary crossenv does not generate)."""

    source: Path


@dataclasses.dataclass(frozen=True)
class Directory:
    """An empty directory (filled later, by builds)."""


Content = Union[str, bytes, Link, Copy, Directory]
#: relative path (``/``-separated) -> (content, mode); a mode with execute bits makes the
#: file executable, as far as the umask allows
Files = dict[str, tuple[Content, int]]
TEXT = 0o644
EXECUTABLE = 0o755


@runtime_checkable
class Generator(Protocol):
    """One build system's files and variables (a module satisfies it by its functions).

    A generator whose written files must be tried before the environment is kept may
    also define ``check(directory, target, place)``: the writer runs it once everything
    is written (uv-base starts a throw-away venv made from itself)."""

    def files(self, target: Inputs, place: Place) -> Files: ...

    def env(self, target: Inputs, place: Place) -> dict[str, str]: ...


@dataclasses.dataclass
class Output:
    """What the generators of one table run return, in table order."""

    files: Files = dataclasses.field(default_factory=dict)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    #: checks to run once the files are written (``module.check(directory, target, place)``)
    checks: list[Callable[[Path], None]] = dataclasses.field(default_factory=list)

    def texts(self) -> Mapping[str, str]:
        """The text files only (what ``crossenv describe`` prints)."""
        return {k: v for k, (v, _) in self.files.items() if isinstance(v, str)}


__all__ = [
    "EXECUTABLE",
    "TEXT",
    "Content",
    "Copy",
    "Directory",
    "Files",
    "Generator",
    "Inputs",
    "Link",
    "Output",
    "Place",
]
