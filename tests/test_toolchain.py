"""Toolchain discovery and the compile probe, with the real cross compilers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crossenv import host as host_mod
from crossenv import toolchain
from crossenv.errors import ToolchainError
from helpers import crossenv_cmd, mips64el_sysconfigdata, recorded_sysconfigdata, require, run

COMPILERS = {
    "arm64": "aarch64-linux-gnu-gcc",
    "armhf": "arm-linux-gnueabihf-gcc",
    "s390x": "s390x-linux-gnu-gcc",
    "ppc64el": "powerpc64le-linux-gnu-gcc",
}


@pytest.mark.parametrize("arch", sorted(COMPILERS))
def test_gnu_cross_compiler_is_found_and_verified(arch: str) -> None:
    require(shutil.which(COMPILERS[arch]), f"{COMPILERS[arch]} is not installed")
    desc = host_mod.describe(recorded_sysconfigdata(arch))
    chain = toolchain.find(desc, environ={})
    assert chain.kind == "gnu"
    assert chain.cc[0] == COMPILERS[arch]
    assert chain.ar[0].startswith(COMPILERS[arch][: -len("gcc")])


def test_wrong_architecture_compiler_is_refused() -> None:
    require(shutil.which("gcc"), "native gcc is needed to play the wrong compiler")
    desc = host_mod.describe(recorded_sysconfigdata("arm64"))
    with pytest.raises(ToolchainError) as info:
        toolchain.find(desc, cc="gcc", environ={})
    message = str(info.value)
    assert "X86_64" in message and "aarch64" in message and "--cc" in message


def test_cc_variable_is_honoured_and_checked() -> None:
    require(shutil.which("gcc"), "native gcc is needed")
    desc = host_mod.describe(recorded_sysconfigdata("arm64"))
    with pytest.raises(ToolchainError, match="X86_64"):
        toolchain.find(desc, environ={"CC": "gcc"})


def test_32_bit_compiler_for_64_bit_host_is_refused() -> None:
    require(shutil.which("arm-linux-gnueabihf-gcc"), "arm-linux-gnueabihf-gcc is not installed")
    desc = host_mod.describe(recorded_sysconfigdata("arm64"))
    with pytest.raises(ToolchainError, match="32-bit"):
        toolchain.find(desc, cc="arm-linux-gnueabihf-gcc", environ={})


def test_missing_compiler_says_what_to_install(tmp_path: Path) -> None:
    data = mips64el_sysconfigdata(tmp_path)
    desc = host_mod.describe(data)
    require(not shutil.which("mips64el-linux-gnuabi64-gcc"), "a mips64el compiler is installed")
    with pytest.raises(ToolchainError) as info:
        toolchain.find(desc, kind="gnu", environ={})
    assert "gcc-mips64el-linux-gnuabi64" in str(info.value)


@pytest.mark.parametrize("debian, package", [("armhf", "gcc-arm-linux-gnueabihf"),
                                             ("arm64", "gcc-aarch64-linux-gnu")])
def test_missing_compiler_names_a_package_that_exists(
        debian: str, package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's armhf python says HOST_GNU_TYPE armv8l-unknown-linux-gnueabihf: the hint
    names the table row's package, not gcc-armv8l-linux-gnueabihf (which does not exist)."""
    desc = host_mod.describe(recorded_sysconfigdata(debian))
    monkeypatch.setenv("PATH", str(tmp_path))  # no compiler at all
    with pytest.raises(ToolchainError) as info:
        toolchain.find(desc, kind="gnu", environ={})
    message = str(info.value)
    assert f"apt-get install {package})" in message and "--cc" in message, message
    assert "armv8l-linux" not in message.split("; ", 1)[1] and "\n" not in message


def test_sysroot_flag_and_relative_names(tmp_path: Path) -> None:
    require(shutil.which("aarch64-linux-gnu-gcc"), "aarch64-linux-gnu-gcc is not installed")
    desc = host_mod.describe(recorded_sysconfigdata("arm64"))
    full = shutil.which("aarch64-linux-gnu-gcc")
    chain = toolchain.find(desc, cc=full, sysroot=tmp_path, relative=True, environ={},
                           verify=False)
    assert chain.cc == ("aarch64-linux-gnu-gcc", f"--sysroot={tmp_path}")
    assert chain.sysroot == tmp_path


def test_gfortran_joins_the_gnu_toolchain(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """<triplet>-gfortran (the arches row's triplet) gets the sysroot like gcc; a PATH
    without it gives no Fortran compiler, not a build machine's gfortran."""
    gfortran = shutil.which("aarch64-linux-gnu-gfortran")
    require(gfortran, "gfortran-aarch64-linux-gnu is not installed")
    desc = host_mod.describe(recorded_sysconfigdata("arm64"))
    chain = toolchain.find(desc, sysroot=tmp_path, environ={}, verify=False)
    assert chain.fc == ("aarch64-linux-gnu-gfortran", f"--sysroot={tmp_path}")
    assert chain.to_json()["fc"] == list(chain.fc)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aarch64-linux-gnu-gcc").symlink_to(str(shutil.which("aarch64-linux-gnu-gcc")))
    (bin_dir / "gfortran").symlink_to(str(gfortran))  # a native-looking name: never taken
    monkeypatch.setenv("PATH", str(bin_dir))
    chain = toolchain.find(desc, sysroot=tmp_path, environ={}, verify=False)
    assert chain.cc[0] == "aarch64-linux-gnu-gcc" and chain.fc == ()


def test_unknown_kind() -> None:
    desc = host_mod.describe(recorded_sysconfigdata("arm64"))
    with pytest.raises(ToolchainError, match="unknown toolchain"):
        toolchain.find(desc, kind="tcc", environ={})


def test_missing_cxx_is_named_with_its_debian_package(tmp_path: Path) -> None:
    """ppc64el: Debian's gcc-powerpc64le-linux-gnu is installed here, its g++ is not."""
    require(shutil.which("powerpc64le-linux-gnu-gcc"), "gcc-powerpc64le-linux-gnu is needed")
    require(not shutil.which("powerpc64le-linux-gnu-g++"),
            "g++-powerpc64le-linux-gnu is installed (the test needs it absent)")
    desc = host_mod.describe(recorded_sysconfigdata("ppc64el"))
    chain = toolchain.find(desc, environ={})
    assert chain.cxx == ()
    message = toolchain.missing_cxx(chain, desc)
    assert message is not None
    assert "g++-powerpc64le-linux-gnu" in message and "--cxx" in message
    assert "\n" not in message
    arm = host_mod.describe(recorded_sysconfigdata("arm64"))
    require(shutil.which("aarch64-linux-gnu-g++"), "g++-aarch64-linux-gnu is needed")
    assert toolchain.missing_cxx(toolchain.find(arm, environ={}), arm) is None


@pytest.mark.integration
def test_create_without_cxx_warns_once(tmp_path: Path) -> None:
    require(shutil.which("powerpc64le-linux-gnu-gcc"), "gcc-powerpc64le-linux-gnu is needed")
    require(not shutil.which("powerpc64le-linux-gnu-g++"),
            "g++-powerpc64le-linux-gnu is installed (the test needs it absent)")
    proc = run([*crossenv_cmd(), "--without-pip", recorded_sysconfigdata("ppc64el"),
                tmp_path / "env"])
    lines = [line for line in proc.stderr.splitlines() if "C++" in line]
    assert len(lines) == 1 and lines[0].startswith("crossenv: warning: no C++ compiler for "
                                                   "powerpc64le-linux-gnu"), proc.stderr
    assert "apt-get install g++-powerpc64le-linux-gnu" in lines[0]
