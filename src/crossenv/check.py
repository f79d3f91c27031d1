"""``crossenv check``: catch the mistakes a cross build makes before a wheel is published.

A cross build fails quietly: the build machine's ``gcc`` slips in instead of the cross
compiler, the host's glibc is newer than the tag promises, the suffix names another
architecture. None of that shows until someone on the host imports the module. This
module opens each wheel (nothing is installed or run) and compares every ELF file and
the metadata with what the wheel's tags promise. ELF files are read with pyelftools.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterable
from email.parser import Parser
from pathlib import Path
from typing import Any

from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from . import arches, envfile, loader, wheelfile
from .elfinfo import ElfInfo, ElfUnreadable, read_elf, stray_search_paths
from .errors import CrossenvError, WheelError
from .policy import (
    Platform,
    allowed_libraries,
    allowed_versions,
    numeric,
    parse_platform,
    platform_accepts,
)


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


class _WheelChecker:
    """Checks one open wheel; collects :class:`Problem` objects in ``self.problems``."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, tags: frozenset[Tag],
                 elf: bool = True) -> None:
        self.path, self.name, self.zf, self.tags, self.elf = path, path.name, zf, tags, elf
        self.problems: list[Problem] = []
        #: every ELF member, and the ones the host's loader could open (for loader.py)
        self.elves: dict[str, ElfInfo] = {}
        self.loadable: dict[str, ElfInfo] = {}
        self.platforms = [p for p in map(parse_platform, sorted({t.platform for t in tags})) if p]
        self.extensions: list[str] = []
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

    def check_elf(self, member: str, elf: ElfInfo) -> None:
        if self.check_loadable(member, elf):
            self.loadable[member] = elf
        for kind, entry in stray_search_paths(elf):
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
        if elf.exports_pyinit or re.search(r"\.(cpython-|abi3\.so$|pypy)", member):
            self.extensions.append(member)
            self.check_suffix(member, platform)
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
            if tag.abi.startswith("cp"):
                expected |= {f".cpython-{tag.abi[2:]}-{m}.so" for m in multiarches}
        if suffix in expected | {".so", ".abi3.so"}:
            return
        other = [a for a in arches.ARCHES if a.multiarch.split("-")[0] + "-" in suffix]
        why = f" (the suffix of {other[0].machine})" if other and arch not in other else ""
        want = " or ".join(sorted(expected | {".abi3.so"}))
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


def _parse_target(target: str) -> Platform:
    if arches.find_machine(target) is not None:
        arch = arches.tag_arch(target)
        return Platform(arch, "", None, arch)
    platform = parse_platform(target)
    if platform is None:
        raise WheelError(f"--platform {target!r} is neither a Linux platform tag (e.g. "
                         f"manylinux_2_17_aarch64) nor an architecture "
                         f"({', '.join(a.machine for a in arches.ARCHES)})")
    return platform


def _env_checks(checker: _WheelChecker, meta: envfile.EnvMetadata) -> None:
    """Installability on the environment's host: its platform tags, interpreter and EXT_SUFFIX."""
    env = meta.env
    plats = envfile.host_strs(meta, "platform_tags")
    machine = envfile.host_str(meta, "machine")
    ext_suffix = envfile.host_str(meta, "ext_suffix")
    m = re.match(r"\.?cpython-(\d)(\d+)([a-z]*)", envfile.host_str(meta, "soabi") or ext_suffix)
    pairs: set[tuple[str, str]] | None = None
    if m:
        version = (int(m[1]), int(m[2]))
        interpreter = f"cp{m[1]}{m[2]}"
        tags = [*cpython_tags(version, [interpreter + m[3]], ["p"]),
                *compatible_tags(version, interpreter, ["p"])]
        pairs = {(t.interpreter, t.abi) for t in tags}

    def accepts(tag: Tag) -> bool:
        if pairs is not None and (tag.interpreter, tag.abi) not in pairs:
            return False
        if plats:
            return tag.platform in plats or tag.platform == "any"
        return not machine or platform_accepts(Platform(machine, "", None, machine), tag.platform)

    checker.check_installable(f"the host of {env} ({plats[0] if plats else machine})", accepts)
    if ext_suffix:
        for member in checker.extensions:
            base = member.rsplit("/", 1)[-1]
            if not base.endswith((ext_suffix, ".abi3.so")) and base.count(".") > 1:
                checker.add(member, "target-ext-suffix", f"the host Python of {env} imports "
                            f"*{ext_suffix} (or .abi3.so); rebuild inside that environment")


