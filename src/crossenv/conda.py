"""The conda layout: cross-python as conda-forge's cross-python package runs it.

conda-forge cross-compiles every Python extension for linux-aarch64 and linux-ppc64le
with crossenv 1.x, through its cross-python-feedstock's activation script. That script
creates ``$BUILD_PREFIX/venv`` (``ENV``) from ``$PREFIX/bin/python`` and then edits
crossenv 1.x's layout: it copies the host's sysconfigdata into ``ENV/lib``, copies the
Python wrapper ``ENV/cross/bin/python`` to ``ENV/bin/cross-python`` and edits it with
``sed`` (``extra_envs = []``, ``sys.argv[0]`` after ``import sys``, two paths after the
``'ENV/lib'`` entry of its path list), removes ``ENV/cross``, links
``ENV/lib/pythonX.Y/site-packages`` to ``$BUILD_PREFIX``'s and
``ENV/lib/sitecustomize.py`` to ``ENV/lib/site.py``. Finally ``$PREFIX/bin/python``
becomes a program that execs ``ENV/bin/cross-python``.

This module writes that layout, so the published script works unchanged, and makes
each of its edits unnecessary (``crossenv --conda``, docs/integrations/conda-forge.rst):

* ``ENV/cross/bin/python`` and ``ENV/bin/cross-python*`` are a Python wrapper (crossenv
  1.x's shape) that starts the build interpreter as ``$PREFIX/bin/python``
  (``sys.executable``; ``sys.prefix`` is then ``$PREFIX``, so ``pip install .`` installs
  into it) with ``ENV/lib``, the build interpreter's ``lib-dynload`` and its
  site-packages (``$BUILD_PREFIX``'s) first on ``PYTHONPATH``, and no variable of its
  own for the compiler (``extra_envs`` holds only ``--env``);
* ``ENV/lib`` holds the runtime shim, its settings and the host's sysconfigdata
  *verbatim* (conda's compilers and flags, as the script's copy restores), and
  ``site.py``/``sitecustomize.py``, which start the shim in a process the wrapper
  started (``sitecustomize`` on 3.11+, whose ``site`` is frozen; ``site`` before);
* nothing depends on ``ENV/cross``, which the script deletes.

The layout is written when the host interpreter is in a conda prefix (one with
``conda-meta``) or with ``--conda``. Stdlib-only text is generated here; the runtime
files are the package's own.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from . import crossconfig, quoting
from .errors import CrossenvError
from .host import HostDescription
from .model import Layout, Options

#: runtime hooks that need nothing in ENV/cross (the others read its generated files)
HOOKS = ("setuptools.command.bdist_wheel", "wheel.bdist_wheel", "mesonpy",
         "pip._internal.operations.install.wheel", "distro.distro")

#: the variable the wrapper sets for the one process it starts (site.py removes it)
MARK = "_CROSSENV_LIB"

_WRAPPER = '''#!{build_python} -I
# cross-python in crossenv's conda layout (crossenv 1.x's ENV/cross/bin/python): starts
# the build interpreter as the host's python, with crossenv's lib directory first on the
# path; that directory's site.py (sitecustomize.py) starts crossenv's runtime.
import os
import sys

sys.argv[0] = {host_python}

# (name, operator, value) from --env, as crossenv 1.x applied them
extra_envs = {extra_envs}

# crossenv's lib directory, the build interpreter's extension modules and packages
path = ['{lib}', '{dynload}', '{site}']

for name in ("PYTHONPATH",):
    if "_OLD_" + name not in os.environ and name in os.environ:
        os.environ["_OLD_" + name] = os.environ[name]
old = os.environ.get("PYTHONPATH")
os.environ["PYTHONPATH"] = os.pathsep.join(path + ([old] if old else []))
for name, assign, value in extra_envs:
    if assign == "=":
        os.environ[name] = value
    elif assign == "?=" and name not in os.environ:
        os.environ[name] = value
    elif assign == "+=":
        os.environ[name] = os.environ.get(name, "") + value
    elif assign == ":=":
        os.environ[name] = os.environ[name] + ":" + value if name in os.environ else value
os.environ["{mark}"] = path[0]
os.execv({build_python_literal}, sys.argv)
'''

_SITE = '''"""crossenv's conda layout: starts crossenv's runtime in a cross-python.

