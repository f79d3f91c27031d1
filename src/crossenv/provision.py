"""Provision a Debian sysroot for a foreign architecture, without root.

Cross-compiling needs the host's headers and libraries, and testing the result needs
the host's Python. Both come from Debian packages, but installing them with
``dpkg --add-architecture`` changes the build machine, needs root and fails when the
host and build versions of a package differ. Instead apt is run with a private state
directory and a foreign native architecture, so it only resolves and downloads; the
packages are unpacked with ``dpkg-deb -x``. The archive is whatever apt's configured
sources say, so mirrors and proxies keep working and nothing is hard-coded here.

The result is cached (it is the slow part of a CI run) and built atomically: a
sysroot either is complete with its manifest, or does not exist.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import logging
import os
import posixpath
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any
from urllib.parse import unquote

from .errors import ProvisionError

_log = logging.getLogger(__name__)

MANIFEST_NAME = ".crossenv-sysroot.json"
_MANIFEST_FORMAT = 1

# What building common extension modules needs (libyaml-dev: pyyaml's C extension). The
# host python is the build python's X.Y: crossenv needs the two to match.
_PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
DEFAULT_PACKAGES: tuple[str, ...] = (f"python{_PY}", f"libpython{_PY}-dev", "libc6-dev",
                                     "libyaml-dev", "zlib1g-dev", "libffi-dev", "libstdc++-12-dev")

# Needed only by maintainer scripts, which never run in a sysroot. Dropping them (and
# what only they pull in) saves most of perl. A package asked for by name is kept.
SKIPPED_DEPENDENCIES: tuple[str, ...] = (
    "dpkg", "tar", "install-info", "perl", "perl-base", "perl-modules-*", "libperl*",
    "debconf", "cdebconf", "debconf-*", "debianutils", "init-system-helpers",
    "sensible-utils", "ucf", "adduser", "passwd", "lsb-base", "sysvinit-utils",
)


@dataclasses.dataclass(frozen=True)
class DebianArch:
    """One Debian architecture: its name, its multiarch triplet and its qemu-user name."""

    name: str
    multiarch: str
    qemu: str


ARCHES: dict[str, DebianArch] = {
    a.name: a
    for a in (
        DebianArch("arm64", "aarch64-linux-gnu", "qemu-aarch64"),
        DebianArch("armhf", "arm-linux-gnueabihf", "qemu-arm"),
        DebianArch("armel", "arm-linux-gnueabi", "qemu-arm"),
        DebianArch("i386", "i386-linux-gnu", "qemu-i386"),
        DebianArch("s390x", "s390x-linux-gnu", "qemu-s390x"),
        DebianArch("ppc64el", "powerpc64le-linux-gnu", "qemu-ppc64le"),
        DebianArch("riscv64", "riscv64-linux-gnu", "qemu-riscv64"),
        DebianArch("mips64el", "mips64el-linux-gnuabi64", "qemu-mips64el"),
    )
}
# Names people type for the same thing (``uname -m`` and GNU cpu spellings).
_ALIASES = {"aarch64": "arm64", "armv7l": "armhf", "ppc64le": "ppc64el", "i686": "i386",
            "x86": "i386", "riscv64gc": "riscv64"}


@dataclasses.dataclass(frozen=True)
class Sysroot:
    """A provisioned sysroot: pass ``root`` as ``--sysroot`` and to ``qemu -L``."""

    root: Path
    arch: str
    multiarch: str
    python: Path

    @property
    def qemu(self) -> str:
        """The qemu-user binary name for this sysroot's architecture."""
        return ARCHES[self.arch].qemu


def debian_arch(arch: str) -> DebianArch:
    """Look up a Debian architecture, also accepting ``uname -m`` spellings."""
    found = ARCHES.get(_ALIASES.get(arch, arch))
    if found is None:
        raise ProvisionError(
            f"unknown architecture {arch!r}; use one of: {', '.join(sorted(ARCHES))}")
    return found


def multiarch_of(arch: str) -> str:
    """Return the multiarch triplet (``aarch64-linux-gnu``) of a Debian architecture."""
    return debian_arch(arch).multiarch


def qemu_name(arch: str) -> str:
    """Return the qemu-user binary name (``qemu-aarch64``) of a Debian architecture."""
    return debian_arch(arch).qemu


def find_qemu(arch: str) -> str | None:
    """Return the path of a qemu-user binary for ``arch``, preferring the static build.

    binfmt_misc is not assumed: callers run ``QEMU -L SYSROOT PROGRAM`` explicitly.
    """
    name = qemu_name(arch)
    return shutil.which(f"{name}-static") or shutil.which(name)


