"""buildwheel's test step and front-ends as cibuildwheel users write them (issue 25).

* ``test-groups`` (cibuildwheel 3.1): PEP 735 dependency groups, resolved here; the
  parser gets a hypothesis test, the errors one line each;
* a test requirement with no wheel for the host is built from its sdist by cross-pip in
  the same environment, and pip's env-keyed cache keeps the wheel;
* ``build-frontend = "build[uv]"`` without uv anywhere: the env's build venv gets it.

The integration tests reuse the default run's build (``matrix_run``: cibw-project for
cp311 aarch64) and its cached environment; nothing else is built but one small sdist.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import api
from crossenv.buildwheel import depgroups, identifiers, options
from crossenv.buildwheel.envsyntax import OptionError
from helpers import ROOT
from test_buildwheel import PROJECT, _crossenv, _reader, matrix_run  # noqa: F401

# --- test-groups ---------------------------------------------------------------------------

_req = st.from_regex(r"[a-z][a-z0-9]{0,6}(>=[0-9]{1,2})?", fullmatch=True)


def _spelled(name: str, style: int) -> str:
    """*name* as a user may write it: PEP 735 compares group names normalized."""
    return [name, name.upper().replace("-", "_"), name.replace("-", "..")][style]


_group = st.tuples(st.lists(_req, max_size=3), st.lists(st.integers(0, 20), max_size=3),
                   st.integers(0, 2))


@given(st.lists(_group, min_size=1, max_size=6), st.data())
def test_groups_expand_includes_in_order(spec: list[tuple[list[str], list[int], int]],
                                         data: st.DataObject) -> None:
    """Group i lists requirements and includes of earlier groups only (no cycles): the
    resolution is the depth-first expansion, first occurrence kept."""
    names = [f"g-{i}x" for i in range(len(spec))]
    table: dict[str, list[object]] = {}
    for i, (reqs, includes, style) in enumerate(spec):
        items: list[object] = list(reqs)
        for j in includes:
            if i:
                items.append({"include-group": _spelled(names[j % i], style)})
        table[_spelled(names[i], style)] = items

    def expand(i: int) -> list[str]:
        out: list[str] = []
        for item in table[_spelled(names[i], spec[i][2])]:
            if isinstance(item, str):
                out.append(item)
            else:
                out += expand(names.index(depgroups.normalize(str(item["include-group"]))))
        return out

    chosen = data.draw(st.lists(st.integers(0, len(spec) - 1), min_size=1, max_size=3))
    expected = [r for i in chosen for r in expand(i)]
    assert depgroups.resolve(table, [names[i] for i in chosen]) == list(dict.fromkeys(expected))


@pytest.mark.parametrize(("table", "names", "message"), [
    ({"test": ["pytest"]}, ["tests"], "no dependency group 'tests' in pyproject.toml (groups: "
                                      "test)"),
    ({"a": [{"include-group": "b"}], "b": [{"include-group": "A"}]}, ["a"],
     "a includes itself (a -> b -> a)"),
    ({"a": [{"include-group": "b", "x": 1}], "b": []}, ["a"], "neither a requirement"),
    ({"a": "pytest"}, ["a"], "[dependency-groups] a must be a list"),
    ({"Test": [], "test": []}, ["test"], "two groups named 'test'"),
])
def test_group_errors_are_one_line(table: dict[str, object], names: list[str],
                                   message: str) -> None:
    with pytest.raises(OptionError) as info:
        depgroups.resolve(table, names)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_test_groups_join_test_requires(tmp_path: Path) -> None:
    pyproject = """
[tool.cibuildwheel]
test-command = "pytest"
test-requires = "-r requirements.txt"
test-groups = ["Test"]

[[tool.cibuildwheel.overrides]]
select = "cp313-*"
test-groups = "test docs"

