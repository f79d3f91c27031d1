"""The checks one wheel goes through: its layout, RECORD, WHEEL metadata and ELF files.

A :class:`WheelChecker` compares what an open wheel holds with what its tags promise
and collects a :class:`Problem` per mistake. It knows nothing of the command line or of
environments: ``crossenv check`` (crossenv.check) adds the host of an environment on
top, and ``crossenv repair`` reruns only the layout and RECORD checks before it
rewrites a wheel, so the checks live apart from both and read only the wheel.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from collections.abc import Callable
from email.parser import Parser
from pathlib import Path

from packaging.tags import Tag, parse_tag

from . import arches, loader, suffixes, wheelfile
from .elfinfo import ElfInfo, ElfUnreadable, read_elf, stray_search_paths
from .policy import Platform, allowed_libraries, allowed_versions, numeric, parse_platform


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a wheel. ``member`` is the path inside it, or "" for the wheel."""

    wheel: str
    member: str
    code: str
    message: str


_COMPILER_HINT = "rebuild it with the {arch} cross compiler (e.g. CC={triplet}-gcc)"

_TAG_RE = re.compile(r"[\w.]+-[\w.]+-[\w.]+", re.ASCII)
_LIBPYTHON_RE = re.compile(r"libpython\d+\.\d+[a-z]*\.so(\.[\d.]+)?$")
#: names the host's loader opens as shared objects: they must be ELF, of type ET_DYN
_SHARED_RE = re.compile(r"\.so(\.\d+)*$")
#: EI_OSABI values glibc's ld.so accepts (VALID_ELF_OSABI: SYSV and GNU, alias LINUX)
_OSABI_OK = ("ELFOSABI_SYSV", "ELFOSABI_LINUX", "ELFOSABI_GNU")


