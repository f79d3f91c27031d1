"""Wheel platform tags for the host, derived from the host's files.

packaging decides manylinux compatibility by looking at the *running*
interpreter's ELF header and glibc, which in a cross environment are the build
machine's. So the ladder is computed here, once, from the sysroot's C library
(or from what the user declares) and handed to the runtime shim as a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection

from .host import HostDescription
from .toolchain import Toolchain

_LEGACY = {(2, 5): "manylinux1", (2, 12): "manylinux2010", (2, 17): "manylinux2014"}
_LEGACY_ARCHES = {
    "manylinux1": {"x86_64", "i686"},
    "manylinux2010": {"x86_64", "i686"},
    "manylinux2014": {"x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x"},
}


def tag_arch(machine: str) -> str:
    """The architecture part of a platform tag for a ``uname -m`` value."""
    return {"i386": "i686", "i586": "i686", "armv8l": "armv7l"}.get(machine, machine)


def _libc_candidates(host: HostDescription) -> list[Path]:
    root = host.sysroot
    if root is None:
        return []
    dirs = []
    if host.multiarch:
        dirs += [root / "lib" / host.multiarch, root / "usr" / "lib" / host.multiarch]
    dirs += [root / "lib64", root / "lib", root / "usr" / "lib64", root / "usr" / "lib"]
    return [d / "libc.so.6" for d in dirs]


def glibc_version(host: HostDescription) -> tuple[int, int] | None:
    """The newest ``GLIBC_x.y`` version the sysroot's libc.so.6 defines."""
    for candidate in _libc_candidates(host):
        if not candidate.is_file():
            continue
        try:
            with candidate.open("rb") as stream:
                elf = ELFFile(stream)
                best: tuple[int, int] | None = None
                for section in elf.iter_sections():
                    if not isinstance(section, GNUVerDefSection):
                        continue
                    for _verdef, auxiliaries in section.iter_versions():
                        for aux in auxiliaries:
                            match = re.fullmatch(r"GLIBC_(\d+)\.(\d+)", aux.name)
                            if match:
                                version = (int(match.group(1)), int(match.group(2)))
                                best = version if best is None or version > best else best
                if best is not None:
                    return best
        except (OSError, ELFError):
            continue
    return None


def musl_present(host: HostDescription) -> bool:
    root = host.sysroot
    return bool(root and list((root / "lib").glob("ld-musl-*.so.1")))


def parse_manylinux(value: str) -> tuple[int, int]:
    """Accept ``2_17``, ``2.17``, ``manylinux_2_17[_arch]`` or a legacy alias."""
    text = value.strip().lower()
    for version, alias in _LEGACY.items():
        if text.startswith(alias):
            return version
    match = re.match(r"(?:manylinux_)?(\d+)[._](\d+)", text)
    if not match:
        raise ValueError(f"not a manylinux version: {value!r} (use e.g. 2_17 or manylinux2014)")
    return int(match.group(1)), int(match.group(2))


def manylinux_ladder(glibc: tuple[int, int], arch: str) -> list[str]:
    """Every manylinux tag a host with *glibc* accepts, best first (as packaging orders them)."""
    lowest = 5 if arch in ("x86_64", "i686") else 17
    tags: list[str] = []
    for minor in range(glibc[1], lowest - 1, -1):
        tags.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
        alias = _LEGACY.get((glibc[0], minor))
        if alias and arch in _LEGACY_ARCHES[alias]:
            tags.append(f"{alias}_{arch}")
    return tags


def _expand_user_tag(tag: str, arch: str) -> list[str]:
    tag = tag.strip()
    if tag.endswith("_" + arch):
        return [tag]
    if re.fullmatch(r"(manylinux_)?\d+[._]\d+|manylinux(1|2010|2014)", tag):
        return manylinux_ladder(parse_manylinux(tag), arch)
    return [f"{tag}_{arch}"]


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def platform_tags_for(
    host: HostDescription,
    *,
    manylinux: Sequence[str] = (),
    extra: Sequence[str] = (),
    no_manylinux: bool = False,
    toolchain: Toolchain | None = None,
    machine: str | None = None,
) -> tuple[tuple[str, str] | None, list[str]]:
    """Return ``(libc_ver answer, platform tags best first)`` for the host.

    Explicit ``--manylinux`` values win (zig builds against exactly that glibc);
    otherwise the sysroot's glibc decides. ``linux_<arch>`` always comes last.
    """
    arch = tag_arch(machine or host.machine)
    if host.system != "Linux":
        return None, _dedupe([t for tag in extra for t in _expand_user_tag(tag, arch)])
    tags: list[str] = []
    libc: tuple[str, str] | None = None
    found = glibc_version(host)
    if found:
        libc = ("glibc", f"{found[0]}.{found[1]}")
    if manylinux:
        declared = [parse_manylinux(value) for value in manylinux]
        tags += [t for version in sorted(declared, reverse=True)
                 for t in manylinux_ladder(version, arch)]
        if toolchain is not None and toolchain.kind == "zig":
            top = max(declared)
            libc = ("glibc", f"{top[0]}.{top[1]}")
    elif found and not no_manylinux:
        tags += manylinux_ladder(found, arch)
    tags += [t for tag in extra for t in _expand_user_tag(tag, arch)]
    tags.append(f"linux_{arch}")
    if arch == "armv7l":
        tags.append("linux_armv6l")
    return libc, _dedupe(tags)
