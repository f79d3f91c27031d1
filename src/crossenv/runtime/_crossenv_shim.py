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


def _uname():
    real = _real_uname()
    return os.uname_result((_C.SYSTEM, real.nodename, real.release, real.version, _C.MACHINE))


class _Namespace:
    """``sys.cross_compiling``: truthy, with the host's facts as attributes."""

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
    """Patches a few modules right after they are first imported."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in _NAMES:
            return None
        return runtime_module("_crossenv_patches").find_spec(cls, name, path, target)


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
        os.execv(_C.BUILD_PYTHON, [_C.BUILD_PYTHON, *argv[1:]])
    os.environ["PYTHON_CROSSENV"] = "1"
    for name, value in getattr(_C, "BUILD_ENV", {}).items():
        os.environ.setdefault(name, value)
    sys.cross_compiling = _Namespace(**_C.INFO)
    if _C.MULTIARCH:
        sys.implementation._multiarch = _C.MULTIARCH
    os.uname = _uname
    sys.meta_path.insert(0, _Finder)
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
if not hasattr(sys, "cross_compiling") and _is_cross_python():
    _activate()
