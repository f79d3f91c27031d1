"""PEP 739 ``build-details.json``, both ways: a host described from one, and one
written for a host.

A host that ships ``build-details.json`` can be described without a sysconfigdata
file; ``crossenv describe`` writes one for hosts that do not. The file is untrusted
data like a sysconfigdata, so every field is type-checked before it becomes the
sysconfig variables :func:`crossenv.hostdescription.from_config_vars` validates.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from . import arches, suffixes, validate
from .errors import HostError
from .hostdescription import HostDescription, from_config_vars

_BD_HOW = validate.BUILD_DETAILS_HOW
_field = validate.json_field


def from_build_details(path: Path, *, sysroot: Path | None = None,
                       machine: str | None = None, trust_host_flags: bool = False,
                       overridden: Collection[str] = ()) -> HostDescription:
    """Describe a host from a PEP 739 ``build-details.json``.

    The file has no compiler settings, so the description carries a synthetic
    set of config vars with just what the generated sysconfigdata needs. Every
    field is type-checked: the file is untrusted data like a sysconfigdata.
    """
    data = validate.json_document(path)
    base_prefix = _field(data, "base_prefix", str, path)
    platform = validate.name(_field(data, "platform", str, path), validate.PLATFORM,
                             "build-details.json platform", _BD_HOW)
    version = _field(data, "language.version", str, path)
    flags = _field(data, "abi.flags", list, path, default=[])
    if not all(isinstance(flag, str) for flag in flags):
        raise HostError(f"{path} is not a PEP 739 build-details.json (abi.flags is not a "
                        f"list of strings); {_BD_HOW}")
    multiarch = _field(data, "implementation._multiarch", (str, type(None)), path, default="")
    ext_suffix = _field(data, "abi.extension_suffix", str, path, default=".so")
    headers = _field(data, "c_api.headers", str, path,
                     default=f"{base_prefix}/include/python{version}")
    pkgconfig = _field(data, "c_api.pkgconfig_path", str, path, default="")
    dynamic = _field(data, "libpython.dynamic", str, path, default="") or None
    static = _field(data, "libpython.static", str, path, default="")
    arch = platform.split("-", 1)[-1]
    if machine is None:
        validate.name(arch, validate.MACHINE, f"build-details.json platform {platform!r} machine",
                      f"pass --machine, or {_BD_HOW}")
    gnu = multiarch or f"{arch}-linux-gnu"
    soabi = ext_suffix[1:-3] if ext_suffix.startswith(".") and ext_suffix.endswith(".so") else ""
    config_vars: dict[str, Any] = {
        "VERSION": version,
        "prefix": base_prefix,
        "exec_prefix": base_prefix,
        "ABIFLAGS": "".join(flags),
        "MULTIARCH": multiarch or "",
        "HOST_GNU_TYPE": gnu,
        "MACHDEP": platform.split("-", 1)[0],
        "SOABI": soabi,
        "EXT_SUFFIX": ext_suffix,
        "INCLUDEPY": headers,
        "LIBDIR": os.path.dirname(dynamic) if dynamic else f"{base_prefix}/lib",
        "Py_ENABLE_SHARED": 1 if dynamic else 0,
        "INSTSONAME": os.path.basename(dynamic) if dynamic else "",
        "LIBRARY": os.path.basename(static),
        "LIBPC": pkgconfig,
        "CC": "cc", "CXX": "c++", "AR": "ar", "LDSHARED": "cc -shared",
        "LDCXXSHARED": "c++ -shared", "CCSHARED": "-fPIC", "CFLAGS": "", "LDFLAGS": "",
        "OPT": "-DNDEBUG -g -O2 -Wall", "ARFLAGS": "rcs",
    }
    row = arches.for_host(machine or arch, gnu)
    if row is not None:
        config_vars["SIZEOF_VOID_P"] = row.pointer_size
    actual = str(path.parent)  # build-details.json lives in the stdlib dir
    prefix_guess = Path(actual).parent.parent if Path(actual).name.startswith("python") else None
    return from_config_vars(config_vars, actual_prefix=str(prefix_guess) if prefix_guess else None,
                            sysroot=sysroot, sysconfigdata_path=None, machine=machine or arch,
                            trust_host_flags=trust_host_flags, overridden=overridden)


def to_build_details(host: HostDescription) -> dict[str, Any]:
    """Write the host as a PEP 739 ``build-details.json`` document (schema 1.0)."""
    lib = None
    if host.libpython_name and host.libpython_dir is not None:
        lib = f"{_host_view(host, host.libpython_dir)}/{host.libpython_name}"
    details: dict[str, Any] = {
        "schema_version": "1.0",
        "base_prefix": host.prefix,
        "platform": host.platform,
        "language": {"version": host.version_str},
        "implementation": {
            "name": host.implementation,
            "cache_tag": f"{host.implementation}-{host.version[0]}{host.version[1]}",
            "version": {"major": host.version[0], "minor": host.version[1]},
            "_multiarch": host.multiarch,
        },
        "abi": {"flags": list(host.abiflags), "extension_suffix": host.ext_suffix,
                "stable_abi_suffix": ".abi3.so"},
        "suffixes": {"source": [".py"], "bytecode": [".pyc"],
                     "extensions": suffixes.for_config_vars(host.version, host.ext_suffix,
                                                            host.config_vars)},
        "c_api": {"headers": _host_view(host, host.include_dir)},
    }
    if lib:
        key = "dynamic" if host.shared else "static"
        details["libpython"] = {key: lib, "link_extensions": False}
    return details


def _host_view(host: HostDescription, build_path: Path) -> str:
    text = str(build_path)
    if host.sysroot is not None and text.startswith(str(host.sysroot) + "/"):
        return text[len(str(host.sysroot)):]
    return text
