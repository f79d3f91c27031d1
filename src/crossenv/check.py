"""``crossenv check``: catch the mistakes a cross build makes before a wheel is published.

A cross build fails quietly: the build machine's ``gcc`` slips in instead of the cross
compiler, the host's glibc is newer than the tag promises, the suffix names another
architecture. None of that shows until someone on the host imports the module. This
module opens each wheel (nothing is installed or run) and compares every ELF file and
the metadata with what the wheel's tags promise. ELF files are read with pyelftools.
"""

from __future__ import annotations

import argparse
import base64
import csv
import dataclasses
import hashlib
import importlib.util
import io
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterable
from email.parser import Parser
from functools import cache
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from elftools.elf.sections import SymbolTableSection
from elftools.elf.segments import InterpSegment
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .elfarch import ARCHES, ElfFacts
from .errors import WheelError


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a wheel. ``member`` is the path inside it, or "" for the wheel."""

    wheel: str
    member: str
    code: str
    message: str


_COMPILER_HINT = "rebuild it with the {arch} cross compiler (e.g. CC={triplet}-gcc)"

_PLATFORM_RE = re.compile(
    r"(?:(?P<linux>linux)|manylinux_(?P<gmaj>\d+)_(?P<gmin>\d+)|manylinux(?P<legacy>1|2010|2014)"
    r"|musllinux_(?P<mmaj>\d+)_(?P<mmin>\d+))_(?P<arch>[a-z0-9_]+)"
)
_LEGACY = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}
_LIBPYTHON_RE = re.compile(r"libpython\d+\.\d+[a-z]*\.so(\.[\d.]+)?$")
# Without auditwheel: newest GLIBCXX / CXXABI the GCC of each glibc era shipped
# (the x86_64 rows of auditwheel's policy; the other arches are no stricter).
_BUILTIN_CXX = [((2, 5), "3.4.8", "1.3.1"), ((2, 12), "3.4.13", "1.3.3"),
                ((2, 17), "3.4.19", "1.3.7"), ((2, 24), "3.4.22", "1.3.10"),
                ((2, 28), "3.4.24", "1.3.11"), ((2, 31), "3.4.28", "1.3.12"),
                ((2, 34), "3.4.29", "1.3.13"), ((2, 35), "3.4.30", "1.3.13"),
                ((2, 39), "3.4.33", "1.3.15")]


@dataclasses.dataclass(frozen=True)
class Platform:
    """A Linux platform tag taken apart. ``libc`` is "glibc", "musl", or "" (plain linux)."""

    tag: str
    libc: str
    version: tuple[int, int] | None
    arch: str


def parse_platform(tag: str) -> Platform | None:
    """Split ``manylinux_2_17_aarch64`` & co.; None for non-Linux tags such as ``any``."""
    m = _PLATFORM_RE.fullmatch(tag)
    if not m or m["linux"]:
        return Platform(tag, "", None, m["arch"]) if m else None
    if m["mmaj"]:
        return Platform(tag, "musl", (int(m["mmaj"]), int(m["mmin"])), m["arch"])
    version = _LEGACY[m["legacy"]] if m["legacy"] else (int(m["gmaj"]), int(m["gmin"]))
    return Platform(tag, "glibc", version, m["arch"])


def _numeric(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return None


@cache
def _auditwheel_policies() -> list[dict[str, Any]]:
    """auditwheel's manylinux policy data, read as a file so auditwheel is never imported."""
    spec = importlib.util.find_spec("auditwheel")
    for location in (spec and spec.submodule_search_locations) or []:
        policy = Path(location) / "policy" / "manylinux-policy.json"
        if policy.is_file():
            return list(json.loads(policy.read_text()))
    return []


def _allowed_versions(arch: str, glibc: tuple[int, int]) -> dict[str, tuple[str, frozenset[str]]]:
    """For a manylinux_X_Y tag: library -> (newest numeric version, explicitly allowed set).

    auditwheel's newest policy at or below X.Y for this arch decides (it knows e.g. that
    manylinux2014 aarch64 has GLIBC_2.18); without it, the built-in table.
    """
    def key(version: str) -> tuple[int, ...]:
        return _numeric(version) or ()

    tag_glibc = f"{glibc[0]}.{glibc[1]}"
    usable = sorted(((key(p["name"][10:].replace("_", ".")), p["symbol_versions"][arch])
                     for p in _auditwheel_policies()
                     if p["name"].startswith("manylinux_") and arch in p["symbol_versions"]),
                    key=lambda item: item[0])
    usable = [item for item in usable if item[0] <= glibc]
    if usable:
        sets = {lib: usable[-1][1].get(lib, []) for lib in ("GLIBC", "GLIBCXX", "CXXABI")}
        limits = {lib: (max([v for v in vs if _numeric(v)] or ["0"], key=key), frozenset(vs))
                  for lib, vs in sets.items()}
        limits["GLIBC"] = (max(limits["GLIBC"][0], tag_glibc, key=key), limits["GLIBC"][1])
        return limits
    limits = {"GLIBC": (tag_glibc, frozenset({"ABI_DT_RELR"} if glibc >= (2, 36) else ()))}
    for level, cxx, cxxabi in _BUILTIN_CXX:
        if level <= glibc:
            limits["GLIBCXX"] = (cxx, frozenset[str]())
            limits["CXXABI"] = (cxxabi, frozenset({"TM_1"}))
    return limits


