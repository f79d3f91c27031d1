"""``crossenv cache list|prune``: which environments use which cached sysroot.

Sysroots are never changed or removed under an environment (crossenv.generations),
so superseded generations pile up in ``~/.cache/crossenv/sysroots``. ``list`` shows
each cached sysroot with the environments that use it now (those registered at
creation, and the cached ``buildwheel`` ones); ``prune`` removes the generations no
environment uses: by default the superseded ones, with ``--all`` also current ones.
A generation holding files a user added (that its successor lacks) is never removed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

from . import generations

_GENERATION = re.compile(r"(?P<name>.+)\.[0-9a-f]{8}")


@dataclasses.dataclass
class Entry:
    """One sysroot tree in the cache."""

    path: Path
    name: Path  # the stable name it belongs to
    current: bool
    users: list[Path]
    manifest: dict[str, object]
    added: list[str]  # files a user added that the current generation lacks


def _cache() -> Path:
    from .cache import user_cache

    return user_cache("sysroots")


def _buildwheel_envs() -> list[Path]:
    from .cache import user_cache
    from .envrecord import EnvRecord

    root = user_cache("buildwheel-envs")
    return [p for p in sorted(root.iterdir()) if EnvRecord.exists(p)]


def entries() -> list[Entry]:
    """Every sysroot tree in the cache: current and superseded generations, and
    real directories made before generations."""
    cache = _cache()
    users = generations.users(_buildwheel_envs())
    found: list[Entry] = []
    for path in sorted(cache.iterdir()):
        if path.name.startswith(".") or path.is_symlink() or not path.is_dir():
            continue
        match = _GENERATION.fullmatch(path.name)
        name = cache / match["name"] if match else path
        now = generations.current(name)
        current = now is not None and os.path.realpath(now) == os.path.realpath(path)
        added = generations.user_entries(path) or []
        if now is not None and not current:
            added = [a for a in added if not os.path.lexists(now / a)]
        found.append(Entry(path, name, current, users.get(Path(os.path.realpath(path)), []),
                           generations.describe(path), added))
    return found


def stale_registrations() -> list[Path]:
    """Registry files of environments that are gone or no longer use a sysroot."""
    return [entry for entry, env in generations.registered()
            if generations.env_sysroot(env) is None]


def prune(*, everything: bool = False, dry_run: bool = False) -> list[Entry]:
    """Remove unused generations (superseded ones; with ``everything`` current ones
    too); return what was (or would be) removed."""
    from filelock import FileLock

    removed = []
    for entry in entries():
        if entry.users or entry.added or (entry.current and not everything):
            continue
        removed.append(entry)
        if dry_run:
            continue
        with FileLock(str(entry.name.parent / f".{entry.name.name}.lock")):
            if entry.current and generations.current(entry.name) is not None and \
                    entry.name.is_symlink():
                entry.name.unlink()
            generations.remove(entry.path)
    if not dry_run:
        for registration in stale_registrations():
            registration.unlink(missing_ok=True)
    return removed


def _size(path: Path) -> int:
    """Bytes under ``path`` counted once per inode (shared files are hard links)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            info = os.lstat(os.path.join(directory, name))
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``cache`` subcommand to the main command line."""
    parser = subparsers.add_parser(
        "cache", help="list the cached sysroots and the environments using them; prune",
        description="Cached sysroots are never changed under an environment: a refresh "
                    "makes a new generation. 'list' shows them and who uses them, 'prune' "
                    "removes the ones no environment uses.")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="each cached sysroot and the envs using it")
    listing.add_argument("--size", action="store_true", help="also the disk space of each "
                         "(files shared with another generation counted in each)")
    listing.set_defaults(func=run_list)
    pruning = actions.add_parser("prune", help="remove the sysroots no environment uses")
    pruning.add_argument("--all", action="store_true", dest="everything",
                         help="also the current generation of a name when unused (the next "
                         "provision downloads it again)")
    pruning.add_argument("--dry-run", action="store_true", help="only say what would go")
    pruning.set_defaults(func=run_prune)


def _describe(entry: Entry) -> str:
    manifest = entry.manifest
    state = "current" if entry.current else "superseded"
    if not manifest:
        state += ", damaged (no readable manifest)"
    packages = manifest.get("packages")
    count = len(packages) if isinstance(packages, dict) else "?"
    return (f"{entry.path}  [{state}] {manifest.get('arch', '?')} "
            f"{manifest.get('release', '?')}, {count} packages")


def run_list(args: argparse.Namespace) -> int:
    for entry in entries():
        size = f", {_size(entry.path) >> 20} MiB" if args.size else ""
        print(_describe(entry) + size)
        if entry.current and entry.name != entry.path:
            print(f"    name: {entry.name}")
        for env in entry.users:
            print(f"    used by {env}")
        if not entry.users:
            print("    used by no environment")
        if entry.added:
            print(f"    holds files you added: {', '.join(entry.added[:5])}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    removed = prune(everything=args.everything, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for entry in removed:
        print(f"{verb} {entry.path}")
    if not removed:
        print("nothing to remove", file=sys.stderr)
    return 0
