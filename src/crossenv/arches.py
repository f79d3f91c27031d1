"""The one table of architectures: every name each tool has for the same machine.

Debian calls it ``armhf``, ``uname -m`` says ``armv7l`` (or ``armv8l`` on an arm64
kernel), GNU says ``arm-linux-gnueabihf``, Rust ``armv7-unknown-linux-gnueabihf``,
meson ``arm``, qemu ``qemu-arm``. When these lived in ten tables they disagreed
(``crossenv run`` asked the Debian-keyed qemu table with a ``uname -m`` value), so
they live here, once, one frozen row per architecture, and every other module
looks them up. Rows are glibc facts; musl hosts use the same row (the ABI field of
the triplet says ``musl`` instead of ``gnu``).

This module is a leaf: stdlib only, and nothing of the project but the errors.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Callable, Iterable

from .errors import CrossenvError


class UnknownArchError(CrossenvError):
    """A name that no row of the architecture table has."""


@dataclasses.dataclass(frozen=True)
class ElfFacts:
    """The parts of an ELF header that decide where the code can run."""

    machine: str  # pyelftools' e_machine name, e.g. "EM_AARCH64"
    bits: int  # 32 or 64 (the ELF class)
    byteorder: str  # "little" or "big"

    def describe(self) -> str:
        return f"{self.machine.removeprefix('EM_')} {self.bits}-bit {self.byteorder}-endian"

    def matches(self, other: ElfFacts) -> bool:
        return self == other


def _any_flags(flags: int) -> bool:
    return True


def _arm_hard_float(flags: int) -> bool:
    return flags & 0xFF000000 == 0x05000000 and not flags & 0x200


def _arm_soft_float(flags: int) -> bool:
    return not flags & 0x400  # EF_ARM_ABI_FLOAT_HARD


@dataclasses.dataclass(frozen=True)
class Arch:
    """One architecture (a glibc ABI), as every tool crossenv talks to names it."""

    debian: str | None  # Debian architecture (None: no Debian port)
    machine: str  # ``uname -m`` there; also the platform-tag arch, meson's and CMake's cpu
    triplet: str  # GNU triplet of the cross compiler (``i686-linux-gnu``)
    multiarch: str  # Debian/CPython multiarch tuple (``i386-linux-gnu``)
    meson_cpu_family: str  # https://mesonbuild.com/Reference-tables.html
    rust_target: str | None
    zig_target: str | None  # zig's ``-target`` without the glibc version
    qemu: str  # qemu-user program (``-static`` is tried first)
    elf: ElfFacts
    longdouble: str  # numpy's long double format name for this glibc ABI
    #: other ``uname -m`` spellings whose platform tag is ``machine`` (i586 -> i686)
    aliases: tuple[str, ...] = ()
    #: ``uname -m`` of older cpus running this ABI; their wheel tag stays their own
    variants: tuple[str, ...] = ()
    #: regular expression for the cpu field of GNU triplets of this ABI
    gnu_cpu: str = ""
    #: human name of the ELF e_flags requirement; e_flags checks catch what a mismatched
    #: compiler gets wrong (armel vs armhf, ELFv1 vs ELFv2, soft float)
    elf_abi: str = ""
    elf_flags_ok: Callable[[int], bool] = _any_flags
    #: the oldest glibc zig has headers for. ppc64le's ABI arrived in glibc 2.19
    #: (manylinux2014's 2.17 ppc64le is a CentOS backport zig does not ship),
    #: riscv64 in 2.27, loongarch64 in 2.36
    zig_min_glibc: tuple[int, int] = (2, 17)
    #: the oldest manylinux glibc and the legacy manylinux aliases of this tag arch
    manylinux_oldest: tuple[int, int] = (2, 17)
    manylinux_legacy: tuple[str, ...] = ()
    #: the Debian releases (crossenv.releases) with an official port of it
    suites: tuple[str, ...] = ()
    #: link flags a GNU cross gcc needs to link as the host's native toolchain does
    gcc_link_flags: tuple[str, ...] = ()
    #: the build machines (Debian arches) Debian packages a ``gcc-<triplet>`` cross
    #: compiler for it on, in bookworm or trixie; None: all of them
    #: (tests/data/debian-cross-gcc.txt, recorded by scripts/record-cross-gcc.py)
    debian_cross_gcc: tuple[str, ...] | None = None

    @property
    def abi(self) -> str:
        """The last field of the triplet (``gnueabihf``)."""
        return self.triplet.rsplit("-", 1)[-1]

    @property
    def pointer_size(self) -> int:
        return self.elf.bits // 8

    @property
    def byteorder(self) -> str:
        return self.elf.byteorder

    @property
    def cmake_processor(self) -> str:
        return self.machine  # CMAKE_SYSTEM_PROCESSOR is ``uname -m`` on Linux

    def machines(self) -> tuple[str, ...]:
        return (self.machine, *self.aliases, *self.variants)

    def rust_target_for(self, machine: str, abi: str) -> str | None:
        """The Rust target for *machine* (a row's variant) with the triplet ABI *abi*."""
        if self.rust_target is None:
            return None
        cpu, rest = self.rust_target.split("-", 1)
        if machine == "armv6l" and self.abi == "gnueabihf":
            cpu = "arm"  # Raspberry Pi OS: ARMv6 with the hard-float ABI
        if abi.startswith("musl"):
            rest = rest.rsplit("-", 1)[0] + "-" + abi
        return f"{cpu}-{rest}"


_ALL_SUITES = ("bullseye", "bookworm", "trixie", "sid")
_X86_LEGACY = ("manylinux1", "manylinux2010", "manylinux2014")

ARCHES: tuple[Arch, ...] = (
    Arch("amd64", "x86_64", "x86_64-linux-gnu", "x86_64-linux-gnu", "x86_64",
         "x86_64-unknown-linux-gnu", "x86_64-linux-gnu", "qemu-x86_64",
         ElfFacts("EM_X86_64", 64, "little"), "INTEL_EXTENDED_16_BYTES_LE",
         aliases=("amd64",), gnu_cpu="x86_64", zig_min_glibc=(2, 5),
         manylinux_oldest=(2, 5), manylinux_legacy=_X86_LEGACY, suites=_ALL_SUITES),
    Arch("i386", "i686", "i686-linux-gnu", "i386-linux-gnu", "x86",
         "i686-unknown-linux-gnu", "x86-linux-gnu", "qemu-i386",
         ElfFacts("EM_386", 32, "little"), "INTEL_EXTENDED_12_BYTES_LE",
         aliases=("i386", "i486", "i586"), gnu_cpu="i[3-6]86", zig_min_glibc=(2, 5),
         manylinux_oldest=(2, 5), manylinux_legacy=_X86_LEGACY, suites=_ALL_SUITES),
    Arch("arm64", "aarch64", "aarch64-linux-gnu", "aarch64-linux-gnu", "aarch64",
         "aarch64-unknown-linux-gnu", "aarch64-linux-gnu", "qemu-aarch64",
         ElfFacts("EM_AARCH64", 64, "little"), "IEEE_QUAD_LE",
         aliases=("arm64",), gnu_cpu="aarch64", manylinux_legacy=("manylinux2014",),
         suites=_ALL_SUITES),
    # Debian's armhf python is built on arm64 machines: HOST_GNU_TYPE armv8l-...
    Arch("armhf", "armv7l", "arm-linux-gnueabihf", "arm-linux-gnueabihf", "arm",
         "armv7-unknown-linux-gnueabihf", "arm-linux-gnueabihf", "qemu-arm",
         ElfFacts("EM_ARM", 32, "little"), "IEEE_DOUBLE_LE",
         aliases=("armv8l",), variants=("armv6l", "arm"), gnu_cpu=r"arm(v[5-8][a-z]*)?",
         elf_abi="EABI5 hard-float", elf_flags_ok=_arm_hard_float,
         manylinux_legacy=("manylinux2014",), suites=_ALL_SUITES),
    Arch("armel", "armv5tel", "arm-linux-gnueabi", "arm-linux-gnueabi", "arm",
         "armv5te-unknown-linux-gnueabi", "arm-linux-gnueabi", "qemu-arm",
         ElfFacts("EM_ARM", 32, "little"), "IEEE_DOUBLE_LE",
         variants=("armv5l", "armv6l", "armv7l", "armv8l", "arm"),
         gnu_cpu=r"arm(v[5-8][a-z]*)?", elf_abi="EABI5 soft-float",
         elf_flags_ok=_arm_soft_float, suites=_ALL_SUITES),
    Arch("ppc64el", "ppc64le", "powerpc64le-linux-gnu", "powerpc64le-linux-gnu", "ppc64",
         "powerpc64le-unknown-linux-gnu", "powerpc64le-linux-gnu", "qemu-ppc64le",
         # Debian's ppc64el still uses IBM double-double (gcc: __LONG_DOUBLE_IBM128__)
         ElfFacts("EM_PPC64", 64, "little"), "IBM_DOUBLE_DOUBLE_LE",
         gnu_cpu="powerpc64le", elf_abi="ELFv2",
         elf_flags_ok=lambda f: f & 3 != 1, zig_min_glibc=(2, 19),
         manylinux_legacy=("manylinux2014",), suites=_ALL_SUITES),
    Arch("ppc64", "ppc64", "powerpc64-linux-gnu", "powerpc64-linux-gnu", "ppc64",
         "powerpc64-unknown-linux-gnu", None, "qemu-ppc64",
         ElfFacts("EM_PPC64", 64, "big"), "IBM_DOUBLE_DOUBLE_BE",
         gnu_cpu="powerpc64", manylinux_legacy=("manylinux2014",),
         debian_cross_gcc=("amd64",)),
    Arch("powerpc", "ppc", "powerpc-linux-gnu", "powerpc-linux-gnu", "ppc",
         "powerpc-unknown-linux-gnu", None, "qemu-ppc",
         ElfFacts("EM_PPC", 32, "big"), "IBM_DOUBLE_DOUBLE_BE", gnu_cpu="powerpc"),
    Arch("s390x", "s390x", "s390x-linux-gnu", "s390x-linux-gnu", "s390x",
         "s390x-unknown-linux-gnu", "s390x-linux-gnu", "qemu-s390x",
         ElfFacts("EM_S390", 64, "big"), "IEEE_QUAD_BE", gnu_cpu="s390x",
         manylinux_legacy=("manylinux2014",), suites=_ALL_SUITES),
    Arch("riscv64", "riscv64", "riscv64-linux-gnu", "riscv64-linux-gnu", "riscv64",
         "riscv64gc-unknown-linux-gnu", "riscv64-linux-gnu", "qemu-riscv64",
         ElfFacts("EM_RISCV", 64, "little"), "IEEE_QUAD_LE", gnu_cpu="riscv64(gc)?",
         elf_abi="lp64d double-float", elf_flags_ok=lambda f: f & 0x6 == 0x4,
         zig_min_glibc=(2, 27), suites=("trixie", "sid"),
         # no 1- and 2-byte atomics before gcc 13 inlines them: gcc links libatomic
         # (--as-needed, after the objects) only with -pthread (config/riscv/linux.h)
         gcc_link_flags=("-pthread",)),
    # the kernel says mips64 for both byte orders; Debian's 64-bit MIPS is little-endian
    Arch("mips64el", "mips64", "mips64el-linux-gnuabi64", "mips64el-linux-gnuabi64", "mips64",
         "mips64el-unknown-linux-gnuabi64", "mips64el-linux-gnuabi64", "qemu-mips64el",
         ElfFacts("EM_MIPS", 64, "little"), "IEEE_QUAD_LE", gnu_cpu="mips64el",
         suites=("bullseye", "bookworm")),
    Arch("mipsel", "mips", "mipsel-linux-gnu", "mipsel-linux-gnu", "mips",
         "mipsel-unknown-linux-gnu", "mipsel-linux-gnueabihf", "qemu-mipsel",
         ElfFacts("EM_MIPS", 32, "little"), "IEEE_DOUBLE_LE", gnu_cpu="mipsel"),
    Arch("loong64", "loongarch64", "loongarch64-linux-gnu", "loongarch64-linux-gnu",
         "loongarch64", "loongarch64-unknown-linux-gnu", "loongarch64-linux-gnu",
         "qemu-loongarch64", ElfFacts("EM_LOONGARCH", 64, "little"), "IEEE_QUAD_LE",
         gnu_cpu="loongarch64", elf_abi="lp64d", elf_flags_ok=lambda f: f & 0x7 == 0x3,
         zig_min_glibc=(2, 36)),
    Arch(None, "aarch64_be", "aarch64_be-linux-gnu", "aarch64_be-linux-gnu", "aarch64",
         "aarch64_be-unknown-linux-gnu", "aarch64_be-linux-gnu", "qemu-aarch64_be",
         ElfFacts("EM_AARCH64", 64, "big"), "IEEE_QUAD_BE", gnu_cpu="aarch64_be",
         debian_cross_gcc=()),
)

_BY_DEBIAN = {a.debian: a for a in ARCHES if a.debian}
_BY_TRIPLET = {a.triplet: a for a in ARCHES} | {a.multiarch: a for a in ARCHES}
# Big-endian machines the table has no row for (used for byte order guesses only).
_OTHER_BIG_ENDIAN = frozenset({"s390", "armeb", "armv7b", "sparc", "sparc64", "m68k",
                               "hppa"})


def _known(kind: str, names: Iterable[str]) -> str:
    return f"known {kind}: {', '.join(sorted(set(names)))}"


def debian_names() -> tuple[str, ...]:
    return tuple(_BY_DEBIAN)


def arch_choices() -> str:
    """The ``--arch`` values (Debian architectures with a release crossenv provisions
    from), as every error, ``--help`` and the docs list them: one owner, this table.
    One a release limits says which releases have it: ``riscv64 (trixie/sid)``."""
    words = []
    for arch in sorted((a for a in ARCHES if a.debian and a.suites), key=lambda a: a.debian or ""):
        limited = "" if arch.suites == _ALL_SUITES else f" ({'/'.join(arch.suites)})"
        words.append(f"{arch.debian}{limited}")
    return ", ".join(words)


def debian_gcc_package(arch: Arch, build: Arch | None = None, tool: str = "gcc") -> str | None:
    """The Debian package with *tool* (``gcc``, ``g++``) compiling for *arch* on the
    build machine *build*, or None when Debian has none (``aarch64_be``).

    It is named after the row's triplet, never the host's: Debian's armhf Python says
    ``armv8l-linux-gnueabihf`` (it is built on arm64 machines), and no
    ``gcc-armv8l-linux-gnueabihf`` exists. The build machine's own arch is its native
    ``gcc``, which has the ``<triplet>-gcc`` name too.
    """
    if build is not None and build == arch:
        return tool
    builds = arch.debian_cross_gcc
    if not arch.debian or (builds is not None and (build is None or build.debian not in builds)):
        return None
    return f"{tool}-{arch.triplet.replace('_', '-')}"  # no "_" in Debian names: x86-64


def by_debian(name: str) -> Arch:
    """The row of a Debian architecture name (``armhf``)."""
    found = _BY_DEBIAN.get(name)
    if found is None:
        raise UnknownArchError(f"unknown Debian architecture {name!r}; "
                               f"{_known('ones', _BY_DEBIAN)}")
    return found


def _normal_abi(abi: str | None) -> str | None:
    return abi.replace("musl", "gnu", 1) if abi and abi.startswith("musl") else abi


def find_machine(machine: str, abi: str | None = None) -> Arch | None:
    """The row of a ``uname -m`` value, or None; *abi* (a triplet's last field, e.g.
    ``gnueabi``) picks among the ABIs one cpu runs (armv7l: armhf or armel)."""
    rows = [a for a in ARCHES if machine in a.machines()]
    wanted = _normal_abi(abi)
    if wanted:
        rows = [a for a in rows if a.abi == wanted] or rows
    # a row's own machine or alias before a row that merely runs on that cpu
    rows.sort(key=lambda a: machine in a.variants)
    return rows[0] if rows else None


def by_machine(machine: str, abi: str | None = None) -> Arch:
    """:func:`find_machine`, raising :class:`UnknownArchError` for unknown names."""
    found = find_machine(machine, abi)
    if found is None:
        raise UnknownArchError(f"unknown machine {machine!r}; "
                               f"{_known('ones', (m for a in ARCHES for m in a.machines()))}")
    return found


def normalize_triplet(triplet: str) -> str:
    """Drop the vendor field: ``aarch64-unknown-linux-gnu`` -> ``aarch64-linux-gnu``."""
    parts = triplet.split("-")
    if len(parts) == 4:
        return "-".join((parts[0], parts[2], parts[3]))
    return triplet


def find_triplet(triplet: str) -> Arch | None:
    """The row of a GNU triplet (any vendor, glibc or musl), or None."""
    fields = normalize_triplet(triplet).split("-")
    if len(fields) != 3 or fields[1] != "linux":
        return None
    exact = _BY_TRIPLET.get("-".join((fields[0], fields[1], _normal_abi(fields[2]) or "")))
    if exact is not None:
        return exact
    abi = _normal_abi(fields[2])
    for arch in ARCHES:
        if arch.abi == abi and re.fullmatch(arch.gnu_cpu, fields[0]):
            return arch
    return None


def by_triplet(triplet: str) -> Arch:
    """:func:`find_triplet`, raising :class:`UnknownArchError` for unknown triplets."""
    found = find_triplet(triplet)
    if found is None:
        raise UnknownArchError(f"unknown GNU triplet {triplet!r}; "
                               f"{_known('ones', (a.triplet for a in ARCHES))}")
    return found


def find_elf(facts: ElfFacts, flags: int | None = None) -> Arch | None:
    """The row whose objects have these ELF header facts (and e_flags, when given)."""
    for arch in ARCHES:
        if arch.elf == facts and (flags is None or arch.elf_flags_ok(flags)):
            return arch
    return None


def lookup(name: str) -> Arch:
    """Any name a user may type: Debian, ``uname -m``, GNU triplet, or an unambiguous
    cpu name of GNU, Rust, zig or meson (``powerpc64le``, ``riscv64gc``, ``x86``)."""
    found = _BY_DEBIAN.get(name) or find_machine(name) or find_triplet(name)
    if found is not None:
        return found
    cpus = [a for a in ARCHES if name in {
        a.triplet.split("-")[0], (a.rust_target or "").split("-")[0],
        (a.zig_target or "").split("-")[0], a.meson_cpu_family}]
    if len(cpus) == 1:
        return cpus[0]
    raise UnknownArchError(f"unknown architecture {name!r}; use one of: "
                           f"{arch_choices()} (or its uname -m name)")


def for_host(machine: str, triplet: str) -> Arch | None:
    """The row of a host: its triplet decides the ABI, its machine the rest."""
    found = find_triplet(triplet)
    if found is not None and (machine in found.machines() or find_machine(machine) is None):
        return found
    abi = normalize_triplet(triplet).rsplit("-", 1)[-1] if "-" in triplet else None
    return find_machine(machine, abi) or found


def tag_arch(machine: str) -> str:
    """The platform-tag arch of a ``uname -m`` value (``i586`` -> ``i686``)."""
    for arch in ARCHES:
        if machine in arch.aliases:
            return arch.machine
    return machine


def byteorder(machine: str) -> str:
    """The byte order of a ``uname -m`` value (little when nothing says otherwise)."""
    found = find_machine(machine)
    if found is not None:
        return found.byteorder
    return "big" if machine in _OTHER_BIG_ENDIAN else "little"


def pointer_size(machine: str) -> int:
    """sizeof(void *) of a ``uname -m`` value; a guess from the name for unknown ones."""
    found = find_machine(machine)
    if found is not None:
        return found.pointer_size
    return 8 if "64" in machine or machine == "s390x" else 4


def debian_ports(suite: str) -> tuple[str, ...]:
    """The official Debian architectures of a release."""
    return tuple(sorted(a.debian for a in ARCHES if a.debian and suite in a.suites))


def which_qemu(arch: Arch) -> str | None:
    """The path of the qemu-user program for *arch* on PATH, the static build first.

    binfmt_misc is not assumed: callers run ``QEMU -L SYSROOT PROGRAM`` explicitly.
    """
    return shutil.which(f"{arch.qemu}-static") or shutil.which(arch.qemu)


def find_tag_arch(tag_arch: str) -> Arch | None:
    """The row whose platform-tag arch is *tag_arch* (``armv7l``; not ``armv6l``)."""
    return next((a for a in ARCHES if a.machine == tag_arch), None)


def manylinux_oldest(tag_arch: str) -> tuple[int, int]:
    """The oldest glibc a ``manylinux_X_Y_<tag_arch>`` tag exists for (2.17 unless x86)."""
    found = find_tag_arch(tag_arch)
    return found.manylinux_oldest if found else (2, 17)


def has_legacy_manylinux(alias: str, tag_arch: str) -> bool:
    """Whether ``<alias>_<tag_arch>`` (``manylinux2014_armv7l``) is a defined tag."""
    found = find_tag_arch(tag_arch)
    return found is not None and alias in found.manylinux_legacy
