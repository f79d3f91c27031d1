"""ELF facts of an architecture, and of a file.

One table maps a ``uname -m`` / wheel-tag architecture to the ELF header it
implies, its multiarch triplet and its ABI flags. The toolchain check and the
wheel checker both use it, so "what does an aarch64 object look like" is
answered in exactly one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from elftools.elf.elffile import ELFFile


@dataclasses.dataclass(frozen=True)
class ElfFacts:
    """The parts of an ELF header that decide where the code can run."""

    machine: str  # pyelftools' e_machine name, e.g. "EM_AARCH64"
    bits: int  # 32 or 64
    byteorder: str  # "little" or "big"

    def describe(self) -> str:
        return f"{self.machine.removeprefix('EM_')} {self.bits}-bit {self.byteorder}-endian"

    def matches(self, other: ElfFacts) -> bool:
        return self == other


def _any_flags(flags: int) -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class Arch:
    """An architecture as a platform tag / ``uname -m`` names it."""

    elf: ElfFacts
    multiarch: str  # CPython/Debian multiarch with glibc; musl's is the same with "musl"
    abi: str = ""  # human name of the e_flags requirement, if any
    #: e_flags checks catch what a mismatched compiler gets wrong (armel vs armhf,
    #: ELFv1 vs ELFv2, soft float)
    flags_ok: Callable[[int], bool] = _any_flags


def _arm_hard_float(flags: int) -> bool:
    return flags & 0xFF000000 == 0x05000000 and not flags & 0x200


ARCHES: dict[str, Arch] = {
    "x86_64": Arch(ElfFacts("EM_X86_64", 64, "little"), "x86_64-linux-gnu"),
    "i686": Arch(ElfFacts("EM_386", 32, "little"), "i386-linux-gnu"),
    "aarch64": Arch(ElfFacts("EM_AARCH64", 64, "little"), "aarch64-linux-gnu"),
    "aarch64_be": Arch(ElfFacts("EM_AARCH64", 64, "big"), "aarch64_be-linux-gnu"),
    "armv7l": Arch(ElfFacts("EM_ARM", 32, "little"), "arm-linux-gnueabihf", "EABI5 hard-float",
                   _arm_hard_float),
    "armv6l": Arch(ElfFacts("EM_ARM", 32, "little"), "arm-linux-gnueabihf", "EABI5 hard-float",
                   _arm_hard_float),
    "armv5tel": Arch(ElfFacts("EM_ARM", 32, "little"), "arm-linux-gnueabi"),
    "ppc64le": Arch(ElfFacts("EM_PPC64", 64, "little"), "powerpc64le-linux-gnu", "ELFv2",
                    lambda f: f & 3 != 1),
    "ppc64": Arch(ElfFacts("EM_PPC64", 64, "big"), "powerpc64-linux-gnu"),
    "ppc": Arch(ElfFacts("EM_PPC", 32, "big"), "powerpc-linux-gnu"),
    "s390x": Arch(ElfFacts("EM_S390", 64, "big"), "s390x-linux-gnu"),
    "riscv64": Arch(ElfFacts("EM_RISCV", 64, "little"), "riscv64-linux-gnu",
                    "lp64d double-float", lambda f: f & 0x6 == 0x4),
    "loongarch64": Arch(ElfFacts("EM_LOONGARCH", 64, "little"), "loongarch64-linux-gnu", "lp64d",
                        lambda f: f & 0x7 == 0x3),
    "mips64": Arch(ElfFacts("EM_MIPS", 64, "little"), "mips64el-linux-gnuabi64"),
    "mips": Arch(ElfFacts("EM_MIPS", 32, "little"), "mipsel-linux-gnu"),
}
ARCHES["i386"] = ARCHES["i686"]


def expected(machine: str) -> ElfFacts | None:
    """ELF facts for a ``uname -m`` value, or None for an architecture we do not know."""
    arch = ARCHES.get(machine)
    return arch.elf if arch else None


def read_stream(stream: BinaryIO) -> ElfFacts:
    elf = ELFFile(stream)
    return ElfFacts(
        machine=str(elf["e_machine"]),
        bits=elf.elfclass,
        byteorder="little" if elf.little_endian else "big",
    )


def read(path: Path) -> ElfFacts:
    """Read the ELF facts of the file at *path* (raises ELFError if it is not ELF)."""
    with path.open("rb") as stream:
        return read_stream(stream)
