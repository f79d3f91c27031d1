"""crossenv runtime: the patches the shim applies, loaded on the first hooked import.

``_crossenv_shim`` runs at every start of cross-python and keeps only what every
start needs (``os.uname``, ``sys.cross_compiling``/``sys.crossenv``, the variables, one meta-path
finder that knows the hooked module names). This module is read only when one of
those modules (``sysconfig``, ``platform``, ``packaging.tags``, the import hooks
named in ``_crossenv_config.IMPORT_HOOKS``) is imported, so a plain
``cross-python -c ...`` never loads it. Stdlib only.
"""

import sys

import _crossenv_config as _C
from _crossenv_shim import runtime_module


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
    if hasattr(mod, "_os_release_candidates"):  # freedesktop_os_release(), 3.10+
        sysroot = _C.INFO.get("sysroot")
        mod._os_release_candidates = tuple(
            sysroot.rstrip("/") + path for path in mod._os_release_candidates) if sysroot else ()
        mod._os_release_cache = None
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


PATCHES = {
    "sysconfig": _patch_sysconfig,
    "distutils.sysconfig": _patch_distutils_sysconfig,
    "platform": _patch_platform,
    "packaging.tags": _patch_tags,
    "pip._vendor.packaging.tags": _patch_tags,
}


def cannot_patch(target, reason):
    """The one line a patch whose target is missing prints: never a silent no-op."""
    sys.stderr.write(f"crossenv: cannot patch {target} (upstream changed?): {reason}\n")
    sys.stderr.flush()


def _hook(spec):
    """A patch that imports ``module:function`` from the runtime files only when needed.

    A hook returns None once it has patched (or found nothing to do), or
    ``(attribute, reason)`` when the shape it relies on is not there.
    """

    def run(module):
        name, _, func = spec.partition(":")
        problem = getattr(runtime_module(name), func)(module)
        if problem:
            attribute, reason = problem
            cannot_patch(f"{module.__name__}.{attribute}", reason)

    return run


HOOKS = {name: _hook(spec) for name, spec in getattr(_C, "IMPORT_HOOKS", {}).items()}


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


def find_spec(finder, name, path, target):
    """``_Finder.find_spec`` for a hooked *name*: the real spec, with a patching loader."""
    patch = PATCHES.get(name) or HOOKS.get(name)
    if patch is None:
        return None
    for other in sys.meta_path:
        if other is finder:
            continue
        find = getattr(other, "find_spec", None)
        spec = find(name, path, target) if find else None
        if spec is not None:
            break
    else:
        return None
    if spec.loader is not None:
        spec.loader = _PatchingLoader(spec.loader, patch, name)
    return spec


def patch_loaded():
    """Patch hooked modules imported before the shim ran (a .pth of an earlier name)."""
    for name, patch in (*PATCHES.items(), *HOOKS.items()):
        module = sys.modules.get(name)
        if module is not None:
            patch(module)
