"""crossenv.testdeps: the test step's requirements, kept for the day under a key of
everything pip's answer depends on; the wheel's own files never kept; real pip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossenv import testdeps
from helpers.wheels import make_wheel

NOW = 1_796_700_000.0  # some time of a UTC day
_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}(>=[1-9])?", fullmatch=True)


@pytest.fixture
def env(tmp_path: Path) -> Path:
    """What key() reads of an environment: its record."""
    env = tmp_path / "env"
    env.mkdir()
    (env / "crossenv.json").write_text('{"host": {"arch": "arm64"}}\n')
    return env


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path / "dist", requires=("numpy>=1.25", "tomli; extra == 'toml'"))


@given(st.lists(_NAMES, max_size=5, unique=True), st.randoms())
@settings(deadline=None, max_examples=40)
def test_the_key_is_the_requirement_set_not_its_order(tmp_path_factory: pytest.TempPathFactory,
                                                      names: list[str], rnd) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("k")
    env = root / "env"
    env.mkdir()
    (env / "crossenv.json").write_text("{}")
    wheel = make_wheel(root / "dist")
    shuffled = list(names)
    rnd.shuffle(shuffled)
    first = testdeps.key(env, wheel, names, (), now=NOW)
    assert first is not None and first == testdeps.key(env, wheel, shuffled, (), now=NOW)
    assert first.startswith(testdeps.today(NOW) + "-")


def test_the_key_changes_with_what_pips_answer_depends_on(
        env: Path, wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    base = testdeps.key(env, wheel, ["pytest"], (), now=NOW)
    assert base is not None
    changed = {
        "requirements": testdeps.key(env, wheel, ["pytest", "psutil"], (), now=NOW),
        "extras": testdeps.key(env, wheel, ["pytest"], ("toml",), now=NOW),
        "next day": testdeps.key(env, wheel, ["pytest"], (), now=NOW + testdeps.DAY),
        "dependencies": testdeps.key(env, make_wheel(tmp_path / "other", requires=("six",)),
                                     ["pytest"], (), now=NOW),
    }
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    changed["index"] = testdeps.key(env, wheel, ["pytest"], (), now=NOW)
    monkeypatch.delenv("PIP_INDEX_URL")
    (env / "crossenv.json").write_text('{"host": {"arch": "s390x"}}\n')  # another host
    changed["host"] = testdeps.key(env, wheel, ["pytest"], (), now=NOW)
    assert None not in changed.values() and base not in changed.values(), changed
    assert len(set(changed.values())) == len(changed), changed


@pytest.mark.parametrize("requires", [["-r", "requirements-test.txt"],
                                      ["demo @ https://example.org/demo-1.tar.gz"],
                                      ["./vendored/pkg"], ["pytest", "--pre"]])
def test_requirements_read_from_elsewhere_are_not_kept(env: Path, wheel: Path,
                                                       requires: list[str]) -> None:
    assert testdeps.key(env, wheel, requires, (), now=NOW) is None


def test_a_url_dependency_or_the_switch_is_not_kept(env: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_wheel(tmp_path / "u", requires=("dep @ file:///srv/dep-1.whl",))
    assert testdeps.key(env, url, ["pytest"], (), now=NOW) is None
    plain = make_wheel(tmp_path / "p")
    assert testdeps.key(env, plain, ["pytest"], (), now=NOW) is not None
    monkeypatch.setenv(testdeps.CACHE_VARIABLE, "0")
    assert testdeps.key(env, plain, ["pytest"], (), now=NOW) is None


def _pip_target(target: Path, links: Path, *requirements: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                    "--disable-pip-version-check", "--find-links", str(links),
                    "--ignore-requires-python", "--platform", "linux_aarch64",
                    "--only-binary=:all:", "--target", str(target), *requirements],
                   check=True)


def _files(root: Path) -> set[str]:
    """The installed files but REQUESTED (pip's note that the user named it)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and p.name != "REQUESTED"}


def test_kept_holds_the_dependencies_without_the_wheel(tmp_path: Path) -> None:
    """Real pip installs the wheel and its dependency; what is kept is exactly what pip
    gives for the dependency alone, made once and found the second time."""
    links = tmp_path / "links"
    wheel = make_wheel(links, requires=("depend",))
    make_wheel(links, name="depend", version="2.0",
               files={"depend/__init__.py": b"", "depend-2.0.data/scripts/depend-x": b"#!python\n"})
    calls: list[Path] = []

    def install(directory: Path) -> None:
        calls.append(directory)
        _pip_target(directory, links, str(wheel))

    root = tmp_path / "kept"
    first = testdeps.kept(root, "20795-abc", wheel, install)
    again = testdeps.kept(root, "20795-abc", wheel, install)
    assert first == again == root / "20795-abc" and len(calls) == 1
    alone = tmp_path / "alone"
    _pip_target(alone, links, "depend")
    assert _files(first) == _files(alone)
    assert [p.name for p in root.iterdir()] == ["20795-abc"]  # no temporary directory left


def test_a_failed_install_leaves_nothing(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist")

    def install(directory: Path) -> None:
        (directory / "half").write_text("x")
        raise RuntimeError("pip failed")

    with pytest.raises(RuntimeError):
        testdeps.kept(tmp_path / "kept", "20795-abc", wheel, install)
    assert list((tmp_path / "kept").iterdir()) == []


def test_the_sweep_keeps_yesterday_and_today(tmp_path: Path) -> None:
    for name in ("20790-a", "20790-a.lock", ".20791-b.tmp1", "20794-c", "20795-d", "other"):
        path = tmp_path / name
        path.mkdir() if not name.endswith(".lock") else path.write_text("")
    testdeps.sweep(tmp_path, "20795")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20794-c", "20795-d", "other"]
