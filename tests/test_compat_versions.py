"""The core cross builds against the oldest and the newest supported moving parts.

``nox -s "compat(oldest)"`` and ``nox -s "compat(newest)"`` run every case here: a
setuptools C + Cython extension (tests/sources/hello), a meson-python and a
scikit-build-core extension, each built through cross-pip, pypa/build and uv, checked with
``crossenv check`` and imported by the arm64 sysroot's python under qemu. The default
``nox -s tests`` runs one smoke (the oldest pip and setuptools, cross-pip).

How each version reaches the build:

- virtualenv, packaging: crossenv's own dependencies, pinned in the session's venv by nox
  (the test asserts the pins arrived).
- pip, setuptools, build: installed into ENV/build and ENV/cross after creation.
- the build backends in isolated build environments: a constraints file, given to pip as
  PIP_CONSTRAINT (pip < 25.3 passes it on to the build environment's install) *and*
  PIP_BUILD_CONSTRAINT (pip >= 25.3 reads only that one for build environments), and to uv
  as UV_BUILD_CONSTRAINT. Every extension reports the backend version it was built with
  and the test compares it with the pin, so a constraint that stopped reaching the build
  environment fails here instead of silently testing the newest release.
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from crossenv import arches, elfarch, versions
from helpers import ROOT, Target, crossenv_cmd, require, run, unpack_wheels

# nox -s compat(oldest|newest) sets this; unset, only the smoke runs (in nox -s tests)
END = os.environ.get("CROSSENV_COMPAT_END", "")
IN_ENV = ("pip", "setuptools", "build")  # installed into ENV/build and ENV/cross
BACKENDS = ("setuptools", "meson-python", "scikit-build-core")
FRONTENDS = ("cross-pip", "build", "uv")
EXT_SUFFIX = ".cpython-311-aarch64-linux-gnu.so"


def _cases() -> list[tuple[str, str]]:
    if END:
        return [(backend, frontend) for backend in BACKENDS for frontend in FRONTENDS]
    return [("setuptools", "cross-pip")]


def oldest_pins() -> dict[str, str]:
    """tests/compat-oldest.txt, the constraints nox installs the session's venv with."""
    pins = {}
    for line in (ROOT / "tests" / "compat-oldest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip()] = version.strip()
    return pins


def _newest(name: str) -> str:
    out = run([sys.executable, "-m", "pip", "index", "versions", name]).stdout
    match = re.search(rf"^{re.escape(name)} \(([^)]+)\)", out, re.MULTILINE | re.IGNORECASE)
    assert match, out
    return match.group(1)


def _installed(python: Path, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    return run([python, "-c", code]).stdout.strip()


def _same(found: str, wanted: str) -> bool:
    from packaging.version import Version

    return Version(found) == Version(wanted)


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    end = END or "oldest"
    if end == "oldest":
        return oldest_pins()
    assert end == "newest", f"CROSSENV_COMPAT_END must be oldest or newest, not {end!r}"
    return {name: _newest(name) for name in versions.OLDEST}


@pytest.fixture(scope="module")
def compat_environ(pins: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                   ) -> dict[str, str]:
    """PIP_CONSTRAINT for pip < 25.3, PIP_BUILD_CONSTRAINT for pip >= 25.3, uv's own."""
    constraints = tmp_path_factory.mktemp("compat") / "constraints.txt"
    constraints.write_text("".join(f"{name}=={pins[name]}\n" for name in
                                   (*IN_ENV, "meson-python", "scikit-build-core")))
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("PIP_CONSTRAINT", "PIP_BUILD", "UV_", "VIRTUAL_ENV",
                                    "PYTHON", "CROSSENV_"))}
    environ.update(PIP_CONSTRAINT=str(constraints), PIP_BUILD_CONSTRAINT=str(constraints),
                   UV_BUILD_CONSTRAINT=str(constraints), UV_NO_PROGRESS="1",
                   UV_CACHE_DIR=str(tmp_path_factory.mktemp("uv-cache")))
    return environ


