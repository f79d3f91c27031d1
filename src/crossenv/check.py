"""``crossenv check``: catch the mistakes a cross build makes before a wheel is published.

A cross build fails quietly: the build machine's ``gcc`` slips in instead of the cross
compiler, the host's glibc is newer than the tag promises, the suffix names another
architecture. None of that shows until someone on the host imports the module. This
module opens each wheel (nothing is installed or run) and compares every ELF file and
the metadata with what the wheel's tags promise (the checks themselves are in
crossenv.wheelchecks); here they are run for the command line and the API, against the
host of an environment when there is one (its tags, EXT_SUFFIX and sysroot).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from . import arches, envrecord, loader, suffixes, wheelfile
from .envrecord import Env, EnvRecord
from .errors import CrossenvError, WheelError
from .policy import Platform, parse_platform, platform_accepts
from .wheelchecks import Problem, WheelChecker


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


def _env_checks(checker: WheelChecker, meta: EnvRecord) -> None:
    """Installability on the environment's host: its platform tags, interpreter and EXT_SUFFIX."""
    env = meta.env
    plats = meta.host_strs("platform_tags")
    machine = meta.machine
    ext_suffix = meta.host_str("ext_suffix")
    m = re.match(r"\.?cpython-(\d)(\d+)([a-z]*)", meta.host_str("soabi") or ext_suffix)
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
        # 3.15 also imports .abi3-<multiarch>.so and the abi3t names (crossenv.suffixes)
        version = (int(m[1]), int(m[2])) if m else (3, 0)
        imported = [s for s in suffixes.extension_suffixes(
            version, ext_suffix, meta.multiarch,
            "t" in (m[3] if m else "")) if s != ".so"]
        for member in checker.extensions:
            base = member.rsplit("/", 1)[-1]
            if not base.endswith(tuple(imported)) and base.count(".") > 1:
                checker.add(member, "target-ext-suffix", f"the host Python of {env} imports "
                            f"*{' or *'.join(imported)}; rebuild inside that environment")


def wheel_tags(path: Path) -> frozenset[Tag]:
    if len(path.name) > 1000 or path.name.count(".") > 40:
        raise WheelError(f"{path}: not a wheel file name (too long)")
    try:
        return parse_wheel_filename(path.name)[3]
    except InvalidWheelFilename as exc:
        raise WheelError(f"{path}: not a wheel file name ({exc})") from None


def check_wheel(path: Path, *, target: str | None = None, env: Path | Env | None = None,
                allow_pure: bool = False, imports: bool = False) -> list[Problem]:
    """Check one wheel; returns its problems (empty if clean). Raises WheelError on bad input.

    With *imports* (and *env*), a wheel without problems is also installed and each of its
    extension modules imported on the host (``--import``)."""
    wanted = _parse_target(target) if target is not None else None
    handle = Env.open(env) if env is not None else None
    meta = handle.record if handle is not None else None
    checker = _checked(Path(path), wanted, meta, allow_pure=allow_pure)
    if imports and handle is not None and not checker.problems:
        return import_problems(Path(path), handle, [], checker.importable)
    return checker.problems


def host_sysroot(meta: EnvRecord) -> loader.Sysroot | None:
    """The env's host as the offline loader sees it: its sysroot, multiarch and python
    (None when the env records no sysroot: the tags' policy stands for the host then)."""
    root = meta.sysroot
    if root is None:
        return None
    if not root.is_dir():
        raise envrecord.EnvironmentMetadataError(
            f"the host sysroot {root} of {meta.env} does not exist; provision it again or "
            f"recreate the environment (crossenv --clear HOST_PYTHON {meta.env})")
    version = meta.python_version()
    python = ""
    if version is not None:
        prefix = meta.host_str("prefix") or "/usr"
        python = f"{prefix.rstrip('/')}/bin/python{version[0]}.{version[1]}"
    return loader.sysroot_for(root, meta.arch, python)


def _checked(path: Path, wanted: Platform | None, meta: EnvRecord | None, *,
             allow_pure: bool = False) -> WheelChecker:
    tags = wheel_tags(path)
    sysroot = host_sysroot(meta) if meta is not None else None
    with wheelfile.open_wheel(path) as zf:
        checker = WheelChecker(path, zf, tags, sysroot=sysroot)
        checker.check_layout()
        checker.check_members()
        checker.check_wheel_metadata()
        checker.check_binary(allow_pure)
        if wanted is not None:
            checker.check_installable(wanted.tag, lambda t: platform_accepts(wanted, t.platform))
        if meta is not None:
            _env_checks(checker, meta)
        checker.check_loading(sysroot)
    return checker


def check_integrity(path: Path) -> list[Problem]:
    """Only the archive's layout and RECORD: what ``repair`` verifies before rewriting RECORD."""
    path = Path(path)
    tags = wheel_tags(path)
    with wheelfile.open_wheel(path) as zf:
        checker = WheelChecker(path, zf, tags, elf=False)
        checker.check_layout()
        checker.check_members()
    return checker.problems


def import_problems(wheel: Path, env: Path | Env, problems: list[Problem],
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
    found = envrecord.active()
    return found if found else (None, "")


def run(args: argparse.Namespace) -> int:
    """Check every wheel named on the command line; see :func:`register` for the exit status."""
    wanted = _parse_target(args.target) if args.target is not None else None
    env, why = _default_env(args)
    handle = Env.open(env) if env is not None else None
    meta = handle.record if handle is not None else None
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
            if getattr(args, "import_", False) and handle is not None:
                problems += import_problems(wheel, handle, problems, checker.importable)
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
