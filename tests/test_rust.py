"""Rust end to end: a PyO3 crate built by maturin and by setuptools-rust for aarch64 and
armhf from cross-pip (isolation on), checked, and imported under qemu.

crates.io is not reachable here, so crates come from Debian's ``librust-*-dev``
packages (pyo3 0.17.3 and what it needs), unpacked rootless into the cache and used
as a cargo directory source; the Rust toolchain is Debian 12's (rustc 1.63), which
crossenv provisions itself when PATH's rustc has no std for the host. The two
backends of one architecture share a cargo target directory, so pyo3 is compiled once
per architecture.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import Target, crossenv_cmd, require, run, unpack_wheels
from crossenv import provision, rust
from crossenv.apt import Apt
from crossenv.cache import user_cache

SOURCES = Path(__file__).parent / "sources"
ARCHES = {"arm64": ("aarch64", "64"), "armhf": ("armv7l", "32")}
BACKENDS = ("pyo3-maturin", "pyo3-setuptools")


def _unpack_crates(dest: Path) -> None:
    """Debian's crate packages behind librust-pyo3-dev, unpacked (no root) once."""
    from filelock import FileLock

    registry = dest / "usr" / "share" / "cargo" / "registry"
    if (registry / "pyo3-0.17.3").is_dir():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.parent / f".{dest.name}.lock")):
        if (registry / "pyo3-0.17.3").is_dir():
            return
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
            work = Path(tmp)
            apt = Apt(rust.build_debian_arch(), work / "apt", rust._release())
            apt.update()
            crates = sorted(n for n in apt.depends(["librust-pyo3-dev"])
                            if n.startswith("librust-"))
            for deb in apt.download(crates, work / "debs"):
                provision.extract_deb(deb, work / "root")
            (work / "root").rename(dest)


@pytest.fixture(scope="module")
def cargo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CARGO_HOME whose config replaces crates.io with Debian's crates, offline."""
    require(shutil.which("apt-get") and shutil.which("dpkg-deb"), "apt and dpkg-deb are needed")
    crates = user_cache("rust") / f"crates-{rust._release().suite}"
    _unpack_crates(crates)
    home = tmp_path_factory.mktemp("cargo-home")
    (home / "config.toml").write_text(
        "[source.crates-io]\nreplace-with = \"debian\"\n"
        f"[source.debian]\ndirectory = \"{crates}/usr/share/cargo/registry\"\n"
        "[net]\noffline = true\n")
    return home


def _sysroot(arch: str) -> provision.Sysroot:
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian sysroot")
    return provision.provision_debian(arch)


@pytest.fixture(scope="module")
def rust_envs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An env per architecture, made after provisioning Debian's Rust for it."""
    envs = {}
    for arch, (machine, _) in ARCHES.items():
        require(shutil.which(f"{provision.multiarch_of(arch)}-gcc"),
                f"the {arch} cross gcc is needed")
        sysroot = _sysroot(arch)
        rust.provision_rust(arch)
        envs[arch] = tmp_path_factory.mktemp("envs") / machine
        run([*crossenv_cmd(), sysroot.python, envs[arch]])
    return envs


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory, cargo_home: Path,
           rust_envs: dict[str, Path]) -> dict[str, Path]:
    """``{arch}/{backend}`` -> the wheel cross-pip built (both backends, both arches)."""
    built: dict[str, Path] = {}
    for arch, env in rust_envs.items():
        target_dir = tmp_path_factory.mktemp(f"cargo-target-{arch}")
        for backend in BACKENDS:
            out = tmp_path_factory.mktemp(f"wheels-{arch}-{backend}")
            environ = {**os.environ, "CARGO_HOME": str(cargo_home),
                       "CARGO_TARGET_DIR": str(target_dir),
                       # speed only: the crate is tiny, pyo3 unoptimized is plenty
                       "CARGO_PROFILE_RELEASE_OPT_LEVEL": "1"}
            source = shutil.copytree(SOURCES / backend, out.parent / f"src-{arch}-{backend}")
            run([env / "bin" / "cross-pip", "wheel", "--no-deps", "-w", out, source],
                env=environ, timeout=900)
            (wheel,) = out.glob("*.whl")
            built[f"{arch}/{backend}"] = wheel
    return built


CASES = [f"{arch}/{backend}" for arch in ARCHES for backend in BACKENDS]


