"""pkg-config answers for the host: the sysroot's ``.pc`` files, paths inside it.

setup.py files, CMake's FindPkgConfig and ``*-config`` helpers run the build
machine's ``pkg-config``, which by default reads the build machine's ``.pc``
files and answers ``-I/usr/include/libxml2``. Two standard variables make any
pkg-config (pkg-config 0.29, pkgconf, Debian's ``<triplet>-pkg-config``
wrappers, the PyPI ``pkgconfig`` module which calls them) answer for the host:
``PKG_CONFIG_LIBDIR`` replaces the default search path by the sysroot's
pkgconfig directories (multiarch first) and ``PKG_CONFIG_SYSROOT_DIR`` prefixes
the ``-I``/``-L`` paths of the ``.pc`` files with the sysroot. Without a sysroot
the search path is empty: no answer is better than the build machine's.

cross-python exports both (if unset; native build-requirement installs drop
them); the CMake toolchain sets them for CMake runs started anywhere; meson
reads ``pkg_config_libdir``/``sys_root`` from its cross file.
"""

from __future__ import annotations

from ..host import HostDescription
from ._protocol import Files, Inputs, Place
from ._shared import pkg_config_variables


def variables(host: HostDescription) -> dict[str, str]:
    """``PKG_CONFIG_LIBDIR`` (and ``PKG_CONFIG_SYSROOT_DIR`` with a sysroot)."""
    return pkg_config_variables(host)


def files(target: Inputs, place: Place) -> Files:
    """None: pkg-config is pointed at the sysroot by variables."""
    return {}


def env(target: Inputs, place: Place) -> dict[str, str]:
    """The variables cross-python exports."""
    return variables(target.host)
