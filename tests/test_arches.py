"""The architecture table against the tools it names: Debian's cross gcc (triplet,
multiarch, ELF header, pointer size, long double), meson's cpu families, rustc's and
zig's target lists, qemu-user; and its lookups against each other."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given
from hypothesis import strategies as st

from crossenv import arches, elfarch, envfile, host, provision
from crossenv import run as run_mod
from crossenv.arches import ARCHES, Arch
from crossenv.backends import meson
from crossenv.errors import CrossenvError
from crossenv.model import Toolchain
from helpers import ROOT, crossenv_cmd, mips64el_sysconfigdata, require, run

ROWS = {a.debian or a.machine: a for a in ARCHES}
_CI_PACKAGES = set((ROOT / ".ci" / "apt-packages.txt").read_text().split())
#: rows whose cross gcc CI installs (or this machine has): compared with the real compiler
GCC_ROWS = [a for a in ARCHES if f"gcc-{a.triplet}" in _CI_PACKAGES
            or shutil.which(f"{a.triplet}-gcc")]


def test_the_table_covers_the_debian_ports() -> None:
    assert {"amd64", "arm64", "armhf", "armel", "i386", "ppc64el", "s390x", "riscv64",
            "mips64el", "ppc64"} <= set(arches.debian_names())


@pytest.mark.parametrize("field", ["debian", "machine", "triplet", "multiarch", "rust_target"])
def test_keys_are_unique(field: str) -> None:
    values = [getattr(a, field) for a in ARCHES if getattr(a, field) is not None]
    assert len(values) == len(set(values)), field


def test_uname_spellings_name_one_row_each_except_known_abi_choices() -> None:
    # every spelling resolves, and a row's own machine/aliases are never another row's
    owners: dict[str, Arch] = {}
    for arch in ARCHES:
        for name in (arch.machine, *arch.aliases):
            assert name not in owners, (name, arch.debian, owners[name].debian)
            owners[name] = arch


@pytest.mark.parametrize("arch", ARCHES, ids=lambda a: a.debian or a.machine)
def test_lookups_are_inverse(arch: Arch) -> None:
    if arch.debian:
        assert arches.by_debian(arch.debian) is arch
        assert arches.lookup(arch.debian) is arch
    assert arches.by_triplet(arch.triplet) is arch
    assert arches.by_triplet(arch.multiarch) is arch
    assert arches.by_machine(arch.machine, arch.abi) is arch
    assert arches.for_host(arch.machine, arch.triplet) is arch
    for machine in arch.machines():
        assert arches.for_host(machine, arch.triplet) is arch, machine
    assert arches.tag_arch(arch.machine) == arch.machine
    found = arches.find_elf(arch.elf)
    assert found is not None and found.elf == arch.elf
    assert arch.pointer_size in (4, 8) and arch.byteorder in ("little", "big")
    assert arch.qemu.startswith("qemu-")
    assert arch.triplet.split("-")[1] == "linux" and re.fullmatch(arch.gnu_cpu,
                                                                   arch.triplet.split("-")[0])


_ROW = st.sampled_from(ARCHES)
_VENDOR = st.sampled_from(["unknown", "pc", "ibm", "alpine", "redhat", "buildroot"])


@given(_ROW, _VENDOR, st.booleans())
def test_triplet_lookup_ignores_vendor_and_libc(arch: Arch, vendor: str, musl: bool) -> None:
    cpu, _, abi = arch.triplet.split("-")
    if musl:
        abi = abi.replace("gnu", "musl", 1)
    assert arches.by_triplet(f"{cpu}-{vendor}-linux-{abi}") is arch
    assert arches.normalize_triplet(f"{cpu}-{vendor}-linux-{abi}") == f"{cpu}-linux-{abi}"


@given(_ROW.flatmap(lambda a: st.tuples(st.just(a), st.sampled_from(a.machines()))))
def test_every_uname_spelling_resolves_to_its_row(pair: tuple[Arch, str]) -> None:
    arch, machine = pair
    assert arches.by_machine(machine, arch.abi) is arch
    tag = arches.tag_arch(machine)
    assert arches.tag_arch(tag) == tag  # a tag arch is its own tag arch
    assert arches.find_machine(tag) is not None


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=20))
def test_unknown_names_are_one_line_errors(name: str) -> None:
    known = {a.debian for a in ARCHES} | {m for a in ARCHES for m in a.machines()}
    try:
        found = arches.lookup(name)
    except arches.UnknownArchError as exc:
        assert isinstance(exc, CrossenvError) and "\n" not in str(exc)
        assert name not in known and "arm64" in str(exc)
    else:
        assert found in ARCHES


@pytest.mark.parametrize("arch", ARCHES, ids=lambda a: a.debian or a.machine)
def test_qemu_name_for_every_spelling(arch: Arch, tmp_path: Path) -> None:
    """``crossenv run`` used to ask a Debian-keyed table with the uname machine: armel
    (armv5tel), mips64el (mips64) and --machine armv6l envs found no qemu."""
    for name in {arch.debian or arch.machine, *arch.machines(), arch.triplet}:
        if name == "arm" and arch.debian == "armel":
            continue  # plain "arm" means armhf, the port people mean by it
        assert provision.qemu_name(name) == arch.qemu, name
    for machine in arch.machines():
        (tmp_path / envfile.FILE_NAME).write_text(json.dumps({
            "host": {"machine": machine, "host_gnu_type": arch.triplet},
            "paths": {}}))
        meta = envfile.read(tmp_path)
        assert run_mod.host_arch(meta) is arch, machine


def _gcc_facts(arch: Arch, tmp_path: Path) -> tuple[str, dict[str, str], Path]:
    gcc = shutil.which(f"{arch.triplet}-gcc")
    require(gcc, f"gcc-{arch.triplet} is needed to compare the {arch.debian} row")
    assert gcc is not None
    src = tmp_path / "t.c"
    src.write_text("int f(double x) { return (int)x; }\n")
    run([gcc, "-c", src, "-o", tmp_path / "t.o"])
    macros = {}
    for line in run([gcc, "-dM", "-E", "-x", "c", "/dev/null"]).stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3:
            macros[parts[1]] = parts[2]
    return gcc, macros, tmp_path / "t.o"


@pytest.mark.parametrize("arch", GCC_ROWS, ids=lambda a: a.debian or a.machine)
def test_row_agrees_with_debian_cross_gcc(arch: Arch, tmp_path: Path) -> None:
    gcc, macros, obj = _gcc_facts(arch, tmp_path)
    assert run([gcc, "-dumpmachine"]).stdout.strip() == arch.triplet
    assert run([gcc, "-print-multiarch"]).stdout.strip() == arch.multiarch
    facts = elfarch.read(obj)
    assert facts == arch.elf
    with obj.open("rb") as stream:
        flags = ELFFile(stream)["e_flags"]
    assert arch.elf_flags_ok(flags), hex(flags)
    assert arches.find_elf(facts, flags) is arch
    assert int(macros["__SIZEOF_POINTER__"]) == arch.pointer_size
    order = "big" if macros["__BYTE_ORDER__"] == "__ORDER_BIG_ENDIAN__" else "little"
    assert order == arch.byteorder
    digits, size = macros["__LDBL_MANT_DIG__"], macros["__SIZEOF_LONG_DOUBLE__"]
    formats = {"53": "IEEE_DOUBLE", "113": "IEEE_QUAD", "106": "IBM_DOUBLE_DOUBLE",
               "64": f"INTEL_EXTENDED_{size}_BYTES"}
    assert arch.longdouble == f"{formats[digits]}_{'BE' if order == 'big' else 'LE'}"


def test_meson_knows_every_cpu_family() -> None:
    from mesonbuild.envconfig import known_cpu_families

    assert {a.meson_cpu_family for a in ARCHES} <= set(known_cpu_families)


def test_rustc_knows_every_rust_target() -> None:
    rustc = shutil.which("rustc")
    require(rustc, "rustc is needed to check the Rust targets")
    known = set(run([rustc, "--print", "target-list"]).stdout.split())
    assert {a.rust_target for a in ARCHES if a.rust_target} <= known
    # the variants crossenv derives: Raspberry Pi OS armv6l and musl
    assert ROWS["armhf"].rust_target_for("armv6l", "gnueabihf") in known
    assert {a.rust_target_for(a.machine, a.abi.replace("gnu", "musl"))
            for a in ARCHES if a.rust_target and a.debian in ("arm64", "armhf", "amd64")} <= known


def test_zig_knows_every_zig_target() -> None:
    try:
        proc = subprocess.run([sys.executable, "-m", "ziglang", "targets"], capture_output=True,
                              text=True, timeout=120)
    except subprocess.TimeoutExpired:
        proc = None
    require(proc is not None and proc.returncode == 0, "the ziglang package is needed")
    assert proc is not None
    libc = set(re.findall(r'"([a-z0-9_]+-linux-[a-z0-9]+)"', proc.stdout))
    assert {a.zig_target for a in ARCHES if a.zig_target} <= libc


def test_debian_releases_list_only_table_rows() -> None:
    from crossenv import releases

    for release in releases.RELEASES:
        assert set(release.architectures) <= set(arches.debian_names())
        assert {"amd64", "arm64"} <= set(release.architectures)


# -- crossenv run, for real, on an env whose uname machine is not a Debian name ---------

@pytest.mark.integration
def test_crossenv_run_armv6l_env(tmp_path: Path) -> None:
    """An armhf sysroot described as ``--machine armv6l`` (Raspberry Pi OS): qemu-arm is
    found from the table row, and the host python really runs."""
    require(shutil.which("apt-get"), "apt-get is needed to provision an armhf sysroot")
    require(shutil.which("arm-linux-gnueabihf-gcc"), "gcc-arm-linux-gnueabihf is needed")
    require(arches.which_qemu(ROWS["armhf"]), "qemu-user-static (qemu-arm) is needed")
    sysroot = provision.provision_debian("armhf")
    env = tmp_path / "env"
    run([*crossenv_cmd(), "--without-pip", "--machine", "armv6l", sysroot.python, env])
    assert envfile.read(env).host["machine"] == "armv6l"
    out = run([*crossenv_cmd(), "run", env, "--", "python", "-c",
               "import struct, sys; print(struct.calcsize('P'), sys.byteorder)"])
    assert out.stdout.split() == ["4", "little"]


@pytest.mark.integration
def test_crossenv_run_armel_env(tmp_path: Path) -> None:
    """armel's uname machine (armv5tel) is no Debian name: run finds qemu-arm from the row.
    zig builds for it (Debian's armel cross gcc is not needed)."""
    require(shutil.which("apt-get"), "apt-get is needed to provision an armel sysroot")
    require(arches.which_qemu(ROWS["armel"]), "qemu-user-static (qemu-arm) is needed")
    sysroot = provision.provision_debian("armel")
    env = tmp_path / "env"
    run([*crossenv_cmd(), "--without-pip", "--toolchain", "zig", sysroot.python, env])
    assert envfile.read(env).host["machine"] == "armv5tel"
    out = run([*crossenv_cmd(), "run", env, "--", "python", "-c",
               "import sysconfig; print(sysconfig.get_config_var('MULTIARCH'))"])
    assert out.stdout.strip() == ROWS["armel"].multiarch


def test_mips64el_host_is_little_endian(tmp_path: Path) -> None:
    """uname says mips64 for both byte orders; the old host table called it big-endian
    (and meson's cross file said so) while Debian's mips64el is little-endian."""
    described = host.describe(mips64el_sysconfigdata(tmp_path))
    assert described.machine == "mips64" and described.arch is ROWS["mips64el"]
    assert described.byteorder == "little"
    chain = Toolchain(kind="gnu", triplet=described.triplet, cc=(), cxx=(), ar=("ar",))
    machine = meson.sections(described, chain, python=None)["host_machine"]
    assert machine == {"system": "linux", "cpu_family": "mips64", "cpu": "mips64",
                       "endian": "little"}
    wrapper = meson.qemu_command(described)  # None without qemu or a libc to run with
    assert wrapper is None or Path(wrapper[0]).name.startswith("qemu-mips64el")


_DEBIAN_GCC = ROOT / "tests" / "data" / "debian-cross-gcc.txt"


def _recorded_gcc() -> dict[str, set[str]]:
    """build machine's Debian arch -> the cross gcc/g++ packages bookworm or trixie has."""
    found: dict[str, set[str]] = {}
    for line in _DEBIAN_GCC.read_text().splitlines():
        if line and not line.startswith("#"):
            _, build, package = line.split()
            found.setdefault(build, set()).add(package)
    return found


@pytest.mark.parametrize("build", ["amd64", "arm64"])
@pytest.mark.parametrize("row", ARCHES, ids=lambda a: a.debian or a.machine)
def test_every_row_names_a_real_debian_compiler_package(row: Arch, build: str) -> None:
    """The install hint's package exists in Debian bookworm or trixie for that build
    machine (recorded by scripts/record-cross-gcc.py), for gcc and g++; a row without
    one says None (and the hint then names no package)."""
    recorded = _recorded_gcc()[build]
    build_row = arches.by_debian(build)
    for tool in ("gcc", "g++"):
        package = arches.debian_gcc_package(row, build_row, tool)
        if row == build_row:
            assert package == tool  # the native compiler also answers to <triplet>-gcc
        elif row.debian is None or (row.debian_cross_gcc is not None
                                    and build not in row.debian_cross_gcc):
            assert package is None
            assert not any(p.startswith(f"{tool}-{row.triplet.split('-')[0]}-")
                           for p in recorded), f"Debian has a {tool} for {row.triplet} now"
        else:
            assert package in recorded, f"{package} is not a Debian package"


def test_armhf_hint_names_the_row_triplet_not_the_host_one() -> None:
    """Debian's armhf python says armv8l-linux-gnueabihf; no such gcc package exists."""
    armhf, armel = arches.by_debian("armhf"), arches.by_debian("armel")
    assert arches.debian_gcc_package(armhf) == "gcc-arm-linux-gnueabihf"
    assert arches.debian_gcc_package(armel) == "gcc-arm-linux-gnueabi"
    assert arches.debian_gcc_package(arches.by_debian("amd64"), arches.by_debian("arm64")) \
        == "gcc-x86-64-linux-gnu"


def test_arch_lists_agree_with_the_table() -> None:
    """The --arch values named by the lookup error, crossenv --help, provision --help
    and the docs are the table's Debian names."""
    names = sorted(a.debian for a in ARCHES if a.debian and a.suites)  # provisionable
    choices = arches.arch_choices()
    assert re.findall(r"(?:^|, )([a-z0-9]+)", choices) == names
    with pytest.raises(arches.UnknownArchError) as info:
        arches.lookup("vax")
    assert choices in str(info.value)
    for command in ([], ["provision"]):
        text = run([*crossenv_cmd(), *command, "--help"]).stdout
        assert " ".join(choices.split()) in " ".join(text.split()), command


def test_no_doc_lists_the_arches_by_hand() -> None:
    """The docs say the --arch values through the crossenv-arches directive (the table),
    never as a hand-written list that drifts from it."""
    names = set(arches.debian_names())
    for page in (ROOT / "docs").glob("*.rst"):
        for number, line in enumerate(page.read_text().splitlines(), 1):
            listed = {w for w in re.findall(r"[a-z0-9]+", line) if w in names}
            assert len(listed) < 4, f"{page.name}:{number} lists arches by hand: {line}"
    assert ".. crossenv-arches::" in (ROOT / "docs" / "quickstart.rst").read_text()
