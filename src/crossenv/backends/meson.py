"""Meson cross file for the host, and how meson-python builds pick it up.

meson-python builds started from a cross environment (by pip or pypa/build) run
their PEP 517 hooks in cross-python. The ``mesonpy`` import hook
(``_crossenv_meson.patch_mesonpy``) adds ``--cross-file`` to ``meson setup``
there, so no user flag is needed. meson itself keeps running under the native
build python (its console-script shebang) and so detects the *build* machine
correctly; the host is described by this file, and ``[binaries] python`` is
cross-python so that meson's python introspection reports the host's
``EXT_SUFFIX``, include directory and platform.

``CROSSENV_MESON_CROSS_FILE`` names the file; set it to an empty string to
build natively-configured (the hook then does nothing).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Union

from .. import arches, quoting
from ..host import HostDescription
from ..model import Toolchain
from ._protocol import TEXT, Files, Inputs, Place
from ._shared import pkg_config_libdirs, qemu_command

FILE_NAME = "meson-cross.ini"
ENV_VAR = "CROSSENV_MESON_CROSS_FILE"

Value = Union[str, bool, Sequence[str]]


def cpu_family(host: HostDescription) -> str:
    """meson's cpu_family of the host (crossenv.arches; the machine for unknown ones)."""
    row = host.arch
    if row is None:
        return "arm" if host.machine.startswith("arm") else host.machine
    return row.meson_cpu_family


def build_machine() -> dict[str, Value]:
    """This machine, as meson names it (detected natively, at creation time)."""
    machine = os.uname().machine
    row = arches.find_machine(machine)
    family = row.meson_cpu_family if row else machine
    return {"system": sys.platform.rstrip("0123456789") or "linux", "cpu_family": family,
            "cpu": machine, "endian": sys.byteorder}


@functools.lru_cache(maxsize=32)
def _compiler_macros(cc: tuple[str, ...]) -> dict[str, str]:
    try:
        proc = subprocess.run([*cc, "-dM", "-E", "-x", "c", os.devnull], capture_output=True,
                              text=True, timeout=60, check=False)
    except OSError:
        return {}
    macros: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] == "#define":
            macros[parts[1]] = parts[2] if len(parts) > 2 else ""
    return macros


def longdouble_format(host: HostDescription, chain: Toolchain | None = None) -> str | None:
    """numpy's ``longdouble_format`` name for the host C ABI.

    Asked from the cross compiler's predefined macros when possible (they are
    the ABI the extension is built for: e.g. IBM double-double on Debian's
    ppc64el, IEEE binary128 on Fedora's); crossenv.arches' glibc ABI otherwise.
    """
    macros = _compiler_macros(tuple(chain.cc)) if chain is not None and chain.cc else {}
    digits = macros.get("__LDBL_MANT_DIG__")
    size = macros.get("__SIZEOF_LONG_DOUBLE__")
    big = macros.get("__BYTE_ORDER__") == "__ORDER_BIG_ENDIAN__" if macros \
        else host.byteorder == "big"
    suffix = "BE" if big else "LE"
    if digits == "53":
        return f"IEEE_DOUBLE_{suffix}"
    if digits == "113":
        return f"IEEE_QUAD_{suffix}"
    if digits == "106":
        return f"IBM_DOUBLE_DOUBLE_{suffix}"
    if digits == "64" and size in ("12", "16"):
        if big:
            return f"MOTOROLA_EXTENDED_{size}_BYTES_BE"
        return f"INTEL_EXTENDED_{size}_BYTES_LE"
    row = host.arch
    return row.longdouble if row else None


def _literal(value: Value) -> str:
    return quoting.meson(value)  # meson's own machine-file rules (no backslash escapes)


