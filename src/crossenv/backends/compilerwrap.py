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
``--sysroot``/``-isysroot`` naming the build machine's root is dropped. A linker
response file (``-Wl,@FILE``, which ld reads itself) is judged word by word as ld's
words. A build-machine header forced in with ``-include``/``-imacros`` is read from the
sysroot, or refused (status 2): dropping it could change what compiles silently.

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

import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import headers, quoting, templates
from ..host import HostDescription
from ..launcher import ENV_VAR as LAUNCHER_VAR
from ..launcher import cache_environment
from ..launcher import text as launcher_text
from ..model import Toolchain
from ._protocol import EXECUTABLE, TEXT, Files, Inputs, Place
from ._shared import WRAPPER_DIR, wrapper_name

BIN_DIR = WRAPPER_DIR
CONFIG_NAME = "hostpaths.json"


def build_multiarch() -> str:
    """The build machine's multiarch directory name (``x86_64-linux-gnu``)."""
    value = getattr(sys.implementation, "_multiarch", None)
    if isinstance(value, str) and value:
        return value
    return f"{os.uname().machine}-linux-gnu"


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



def _multiarch_lines(build: str, host: str) -> str:
    if not build or not host or build == host:
        return ""
    lines = ["    case $R in"]
    for base in MULTIARCH_BASES:
        lines.append(f'        {base}/"$B"|{base}/"$B"/*) R={base}/$H${{R#{base}/"$B"}} ;;')
    lines.append("    esac")
    return "\n".join(lines) + "\n"


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
    raw = templates.Raw
    return templates.fill(
        "compilerwrap.sh",
        real_text=raw(" ".join(real).replace("\n", " ")),
        program=launcher[0] if launcher else "",
        arguments=raw(quoting.shell_join(launcher[1:]) or "''"),
        text=launcher_text(launcher),
        subcommand=1 if os.path.basename(real[0]) == "zig" else 0,
        compiler=real[0],
        name=os.path.basename(real[0]) or real[0],
        rest=raw("".join(f" {quoting.shell(word)}" for word in real[1:])),
        sysroot=sysroot,
        build=build,
        host=host,
        keep=raw(_case_alternatives(keep) if keep else "''"),
        system=raw(system),
        multiarch=raw(_multiarch_lines(build, host)),
        default_libs=raw("|".join(f"{d}|{d}/" for d in defaults)),
        rsp_depth=RSP_DEPTH, rsp_files=RSP_FILES, rsp_bytes=RSP_BYTES,
        hint_python=str(hint[0]) if hint[0] else "",
        hint_file=str(hint[1]) if hint[1] else "",
        hint_settings=str(hint[2]) if hint[2] else "",
    )


def files(target: Inputs, place: Place) -> Files:
    """One wrapper per compiler program, ``hostpaths.json`` (read by the setuptools
    hook) and the missing-header hint's settings."""
    layout = place.env_layout("the compiler wrappers")
    host, chain = target.host, target.toolchain
    config = settings(host, chain, layout.env, layout.cross)
    out: Files = {}
    hint: tuple[object, ...] = ("", "", "")
    header_settings = headers.settings(host.arch, host.sysroot, host.version_str)
    if header_settings is not None:
        out[headers.SETTINGS_NAME] = (json.dumps(header_settings, indent=2) + "\n", TEXT)
        hint = (layout.build_python, layout.cross_site / headers.RUNTIME,
                place.directory / headers.SETTINGS_NAME)  # final paths, not staging's
    for words in (chain.cc, chain.cxx, chain.fc):
        if words:
            out[f"{WRAPPER_DIR}/{wrapper_name(words[0])}"] = (
                render((words[0],), config, target.options.compiler_launcher, hint), EXECUTABLE)
    out[CONFIG_NAME] = (json.dumps(config, indent=2) + "\n", TEXT)
    return out


def env(target: Inputs, place: Place) -> dict[str, str]:
    """The launcher the wrappers run anyway (shown by describe), and its cache settings."""
    launcher = target.options.compiler_launcher
    if launcher:
        return {LAUNCHER_VAR: launcher_text(launcher),
                **cache_environment(launcher, place.env_layout("the compiler wrappers").env)}
    return {}