def wheel_tags(path: Path) -> frozenset[Tag]:
    if len(path.name) > 1000 or path.name.count(".") > 40:
        raise WheelError(f"{path}: not a wheel file name (too long)")
    try:
        return parse_wheel_filename(path.name)[3]
    except InvalidWheelFilename as exc:
        raise WheelError(f"{path}: not a wheel file name ({exc})") from None


def check_wheel(path: Path, *, target: str | None = None, env: Path | None = None,
                allow_pure: bool = False, imports: bool = False) -> list[Problem]:
    """Check one wheel; returns its problems (empty if clean). Raises WheelError on bad input.

    With *imports* (and *env*), a wheel without problems is also installed and each of its
    extension modules imported on the host (``--import``)."""
    wanted = _parse_target(target) if target is not None else None
    meta = envfile.read(env) if env is not None else None
    checker = _checked(Path(path), wanted, meta, allow_pure=allow_pure)
    if imports and meta is not None and not checker.problems:
        return import_problems(Path(path), meta.env, [], checker.extensions)
    return checker.problems


def host_sysroot(meta: envfile.EnvMetadata) -> loader.Sysroot | None:
    """The env's host as the offline loader sees it: its sysroot, multiarch and python
    (None when the env records no sysroot: the tags' policy stands for the host then)."""
    root = envfile.host_str(meta, "sysroot")
    if not root:
        return None
    if not Path(root).is_dir():
        raise envfile.EnvironmentMetadataError(
            f"the host sysroot {root} of {meta.env} does not exist; provision it again or "
            f"recreate the environment (crossenv --clear HOST_PYTHON {meta.env})")
    machine = envfile.host_str(meta, "machine")
    arch = arches.for_host(machine, envfile.host_str(meta, "host_gnu_type")) if machine else None
    version = meta.host.get("version")
    python = ""
    if isinstance(version, list) and len(version) >= 2 and all(
            isinstance(v, int) and 0 <= v < 1000 for v in version[:2]):
        prefix = envfile.host_str(meta, "prefix") or "/usr"
        python = f"{prefix.rstrip('/')}/bin/python{version[0]}.{version[1]}"
    return loader.sysroot_for(Path(root), arch, python)


def _checked(path: Path, wanted: Platform | None, meta: envfile.EnvMetadata | None, *,
             allow_pure: bool = False) -> _WheelChecker:
    tags = wheel_tags(path)
    with wheelfile.open_wheel(path) as zf:
        checker = _WheelChecker(path, zf, tags)
        checker.check_layout()
        checker.check_members()
        checker.check_wheel_metadata()
        checker.check_binary(allow_pure)
        if wanted is not None:
            checker.check_installable(wanted.tag, lambda t: platform_accepts(wanted, t.platform))
        if meta is not None:
            _env_checks(checker, meta)
        checker.check_loading(host_sysroot(meta) if meta is not None else None)
    return checker


def check_integrity(path: Path) -> list[Problem]:
    """Only the archive's layout and RECORD: what ``repair`` verifies before rewriting RECORD."""
    path = Path(path)
    tags = wheel_tags(path)
    with wheelfile.open_wheel(path) as zf:
        checker = _WheelChecker(path, zf, tags, elf=False)
        checker.check_layout()
        checker.check_members()
    return checker.problems


