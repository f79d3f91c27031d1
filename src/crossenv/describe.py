"""``crossenv describe HOST_OR_ENV --format ...``: the generated build files, for other tools.

Users of plain meson, CMake, cargo or their own scripts can reuse what crossenv
knows about a host without going through cross-pip. For an existing ENV the
files generated at creation are printed as they are; for a host (python, prefix,
sysconfigdata or build-details.json) they are computed on the spot and nothing
is created, unless ``--output-dir`` asks for the files to be written.
"""

from __future__ import annotations

import argparse
import ast
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from . import backends, rust
from . import host as host_mod
from . import toolchain as toolchain_mod
from .backends import cargo, cmake, meson
from .envrecord import Env, EnvRecord
from .errors import CrossenvError, ToolchainError
from .model import Options

FORMATS = ("meson", "cmake", "pyo3", "env", "json", "build-details", "rust")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "describe", help="print the host description or a generated build file",
        description="Print a meson cross file, CMake toolchain file, PyO3 config, the "
        "environment variables cross-python exports, the host description (json), a "
        "PEP 739 build-details.json or the Rust toolchain builds use (rust: PATH's rustc "
        "with the host's std, the one crossenv provision-rust made, or the fix) for an ENV "
        "or a host python.")
    parser.add_argument("HOST_OR_ENV", help="a crossenv ENV, or the host python3.X, its "
                        "prefix, its _sysconfigdata_*.py or a build-details.json")
    parser.add_argument("--format", choices=FORMATS, default="json")
    parser.add_argument("--sysroot", help="the host's root directory (host inputs only)")
    parser.add_argument("--python", help="python for meson's [binaries] python and CMake's "
                        "Python_EXECUTABLE (host inputs only; an ENV uses its cross-python)")
    parser.add_argument("--cc", help="the cross C compiler (host inputs only)")
    parser.add_argument("--cxx", help="the cross C++ compiler (host inputs only)")
    parser.add_argument("--output-dir", help="also write meson-cross.ini, toolchain.cmake, "
                        "pyo3-config.txt and helper scripts into this directory")
    parser.add_argument("--trust-host-flags", action="store_true",
                        help="accept host compiler flags that run other programs "
                        "(-wrapper, -fplugin, -B, --specs, @file); host inputs only")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.set_defaults(func=run)


def _is_env(path: Path) -> bool:
    return EnvRecord.present(path)


def _toolchain(host: host_mod.HostDescription, cc: str | None,
               cxx: str | None) -> toolchain_mod.Toolchain:
    """The cross toolchain if installed; else one named after the triplet, so that a
    description can be printed on a machine without the compilers."""
    try:
        return toolchain_mod.find(host, cc=cc, cxx=cxx, sysroot=host.sysroot, verify=False,
                                  environ={})
    except ToolchainError:
        prefix = f"{host.triplet}-"
        words = (f"--sysroot={host.sysroot}",) if host.sysroot else ()
        return toolchain_mod.Toolchain(
            kind="gnu", triplet=host.triplet,
            cc=(*(toolchain_mod._words(cc) or (prefix + "gcc",)), *words),
            cxx=(*(toolchain_mod._words(cxx) or (prefix + "g++",)), *words), ar=(prefix + "ar",),
            strip=(prefix + "strip",), sysroot=host.sysroot)


def _env_vars_of(meta: EnvRecord) -> dict[str, str]:
    config = meta.layout().runtime_config
    damaged = (f"{config} is missing or damaged; recreate the environment "
               f"(crossenv --clear HOST_PYTHON {meta.env})")
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise CrossenvError(damaged) from None
    for line in text.splitlines():
        if line.startswith("BUILD_ENV = "):
            try:
                value = ast.literal_eval(line[len("BUILD_ENV = "):])
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise CrossenvError(damaged) from None
            if not isinstance(value, dict):
                raise CrossenvError(damaged)
            return {str(k): str(v) for k, v in value.items()}
    return {}


def _render_env(values: dict[str, str]) -> str:
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in values.items())


