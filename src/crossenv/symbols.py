"""Which symbols of a wheel need a newer glibc (or libstdc++) than a manylinux policy.

``crossenv check`` already reports a file whose version needs exceed its tag; before
a wheel is *given* a tag, buildwheel needs more: the symbol to blame (``fcntl64`` needs
``GLIBC_2.28``), so that the one-line error says what to change. The limits are
:func:`crossenv.policy.allowed_versions` (auditwheel's policy data), so a wheel this
accepts is one auditwheel and ``crossenv check`` accept too.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

from .elfinfo import ElfUnreadable, read_elf
from .policy import allowed_versions, numeric

_MAX_MEMBER = 1 << 30  # an ELF member larger than this is not read into memory


@dataclasses.dataclass(frozen=True)
class Excess:
    """``member`` needs ``version`` (``GLIBC_2.34``) for ``symbol`` ("" if unknown)."""

    member: str
    version: str
    symbol: str

    def describe(self) -> str:
        what = f"{self.symbol}@{self.version}" if self.symbol else self.version
        return f"{self.member} needs {what}"


def _too_new(versions: dict[str, set[str]], arch: str, glibc: tuple[int, int]) -> set[str]:
    found: set[str] = set()
    for lib, (newest, explicit) in allowed_versions(arch, glibc).items():
        limit = numeric(newest) or ()
        found |= {f"{lib}_{v}" for v in versions.get(lib, ())
                  if v not in explicit and (numeric(v) or (999,)) > limit}
    return found


def _symbols_needing(data: bytes, names: set[str]) -> dict[str, list[str]]:
    """version name -> undefined dynamic symbols bound to it (best effort: {} on failure)."""
    try:
        elf = ELFFile(io.BytesIO(data))
        index_names: dict[int, str] = {}
        versym = dynsym = None
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _, auxes in section.iter_versions():
                    for aux in auxes:
                        index_names[aux["vna_other"]] = aux.name
            elif isinstance(section, GNUVerSymSection):
                versym = section
            elif section.name == ".dynsym":
                dynsym = section
        if versym is None or dynsym is None:
            return {}
        found: dict[str, list[str]] = {}
        for n, symbol in enumerate(dynsym.iter_symbols()):
            if symbol["st_shndx"] != "SHN_UNDEF" or n >= versym.num_symbols():
                continue
            index = versym.get_symbol(n)["ndx"]
            name = index_names.get(index if isinstance(index, int) else -1)
            if name in names:
                found.setdefault(name, []).append(symbol.name)
        return found
    except Exception:  # untrusted bytes: the version is still reported, without a name
        return {}


def excesses(wheel: Path, arch: str, glibc: tuple[int, int]) -> list[Excess]:
    """Every (member, version, symbol) in ``wheel`` beyond manylinux ``glibc`` on ``arch``."""
    found: list[Excess] = []
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir() or info.file_size > _MAX_MEMBER:
                continue
            with zf.open(info) as stream:
                if stream.read(4) != b"\x7fELF":
                    continue
            data = zf.read(info)
            try:
                elf = read_elf(io.BytesIO(data), len(data))
            except ElfUnreadable:
                continue  # crossenv check reports it
            names = _too_new(elf.versions, arch, glibc)
            if not names:
                continue
            symbols = _symbols_needing(data, names)
            for version in sorted(names, key=lambda v: (v.split("_")[0], numeric(
                    v.split("_", 1)[1]) or ())):
                for symbol in sorted(symbols.get(version, [""]))[:3]:
                    found.append(Excess(info.filename, version, symbol))
    return found
