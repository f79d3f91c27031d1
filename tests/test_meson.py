"""The meson cross file, and the mesonpy hook that makes meson-python use it.

The cross files are checked by running the real ``meson setup`` + ``ninja`` on
a tiny C project for recorded Debian hosts, then reading the ELF header of what
was built: a file meson accepts but that builds for the wrong machine fails.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import types
from pathlib import Path

import pytest

from crossenv import arches, elfarch, host, toolchain
from crossenv.backends import meson
from helpers import DEBIAN_ARCHES, recorded_sysconfigdata, require, run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src" / "crossenv" / "runtime"))
import _crossenv_meson

GCC = {arch: arches.by_debian(arch).triplet for arch in DEBIAN_ARCHES}
EXPECTED = {
    "arm64": ("aarch64", "aarch64", "little", "IEEE_QUAD_LE"),
    "armhf": ("arm", "armv7l", "little", "IEEE_DOUBLE_LE"),
    "s390x": ("s390x", "s390x", "big", "IEEE_QUAD_BE"),
    "ppc64el": ("ppc64", "ppc64le", "little", "IBM_DOUBLE_DOUBLE_LE"),
    "i386": ("x86", "i686", "little", "INTEL_EXTENDED_12_BYTES_LE"),
}


def _host(arch: str) -> host.HostDescription:
    return host.describe(recorded_sysconfigdata(arch))


def _chain(arch: str) -> toolchain.Toolchain:
    target = GCC[arch]
    return toolchain.Toolchain(kind="gnu", triplet=target, cc=(f"{target}-gcc",),
                               cxx=(f"{target}-g++",), ar=(f"{target}-ar",))


@pytest.mark.parametrize("arch", sorted(EXPECTED))
def test_host_machine_and_longdouble_table(arch: str) -> None:
    description = _host(arch)
    family, cpu, endian, longdouble = EXPECTED[arch]
    assert meson.cpu_family(description) == family
    assert description.machine == cpu
    assert description.byteorder == endian
    # without a compiler: the table (Debian's ABI for each machine)
    assert meson.longdouble_format(description, None) == longdouble


@pytest.mark.parametrize("arch", ["arm64", "armhf", "s390x", "ppc64el"])
def test_longdouble_from_the_cross_compiler(arch: str) -> None:
    """The compiler's macros agree with the table (ppc64el: IBM double-double on Debian 12)."""
    require(shutil.which(f"{GCC[arch]}-gcc"), f"gcc-{GCC[arch]} is needed to ask the compiler")
    assert meson.longdouble_format(_host(arch), _chain(arch)) == EXPECTED[arch][3]


def test_render_sections() -> None:
    description = _host("armhf")
    text = meson.render(description, _chain("armhf"), python="/env/cross/bin/python")
    assert "[binaries]\nc = ['arm-linux-gnueabihf-gcc']" in text
    assert "python = ['/env/cross/bin/python']" in text
    assert "needs_exe_wrapper = true" in text
    assert "longdouble_format = 'IEEE_DOUBLE_LE'" in text
    assert "[host_machine]\nsystem = 'linux'\ncpu_family = 'arm'\ncpu = 'armv7l'" in text
    assert "[build_machine]" in text  # pinned: meson may run under cross-python


def test_sysroot_properties(tmp_path: Path) -> None:
    description = host.from_config_vars(_host("arm64").config_vars,
                                        sysroot=tmp_path, actual_prefix=f"{tmp_path}/usr")
    sections = meson.sections(description, _chain("arm64"), python=None)
    assert sections["properties"]["sys_root"] == str(tmp_path)
    assert sections["properties"]["pkg_config_libdir"][0] == \
        f"{tmp_path}/usr/lib/aarch64-linux-gnu/pkgconfig"
    wrapper = sections["binaries"].get("exe_wrapper")
    if wrapper:
        assert list(wrapper)[-2:] == ["-L", str(tmp_path)]


def test_fortran_compiler_and_its_link_flags() -> None:
    """scipy's Fortran sources: the toolchain's gfortran is [binaries] fortran, linked
    with the same flags as C (riscv64's -pthread); no Fortran key without one."""
    description = _host("arm64")
    chain = _chain("arm64")
    assert "fortran" not in meson.sections(description, chain, python=None)["binaries"]
    chain = dataclasses.replace(chain, fc=("aarch64-linux-gnu-gfortran", "--sysroot=/sr"),
                                ldflags=("-pthread",))
    out = meson.sections(description, chain, python=None)
    assert out["binaries"]["fortran"] == ["aarch64-linux-gnu-gfortran", "--sysroot=/sr"]
    assert out["built-in options"]["fortran_link_args"] == ["-pthread"]
    assert out["built-in options"]["c_link_args"] == ["-pthread"]


def test_literal_quoting() -> None:
    # meson machine files have no escapes: a quote goes into a triple-quoted part
    # (tests/test_quoting.py reads every form back with meson's own parser)
    assert meson._literal("it's") == "'it' + ''''s'''"
    assert meson._literal(["a", "b"]) == "['a', 'b']"
    assert meson._literal(True) == "true"


# -- the mesonpy hook, on the real meson-python ---------------------------------------------

@pytest.fixture
def mesonpy_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The test venv's real ``mesonpy``, patched by the hook for this test only."""
    import mesonpy  # the test extra installs meson-python

    # meson and ninja of the test venv (its bin/ need not be on PATH)
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", os.pathsep.join([bindir, os.environ.get("PATH", "")]))
    monkeypatch.setattr(mesonpy.Project, "__init__", mesonpy.Project.__init__)
    monkeypatch.setattr(mesonpy.Project, "_crossenv_patched", False, raising=False)
    assert _crossenv_meson.patch_mesonpy(mesonpy) is None
    assert _crossenv_meson.patch_mesonpy(mesonpy) is None  # idempotent
    return mesonpy


