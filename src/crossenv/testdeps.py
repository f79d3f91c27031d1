"""The test step's requirements, installed once a day per host and requirement set.

buildwheel's test step (``crossenv.api.test``) installs the wheel's dependencies, its
test extras and ``test-requires`` natively with cross-pip, for the host. What that
costs is pip itself: two to three seconds per identifier of start-up and resolution,
about as long as a small test suite takes under qemu, and it is the same work every
run. So the set is kept, as a directory on the test's ``PYTHONPATH`` behind the one
holding the wheel under test:

* the key is everything pip's answer depends on: the environment (its path and its
  record, so its host), the requirement strings, the wheel's name, ``Requires-Dist``
  and chosen extras, pip's configuration (``PIP_*`` variables and pip.conf files) and
  the UTC day, so new releases are picked up the next day, as a fresh pip run would;
* the directory is made by the same ``cross-pip install --target`` as before, into a
  temporary name, then renamed into place (concurrent runs: the first rename wins,
  readers never see half a directory, no lock is left behind); the wheel's own
  files are removed from it, since each test installs the fresh wheel
  (:mod:`crossenv.wheelinstall`);
* earlier days' directories are removed when a later one is made;
* requirements pip reads from elsewhere (``-r file``, ``name @ URL``, a path) are not
  keyed by their content, so such a set is not kept: :func:`key` returns ``None`` and
  the caller installs everything into the test's own directory as before; so does
  ``CROSSENV_REQUIREMENTS_CACHE=0``.

The day stamp, pip's configuration and the sweep serve the kept build-requirement
venvs too (:mod:`crossenv.buildenvs`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

#: pip's configuration files, the places pip itself reads (``pip config debug``)
_PIP_CONFIGS = ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", "~/.pip/pip.conf",
                "~/.config/pip/pip.conf")
DAY = 86400
#: set to 0, nothing is kept: build and test requirements are resolved in every run
CACHE_VARIABLE = "CROSSENV_REQUIREMENTS_CACHE"


def _plain(requirement: str) -> bool:
    """A PEP 508 requirement pip resolves from its index alone (no URL, no file)."""
    try:
        return Requirement(requirement).url is None
    except InvalidRequirement:
        return False


def _name_version(wheel: Path) -> tuple[str, str]:
    """The distribution name and version in the wheel's file name."""
    name, version = Path(wheel).name.split("-")[:2]
    return name, version


def wheel_metadata(wheel: Path) -> tuple[str, str, list[str]]:
    """The wheel's (name, version, Requires-Dist lines) from its METADATA."""
    name, version = _name_version(wheel)
    with zipfile.ZipFile(wheel) as zf:
        member = next(m for m in zf.namelist()
                      if m.count("/") == 1 and m.endswith(".dist-info/METADATA"))
        text = zf.read(member).decode("utf-8", "replace")
    requires = [line.split(":", 1)[1].strip() for line in text.split("\n\n", 1)[0].splitlines()
                if line.lower().startswith("requires-dist:")]
    return name, version, requires


def requirements_kept(environ: Mapping[str, str] | None = None) -> bool:
    """False when ``CROSSENV_REQUIREMENTS_CACHE=0``: resolve every time."""
    return (os.environ if environ is None else environ).get(CACHE_VARIABLE, "1") != "0"


def today(now: float | None = None) -> str:
    """The UTC day's number, the first part of every kept directory's name."""
    return str(int((time.time() if now is None else now) // DAY))


def pip_config() -> list[tuple[str, str]]:
    """What pip's answer depends on besides the requirements: ``PIP_*`` variables and
    the contents of the pip.conf files pip reads."""
    found = sorted((k, v) for k, v in os.environ.items() if k.startswith("PIP_"))
    for name in (*_PIP_CONFIGS, os.environ.get("PIP_CONFIG_FILE", "")):
        path = Path(name).expanduser() if name else None
        if path is not None and path.is_file():
            found.append((str(path), path.read_text(errors="replace")))
    return found


def key(env: Path, wheel: Path, requires: Sequence[str], extras: Sequence[str],
        now: float | None = None) -> str | None:
    """The kept set's name for these inputs, or ``None`` when it cannot be kept."""
    try:
        name, _, dists = wheel_metadata(wheel)
    except (OSError, StopIteration, zipfile.BadZipFile, ValueError):
        return None
    if not requirements_kept() or not all(map(_plain, (*requires, *dists))):
        return None
    record = Path(env) / "crossenv.json"
    try:
        identity = hashlib.sha256(record.read_bytes()).hexdigest()
    except OSError:
        return None
    text = json.dumps([str(Path(env).absolute()), identity, sorted(requires), sorted(extras),
                       canonicalize_name(name), dists, pip_config()])
    return f"{today(now)}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def _remove_distribution(site: Path, name: str, version: str) -> None:
    """Delete what the wheel's own RECORD installed into *site*. pip's ``--target``
    writes RECORD relative to its ``HOME/lib/python`` and then moves HOME's contents
    into *site*: scripts, headers and data are listed as ``../../bin/NAME``,
    ``../../include/...``, ``../../share/...``."""
    wanted = canonicalize_name(name)
    for info in site.glob("*.dist-info"):
        dist, _, rest = info.name[:-len(".dist-info")].partition("-")
        if canonicalize_name(dist) != wanted or rest != version:
            continue
        record = info / "RECORD"
        lines = record.read_text(errors="replace").splitlines() if record.is_file() else []
        for line in lines:
            parts = PurePosixPath(line.rsplit(",", 2)[0]).parts
            if parts[:2] == ("..", ".."):  # relative to HOME/lib/python: bin, include, data
                parts = parts[2:]
            if not parts or ".." in parts or parts[0] == "/":
                continue
            path = site.joinpath(*parts)
            if path.is_file() or path.is_symlink():
                path.unlink()
                for parent in path.parents:  # the directories it leaves empty
                    if parent == site or any(parent.iterdir()):
                        break
                    parent.rmdir()
        shutil.rmtree(info, ignore_errors=True)


def sweep(root: Path, day: str) -> None:
    """Remove what is kept under *root* from before yesterday (and the temporary
    directories and locks of runs that died): yesterday's may still be in use by a run
    that started before midnight."""
    for path in root.iterdir():
        stamp = path.name.lstrip(".").split("-", 1)[0]
        if stamp.isdigit() and int(stamp) < int(day) - 1:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def kept(root: Path, name: str, wheel: Path, install: Callable[[Path], None]) -> Path:
    """The kept set *name* under *root*, made with ``install(directory)`` (which installs
    the wheel and the requirements there, raising if it fails) when it is missing."""
    final = root / name
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    sweep(root, name.split("-", 1)[0])
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        install(tmp)
        _remove_distribution(tmp, *_name_version(wheel))
        try:
            tmp.rename(final)
        except OSError:  # another run made it meanwhile: use theirs
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
