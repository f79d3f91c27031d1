"""crossenv runtime shim: makes this interpreter describe the host machine.

Copied into the cross environment's site-packages and imported by
``_crossenv.pth`` at every start of cross-python, so it must stay small,
stdlib-only and lazy: it replaces ``os.uname`` and installs one meta-path
finder; ``sysconfig`` and ``platform`` are patched only when something imports
them. Settings come from the generated ``_crossenv_config`` next to it.

Native extension modules keep loading: ``importlib.machinery.EXTENSION_SUFFIXES``
is never touched, only what *describes* the target (sysconfig, platform, tags).
"""

import os
import sys

import _crossenv_config as _C


def _build_env_install(argv):
    """True for the ``pip install --prefix <pip-build-env-*>`` that pip runs to
    install an isolated build's requirements: those must be native."""
    if "install" not in argv or "--prefix" not in argv:
        return False
    index = argv.index("--prefix") + 1
    if index >= len(argv):
        return False
    prefix = os.path.normpath(argv[index])
    names = (os.path.basename(prefix), os.path.basename(os.path.dirname(prefix)))
    return any(name.startswith("pip-build-env-") for name in names)


def _meson_script(argv):
    """True for ``cross-python .../meson.py``: meson-python starts a vendored meson
    (numpy's) with ``sys.executable``, and meson runs on the build machine."""
    return len(argv) > 1 and os.path.basename(argv[1]) == "meson.py"


def _hook_process(argv):
    """True for ``python [-flags] .../_in_process.py`` (the PEP 517 hooks pip and
    pypa/build run) and ``python .../setup.py``: see ``_crossenv_facts``."""
    for arg in argv[1:]:
        if arg in ("-c", "-m") or not arg.startswith("-"):
            return os.path.basename(arg) in ("_in_process.py", "setup.py")
    return False


def _pip_cache_dir(default):
    """pip keys cached wheels on the sdist and interpreter only, and every cross env
    runs the same interpreter: wheels are cached per host description. ``default``
    (``.../pip/<key>``) is exported when ``PIP_CACHE_DIR`` is unset; a directory
    of the user's own gets the ``<key>`` subdirectory."""
    key = os.path.basename(default)
    mine = os.environ.get("PIP_CACHE_DIR")
    if mine and os.path.basename(os.path.normpath(mine)) != key:
        os.environ["PIP_CACHE_DIR"] = os.path.join(mine, key)


#: variables naming directories that go first on PATH in cross-python
_FIRST_ON_PATH = ("CROSSENV_CONFIG_SCRIPTS", "CROSSENV_PREPEND_PATH")


def _first_on_path(first, drop=None):
    """PATH with the directories *first* in front, once each, and *drop* left out:
    nested cross-pythons (pip's PEP 517 hook runs) keep one PATH, not a growing one."""
    first = [d for d in first if d]
    if not first and drop is None:
        return
    rest = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d not in first and d != drop]
    os.environ["PATH"] = os.pathsep.join(first + rest)


def _uname():
    real = _real_uname()
    return os.uname_result((_C.SYSTEM, real.nodename, real.release, real.version, _C.MACHINE))


class _Namespace:
    """``sys.crossenv``: the host's facts as attributes. ``sys.cross_compiling`` itself is
    ``True``, exactly, as crossenv 1.x, cibuildwheel's Android/iOS environments and xbuild
    set it (tools test ``sys.cross_compiling == True``)."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def __repr__(self):
        items = ", ".join(f"{k}={v!r}" for k, v in sorted(self.__dict__.items()))
        return f"crossenv({items})"


#: module names patched right after their first import (see ``_crossenv_patches``)
_NAMES = frozenset(("sysconfig", "distutils.sysconfig", "platform", "packaging.tags",
                    "pip._vendor.packaging.tags", *getattr(_C, "IMPORT_HOOKS", {})))


def runtime_module(name):
    """Import a runtime helper from this file's directory, even when it is not on
    ``sys.path``: pip's isolated builds drop the cross site-packages from it."""
    module = sys.modules.get(name)
    if module is None:
        from importlib.util import module_from_spec, spec_from_file_location

        here = os.path.dirname(os.path.abspath(__file__))
        spec = spec_from_file_location(name, os.path.join(here, name + ".py"))
        module = module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


