"""Generate the host configuration that cross-python answers with.

Two files go into the cross environment: a sysconfigdata module (the host's
variables with paths moved into the sysroot and the compiler commands replaced
by the cross toolchain) and ``_crossenv_config`` (the few constants the runtime
shim needs at start-up, kept tiny because every start imports it).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import __version__, quoting, sysconfigdata, validate
from .backends import guarded
from .host import HostDescription
from .model import Toolchain

# Variables whose first word is the compiler (or linker driver) for C or C++.
_CC_VARS = ("CC", "LDSHARED", "BLDSHARED", "LINKCC", "MAINCC", "CPP")
_CXX_VARS = ("CXX", "LDCXXSHARED")


def _replace_program(value: str, program: tuple[str, ...]) -> str:
    """Swap the first word of a command line for *program*, keeping its flags."""
    words = value.split(None, 1)
    rest = words[1] if len(words) > 1 else ""
    if (words and words[0] == "-E") or not words:
        rest = value
    return " ".join(filter(None, (shlex.join(program), rest.strip())))


def _extra_cflags(host: HostDescription, include_overlay: Path | None,
                  toolchain: Toolchain) -> list[str]:
    flags = list(toolchain.cflags)
    if include_overlay is not None:
        flags.append(f"-I{include_overlay}")
    return flags


def host_config_vars(
    host: HostDescription,
    toolchain: Toolchain,
    *,
    cross_prefix: Path,
    include_overlay: Path | None = None,
    overrides: Mapping[str, str] = {},
) -> dict[str, Any]:
    """The variables cross-python's ``sysconfig`` reports."""
    # CC/CXX/LDSHARED name crossenv's wrappers, which keep build-machine paths out.
    toolchain = guarded(toolchain, cross_prefix / "crossenv")
    out: dict[str, Any] = dict(host.config_vars)
    # one absolute host path each, validated when the host was described (validate owns
    # the table); lists such as TZPATH and DESTDIRS are reported as the host recorded
    # them (zoneinfo's data does not depend on the architecture)
    for name in validate.PATH_VARS:
        value = out.get(name)
        if isinstance(value, str) and value.startswith("/"):
            out[name] = host.build_path(value)
    out["INCLUDEPY"] = str(host.include_dir)
    for name in _CC_VARS:
        value = out.get(name)
        if name == "CPP":
            out[name] = f"{shlex.join(toolchain.cc)} -E"
        elif isinstance(value, str) and value.strip():
            out[name] = _replace_program(value, toolchain.cc)
        else:
            out[name] = shlex.join(toolchain.cc) + (" -shared" if "SHARED" in name else "")
    cxx = toolchain.cxx or toolchain.cc
    for name in _CXX_VARS:
        value = out.get(name)
        if isinstance(value, str) and value.strip():
            out[name] = _replace_program(value, cxx)
        else:
            out[name] = shlex.join(cxx) + (" -shared" if "SHARED" in name else "")
    out["AR"] = shlex.join(toolchain.ar)
    if toolchain.ranlib:
        out["RANLIB"] = shlex.join(toolchain.ranlib)
    extra = _extra_cflags(host, include_overlay, toolchain)
    if extra:
        for name in ("CFLAGS", "PY_CFLAGS", "CFLAGS_NODIST", "PY_CORE_CFLAGS"):
            if name in out or name == "CFLAGS":
                out[name] = " ".join(filter(None, (str(out.get(name) or ""), *extra)))
    if toolchain.ldflags:
        for name in ("LDFLAGS", "LDSHARED", "LDCXXSHARED", "BLDSHARED"):
            out[name] = " ".join(filter(None, (str(out.get(name) or ""), *toolchain.ldflags)))
    # sysconfig.get_paths() expands include/stdlib from installed_base: point it at
    # the host's prefix so meson/cmake introspection finds the host's headers.
    actual_prefix = str(host.include_dir).rsplit("/include/", 1)[0]
    out["installed_base"] = actual_prefix
    out["installed_platbase"] = actual_prefix
    out["prefix"] = out["exec_prefix"] = str(cross_prefix)
    out["HOST_GNU_TYPE"] = host.host_gnu_type
    out["MULTIARCH"] = host.multiarch or out.get("MULTIARCH", "")
    if toolchain.kind == "zig":
        from .zig import adapt_config_vars

        adapt_config_vars(out)  # drop the flags zig cc rejects (-Wl,-Bsymbolic-functions)
        if include_overlay is not None:
            # zig cc does not search Debian's multiarch include directory, so Python.h's
            # <aarch64-linux-gnu/python3.11/pyconfig.h> needs the overlay; CFLAGS set by
            # the user replace sysconfig's (setuptools' distutils), so it goes with the
            # compiler, searched last
            after = shlex.join(["-idirafter", str(include_overlay)])
            for name in ("CC", "CXX", "CPP"):
                if isinstance(out.get(name), str) and out[name].strip():
                    out[name] = f"{out[name]} {after}"
    for key, value in overrides.items():
        out[key] = value
    return out


def render_sysconfigdata(config_vars: Mapping[str, Any], host: HostDescription) -> str:
    origin = str(host.sysconfigdata_path) if host.sysconfigdata_path else "build-details.json"
    return sysconfigdata.render(config_vars, header=f"host data from {origin}")


def render_runtime_config(
    host: HostDescription,
    *,
    sysconfigdata_file: Path,
    build_python: Path,
    env_dir: Path,
    libc: tuple[str, str] | None = None,
    platform_tags: list[str] | None = None,
    build_env: Mapping[str, str] | None = None,
    import_hooks: Mapping[str, str] | None = None,
) -> str:
    """The ``_crossenv_config`` module: plain literals only, read at every start.

    ``--machine`` is already in *host* (applied once, when the host was described)."""
    machine, platform = host.machine, host.platform
    info = {
        "tool": "crossenv",
        "version": __version__,
        "host_platform": platform,
        "host_machine": machine,
        "host_gnu_type": host.host_gnu_type,
        "multiarch": host.multiarch,
        "sysroot": str(host.sysroot) if host.sysroot else None,
        "ext_suffix": host.ext_suffix,
        "env": str(env_dir),
        "build_python": str(build_python),
    }
    values = {
        "SYSTEM": host.system,
        "MACHINE": machine,
        "HOST_PLATFORM": platform,
        "MULTIARCH": host.multiarch,
        "POINTER_BITS": host.pointer_size * 8,
        "BYTEORDER": host.byteorder,
        "SYSCONFIGDATA": str(sysconfigdata_file),
        "SYSCONFIGDATA_NAME": host.sysconfigdata_name,
        "BUILD_PYTHON": str(build_python),
        "LIBC": list(libc) if libc else None,
        "PLATFORM_TAGS": list(platform_tags or ()),
        "INFO": info,
        "BUILD_ENV": dict(build_env or {}),
        "IMPORT_HOOKS": dict(import_hooks or {}),
    }
    lines = ['"""Generated by crossenv: the host facts the runtime shim needs."""', ""]
    lines += [f"{key} = {quoting.python(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"