def import_problems(wheel: Path, env: Path, problems: list[Problem],
                    extensions: list[str]) -> list[Problem]:
    """``--import``: each extension module imported on the host (see checkimport).

    A wheel whose layout is unsafe to install (paths out of the target, symlinks) is not
    installed: its problems already fail the check.
    """
    from . import checkimport

    if any(p.code in ("zip-path", "zip-symlink") for p in problems):
        return []
    return [Problem(wheel.name, member, "import-failed", message)
            for member, message in checkimport.import_modules(env, wheel, extensions)]


_shown = wheelfile.shown  # the one escaping of text from wheels, shared with repair


def format_report(results: Iterable[tuple[str, list[Problem]]]) -> str:
    """The human-readable report: one block per wheel, one line per problem."""
    lines = []
    for wheel, problems in results:
        count = f"{len(problems)} problem{'s' * (len(problems) != 1)}" if problems else "OK"
        lines += [f"{wheel}: {count}"]
        lines += [f"  {p.member or '(wheel)'}: [{p.code}] {p.message}" for p in problems]
    return "\n".join(map(_shown, lines))


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check", help="check built wheels for cross-build mistakes",
        description="Check that every ELF file, extension suffix, glibc/musl requirement, "
        "search path and RECORD entry in each wheel matches the wheel's tags, and that no "
        "member could be installed outside site-packages. Inside an active crossenv "
        "(cross-python, or ENV/bin/activate) the wheels are also checked against its host. "
        "Exit status: 0 clean, 1 problems found, 2 bad input.")
    parser.add_argument("wheels", nargs="+", type=Path, metavar="WHEEL")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--platform", "--target", dest="target", metavar="TAG",
                       help="also check installability on this platform tag or arch "
                            "(--target is the older spelling)")
    where.add_argument("--env", type=Path, help="also check installability on this crossenv's "
                       "host (default: the active crossenv, if any)")
    where.add_argument("--no-env", action="store_true",
                       help="check against the wheels' own tags only, even in a crossenv")
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    parser.add_argument("--import", dest="import_", action="store_true",
                        help="also install each wheel into a throwaway directory and import "
                        "every extension module with the host python under qemu-user "
                        "(needs --env or an active crossenv with a sysroot)")
    parser.add_argument("--allow-pure", action="store_true",
                        help="accept a platform-tagged wheel without any ELF file")
    parser.set_defaults(func=run)
    return parser


def _default_env(args: argparse.Namespace) -> tuple[Path | None, str]:
    """``--env``, else the active crossenv (unless --platform or --no-env), and why."""
    if args.env is not None:
        return args.env, "--env"
    if args.target is not None or getattr(args, "no_env", False):
        return None, ""
    found = envfile.active()
    return found if found else (None, "")


def run(args: argparse.Namespace) -> int:
    """Check every wheel named on the command line; see :func:`register` for the exit status."""
    wanted = _parse_target(args.target) if args.target is not None else None
    env, why = _default_env(args)
    meta = envfile.read(env) if env is not None else None
    if meta is not None and why != "--env" and not args.json:
        print(f"crossenv check: checking against the host of {env} ({why}; --no-env to "
              "check the tags only)", file=sys.stderr)
    results: list[tuple[str, list[Problem]]] = []
    status = 0
    if getattr(args, "import_", False) and meta is None:
        raise WheelError("--import needs the host to run on: pass --env ENV (a crossenv "
                         "whose host has a sysroot), or run it inside an active crossenv")
    for wheel in args.wheels:
        try:
            checker = _checked(wheel, wanted, meta, allow_pure=getattr(args, "allow_pure", False))
            problems = checker.problems
            if getattr(args, "import_", False) and meta is not None:
                problems += import_problems(wheel, meta.env, problems, checker.extensions)
            results.append((str(wheel), problems))
        except CrossenvError as exc:
            print(f"crossenv: error: {exc}", file=sys.stderr)
            status = 2
    status = max([status] + [1 for _, problems in results if problems])
    if args.json:
        print(json.dumps({"env": str(env) if meta is not None else None, "wheels": [
            {"wheel": w, "ok": not ps, "problems": [dataclasses.asdict(p) for p in ps]}
            for w, ps in results]}, indent=2))
    elif results:
        print(format_report(results))
    return status