def _render_rust(choice: Any) -> str:
    """One line: which rustc builds for the host (PATH's, provisioned) or the fix."""
    if not isinstance(choice, dict):
        return "no Rust toolchain recorded (no Rust target for this host, or an env made " \
               "before crossenv recorded it)\n"
    if choice.get("kind") == "missing":
        return rust.missing_message(str(choice.get("target")), choice.get("debian_arch")) + "\n"
    return (f"rustc {choice.get('version')} ({choice.get('kind')}: {choice.get('rustc')}) "
            f"for {choice.get('target')}\n")


def describe_env(env: Path | Env, fmt: str) -> str:
    """Print a file generated when *env* was created."""
    meta = Env.open(env).record
    files = {"meson": meson.FILE_NAME, "cmake": cmake.FILE_NAME, "pyo3": cargo.CONFIG_NAME}
    if fmt in files:
        path = meta.path("crossenv_dir") / files[fmt]
        if not path.is_file():
            raise CrossenvError(f"{env} has no {files[fmt]}; recreate it with this crossenv "
                                "version (crossenv --clear HOST_PYTHON ENV)")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CrossenvError(f"cannot read {path} ({exc}); recreate the environment "
                                f"(crossenv --clear HOST_PYTHON {env})") from None
    if fmt == "env":
        return _render_env(_env_vars_of(meta))
    if fmt == "json":
        return json.dumps(meta.host, indent=2) + "\n"
    if fmt == "rust":
        return _render_rust(meta.raw.get("rust"))
    source = meta.host_str("sysconfigdata_path")
    if not source:
        raise CrossenvError(f"{env} records no host sysconfigdata; describe the host "
                            "python instead")
    sysroot = meta.host_str("sysroot") or None
    # its flags were accepted (or vouched for with --trust-host-flags) at creation
    host = host_mod.describe(source, sysroot=sysroot, trust_host_flags=True)
    return json.dumps(host_mod.to_build_details(host), indent=2) + "\n"


def describe_host(host: host_mod.HostDescription, fmt: str, *, python: str | None = None,
                  cc: str | None = None, cxx: str | None = None,
                  output_dir: Path | None = None) -> str:
    """Compute one format for *host* (writing every file to *output_dir* if given)."""
    chain = _toolchain(host, cc, cxx)
    where = output_dir or Path(".").absolute()
    place = backends.Place(directory=where, layout=None, python=python)
    generated = backends.generate(host, chain, Options(), place, backends.DESCRIBE,
                                  written=output_dir is not None)
    texts, env = generated.texts(), generated.env
    if output_dir is not None:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            backends.write(output_dir, generated)
        except OSError as exc:
            raise CrossenvError(f"cannot write into --output-dir {output_dir}: "
                                f"{exc.strerror or exc}; pass a writable directory") from None
    if fmt == "meson":
        return texts[meson.FILE_NAME]
    if fmt == "cmake":
        return texts[cmake.FILE_NAME]
    if fmt == "pyo3":
        return texts[cargo.CONFIG_NAME]
    if fmt == "rust":
        try:
            return _render_rust(cargo.rust_choice(host).to_json())
        except ValueError:
            return _render_rust(None)
    if fmt == "env":
        return _render_env(env)
    if fmt == "json":
        return json.dumps(host.to_json(), indent=2) + "\n"
    return json.dumps(host_mod.to_build_details(host), indent=2) + "\n"


def run(args: argparse.Namespace) -> int:
    path = Path(args.HOST_OR_ENV).absolute()
    output_dir = Path(args.output_dir).absolute() if args.output_dir else None
    if path.is_dir() and _is_env(path):
        given = [f"--{name.replace('_', '-')}" for name in ("sysroot", "python", "cc", "cxx",
                                                            "trust_host_flags", "output_dir")
                 if getattr(args, name)]
        if given:  # silently ignoring them would print something else than was asked for
            raise CrossenvError(f"{', '.join(given)} apply to a host python, not to an "
                                f"environment ({path} prints the files made when it was "
                                "created); drop them, or describe the host python instead")
        text = describe_env(path, args.format)
    else:
        host = host_mod.describe(path, sysroot=args.sysroot,
                                 trust_host_flags=args.trust_host_flags)
        text = describe_host(host, args.format, python=args.python, cc=args.cc, cxx=args.cxx,
                             output_dir=output_dir)
    sys.stdout.write(text)
    return 0


__all__ = ["FORMATS", "describe_env", "describe_host", "register", "run"]
