"""The one way crossenv runs another program (pypa/build's ``_ctx.run_subprocess``).

Every program crossenv starts (compilers, apt, patchelf, dpkg-deb, rustc, qemu, pip)
goes through :func:`run`, so that the same things hold for all of them:

* the command is shown with ``-v`` (:func:`crossenv.log.command`);
* stdin is ``/dev/null`` (nothing waits on a terminal) and the output is captured as
  text (undecodable bytes replaced), or streamed into a log file (:func:`run_logged`);
* a program that cannot be started, runs too long or fails (with ``check``) raises the
  caller's error type from :mod:`crossenv.errors` with one line naming the command;
  without ``check`` a failure is the caller's to word, from the :class:`Result`;
* ``guard`` (called about every second) may stop a long run by raising, and the
  process (its group, with ``new_session``) is killed and reaped on any exception
  here, a KeyboardInterrupt included: nothing keeps writing after crossenv gives up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TextIO

from . import log
from .errors import CrossenvError

#: seconds between two calls of ``guard`` (and two looks at the timeout)
POLL = 1.0


@dataclasses.dataclass(frozen=True)
class Result:
    """What a program did: its status (None: stopped at the timeout) and output."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_line(self, first: bool = False) -> str:
        """The program's own last (or first) words: stderr's, else stdout's."""
        lines = self.stderr.strip().splitlines() or self.stdout.strip().splitlines()
        if not lines:
            return "no output" if self.returncode is not None else "no output before the timeout"
        return (lines[0] if first else lines[-1]).strip()


def shown(argv: Sequence[str]) -> str:
    """The command as one shell-quoted line, cut short for an error message."""
    text = shlex.join(argv)
    return text if len(text) <= 200 else text[:197] + "..."


def run(argv: Sequence[str | os.PathLike[str]], *, cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None, input: str | None = None,
        timeout: float | None = None, check: bool = True,
        error: type[Exception] = CrossenvError, what: str | None = None,
        on_line: Callable[[str], None] | None = None,
        guard: Callable[[], None] | None = None, new_session: bool = False) -> Result:
    """Run ``argv`` to completion and return its :class:`Result`.

    Raises ``error`` with one line when the program cannot be started; with ``check``
    also when it exits non-zero or outlives ``timeout`` (without: returncode None).
    ``what`` names the command in those lines (default: the command itself).
    ``on_line`` sees each line of stdout as it comes (a progress display).
    """
    words = tuple(os.fspath(a) for a in argv)
    name = what or shown(words)
    log.command(words, cwd)
    try:
        proc = subprocess.Popen(words, cwd=cwd, env=dict(env) if env is not None else None,
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", start_new_session=new_session)
    except OSError as exc:
        raise error(f"cannot run {words[0]}: {exc.strerror or exc}") from None
    out: list[str] = []
    err: list[str] = []
    readers: list[threading.Thread] = []
    waited = 0.0
    try:  # from here on a signal (KeyboardInterrupt) kills what was started
        readers += [_reader(proc.stdout, out, on_line), _reader(proc.stderr, err, None)]
        if input is not None:
            _feed(proc, input)
        while True:
            try:
                proc.wait(timeout=POLL)
                break
            except subprocess.TimeoutExpired:
                waited += POLL
            if guard is not None:
                guard()
            if timeout is not None and waited >= timeout:
                _kill(proc, new_session)
                for reader in readers:  # a child of the program may still hold a pipe
                    reader.join(timeout=5)
                if check:
                    raise error(f"{name} did not finish in {timeout:g} s")
                return Result(words, None, "".join(out), "".join(err))
    except BaseException:
        _kill(proc, new_session)
        raise
    for reader in readers:
        reader.join()
    result = Result(words, proc.returncode, "".join(out), "".join(err))
    if check and not result.ok:
        raise error(f"{name} failed (exit status {proc.returncode}): {result.last_line()}")
    return result


def run_logged(argv: Sequence[str | os.PathLike[str]], *, log_to: TextIO,
               cwd: Path | str | None = None, env: Mapping[str, str] | None = None,
               error: type[Exception] = CrossenvError) -> int:
    """Run ``argv`` with its output (stdout and stderr) written into ``log_to``, between
    a ``$ command`` line and an ``[exit status N]`` line; return the exit status."""
    words = [os.fspath(a) for a in argv]
    log.command(words, cwd)
    log_to.write(f"$ {' '.join(words)}\n")
    log_to.flush()
    try:
        proc = subprocess.run(words, cwd=cwd, env=dict(env) if env is not None else None,
                              stdout=log_to, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise error(f"cannot run {words[0]}: {exc.strerror or exc}") from None
    log_to.write(f"[exit status {proc.returncode}]\n")
    log_to.flush()
    return proc.returncode


@contextlib.contextmanager
def lines(argv: Sequence[str | os.PathLike[str]], *, error: type[Exception] = CrossenvError,
          what: str | None = None) -> Iterator[Iterator[str]]:
    """The lines of a program's stdout as it writes them, for output too large to keep
    (a decompressed archive index). Leaving the block early (an exception) kills the
    program; at the end a failed program raises ``error`` with one line."""
    words = tuple(os.fspath(a) for a in argv)
    log.command(words)
    try:
        proc = subprocess.Popen(words, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace")
    except OSError as exc:
        raise error(f"cannot run {words[0]}: {exc.strerror or exc}") from None
    assert proc.stdout is not None
    err: list[str] = []
    reader = _reader(proc.stderr, err, None)
    try:
        with proc.stdout:
            yield iter(proc.stdout)
    except BaseException:
        _kill(proc, False)
        raise
    proc.wait()
    reader.join()
    if proc.returncode != 0:
        last = Result(words, proc.returncode, "", "".join(err)).last_line()
        raise error(f"{what or shown(words)} failed (exit status {proc.returncode}): {last}")


def _reader(stream: IO[str] | None, into: list[str],
            on_line: Callable[[str], None] | None) -> threading.Thread:
    """Drain ``stream`` in a thread (two pipes read in turn can deadlock)."""
    def drain() -> None:
        assert stream is not None
        with stream:
            for line in stream:
                into.append(line)
                if on_line is not None:
                    with contextlib.suppress(Exception):  # a display never loses output
                        on_line(line)
    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    return thread


def _feed(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):  # it exited unread: its status says why
        proc.stdin.write(text)
        proc.stdin.close()


def _kill(proc: subprocess.Popen[str], group: bool) -> None:
    """SIGKILL ``proc`` (its whole process group with ``group``) and reap it."""
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise
    proc.wait()
