"""Turn a cibuildwheel ``test-command`` into a command for the host, under qemu.

In cibuildwheel the test command runs in a venv on the machine the wheel is for, so
``python`` and ``pytest`` are that venv's. Here that machine is emulated: ``python``
(``python3``, ``pythonX.Y``) becomes the sysroot's python under qemu-user with the
fresh test directory on its path, and ``pytest`` becomes ``python -m pytest``. A test
that starts ``sys.executable`` (or ``python`` from PATH) starts that python again
(:mod:`crossenv.hostvenv`). Any
other program is looked up in the sysroot (it is a host program as well); shell
built-ins such as ``cd`` have no host equivalent and are refused with one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import run as run_mod
from .errors import OptionError

_PYTHON_RE = re.compile(r"python(3(\.\d+)?)?")
_BUILTINS = {"cd", "export", "source", ".", "set", "unset", "if", "for"}
_ASSIGNMENT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)


def assignments(words: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split the shell's ``NAME=value`` words off the front of a command (zstandard's
    ``PYTHON_ZSTANDARD_IMPORT_POLICY=cffi pytest ...``): that command's environment, and
    the rest. cibuildwheel's shell does the same."""
    found: dict[str, str] = {}
    rest = list(words)
    while rest and (match := _ASSIGNMENT_RE.fullmatch(rest[0])):
        found[match[1]] = match[2]
        rest.pop(0)
    return found, rest


def substitute(word: str, project: Path) -> str:
    """``{project}`` and ``{package}`` (the same directory here) -> its absolute path."""
    return word.replace("{project}", str(project)).replace("{package}", str(project))


def host_argv(env: Path, command: Sequence[str], *, project: Path, site: Path,
              prefix: Path | None = None, behind: Sequence[Path] = (),
              environment: Mapping[str, str] | None = None, qemu: str | None = None,
              ) -> tuple[list[str], dict[str, str]]:
    """The qemu argv and environment for one test command. The host python's venv
    (:mod:`crossenv.hostvenv`: ``sys.executable`` works) goes to *prefix*, by default
    ``host`` beside *site* (the test's own fresh directory, as cibuildwheel's venv);
    *behind* are more directories on ``PYTHONPATH`` after *site* (the kept test
    requirements, :mod:`crossenv.testdeps`); *environment* is set for it (the
    ``test-environment``), and the command's own leading ``NAME=value`` words over it."""
    assigned, words = assignments([substitute(w, project.absolute()) for w in command])
    if not words:
        raise OptionError("test-command has an empty command")
    if words[0] in _BUILTINS:
        raise OptionError(f"test-command: {words[0]!r} is a shell built-in with no host "
                          "equivalent; use python -m pytest PATH ({project}/tests)")
    if _PYTHON_RE.fullmatch(words[0]):
        words[0] = "python"
    elif words[0] in ("pytest", "py.test"):
        words = ["python", "-m", "pytest", *words[1:]]
    argv, environ = run_mod.command(env, words, site=[site, *behind], qemu=qemu,
                                    prefix=prefix if prefix is not None else site.parent / "host")
    environ.update(environment or {})
    environ.update(assigned)
    return argv, environ
