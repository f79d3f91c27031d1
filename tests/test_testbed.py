"""The test suite's own helpers: a build shared by xdist workers runs once, skips go
through ``require`` (which fails in CI), and the slow builds are queued first."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

import conftest
from helpers import shared_build

TESTS = Path(__file__).parent


def test_shared_build_runs_once_for_concurrent_callers(
        tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> None:
    name = f"once-{request.node.name}"
    calls: list[int] = []

    def make(directory: Path) -> None:
        calls.append(1)
        (directory / "wheel.whl").write_text("built")

    results: list[Path] = []
    # pytest makes the base directory on first use, and not thread-safely: four threads
    # asking at once in a run that has not used it yet got four base directories
    tmp_path_factory.getbasetemp()
    threads = [threading.Thread(target=lambda: results.append(
        shared_build(tmp_path_factory, name, make))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(set(results)) == 1 and (results[0] / "wheel.whl").read_text() == "built"


def test_a_failed_shared_build_is_not_repeated(tmp_path_factory: pytest.TempPathFactory,
                                               request: pytest.FixtureRequest) -> None:
    name = f"fails-{request.node.name}"
    calls: list[int] = []

    def make(directory: Path) -> None:
        calls.append(1)
        raise RuntimeError("compiler exploded")

    with pytest.raises(RuntimeError):
        shared_build(tmp_path_factory, name, make)
    with pytest.raises(pytest.fail.Exception, match="compiler exploded"):
        shared_build(tmp_path_factory, name, make)
    assert len(calls) == 1


def _skip_calls(path: Path) -> list[str]:
    """``pytest.skip(...)``, ``pytest.importorskip(...)`` and ``pytest.mark.skipif`` in a
    test file, as ``file:line`` (a skip there would pass silently in CI)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Attribute) and node.attr in ("skip", "importorskip", "skipif")
                and isinstance(node.value, (ast.Name, ast.Attribute))):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_tests_skip_only_through_require(tmp_path: Path) -> None:
    offenders = [hit for path in sorted(TESTS.glob("test_*.py")) for hit in _skip_calls(path)]
    assert offenders == []
    # the detector itself finds each spelling
    sample = tmp_path / "test_sample.py"
    sample.write_text("import pytest\npytest.skip('x')\npytest.importorskip('y')\n"
                      "@pytest.mark.skipif(True, reason='z')\ndef f(): pass\n")
    assert len(_skip_calls(sample)) == 3


def test_slow_tests_are_queued_first() -> None:
    class Item:
        def __init__(self, name: str, slow: bool, **kwargs: float) -> None:
            self.name = name
            self.marker = pytest.mark.slow(**kwargs).mark if slow else None

        def get_closest_marker(self, name: str) -> object:
            return self.marker if name == "slow" else None

    items = [Item("a", False), Item("build", True), Item("b", False), Item("tags", True),
             Item("numpy", True, minutes=9), Item("rust", True, minutes=4)]
    conftest.pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.name for i in items] == ["numpy", "rust", "build", "tags", "a", "b"]


def test_tests_using_the_testbed_are_marked_integration(request: pytest.FixtureRequest) -> None:
    """Tests by kind: whatever uses a testbed fixture (a sysroot, a cross compiler, qemu,
    an environment) is an integration test, marked from its fixtures at collection; so
    ``-m "not integration"`` (nox -s unit) never needs the toolchain."""
    items = request.session.items
    using = [i for i in items if conftest.TESTBED_FIXTURES & set(i.fixturenames)]
    assert all(i.get_closest_marker("integration") for i in using), \
        [i.nodeid for i in using if not i.get_closest_marker("integration")]
    if len(items) > 100 and not request.config.getoption("markexpr"):
        assert using and len(using) < len(items)  # the whole suite: it has both kinds
