"""Find and verify the cross toolchain for a host.

A wrong compiler is the most common way a cross build silently produces a wheel
for the build machine, so every toolchain is checked once at creation: it must
compile an object file whose ELF header matches the host (machine, class,
byte order). A compiler the probe cannot judge (a wrapper that compiles nothing,
a stand-in such as ``/bin/true`` in crossenv 1.x's tests) is accepted only when the
user says so with ``--no-verify-toolchain``; the probe still runs then and its
finding is logged as a warning, so the log says what was not checked.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from elftools.common.exceptions import ELFError

from . import _proc, arches, elfarch
from .errors import ToolchainError
from .host import HostDescription
from .machine import build_machine
from .manylinux import Glibc
from .model import Toolchain

KINDS = ("auto", "gnu", "clang", "zig")

#: the option that turns a failed probe into a warning (named in every probe error)
SKIP_OPTION = "--no-verify-toolchain"
_SKIP_HINT = f"(or pass {SKIP_OPTION} to use it unchecked)"

logger = logging.getLogger("crossenv")


def _words(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:  # "No closing quotation", "No escaped character"
            raise ToolchainError(f"cannot split the compiler command {value!r} into words "
                                 f"({str(exc).lower()}); balance its quotes") from None
    return tuple(value)


def _with_sysroot(words: tuple[str, ...], sysroot: Path | None) -> tuple[str, ...]:
    if not words or sysroot is None or any(w.startswith("--sysroot") for w in words):
        return words
    return (*words, f"--sysroot={sysroot}")


def _gnu_prefixes(host: HostDescription) -> list[str]:
    seen: list[str] = []
    for name in (host.triplet, host.multiarch, host.host_gnu_type):
        if name and f"{name}-" not in seen:
            seen.append(f"{name}-")
    return seen


def gfortran(host: HostDescription, prefix: str) -> tuple[str, ...]:
    """The GNU Fortran cross compiler, if installed: ``<triplet>-gfortran`` named after
    the host's row of crossenv.arches (Debian's ``gfortran-<triplet>`` package), else
    after the C compiler's *prefix*; () when neither is on PATH. Fortran is optional
    (few extensions have it), so its absence is said only when a build needs it, by
    the build tool ("'fortran' compiler binary not defined in cross file")."""
    names = [f"{host.arch.triplet}-gfortran"] if host.arch is not None else []
    names.append(f"{prefix}gfortran")
    for name in dict.fromkeys(names):
        if shutil.which(name):
            return (name,)
    return ()


def _gnu(host: HostDescription) -> Toolchain | None:
    for prefix in _gnu_prefixes(host):
        cc = shutil.which(prefix + "gcc")
        if not cc:
            continue
        cxx = shutil.which(prefix + "g++")
        ar = shutil.which(prefix + "gcc-ar") or shutil.which(prefix + "ar")
        return Toolchain(
            kind="gnu", triplet=prefix[:-1], cc=(prefix + "gcc",),
            cxx=(prefix + "g++",) if cxx else (), ar=(Path(ar).name,) if ar else ("ar",),
            ranlib=(prefix + "gcc-ranlib",) if shutil.which(prefix + "gcc-ranlib") else (),
            strip=(prefix + "strip",) if shutil.which(prefix + "strip") else (),
            ldflags=host.arch.gcc_link_flags if host.arch is not None else (),
            fc=gfortran(host, prefix),
        )
    return None


def _clang(host: HostDescription) -> Toolchain | None:
    if not shutil.which("clang"):
        return None
    target = f"--target={host.triplet}"
    return Toolchain(
        kind="clang", triplet=host.triplet, cc=("clang", target),
        cxx=("clang++", target) if shutil.which("clang++") else (),
        ar=("llvm-ar",) if shutil.which("llvm-ar") else ("ar",),
        strip=("llvm-strip",) if shutil.which("llvm-strip") else (),
    )


def _apply_overrides(
    base: Toolchain, cc: tuple[str, ...], cxx: tuple[str, ...], ar: tuple[str, ...]
) -> Toolchain:
    return dataclasses.replace(base, cc=cc or base.cc, cxx=cxx or base.cxx, ar=ar or base.ar)


def find(
    host: HostDescription,
    *,
    kind: str = "auto",
    cc: str | None = None,
    cxx: str | None = None,
    ar: str | None = None,
    sysroot: Path | None = None,
    environ: Mapping[str, str] | None = None,
    relative: bool = False,
    glibc: Glibc | str | None = None,
    verify: bool = True,
    unverified_ok: bool = False,
) -> Toolchain:
    """Pick the toolchain: explicit options, then ``CC``/``CXX``/``AR``, then a search.

    With *verify* the C compiler is probed (:func:`probe`); a failed probe raises
    :class:`ToolchainError`, or with *unverified_ok* (``--no-verify-toolchain``) is
    only logged as a warning.
    """
    env = os.environ if environ is None else environ
    cc_words = _words(cc) or _words(env.get("CC"))
    cxx_words = _words(cxx) or _words(env.get("CXX"))
    ar_words = _words(ar) or _words(env.get("AR"))
    sysroot = sysroot if sysroot is not None else host.sysroot

    if kind == "zig":
        from . import zig  # optional dependency, imported only when asked for

        found: Toolchain | None = zig.toolchain(host, glibc=glibc)
        sysroot = None  # zig ships its own libc headers; the sysroot's would be too new
    elif kind == "clang":
        found = _clang(host)
    elif kind == "gnu":
        found = _gnu(host)
    elif kind == "auto":
        found = _gnu(host) or (None if cc_words else _clang(host))
    else:
        raise ToolchainError(f"unknown toolchain {kind!r}; choose one of {', '.join(KINDS)}")

    if found is None and not cc_words:
        names = " or ".join(p + "gcc" for p in _gnu_prefixes(host))
        raise ToolchainError(
            f"no cross compiler for {host.triplet} found on PATH (looked for {names}); "
            f"{_install_hint(host, 'gcc')} or pass --cc")
    if found is None:
        found = Toolchain(kind="custom", triplet=host.triplet, cc=cc_words, cxx=cxx_words,
                          ar=ar_words or ("ar",))
    else:
        found = _apply_overrides(found, cc_words, cxx_words, ar_words)
    if relative:
        found = dataclasses.replace(
            found, cc=_relative(found.cc), cxx=_relative(found.cxx), ar=_relative(found.ar),
            fc=_relative(found.fc))
    if found.kind in ("gnu", "clang", "custom") and sysroot is not None:
        found = dataclasses.replace(found, cc=_with_sysroot(found.cc, sysroot),
                                    cxx=_with_sysroot(found.cxx, sysroot),
                                    fc=_with_sysroot(found.fc, sysroot))
    found = dataclasses.replace(found, sysroot=sysroot)
    if verify:
        problem = probe(found, host)
        if problem and unverified_ok:
            logger.warning("toolchain not verified (%s): %s", SKIP_OPTION, problem)
        elif problem:
            raise ToolchainError(f"{problem} {_SKIP_HINT}")
    return found


def missing_cxx(chain: Toolchain, host: HostDescription) -> str | None:
    """The warning for a toolchain without a C++ compiler, or None.

    Creation goes on (most extensions are C), but a C++ build would fail much later
    with another tool's words (meson: "'cpp' compiler binary not defined in cross file").
    """
    if chain.cxx or chain.kind == "zig":
        return None
    if chain.kind == "clang":
        return ("no C++ compiler for the host (clang++ is not on PATH): C++ extensions "
                "will not build; install clang or pass --cxx")
    program = f"{chain.triplet}-g++" if chain.kind == "gnu" else "--cxx"
    return (f"no C++ compiler for {host.triplet} ({program} is not on PATH): C++ extensions "
            f"will not build; {_install_hint(host, 'g++')}, pass --cxx, or use --toolchain zig")


def _install_hint(host: HostDescription, tool: str) -> str:
    """"install PACKAGE (Debian: apt-get install PACKAGE)", the package
    named by the host's row of crossenv.arches (never the host's own triplet, which
    can be one no package has: Debian's armhf Python says armv8l-linux-gnueabihf)."""
    build = build_machine().arch
    package = arches.debian_gcc_package(host.arch, build, tool) if host.arch else None
    if package is None:
        return f"install a {tool} cross compiler for {host.triplet}"
    return f"install {package} (Debian: apt-get install {package})"


