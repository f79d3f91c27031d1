"""``ENV/cross/crossenv/uv-base``: the base installation uv's build venvs are made from.

uv makes its isolated build venv from the queried interpreter's
``sys._base_executable`` and runs the PEP 517 hooks with that venv's python, in
which nothing of the cross environment is loaded. cross-python reports this
directory's python as its base executable to uv's query (runtime
``_crossenv_uv.patch_query``), so uv's build venvs get ``home = uv-base/bin``.

uv-base is the build python's own installation seen through two symlinks (the
interpreter and the standard library, so CPython finds its ``lib/python3.X/os.py``
landmark and sets ``sys.base_prefix`` here) plus one file of its own:
``lib/python3XY.zip``, which CPython always puts on ``sys.path`` before the
standard library. Its ``sitecustomize`` loads ``_crossenv_uv`` from the cross
site-packages (a path relative to itself, so a renamed ENV keeps working) in
uv's build processes, then runs the next ``sitecustomize`` it hides. Pythons
not made from uv-base never see the zip.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

from ..errors import CrossenvError
from ..host import HostDescription
from ..model import Layout, Options, Toolchain

DIR_NAME = "uv-base"

_LOADER = '''\
"""crossenv: this python's base is a cross environment's uv-base (a uv build venv)."""

import os
import sys

_SITE = {site!r}  # the cross site-packages, relative to uv-base
_NAMES = ("sitecustomize.py", "sitecustomize.pyc", os.path.join("sitecustomize", "__init__.py"))


def _crossenv():
    if "UV_INTERNAL__BUILD_DIR" not in os.environ:
        return
    base = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    site = os.path.normpath(os.path.join(base, _SITE))
    path = os.path.join(site, "_crossenv_uv.py")
    if not os.path.isfile(path):
        sys.stderr.write(f"crossenv: {{path}} is missing; recreate the cross environment\\n")
        sys.stderr.flush()
        os._exit(2)
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("_crossenv_uv", path)
    module = module_from_spec(spec)
    sys.modules["_crossenv_uv"] = module
    spec.loader.exec_module(module)
    module.start(site)


def _chain():
    here = os.path.dirname(os.path.abspath(__file__))
    later = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    if not any(os.path.exists(os.path.join(p or os.curdir, n)) for p in later for n in _NAMES):
        return
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", later)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


_crossenv()
_chain()
'''


class UvBaseError(CrossenvError):
    """The build python's installation cannot be mirrored for uv."""


@dataclasses.dataclass(frozen=True)
class _Base:
    """The facts of the build python's base installation that uv-base mirrors."""

    executable: Path  # the real interpreter, outside any venv
    stdlib: Path
    platstdlib: Path
    base_prefix: str
    base_exec_prefix: str
    version: tuple[int, int]
    platlibdir: str


_QUERY = """\
import json, os, sys, sysconfig
print(json.dumps({
    "executable": os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable),
    "stdlib": sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix}),
    "platstdlib": sysconfig.get_path("platstdlib", vars={"platbase": sys.base_exec_prefix}),
    "base_prefix": sys.base_prefix, "base_exec_prefix": sys.base_exec_prefix,
    "version": list(sys.version_info[:2]), "platlibdir": getattr(sys, "platlibdir", "lib"),
}))
"""


def _base_of(python: Path | None) -> _Base:
    """Ask the env's build interpreter (crossenv's own when none was given, without a
    subprocess): the host's X.Y need not be the one crossenv runs on."""
    if python is None or os.path.realpath(python) == os.path.realpath(sys.executable):
        facts = {"executable": os.path.realpath(getattr(sys, "_base_executable", None)
                                                or sys.executable),
                 "stdlib": sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix}),
                 "platstdlib": sysconfig.get_path("platstdlib",
                                                  vars={"platbase": sys.base_exec_prefix}),
                 "base_prefix": sys.base_prefix, "base_exec_prefix": sys.base_exec_prefix,
                 "version": list(sys.version_info[:2]), "platlibdir": sys.platlibdir}
    else:
        try:
            out = subprocess.run([str(python), "-I", "-S", "-c", _QUERY], capture_output=True,
                                  text=True, timeout=60, check=True).stdout
            facts = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise UvBaseError(f"cannot ask the build python {python} about its installation "
                              f"({exc}); pass a working --build-python") from None
    return _Base(Path(facts["executable"]), Path(facts["stdlib"]), Path(facts["platstdlib"]),
                 facts["base_prefix"], facts["base_exec_prefix"],
                 (int(facts["version"][0]), int(facts["version"][1])), facts["platlibdir"])


def _relative(path: Path, prefix: str) -> Path:
    try:
        return path.relative_to(prefix)
    except ValueError:
        raise UvBaseError(f"the build python's library {path} is not inside its prefix "
                          f"{prefix}; crossenv cannot prepare uv builds for it") from None


def _copy_interpreter(executable: Path, python: Path) -> None:
    """Before 3.11, CPython resolves the symlinks of the interpreter *before* looking
    for the stdlib landmark, so a linked ``uv-base/bin/python3.X`` would give the
    real prefix (and no zip): these versions get a copy of the (small, libpython-
    linked or static) interpreter instead."""
    python.parent.mkdir(parents=True, exist_ok=True)
    if python.is_symlink() or python.exists():
        python.unlink()
    shutil.copy2(executable, python)


def loader_source(relative_site: str) -> str:
    """The zip's ``sitecustomize``: crossenv-computed paths only, quoted by repr."""
    return _LOADER.format(site=relative_site)


def write(directory: Path, layout: Layout, host: HostDescription, chain: Toolchain,
          options: Options) -> dict[str, str]:
    """Make ``directory/uv-base``; no variables to export."""
    build = _base_of(options.build_python)
    base = directory / DIR_NAME
    python = base / "bin" / f"python{build.version[0]}.{build.version[1]}"
    links = {_relative(build.stdlib, build.base_prefix): build.stdlib,
             _relative(build.platstdlib, build.base_exec_prefix): build.platstdlib}
    if build.version >= (3, 11):
        links[python.relative_to(base)] = build.executable
    else:
        _copy_interpreter(build.executable, python)
    for name, target in links.items():
        link = base / name
        if link.is_symlink():  # a kept cross env is regenerated in place
            link.unlink()
        elif link.exists():
            raise UvBaseError(f"{link} is in the way of crossenv's uv base; remove it")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    relative_site = os.path.relpath(layout.cross_site, layout.crossenv_dir / DIR_NAME)
    zip_path = base / build.platlibdir / f"python{build.version[0]}{build.version[1]}.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sitecustomize.py", loader_source(relative_site))
    zip_path.write_bytes(buffer.getvalue())
    if not _zip_on_path(base, python, zip_path):
        shutil.rmtree(base)  # made just now; patch_query then refuses uv with one line
    return {}


def _zip_on_path(base: Path, python: Path, zip_path: Path) -> bool:
    """Does a venv made from uv-base (as uv makes it) put our zip on ``sys.path``?

    One ``python -S`` start (no site) in a throw-away venv inside uv-base, at creation.
    """
    venv = Path(tempfile.mkdtemp(prefix="probe-", dir=base))
    try:
        (venv / "bin").mkdir()
        (venv / "pyvenv.cfg").write_text(f"home = {python.parent}\n"
                                         "include-system-site-packages = false\n")
        (venv / "bin" / "python").symlink_to(python)
        proc = subprocess.run([str(venv / "bin" / "python"), "-S", "-E", "-c",
                               "import sys; print(sys.prefix); print(*sys.path, sep='\\n')"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    return proc.returncode == 0 and str(zip_path) in proc.stdout.splitlines()
