"""What a Debian release ships for an architecture, read from its archive's own index.

Which CPythons a release packages changes under a hand-written table: sid gained
python3.15 while crossenv's table still said 3.14 and 3.13, and a port can lag the
others. So the Packages index is asked, through apt's configured sources retargeted to
the release (:class:`crossenv.apt.Apt`: signed, proxied, no archive host written
here), and the answer is cached per release and architecture under the crossenv cache
(``archive-index/<suite>-<arch>.json``) for ``CROSSENV_INDEX_MAX_AGE`` seconds (a day
by default). A Python counts when both ``python3.X`` and ``libpython3.X-dev`` are
real packages; the default is the one ``python3`` depends on; glibc is libc6's
upstream version.

Offline, a stale cached answer is used, else the table that ``scripts/record-releases.py``
recorded from the same index (:mod:`crossenv._recorded_releases`), each said once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from . import releases
from .apt import Apt
from .errors import CrossenvError
from .releases import Release

_log = logging.getLogger(__name__)

#: seconds a cached answer is used without asking the archive again
DEFAULT_MAX_AGE = 86400
_FORMAT = 1
_PYTHON = re.compile(r"python(3\.\d{1,2})")
_said: set[tuple[str, str]] = set()


@dataclasses.dataclass(frozen=True)
class Shipped:
    """One release's offer for one architecture: CPythons (the default first) and glibc."""

    pythons: tuple[str, ...]
    glibc: str


def parse_show(text: str) -> Shipped | None:
    """Read ``apt-cache show --no-all-versions python3 libc6 python3.X libpython3.X-dev ...``.

    None without libc6 (not a Debian index as crossenv knows it); no ``pythons`` when
    the index has no CPython with its -dev package (sid's armel: the port is gone).
    """
    versions: dict[str, str] = {}
    default = None
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, flags=re.MULTILINE))
        name, version = fields.get("Package", ""), fields.get("Version", "")
        if not name or not version:
            continue
        versions.setdefault(name, version)
        if name == "python3" and default is None:
            found = _PYTHON.search(fields.get("Depends", "").split(",")[0])
            default = found.group(1) if found else None
    pythons = sorted({m.group(1) for n in versions if (m := _PYTHON.fullmatch(n))
                      and f"lib{n}-dev" in versions},
                     key=lambda v: (v != default, -int(v.split(".")[1])))
    libc = versions.get("libc6", "")
    glibc = re.match(r"(?:\d+:)?(\d+\.\d+)", libc)
    if glibc is None:
        return None
    return Shipped(tuple(pythons), glibc.group(1))


def fetch(release: Release, arch: str, workdir: Path) -> Shipped:
    """Ask the archive (apt-get update of the release's suites, then apt-cache)."""
    client = Apt(arch, workdir, release)
    client.options.append("Acquire::Languages=none")
    client.update()
    names = client.run("apt-cache", "pkgnames", "python3.").split()
    wanted = sorted({n for n in names if _PYTHON.fullmatch(n)})
    asked = ["python3", "libc6", *wanted, *(f"lib{n}-dev" for n in wanted)]
    text = client.run("apt-cache", "show", "--no-all-versions", "--", *asked, check=False)
    # No libc6: the archive does not carry this port of the release (a partial mirror,
    # or a port Debian dropped): nothing is shipped here, which is an answer, not an error.
    return parse_show(text) or Shipped((), "")


def _cache_file(release: Release, arch: str) -> Path:
    from .cache import user_cache

    return user_cache("archive-index") / f"{release.suite}-{arch}.json"


def _max_age() -> float:
    try:
        return float(os.environ.get("CROSSENV_INDEX_MAX_AGE") or DEFAULT_MAX_AGE)
    except ValueError:
        return DEFAULT_MAX_AGE


