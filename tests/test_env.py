"""A real cross environment: layout, what cross-python reports, and what it must not leak."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run

pytestmark = pytest.mark.integration

REPORT = ("import sys, platform, sysconfig, os; "
          "print(bool(getattr(sys, 'cross_compiling', False)), platform.machine(), "
          "sysconfig.get_platform(), os.uname().machine, sysconfig.get_config_var('EXT_SUFFIX'))")


def test_layout(aarch64_env: Path) -> None:
    bin_dir = aarch64_env / "bin"
    for name in ("cross-python", "cross-pip", "build-python", "build-pip", "python", "pip"):
        for suffix in ("", "3", "3.11"):
            assert os.access(bin_dir / f"{name}{suffix}", os.X_OK), name + suffix
    assert (bin_dir / "activate").is_file()
    assert (bin_dir / "cross-expose").is_file()
    assert (aarch64_env / "build" / "pyvenv.cfg").is_file()
    assert (aarch64_env / "cross" / "bin" / "python").exists()
    meta = json.loads((aarch64_env / "crossenv.json").read_text())
    assert meta["host"]["machine"] == "aarch64"
    assert meta["host"]["platform_tags"][-1] == "linux_aarch64"
    assert meta["paths"]["cross_python"] == str(aarch64_env / "cross" / "bin" / "python")
    for part in ("build", "cross", "bin"):  # what a later --clear may replace
        marker = json.loads((aarch64_env / part / ".crossenv-part").read_text())
        assert marker["part"] == part
    names = {p.name for p in aarch64_env.iterdir()}  # (other tests may add ENV/host)
    assert {"bin", "build", "cross", "crossenv.json"} <= names
    assert not [n for n in names if n.startswith(".crossenv-")]  # no staging left
    # nothing in ENV still points at the staging directory it was built in
    proc = subprocess.run(["grep", "-rIl", ".crossenv-", str(aarch64_env / "bin"),
                           str(aarch64_env / "build" / "bin"), str(aarch64_env / "cross" / "bin"),
                           str(aarch64_env / "cross" / "pyvenv.cfg")],
                          capture_output=True, text=True)
    assert proc.stdout == ""


def test_cross_python_reports_the_host(aarch64_env: Path) -> None:
    out = run([aarch64_env / "bin" / "cross-python", "-c", REPORT]).stdout.split()
    assert out == ["True", "aarch64", "linux-aarch64", "aarch64",
                   ".cpython-311-aarch64-linux-gnu.so"]
    out = run([aarch64_env / "bin" / "build-python", "-c", REPORT]).stdout.split()
    assert out[:4] == ["False", "x86_64", "linux-x86_64", "x86_64"]


def test_cross_compiling_shape(aarch64_env: Path) -> None:
    """``sys.cross_compiling`` is exactly True (crossenv 1.x, cibuildwheel's Android/iOS,
    xbuild; RobotPy tests ``== True``); the host's facts are on ``sys.crossenv``."""
    code = ("import sys, json; c = sys.crossenv; "
            "assert sys.cross_compiling is True and sys.cross_compiling == True; "
            "print(json.dumps({k: getattr(c, k) for k in ('tool', 'host_platform', "
            "'host_machine', 'multiarch', 'ext_suffix', 'sysroot', 'build_python', 'env')}))")
    info = json.loads(run([aarch64_env / "bin" / "cross-python", "-c", code]).stdout)
    assert info["tool"] == "crossenv"
    assert info["host_platform"] == "linux-aarch64"
    assert info["multiarch"] == "aarch64-linux-gnu"
    assert info["build_python"] == str(aarch64_env / "build" / "bin" / "python")
    assert info["env"] == str(aarch64_env)


def test_sysconfig_answers_for_the_host(aarch64_env: Path, arm64_sysroot) -> None:  # type: ignore[no-untyped-def]
    code = ("import sysconfig; v = sysconfig.get_config_vars(); p = sysconfig.get_paths(); "
            "print(v['CC']); print(v['SOABI']); print(p['include']); print(v['MULTIARCH']); "
            "print(p['purelib'])")
    cc, soabi, include, multiarch, purelib = run(
        [aarch64_env / "bin" / "cross-python", "-c", code]).stdout.splitlines()
    # crossenv's path guard wrapper, named like the compiler (crossenv.backends.compilerwrap)
    assert cc.startswith(f"{aarch64_env}/cross/crossenv/bin/aarch64-linux-gnu-gcc --sysroot=")
    assert soabi == "cpython-311-aarch64-linux-gnu"
    assert include == f"{arm64_sysroot.root}/usr/include/python3.11"
    assert multiarch == "aarch64-linux-gnu"
    assert purelib.startswith(str(aarch64_env / "cross"))  # installs stay in the env


