"""crossenv runtime: the wheel-tag answers that do not come from sysconfig or platform.

The shim replaces ``packaging.tags.platform_tags`` (and pip's vendored copy) with
the ladder computed at creation from the sysroot's C library; ``sys_tags()``,
``pip debug --verbose`` and pip's ``get_supported()`` all read that function, so
packaging's private ``_manylinux``/``_musllinux`` probes are left alone (they
look at the build machine's ELF header and glibc, and nothing on the install
path calls them directly). Two things remain here:

* PEP 600's ``_manylinux.manylinux_compatible`` (the ``_manylinux.py`` next to
  this file) answers from the ladder;
* setuptools' (and old wheel's) ``bdist_wheel`` tags a binary wheel with
  ``sysconfig.get_platform()``, i.e. ``linux_<arch>``. When the toolchain
  guarantees a manylinux level (zig targeting an explicit glibc), crossenv sets
  ``CROSSENV_WHEEL_PLATFORM`` and the wheel gets that tag instead. No front-end
  (pip, pypa/build, uv) has a post-build hook to retag in, and setuptools'
  documented ``--plat-name`` (``[bdist_wheel] plat_name``) also retags pure
  wheels, so the smallest patch is the automatic tag of ``get_tag``.

Imported lazily by the import hooks, never at start-up; stdlib only.
"""

import os
import re

import _crossenv_config as _C

_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_(.+)$")
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def _tags():
    return list(getattr(_C, "PLATFORM_TAGS", None) or ())


def _arch():
    """The platform-tag architecture of the host (``linux_<arch>`` is always in the ladder)."""
    for tag in _tags():
        if tag.startswith("linux_"):
            return tag[len("linux_"):]
    machine = _C.MACHINE
    return {"i386": "i686", "i586": "i686", "armv8l": "armv7l"}.get(machine, machine)


def _glibc_levels():
    """``{(major, minor, arch)}`` for every manylinux tag in the ladder, aliases included."""
    levels = set()
    for tag in _tags():
        match = _MANYLINUX.match(tag)
        if match:
            levels.add((int(match.group(1)), int(match.group(2)), match.group(3)))
            continue
        for alias, version in _LEGACY.items():
            if tag.startswith(alias + "_"):
                levels.add((*version, tag[len(alias) + 1:]))
    return levels


def manylinux_compatible(tag_major, tag_minor, tag_arch):
    """PEP 600: is ``manylinux_<major>_<minor>_<arch>`` installable on the host?

    True only for tags in the ladder, so an explicit ``--no-manylinux`` or a
    musl host says no, and a build machine's architecture is never accepted.
    """
    return (int(tag_major), int(tag_minor), tag_arch) in _glibc_levels()


def wheel_platform():
    """The platform tag (possibly compressed, ``a.b``) binary wheels get, or None."""
    return os.environ.get("CROSSENV_WHEEL_PLATFORM") or None


def patch_bdist_wheel(module):
    """Retag ``linux_<host arch>`` wheels when the toolchain guarantees a manylinux level.

    Only the automatic tag is replaced: a pure wheel (``any``) and an explicit
    ``--plat-name`` are left alone, as is every build without
    ``CROSSENV_WHEEL_PLATFORM`` (gcc against the sysroot's newer glibc).
    """
    cls = getattr(module, "bdist_wheel", None)
    original = getattr(cls, "get_tag", None)
    if not callable(original):
        return "bdist_wheel.get_tag", "no bdist_wheel command with a get_tag method"
    if getattr(cls, "_crossenv_patched", False):
        return None

    def get_tag(self):
        impl, abi, plat = original(self)
        wanted = wheel_platform()
        supplied = getattr(self, "plat_name_supplied", False)
        if wanted and not supplied and plat == "linux_" + _arch():
            plat = wanted
        return impl, abi, plat

    get_tag.__doc__ = original.__doc__
    cls.get_tag = get_tag
    cls._crossenv_patched = True
    return None
