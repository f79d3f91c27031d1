"""numpy cross-built with no extra flags (meson-python, isolation on) and used on the host.

Heavy: numpy is built once per run and architecture (15 minutes for armhf on a loaded
2-core machine), so the builds are in ``nox -s numpy`` (arm64 and armhf, each run under
qemu against numpy's test_umath.py and checked with ``--import``), with a package
compiled against numpy's C API and a PyPI sdist that does the same (spglib,
scikit-build-core) on 32-bit armhf, where the build machine's numpy headers (8-byte
long) would be wrong. The default run compiles the C-API package for arm64 against
PyPI's numpy wheel, which the host-requirements hook installs as a user's build gets it
(tests/test_cmake.py does the same for spglib). ``CROSSENV_TEST_NUMPY_WHEELS=DIR`` reuses
wheels built earlier (``numpy-*-linux_aarch64.whl`` / ``numpy-*-linux_armv7l.whl`` in
DIR) during development.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossenv import arches, provision
from helpers import Target, require, run, shared_build, unpack_wheels

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src" / "crossenv" / "runtime"))
import _crossenv_hostreqs

SOURCES = Path(__file__).parent / "sources"
NUMPY = os.environ.get("CROSSENV_TEST_NUMPY", "numpy==2.3.5")
#: nox -s numpy (CROSSENV_NUMPY_FULL=1) builds numpy for arm64 and armhf and runs all of
#: test_umath.py on each; the default run builds none (see the module docstring)
FULL = os.environ.get("CROSSENV_NUMPY_FULL") == "1"
NUMPY_ARCHES = ["arm64", "armhf"]
#: the C-API package's hosts: arm64 with PyPI's numpy in the default run, armhf (32-bit)
#: with the numpy built here as well in nox -s numpy
CAPI_ARCHES = ["arm64", "armhf"] if FULL else ["arm64"]
# Pure-python test tools for the target (hypothesis pinned before it grew native parts).
PYTEST_WHEELS = ("pytest", "iniconfig", "pluggy", "packaging", "pygments",
                 "hypothesis==6.112.0", "attrs", "sortedcontainers")


def _prebuilt(tag: str) -> Path | None:
    directory = os.environ.get("CROSSENV_TEST_NUMPY_WHEELS")
    if not directory:
        return None
    found = sorted(Path(directory).glob(f"numpy-*-{tag}.whl"))
    return found[-1] if found else None


def _build_numpy(env: Path, out: Path) -> None:
    # exactly what a user types: isolation on, no flags
    run([env / "bin" / "cross-pip", "wheel", "--no-binary", "numpy", "--no-deps", NUMPY,
         "--no-cache-dir", "-w", out], timeout=3600)


def _shared_numpy(env: Path, factory: pytest.TempPathFactory, tag: str) -> Path:
    """numpy for *tag*, built once per run whichever worker asks first."""
    wheel = _prebuilt(tag)
    if wheel is not None:
        return wheel
    out = shared_build(factory, f"numpy-{tag}", lambda d: _build_numpy(env, d))
    (wheel,) = out.glob(f"numpy-*-{tag}.whl")
    return wheel


@pytest.fixture(scope="session")
def test_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pytest and hypothesis, pure python: importable by any host python."""
    dest = tmp_path_factory.mktemp("target-tools")
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", dest,
         *PYTEST_WHEELS])
    return dest