def sections(host: HostDescription, chain: Toolchain, *, python: str | None,
             extra_binaries: Mapping[str, Sequence[str]] | None = None,
             ) -> dict[str, dict[str, Value]]:
    """The cross file as ``{section: {key: value}}`` (also used by ``crossenv describe``)."""
    binaries: dict[str, Value] = {"c": list(chain.cc)}
    if chain.cxx:
        binaries["cpp"] = list(chain.cxx)
    if chain.fc:  # scipy's Fortran sources: "'fortran' compiler binary not defined" without
        binaries["fortran"] = list(chain.fc)
    binaries["ar"] = list(chain.ar)
    if chain.strip:
        binaries["strip"] = list(chain.strip)
    if chain.ranlib:
        binaries["ranlib"] = list(chain.ranlib)
    binaries["pkg-config"] = ["pkg-config"]
    if python:
        binaries["python"] = [python]
        binaries["python3"] = [python]
    wrapper = qemu_command(host)
    if wrapper:
        binaries["exe_wrapper"] = wrapper
    for key, value in (extra_binaries or {}).items():
        binaries[key] = list(value)

    # Always true: meson decides it can run host programs when build and host cpu
    # families match, and meson may run under cross-python (numpy's vendored meson is
    # started with sys.executable), where the build machine would look like the host.
    properties: dict[str, Value] = {"needs_exe_wrapper": True}
    if host.sysroot is not None:
        properties["sys_root"] = str(host.sysroot)
        properties["pkg_config_libdir"] = pkg_config_libdirs(host)
    fmt = longdouble_format(host, chain)
    if fmt:
        properties["longdouble_format"] = fmt

    built_in: dict[str, Value] = {}
    if chain.cflags:
        built_in["c_args"] = list(chain.cflags)
        built_in["cpp_args"] = list(chain.cflags)
    if chain.ldflags:  # a Fortran extension is linked by gfortran: same link flags
        for lang in ("c", "cpp", "fortran") if chain.fc else ("c", "cpp"):
            built_in[f"{lang}_link_args"] = list(chain.ldflags)

    out: dict[str, dict[str, Value]] = {
        "binaries": binaries,
        "properties": properties,
        "host_machine": {
            "system": host.system.lower(),
            "cpu_family": cpu_family(host),
            "cpu": host.machine,
            "endian": host.byteorder,
        },
        # Pinned for the same reason: under cross-python meson would detect the host here.
        "build_machine": build_machine(),
    }
    if built_in:
        out["built-in options"] = built_in
    return out


def render(host: HostDescription, chain: Toolchain, *, python: str | None,
           extra_binaries: Mapping[str, Sequence[str]] | None = None) -> str:
    """The cross file text."""
    lines = [f"# meson cross file generated by crossenv for {host.platform} ({host.triplet})"]
    for name, values in sections(host, chain, python=python,
                                 extra_binaries=extra_binaries).items():
        lines += ["", f"[{name}]"]
        lines += [f"{key} = {_literal(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def files(target: Inputs, place: Place) -> Files:
    """``meson-cross.ini``: the compilers the table chose (the guarded wrappers in an ENV)."""
    extra: dict[str, Sequence[str]] = {}
    if place.layout is not None:
        extra["numpy-config"] = [str(place.layout.cross_python), "-m", "numpy._configtool"]
    compilers = target.compilers
    extra["c"] = list(compilers.cc)
    if compilers.cxx:
        extra["cpp"] = list(compilers.cxx)
    if compilers.fc:
        extra["fortran"] = list(compilers.fc)
    text = render(target.host, target.toolchain, python=place.python, extra_binaries=extra)
    return {FILE_NAME: (text, TEXT)}


def env(target: Inputs, place: Place) -> dict[str, str]:
    """``CROSSENV_MESON_CROSS_FILE`` names the file."""
    return {ENV_VAR: str(place.directory / FILE_NAME)}


def setup_args(cross_file: str | os.PathLike[str]) -> list[str]:
    """Arguments for ``meson setup`` (shown by ``crossenv describe --format env``)."""
    return ["--cross-file", str(cross_file)]
