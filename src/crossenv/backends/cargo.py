"""Rust builds (setuptools-rust, maturin, PyO3) for the host.

Both backends run cargo; cargo takes the target from ``CARGO_BUILD_TARGET`` and
the linker from ``CARGO_TARGET_<TRIPLE>_LINKER``. The linker must be one
program, so it is a small script running the cross gcc with ``--sysroot``
(nothing global such as ``LIBRARY_PATH`` that would leak into native links).
PyO3 and maturin learn the host interpreter from cross-python and
``PYO3_CROSS_LIB_DIR``; a ``PYO3_CONFIG_FILE`` generated from the host description
is written for plain cargo builds (``crossenv describe --format env`` exports it) but
not exported in ENV, where maturin would derive a wrong armv7 extension suffix from it.
``cc``-crate builds (C parts of -sys crates) get per-target ``CC_<triple>`` etc.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

from .. import launcher, quoting, rust, templates, validate
from ..host import HostDescription
from ..model import Toolchain
from ._protocol import EXECUTABLE, TEXT, Files, Inputs, Link, Place
from ._shared import pkg_config_libdirs, qemu_command

CONFIG_NAME = "pyo3-config.txt"
RUST_BIN = "rust-bin"  # cargo/rustc wrappers when PATH has no usable rustc

_BUILD_FLAGS = ("Py_DEBUG", "Py_REF_DEBUG", "Py_TRACE_REFS", "COUNT_ALLOCS", "Py_GIL_DISABLED")


def rust_target(host: HostDescription) -> str:
    """The Rust target triple of the host (e.g. ``armv7-unknown-linux-gnueabihf``)."""
    gnu = host.host_gnu_type
    env = gnu.rsplit("-", 1)[-1] if "-" in gnu else "gnu"
    if host.system != "Linux":
        raise ValueError(f"no Rust target known for {host.platform}")
    row = host.arch
    target = row.rust_target_for(host.machine, env) if row else None
    return target or f"{host.machine}-unknown-linux-{env}"


def _env_key(target: str) -> str:
    return target.upper().replace("-", "_").replace(".", "_")


def pyo3_config(host: HostDescription) -> dict[str, str]:
    """PyO3's ``key=value`` interpreter config for the host."""
    flags = [flag for flag in _BUILD_FLAGS if host.config_vars.get(flag)]
    values = {
        "implementation": "CPython" if host.implementation == "cpython" else "PyPy",
        "version": host.version_str,
        "shared": "true" if host.shared else "false",
        "abi3": "false",
        "lib_name": f"python{host.version_str}{host.abiflags}",
        "pointer_width": str(host.pointer_size * 8),
        "build_flags": ",".join(flags),
        "suppress_build_script_link_lines": "false",
    }
    if host.libpython_dir is not None:
        values["lib_dir"] = str(host.libpython_dir)
    return values


def render_pyo3_config(host: HostDescription) -> str:
    """The file text: values are raw to the end of line, so quoting refuses line breaks."""
    return quoting.key_value_lines(pyo3_config(host))


def render_linker(chain: Toolchain) -> str:
    """The linker script: the cross C compiler with its flags (``--sysroot``)."""
    words = list(chain.cc) + list(chain.ldflags)
    return templates.fill("cargo-linker.sh", command=templates.Raw(quoting.shell_join(words)))


def environment(host: HostDescription, chain: Toolchain, *, linker: str,
                config_file: str | None = None, lib_dir: str | None = None,
                compiler_launcher: Sequence[str] = ()) -> dict[str, str]:
    """The variables cargo, PyO3, maturin, setuptools-rust and the cc crate read.

    *config_file* is exported as PYO3_CONFIG_FILE when given (``crossenv describe``;
    PyO3 then reads nothing else); an ENV leaves it out (see :func:`env`). *lib_dir* is
    crossenv's own PYO3_CROSS_LIB_DIR (see :func:`lib_dir_files`); without it the host's
    directory is named."""
    target = rust_target(host)
    key = _env_key(target)
    low = target.replace("-", "_")
    env = {
        "CARGO_BUILD_TARGET": target,
        f"CARGO_TARGET_{key}_LINKER": linker,
        "PYO3_CROSS_PYTHON_VERSION": host.version_str,
        f"CC_{low}": quoting.shell_join(chain.cc),
        f"AR_{low}": quoting.shell_join(chain.ar),
    }
    if chain.cxx:
        env[f"CXX_{low}"] = quoting.shell_join(chain.cxx)
    if config_file is not None:
        env["PYO3_CONFIG_FILE"] = config_file
    if lib_dir is not None:
        env["PYO3_CROSS_LIB_DIR"] = lib_dir
    elif host.sysconfigdata_path is not None:
        env["PYO3_CROSS_LIB_DIR"] = str(host.sysconfigdata_path.parent)
    elif host.libpython_dir is not None:
        env["PYO3_CROSS_LIB_DIR"] = str(host.libpython_dir)
    if host.sysroot is not None:
        env["TARGET_SYSROOT"] = str(host.sysroot)  # maturin's auditwheel step reads it
        env[f"PKG_CONFIG_SYSROOT_DIR_{low}"] = str(host.sysroot)
        env[f"PKG_CONFIG_LIBDIR_{low}"] = ":".join(pkg_config_libdirs(host))
    qemu = qemu_command(host)
    if qemu:
        env[f"CARGO_TARGET_{key}_RUNNER"] = quoting.shell_join(qemu)
    env.update(_launcher_env(compiler_launcher, chain, low))
    return env


