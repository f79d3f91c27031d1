"""uv in a cross environment: isolated builds give host wheels, or fail with one line.

uv makes its own build venv from the interpreter's base executable and installs
the build requirements itself; crossenv answers uv's interpreter query with
``ENV/cross/crossenv/uv-base`` so that venv's hook processes describe the host
(runtime ``_crossenv_uv``). Every route below is the real uv, a real PyPI sdist
and the real aarch64 toolchain; wheels are checked with ``crossenv check`` and
imported by the sysroot's python under qemu.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import arches, elfarch
from crossenv.backends import uvbase
from helpers import Target, crossenv_cmd, load_runtime, require, run, unpack_wheels

_crossenv_uv = load_runtime("_crossenv_uv")

EXT_SUFFIX = ".cpython-311-aarch64-linux-gnu.so"
SDISTS = {"markupsafe": "3.0.4", "msgpack": "1.2.4"}
CODE = {
    "markupsafe": ("import markupsafe, markupsafe._speedups as s; "
                   "assert markupsafe._escape_inner is s._escape_inner; "
                   "print(markupsafe.escape('<a&b>'))", "&lt;a&amp;b&gt;", "markupsafe/_speedups"),
    "msgpack": ("import msgpack, msgpack._cmsgpack as c; assert msgpack.Packer is c.Packer; "
                "print(msgpack.unpackb(msgpack.packb({'a': [1, 2.5, None]})))",
                "{'a': [1, 2.5, None]}", "msgpack/_cmsgpack"),
}


# --- unit: the build-requirement check and the uv-base loader ---------------------------

def _dist_info(site: Path, name: str, *tags: str) -> None:
    info = site / f"{name}.dist-info"
    info.mkdir(parents=True)
    lines = ["Wheel-Version: 1.0", "Generator: test", *(f"Tag: {t}" for t in tags)]
    (info / "WHEEL").write_text("\n".join(lines) + "\n")


def test_foreign_requirements_names_host_wheels_only(tmp_path: Path) -> None:
    _dist_info(tmp_path, "setuptools-80.0", "py3-none-any")
    _dist_info(tmp_path, "cython-3.1.0", "cp311-cp311-manylinux_2_17_aarch64",
               "cp311-cp311-manylinux2014_aarch64")
    _dist_info(tmp_path, "ninja-1.13", "py3-none-manylinux_2_12_x86_64")
    _dist_info(tmp_path, "cffi-2.0", "cp311-cp311-linux_x86_64")
    (tmp_path / "broken.dist-info").mkdir()  # no WHEEL file: not uv's, ignored
    assert _crossenv_uv.foreign_requirements(str(tmp_path), "x86_64") == ["cython-3.1.0"]
    assert _crossenv_uv.foreign_requirements(str(tmp_path / "missing"), "x86_64") == []


_PLATFORM = st.sampled_from(["any", "linux_x86_64", "manylinux_2_17_x86_64", "linux_aarch64",
                             "manylinux_2_28_aarch64", "musllinux_1_2_aarch64", "win_amd64"])


@given(st.lists(st.sets(_PLATFORM, min_size=1), min_size=1, max_size=5))
def test_foreign_requirements_property(tmp_path_factory: pytest.TempPathFactory,
                                       wheels: list[set[str]]) -> None:
    site = tmp_path_factory.mktemp("site")
    expected = []
    for index, platforms in enumerate(wheels):
        name = f"dist{index}-1.0"
        _dist_info(site, name, *(f"py3-none-{p}" for p in sorted(platforms)))
        arches = platforms - {"any"}
        if arches and not any(p.endswith("_x86_64") for p in arches):
            expected.append(name)
    assert _crossenv_uv.foreign_requirements(str(site), "x86_64") == sorted(expected)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_loader_quotes_any_relative_path(relative: str) -> None:
    source = uvbase.loader_source(relative)
    namespace: dict[str, object] = {}
    tree = compile(source, "sitecustomize.py", "exec")
    assert "_SITE" in tree.co_names
    exec(source.split("_NAMES =", 1)[0], namespace)  # the constants only
    assert namespace["_SITE"] == relative


# --- integration -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def uv() -> str:
    exe = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    require(exe, "uv is needed (pip install uv; it is in the test extra)")
    assert exe is not None
    return exe


@pytest.fixture(scope="module")
def uv_env(tmp_path_factory: pytest.TempPathFactory, arm64_sysroot, aarch64_gcc: str  # type: ignore[no-untyped-def]
           ) -> Path:
    """This module's own env: ``uv pip install`` changes the cross site-packages."""
    env = tmp_path_factory.mktemp("uvenv") / "aarch64"
    run([*crossenv_cmd(), arm64_sysroot.python, env])
    return env


