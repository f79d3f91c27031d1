"""Target requirements: declare packages whose *host* copy a build must compile against.

See ``runtime/_crossenv_hostreqs.py`` for what happens at build time. At creation
this only records where host copies go (``ENV/cross/crossenv/host-packages``) and the
requirements declared with ``crossenv --host-requirement`` (exported as
``CROSSENV_HOST_REQUIREMENTS``, one per line, each kept whole; a user's own value
wins). numpy needs no declaration: its version is taken from the build's native numpy.
"""

from __future__ import annotations

from pathlib import Path

from ..host import HostDescription
from ..model import Layout, Options, Toolchain

DIR_NAME = "host-packages"


def write(directory: Path, layout: Layout, host: HostDescription, chain: Toolchain,
          options: Options) -> dict[str, str]:
    """Create the (empty) target directory; export its path and declared requirements."""
    (directory / DIR_NAME).mkdir(exist_ok=True)
    env = {"CROSSENV_HOST_PACKAGES": str(layout.crossenv_dir / DIR_NAME)}
    requirements = [str(r).strip() for r in options.host_requirements if str(r).strip()]
    if requirements:
        env["CROSSENV_HOST_REQUIREMENTS"] = "\n".join(requirements)  # one per line: "numpy <2"
    return env
