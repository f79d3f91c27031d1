"""Provision a Debian sysroot for a foreign architecture, without root.

Cross-compiling needs the host's headers and libraries, and testing the result needs
the host's Python. Both come from Debian packages, but installing them with
``dpkg --add-architecture`` changes the build machine, needs root and fails when the
host and build versions of a package differ. Instead apt is run with a private state
directory and a foreign native architecture, so it only resolves and downloads; the
packages are unpacked with ``dpkg-deb -x``. The archive is whatever apt's configured
sources say, so mirrors and proxies keep working and nothing is hard-coded here.

The result is cached (it is the slow part of a CI run) and built atomically: a
sysroot either is complete with its manifest, or does not exist. What is decided here
is what to build and when a tree on disk will do (its manifest); the file-system work
(unpacking, links kept inside, a killed build's leftovers) is crossenv.debtree's. A sysroot is never
changed once made (see crossenv.generations): a rebuild makes a new one beside it.
An interrupted build (SIGINT, SIGTERM, SIGHUP) kills apt and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import alternatives, arches, generations, log, releases
from .apt import (
    SKIPPED_DEPENDENCIES,
    Apt,
    PoolLagError,
    disk_full,
    os_codename,
    parse_package,
)
from .arches import Arch, UnknownArchError
from .debtree import (
    deb_name_version,
    extract_deb,
    interruptible,
    merge_usr,
    relativize_symlinks,
    remove_leftovers,
    signals_blocked,
    writable_parent,
)
from .debtree import escaping_symlinks as escaping_symlinks  # re-exported: tests
from .errors import ProvisionError
from .releases import Release

_log = logging.getLogger(__name__)

MANIFEST_NAME = generations.MANIFEST_NAME
_MANIFEST_FORMAT = 1

# What building common extension modules needs comes from the release's row in
# crossenv.releases; this is the list for the default host (the Python crossenv runs on).
DEFAULT_PACKAGES: tuple[str, ...] = releases.default_packages(releases.choose("amd64"))


@dataclasses.dataclass(frozen=True)
class Sysroot:
    """A provisioned sysroot: pass ``root`` as ``--sysroot`` and to ``qemu -L``."""

    root: Path
    arch: str
    multiarch: str
    python: Path
    release: str | None = dataclasses.field(default=None, compare=False)

    @property
    def qemu(self) -> str:
        """The qemu-user binary name for this sysroot's architecture."""
        return arches.by_debian(self.arch).qemu


def debian_arch(arch: str) -> Arch:
    """Look up a Debian architecture, also accepting ``uname -m`` and GNU spellings."""
    try:
        found = arches.lookup(arch)
    except UnknownArchError as exc:
        raise ProvisionError(str(exc)) from None
    if found.debian is None:
        raise ProvisionError(f"{arch} has no Debian port; use one of: "
                             f"{arches.arch_choices()}")
    return found


def multiarch_of(arch: str) -> str:
    """Return the multiarch triplet (``aarch64-linux-gnu``) of a Debian architecture."""
    return debian_arch(arch).multiarch


def qemu_name(arch: str) -> str:
    """Return the qemu-user binary name (``qemu-aarch64``) of any architecture name."""
    try:
        return arches.lookup(arch).qemu
    except UnknownArchError as exc:
        raise ProvisionError(str(exc)) from None


def find_qemu(arch: str) -> str | None:
    """Return the path of a qemu-user binary for ``arch`` (a Debian, ``uname -m`` or GNU
    name), preferring the static build; binfmt_misc is not assumed."""
    try:
        return arches.which_qemu(arches.lookup(arch))
    except UnknownArchError as exc:
        raise ProvisionError(str(exc)) from None


def default_dest(arch: str, release: Release | None = None, python: str | None = None,
                 packages: Sequence[str] = ()) -> Path:
    """The cache location of a sysroot, shared by CI runs and test workers.

    The release is in the name; the Python X.Y too when it is not the release's default;
    extra ``packages`` give a name of their own (a digest of the sorted set), so adding
    one never rebuilds the shared sysroot under the environments made from it.
    """
    from .cache import user_cache

    name = debian_arch(arch).debian or ""
    release = release or releases.choose(name, python)
    version = releases.host_python(release, python)
    extra = "" if version == release.python else f"-python{version}"
    if packages:
        digest = hashlib.sha256("\n".join(sorted(set(packages))).encode()).hexdigest()[:10]
        extra += f"-{name}-x{digest}"
        return user_cache("sysroots") / f"debian-{release.suite}{extra}"
    return user_cache("sysroots") / \
        f"debian-{release.suite}{extra}-{name}"


