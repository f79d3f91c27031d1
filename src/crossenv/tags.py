"""Wheel platform tags for the host, derived from the host's files.

packaging decides manylinux compatibility by looking at the *running*
interpreter's ELF header and glibc, which in a cross environment are the build
machine's. So the ladder is computed here, once, from the sysroot's C library
(or from what the user declares) and handed to the runtime shim as a list; the
runtime (``_crossenv_tags``, ``_manylinux``) answers every tag question from it.

Built wheels are tagged ``linux_<arch>`` unless the toolchain *guarantees* a
manylinux level: zig compiling against an explicit glibc version. Then
:func:`write` exports ``CROSSENV_WHEEL_PLATFORM`` and cross-python's
``bdist_wheel`` uses it. A gcc build links against the sysroot's (newer) glibc,
so its wheels stay ``linux_*`` until ``crossenv repair`` checks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection

from . import arches
from .host import HostDescription
from .manylinux import LEGACY, LEGACY_PATTERN, Glibc
from .model import Options, Toolchain

#: set in cross-python when built wheels get a manylinux tag (see _crossenv_tags)
WHEEL_PLATFORM_VAR = "CROSSENV_WHEEL_PLATFORM"

tag_arch = arches.tag_arch  # the architecture part of a platform tag for a ``uname -m`` value


def _libc_candidates(host: HostDescription) -> list[Path]:
    root = host.sysroot
    if root is None:
        return []
    dirs = []
    if host.multiarch:
        dirs += [root / "lib" / host.multiarch, root / "usr" / "lib" / host.multiarch]
    dirs += [root / "lib64", root / "lib", root / "usr" / "lib64", root / "usr" / "lib"]
    return [d / "libc.so.6" for d in dirs]


def glibc_version(host: HostDescription) -> Glibc | None:
    """The newest ``GLIBC_x.y`` version the sysroot's libc.so.6 defines."""
    for candidate in _libc_candidates(host):
        if not candidate.is_file():
            continue
        try:
            with candidate.open("rb") as stream:
                elf = ELFFile(stream)
                best: Glibc | None = None
                for section in elf.iter_sections():
                    if not isinstance(section, GNUVerDefSection):
                        continue
                    for _verdef, auxiliaries in section.iter_versions():
                        for aux in auxiliaries:
                            version = Glibc.from_symbol_version(aux.name)
                            if version is not None:
                                best = version if best is None or version > best else best
                if best is not None:
                    return best
        except (OSError, ELFError):
            continue
    return None


def _musl_loaders(host: HostDescription) -> list[Path]:
    root = host.sysroot
    if root is None:
        return []
    return sorted(p for d in ("lib", "usr/lib") for p in (root / d).glob("ld-musl-*.so.1"))


def musl_present(host: HostDescription) -> bool:
    """True when the sysroot has a musl dynamic loader (Alpine and friends)."""
    return bool(_musl_loaders(host))


def musl_version(host: HostDescription) -> tuple[int, int] | None:
    """The sysroot's musl ``(major, minor)``, without running its loader.

    packaging runs the loader and parses its banner; here the apk database is
    read if there is one, else the version string is found in the loader itself
    (musl stores it as a plain NUL-terminated string such as ``1.2.4``).
    """
    if not musl_present(host) or host.sysroot is None:
        return None
    installed = host.sysroot / "lib" / "apk" / "db" / "installed"
    try:
        text = installed.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    match = re.search(r"^P:musl\nV:(\d+)\.(\d+)", text, re.MULTILINE)
    if match:
        return int(match.group(1)), int(match.group(2))
    for loader in _musl_loaders(host):
        try:
            data = loader.read_bytes()
        except OSError:
            continue
        found = re.search(rb"\x00(\d+)\.(\d+)\.(\d+)\x00", data)
        if found:
            return int(found.group(1)), int(found.group(2))
    return None


def musllinux_ladder(musl: tuple[int, int], arch: str) -> list[str]:
    """Every musllinux tag a host with *musl* accepts, best first (as packaging orders them)."""
    if musl[1] >= 1000:  # one tag per minor version: keep the work bounded
        raise ValueError(f"musllinux_{musl[0]}_{musl[1]} is out of range (minor < 1000)")
    return [f"musllinux_{musl[0]}_{minor}_{arch}" for minor in range(musl[1], -1, -1)]


def parse_manylinux(value: str) -> Glibc:
    """Accept ``2_17``, ``2.17``, ``manylinux_2_17[_arch]`` or a legacy alias
    (:meth:`crossenv.manylinux.Glibc.parse`)."""
    return Glibc.parse(value)


def manylinux_ladder(glibc: tuple[int, int], arch: str) -> list[str]:
    """Every manylinux tag a host with *glibc* accepts, best first (as packaging orders them)."""
    lowest = arches.manylinux_oldest(arch)[1]
    tags: list[str] = []
    for minor in range(glibc[1], lowest - 1, -1):
        tags.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
        alias = LEGACY.get(Glibc(glibc[0], minor))
        if alias and arches.has_legacy_manylinux(alias, arch):
            tags.append(f"{alias}_{arch}")
    return tags


