"""The host interpreter, callable from a build step: ``ENV/bin/host-python``.

Stub generators (nanobind's and pybind11's stubgen, mypy's stubgen) and build steps
that ask the freshly built extension for something (its version, a generated header)
import the extension they just built. In a cross build that extension is for the host,
so only the host's python can import it: cross-python is the build machine's
interpreter describing the host. This generator returns the host python's venv (the
sysroot's interpreter under qemu-user, see :mod:`crossenv.hostvenv`) for
``ENV/cross/crossenv/host-python`` and the variable ``CROSSENV_HOST_PYTHON`` naming its
``bin/python``, which cross-python exports so a build started by cross-pip finds it;
``ENV/bin/host-python`` runs the same launcher from a shell.

Nothing is returned (and the variable is not exported) when the host python cannot run
here: no sysroot, no interpreter in it, no qemu-user for the host, or no environment
(``crossenv describe``).
"""

from __future__ import annotations

from pathlib import Path

from .. import arches, hostvenv
from ..host import HostDescription
from ..model import Layout
from ._protocol import EXECUTABLE, TEXT, Files, Inputs, Place

#: the directory under ENV/cross/crossenv, and the variable cross-python exports
DIRECTORY = "host-python"
VARIABLE = "CROSSENV_HOST_PYTHON"


def interpreter(host: HostDescription) -> Path | None:
    """The host's ``pythonX.Y`` on this machine (inside the sysroot, or a conda-style
    PREFIX outside it), or None when there is none to run."""
    if host.sysroot is None:
        return None
    name = f"python{host.version_str}"
    if host.prefix_dir is not None:
        path = Path(host.prefix_dir) / "bin" / name
    else:
        path = Path(host.sysroot) / host.prefix.lstrip("/") / "bin" / name
    return path if path.is_file() else None


def launcher(layout: Layout) -> Path:
    """Where cross-python's ``CROSSENV_HOST_PYTHON`` points in a finished ENV."""
    return layout.crossenv_dir / DIRECTORY / "bin" / "python"


def _runnable(target: Inputs, place: Place) -> tuple[Path, str] | None:
    host = target.host
    python = interpreter(host)
    qemu = arches.which_qemu(host.arch) if host.arch is not None else None
    if python is None or qemu is None or place.layout is None:
        return None
    return python, qemu


def files(target: Inputs, place: Place) -> Files:
    """The venv's ``pyvenv.cfg`` and its launchers, naming their final paths."""
    found = _runnable(target, place)
    if found is None:
        return {}
    python, qemu = found
    host = target.host
    assert host.sysroot is not None and place.layout is not None
    final = launcher(place.layout).parent
    out: Files = {f"{DIRECTORY}/{hostvenv.CONFIG}": (hostvenv.config(python, host.version_str),
                                                       TEXT)}
    for name in hostvenv.names(host.version_str):
        out[f"{DIRECTORY}/bin/{name}"] = (
            hostvenv.script(qemu, Path(host.sysroot), python, final / name), EXECUTABLE)
    return out


def env(target: Inputs, place: Place) -> dict[str, str]:
    """``CROSSENV_HOST_PYTHON``, when the launcher is written."""
    if _runnable(target, place) is None:
        return {}
    assert place.layout is not None
    return {VARIABLE: str(launcher(place.layout))}
