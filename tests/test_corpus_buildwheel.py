"""The buildwheel corpus: real PyPI sdists with their own cibuildwheel configuration
(tests/corpus/buildwheel.toml), through ``crossenv buildwheel SDIST`` unchanged.

Each entry's sdist is downloaded from the index (as tests/test_corpus.py does) and built
with only ``CIBW_BUILD`` and ``--archs`` given: every identifier must be OK (built,
repaired, checked with ``--import``, the project's own tests passing under qemu), each
log must hold the entry's ``expect`` strings and no pytest failure, and the identifiers
the project excludes must not be selected.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import require, run
from test_corpus import _DOWNLOAD, FULL, tomllib

TABLE = Path(__file__).parent / "corpus" / "buildwheel.toml"


@dataclass(frozen=True)
class Project:
    id: str
    requirement: str
    archs: str
    build: str
    why: str
    expect: tuple[str, ...] = ()
    not_selected: tuple[str, ...] = ()
    smoke: bool = False

    def __post_init__(self) -> None:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.]*",
                            self.requirement), f"{self.id}: pin the sdist (name==version)"


def load(path: Path = TABLE) -> list[Project]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    found = [Project(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
             for raw in data["project"]]
    assert len({p.id for p in found}) == len(found), "ids must be unique"
    return found


PROJECTS = load()


def test_the_table_is_well_formed() -> None:
    assert PROJECTS and any(p.smoke for p in PROJECTS)
    assert all(p.why.strip() for p in PROJECTS)


def _crossenv(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crossenv", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=3600)


@pytest.mark.integration
@pytest.mark.slow(minutes=5)
@pytest.mark.parametrize("project", [p for p in PROJECTS if FULL or p.smoke],
                         ids=lambda p: p.id)
def test_project(project: Project, tmp_path: Path) -> None:
    require(shutil.which("apt-get"), "provisioning a Debian sysroot needs apt-get")
    name, version = project.requirement.split("==")
    run([sys.executable, "-c", _DOWNLOAD, name, version, tmp_path / "sdist"], timeout=600)
    (sdist,) = (tmp_path / "sdist").iterdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    environ["CIBW_BUILD"] = project.build
    listed = _crossenv("buildwheel", sdist, "--archs", project.archs,
                       "--print-build-identifiers", env=environ)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split(), listed.stderr
    assert not set(project.not_selected) & set(listed.stdout.split()), listed.stdout
    out = tmp_path / "wheelhouse"
    proc = _crossenv("buildwheel", sdist, "--archs", project.archs, "--output-dir", out,
                     env=environ)
    report = json.loads((out / "buildwheel-report.json").read_text())
    rows = report["identifiers"]
    assert sorted(r["identifier"] for r in rows) == sorted(listed.stdout.split())
    for row in rows:
        log = Path(row["log"]).read_text()
        assert row["result"] == "ok", (row["error"], proc.stderr[-3000:], log[-4000:])
        for text in project.expect:
            assert text in log, (text, log[-4000:])
        # a pytest run's summary lines (the test command's status is already the result)
        summaries = re.findall(r"^=+ (.*) in [0-9.]+s.* =+$", log, flags=re.MULTILINE)
        assert not any(re.search(r"\b(failed|error)", s) for s in summaries), summaries
    assert proc.returncode == 0, proc.stderr[-3000:]
