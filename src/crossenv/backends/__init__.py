"""Backends: what each build system needs to target the host, in one place.

Two seams connect build systems to a cross environment:

* files generated at creation into ``ENV/cross/crossenv`` (a meson cross file, a
  CMake toolchain file, a PyO3 config) and the environment variables that point
  the tools at them; cross-python exports those variables (if unset) at start;
* :data:`IMPORT_HOOKS`: a module imported in cross-python is patched right after
  import by ``function(module)`` from a runtime file in the cross site-packages.
  Nothing is imported until the hooked module itself is, so start-up stays fast.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..host import HostDescription
from ..model import Layout, Options, Toolchain

#: module name -> "runtime_module:function" (runtime modules live in crossenv/runtime/).
#: Each one is listed, with why it exists and what would replace it, in the "Patches"
#: section of docs/how-it-works.rst (tests/test_contracts.py checks the two agree), and
#: each has a contract test there against the real third-party module.
IMPORT_HOOKS: dict[str, str] = {
    # pypa/build: run the PEP 517 hooks with cross-python (public ProjectBuilder(runner=))
    "build": "_crossenv_frontends:patch_build",
    # built wheels: manylinux tag when the toolchain guarantees it (CROSSENV_WHEEL_PLATFORM);
    # wheel.bdist_wheel is the command old setuptools (< 70.1) registers
    "setuptools.command.bdist_wheel": "_crossenv_tags:patch_bdist_wheel",
    "wheel.bdist_wheel": "_crossenv_tags:patch_bdist_wheel",
    # build backends: meson-python gets the cross file; numpy reports the host's headers
    "mesonpy": "_crossenv_meson:patch_mesonpy",
    "numpy": "_crossenv_hostreqs:patch_numpy",
    # uv's interpreter query: its build venvs are made from ENV/cross/crossenv/uv-base
    "python.get_interpreter_info": "_crossenv_uv:patch_query",
    # setup.py probes of compiler.include_dirs/library_dirs: build-machine paths mapped
    "setuptools._distutils.ccompiler": "_crossenv_hostpaths:patch_ccompiler",
    "setuptools._distutils.compilers.C.base": "_crossenv_hostpaths:patch_compiler_base",
    "distutils.ccompiler": "_crossenv_hostpaths:patch_ccompiler",
    # pip install --root/--prefix outside ENV: host shebangs, DESTDIR-free byte-code
    "pip._internal.operations.install.wheel": "_crossenv_install:patch_pip_wheel",
    # the distro package answers from the sysroot's os-release
    "distro.distro": "_crossenv_osrelease:patch_distro",
}

#: modules with ``write(directory, layout, host, toolchain, options) -> dict[str, str]``
#: that generate files for one build system and return the variables that select them.
GENERATORS: tuple[str, ...] = (
    "crossenv.tags", "crossenv.backends.meson", "crossenv.backends.cmake",
    "crossenv.backends.cargo", "crossenv.backends.hostreqs", "crossenv.backends.autotools",
    "crossenv.backends.compilerwrap", "crossenv.backends.pkgconfig",
    "crossenv.backends.dpkgarch", "crossenv.backends.uvbase",
    "crossenv.backends.configscripts", "crossenv.hostpython")


def build_env(directory: Path, layout: Layout, host: HostDescription, chain: Toolchain,
              options: Options) -> dict[str, str]:
    """Generate every backend's files into *directory*; return the variables to export."""
    env: dict[str, str] = {}
    for name in GENERATORS:
        module: Any = importlib.import_module(name)
        env.update(module.write(directory, layout, host, chain, options))
    return env