class WheelChecker:
    """Checks one open wheel; collects :class:`Problem` objects in ``self.problems``."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, tags: frozenset[Tag],
                 elf: bool = True, sysroot: loader.Sysroot | None = None) -> None:
        self.path, self.name, self.zf, self.tags, self.elf = path, path.name, zf, tags, elf
        #: the host's files, when checked against an environment
        self.sysroot = sysroot
        self.problems: list[Problem] = []
        #: every ELF member, and the ones the host's loader could open (for loader.py)
        self.elves: dict[str, ElfInfo] = {}
        self.loadable: dict[str, ElfInfo] = {}
        self.platforms = [p for p in map(parse_platform, sorted({t.platform for t in tags})) if p]
        self.extensions: list[str] = []
        #: the extension modules ``check --import`` imports: those defining ``PyInit_``.
        #: A library named like one without it (pycryptodome's ``_raw_*.abi3.so``) is
        #: opened with ctypes, never imported; the offline loader still checks it
        self.importable: list[str] = []
        arches = sorted({p.arch for p in self.platforms})
        if len(arches) > 1:
            self.add("", "wheel-tag", f"the platform tags name several architectures "
                     f"({', '.join(arches)}); build one wheel per architecture")

    def add(self, member: str, code: str, message: str) -> None:
        self.problems.append(Problem(self.name, member, code, message))

    def check_layout(self) -> None:
        for member, code, message in wheelfile.layout_problems(self.zf):
            self.add(member, code, message)

    def check_members(self) -> None:
        """One pass over every member: RECORD's hash and size, and the ELF checks."""
        infos = [i for i in self.zf.infolist() if not i.is_dir()]
        records = [i for i in infos if re.fullmatch(r"[^/]+\.dist-info/RECORD", i.filename)]
        listed: dict[str, tuple[str, str]] | None = None
        regen = "; regenerate RECORD (e.g. `wheel unpack` + `wheel pack`)"
        if len(records) != 1:
            self.add("", "record-missing", f"found {len(records)} *.dist-info/RECORD files, "
                     "expected 1; rebuild the wheel with a standard build backend")
        else:
            try:
                listed = wheelfile.parse_record(wheelfile.read_small(self.path, self.zf,
                                                                     records[0]))
            except wheelfile.RecordError as exc:
                self.add(records[0].filename, "record-unreadable", f"RECORD is {exc}{regen}")
            if listed is not None and records[0].filename not in listed:
                self.add(records[0].filename, "record-unlisted", f"RECORD does not list "
                         f"itself{regen}")
        for info in infos:
            if records and info is records[0]:
                continue
            self.check_member(info, listed, regen)
        if listed is not None:
            names = {i.filename for i in infos}
            for member in listed:
                if member not in names and (not records or member != records[0].filename):
                    self.add(member, "record-missing-file", f"in RECORD but not in the "
                             f"wheel{regen}")

    def check_member(self, info: zipfile.ZipInfo, listed: dict[str, tuple[str, str]] | None,
                     regen: str) -> None:
        member = info.filename
        entry = listed.get(member) if listed is not None else None
        if listed is not None and entry is None and \
                not member.endswith(("/RECORD.jws", "/RECORD.p7s")):
            self.add(member, "record-unlisted", f"not in RECORD{regen}")
        algorithm, expected = wheelfile.split_digest(entry[0]) if entry else ("", "")
        symlink = wheelfile.is_symlink(info)
        with wheelfile.scan_member(self.path, self.zf, info, algorithm or "sha256",
                                   keep_elf=self.elf and not symlink) as (found, stream):
            if entry is not None:
                digest, size = entry
                if not algorithm:
                    self.add(member, "record-hash", f"RECORD hash {digest!r} is not "
                             f"sha256{regen}")
                elif found.digest != f"{algorithm}={expected}":
                    self.add(member, "record-hash", f"{algorithm} in RECORD does not match "
                             f"the file (changed after RECORD was written?){regen}")
                if size and size != str(found.size):
                    self.add(member, "record-size",
                             f"RECORD says {size[:40]} bytes, the file has {found.size}{regen}")
            if stream is not None:
                try:
                    elf = read_elf(stream, found.size, symbols=True)
                except ElfUnreadable as exc:
                    self.add(member, "elf-unreadable", f"looks like ELF, unparsable: {exc}")
                else:
                    self.elves[member] = elf
                    self.check_elf(member, elf)
            elif self.elf and not found.is_elf and not symlink and _SHARED_RE.search(member):
                what = "empty" if found.size == 0 else "not an ELF file"
                self.add(member, "not-elf", f"named like a shared object but {what}; the "
                         "host cannot load it: ship the built library (check the build's "
                         "output, e.g. a linker script or a failed copy)")

    def check_wheel_metadata(self) -> None:
        metas = [n for n in self.zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/WHEEL", n)]
        if len(metas) != 1:
            self.add("", "wheel-metadata", f"{len(metas)} *.dist-info/WHEEL files, expected 1")
            return
        info = self.zf.getinfo(metas[0])
        msg = Parser().parsestr(wheelfile.read_small(self.path, self.zf, info)
                                .decode("utf-8", "replace"))
        lines = [str(line).strip() for line in msg.get_all("Tag") or []]
        bad = [line for line in lines if not _TAG_RE.fullmatch(line) or line.count(".") > 8]
        if bad:
            self.add(metas[0], "wheel-metadata", f"Tag line {bad[0][:80]!r} is not a wheel "
                     "tag (interpreter-abi-platform); rebuild the wheel")
            return
        declared = frozenset(t for line in lines for t in parse_tag(line))
        if declared != self.tags:
            missing = ", ".join(sorted(map(str, self.tags - declared))) or "none"
            extra = ", ".join(sorted(map(str, declared - self.tags))) or "none"
            self.add(metas[0], "wheel-tag", f"Tag lines disagree with the file name (missing: "
                     f"{missing}; extra: {extra}); fix the name or WHEEL, e.g. with `wheel tags`")

    def check_loadable(self, member: str, elf: ElfInfo) -> bool:
        """ET_DYN (a shared object) and an OS ABI glibc's loader accepts."""
        shared = bool(_SHARED_RE.search(member)) or elf.exports_pyinit
        if elf.elf_type != "ET_DYN" and (shared or elf.elf_type != "ET_EXEC"):
            kind = {"ET_REL": "a relocatable object file (.o)", "ET_EXEC": "an executable",
                    "ET_CORE": "a core dump"}.get(elf.elf_type, f"of type {elf.elf_type}")
            self.add(member, "elf-type", f"is {kind}, not a shared object (ET_DYN), so the "
                     "host cannot load it; link it with -shared")
            return False
        gnu = elf.osabi != "ELFOSABI_SYSV"
        if elf.osabi not in _OSABI_OK or elf.abiversion > (3 if gnu else 0):
            abi = elf.osabi.removeprefix("ELFOSABI_")
            self.add(member, "elf-osabi", f"OS ABI {abi} (version {elf.abiversion}) is not one "
                     "the host's loader accepts (SYSV or GNU/Linux); rebuild it with a Linux "
                     "cross compiler")
            return False
        return True

    def native_search_path(self, entry: str) -> bool:
        """An absolute entry that a native build on the host would carry too: a library
        directory of the host's sysroot, in a wheel tagged for that host only (plain
        ``linux_*``). A manylinux or musllinux tag promises every host of its policy, whose
        directories are unknown, so the entry stays a finding there (``crossenv repair``
        replaces it)."""
        return (self.sysroot is not None and bool(self.platforms)
                and all(not p.libc for p in self.platforms)
                and self.sysroot.is_host_library_dir(entry))

    def check_elf(self, member: str, elf: ElfInfo) -> None:
        if self.check_loadable(member, elf):
            self.loadable[member] = elf
        for kind, entry in stray_search_paths(elf):
            if self.native_search_path(entry):
                continue
            where = ("absolute (a directory of the build machine or its sysroot)"
                     if entry.startswith("/") else
                     "relative to the current directory")
            self.add(member, "elf-rpath", f"{kind} entry {entry[:200]!r} is {where}, so the "
                     "host finds libraries there only by accident; link without that -rpath "
                     "(or with -Wl,-rpath,'$ORIGIN/...'), or run `crossenv repair`")
        if not self.platforms:
            plats = ", ".join(sorted({t.platform for t in self.tags}))
            self.add(member, "elf-platform",
                     f"ELF file in a wheel tagged {plats}; tag the wheel for a Linux platform")
            return
        # every tag is a promise: check the oldest libc any of them names
        platform = min(self.platforms, key=lambda p: p.version or (999, 0))
        arch = arches.find_machine(platform.arch)
        got = elf.facts.describe()
        if arch is not None:
            want = arch.elf.describe()
            hint = _COMPILER_HINT.format(arch=platform.arch, triplet=arch.triplet)
            code = ("elf-class" if elf.facts.bits != arch.elf.bits else
                    "elf-endian" if elf.facts.byteorder != arch.elf.byteorder else
                    "elf-machine" if elf.facts.machine != arch.elf.machine else
                    "elf-abi" if not arch.elf_flags_ok(elf.flags) else "")
            if code == "elf-abi":
                self.add(member, code, f"e_flags {elf.flags:#x} is not the {arch.elf_abi} ABI "
                         f"that {platform.arch} needs; {hint}")
            elif code:
                self.add(member, code, f"is {got} but {platform.tag} needs {want}; {hint}")
            if code:
                self.loadable.pop(member, None)
        if elf.exports_pyinit or suffixes.is_extension_name(member):
            self.extensions.append(member)
            self.check_suffix(member, platform)
        if elf.exports_pyinit:
            self.importable.append(member)
        if platform.libc:
            self.check_libc(member, elf, platform)

    def check_suffix(self, member: str, platform: Platform) -> None:
        base = member.rsplit("/", 1)[-1]
        suffix = base[base.index("."):] if "." in base else ""
        arch = arches.find_machine(platform.arch)
        if arch is None:
            return
        # CPython on musl called itself *-linux-gnu before 3.13; plain linux_ may be either.
        multiarches = {arch.multiarch}
        if platform.libc != "glibc":
            multiarches.add(arch.multiarch.replace("gnu", "musl"))
        expected: set[str] = set()
        for tag in self.tags:
            if not tag.interpreter.startswith("cp"):
                return  # PyPy and generic tags: no fixed suffix to compare with
            # what the tag's interpreters import: 3.15 adds .abi3-<multiarch>.so and abi3t
            expected |= suffixes.for_tag(tag.interpreter, tag.abi, multiarches)
        if suffix in expected | {".so"}:
            return
        other = [a for a in arches.ARCHES if a.multiarch.split("-")[0] + "-" in suffix]
        why = f" (the suffix of {other[0].machine})" if other and arch not in other else ""
        want = " or ".join(sorted(expected)) or ".so"
        self.add(member, "ext-suffix", f"suffix {suffix}{why} does not match the wheel's tags, "
                 f"which expect {want}; build with the host's EXT_SUFFIX (in a crossenv)")

    def check_libc(self, member: str, elf: ElfInfo, platform: Platform) -> None:
        family = "manylinux" if platform.libc == "glibc" else "musllinux"
        for lib in elf.needed:
            if _LIBPYTHON_RE.match(lib):
                self.add(member, "libpython", f"links {lib} (DT_NEEDED), which {family} forbids; "
                         "link without -lpython: the interpreter provides those symbols")
        uses_glibc = "GLIBC" in elf.versions or "libc.so.6" in elf.needed or "-linux" in elf.interp
        uses_musl = any(n.startswith("libc.musl-") for n in elf.needed) or "ld-musl" in elf.interp
        if platform.libc == "musl" and uses_glibc:
            self.add(member, "libc-mismatch", "linked against glibc but tagged musllinux; build "
                     "with a musl toolchain (e.g. zig cc) or tag the wheel manylinux")
            self.loadable.pop(member, None)
        elif platform.libc == "glibc" and uses_musl:
            self.add(member, "libc-mismatch", "linked against musl but tagged manylinux; "
                     "build against glibc or tag the wheel musllinux")
            self.loadable.pop(member, None)
        if platform.libc != "glibc" or platform.version is None:
            return
        limits = allowed_versions(platform.arch, platform.version)
        for lib, (newest, explicit) in limits.items():
            limit = numeric(newest) or ()
            too_new = sorted(v for v in elf.versions.get(lib, ()) if v not in explicit
                             and (numeric(v) or (999,)) > limit)
            if too_new:
                code = "glibc-version" if lib == "GLIBC" else "libstdcxx-version"
                needs = ", ".join(f"{lib}_{v}" for v in too_new)
                self.add(member, code, f"needs {needs} but {platform.tag} allows at most "
                         f"{lib}_{newest}; build against an older sysroot, avoid the newer "
                         "symbols, or tag the wheel with a newer manylinux_X_Y")
        self._check_unversioned(member, elf, platform, limits.get("GLIBC"))

    def _check_unversioned(self, member: str, elf: ElfInfo, platform: Platform,
                           limit: tuple[str, frozenset[str]] | None) -> None:
        """An unversioned reference to a glibc function (zig links one its stubs lack
        so) binds to any glibc that has it: dated by the host sysroot's own glibc."""
        if self.sysroot is None or self.sysroot.arch is None or limit is None:
            return
        from .symbols import glibc_first_versions, late_unversioned

        root, multiarch = self.sysroot.root, self.sysroot.arch.multiarch
        late = late_unversioned(elf, lambda: glibc_first_versions(root, multiarch), limit)
        if late:
            shown = ", ".join(f"{name} (from {version})" for name, version in late[:4])
            self.add(member, "glibc-version", f"calls {shown} through unversioned "
                     f"references, which fail to load on a glibc older than that, but "
                     f"{platform.tag} allows at most GLIBC_{limit[0]}; avoid those "
                     "functions or tag the wheel with a newer manylinux_X_Y")

    def check_loading(self, sysroot: loader.Sysroot | None) -> None:
        """Load the ELF files as the host would: over its sysroot, else by the tag's policy."""
        findings: list[loader.Finding] = []
        if sysroot is not None:
            findings += loader.check_objects(self.loadable, sysroot)
        else:
            for member, elf in self.loadable.items():
                atomics = [r.name for r in elf.symbols.undefined if not r.weak and
                           r.name.startswith("__atomic_")] if elf.symbols else []
                if atomics and not any(n.startswith("libatomic") for n in elf.needed):
                    findings.append(loader.atomic_finding(member, atomics))
        policies = [p for p in self.platforms if p.libc]
        if policies:
            platform = min(policies, key=lambda p: p.version or (999, 0))
            allowed = allowed_libraries(platform)
            if allowed is not None:
                findings += loader.policy_findings(self.loadable, allowed, platform.tag)
        for member, code, message in findings:
            self.add(member, code, message)

    def check_binary(self, allow_pure: bool) -> None:
        """A platform tag promises compiled code: without any, the build lost it."""
        tagged = sorted({t.platform for t in self.tags} - {"any"})
        if tagged and not self.elves and not allow_pure and not any(
                p.code in ("elf-unreadable", "not-elf") for p in self.problems):
            self.add("", "no-binary", f"tagged {tagged[0]} but holds no ELF file (no extension "
                     "module): the build skipped or lost the compiled part (a pure-Python "
                     "fallback?); fix the build, tag it py3-none-any, or pass --allow-pure if "
                     "that is meant")

    def check_installable(self, wanted: str, accepts: Callable[[Tag], bool]) -> None:
        if not any(accepts(tag) for tag in self.tags):
            tags = ", ".join(sorted(map(str, self.tags)))
            self.add("", "target", f"no tag ({tags}) is installable on {wanted}; "
                     "rebuild for that target")
