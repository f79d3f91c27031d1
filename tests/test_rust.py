"""Rust end to end: a PyO3 crate built by maturin and by setuptools-rust for aarch64 and
armhf from cross-pip (isolation on), checked, and imported under qemu; a crate whose
build.rs compiles C for both machines; the maturin crate through pypa/build. The default
run builds aarch64 (both backends, the build-script crate, pypa/build);
``CROSSENV_RUST_FULL=1`` (``nox -s rust``) adds armhf with both backends, and zig.

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
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from crossenv import arches, provision, rust
from crossenv.apt import Apt
from crossenv.cache import user_cache
from helpers import Target, crossenv_cmd, require, run, shared_build, unpack_wheels

SOURCES = Path(__file__).parent / "sources"
#: the hosts, as rows of the architecture table (machine, pointer size, multiarch)
ARCHES = {name: arches.by_debian(name) for name in ("arm64", "armhf")}
BACKENDS = ("pyo3-maturin", "pyo3-setuptools")
#: The full run (nox -s rust) builds every backend for every architecture (the 32-bit
#: armhf ones too: maturin's armv7 extension suffix) and the zig wheel; the default run
#: keeps aarch64 with both backends (pyo3 compiled once).
FULL = os.environ.get("CROSSENV_RUST_FULL") == "1"
BUILDS = [(arch, backend) for arch in ARCHES for backend in BACKENDS
          if FULL or arch == "arm64"]
#: a crate whose build.rs compiles C for the build machine (and runs it) and for the host
BUILD_SCRIPT = ("arm64", "pyo3-buildscript")
#: the architecture whose maturin crate is also built by ``cross-python -m build``
PYPA_BUILD = "arm64"


def _unpack_crates(dest: Path) -> None:
    """Debian's crate packages behind librust-pyo3-dev, unpacked (no root) once."""
    from filelock import FileLock

    registry = dest / "usr" / "share" / "cargo" / "registry"
    def complete() -> bool:
        return (registry / "pyo3-0.17.3").is_dir() and bool(list(registry.glob("cc-1.*")))

    if complete():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.parent / f".{dest.name}.lock")):
        if complete():
            return
        shutil.rmtree(dest, ignore_errors=True)  # this test's older tree, without cc
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
            work = Path(tmp)
            apt = Apt(rust.build_debian_arch(), work / "apt", rust._release())
            apt.update()
            crates = sorted(n for n in apt.depends(["librust-pyo3-dev", "librust-cc-dev"])
                            if n.startswith("librust-"))
            for deb in apt.download(crates, work / "debs"):
                provision.extract_deb(deb, work / "root")
            (work / "root").rename(dest)
    assert complete(), f"librust-pyo3-dev or librust-cc-dev missing from {registry}"


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


def _build_all(directory: Path, cargo_home: Path) -> None:
    """An env per architecture (made after provisioning Debian's Rust for it) and the
    wheels of both backends, built by its cross-pip with build isolation on."""
    for arch, row in ARCHES.items():
        require(shutil.which(f"{row.triplet}-gcc"),
                f"the {arch} cross gcc is needed")
        rust.provision_rust(arch)
        env = directory / "envs" / row.machine
        run([*crossenv_cmd(), _sysroot(arch).python, env])
        environ = {**os.environ, "CARGO_HOME": str(cargo_home),
                   # shared by the builds of one arch: pyo3 is compiled once per architecture
                   "CARGO_TARGET_DIR": str(directory / "target" / arch),
                   # speed only: the tests call tiny functions
                   "CARGO_PROFILE_RELEASE_OPT_LEVEL": "0"}
        for backend in (b for a, b in [*BUILDS, BUILD_SCRIPT] if a == arch):
            out = directory / "wheels" / f"{arch}-{backend}"
            source = shutil.copytree(SOURCES / backend, directory / "src" / f"{arch}-{backend}")
            run([env / "bin" / "cross-pip", "wheel", "--no-deps", "-w", out, source],
                env=environ, timeout=900)
        if arch == PYPA_BUILD:  # the same crate through pypa/build (pyo3 already compiled)
            run([env / "bin" / "cross-pip", "install", "build"])
            source = shutil.copytree(SOURCES / "pyo3-maturin", directory / "src" / "pypa-build")
            run([env / "bin" / "cross-python", "-m", "build", "--wheel", "--outdir",
                 directory / "wheels" / "pypa-build", source], env=environ, timeout=900)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cargo_home: Path) -> Path:
    """The envs and wheels, built once per test run (shared by the xdist workers)."""
    return shared_build(tmp_path_factory, "rust-pyo3",
                        lambda directory: _build_all(directory, cargo_home))


@pytest.fixture(scope="module")
def rust_envs(built: Path) -> dict[str, Path]:
    return {arch: built / "envs" / row.machine for arch, row in ARCHES.items()}


@pytest.fixture(scope="module")
def wheels(built: Path) -> dict[str, Path]:
    """``{arch}/{backend}`` -> the wheel cross-pip built (every one of BUILDS)."""
    found = {}
    for arch, backend in BUILDS:
        (wheel,) = (built / "wheels" / f"{arch}-{backend}").glob("*.whl")
        found[f"{arch}/{backend}"] = wheel
    return found


CASES = [f"{arch}/{backend}" for arch, backend in BUILDS]


