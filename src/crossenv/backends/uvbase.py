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
import functools
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

from .. import templates
from ..errors import CrossenvError
from ._protocol import Copy, Files, Inputs, Link, Place

DIR_NAME = "uv-base"



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


@functools.lru_cache(maxsize=4)
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


def loader_source(relative_site: str) -> str:
    """The zip's ``sitecustomize`` (``templates/uv-sitecustomize.py.in``): crossenv-computed
    paths only, as Python literals."""
    return templates.fill("uv-sitecustomize.py.in", site=relative_site)


def files(target: Inputs, place: Place) -> Files:
    """``uv-base``: links to the build python's library (a copy of its interpreter before
    3.11) and the zip with our ``sitecustomize``."""
    layout = place.env_layout("uv-base's files")
    build = _base_of(target.options.build_python)
    python = Path("bin") / f"python{build.version[0]}.{build.version[1]}"
    out: Files = {}
    for name, source in ((_relative(build.stdlib, build.base_prefix), build.stdlib),
                         (_relative(build.platstdlib, build.base_exec_prefix),
                          build.platstdlib)):
        out[f"{DIR_NAME}/{name}"] = (Link(source), 0o755)
    if build.version >= (3, 11):
        out[f"{DIR_NAME}/{python}"] = (Link(build.executable), 0o755)
    else:
        out[f"{DIR_NAME}/{python}"] = (Copy(build.executable), 0o755)
    relative_site = os.path.relpath(layout.cross_site, place.directory / DIR_NAME)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sitecustomize.py", loader_source(relative_site))
    out[f"{DIR_NAME}/{_zip_name(build)}"] = (buffer.getvalue(), 0o644)
    return out


def env(target: Inputs, place: Place) -> dict[str, str]:
    """None: patch_query finds uv-base beside the cross site-packages."""
    return {}


def check(directory: Path, target: Inputs, place: Place) -> None:
    """Once written: does a venv made from uv-base put our zip on ``sys.path``? If not,
    uv-base goes again (patch_query then refuses uv with one line)."""
    build = _base_of(target.options.build_python)
    base = directory / DIR_NAME
    python = base / "bin" / f"python{build.version[0]}.{build.version[1]}"
    if not _zip_on_path(base, python, base / _zip_name(build)):
        shutil.rmtree(base)


def _zip_name(build: _Base) -> str:
    return f"{build.platlibdir}/python{build.version[0]}{build.version[1]}.zip"


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
