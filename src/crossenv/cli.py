"""Command line: ``crossenv HOST_PYTHON ENV [options]`` plus a few subcommands.

The create form keeps crossenv 1.x's options and meanings so that existing
scripts keep working; every new capability is either a new option or a
subcommand (``crossenv check WHEEL``), never a changed meaning.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__, arches, log
from .errors import CrossenvError
from .request import CreateRequest

logger = logging.getLogger("crossenv")

#: subcommand name -> module with ``register(subparsers)``; imported only when used.
SUBCOMMANDS = {
    "describe": "crossenv.describe",
    "check": "crossenv.check",
    "repair": "crossenv.repair",
    "provision": "crossenv.provisioncli",
    "provision-rust": "crossenv.rust",
    "run": "crossenv.run",
    "buildwheel": "crossenv.buildwheel.command",
    "cache": "crossenv.sysrootcache",
    "find-header": "crossenv.headers",
}

_EPILOG = """\
subcommands (crossenv SUBCOMMAND --help for their options):
  describe HOST_OR_ENV   print the host description, meson cross file, cmake toolchain,
                         PyO3 config, environment or PEP 739 build-details.json
  check WHEEL...         check that cross-built wheels match their tags
  repair WHEEL...        retag linux_* wheels as manylinux, grafting libraries from the sysroot
  provision [DEST]       download a Debian host Python into a sysroot, without root
  provision-rust         download Debian's rustc/cargo and a host's Rust std, without root
  cache list|prune       the cached sysroots and the envs using them; remove unused ones
  find-header HEADER     the Debian package that ships a header, and the provision command
  run ENV -- CMD...      run a command for the host under qemu-user
  buildwheel [PROJECT]   cibuildwheel's configuration, cross-built: manylinux wheels for
                         aarch64, armv7l, ppc64le, s390x ..., tested under qemu

examples:
  crossenv /opt/sysroot/usr/bin/python3.11 venv
  crossenv --toolchain zig --manylinux 2_17 /opt/sysroot/usr/bin/python3.11 venv
  . venv/bin/activate && pip wheel --no-binary :all: markupsafe
