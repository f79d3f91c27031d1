"""The Debian releases crossenv provisions from, and the Python each one ships.

A host Python's X.Y decides the release: Debian ships one or two CPythons per
release, built against that release's glibc, so "Python 3.13 for riscv64" means
"trixie's python3.13 for riscv64". This table is the one place those facts live;
provisioning, the command line and the docs read it. The archive itself is never
named here: apt's configured sources are reused with only the suite replaced.
"""

from __future__ import annotations

import dataclasses
import re
import sys

from .arches import debian_ports
from .errors import ProvisionError


@dataclasses.dataclass(frozen=True)
class Release:
    """One Debian release: what it ships, for which architectures."""

    suite: str  # the codename, as in ``dists/<suite>``
    pythons: tuple[str, ...]  # the CPython X.Y it packages, the default first
    glibc: str
    # Installed into every sysroot besides python (libyaml-dev: pyyaml's C extension).
    packages: tuple[str, ...]
    architectures: tuple[str, ...]
    # Extra suites of the same release on the same archives (``trixie-updates`` ...).
    pockets: tuple[str, ...] = ("-updates", "-security")

    @property
    def python(self) -> str:
        return self.pythons[0]

    def python_packages(self, version: str) -> tuple[str, ...]:
        """The packages a host sysroot of Python ``version`` needs from this release."""
        return (f"python{version}", f"libpython{version}-dev")

    def suites(self) -> tuple[str, ...]:
        return (self.suite, *(self.suite + pocket for pocket in self.pockets))


_COMMON = ("libc6-dev", "libyaml-dev", "zlib1g-dev", "libffi-dev")

#: Oldest first: a Python shipped by two releases is taken from the older (stable) one.
RELEASES: tuple[Release, ...] = (
    # bullseye is past its LTS: the archive's -security pool lacks files its index names.
    Release("bullseye", ("3.9",), "2.31", (*_COMMON, "libstdc++-10-dev"),
            debian_ports("bullseye"),
            pockets=("-updates",)),
    Release("bookworm", ("3.11",), "2.36", (*_COMMON, "libstdc++-12-dev"),
            debian_ports("bookworm")),
    Release("trixie", ("3.13",), "2.41", (*_COMMON, "libstdc++-14-dev"),
            debian_ports("trixie")),
    Release("sid", ("3.14", "3.13"), "2.43", (*_COMMON, "libstdc++-15-dev"),
            debian_ports("sid"),
            pockets=()),
)
_BY_SUITE = {r.suite: r for r in RELEASES}


def by_suite(suite: str) -> Release:
    """The release called ``suite``; one line naming the known ones otherwise."""
    found = _BY_SUITE.get(suite)
    if found is None:
        raise ProvisionError(f"unknown Debian release {suite!r}; use one of: "
                             f"{', '.join(_BY_SUITE)}")
    return found


def parse_python(text: str) -> str:
    """Normalise ``3.13``/``python3.13``/``313`` to ``3.13``; one line if it is not X.Y."""
    match = re.fullmatch(r"(?:python)?3\.?(\d{1,2})", text.strip())
    if not match and re.fullmatch(r"(?:python)?3\.?\d{1,2}t", text.strip()):
        raise ProvisionError(f"--python {text.strip()}: no Debian release in crossenv's table "
                             "packages a free-threaded CPython; give X.Y without 't'")
    if not match:
        raise ProvisionError(f"invalid --python {text!r}: give the host's CPython X.Y, e.g. 3.13")
    return f"3.{int(match.group(1))}"


def default_packages(release: Release, python: str | None = None) -> tuple[str, ...]:
    """A host sysroot's packages: the release's Python (or ``python``) and common -dev libs."""
    return (*release.python_packages(python or host_python(release)), *release.packages)


def host_python(release: Release, python: str | None = None) -> str:
    """The X.Y a sysroot of ``release`` gets: ``python``, else the one crossenv runs on if
    the release ships it, else the release's default."""
    if python is not None:
        return python
    return default_python() if default_python() in release.pythons else release.python


def _offer() -> str:
    return "; ".join(f"{r.suite}: Python {', '.join(r.pythons)} for {', '.join(r.architectures)}"
                     for r in RELEASES)


def default_python() -> str:
    """The X.Y crossenv runs on: the host Python when none is asked for (as in 1.x)."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def choose(arch: str, python: str | None = None, release: str | None = None) -> Release:
    """The release that ships Python ``python`` (X.Y) for Debian ``arch``.

    With neither ``python`` nor ``release``, the Python crossenv runs on if a release
    ships it for ``arch`` (the 1.x behaviour), else the newest stable release's.
    """
    if release is not None:
        chosen = by_suite(release)
        if python is not None and python not in chosen.pythons:
            raise ProvisionError(f"Debian {chosen.suite} ships Python {', '.join(chosen.pythons)},"
                                 f" not {python}; drop --release or use: {_offer()}")
        if arch not in chosen.architectures:
            raise ProvisionError(f"Debian {chosen.suite} has no {arch} architecture; use: "
                                 f"{_offer()}")
        return chosen
    wanted = python or default_python()
    for candidate in RELEASES:
        if wanted in candidate.pythons and arch in candidate.architectures:
            return candidate
    if python is None:
        for candidate in reversed(RELEASES):
            if arch in candidate.architectures and candidate.pockets:
                return candidate
    raise ProvisionError(f"no known Debian release ships Python {wanted} for {arch}; "
                         f"available: {_offer()}")