@pytest.mark.integration
@pytest.mark.slow(minutes=4)
def test_every_build_leaves_one_wheel_for_its_host(built: Path) -> None:
    """Each build of the run (BUILDS, the build-script crate, pypa/build) left one wheel,
    tagged for its architecture, and nothing else. Marked slow because it is the test
    that triggers the builds, at the start of the run (see conftest); the others reuse them."""
    expected = {f"{arch}-{backend}": arch for arch, backend in [*BUILDS, BUILD_SCRIPT]}
    expected["pypa-build"] = PYPA_BUILD
    found = {d.name: sorted(p.name for p in d.iterdir()) for d in (built / "wheels").iterdir()}
    assert set(found) == set(expected)
    for name, arch in expected.items():
        (wheel,) = found[name]
        assert wheel.endswith(f"-cp311-cp311-linux_{ARCHES[arch].machine}.whl"), (name, wheel)


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
    machine = ARCHES[arch].machine
    assert wheel.name == f"pyo3_hello-0.1.0-cp311-cp311-linux_{machine}.whl"
    run([*crossenv_cmd(), "check", "--platform", f"linux_{machine}", wheel])
    # the host's EXT_SUFFIX (maturin made up .cpython-311-armv7l-linux-gnueabihf.so from a
    # PYO3_CONFIG_FILE, which crossenv therefore does not export in ENV)
    suffix = ARCHES[arch].multiarch
    modules = {name.rsplit("/", 1)[-1] for name in unpacked_names(wheel) if name.endswith(".so")}
    assert modules == {f"pyo3_hello.cpython-311-{suffix}.so"}


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
    assert proc.stdout.split() == [str(ARCHES[arch].pointer_size * 8), "5"]


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
def test_build_script_compiles_c_for_both_machines(built: Path, tmp_path: Path,
                                                   aarch64_target: Target) -> None:
    """A build.rs compiles (with the ``cc`` crate) and runs a C code generator for the
    build machine and compiles C for the host into the extension: the first stays on the
    native compiler (crossenv 1.x issue 65), the second is the cross compiler's."""
    arch, backend = BUILD_SCRIPT
    (wheel,) = (built / "wheels" / f"{arch}-{backend}").glob("*.whl")
    assert wheel.name == "pyo3_buildscript-0.1.0-cp311-cp311-linux_aarch64.whl"
    run([*crossenv_cmd(), "check", "--platform", "linux_aarch64", wheel])
    site = unpack_wheels([wheel], tmp_path / "site")
    proc = aarch64_target.python(
        "-c", "import pyo3_buildscript as m; "
        "print(m.generator_machine(), m.host_machine(), m.mul(6, 7))", path=[site])
    assert proc.stdout.split() == [platform.machine(), "aarch64", "42"]


@pytest.mark.integration
def test_pypa_build_builds_the_maturin_crate(built: Path, tmp_path: Path,
                                             aarch64_target: Target) -> None:
    """``cross-python -m build --wheel`` (isolation on, maturin installed natively)."""
    (wheel,) = (built / "wheels" / "pypa-build").glob("*.whl")
    assert wheel.name == "pyo3_hello-0.1.0-cp311-cp311-linux_aarch64.whl"
    assert "pyo3_hello/pyo3_hello.cpython-311-aarch64-linux-gnu.so" in unpacked_names(wheel)
    site = unpack_wheels([wheel], tmp_path / "site")
    proc = aarch64_target.python("-c", "import pyo3_hello as m; print(m.add(40, 2))",
                                 path=[site])
    assert proc.stdout.strip() == "42"


def unpacked_names(wheel: Path) -> set[str]:
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def zig_env_gives_manylinux2014_wheels(tmp_path: Path, cargo_home: Path,
                                             arm64_sysroot: provision.Sysroot,
                                             aarch64_target: Target) -> None:
    """With ``--toolchain zig --manylinux 2_17`` cargo links with zig cc against glibc
    2.17, so the wheel is manylinux2014. maturin's PEP 517 backend always passes
    ``--compatibility off`` (a second one is refused), so cross-pip's wheel is
    ``linux_aarch64`` and ``crossenv repair`` (auditwheel on the sysroot) gives the tag,
    which a gcc-linked wheel (glibc 2.36 symbols) could not get."""
    require(importlib.util.find_spec("ziglang"), "the ziglang package is needed")
    rust.provision_rust("arm64")
    env = tmp_path / "env"
    run([*crossenv_cmd(), "--toolchain", "zig", "--manylinux", "2_17", arm64_sysroot.python,
         env])
    source = shutil.copytree(SOURCES / "pyo3-maturin", tmp_path / "src")
    environ = {**os.environ, "CARGO_HOME": str(cargo_home),
               "CARGO_TARGET_DIR": str(tmp_path / "target"),
               "CARGO_PROFILE_RELEASE_OPT_LEVEL": "0"}
    run([env / "bin" / "cross-pip", "wheel", "--no-deps", "-w", tmp_path / "out", source],
        env=environ, timeout=900)
    (built,) = (tmp_path / "out").glob("*.whl")
    run([*crossenv_cmd(), "repair", "--env", env, "--plat", "manylinux_2_17_aarch64", "-w",
         tmp_path / "repaired", built])
    (wheel,) = (tmp_path / "repaired").glob("*.whl")
    assert wheel.name.startswith("pyo3_hello-0.1.0-cp311-cp311-")
    platforms = set(wheel.name[:-len(".whl")].split("-")[-1].split("."))
    assert platforms == {"manylinux_2_17_aarch64", "manylinux2014_aarch64"}
    run([*crossenv_cmd(), "check", "--env", env, wheel])
    site = unpack_wheels([wheel], tmp_path / "site")
    proc = aarch64_target.python("-c", "import pyo3_hello as m; print(m.add(40, 2))",
                                 path=[site])
    assert proc.stdout.strip() == "42"


if FULL:  # nox -s rust: collected only there (not a skip in the default run)
    test_zig_env_gives_manylinux2014_wheels = pytest.mark.integration(
        pytest.mark.slow(zig_env_gives_manylinux2014_wheels))
