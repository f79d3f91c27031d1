"""PEP 600 ``_manylinux`` module of a crossenv cross environment.

Installers ask ``_manylinux.manylinux_compatible(major, minor, arch)`` whether
the running system accepts a manylinux tag. In cross-python the answer must be
the host's (the sysroot's glibc and architecture), so it comes from the same
ladder as ``packaging.tags``. Any interpreter that merely finds this file on
``sys.path`` without the crossenv shim active (a native python with a
``PYTHONPATH`` pointing here) gets ``None`` -- "no opinion", PEP 600's default --
so the build machine's own answers are never changed.
"""

import sys


def manylinux_compatible(tag_major, tag_minor, tag_arch):
    if not hasattr(sys, "crossenv") or "_crossenv_config" not in sys.modules:
        return None
    from _crossenv_tags import manylinux_compatible as answer

    return answer(tag_major, tag_minor, tag_arch)