@pytest.fixture(scope="module")
def compat_env(tmp_path_factory: pytest.TempPathFactory, arm64_sysroot, aarch64_gcc: str,  # type: ignore[no-untyped-def]
               pins: dict[str, str], compat_environ: dict[str, str]) -> Path:
    """An arm64 env made by this virtualenv/packaging, with the pinned pip/setuptools/build."""
    for name in versions.SELF:  # nox installed these into the session's venv
        found = importlib.metadata.version(name)
        if END:
            assert _same(found, pins[name]), f"the session has {name} {found}, not {pins[name]}"
    env = tmp_path_factory.mktemp("compat-env") / "aarch64"
    proc = run([*crossenv_cmd(), arm64_sysroot.python, env], env=compat_environ)
    assert "older than crossenv supports" not in proc.stderr, proc.stderr
    run([env / "bin" / "build-pip", "install", "-q", "-U", "pip", "setuptools"], env=compat_environ)
    run([env / "bin" / "cross-pip", "install", "-q", "-U", *IN_ENV], env=compat_environ)
    for name in IN_ENV:
        found = _installed(env / "bin" / "cross-python", name)
        assert _same(found, pins[name]), f"cross env has {name} {found}, not {pins[name]}"
    print(f"\nCOMPAT {END or 'smoke'}: " + " ".join(
        f"{name}=={pins[name]}" for name in versions.OLDEST))
    return env


# -- the projects: each extension reports the backend version it was built with ------------

