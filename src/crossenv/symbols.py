"""Which symbols of a wheel need a newer glibc (or libstdc++) than a manylinux policy.

``crossenv check`` already reports a file whose version needs exceed its tag; before
a wheel is *given* a tag, buildwheel needs more: the symbol to blame (``fcntl64`` needs
``GLIBC_2.28``), so that the one-line error says what to change. The limits are
:func:`crossenv.policy.allowed_versions` (auditwheel's policy data), so a wheel this
accepts is one auditwheel and ``crossenv check`` accept too.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

from .elfinfo import ElfInfo, ElfUnreadable, read_elf
from .policy import allowed_versions, numeric

_MAX_MEMBER = 1 << 30  # an ELF member larger than this is not read into memory


#: glibc's shared libraries, whose functions an extension may call
_GLIBC_LIBS = ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
               "libutil.so.1", "libresolv.so.2")


@dataclasses.dataclass(frozen=True)
class Excess:
    """``member`` needs ``version`` (``GLIBC_2.34``) for ``symbol`` ("" if unknown);
    ``unversioned``: the reference carries no version (zig links a function its glibc
    stubs lack so), and glibc has the symbol only from ``version`` on."""

    member: str
    version: str
    symbol: str
    unversioned: bool = False

    def describe(self) -> str:
        if self.unversioned:
            return (f"{self.member} calls {self.symbol}, which glibc has only from "
                    f"{self.version} on (an unversioned reference: it fails to load on an "
                    "older glibc)")
        what = f"{self.symbol}@{self.version}" if self.symbol else self.version
        return f"{self.member} needs {what}"


@functools.lru_cache(maxsize=8)
def glibc_first_versions(sysroot: Path, multiarch: str) -> dict[str, str]:
    """Each function and object the sysroot's glibc exports -> the oldest ``GLIBC_x.y``
    it is defined at ({} when the libraries cannot be read)."""
    found: dict[str, str] = {}
    real = Path(sysroot).resolve()
    for lib in _GLIBC_LIBS:
        for directory in (Path(sysroot) / "lib" / multiarch,
                          Path(sysroot) / "usr" / "lib" / multiarch):
            path = directory / lib
            if path.is_file() and path.resolve().is_relative_to(real):  # never leave it
                for name, version in _defined_versions(path):
                    if name not in found or (numeric(version[6:]) or ()) < (
                            numeric(found[name][6:]) or ()):
                        found[name] = version
                break
    return found


def _defined_versions(path: Path) -> list[tuple[str, str]]:
    """``(name, GLIBC_2.x)`` for each version a symbol of *path* is defined at, read by
    :func:`crossenv.elfinfo.read_elf` (bounded for untrusted files; IFUNCs such as
    aarch64's ``memcpy`` included)."""
    try:
        with path.open("rb") as stream:
            symbols = read_elf(stream, path.stat().st_size, symbols=True).symbols
    except (OSError, ElfUnreadable):  # a sysroot file is untrusted: no answer
        return []
    return [(name, version) for name, versions in (symbols.defined if symbols else {}).items()
            for version in versions if version.startswith("GLIBC_2.")]


def interpreter_symbol(name: str) -> bool:
    """The Python C API (``Py*``, ``_Py*``): the interpreter defines those, unversioned."""
    return name.startswith(("Py", "_Py"))


def late_unversioned(elf: ElfInfo, known: Callable[[], Mapping[str, str]],
                     limit: tuple[str, frozenset[str]]) -> list[tuple[str, str]]:
    """``(name, GLIBC_x.y)`` for each unversioned, non-weak reference of *elf* outside
    the Python C API that *known* (:func:`glibc_first_versions`, asked only when there
    is such a reference: gcc's modules version every libc reference) dates beyond
    *limit* (``allowed_versions``' newest and explicit GLIBC versions). zig links a
    function its glibc stubs lack so; it binds to any glibc that has it."""
    names = {r.name for r in (elf.symbols.undefined if elf.symbols else ())
             if not r.version and not r.weak and not interpreter_symbol(r.name)}
    if not names:
        return []
    table = known()
    newest, explicit = numeric(limit[0]) or (), limit[1]
    return sorted((name, table[name]) for name in names if name in table
                  and table[name][len("GLIBC_"):] not in explicit
                  and (numeric(table[name][len("GLIBC_"):]) or (999,)) > newest)


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


def excesses(wheel: Path, arch: str, glibc: tuple[int, int],
             glibc_symbols: Callable[[], Mapping[str, str]] | None = None) -> list[Excess]:
    """Every (member, version, symbol) in ``wheel`` beyond manylinux ``glibc`` on ``arch``.
    With ``glibc_symbols`` (giving :func:`glibc_first_versions` of the host's sysroot,
    asked only when a member has an unversioned reference), also every unversioned
    reference to a glibc symbol that the policy's glibc lacks."""
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
                elf = read_elf(io.BytesIO(data), len(data), symbols=glibc_symbols is not None)
            except ElfUnreadable:
                continue  # crossenv check reports it
            limit = allowed_versions(arch, glibc).get("GLIBC")
            if glibc_symbols is not None and limit is not None:
                found += [Excess(info.filename, version, name, unversioned=True)
                          for name, version in late_unversioned(elf, glibc_symbols, limit)]
            names = _too_new(elf.versions, arch, glibc)
            if not names:
                continue
            symbols = _symbols_needing(data, names)
            for version in sorted(names, key=lambda v: (v.split("_")[0], numeric(
                    v.split("_", 1)[1]) or ())):
                for symbol in sorted(symbols.get(version, [""]))[:3]:
                    found.append(Excess(info.filename, version, symbol))
    return found