def _launcher_env(words: Sequence[str], chain: Toolchain, low: str) -> dict[str, str]:
    """sccache also caches rustc (``RUSTC_WRAPPER``); the cc crate runs a one-word
    ccache/sccache/distcc it finds first in ``CC_<target>`` as a wrapper."""
    env: dict[str, str] = {}
    tool = launcher.kind(words)
    if tool == "sccache":
        env["RUSTC_WRAPPER"] = next(w for w in words if os.path.basename(w) == tool)
    if len(words) == 1 and tool in ("ccache", "sccache", "distcc", "icecc"):
        for name, compiler in ((f"CC_{low}", chain.cc), (f"CXX_{low}", chain.cxx)):
            if compiler:
                first = launcher.compiler_word(words, compiler[0])
                env[name] = quoting.shell_join([*words, first, *compiler[1:]])
    return env


def _linker_name(host: HostDescription, place: Place) -> str:
    name = f"{rust_target(host)}-linker"
    validate.inside(place.directory, name)  # from host data: refused if it would leave
    return name


def files(target: Inputs, place: Place) -> Files:
    """The PyO3 config and linker script; in an ENV also ``pyo3-lib`` and, without a
    usable rustc on PATH, the ``rust-bin`` tools."""
    config: Files = {CONFIG_NAME: (render_pyo3_config(target.host), TEXT)}
    try:
        linker = _linker_name(target.host, place)
    except ValueError:  # no Rust target for this host: describe still prints the config
        return config if place.layout is None else {}
    out: Files = {}
    if place.layout is not None:
        out.update(lib_dir_files(target.host, place.directory))
    out.update(config)
    out[linker] = (render_linker(target.compilers), EXECUTABLE)
    if place.layout is not None:
        out.update(tool_files(rust_choice(target.host)))
    return out


def env(target: Inputs, place: Place) -> dict[str, str]:
    """The cargo/PyO3 variables.

    PYO3_CONFIG_FILE is not exported in ENV: maturin reads the file itself and then makes
    up the extension suffix (0.14-1.7 name an armv7 module
    .cpython-3X-armv7l-linux-gnueabihf.so, not the host's EXT_SUFFIX); pyo3 0.17 refuses
    the ext_suffix key that would fix it. Without it maturin and setuptools-rust ask
    cross-python / PYO3_CROSS_LIB_DIR, which give the host's EXT_SUFFIX. The file stays
    for plain cargo builds (and describe, which exports it)."""
    try:
        linker = str(place.directory / _linker_name(target.host, place))
    except ValueError:
        return {}
    if place.layout is None:
        return environment(target.host, target.compilers, linker=linker,
                           config_file=str(place.directory / CONFIG_NAME))
    out = environment(target.host, target.compilers, linker=linker,
                      lib_dir=str(place.directory / LIB_DIR),
                      compiler_launcher=target.options.compiler_launcher)
    out.update(tool_env(place.directory, rust_choice(target.host)))
    return out


#: PYO3_CROSS_LIB_DIR: PyO3 and maturin *execute* the ``_sysconfigdata*.py`` they find
#: there (with the build python). The sysroot's own file is somebody else's code, so they
#: are pointed at crossenv's rendered one instead: literals only, from validated values.
LIB_DIR = "pyo3-lib"


def lib_dir_files(host: HostDescription, directory: Path) -> Files:
    """``pyo3-lib/_sysconfigdata_*.py``: a relative link to ``_crossenv_sysconfigdata.py``
    (written beside it later in the same creation)."""
    name = host.sysconfigdata_name
    if not name.startswith("_sysconfigdata"):  # PyO3 looks for this prefix only
        name = "_sysconfigdata__crossenv"
    validate.inside(directory / LIB_DIR, f"{name}.py")  # from host data: checked before any write
    return {f"{LIB_DIR}/{name}.py": (Link(Path("..") / "_crossenv_sysconfigdata.py"), TEXT)}


def rust_choice(host: HostDescription) -> rust.RustToolchain:
    """Which rustc builds for the host (PATH's with its std, else the provisioned one)."""
    return _choice(rust_target(host), rust.host_debian_arch(host), os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=8)
def _choice(target: str, arch: str | None, path: str) -> rust.RustToolchain:
    return rust.find(target, arch, {"PATH": path})


def render_tool(name: str, choice: rust.RustToolchain) -> str:
    """``cargo``/``rustc`` for builds in ENV: the provisioned tool when it is there
    (provisioning after creation needs no new env), else one line naming the fix."""
    real = rust.std_dir(choice.debian_arch) / "bin" / name if choice.debian_arch else None
    return templates.fill("rust-tool.sh", name=templates.Raw(name),
                          real=str(real) if real else "",
                          message=rust.missing_message(choice.target, choice.debian_arch))


def tool_files(choice: rust.RustToolchain) -> Files:
    """With no usable rustc on PATH: ``rust-bin/{cargo,rustc}``."""
    if choice.kind == "path":
        return {}
    return {f"{RUST_BIN}/{name}": (render_tool(name, choice), EXECUTABLE)
            for name in ("cargo", "rustc")}


def tool_env(directory: Path, choice: rust.RustToolchain) -> dict[str, str]:
    """The ``rust-bin`` tools first on cross-python's PATH (maturin runs ``cargo`` from
    PATH) and named by ``CARGO``/``RUSTC``."""
    if choice.kind == "path":
        return {}
    final = directory / RUST_BIN
    return {"CARGO": str(final / "cargo"), "RUSTC": str(final / "rustc"),
            "CROSSENV_PREPEND_PATH": str(final)}
