"""The zig toolchain: ``zig cc`` from the ``ziglang`` package as the host's C/C++ compiler.

zig ships glibc headers and versioned stub libraries for every glibc it knows, so
``zig cc -target aarch64-linux-gnu.2.17`` links extensions that need nothing newer
than glibc 2.17 -- a manylinux2014 wheel without a CentOS 7 sysroot. That is also
why the sysroot's libc is never shown to zig: Debian 12's glibc 2.36 headers
would pull in newer symbols (``fcntl64``, ``__isoc23_*``) and break the promise.
Only the host's Python headers are used (``-I`` flags from the generated
sysconfigdata plus crossenv's include overlay for Debian's multiarch pyconfig.h).

The compiler is the ``zig`` binary inside the installed ``ziglang`` package,
called by absolute path with ``cc``/``c++``/``ar`` and the target as mandatory
arguments. That is exactly what ``python -m ziglang`` execs, minus a Python
start-up per compiler call (builds invoke the compiler hundreds of times), and,
unlike wrapper scripts in ENV, it needs no per-environment files, so one
toolchain serves ``crossenv HOST ENV1 ENV2`` and survives ``--clear-cross``.
Every consumer accepts a compiler with arguments (sysconfig's ``CC``, meson
lists, CMake's ``CC`` variable, the cc crate). The environment that ran crossenv
must stay installed -- as with ``sys.executable -m ziglang`` or a wrapper.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from pathlib import Path
from typing import Any

from . import tags
from .errors import ToolchainError
from .host import HostDescription
from .manylinux import Glibc
from .model import Toolchain

logger = logging.getLogger("crossenv")

def zig_executable() -> str:
    """Absolute path of the ``zig`` binary: the ziglang package's, else ``zig`` on PATH."""
    spec = importlib.util.find_spec("ziglang")
    if spec is not None and spec.origin:
        candidate = Path(spec.origin).parent / "zig"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("zig")
    if found:
        return found
    raise ToolchainError(
        "--toolchain zig needs the ziglang package in the Python running crossenv; "
        "install it with: pip install 'crossenv[zig]' (or pip install ziglang)")


def zig_target(host: HostDescription, glibc: tuple[int, int] | None) -> str:
    """zig's ``-target`` for the host: ``aarch64-linux-gnu.2.17``, ``arm-linux-gnueabihf``."""
    if host.system != "Linux":
        raise ToolchainError(f"--toolchain zig supports Linux hosts; this host is {host.system}")
    row = host.arch
    if row is None or row.zig_target is None:
        raise ToolchainError(f"zig has no target for {host.triplet}; use --toolchain gnu")
    fields = host.triplet.split("-")
    abi = fields[-1] if len(fields) >= 3 else "gnu"
    cpu = row.zig_target.split("-", 1)[0]
    if abi.startswith("musl"):
        return f"{cpu}-linux-{abi}"
    if not abi.startswith("gnu"):
        raise ToolchainError(f"zig has no target for the {abi!r} ABI of {host.triplet}")
    target = row.zig_target
    if glibc is None:
        return target
    oldest = row.zig_min_glibc
    if glibc < oldest:
        raise ToolchainError(
            f"zig has no glibc older than {oldest[0]}.{oldest[1]} for {host.triplet}; "
            f"pass --manylinux {oldest[0]}_{oldest[1]} or newer")
    return f"{target}.{glibc[0]}.{glibc[1]}"


def toolchain(host: HostDescription, *, glibc: Glibc | str | None = None) -> Toolchain:
    """The zig toolchain for *host*, linking against *glibc* (a :class:`Glibc`, or a
    ``--manylinux`` spelling: ``2_17``, ``manylinux2014``).

    Without a declared version the sysroot's glibc is targeted, so zig builds
    what gcc would but with its promise checked by zig's versioned stubs; when
    neither is known zig's default is used and wheels keep ``linux_*`` tags.
    """
    zig = zig_executable()
    version: Glibc | None
    if isinstance(glibc, tuple):
        version = Glibc(*glibc)
    elif glibc:
        try:
            version = Glibc.parse(glibc)
        except ValueError as exc:
            raise ToolchainError(str(exc)) from None
    else:
        version = tags.glibc_version(host)
        if version is not None:
            logger.info("zig targets the sysroot's glibc %d.%d (pass --manylinux to choose)",
                        *version)
    target = zig_target(host, version)
    # a musl target names no glibc: nothing is promised then
    promised = version if version is not None and target != zig_target(host, None) else None
    # zig cc enables UBSan traps when no -O is given (configure probes, meson's
    # debug builds); a trap in a host extension is a SIGILL nobody can debug.
    common = ("-target", target, "-fno-sanitize=undefined")
    return Toolchain(
        kind="zig", triplet=target,
        cc=(zig, "cc", *common), cxx=(zig, "c++", *common),
        ar=(zig, "ar"), ranlib=(zig, "ranlib"), strip=(),
        glibc=promised,
    )



#: flags in host sysconfig variables that ``zig cc`` rejects -> their replacement words.
#: Debian links python with -Bsymbolic-functions (a start-up optimisation of
#: libpython, not needed by extensions); Ubuntu compiles with -flto=auto.
_REJECTED_FLAGS: dict[str, tuple[str, ...]] = {
    "-Wl,-Bsymbolic-functions": (),
    "-Wl,-O1": (),  # lld ignores it, zig warns on every link
    "-flto=auto": ("-flto",),
    "-ffat-lto-objects": (),
}


def adapt_config_vars(config_vars: dict[str, Any]) -> None:
    """Rewrite the host's compiler and linker flags that ``zig cc`` would refuse."""
    for name, value in list(config_vars.items()):
        if not isinstance(value, str) or not any(flag in value for flag in _REJECTED_FLAGS):
            continue
        words: list[str] = []
        for word in value.split(" "):
            words.extend(_REJECTED_FLAGS.get(word, (word,)))
        config_vars[name] = " ".join(words)
