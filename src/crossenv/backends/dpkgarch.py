"""``dpkg-architecture`` answers for the host inside the cross environment.

Debian-aware setup.py files ask ``dpkg-architecture -qDEB_HOST_MULTIARCH`` for
the library directory. dpkg-architecture honours ``DEB_HOST_*`` and
``DEB_TARGET_*`` variables already in the environment (unless ``--force``), so
cross-python exports the host's values (if unset), computed once at creation by
``dpkg-architecture -t <host triplet>`` itself; ``DEB_BUILD_*`` stay the build
machine's. Without dpkg-architecture on the build machine there is nothing to
answer wrongly, and nothing is exported.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ..host import HostDescription
from ._protocol import Files, Inputs, Place

PREFIXES = ("DEB_HOST_", "DEB_TARGET_")


def parse(output: str) -> dict[str, str]:
    """The ``DEB_HOST_*``/``DEB_TARGET_*`` lines of ``dpkg-architecture`` output."""
    out: dict[str, str] = {}
    for line in output.split("\n"):  # not splitlines(): \x1e, \x85 ... are not line ends here
        name, sep, value = line.partition("=")
        if sep and name.startswith(PREFIXES) and name.replace("_", "").isalnum():
            out[name] = value.strip()
    return out


def host_variables(host: HostDescription) -> dict[str, str]:
    """The host's ``DEB_HOST_*``/``DEB_TARGET_*`` values, or {} without dpkg-architecture
    (or when it does not know the host's GNU type)."""
    program = shutil.which("dpkg-architecture")
    if program is None:
        return {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEB_", "CC"))}
    try:
        proc = subprocess.run([program, "-t", host.triplet], capture_output=True, text=True,
                              env=env, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return {}
    values = parse(proc.stdout) if proc.returncode == 0 else {}
    if values.get("DEB_HOST_GNU_TYPE") != host.triplet:
        return {}
    return values


def files(target: Inputs, place: Place) -> Files:
    """None: the answers travel as variables."""
    return {}


def env(target: Inputs, place: Place) -> dict[str, str]:
    """The variables cross-python exports."""
    return host_variables(target.host)
