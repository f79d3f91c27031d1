"""What ``crossenv check`` needs to know about one ELF file, read within fixed bounds.

A wheel is somebody else's file: its ELF members may be truncated, mangled or made to
send a parser round in circles (a version-need entry whose "next" offset is 0 is read
again ``sh_info`` times; a symbol table with a tiny entry size has billions of entries).
pyelftools reads the structures; this module decides how many of them it is worth
reading and turns every failure of the parser into one :class:`ElfUnreadable`, which
the checker reports as a named problem instead of a traceback.
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import struct
from typing import BinaryIO

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection
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


@dataclasses.dataclass(frozen=True)
class Reference:
    """An undefined dynamic symbol: what the loader must find in some loaded object."""

    name: str
    version: str = ""  # "" = unversioned
    library: str = ""  # the DT_NEEDED name the version was recorded against
    weak: bool = False


@dataclasses.dataclass
class Symbols:
    """The dynamic symbol table with its GNU versions, as the loader matches them."""

    undefined: list[Reference] = dataclasses.field(default_factory=list)
    #: name -> versions it is defined with ("" = unversioned)
    defined: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    #: DT_VERNEED: library -> {version: weak}
    version_needs: dict[str, dict[str, bool]] = dataclasses.field(default_factory=dict)
    #: DT_VERDEF, without the base entry (which is the SONAME)
    version_defs: set[str] = dataclasses.field(default_factory=set)


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
    elf_type: str = ""  # ET_DYN, ET_EXEC, ET_REL ...
    osabi: str = ""  # pyelftools' name: ELFOSABI_SYSV, ELFOSABI_LINUX (= GNU) ...
    abiversion: int = 0
    soname: str = ""
    symbols: Symbols | None = None  # only when asked for (read_elf(..., symbols=True))


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
        elif kind == "DT_SONAME":
            info.soname = tag.soname


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


def _version_names(section: GNUVerNeedSection | GNUVerDefSection,
                   ) -> dict[int, tuple[str, str, bool]]:
    """Version index -> (library or "", version, weak-or-base) of a verneed/verdef section."""
    needs = isinstance(section, GNUVerNeedSection)
    # every entry read must have its own bytes (Elf_Verdaux, the smallest, has 8)
    budget = section["sh_size"] // (_VERSION_ENTRY if needs else 8)
    found: dict[int, tuple[str, str, bool]] = {}
    for entry, auxes in section.iter_versions():
        budget -= 1
        for n, aux in enumerate(auxes):
            budget -= 1
            if budget < 0:
                raise ElfUnreadable(f"section {section.name} has more entries than bytes")
            if needs:
                weak = bool(aux["vna_flags"] & 2)  # VER_FLG_WEAK
                found[aux["vna_other"] & 0x7FFF] = (entry.name, aux.name, weak)
            elif n == 0:
                found[entry["vd_ndx"] & 0x7FFF] = ("", aux.name, bool(entry["vd_flags"] & 1))
        if budget < 0:
            raise ElfUnreadable(f"section {section.name} has more entries than bytes")
    return found


def _symbols(elf: ELFFile, dynsym: Section, versym: Section | None,
             needs: dict[int, tuple[str, str, bool]],
             defs: dict[int, tuple[str, str, bool]]) -> Symbols:
    """The dynamic symbols, unpacked with :mod:`struct` from the section's bytes.

    pyelftools parses one symbol in ~30 us; libc has 2,300, a BLAS 10,000 and more, and
    ``check`` must read them all for every library a wheel loads. The section headers
    are pyelftools'; the fixed-size records are read here.
    """
    order = "<" if elf.little_endian else ">"
    fmt = order + ("IBBHQQ" if elf.elfclass == 64 else "IIIBBH")
    size = struct.calcsize(fmt)
    count = _entries(dynsym, size, MAX_SYMBOLS)
    data = dynsym.data()[:count * size]
    strtab = elf.get_section(dynsym["sh_link"])
    names = strtab.data() if strtab["sh_type"] == "SHT_STRTAB" else b""
    nuls = _nul_positions(names)
    versions: tuple[int, ...] = ()
    if versym is not None:
        raw = versym.data()
        versions = struct.unpack(f"{order}{min(len(raw) // 2, count)}H",
                                 raw[:min(len(raw) // 2, count) * 2])
    out = Symbols(version_defs={v for _, v, base in defs.values() if not base})
    for library, version, weak in needs.values():
        out.version_needs.setdefault(library, {})[version] = weak
    cache: dict[int, str] = {}
    for index, fields in enumerate(struct.iter_unpack(fmt, data)):
        if index == 0:
            continue
        if elf.elfclass == 64:
            st_name, info, _, shndx = fields[0], fields[1], fields[2], fields[3]
        else:
            st_name, info, shndx = fields[0], fields[3], fields[5]
        bind = info >> 4
        if bind not in (1, 2, 10):  # GLOBAL, WEAK, GNU_UNIQUE; LOCAL ones are not exported
            continue
        name = cache.get(st_name)
        if name is None:
            end = nuls[bisect.bisect_left(nuls, st_name)] if nuls and st_name <= nuls[-1] \
                else -1
            if end < 0:
                raise ElfUnreadable(f"symbol {index}'s name is outside the string table")
            name = cache[st_name] = names[st_name:end].decode("utf-8", "replace")
        ndx = versions[index] & 0x7FFF if index < len(versions) else 1
        if shndx == 0:  # SHN_UNDEF
            library, version, _ = needs.get(ndx, ("", "", False))
            out.undefined.append(Reference(name, version, library, bind == 2))
        else:
            out.defined.setdefault(name, set()).add(defs.get(ndx, ("", "", True))[1]
                                                    if ndx > 1 else "")
    return out


def _nul_positions(data: bytes) -> list[int]:
    """Offsets of every NUL: a name's end by bisection, so a table without NULs costs
    one pass instead of one scan per symbol."""
    found, at = [], data.find(b"\0")
    while at >= 0:
        found.append(at)
        at = data.find(b"\0", at + 1)
    return found


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


def _read(stream: BinaryIO, file_size: int, symbols: bool) -> ElfInfo:
    elf = ELFFile(stream)
    facts = ElfFacts(str(elf["e_machine"]), elf.elfclass, "little" if elf.little_endian else "big")
    ident = elf["e_ident"]
    info = ElfInfo(facts, elf["e_flags"], elf_type=str(elf["e_type"]),
                   osabi=str(ident["EI_OSABI"]), abiversion=int(ident["EI_ABIVERSION"]))
    if elf.num_segments() > MAX_SECTIONS or elf.num_sections() > MAX_SECTIONS:
        raise ElfUnreadable("more than 65535 segments or sections")
    for segment in elf.iter_segments():
        if isinstance(segment, InterpSegment):
            info.interp = segment.get_interp_name()
    dynsym = versym = None
    needs: dict[int, tuple[str, str, bool]] = {}
    defs: dict[int, tuple[str, str, bool]] = {}
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_NOBITS" and \
                section["sh_offset"] + section["sh_size"] > file_size:
            raise ElfUnreadable(f"section {section.name} ends past the end of the file")
        if isinstance(section, DynamicSection):
            _dynamic(section, info, file_size)
        elif isinstance(section, GNUVerNeedSection):
            _versions_needed(section, info)
            if symbols:
                needs = _version_names(section)
        elif isinstance(section, GNUVerDefSection) and symbols:
            defs = _version_names(section)
        elif section["sh_type"] == "SHT_GNU_versym":
            versym = section
        elif isinstance(section, SymbolTableSection) and section.name == ".dynsym":
            dynsym = section
            if not symbols:
                info.exports_pyinit = _exports_pyinit(section)
    if symbols:
        info.symbols = _symbols(elf, dynsym, versym, needs, defs) if dynsym is not None \
            else Symbols()
        info.exports_pyinit = any(n.startswith("PyInit_") for n in info.symbols.defined)
    return info


def read_elf(stream: BinaryIO, file_size: int, *, symbols: bool = False) -> ElfInfo:
    """Read one ELF file from a seekable *stream* of *file_size* bytes.

    With *symbols*, also every dynamic symbol and its GNU version (:class:`Symbols`),
    what :mod:`crossenv.loader` resolves.

    Raises :class:`ElfUnreadable` for anything the parser cannot make sense of: the file
    is untrusted input, so any exception pyelftools raises on it means "unparsable".
    """
    try:
        budget = _Budget(stream, READ_FACTOR * file_size + (1 << 20))
        return _read(budget, file_size, symbols)  # type: ignore[arg-type]
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
