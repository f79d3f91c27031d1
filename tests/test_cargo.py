"""Rust: target triples, the PyO3 config file, the linker script and cargo's variables.

This machine's rustc has no std for foreign targets and crates cannot be
downloaded, so no Rust crate is cross-built here; what cargo and PyO3 are given
is checked instead, and the linker script links a real C program for the host.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import recorded_sysconfigdata, require, run
from crossenv import arches, elfarch, host, provision, toolchain
from crossenv.backends import cargo

TRIPLES = {
    "arm64": "aarch64-unknown-linux-gnu",
    "armhf": "armv7-unknown-linux-gnueabihf",
    "s390x": "s390x-unknown-linux-gnu",
    "ppc64el": "powerpc64le-unknown-linux-gnu",
    "i386": "i686-unknown-linux-gnu",
}


@pytest.mark.parametrize("arch", sorted(TRIPLES))
def test_rust_target(arch: str) -> None:
    assert cargo.rust_target(host.describe(recorded_sysconfigdata(arch))) == TRIPLES[arch]


def test_rust_target_riscv64() -> None:
    description = host.from_config_vars({"VERSION": "3.11", "HOST_GNU_TYPE":
                                         "riscv64-unknown-linux-gnu", "SOABI": "cpython-311"})
    assert cargo.rust_target(description) == "riscv64gc-unknown-linux-gnu"


@pytest.mark.parametrize(("arch", "width"), [("arm64", "64"), ("armhf", "32"), ("s390x", "64")])
def test_pyo3_config(arch: str, width: str) -> None:
    description = host.describe(recorded_sysconfigdata(arch))
    text = cargo.render_pyo3_config(description)
    values = dict(line.split("=", 1) for line in text.splitlines())
    assert values["implementation"] == "CPython"
    assert values["version"] == "3.11"
    assert values["shared"] == "true"
    assert values["abi3"] == "false"
    assert values["lib_name"] == "python3.11"
    assert values["pointer_width"] == width
    assert values["build_flags"] == ""
    assert values["suppress_build_script_link_lines"] == "false"
    assert values["lib_dir"] == str(description.libpython_dir)
    assert set(values) == {"implementation", "version", "shared", "abi3", "lib_name", "lib_dir",
                           "pointer_width", "build_flags", "suppress_build_script_link_lines"}


def test_environment_has_no_global_library_path() -> None:
    description = host.describe(recorded_sysconfigdata("armhf"))
    chain = toolchain.Toolchain(kind="gnu", triplet="arm-linux-gnueabihf",
                                cc=("arm-linux-gnueabihf-gcc",), cxx=(), ar=("ar",))
    env = cargo.environment(description, chain, config_file="/c/pyo3.txt", linker="/c/ld")
    assert env["CARGO_BUILD_TARGET"] == "armv7-unknown-linux-gnueabihf"
    assert env["CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER"] == "/c/ld"
    assert env["PYO3_CONFIG_FILE"] == "/c/pyo3.txt"
    assert env["PYO3_CROSS_LIB_DIR"] == str(recorded_sysconfigdata("armhf").parent)
    assert env["CC_armv7_unknown_linux_gnueabihf"] == "arm-linux-gnueabihf-gcc"
    assert not {"LIBRARY_PATH", "LD_LIBRARY_PATH", "RUSTFLAGS"} & set(env)


@pytest.mark.integration
def test_linker_script_links_for_the_host(tmp_path: Path, arm64_sysroot: provision.Sysroot) -> None:
    """cargo calls the linker with object files and -o; the script adds the sysroot."""
    require(shutil.which("aarch64-linux-gnu-gcc"), "gcc-aarch64-linux-gnu is needed")
    sysroot = Path(arm64_sysroot.root)
    description = host.describe(arm64_sysroot.python)
    chain = toolchain.find(description, sysroot=sysroot, environ={})
    linker = tmp_path / "linker"
    linker.write_text(cargo.render_linker(chain))
    linker.chmod(0o755)
    (tmp_path / "main.c").write_text("#include <math.h>\nint main(void) "
                                     "{ return (int)sqrt(4.0) - 2; }\n")
    run([chain.cc[0], "-c", tmp_path / "main.c", "-o", tmp_path / "main.o"])
    run([linker, tmp_path / "main.o", "-lm", "-o", tmp_path / "main"])
    facts = elfarch.read(tmp_path / "main")
    assert facts == arches.by_machine("aarch64").elf


def test_rust_std_for_foreign_targets_is_reported() -> None:
    """Documents what this machine has: cross-building crates needs the target's std."""
    rustc = shutil.which("rustc")
    if rustc is None:
        pytest.skip("rustc is not installed")
    out = subprocess.run([rustc, "--print", "target-libdir", "--target",
                          "aarch64-unknown-linux-gnu"], capture_output=True, text=True)
    installed = cargo.target_installed("aarch64-unknown-linux-gnu")
    assert installed == (out.returncode == 0 and Path(out.stdout.strip()).is_dir())
