"""Run code on the host machine: its own python under qemu-user.

Cross-built wheels are only proven by running them. ``crossenv run ENV`` installs
wheels (and their dependencies, chosen with the host's tags by cross-pip) into
``ENV/host`` and runs the sysroot's python under qemu-user with that directory
on its path — no binfmt_misc registration, no root.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from . import arches, hostvenv
from .envrecord import Env, EnvRecord
from .errors import CrossenvError
from .model import Layout


class TargetError(CrossenvError):
    """The host's programs cannot be run here."""


def _host_python(record: EnvRecord) -> tuple[Path, Path]:
    sysroot = record.sysroot
    if sysroot is None:
        raise TargetError("this environment has no sysroot, so its host python cannot be run; "
                          "create it from a host python inside a sysroot")
    version = record.host.get("version")
    if not (isinstance(version, list) and 2 <= len(version) <= 5
            and all(isinstance(v, int) and 0 <= v < 1000 for v in version)):
        raise record.damaged("host.version is not a version")
    version_text = ".".join(map(str, version[:2]))
    prefix = sysroot / (record.host_str("prefix") or "/usr").lstrip("/")
    python = prefix / "bin" / f"python{version_text}"
    if not python.is_file():
        raise TargetError(f"no host interpreter at {python}; install the host's "
                          f"python{version_text}")
    return sysroot, python


def host_arch(record: EnvRecord) -> arches.Arch | None:
    """The env's host row of crossenv.arches, from its ``uname -m`` and GNU triplet."""
    return record.arch


def _qemu(option: str | None, arch: arches.Arch | None, machine: str) -> str:
    """``--qemu`` as given (a name on PATH or a path), else the one for the host's *arch*."""
    example = f"{arch.qemu}-static" if arch else "qemu-aarch64-static"
    if option:
        found = shutil.which(option)
        if found is None or os.path.isdir(found):
            raise TargetError(f"--qemu {option}: no such executable; pass the qemu-user "
                              f"binary (e.g. {example})")
        return found
    if arch is None:
        raise TargetError(f"no qemu-user known for the {machine or 'unknown'} host; pass "
                          "the qemu-user binary with --qemu")
    qemu = arches.which_qemu(arch)
    if not qemu:
        raise TargetError(f"no {arch.qemu}(-static) found for the {machine} host; install "
                          "qemu-user-static (Debian: apt-get install qemu-user-static)")
    return qemu


def command(env: Path | Env, args: Sequence[str], *, qemu: str | None = None,
            site: Sequence[Path] = (), prefix: Path | None = None,
            ) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run *args* under qemu (``python`` = the host python).

    The host python runs as a venv at *prefix* (default ``ENV/host``, see
    :mod:`crossenv.hostvenv`) whose ``bin`` is first on PATH: ``sys.executable``,
    ``python`` and ``python3`` start the host python again, so code that spawns Python
    works under qemu as it does on the host."""
    handle = Env.open(env)
    sysroot, python = _host_python(handle.record)
    qemu = _qemu(qemu, handle.record.arch, handle.record.machine)
    prefix = Path(prefix if prefix is not None else host_prefix(handle.path))
    version = python.name[len("python"):]
    if any(c in str(p) for p in (prefix.absolute(), python) for c in "\n\r"):
        raise TargetError(f"{str(prefix.absolute())!r} or {str(python)!r} has a line break; "
                          "the host python's venv cannot name it (use another directory)")
    try:
        bindir = hostvenv.make(prefix, qemu=qemu, sysroot=sysroot, interpreter=python,
                               version=version)
    except OSError as exc:
        raise TargetError(f"cannot write the host python's launchers in {prefix}: "
                          f"{exc.strerror or exc}") from None
    argv = list(args) or ["python"]
    if argv[0] in hostvenv.names(version):
        argv[:1] = ["-0", str(bindir / argv[0]), str(python)]
    elif not os.path.isabs(argv[0]):
        argv[0] = str(sysroot / "usr" / "bin" / argv[0])
    if argv[0] != "-0" and not os.path.isfile(argv[0]):
        raise TargetError(f"no program {argv[0]} to run on the host; name a program of the "
                          "sysroot (relative names are looked up in its usr/bin)")
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "_PYTHON")) and k != "VIRTUAL_ENV"}
    environ["PATH"] = os.pathsep.join([str(bindir), environ.get("PATH", os.defpath)])
    paths = [str(Path(p).absolute()) for p in (*site, host_site(handle.path))
             if Path(p).is_dir()]
    if paths:
        environ["PYTHONPATH"] = os.pathsep.join(paths)
    try:  # and for a child started with -I, which ignores PYTHONPATH
        hostvenv.add_paths(prefix, version, paths)
    except ValueError:
        raise TargetError(f"a directory for the host's path has a line break: {paths!r}; "
                          "use another directory") from None
    except OSError as exc:
        raise TargetError(f"cannot write the host python's paths in {prefix}: "
                          f"{exc.strerror or exc}") from None
    return [qemu, "-L", str(sysroot), *argv], environ


def host_prefix(env: Path | Env) -> Path:
    """``ENV/host``: where the host python's venv lives (see :class:`crossenv.model.Layout`)."""
    return Layout(env=Path(env), cross=Path(env) / "cross").host_prefix


