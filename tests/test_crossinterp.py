"""cross-python's interpreter file (crossenv.crossinterp): a copy that starts and resolves
inside ENV, and virtualenv's links kept where a copy would not start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from crossenv import crossinterp
from helpers import require, run


def _venv_bin(tmp_path: Path, interpreter: Path) -> Path:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "python3", "python3.99"):
        (bin_dir / name).symlink_to(interpreter)
    (bin_dir / "python-config").symlink_to("/nonexistent")  # not the interpreter: kept
    return bin_dir


def test_the_interpreter_becomes_a_copy_that_resolves_inside(tmp_path: Path) -> None:
    real = Path(os.path.realpath(sys.executable))
    bin_dir = _venv_bin(tmp_path, real)
    assert crossinterp.own_interpreter(bin_dir)
    python = bin_dir / "python"
    assert not python.is_symlink() and python.read_bytes() == real.read_bytes()
    assert os.stat(python).st_ino != os.stat(real).st_ino  # never the machine's own file
    assert os.readlink(bin_dir / "python3") == os.readlink(bin_dir / "python3.99") == "python"
    assert os.readlink(bin_dir / "python-config") == "/nonexistent"
    out = run([bin_dir / "python3", "-c", "import sys, pathlib; "
               "print(pathlib.Path(sys.executable).resolve())"]).stdout.strip()
    assert out == str(python)
    assert not crossinterp.own_interpreter(bin_dir)  # already a file: left alone


def test_an_origin_relative_interpreter_keeps_its_links(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    require(cc, "a native C compiler makes the $ORIGIN program")
    source = tmp_path / "main.c"
    source.write_text("int main(void) { return 0; }\n")
    program = tmp_path / "standalone" / "bin" / "python3.99"
    program.parent.mkdir(parents=True)
    subprocess.run([cc, "-o", program, source, "-Wl,-rpath,$ORIGIN/../lib"], check=True)
    bin_dir = _venv_bin(tmp_path, program)
    assert not crossinterp.own_interpreter(bin_dir)
    assert (bin_dir / "python").is_symlink()


def test_an_interpreter_that_is_not_elf_keeps_its_links(tmp_path: Path) -> None:
    script = tmp_path / "wrapper"
    script.write_text("#!/bin/sh\nexec python3 \"$@\"\n")
    script.chmod(0o755)
    bin_dir = _venv_bin(tmp_path, script)
    assert not crossinterp.own_interpreter(bin_dir)
    assert (bin_dir / "python").is_symlink() and not (bin_dir / ".python.crossenv-copy").exists()