def _find_python(root: Path, version: str | None = None) -> Path:
    """Return the sysroot's ``usr/bin/python{version}``, else its newest python3.X
    (checked, not assumed)."""
    if version is not None:
        python = root / "usr" / "bin" / f"python{version}"
        if not python.is_file():
            raise ProvisionError(f"no usr/bin/python{version} in {root}; add the "
                                 f"python{version} package")
        return python
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


def _covers(manifest: dict[str, Any] | None, arch: str, suite: str,
            requested: Sequence[str]) -> bool:
    if not manifest or manifest.get("arch") != arch:
        return False
    # Manifests from before the release table name only the build machine's codename.
    if manifest.get("release", manifest.get("codename")) != suite:
        return False
    installed = manifest.get("packages")
    if not isinstance(installed, dict):
        return False
    for spec in requested:
        name, version = parse_package(spec)
        if name not in installed or (version is not None and installed[name] != version):
            return False
    return True


def _existing(dest: Path, info: Arch, release: Release, version: str) -> Sysroot:
    return Sysroot(dest, info.debian or "", info.multiarch, _find_python(dest, version),
                   release=release.suite)


def _refuse_foreign(dest: Path, versioned: bool = False) -> None:
    """Only a crossenv sysroot (or an empty directory) at ``dest`` may be replaced.

    One whose manifest is damaged is crossenv's too (a versioned one is kept aside);
    a tree with no manifest at all may be anybody's.
    """
    if not os.path.lexists(dest) or (versioned and generations.is_ours(dest)):
        return
    if dest.is_symlink() or not dest.is_dir() or (
            _load_manifest(dest) is None and not (dest / MANIFEST_NAME).is_file()
            and any(dest.iterdir())):
        raise ProvisionError(f"{dest} exists and is not a crossenv sysroot (no "
                             f"{MANIFEST_NAME}); choose a new or empty directory")


def _repair_command(arch: str, release: Release, python: str | None, packages: Sequence[str],
                    dest: Path | None) -> str:
    words = ["crossenv", "provision", "--arch", arch, "--release", release.suite]
    words += ["--python", python] if python else []
    words += [w for p in packages for w in ("--package", p)]
    words += ["--refresh", *([str(dest)] if dest is not None else [])]
    return " ".join(shlex.quote(w) for w in words)


def provision_debian(arch: str, dest: Path | None = None, packages: Sequence[str] = (), *,
                     refresh: bool = False, python: str | None = None,
                     release: str | None = None) -> Sysroot:
    """Return a sysroot of ``arch`` holding Python ``python`` (X.Y), its headers and
    common -dev libs, from the Debian release that ships it (its archive's index says,
    see crossenv.archiveindex).

    Without ``python`` it is the Python crossenv runs on when a release ships it.
    ``packages`` are Debian names (``name[:arch][=version]``, checked); without
    ``dest`` a set of them has its own cached sysroot, sharing the default one's files.
    When crossenv chose the release (no ``release``) and its pool lags its index (a
    version listed, not served), the next release shipping that X.Y is used, with one
    warning and ``release_fallback`` in the manifest.
    The returned root is the generation's real path: it never changes.
    """
    from . import archiveindex

    info = debian_arch(arch)
    name = info.debian or ""
    packages = sorted({_normal_spec(p, name) for p in packages})
    options = archiveindex.candidates(name, python, release)
    version = releases.host_python(options[0], python)
    options = [r for r in options if version in r.pythons]
    lagged: dict[str, Any] | None = None
    for number, chosen in enumerate(options):
        later = options[number + 1:]
        if lagged is None and not refresh and dest is None and later:
            kept = _kept_fallback(name, chosen, later, version, packages)
            if kept is not None:
                return kept
        try:
            return _provision(info, chosen, version, packages, dest, refresh, python, lagged)
        except PoolLagError as exc:
            if not later:
                raise
            lagged = {"from": chosen.suite, "package": exc.package, "version": exc.version,
                      "reason": str(exc)}
            _log.warning("Debian %s lists %s %s for %s but its archive does not serve it; "
                         "using Debian %s, which also ships Python %s", chosen.suite,
                         exc.package, exc.version, name, later[0].suite, version)
    raise AssertionError("unreachable: the last candidate returns or raises")


