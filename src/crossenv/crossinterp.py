"""cross-python's interpreter is a file of ENV's own, as in crossenv 1.x, not a link out of it.

virtualenv makes ``ENV/cross/bin/python`` a symbolic link to the build interpreter.
crossenv 1.x wrote a file there, and tools written against it find build-python from
cross-python by taking ``Path(sys.executable).resolve()`` and looking for ``cross/bin``
in it (RobotPy's devtools): through virtualenv's link they land in the build
interpreter's own directory and never find ``ENV/build``. So the link is replaced by a
copy of the interpreter, as ``python -m venv --copies`` makes, and ``python3`` and
``python3.X`` become links to it inside ``bin``; ``sys.executable`` and its resolved
path are then both ``ENV/cross/bin/python``. CPython finds its prefix from
``pyvenv.cfg``'s ``home`` as before, so nothing else changes.

A copy, not a hard link: a hard link would share its inode with the build machine's
interpreter, so a ``chmod`` or an in-place write in ENV would change a file crossenv did
not make. An interpreter that finds its ``libpython`` through ``$ORIGIN``
(python-build-standalone, uv's managed Pythons) would not start from another directory,
and one that is not a readable ELF file is not understood: both keep virtualenv's links.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from .elfinfo import ElfUnreadable, read_elf

logger = logging.getLogger("crossenv")

#: the interpreter's name in the venv's bin; its other names link to it
NAME = "python"


def _needs_origin(path: Path) -> bool:
    """Does the ELF file at *path* search ``$ORIGIN`` (or is it unreadable)?"""
    try:
        with open(path, "rb") as stream:
            info = read_elf(stream, os.fstat(stream.fileno()).st_size)
    except (OSError, ElfUnreadable):
        return True
    return any("$ORIGIN" in entry or "${ORIGIN}" in entry
               for entry in (*info.rpath, *info.runpath))


def own_interpreter(bin_dir: Path) -> bool:
    """Replace virtualenv's ``bin/python`` link with a copy of the interpreter and point
    the other ``python*`` links of *bin_dir* at it. False (links kept) where that would
    not run (see the module docstring)."""
    link = bin_dir / NAME
    if not link.is_symlink():
        return False
    real = link.resolve()
    if not real.is_file() or _needs_origin(real):
        logger.debug("%s stays a link to %s (it needs its own directory)", link, real)
        return False
    others = [entry for entry in bin_dir.iterdir() if entry.name != NAME
              and entry.name.startswith("python") and entry.is_symlink()
              and entry.resolve() == real]
    staged = bin_dir / f".{NAME}.crossenv-copy"
    shutil.copy2(real, staged)
    os.replace(staged, link)
    for other in others:
        other.unlink()
        other.symlink_to(NAME)
    return True