def _meson_project(root: Path, pyproject_extra: str = "") -> Path:
    src = root / "src"
    src.mkdir(parents=True)
    (src / "pyproject.toml").write_text(
        "[build-system]\nrequires = ['meson-python']\nbuild-backend = 'mesonpy'\n"
        "[project]\nname = 't'\nversion = '1'\n" + pyproject_extra)
    (src / "meson.build").write_text("project('t', 'c', version: '1')\n")
    return src


def _configured(build: Path) -> tuple[str, list[str]]:
    """What meson itself recorded: the host cpu and the cross files it was given."""
    import ast
    import configparser
    import json

    machines = json.loads((build / "meson-info" / "intro-machines.json").read_text())
    recorded = configparser.ConfigParser()
    recorded.read(build / "meson-private" / "cmd_line.txt")
    cross = recorded.get("properties", "cross_file", fallback="[]")
    return machines["host"]["cpu"], ast.literal_eval(cross)  # meson writes a list literal


@pytest.fixture
def arm64_cross_file(tmp_path: Path) -> Path:
    require(shutil.which("aarch64-linux-gnu-gcc"), "gcc-aarch64-linux-gnu is needed")
    cross = tmp_path / "cross.ini"
    cross.write_text(meson.render(_host("arm64"), _chain("arm64"), python=None))
    return cross


def test_hook_adds_cross_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              mesonpy_module: types.ModuleType, arm64_cross_file: Path) -> None:
    """meson-python's Project passes meson_args["setup"] to ``meson setup``: the build
    directory meson configures is the host's."""
    monkeypatch.setenv("CROSSENV_MESON_CROSS_FILE", str(arm64_cross_file))
    src = _meson_project(tmp_path)
    mesonpy_module.Project(src, tmp_path / "build", {"setup": ["-Dbuildtype=release"]})
    cpu, cross_files = _configured(tmp_path / "build")
    assert cpu == "aarch64"
    assert cross_files == [str(arm64_cross_file)]


def test_hook_respects_a_users_cross_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          mesonpy_module: types.ModuleType,
                                          arm64_cross_file: Path) -> None:
    mine = tmp_path / "mine.ini"
    mine.write_text(arm64_cross_file.read_text())
    monkeypatch.setenv("CROSSENV_MESON_CROSS_FILE", str(arm64_cross_file))
    src = _meson_project(tmp_path, f"[tool.meson-python.args]\nsetup = ['--cross-file={mine}']\n")
    mesonpy_module.Project(src, tmp_path / "b1")
    assert _configured(tmp_path / "b1")[1] == [str(mine)]
    mesonpy_module.Project(src, tmp_path / "b2", {"setup": [f"--cross-file={mine}"]})
    assert _configured(tmp_path / "b2")[1] == [str(mine), str(mine)]  # both of the user's
    plain = _meson_project(tmp_path / "plain")
    monkeypatch.setenv("CROSSENV_MESON_CROSS_FILE", "")
    mesonpy_module.Project(plain, tmp_path / "b3")
    assert _configured(tmp_path / "b3") == (os.uname().machine, [])


# -- real meson ------------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.parametrize("arch", ["arm64", "armhf", "s390x"])
def test_meson_setup_with_described_cross_file(arch: str, tmp_path: Path) -> None:
    """``crossenv describe --format meson`` output drives a real meson + ninja build."""
    require(shutil.which(f"{GCC[arch]}-gcc"), f"gcc-{GCC[arch]} is needed")
    meson_exe = shutil.which("meson") or str(Path(sys.executable).parent / "meson")
    require(Path(meson_exe).exists(), "meson is needed (pip install meson ninja)")
    proc = run([sys.executable, "-m", "crossenv", "describe", recorded_sysconfigdata(arch),
                "--format", "meson"])
    cross = tmp_path / "cross.ini"
    cross.write_text(proc.stdout)
    src = tmp_path / "src"
    src.mkdir()
    (src / "meson.build").write_text(
        "project('t', 'c')\n"
        f"assert(host_machine.cpu_family() == '{EXPECTED[arch][0]}')\n"
        "assert(build_machine.cpu_family() != host_machine.cpu_family())\n"
        f"assert(meson.get_external_property('longdouble_format') == '{EXPECTED[arch][3]}')\n"
        "shared_library('t', 't.c')\n")
    (src / "t.c").write_text("long t(long x) { return x * 2; }\n")
    run([meson_exe, "setup", "--cross-file", cross, tmp_path / "build", src])
    run([meson_exe, "compile", "-C", tmp_path / "build"])
    facts = elfarch.read(tmp_path / "build" / "libt.so")
    expected = arches.by_debian(arch).elf
    assert expected is not None and expected.matches(facts), facts.describe()


@pytest.mark.integration
def test_cross_python_runs_a_meson_py_natively(aarch64_env: Path, tmp_path: Path) -> None:
    """meson-python starts a vendored ``meson.py`` with sys.executable (cross-python):
    the shim re-executes it with the build python, so meson sees the real build machine."""
    code = "import platform, sys\nprint(platform.machine(), hasattr(sys, 'cross_compiling'))\n"
    script = tmp_path / "vendored-meson" / "meson.py"
    script.parent.mkdir()
    script.write_text(code)
    other = script.with_name("other.py")
    other.write_text(code)
    cross = aarch64_env / "bin" / "cross-python"
    assert run([cross, script, "setup"]).stdout.split() == [os.uname().machine, "False"]
    assert run([cross, other]).stdout.split() == ["aarch64", "True"]