[dependency-groups]
test = ["pytest>=8", {include-group = "base"}]
base = ["hypothesis"]
docs = ["sphinx", "pytest>=8"]
"""
    reader, warned = _reader(tmp_path, pyproject)
    assert not warned  # test-groups is supported: no "does not apply" warning
    ident = identifiers.parse("cp311-manylinux_aarch64")
    resolved = options.resolve(reader, ident, {}, True, lambda m: None)
    assert resolved.test_requires == ("-r", "requirements.txt", "pytest>=8", "hypothesis")
    resolved = options.resolve(reader, identifiers.parse("cp313-manylinux_aarch64"), {}, True,
                               lambda m: None)
    assert resolved.test_requires[2:] == ("pytest>=8", "hypothesis", "sphinx")
    reader, _ = _reader(tmp_path, pyproject, {"CIBW_TEST_GROUPS": "nope"})
    with pytest.raises(OptionError, match="no dependency group 'nope'"):
        options.resolve(reader, ident, {}, True, lambda m: None)


def test_a_missing_test_group_is_one_line() -> None:
    proc = _crossenv("buildwheel", PROJECT, "--only", "cp311-manylinux_aarch64",
                     env={"CIBW_TEST_GROUPS": "nope"})
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "no dependency group 'nope'" in last and "(groups: pytest, test)" in last
    assert "Traceback" not in proc.stderr


# --- real: test requirements from sdists, uv for build[uv] ---------------------------------

def _env_of(matrix_run: Path) -> tuple[Path, Path]:  # noqa: F811
    """The cached environment and the wheel of the default run's identifier."""
    log = (matrix_run / "wheelhouse" / "logs" / "cp311-manylinux_aarch64.log").read_text()
    match = re.search(r"^environment (.+)$", log, re.M)
    assert match, log[:2000]
    (wheel,) = (matrix_run / "wheelhouse").glob("cibwdemo-*cp311*aarch64*.whl")
    return Path(match[1]), wheel


def _sdist(source: Path, name: str, version: str, dest: Path) -> Path:
    """*source* as ``NAME-VERSION.tar.gz`` with a PKG-INFO, as PyPI serves sdists."""
    dest.mkdir(parents=True, exist_ok=True)
    base = f"{name}-{version}"
    sdist = dest / f"{base}.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for path in sorted(source.iterdir()):
            if path.is_file():
                tar.add(path, arcname=f"{base}/{path.name}")
        info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        member = tarfile.TarInfo(f"{base}/PKG-INFO")
        member.size = len(info)
        tar.addfile(member, io.BytesIO(info))
    return sdist


@pytest.mark.integration
def test_a_test_requirement_without_a_host_wheel_is_built(
        matrix_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """``facts`` exists only as an sdist (in a find-links directory named by the project's
    ``-r`` file): cross-pip builds it for aarch64 in the same env, pip's cache (under the
    env's crossenv-KEY directory) keeps the wheel, and the test imports it under qemu."""
    env, wheel = _env_of(matrix_run)
    links = tmp_path / "links"
    _sdist(ROOT / "tests" / "sources" / "hostfacts", "facts", "1", links)
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements-test.txt").write_text(f"--find-links {links}\nfacts\n")
    cache = tmp_path / "pip-cache"
    monkeypatch.setenv("PIP_CACHE_DIR", str(cache))
    code = ("import facts, platform, cibwdemo; built, real = facts.facts(); "
            "assert built == real and platform.machine() == 'aarch64', (built, real); "
            "print('facts ok', built)")
    spec = api.TestSpec([["python", "-c", code]], requires=["-r", "requirements-test.txt"])
    with (tmp_path / "test.log").open("w") as log:
        api.test(env, wheel, spec, project=project, log=log)
    text = (tmp_path / "test.log").read_text()
    assert "facts ok (0, 1, 8)" in text, text[-3000:]
    cached = list(cache.rglob("facts-1-*.whl"))
    assert [w.name for w in cached] == ["facts-1-cp311-cp311-linux_aarch64.whl"], text[-3000:]
    assert cached[0].relative_to(cache).parts[0].startswith("crossenv-"), cached


@pytest.mark.integration
def test_build_uv_gets_uv_into_the_env(aarch64_env: Path, tmp_path: Path) -> None:
    """With no uv on PATH, beside crossenv's interpreter or importable, build[uv]'s uv is
    installed by build-pip into the env's build venv (a native program), once."""
    bindir = aarch64_env / "build" / "bin"
    if (bindir / "uv").exists():  # another test of this session's env got it first
        subprocess.run([aarch64_env / "bin" / "build-pip", "uninstall", "-y", "-q", "uv"],
                       check=True)
    environ = {**os.environ, "PATH": "/usr/bin:/bin"}
    with (tmp_path / "uv.log").open("w") as log:
        uv = api._env_uv(aarch64_env, environ, log)
    assert uv == bindir / "uv"
    out = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("uv "), out
    assert "build-pip install --quiet uv" in (tmp_path / "uv.log").read_text()
    before = uv.stat().st_mtime_ns
    assert api._env_uv(aarch64_env, environ, None) == uv and uv.stat().st_mtime_ns == before