@dataclasses.dataclass
class _Elf:
    """What the checks need from one ELF file."""

    facts: ElfFacts
    flags: int
    needed: list[str]
    interp: str
    versions: dict[str, set[str]]  # "GLIBC" -> {"2.17", "2.34"}
    exports_pyinit: bool


def _read_elf(data: bytes) -> _Elf:
    elf = ELFFile(io.BytesIO(data))
    facts = ElfFacts(str(elf["e_machine"]), elf.elfclass, "little" if elf.little_endian else "big")
    info = _Elf(facts, elf["e_flags"], [], "", {}, False)
    for segment in elf.iter_segments():
        if isinstance(segment, InterpSegment):
            info.interp = segment.get_interp_name()
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            info.needed += [t.needed for t in section.iter_tags("DT_NEEDED")]  # type: ignore[attr-defined]
        elif isinstance(section, GNUVerNeedSection):
            for lib, _, version in (a.name.partition("_") for _, auxes in
                                    section.iter_versions() for a in auxes):
                info.versions.setdefault(lib, set()).add(version)
        elif isinstance(section, SymbolTableSection) and section.name == ".dynsym":
            info.exports_pyinit = any(
                sym.name.startswith("PyInit_") and sym["st_shndx"] != "SHN_UNDEF"
                for sym in section.iter_symbols()
            )
    return info


