"""A venv on the build machine whose ``python`` is the host's python under qemu-user.

Test suites start Python themselves: ``subprocess.run([sys.executable, "-c", ...])``,
``python3`` from PATH, multiprocessing's spawn. Without binfmt_misc the kernel cannot run
the sysroot's interpreter (an aarch64 ELF: ``Exec format error``), so ``sys.executable``
must be something the build machine can run. qemu-user hands a guest's ``execve`` to the
kernel unchanged, so a guest that runs a ``#!/bin/sh`` script runs the build machine's
``/bin/sh``, natively; the script then starts qemu with the host python again.

The directory made here is that script three times (``python``, ``python3``,
``pythonX.Y``) plus a ``pyvenv.cfg`` whose ``home`` is the sysroot's ``usr/bin``. qemu
starts the host python with ``-0 <script>`` as its ``argv[0]``, and CPython's own
startup (getpath) then takes the script as ``sys.executable`` and the directory as a
venv: ``sys.base_prefix`` is still the sysroot's ``usr``, the sysroot's site-packages
stay visible (``include-system-site-packages``), and a child started from
``sys.executable`` or from PATH is the same host python again. Only CPython's documented
venv mechanism is used, the same in every version Debian ships (3.9 to 3.14).
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

CONFIG = "pyvenv.cfg"
#: the venv's own ``.pth`` naming the directories a run puts on the host's path
PATHS = "crossenv-paths.pth"


def names(version: str) -> tuple[str, ...]:
    """The launcher names for host python *version* (``3.11``)."""
    return ("python", "python3", f"python{version}")


def script(qemu: str, sysroot: Path, interpreter: Path, argv0: Path) -> str:
    """The ``#!/bin/sh`` text that runs *interpreter* under *qemu* as *argv0*."""
    words = [qemu, "-L", str(sysroot), "-0", str(argv0), str(interpreter)]
    return f"#!/bin/sh\nexec {shlex.join(words)} \"$@\"\n"


def config(interpreter: Path, version: str) -> str:
    """The venv's ``pyvenv.cfg``: its home is the host interpreter's directory."""
    return (f"home = {Path(interpreter).parent}\n"
            "include-system-site-packages = true\n"
            f"version = {version}\n")


def _write(path: Path, text: str, mode: int) -> None:
    """Replace *path* atomically: a concurrent run sees the old file or the new one."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make(prefix: Path, *, qemu: str, sysroot: Path, interpreter: Path,
         version: str, final: Path | None = None) -> Path:
    """Write the venv at *prefix* (made if missing); its ``bin`` directory.

    *final* is where the venv will be used from when it is written into a staging
    directory first (``ENV/cross/crossenv/host-python`` at creation): the launchers name
    their final paths, which CPython's venv lookup reads from ``argv[0]``."""
    prefix = Path(prefix).absolute()
    bindir = prefix / "bin"
    final_bindir = Path(final).absolute() / "bin" if final is not None else bindir
    bindir.mkdir(parents=True, exist_ok=True)
    _write(prefix / CONFIG, config(interpreter, version), 0o644)
    for name in names(version):
        _write(bindir / name, script(qemu, sysroot, interpreter, final_bindir / name), 0o755)
    return bindir


def site_packages(prefix: Path, version: str) -> Path:
    """The venv's own site-packages (``lib/pythonX.Y/site-packages``, Debian's too)."""
    return Path(prefix).absolute() / "lib" / f"python{version}" / "site-packages"


def add_paths(prefix: Path, version: str, paths: list[str]) -> None:
    """Name *paths* in a ``.pth`` file of the venv's own site-packages. ``PYTHONPATH``
    already carries them, but a test suite that starts ``sys.executable -I`` (isolated:
    ``PYTHONPATH`` ignored; multidict's import tests do) still reads the venv's
    site-packages and its ``.pth`` files, as in cibuildwheel's test venv."""
    if any(c in p for p in paths for c in "\n\r"):
        raise ValueError("a path with a line break cannot go into a .pth file")
    site = site_packages(prefix, version)
    site.mkdir(parents=True, exist_ok=True)
    _write(site / PATHS, "".join(f"{p}\n" for p in paths), 0o644)