def host_site(env: Path | Env) -> Path:
    return Layout(env=Path(env), cross=Path(env) / "cross").host_site


def install(env: Path | Env, requirements: Sequence[str]) -> None:
    """Install wheels/requirements for the host into ENV/host with cross-pip."""
    for requirement in requirements:
        if requirement.endswith(".whl") and not Path(requirement).is_file():
            raise TargetError(f"--install {requirement}: no such wheel file")
    pip = Layout(env=Path(env), cross=Path(env) / "cross").script("cross-pip")
    if not pip.exists():
        raise TargetError(f"{pip} does not exist; recreate the environment with pip")
    cmd = [str(pip), "install", "--quiet", "--upgrade", "--only-binary", ":all:",
           "--target", str(host_site(env)), *requirements]
    if subprocess.run(cmd).returncode != 0:
        raise TargetError(f"cross-pip could not install {' '.join(requirements)} for the host")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "run", help="run the host python (or a host program) under qemu-user",
        description="Run a command for the host under qemu-user: 'python' means the host's "
        "python in the sysroot. Wheels given with --install are installed for the host "
        "into ENV/host first.")
    parser.add_argument("env", type=Path, metavar="ENV", help="a crossenv environment")
    parser.add_argument("--install", action="append", default=[], metavar="WHEEL_OR_REQ",
                        help="install this wheel or requirement for the host first (repeatable)")
    parser.add_argument("--qemu", help="the qemu-user binary (default: found on PATH)")
    # REMAINDER: a command given without "--" reaches run(), which names the fix, instead
    # of argparse's "unrecognized arguments: -c print(1)" for the command's own options.
    # It also takes run's own options given after ENV: _own_options() takes them back.
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="CMD",
                        help="the command after --, e.g. -- python -m pytest --pyargs msgpack")
    parser.set_defaults(func=run, run_parser=parser)


_OWN_OPTIONS = ("--install", "--qemu")


def _own_options(args: argparse.Namespace) -> None:
    """Move run's options that stand before the command (``ENV --install W -- CMD``)
    from the command words into *args*, as argparse would have parsed them."""
    words = list(args.args)
    while words and words[0].startswith("-"):
        if words[0] in ("-h", "--help"):
            args.run_parser.print_help()
            raise SystemExit(0)
        name, eq, value = words.pop(0).partition("=")
        found = [o for o in _OWN_OPTIONS if o.startswith(name) and len(name) > 2]
        if len(found) != 1:
            words.insert(0, name + eq + value)
            break
        if not eq:
            if not words:
                raise TargetError(f"{found[0]} needs a value")
            value = words.pop(0)
        if found[0] == "--install":
            args.install.append(value)
        else:
            args.qemu = value
    args.args = words


def without_separator(env: Path, words: Sequence[str]) -> str | None:
    """The one-line error for a command with options given without ``--``, or None.

    Without ``--`` an option of the command (``python -c ...``) could be crossenv's
    own (``--qemu``, ``--install``): it is refused rather than guessed. A command
    without options (``python script.py``) runs as it always did.
    """
    if not any(word.startswith("-") for word in words):
        return None
    return (f"put -- before a command with options (crossenv's own go before it): "
            f"crossenv run {shlex.quote(str(env))} -- {shlex.join(words)}")


def run(args: argparse.Namespace) -> int:
    _own_options(args)
    problem = without_separator(args.env, args.args)
    if problem:
        raise TargetError(problem)
    rest = [*args.args, *getattr(args, "extra_args", [])]
    if args.install:
        env: Path | Env = Env.open(args.env)  # a damaged ENV fails before cross-pip starts
        install(env, args.install)
    else:
        env = args.env
    argv, environ = command(env, rest, qemu=args.qemu)
    sys.stdout.flush()
    try:
        return subprocess.run(argv, env=environ).returncode
    except OSError as exc:
        raise TargetError(f"cannot run {argv[0]}: {exc.strerror or exc}; pass a qemu-user "
                          "binary with --qemu") from None
