"""The host interpreter, callable from a build step: ``ENV/bin/host-python``.

Stub generators (nanobind's and pybind11's stubgen, mypy's stubgen) and build steps
that ask the freshly built extension for something (its version, a generated header)
import the extension they just built. In a cross build that extension is for the host,
so only the host's python can import it: cross-python is the build machine's
interpreter describing the host. This generator writes the host python's venv (the
sysroot's interpreter under qemu-user, see :mod:`crossenv.hostvenv`) into
``ENV/cross/crossenv/host-python`` and exports ``CROSSENV_HOST_PYTHON`` naming its
``bin/python`` in cross-python, so a build started by cross-pip finds it;
``ENV/bin/host-python`` runs the same launcher from a shell.

Nothing is written (and the variable is not exported) when the host python cannot run
here: no sysroot, no interpreter in it, or no qemu-user for the host.
"""

from __future__ import annotations

from pathlib import Path

from . import arches, hostvenv
from .host import HostDescription
from .model import Layout, Options, Toolchain

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


def write(directory: Path, layout: Layout, host: HostDescription, chain: Toolchain,
          options: Options) -> dict[str, str]:
    """The host python's venv, and the variable naming it (both only when it can run)."""
    python = interpreter(host)
    arch = host.arch
    qemu = arches.which_qemu(arch) if arch is not None else None
    if python is None or qemu is None or host.sysroot is None:
        return {}
    hostvenv.make(directory / DIRECTORY, qemu=qemu, sysroot=Path(host.sysroot),
                  interpreter=python, version=host.version_str,
                  final=layout.crossenv_dir / DIRECTORY)
    return {VARIABLE: str(launcher(layout))}