MESON_BUILD = """\
project('mesonhello', 'c')
py = import('python').find_installation(pure: false)
ver = run_command(py, files('probe.py'), check: true)
py.extension_module('mesonhello', 'hello.c', install: true,
  c_args: ['-DBACKEND="meson-python ' + ver.stdout().strip() + '"'])
"""
# the python meson runs is cross-python; under pip it sees the build environment (PYTHONPATH),
# under uv the backend's venv is VIRTUAL_ENV
MESON_PROBE = """\
import importlib.metadata as m, os, subprocess
try:
    print(m.version("meson-python"))
except m.PackageNotFoundError:
    exe = os.path.join(os.environ["VIRTUAL_ENV"], "bin", "python")
    code = "import importlib.metadata as m; print(m.version('meson-python'))"
    print(subprocess.check_output([exe, "-c", code], text=True).strip())
"""
CMAKE_LISTS = """\
cmake_minimum_required(VERSION 3.15)
project(skbhello LANGUAGES C)
find_package(Python COMPONENTS Interpreter Development.Module REQUIRED)
Python_add_library(skbhello MODULE hello.c WITH_SOABI)
target_compile_definitions(skbhello PRIVATE
  "BACKEND=\\"scikit-build-core ${SKBUILD_CORE_VERSION}\\"")
install(TARGETS skbhello DESTINATION .)
"""
HELLO_C = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *backend(PyObject *self, PyObject *args) {
    return PyUnicode_FromFormat("%s sizeof(long)=%d", BACKEND, (int)sizeof(long));
}
static PyMethodDef methods[] = {{"backend", backend, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "%NAME%", NULL, -1, methods};
PyMODINIT_FUNC PyInit_%NAME%(void) { return PyModule_Create(&module); }
"""
# the copy of tests/sources/hello records setuptools' version before setup() runs
HELLO_RECORD = (
    "import setuptools as _s, pathlib as _p\n"
    "_p.Path('hello/_backend.py').write_text(f'BACKEND = \"setuptools {_s.__version__}\"\\n')\n")


def _project(backend: str, dest: Path) -> tuple[Path, list[str], str]:
    """(source tree, extension modules, code the host python runs) for *backend*."""
    if backend == "setuptools":
        shutil.copytree(ROOT / "tests" / "sources" / "hello", dest)
        (dest / "setup.py").write_text(HELLO_RECORD + (dest / "setup.py").read_text())
        return dest, ["hello/_chello", "hello/_cyhello"], (
            "import hello, hello._backend as b; "
            "print(b.BACKEND, hello.greet(), hello.pointer_bits())")
    dest.mkdir()
    name = "mesonhello" if backend == "meson-python" else "skbhello"
    (dest / "hello.c").write_text(HELLO_C.replace("%NAME%", name))
    if backend == "meson-python":
        requires, build_backend = '"meson-python"', "mesonpy"
        (dest / "meson.build").write_text(MESON_BUILD)
        (dest / "probe.py").write_text(MESON_PROBE)
    else:
        requires, build_backend = '"scikit-build-core"', "scikit_build_core.build"
        (dest / "CMakeLists.txt").write_text(CMAKE_LISTS)
    (dest / "pyproject.toml").write_text(
        f'[build-system]\nrequires = [{requires}]\nbuild-backend = "{build_backend}"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n')
    return dest, [name], f"import {name}; print({name}.backend())"


def _uv() -> str:
    exe = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    require(exe, "uv is needed (pip install uv; it is in the test extra)")
    assert exe is not None
    return exe


def _build(frontend: str, env: Path, source: Path, out: Path,
           environ: dict[str, str]) -> Path:
    if frontend == "cross-pip":
        run([env / "bin" / "cross-pip", "wheel", "--no-deps", source, "-w", out], env=environ)
    elif frontend == "build":
        run([env / "bin" / "cross-python", "-m", "build", "--wheel", "--outdir", out, source],
            env=environ)
    else:
        run([_uv(), "build", "--wheel", "--python", env / "bin" / "cross-python", source,
             "-o", out], env=environ)
    (wheel,) = out.glob("*.whl")
    return wheel


# uv installs build requirements for the host (Cython's aarch64 wheel): crossenv must stop
# with its one line naming the route that works, never build with them
UV_REFUSES = ("setuptools", "uv")


def _assert_uv_refuses(env: Path, source: Path, out: Path, environ: dict[str, str]) -> None:
    proc = subprocess.run([_uv(), "build", "--wheel", "--python", str(env / "bin" / "cross-python"),
                           str(source), "-o", str(out)], env=environ, capture_output=True,
                          text=True)
    assert proc.returncode != 0, proc.stderr
    assert "which cannot run on this x86_64 machine" in proc.stderr, proc.stderr
    assert "--installer uv" in proc.stderr, proc.stderr
    assert not list(out.glob("*.whl"))


@pytest.mark.integration
@pytest.mark.compat
@pytest.mark.parametrize(("backend", "frontend"), _cases())
def test_core_cross_build(compat_env: Path, compat_environ: dict[str, str],
                          pins: dict[str, str], aarch64_target: Target, tmp_path: Path,
                          backend: str, frontend: str) -> None:
    source, modules, code = _project(backend, tmp_path / "src")
    if (backend, frontend) == UV_REFUSES:
        _assert_uv_refuses(compat_env, source, tmp_path / "dist", compat_environ)
        return
    wheel = _build(frontend, compat_env, source, tmp_path / "dist", compat_environ)
    assert re.search(r"-cp311-cp311-(many)?linux(_\d+_\d+)?_aarch64\.whl$", wheel.name), \
        wheel.name
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for module in modules:
            # scikit-build-core (0.5.0 and 1.1.2 alike) names it module.so here: importable too
            member = next((module + s for s in (EXT_SUFFIX, ".so") if module + s in names),
                          None)
            assert member is not None, f"{wheel.name} has no {module}{EXT_SUFFIX}: {names}"
            facts = elfarch.read_stream(io.BytesIO(archive.read(member)))
            assert facts == arches.by_machine("aarch64").elf, f"{module}: {facts.describe()}"
    run([*crossenv_cmd(), "check", "--env", compat_env, wheel])
    site = unpack_wheels([wheel], tmp_path / "site")
    out = aarch64_target.python("-c", code, path=[site]).stdout.strip()
    reported = out.split()[:2]
    assert reported[0] == backend and _same(reported[1], pins[backend]), (
        f"built with {out!r}, the constraint asked for {backend}=={pins[backend]}")
    assert "sizeof(long)=8" in out, out


def test_declared_ranges_agree() -> None:
    """versions.OLDEST, the session's pins, pyproject's lower bounds and the docs agree."""
    assert oldest_pins() == versions.OLDEST
    pyproject = (ROOT / "pyproject.toml").read_text()
    for name in versions.SELF:
        assert f'"{name}>={versions.OLDEST[name]}"' in pyproject, name
    docs = (ROOT / "docs" / "versions.rst").read_text()
    for name, version in versions.OLDEST.items():
        assert re.search(rf"^   {re.escape(name)}\s+{re.escape(version)}\s", docs, re.M), name


def test_creation_warns_below_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = importlib.metadata.version("packaging")
    assert versions.unsupported() == []  # what the tests run with is supported
    monkeypatch.setitem(versions.OLDEST, "packaging", "9999")
    (line,) = versions.unsupported()
    assert line.startswith(f"packaging {installed} is older than crossenv supports (>= 9999)")
    assert "pip install 'packaging>=9999'" in line
