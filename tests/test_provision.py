"""Tests of crossenv.provision: arch tables, symlink repair, caching, and real sysroots.

The integration tests really download Debian packages into the default cache, so a
second run (and CI with a cached ~/.cache/crossenv) reuses them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from crossenv import archiveindex, provision, releases
from crossenv.errors import CrossenvError, ProvisionError
from helpers import require

HOSTDATA = Path(__file__).parent / "data" / "hostdata"

# --- arch tables --------------------------------------------------------------------


@pytest.mark.parametrize(("arch", "multiarch", "qemu"), [
    ("arm64", "aarch64-linux-gnu", "qemu-aarch64"),
    ("armhf", "arm-linux-gnueabihf", "qemu-arm"),
    ("armel", "arm-linux-gnueabi", "qemu-arm"),
    ("i386", "i386-linux-gnu", "qemu-i386"),
    ("s390x", "s390x-linux-gnu", "qemu-s390x"),
    ("ppc64el", "powerpc64le-linux-gnu", "qemu-ppc64le"),
    ("riscv64", "riscv64-linux-gnu", "qemu-riscv64"),
    ("mips64el", "mips64el-linux-gnuabi64", "qemu-mips64el"),
])
def test_arch_tables(arch: str, multiarch: str, qemu: str) -> None:
    assert provision.multiarch_of(arch) == multiarch
    assert provision.qemu_name(arch) == qemu
    assert provision.debian_arch(arch).debian == arch


def test_uname_spellings_are_accepted() -> None:
    assert provision.debian_arch("aarch64").debian == "arm64"
    assert provision.debian_arch("ppc64le").debian == "ppc64el"


@pytest.mark.parametrize("call", [
    lambda: provision.debian_arch("sparc99"),
    lambda: provision.find_qemu("sparc99"),
    lambda: provision.provision_debian("sparc99"),
])
def test_unknown_arch_is_a_one_line_crossenv_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CrossenvError) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, ProvisionError)
    assert "\n" not in message
    assert "sparc99" in message and "arm64" in message  # says what is wrong and what works


def test_find_qemu_prefers_static(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("qemu-aarch64", "qemu-aarch64-static", "qemu-arm"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert provision.find_qemu("arm64") == str(tmp_path / "qemu-aarch64-static")
    assert provision.find_qemu("armhf") == str(tmp_path / "qemu-arm")
    assert provision.find_qemu("s390x") is None


def test_deb_name_version_decodes_epoch() -> None:
    assert provision.deb_name_version(Path("libfoo1_1%3a2.3-4+deb12u1_arm64.deb")) == (
        "libfoo1", "1:2.3-4+deb12u1")


def test_os_codename(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n')
    assert provision.os_codename(release) == "bookworm"
    assert provision.os_codename(tmp_path / "missing") == "unknown"


# --- symlink repair -----------------------------------------------------------------


def _link(path: Path, target: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def test_relativize_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    libdir = root / "usr" / "lib" / "aarch64-linux-gnu"
    real = root / "lib" / "aarch64-linux-gnu" / "libz.so.1.2.13"
    real.parent.mkdir(parents=True)
    real.write_text("elf")
    script = libdir / "libc.so"
    libdir.mkdir(parents=True)
    script.write_text("GROUP ( /lib/aarch64-linux-gnu/libc.so.6 )\n")
    absolute = _link(libdir / "libz.so", "/lib/aarch64-linux-gnu/libz.so.1.2.13")
    climbing = _link(root / "usr" / "bin" / "tool", "../../../../../usr/lib/x")
    fine = _link(root / "lib" / "aarch64-linux-gnu" / "libz.so.1", "libz.so.1.2.13")
    dir_link = _link(root / "usr" / "share" / "doc" / "pkg", "/usr/share/doc/other")
    assert set(provision.escaping_symlinks(root)) == {absolute, climbing, dir_link}

    changed = provision.relativize_symlinks(root)

    assert set(changed) == {absolute, climbing, dir_link}
    assert os.readlink(absolute) == "../../../lib/aarch64-linux-gnu/libz.so.1.2.13"
    assert absolute.read_text() == "elf"  # resolves to the sysroot's file
    assert os.readlink(climbing) == "../lib/x"  # ".." stops at the root, as in a chroot
    assert os.readlink(fine) == "libz.so.1.2.13"  # untouched
    assert os.readlink(dir_link) == "other"
    assert script.read_text() == "GROUP ( /lib/aarch64-linux-gnu/libc.so.6 )\n"
    assert provision.escaping_symlinks(root) == []


# --- dependency resolution (apt output parsing, on canned output) ----------------------

_DEPENDS = {
    "python3.11": "python3.11\n  Depends: python3.11-minimal\n |Depends: media-types\n"
                  "  Depends: mime-support\n  Depends: <debconf-2.0>\n    cdebconf\n"
                  "    debconf\n",
    "python3.11-minimal": "python3.11-minimal\n  PreDepends: libc6\n  Depends: perl-base\n",
    "libc6": "libc6\n  Depends: libgcc-s1\n",
    "media-types": "media-types\n",
    "libgcc-s1": "libgcc-s1\n  Depends: libc6\n",
}


def _fake_apt(monkeypatch: pytest.MonkeyPatch) -> provision.Apt:
    apt = object.__new__(provision.Apt)
    apt.arch = "arm64"
    apt.release = None

    def run(tool: str, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        assert args[:2] == ("depends", "--recurse")
        return "".join(_DEPENDS.values())  # as apt-cache prints it: everything reachable

    monkeypatch.setattr(apt, "run", run)
    return apt


def test_closure_skips_maintainer_tools_and_takes_first_alternative(
        monkeypatch: pytest.MonkeyPatch) -> None:
    apt = _fake_apt(monkeypatch)
    assert apt.closure(["python3.11"]) == [
        "libc6", "libgcc-s1", "media-types", "python3.11", "python3.11-minimal"]


def test_closure_reports_unknown_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    apt = _fake_apt(monkeypatch)
    with pytest.raises(ProvisionError, match="not found for arm64: no-such-pkg;"):
        apt.closure(["python3.11", "no-such-pkg"])


# --- caching and atomicity (apt and dpkg-deb faked) ------------------------------------


class _FakeApt:
    """Stands in for provision.Apt: every package resolves to itself."""

    calls: list[list[str]] = []

    def __init__(self, arch: str, workdir: Path, release: object = None) -> None:
        self.arch = arch
        self.fallbacks: dict[str, dict[str, str]] = {}

    def update(self) -> list[str]:
        return []

    def closure(self, requested: list[str], skipped: object = ()) -> list[str]:
        return sorted(requested)

    def download(self, packages: list[str], into: Path) -> list[Path]:
        _FakeApt.calls.append(list(packages))
        into.mkdir(parents=True)
        for package in packages:
            (into / f"{package}_1.0_{self.arch}.deb").write_text("")
        return sorted(into.glob("*.deb"))


def _fake_extract(deb: Path, root: Path) -> None:
    if deb.name.startswith("python3.11_"):
        (root / "usr" / "bin").mkdir(parents=True, exist_ok=True)
        (root / "usr" / "bin" / "python3.11").write_text("an ELF file")
        os.utime(root / "usr" / "bin" / "python3.11", (1700000000, 1700000000))  # as dpkg-deb
        _link(root / "usr" / "bin" / "python3", "/usr/bin/python3.11")
    if deb.name.startswith("broken_"):
        raise ProvisionError("cannot unpack broken.deb")


@pytest.fixture
def fake_debian(monkeypatch: pytest.MonkeyPatch) -> type[_FakeApt]:
    _FakeApt.calls = []
    monkeypatch.setattr(provision, "Apt", _FakeApt)
    monkeypatch.setattr(provision, "extract_deb", _fake_extract)
    monkeypatch.setattr(archiveindex, "live", releases.recorded)  # no index: no network
    return _FakeApt


def test_provision_writes_manifest_and_reuses_it(tmp_path: Path, fake_debian) -> None:  # type: ignore[no-untyped-def]
    """The fake apt ships python3.11, so the test names that version (without it provisioning
    picks the running Python's). DEST is a symlink to the generation the sysroot is."""
    dest = tmp_path / "sysroot"
    sysroot = provision.provision_debian("armhf", dest, python="3.11")
    first = dest.resolve()
    assert first.parent == tmp_path and first.name.startswith("sysroot.")
    assert sysroot == provision.Sysroot(first, "armhf", "arm-linux-gnueabihf",
                                        first / "usr" / "bin" / "python3.11")
    assert os.readlink(first / "usr" / "bin" / "python3") == "python3.11"
    manifest = json.loads((dest / provision.MANIFEST_NAME).read_text())
    wanted = releases.default_packages(releases.choose("armhf", "3.11"), "3.11")
    assert "python3.11" in wanted and set(wanted) <= set(manifest["packages"])

    assert provision.provision_debian("armhf", dest, python="3.11") == sysroot
    assert len(fake_debian.calls) == 1  # reused: nothing downloaded

    # not covered: a new generation; the first stays exactly as it was
    second = provision.provision_debian("armhf", dest, ["libbz2-dev"], python="3.11").root
    assert len(fake_debian.calls) == 2 and "libbz2-dev" in fake_debian.calls[1]
    assert second != first and dest.resolve() == second
    assert "libbz2-dev" not in json.loads((first / provision.MANIFEST_NAME).read_text())[
        "packages"]
    third = provision.provision_debian("armhf", dest, python="3.11", refresh=True).root
    assert len(fake_debian.calls) == 3 and "libbz2-dev" in fake_debian.calls[2]  # kept
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".sysroot.lock", "sysroot", first.name, second.name, third.name])
    # the generations share their (identical) files
    assert (first / "usr/bin/python3.11").stat().st_ino == \
        (third / "usr/bin/python3.11").stat().st_ino
