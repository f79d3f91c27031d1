"""Shared fixtures: a real arm64 sysroot, a real cross environment, qemu.

Nothing here is mocked. The sysroot comes from Debian's archive through apt's
configured sources (cached between runs by crossenv.provision); compilers and
qemu are Debian packages that .ci/run installs. Outside CI a missing tool skips
the tests that need it, with the reason; in CI (CI=true) it fails them instead,
so a green CI run always means the integration tests really ran.
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
ROOT = Path(__file__).resolve().parent.parent
HOSTDATA = Path(__file__).parent / "data" / "hostdata"
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


def run(cmd: Sequence[object], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command, failing the test with its output if it fails."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    proc = subprocess.run([str(c) for c in cmd], **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        pytest.fail(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
                    f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests marked ``slow`` first, the longest (``slow(minutes=N)``) first.

    The slow ones are the few that build something big (numpy, the Rust wheels, pynacl's
    libsodium): started first, they overlap the hundreds of short tests on the other
    xdist worker. Left in file order, some came last, and the run ended with one worker
    idle for minutes while the other finished a build. A test that only reuses a
    ``shared_build`` is not marked slow, so it does not queue behind the build on the
    other worker at the start of the run. Otherwise the order is the usual one.
    """
    def key(item: pytest.Item) -> tuple[bool, float]:
        slow = item.get_closest_marker("slow")
        return slow is None, -float(slow.kwargs.get("minutes", 1)) if slow else 0.0

    items.sort(key=key)


def crossenv_cmd() -> list[str]:
    return [sys.executable, "-m", "crossenv"]


@pytest.fixture(scope="session")
def arm64_sysroot() -> provision.Sysroot:
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian arm64 sysroot")
    return provision.provision_debian("arm64")


@pytest.fixture(scope="session")
def qemu_aarch64() -> str:
    qemu = provision.find_qemu("arm64")
    require(qemu, "qemu-user-static (qemu-aarch64) is needed to run arm64 code")
    assert qemu is not None
    return qemu


@pytest.fixture(scope="session")
def aarch64_gcc() -> str:
    gcc = shutil.which("aarch64-linux-gnu-gcc")
    require(gcc, "gcc-aarch64-linux-gnu is needed to cross-compile for arm64")
    assert gcc is not None
    return gcc


@pytest.fixture(scope="session")
def aarch64_env(tmp_path_factory: pytest.TempPathFactory, arm64_sysroot: provision.Sysroot,
                aarch64_gcc: str) -> Path:
    """One cross environment for arm64, shared by the tests that only use it."""
    env = tmp_path_factory.mktemp("envs") / "aarch64"
    run([*crossenv_cmd(), arm64_sysroot.python, env])
    return env


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


@pytest.fixture(scope="session")
def aarch64_target(arm64_sysroot: provision.Sysroot, qemu_aarch64: str) -> Target:
    return Target(arm64_sysroot, qemu_aarch64)


def unpack_wheels(wheels: Sequence[Path], dest: Path) -> Path:
    """Install wheels the simplest way the target python can import them from."""
    dest.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(dest)
    return dest