class _WheelChecker:
    """Checks one open wheel; collects :class:`Problem` objects in ``self.problems``."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, tags: frozenset[Tag]) -> None:
        self.name, self.zf, self.tags = path.name, zf, tags
        self.problems: list[Problem] = []
        self.platforms = [p for p in map(parse_platform, sorted({t.platform for t in tags})) if p]
        self.extensions: list[str] = []
        arches = sorted({p.arch for p in self.platforms})
        if len(arches) > 1:
            self.add("", "wheel-tag", f"the platform tags name several architectures "
                     f"({', '.join(arches)}); build one wheel per architecture")

    def add(self, member: str, code: str, message: str) -> None:
        self.problems.append(Problem(self.name, member, code, message))

    def check_record(self) -> None:
        names = [i.filename for i in self.zf.infolist() if not i.is_dir()]
        records = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/RECORD", n)]
        if len(records) != 1:
            self.add("", "record-missing", f"found {len(records)} *.dist-info/RECORD files, "
                     "expected 1; rebuild the wheel with a standard build backend")
            return
        record, regen = records[0], "; regenerate RECORD (e.g. `wheel unpack` + `wheel pack`)"
        text = self.zf.read(record).decode("utf-8", "replace")
        listed = {row[0]: [*row, "", ""][1:3] for row in csv.reader(io.StringIO(text)) if row}
        if record not in listed:
            self.add(record, "record-unlisted", f"RECORD does not list itself{regen}")
        for member, (digest, size) in listed.items():
            if member == record:
                continue
            if member not in names:
                self.add(member, "record-missing-file", f"in RECORD but not in the wheel{regen}")
                continue
            data = self.zf.read(member)
            algorithm, _, expected = digest.partition("=")
            if algorithm not in ("sha256", "sha384", "sha512"):
                self.add(member, "record-hash", f"RECORD hash {digest!r} is not sha256{regen}")
                continue
            actual = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=")
            if actual.decode() != expected:
                self.add(member, "record-hash", f"{algorithm} in RECORD does not match the file "
                         f"(changed after RECORD was written?){regen}")
            if size and size != str(len(data)):
                self.add(member, "record-size",
                         f"RECORD says {size} bytes, the file has {len(data)}{regen}")
        for member in names:
            if member not in listed and not member.endswith(("/RECORD.jws", "/RECORD.p7s")):
                self.add(member, "record-unlisted", f"not in RECORD{regen}")

    def check_wheel_metadata(self) -> None:
        metas = [n for n in self.zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/WHEEL", n)]
        if len(metas) != 1:
            self.add("", "wheel-metadata", f"{len(metas)} *.dist-info/WHEEL files, expected 1")
            return
        msg = Parser().parsestr(self.zf.read(metas[0]).decode("utf-8", "replace"))
        declared = frozenset(t for line in msg.get_all("Tag") or [] for t in parse_tag(line))
        if declared != self.tags:
            missing = ", ".join(sorted(map(str, self.tags - declared))) or "none"
            extra = ", ".join(sorted(map(str, declared - self.tags))) or "none"
            self.add(metas[0], "wheel-tag", f"Tag lines disagree with the file name (missing: "
                     f"{missing}; extra: {extra}); fix the name or WHEEL, e.g. with `wheel tags`")

    def check_elf(self, member: str, elf: _Elf) -> None:
        if not self.platforms:
            plats = ", ".join(sorted({t.platform for t in self.tags}))
            self.add(member, "elf-platform",
                     f"ELF file in a wheel tagged {plats}; tag the wheel for a Linux platform")
            return
        # every tag is a promise: check the oldest libc any of them names
        platform = min(self.platforms, key=lambda p: p.version or (999, 0))
        arch = ARCHES.get(platform.arch)
        got = elf.facts.describe()
        if arch is not None:
            want = arch.elf.describe()
            hint = _COMPILER_HINT.format(arch=platform.arch, triplet=arch.multiarch)
            code = ("elf-class" if elf.facts.bits != arch.elf.bits else
                    "elf-endian" if elf.facts.byteorder != arch.elf.byteorder else
                    "elf-machine" if elf.facts.machine != arch.elf.machine else
                    "elf-abi" if not arch.flags_ok(elf.flags) else "")
            if code == "elf-abi":
                self.add(member, code, f"e_flags {elf.flags:#x} is not the {arch.abi} ABI "
                         f"that {platform.arch} needs; {hint}")
            elif code:
                self.add(member, code, f"is {got} but {platform.tag} needs {want}; {hint}")
        if elf.exports_pyinit or re.search(r"\.(cpython-|abi3\.so$|pypy)", member):
            self.extensions.append(member)
            self.check_suffix(member, platform)
        if platform.libc:
            self.check_libc(member, elf, platform)

    def check_suffix(self, member: str, platform: Platform) -> None:
        base = member.rsplit("/", 1)[-1]
        suffix = base[base.index("."):] if "." in base else ""
        arch = ARCHES.get(platform.arch)
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
        other = [a for a, facts in ARCHES.items() if facts.multiarch.split("-")[0] + "-" in suffix]
        why = f" (the suffix of {other[0]})" if other and platform.arch not in other else ""
        want = " or ".join(sorted(expected | {".abi3.so"}))
        self.add(member, "ext-suffix", f"suffix {suffix}{why} does not match the wheel's tags, "
                 f"which expect {want}; build with the host's EXT_SUFFIX (in a crossenv)")

    def check_libc(self, member: str, elf: _Elf, platform: Platform) -> None:
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
        elif platform.libc == "glibc" and uses_musl:
            self.add(member, "libc-mismatch", "linked against musl but tagged manylinux; "
                     "build against glibc or tag the wheel musllinux")
        if platform.libc != "glibc" or platform.version is None:
            return
        limits = _allowed_versions(platform.arch, platform.version)
        for lib, (newest, explicit) in limits.items():
            limit = _numeric(newest) or ()
            too_new = sorted(v for v in elf.versions.get(lib, ()) if v not in explicit
                             and (_numeric(v) or (999,)) > limit)
            if too_new:
                code = "glibc-version" if lib == "GLIBC" else "libstdcxx-version"
                needs = ", ".join(f"{lib}_{v}" for v in too_new)
                self.add(member, code, f"needs {needs} but {platform.tag} allows at most "
                         f"{lib}_{newest}; build against an older sysroot, avoid the newer "
                         "symbols, or tag the wheel with a newer manylinux_X_Y")

    def check_installable(self, wanted: str, accepts: Callable[[Tag], bool]) -> None:
        if not any(accepts(tag) for tag in self.tags):
            tags = ", ".join(sorted(map(str, self.tags)))
            self.add("", "target", f"no tag ({tags}) is installable on {wanted}; "
                     "rebuild for that target")


def _platform_accepts(target: Platform, plat: str) -> bool:
    """Would pip on *target* install a wheel tagged *plat*? ``linux_X``/bare arch: any libc."""
    wheel = parse_platform(plat)
    if wheel is None or wheel.arch != target.arch:
        return plat == "any"
    if wheel.libc and target.libc and wheel.libc != target.libc:
        return False
    return wheel.version is None or target.version is None or wheel.version <= target.version


def _parse_target(target: str) -> Platform:
    if target in ARCHES:
        return Platform(target, "", None, target)
    platform = parse_platform(target)
    if platform is None:
        raise WheelError(f"--target {target!r} is neither a Linux platform tag (e.g. "
                         f"manylinux_2_17_aarch64) nor an architecture ({', '.join(ARCHES)})")
    return platform


def _read_env(env: Path) -> dict[str, Any]:
    try:
        host = json.loads((env / "crossenv.json").read_text()).get("host", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise WheelError(f"--env {env}: cannot read crossenv.json ({exc}); "
                         "pass a crossenv environment directory") from None
    return host if isinstance(host, dict) else {}


def _env_checks(checker: _WheelChecker, env: Path, host: dict[str, Any]) -> None:
    """Installability on the environment's host: its platform tags, interpreter and EXT_SUFFIX."""
    plats = [str(p) for p in host.get("platform_tags") or []]
    machine = host.get("machine")
    ext_suffix = host.get("ext_suffix")
    m = re.match(r"\.?cpython-(\d)(\d+)([a-z]*)", str(host.get("soabi") or ext_suffix or ""))
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
        return not machine or _platform_accepts(Platform(machine, "", None, machine), tag.platform)

    checker.check_installable(f"the host of {env} ({plats[0] if plats else machine})", accepts)
    if isinstance(ext_suffix, str) and ext_suffix:
        for member in checker.extensions:
            base = member.rsplit("/", 1)[-1]
            if not base.endswith((ext_suffix, ".abi3.so")) and base.count(".") > 1:
                checker.add(member, "target-ext-suffix", f"the host Python of {env} imports "
                            f"*{ext_suffix} (or .abi3.so); rebuild inside that environment")


