"""``sys.executable`` under qemu: the host python's venv of :mod:`crossenv.hostvenv`.

Test suites spawn Python (``subprocess.run([sys.executable, ...])``, ``python3`` from
PATH, multiprocessing's spawn). Without binfmt_misc the sysroot's interpreter cannot be
exec'd by the kernel, so ``crossenv run`` and buildwheel's test step start the host
python as a venv whose ``bin/python*`` are build-machine shell scripts running qemu.
The unit tests run those scripts with a stand-in for qemu that prints its argv (a real
program run by the real /bin/sh); the integration test spawns the host python for real.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from crossenv import hostvenv
from helpers import crossenv_cmd, run


def _argv_printer(directory: Path) -> str:
    """A build-machine program that prints each argument on its own line."""
    path = directory / "fake qemu"
    path.write_text("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n")
    path.chmod(0o755)
    return str(path)


def test_launchers_start_the_interpreter_through_qemu(tmp_path: Path) -> None:
    qemu = _argv_printer(tmp_path)
    sysroot = tmp_path / "sys root"  # a space: every word is quoted in the script
    interpreter = sysroot / "usr" / "bin" / "python3.11"
    bindir = hostvenv.make(tmp_path / "venv dir", qemu=qemu, sysroot=sysroot,
                           interpreter=interpreter, version="3.11")
    assert sorted(p.name for p in bindir.iterdir()) == ["python", "python3", "python3.11"]
    for name in ("python", "python3", "python3.11"):
        launcher = bindir / name
        assert launcher.stat().st_mode & stat.S_IXUSR
        out = subprocess.run([launcher, "-c", "print('a b')", ""], capture_output=True,
                             text=True, check=True).stdout
        assert out.split("\n")[:-1] == ["-L", str(sysroot), "-0", str(launcher),
                                        str(interpreter), "-c", "print('a b')", ""]
    config = (tmp_path / "venv dir" / "pyvenv.cfg").read_text()
    assert f"home = {interpreter.parent}\n" in config
    assert "include-system-site-packages = true\n" in config


def test_launchers_are_rewritten_only_when_they_change(tmp_path: Path) -> None:
    args = dict(sysroot=tmp_path / "s", interpreter=tmp_path / "s/usr/bin/python3.13",
                version="3.13")
    bindir = hostvenv.make(tmp_path / "v", qemu="/usr/bin/qemu-a", **args)  # type: ignore[arg-type]
    before = (bindir / "python3").stat().st_ino
    hostvenv.make(tmp_path / "v", qemu="/usr/bin/qemu-a", **args)  # type: ignore[arg-type]
    assert (bindir / "python3").stat().st_ino == before
    hostvenv.make(tmp_path / "v", qemu="/opt/qemu-b", **args)  # type: ignore[arg-type]
    assert "/opt/qemu-b" in (bindir / "python3").read_text()
    assert not [p for p in bindir.iterdir() if p.name.startswith(".")]  # no temp left


_SPAWN = r"""
import json, os, platform, subprocess, sys
child = [sys.executable, "-c", "import platform, sys; print(platform.machine(), sys.executable)"]
path = subprocess.run(["python3", "-c", "import platform; print(platform.machine())"],
                      capture_output=True, text=True, check=True).stdout.split()
shell = subprocess.run("python -c 'import sys; print(sys.version_info[0])'", shell=True,
                       capture_output=True, text=True, check=True).stdout.split()
print(json.dumps({"machine": platform.machine(), "executable": sys.executable,
                  "child": subprocess.check_output(child, text=True).split(),
                  "path": path, "shell": shell, "prefix": sys.prefix,
                  "base_prefix": sys.base_prefix}))
"""


@pytest.mark.integration
def test_crossenv_run_spawns_the_host_python(aarch64_env: Path, qemu_aarch64: str) -> None:
    proc = run([*crossenv_cmd(), "run", aarch64_env, "--", "python", "-c", _SPAWN])
    found = json.loads(proc.stdout)
    launcher = str(aarch64_env / "host" / "bin" / "python")
    assert found["machine"] == "aarch64" and found["executable"] == launcher
    assert found["child"] == ["aarch64", launcher]  # sys.executable runs, on the host
    assert found["path"] == ["aarch64"] and found["shell"] == ["3"]
    assert found["prefix"] == str(aarch64_env / "host")
    assert found["base_prefix"].endswith("/usr") and found["base_prefix"] != "/usr"


_ISOLATED = r"""
import subprocess, sys
import onpath  # through PYTHONPATH
# -I ignores PYTHONPATH (multidict's tests import the package so); the venv's .pth names it
print(subprocess.check_output([sys.executable, "-I", "-c", "import onpath, sys; "
                               "print(onpath.WHERE, sys.flags.isolated)"], text=True))
"""


@pytest.mark.integration
def test_an_isolated_child_sees_the_run_s_directories(tmp_path: Path, aarch64_env: Path,
                                                      qemu_aarch64: str) -> None:
    """The test step's wheel directory is on PYTHONPATH and in the venv's .pth: a test
    suite that starts ``sys.executable -I`` imports the package being tested."""
    from crossenv import run as run_mod

    site = tmp_path / "site"
    site.mkdir()
    (site / "onpath.py").write_text("WHERE = 'site'\n")
    argv, environ = run_mod.command(aarch64_env, ["python", "-c", _ISOLATED], site=[site],
                                    prefix=tmp_path / "host")
    proc = run(argv, env=environ)
    assert proc.stdout.split() == ["site", "1"], proc.stderr
    pth = hostvenv.site_packages(tmp_path / "host", "3.11") / hostvenv.PATHS
    assert pth.read_text().splitlines()[0] == str(site)
    odd = tmp_path / "a\nimport os"  # a .pth line that starts with "import" is run
    odd.mkdir()
    with pytest.raises(run_mod.TargetError, match="line break"):
        run_mod.command(aarch64_env, ["python"], site=[odd], prefix=tmp_path / "host")


def test_run_command_puts_the_launchers_first_on_path(tmp_path: Path) -> None:
    """The argv and PATH ``command`` returns, for a recorded env (no qemu is started)."""
    from crossenv import run as run_mod
    from helpers.recorded import recorded_env

    env, sysroot = recorded_env(tmp_path)
    qemu = shutil.which("true")
    assert qemu
    argv, environ = run_mod.command(env, ["python3", "-V"], qemu=qemu)
    assert argv == [qemu, "-L", str(sysroot), "-0", str(env / "host" / "bin" / "python3"),
                    str(sysroot / "usr" / "bin" / "python3.12"), "-V"]
    assert environ["PATH"].split(os.pathsep)[0] == str(env / "host" / "bin")
    assert "PYTHONHOME" not in environ and sys.executable not in environ["PATH"]
