"""scipy for aarch64 from its PyPI sdist, as a new user builds it: isolation on, no flags.

What scipy needs of crossenv beyond numpy's needs: the host's Fortran compiler in the
meson cross file (``<triplet>-gfortran``, behind the path-guard wrapper and linking the
sysroot's C library), and BLAS/LAPACK found in the sysroot through the ``.pc`` files
and ``.so`` links that Debian's alternatives make (``--package libopenblas-dev``).

The default run builds tests/sources/fortlapack, the same shape in small (a Fortran
file calling LAPACK's ``dgesv`` through ``dependency('lapack')``, a C extension calling
it), checks it with ``crossenv check --import`` and runs it under qemu: about a
minute. ``nox -s scipy`` (``CROSSENV_SCIPY_FULL=1``) builds scipy itself (about an hour
on two busy cores), repairs it and checks it with ``--import`` (every extension module
imported under qemu) and runs parts of scipy's own linalg, special and sparse tests
under qemu.
``CROSSENV_TEST_SCIPY_WHEEL=FILE`` reuses a wheel built earlier during development.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crossenv import arches, provision
from helpers import Target, crossenv_cmd, require, run, shared_build, unpack_wheels
from test_numpy import PYTEST_WHEELS

SOURCES = Path(__file__).parent / "sources"
SCIPY = os.environ.get("CROSSENV_TEST_SCIPY", "scipy==1.17.1")  # the newest for Python 3.11
FULL = os.environ.get("CROSSENV_SCIPY_FULL") == "1"
ROW = arches.by_debian("arm64")
GFORTRAN = f"{ROW.triplet}-gfortran"


@pytest.fixture(scope="session")
def openblas_sysroot() -> provision.Sysroot:
    """arm64 bookworm with OpenBLAS: its libblas.so.3/liblapack.so.3 and .pc links are
    made by provisioning (Debian's alternatives; dpkg -x alone leaves them out)."""
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian arm64 sysroot")
    return provision.provision_debian("arm64", None, ["libopenblas-dev"])


@pytest.fixture(scope="session")
def openblas_env(tmp_path_factory: pytest.TempPathFactory,
                 openblas_sysroot: provision.Sysroot, aarch64_gcc: str) -> Path:
    require(shutil.which(GFORTRAN),
            f"{GFORTRAN} is needed (apt-get install gfortran-{ROW.triplet})")
    env = tmp_path_factory.mktemp("envs") / "aarch64-openblas"
    run([*crossenv_cmd(), openblas_sysroot.python, env])
    return env


@pytest.fixture(scope="session")
def openblas_target(openblas_sysroot: provision.Sysroot, qemu_aarch64: str) -> Target:
    return Target(openblas_sysroot, qemu_aarch64)


#: meson adds a RUNPATH for a dependency's library outside the linker's own directories
#: (Debian's lapack.pc says openblas-pthread/), and meson-python keeps it in the wheel on
#: purpose ("installed binaries need the absolute paths to find their external
#: dependencies"): a native build on the host does the same. ``crossenv check --env``
#: accepts it in a linux_aarch64 wheel (a library directory of the host's sysroot) and
#: flags it in a manylinux one; ``crossenv repair`` replaces it with bundled copies.
OPENBLAS_RUNPATH = f"/usr/lib/{ROW.multiarch}/openblas-pthread"


def _check(env: Path | None, wheel: Path, *args: str) -> list[tuple[str, str]]:
    """``crossenv check --json`` (against *env*, or the tag's policy): (code, message)
    of each problem."""
    where = ["--env", str(env)] if env is not None else []
    environ = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    proc = subprocess.run([*crossenv_cmd(), "check", *where, "--json", *args, str(wheel)],
                          capture_output=True, text=True, timeout=3600, env=environ)
    assert proc.returncode in (0, 1), proc.stderr
    (report,) = json.loads(proc.stdout)["wheels"]
    return [(p["code"], p["message"]) for p in report["problems"]]


def _runpath_is_the_hosts(env: Path, wheel: Path, *args: str) -> None:
    """The wheel passes check against its env; its RUNPATH is the host's openblas-pthread,
    which only a check without the host's files (the tag's policy) reports."""
    assert _check(env, wheel, *args) == []
    problems = _check(None, wheel)
    assert problems, "the RUNPATH meson-python keeps is gone: update OPENBLAS_RUNPATH's note"
    for code, message in problems:
        assert code == "elf-rpath" and f"RUNPATH entry {OPENBLAS_RUNPATH!r}" in message, message


def _repaired_passes_check_with_import(env: Path, wheel: Path, out: Path) -> Path:
    """``crossenv repair`` bundles liblapack, OpenBLAS and libgfortran from the sysroot;
    ``check --import`` then finds nothing: the offline loader resolves every library,
    and every extension module imports with the host's python under qemu."""
    run([*crossenv_cmd(), "repair", "--env", env, "-w", out, wheel], timeout=3600)
    (repaired,) = out.glob("*manylinux*.whl")
    proc = run([*crossenv_cmd(), "check", "--env", env, "--import", repaired], timeout=3600)
    assert proc.stdout.strip() == f"{repaired}: OK"
    return repaired


@pytest.mark.integration
@pytest.mark.slow(minutes=2)  # an environment and an isolated meson-python build
def test_fortran_calling_lapack_from_the_sysroot(openblas_env: Path,
                                                 openblas_sysroot: provision.Sysroot,
                                                 openblas_target: Target,
                                                 tmp_path: Path) -> None:
    """scipy's smoke: meson finds the wrapped gfortran and the sysroot's LAPACK, the
    modules import in check --import, and the extension solves a system under qemu."""
    src = tmp_path / "fortlapack"
    shutil.copytree(SOURCES / "fortlapack", src)
    out = tmp_path / "wheels"
    proc = run([openblas_env / "bin" / "cross-pip", "wheel", "--no-deps", src, "-w", out, "-v"],
               timeout=1800)
    log = proc.stdout + proc.stderr
    crossenv_dir = openblas_env / "cross" / "crossenv"
    wrapper = crossenv_dir / "bin" / GFORTRAN
    # the path guard's wrapper, and links that see the sysroot's C library (hostlibc)
    cross_file = (crossenv_dir / "meson-cross.ini").read_text()
    assert f"fortran = ['{wrapper}', '--sysroot={openblas_sysroot.root}', " \
           f"'-B{crossenv_dir / 'hostlibc'}/']" in cross_file, cross_file
    assert re.search(rf"Fortran compiler for the host machine: {re.escape(str(wrapper))} "
                     r".*GNU Fortran", log), log[-3000:]
    assert re.search(r"Run-time dependency lapack found: YES", log), log[-3000:]
    (wheel,) = out.glob("fortlapack-*-linux_aarch64.whl")
    # the loader finds liblapack.so.3 (an alternatives link) and libgfortran.so.5 in the
    # sysroot and the module imports under qemu; the RUNPATH is the host's own directory
    _runpath_is_the_hosts(openblas_env, wheel, "--import")
    site = unpack_wheels([wheel], tmp_path / "site")
    code = "import fortlapack; print(fortlapack.solve(3, 1, 1, 2, 9, 8))"
    stdout = openblas_target.python("-c", code, path=[site]).stdout
    assert stdout.strip() == "(2.0, 3.0, 'info=0 x= 2.0, 3.0')"


# -- scipy itself: nox -s scipy -----------------------------------------------------------

#: the parts of scipy's own tests run under qemu: LAPACK through the f2py-built Fortran
#: wrappers, special functions (C++ and Cython), and the SuperLU solver of sparse
#: matrices. About 280 tests; a few minutes under qemu on two idle cores (measured with
#: PyPI's scipy 1.17.1 on a load of 16: linalg's TestSolve alone, 1,310 tests, did not
#: finish in 20 minutes, hence the classes below).
SCIPY_TESTS = {
    "linalg": ("linalg/tests/test_basic.py",
               "TestInv or TestDet or TestSolveBanded or TestSolveTriangular"),
    "special": ("special/tests/test_basic.py", "TestGamma or TestBessel or TestErf"),
    "sparse": ("sparse/linalg/_dsolve/tests/test_linsolve.py", "TestLinsolve or TestSplu"),
}


def _build_scipy(env: Path, out: Path) -> None:
    # exactly what a user types: isolation on, no flags
    run([env / "bin" / "cross-pip", "wheel", "--no-binary", "scipy", "--no-deps", SCIPY,
         "--no-cache-dir", "-w", out], timeout=3 * 3600, log=out.parent / "scipy-build.log")


@pytest.fixture(scope="session")
def scipy_wheel(openblas_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("CROSSENV_TEST_SCIPY_WHEEL")
    if given:
        return Path(given)
    out = shared_build(tmp_path_factory, "scipy-linux_aarch64",
                       lambda d: _build_scipy(openblas_env, d))
    (wheel,) = out.glob("scipy-*-linux_aarch64.whl")
    return wheel


@pytest.fixture(scope="session")
def scipy_site(scipy_wheel: Path, openblas_env: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scipy, the host numpy it was built against (as cross-pip downloads it for the
    host) and pytest with hypothesis, importable by the host's python."""
    built = sorted((openblas_env / "cross" / "crossenv" / "host-packages").glob("numpy-*[0-9]"))
    numpy = f"numpy=={built[-1].name.split('-', 1)[1]}" if built else "numpy"
    wheels = tmp_path_factory.mktemp("scipy-wheels")
    run([openblas_env / "bin" / "cross-pip", "download", "--only-binary", ":all:", "--no-deps",
         numpy, "-d", wheels], timeout=600)
    site = unpack_wheels([scipy_wheel, *wheels.glob("numpy-*.whl")],
                         tmp_path_factory.mktemp("scipy-site"))
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", site,
         *PYTEST_WHEELS])
    return site


def scipy_wheel_passes_check_with_import(openblas_env: Path, scipy_wheel: Path,
                                         tmp_path: Path) -> None:
    """The wheel as built passes check --import against its env (every extension module,
    about 120, imports on the host; its RUNPATH is the host's openblas-pthread), and so
    does the manylinux wheel that repair makes of it."""
    assert re.fullmatch(r"scipy-[0-9.]+-cp311-cp311-linux_aarch64\.whl", scipy_wheel.name)
    _runpath_is_the_hosts(openblas_env, scipy_wheel, "--import")
    repaired = _repaired_passes_check_with_import(openblas_env, scipy_wheel, tmp_path)
    print(f"{scipy_wheel.name}: {scipy_wheel.stat().st_size} bytes; "
          f"{repaired.name}: {repaired.stat().st_size} bytes")


def scipy_tests_pass_under_qemu(part: str, scipy_site: Path, openblas_target: Target) -> None:
    path, select = SCIPY_TESTS[part]
    proc = openblas_target.python(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", select,
        scipy_site / "scipy" / path, path=[scipy_site])
    summary = proc.stdout.strip().splitlines()[-1]
    print(f"scipy.{part}: {summary}")
    assert re.search(r"\b[1-9][0-9]* passed", summary) and "failed" not in summary, summary


if FULL:  # nox -s scipy: collected only there (not a skip in the default run)
    test_scipy_wheel_passes_check_with_import = pytest.mark.integration(
        pytest.mark.slow(minutes=60)(scipy_wheel_passes_check_with_import))
    test_scipy_tests_pass_under_qemu = pytest.mark.integration(
        pytest.mark.parametrize("part", sorted(SCIPY_TESTS))(scipy_tests_pass_under_qemu))
