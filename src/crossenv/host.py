"""Describe the host: the machine the built extension modules will run on.

Everything downstream (toolchain, generated sysconfigdata, runtime shim, meson and
cmake files, wheel tags) is computed from one :class:`HostDescription`. It is built
from files only — a host interpreter is never run on the build machine — so it
works for hosts that cannot run here at all.

Accepted inputs: the host ``python3.X`` executable, its prefix directory, a
``_sysconfigdata_*.py`` file, or a PEP 739 ``build-details.json``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from . import arches, sysconfigdata, validate
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


def not_cross(host: HostDescription, build_machine: str | None = None) -> str | None:
    """The one-line warning for a host that is the build machine itself, or None.

    The build machine's own Python (its architecture, no sysroot) makes a working
    environment that cross-compiles nothing: the wheels are the ones a venv makes.
    It is only warned about, not refused: crossenv 1.x accepted it, and an x86_64
    host *with* a sysroot (another glibc: ``crossenv --arch amd64``) is a real target.
    """
    build = arches.find_machine(build_machine or os.uname().machine)
    if build is None or host.arch != build:
        return None
    if host.sysroot is not None and os.path.realpath(host.sysroot) != "/":
        return None
    return (f"the host is this machine's own {host.machine} Python (no sysroot), so nothing "
            "is cross-compiled: for native wheels use a venv (python3 -m venv); for "
            "another architecture give its Python or --arch (crossenv --arch arm64 ENV)")


def check_headers(host: HostDescription) -> None:
    """Refuse, at creation, a host with a sysroot whose ``Python.h``/``pyconfig.h`` cannot be
    found, or whose header directories hold a symlink that leaves it: the compiler
    would otherwise find the build machine's (``-I`` of a missing directory is ignored)."""
    if host.sysroot is None:
        return
    how = (f"install the host's libpython{host.version_str}-dev into the sysroot "
           "(crossenv provision --package), or pass the host's own prefix")
    if not (host.include_dir / "Python.h").is_file():
        raise HostError(f"the host's Python.h is not in {host.include_dir} (INCLUDEPY); {how}")
    if not any((d / "pyconfig.h").is_file() for d in (host.platinclude_dir, host.include_dir)):
        raise HostError(f"the host's pyconfig.h is in neither {host.platinclude_dir} nor "
                        f"{host.include_dir}; {how}")
    roots = [host.sysroot]
    for directory in dict.fromkeys((host.include_dir, host.platinclude_dir)):
        root = next((r for r in roots if validate.under(str(directory), str(r))), None)
        validate.no_escaping_links(directory, root or directory)


def _sysconfigdata_name(config_vars: Mapping[str, Any], machdep: str, multiarch: str | None) -> str:
    abiflags = _str(config_vars, "ABIFLAGS")
    return f"_sysconfigdata_{abiflags}_{machdep}_{multiarch or ''}"


# -- discovery ---------------------------------------------------------------------------------

_PY_EXE = re.compile(r"python(\d+(?:\.\d+)?)?[a-z]*$")


def _is_elf(path: Path) -> bool:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the open
            return False
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _find_sysconfigdata(prefix: Path, version: str | None) -> list[Path]:
    found: dict[Path, Path] = {}
    for libdir in ("lib", "lib64"):
        pattern = f"python{version}*" if version else "python3.*"
        for stdlib in sorted((prefix / libdir).glob(pattern)):
            for candidate in sorted(stdlib.glob("_sysconfigdata_*.py")):
                found.setdefault(candidate.resolve(), candidate)
    return list(found.values())


def _choose(candidates: list[Path], where: Path) -> Path:
    if not candidates:
        raise HostError(
            f"no _sysconfigdata_*.py under {where}/lib/python3.*; install the host's "
            "libpython3.X-stdlib there, or pass --sysconfigdata-file"
        )
    if len(candidates) == 1:
        return candidates[0]
    parsed = {path: sysconfigdata.load(path) for path in candidates}
    first = next(iter(parsed.values()))
    if all(values == first for values in parsed.values()):
        return candidates[0]
    names = ", ".join(path.name for path in candidates)
    raise HostError(f"{where} has several different sysconfigdata files ({names}); "
                    "choose one with --sysconfigdata-file")


