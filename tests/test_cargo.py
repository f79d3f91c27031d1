"""Rust: target triples, the PyO3 config file, the linker script and cargo's variables.

What cargo and PyO3 are given is checked here, the linker script links a real C
program for the host, and the cargo/rustc wrappers an env gets without a usable rustc
run; tests/test_rust.py cross-builds real PyO3 crates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from crossenv import arches, backends, elfarch, host, provision, rust, toolchain
from crossenv.backends import cargo
from crossenv.model import Layout
from helpers import crossenv_cmd, recorded_sysconfigdata, require, run

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


def test_environment_names_the_sysroot_for_maturin(tmp_path: Path) -> None:
    description = host.describe(recorded_sysconfigdata("arm64"), sysroot=tmp_path)
    chain = toolchain.Toolchain(kind="gnu", triplet="aarch64-linux-gnu",
                                cc=("aarch64-linux-gnu-gcc",), cxx=(), ar=("ar",))
    env = cargo.environment(description, chain, config_file="/c/pyo3.txt", linker="/c/ld")
    assert env["TARGET_SYSROOT"] == str(tmp_path)
    # build scripts compile for the build machine: host flags only per target (cc crate)
    assert not {"CC", "CXX", "CFLAGS", "LDFLAGS", "AR"} & set(env)


def test_missing_rust_tool_prints_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           ) -> None:
    """What cargo (run by maturin or setuptools-rust) meets without a usable toolchain."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    choice = rust.RustToolchain("missing", "aarch64-unknown-linux-gnu", debian_arch="arm64")
    script = tmp_path / "cargo"
    script.write_text(cargo.render_tool("cargo", choice))
    script.chmod(0o755)
    proc = subprocess.run([str(script), "build"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [rust.missing_message("aarch64-unknown-linux-gnu",
                                                             "arm64")]
    assert "crossenv provision-rust --arch arm64" in proc.stderr
    assert "rustup target add aarch64-unknown-linux-gnu" in proc.stderr


def test_provisioned_rust_tool_runs_the_cached_one(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Provisioning after creation is picked up by an existing env's wrapper."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    choice = rust.RustToolchain("missing", "aarch64-unknown-linux-gnu", debian_arch="arm64")
    script = tmp_path / "rustc"
    script.write_text(cargo.render_tool("rustc", choice))
    script.chmod(0o755)
    cached = rust.std_dir("arm64") / "bin" / "rustc"
    cached.parent.mkdir(parents=True)
    cached.write_text("#!/bin/sh\necho cached \"$@\"\n")
    cached.chmod(0o755)
    assert run([script, "-vV"]).stdout == "cached -vV\n"


def test_write_tools_only_without_a_usable_path_rustc(tmp_path: Path) -> None:
    layout = Layout(env=tmp_path / "env", cross=tmp_path / "env" / "cross")
    found = rust.RustToolchain("path", "aarch64-unknown-linux-gnu", "/usr/bin/rustc")
    assert cargo.tool_files(found) == {}
    assert cargo.tool_env(layout.crossenv_dir, found) == {}
    provisioned = rust.RustToolchain("provisioned", "aarch64-unknown-linux-gnu", "/c/rustc",
                                     "/c/cargo", "1.63.0", "arm64")
    backends.write(tmp_path, backends.Output(files=cargo.tool_files(provisioned)))
    env = cargo.tool_env(layout.crossenv_dir, provisioned)
    final = layout.crossenv_dir / cargo.RUST_BIN
    assert env == {"CARGO": str(final / "cargo"), "RUSTC": str(final / "rustc"),
                   "CROSSENV_PREPEND_PATH": str(final)}
    assert os.access(tmp_path / cargo.RUST_BIN / "cargo", os.X_OK)


def test_has_std_needs_the_rlib(tmp_path: Path) -> None:
    assert not rust.has_std(tmp_path / "nowhere")
    assert not rust.has_std(tmp_path)  # rustup prints the directory even without the std
    (tmp_path / "libstd-0123abcd.rlib").write_bytes(b"")
    assert rust.has_std(tmp_path)


def test_path_rustc_without_the_hosts_std_is_not_used(tmp_path: Path) -> None:
    fake = tmp_path / "rustc"
    fake.write_text(f"#!/bin/sh\necho {tmp_path / 'empty'}\n")
    fake.chmod(0o755)
    assert rust.on_path("aarch64-unknown-linux-gnu", {"PATH": str(tmp_path)}) is None
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "libstd-1.rlib").write_bytes(b"")
    fake.write_text(f"#!/bin/sh\n[ \"$1\" = -V ] && echo rustc 1.2.3 && exit\n"
                    f"echo {tmp_path / 'empty'}\n")
    found = rust.on_path("aarch64-unknown-linux-gnu", {"PATH": str(tmp_path)})
    assert found is not None and (found.kind, found.version) == ("path", "1.2.3")


def test_provision_rust_unknown_arch_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([*crossenv_cmd(), "provision-rust", "--arch", "sparc"],
                          capture_output=True, text=True,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})
    assert proc.returncode == 2
    assert proc.stderr.startswith("crossenv: error: unknown architecture 'sparc'")
    assert len(proc.stderr.splitlines()) == 1
    assert not (tmp_path / "crossenv" / "rust").exists() or not any(
        (tmp_path / "crossenv" / "rust").iterdir())


@pytest.mark.integration
def test_pyo3_reads_crossenvs_sysconfigdata_not_the_sysroots(aarch64_env: Path) -> None:
    """PyO3 and maturin execute the _sysconfigdata*.py in PYO3_CROSS_LIB_DIR: it must be
    crossenv's rendered file (literals from validated values), never the sysroot's own."""
    crossenv_dir = aarch64_env / "cross" / "crossenv"
    code = "import os; print(os.environ['PYO3_CROSS_LIB_DIR'], 'PYO3_CONFIG_FILE' in os.environ)"
    out = run([aarch64_env / "bin" / "cross-python", "-c", code]).stdout.split()
    assert out == [str(crossenv_dir / cargo.LIB_DIR), "False"]
    (data,) = (crossenv_dir / cargo.LIB_DIR).glob("_sysconfigdata*.py")
    assert data.resolve() == (crossenv_dir / "_crossenv_sysconfigdata.py").resolve()
    text = data.read_text()
    assert "EXT_SUFFIX" in text and "aarch64-linux-gnu" in text


def test_lib_dir_name_comes_from_the_host_but_stays_inside(tmp_path: Path) -> None:
    description = host.describe(recorded_sysconfigdata("arm64"))
    output = backends.Output(files=cargo.lib_dir_files(description, tmp_path))
    backends.write(tmp_path, output)
    (link,) = (tmp_path / cargo.LIB_DIR).iterdir()
    assert link.name == f"{description.sysconfigdata_name}.py"
    assert os.readlink(link) == "../_crossenv_sysconfigdata.py"
    backends.write(tmp_path, output)  # re-creation replaces it
    assert [p.name for p in (tmp_path / cargo.LIB_DIR).iterdir()] == [link.name]
    assert os.readlink(link) == "../_crossenv_sysconfigdata.py"
