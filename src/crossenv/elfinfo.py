"""What ``crossenv check`` needs to know about one ELF file, read within fixed bounds.

A wheel is somebody else's file: its ELF members may be truncated, mangled or made to
send a parser round in circles (a version-need entry whose "next" offset is 0 is read
again ``sh_info`` times; a symbol table with a tiny entry size has billions of entries).
pyelftools reads the structures; this module decides how many of them it is worth
reading and turns every failure of the parser into one :class:`ElfUnreadable`, which
the checker reports as a named problem instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import io
from typing import BinaryIO

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from elftools.elf.sections import Section, SymbolTableSection
from elftools.elf.segments import InterpSegment

from .elfarch import ElfFacts

#: real libraries have tens of thousands (libLLVM ~100k); beyond this the file is hostile
MAX_SYMBOLS = 1_000_000
MAX_SECTIONS = 65_535
READ_FACTOR = 8
_VERSION_ENTRY = 16  # Elf_Verneed and Elf_Vernaux: 16 bytes in ELF32 and ELF64 alike


class ElfUnreadable(Exception):
    """The member starts like ELF but cannot be read (the message says where it broke)."""


@dataclasses.dataclass
class ElfInfo:
    """The header facts, dependencies, symbol versions and search paths of one ELF file."""

    facts: ElfFacts
    flags: int
    needed: list[str] = dataclasses.field(default_factory=list)
    interp: str = ""
    versions: dict[str, set[str]] = dataclasses.field(default_factory=dict)  # GLIBC -> {2.17}
    exports_pyinit: bool = False
    rpath: list[str] = dataclasses.field(default_factory=list)  # DT_RPATH entries
    runpath: list[str] = dataclasses.field(default_factory=list)  # DT_RUNPATH entries


def _entries(section: Section, size: int, limit: int) -> int:
    """How many fixed-size entries *section* holds, refusing sizes that do not fit."""
    entsize = section["sh_entsize"]
    if entsize != size:
        raise ElfUnreadable(f"section {section.name} has entry size {entsize}, not {size}")
    count = section["sh_size"] // entsize
    if count > limit:
        raise ElfUnreadable(f"section {section.name} claims {count} entries")
    return int(count)


def _dynamic(section: DynamicSection, info: ElfInfo, file_size: int) -> None:
    tag_size = section.elffile.structs.Elf_Dyn.sizeof()
    for n in range(_entries(section, tag_size, file_size // tag_size)):
        tag = section.get_tag(n)
        kind = tag.entry.d_tag
        if kind == "DT_NULL":
            break
        if kind == "DT_NEEDED":
            info.needed.append(tag.needed)
        elif kind == "DT_RPATH":
            info.rpath += [p for p in tag.rpath.split(":") if p]
        elif kind == "DT_RUNPATH":
            info.runpath += [p for p in tag.runpath.split(":") if p]


def _versions_needed(section: GNUVerNeedSection, info: ElfInfo) -> None:
    budget = section["sh_size"] // _VERSION_ENTRY  # every entry read must have its own bytes
    for _, auxes in section.iter_versions():
        budget -= 1
        for aux in auxes:
            budget -= 1
            if budget < 0:
                raise ElfUnreadable(f"section {section.name} has more entries than bytes")
            lib, _, version = aux.name.partition("_")
            info.versions.setdefault(lib, set()).add(version)
        if budget < 0:
            raise ElfUnreadable(f"section {section.name} has more entries than bytes")


def _exports_pyinit(section: SymbolTableSection) -> bool:
    size = section.elffile.structs.Elf_Sym.sizeof()
    count = _entries(section, size, MAX_SYMBOLS)
    names = section.stringtable
    if names["sh_type"] != "SHT_NOBITS" and b"PyInit_" not in names.data():
        return False  # the usual answer for a library, without parsing every symbol
    for n in range(count):
        sym = section.get_symbol(n)
        if sym.name.startswith("PyInit_") and sym["st_shndx"] != "SHN_UNDEF":
            return True
    return False


class _Budget:
    """A read-only view of the stream that stops a parser reading without end.

    pyelftools reads a string chunk by chunk up to its NUL, once per symbol or version
    name; a string table without NULs makes that quadratic. A real file is read a few
    times over at most, so past :data:`READ_FACTOR` times its size the file is declared
    unreadable.
    """

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream, self._left = stream, limit

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise ElfUnreadable(f"reading it takes more than {READ_FACTOR} times its size")
        return data


def _read(stream: BinaryIO, file_size: int) -> ElfInfo:
    elf = ELFFile(stream)
    facts = ElfFacts(str(elf["e_machine"]), elf.elfclass, "little" if elf.little_endian else "big")
    info = ElfInfo(facts, elf["e_flags"])
    if elf.num_segments() > MAX_SECTIONS or elf.num_sections() > MAX_SECTIONS:
        raise ElfUnreadable("more than 65535 segments or sections")
    for segment in elf.iter_segments():
        if isinstance(segment, InterpSegment):
            info.interp = segment.get_interp_name()
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_NOBITS" and \
                section["sh_offset"] + section["sh_size"] > file_size:
            raise ElfUnreadable(f"section {section.name} ends past the end of the file")
        if isinstance(section, DynamicSection):
            _dynamic(section, info, file_size)
        elif isinstance(section, GNUVerNeedSection):
            _versions_needed(section, info)
        elif isinstance(section, SymbolTableSection) and section.name == ".dynsym":
            info.exports_pyinit = _exports_pyinit(section)
    return info


def read_elf(stream: BinaryIO, file_size: int) -> ElfInfo:
    """Read one ELF file from a seekable *stream* of *file_size* bytes.

    Raises :class:`ElfUnreadable` for anything the parser cannot make sense of: the file
    is untrusted input, so any exception pyelftools raises on it means "unparsable".
    """
    try:
        budget = _Budget(stream, READ_FACTOR * file_size + (1 << 20))
        return _read(budget, file_size)  # type: ignore[arg-type]
    except ElfUnreadable:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # the parser's own errors, on untrusted bytes
        detail = str(exc).strip().splitlines()
        raise ElfUnreadable(detail[0][:200] if detail else type(exc).__name__) from None


def origin_relative(entry: str) -> bool:
    """``$ORIGIN/../lib``: found relative to the file itself, wherever it is installed."""
    return entry.startswith(("$ORIGIN/", "${ORIGIN}/")) or entry in ("$ORIGIN", "${ORIGIN}")


def stray_search_paths(info: ElfInfo) -> list[tuple[str, str]]:
    """``(DT_RPATH or DT_RUNPATH, entry)`` for every entry not relative to ``$ORIGIN``.

    An absolute entry names a directory of the machine that linked the file (or of its
    sysroot); a relative one is resolved against the current directory. Either way the
    library found there on the host, if any, is there by accident.
    """
    return [(kind, entry) for kind, entries in (("RPATH", info.rpath), ("RUNPATH", info.runpath))
            for entry in entries if not origin_relative(entry)]
