"""crossenv.buildenvs: a buildwheel run's build-requirement venvs, made once, never mixed.

Unit tests cover reading ``[build-system] requires`` (hypothesis: any list of strings
round-trips through TOML) and which front-end arguments leave the environment to
crossenv. The integration test builds tests/sources/dynreqs (an in-tree backend that
asks for one more requirement on aarch64 hosts only, and fails without it) twice with
one :class:`SharedBuildEnvs`, with the real cross environment and pypa/build.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import api, arches, elfarch
from crossenv.buildenvs import (
    DEFAULT_REQUIRES,
    NO_ISOLATION,
    SharedBuildEnvs,
    applies,
    parse_requires,
    static_requires,
)
from crossenv.target import Target

ROOT = Path(__file__).resolve().parent.parent
DYNREQS = ROOT / "tests" / "sources" / "dynreqs"


def _project(tmp_path: Path, text: str | None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    if text is not None:
        (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return tmp_path


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
                max_size=6))
def test_requires_round_trip_through_toml(requires: list[str]) -> None:
    # a JSON string (literal non-ASCII, DEL escaped) is a TOML basic string
    quoted = (json.dumps(r, ensure_ascii=False).replace("\x7f", "\\u007f") for r in requires)
    text = f"[build-system]\nrequires = [{', '.join(quoted)}]\n"
    assert parse_requires(text) == requires


@pytest.mark.parametrize(("text", "expected"), [
    (None, list(DEFAULT_REQUIRES)),  # no pyproject.toml: PEP 517's setuptools fallback
    ("[project]\nname = 'x'\n", list(DEFAULT_REQUIRES)),
    ("[build-system]\nrequires = []\n", []),
    ("[build-system\nrequires = ['a']\n", None),  # unreadable: the isolated build says so
    ("[build-system]\nrequires = 'setuptools'\n", None),
    ("[build-system]\nrequires = ['a', 1]\n", None),
    ("build-system = 3\n", None),
])
def test_requires_of_odd_projects(tmp_path: Path, text: str | None,
                                  expected: list[str] | None) -> None:
    assert static_requires(_project(tmp_path / "p", text)) == expected


def test_front_ends_share_unless_the_user_manages_the_environment() -> None:
    assert applies("build", []) and applies("build[uv]", ["--verbose"]) and applies("pip", [])
    assert not applies("uv", [])
    for args in (["-n"], ["--no-isolation"], ["-x"], ["--skip-dependency-check"]):
        assert not applies("build", args) and not applies("build[uv]", args), args
        assert applies("pip", args), args  # not pip's words
    for args in (["--no-build-isolation"], ["--check-build-dependencies"]):
        assert not applies("pip", args) and applies("build", args), args


@pytest.mark.parametrize("frontend", ["build", "build[uv]", "pip"])
def test_a_run_makes_each_requirement_set_once(tmp_path: Path, aarch64_env: Path,
                                               aarch64_target: Target, frontend: str) -> None:
    shared = SharedBuildEnvs(tmp_path / "envs")
    wheels = []
    with (tmp_path / "build.log").open("w") as log:
        for n in range(2):  # a copy each, as buildwheel's identifiers see one project
            project = Path(shutil.copytree(DYNREQS, tmp_path / f"project{n}"))
            wheels.append(api.build(aarch64_env, project, tmp_path / f"out{n}",
                                    frontend=frontend, shared=shared, log=log))
    text = (tmp_path / "build.log").read_text()
    # the static set's venv, then its own venv for static + the host's answer (tomli,
    # asked for on aarch64 only: the hook ran in cross-python); the second build reused both
    assert (shared.made, shared.reused) == (2, 2), text
    flags = " ".join(NO_ISOLATION["pip" if frontend == "pip" else "build"])
    assert text.count(flags) == 2, text
    assert len(list((tmp_path / "envs").iterdir())) == 2
    if frontend == "build[uv]":  # uv installed the venvs; build itself installs nothing
        assert text.count("uv pip install") == 2 and "--installer" not in text, text
    site = tmp_path / "site"
    with zipfile.ZipFile(wheels[1]) as zf:
        zf.extractall(site)
    (module,) = (site / "dynreqs").glob("_word*.so")
    assert elfarch.read(module) == arches.by_machine("aarch64").elf
    out = aarch64_target.python("-c", "from dynreqs import _word; print(_word.bits())",
                                path=[site])
    assert out.stdout.strip() == "64"


def test_kept_venvs_serve_the_next_run_of_the_day(tmp_path: Path, aarch64_env: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A run with kept venvs makes them; the next run (a new SharedBuildEnvs on the same
    root, as the next ``crossenv buildwheel``) builds at once over the same venvs; a venv
    without its ready mark (a run that died) is made again, not used."""
    root = tmp_path / "kept"
    project = Path(shutil.copytree(DYNREQS, tmp_path / "project"))
    runs = []
    for n in range(2):
        shared = SharedBuildEnvs(root, kept=True)
        with (tmp_path / f"build{n}.log").open("w") as log:
            api.build(aarch64_env, project, tmp_path / f"out{n}", frontend="build",
                      shared=shared, log=log)
        runs.append((shared.made, shared.reused))
    assert runs == [(2, 0), (0, 2)], (tmp_path / "build1.log").read_text()[-3000:]
    venvs = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(venvs) == 2 and all((v / SharedBuildEnvs.READY).is_file() for v in venvs)
    assert all(v.name.split("-")[0].isdigit() for v in venvs)  # the day's, swept later
    assert "day's venv" in (tmp_path / "build1.log").read_text()
    static = next(v for v in venvs if "tomli" not in (v / SharedBuildEnvs.READY).read_text())
    (static / SharedBuildEnvs.READY).unlink()
    (static / "bin" / "python").unlink()  # half made: unusable
    shared = SharedBuildEnvs(root, kept=True)
    layout = api.Env.open(aarch64_env).layout
    with (tmp_path / "remake.log").open("w") as log:
        venv = shared._venv(layout, static_requires(project) or [], "pip", dict(os.environ),
                            api._run, log)
    assert venv == static and shared.made == 1 and (venv / "bin" / "python").exists()


def test_a_wheel_needing_nothing_more_is_built_where_the_hook_answered(
        tmp_path: Path, aarch64_env: Path) -> None:
    """pypa/build without front-end arguments: when the backend asks for nothing the venv
    lacks (setuptools), the process that asked builds the wheel (no second ``cross-python
    -m build``); a build that fails there is a BuildError saying so, not a hook failure."""
    shared = SharedBuildEnvs(tmp_path / "envs")
    project = Path(shutil.copytree(ROOT / "tests" / "sources" / "statcall",
                                   tmp_path / "statcall"))
    with (tmp_path / "build.log").open("w") as log:
        wheel = api.build(aarch64_env, project, tmp_path / "out", frontend="build",
                          shared=shared, log=log)
    text = (tmp_path / "build.log").read_text()
    assert "Successfully built statcall-1.0-" in text and " -m build " not in text, text
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path / "site")
    (module,) = (tmp_path / "site" / "statcall").glob("_stat*.so")
    assert elfarch.read(module) == arches.by_machine("aarch64").elf
    (project / "src" / "statcall" / "_stat.c").write_text("#error not C\n")
    shutil.rmtree(project / "build")
    with (tmp_path / "broken.log").open("w") as log, \
            pytest.raises(api.BuildError, match=r"^build failed to build .*see the log"):
        api.build(aarch64_env, project, tmp_path / "out2", frontend="build", shared=shared,
                  log=log)
    assert "#error not C" in (tmp_path / "broken.log").read_text()
    assert (shared.made, shared.reused) == (1, 1)