def _kept_fallback(arch: str, lagging: Release, later: Sequence[Release], version: str,
                   packages: Sequence[str]) -> Sysroot | None:
    """A sysroot an earlier run made from a later release because ``lagging``'s pool
    lagged, when ``lagging`` has none of its own: used without asking the archive again
    (``--refresh`` tries ``lagging`` first again)."""
    if _current(default_dest(arch, lagging, version, packages), True) is not None:
        return None
    info = debian_arch(arch)
    for chosen in later:
        found = _current(default_dest(arch, chosen, version, packages), True)
        manifest = _load_manifest(found) if found is not None else None
        requested = [*releases.default_packages(chosen, version), *packages]
        if found is not None and manifest is not None and \
                (manifest.get("release_fallback") or {}).get("from") == lagging.suite and \
                _covers(manifest, arch, chosen.suite, requested):
            with contextlib.suppress(ProvisionError):
                kept = _existing(Path(os.path.realpath(found)), info, chosen, version)
                _log.warning("using the Debian %s sysroot made when Debian %s's archive did "
                             "not serve %s %s for %s (--refresh tries %s again)", chosen.suite,
                             lagging.suite, manifest["release_fallback"].get("package"),
                             manifest["release_fallback"].get("version"), arch, lagging.suite)
                return kept
    return None


def _provision(info: Arch, chosen: Release, version: str, packages: list[str],
               dest: Path | None, refresh: bool, python: str | None,
               lagged: dict[str, Any] | None) -> Sysroot:
    name = info.debian or ""
    given = dest
    link_from: list[Path] = []
    if dest is None:
        dest = default_dest(name, chosen, version, packages)
        if packages:
            link_from.append(default_dest(name, chosen, version))
    requested = [*releases.default_packages(chosen, version), *packages]

    def finish(root: Path) -> dict[str, Any]:
        # why this release and not the one crossenv chose first (its pool lagged)
        extra = {"release_fallback": lagged} if lagged else {}
        return {"python": str(_find_python(root, version).relative_to(root)),
                "python_version": version, **extra}

    root = build_tree(info, chosen, Path(dest), requested, finish, refresh=refresh,
                      versioned=True, link_from=link_from)
    try:
        return _existing(root, info, chosen, version)
    except ProvisionError:
        raise ProvisionError(
            f"the sysroot {root} is damaged (no usr/bin/python{version}); rebuild it with: "
            f"{_repair_command(name, chosen, python, packages, given)}") from None


def _normal_spec(spec: str, arch: str) -> str:
    """``spec`` checked, without an ``:arch`` (a sysroot holds one architecture)."""
    package, version = parse_package(spec, arch)
    return f"{package}={version}" if version else package


def _current(dest: Path, versioned: bool) -> Path | None:
    if versioned:
        return generations.current(dest)
    return dest if dest.is_dir() else None


def build_tree(info: Arch, release: Release, dest: Path, requested: Sequence[str],
               finish: Callable[[Path], dict[str, Any]], *, refresh: bool = False,
               skipped: Sequence[str] = SKIPPED_DEPENDENCIES, versioned: bool = False,
               link_from: Sequence[Path] = ()) -> Path:
    """Unpack ``requested`` and its dependencies for ``info`` from ``release`` at ``dest``;
    return the tree's real path.

    An existing tree at ``dest`` whose manifest lists every requested package is
    kept as it is; otherwise (or with ``refresh``) it is rebuilt in a sibling temp
    directory, under a lock beside ``dest`` shared with concurrent callers.
    ``finish(root)`` runs on the complete unpacked tree before its manifest is
    written (``dest`` is its final path) and returns fields for the manifest.
    ``skipped`` (fnmatch patterns) are dependencies left out unless requested by name.
    ``versioned`` trees (sysroots) are generations (crossenv.generations): the new
    one is renamed beside the old, which is kept, and ``dest`` is switched to it; files
    identical to the old one's or to ``link_from``'s current trees are hard links.
    Others are renamed into place and the old one removed.
    """
    from filelock import FileLock

    requested = list(dict.fromkeys(requested))
    for spec in requested:
        parse_package(spec)  # every name is checked before apt sees it
    dest = Path(os.path.abspath(dest))
    name = info.debian or ""
    found = _current(dest, versioned)
    if not refresh and found is not None and \
            _covers(_load_manifest(found), name, release.suite, requested):
        return Path(os.path.realpath(found))
    writable_parent(dest)
    try:
        with interruptible(), FileLock(str(dest.parent / f".{dest.name}.lock")):
            found = _current(dest, versioned)
            old = _load_manifest(found) if found is not None else None
            if not refresh and _covers(old, name, release.suite, requested):
                return Path(os.path.realpath(found or dest))
            _refuse_foreign(dest, versioned)
            remove_leftovers(dest)
            if old is not None and old.get("release", old.get("codename")) == release.suite:
                # a rebuild keeps what earlier callers asked for
                requested = list(dict.fromkeys([*requested, *map(str, old.get("requested", []))]))
            work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.build-"))
            try:
                sources = [found] if versioned and old is not None and found is not None else []
                sources += [g for g in map(generations.current, link_from)
                            if g is not None and _load_manifest(g) is not None]
                return _build(info, release, dest, requested, finish, skipped, work,
                              versioned, sources, carry_from=found if versioned else None)
            finally:
                with signals_blocked():
                    shutil.rmtree(work, ignore_errors=True)
    except OSError as exc:
        full = disk_full(dest.parent) if exc.errno == errno.ENOSPC else None
        where = f" ({exc.filename})" if exc.filename else ""
        raise ProvisionError(full or f"cannot build {dest}: {exc.strerror or exc}{where}; "
                             "choose a DEST in a directory you can write") from None


