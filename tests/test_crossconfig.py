"""The sysconfigdata and runtime config written into a cross environment."""

from __future__ import annotations

import ast
from pathlib import Path

from crossenv import crossconfig, sysconfigdata
from crossenv import host as host_mod
from crossenv.model import Toolchain
from helpers import recorded_sysconfigdata

SYSROOT = Path("/opt/sysroots/arm64")


def described(arch: str) -> host_mod.HostDescription:
    """A recorded host placed (on paper) in SYSROOT; no files are needed there."""
    from crossenv import sysconfigdata as data

    return host_mod.from_config_vars(data.load(recorded_sysconfigdata(arch)),
                                     sysroot=SYSROOT)


def arm64() -> host_mod.HostDescription:
    return described("arm64")


def chain() -> Toolchain:
    return Toolchain(kind="gnu", triplet="aarch64-linux-gnu",
                     cc=("aarch64-linux-gnu-gcc", f"--sysroot={SYSROOT}"),
                     cxx=("aarch64-linux-gnu-g++", f"--sysroot={SYSROOT}"),
                     ar=("aarch64-linux-gnu-gcc-ar",), sysroot=SYSROOT)


def test_compilers_are_the_cross_toolchain_with_host_flags_kept() -> None:
    values = crossconfig.host_config_vars(arm64(), chain(), cross_prefix=Path("/env/cross"))
    sysroot_flag = f"--sysroot={SYSROOT}"
    wrappers = "/env/cross/crossenv/bin/"  # crossenv.compilerwrap, in front of the compilers
    assert values["CC"] == f"{wrappers}aarch64-linux-gnu-gcc {sysroot_flag}"
    assert values["CXX"] == f"{wrappers}aarch64-linux-gnu-g++ {sysroot_flag}"
    assert values["LDSHARED"].startswith(f"{wrappers}aarch64-linux-gnu-gcc {sysroot_flag} -shared")
    assert "-Wl,-Bsymbolic-functions" in values["LDSHARED"]  # Debian's flags survive
    assert values["LDCXXSHARED"].startswith(
        f"{wrappers}aarch64-linux-gnu-g++ {sysroot_flag} -shared")
    assert values["AR"] == "aarch64-linux-gnu-gcc-ar"
    assert values["CPP"] == f"{wrappers}aarch64-linux-gnu-gcc {sysroot_flag} -E"


def test_paths_move_into_the_sysroot_and_install_paths_stay_in_the_env() -> None:
    values = crossconfig.host_config_vars(arm64(), chain(), cross_prefix=Path("/env/cross"))
    assert values["INCLUDEPY"] == f"{SYSROOT}/usr/include/python3.11"
    assert values["LIBDIR"] == f"{SYSROOT}/usr/lib/aarch64-linux-gnu"
    assert values["LIBPL"] == f"{SYSROOT}/usr/lib/python3.11/config-3.11-aarch64-linux-gnu"
    assert values["installed_base"] == f"{SYSROOT}/usr"
    assert values["prefix"] == "/env/cross"
    assert values["EXT_SUFFIX"] == ".cpython-311-aarch64-linux-gnu.so"


def test_include_overlay_and_overrides() -> None:
    values = crossconfig.host_config_vars(
        arm64(), chain(), cross_prefix=Path("/env/cross"),
        include_overlay=Path("/env/cross/crossenv/include"), overrides={"CCSHARED": "-fpic"})
    assert values["CFLAGS"].endswith("-I/env/cross/crossenv/include")
    assert values["CCSHARED"] == "-fpic"


def test_rendered_files_are_plain_literals() -> None:
    desc = arm64()
    values = crossconfig.host_config_vars(desc, chain(), cross_prefix=Path("/env/cross"))
    assert sysconfigdata.parse(crossconfig.render_sysconfigdata(values, desc)) == values
    config = crossconfig.render_runtime_config(
        desc, sysconfigdata_file=Path("/env/cross/crossenv/x.py"),
        build_python=Path("/env/build/bin/python"), env_dir=Path("/env"),
        platform_tags=["manylinux_2_36_aarch64", "linux_aarch64"],
        build_env={"MESON": "/env/bin/m"}, import_hooks={"build": "_x:y"})
    names = {}
    for node in ast.parse(config).body:
        if isinstance(node, ast.Assign):
            names[node.targets[0].id] = ast.literal_eval(node.value)  # type: ignore[attr-defined]
    assert names["MACHINE"] == "aarch64"
    assert names["HOST_PLATFORM"] == "linux-aarch64"
    assert names["POINTER_BITS"] == 64
    assert names["PLATFORM_TAGS"][0] == "manylinux_2_36_aarch64"
    assert names["INFO"]["host_platform"] == "linux-aarch64"
    assert names["BUILD_ENV"] == {"MESON": "/env/bin/m"}


def test_machine_override_changes_platform() -> None:
    desc = host_mod.describe(recorded_sysconfigdata("armhf"), machine="armv6l")
    config = crossconfig.render_runtime_config(
        desc, sysconfigdata_file=Path("/x.py"), build_python=Path("/p"), env_dir=Path("/e"))
    assert "HOST_PLATFORM = 'linux-armv6l'" in config


def test_zig_compilers_carry_the_include_overlay() -> None:
    """zig cc does not search Debian's multiarch include directory, and CFLAGS a user
    sets replace sysconfig's (setuptools' distutils): the overlay for Python.h's
    <aarch64-linux-gnu/python3.11/pyconfig.h> goes with zig's CC/CXX/CPP, searched last
    (cibw-project with CFLAGS=-DCIBWDEMO_NEW_SYMBOL failed to compile with zig)."""
    zig = Toolchain(kind="zig", triplet="aarch64-linux-gnu.2.28",
                    cc=("zig", "cc", "-target", "aarch64-linux-gnu.2.28"),
                    cxx=("zig", "c++", "-target", "aarch64-linux-gnu.2.28"), ar=("zig", "ar"))
    overlay = Path("/env dir/cross/crossenv/include")
    values = crossconfig.host_config_vars(arm64(), zig, cross_prefix=Path("/env/cross"),
                                          include_overlay=overlay)
    for name in ("CC", "CXX", "CPP"):
        assert values[name].endswith("-idirafter '/env dir/cross/crossenv/include'"), values[name]
    assert "idirafter" not in values["LDSHARED"]
    gnu = crossconfig.host_config_vars(arm64(), chain(), cross_prefix=Path("/env/cross"),
                                       include_overlay=overlay)
    assert "idirafter" not in gnu["CC"]  # gcc finds the multiarch directory itself
