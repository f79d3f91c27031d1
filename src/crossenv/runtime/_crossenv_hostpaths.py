"""setuptools' compiler directories, seen from the host: build-machine paths mapped.

setup.py files that look for libraries themselves (Pillow's "platform guessing",
``ldconfig -p``, ``/usr/local``) put the build machine's directories into
``compiler.include_dirs``/``library_dirs`` and then probe them on disk: a header
found in the build machine's ``/usr/include`` turns a feature on that the host
does not have, and the link fails or uses the wrong library. This hook turns
both lists of every distutils/setuptools compiler into lists that map each
build-machine system directory into the sysroot (``/usr/lib/x86_64-linux-gnu``
-> ``SYSROOT/usr/lib/aarch64-linux-gnu``) or leave it out with a one-line
warning when the sysroot has no such directory, so the probes see the host.
The rules are the compiler wrapper's (``crossenv.backends.compilerwrap``): the settings,
the system directories included, come from the ``hostpaths.json`` it writes next
to the host's sysconfigdata.

Imported lazily (an import hook), stdlib only.
"""

import json
import os
import sys

_settings = None
_warned = set()


def load_settings():
    """``hostpaths.json`` of this cross environment ({} when there is none)."""
    global _settings
    if _settings is None:
        config = sys.modules.get("_crossenv_config")
        data = {}
        if config is not None:
            path = os.path.join(os.path.dirname(config.SYSCONFIGDATA), "hostpaths.json")
            try:
                with open(path, encoding="utf-8") as fh:
                    data = json.load(fh)
            except (OSError, ValueError):
                data = {}
        _settings = data
    return _settings


def _under(path, prefix):
    return bool(prefix) and (path == prefix or path.startswith(prefix.rstrip("/") + "/"))


def normal(path):
    """*path* as the compiler wrapper judges it: lexically normal ('//' and '/./'
    collapsed, '..' resolved, no trailing '/'); a relative path with '..' (or any
    relative path when the working directory is /) is taken from the working
    directory. ``/usr//include`` and ``/x/../usr/include`` are ``/usr/include``."""
    if not path.startswith("/"):
        cwd = os.getcwd()
        if ".." not in path.split("/") and cwd != "/":
            return path
        path = cwd + "/" + path
    parts = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/" + "/".join(parts)


def is_build_system_dir(path, settings):
    """A build-machine system include/library path (not the sysroot's, not ENV's)."""
    path = normal(path)
    keep = [settings.get("sysroot") or "", *settings.get("keep", ())]
    if any(_under(path, prefix) for prefix in keep if prefix):
        return False
    return any(_under(path, d) for d in settings.get("system_dirs", ()))


def host_view(path, settings):
    """The path the host would use: the build multiarch directory becomes the host's."""
    build = settings.get("build_multiarch") or ""
    host = settings.get("host_multiarch") or ""
    if build and host and build != host:
        for base in settings.get("multiarch_bases", ()):
            if _under(path, f"{base}/{build}"):
                return f"{base}/{host}{path[len(base) + 1 + len(build):]}"
    return path


def map_dir(path, settings):
    """*path* unchanged, mapped into the sysroot, or None (drop it)."""
    if not isinstance(path, str) or not is_build_system_dir(path, settings):
        return path
    sysroot = settings.get("sysroot") or ""
    mapped = host_view(normal(path), settings)
    if sysroot and os.path.exists(sysroot + mapped):
        return sysroot + mapped
    return None


def _map_all(values, what):
    settings = load_settings()
    out = []
    for value in values:
        mapped = map_dir(value, settings)
        if mapped is None:
            if (what, value) not in _warned:
                _warned.add((what, value))
                sysroot = settings.get("sysroot")
                reason = (f"the sysroot has no {host_view(normal(value), settings)}" if sysroot
                          else "no sysroot to map it into")
                sys.stderr.write(f"crossenv: dropped {value} from the compiler's {what} "
                                 f"directories: a build-machine directory ({reason})\n")
            continue
        out.append(mapped)
    return out


class _HostDirs(list):
    """A directory list that maps every entry added to it."""

    def __init__(self, values=(), what="include"):
        self._what = what
        super().__init__(_map_all(values, what))

    def append(self, value):
        super().extend(_map_all([value], self._what))

    def insert(self, index, value):
        for item in reversed(_map_all([value], self._what)):
            super().insert(index, item)

    def extend(self, values):
        super().extend(_map_all(values, self._what))

    def __iadd__(self, values):
        self.extend(values)
        return self

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            super().__setitem__(index, _map_all(value, self._what))
        else:
            mapped = _map_all([value], self._what)
            if mapped:
                super().__setitem__(index, mapped[0])
            else:
                super().__delitem__(index)


class _DirectoryList:
    """Data descriptor: instances get mapped lists; the class keeps its own default
    (``self.__class__.include_dirs`` is read by setuptools' ``_fix_compile_args``)."""

    def __init__(self, name, what, default):
        self.key = "_crossenv_" + name
        self.what = what
        self.default = default

    def __get__(self, obj, cls=None):
        if obj is None:
            return self.default
        return obj.__dict__.get(self.key, self.default)

    def __set__(self, obj, value):
        obj.__dict__[self.key] = None if value is None else _HostDirs(value, self.what)


def _patch_class(module, name):
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        return name, f"no {name} class"
    if cls.__dict__.get("_crossenv_hostpaths") or not load_settings():
        return None
    for attribute, what in (("include_dirs", "include"), ("library_dirs", "library")):
        setattr(cls, attribute, _DirectoryList(attribute, what, getattr(cls, attribute, None)))
    cls._crossenv_hostpaths = True
    return None


def patch_ccompiler(module):
    """``distutils.ccompiler`` (and setuptools' copy): patch ``CCompiler``."""
    return _patch_class(module, "CCompiler")


def patch_compiler_base(module):
    """setuptools >= 75's ``distutils.compilers.C.base``: patch ``Compiler``."""
    return _patch_class(module, "Compiler")