def _build(info: Arch, release: Release, dest: Path, requested: list[str],
           finish: Callable[[Path], dict[str, Any]], skipped: Sequence[str], work: Path,
           versioned: bool, sources: list[Path], carry_from: Path | None) -> Path:
    name = info.debian or ""
    root = work / "root"
    apt = Apt(name, work / "apt", release)
    what = f"{name} (Debian {release.suite})"
    log.info(f"provisioning {what} in {dest}: reading the package lists")
    with log.Progress(0) as bar:  # on a terminal: the step, then the download's own line
        bar.update(f"provisioning {what}: reading the package lists")
        skipped_lists = apt.update()
        pins = dict(parse_package(spec) for spec in requested)
        bar.update(f"provisioning {what}: resolving the dependencies")
        closure = apt.closure(list(pins), skipped)
        wanted = [f"{p}={pins[p]}" if pins.get(p) else p for p in closure]
        debs = apt.download(wanted, work / "debs")
        root.mkdir()
        log.info(f"unpacking {len(debs)} packages for {what}")
        for done, deb in enumerate(debs):
            bar.update(f"unpacking {len(debs)} packages for {what}: {done}/{len(debs)}", done)
            extract_deb(deb, root)
    merge_usr(root)
    relativize_symlinks(root)
    # the links update-alternatives would make (maintainer scripts read, never run)
    made = alternatives.from_debs(root, debs)
    manifest = {
        "format": _MANIFEST_FORMAT, "arch": name, "multiarch": info.multiarch,
        "release": release.suite, "codename": os_codename(), "requested": requested,
        **finish(root),
        "packages": dict(sorted(deb_name_version(d) for d in debs)),
        "skipped_lists": skipped_lists,
        # versions the mirror indexed but did not serve, and what was used instead
        "fallbacks": apt.fallbacks,
        "alternatives": made,
    }
    final = generations.new_generation(dest) if versioned else dest
    if versioned:
        generations.record_files(root)
        files, size = generations.link_identical(root, sources)
        manifest["shared"] = {"files": files, "bytes": size,
                              "with": [str(s) for s in sources]}
        if carry_from is not None:
            carried, left = generations.carry_user_files(carry_from, root)
            manifest["carried_user_files"] = carried
            if left:
                _log.warning("kept in %s only (a package now ships them): %s", carry_from,
                             ", ".join(left))
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _refuse_foreign(dest, versioned)  # again: something may have appeared during the download
    try:
        if versioned:
            with signals_blocked():  # never a complete generation that DEST misses
                os.rename(root, final)
                generations.point(dest, final)
            return final
        if _load_manifest(dest) is not None or (dest / MANIFEST_NAME).is_file():
            dest.rename(work / "old")  # our tree: removed with the temp dir
        elif dest.is_dir():
            dest.rmdir()  # empty; fails if something was written into it meanwhile
        root.rename(dest)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise
        raise ProvisionError(f"cannot replace {dest}: {exc.strerror or exc}; choose "
                             "a new or empty directory") from None
    return dest
