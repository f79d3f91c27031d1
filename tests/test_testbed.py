"""The test suite's own helpers: a build shared by xdist workers runs once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import shared_build


def test_shared_build_runs_once_for_concurrent_callers(
        tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> None:
    name = f"once-{request.node.name}"
    calls: list[int] = []

    def make(directory: Path) -> None:
        calls.append(1)
        (directory / "wheel.whl").write_text("built")

    results: list[Path] = []
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