"""


def _env_var(spec: str) -> tuple[str, str, str]:
    name, sep, value = spec.lstrip().partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"invalid --env {spec!r}: use NAME=VALUE (or ?=, +=, :=)")
    op = "="
    if name[-1:] in ("?", "+", ":"):
        op, name = name[-1] + "=", name[:-1]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):  # what sh accepts, not Python
        raise argparse.ArgumentTypeError(
            f"invalid --env variable name {name!r}: use ASCII letters, digits and _, "
            "not starting with a digit")
    return (name, op, value)


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line, like every other crossenv error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"crossenv: error: {message} (see {self.prog} --help)\n")


def _machine(value: str) -> str:
    """``--machine``: a ``uname -m`` value. A GNU triplet means its machine, as the host's
    HOST_GNU_TYPE would (SynoCommunity passes its toolchain's ``aarch64-unknown-linux-gnueabi``;
    crossenv 1.x took it verbatim, which made the platform ``linux-aarch64-unknown-linux-gnueabi``).
    Anything else is left for :func:`crossenv.validate.machine` to judge."""
    from . import validate

    if "-" in value and validate.TRIPLET.fullmatch(value):
        from .host import gnu_cpu_to_machine

        return gnu_cpu_to_machine(value)
    return value


def _config_var(spec: str) -> tuple[str, str]:
    name, sep, value = spec.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"invalid --config-var {spec!r}: use NAME=VALUE")
    return (name, value)


def build_create_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="crossenv",
        description="Create a cross-compiling virtual environment: ENV/build runs build "
        "tools natively, ENV/cross (cross-python, cross-pip) builds for the host described "
        "by HOST_PYTHON.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("HOST_PYTHON", nargs="?", help="the host python3.X executable, its prefix directory, "
        "its _sysconfigdata_*.py, or a PEP 739 build-details.json (leave out with --arch)")
    add("ENV_DIR", nargs="+", help="the environment directory to create (several allowed)")
    group = parser.add_argument_group("environment (crossenv 1.x options)")
    add = group.add_argument
    add("--cross-prefix", metavar="DIR", help="create the cross environment in DIR instead "
        "of ENV/cross (it will write to DIR/bin)")
    add("--system-site-packages", action="store_true",
        help="give the *build* environment access to the system site-packages")
    add("--clear", action="store_const", const="default", help="replace an existing ENV: "
        "clears build-python, and cross-python unless --cross-prefix was given")
    add("--clear-cross", action="store_const", const="cross", dest="clear",
        help="clear cross-python only")
    add("--clear-build", action="store_const", const="build", dest="clear",
        help="clear build-python only")
    add("--clear-both", action="store_const", const="both", dest="clear",
        help="clear both cross-python and build-python")
    add("--without-pip", action="store_true",
        help="install no pip in either environment (implies --without-cross-pip)")
    add("--without-cross-pip", action="store_true",
        help="install no pip in the cross environment and write no cross-pip scripts")
    add("--conda", action="store_true", help="conda-forge's cross-python layout (implied by a "
        "HOST_PYTHON in a conda prefix): docs/integrations/conda-forge.rst")
    add("--system-prompt", dest="prompt", metavar="PROMPT", help=argparse.SUPPRESS)
    add("--prompt", dest="prompt", metavar="PROMPT",
        help="prompt prefix shown by ENV/bin/activate (default: ENV's name)")
    group = parser.add_argument_group("host Python from Debian (instead of HOST_PYTHON)")
    add = group.add_argument
    add("--arch", metavar="ARCH", help="provision the host Python for this Debian architecture "
        f"({arches.arch_choices()}; as crossenv provision) and create ENV with it")
    add("--python", metavar="X.Y", help="with --arch: the host's CPython version, which picks "
        "the Debian release (3.9 bullseye, 3.11 bookworm, 3.13 trixie, 3.14 sid)")
    add("--release", metavar="NAME", help="with --arch: the Debian release to provision from")
    add("--build-python", metavar="PYTHON", help="the native interpreter of the host's X.Y "
        "(default: found as virtualenv finds one, else provided from Debian; 'debian' "
        "always provides one)")
    group = parser.add_argument_group("host and toolchain")
    add = group.add_argument
    add("--cc", help="the C compiler for the host (default: CC, else <triplet>-gcc on PATH)")
    add("--cxx", help="the C++ compiler for the host (default: CXX, else <triplet>-g++)")
    add("--ar", help="the archiver for the host (default: AR, else <triplet>-gcc-ar)")
    add("--toolchain", choices=("auto", "gnu", "clang", "zig"), default="auto",
        help="toolchain family: GNU <triplet>-gcc, clang --target, or zig cc from the "
        "ziglang package (default: auto = GNU, then clang)")
    add("--relative-toolchain", action="store_true",
        help="call the compilers by name (found on PATH) instead of by absolute path")
    add("--no-verify-toolchain", action="store_true",
        help="accept a C compiler the creation probe cannot verify (a wrapper, a stand-in "
        "such as /bin/true): what the probe found is only logged as a warning")
    add("--compiler-launcher", metavar="CMD", help="run the host C/C++ compilers through "
        "CMD, e.g. ccache, sccache or distcc (default: CROSSENV_COMPILER_LAUNCHER); the "
        "compiler wrappers exec it, so setuptools, meson and CMake builds all use it")
    add("--sysroot", metavar="DIR", help="the host's root directory, passed to the compiler "
        "as --sysroot (default: derived from where HOST_PYTHON lives)")
    add("--sysconfigdata-file", metavar="FILE",
        help="the host's _sysconfigdata_*.py, when the prefix has several")
    add("--config-var", action="append", default=[], type=_config_var, metavar="NAME=VALUE",
        help="override one host sysconfig variable (repeatable), e.g. --config-var CCSHARED=-fPIC")
    add("--env", action="append", default=[], type=_env_var, metavar="NAME=VALUE",
        help="set an environment variable whenever cross-python/cross-pip start (repeatable); "
        "NAME=V sets, NAME?=V sets if unset, NAME+=V appends, NAME:=V appends with ':'")
    add("--machine", type=_machine, help="override the host machine (os.uname().machine), "
        "e.g. armv7l; a GNU triplet such as aarch64-unknown-linux-gnu means its machine")
    add("--trust-host-flags", action="store_true",
        help="accept host compiler flags that run other programs (-wrapper, -fplugin=, -B, "
        "--specs, @file, linker plugins), write files of their choosing (-o, -MF, "
        "-Wp,-MD,FILE, -Wa,--MD, -Wl,-Map=, -Wl,--dependency-file=, -save-temps) or switch "
        "the sysroot (--sysroot=, -isysroot); refused by default, as the sysroot is untrusted")
    add("--host-requirement", action="append", default=[], metavar="REQ",
        dest="host_requirements",
        help="a package whose *host* build builds compile against (repeatable), e.g. "
        "numpy==2.3.5: its headers come from a copy installed for the host; numpy is "
        "handled without this, at the native build requirement's version")
    group = parser.add_argument_group("wheel tags")
    add = group.add_argument
    add("--manylinux", action="append", default=[], metavar="TAG",
        help="declare the host compatible with this manylinux tag (e.g. 2_17 or manylinux2014); "
        "with --toolchain zig it also sets the glibc version compiled against")
    add("--platform-tag", action="append", default=[], metavar="TAG",
        help="accept exactly these platform tags (repeatable), e.g. musllinux_1_2; as in "
        "1.x they replace the default ones (the sysroot's ladder and linux_<arch>)")
    add("--extra-platform-tag", action="append", default=[], metavar="TAG",
        help="accept this platform tag in addition to the default ones (repeatable)")
    add("--no-manylinux", action="store_true",
        help="accept only linux_<arch> wheels, as crossenv 1.x did by default")
    group = parser.add_argument_group("other")
    add = group.add_argument
    add("-v", "--verbose", action="count", default=0, help="more output (repeatable)")
    add("--version", action="version", version=f"crossenv {__version__}")
    return parser


def _configure_logging(verbosity: int) -> None:
    log.configure(verbosity)


def _host_python_and_envs(args: argparse.Namespace) -> tuple[str, list[str]]:
    """HOST_PYTHON, or the one ``--arch`` provisions (then every positional is an ENV)."""
    if args.arch is None:
        if args.python or args.release:
            raise CrossenvError("--python and --release choose a provisioned host Python: "
                                "add --arch ARCH (and leave out HOST_PYTHON)")
        if args.HOST_PYTHON is None:
            raise CrossenvError("give HOST_PYTHON and ENV, or --arch ARCH and ENV")
        return args.HOST_PYTHON, list(args.ENV_DIR)
    from . import provision, releases

    python = releases.parse_python(args.python) if args.python else None
    sysroot = provision.provision_debian(args.arch, python=python, release=args.release)
    logger.info("host python %s (Debian %s)", sysroot.python, sysroot.release)
    envs = [args.HOST_PYTHON, *args.ENV_DIR] if args.HOST_PYTHON else list(args.ENV_DIR)
    return str(sysroot.python), envs


def create_request(args: argparse.Namespace, host_python: str, env: Path) -> CreateRequest:
    """The :class:`~crossenv.request.CreateRequest` the command line asks for: every
    option parsed once, here, before any work."""
    from . import launcher
    from .manylinux import Glibc

    compiler_launcher = launcher.resolve(args.compiler_launcher)  # refused before any work
    try:
        manylinux = tuple(Glibc.parse(value) for value in args.manylinux)
    except ValueError as exc:
        raise CrossenvError(f"{exc}; see crossenv --help for the tag options") from None
    return CreateRequest(
        host=host_python,
        env=env,
        clear=args.clear,
        cross_prefix=Path(args.cross_prefix) if args.cross_prefix else None,
        system_site_packages=args.system_site_packages,
        with_build_pip=not args.without_pip,
        with_cross_pip=not (args.without_pip or args.without_cross_pip),
        prompt=args.prompt,
        env_vars=tuple(args.env),
        build_python=args.build_python,
        sysroot=Path(args.sysroot).absolute() if args.sysroot else None,
        sysconfigdata_file=args.sysconfigdata_file,
        machine=args.machine,
        trust_host_flags=args.trust_host_flags,
        config_vars=tuple(args.config_var),
        host_requirements=tuple(args.host_requirements),
        toolchain=args.toolchain,
        cc=args.cc, cxx=args.cxx, ar=args.ar,
        relative_toolchain=args.relative_toolchain,
        verify_toolchain=not args.no_verify_toolchain,
        compiler_launcher=compiler_launcher,
        manylinux=manylinux,
        platform_tags=tuple(args.platform_tag),
        extra_platform_tags=tuple(args.extra_platform_tag),
        no_manylinux=args.no_manylinux,
        cxx_manylinux=manylinux[0] if manylinux else None,
    )


def run_create(args: argparse.Namespace) -> int:
    from . import api, conda
    from . import toolchain as toolchain_mod
    from .create import generator_options
    from .target import resolve

    # every option is parsed (and a bad one refused) before --arch provisions anything
    request = create_request(args, args.HOST_PYTHON or "", Path(args.ENV_DIR[0]))
    host_python, env_dirs = _host_python_and_envs(args)
    conda_layout = None
    if args.conda or conda.in_conda_prefix(Path(host_python)):
        # conda-forge's layout (--conda, or a host in a conda prefix): its paths are
        # checked before anything is made
        target = resolve(dataclasses.replace(request, host=host_python, env=Path(env_dirs[0])))
        options = generator_options(request, target)
        conda_layout = (target, options, conda.check(env_dirs, options))
    for env_dir in env_dirs:
        env = api.create(dataclasses.replace(request, host=host_python, env=Path(env_dir)))
        if conda_layout is not None:
            target, options, paths = conda_layout
            conda.write(env.layout, target.host, options, str(Path(host_python).absolute()),
                        paths)
        made = env.target
        log.created(env.path, made.host, made.toolchain, toolchain_mod.version(made.toolchain))
    return 0


def build_subcommand_parser(name: str) -> argparse.ArgumentParser:
    parser = _Parser(prog="crossenv")
    subparsers = parser.add_subparsers(dest="command", required=True)
    importlib.import_module(SUBCOMMANDS[name]).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            # argparse mishandles "--" inside subcommands: split it off ourselves.
            extra: list[str] = []
            if "--" in argv:
                cut = argv.index("--")
                argv, extra = argv[:cut], argv[cut + 1:]
            args = build_subcommand_parser(argv[0]).parse_args(argv)
            args.extra_args = extra
            _configure_logging(getattr(args, "verbose", 0) or 0)
            return int(args.func(args) or 0)
        # crossenv 1.x accepted options between and after the positionals
        # (conda-forge: HOST --sysroot S --without-pip ENV --sysconfigdata-file F ...)
        args = build_create_parser().parse_intermixed_args(argv)
        _configure_logging(args.verbose)
        return run_create(args)
    except CrossenvError as exc:
        print(f"crossenv: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("crossenv: interrupted; nothing was created or changed", file=sys.stderr)
        return 130