def test_failed_provision_leaves_nothing_behind(tmp_path: Path, fake_debian) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "sysroot"
    with pytest.raises(ProvisionError):
        provision.provision_debian("arm64", dest, ["broken"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sysroot.lock"]


def test_refuses_to_replace_a_directory_that_is_not_a_sysroot(tmp_path: Path,
                                                              fake_debian) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ProvisionError, match="not a crossenv sysroot") as info:
        provision.provision_debian("arm64", tmp_path)
    assert "\n" not in str(info.value)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert fake_debian.calls == []


# --- recorded host data --------------------------------------------------------------


@pytest.mark.parametrize("arch", ["arm64", "armhf", "s390x", "ppc64el", "i386"])
def test_recorded_hostdata_is_consistent(arch: str) -> None:
    manifest = json.loads((HOSTDATA / arch / "manifest.json").read_text())
    data = HOSTDATA / arch / manifest["file"]
    assert manifest["multiarch"] == provision.multiarch_of(arch)
    assert manifest["file"] == f"_sysconfigdata__{manifest['multiarch']}.py"
    assert hashlib.sha256(data.read_bytes()).hexdigest() == manifest["sha256"]
    text = data.read_text()
    assert repr(manifest["facts"]["EXT_SUFFIX"]) in text
    assert manifest["facts"]["SOABI"].endswith(manifest["multiarch"])
    assert manifest["facts"]["byteorder"] == ("big" if arch == "s390x" else "little")


# --- real sysroots -------------------------------------------------------------------

# Debian arch -> (cross compiler, what the host python's sysconfig.get_platform() says)
_HOSTS = {
    "arm64": ("aarch64-linux-gnu-gcc", "linux-aarch64"),
    "armhf": ("arm-linux-gnueabihf-gcc", "linux-armv7l"),
    "s390x": ("s390x-linux-gnu-gcc", "linux-s390x"),  # big-endian
    "ppc64el": ("powerpc64le-linux-gnu-gcc", "linux-ppc64le"),
    "i386": ("i686-linux-gnu-gcc", "linux-i686"),
}
_C_PROGRAM = r"""
#include <Python.h>
#include <yaml.h>
#include <zlib.h>
#include <stdio.h>
int main(void) {
    Py_Initialize();
    PyRun_SimpleString("import platform; print('python', platform.machine())");
    Py_Finalize();
    printf("zlib %s yaml %s\n", zlibVersion(), yaml_get_version_string());
    return 0;
}
"""


@pytest.fixture(scope="module", params=list(_HOSTS))
def sysroot(request: pytest.FixtureRequest) -> provision.Sysroot:
    require(shutil.which("apt-get") and shutil.which("dpkg-deb"),
            "provisioning needs apt-get and dpkg-deb (a Debian build machine)")
    return provision.provision_debian(request.param)


def _qemu(sysroot: provision.Sysroot) -> str:
    qemu = provision.find_qemu(sysroot.arch)
    require(qemu, f"{sysroot.qemu}(-static) is needed on PATH (apt-get install qemu-user-static)")
    assert qemu is not None
    return qemu


@pytest.mark.integration
def test_sysroot_python_runs_under_qemu(sysroot: provision.Sysroot) -> None:
    assert sysroot.python == sysroot.root / "usr" / "bin" / "python3.11"
    code = "import sys, sysconfig, ctypes, ssl, zlib; print(sysconfig.get_platform())"
    out = subprocess.run([_qemu(sysroot), "-L", str(sysroot.root), str(sysroot.python), "-c", code],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == _HOSTS[sysroot.arch][1]


@pytest.mark.integration
def test_sysroot_has_no_escaping_symlinks(sysroot: provision.Sysroot) -> None:
    assert provision.escaping_symlinks(sysroot.root) == []
    libz = sysroot.root / "usr" / "lib" / sysroot.multiarch / "libz.so"
    assert libz.is_symlink() and libz.resolve().is_relative_to(sysroot.root.resolve())


@pytest.mark.integration
def test_second_provision_reuses_the_manifest(sysroot: provision.Sysroot,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = sysroot.root / provision.MANIFEST_NAME
    before = manifest.stat().st_mtime_ns

    def no_apt(*args: object) -> None:
        raise AssertionError("a covered sysroot must not run apt")

    monkeypatch.setattr(provision, "Apt", no_apt)
    assert provision.provision_debian(sysroot.arch) == sysroot
    assert manifest.stat().st_mtime_ns == before
    assert not list(sysroot.root.rglob("*.deb"))
    recorded = json.loads(manifest.read_text())
    assert recorded["arch"] == sysroot.arch and "libyaml-dev" in recorded["packages"]


@pytest.mark.integration
def test_cross_compile_and_link_against_sysroot(sysroot: provision.Sysroot,
                                               tmp_path: Path) -> None:
    gcc = shutil.which(_HOSTS[sysroot.arch][0])
    require(gcc, f"{_HOSTS[sysroot.arch][0]} is needed (see .ci/apt-packages.txt)")
    assert gcc is not None
    source, program = tmp_path / "t.c", tmp_path / "t"
    source.write_text(_C_PROGRAM)
    include = sysroot.root / "usr" / "include" / "python3.11"
    subprocess.run([gcc, f"--sysroot={sysroot.root}", f"-I{include}", "-o", str(program),
                    str(source), "-lpython3.11", "-lz", "-lyaml"], check=True)
    out = subprocess.run([_qemu(sysroot), "-L", str(sysroot.root), str(program)],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("python ") and "zlib 1." in out and "yaml 0." in out


def test_merge_usr_adds_only_missing_top_level_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for name in ("usr/lib/aarch64-linux-gnu", "usr/bin", "usr/lib64", "sbin"):
        (root / name).mkdir(parents=True)
    assert provision.merge_usr(root) == ["bin", "lib", "lib64"]
    assert os.readlink(root / "lib") == "usr/lib"
    assert (root / "lib" / "aarch64-linux-gnu").is_dir()
    assert not (root / "sbin").is_symlink()  # shipped as a real directory: kept
    assert provision.escaping_symlinks(root) == []


def test_a_sysroot_of_another_release_is_not_reused(tmp_path: Path, fake_debian) -> None:  # type: ignore[no-untyped-def]
    dest = tmp_path / "sysroot"
    provision.provision_debian("arm64", dest, python="3.11")
    manifest = json.loads((dest / provision.MANIFEST_NAME).read_text())
    assert manifest["release"] == "bookworm" and manifest["python_version"] == "3.11"
    assert provision._covers(manifest, "arm64", "bookworm", ["python3.11"])
    assert not provision._covers(manifest, "arm64", "trixie", ["python3.11"])
    assert not provision._covers({**manifest, "arch": "armhf"}, "arm64", "bookworm", [])