def test_python_m_sysconfig_reports_the_host(aarch64_env: Path) -> None:
    out = run([aarch64_env / "bin" / "cross-python", "-m", "sysconfig"]).stdout
    assert 'Platform: "linux-aarch64"' in out
    assert "cpython-311-aarch64-linux-gnu" in out


def test_platform_uname(aarch64_env: Path) -> None:
    code = "import platform; u = platform.uname(); print(u.system, u.machine, u.processor)"
    assert run([aarch64_env / "bin" / "cross-python", "-c", code]).stdout.split() == \
        ["Linux", "aarch64", "aarch64"]


def test_native_extension_modules_still_import(aarch64_env: Path) -> None:
    code = ("import _ssl, _ctypes, zlib, importlib.machinery as m; "
            "print(m.EXTENSION_SUFFIXES[0])")
    assert run([aarch64_env / "bin" / "cross-python", "-c", code]).stdout.strip() == \
        ".cpython-311-x86_64-linux-gnu.so"


def test_no_leak_into_other_interpreters(aarch64_env: Path) -> None:
    system_python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    code = ("import subprocess, sys; "
            f"[print(subprocess.run([exe, '-c', {REPORT!r}], capture_output=True, text=True, "
            "check=True).stdout.strip()) for exe in sys.argv[1:]]")
    out = run([aarch64_env / "bin" / "cross-python", "-c", code,
               aarch64_env / "bin" / "build-python", system_python]).stdout.splitlines()
    assert len(out) == 2
    for line in out:
        assert line.split()[:4] == ["False", "x86_64", "linux-x86_64", "x86_64"], line


def test_subinterpreter_of_cross_python_is_cross(aarch64_env: Path) -> None:
    code = ("import _xxsubinterpreters as s, os; r, w = os.pipe(); i = s.create(); "
            "s.run_string(i, f'import os, platform; os.write({w}, platform.machine().encode())'); "
            "print(os.read(r, 100).decode())")
    assert run([aarch64_env / "bin" / "cross-python", "-c", code]).stdout.strip() == "aarch64"


def test_native_subinterpreter_of_build_python_stays_native(aarch64_env: Path) -> None:
    code = ("import _xxsubinterpreters as s, os; r, w = os.pipe(); i = s.create(); "
            "s.run_string(i, f'import os, platform; os.write({w}, platform.machine().encode())'); "
            "print(os.read(r, 100).decode())")
    env = dict(os.environ, PYTHON_CROSSENV="1")  # as inherited from a cross-python parent
    assert run([aarch64_env / "bin" / "build-python", "-c", code], env=env).stdout.strip() \
        == "x86_64"


def test_pip_build_env_installs_run_natively(aarch64_env: Path) -> None:
    """The shim hands pip's build-requirement installs to the build interpreter."""
    code = "import sys; print(sys.prefix)"
    out = run([aarch64_env / "bin" / "cross-python", "-c", code, "install", "--prefix",
               "/tmp/pip-build-env-abc123/overlay", "x"]).stdout.strip()
    assert out == str(aarch64_env / "build")
    out = run([aarch64_env / "bin" / "cross-python", "-c", code, "install", "--prefix",
               "/tmp/elsewhere", "x"]).stdout.strip()
    assert out == str(aarch64_env / "cross")


def test_sitecustomize_is_chained(aarch64_env: Path, tmp_path: Path) -> None:
    extra = tmp_path / "site"
    extra.mkdir()
    (extra / "sitecustomize.py").write_text("import builtins\nbuiltins.CHAINED = 'yes'\n")
    site = next((aarch64_env / "cross" / "lib").glob("python3*/site-packages"))
    pth = site / "zz_test_extra.pth"
    pth.write_text(f"{extra}\n")
    try:
        out = run([aarch64_env / "bin" / "cross-python", "-c",
                   "import builtins, platform; print(builtins.CHAINED, platform.machine())"])
        assert out.stdout.split() == ["yes", "aarch64"]
    finally:
        pth.unlink()


def test_activate_and_deactivate(aarch64_env: Path) -> None:
    script = (f'PS1="$ "; . "{aarch64_env}/bin/activate"; '
              'python -c "import platform; print(platform.machine())"; '
              'command -v pip; build-python -c "import platform; print(platform.machine())"; '
              'echo "$PS1"; deactivate; command -v python3 || true; echo "[$CROSSENV_ENV]"')
    out = run(["bash", "-c", script]).stdout.splitlines()
    assert out[0] == "aarch64"
    assert out[1] == f"{aarch64_env}/bin/pip"
    assert out[2] == "x86_64"
    assert out[3] == f"({aarch64_env.name}) $ "
    assert not out[4].startswith(str(aarch64_env))
    assert out[-1] == "[]"
