"""Sysroot generations: a stable name that points at trees nobody changes.

An environment compiles against its sysroot's headers and links its libraries
long after it was created, so a sysroot must not change under it. ``DEST`` (a
name in the cache such as ``debian-bookworm-arm64``, or the directory given to
``crossenv provision``) is therefore a symlink to a sibling *generation*
``DEST.<8 hex digits>``, which is never written again once complete. A rebuild
(``--refresh``, more packages) makes a new generation and swaps the symlink with
one ``rename``; the old one stays until ``crossenv cache prune`` finds that no
environment uses it. Environments record the generation's real path.

Files a new generation shares with an older one (the same name's previous
generation, or the shared sysroot a package set extends) are hard links to the
older one's files, so a sysroot with one extra package costs what that package
unpacks. Files that a user added to a generation (anything not in its
``.crossenv-sysroot-files.json``) are carried into the next one.

Envs register themselves at creation (``.envs/`` in the sysroot cache), so that
``crossenv cache list`` can say which environments use which sysroot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

#: the sysroot's manifest (crossenv.provision writes it) and its file list (this module's)
MANIFEST_NAME = ".crossenv-sysroot.json"
FILES_NAME = ".crossenv-sysroot-files.json"
_OURS = (MANIFEST_NAME, FILES_NAME)
_CHUNK = 1 << 20


def _pattern(dest: Path) -> re.Pattern[str]:
    return re.compile(re.escape(dest.name) + r"\.[0-9a-f]{8}")


def new_generation(dest: Path) -> Path:
    """A fresh, unused generation path for ``dest``."""
    while True:
        path = dest.with_name(f"{dest.name}.{secrets.token_hex(4)}")
        if not os.path.lexists(path):
            return path


def current(dest: Path) -> Path | None:
    """The generation ``dest`` points at: its sibling ``DEST.<hex>`` if ``dest`` is our
    symlink, ``dest`` itself if it is a real directory (made before generations), or
    None (missing, or a symlink crossenv did not make)."""
    if dest.is_symlink():
        target = os.readlink(dest)
        if _pattern(dest).fullmatch(target) and (dest.parent / target).is_dir() and \
                not (dest.parent / target).is_symlink():
            return dest.parent / target
        return None
    return dest if dest.is_dir() else None


def is_ours(dest: Path) -> bool:
    """Whether ``dest`` is a symlink crossenv made to one of its generations (which may
    have been deleted since: then a new one is made)."""
    return dest.is_symlink() and _pattern(dest).fullmatch(os.readlink(dest)) is not None


def generations(dest: Path) -> list[Path]:
    """Every generation directory of ``dest`` (complete or damaged), oldest first."""
    if not dest.parent.is_dir():
        return []
    pattern = _pattern(dest)
    found = [p for p in dest.parent.iterdir()
             if pattern.fullmatch(p.name) and p.is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda p: p.stat().st_mtime_ns)


def point(dest: Path, generation: Path) -> None:
    """Make ``dest`` a symlink to ``generation`` in one rename.

    A real directory at ``dest`` (an older crossenv's sysroot, already checked to be
    crossenv's) becomes a generation itself, kept; an empty one is removed.
    """
    link = dest.with_name(f".{dest.name}.link-{secrets.token_hex(4)}")
    link.symlink_to(generation.name)
    try:
        if dest.is_dir() and not dest.is_symlink():
            if (dest / _OURS[0]).is_file():
                os.rename(dest, new_generation(dest))
            else:
                dest.rmdir()  # fails if something was written into it meanwhile
        os.replace(link, dest)
    finally:
        if link.is_symlink():
            link.unlink()


def record_files(root: Path) -> None:
    """Write the list of everything in ``root`` (what provisioning put there)."""
    entries = sorted(str(Path(d, n).relative_to(root))
                     for d, dirs, files in os.walk(root) for n in dirs + files)
    entries = [e for e in entries if e not in _OURS]
    (root / FILES_NAME).write_text(json.dumps(entries) + "\n", encoding="utf-8")


def user_entries(generation: Path) -> list[str] | None:
    """The top-most paths in ``generation`` that provisioning did not put there (files
    a user added), or None when the generation has no readable file list."""
    try:
        listed = json.loads((generation / FILES_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(listed, list):
        return None
    known = set(map(str, listed)) | set(_OURS)
    added = []
    for directory, dirs, files in os.walk(generation):
        rel = Path(directory).relative_to(generation)
        for name in sorted(files + dirs):
            path = str(rel / name) if str(rel) != "." else name
            if path not in known:
                added.append(path)
        dirs[:] = [d for d in dirs if (str(rel / d) if str(rel) != "." else d) in known]
    return sorted(added)


def carry_user_files(old: Path, new: Path) -> tuple[list[str], list[str]]:
    """Hard-link what a user added to ``old`` into ``new``; return (carried, left) where
    ``left`` are paths a package now ships (the package's file wins; ``old`` keeps
    the user's)."""
    carried, left = [], []
    for rel in user_entries(old) or []:
        source, target = old / rel, new / rel
        if os.path.lexists(target) or not target.parent.is_dir() or target.parent.is_symlink():
            left.append(rel)
            continue
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_dir():
            from .staging import link_tree

            link_tree(source, target)
        else:
            from .staging import link_or_copy

            link_or_copy(str(source), str(target))
        carried.append(rel)
    return carried, left


def _same_content(a: str, b: str) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            chunk = fa.read(_CHUNK)
            if chunk != fb.read(_CHUNK):
                return False
            if not chunk:
                return True


def link_identical(root: Path, sources: Sequence[Path]) -> tuple[int, int]:
    """Replace each regular file of ``root`` that one of ``sources`` (older trees) has
    at the same path, with the same mode, time and bytes, by a hard link to it.
    Return (files, bytes) now shared."""
    count = size = 0
    real_sources = [(s, os.path.realpath(s)) for s in sources]
    for directory, _, files in os.walk(root):
        rel = os.path.relpath(directory, root)
        for name in files:
            path = os.path.join(directory, name)
            mine = os.lstat(path)
            if not stat.S_ISREG(mine.st_mode) or mine.st_size == 0:
                continue
            for source, real in real_sources:
                other = os.path.normpath(os.path.join(source, rel, name))
                try:
                    theirs = os.lstat(other)
                except OSError:
                    continue
                if not stat.S_ISREG(theirs.st_mode) or (theirs.st_size, theirs.st_mode,
                        theirs.st_mtime_ns) != (mine.st_size, mine.st_mode, mine.st_mtime_ns):
                    continue
                if os.path.realpath(other) != os.path.normpath(os.path.join(real, rel, name)):
                    continue  # reached through a link: not the same path
                if not _same_content(path, other):
                    continue
                temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.link")
                try:
                    os.link(other, temporary)
                except OSError:
                    return count, size  # another file system: nothing can be shared
                os.replace(temporary, path)
                count += 1
                size += mine.st_size
                break
    return count, size


# --- which environments use which sysroot ----------------------------------------------


def _registry() -> Path:
    from .cache import user_cache

    return user_cache("sysroots", ".envs")


def register_env(env: Path, sysroot: Path | None) -> None:
    """Record that ``env`` was made from ``sysroot`` (a provisioned one; others are not
    crossenv's to collect). A failure is a warning: the env itself is fine."""
    if sysroot is None or not (Path(sysroot) / _OURS[0]).is_file():
        return
    from .errors import CrossenvError

    entry = {"env": str(env), "sysroot": os.path.realpath(sysroot)}
    digest = hashlib.sha256(str(env).encode()).hexdigest()[:16]
    try:
        directory = _registry()
        temporary = directory / f".{digest}.{secrets.token_hex(4)}.tmp"
        temporary.write_text(json.dumps(entry) + "\n", encoding="utf-8")
        os.replace(temporary, directory / f"{digest}.json")
    except (OSError, CrossenvError) as exc:
        _log.warning("could not record %s as a user of %s (%s); crossenv cache prune "
                     "will not see it", env, sysroot, getattr(exc, "strerror", None) or exc)


def registered() -> list[tuple[Path, Path]]:
    """(registry file, env) of every registered environment."""
    found = []
    directory = _registry()
    for entry in sorted(directory.glob("*.json")):
        try:
            env = json.loads(entry.read_text(encoding="utf-8"))["env"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append((entry, Path(str(env))))
    return found


def env_sysroot(env: Path) -> Path | None:
    """The real path of the sysroot ``env`` uses now, or None (gone, or no sysroot)."""
    from .envrecord import EnvRecord
    from .errors import CrossenvError

    try:
        sysroot = EnvRecord.read(env).host_str("sysroot")
    except CrossenvError:
        return None
    return Path(os.path.realpath(sysroot)) if sysroot else None


def users(extra_envs: Iterable[Path] = ()) -> dict[Path, list[Path]]:
    """Sysroot real path -> the live environments that use it."""
    found: dict[Path, list[Path]] = {}
    for env in sorted({*(env for _, env in registered()), *extra_envs}):
        sysroot = env_sysroot(env)
        if sysroot is not None:
            found.setdefault(sysroot, []).append(env)
    return found


def describe(generation: Path) -> dict[str, Any]:
    """What a generation's manifest says (empty when damaged)."""
    try:
        data = json.loads((generation / _OURS[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remove(generation: Path) -> None:
    """Delete a generation: renamed first, so a half-deleted one is never taken for one."""
    trash = generation.with_name(f".{generation.name}.trash-{secrets.token_hex(4)}")
    os.rename(generation, trash)
    shutil.rmtree(trash)
