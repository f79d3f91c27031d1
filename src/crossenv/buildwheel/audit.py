"""cibuildwheel 4's audit step: ``audit-command`` on each repaired wheel.

As in cibuildwheel, the audit runs after repair (here: after ``crossenv check``) and
before the tests, on the build machine, in a venv of its own that has
``audit-requires`` installed (default ``abi3audit``); the venv is made only when some
command applies to the wheel, and shared by identifiers with the same requirements. A
command with ``{abi3_wheel}`` (the default ``abi3audit --strict --report
{abi3_wheel}``) runs only for a wheel whose file name has the ``abi3`` ABI tag; one
with ``{wheel}`` runs for every wheel. ``{project}``/``{package}`` are the project
directory. A failing command fails the identifier (step ``audit``), so its wheel is
not published. The venv's ``bin`` is first on ``PATH``, so ``python`` there is the
build machine's Python with the audit tools.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from packaging.utils import InvalidWheelFilename, parse_wheel_filename


def is_abi3(wheel_name: str) -> bool:
    """Whether the wheel's file name carries the ``abi3`` ABI tag (cibuildwheel's test)."""
    try:
        _, _, _, tags = parse_wheel_filename(wheel_name)
    except InvalidWheelFilename:
        return False
    return any(tag.abi == "abi3" for tag in tags)


def applicable(commands: Sequence[Sequence[str]], wheel_name: str) -> list[tuple[str, ...]]:
    """The commands that run for ``wheel_name``: every ``{wheel}`` one, and the
    ``{abi3_wheel}`` ones when the wheel is abi3."""
    abi3 = is_abi3(wheel_name)
    return [tuple(c) for c in commands if "{abi3_wheel}" not in " ".join(c) or abi3]


class Auditor:
    """The audit venvs of one run, under ``workdir`` (removed with it)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._lock = threading.Lock()
        self._venvs: dict[tuple[str, ...], Path] = {}

    def _venv(self, requires: tuple[str, ...], native: Callable[..., None],
              log: TextIO, project: Path) -> Path:
        with self._lock:
            if requires in self._venvs:
                return self._venvs[requires]
            venv = self.workdir / f"audit-venv-{len(self._venvs)}"
            native([[sys.executable, "-m", "venv",
                     *([] if requires else ["--without-pip"]), str(venv)]],
                   project=project, environ=dict(os.environ), log=log, what="audit venv")
            if requires:
                native([[str(venv / "bin" / "python"), "-m", "pip", "install",
                         "--disable-pip-version-check", *requires]], project=project,
                       environ=dict(os.environ), log=log, what="audit-requires install")
            self._venvs[requires] = venv
            return venv

    def run(self, commands: Sequence[Sequence[str]], requires: Sequence[str], wheel: Path,
            *, project: Path, log: TextIO, native: Callable[..., Any]) -> bool:
        """Run what applies to ``wheel``; False when nothing did (the log says why).
        ``native`` runs commands as the runner's build-machine steps do, raising a
        build error naming the command when one fails."""
        chosen = applicable(commands, wheel.name)
        if not chosen:
            log.write("no audit: " + ("no audit-command\n" if not commands else
                                      "the wheel is not abi3 and every audit-command is "
                                      "for {abi3_wheel}\n"))
            return False
        venv = self._venv(tuple(requires), native, log, project)
        environ = {**os.environ, "VIRTUAL_ENV": str(venv),
                   "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}
        native(chosen, project=project, environ=environ, log=log, what="audit-command",
               extra={"wheel": str(wheel), "abi3_wheel": str(wheel)})
        return True