def check_wheel(path: Path, *, target: str | None = None, env: Path | None = None) -> list[Problem]:
    """Check one wheel; returns its problems (empty if clean). Raises WheelError on bad input."""
    path = Path(path)
    if not path.is_file():
        raise WheelError(f"{path}: no such file")
    try:
        _name, _version, _build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise WheelError(f"{path}: not a wheel file name ({exc})") from None
    wanted = _parse_target(target) if target else None
    host = _read_env(env) if env is not None else None
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WheelError(f"{path}: not a wheel (not a zip archive: {exc})") from None
    with zf:
        checker = _WheelChecker(path, zf, tags)
        checker.check_record()
        checker.check_wheel_metadata()
        for info in zf.infolist():
            if info.is_dir() or zf.open(info).read(4) != b"\x7fELF":
                continue
            try:
                elf = _read_elf(zf.read(info))
            except ELFError as exc:
                checker.add(info.filename, "elf-unreadable", f"looks like ELF, unparsable: {exc}")
                continue
            checker.check_elf(info.filename, elf)
        if wanted is not None:
            checker.check_installable(wanted.tag, lambda t: _platform_accepts(wanted, t.platform))
        if host is not None and env is not None:
            _env_checks(checker, env, host)
    return checker.problems


def format_report(results: Iterable[tuple[str, list[Problem]]]) -> str:
    """The human-readable report: one block per wheel, one line per problem."""
    lines = []
    for wheel, problems in results:
        count = f"{len(problems)} problem{'s' * (len(problems) != 1)}" if problems else "OK"
        lines += [f"{wheel}: {count}"]
        lines += [f"  {p.member or '(wheel)'}: [{p.code}] {p.message}" for p in problems]
    return "\n".join(lines)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check", help="check built wheels for cross-build mistakes",
        description="Check that every ELF file, extension suffix, glibc/musl requirement and "
        "RECORD entry in each wheel matches the wheel's tags. Exit status: 0 clean, "
        "1 problems found, 2 bad input.")
    parser.add_argument("wheels", nargs="+", type=Path, metavar="WHEEL")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--target", help="also check installability on this platform tag or arch")
    where.add_argument("--env", type=Path, help="also check installability on this crossenv's host")
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Check every wheel named on the command line; see :func:`register` for the exit status."""
    results: list[tuple[str, list[Problem]]] = []
    status = 0
    for wheel in args.wheels:
        try:
            results.append((str(wheel), check_wheel(wheel, target=args.target, env=args.env)))
        except WheelError as exc:
            print(f"crossenv check: {exc}", file=sys.stderr)
            status = 2
    status = max([status] + [1 for _, problems in results if problems])
    if args.json:
        print(json.dumps({"wheels": [
            {"wheel": w, "ok": not ps, "problems": [dataclasses.asdict(p) for p in ps]}
            for w, ps in results]}, indent=2))
    elif results:
        print(format_report(results))
    return status
