"""crossenv runtime: wheel tags for the host, in every place that computes them.

The shim already replaces ``packaging.tags.platform_tags`` (and pip's vendored
copy) with the ladder computed at creation from the sysroot's C library. The
functions here cover the other ways tags are derived, all of which look at the
*running* interpreter (the build machine's x86_64 python and glibc):

* ``packaging._manylinux`` / ``_musllinux`` (and pip's vendored copies) read
  ``sys.executable``'s ELF header and ``os.confstr``; they are pointed at the
  ladder so code calling them directly gets the host's answer;
* PEP 600's ``_manylinux.manylinux_compatible`` (the ``_manylinux.py`` next to
  this file) answers from the same ladder;
* setuptools' (and wheel's) ``bdist_wheel`` tags a binary wheel with
  ``sysconfig.get_platform()``, i.e. ``linux_<arch>``. When the toolchain
  guarantees a manylinux level (zig targeting an explicit glibc), crossenv sets
  ``CROSSENV_WHEEL_PLATFORM`` and the wheel gets that tag instead.

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


def glibc_version():
    """The host's glibc as ``(major, minor)`` (what ``platform.libc_ver`` reports), or None."""
    libc = getattr(_C, "LIBC", None)
    if libc and libc[0] == "glibc":
        match = re.match(r"(\d+)\.(\d+)", libc[1])
        if match:
            return int(match.group(1)), int(match.group(2))
    levels = [(major, minor) for major, minor, _arch in _glibc_levels()]
    return max(levels) if levels else None


def musl_version():
    """``(major, minor)`` from the best musllinux tag in the ladder, or None."""
    for tag in _tags():
        match = re.match(r"musllinux_(\d+)_(\d+)_", tag)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def manylinux_compatible(tag_major, tag_minor, tag_arch):
    """PEP 600: is ``manylinux_<major>_<minor>_<arch>`` installable on the host?

    True only for tags in the ladder, so an explicit ``--no-manylinux`` or a
    musl host says no, and a build machine's architecture is never accepted.
    """
    return (int(tag_major), int(tag_minor), tag_arch) in _glibc_levels()


def _filtered(prefixes, archs):
    suffixes = tuple("_" + arch for arch in archs)
    return iter([tag for tag in _tags() if tag.startswith(prefixes) and tag.endswith(suffixes)])


def patch_manylinux(module):
    """``packaging._manylinux``: answer for the host instead of ``sys.executable``."""
    version = glibc_version()
    host_arch = _arch()

    def platform_tags(archs):
        return _filtered(("manylinux",), archs)

    def _have_compatible_abi(executable, archs):
        return host_arch in archs

    module.platform_tags = platform_tags
    module._have_compatible_abi = _have_compatible_abi
    if version is not None:
        parsed = getattr(module, "_GLibCVersion", None)
        value = parsed(*version) if parsed is not None else version
        module._get_glibc_version = lambda: value
        module._glibc_version_string = lambda: "%d.%d" % version


def patch_musllinux(module):
    """``packaging._musllinux``: the host's musl (from the ladder), never the build machine's."""
    version = musl_version()

    def platform_tags(archs):
        return _filtered(("musllinux",), archs)

    def _get_musl_version(executable):
        if version is None:
            return None
        cls = getattr(module, "_MuslVersion", None)
        return cls(*version) if cls is not None else version

    module.platform_tags = platform_tags
    module._get_musl_version = _get_musl_version


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
    if cls is None or getattr(cls, "_crossenv_patched", False):
        return
    original = cls.get_tag

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


def _cache_key():
    import hashlib

    facts = repr((_tags(), getattr(_C, "LIBC", None), wheel_platform()))
    return "crossenv-" + hashlib.sha224(facts.encode()).hexdigest()[:16]


def patch_pip_cache(module):
    """Keep pip's built-wheel cache per host description.

    pip keys cached wheels on the sdist URL and the interpreter only, and every
    cross env runs the same build interpreter: a ``linux_aarch64`` wheel that gcc
    built against Debian 12's glibc would be reused by an env for an older
    sysroot, or by a zig env that promises manylinux2014. A subdirectory named
    after the ladder, libc and wheel tag separates them; native pips skip it
    (not a wheel file name).
    """
    cls = getattr(module, "Cache", None)
    original = getattr(cls, "_get_cache_path_parts", None)
    if original is None or getattr(cls, "_crossenv_patched", False):
        return
    key = _cache_key()

    def _get_cache_path_parts(self, link):
        return [*original(self, link), key]

    cls._get_cache_path_parts = _get_cache_path_parts
    cls._crossenv_patched = True
