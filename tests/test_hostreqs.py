"""Host requirements: specifiers stay whole, and one that cannot be installed stops the build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import crossenv_cmd, load_runtime, recorded_sysconfigdata, run

hostreqs = load_runtime("_crossenv_hostreqs")

_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,8}[A-Za-z0-9]", fullmatch=True)
_VERSIONS = st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}", fullmatch=True)
_OPS = st.sampled_from(["==", ">=", "<=", "<", ">", "!=", "~="])
_SPACE = st.sampled_from(["", " "])


@st.composite
def _requirement(draw: st.DrawFn) -> str:
    """``name``, ``name <2``, ``name >= 1, < 3``, ``name[x] ==1``, ``name ; marker``."""
    text = draw(_NAMES)
    if draw(st.booleans()):
        text += "[" + draw(_NAMES) + "]"
    clauses = draw(st.lists(st.tuples(_OPS, _VERSIONS, _SPACE), max_size=3))
    for index, (op, version, space) in enumerate(clauses):
        text += ("," if index else "") + (" " if space or index else draw(_SPACE)) + op
        text += draw(_SPACE) + version
    if draw(st.booleans()):
        text += draw(_SPACE) + "; python_version < '3." + draw(_VERSIONS) + "'"
    return text


@given(st.lists(_requirement(), min_size=1, max_size=4))
def test_requirements_round_trip_one_per_line(requirements: list[str]) -> None:
    assert hostreqs.split_requirements("\n".join(requirements)) == requirements


@given(st.lists(_requirement(), min_size=1, max_size=4))
def test_requirements_round_trip_on_one_line(requirements: list[str]) -> None:
    """The older whitespace-separated form (a marker ends its line, so it comes last)."""
    requirements = [r.split(";")[0].rstrip() for r in requirements[:-1]] + requirements[-1:]
    assert hostreqs.split_requirements(" ".join(requirements)) == requirements


@pytest.mark.parametrize(("text", "expected"), [
    ("numpy <2", ["numpy <2"]),
    ("numpy >= 2.0, < 3 pybind11", ["numpy >= 2.0, < 3", "pybind11"]),
    ("pybind11 NumPy==2.3.5", ["pybind11", "NumPy==2.3.5"]),
    ("numpy @ https://example.org/numpy.tar.gz\nscipy", [
        "numpy @ https://example.org/numpy.tar.gz", "scipy"]),
    ("  \n", []),
])
def test_split_requirements(text: str, expected: list[str]) -> None:
    assert hostreqs.split_requirements(text) == expected


def test_declared_requirement_keeps_its_specifier(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CROSSENV_HOST_REQUIREMENTS", "numpy <2")
    assert hostreqs.requirement_for("numpy", "2.4.6") == "numpy <2"


@pytest.mark.integration
def test_create_exports_each_requirement_whole(tmp_path: Path) -> None:
    """Through crossenv's command line and cross-python's start, as a build sees it."""
    env = tmp_path / "env"
    run([*crossenv_cmd(), "--without-pip", "--host-requirement", "numpy <2",
         "--host-requirement", "pybind11", recorded_sysconfigdata("arm64"), env])
    code = "import _crossenv_hostreqs as h; print(h.declared())"
    proc = run([env / "bin" / "cross-python", "-c", code], cwd=tmp_path)
    assert proc.stdout.strip() == "['numpy <2', 'pybind11']"


@pytest.mark.integration
def test_uninstallable_host_requirement_stops_the_build(
        aarch64_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """The real cross-pip cannot find numpy <0.0.1: one line and exit status 2, no
    fallback to the build machine's numpy headers."""
    monkeypatch.setenv("CROSSENV_HOST_PACKAGES", str(tmp_path / "host-packages"))
    monkeypatch.setattr(hostreqs, "_env_bin", lambda name: str(aarch64_env / "bin" / name))
    monkeypatch.setenv("PIP_RETRIES", "0")
    with pytest.raises(SystemExit) as info:
        hostreqs.ensure("numpy <0.0.1")
    assert info.value.code == 2
    ours = [line for line in capfd.readouterr().err.splitlines()
            if line.startswith("crossenv: error:")]
    assert len(ours) == 1 and re.search(r"could not install the host's numpy <0\.0\.1", ours[0])
    assert not (tmp_path / "host-packages" / "numpy_0.0.1" / ".crossenv-complete").exists()
