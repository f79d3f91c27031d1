"""Which Debian package ships a header: the archive's Contents index, cached.

A cross build that fails with ``bzlib.h: No such file or directory`` needs a -dev
package in the sysroot, and the user has to find out which. Debian's archive says it
in ``dists/<suite>/<component>/Contents-<arch>.gz``; apt fetches it like any index
(as apt-file does) when asked for the target, through the machine's configured
sources retargeted to the release (:class:`crossenv.apt.Apt`): signed, proxied, no
archive host written down here. Only the ``usr/include`` lines are kept, in a small
sorted index under the crossenv cache dir (``contents/<suite>-<arch>-include.tsv``).

The compiler wrapper never downloads (it runs for every compile): on a failed
compile it reads a cached index through the runtime's ``_crossenv_headerhint``, or
prints ``crossenv find-header`` (this module's subcommand), which downloads the
index once and names the package and the ``crossenv provision --package`` command.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from . import _proc, arches, archiveindex, log, releases
from .apt import Apt
from .cache import user_cache
from .errors import ProvisionError
from .releases import Release

#: the wrapper's settings (beside hostpaths.json) and the runtime file it runs on failure
SETTINGS_NAME = "headerhint.json"
RUNTIME = "_crossenv_headerhint.py"
#: the largest Contents file taken (Debian's biggest, Contents-amd64.gz of main, is
#: ~12 MiB compressed and ~100 MiB decompressed)
MAX_COMPRESSED = 128 << 20
MAX_DECOMPRESSED = 2 << 30
_TARGET = "Acquire::IndexTargets::deb::CrossenvContents::"


def index_path(arch: str, suite: str) -> Path:
    """Where the header index of Debian *suite* for *arch* is cached."""
    return user_cache("contents") / f"{suite}-{arch}-include.tsv"


def _contents_options(arch: str) -> list[str]:
    """apt options that add ``<component>/Contents-<arch>`` to ``apt-get update``. The
    arch is written out: ``$(ARCHITECTURE)`` would also fetch Contents-all (34 MiB)."""
    return [f"{_TARGET}MetaKey=$(COMPONENT)/Contents-{arch}",
            f"{_TARGET}ShortDescription=Contents-{arch}",
            f"{_TARGET}Description=$(RELEASE)/$(COMPONENT) Contents-{arch}",
            f"{_TARGET}PDiffs=false", f"{_TARGET}KeepCompressed=true",
            "Acquire::Languages=none"]


def parse_contents(lines: object) -> dict[str, set[str]]:
    """``usr/include`` entries of Contents lines: header path (relative to usr/include,
    a multiarch directory left out) -> package names (sections dropped)."""
    found: dict[str, set[str]] = {}
    multiarch = {a.multiarch for a in arches.ARCHES}
    for line in lines:  # type: ignore[attr-defined]
        if not line.startswith("usr/include/"):
            continue
        path, _, owners = line.rstrip("\n").rpartition(" ")
        path = path.rstrip()[len("usr/include/"):]
        if not path or not owners:
            continue
        first, _, rest = path.partition("/")
        if first in multiarch and rest:
            path = rest
        packages = {o.rsplit("/", 1)[-1] for o in owners.split(",") if o}
        found.setdefault(path, set()).update(p for p in packages if p)
    return found


def write_index(found: dict[str, set[str]], dest: Path) -> None:
    """Write the index (``header<TAB>pkg,pkg``, sorted) atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=dest.parent, delete=False, encoding="utf-8",
                                     prefix=".tmp-", suffix=".tsv") as out:
        for path in sorted(found):
            if "\t" not in path and "\n" not in path:
                out.write(f"{path}\t{','.join(sorted(found[path]))}\n")
    os.chmod(out.name, 0o644)  # a cache file like the others (NamedTemporaryFile: 0600)
    os.replace(out.name, dest)


def lookup(index: Path, header: str) -> list[str]:
    """The packages the index says ship *header* (as written in ``#include``), -dev first."""
    key = header.encode() + b"\t"
    with open(index, "rb") as lines:
        for line in lines:
            if line.startswith(key):
                names = line[len(key):].decode().strip().split(",")
                return sorted(names, key=lambda n: (not n.endswith("-dev"), n))
    return []


def fetch(arch: str, release: Release) -> Path:
    """Download the Contents index of *release* for Debian *arch* through apt and cache
    its header lines; return the index. Bounded in time by apt's timeouts
    (CROSSENV_APT_TIMEOUT) and in size by :data:`MAX_COMPRESSED`/:data:`MAX_DECOMPRESSED`."""
    dest = index_path(arch, release.suite)
    with tempfile.TemporaryDirectory(prefix="crossenv-contents-") as tmp:
        client = Apt(arch, Path(tmp), release)
        client.options += _contents_options(arch)
        client.update()
        lists = sorted((Path(tmp) / "state" / "lists").glob(f"*_Contents-{arch}*"))
        if not lists:
            raise ProvisionError(f"the archive of Debian {release.suite} has no Contents-{arch} "
                                 "index; look the header up on packages.debian.org")
        found: dict[str, set[str]] = {}
        for path in lists:
            if path.stat().st_size > MAX_COMPRESSED:
                raise ProvisionError(f"{path.name} is larger than {MAX_COMPRESSED >> 20} MiB; "
                                     "not read")
            for name, owners in _read(path).items():
                found.setdefault(name, set()).update(owners)
    write_index(found, dest)
    return dest


