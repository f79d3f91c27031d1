"""Every link sees the host sysroot's C library (crossenv.hostlibc), and riscv64 links
libatomic as its native toolchain does; with the real cross compilers and qemu.

The premise of the first integration test is checked too: bookworm's cross gcc on its
own links a bullseye host's program against its own glibc 2.36 (``GLIBC_2.34``
references), so the test fails if pinning stops working, and says so if the premise
no longer holds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from crossenv import arches, hostlibc, provision, toolchain
from crossenv import host as host_mod
from crossenv.elfinfo import read_elf
from helpers import recorded_sysconfigdata, require, run

RECORDED = """\
install: /usr/lib/gcc-cross/aarch64-linux-gnu/12/
programs: =/usr/lib/gcc-cross/aarch64-linux-gnu/12/:/usr/lib/gcc-cross/aarch64-linux-gnu/
libraries: =/usr/lib/gcc-cross/aarch64-linux-gnu/12/:\
/usr/lib/gcc-cross/aarch64-linux-gnu/12/../../../../aarch64-linux-gnu/lib/aarch64-linux-gnu/12/:\
/usr/lib/gcc-cross/aarch64-linux-gnu/12/../../../../aarch64-linux-gnu/lib/aarch64-linux-gnu/:\
/usr/lib/gcc-cross/aarch64-linux-gnu/12/../../../../aarch64-linux-gnu/lib/../lib/:\
/S/lib/aarch64-linux-gnu/12/:/S/lib/aarch64-linux-gnu/:/S/lib/../lib/:\
/S/usr/lib/aarch64-linux-gnu/12/:/S/usr/lib/aarch64-linux-gnu/:/S/usr/lib/../lib/:\
/usr/lib/gcc-cross/aarch64-linux-gnu/12/../../../../aarch64-linux-gnu/lib/:/S/lib/:/S/usr/lib/
"""


def test_search_dirs_split_at_the_sysroot() -> None:
    dirs = hostlibc.parse_search_dirs(RECORDED, Path("/S"))
    assert dirs.install == "/usr/lib/gcc-cross/aarch64-linux-gnu/12"
    assert dirs.before == ("/usr/aarch64-linux-gnu/lib/aarch64-linux-gnu/12",
                           "/usr/aarch64-linux-gnu/lib/aarch64-linux-gnu",
                           "/usr/aarch64-linux-gnu/lib")
    assert dirs.sysroot == ("/S/lib/aarch64-linux-gnu/12", "/S/lib/aarch64-linux-gnu", "/S/lib",
                            "/S/usr/lib/aarch64-linux-gnu/12", "/S/usr/lib/aarch64-linux-gnu",
                            "/S/usr/lib")
    assert hostlibc.parse_search_dirs(RECORDED, Path("/other")).sysroot == ()


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, target in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if target:
            path.symlink_to(target)
        else:
            path.write_bytes(b"x")


def test_choose_takes_every_form_of_the_toolchains_libraries(tmp_path: Path) -> None:
    tool, sysroot = tmp_path / "tool", tmp_path / "sysroot"
    # glibc 2.34+: libdl.a is a stub and there is no libdl.so; libstdc++ is the compiler's
    _tree(tool, {"crt1.o": "", "crti.o": "", "crtbeginS.o": "", "libc.so": "", "libdl.a": "",
                 "libstdc++.so.6": "", "libatomic.so.1": "", "libm.so.6": ""})
    _tree(sysroot, {"usr/lib/m/crt1.o": "", "usr/lib/m/crti.o": "", "usr/lib/m/libc.so": "",
                    "usr/lib/m/libdl.a": "", "lib/m/libdl.so.2": "",
                    "usr/lib/m/libdl.so": "../../../lib/m/libdl.so.2",
                    "usr/lib/m/libstdc++.so": "", "usr/lib/m/libatomic.so": "",
                    "usr/lib/m/libm.so": str(tmp_path / "tool" / "libc.so")})  # leaves it
    dirs = hostlibc.SearchDirs("/gcc", (str(tool),),
                               (str(sysroot / "lib/m"), str(sysroot / "usr/lib/m")))
    chosen = hostlibc.choose(dirs, sysroot)
    assert chosen == {name: str(sysroot / "usr/lib/m" / name)
                      for name in ("crt1.o", "crti.o", "libc.so", "libdl.so", "libdl.a")}


def test_no_toolchain_copy_no_flag(tmp_path: Path) -> None:
    """clang and zig, or a gcc without a C library of its own: the chain is unchanged."""
    require(shutil.which("aarch64-linux-gnu-gcc"), "aarch64-linux-gnu-gcc is not installed")
    desc = host_mod.describe(recorded_sysconfigdata("arm64"))
    chain = toolchain.find(desc, environ={}, sysroot=tmp_path, verify=False)
    assert hostlibc.pin(chain, tmp_path / "pin", tmp_path / "pin") == chain  # empty sysroot
    assert not (tmp_path / "pin").exists()


PROGRAM = r"""
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
int probe(void) {
    pthread_key_t key;
    void *self = dlopen(NULL, RTLD_NOW);
    return pthread_key_create(&key, NULL) == 0 && self != NULL;
}
int main(void) { if (!probe()) return 1; puts("ok"); return 0; }
"""


def _glibc(path: Path) -> list[tuple[int, int]]:
    with path.open("rb") as fh:
        info = read_elf(fh, path.stat().st_size)
    return sorted(tuple(int(p) for p in v.split(".")[:2])  # type: ignore[misc]
                  for v in info.versions.get("GLIBC", ()))


@pytest.fixture(scope="module")
def bullseye_arm64() -> provision.Sysroot:
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian sysroot")
    return provision.provision_debian("arm64", release="bullseye")


@pytest.mark.integration
def test_old_sysroot_links_against_its_own_glibc(tmp_path: Path,
                                                 bullseye_arm64: provision.Sysroot,
                                                 aarch64_gcc: str, qemu_aarch64: str) -> None:
    desc = host_mod.describe(Path(bullseye_arm64.python))
    chain = toolchain.find(desc, environ={})
    pinned = hostlibc.pin(chain, tmp_path / "pin", tmp_path / "pin")
    assert pinned.cc[-1] == f"-B{tmp_path / 'pin'}/"
    assert os.path.realpath(tmp_path / "pin" / "libc.so").startswith(
        os.path.realpath(bullseye_arm64.root))
    (tmp_path / "p.c").write_text(PROGRAM)
    built = {}
    for name, words in (("toolchain", chain.cc), ("pinned", pinned.cc)):
        for kind, extra in (("exe", []), ("so", ["-shared", "-fPIC"])):
            out = tmp_path / f"{name}.{kind}"
            run([*words, "-O2", *extra, tmp_path / "p.c", "-o", out, "-ldl", "-pthread"])
            built[name, kind] = _glibc(out)
    assert max(built["toolchain", "exe"]) >= (2, 34), (
        "premise: the cross gcc's own glibc is 2.34 or newer (Debian 12's is 2.36)")
    for kind in ("exe", "so"):
        assert max(built["pinned", kind]) <= (2, 31), built
    proc = run([qemu_aarch64, "-L", bullseye_arm64.root, tmp_path / "pinned.exe"])
    assert proc.stdout == "ok\n"


ATOMICS = r"""
#include <stdatomic.h>
static _Atomic unsigned char flag;
int set_once(unsigned char value) {
    unsigned char expected = 0;
    return atomic_compare_exchange_strong(&flag, &expected, value);
}
"""


def test_riscv64_links_libatomic_as_needed(tmp_path: Path) -> None:
    """1-byte atomics are calls into libatomic with gcc 12; the link must name it."""
    gcc = "riscv64-linux-gnu-gcc"
    require(shutil.which(gcc), "gcc-riscv64-linux-gnu is needed")
    data = recorded_sysconfigdata("arm64").read_text().replace("aarch64", "riscv64")
    (tmp_path / "_sysconfigdata__linux_riscv64-linux-gnu.py").write_text(data)
    desc = host_mod.describe(tmp_path / "_sysconfigdata__linux_riscv64-linux-gnu.py")
    assert desc.arch is arches.by_debian("riscv64")
    chain = toolchain.find(desc, environ={}, sysroot=None)
    assert chain.ldflags == ("-pthread",)
    (tmp_path / "a.c").write_text(ATOMICS)
    needed = {}
    for name, flags in (("plain", ()), ("chain", chain.ldflags)):
        out = tmp_path / f"{name}.so"
        run([*chain.cc, "-O2", "-fPIC", "-shared", *flags, tmp_path / "a.c", "-o", out])
        with out.open("rb") as fh:
            needed[name] = read_elf(fh, out.stat().st_size).needed
    assert "libatomic.so.1" not in needed["plain"], "premise: gcc 12 inlines no 1-byte CAS"
    assert "libatomic.so.1" in needed["chain"]
    # and only as needed: code without atomics does not depend on it
    (tmp_path / "b.c").write_text("int f(int x) { return x + 1; }\n")
    run([*chain.cc, "-fPIC", "-shared", *chain.ldflags, tmp_path / "b.c", "-o", tmp_path / "b.so"])
    with (tmp_path / "b.so").open("rb") as fh:
        assert "libatomic.so.1" not in read_elf(fh, (tmp_path / "b.so").stat().st_size).needed
