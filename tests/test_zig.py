"""The zig toolchain: targets, flags, and a real manylinux2014 build checked three ways.

Unit tests run on the recorded Debian host data. The integration tests need the
``ziglang`` package (the ``test`` extra installs it); the slow one cross-builds
markupsafe and msgpack with ``--toolchain zig --manylinux 2_17`` and confirms the tag
with ``auditwheel show`` and ``crossenv check``, then imports both under qemu.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shlex
import sys
from pathlib import Path

import pytest

from crossenv import crossconfig, provision, toolchain, zig
from crossenv.errors import ToolchainError
from crossenv.host import HostDescription, describe
from helpers import Target, crossenv_cmd, recorded_sysconfigdata, require, run, unpack_wheels

HAVE_ZIG = importlib.util.find_spec("ziglang") is not None
ZIG_REASON = "the ziglang package is needed (pip install -e '.[test]')"


def recorded(debian_arch: str) -> HostDescription:
    return describe(recorded_sysconfigdata(debian_arch))


@pytest.mark.parametrize(("debian_arch", "glibc", "expected"), [
    ("arm64", (2, 17), "aarch64-linux-gnu.2.17"),
    ("armhf", (2, 17), "arm-linux-gnueabihf.2.17"),  # Debian says armv8l-...-gnueabihf
    ("s390x", (2, 17), "s390x-linux-gnu.2.17"),
    ("ppc64el", (2, 19), "powerpc64le-linux-gnu.2.19"),
    ("i386", (2, 5), "x86-linux-gnu.2.5"),
    ("arm64", None, "aarch64-linux-gnu"),
])
def test_zig_target(debian_arch: str, glibc: tuple[int, int] | None, expected: str) -> None:
    assert zig.zig_target(recorded(debian_arch), glibc) == expected


def test_riscv64_target_and_its_oldest_glibc() -> None:
    riscv = dataclasses.replace(recorded("arm64"), host_gnu_type="riscv64-unknown-linux-gnu",
                                machine="riscv64")
    assert zig.zig_target(riscv, (2, 31)) == "riscv64-linux-gnu.2.31"
    with pytest.raises(ToolchainError, match="--manylinux 2_27"):
        zig.zig_target(riscv, (2, 17))


def test_ppc64le_has_no_glibc_2_17_in_zig() -> None:
    with pytest.raises(ToolchainError, match="--manylinux 2_19"):
        zig.zig_target(recorded("ppc64el"), (2, 17))


def test_musl_host_targets_zig_musl() -> None:
    musl = dataclasses.replace(recorded("arm64"), host_gnu_type="aarch64-alpine-linux-musl")
    assert zig.zig_target(musl, (2, 17)) == "aarch64-linux-musl"


def test_rejected_flags_are_rewritten() -> None:
    config: dict[str, object] = {
        "LDSHARED": "cc -shared -Wl,-O1 -Wl,-Bsymbolic-functions -g -O2",
        "CFLAGS": "-O2 -flto=auto -ffat-lto-objects -g", "SIZEOF_INT": 4,
    }
    zig.adapt_config_vars(config)
    assert config == {"LDSHARED": "cc -shared -g -O2", "CFLAGS": "-O2 -flto -g", "SIZEOF_INT": 4}


def test_toolchain_uses_ziglang_binary_without_sysroot(tmp_path: Path) -> None:
    require(HAVE_ZIG, ZIG_REASON)
    chain = zig.toolchain(recorded("arm64"), glibc="manylinux2014")
    assert chain.kind == "zig" and chain.triplet == "aarch64-linux-gnu.2.17"
    assert Path(chain.cc[0]).name == "zig" and chain.cc[1:4] == ("cc", "-target", chain.triplet)
    assert chain.cxx[1] == "c++" and chain.ar[1:] == ("ar",)
    assert chain.sysroot is None
    config = crossconfig.host_config_vars(recorded("arm64"), chain, cross_prefix=tmp_path)
    cc = shlex.split(str(config["CC"]))  # the path guard wrapper named like zig, then zig's args
    assert cc[0] == str(tmp_path / "crossenv" / "bin" / "zig") and cc[1:4] == list(chain.cc[1:4])
    assert "--sysroot" not in str(config["LDSHARED"])
    assert "-Bsymbolic-functions" not in str(config["LDSHARED"])


def test_missing_ziglang_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolchainError, match="crossenv\\[zig\\]"):
        zig.zig_executable()


@pytest.mark.integration
@pytest.mark.parametrize("debian_arch", ["arm64", "armhf", "s390x", "ppc64el", "i386"])
def test_zig_compiles_for_every_recorded_host(debian_arch: str) -> None:
    """toolchain.find's own probe: an object file with the host's ELF machine/class/ABI."""
    require(HAVE_ZIG, ZIG_REASON)
    glibc = "2_19" if debian_arch == "ppc64el" else "2_17"
    chain = toolchain.find(recorded(debian_arch), kind="zig", glibc=glibc)
    assert chain.triplet.endswith(glibc.replace("_", "."))


@pytest.mark.integration
@pytest.mark.slow
def test_zig_manylinux2014_wheels(tmp_path: Path, arm64_sysroot: provision.Sysroot,
                                  aarch64_target: Target) -> None:
    require(HAVE_ZIG, ZIG_REASON)
    env = tmp_path / "zig-env"
    run([*crossenv_cmd(), "--toolchain", "zig", "--manylinux", "2_17", arm64_sysroot.python, env])
    meta = json.loads((env / "crossenv.json").read_text())
    assert meta["toolchain"]["kind"] == "zig" and meta["toolchain"]["sysroot"] is None
    assert meta["host"]["platform_tags"][:2] == ["manylinux_2_17_aarch64",
                                                 "manylinux2014_aarch64"]
    run([env / "bin" / "cross-pip", "wheel", "--no-cache-dir", "--no-binary",
         "markupsafe,msgpack", "--no-deps", "markupsafe", "msgpack", "-w", tmp_path / "out"])
    wheels = sorted((tmp_path / "out").glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["markupsafe", "msgpack"]
    for wheel in wheels:
        assert wheel.name.endswith(
            "-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"), wheel.name
        shown = run([sys.executable, "-m", "auditwheel", "show", wheel]).stdout
        assert '"manylinux_2_17_aarch64"' in shown.replace("\n", " "), shown
    run([*crossenv_cmd(), "check", "--env", env, *wheels])
    run([*crossenv_cmd(), "check", "--target", "manylinux_2_17_aarch64", *wheels])
    site = unpack_wheels(wheels, tmp_path / "site")
    out = aarch64_target.python(
        "-c", "import markupsafe._speedups, msgpack._cmsgpack, markupsafe, msgpack; "
        "print(markupsafe.escape('<a>'), msgpack.unpackb(msgpack.packb([1, 2.5])))", path=[site])
    assert out.stdout.strip() == "&lt;a&gt; [1, 2.5]"
