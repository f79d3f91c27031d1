"""The one logger: everything crossenv says on stderr while it works.

Why one: output used to be printed four ways (``print`` with three prefixes and the
stdlib's ``WARNING:`` lines), so a progress line on a terminal could not be kept
apart from a warning printed under it. Here every line goes through :func:`_emit`,
which first erases the progress line that is drawn (if any) and draws it again after.

Two kinds of stream, decided once per stream (:func:`interactive`):

* a terminal (``isatty``, ``CI`` unset, ``TERM`` not ``dumb``): long work shows one
  progress line redrawn in place with ``\\r`` (provisioning downloads: packages of the
  total and bytes; the buildwheel matrix: identifier k of n), erased when done, so the
  terminal keeps only the lines that matter;
* anything else (a CI log, a pipe, a file): plain lines, one per event, never a
  ``\\r``; CI log folding works on them and they read the same in a saved log.

Verbosity: 0 by default (warnings, results), 1 with ``-v`` (steps, the commands
:mod:`crossenv._proc` runs, virtualenv's lines, each once), 2 with ``-vv`` (debug).
It is a process default (set by the command line, seen by worker threads) that a
:func:`verbose` block can override for its own context, as pypa/build's ``_ctx``.
This module imports nothing of the project: every other module may use it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import shlex
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

_default_verbosity = 0
_VERBOSITY: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "crossenv_verbosity", default=None)
_lock = threading.RLock()
#: the progress lines on each terminal stream (by id), the last one drawn: a sysroot's
#: download inside a buildwheel identifier shows, then the matrix's line again
_stacks: dict[int, list[Progress]] = {}


def verbosity() -> int:
    """The verbosity in effect here: a :func:`verbose` block's, else the process's."""
    value = _VERBOSITY.get()
    return _default_verbosity if value is None else value


@contextlib.contextmanager
def verbose(level: int) -> Iterator[None]:
    """Use ``level`` in this context only (tests, an API caller)."""
    token = _VERBOSITY.set(level)
    try:
        yield
    finally:
        _VERBOSITY.reset(token)


def ci() -> bool:
    """True on a CI provider (``CI`` set to anything but empty, 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def interactive(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default stderr) is a terminal a line may be redrawn on."""
    stream = stream if stream is not None else sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False
    return tty and not ci() and os.environ.get("TERM") != "dumb"


def _emit(line: str, stream: TextIO | None = None) -> None:
    """Write one permanent line, keeping a drawn progress line below it."""
    stream = stream if stream is not None else sys.stderr
    with _lock:
        stack = _stacks.get(id(stream))
        bar = stack[-1] if stack else None
        if bar is not None:
            bar._erase()
        stream.write(line + "\n")
        if bar is not None:
            bar._draw()
        stream.flush()


def step(message: str) -> None:
    """Long work the user is waiting for and should know about (a large download):
    shown by default, as cibuildwheel's ``step``."""
    if verbosity() >= 0:
        _emit(f"crossenv: {message}")


def info(message: str) -> None:
    """A step of long work: shown with ``-v``."""
    if verbosity() >= 1:
        _emit(f"crossenv: {message}")


def debug(message: str) -> None:
    """Detail: shown with ``-vv``."""
    if verbosity() >= 2:
        _emit(f"crossenv: {message}")


def warning(message: str, who: str = "crossenv") -> None:
    """Something the user should know that does not stop the work."""
    _emit(f"{who}: warning: {message}")


def note(message: str, who: str = "crossenv") -> None:
    """Something worth knowing that is not a problem."""
    _emit(f"{who}: note: {message}")


def error(message: str, who: str = "crossenv") -> None:
    """The one line of a failure the command line reports before its exit status."""
    _emit(f"{who}: error: {message}")


def command(argv: Sequence[object], cwd: object = None) -> None:
    """A command about to run (:mod:`crossenv._proc`), shown with ``-v``."""
    if verbosity() >= 1:
        where = f" (in {cwd})" if cwd is not None else ""
        _emit(f"crossenv: $ {shlex.join(str(a) for a in argv)}{where}")


def created(env: Path, host: Any, chain: Any, compiler_version: str | None = None,
            stream: TextIO | None = None) -> None:
    """The one line saying an environment was made, what for and how to use it.

    It goes to stderr, as every other line here: stdout stays for output that scripts
    read (``crossenv provision`` prints a path there). Not shown below verbosity 0.
    """
    if verbosity() < 0:
        return
    sysroot = getattr(host, "sysroot", None)
    release = _sysroot_release(Path(sysroot)) if sysroot else None
    where = (f"Debian {release} sysroot" if release else f"sysroot {sysroot}" if sysroot
             else "no sysroot")
    compiler = Path(chain.cc[0]).name if chain.cc else "cc"
    triplet = getattr(chain, "triplet", "")
    if triplet and compiler.startswith(triplet + "-"):
        compiler = compiler[len(triplet) + 1:]
    compiler = " ".join(filter(None, (chain.kind, compiler, compiler_version)))
    activate = shlex.quote(str(Path(env) / "bin" / "activate"))
    _emit(f"created {env}: {host.machine} {host.implementation} {host.version_str} "
          f"({where}), {compiler}; activate with: source {activate}", stream)


#: crossenv.provision.MANIFEST_NAME (a test keeps them equal: this module imports nothing)
_MANIFEST = ".crossenv-sysroot.json"


def _sysroot_release(root: Path) -> str | None:
    """The Debian release of a sysroot crossenv provisioned (its manifest), else None.
    A sysroot is untrusted: only a plain suite name reaches the terminal."""
    try:
        manifest = json.loads((root / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    release = manifest.get("release") if isinstance(manifest, dict) else None
    return release if isinstance(release, str) and re.fullmatch(r"[a-z][a-z0-9.-]{0,30}",
                                                                release) else None


class Progress:
    """k of n on one line: redrawn in place on a terminal, plain lines elsewhere.

    :meth:`update` changes the status (drawn on a terminal only); :meth:`line` prints a
    permanent line on every stream (shown on a terminal above the status); :meth:`plain`
    prints a line only where no status line is drawn (a log), so a log still says
    what a terminal showed in place. Safe from several threads; a context manager that
    erases its line at the end, also when the work fails, so an error prints on a
    clean line.
    """

    def __init__(self, total: int, stream: TextIO | None = None,
                 tty: bool | None = None) -> None:
        self.total, self.done = total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = interactive(self.stream) if tty is None else tty
        self.status = ""
        self._shown = 0  # characters of the status on the screen

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, status: str, done: int | None = None) -> None:
        with _lock:
            if done is not None:
                self.done = done
            self.status = status
            if not self.tty:
                return
            stack = _stacks.setdefault(id(self.stream), [])
            if self not in stack:
                if stack:
                    stack[-1]._erase()
                stack.append(self)
            elif stack[-1] is not self:
                return  # drawn again when the lines above it end
            self._erase()
            self._draw()
            self.stream.flush()

    def line(self, text: str) -> None:
        _emit(text, self.stream)

    def plain(self, text: str) -> None:
        if not self.tty:
            _emit(text, self.stream)

    def close(self) -> None:
        with _lock:
            stack = _stacks.get(id(self.stream), [])
            if self not in stack:
                return
            if stack[-1] is self:
                self._erase()
                stack.pop()
                if stack:
                    stack[-1]._draw()
            else:
                stack.remove(self)
            if not stack:
                del _stacks[id(self.stream)]
            self.stream.flush()

    def _draw(self) -> None:
        try:  # one column short of the width: a full line would wrap on some terminals
            width = os.get_terminal_size(self.stream.fileno()).columns - 1
        except (AttributeError, OSError, ValueError):
            width = 0
        text = self.status[:width if width >= 10 else 79]
        self.stream.write(text)
        self._shown = len(text)

    def _erase(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = 0


def human_bytes(count: float) -> str:
    """``2.3 MB``: apt's own units (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


class _Handler(logging.Handler):
    """Routes the stdlib's records (crossenv's modules, virtualenv) through :func:`_emit`.

    virtualenv is asked for two venvs of one interpreter (build and cross), and logs
    its interpreter discovery for each: a line seen already is not shown again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, str]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not stop the work
            self.handleError(record)
            return
        who = record.name.split(".")[0]
        if who != "crossenv":
            key = (who, message)
            with _lock:
                if key in self._seen:
                    return
                self._seen.add(key)
        level = {logging.WARNING: "warning: ", logging.ERROR: "error: ",
                 logging.CRITICAL: "error: "}.get(record.levelno, "")
        _emit(f"{who}: {level}{message}")


def configure(level: int) -> None:
    """Set the process's verbosity and route the stdlib's logging here (the command
    line calls this once; a library caller keeps its own logging configuration)."""
    global _default_verbosity
    _default_verbosity = level
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    root.addHandler(_Handler())
    root.setLevel(logging.WARNING if level <= 0 else logging.INFO if level == 1
                  else logging.DEBUG)