Imported as ``sitecustomize`` (Python 3.11+, whose ``site`` module is frozen) or, found
first on ``PYTHONPATH``, as ``site`` itself (older Pythons: the standard library's
``site`` is run first). Only a process started by the cross-python wrapper, which names
this directory in {mark}, is changed; the variable and ``PYTHONPATH`` are restored so
that other Pythons a build starts are not affected (crossenv 1.x's site.py did the same).
"""

import os
import sys


def _standard_site():
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("site", os.path.join(os.path.dirname(os.__file__),
                                                        "site.py"))
    module = module_from_spec(spec)
    sys.modules["site"] = module
    spec.loader.exec_module(module)


def _start():
    here = os.path.dirname(os.path.abspath(__file__))
    if os.environ.get("{mark}") != here or hasattr(sys, "crossenv"):
        return
    del os.environ["{mark}"]
    old = os.environ.pop("_OLD_PYTHONPATH", None)
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old
    import _crossenv_shim

    if not hasattr(sys, "crossenv"):
        _crossenv_shim._activate()


if __name__ == "site":
    _standard_site()
_start()
'''


class CondaLayoutError(CrossenvError):
    """A path the wrapper cannot name."""


def in_conda_prefix(host_python: Path) -> bool:
    """True for an interpreter in a conda environment (``PREFIX/conda-meta``)."""
    return (Path(host_python).absolute().parent.parent / "conda-meta").is_dir()


def _literal_path(path: Path | str, what: str) -> str:
    """A path conda-forge's sed can extend: inside ``'...'``, without quotes of its own."""
    text = str(path)
    if any(c in text for c in "'\\\n\r@"):
        raise CondaLayoutError(f"{what} {text!r} has a quote, backslash, @ or line break, "
                               "which crossenv's conda layout cannot name; use another "
                               "directory")
    return text


def build_paths(build_python: Path) -> tuple[str, str]:
    """The build interpreter's ``lib-dynload`` and site-packages (``$BUILD_PREFIX``'s)."""
    code = ("import os, sysconfig; "
            "print(os.path.join(os.path.dirname(os.__file__), 'lib-dynload')); "
            "print(sysconfig.get_paths()['purelib'])")
    proc = subprocess.run([str(build_python), "-I", "-c", code], capture_output=True,
                          text=True)
    out = proc.stdout.splitlines()
    if proc.returncode != 0 or len(out) != 2:
        raise CondaLayoutError(f"{build_python} could not report its lib-dynload and "
                               "site-packages; pass a working --build-python")
    return out[0], out[1]


def wrapper(layout: Layout, *, host_python: str, build_paths: tuple[str, str],
            env_vars: Sequence[tuple[str, str, str]]) -> str:
    """The text of ``ENV/cross/bin/python`` and ``ENV/bin/cross-python``."""
    lib = _literal_path(layout.env / "lib", "ENV")
    return _WRAPPER.format(
        build_python=layout.build_python, build_python_literal=quoting.python(
            str(layout.build_python)),
        host_python=quoting.python(host_python), extra_envs=quoting.python(
            [list(item) for item in env_vars]),
        lib=lib, dynload=_literal_path(build_paths[0], "the build python's lib-dynload"),
        site=_literal_path(build_paths[1], "the build python's site-packages"), mark=MARK)


def _config(layout: Layout, host: HostDescription, options: Options, data: Path) -> str:
    name = data.name[:-len(".py")]
    return crossconfig.render_runtime_config(
        dataclasses.replace(host, sysconfigdata_name=name), sysconfigdata_file=data,
        build_python=layout.build_python, env_dir=layout.env, libc=options.libc,
        platform_tags=list(options.platform_tags), build_env={},
        import_hooks={k: v for k, v in _import_hooks().items() if k in HOOKS})


def _import_hooks() -> Mapping[str, str]:
    from .backends import IMPORT_HOOKS

    return IMPORT_HOOKS


def check(envs: Sequence[Path | str], options: Options) -> tuple[str, str]:
    """Before anything is created: the build interpreter's paths, and every path the
    wrapper will name is one it can name (else one line, exit status 2)."""
    if options.build_python is None:
        raise CondaLayoutError("the conda layout needs the build interpreter's path")
    paths = build_paths(Path(options.build_python))
    for env in envs:
        lib = _literal_path(Path(os.path.realpath(env)) / "lib", "ENV")
        if any(c.isspace() for c in lib):  # ENV/build/bin/python is the wrapper's #! line
            raise CondaLayoutError(f"ENV {env} has white space, which a #! line cannot "
                                   "name; use another directory")
    for path, what in zip(paths, ("lib-dynload", "site-packages")):
        _literal_path(path, f"the build python's {what}")
    return paths


def write(layout: Layout, host: HostDescription, options: Options, host_python: str,
          paths: tuple[str, str]) -> None:
    """Write the conda layout into the created ENV at *layout* (*paths*: :func:`check`)."""
    text = wrapper(layout, host_python=host_python, build_paths=paths,
                   env_vars=options.env_vars)
    lib = layout.env / "lib"
    (lib / f"python{host.version_str}" / "site-packages").mkdir(parents=True, exist_ok=True)
    for entry in (resources.files("crossenv") / "runtime").iterdir():
        if entry.name.endswith(".py"):
            (lib / entry.name).write_bytes(entry.read_bytes())
    source = host.sysconfigdata_path
    if source is not None and source.suffix == ".py":
        data = lib / source.name
        shutil.copyfile(source, data)  # verbatim: conda's compilers and flags
    else:
        data = lib / f"{host.sysconfigdata_name}.py"
        data.write_text(crossconfig.render_sysconfigdata(host.config_vars, host),
                        encoding="utf-8")
    (lib / "_crossenv_config.py").write_text(_config(layout, host, options, data),
                                            encoding="utf-8")
    site = _SITE.format(mark=MARK)
    for name in ("site.py", "sitecustomize.py"):
        (lib / name).write_text(site, encoding="utf-8")
    targets = [layout.cross_python, *(layout.bin / f"cross-python{suffix}"
                                      for suffix in ("", "3", host.version_str))]
    for target in targets:
        if target.is_symlink() or target.exists():
            target.unlink()
        target.write_text(text, encoding="utf-8")
        target.chmod(0o755)