def _expand_user_tag(tag: str, arch: str) -> list[str]:
    tag = tag.strip()
    if tag.endswith("_" + arch):
        return [tag]
    if re.fullmatch(rf"(manylinux_)?\d+[._]\d+|{LEGACY_PATTERN}", tag):
        return manylinux_ladder(parse_manylinux(tag), arch)
    match = re.fullmatch(r"musllinux_(\d+)_(\d+)", tag)
    if match:
        return musllinux_ladder((int(match.group(1)), int(match.group(2))), arch)
    return [f"{tag}_{arch}"]


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def zig_glibc(toolchain: Toolchain | None) -> Glibc | None:
    """The glibc version a zig toolchain links against (``aarch64-linux-gnu.2.17``)."""
    return toolchain.glibc if toolchain is not None else None


def platform_tags_for(
    host: HostDescription,
    *,
    manylinux: Sequence[Glibc | str] = (),
    platform_tags: Sequence[str] = (),
    extra: Sequence[str] = (),
    no_manylinux: bool = False,
    toolchain: Toolchain | None = None,
) -> tuple[tuple[str, str] | None, list[str]]:
    """Return ``(libc_ver answer, platform tags best first)`` for the host.

    Explicit ``--manylinux`` values (:class:`Glibc`, or their spellings) win (zig builds
    against exactly that glibc);
    otherwise the sysroot's glibc decides, or its musl if it has no glibc.
    ``linux_<arch>`` comes last. *platform_tags* (``--platform-tag``) replace those
    defaults, as in crossenv 1.x: the result is the ``--manylinux`` ladders, then
    exactly the tags given, then *extra* (``--extra-platform-tag``, which otherwise
    adds to the defaults). With zig, ``platform.libc_ver()`` reports the glibc zig
    links against, so builds probing it do not use newer features.
    """
    arch = tag_arch(host.machine)
    user = [t for tag in (*platform_tags, *extra) for t in _expand_user_tag(tag, arch)]
    if host.system != "Linux":
        return None, _dedupe(user)
    tags: list[str] = []
    libc: tuple[str, str] | None = None
    found = glibc_version(host)
    if found:
        libc = ("glibc", f"{found[0]}.{found[1]}")
    if manylinux:
        declared = [Glibc(*value) if isinstance(value, tuple) else parse_manylinux(value)
                    for value in manylinux]
        tags += [t for version in sorted(declared, reverse=True)
                 for t in manylinux_ladder(version, arch)]
    elif platform_tags:
        pass  # the user's list replaces the sysroot's ladder
    elif found and not no_manylinux:
        tags += manylinux_ladder(found, arch)
    elif not found and not no_manylinux:
        musl = musl_version(host)
        if musl:
            tags += musllinux_ladder(musl, arch)
    target_glibc = zig_glibc(toolchain)
    if target_glibc:
        libc = ("glibc", f"{target_glibc[0]}.{target_glibc[1]}")
    tags += user
    if not platform_tags:
        tags.append(f"linux_{arch}")
        if arch == "armv7l":
            tags.append("linux_armv6l")
    return libc, _dedupe(tags)


def wheel_platform_tag(host: HostDescription, toolchain: Toolchain) -> str | None:
    """The compressed platform tag built wheels get, or None to keep ``linux_<arch>``.

    Only zig with an explicit glibc guarantees the symbol versions an extension
    needs (zig's own glibc stubs stop at that version), so only then is a
    manylinux tag promised: ``manylinux_2_17_aarch64.manylinux2014_aarch64``.
    """
    glibc = zig_glibc(toolchain)
    if glibc is None or host.system != "Linux":
        return None
    arch = tag_arch(host.machine)
    lowest = arches.manylinux_oldest(arch)[1]
    if glibc < (2, lowest):
        return None
    tags = [f"manylinux_{glibc[0]}_{glibc[1]}_{arch}"]
    alias = LEGACY.get(glibc)
    if alias and arches.has_legacy_manylinux(alias, arch):
        tags.append(f"{alias}_{arch}")
    return ".".join(tags)


def pip_cache_key(options: Options, wheel_tag: str | None) -> str:
    """A directory name for what decides which built wheels an env may reuse.

    pip keys its wheel cache on the sdist and the interpreter only, and every
    cross env runs the same build interpreter: a ``linux_aarch64`` wheel gcc built
    against Debian 12's glibc must not be reused by an env for an older sysroot,
    nor by a zig env that promises manylinux2014.
    """
    import hashlib

    facts = repr((list(options.platform_tags), list(options.libc or ()) or None, wheel_tag))
    return "crossenv-" + hashlib.sha224(facts.encode()).hexdigest()[:16]


def pip_cache_dir(options: Options, wheel_tag: str | None) -> Path:
    """``PIP_CACHE_DIR`` cross-python exports if unset (pip documents the variable):
    one cache per host description, shared by the envs that describe the same host."""
    from .cache import user_cache

    return user_cache("pip") / pip_cache_key(options, wheel_tag)
