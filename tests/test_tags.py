"""Wheel tags describe the host: the ladder, cross-python's answers, built and repaired wheels.

Unit tests use the recorded Debian host data (no sysroot needed) and small fake
sysroots holding a real ``libc.so.6`` (the build machine's: glibc_version reads only
its version definitions) or a musl loader. The integration tests ask real cross
environments for arm64, armhf, s390x and ppc64el, and cross-check every answer with
``crossenv check`` and ``auditwheel``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import packaging
import pytest

from crossenv import arches, backends, host, provision, tags
from crossenv.model import Toolchain
from helpers import (
    Target,
    crossenv_cmd,
    load_runtime,
    recorded_sysconfigdata,
    require,
    run,
    unpack_wheels,
)

RUNTIME = Path(tags.__file__).parent / "runtime"


def recorded(debian_arch: str, sysroot: Path | None = None) -> host.HostDescription:
    described = host.describe(recorded_sysconfigdata(debian_arch))
    return dataclasses.replace(described, sysroot=sysroot)


def build_glibc() -> tuple[int, int]:
    major, minor = os.confstr("CS_GNU_LIBC_VERSION").split()[1].split(".")[:2]
    return int(major), int(minor)


def glibc_sysroot(root: Path, multiarch: str) -> Path:
    """A sysroot whose only file is a real libc.so.6 (copied from this machine)."""
    libc = Path(f"/lib/{sys.implementation._multiarch}/libc.so.6")  # type: ignore[attr-defined]
    (root / "lib" / multiarch).mkdir(parents=True)
    shutil.copy(libc, root / "lib" / multiarch / "libc.so.6")
    return root


def zig_chain(target: str) -> Toolchain:
    return Toolchain(kind="zig", triplet=target, cc=("zig", "cc"), cxx=(), ar=("zig", "ar"))


# -- the ladder ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2_17", "2.17", "manylinux2014", "manylinux_2_17",
                                   "manylinux_2_17_aarch64", "manylinux2014_aarch64"])
def test_parse_manylinux_accepts_crossenv_1_spellings(value: str) -> None:
    assert tags.parse_manylinux(value) == (2, 17)


def test_parse_manylinux_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="2_17 or manylinux2014"):
        tags.parse_manylinux("latest")


def test_ladder_matches_packaging_order_and_aliases() -> None:
    ladder = tags.manylinux_ladder((2, 18), "aarch64")
    assert ladder == ["manylinux_2_18_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    x86 = tags.manylinux_ladder((2, 12), "x86_64")
    assert x86[:2] == ["manylinux_2_12_x86_64", "manylinux2010_x86_64"]
    assert x86[-2:] == ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    assert "manylinux2014_riscv64" not in tags.manylinux_ladder((2, 31), "riscv64")


def test_sysroot_glibc_decides(tmp_path: Path) -> None:
    root = glibc_sysroot(tmp_path, "aarch64-linux-gnu")
    libc, ladder = tags.platform_tags_for(recorded("arm64", root))
    major, minor = build_glibc()
    assert libc == ("glibc", f"{major}.{minor}")
    assert ladder[0] == f"manylinux_{major}_{minor}_aarch64"
    assert ladder[-3:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"]


def test_no_sysroot_means_linux_only_unless_declared() -> None:
    assert tags.platform_tags_for(recorded("s390x")) == (None, ["linux_s390x"])
    libc, ladder = tags.platform_tags_for(recorded("s390x"), manylinux=["manylinux2014"])
    assert ladder == ["manylinux_2_17_s390x", "manylinux2014_s390x", "linux_s390x"]
    assert libc is None  # declared compatibility is not a C library


def test_armhf_ladder_uses_armv7l_and_accepts_armv6l() -> None:
    _libc, ladder = tags.platform_tags_for(recorded("armhf"), manylinux=["2_17"])
    assert ladder == ["manylinux_2_17_armv7l", "manylinux2014_armv7l", "linux_armv7l",
                      "linux_armv6l"]


def test_no_manylinux_is_crossenv_1_default(tmp_path: Path) -> None:
    root = glibc_sysroot(tmp_path, "aarch64-linux-gnu")
    _libc, ladder = tags.platform_tags_for(recorded("arm64", root), no_manylinux=True)
    assert ladder == ["linux_aarch64"]


def test_zig_glibc_is_what_libc_ver_reports(tmp_path: Path) -> None:
    root = glibc_sysroot(tmp_path, "aarch64-linux-gnu")
    libc, ladder = tags.platform_tags_for(recorded("arm64", root), manylinux=["2_17"],
                                          toolchain=zig_chain("aarch64-linux-gnu.2.17"))
    assert libc == ("glibc", "2.17")
    assert ladder[0] == "manylinux_2_17_aarch64"


def fake_musl(root: Path, *, apk: str | None = None) -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "ld-musl-aarch64.so.1").write_bytes(
        b"\x7fELF" + b"\0" * 60 + b"musl libc (%s)\nVersion %s\n\x001.2.4\x00more")
    if apk is not None:
        (root / "lib" / "apk" / "db").mkdir(parents=True)
        (root / "lib" / "apk" / "db" / "installed").write_text(apk)
    return root


def test_musl_sysroot_gets_musllinux_ladder(tmp_path: Path) -> None:
    described = recorded("arm64", fake_musl(tmp_path))
    assert tags.musl_version(described) == (1, 2)
    libc, ladder = tags.platform_tags_for(described)
    assert libc is None
    assert ladder == ["musllinux_1_2_aarch64", "musllinux_1_1_aarch64", "musllinux_1_0_aarch64",
                      "linux_aarch64"]


def test_musl_version_prefers_apk_database(tmp_path: Path) -> None:
    root = fake_musl(tmp_path, apk="C:Q1x\nP:busybox\nV:1.36\n\nC:Q1y\nP:musl\nV:1.3.0-r0\n")
    assert tags.musl_version(recorded("arm64", root)) == (1, 3)


def test_platform_tag_option_expands_musllinux() -> None:
    _libc, ladder = tags.platform_tags_for(recorded("arm64"), extra=["musllinux_1_1"])
    assert ladder == ["musllinux_1_1_aarch64", "musllinux_1_0_aarch64", "linux_aarch64"]


# -- the tag built wheels get ---------------------------------------------------------------

@pytest.mark.parametrize(("debian_arch", "target", "expected"), [
    ("arm64", "aarch64-linux-gnu.2.17", "manylinux_2_17_aarch64.manylinux2014_aarch64"),
    ("armhf", "arm-linux-gnueabihf.2.17", "manylinux_2_17_armv7l.manylinux2014_armv7l"),
    ("s390x", "s390x-linux-gnu.2.28", "manylinux_2_28_s390x"),
    ("ppc64el", "powerpc64le-linux-gnu.2.17", "manylinux_2_17_ppc64le.manylinux2014_ppc64le"),
    ("i386", "x86-linux-gnu.2.5", "manylinux_2_5_i686.manylinux1_i686"),
])
def test_zig_with_glibc_promises_manylinux(debian_arch: str, target: str, expected: str) -> None:
    assert tags.wheel_platform_tag(recorded(debian_arch), zig_chain(target)) == expected


def test_no_promise_without_zig_glibc() -> None:
    gnu = Toolchain(kind="gnu", triplet="aarch64-linux-gnu", cc=("gcc",), cxx=(), ar=("ar",))
    assert tags.wheel_platform_tag(recorded("arm64"), gnu) is None
    assert tags.wheel_platform_tag(recorded("arm64"), zig_chain("aarch64-linux-gnu")) is None
    assert tags.wheel_platform_tag(recorded("arm64"), zig_chain("aarch64-linux-musl")) is None


def _exported(host: Any, chain: Toolchain, options: Any) -> dict[str, str]:
    """What the wheel-tag generator exports (it writes no file)."""
    place = backends.Place(directory=Path("/nonexistent"), layout=None, python=None)
    out = backends.generate(host, chain, options, place, ["wheeltags"])
    assert out.files == {}
    return out.env


def test_generator_exports_the_tag_only_for_zig() -> None:
    from crossenv.model import Options

    assert "crossenv.backends.wheeltags" in backends.GENERATORS
    out = _exported(recorded("arm64"), zig_chain("aarch64-linux-gnu.2.17"), Options())
    assert out[tags.WHEEL_PLATFORM_VAR] == "manylinux_2_17_aarch64.manylinux2014_aarch64"
    gnu = Toolchain(kind="gnu", triplet="aarch64-linux-gnu", cc=("gcc",), cxx=(), ar=("ar",))
    plain = _exported(recorded("arm64"), gnu, Options())
    assert tags.WHEEL_PLATFORM_VAR not in plain


def test_pip_cache_dir_is_per_host_description() -> None:
    """pip's documented PIP_CACHE_DIR replaces a patch of pip._internal.cache: one cache
    per ladder, libc and promised wheel tag, shared by envs describing the same host."""
    from crossenv.model import Options

    debian12 = Options(platform_tags=tags.manylinux_ladder((2, 36), "aarch64"),
                       libc=("glibc", "2.36"))
    debian11 = Options(platform_tags=tags.manylinux_ladder((2, 31), "aarch64"),
                       libc=("glibc", "2.31"))
    gcc = tags.pip_cache_dir(debian12, None)
    assert gcc.name.startswith("crossenv-") and gcc.parent.name == "pip"
    assert gcc == tags.pip_cache_dir(dataclasses.replace(debian12), None)
    assert gcc != tags.pip_cache_dir(debian11, None)
    assert gcc != tags.pip_cache_dir(debian12, "manylinux_2_17_aarch64")
    gnu = Toolchain(kind="gnu", triplet="aarch64-linux-gnu", cc=("gcc",), cxx=(), ar=("ar",))
    out = _exported(recorded("arm64"), gnu, debian12)
    assert out["PIP_CACHE_DIR"] == str(gcc)


# -- the runtime answers (loaded as cross-python loads them, with a fake config) ----------

@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """``_crossenv_tags`` bound to an aarch64 host with glibc 2.28."""
    config = types.ModuleType("_crossenv_config")
    config.MACHINE = "aarch64"  # type: ignore[attr-defined]
    config.LIBC = ["glibc", "2.28"]  # type: ignore[attr-defined]
    config.PLATFORM_TAGS = [  # type: ignore[attr-defined]
        *tags.manylinux_ladder((2, 28), "aarch64"), "linux_aarch64"]
    monkeypatch.setitem(sys.modules, "_crossenv_config", config)
    monkeypatch.delenv(tags.WHEEL_PLATFORM_VAR, raising=False)
    spec = importlib.util.spec_from_file_location("_crossenv_tags", RUNTIME / "_crossenv_tags.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "_crossenv_tags", module)
    spec.loader.exec_module(module)
    yield module


def test_import_hooks_name_real_runtime_functions() -> None:
    for target in backends.IMPORT_HOOKS.values():
        name, _, func = target.partition(":")
        source = (RUNTIME / f"{name}.py").read_text()
        assert f"def {func}(" in source, target


def test_shim_knows_every_patched_module_name() -> None:
    """The shim's finder only consults ``_crossenv_patches`` for names it lists: a patch
    added there without its name in the shim would never be applied."""
    import ast

    def names_in(path: Path, variable: str) -> ast.expr:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == variable:
                return node.value
        raise AssertionError(f"{variable} not in {path.name}")

    patches = names_in(RUNTIME / "_crossenv_patches.py", "PATCHES")
    assert isinstance(patches, ast.Dict)
    shim = names_in(RUNTIME / "_crossenv_shim.py", "_NAMES")
    assert isinstance(shim, ast.Call) and isinstance(shim.args[0], ast.Tuple)
    listed = {e.value for e in shim.args[0].elts if isinstance(e, ast.Constant)}
    assert {k.value for k in patches.keys if isinstance(k, ast.Constant)} == listed


def test_pep600_module_agrees_with_ladder(runtime: types.ModuleType,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pep600 = load_runtime("_manylinux")
    # No crossenv shim active (a native python that finds the file): no opinion.
    monkeypatch.delattr(sys, "crossenv", raising=False)
    assert pep600.manylinux_compatible(2, 17, "x86_64") is None
    monkeypatch.setattr(sys, "crossenv", object(), raising=False)
    assert pep600.manylinux_compatible(2, 28, "aarch64") is True
    assert pep600.manylinux_compatible(2, 17, "aarch64") is True
    assert pep600.manylinux_compatible(2, 29, "aarch64") is False
    assert pep600.manylinux_compatible(2, 17, "x86_64") is False


# -- real environments ------------------------------------------------------------------------

def cross_answers(env: Path) -> dict[str, object]:
    """What cross-python says about tags, through packaging, pip's copy and PEP 600."""
    code = (
        "import json, platform, sys, _manylinux\n"
        "import packaging.tags as t\n"
        "import pip._vendor.packaging.tags as pt\n"
        "from pip._internal.utils.compatibility_tags import get_supported\n"
        "arch = platform.machine()\n"
        "print(json.dumps({'first': str(next(iter(t.sys_tags()))),\n"
        "  'pip_first': str(next(iter(pt.sys_tags()))), 'pip': str(get_supported()[0]),\n"
        "  'arch': arch,\n"
        "  'pep600': _manylinux.manylinux_compatible(2, 17, arch),\n"
        "  'pep600_build': _manylinux.manylinux_compatible(2, 17, 'x86_64')}))\n"
    )
    # the test runner's packaging, on PYTHONPATH: no index needed to ``cross-pip install`` it
    env_vars = dict(os.environ, PYTHONPATH=str(Path(packaging.__file__).parent.parent))
    out = run([env / "bin" / "cross-python", "-c", code], env=env_vars).stdout
    answers: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return answers


