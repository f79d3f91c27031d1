"""crossenv.testcmd: a cibuildwheel test-command as a host command under qemu.

Commands run without a shell, so the shell's leading ``NAME=value`` words (zstandard's
``PYTHON_ZSTANDARD_IMPORT_POLICY=cffi pytest ...``) become that command's environment,
over ``test-environment``; before-build and before-test commands do the same on the
build machine. The host_argv test uses a recorded environment (no qemu is started);
the native one runs a real /bin/sh.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv.buildwheel.runner import _native
from crossenv.errors import CrossenvError
from crossenv.testcmd import assignments, host_argv
from helpers.recorded import recorded_env

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)


def test_leading_assignments_only() -> None:
    assert assignments(["A=1", "B=x=y", "C=", "pytest", "D=2"]) == (
        {"A": "1", "B": "x=y", "C": ""}, ["pytest", "D=2"])
    assert assignments(["=1", "pytest"]) == ({}, ["=1", "pytest"])
    assert assignments(["1A=2", "x"]) == ({}, ["1A=2", "x"])
    assert assignments([]) == ({}, [])


@given(st.dictionaries(NAMES, st.text(max_size=10), max_size=4),
       st.lists(st.text(min_size=1, max_size=8).filter(lambda w: "=" not in w), max_size=4))
def test_assignments_round_trip(assigned: dict[str, str], rest: list[str]) -> None:
    words = [f"{k}={v}" for k, v in assigned.items()] + rest
    assert assignments(words) == (assigned, rest)


def test_a_test_command_s_assignments_are_its_environment(tmp_path: Path) -> None:
    qemu = shutil.which("true")  # a stand-in: nothing is started
    assert qemu
    env, _ = recorded_env(tmp_path)
    (tmp_path / "site").mkdir()
    argv, environ = host_argv(
        env, ["PYTHON_ZSTANDARD_IMPORT_POLICY=cffi", "pytest", "-v", "{project}/tests"],
        project=tmp_path, site=tmp_path / "site", qemu=qemu,
        environment={"PYTHON_ZSTANDARD_IMPORT_POLICY": "default", "X": "1"})
    assert argv[-4:] == ["-m", "pytest", "-v", f"{tmp_path}/tests"], argv
    assert environ["PYTHON_ZSTANDARD_IMPORT_POLICY"] == "cffi" and environ["X"] == "1"
    with pytest.raises(CrossenvError, match="empty command"):
        host_argv(env, ["A=1"], project=tmp_path, site=tmp_path / "site", qemu=qemu)


def test_native_commands_take_their_assignments(tmp_path: Path) -> None:
    log = (tmp_path / "log").open("w")
    _native([["FOO=bar", "sh", "-c", 'test "$FOO" = bar']], project=tmp_path,
            environ={"PATH": "/usr/bin:/bin", "FOO": "other"}, log=log, what="before-build")
    with pytest.raises(CrossenvError, match="before-build failed"):
        _native([["sh", "-c", 'test "$FOO" = bar']], project=tmp_path,
                environ={"PATH": "/usr/bin:/bin", "FOO": "other"}, log=log,
                what="before-build")
    with pytest.raises(CrossenvError, match="runs no command"):
        _native([["FOO=bar"]], project=tmp_path, environ={"PATH": "/usr/bin:/bin"}, log=log,
                what="before-build")
    log.close()
