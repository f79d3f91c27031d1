"""The CMake toolchain file, its emulator, and a real scikit-build-core sdist.

Toolchain files are checked by configuring and building a tiny project with the
real ``cmake`` and reading the ELF header of the result. The sdist test
cross-builds spglib from PyPI (scikit-build-core + pybind11 + numpy's CMake
``NumPy`` component) and imports it under qemu.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from crossenv import arches, elfarch, host, toolchain
from crossenv.backends import cmake, emulator
from helpers import DEBIAN_ARCHES, Target, recorded_sysconfigdata, require, run, unpack_wheels

GCC = {arch: arches.by_debian(arch).triplet for arch in DEBIAN_ARCHES}
def _cmake() -> str:
    found = shutil.which("cmake") or str(Path(sys.executable).parent / "cmake")
    require(Path(found).exists(), "cmake is needed (pip install cmake)")
    return found


def test_compilers_by_full_path() -> None:
    description = host.describe(recorded_sysconfigdata("arm64"))
    gcc = shutil.which("aarch64-linux-gnu-gcc") or "aarch64-linux-gnu-gcc"
    chain = toolchain.Toolchain(kind="gnu", triplet="aarch64-linux-gnu",
                                cc=("aarch64-linux-gnu-gcc",), cxx=(), ar=("ar",))
    assert f'set(CMAKE_C_COMPILER "{gcc}")' in cmake.render(description, chain)


def test_fortran_compiler() -> None:
    description = host.describe(recorded_sysconfigdata("arm64"))
    chain = toolchain.Toolchain(kind="gnu", triplet="aarch64-linux-gnu",
                                cc=("aarch64-linux-gnu-gcc",), cxx=(), ar=("ar",),
                                fc=("/opt/bin/aarch64-linux-gnu-gfortran", "--sysroot=/sr",
                                    "-B/x/"))
    text = cmake.render(description, chain)
    assert 'set(CMAKE_Fortran_COMPILER "/opt/bin/aarch64-linux-gnu-gfortran")' in text
    assert 'set(CMAKE_Fortran_FLAGS_INIT "-B/x/")' in text


def test_render_toolchain() -> None:
    description = host.describe(recorded_sysconfigdata("armhf"))
    chain = toolchain.Toolchain(kind="gnu", triplet="arm-linux-gnueabihf",
                                cc=("arm-linux-gnueabihf-gcc", "--sysroot=/sr"),
                                cxx=("arm-linux-gnueabihf-g++",), ar=("arm-linux-gnueabihf-ar",))
    text = cmake.render(description, chain, python="/env/cross/bin/python", emulator="/emu")
    assert "set(CMAKE_SYSTEM_NAME Linux)" in text
    assert "set(CMAKE_SYSTEM_PROCESSOR armv7l)" in text
    assert "--sysroot" not in text  # CMAKE_SYSROOT adds it, only when there is a sysroot
    assert 'set(CMAKE_CROSSCOMPILING_EMULATOR "/emu")' in text
    assert 'set(Python_SOABI "cpython-311-arm-linux-gnueabihf" CACHE STRING "")' in text
    assert 'set(Python_EXECUTABLE "/env/cross/bin/python" CACHE FILEPATH "")' in text
    assert "CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY" in text
    assert "set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)" in text


def test_emulator_runs_native_programs_directly(tmp_path: Path) -> None:
    """FindPython (CMP0190) runs cross-python through the emulator: it must not get qemu."""
    description = host.describe(recorded_sysconfigdata("arm64"))
    text = emulator.render(description)
    require(text is not None,
            "qemu-aarch64 and /usr/aarch64-linux-gnu are needed (without them no emulator)")
    assert text is not None
    script = tmp_path / "emulator"
    script.write_text(text)
    script.chmod(0o755)
    proc = run([script, sys.executable, "-c", "print('native')"])
    assert proc.stdout.strip() == "native"
    proc = run([script, "/bin/sh", "-c", "echo shell"])
    assert proc.stdout.strip() == "shell"


@pytest.mark.integration
@pytest.mark.parametrize("arch", ["arm64", "armhf", "s390x"])
def test_cmake_builds_with_described_toolchain(arch: str, tmp_path: Path) -> None:
    require(shutil.which(f"{GCC[arch]}-gcc"), f"gcc-{GCC[arch]} is needed")
    cmake_exe = _cmake()
    files = tmp_path / "files"
    proc = run([sys.executable, "-m", "crossenv", "describe", recorded_sysconfigdata(arch),
                "--format", "cmake", "--output-dir", files])
    assert (files / "toolchain.cmake").read_text() == proc.stdout
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(t C)\n"
        "if(NOT CMAKE_CROSSCOMPILING)\n  message(FATAL_ERROR \"not cross\")\nendif()\n"
        "add_library(t SHARED t.c)\n"
        "message(STATUS \"SOABI=${Python_SOABI}\")\n")
    (src / "t.c").write_text("long t(long x) { return x * 2; }\n")
    build = tmp_path / "build"
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX", "CMAKE_TOOLCHAIN_FILE")}
    proc = run([cmake_exe, "-S", src, "-B", build,
                f"-DCMAKE_TOOLCHAIN_FILE={files}/toolchain.cmake"], env=env)
    assert f"SOABI={host.describe(recorded_sysconfigdata(arch)).soabi}" in proc.stdout
    run([cmake_exe, "--build", build], env=env)
    facts = elfarch.read(build / "libt.so")
    expected = arches.by_debian(arch).elf
    assert expected is not None and expected.matches(facts), facts.describe()


@pytest.mark.integration
@pytest.mark.slow
def test_scikit_build_core_sdist_spglib(aarch64_env: Path, aarch64_target: Target,
                                        tmp_path: Path) -> None:
    """spglib (PyPI): scikit-build-core, pybind11 and FindPython's NumPy component.

    No flags: CMAKE_TOOLCHAIN_FILE comes from cross-python, and numpy's include dir
    from the host numpy the host-requirements hook installs (a PyPI aarch64 wheel).
    """
    wheels = tmp_path / "wheels"
    # --no-cache-dir: a wheel cached by an earlier run would skip the build under test
    proc = run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-deps", "--no-cache-dir",
                "--no-binary", "spglib", "spglib==2.8.0", "-w", wheels, "-v"], timeout=1800)
    assert "/overlay/lib/python3.11/site-packages/numpy/_core/include" not in proc.stdout
    (wheel,) = wheels.glob("spglib-*.whl")
    assert wheel.name.endswith("linux_aarch64.whl") or "aarch64" in wheel.name
    site = unpack_wheels([wheel], tmp_path / "site")
    # the aarch64 numpy the host-requirements hook installed is also the runtime one
    (host_numpy,) = (aarch64_env / "cross" / "crossenv" / "host-packages").glob("numpy-*/")
    run([aarch64_env / "bin" / "build-pip", "install", "--no-deps", "--target", site,
         "typing_extensions"])
    out = aarch64_target.python(
        "-c", "import spglib, platform; cell = ([[4,0,0],[0,4,0],[0,0,4]], "
        "[[0,0,0],[0.5,0.5,0.5]], [1,1]); "
        "print(platform.machine(), spglib.get_spacegroup(cell))", path=[site, host_numpy])
    assert out.stdout.split() == ["aarch64", "Im-3m", "(229)"]


@pytest.mark.integration
def test_native_build_requirements_do_not_get_the_toolchain(aarch64_env: Path) -> None:
    """pip's ``install --prefix pip-build-env-*`` runs natively: the host's
    CMAKE_TOOLCHAIN_FILE (exported by the parent cross-pip) must not reach it,
    while a user's own value does."""
    ours = str(aarch64_env / "cross" / "crossenv" / "toolchain.cmake")
    script = "import os, sys; print(sys.prefix, os.environ.get('CMAKE_TOOLCHAIN_FILE'))"
    argv = [aarch64_env / "cross" / "bin" / "python", "-", "install", "--prefix",
            "/tmp/pip-build-env-crossenv-test/overlay"]
    for value, expected in ((ours, "None"), ("/user/own.cmake", "/user/own.cmake")):
        env = {**os.environ, "CMAKE_TOOLCHAIN_FILE": value}
        out = run(argv, input=script, env=env).stdout.split()
        assert out == [str(aarch64_env / "build"), expected]
