"""Unpack one built wheel into a throwaway host directory, in-process.

``check --import`` and buildwheel's test step put the wheel they just built into a
fresh directory that the host python gets on ``PYTHONPATH``. A pip run for that costs
a second or two of interpreter start, resolver and tag checks natively, for work that
is an unzip: the wheel is ours, its tags and RECORD were checked before
(:mod:`crossenv.check`), and its dependencies are installed separately
(:mod:`crossenv.testdeps`). pypa/installer does the unzip the way the wheel spec says
(``*.data/`` schemes, script shebangs, no path outside the target), the layout being
pip's ``--target``: purelib and platlib at the top, ``bin/``, ``include/site/pythonX.Y/``,
data at the top (tests/test_wheelinstall.py compares it with pip's).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .errors import CrossenvError


class WheelInstallError(CrossenvError):
    """The wheel cannot be unpacked into the target directory."""


def install(wheel: Path, target: Path, *, interpreter: str, python_version: str) -> None:
    """Install *wheel* into *target* as ``pip install --no-deps --target`` lays it out
    for a python *python_version* (X.Y, where headers go); scripts get
    ``#!interpreter``; no bytecode is written (the host python writes its own when it
    imports)."""
    from installer import install as _install
    from installer.destinations import SchemeDictionaryDestination
    from installer.exceptions import InstallerError
    from installer.records import InvalidRecordEntry
    from installer.sources import WheelFile

    target = Path(target).absolute()
    name = Path(wheel).name.split("-")[0]
    schemes = {"purelib": target, "platlib": target, "scripts": target / "bin",
               "data": target,
               "headers": target / "include" / "site" / f"python{python_version}" / name}
    destination = SchemeDictionaryDestination(
        {key: str(path) for key, path in schemes.items()}, interpreter=interpreter,
        script_kind="posix", bytecode_optimization_levels=())
    try:
        with WheelFile.open(wheel) as source:
            _install(source, destination, additional_metadata={"INSTALLER": b"crossenv\n"})
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, InstallerError,
            InvalidRecordEntry) as exc:
        # ValueError: a member outside the target, a bad RECORD or WHEEL (installer's words)
        raise WheelInstallError(f"cannot install {Path(wheel).name} into {target}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
