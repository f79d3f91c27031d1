"""The Debian releases crossenv provisions from, and the Python each one ships.

A host Python's X.Y decides the release: Debian ships one to three CPythons per
release, built against that release's glibc, so "Python 3.13 for riscv64" means
"trixie's python3.13 for riscv64". What a release ships is read from its archive's
own index (crossenv.archiveindex passes it to :func:`choose` as ``index``); the
per-architecture table recorded from that index by ``scripts/record-releases.py``
(crossenv._recorded_releases) answers offline, for ``--help`` and the docs. What is
crossenv's choice lives here: the releases, their extra packages and pockets. The
archive itself is never named: apt's configured sources are reused with only the
suite replaced.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable

from ._recorded_releases import RECORDED
from .arches import debian_ports
from .errors import ProvisionError


@dataclasses.dataclass(frozen=True)
class Release:
    """One Debian release: what it ships, for which architectures."""

    suite: str  # the codename, as in ``dists/<suite>``
    # The CPython X.Y it packages, the default first (for one architecture when from
    # :func:`recorded` or the archive's index; else any architecture's, for the docs).
    pythons: tuple[str, ...]
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


def _pythons(suite: str) -> tuple[str, ...]:
    """Every X.Y the recorded table has for ``suite`` on any architecture, the default of
    most architectures first."""
    lists = list(RECORDED[suite]["pythons"].values())  # type: ignore[attr-defined]
    defaults = [found[0] for found in lists if found]
    every = {v for found in lists for v in found}
    first = max(set(defaults), key=defaults.count) if defaults else None
    return tuple(sorted(every, key=lambda v: (v != first, -int(v.split(".")[1]))))


def _release(suite: str, packages: tuple[str, ...], **more: tuple[str, ...]) -> Release:
    return Release(suite, _pythons(suite), str(RECORDED[suite]["glibc"]), packages,
                   debian_ports(suite), **more)


#: Oldest first: a Python shipped by two releases is taken from the older (stable) one.
RELEASES: tuple[Release, ...] = (
    # bullseye is past its LTS: the archive's -security pool lacks files its index names.
    _release("bullseye", (*_COMMON, "libstdc++-10-dev"), pockets=("-updates",)),
    _release("bookworm", (*_COMMON, "libstdc++-12-dev")),
    _release("trixie", (*_COMMON, "libstdc++-14-dev")),
    _release("sid", (*_COMMON, "libstdc++-15-dev"), pockets=()),
)
#: what stands for the archive's index: (release, Debian arch) -> that release as shipped
Index = Callable[[Release, str], Release]
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


def _row(release: Release, arch: str) -> list[str] | None:
    """The recorded table's Pythons of ``release`` for Debian ``arch``; None: no row."""
    return RECORDED.get(release.suite, {}).get("pythons", {}).get(arch)  # type: ignore[attr-defined]


def recorded(release: Release, arch: str) -> Release:
    """``release`` as the recorded table says it ships for Debian ``arch`` (offline)."""
    found = _row(release, arch)
    return release if found is None else dataclasses.replace(release, pythons=tuple(found))


def recorded_row(release: Release, arch: str) -> Release:
    """``release`` with exactly the recorded row for Debian ``arch``: no Python where the
    table has none (its index had no CPython for that port when it was recorded, as
    bullseye's s390x after its LTS), unlike :func:`recorded`'s fallback to the release."""
    return dataclasses.replace(release, pythons=tuple(_row(release, arch) or ()))


def _offer() -> str:
    return "; ".join(f"{r.suite}: Python {', '.join(r.pythons)} for {', '.join(r.architectures)}"
                     for r in RELEASES)


def default_python() -> str:
    """The X.Y crossenv runs on: the host Python when none is asked for (as in 1.x)."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def candidates(arch: str, python: str | None = None, release: str | None = None, *,
               index: Index | None = None) -> list[Release]:
    """The releases that ship Python ``python`` (X.Y) for Debian ``arch``, in the order
    crossenv takes them (the first one; the next when its archive cannot serve it).

    With neither ``python`` nor ``release``, the Python crossenv runs on if a release
    ships it for ``arch`` (the 1.x behaviour), else the newest stable release's.
    ``index`` says what a release ships (the archive's index); else the recorded table.
    """
    shipped = index or recorded
    if release is not None:
        chosen = by_suite(release)
        if arch not in chosen.architectures:
            raise ProvisionError(f"Debian {chosen.suite} has no {arch} architecture; use: "
                                 f"{_offer()}")
        chosen = shipped(chosen, arch)
        if not chosen.pythons or (python is not None and python not in chosen.pythons):
            offer = f"Python {', '.join(chosen.pythons)}" if chosen.pythons else "no Python"
            raise ProvisionError(f"Debian {chosen.suite} ships {offer} for {arch}"
                                 f"{f', not {python}' if python and chosen.pythons else ''}; "
                                 f"drop --release or use: {_offer()}")
        return [chosen]
    wanted = python or default_python()
    # each release's offer for arch, asked once (an index fetch, or its cached answer)
    lives = [shipped(candidate, arch) for candidate in RELEASES
             if arch in candidate.architectures]
    found = [live for live in lives if wanted in live.pythons]
    if found:
        return found
    if python is None:
        for live in reversed(lives):
            if live.pockets and live.pythons:
                return [live]
    offer = [f"{live.suite} {', '.join(live.pythons) or 'none'}" for live in lives]
    raise ProvisionError(f"no known Debian release ships Python {wanted} for {arch}; "
                         f"what they ship for {arch}: {'; '.join(offer)}")


def choose(arch: str, python: str | None = None, release: str | None = None, *,
           index: Index | None = None) -> Release:
    """The release that ships Python ``python`` (X.Y) for Debian ``arch`` (see
    :func:`candidates`)."""
    return candidates(arch, python, release, index=index)[0]
