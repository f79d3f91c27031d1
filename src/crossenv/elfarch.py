"""The ELF facts of a file (what an architecture's objects look like is in arches)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from elftools.elf.elffile import ELFFile

from .arches import ElfFacts

__all__ = ["ElfFacts", "read", "read_stream"]


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
