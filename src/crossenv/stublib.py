"""Link-time stand-ins for shared libraries: the same symbols under older versions.

ld records, for every symbol a module takes from a shared library, the version the
library defines as default (``name@@VERSION``). A library built for a newer system
therefore ties the module to that system even when an older version of the same
symbol exists. A *stub* is a small shared library with the same SONAME whose default
versions are the ones an older host has: linked against it, the module needs only
those; at run time the host's real library answers (the loader matches the symbol
name and version, never the stub). Stubs are made with the cross C compiler from a
generated C file; the symbols are read from the real library with pyelftools.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerSymSection

from . import _proc

#: what a C asm label can carry unquoted (every libstdc++/glibc symbol does)
_NAME = re.compile(r"^[A-Za-z_.$][A-Za-z0-9_.$]*$")
_KINDS = {"STT_FUNC": "func", "STT_GNU_IFUNC": "func", "STT_OBJECT": "object",
          "STT_TLS": "tls"}


@dataclasses.dataclass(frozen=True)
class Symbol:
    """``name@VERSION`` defined by a library: a function, a data object or TLS data."""

    name: str
    version: str
    kind: str  # "func", "object" or "tls"
    size: int = 0


def defined_symbols(library: Path) -> list[Symbol]:
    """Every versioned symbol *library* defines, default or not (``pthread_once`` is
    both ``@GLIBC_2.17`` and ``@@GLIBC_2.34`` in glibc 2.34's libc.so.6)."""
    with open(library, "rb") as stream:
        elf = ELFFile(stream)
        names: dict[int, str] = {}
        versym = dynsym = None
        for section in elf.iter_sections():
            if isinstance(section, GNUVerDefSection):
                for verdef, auxes in section.iter_versions():
                    first = next(iter(auxes), None)
                    if first is not None and not verdef["vd_flags"] & 1:  # not VER_FLG_BASE
                        names[verdef["vd_ndx"]] = first.name
            elif isinstance(section, GNUVerSymSection):
                versym = section
            elif section.name == ".dynsym":
                dynsym = section
        if versym is None or dynsym is None:
            raise ELFError(f"{library} has no versioned dynamic symbols")
        found = []
        for index, sym in enumerate(dynsym.iter_symbols()):
            if sym["st_shndx"] in ("SHN_UNDEF", "SHN_ABS") or not _NAME.match(sym.name):
                continue
            ndx = versym.get_symbol(index)["ndx"]
            version = names.get(ndx & 0x7FFF if isinstance(ndx, int) else -1)  # 0x8000: hidden
            kind = _KINDS.get(sym["st_info"]["type"])
            if version and kind:
                found.append(Symbol(sym.name, version, kind, int(sym["st_size"])))
    return found


def newest(symbols: Iterable[Symbol], allowed: Callable[[str], bool],
           order: Callable[[str], tuple[int, ...]]) -> list[Symbol]:
    """Per name, the symbol with the newest version *allowed* accepts, by *order*."""
    best: dict[str, Symbol] = {}
    for sym in symbols:
        if allowed(sym.version):
            old = best.get(sym.name)
            if old is None or order(sym.version) > order(old.version):
                best[sym.name] = sym
    return sorted(best.values(), key=lambda s: s.name)


def source(symbols: list[Symbol]) -> tuple[str, str]:
    """(C source, version script) of a shared library defining *symbols* as defaults."""
    lines = ["/* crossenv: a link-time stand-in; never loaded */"]
    nodes: dict[str, list[str]] = {}
    for n, sym in enumerate(symbols):
        if sym.kind == "func":
            lines.append(f'void f{n}(void) __asm__("{sym.name}"); void f{n}(void) {{}}')
        else:
            tls = "__thread " if sym.kind == "tls" else ""
            lines.append(f'{tls}char d{n}[{max(sym.size, 1)}] __asm__("{sym.name}") = {{1}};')
        nodes.setdefault(sym.version, []).append(sym.name)
    blocks = [f"{version} {{\n  global:\n" + "".join(f"    {name};\n" for name in names)
              for version, names in sorted(nodes.items())]
    if blocks:
        blocks[-1] += "  local: *;\n"
    return "\n".join(lines) + "\n", "".join(block + "};\n" for block in blocks)


def run_compiler(cc: tuple[str, ...], args: list[str], what: str) -> None:
    """Run the cross C compiler; OSError with its last words if it fails."""
    proc = _proc.run([*cc, *args], timeout=600, check=False, error=OSError)
    if proc.returncode is None:
        raise OSError(f"cannot build {what}: the compiler ran for 600 s")
    if proc.returncode != 0:
        raise OSError(f"cannot build {what}: {proc.stderr.strip()[-2000:]}")


def build(cc: tuple[str, ...], symbols: list[Symbol], soname: str, out: Path) -> None:
    """Compile the stub *out* (SONAME *soname*) with the C compiler *cc*."""
    text, version_script = source(symbols)
    with tempfile.TemporaryDirectory(prefix="crossenv-stub-") as tmp:
        c_file, map_file = Path(tmp, "stub.c"), Path(tmp, "stub.map")
        c_file.write_text(text)
        map_file.write_text(version_script)
        run_compiler(cc, ["-shared", "-nostdlib", "-fPIC", "-o", str(out), str(c_file),
                          f"-Wl,-soname,{soname}", f"-Wl,--version-script={map_file}"],
                     f"the {soname} stub")


def cached(key: list[str], make: Callable[[Path], None]) -> Path:
    """The directory *make* filled for *key*, made once per user (``~/.cache/crossenv/
    stubs``): a stub depends only on the library it is cut from, the compiler and the
    level, and making one costs seconds that every environment would pay again."""
    import hashlib
    import os
    import shutil

    from .cache import user_cache

    digest = hashlib.sha256("\0".join(key).encode()).hexdigest()[:24]
    root = user_cache("stubs")
    final = root / digest
    if (final / ".complete").is_file():
        return final
    work = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=root))
    try:
        make(work)
        (work / ".complete").touch()
        try:
            os.rename(work, final)
        except OSError:  # another process made it first: keep theirs
            if not (final / ".complete").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final