@pytest.mark.integration
def test_arm64_env_tags_reach_packaging_and_pip(aarch64_env: Path) -> None:
    answers = cross_answers(aarch64_env)
    assert answers["first"] == "cp311-cp311-manylinux_2_36_aarch64"
    assert answers["pip_first"] == answers["pip"] == answers["first"]
    assert answers["pep600"] is True and answers["pep600_build"] is False
    meta = json.loads((aarch64_env / "crossenv.json").read_text())
    assert meta["host"]["platform_tags"][0] == "manylinux_2_36_aarch64"
    # pip's documented PIP_CACHE_DIR keeps built wheels per host description
    env = {k: v for k, v in os.environ.items() if k != "PIP_CACHE_DIR"}
    cache = run([aarch64_env / "bin" / "cross-pip", "cache", "dir"], env=env).stdout.strip()
    assert Path(cache).name.startswith("crossenv-") and Path(cache).parent.name == "pip"
    mine = run([aarch64_env / "bin" / "cross-pip", "cache", "dir"],
               env=dict(env, PIP_CACHE_DIR="/tmp/own-cache")).stdout.strip()
    assert mine == f"/tmp/own-cache/{Path(cache).name}"  # the user's own, split per host
    # build-python is untouched: its tags are the build machine's
    native = run([aarch64_env / "bin" / "build-python", "-c",
                  "import pip._vendor.packaging.tags as t; print(next(iter(t.sys_tags())))"])
    assert "aarch64" not in native.stdout


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("debian_arch", ["armhf", "s390x", "ppc64el"])
def test_other_arch_env_tags(debian_arch: str, tmp_path: Path) -> None:
    require(shutil.which("apt-get"), f"apt-get is needed to provision a {debian_arch} sysroot")
    machine = arches.by_debian(debian_arch).machine
    triplet = arches.by_debian(debian_arch).triplet
    require(shutil.which(f"{triplet}-gcc"),
            f"gcc-{triplet} is needed to cross-compile for {debian_arch}")
    sysroot = provision.provision_debian(debian_arch)
    env = tmp_path / debian_arch
    run([*crossenv_cmd(), sysroot.python, env])
    answers = cross_answers(env)
    assert answers["arch"] == machine
    assert answers["first"] == f"cp311-cp311-manylinux_2_36_{machine}"
    assert answers["pip"] == answers["first"]
    assert answers["pep600"] is True and answers["pep600_build"] is False