@pytest.fixture(scope="session")
def numpy_arm64(aarch64_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _shared_numpy(aarch64_env, tmp_path_factory, "linux_aarch64")


@pytest.fixture(scope="session")
def armhf_sysroot() -> provision.Sysroot:
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian armhf sysroot")
    return provision.provision_debian("armhf")


@pytest.fixture(scope="session")
def arm64_target(aarch64_target: Target) -> Target:
    return aarch64_target


@pytest.fixture(scope="session")
def armhf_target(armhf_sysroot: provision.Sysroot) -> Target:
    qemu = provision.find_qemu("armhf")
    require(qemu, "qemu-user-static (qemu-arm) is needed to run armhf code")
    assert qemu is not None
    return Target(armhf_sysroot, qemu)


@pytest.fixture(scope="session")
def armhf_env(tmp_path_factory: pytest.TempPathFactory,
              armhf_sysroot: provision.Sysroot) -> Path:
    for tool in ("arm-linux-gnueabihf-gcc", "arm-linux-gnueabihf-g++"):
        require(shutil.which(tool), f"{tool} is needed (apt-get install gcc-arm-linux-gnueabihf "
                "g++-arm-linux-gnueabihf)")
    env = tmp_path_factory.mktemp("envs") / "armhf"
    run([sys.executable, "-m", "crossenv", armhf_sysroot.python, env])
    return env


@pytest.fixture(scope="session")
def numpy_armhf(armhf_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _shared_numpy(armhf_env, tmp_path_factory, "linux_armv7l")


@pytest.fixture
def host_wheels(numpy_armhf: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Let the host-requirements hook find the armhf numpy built above (no rebuild)."""
    links = " ".join(filter(None, [str(numpy_armhf.parent), os.environ.get("PIP_FIND_LINKS")]))
    monkeypatch.setenv("PIP_FIND_LINKS", links)
    yield numpy_armhf.parent


SMOKE = (
    "import numpy as np, platform\n"
    "assert np.arange(10).sum() == 45\n"
    "x = np.linalg.solve(np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([9.0, 8.0]))\n"
    "assert np.allclose(x, [2.0, 3.0]), x\n"
    "fi = np.finfo(np.longdouble)\n"
    "print(platform.machine(), np.dtype(np.intp).itemsize, fi.nmant, fi.nexp, fi.dtype.itemsize)\n"
)
#: np.finfo(np.longdouble) (nmant, nexp, itemsize) per numpy long double format
LONGDOUBLE = {"IEEE_QUAD_LE": (112, 15, 16), "IEEE_DOUBLE_LE": (52, 11, 8)}


def numpy_works_on_the_host(arch: str, request: pytest.FixtureRequest, test_tools: Path,
                            tmp_path: Path) -> None:
    """The wheel imports under qemu, computes, describes the host (pointer size, long
    double format from the architecture table) and passes numpy's own ufunc tests."""
    wheel: Path = request.getfixturevalue(f"numpy_{arch}")
    target: Target = request.getfixturevalue(f"{arch}_target")
    row = arches.by_debian(arch)
    site = unpack_wheels([wheel], tmp_path / "site")
    out = target.python("-c", SMOKE, path=[site]).stdout.split()
    expected = [row.machine, str(row.pointer_size), *map(str, LONGDOUBLE[row.longdouble])]
    assert out == expected
    proc = target.python(
        "-m", "pytest", "-q", "-p", "no:cacheprovider",
        site / "numpy" / "_core" / "tests" / "test_umath.py", path=[site, test_tools])
    assert " passed" in proc.stdout and " failed" not in proc.stdout


def check_imports_every_numpy_extension(arch: str, request: pytest.FixtureRequest) -> None:
    """``crossenv check --import``: the offline loader passes numpy (its Cython random
    modules included), and every extension module imports with the host python."""
    wheel: Path = request.getfixturevalue(f"numpy_{arch}")
    env: Path = request.getfixturevalue("aarch64_env" if arch == "arm64" else f"{arch}_env")
    proc = run([sys.executable, "-m", "crossenv", "check", "--env", env, "--import", wheel],
               timeout=1800)
    assert proc.stdout.strip() == f"{wheel}: OK"


@pytest.mark.integration
@pytest.mark.parametrize("arch", CAPI_ARCHES)
def test_numpy_c_api_package(arch: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """tests/sources/npyext: meson ``dependency('numpy')`` must see the host's headers
    (on armhf a C long and npy_intp of 4 bytes, where the build machine's say 8)."""
    env: Path = request.getfixturevalue("aarch64_env" if arch == "arm64" else f"{arch}_env")
    target: Target = request.getfixturevalue(f"{arch}_target")
    if arch == "armhf":
        request.getfixturevalue("host_wheels")  # PyPI has none: the numpy built here
    src = tmp_path / "npyext"
    shutil.copytree(SOURCES / "npyext", src)
    out = tmp_path / "wheels"
    proc = run([env / "bin" / "cross-pip", "wheel", "--no-deps", src, "-w", out, "-v"],
               timeout=1800)
    # meson ran numpy-config through cross-python, where numpy reports the host copy
    assert f"numpy-config found: YES ({env}/cross/bin/python -m numpy._configtool)" \
        in proc.stdout + proc.stderr
    # meson runs under the native build python and sees this machine as the build machine
    assert f"Build machine cpu: {platform.machine()}" in proc.stdout + proc.stderr
    # the host numpy the hook installed (other tests sharing the env may add other
    # versions) is the one compiled against and run with
    found = re.search(r"Run-time dependency numpy found: YES (\S+)", proc.stdout + proc.stderr)
    assert found, (proc.stdout + proc.stderr)[-3000:]
    host_numpy = env / "cross" / "crossenv" / "host-packages" / f"numpy-{found.group(1)}"
    assert (host_numpy / "numpy").is_dir(), sorted(host_numpy.parent.iterdir())
    row = arches.by_debian(arch)
    (wheel,) = out.glob(f"npyext-*-linux_{row.machine}.whl")
    site = unpack_wheels([wheel], tmp_path / "site")
    code = ("import npyext, numpy as np; print(sorted(npyext.abi().values()), "
            "npyext.sum_long(np.arange(10)))")
    stdout = target.python("-c", code, path=[site, host_numpy]).stdout
    assert stdout.split() == f"{[row.pointer_size] * 4} 45".split()


def pypi_sdist_against_numpy_headers_armhf(armhf_env: Path, armhf_target: Target,
                                           numpy_armhf: Path, host_wheels: Path,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """spglib (scikit-build-core, FindPython NumPy) on armhf.

    Its build resolves the newest native numpy; the host numpy is declared instead
    (CROSSENV_HOST_REQUIREMENTS), so the armhf numpy built above is used.
    """
    version = numpy_armhf.name.split("-")[1]
    monkeypatch.setenv("CROSSENV_HOST_REQUIREMENTS", f"numpy=={version}")
    out = tmp_path / "wheels"
    run([armhf_env / "bin" / "cross-pip", "wheel", "--no-deps", "--no-cache-dir",
         "--no-binary", "spglib", "spglib==2.8.0", "-w", out], timeout=1800)
    (wheel,) = out.glob("spglib-*-linux_armv7l.whl")
    site = unpack_wheels([wheel, numpy_armhf], tmp_path / "site")
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", site,
         "typing_extensions"])
    code = ("import spglib; cell = ([[4,0,0],[0,4,0],[0,0,4]], [[0,0,0],[0.5,0.5,0.5]], "
            "[1,1]); print(spglib.get_spacegroup(cell))")
    assert armhf_target.python("-c", code, path=[site]).stdout.split() == ["Im-3m", "(229)"]


if FULL:  # nox -s numpy: collected only there (not a skip in the default run)
    test_numpy_works_on_the_host = pytest.mark.integration(pytest.mark.slow(minutes=9)(
        pytest.mark.parametrize("arch", NUMPY_ARCHES)(numpy_works_on_the_host)))
    test_check_imports_every_numpy_extension = pytest.mark.integration(
        pytest.mark.parametrize("arch", NUMPY_ARCHES)(check_imports_every_numpy_extension))
    test_pypi_sdist_against_numpy_headers_armhf = pytest.mark.integration(
        pypi_sdist_against_numpy_headers_armhf)


# -- target requirements, without building anything -----------------------------------------

def test_requirement_defaults_to_the_native_version(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CROSSENV_HOST_REQUIREMENTS", raising=False)
    assert _crossenv_hostreqs.requirement_for("numpy", "2.4.6") == "numpy==2.4.6"


def test_declared_requirements_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CROSSENV_HOST_REQUIREMENTS", "pybind11 NumPy==2.3.5")
    assert _crossenv_hostreqs.requirement_for("numpy", "2.4.6") == "NumPy==2.3.5"
    monkeypatch.delenv("CROSSENV_HOST_REQUIREMENTS")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.crossenv]\nhost-requirements = ["numpy>=2.0,<2.4"]\n')
    assert _crossenv_hostreqs.requirement_for("numpy", "2.4.6") == "numpy>=2.0,<2.4"


def test_patch_numpy_points_every_get_include_at_the_host(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """numpy-config imports get_include from numpy.lib._utils_impl: both are replaced."""
    import types

    host_include = tmp_path / "target" / "numpy-9.9" / "numpy" / "_core" / "include"
    host_include.mkdir(parents=True)
    (tmp_path / "target" / "numpy-9.9" / ".crossenv-complete").write_text("")
    monkeypatch.setenv("CROSSENV_HOST_PACKAGES", str(tmp_path / "target"))
    monkeypatch.delenv("CROSSENV_HOST_REQUIREMENTS", raising=False)
    monkeypatch.delenv("CROSSENV_NUMPY_INCLUDE", raising=False)
    monkeypatch.chdir(tmp_path)

    def native() -> str:
        return "/native/numpy/_core/include"

    numpy = types.ModuleType("numpy")
    numpy.__version__ = "9.9"  # type: ignore[attr-defined]
    numpy.get_include = native  # type: ignore[attr-defined]
    utils = types.ModuleType("numpy.lib._utils_impl")
    utils.get_include = native  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "numpy.lib._utils_impl", utils)
    _crossenv_hostreqs.patch_numpy(numpy)
    assert numpy.get_include() == str(host_include)
    assert utils.get_include() == str(host_include)
    _crossenv_hostreqs.patch_numpy(numpy)  # idempotent
    assert numpy.get_include() == str(host_include)


def test_patch_numpy_falls_back_without_a_target_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    monkeypatch.delenv("CROSSENV_HOST_PACKAGES", raising=False)
    monkeypatch.delenv("CROSSENV_NUMPY_INCLUDE", raising=False)
    numpy = types.ModuleType("numpy")
    numpy.__version__ = "1.0"  # type: ignore[attr-defined]
    numpy.get_include = lambda: "/native"  # type: ignore[attr-defined]
    _crossenv_hostreqs.patch_numpy(numpy)
    assert numpy.get_include() == "/native"


def test_generator_exports_declared_requirements(tmp_path: Path) -> None:
    from crossenv import backends
    from crossenv.model import Layout, Options

    layout = Layout(env=Path("/final/env"), cross=Path("/final/env/cross"))
    env = backends.make(tmp_path, layout, None, None,  # type: ignore[arg-type]
                        Options(host_requirements=["numpy==2.3.5", " scipy "]), ["hostreqs"])
    assert env == {"CROSSENV_HOST_PACKAGES": "/final/env/cross/crossenv/host-packages",
                   "CROSSENV_HOST_REQUIREMENTS": "numpy==2.3.5\nscipy"}
    assert (tmp_path / "host-packages").is_dir()