def os_codename(os_release: Path = Path("/etc/os-release")) -> str:
    """Return the build machine's release codename, used to name the cache directory."""
    try:
        text = os_release.read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    fields = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', text, flags=re.MULTILINE))
    return fields.get("VERSION_CODENAME") or fields.get("VERSION_ID") or "unknown"


def default_dest(arch: str) -> Path:
    """The cache location of a sysroot, shared by CI runs and test workers."""
    import platformdirs  # only needed here; keeps the module importable without it

    name = debian_arch(arch).name
    return platformdirs.user_cache_path("crossenv") / "sysroots" / f"debian-{os_codename()}-{name}"


class Apt:
    """apt-get/apt-cache with private state, so resolving a foreign arch needs no root.

    The machine's own dpkg database and apt lists are never read or written: every
    call gets ``Dir::State``/``Dir::Cache`` under ``workdir`` and the foreign arch as
    the only (native) architecture. Sources and keys are the machine's configured ones.
    """

    def __init__(self, arch: str, workdir: Path) -> None:
        self.arch = debian_arch(arch).name
        self.workdir = workdir
        for tool in ("apt-get", "apt-cache", "apt-config"):
            if shutil.which(tool) is None:
                raise ProvisionError(f"{tool} not found; provisioning a sysroot needs a "
                                     "Debian-based build machine with apt installed")
        (workdir / "state" / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (workdir / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        (workdir / "state" / "status").touch()
        source_list, source_parts = self._configured_sources()
        user = "root" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.options = [
            f"Dir::State={workdir / 'state'}",
            f"Dir::State::status={workdir / 'state' / 'status'}",
            f"Dir::Cache={workdir / 'cache'}",
            f"Dir::Etc::SourceList={source_list}",
            f"Dir::Etc::SourceParts={source_parts}",
            f"APT::Architecture={self.arch}",
            f"APT::Architectures::={self.arch}",
            "Debug::NoLocking=1",
            # apt drops to _apt to download; that user cannot write to our workdir.
            f"APT::Sandbox::User={user}",
        ]

    @staticmethod
    def _configured_sources() -> tuple[str, str]:
        """Return apt's configured source list file and directory (either may be absent)."""
        out = subprocess.run(
            ["apt-config", "shell", "L", "Dir::Etc::SourceList/f", "D", "Dir::Etc::SourceParts/d"],
            capture_output=True, text=True, check=False).stdout
        values = dict(re.findall(r"^(\w)='(.*)'$", out, flags=re.MULTILINE))
        source_list = values.get("L", "/etc/apt/sources.list")
        source_parts = values.get("D", "/etc/apt/sources.list.d/")
        parts = Path(source_parts)
        has_parts = parts.is_dir() and any(
            p.suffix in (".list", ".sources") for p in parts.iterdir())
        if not Path(source_list).is_file() and not has_parts:
            raise ProvisionError(f"apt has no package sources ({source_list} and "
                                 f"{source_parts} are empty); configure a Debian archive first")
        return source_list, source_parts

    def run(self, tool: str, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        """Run an apt tool with the private options; raise with apt's own error line."""
        options = [word for option in self.options for word in ("-o", option)]
        proc = subprocess.run([tool, *options, *args], capture_output=True, text=True, cwd=cwd,
                              check=False)
        if proc.returncode != 0 and check:
            verb = next((a for a in args if not a.startswith("-")), tool)
            raise ProvisionError(f"{tool} {verb} for {self.arch} failed: {_last_error(proc)}")
        self.last = proc
        return proc.stdout

    def update(self) -> list[str]:
        """Download the package lists of the configured sources; return the ones skipped.

        A mirror in mid-sync (or a stale proxy) can serve one index that does not match
        its Release file. apt then keeps the others; so do we, after one retry, rather
        than fail the whole sysroot. Nothing fetched at all is still an error.
        """
        for _ in range(2):
            self.run("apt-get", "-q", "update", check=False)
            if self.last.returncode == 0:
                return []
        if not any((self.workdir / "state" / "lists").glob("*_Packages*")):
            raise ProvisionError(f"apt-get update for {self.arch} failed: "
                                 f"{_last_error(self.last)}")
        skipped = [ln.split()[4] for ln in self.last.stderr.splitlines()
                   if ln.startswith("E: Failed to fetch") and len(ln.split()) > 4]
        _log.warning("could not fetch %s; continuing without them",
                     ", ".join(skipped) or "some package lists")
        return skipped

    def depends(self, packages: Iterable[str]) -> dict[str, list[list[str]]]:
        """Return the hard dependencies of ``packages`` and all they need, recursively.

        Each package maps to groups of alternatives; virtual packages are replaced by
        their providers. Unknown names are left out (apt-cache drops them silently when
        given several). One recursive call is much faster than one call per level.
        """
        flags = ["--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                 "--no-replaces", "--no-enhances"]
        result: dict[str, list[list[str]]] = {}
        groups: list[list[str]] = []
        pending_alternative = False
        for line in self.run("apt-cache", "depends", *flags, *packages).splitlines():
            if not line.startswith(" "):
                groups = result.setdefault(line.split(":")[0], []) if line[:1] != "<" else []
                pending_alternative = False
            elif line.startswith("    "):  # a provider of the virtual package above
                if groups:
                    groups[-1].append(line.strip().split(":")[0])
            else:
                kind, _, name = line.strip().partition(" ")
                if not kind.lstrip("|").endswith("Depends:"):
                    continue
                name = name.split(":")[0]
                alternative = [] if name.startswith("<") else [name]
                if pending_alternative:
                    groups[-1].extend(alternative)
                else:
                    groups.append(alternative)
                pending_alternative = kind.startswith("|")
        return result

    def closure(self, requested: Sequence[str]) -> list[str]:
        """Resolve ``requested`` and everything it needs, skipping maintainer-script tools."""
        graph = self.depends(requested)
        missing = [p for p in requested if p not in graph]
        if missing:
            raise ProvisionError(f"package(s) not found for {self.arch}: {', '.join(missing)}; "
                                 "check the names with apt-cache search")
        chosen: set[str] = set()
        todo = list(dict.fromkeys(requested))
        while todo:
            package = todo.pop()
            if package in chosen or package not in graph:
                continue
            chosen.add(package)
            for group in graph[package]:
                candidates = [p for p in group if not _skipped(p) or p in requested]
                if candidates and not any(p in chosen or p in todo for p in candidates):
                    todo.append(candidates[0])
        return sorted(chosen)

    def download(self, packages: Sequence[str], into: Path) -> list[Path]:
        """Download the candidate ``.deb`` of each package into ``into``."""
        into.mkdir(parents=True, exist_ok=True)
        self.run("apt-get", "-q", "download", *packages, cwd=into)
        return sorted(into.glob("*.deb"))


def _last_error(proc: CompletedProcess[str]) -> str:
    """apt's last ``E:`` line (its summary), else its last line of output."""
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("E:")]
    return (errors or proc.stderr.strip().splitlines() or ["no output"])[-1]


def _skipped(package: str) -> bool:
    return any(fnmatch.fnmatchcase(package, pattern) for pattern in SKIPPED_DEPENDENCIES)


def deb_name_version(deb: Path) -> tuple[str, str]:
    """Split apt's ``name_version_arch.deb`` file name (the epoch's ``:`` is ``%3a``)."""
    name, version, _ = deb.stem.split("_", 2)
    return name, unquote(version)


def extract_deb(deb: Path, root: Path) -> None:
    """Unpack a ``.deb``'s files into ``root`` (no maintainer scripts, no dpkg database)."""
    if shutil.which("dpkg-deb") is None:
        raise ProvisionError("dpkg-deb not found; install the dpkg package to unpack .deb files")
    proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ProvisionError(f"cannot unpack {deb.name}: {detail}; run again (bad download?)")


def relativize_symlinks(root: Path) -> list[Path]:
    """Make every symlink under ``root`` point inside it, relatively; return those changed.

    Packages ship links such as ``usr/lib/<multiarch>/libz.so -> /lib/...``; outside a
    chroot these name the build machine's (wrong-arch) files, which cross linkers then
    pick up. Targets are read as if ``root`` were ``/``, so ``..`` never climbs out.
    Regular files (glibc's ``libc.so`` linker script) are left alone.
    """
    changed: list[Path] = []
    for link, target in list(_symlinks(root)):
        rel_dir = str(link.parent.relative_to(root))
        if not target.startswith("/") and not _climbs_out(rel_dir, target):
            continue  # already relative and inside: keep it exactly as shipped
        inside = posixpath.normpath(posixpath.join("/", rel_dir, target))
        link.unlink()
        link.symlink_to(posixpath.relpath(inside, posixpath.join("/", rel_dir)))
        changed.append(link)
    return changed


def _climbs_out(rel_dir: str, target: str) -> bool:
    """Whether relative ``target``, seen from ``rel_dir`` under the root, leaves the root."""
    normal = posixpath.normpath(posixpath.join(rel_dir, target))
    return normal == ".." or normal.startswith("../")


def escaping_symlinks(root: Path) -> list[Path]:
    """Return the symlinks under ``root`` that are absolute or lead outside it."""
    return [link for link, target in _symlinks(root)
            if target.startswith("/") or _climbs_out(str(link.parent.relative_to(root)), target)]


def _symlinks(root: Path) -> Iterator[tuple[Path, str]]:
    """Every symlink under ``root`` (not followed) with its target."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if os.path.islink(link := os.path.join(dirpath, name)):
                yield Path(link), os.readlink(link)


def _find_python(root: Path) -> Path:
    """Return the sysroot's newest ``usr/bin/python3.X`` (checked, not assumed)."""
    found = [p for p in (root / "usr" / "bin").glob("python3.*")
             if re.fullmatch(r"python3\.\d+", p.name) and not p.is_dir()]
    if not found:
        raise ProvisionError(f"no usr/bin/python3.X in {root}; add a python3.X package")
    return max(found, key=lambda p: int(p.name.split(".")[1]))


def _load_manifest(dest: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((dest / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == _MANIFEST_FORMAT else None


def _covers(manifest: dict[str, Any] | None, arch: str, requested: Sequence[str]) -> bool:
    installed = manifest.get("packages") if manifest and manifest.get("arch") == arch else None
    return isinstance(installed, dict) and all(p in installed for p in requested)


def _existing(dest: Path, info: DebianArch) -> Sysroot:
    return Sysroot(dest, info.name, info.multiarch, _find_python(dest))


def _refuse_foreign(dest: Path) -> None:
    """Only a crossenv sysroot (or an empty directory) at ``dest`` may be replaced."""
    if not os.path.lexists(dest):
        return
    if dest.is_symlink() or not dest.is_dir() or (
            _load_manifest(dest) is None and any(dest.iterdir())):
        raise ProvisionError(f"{dest} exists and is not a crossenv sysroot (no "
                             f"{MANIFEST_NAME}); choose a new or empty directory")


def provision_debian(arch: str, dest: Path | None = None, packages: Sequence[str] = (), *,
                     refresh: bool = False) -> Sysroot:
    """Return a sysroot of ``arch`` holding Python 3.X (the build python's X.Y), its
    headers and common -dev libs.

    An existing sysroot at ``dest`` whose manifest lists every requested package is
    returned at once; otherwise (or with ``refresh``) it is rebuilt in a sibling temp
    directory and renamed into place, under a lock shared with concurrent callers.
    """
    from filelock import FileLock

    info = debian_arch(arch)
    dest = Path(dest) if dest is not None else default_dest(info.name)
    requested = list(dict.fromkeys([*DEFAULT_PACKAGES, *packages]))
    if not refresh and _covers(_load_manifest(dest), info.name, requested):
        return _existing(dest, info)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.parent / f".{dest.name}.lock")):
        old = _load_manifest(dest)
        if not refresh and _covers(old, info.name, requested):
            return _existing(dest, info)  # another worker built it while we waited
        _refuse_foreign(dest)
        if old is not None:  # a rebuild keeps what earlier callers asked for
            requested = list(dict.fromkeys([*requested, *map(str, old.get("requested", []))]))
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
            work = Path(tmp)
            root = work / "root"
            apt = Apt(info.name, work / "apt")
            skipped_lists = apt.update()
            debs = apt.download(apt.closure(requested), work / "debs")
            root.mkdir()
            for deb in debs:
                extract_deb(deb, root)
            relativize_symlinks(root)
            python = _find_python(root)
            manifest = {
                "format": _MANIFEST_FORMAT, "arch": info.name, "multiarch": info.multiarch,
                "codename": os_codename(), "requested": requested,
                "python": str(python.relative_to(root)),
                "packages": dict(sorted(deb_name_version(d) for d in debs)),
                "skipped_lists": skipped_lists,
            }
            (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n",
                                              encoding="utf-8")
            _refuse_foreign(dest)  # again: something may have appeared during the download
            try:
                if _load_manifest(dest) is not None:
                    dest.rename(work / "old")  # our sysroot: removed with the temp dir
                elif dest.is_dir():
                    dest.rmdir()  # empty; fails if something was written into it meanwhile
                root.rename(dest)
            except OSError as exc:
                raise ProvisionError(f"cannot replace {dest}: {exc.strerror or exc}; choose "
                                     "a new or empty directory") from None
    return _existing(dest, info)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``provision`` subcommand to the main command line."""
    parser = subparsers.add_parser(
        "provision", help="download a Debian sysroot (headers, libraries, python) for a host",
        description="Build a Debian sysroot for ARCH without root, from apt's configured "
                    "sources. Prints the host python's path as the last line.")
    add = parser.add_argument
    add("--arch", default="arm64", help=f"Debian architecture: {', '.join(ARCHES)}")
    add("--package", action="append", default=[], metavar="PKG",
        help="extra Debian package to include (repeatable)")
    add("--refresh", action="store_true", help="rebuild even if the cached sysroot suffices")
    add("dest", nargs="?", type=Path, help="sysroot directory (default: in the user cache)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Provision as asked on the command line and print the host python's path."""
    sysroot = provision_debian(args.arch, args.dest, args.package, refresh=args.refresh)
    print(f"sysroot {sysroot.root} ({sysroot.arch}, {sysroot.multiarch})", file=sys.stderr)
    print(sysroot.python)
    return 0
