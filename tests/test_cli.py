"""Bad input: one line saying what is wrong and how to fix it, exit 2, nothing made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossenv import cli
from helpers import (
    crossenv_cmd,
    mips64el_sysconfigdata,
    one_line_error,
    recorded_sysconfigdata,
    run,
)


def crossenv(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*crossenv_cmd(), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)



def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_help_documents_every_option() -> None:
    proc = run([*crossenv_cmd(), "--help"])
    parser = cli.build_create_parser()
    for action in parser._actions:
        for option in action.option_strings:
            if action.help != "==SUPPRESS==":
                assert option in proc.stdout, option
    for name in cli.SUBCOMMANDS:
        assert name in proc.stdout
    for legacy in ("--cross-prefix", "--system-site-packages", "--clear-cross", "--clear-build",
                   "--clear-both", "--without-pip", "--without-cross-pip",
                   "--relative-toolchain", "--config-var", "--env", "--sysroot",
                   "--sysconfigdata-file", "--manylinux", "--platform-tag", "--machine"):
        assert legacy in proc.stdout


def test_version() -> None:
    proc = run([*crossenv_cmd(), "--version"])
    assert proc.stdout.startswith("crossenv ")


def test_nonexistent_host(tmp_path: Path) -> None:
    proc = crossenv("/nonexistent", "X", cwd=tmp_path)
    one_line_error(proc, "/nonexistent", "does not exist")
    assert leftovers(tmp_path) == []


def test_not_a_python(tmp_path: Path) -> None:
    fake = tmp_path / "python3.11"
    fake.write_text("#!/bin/sh\necho hi\n")
    proc = crossenv(fake, tmp_path / "env")
    one_line_error(proc, "is not a Python interpreter")
    assert leftovers(tmp_path) == ["python3.11"]


def test_version_mismatch(tmp_path: Path) -> None:
    text = recorded_sysconfigdata("arm64").read_text().replace("'VERSION': '3.11'",
                                                                "'VERSION': '3.7'")
    data = tmp_path / "_sysconfigdata__aarch64-linux-gnu.py"
    data.write_text(text)
    proc = crossenv(data, tmp_path / "env")
    one_line_error(proc, "Python 3.7", "--build-python", "python3.7 -m crossenv")
    assert leftovers(tmp_path) == [data.name]


def test_corrupt_sysconfigdata(tmp_path: Path) -> None:
    data = tmp_path / "_sysconfigdata__aarch64-linux-gnu.py"
    data.write_text("build_time_vars = {'VERSION': '3.11',\n")
    proc = crossenv(data, tmp_path / "env")
    one_line_error(proc, "not a valid sysconfigdata")
    assert leftovers(tmp_path) == [data.name]


def test_no_cross_compiler(tmp_path: Path) -> None:
    data = mips64el_sysconfigdata(tmp_path)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))  # no compilers at all
    env.pop("CC", None)
    proc = subprocess.run([*crossenv_cmd(), str(data), str(tmp_path / "env")],
                          capture_output=True, text=True, env=env)
    one_line_error(proc, "no cross compiler", "apt-get install gcc-mips64el")
    assert leftovers(tmp_path) == [data.name]


def test_bad_option_values() -> None:
    proc = crossenv("--env", "NOEQUALS", "/x", "y")
    assert proc.returncode == 2 and "invalid --env" in proc.stderr


@pytest.mark.integration
def test_unwritable_directory(tmp_path: Path, arm64_sysroot, aarch64_gcc) -> None:  # type: ignore[no-untyped-def]
    # /sys refuses new entries even to root, so this works whoever runs the tests.
    proc = crossenv(arm64_sysroot.python, "/sys/crossenv-test-env")
    one_line_error(proc, "/sys/crossenv-test-env", "choose a directory you can write")
    assert not Path("/sys/crossenv-test-env").exists()
    proc = crossenv(arm64_sysroot.python, "/sys/crossenv-missing/deeper/env")
    one_line_error(proc, "choose a directory you can write")
    assert not Path("/sys/crossenv-missing").exists()


@pytest.mark.integration
def test_missing_parents_are_created_and_removed_on_failure(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                                            aarch64_gcc) -> None:
    run([*crossenv_cmd(), arm64_sysroot.python, tmp_path / "a" / "b" / "env"])
    assert (tmp_path / "a" / "b" / "env" / "bin" / "cross-python").exists()
    proc = crossenv("--cc", "gcc", arm64_sysroot.python, tmp_path / "c" / "d" / "env")
    one_line_error(proc, "X86_64")  # the toolchain check fails before anything is made
    assert not (tmp_path / "c").exists()


# Existing ENVs, --clear, interruption and concurrent creates: tests/test_create.py.
