"""C++ extensions for an older manylinux than the cross compiler's libstdc++ (gnu toolchains).

Debian 12's cross g++ (gcc 12) links extensions against its own libstdc++.so.6
(``GLIBCXX_3.4.30``, ``CXXABI_1.3.13``), so even a small pybind11 module needs a
newer libstdc++ than manylinux_2_28 (gcc 8: ``GLIBCXX_3.4.24``) or manylinux2014
(gcc 4.8: ``GLIBCXX_3.4.19``) promise. The manylinux images solve this with Red Hat's
devtoolset: ``-lstdc++`` finds a linker script, ``INPUT(libstdc++.so.6
libstdc++_nonshared.a)``, so a symbol the system's old libstdc++.so.6 has binds to it
dynamically and only the newer ones are linked into the module from a static archive.

crossenv does the same with parts it makes from the compiler's own files, so the
object code and the headers always match (no second compiler, no older sysroot):

* a *stub* ``libstdc++.so.6``: the compiler's libstdc++.so.6 cut down to the symbol
  versions the manylinux policy allows (:func:`crossenv.policy.allowed_versions`,
  auditwheel's data), each symbol under the newest allowed version. Linking against it
  records only those versions; at run time the host's real libstdc++.so.6 answers.
* ``libstdc++_nonshared.a``: the members of the compiler's ``libstdc++.a`` that define
  what the stub lacks (``std::__throw_bad_array_new_length``,
  ``exception_ptr::_M_addref``...; 13 of 186 objects for manylinux_2_28 with gcc 12),
  and ``-Wl,--exclude-libs`` keeps them out of the module's dynamic symbols. Those
  members also define older symbols (``locale::id`` statics, the old ``__throw_*``):
  they are made local to their member (``objcopy --localize-symbols``), so a module's
  own references still bind to the host's shared copy. objcopy cannot localize a
  GNU-unique (``u``) definition, and cow-string-inst.o (COW string's
  ``_S_empty_rep_storage``), locale-inst.o and wlocale-inst.o (the facet ``id``
  statics) have old ones: those become undefined references (:func:`undefine_unique`),
  so they bind to the host's copy too. The members' COMDAT groups are
  dissolved (``--remove-section=.group``): ld keeps only the first copy of a group, and
  where the module or another member has the same inline code (``basic_stringbuf``'s
  destructor is in both ``sstream-inst.o`` and its C++20 twin) the member's calls to
  its now-local copy would point into a discarded section, a link error. Their global
  definitions are made weak (``--weaken-symbols``), so the inline code and ``u``
  statics that several members, or the module, define link once, as the groups did.
  The exception runtime itself (``__cxa_throw``, the per-thread catch stack,
  type_info) is old and stays in the host's one shared libstdc++, so exceptions cross
  module boundaries as with any system-built module, unlike ``-static-libstdc++``
  where each module has a runtime of its own.
* ``crossenv-cxxcompat.o`` for a host glibc older than 2.32: gcc 12's headers read
  glibc's ``__libc_single_threaded`` (``GLIBC_2.32``) inline, in every shared_ptr
  copy. The object defines a hidden one that stays 0 ("maybe threaded"): reference
  counts always use atomic operations, which is what older glibc's gcc did.
* for a host glibc older than 2.34, the stubs of the libraries glibc 2.34 merged into
  libc and ``crossenv-gthread-refs.o``, which makes an LTO module's thread calls bind
  to them (:mod:`crossenv.glibcmoved`).

The files go into ENV's hostlibc directory, which gcc searches first (``-B``), so
``-lstdc++`` from g++, CMake, meson or a hand-written ``-lstdc++`` all find the script.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from . import _proc, glibcmoved, hostlibc, policy, stublib, tags
from .model import Toolchain

if TYPE_CHECKING:
    from .host import HostDescription

logger = logging.getLogger("crossenv")

#: the manylinux level C++ extensions are linked for unless the user declares one
#: (``--manylinux``, buildwheel's image): what cibuildwheel builds by default
DEFAULT_MANYLINUX = (2, 28)
#: bump when the generated parts change: the cache key
FORMAT = "cxxruntime-9"
STUB = "crossenv-libstdc++-stub.so"
ARCHIVE = "libstdc++_nonshared.a"
COMPAT = "crossenv-cxxcompat.o"
SCRIPT = "libstdc++.so"
#: the glibc that first has ``__libc_single_threaded``
SINGLE_THREADED_GLIBC = (2, 32)


def _version_allowed(version: str, limits: dict[str, tuple[str, frozenset[str]]]) -> bool:
    """``GLIBCXX_3.4.21`` within the policy? (the rule of crossenv.symbols and check)."""
    lib, _, number = version.partition("_")
    if lib not in limits:
        return False
    newest, explicit = limits[lib]
    value = policy.numeric(number)
    return number in explicit or (value is not None and value <= (policy.numeric(newest) or ()))


def _order(version: str) -> tuple[int, ...]:
    return policy.numeric(version.partition("_")[2]) or (0,)


def stub_symbols(library: Path, limits: dict[str, tuple[str, frozenset[str]]]
                 ) -> list[stublib.Symbol]:
    """The symbols of *library* (a libstdc++.so.6) the policy *limits* allow, each under
    its newest allowed version (an older ``name@VERSION`` where the default is too new)."""
    return stublib.newest(stublib.defined_symbols(library),
                          lambda v: _version_allowed(v, limits), _order)


COMPAT_SOURCE = """\
/* crossenv: glibc < 2.32 has no __libc_single_threaded, which gcc 12's libstdc++
   headers read inline. Zero means "maybe threaded": atomic reference counts. */
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;
"""


def _quote(path: Path) -> str:
    return '"' + str(path) + '"'


def linker_script(final_dir: Path, compat: bool, glibc_stubs: list[str],
                  glibc_refs: Sequence[str] = ()) -> str:
    """ENV's ``libstdc++.so``: the stub, the archive, the stub again, the compatibility
    object, the gthread references (:func:`crossenv.glibcmoved.build_refs`: before the stubs, so an
    LTO module's calls bind to them too) and the glibc stubs as needed (g++ puts
    ``-lstdc++`` before ``-lc``, so they come first).
    The stub comes before the archive and again after it. Before: an old symbol a member
    pulled in refers to is then already defined by the stub and pulls no other member
    (a manylinux2014 link of ``runtime_error(const char*)``, cow-stdexcept.o, once
    pulled cow-string-inst.o for ``string::_Rep::_S_empty_rep_storage`` and through it
    random.o's ``getentropy@GLIBC_2.25``). After: Debian's gcc links ``--as-needed`` and ld counts a
    shared library as needed only for references made before it, so when the module
    itself uses no old symbol the first copy is dropped, and the old symbols the
    members use (``__cxa_throw``...) would otherwise stay unversioned references with
    no ``libstdc++.so.6`` to find them in."""
    parts = [_quote(final_dir / STUB), _quote(final_dir / ARCHIVE), _quote(final_dir / STUB)]
    if compat:
        parts.append(_quote(final_dir / COMPAT))
    parts += [_quote(final_dir / name) for name in glibc_refs]
    if glibc_stubs:
        parts.append(f"AS_NEEDED ( {' '.join(_quote(final_dir / n) for n in glibc_stubs)} )")
    return ("/* crossenv: -lstdc++ for an older libstdc++.so.6 (see crossenv.cxxruntime):\n"
            "   the allowed symbols bind to the host's shared library, newer ones come\n"
            "   from the static archive, hidden by -Wl,--exclude-libs. */\n"
            f"INPUT ( {' '.join(parts)} )\n")


def _ask(cxx: tuple[str, ...], name: str) -> Path | None:
    try:
        proc = _proc.run([*cxx, f"-print-file-name={name}"], timeout=60, check=False,
                         error=OSError)
    except OSError:  # cannot be started
        return None
    found = Path(proc.stdout.strip())
    return found if proc.returncode == 0 and found.is_absolute() and found.is_file() else None


def _member_symbols(member: Path) -> tuple[set[str], set[str]]:
    """(global or weak definitions, undefined references) of one object file."""
    defined: set[str] = set()
    undefined: set[str] = set()
    with open(member, "rb") as stream:
        symtab = ELFFile(stream).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab is not None else ():
            # STB_LOOS is STB_GNU_UNIQUE (template statics, inline variables)
            if not sym.name or sym["st_info"]["bind"] not in ("STB_GLOBAL", "STB_WEAK",
                                                              "STB_LOOS"):
                continue
            (undefined if sym["st_shndx"] == "SHN_UNDEF" else defined).add(sym.name)
    return defined, undefined


def undefine_unique(member: Path, names: set[str]) -> list[str]:
    """Turn each GNU-unique definition of *names* in *member* into an undefined global
    reference (in place); the names changed.

    objcopy cannot localize a ``u`` symbol, and cow-string-inst.o (COW string's
    ``_S_empty_rep_storage``), locale-inst.o and wlocale-inst.o (the facet ``id``
    statics) define old ones: the member's copy would then win over the host's, a second
    empty-string rep or a private facet id. libstdc++.a is PIC and reaches them through
    the GOT only (tests/test_cxxruntime.py checks every relocation), so an undefined
    entry binds them to the stub, and at run time to the host's one shared copy, as
    every other old symbol. The symbol table entry is rewritten in place: binding
    GLOBAL (type and visibility kept), section ``SHN_UNDEF``, value and size 0."""
    with open(member, "rb") as stream:
        elf = ELFFile(stream)
        symtab = elf.get_section_by_name(".symtab")
        if symtab is None:
            return []
        order = "<" if elf.little_endian else ">"
        wide = elf.elfclass == 64
        start, size = symtab["sh_offset"], symtab["sh_entsize"]
        hits = [(index, sym.name) for index, sym in enumerate(symtab.iter_symbols())
                if sym.name in names and sym["st_info"]["bind"] == "STB_LOOS"
                and sym["st_shndx"] != "SHN_UNDEF"]
    if not hits:
        return []
    data = bytearray(member.read_bytes())
    for index, _ in hits:
        at = start + index * size
        info_at = at + (4 if wide else 12)  # Elf64_Sym: name, info...; Elf32_Sym: ..., info
        info = (1 << 4) | (data[info_at] & 0xF)  # STB_GLOBAL, the same STT_ type
        other = data[info_at + 1]
        if wide:
            struct.pack_into(f"{order}BBHQQ", data, info_at, info, other, 0, 0, 0)
        else:
            struct.pack_into(f"{order}II", data, at + 4, 0, 0)
            struct.pack_into(f"{order}BBH", data, info_at, info, other, 0)
    member.write_bytes(bytes(data))
    return sorted(name for _, name in hits)


def symbol_table(archive_dir: Path) -> dict[Path, tuple[set[str], set[str]]]:
    """Each object file of *archive_dir* (``ar x`` of libstdc++.a) -> its
    :func:`_member_symbols`, read once for choosing the members and weakening them."""
    return {member: _member_symbols(member) for member in sorted(archive_dir.iterdir())
            if member.suffix == ".o"}


def nonshared_members(table: dict[Path, tuple[set[str], set[str]]], new: set[str],
                      stub: set[str]) -> list[Path]:
    """The object files of *table* (:func:`symbol_table`) that define a symbol of
    *new*, the names the stub lacks, and those defining what they need that the *stub*
    does not export (libstdc++'s internal ``__gnu_cxx::__snprintf_lite``): the static
    archive holds only these, so no link can take the exception runtime or other shared
    state from it, whatever order ld resolves in (with ``-flto`` ld reads the archive
    again after code generation, before the stub, and would take all of libstdc++
    from a full archive)."""
    wanted, keep = set(new), []
    while True:
        more = [m for m in table if m not in keep and table[m][0] & wanted]
        if not more:
            return keep
        keep += more
        for member in more:
            wanted |= table[member][1] - stub
            wanted -= table[member][0]


def _build_parts(chain: Toolchain, shared: Path, archive: Path, arch: str,
                 level: tuple[int, int], compat: bool, libc: Path | None, out: Path) -> None:
    """Make the cacheable parts in *out*: the libstdc++ stub, the archive of what it
    lacks, the compatibility object, the glibc stubs (``glibc-stubs.txt`` lists them)."""
    symbols = stub_symbols(shared, policy.allowed_versions(arch, level))
    stublib.build(chain.cc, symbols, "libstdc++.so.6", out / STUB)
    old_names = {s.name for s in symbols}
    new = {s.name for s in stublib.defined_symbols(shared)} - old_names
    with tempfile.TemporaryDirectory(prefix="crossenv-ar-") as tmp:
        _proc.run([*chain.ar, "x", str(archive)], cwd=tmp, timeout=300, error=OSError)
        table = symbol_table(Path(tmp))
        members = nonshared_members(table, new, old_names)
        old = Path(tmp, "crossenv-old-symbols.txt")
        old.write_text("".join(f"{name}\n" for name in sorted(old_names)))
        objcopy = shutil.which(f"{chain.triplet}-objcopy")
        if objcopy is None:
            raise OSError(f"{chain.triplet}-objcopy is not on PATH (binutils-{chain.triplet})")
        for member in members:
            weak = Path(tmp, f"{member.name}.weaken.txt")  # its own definitions only:
            # objcopy --weaken would make its undefined references weak too (a module
            # whose only use of libstdc++ is through the archive would then drop it)
            weak.write_text("".join(f"{name}\n" for name in
                                    sorted(table[member][0] - old_names)))
            _proc.run([objcopy, f"--localize-symbols={old}", "--remove-section=.group",
                       f"--weaken-symbols={weak}", str(member)], timeout=300, error=OSError)
            undefine_unique(member, old_names & table[member][0])
        _proc.run([*chain.ar, "rcs", str(out / ARCHIVE), *map(str, members)], timeout=300,
                  error=OSError)
    if not (out / ARCHIVE).is_file():  # e.g. --ar /bin/true: exit 0, nothing written
        raise OSError(f"{chain.ar[0] if chain.ar else 'ar'} made no {ARCHIVE}")
    (out / "nonshared.txt").write_text("".join(f"{m.name}\n" for m in members))
    if compat:
        (out / "compat.c").write_text(COMPAT_SOURCE)
        stublib.run_compiler(chain.cc, ["-c", "-fPIC", "-o", str(out / COMPAT),
                                        str(out / "compat.c")], "the glibc compatibility object")
    names = glibcmoved.build_stubs(chain.cc, libc, level, out) if libc else []
    (out / "glibc-stubs.txt").write_text("".join(f"{name}\n" for name in names))
    refs = glibcmoved.build_refs(chain.cc, libc, level, out) if libc else []
    (out / "glibc-refs.txt").write_text("".join(f"{name}\n" for name in refs))


def prepare(chain: Toolchain, host: HostDescription, manylinux: tuple[int, int] | None,
            stage_dir: Path, final_dir: Path) -> Toolchain:
    """Write ENV's C++ runtime for manylinux *manylinux* (None: :data:`DEFAULT_MANYLINUX`,
    never below the arch's oldest manylinux) into *stage_dir*, and return *chain* with
    ``-B final_dir/`` and ``-Wl,--exclude-libs``. Only for gcc with a sysroot of a glibc
    host; *chain* unchanged (with a warning) when the compiler's libstdc++ files cannot
    be found or read. The generated parts are cached per compiler, sysroot and level."""
    if chain.kind != "gnu" or not chain.cxx or chain.sysroot is None or host.arch is None:
        return chain
    sysroot_glibc = tags.glibc_version(host)
    if sysroot_glibc is None:
        return chain
    level = max(manylinux or DEFAULT_MANYLINUX, host.arch.manylinux_oldest)
    shared, archive = _ask(chain.cxx, "libstdc++.so.6"), _ask(chain.cxx, "libstdc++.a")
    if shared is None or archive is None:
        logger.warning("C++ extensions will need %s's own libstdc++ (it has no "
                       "libstdc++.so.6 and libstdc++.a to link for manylinux %d.%d)",
                       chain.cxx[0], *level)
        return chain
    compat = sysroot_glibc >= SINGLE_THREADED_GLIBC > level
    dirs = hostlibc.search_dirs(chain)
    libc = glibcmoved.find_libc(dirs.sysroot if dirs else ()) \
        if sysroot_glibc >= glibcmoved.MOVED_IN > level else None
    key = [FORMAT, host.arch.machine, str(level), str(compat), *chain.cc, *chain.ar,
           *_identity(shared), *_identity(archive), *(_identity(libc) if libc else ())]
    try:
        parts = stublib.cached(key, lambda out: _build_parts(
            chain, shared, archive, host.arch.machine, level, compat, libc, out))
        stubs = (parts / "glibc-stubs.txt").read_text().split()
        refs = (parts / "glibc-refs.txt").read_text().split()
        names = [STUB, ARCHIVE, *([COMPAT] if compat else []), *refs, *stubs]
        missing = [name for name in names if not (parts / name).is_file()]
        if missing:  # a cache entry made by an older or broken run
            raise OSError(f"{parts} lacks {', '.join(missing)} (remove it to rebuild)")
    except (OSError, ELFError) as exc:
        logger.warning("C++ extensions will need %s's own libstdc++: %s", chain.cxx[0], exc)
        return chain
    stage_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(parts / name, stage_dir / name)
    _replace(stage_dir / SCRIPT, linker_script(final_dir, compat, stubs, refs))
    logger.info("C++ extensions link for manylinux_%d_%d (libstdc++ %s: newer parts static)",
                *level, shared)
    flag = f"-B{final_dir}/"

    def add(words: tuple[str, ...]) -> tuple[str, ...]:
        return (*words, flag) if words and flag not in words else words

    return dataclasses.replace(chain, cc=add(chain.cc), cxx=add(chain.cxx), fc=add(chain.fc),
                               ldflags=(*chain.ldflags, f"-Wl,--exclude-libs,{ARCHIVE}"))


def _identity(path: Path) -> list[str]:
    stat = path.stat()
    return [str(path), str(stat.st_size), str(stat.st_mtime_ns)]


def _replace(path: Path, content: str | Path) -> None:
    """Write *path* anew: text, or a symbolic link to a Path (hostlibc may have linked it)."""
    if os.path.lexists(path):
        path.unlink()
    if isinstance(content, Path):
        path.symlink_to(content)
    else:
        path.write_text(content, encoding="utf-8")