def describe(
    source: str | os.PathLike[str],
    *,
    sysroot: str | os.PathLike[str] | None = None,
    sysconfigdata_file: str | os.PathLike[str] | None = None,
    machine: str | None = None,
    trust_host_flags: bool = False,
    overridden: Collection[str] = (),
) -> HostDescription:
    """Describe the host from an interpreter, prefix, sysconfigdata or build-details.json.

    *trust_host_flags* and *overridden* are passed to :func:`from_config_vars`.
    """
    checks: dict[str, Any] = {"trust_host_flags": trust_host_flags, "overridden": overridden}
    path = Path(source).absolute()
    root = Path(sysroot).absolute() if sysroot else None
    if root is not None and not root.is_dir():
        raise HostError(f"--sysroot {root} is not a directory; pass the host's root directory")
    if not path.exists() and not path.is_symlink():
        raise HostError(f"host python {path} does not exist; pass the host's python3.X "
                        "executable, its prefix, or its _sysconfigdata_*.py")

    # Not is_file(): a FIFO or device named *.py must reach the loader, which refuses it.
    if not path.is_dir() and path.name.endswith(".json"):
        return from_build_details(path, sysroot=root, machine=machine, **checks)
    if not path.is_dir() and path.suffix == ".py":
        config_vars = sysconfigdata.load(path)
        # SYSROOT/usr/lib/python3.X/_sysconfigdata.py -> actual prefix SYSROOT/usr
        actual = str(path.parent.parent.parent) if path.parent.name.startswith("python") else None
        return from_config_vars(config_vars, actual_prefix=actual, sysroot=root,
                                sysconfigdata_path=path, machine=machine, **checks)

    if path.is_dir():
        prefix, version = path, None
        if (prefix / "usr" / "lib").is_dir() and not (prefix / "lib" / "python3").exists() \
                and not _find_sysconfigdata(prefix, None):
            prefix = prefix / "usr"  # a sysroot was given instead of a prefix
    else:
        resolved = path if _is_elf(path) else path.resolve()
        name_match = _PY_EXE.match(path.name) or _PY_EXE.match(resolved.name)
        if not name_match or not _is_elf(resolved):
            raise HostError(f"{path} is not a Python interpreter; pass the host's python3.X "
                            "executable, its prefix, or its _sysconfigdata_*.py")
        version = name_match.group(1) if name_match.group(1) and "." in name_match.group(1) \
            else None
        prefix = path.parent.parent

    if sysconfigdata_file:
        data_path = Path(sysconfigdata_file).absolute()
        if not data_path.exists():
            raise HostError(f"--sysconfigdata-file {data_path} does not exist")
    else:
        data_path = _choose(_find_sysconfigdata(prefix, version), prefix)
    return from_config_vars(sysconfigdata.load(data_path), actual_prefix=str(prefix),
                            sysroot=root, sysconfigdata_path=data_path, machine=machine,
                            **checks)


# -- PEP 739 -----------------------------------------------------------------------------------

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
                     "extensions": [host.ext_suffix, ".abi3.so", ".so"]},
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


def check_version(host: HostDescription, build_version: tuple[int, int] | None = None) -> None:
    """Refuse a host whose X.Y differs from the build interpreter's."""
    build = build_version or sys.version_info[:2]
    if tuple(build) != host.version:
        raise HostError(
            f"the host is Python {host.version_str} but crossenv runs on Python "
            f"{build[0]}.{build[1]}; run crossenv with a Python {host.version_str} build "
            f"interpreter (python{host.version_str} -m crossenv ...)"
        )
