"""Autoconf site defaults and a test runner, for configure scripts run inside a cross build.

Some setup.py files build a bundled C library with its own ``./configure && make
check`` (pynacl's libsodium). They pass no ``--host``: run natively, configure
compiles a test program, cannot run it (it is for the host) and stops with
"cannot run C compiled programs". Autoconf reads ``CONFIG_SITE`` before its
checks, so cross-python exports (if unset) a site file that, when the command
line gave neither ``--host`` nor ``--build``, selects the host triplet, marks the
run as a cross compile, names the cross toolchain and presets the cache values a
cross compile cannot find out by running programs (``ac_cv_func_malloc_0_nonnull``
and friends, answered for the host's libc). Everything is a default: the
command line, the environment and a configure cache still win.

``make check`` then runs host programs. binfmt_misc is not assumed, so
automake's test harness gets ``LOG_COMPILER`` (from the environment; a Makefile
that sets its own keeps it): the emulator script (:mod:`.emulator`), which runs host ELF
programs under qemu and everything else (scripts, native tools) directly, and so
is harmless should it reach a native build.

Native builds of build requirements never see either variable: the runtime shim
removes the backends' variables before it hands pip's build-environment install to
the build python.
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

from .. import quoting, templates
from ..errors import HostError
from ..host import HostDescription
from ..model import Toolchain
from ._protocol import TEXT, Files, Inputs, Place

FILE_NAME = "config.site"
SITE_VAR = "CONFIG_SITE"
RUNNER_VAR = "LOG_COMPILER"

# cpu-vendor-os[-abi] as config.sub reads them; nothing a shell or make would expand.
_TRIPLET = re.compile(r"[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+){1,3}", re.ASCII)
# configure splits CONFIG_SITE on blanks and make expands ``$``: paths must be plain.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9_./+,@%~:-]*", re.ASCII)

# Run-time answers of glibc and musl on Linux that autoconf's AC_FUNC_* macros
# would otherwise guess pessimistically (rpl_malloc, replacement functions).
LINUX_CACHE: Mapping[str, str] = {
    "ac_cv_func_malloc_0_nonnull": "yes",
    "ac_cv_func_realloc_0_nonnull": "yes",
    "ac_cv_func_calloc_0_nonnull": "yes",
    "ac_cv_func_memcmp_working": "yes",
    "ac_cv_func_mmap_fixed_mapped": "yes",
    "ac_cv_func_fork_works": "yes",
    "ac_cv_func_vfork_works": "yes",
    "ac_cv_func_strnlen_working": "yes",
    "ac_cv_func_strcoll_works": "yes",
    "ac_cv_func_working_mktime": "yes",
    "ac_cv_func_chown_works": "yes",
    "ac_cv_func_getpgrp_void": "yes",
    "ac_cv_func_setvbuf_reversed": "no",
    "ac_cv_func_closedir_void": "no",
    "ac_cv_func_lstat_dereferences_slashed_symlink": "yes",
    "ac_cv_func_lstat_empty_string_bug": "no",
    "ac_cv_func_stat_empty_string_bug": "no",
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def sh_quote(value: str) -> str:
    """The one shell quoting of this file (crossenv's): every value written goes through it."""
    return quoting.shell(value)


def check_triplet(value: str, what: str) -> str:
    """*value* if it is a plain GNU triplet, else a clear error naming *what* it is."""
    if not _TRIPLET.fullmatch(value):
        raise HostError(f"the {what} {value!r} is not a GNU triplet (cpu-vendor-os[-abi]); "
                        "pass the host's real _sysconfigdata_*.py or --machine")
    return value


def build_triplet() -> str:
    """This machine's triplet, as this (native) python's configure recorded it."""
    for name in ("BUILD_GNU_TYPE", "HOST_GNU_TYPE"):
        value = sysconfig.get_config_var(name)
        if isinstance(value, str) and _TRIPLET.fullmatch(value):
            return value
    return f"{os.uname().machine}-pc-{sys.platform.rstrip('0123456789')}-gnu"


def host_triplet(host: HostDescription, chain: Toolchain) -> str:
    """The ``--host`` value: a GNU toolchain's prefix, so that configure finds its tools."""
    if chain.kind == "gnu" and chain.triplet:
        return check_triplet(chain.triplet, "cross compiler prefix")
    return check_triplet(host.triplet, "host's HOST_GNU_TYPE")


def tools(chain: Toolchain) -> dict[str, str]:
    """``CC``... as configure reads them: one shell-quoted command line each."""
    out: dict[str, str] = {}
    for name, words in (("CC", chain.cc), ("CXX", chain.cxx), ("FC", chain.fc),
                        ("F77", chain.fc), ("AR", chain.ar), ("RANLIB", chain.ranlib),
                        ("STRIP", chain.strip)):
        if words:
            out[name] = quoting.shell_join(words)
    return out


def render(*, host_alias: str, build_alias: str, variables: Mapping[str, str],
           description: str = "") -> str:
    """The site file text: valid ``sh``, every value quoted by :func:`sh_quote`.

    *variables* become defaults (kept when already set, even to an empty value).
    """
    check_triplet(host_alias, "host triplet")
    check_triplet(build_alias, "build triplet")
    lines = []
    for name, value in variables.items():
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a shell variable name: {name!r}")
        lines.append(f'  test "${{{name}+set}}" = set || {name}={sh_quote(value)}')
    return templates.fill("config.site.sh", description=templates.Raw(description),
                          host_alias=host_alias, build_alias=build_alias,
                          defaults=templates.Raw("\n".join(lines)))


def plain_path(path: Path) -> str | None:
    """*path* as text if configure and make read it unchanged (no blanks, no ``$``)."""
    text = str(path)
    return text if _PLAIN_PATH.fullmatch(text) else None


def files(target: Inputs, place: Place) -> Files:
    """``config.site`` (the emulator it names is the emulator generator's)."""
    host, chain = target.host, target.compilers
    variables = tools(chain)
    if host.system == "Linux":
        variables.update(LINUX_CACHE)
    text = render(host_alias=host_triplet(host, chain), build_alias=build_triplet(),
                  variables=variables, description=f" for {host.platform}")
    return {FILE_NAME: (text, TEXT)}


def env(target: Inputs, place: Place) -> dict[str, str]:
    """``CONFIG_SITE`` and ``LOG_COMPILER``, when configure and make can read their paths."""
    out: dict[str, str] = {}
    site = plain_path(place.directory / FILE_NAME)
    if site is not None:
        out[SITE_VAR] = site
    else:  # configure word-splits and globs CONFIG_SITE, make expands '$': not silently
        print(f"crossenv: warning: CONFIG_SITE is not set, as configure and make cannot "
              f"read {place.directory} unchanged (blanks, '$', quotes or glob "
              "characters); autoconf builds need an ENV path without them", file=sys.stderr)
    if place.emulator is not None:
        runner = plain_path(place.emulator)
        if runner is not None:
            out[RUNNER_VAR] = runner
    return out
