"""Compiler wrappers that keep build-machine paths out of host builds.

Many build scripts look for libraries themselves: setup.py files add
``-I/usr/include``, ``-L/usr/lib/x86_64-linux-gnu`` or ``-L/usr/local/lib``,
``*-config`` scripts answer for the build machine, CMake projects write
``-Wl,-rpath,/abs/dir``. A cross compiler given those directories either fails
late (an x86-64 ``libxcb.so`` "is incompatible") or, worse, compiles against
the build machine's headers. Like Buildroot's toolchain wrapper and Yocto's
poison-system-directories, crossenv puts a small ``/bin/sh`` wrapper in front of
the cross compiler (``ENV/cross/crossenv/bin/<compiler>``); cross-python's
sysconfig ``CC``/``CXX``/``LDSHARED``, the meson cross file and the CMake
toolchain name it. For every ``-I``/``-isystem``/``-idirafter``/``-iquote``/``-L``
directory, library file and ``-Wl``/``-Xlinker`` linker path it applies the
rules the setuptools hook (``runtime/_crossenv_hostpaths.py``) applies to compiler
directory lists (a property test checks that both agree):

* a build-machine system directory (``/usr/include...``, ``/usr/local...``,
  ``/usr/lib...``, ``/lib...``) is mapped to the same directory in the sysroot,
  with the build machine's multiarch directory replaced by the host's, if that
  exists; otherwise it is dropped with a one-line warning naming the flag;
* of the RUNPATH entries (``-Wl,-rpath,DIR``, ``-R``) only relative ones
  (``$ORIGIN/...``), the build tree (under the compiler's working directory:
  meson and CMake replace it at install, and look for it exactly, so its ':'
  padding is kept too) and the host's view of a non-default sysroot directory
  survive; every other absolute entry is dropped with a warning.

A directory is judged after lexical normalisation (``//`` and ``/./`` collapsed,
``..`` resolved; a relative path with ``..`` is taken from the working directory),
in every spelling gcc accepts: ``-I``/``-isystem``/``-idirafter``/``-iquote``/
``-cxx-isystem``/``-L``/``-B`` joined or separate, ``--include-directory[-after]``,
``--library-directory``, ``-iprefix`` with ``-iwithprefix[before]``, ``=`` and
``$SYSROOT`` prefixes, the words of ``-Wp,`` and ``-Xpreprocessor``, and response
files (``@FILE``, read like gcc's libiberty and judged in place, refused beyond
:data:`RSP_DEPTH` levels, :data:`RSP_FILES` files or :data:`RSP_BYTES` bytes). A
``--sysroot``/``-isysroot`` naming the build machine's root is dropped.

A compiler launcher (``--compiler-launcher ccache``, see :mod:`crossenv.launcher`) is
exec'd by the wrapper, after the mapping, with the real compiler: ccache hashes that
compiler and the mapped arguments, distcc sends the compiler's name to its workers.

The wrapper is POSIX sh because it runs for every compile: a command line
without any suspicious word costs one ``case`` per argument before ``exec``. The
others are mapped in one subshell that prints each word quoted, read back by one
``eval``: linear in the number of words (20,000 words: under a second; rebuilding
``"$@"`` word by word took 208 s).
The real compiler stays recorded in ``ENV/crossenv.json`` (``crossenv describe``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shlex
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import headers, quoting
from ..host import HostDescription
from ..launcher import ENV_VAR as LAUNCHER_VAR
from ..launcher import cache_environment
from ..launcher import text as launcher_text
from ..model import Layout, Options, Toolchain

BIN_DIR = "bin"
CONFIG_NAME = "hostpaths.json"


def build_multiarch() -> str:
    """The build machine's multiarch directory name (``x86_64-linux-gnu``)."""
    value = getattr(sys.implementation, "_multiarch", None)
    if isinstance(value, str) and value:
        return value
    return f"{os.uname().machine}-linux-gnu"


def _wrapper_name(program: str) -> str:
    return os.path.basename(program) or "cc"


def wrapper_path(crossenv_dir: Path, program: str) -> Path:
    return crossenv_dir / BIN_DIR / _wrapper_name(program)


def wrapped(chain: Toolchain, crossenv_dir: Path) -> Toolchain:
    """*chain* with its C, C++ and Fortran compiler programs replaced by the wrappers in
    *crossenv_dir* (their flags, ``--sysroot`` included, stay on the command line)."""
    def swap(words: tuple[str, ...]) -> tuple[str, ...]:
        if not words:
            return words
        return (str(wrapper_path(crossenv_dir, words[0])), *words[1:])

    return dataclasses.replace(chain, cc=swap(chain.cc), cxx=swap(chain.cxx), fc=swap(chain.fc))


#: build-machine system directories, and those of them that have a multiarch subdirectory;
#: written into ``hostpaths.json`` so that the setuptools hook maps by the same rules
SYSTEM_DIRS = ("/usr/include", "/usr/local", "/usr/lib", "/usr/lib32", "/usr/lib64",
               "/usr/libx32", "/lib", "/lib32", "/lib64", "/libx32")
MULTIARCH_BASES = ("/usr/lib", "/lib", "/usr/include")