@pytest.fixture(scope="module")
def uv_environ(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private uv cache: real builds, and no interpreter answer from another run."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("UV_", "VIRTUAL_ENV", "PYTHON", "CROSSENV_"))}
    environ["UV_CACHE_DIR"] = str(tmp_path_factory.mktemp("uv-cache"))
    environ["UV_NO_PROGRESS"] = "1"
    return environ


@pytest.fixture(scope="module")
def sdists(uv_env: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    dest = tmp_path_factory.mktemp("sdists")
    specs = [f"{name}=={version}" for name, version in SDISTS.items()]
    run([uv_env / "bin" / "build-pip", "download", "--no-binary", ":all:", "--no-deps",
         "-d", dest, *specs])
    return {name: next(dest.glob(f"{name}-{version}.tar.gz")) for name, version in SDISTS.items()}


def _uv(uv: str, environ: Mapping[str, str], *args: object, cwd: Path | None = None,
        activate: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [uv, *map(str, args)]
    if activate is not None:  # `. ENV/bin/activate` in the same shell, then uv
        script = '. "$1" && shift && exec "$@"'
        cmd = ["/bin/sh", "-c", script, "sh", str(activate / "bin" / "activate"), *cmd]
    if check:
        return run(cmd, env=dict(environ), cwd=cwd)
    return subprocess.run(cmd, env=dict(environ), cwd=cwd, capture_output=True, text=True)


def _assert_host_wheel(env: Path, wheel: Path, name: str, target: Target, tmp: Path) -> None:
    assert wheel.name.endswith("-cp311-cp311-linux_aarch64.whl"), wheel.name
    code, expected, module = CODE[name]
    with zipfile.ZipFile(wheel) as archive:
        facts = elfarch.read_stream(io.BytesIO(archive.read(module + EXT_SUFFIX)))
    assert facts == arches.by_machine("aarch64").elf, facts.describe()
    run([*crossenv_cmd(), "check", "--env", env, wheel])
    site = unpack_wheels([wheel], tmp / "site")
    assert target.python("-c", code, path=[site]).stdout.strip() == expected


def _one_wheel(directory: Path) -> Path:
    (wheel,) = directory.glob("*.whl")
    return wheel


@pytest.mark.integration
def test_uv_build_with_cross_python_script(uv: str, uv_env: Path, uv_environ: dict[str, str],
                                          sdists: dict[str, Path], aarch64_target: Target,
                                          tmp_path: Path) -> None:
    out = tmp_path / "dist"
    _uv(uv, uv_environ, "build", "--wheel", "--python", uv_env / "bin" / "cross-python",
        sdists["markupsafe"], "-o", out)
    _assert_host_wheel(uv_env, _one_wheel(out), "markupsafe", aarch64_target, tmp_path)


@pytest.mark.integration
def test_uv_build_activated(uv: str, uv_env: Path, uv_environ: dict[str, str],
                            sdists: dict[str, Path], aarch64_target: Target,
                            tmp_path: Path) -> None:
    out = tmp_path / "dist"
    _uv(uv, uv_environ, "build", "--wheel", sdists["msgpack"], "-o", out, activate=uv_env)
    _assert_host_wheel(uv_env, _one_wheel(out), "msgpack", aarch64_target, tmp_path)


@pytest.mark.integration
def test_uv_build_with_cross_venv_python(uv: str, uv_env: Path, uv_environ: dict[str, str],
                                         sdists: dict[str, Path], aarch64_target: Target,
                                         tmp_path: Path) -> None:
    out = tmp_path / "dist"
    _uv(uv, uv_environ, "build", "--wheel", "--python", uv_env / "cross" / "bin" / "python",
        sdists["msgpack"], "-o", out)
    _assert_host_wheel(uv_env, _one_wheel(out), "msgpack", aarch64_target, tmp_path)


@pytest.mark.integration
def test_uv_pip_install_sdist(uv: str, uv_env: Path, uv_environ: dict[str, str],
                              sdists: dict[str, Path], tmp_path: Path) -> None:
    """Both ``uv pip install --python ENV/cross/bin/python`` and the activated form."""
    _uv(uv, uv_environ, "pip", "install", "--python", uv_env / "cross" / "bin" / "python",
        sdists["markupsafe"])
    _uv(uv, uv_environ, "pip", "install", sdists["msgpack"], activate=uv_env)
    site = uv_env / "cross" / "lib" / "python3.11" / "site-packages"
    for name in SDISTS:
        module = site / (CODE[name][2] + EXT_SUFFIX)
        assert elfarch.read(module) == arches.by_machine("aarch64").elf, module
    _uv(uv, uv_environ, "pip", "uninstall", "--python", uv_env / "cross" / "bin" / "python",
        *SDISTS)


@pytest.mark.integration
def test_pypa_build_with_uv_installer(uv: str, uv_env: Path, uv_environ: dict[str, str],
                                      sdists: dict[str, Path], aarch64_target: Target,
                                      tmp_path: Path) -> None:
    """The route the failure message names keeps working with uv-base in place."""
    environ = dict(uv_environ, PATH=os.path.dirname(uv) + os.pathsep + uv_environ["PATH"])
    run([uv_env / "bin" / "cross-pip", "install", "-q", "build"], env=environ)
    out = tmp_path / "dist"
    run([uv_env / "bin" / "cross-python", "-m", "build", "--wheel", "--installer", "uv",
         sdists["markupsafe"], "-o", out], env=environ)
    _assert_host_wheel(uv_env, _one_wheel(out), "markupsafe", aarch64_target, tmp_path)


_PROBE_SETUP = '''
import json, os, platform, subprocess, sys
from setuptools import setup

script = os.path.join(sys.prefix, "bin", "crossenv-probe")
report = {
    "hooks": platform.machine(),
    "child": subprocess.check_output(
        [sys.executable, "-c", "import platform; print(platform.machine())"], text=True).strip(),
    "console_script": subprocess.check_output([script], text=True).strip(),
}
with open(os.environ["CROSSENV_UV_PROBE"], "w") as fh:
    json.dump(report, fh)
setup(name="uvprobe", version="1.0", py_modules=[])
'''


def _project(directory: Path, requires: list[str], setup_py: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "pyproject.toml").write_text(
        "[build-system]\nrequires = " + json.dumps(requires) +
        '\nbuild-backend = "setuptools.build_meta"\n')
    (directory / "setup.py").write_text(setup_py)
    return directory


@pytest.mark.integration
def test_build_requirement_scripts_stay_native(uv: str, uv_env: Path,
                                               uv_environ: dict[str, str],
                                               tmp_path: Path) -> None:
    """Hooks and ``sys.executable -c`` describe the host; a build requirement's console
    script (meson, cython) runs natively, as under pip."""
    tool = tmp_path / "tool"
    tool.mkdir()
    (tool / "crossenv_probe.py").write_text(
        "import platform, sys\n"
        "def main():\n    print(platform.machine(), hasattr(sys, 'cross_compiling'))\n")
    (tool / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "crossenv-probe"\nversion = "1.0"\n'
        '[project.scripts]\ncrossenv-probe = "crossenv_probe:main"\n'
        '[tool.setuptools]\npy-modules = ["crossenv_probe"]\n')
    project = _project(tmp_path / "project",
                       ["setuptools>=77", f"crossenv-probe @ {tool.as_uri()}"], _PROBE_SETUP)
    report = tmp_path / "report.json"
    environ = dict(uv_environ, CROSSENV_UV_PROBE=str(report))
    _uv(uv, environ, "build", "--wheel", "--python", uv_env / "bin" / "cross-python", project,
        "-o", tmp_path / "dist")
    assert json.loads(report.read_text()) == {
        "hooks": "aarch64", "child": "aarch64", "console_script": "x86_64 False"}


@pytest.mark.integration
def test_host_wheel_build_requirement_fails_with_one_line(uv: str, uv_env: Path,
                                                          uv_environ: dict[str, str],
                                                          tmp_path: Path) -> None:
    """uv resolves build requirements for the interpreter it queried (the host): a
    compiled one is an aarch64 wheel here, so the build stops and names the fix."""
    project = _project(tmp_path / "project", ["setuptools>=77", "markupsafe==3.0.3"],
                       "from setuptools import setup\nsetup(name='needsnative', version='1')\n")
    out = tmp_path / "dist"
    proc = _uv(uv, uv_environ, "build", "--wheel", "--python", uv_env / "bin" / "cross-python",
               project, "-o", out, check=False)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "crossenv:" in line]
    assert len(lines) == 1, proc.stderr
    assert "aarch64 wheels of the build requirements markupsafe-3.0.3" in lines[0]
    assert "-m build --wheel --installer uv" in lines[0]
    assert not list(out.glob("*.whl"))


@pytest.mark.integration
def test_without_uv_base_uv_fails_with_one_line(uv: str, uv_environ: dict[str, str],
                                                sdists: dict[str, Path], arm64_sysroot,  # type: ignore[no-untyped-def]
                                                aarch64_gcc: str, tmp_path: Path) -> None:
    """An env without uv-base (older crossenv, unusable build python): uv's query of
    cross-python stops with one line instead of building a build-machine wheel."""
    env = tmp_path / "old"
    run([*crossenv_cmd(), arm64_sysroot.python, env])
    shutil.rmtree(env / "cross" / "crossenv" / uvbase.DIR_NAME)
    out = tmp_path / "dist"
    proc = _uv(uv, uv_environ, "build", "--wheel", "--python", env / "bin" / "cross-python",
               sdists["markupsafe"], "-o", out, check=False)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    # crossenv writes one line; uv indents the query's stderr and wraps it to COLUMNS
    assert proc.stderr.count("crossenv:") == 1, proc.stderr
    message = " ".join(proc.stderr.split("crossenv:", 1)[1].split())
    assert "uv-base is missing" in message
    assert "-m build --wheel --installer uv" in message, proc.stderr
    assert not list(out.glob("*.whl"))


@pytest.mark.integration
def test_startup_and_native_pythons_untouched(uv_env: Path) -> None:
    """cross-python never imports the uv helper at start; ENV/build never sees uv-base."""
    probe = ("import sys; print('_crossenv_uv' in sys.modules, "
             "any('uv-base' in p for p in sys.path), hasattr(sys, 'cross_compiling'))")
    cross = run([uv_env / "bin" / "cross-python", "-c", probe]).stdout.split()
    assert cross == ["False", "False", "True"]
    native = run([uv_env / "bin" / "build-python", "-c", probe],
                 env=dict(os.environ, UV_INTERNAL__BUILD_DIR="/nonexistent")).stdout.split()
    assert native == ["False", "False", "False"]
    base = uv_env / "cross" / "crossenv" / uvbase.DIR_NAME
    assert (base / "bin" / "python3.11").resolve() == Path(
        os.path.realpath(getattr(sys, "_base_executable", sys.executable)))


@pytest.mark.integration
def test_uv_build_for_another_python_version(uv: str, uv_environ: dict[str, str],
                                             sdists: dict[str, Path], tmp_path: Path) -> None:
    """uv-base mirrors the env's build interpreter, not the one crossenv runs on."""
    require(shutil.which("apt-get"), "apt-get is needed to provision Debian Pythons")
    from crossenv import provision

    env = tmp_path / "env313"
    run([*crossenv_cmd(), "--arch", "arm64", "--python", "3.13", env])
    assert (env / "cross/crossenv/uv-base/bin/python3.13").exists()
    out = tmp_path / "dist"
    _uv(uv, uv_environ, "build", "--wheel", "--python", env / "bin" / "cross-python",
        sdists["markupsafe"], "-o", out)
    wheel = _one_wheel(out)
    assert wheel.name.endswith("-cp313-cp313-linux_aarch64.whl"), wheel.name
    run([*crossenv_cmd(), "check", "--env", env, wheel])
    sysroot = provision.provision_debian("arm64", python="3.13")
    target = Target(sysroot, provision.find_qemu("arm64") or "qemu-aarch64")
    site = unpack_wheels([wheel], tmp_path / "site")
    code, expected, _module = CODE["markupsafe"]
    assert target.python("-c", code, path=[site]).stdout.strip() == expected
