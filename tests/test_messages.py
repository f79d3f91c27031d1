"""Messages people need, found by trying: a command without ``--`` for ``crossenv run``,
a host that is the build machine itself; each says what to do in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossenv import cli
from crossenv import host as host_mod
from crossenv import run as run_mod
from helpers import crossenv_cmd, one_line_error, recorded_sysconfigdata, require


@pytest.mark.parametrize("command", [["python", "-c", "print(1)"], ["python", "--version"],
                                     ["python3", "-m", "pytest", "-q"]])
def test_run_without_separator_says_to_add_it(command: list[str], tmp_path: Path) -> None:
    """argparse said "unrecognized arguments: -c print(1)"; now the fixed command line."""
    proc = subprocess.run([*crossenv_cmd(), "run", str(tmp_path / "env"), *command],
                          capture_output=True, text=True)
    line = one_line_error(proc)
    assert "put -- before" in line
    assert line.endswith(f"crossenv run {tmp_path / 'env'} -- {' '.join(command)}".replace(
        "print(1)", "'print(1)'")), line


@pytest.mark.parametrize("words, install, qemu, rest", [
    (["--install", "a.whl", "--qemu=q", "python"], ["a.whl"], "q", ["python"]),
    (["--inst=b.whl", "python", "x.py"], ["b.whl"], None, ["python", "x.py"]),
    (["python", "--install", "c.whl"], [], None, ["python", "--install", "c.whl"]),
    ([], [], None, []),
])
def test_run_options_after_env_are_still_run_options(
        words: list[str], install: list[str], qemu: str | None, rest: list[str]) -> None:
    """``run ENV --install W -- CMD`` keeps working with the command taken as a remainder;
    an option after the command's first word is the command's."""
    args = cli.build_subcommand_parser("run").parse_args(["run", "ENV", *words])
    run_mod._own_options(args)
    assert (args.install, args.qemu, args.args) == (install, qemu, rest)


def test_run_without_options_needs_no_separator() -> None:
    assert run_mod.without_separator(Path("e"), ["python", "script.py"]) is None
    assert run_mod.without_separator(Path("e"), []) is None
    assert run_mod.without_separator(Path("e"), ["python", "-c", "1"]) is not None


def _build_python() -> str:
    """The build machine's own interpreter (not the test venv's)."""
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def test_build_machine_host_is_warned_about() -> None:
    own = host_mod.describe(_build_python())
    require(own.arch is not None, f"no table row for this {os.uname().machine} machine")
    message = host_mod.not_cross(own)
    assert message is not None and "not" in message and "cross" in message
    assert "python3 -m venv" in message and "--arch" in message and "\n" not in message
    # a foreign host, or the same arch in a sysroot (another glibc), is a cross build
    assert host_mod.not_cross(host_mod.describe(recorded_sysconfigdata("arm64"))) is None
    assert host_mod.not_cross(own, build_machine="aarch64") is None


def test_create_from_the_build_machine_python_warns_once(tmp_path: Path) -> None:
    proc = subprocess.run([*crossenv_cmd(), "--without-pip", _build_python(),
                           str(tmp_path / "env")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "nothing is cross-compiled" in ln]
    assert len(warnings) == 1 and warnings[0].startswith("crossenv: warning: "), proc.stderr
