"""ELF facts of an architecture, and of a file.

One table maps a ``uname -m`` / wheel-tag architecture to the ELF header it
implies. The toolchain check, the wheel checker and the tag code all use it, so
"what does an aarch64 object look like" is answered in exactly one place.
"""

from __future__ import annotations

import dataclasses
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


ARCHES: dict[str, ElfFacts] = {
    "x86_64": ElfFacts("EM_X86_64", 64, "little"),
    "i686": ElfFacts("EM_386", 32, "little"),
    "i386": ElfFacts("EM_386", 32, "little"),
    "aarch64": ElfFacts("EM_AARCH64", 64, "little"),
    "aarch64_be": ElfFacts("EM_AARCH64", 64, "big"),
    "armv7l": ElfFacts("EM_ARM", 32, "little"),
    "armv6l": ElfFacts("EM_ARM", 32, "little"),
    "armv5tel": ElfFacts("EM_ARM", 32, "little"),
    "ppc64le": ElfFacts("EM_PPC64", 64, "little"),
    "ppc64": ElfFacts("EM_PPC64", 64, "big"),
    "ppc": ElfFacts("EM_PPC", 32, "big"),
    "s390x": ElfFacts("EM_S390", 64, "big"),
    "riscv64": ElfFacts("EM_RISCV", 64, "little"),
    "loongarch64": ElfFacts("EM_LOONGARCH", 64, "little"),
    "mips64": ElfFacts("EM_MIPS", 64, "little"),
    "mips": ElfFacts("EM_MIPS", 32, "little"),
}


def expected(machine: str) -> ElfFacts | None:
    """ELF facts for a ``uname -m`` value, or None for an architecture we do not know."""
    return ARCHES.get(machine)


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
