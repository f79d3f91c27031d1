"""The meson cross file, and the mesonpy hook that makes meson-python use it.

The cross files are checked by running the real ``meson setup`` + ``ninja`` on
a tiny C project for recorded Debian hosts, then reading the ELF header of what
was built: a file meson accepts but that builds for the wrong machine fails.
"""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import pytest

from conftest import recorded_sysconfigdata, require, run
from crossenv import arches, elfarch, host, toolchain
from crossenv.backends import meson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src" / "crossenv" / "runtime"))
import _crossenv_meson

GCC = {"arm64": "aarch64-linux-gnu", "armhf": "arm-linux-gnueabihf",
       "s390x": "s390x-linux-gnu", "ppc64el": "powerpc64le-linux-gnu", "i386": "i686-linux-gnu"}
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


def test_literal_quoting() -> None:
    # meson machine files have no escapes: a quote goes into a triple-quoted part
    # (tests/test_quoting.py reads every form back with meson's own parser)
    assert meson._literal("it's") == "'it' + ''''s'''"
    assert meson._literal(["a", "b"]) == "['a', 'b']"
    assert meson._literal(True) == "true"


# -- the mesonpy hook ------------------------------------------------------------------------

def _fake_mesonpy(seen: dict[str, object]) -> types.ModuleType:
    module = types.ModuleType("mesonpy")

    class Project:
        def __init__(self, source_dir: object, build_dir: object,
                     meson_args: object = None, editable_verbose: object = None) -> None:
            seen["meson_args"] = meson_args

    def _get_meson_command(meson: str | None = None) -> list[str]:
        return [sys.executable, "/src/vendored-meson/meson.py"]

    module.Project = Project  # type: ignore[attr-defined]
    module._get_meson_command = _get_meson_command  # type: ignore[attr-defined]
    return module


def test_hook_adds_cross_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cross = tmp_path / "cross.ini"
    cross.write_text("[host_machine]\n")
    monkeypatch.setenv("CROSSENV_MESON_CROSS_FILE", str(cross))
    seen: dict[str, object] = {}
    module = _fake_mesonpy(seen)
    _crossenv_meson.patch_mesonpy(module)
    module.Project(tmp_path, tmp_path / "build", {"setup": ["-Dfoo=1"]})
    assert seen["meson_args"] == {"setup": ["--cross-file", str(cross), "-Dfoo=1"]}
    _crossenv_meson.patch_mesonpy(module)  # idempotent
    module.Project(tmp_path, tmp_path / "build")
    assert seen["meson_args"] == {"setup": ["--cross-file", str(cross)]}


def test_hook_respects_a_users_cross_file(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cross = tmp_path / "cross.ini"
    cross.write_text("")
    monkeypatch.setenv("CROSSENV_MESON_CROSS_FILE", str(cross))
    seen: dict[str, object] = {}
    module = _fake_mesonpy(seen)
    _crossenv_meson.patch_mesonpy(module)
    module.Project(tmp_path, tmp_path / "b", {"setup": ["--cross-file=mine.ini"]})
    assert seen["meson_args"] == {"setup": ["--cross-file=mine.ini"]}
    (tmp_path / "pyproject.toml").write_text(
        "[tool.meson-python.args]\nsetup = ['--cross-file', 'x.ini']\n")
    module.Project(tmp_path, tmp_path / "b")
    assert seen["meson_args"] is None
    monkeypatch.setenv("CROSSENV_MESON_CROSS_FILE", "")
    module.Project(tmp_path, tmp_path / "b", None)
    assert seen["meson_args"] is None


def test_hook_runs_vendored_meson_natively(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """numpy's vendored meson.py is started with sys.executable; under cross-python that
    would make meson detect the host as the build machine."""
    config = types.ModuleType("_crossenv_config")
    native = tmp_path / "python"
    native.write_text("")
    config.BUILD_PYTHON = str(native)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "_crossenv_config", config)
    module = _fake_mesonpy({})
    _crossenv_meson.patch_mesonpy(module)
    assert module._get_meson_command() == [str(native), "/src/vendored-meson/meson.py"]


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