@pytest.mark.integration
@pytest.mark.slow
def test_gcc_wheel_repaired_gets_auditwheel_tag(aarch64_env: Path, tmp_path: Path,
                                                aarch64_target: Target) -> None:
    """gcc links against the sysroot's glibc: linux_ tag, then ``crossenv repair``."""
    run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-cache-dir", "--no-binary", "msgpack",
         "--no-deps", "msgpack", "-w", tmp_path / "built"])
    (built,) = (tmp_path / "built").glob("msgpack-*.whl")
    assert built.name.endswith("-linux_aarch64.whl")  # gcc promises nothing
    run([*crossenv_cmd(), "repair", "--env", aarch64_env, "-w", tmp_path / "fixed", built])
    (fixed,) = (tmp_path / "fixed").glob("msgpack-*.whl")
    shown = run([sys.executable, "-m", "auditwheel", "show", fixed]).stdout
    best = fixed.name[:-4].split("-")[-1].split(".")
    assert any(f'"{tag}"' in shown.replace("\n", " ") for tag in best), shown
    run([*crossenv_cmd(), "check", "--env", aarch64_env, fixed])
    site = unpack_wheels([fixed], tmp_path / "site")
    out = aarch64_target.python("-c", "import msgpack._cmsgpack, msgpack; "
                                "print(msgpack.unpackb(msgpack.packb([1, 'x'])))", path=[site])
    assert out.stdout.strip() == "[1, 'x']"
