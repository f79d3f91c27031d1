"""The host description: what a cross build needs to know about the host interpreter.

Everything downstream (toolchain, generated sysconfigdata, runtime shim, meson and
cmake files, wheel tags) is computed from one :class:`HostDescription`, made here from
the host's sysconfig variables (:func:`from_config_vars`). Those come from somebody
else's sysroot, so this is also where each value is validated (crossenv.validate) and
every recorded path is mapped to where it is on this machine and kept inside the
sysroot: once made, a description can be trusted. Finding the variables (an
interpreter, a prefix, a file) is crossenv.host's; PEP 739 is crossenv.builddetails'.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from . import arches, validate
from .errors import HostError

_MACHDEP_TO_SYSTEM = {
    "linux": "Linux", "darwin": "Darwin", "freebsd": "FreeBSD", "android": "Android",
    "ios": "iOS", "emscripten": "Emscripten", "wasi": "WASI",
}


def gnu_cpu_to_machine(host_gnu_type: str) -> str:
    """Return the ``uname -m`` value of a GNU triplet such as ``arm-unknown-linux-gnueabihf``
    (the cpu field itself for an architecture crossenv.arches does not know)."""
    found = arches.find_triplet(host_gnu_type)
    return found.machine if found is not None else host_gnu_type.split("-", 1)[0]


@dataclasses.dataclass(frozen=True)
class HostDescription:
    """What a cross build needs to know about the host interpreter.

    Paths named ``*_dir`` are *build-machine* paths (inside the sysroot);
    ``prefix`` is the host's own view (``/usr`` for Debian).
    """

    version: tuple[int, int]
    implementation: str
    abiflags: str
    multiarch: str | None
    host_gnu_type: str
    system: str
    machine: str
    byteorder: str
    pointer_size: int
    ext_suffix: str
    soabi: str
    platform: str
    prefix: str
    sysroot: Path | None
    include_dir: Path
    platinclude_dir: Path
    libpython_name: str | None
    libpython_dir: Path | None
    shared: bool
    sysconfigdata_name: str
    sysconfigdata_path: Path | None
    config_vars: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)
    #: where the host's prefix is on this machine when it is outside the sysroot (a
    #: conda-style PREFIX): paths under ``prefix`` are found there, not in the sysroot
    prefix_dir: str | None = None

    @property
    def triplet(self) -> str:
        """The GNU triplet without a vendor, as cross toolchains are usually named."""
        return arches.normalize_triplet(self.host_gnu_type)

    @property
    def arch(self) -> arches.Arch | None:
        """The host's row of the architecture table (None for one it does not know)."""
        return arches.for_host(self.machine, self.host_gnu_type)

    @property
    def version_str(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    def build_path(self, host_path: str) -> str:
        """Map a path as the host sees it (``/usr/include``) to where it is here."""
        if self.prefix_dir is not None and validate.under(host_path, self.prefix):
            return self.prefix_dir + host_path[len(self.prefix.rstrip("/")):]
        return _map_path(host_path, self.prefix, self._actual_prefix, self.sysroot)

    @property
    def _actual_prefix(self) -> str:
        if self.sysroot is not None:
            return str(self.sysroot) + self.prefix if self.prefix != "/" else str(self.sysroot)
        return self.prefix

    def to_json(self) -> dict[str, Any]:
        """A JSON-able summary (no raw config vars) recorded in ``ENV/crossenv.json``."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            if field.name == "config_vars":
                continue
            value = getattr(self, field.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[field.name] = value
        out["triplet"] = self.triplet
        return out


def _map_path(host_path: str, prefix: str, actual_prefix: str, sysroot: Path | None) -> str:
    if not host_path.startswith("/"):
        return host_path
    if prefix != actual_prefix and (host_path == prefix or host_path.startswith(prefix + "/")):
        return actual_prefix + host_path[len(prefix):]
    if sysroot is not None:
        return str(sysroot) + host_path
    return host_path


def _str(config_vars: Mapping[str, Any], name: str, default: str = "") -> str:
    value = config_vars.get(name)
    return value if isinstance(value, str) else default


def from_config_vars(
    config_vars: Mapping[str, Any],
    *,
    actual_prefix: str | None = None,
    sysroot: Path | None = None,
    sysconfigdata_path: Path | None = None,
    machine: str | None = None,
    trust_host_flags: bool = False,
    overridden: Collection[str] = (),
) -> HostDescription:
    """Build a description from sysconfig variables.

    *actual_prefix* is where the host's ``prefix`` is found on this machine; when it
    ends with the recorded prefix the rest is taken as the sysroot (Debian:
    ``SYSROOT/usr``). An explicit *sysroot* wins.

    Every value is untrusted (:mod:`crossenv.validate`): a bad one is refused here,
    before anything is generated from it. Compiler flags that run other programs
    are refused unless *trust_host_flags*, or the variable is *overridden* by the
    user (``--config-var``).
    """
    if machine is not None:
        validate.machine(machine, option=True)
    validate.compiler_flags(config_vars, trusted=trust_host_flags, overridden=overridden)
    version_text = _str(config_vars, "VERSION") or _str(config_vars, "py_version_short")
    match = re.fullmatch(r"(\d{1,3})\.(\d{1,3})", version_text)
    if not match:
        raise HostError("the host sysconfigdata has no VERSION; pass the host's real "
                        "_sysconfigdata_*.py")
    version = (int(match.group(1)), int(match.group(2)))
    host_gnu_type = _str(config_vars, "HOST_GNU_TYPE")
    multiarch = _str(config_vars, "MULTIARCH") or None
    if not host_gnu_type:
        if not multiarch:
            raise HostError("the host sysconfigdata names neither HOST_GNU_TYPE nor MULTIARCH; "
                            "pass --machine and a complete _sysconfigdata_*.py")
        host_gnu_type = multiarch
    validate.name(host_gnu_type, validate.TRIPLET, "HOST_GNU_TYPE")
    if multiarch is not None:
        validate.name(multiarch, validate.TRIPLET, "MULTIARCH")
    abiflags = validate.name(_str(config_vars, "ABIFLAGS"), validate.ABIFLAGS, "ABIFLAGS")
    machdep = validate.name(_str(config_vars, "MACHDEP", "linux"), validate.MACHDEP, "MACHDEP")
    system = _MACHDEP_TO_SYSTEM.get(machdep, machdep.capitalize())
    machine = validate.machine(machine or gnu_cpu_to_machine(host_gnu_type))
    row = arches.for_host(machine, host_gnu_type)
    byteorder = row.byteorder if row else arches.byteorder(machine)
    pointer_size = validate.pointer_size(config_vars.get("SIZEOF_VOID_P")) or (
        row.pointer_size if row else arches.pointer_size(machine))
    soabi = _str(config_vars, "SOABI")
    if soabi:
        validate.name(soabi, validate.SOABI, "SOABI")
    ext_suffix = _str(config_vars, "EXT_SUFFIX") or (f".{soabi}.so" if soabi else ".so")
    validate.name(ext_suffix, validate.EXT_SUFFIX, "EXT_SUFFIX")
    recorded_prefix = validate.host_prefix(_str(config_vars, "prefix") or "/usr")

    if sysroot is None and actual_prefix is not None:
        actual = actual_prefix.rstrip("/")
        inside = recorded_prefix != "/" and actual.endswith(recorded_prefix)
        if inside and actual != recorded_prefix:
            sysroot = Path(actual[: -len(recorded_prefix)] or "/")
    real_prefix = actual_prefix.rstrip("/") if actual_prefix else None
    # A host prefix found outside --sysroot (a conda-style PREFIX): its paths are where
    # they were found, not re-rooted under the sysroot where none of them exists.
    outside = _outside_prefix(real_prefix, sysroot)
    if sysroot is not None and outside is None:
        real_prefix = str(sysroot) + (recorded_prefix if recorded_prefix != "/" else "")

    def mapped(name: str, fallback: str) -> Path:
        value = _str(config_vars, name) or fallback
        if not value.startswith("/"):
            raise HostError(f"the host's {name} {validate.shown(value)} is not an absolute "
                            "path; pass the host's real _sysconfigdata_*.py")
        root = sysroot
        if outside is not None and validate.under(value, recorded_prefix):
            root = Path(outside)  # found as given (or moved with its prefix)
        path = validate.host_path(
            _map_path(value, recorded_prefix, real_prefix or recorded_prefix,
                      sysroot if root == sysroot else None),
            name, root=root)
        if root is not None:
            validate.stays_inside(path, root, name)
        return path

    include = mapped("INCLUDEPY", f"{recorded_prefix}/include/python{version_text}")
    platinclude = include
    if multiarch:
        # Debian moves pyconfig.h to include/<multiarch>/python3.X and leaves a
        # dispatching wrapper in include/python3.X.
        candidate = Path(_map_path(f"{recorded_prefix}/include/{multiarch}/python{version_text}"
                                   f"{abiflags}", recorded_prefix,
                                   real_prefix or recorded_prefix,
                                   sysroot if outside is None else None))
        if (candidate / "pyconfig.h").is_file():
            if sysroot is not None and outside is None:
                validate.stays_inside(candidate, sysroot, "pyconfig.h directory")
            platinclude = candidate
    for name in validate.PATH_VARS:  # every other path-like value: checked alike
        if name not in ("INCLUDEPY", "LIBDIR") and _str(config_vars, name):
            mapped(name, "")
    shared = bool(config_vars.get("Py_ENABLE_SHARED"))
    libname = _str(config_vars, "INSTSONAME") if shared else _str(config_vars, "LIBRARY")
    libname = libname or _str(config_vars, "LDLIBRARY") or None
    for key in ("INSTSONAME", "LIBRARY", "LDLIBRARY"):  # each a file name in LIBDIR
        if _str(config_vars, key):
            validate.name(config_vars[key], validate.FILE_NAME, f"library name ({key})")
    libdir = mapped("LIBDIR", f"{recorded_prefix}/lib") if libname else None
    platform = (
        f"{system.lower()}-{machine}" if system in ("Linux", "FreeBSD")
        else _str(config_vars, "_PYTHON_HOST_PLATFORM") or f"{machdep}-{machine}"
    )
    validate.name(platform, validate.PLATFORM, "platform")
    implementation = "cpython" if "cpython" in soabi or not soabi else soabi.split("-")[0]
    validate.name(implementation, validate.IMPLEMENTATION, "implementation (SOABI)")
    name = _sysconfigdata_name(config_vars, machdep, multiarch)
    return HostDescription(
        version=version,
        implementation=implementation,
        abiflags=abiflags,
        multiarch=multiarch,
        host_gnu_type=host_gnu_type,
        system=system,
        machine=machine,
        byteorder=byteorder,
        pointer_size=pointer_size,
        ext_suffix=ext_suffix,
        soabi=soabi,
        platform=platform,
        prefix=recorded_prefix,
        sysroot=sysroot,
        include_dir=include,
        platinclude_dir=platinclude,
        libpython_name=libname,
        libpython_dir=libdir,
        shared=shared,
        sysconfigdata_name=name,
        sysconfigdata_path=sysconfigdata_path,
        config_vars=dict(config_vars),
        prefix_dir=outside,
    )


def _outside_prefix(prefix: str | None, sysroot: Path | None) -> str | None:
    """*prefix* if it is a host prefix outside *sysroot* (never the build machine's own
    ``/usr``, ``/usr/local`` or ``/``), else None."""
    if prefix is None or sysroot is None or prefix in ("", "/", "/usr", "/usr/local"):
        return None
    real = os.path.realpath(prefix)
    if validate.under(real, os.path.realpath(sysroot)) or not os.path.isdir(real):
        return None
    return prefix


def _sysconfigdata_name(config_vars: Mapping[str, Any], machdep: str, multiarch: str | None) -> str:
    abiflags = _str(config_vars, "ABIFLAGS")
    return f"_sysconfigdata_{abiflags}_{machdep}_{multiarch or ''}"