class _Finder:
    """Patches a few modules right after they are first imported, and makes the host's
    sysconfigdata importable by the name ``sysconfig._get_sysconfigdata_name()`` gives
    (as crossenv 1.x did: build scripts import it by that name)."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == _C.SYSCONFIGDATA_NAME:
            from importlib.util import spec_from_file_location

            return spec_from_file_location(name, _C.SYSCONFIGDATA)
        if name not in _NAMES:
            return None
        return runtime_module("_crossenv_patches").find_spec(cls, name, path, target)


def _build_site():
    """ENV/build's site-packages, or None where build-pip's packages stay out of reach:
    ``CROSSENV_BUILD_PACKAGES=0``, another interpreter that runs this shim (uv's and
    pypa/build's isolated venvs) and pip's isolated builds (its ``pip-build-env-*/site``
    on PYTHONPATH), whose isolation is the point."""
    if os.environ.get("CROSSENV_BUILD_PACKAGES") == "0" or not _is_cross_python():
        return None
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if os.path.basename(os.path.dirname(entry.rstrip(os.sep))).startswith("pip-build-env-"):
            return None
    here = os.path.dirname(os.path.abspath(__file__))
    cross_prefix = os.path.dirname(os.path.dirname(_C.SYSCONFIGDATA))
    build_prefix = os.path.dirname(os.path.dirname(_C.BUILD_PYTHON))
    return os.path.join(build_prefix, os.path.relpath(here, cross_prefix))


class _BuildPackages:
    """Last on ``sys.meta_path``: a top-level import that nothing else finds comes from
    ENV/build's site-packages, so what ``build-pip`` installed (Cython...) imports in
    cross-python as in crossenv 1.x. It stays invisible to importlib.metadata and pip
    (``cross-pip`` still installs host copies; ``cross-expose`` makes it visible)."""

    site = ()  # unknown until the first miss
    #: the installers stay each environment's own: a cross env made --without-cross-pip,
    #: or one whose setuptools was uninstalled, must not borrow the build env's copy
    KEEP_APART = frozenset(("sitecustomize", "usercustomize", "pip", "setuptools",
                            "pkg_resources", "_distutils_hack", "wheel"))

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if path is not None or name in cls.KEEP_APART:
            return None
        if cls.site == ():
            cls.site = _build_site()
        if cls.site is None:
            return None
        from importlib.machinery import PathFinder

        return PathFinder.find_spec(name, [cls.site], target)


def _activate():
    # Python 3.9 has no sys.orig_argv; its sys.argv lacks the interpreter (argv[0] is the
    # script pip runs), so it is kept whole after a placeholder.
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    if _build_env_install(argv) and os.path.exists(_C.BUILD_PYTHON):
        # Build requirements run on this machine: let the build env's pip install them,
        # without the host's CMAKE_TOOLCHAIN_FILE/CARGO_BUILD_TARGET a parent exported.
        for name, value in getattr(_C, "BUILD_ENV", {}).items():
            if os.environ.get(name) == value:
                del os.environ[name]
                if name == "CROSSENV_CONFIG_SCRIPTS":  # the build machine's *-config again
                    _first_on_path((), drop=value)
        os.execv(_C.BUILD_PYTHON, [_C.BUILD_PYTHON, *argv[1:]])
    if _meson_script(argv) and os.path.exists(_C.BUILD_PYTHON):
        os.execv(_C.BUILD_PYTHON, [_C.BUILD_PYTHON, *argv[1:]])
    os.environ["PYTHON_CROSSENV"] = "1"
    build_env = getattr(_C, "BUILD_ENV", {})
    if "PIP_CACHE_DIR" in build_env:
        _pip_cache_dir(build_env["PIP_CACHE_DIR"])
    for name, value in build_env.items():
        os.environ.setdefault(name, value)
    # tools builds must find first on PATH: the *-config dispatchers (setup.py runs
    # "curl-config") and ENV's Rust wrappers (maturin runs "cargo")
    _first_on_path([os.environ.get(name) for name in _FIRST_ON_PATH])
    sys.crossenv = _Namespace(**_C.INFO)
    sys.cross_compiling = True
    if hasattr(_C, "BYTEORDER") and _hook_process(argv):
        runtime_module("_crossenv_facts").apply()  # the host's byte order, pointer size
    if _C.MULTIARCH:
        sys.implementation._multiarch = _C.MULTIARCH
    os.uname = _uname
    sys.meta_path.insert(0, _Finder)
    sys.meta_path.append(_BuildPackages)
    sys.meta_path.append(_BuildPackages)
    if not _NAMES.isdisjoint(sys.modules):
        runtime_module("_crossenv_patches").patch_loaded()


def _is_cross_python():
    """pip's isolated-build sitecustomize runs this env's .pth files in *any* python
    started with its PYTHONPATH (the native build python running meson, Cython...):
    only the cross environment's own interpreter describes the host."""
    cross_prefix = os.path.dirname(os.path.dirname(_C.SYSCONFIGDATA))
    if sys.prefix == cross_prefix:  # the common case, without a system call
        return True
    return os.path.realpath(sys.prefix) == os.path.realpath(cross_prefix)


_real_uname = os.uname
if not hasattr(sys, "crossenv") and _is_cross_python():
    _activate()