def _read_cache(path: Path) -> tuple[Shipped, float] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        shipped = Shipped(tuple(str(p) for p in data["pythons"]), str(data["glibc"]))
        fetched = float(data["fetched"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if data.get("format") != _FORMAT or \
            not all(re.fullmatch(r"3\.\d{1,2}", p) for p in shipped.pythons):
        return None
    return shipped, fetched


def _write_cache(path: Path, shipped: Shipped) -> None:
    data = {"format": _FORMAT, "fetched": time.time(), "pythons": list(shipped.pythons),
            "glibc": shipped.glibc}
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8",
                                     prefix=".tmp-", suffix=".json") as out:
        json.dump(data, out)
    os.replace(out.name, path)


def _once(key: tuple[str, str], message: str, *args: object) -> None:
    if key not in _said:
        _said.add(key)
        _log.warning(message, *args)


def shipped(release: Release, arch: str) -> Shipped:
    """What ``release`` ships for Debian ``arch``: cached, else the archive's index, else
    (offline) a stale cached answer or the recorded table, with one warning."""
    from filelock import FileLock

    path = _cache_file(release, arch)
    cached = _read_cache(path)
    if cached is not None and time.time() - cached[1] < _max_age():
        return cached[0]
    with FileLock(str(path.with_suffix(".lock"))):
        cached = _read_cache(path)  # another process may have just fetched it
        if cached is not None and time.time() - cached[1] < _max_age():
            return cached[0]
        try:
            with tempfile.TemporaryDirectory(prefix="crossenv-index-") as tmp:
                found = fetch(release, arch, Path(tmp))
        except CrossenvError as exc:
            if cached is not None:
                _once((release.suite, arch), "cannot read the package index of Debian %s "
                      "for %s (%s); using the one read %d hours ago", release.suite, arch,
                      exc, (time.time() - cached[1]) // 3600)
                return cached[0]
            recorded = releases.recorded(release, arch)
            _once((release.suite, arch), "cannot read the package index of Debian %s for %s "
                  "(%s); using crossenv's recorded table (Python %s)", release.suite, arch,
                  exc, ", ".join(recorded.pythons))
            return Shipped(recorded.pythons, recorded.glibc)
        _write_cache(path, found)
        return found


def live(release: Release, arch: str) -> Release:
    """``release`` with what its archive ships for ``arch`` (see :func:`shipped`)."""
    found = shipped(release, arch)
    return dataclasses.replace(release, pythons=found.pythons, glibc=found.glibc)


def candidates(arch: str, python: str | None = None,
               release: str | None = None) -> list[Release]:
    """:func:`crossenv.releases.candidates` from the archives' own indexes."""
    return releases.candidates(arch, python, release, index=live)


def choose(arch: str, python: str | None = None, release: str | None = None) -> Release:
    """:func:`crossenv.releases.choose` from the archives' own indexes."""
    return releases.choose(arch, python, release, index=live)


def record(suites: Iterable[Release]) -> dict[str, dict[str, object]]:
    """Every release's offer for each of its architectures, asked now (for the script)."""
    table: dict[str, dict[str, object]] = {}
    for release in suites:
        per_arch: dict[str, list[str]] = {}
        glibc: set[str] = set()
        for arch in release.architectures:
            try:
                with tempfile.TemporaryDirectory(prefix="crossenv-index-") as tmp:
                    found = fetch(release, arch, Path(tmp))
            except CrossenvError as exc:  # left out: the release's other rows answer
                _log.warning("%s %s: %s", release.suite, arch, exc)
                continue
            if not found.pythons:  # not on this archive: unknown, rather than "none"
                _log.warning("%s %s: the archive's index has no CPython", release.suite, arch)
                continue
            per_arch[arch] = list(found.pythons)
            glibc.add(found.glibc)
        if not per_arch:
            raise CrossenvError(f"no architecture of Debian {release.suite} could be read")
        table[release.suite] = {"glibc": max(glibc, key=lambda v: tuple(map(int, v.split(".")))),
                                "pythons": per_arch}
    return table