@pytest.mark.integration
@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_env_records_its_rust_toolchain(arch: str, rust_envs: dict[str, Path]) -> None:
    """crossenv.json and ``describe --format rust`` say which rustc builds for the host."""
    recorded = json.loads((rust_envs[arch] / "crossenv.json").read_text())["rust"]
    expected = rust.find(recorded["target"], arch)
    assert recorded == expected.to_json()
    assert recorded["kind"] in ("path", "provisioned")
    line = run([*crossenv_cmd(), "describe", rust_envs[arch], "--format", "rust"]).stdout
    assert line == (f"rustc {recorded['version']} ({recorded['kind']}: {recorded['rustc']}) "
                    f"for {recorded['target']}\n")


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES)
def test_wheel_is_for_the_host(case: str, wheels: dict[str, Path]) -> None:
    arch = case.split("/")[0]
    wheel = wheels[case]
    assert wheel.name == f"pyo3_hello-0.1.0-cp311-cp311-linux_{ARCHES[arch][0]}.whl"
    run([*crossenv_cmd(), "check", "--platform", f"linux_{ARCHES[arch][0]}", wheel])


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES)
def test_wheel_imports_under_qemu(case: str, wheels: dict[str, Path], tmp_path: Path) -> None:
    arch = case.split("/")[0]
    qemu = provision.find_qemu(arch)
    require(qemu, f"qemu-user-static is needed to run {arch} code")
    assert qemu is not None
    site = unpack_wheels([wheels[case]], tmp_path / "site")
    proc = Target(_sysroot(arch), qemu).python(
        "-c", "import pyo3_hello as m; print(m.pointer_width(), m.add(2, 3))", path=[site])
    assert proc.stdout.split() == [ARCHES[arch][1], "5"]


@pytest.mark.integration
def test_no_rust_toolchain_fails_with_one_line(tmp_path: Path,
                                              arm64_sysroot: provision.Sysroot) -> None:
    """No rustc on PATH and nothing provisioned: creation succeeds, the build names the fix."""
    bare = ":".join(p for p in os.environ["PATH"].split(":")
                    if p and not (Path(p) / "rustc").exists() and not (Path(p) / "cargo").exists())
    environ = {**os.environ, "PATH": bare, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env = tmp_path / "env"
    run([*crossenv_cmd(), arm64_sysroot.python, env], env=environ)
    source = shutil.copytree(SOURCES / "pyo3-maturin", tmp_path / "src")
    proc = subprocess.run([str(env / "bin" / "cross-pip"), "wheel", "--no-deps", "-w",
                           str(tmp_path / "out"), str(source)],
                          env=environ, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines()
             if "crossenv: no Rust standard library" in ln]
    expected = rust.missing_message("aarch64-unknown-linux-gnu", "arm64")
    assert lines and set(lines) == {expected}, proc.stdout + proc.stderr
    described = run([*crossenv_cmd(), "describe", env, "--format", "rust"], env=environ)
    assert described.stdout == expected + "\n"
    assert json.loads((env / "crossenv.json").read_text())["rust"]["kind"] == "missing"
    assert "provision-rust --arch arm64" in expected
    assert not list((tmp_path / "out").glob("*.whl"))


@pytest.mark.integration
@pytest.mark.slow
def test_zig_env_gives_manylinux2014_wheels(tmp_path: Path, cargo_home: Path,
                                             arm64_sysroot: provision.Sysroot,
                                             aarch64_target: Target) -> None:
    """With ``--toolchain zig --manylinux 2_17`` cargo links with zig cc against glibc
    2.17, so maturin's own manylinux2014 check (it reads TARGET_SYSROOT) passes."""
    require(importlib.util.find_spec("ziglang"), "the ziglang package is needed")
    rust.provision_rust("arm64")
    env = tmp_path / "env"
    run([*crossenv_cmd(), "--toolchain", "zig", "--manylinux", "2_17", arm64_sysroot.python,
         env])
    source = shutil.copytree(SOURCES / "pyo3-maturin", tmp_path / "src")
    environ = {**os.environ, "CARGO_HOME": str(cargo_home),
               "CARGO_TARGET_DIR": str(tmp_path / "target"),
               "CARGO_PROFILE_RELEASE_OPT_LEVEL": "1",
               "MATURIN_PEP517_ARGS": "--compatibility manylinux2014"}
    run([env / "bin" / "cross-pip", "wheel", "--no-deps", "-w", tmp_path / "out", source],
        env=environ, timeout=900)
    (wheel,) = (tmp_path / "out").glob("*.whl")
    assert wheel.name == ("pyo3_hello-0.1.0-cp311-cp311-"
                          "manylinux_2_17_aarch64.manylinux2014_aarch64.whl")
    run([*crossenv_cmd(), "check", "--env", env, wheel])
    site = unpack_wheels([wheel], tmp_path / "site")
    proc = aarch64_target.python("-c", "import pyo3_hello as m; print(m.add(40, 2))",
                                 path=[site])
    assert proc.stdout.strip() == "42"