def _relative(words: tuple[str, ...]) -> tuple[str, ...]:
    return (os.path.basename(words[0]), *words[1:]) if words else words


def verify_target(chain: Toolchain, host: HostDescription) -> None:
    """Raise :class:`ToolchainError` unless *chain* compiles code for *host*."""
    problem = probe(chain, host)
    if problem:
        raise ToolchainError(f"{problem} {_SKIP_HINT}")


def version(chain: Toolchain) -> str | None:
    """The C compiler's version (``-dumpversion``: ``12`` for Debian's gcc-12), for the
    line that says an environment was made; None if it does not say."""
    try:
        proc = _proc.run([*chain.cc, "-dumpversion"], timeout=60, check=False,
                         error=ToolchainError)
    except ToolchainError:
        return None
    words = proc.stdout.split()
    return words[0] if proc.ok and len(words) == 1 and len(words[0]) < 40 else None


def probe(chain: Toolchain, host: HostDescription) -> str | None:
    """Compile an empty object with *chain*; say what is wrong, or None if it is for *host*."""
    if not chain.cc:
        return "no C compiler configured; pass --cc"
    if not shutil.which(chain.cc[0]):
        return (f"C compiler {chain.cc[0]!r} not found on PATH; install it or pass --cc "
                "with a full path")
    with tempfile.TemporaryDirectory(prefix="crossenv-cc-") as tmp:
        src = Path(tmp, "probe.c")
        src.write_text("int crossenv_probe(void) { return 42; }\n")
        obj = Path(tmp, "probe.o")
        cmd = [*chain.cc, *chain.cflags, "-c", str(src), "-o", str(obj)]
        try:
            proc = _proc.run(cmd, timeout=120, check=False, error=ToolchainError)
        except ToolchainError as exc:  # cannot be started
            return f"{exc}; pass a working --cc"
        if proc.returncode is None:
            return f"{shlex.join(chain.cc)} did not compile a one-line file in 120 s"
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["(no output)"])[0]
            return f"{shlex.join(chain.cc)} cannot compile for the host: {first}"
        try:
            facts = elfarch.read(obj)
        except FileNotFoundError:
            return (f"{shlex.join(chain.cc)} -c succeeded but wrote no object file; "
                    "pass a --cc that compiles C")
        except (OSError, ELFError) as exc:
            return (f"{shlex.join(chain.cc)} -c wrote no ELF object ({exc}); pass a --cc "
                    f"for {host.triplet}")
    expected = host.arch.elf if host.arch is not None else None
    if expected is not None and not expected.matches(facts):
        return (f"{shlex.join(chain.cc)} builds {facts.describe()} code but the host is "
                f"{host.machine} ({expected.describe()}); pass a --cc for {host.triplet}")
    return None
