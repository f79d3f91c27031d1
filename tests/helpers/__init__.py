"""What the tests share that is not a fixture: running crossenv and commands, the one
skip rule (:func:`require`), the one-line-error assertion, builds shared by xdist
workers, the host's python under qemu, recorded host data. Fixtures and hooks stay in
``tests/conftest.py``; tests import these with ``from helpers import ...``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import types
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import filelock
import pytest

from crossenv import arches, provision

#: a missing tool fails instead of skipping: on a CI provider (CI is set) and under
#: .ci/run, which sets CROSSENV_TEST_STRICT itself so a machine without CI fails too
IN_CI = any(os.environ.get(name, "").lower() in ("1", "true", "yes")
            for name in ("CI", "CROSSENV_TEST_STRICT"))


ROOT = Path(__file__).resolve().parent.parent.parent


HOSTDATA = Path(__file__).resolve().parent.parent / "data" / "hostdata"


#: the Debian architectures with a recorded host (tests/data/hostdata/<arch>)
DEBIAN_ARCHES = tuple(a.debian for a in arches.ARCHES
                      if a.debian and (HOSTDATA / a.debian).is_dir())


def require(condition: object, reason: str) -> None:
    """Skip (or, in CI, fail) when a real tool the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


RUNTIME = ROOT / "src" / "crossenv" / "runtime"


def load_runtime(name: str) -> types.ModuleType:
    """A runtime file (stdlib-only, copied into ENV), loaded by path: the runtime
    directory is never put on sys.path."""
    spec = importlib.util.spec_from_file_location(name, RUNTIME / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recorded_sysconfigdata(arch: str) -> Path:
    (path,) = (HOSTDATA / arch).glob("_sysconfigdata_*.py")
    return path


def mips64el_sysconfigdata(directory: Path) -> Path:
    """The arm64 data renamed to a host no machine here has a compiler for."""
    text = recorded_sysconfigdata("arm64").read_text()
    text = text.replace("aarch64-unknown-linux-gnu", "mips64el-unknown-linux-gnuabi64")
    text = text.replace("aarch64-linux-gnu", "mips64el-linux-gnuabi64")
    data = directory / "_sysconfigdata__mips64el-linux-gnuabi64.py"
    data.write_text(text)
    return data


#: lines of a long build's output that say what failed (ninja prints the output of jobs
#: that finish after the failed one, so the tail alone may not show it)
_FAILURE_MARKS = ("FAILED:", "error:", "Error:", "ERROR:", "undefined reference",
                  "discarded section", "multiple definition")


def run(cmd: Sequence[object], *, log: Path | None = None,
        **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command, failing the test with its output if it fails: the tails, the lines
    that say what failed, and, with *log*, the whole output kept in that file."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    proc = subprocess.run([str(c) for c in cmd], **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        both = f"{proc.stdout or ''}\n{proc.stderr or ''}"
        marked = [line for line in both.splitlines() if any(m in line for m in _FAILURE_MARKS)]
        kept = ""
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(f"$ {' '.join(map(str, cmd))}\n--- stdout\n{proc.stdout}\n"
                           f"--- stderr\n{proc.stderr}\n")
            kept = f"\n(the whole output is in {log})"
        pytest.fail(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}{kept}\n"
                    f"--- what failed\n" + "\n".join(marked[:30])[:6000] +
                    f"\n--- stdout\n{(proc.stdout or '')[-4000:]}\n"
                    f"--- stderr\n{(proc.stderr or '')[-4000:]}")
    return proc


def shared_build(factory: pytest.TempPathFactory, name: str,
                 make: Callable[[Path], object]) -> Path:
    """A directory that *make* fills once per test run, however many xdist workers ask.

    Session-scoped fixtures are per worker: without this, every worker that runs a test
    needing numpy's armhf wheel builds it again (8 minutes each). The first worker builds
    under a lock in the run's shared base directory; the others wait and reuse the result,
    or fail at once with the first worker's error instead of repeating a failed build.
    """
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    directory = root / "shared" / name
    directory.parent.mkdir(parents=True, exist_ok=True)
    done, failed = directory / ".complete", directory.with_name(f"{name}.failed")
    with filelock.FileLock(str(directory) + ".lock"):
        if failed.exists():
            pytest.fail(f"the shared build {name!r} failed in another worker:\n"
                        f"{failed.read_text()[-4000:]}")
        if not done.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir()
            try:
                make(directory)
            except BaseException as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}")
                raise
            done.touch()
    return directory


def crossenv_cmd() -> list[str]:
    return [sys.executable, "-m", "crossenv"]


class Target:
    """Runs the sysroot's own python under qemu-user, with extra paths to import from."""

    def __init__(self, sysroot: provision.Sysroot, qemu: str) -> None:
        self.sysroot = sysroot
        self.qemu = qemu

    def python(self, *args: object, path: Sequence[Path] = (),
               check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        if path:
            env["PYTHONPATH"] = os.pathsep.join(map(str, path))
        cmd = [self.qemu, "-L", self.sysroot.root, self.sysroot.python, *args]
        if check:
            return run(cmd, env=env)
        return subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)


def unpack_wheels(wheels: Sequence[Path], dest: Path) -> Path:
    """Install wheels the simplest way the target python can import them from."""
    dest.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(dest)
    return dest


def error_line(returncode: int | None, stderr: str, *fragments: str,
               prefix: str = "crossenv: error: ") -> str:
    """The contract for bad input: exit status 2, one line on stderr starting with
    *prefix* and containing every fragment, no traceback. Returns the line."""
    assert "Traceback" not in stderr, stderr
    assert returncode == 2, (returncode, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str,
                   prefix: str = "crossenv: error: ") -> str:
    """:func:`error_line` of a finished command."""
    return error_line(proc.returncode, proc.stderr, *fragments, prefix=prefix)
