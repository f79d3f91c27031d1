"""Developer tasks. ``nox -s tests`` is the test command CI runs (see .ci/run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
ROOT = Path(__file__).parent
UNIT_PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def _pyenv_versions() -> None:
    """pyenv's shims answer only for the selected versions (python3.9 -> "command not
    found" while 3.11 is global): select every installed one, the current first, so nox
    finds each python3.X. Without pyenv nox looks on PATH as usual; a missing interpreter
    is skipped with a warning, and is an error in CI (nox's --error-on-missing-interpreters
    is on when CI is set)."""
    try:  # pyenv's shim that started nox already set PYENV_VERSION to the current one
        names = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True,
                               text=True, check=True).stdout.split()
        current = os.environ.get("PYENV_VERSION") or subprocess.run(
            ["pyenv", "version-name"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return
    selected = current.split(":")
    wanted = tuple(f"{v}." for v in UNIT_PYTHONS)  # not 3.7: tests expect it to be absent
    more = [n for n in names if n.startswith(wanted) and "/" not in n and n not in selected]
    if more:
        os.environ["PYENV_VERSION"] = ":".join([*selected, *more])


# Only for the unit session: the other sessions must find interpreters as users' machines
# do (tests of build-Python discovery and of provided Debian Pythons depend on it).
if any(arg == "unit" or arg.startswith("unit-") or arg.startswith("unit(")
       for arg in sys.argv):
    _pyenv_versions()


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: unit tests and real cross builds run under qemu."""
    session.install("-e", ".[test,repair,zig]")
    args = session.posargs or ["-n", "2", "--durations=15"]
    session.run("pytest", *args, env={"CROSSENV_TEST_SESSION": "nox"})


@nox.session(python=UNIT_PYTHONS)
def unit(session: nox.Session) -> None:
    """The tests that need no cross toolchain (not marked integration), on every supported
    Python: the code and the runtime shim must work on each."""
    session.install("-e", ".[test]")
    args = session.posargs or ["-n", "2"]
    session.run("pytest", "-m", "not integration", *args,
                env={"CROSSENV_TEST_SESSION": "nox"})


