"""What a wheel's Linux platform tag promises: architecture, libc and symbol versions.

``crossenv check`` compares ELF files with these promises. The manylinux limits come
from auditwheel's own policy file when auditwheel is installed (read as data, never
imported: importing it configures logging), else from a built-in table.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from .manylinux import BY_ALIAS, LEGACY_PATTERN, Glibc

_PLATFORM_RE = re.compile(
    rf"(?:(?P<linux>linux)|manylinux_(?P<gmaj>\d+)_(?P<gmin>\d+)|(?P<legacy>{LEGACY_PATTERN})"
    r"|musllinux_(?P<mmaj>\d+)_(?P<mmin>\d+))_(?P<arch>[a-z0-9_]+)"
)
# Without auditwheel: newest GLIBCXX / CXXABI the GCC of each glibc era shipped
# (the x86_64 rows of auditwheel's policy; the other arches are no stricter).
_BUILTIN_CXX = [((2, 5), "3.4.8", "1.3.1"), ((2, 12), "3.4.13", "1.3.3"),
                ((2, 17), "3.4.19", "1.3.7"), ((2, 24), "3.4.22", "1.3.10"),
                ((2, 28), "3.4.24", "1.3.11"), ((2, 31), "3.4.28", "1.3.12"),
                ((2, 34), "3.4.29", "1.3.13"), ((2, 35), "3.4.30", "1.3.13"),
                ((2, 39), "3.4.33", "1.3.15")]


# Without auditwheel: the libraries manylinux2014 and later promise (auditwheel's
# lib_whitelist; manylinux_2_24+ adds libmvec) and the musllinux ones.
_BUILTIN_LIBS = frozenset({
    "libatomic.so.1", "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libanl.so.1",
    "libdl.so.2", "librt.so.1", "libc.so.6", "libnsl.so.1", "libutil.so.1", "libpthread.so.0",
    "libX11.so.6", "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6", "libGL.so.1",
    "libgobject-2.0.so.0", "libgthread-2.0.so.0", "libglib-2.0.so.0", "libresolv.so.2",
    "libexpat.so.1", "libz.so.1"})
_BUILTIN_MUSL_LIBS = frozenset({"libc.so", "libz.so.1"})


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
    version = BY_ALIAS[m["legacy"]] if m["legacy"] else Glibc(int(m["gmaj"]), int(m["gmin"]))
    return Platform(tag, "glibc", version, m["arch"])


def numeric(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return None


@cache
def auditwheel_policies(libc: str = "glibc") -> list[dict[str, Any]]:
    """auditwheel's manylinux (or musllinux) policy data, read as a file so auditwheel is
    never imported."""
    spec = importlib.util.find_spec("auditwheel")
    name = "manylinux" if libc == "glibc" else "musllinux"
    for location in (spec and spec.submodule_search_locations) or []:
        policy = Path(location) / "policy" / f"{name}-policy.json"
        if policy.is_file():
            return list(json.loads(policy.read_text()))
    return []


def allowed_versions(arch: str, glibc: tuple[int, int]) -> dict[str, tuple[str, frozenset[str]]]:
    """For a manylinux_X_Y tag: library -> (newest numeric version, explicitly allowed set).

    auditwheel's newest policy at or below X.Y for this arch decides (it knows e.g. that
    manylinux2014 aarch64 has GLIBC_2.18); without it, the built-in table.
    """
    def key(version: str) -> tuple[int, ...]:
        return numeric(version) or ()

    tag_glibc = f"{glibc[0]}.{glibc[1]}"
    usable = sorted(((key(p["name"][10:].replace("_", ".")), p["symbol_versions"][arch])
                     for p in auditwheel_policies()
                     if p["name"].startswith("manylinux_") and arch in p["symbol_versions"]),
                    key=lambda item: item[0])
    usable = [item for item in usable if item[0] <= glibc]
    if usable:
        sets = {lib: usable[-1][1].get(lib, []) for lib in ("GLIBC", "GLIBCXX", "CXXABI")}
        limits = {lib: (max([v for v in vs if numeric(v)] or ["0"], key=key), frozenset(vs))
                  for lib, vs in sets.items()}
        limits["GLIBC"] = (max(limits["GLIBC"][0], tag_glibc, key=key), limits["GLIBC"][1])
        return limits
    limits = {"GLIBC": (tag_glibc, frozenset({"ABI_DT_RELR"} if glibc >= (2, 36) else ()))}
    for level, cxx, cxxabi in _BUILTIN_CXX:
        if level <= glibc:
            limits["GLIBCXX"] = (cxx, frozenset[str]())
            limits["CXXABI"] = (cxxabi, frozenset({"TM_1"}))
    return limits


def allowed_libraries(platform: Platform) -> frozenset[str] | None:
    """The DT_NEEDED names a manylinux/musllinux tag promises on every host (None: a
    plain ``linux_`` tag promises nothing, so there is nothing to compare with).

    auditwheel's newest policy at or below the tag for its arch decides; without it, the
    built-in list."""
    if not platform.libc or platform.version is None:
        return None
    family = "manylinux_" if platform.libc == "glibc" else "musllinux_"
    usable = sorted((numeric(p["name"][len(family):].replace("_", ".")) or (), p["lib_whitelist"])
                    for p in auditwheel_policies(platform.libc)
                    if p["name"].startswith(family) and platform.arch in p["symbol_versions"])
    usable = [item for item in usable if item[0] <= platform.version]
    if usable:
        return frozenset(usable[-1][1])
    return _BUILTIN_LIBS if platform.libc == "glibc" else _BUILTIN_MUSL_LIBS


def platform_accepts(target: Platform, plat: str) -> bool:
    """Would pip on *target* install a wheel tagged *plat*? ``linux_X``/bare arch: any libc."""
    wheel = parse_platform(plat)
    if wheel is None or wheel.arch != target.arch:
        return plat == "any"
    if wheel.libc and target.libc and wheel.libc != target.libc:
        return False
    return wheel.version is None or target.version is None or wheel.version <= target.version
