"""The corpus: real PyPI sdists built as users build them (tests/corpus/corpus.toml).

Each entry goes the whole way a user's does: a Debian sysroot for its host (with the
``-dev`` packages it names), an environment, its sdist built with isolation on and no
package-specific flags, ``crossenv check --env ENV --import`` (every extension module
imported on the host), and its real code run on the host under qemu through
``crossenv run``. ``nox -s corpus`` (``CROSSENV_CORPUS=1``) runs every entry; the default
suite runs the ``smoke`` ones, so the runner itself cannot rot.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crossenv import arches
from helpers import crossenv_cmd, require, run, shared_build

try:
    import tomllib
except ImportError:  # Python < 3.11: pip's own copy
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

CORPUS = Path(__file__).parent / "corpus" / "corpus.toml"
FULL = os.environ.get("CROSSENV_CORPUS") == "1"
FRONTENDS = ("pip", "build", "build[uv]")


@dataclass(frozen=True)
class Entry:
    """One sdist of the corpus, as corpus.toml describes it."""

    id: str
    requirement: str
    arch: str
    python: str
    code: str
    why: str
    frontend: str = "pip"
    packages: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    repair: str = ""
    smoke: bool = False
    #: a known failure, with why: the entry runs as a strict xfail (it must keep failing
    #: until fixed, and then the mark goes)
    xfail: str = ""
    name: str = field(init=False)

    def __post_init__(self) -> None:
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==[0-9][0-9A-Za-z.]*", self.requirement)
        assert m, f"{self.id}: pin the sdist exactly (name==version), not {self.requirement!r}"
        object.__setattr__(self, "name", m[1])
        assert self.frontend in FRONTENDS, f"{self.id}: frontend is one of {FRONTENDS}"
        assert self.arch in arches.debian_names(), f"{self.id}: unknown arch {self.arch}"
        assert re.fullmatch(r"3\.[0-9]+", self.python), f"{self.id}: python is X.Y"
        assert "print(\"ok\")" in self.code, f"{self.id}: the code must print ok when it passes"


def load(path: Path = CORPUS) -> list[Entry]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    entries = [Entry(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
               for raw in data["sdist"]]
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids)), "corpus ids must be unique"
    return entries


ENTRIES = load()
SELECTED = [e for e in ENTRIES if FULL or e.smoke]
PARAMS = [pytest.param(e, id=e.id, marks=[pytest.mark.xfail(strict=True, reason=e.xfail)]
                       if e.xfail else []) for e in SELECTED]


def test_corpus_is_well_formed() -> None:
    """Every backend, several arches and Pythons, and a smoke for the default run."""
    assert any(e.smoke for e in ENTRIES) and not any(e.smoke and e.xfail for e in ENTRIES)
    assert {e.frontend for e in ENTRIES} == set(FRONTENDS)
    assert len({e.arch for e in ENTRIES}) >= 5 and len({e.python for e in ENTRIES}) >= 3


def _env(entry: Entry, factory: pytest.TempPathFactory) -> Path:
    """One environment per (arch, python, packages), shared by the entries that agree."""
    key = "-".join([entry.arch, entry.python.replace(".", ""), *sorted(entry.packages)])

    def make(directory: Path) -> None:
        packages = [w for p in entry.packages for w in ("--package", p)]
        proc = run([*crossenv_cmd(), "provision", "--arch", entry.arch, "--python",
                    entry.python, *packages], timeout=3600)
        python = proc.stdout.strip().splitlines()[-1]
        run([*crossenv_cmd(), python, directory / "env"], timeout=1800)

    return shared_build(factory, f"corpus-env-{key}", make) / "env"


def _unpacked_sdist(entry: Entry, env: Path, tmp: Path) -> Path:
    """The sdist downloaded and unpacked the way a user does before ``python -m build``
    (``pip download`` would also build its metadata: only the file is wanted)."""
    run([env / "bin" / "build-python", "-c", _DOWNLOAD, entry.name,
         entry.requirement.split("==")[1], tmp / "sdist"], timeout=600)
    (archive,) = (tmp / "sdist").iterdir()
    with tarfile.open(archive) as tar:
        tar.extractall(tmp / "src", filter="data")
    (tree,) = (tmp / "src").iterdir()
    return tree


#: fetch NAME VERSION's sdist into DIR from the index pip is configured with (PyPI's JSON
#: API answers with relative URLs on some mirrors: resolved against the page)
_DOWNLOAD = """
import json, sys, urllib.parse, urllib.request
name, version, dest = sys.argv[1:]
page = urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=120)
files = json.load(page)["releases"][version]
(sdist,) = [f for f in files if f["packagetype"] == "sdist"]
url = urllib.parse.urljoin(page.geturl(), sdist["url"])
import pathlib
pathlib.Path(dest).mkdir(parents=True)
urllib.request.urlretrieve(url, pathlib.Path(dest) / sdist["filename"])
"""


def _build(entry: Entry, env: Path, tmp: Path) -> Path:
    out = tmp / "wheels"
    if entry.frontend == "pip":
        run([env / "bin" / "cross-pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary",
             entry.name, entry.requirement, "-w", out], timeout=3600)
    else:
        tree = _unpacked_sdist(entry, env, tmp)
        argv = [env / "bin" / "cross-python", "-m", "build", "--wheel", "--outdir", out]
        if entry.frontend == "build[uv]":
            uv = shutil.which("uv") or _env_uv(env)  # pypa/build finds uv on PATH
            argv += ["--installer", "uv"]
            environ = {**os.environ, "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}"}
        else:
            environ = dict(os.environ)
        run([env / "bin" / "cross-pip", "install", "--quiet", "build>=1"], timeout=600)
        run([*argv, tree], timeout=3600, env=environ)
    (wheel,) = out.glob("*.whl")
    return wheel


def _env_uv(env: Path) -> str:
    run([env / "bin" / "build-pip", "install", "--quiet", "uv"], timeout=600)
    return str(env / "build" / "bin" / "uv")


def _check_and_run(entry: Entry, env: Path, wheel: Path) -> None:
    proc = run([*crossenv_cmd(), "check", "--env", env, "--import", wheel], timeout=1800)
    assert proc.stdout.strip() == f"{wheel}: OK", proc.stdout
    installs = [w for need in (str(wheel), *entry.needs) for w in ("--install", need)]
    proc = run([*crossenv_cmd(), "run", env, *installs, "--", "python", "-c", entry.code],
               timeout=1800)
    assert proc.stdout.strip().splitlines()[-1] == "ok", proc.stdout


@pytest.mark.integration
@pytest.mark.slow(minutes=3)
@pytest.mark.parametrize("entry", PARAMS)
def test_sdist(entry: Entry, tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest) -> None:
    row = arches.by_debian(entry.arch)
    require(shutil.which("apt-get"), "provisioning a Debian sysroot needs apt-get")
    require(shutil.which(f"{row.triplet}-gcc"),
            f"the {row.triplet} cross compiler is needed (apt-get install gcc-{row.triplet})")
    tmp = tmp_path_factory.mktemp(entry.id)
    if (entry.arch, entry.python, entry.packages) == ("arm64", "3.11", ()):
        env = request.getfixturevalue("aarch64_env")  # the suite's shared environment
    else:
        env = _env(entry, tmp_path_factory)
    wheel = _build(entry, env, tmp)
    assert wheel.name.startswith(entry.name.replace("-", "_").lower() + "-") or \
        wheel.name.lower().startswith(entry.name.lower()), wheel.name
    _check_and_run(entry, env, wheel)
    if entry.repair:
        out = tmp / "repaired"
        run([*crossenv_cmd(), "repair", "--env", env, "--plat",
             f"{entry.repair}_{row.machine}", "-w", out, wheel], timeout=1800)
        (repaired,) = out.glob(f"*{entry.repair}*.whl")
        _check_and_run(entry, env, repaired)