def settings(host: HostDescription, chain: Toolchain, *keep: Path) -> dict[str, object]:
    """What the wrapper and the setuptools hook map with (also ``hostpaths.json``);
    directories under *keep* (ENV, the cross prefix) are never touched."""
    sysroot = chain.sysroot if chain.sysroot is not None else host.sysroot
    return {
        "sysroot": str(sysroot) if sysroot is not None else "",
        "build_multiarch": build_multiarch(),
        "host_multiarch": host.multiarch or "",
        "keep": list(dict.fromkeys(str(path) for path in keep)),
        "system_dirs": list(SYSTEM_DIRS),
        "multiarch_bases": list(MULTIARCH_BASES),
    }


#: response files (``@FILE``) the wrapper reads and judges: nesting depth, how many in one
#: call, and their bytes in all (Linux passes at most 2 MiB of arguments to a program)
RSP_DEPTH = 8
RSP_FILES = 64
RSP_BYTES = 2 * 1024 * 1024


def _case_alternatives(prefixes: list[str]) -> str:
    return "|".join(f"{shlex.quote(p)}/*" for p in prefixes)



#: the wrapper script: a real file (str.format fields in braces, literal braces doubled)
_TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "templates" / "compilerwrap.sh"


def _multiarch_lines(build: str, host: str) -> str:
    if not build or not host or build == host:
        return ""
    lines = ["    case $R in"]
    for base in MULTIARCH_BASES:
        lines.append(f'        {base}/"$B"|{base}/"$B"/*) R={base}/$H${{R#{base}/"$B"}} ;;')
    lines.append("    esac")
    return "\n".join(lines) + "\n"


@functools.cache
def _template() -> str:
    return _TEMPLATE_FILE.read_text(encoding="utf-8")


def render(real: tuple[str, ...] | list[str], config: dict[str, object],
           launcher: Sequence[str] = (), hint: Sequence[object] = ("", "", "")) -> str:
    """The wrapper script for the compiler command *real* (its program, by name or path),
    run through *launcher* (validated by :mod:`crossenv.launcher`) if one is given; *hint*
    is (build python, runtime file, settings) of the missing-header hint, or empties."""
    sysroot = str(config["sysroot"])
    keep = [str(k) for k in config.get("keep", ()) if str(k)]  # type: ignore[attr-defined]
    if sysroot:
        keep.insert(0, sysroot)
    build = str(config["build_multiarch"])
    host = str(config["host_multiarch"])
    defaults = ["/lib", "/usr/lib", "/lib64", "/usr/lib64"]
    if host:
        defaults += [f"/lib/{host}", f"/usr/lib/{host}"]
    system = "|".join(f"{d}|{d}/*" for d in SYSTEM_DIRS)
    return _template().format(
        real_text=" ".join(real).replace("\n", " "),
        program=quoting.shell(launcher[0]) if launcher else "''",
        arguments=quoting.shell_join(launcher[1:]) or "''",
        text=quoting.shell(launcher_text(launcher)),
        subcommand="1" if os.path.basename(real[0]) == "zig" else "0",
        compiler=quoting.shell(real[0]),
        name=quoting.shell(os.path.basename(real[0]) or real[0]),
        rest="".join(f" {quoting.shell(word)}" for word in real[1:]),
        sysroot=shlex.quote(sysroot),
        build=shlex.quote(build),
        host=shlex.quote(host),
        keep=_case_alternatives(keep) if keep else "''",
        system=system,
        multiarch=_multiarch_lines(build, host),
        default_libs="|".join(f"{d}|{d}/" for d in defaults),
        rsp_depth=RSP_DEPTH, rsp_files=RSP_FILES, rsp_bytes=RSP_BYTES,
        **{f"hint_{k}": quoting.shell(str(v)) if v else "''"
           for k, v in dict(python=hint[0], file=hint[1], settings=hint[2]).items()},
    )


def write(directory: Path, layout: Layout, host: HostDescription, chain: Toolchain,
          options: Options) -> dict[str, str]:
    """Write one wrapper per compiler program and ``hostpaths.json`` (read by the
    setuptools hook); no variables to export."""
    config = settings(host, chain, layout.env, layout.cross)
    bin_dir = directory / BIN_DIR
    bin_dir.mkdir(parents=True, exist_ok=True)
    hint: tuple[object, ...] = ("", "", "")
    header_settings = headers.settings(host.arch, host.sysroot, host.version_str)
    if header_settings is not None:
        (directory / headers.SETTINGS_NAME).write_text(
            json.dumps(header_settings, indent=2) + "\n", encoding="utf-8")
        hint = (layout.build_python, layout.cross_site / headers.RUNTIME,
                layout.crossenv_dir / headers.SETTINGS_NAME)  # final paths, not staging's
    for words in (chain.cc, chain.cxx, chain.fc):
        if not words:
            continue
        path = bin_dir / _wrapper_name(words[0])
        path.write_text(render((words[0],), config, options.compiler_launcher, hint),
                        encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    if options.compiler_launcher:  # what the wrappers run anyway; shown by describe
        return {LAUNCHER_VAR: launcher_text(options.compiler_launcher),
                **cache_environment(options.compiler_launcher, layout.env)}
    return {}
