"""Target requirements: declare packages whose *host* copy a build must compile against.

See ``runtime/_crossenv_targets.py`` for what happens at build time. At creation
this only records where host copies go (``ENV/cross/crossenv/target``) and the
requirements declared with ``crossenv --target-requirement`` (exported as
``CROSSENV_TARGET_REQUIREMENTS``; a user's own value wins). numpy needs no
declaration: its version is taken from the build's native numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .host import HostDescription
from .toolchain import Toolchain

if TYPE_CHECKING:
    from .create import Layout, Options

DIR_NAME = "target"


def write(directory: Path, layout: Layout, host: HostDescription, chain: Toolchain,
          options: Options) -> dict[str, str]:
    """Create the (empty) target directory; export its path and declared requirements."""
    (directory / DIR_NAME).mkdir(exist_ok=True)
    env = {"CROSSENV_TARGET_DIR": str(layout.crossenv_dir / DIR_NAME)}
    requirements = [str(r).strip() for r in options.target_requirements if str(r).strip()]
    if requirements:
        env["CROSSENV_TARGET_REQUIREMENTS"] = " ".join(requirements)
    return env
