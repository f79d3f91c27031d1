"""Target requirements: the *host's* copy of packages whose headers describe the ABI.

An isolated build installs its build requirements natively (they run here), so
a package compiled against numpy's C API would otherwise see the build
machine's ``_numpyconfig.h`` (8-byte ``long`` on x86_64, wrong for armhf). When
cross-python imports numpy, this hook points ``numpy.get_include()`` (and so
``numpy-config``, meson's ``dependency('numpy')``, scikit-build-core's
``Python_NumPy_INCLUDE_DIR``, setuptools builds) at a numpy installed *for the
host* into ``CROSSENV_HOST_PACKAGES/<name>-<version>`` — plain files, never
imported. It is installed on first use with the environment's cross-pip, so a
host binary wheel is used when one exists and the sdist is cross-built
otherwise (pip's wheel cache keeps it for the next environment).

Which version: a requirement declared in ``CROSSENV_HOST_REQUIREMENTS`` (one per
line, as ``crossenv --host-requirement`` writes it; a line may also hold several,
separated by spaces, where a space before a version operator stays inside the
requirement: ``numpy <2``) or in the project's ``[tool.crossenv] host-requirements``;
else the native numpy's own version, so the headers match what the build resolved.

A host copy that cannot be installed stops the build (one line, exit status 2): the
native headers it would fall back to describe the build machine (``long`` and
pointer sizes, byte order), and the wheel would be silently wrong.
"""

import importlib
import os
import re
import subprocess
import sys

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


#: a word that continues the requirement before it: an operator, a marker, a URL...
_CONTINUES = "<>=!~,;@([" + "'\""
_OPEN_END = ("<", ">", "=", "!", "~", ",", "@", "(", "[", ";")


def split_requirements(text):
    """The requirements in *text*: one per line, or several on a line separated by
    spaces (``numpy==2.3.5 pybind11``), a spaced specifier kept whole (``numpy <2``,
    ``numpy >= 2, <3``, ``numpy; python_version < '3.11'``)."""
    found = []
    for line in text.splitlines():
        current = []
        for word in line.split():
            joined = " ".join(current)
            if current and (word[0] in _CONTINUES or joined.endswith(_OPEN_END)
                            or ";" in joined):
                current.append(word)
                continue
            if current:
                found.append(joined)
            current = [word]
        if current:
            found.append(" ".join(current))
    return found


def declared():
    """Requirement strings from the environment variable and ./pyproject.toml."""
    specs = split_requirements(os.environ.get("CROSSENV_HOST_REQUIREMENTS", ""))
    tomllib = _toml_reader()
    if tomllib is not None and os.path.isfile("pyproject.toml"):
        try:
            with open("pyproject.toml", "rb") as fh:
                table = tomllib.load(fh).get("tool", {}).get("crossenv", {})
            specs += [str(s) for s in table.get("host-requirements", [])]
        except (OSError, ValueError):
            pass
    return specs


def _toml_reader():
    """tomllib (3.11+), else tomli: Python 3.9/3.10 build environments have it through
    pytest, meson-python or pip's vendored copy, which every cross env has."""
    for name in ("tomllib", "tomli", "pip._vendor.tomli"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def requirement_for(name, native_version):
    """The requirement to install for the host: declared one, or ``name==native``."""
    for spec in declared():
        match = _NAME.match(spec)
        if match and _canonical(match.group(1)) == _canonical(name):
            return spec.strip()
    return f"{name}=={native_version}"


def _slug(spec):
    return re.sub(r"[^A-Za-z0-9.=_-]+", "_", spec).replace("==", "-")


def _env_bin(name):
    import _crossenv_config

    return os.path.join(_crossenv_config.INFO["env"], "bin", name)


def ensure(spec):
    """Install *spec* for the host (once) and return its directory, or None."""
    base = os.environ.get("CROSSENV_HOST_PACKAGES")
    if not base:
        return None
    target = os.path.join(base, _slug(spec))
    marker = os.path.join(target, ".crossenv-complete")
    if os.path.exists(marker):
        return target
    if os.environ.get("CROSSENV_TARGET_INSTALLING") == spec:
        return None  # building the requirement itself: do not recurse
    os.makedirs(base, exist_ok=True)
    lock = os.path.join(base, _slug(spec) + ".lock")
    with open(lock, "w") as fh:
        import fcntl

        fcntl.flock(fh, fcntl.LOCK_EX)
        if os.path.exists(marker):
            return target
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "PIP_BUILD_TRACKER", "PEP517", "_PYPROJECT"))}
        env["CROSSENV_TARGET_INSTALLING"] = spec
        cmd = [_env_bin("cross-pip"), "install", "--no-deps", "--ignore-installed",
               "--no-warn-script-location", "--target", target, spec]
        sys.stderr.write(f"crossenv: installing the host's {spec} (target requirement)\n")
        proc = subprocess.run(cmd, env=env, stdout=sys.stderr, check=False)
        if proc.returncode != 0:
            sys.stderr.write(
                f"crossenv: error: could not install the host's {spec} (see pip's output "
                "above); the build machine's copy would describe the wrong machine, so the "
                "build stops: fix the requirement (--host-requirement, [tool.crossenv] "
                "host-requirements) or make it installable for the host\n")
            sys.stderr.flush()
            raise SystemExit(2)
        open(marker, "w").close()
    return target


def _host_numpy_include(module):
    override = os.environ.get("CROSSENV_NUMPY_INCLUDE")
    if override:
        return override
    version = getattr(module, "__version__", None)
    if not version:
        return None
    target = ensure(requirement_for("numpy", version))
    if target is None:
        return None
    for sub in (("numpy", "_core", "include"), ("numpy", "core", "include")):
        path = os.path.join(target, *sub)
        if os.path.isdir(path):
            return path
    return None


def patch_numpy(module):
    """Replace ``get_include`` wherever numpy exposes it (``numpy-config`` imports it)."""
    if getattr(module, "_crossenv_patched", False):
        return None
    if not callable(getattr(module, "get_include", None)):
        return "get_include", "numpy has no get_include()"
    module._crossenv_patched = True
    cache = []

    def get_include():
        if not cache:
            cache.append(_host_numpy_include(module) or original())
        return cache[0]

    original = module.get_include
    get_include.__doc__ = original.__doc__
    module.get_include = get_include
    for name in ("numpy.lib._utils_impl", "numpy.lib.utils", "numpy.lib"):
        sub = sys.modules.get(name)
        if sub is not None and getattr(sub, "get_include", None) is original:
            sub.get_include = get_include
    return None
