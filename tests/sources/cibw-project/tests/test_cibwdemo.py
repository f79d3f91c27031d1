import os
import platform

import cibwdemo


def test_c_extension():
    assert cibwdemo.add(2, 40) == 42


def test_cython_extension():
    assert cibwdemo.fib(20) == 6765


def test_runs_on_the_host():
    # under qemu-user, uname() reports the emulated machine, never x86_64
    assert cibwdemo.machine() == platform.machine() != "x86_64"


def test_can_be_made_to_fail():
    assert not os.environ.get("CIBWDEMO_FAIL"), "CIBWDEMO_FAIL is set"


def test_spawns_python():
    # a test suite that starts Python itself: sys.executable and python3 on PATH are the
    # host python again (under qemu-user, through crossenv's launchers)
    import subprocess
    import sys

    code = "import cibwdemo, platform; print(cibwdemo.add(1, 2), platform.machine())"
    for python in (sys.executable, "python3"):
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["3", platform.machine()]