@nox.session(python="3.11")  # the arm64 sysroot's python is 3.11: the build python must match
@nox.parametrize("end", [nox.param("oldest", id="oldest"), nox.param("newest", id="newest")])
def compat(session: nox.Session, end: str) -> None:
    """The core cross builds (setuptools C + Cython, meson-python, scikit-build-core through
    cross-pip, pypa/build and uv) with the oldest (tests/compat-oldest.txt) or the newest
    pip, setuptools, meson-python, scikit-build-core, build, packaging and virtualenv."""
    session.install("-e", ".[test]")
    if end == "oldest":
        session.install("-c", "tests/compat-oldest.txt", "virtualenv", "packaging")
    else:
        session.install("--upgrade", "virtualenv", "packaging")
    args = session.posargs or ["-n", "2", "-s", "--durations=0"]
    session.run("pytest", "-m", "compat", *args, "tests/test_compat_versions.py",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_COMPAT_END": end})


@nox.session
def matrix(session: nox.Session) -> None:
    """Every Python the Debian releases ship (3.9, 3.11, 3.13, 3.14, sid's 3.15) x
    aarch64/riscv64, on provided build Pythons, each wheel checked with --import; numpy on
    3.13. Prints a VERSIONS row per combination."""
    session.install("-e", ".[test,repair]")
    args = session.posargs or ["-n", "2", "-s", "--durations=15"]
    session.run("pytest", *args, "tests/test_versions.py", "-k", "version_env",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_MATRIX": "1"})


@nox.session
def buildwheel(session: nox.Session) -> None:
    """crossenv buildwheel's full acceptance run: tests/sources/cibw-project for aarch64,
    armv7l, ppc64le and s390x on cp311 (bookworm) and cp314 (sid, pypa/build with uv),
    tested under qemu."""
    session.install("-e", ".[test,repair,zig]")
    args = session.posargs or ["-n", "0", "-s", "--durations=15"]
    session.run("pytest", *args, "tests/test_buildwheel.py", "-k", "builds_tested",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_BUILDWHEEL_FULL": "1"})


@nox.session
def launchers(session: nox.Session) -> None:
    """Compiler caches on rebuilt sdists: sccache for every backend too (the default run
    has ccache for every backend and sccache for setuptools)."""
    session.install("-e", ".[test,repair,zig]")
    args = session.posargs or ["-n", "2", "-s", "--durations=10"]
    session.run("pytest", *args, "tests/test_launchers.py", "-k", "rebuilt_sdist",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_LAUNCHERS_FULL": "1"})


@nox.session
def rust(session: nox.Session) -> None:
    """The full Rust run: maturin and setuptools-rust wheels for aarch64 and armhf, and the
    zig env's manylinux2014 wheel, all imported under qemu (the default run builds aarch64
    with both backends)."""
    session.install("-e", ".[test,repair,zig]")
    args = session.posargs or ["-n", "0", "-s", "--durations=10"]
    session.run("pytest", *args, "tests/test_rust.py",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_RUST_FULL": "1"})


@nox.session
def numpy(session: nox.Session) -> None:
    """numpy cross-built for arm64 and armhf (both built at once, on two workers), each
    checked with --import and under qemu with all of numpy's test_umath.py, and the
    C-API package and spglib on armhf against it; the default run builds no numpy (its
    C-API package compiles for arm64 against PyPI's numpy wheel)."""
    session.install("-e", ".[test,repair,zig]")
    args = session.posargs or ["-n", "2", "--durations=10"]
    session.run("pytest", *args, "tests/test_numpy.py",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_NUMPY_FULL": "1"})


@nox.session
def scipy(session: nox.Session) -> None:
    """scipy cross-built for arm64 from its sdist with no flags (an OpenBLAS sysroot,
    gfortran-aarch64-linux-gnu), repaired, checked with --import, and parts of its
    linalg, special and sparse tests run under qemu (about an hour on two cores); the
    default run builds tests/sources/fortlapack, the same shape in small."""
    session.install("-e", ".[test,repair,zig]")
    args = session.posargs or ["-n", "0", "-s", "--durations=10"]
    session.run("pytest", *args, "tests/test_scipy.py",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_SCIPY_FULL": "1"})


@nox.session
def corpus(session: nox.Session) -> None:
    """Every real PyPI sdist of tests/corpus/corpus.toml, across backends, front-ends,
    arches and Pythons: built as users build it, checked with --import, its code run
    under qemu; and of tests/corpus/buildwheel.toml, through crossenv buildwheel with its
    own cibuildwheel configuration (the default run builds the smoke entries)."""
    session.install("-e", ".[test,repair,zig]")
    args = session.posargs or ["-n", "2", "--durations=0"]
    session.run("pytest", *args, "tests/test_corpus.py", "tests/test_corpus_buildwheel.py",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_CORPUS": "1"})


@nox.session
def cxx(session: nox.Session) -> None:
    """C++ extensions for manylinux (crossenv.cxxruntime): pybind11 with setuptools and with
    scikit-build-core, and nanobind, for manylinux_2_28 and manylinux2014, on arm64 and
    s390x, with exceptions crossing module boundaries under qemu (the default run builds
    both pybind11 pairs for aarch64); and nanobind_add_stub importing its module with the
    host python during the build (tests/sources/nbstub)."""
    session.install("-e", ".[test,repair,zig]")
    args = session.posargs or ["-n", "2", "-s", "--durations=10"]
    session.run("pytest", *args, "tests/test_cxxruntime.py",
                "tests/test_targetroot.py::test_nanobind_stub_from_host_python",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_CXX_FULL": "1"})


@nox.session
def compat1x(session: nox.Session) -> None:
    """crossenv 1.x's whole test suite (from its PyPI sdist) against this crossenv, on the
    aarch64 testbed, every documented difference a strict xfail (the default run takes a
    part, tests/test_compat1x.py's SMOKE). With arguments, the driver itself:
    nox -s compat1x -- [--crossenv SPEC] [--raw] [-- PYTEST_ARGS]."""
    session.install("-e", ".[test]")
    if session.posargs:
        session.run("python", "tests/compat1x/run.py", *session.posargs)
        return
    session.run("pytest", "-n", "0", "--durations=5", "tests/test_compat1x.py",
                env={"CROSSENV_TEST_SESSION": "nox", "CROSSENV_COMPAT1X_FULL": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and shellcheck on the shell templates crossenv fills in (src/crossenv/templates:
    every one is POSIX sh; each check a template turns off is named there with why)."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "src", "tests", "benchmarks", "scripts", "noxfile.py")
    if shutil.which("shellcheck") is None:
        session.error("shellcheck is needed (apt-get install shellcheck; .ci/apt-packages.txt)")
    templates = sorted(str(p) for p in (ROOT / "src" / "crossenv" / "templates").glob("*.sh"))
    session.run("shellcheck", "--shell=sh", *templates, external=True)


@nox.session
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "-b", "html", "docs", "docs/_build/html")


@nox.session
def demo(session: nox.Session) -> None:
    """Provision a Debian arm64 host Python, cross-build msgpack from its sdist with build
    isolation on, repair it to a manylinux wheel, check it, and run it under qemu."""
    session.install("-e", ".[repair]")
    work = ROOT / "demo"
    env = work / "env-aarch64"
    built = work / "built"
    wheelhouse = work / "wheelhouse"
    host_python = session.run("crossenv", "provision", "--arch", "arm64", silent=True)
    assert isinstance(host_python, str)
    host_python = host_python.strip().splitlines()[-1]
    session.run("crossenv", "--clear", host_python, str(env))
    session.run(str(env / "bin" / "cross-python"), "-c",
                "import sys, platform, sysconfig; "
                "print('cross-python reports', platform.machine(), sysconfig.get_platform())",
                external=True)
    for old in [*built.glob("*.whl"), *wheelhouse.glob("*.whl")]:
        old.unlink()
    session.run(str(env / "bin" / "cross-pip"), "wheel", "--no-binary", "msgpack", "--no-deps",
                "msgpack", "-w", str(built), external=True)
    (linux_wheel,) = built.glob("msgpack-*.whl")
    # linux_aarch64 -> manylinux_2_X_aarch64, libraries resolved in the sysroot
    session.run("crossenv", "repair", "--env", str(env), "-w", str(wheelhouse), str(linux_wheel))
    (wheel,) = wheelhouse.glob("msgpack-*manylinux*_aarch64.whl")
    session.run("crossenv", "check", "--env", str(env), str(wheel))
    session.run("crossenv", "run", str(env), "--install", str(wheel), "--", "python", "-c",
                "import msgpack, msgpack._cmsgpack, platform; "
                "data = msgpack.packb({'hello': 'aarch64'}); "
                "print('on the host:', platform.machine(), msgpack.unpackb(data))")
    session.log(f"built {wheel.name} and ran it under qemu; the environment is {env}")