def _read(path: Path) -> dict[str, set[str]]:
    """Decompress *path* with apt's own helper (it reads whatever apt stored: gz, xz,
    lz4...) and parse it, refusing more than :data:`MAX_DECOMPRESSED` bytes."""
    total = 0

    def limited(lines: Iterator[str]) -> Iterator[str]:
        nonlocal total
        for line in lines:
            total += len(line)
            if total > MAX_DECOMPRESSED:
                raise ProvisionError(f"{path.name} decompresses to more than "
                                     f"{MAX_DECOMPRESSED >> 20} MiB; not read")
            yield line

    with _proc.lines(["/usr/lib/apt/apt-helper", "cat-file", str(path)], error=ProvisionError,
                     what=f"apt-helper cat-file {path.name}") as out:
        return parse_contents(limited(out))


def provision_command(arch: str, suite: str, python: str | None, package: str) -> str:
    words = ["crossenv", "provision", "--arch", arch, "--release", suite]
    words += ["--python", python] if python else []
    return shlex.join([*words, "--package", package])


def find_command(arch: str, suite: str, header: str) -> str:
    return shlex.join(["crossenv", "find-header", "--arch", arch, "--release", suite, header])


def sysroot_release(sysroot: Path | None) -> str | None:
    """The Debian release of a sysroot: its crossenv manifest's, else its os-release's."""
    if sysroot is None:
        return None
    try:
        data = json.loads((sysroot / ".crossenv-sysroot.json").read_text(encoding="utf-8"))
        suite = data.get("release") if isinstance(data, dict) else None
    except (OSError, ValueError):
        suite = None
    if not isinstance(suite, str):
        for name in ("etc/os-release", "usr/lib/os-release"):
            try:
                text = (sysroot / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            match = re.search(r'^VERSION_CODENAME="?([a-z]+)"?$', text, flags=re.MULTILINE)
            suite = match.group(1) if match else None
            break
    known = {r.suite for r in releases.RELEASES}
    return suite if suite in known else None


def settings(arch: arches.Arch | None, sysroot: Path | None,
             python: str | None) -> dict[str, object] | None:
    """What the wrapper's failure path needs (``headerhint.json``), or None when no
    Debian release is known for the host (then nothing is said)."""
    suite = sysroot_release(sysroot)
    if arch is None or not arch.debian or suite is None:
        return None
    return {"index": str(index_path(arch.debian, suite)), "arch": arch.debian,
            "release": suite, "python": python,
            "provision": shlex.split(provision_command(arch.debian, suite, python, "PKG")),
            "find": shlex.split(find_command(arch.debian, suite, "HEADER"))}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "find-header", help="name the Debian package that ships a header, for a host",
        description="Look a header (as #include names it) up in the Contents index of a "
        "Debian release for ARCH (downloaded through apt once, then cached) and print the "
        "packages that ship it and the crossenv provision command adding one.")
    parser.add_argument("header", metavar="HEADER", help="e.g. bzlib.h or openssl/ssl.h")
    parser.add_argument("--arch", default="arm64",
                        help=f"Debian architecture: {arches.arch_choices()}")
    parser.add_argument("--release", metavar="NAME", help="the Debian release (default: "
                        "the one crossenv provision picks)")
    parser.add_argument("--python", metavar="X.Y", help="the host's CPython, for the "
                        "provision command")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        arch = arches.lookup(args.arch)
    except arches.UnknownArchError as exc:
        raise ProvisionError(str(exc)) from None
    if not arch.debian:
        raise ProvisionError(f"{args.arch} has no Debian port; use one of: "
                             f"{arches.arch_choices()}")
    release = archiveindex.choose(arch.debian, args.python, args.release)
    index = index_path(arch.debian, release.suite)
    if not index.is_file():
        log.step(f"downloading the Contents index of Debian {release.suite} {arch.debian} "
                 "(once per release and architecture)...")
        fetch(arch.debian, release)
    header = args.header.strip().strip("<>\"'")
    packages = lookup(index, header)
    if not packages:
        raise ProvisionError(f"no Debian {release.suite} {arch.debian} package ships "
                             f"usr/include/{header}; check the name as #include writes it")
    print(f"{header}: {', '.join(packages)} (Debian {release.suite} {arch.debian})",
          file=sys.stderr)
    print(provision_command(arch.debian, release.suite, args.python, packages[0]))
    return 0

