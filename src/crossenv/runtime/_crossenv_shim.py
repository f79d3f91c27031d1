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


def _load_host_vars():
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location(_C.SYSCONFIGDATA_NAME, _C.SYSCONFIGDATA)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.setdefault(_C.SYSCONFIGDATA_NAME, module)
    return module.build_time_vars


def _patch_sysconfig(mod):
    def _init_posix(vars):
        vars.update(_load_host_vars())

    mod._init_posix = _init_posix
    mod._get_sysconfigdata_name = lambda *args: _C.SYSCONFIGDATA_NAME
    mod.get_platform = lambda: _C.HOST_PLATFORM
    if getattr(mod, "_CONFIG_VARS", None):  # already initialised with build values
        mod._CONFIG_VARS.update(_load_host_vars())


def _patch_platform(mod):
    bits = f"{_C.POINTER_BITS}bit"
    mod.architecture = lambda executable=None, bits_=bits, linkage="ELF": (bits_, linkage)
    processor = getattr(mod, "_Processor", None)
    if processor is not None:
        processor.get = staticmethod(lambda: _C.MACHINE)
    mod.processor = lambda: _C.MACHINE
    if _C.LIBC:
        mod.libc_ver = lambda *args, **kwargs: tuple(_C.LIBC)
    cache = getattr(mod, "_uname_cache", None)
    if cache is not None and cache.machine != _C.MACHINE:
        mod._uname_cache = None


def _patch_tags(mod):
    if _C.PLATFORM_TAGS:
        tags = list(_C.PLATFORM_TAGS)
        mod.platform_tags = lambda: iter(tags)


def _patch_distutils_sysconfig(mod):
    # Python <= 3.11's distutils imports a sysconfigdata module by a name it computes
    # itself, which is not on sys.path (pip's locations code reaches it on 3.9).
    def _init_posix():
        mod._config_vars = dict(_load_host_vars())

    mod._init_posix = _init_posix


_PATCHES = {
    "sysconfig": _patch_sysconfig,
    "distutils.sysconfig": _patch_distutils_sysconfig,
    "platform": _patch_platform,
    "packaging.tags": _patch_tags,
    "pip._vendor.packaging.tags": _patch_tags,
}


def _runtime_module(name):
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


def _hook(spec):
    """A patch that imports ``module:function`` from the runtime files only when needed."""

    def run(module):
        name, _, func = spec.partition(":")
        getattr(_runtime_module(name), func)(module)

    return run


_HOOKS = {name: _hook(spec) for name, spec in getattr(_C, "IMPORT_HOOKS", {}).items()}


class _PatchingLoader:
    def __init__(self, loader, patch, name):
        self._loader = loader
        self._patch = patch
        self._name = name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._patch(module)

    def get_code(self, fullname):
        if fullname == "sysconfig" and self._name == "sysconfig":
            # ``python -m sysconfig`` runs a fresh copy as __main__: run the patched one.
            return compile("import sysconfig\nsysconfig._main()\n", "<crossenv>", "exec")
        return self._loader.get_code(fullname)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Finder:
    """Patches a few modules right after they are first imported."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        patch = _PATCHES.get(name) or _HOOKS.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is cls:
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader, patch, name)
        return spec


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
    for name, patch in (*_PATCHES.items(), *_HOOKS.items()):
        module = sys.modules.get(name)
        if module is not None:
            patch(module)


def _is_cross_python():
    """pip's isolated-build sitecustomize runs this env's .pth files in *any* python
    started with its PYTHONPATH (the native build python running meson, Cython...):
    only the cross environment's own interpreter describes the host."""
    cross_prefix = os.path.dirname(os.path.dirname(_C.SYSCONFIGDATA))
    return os.path.realpath(sys.prefix) == os.path.realpath(cross_prefix)


_real_uname = os.uname
if not hasattr(sys, "cross_compiling") and _is_cross_python():
    _activate()
