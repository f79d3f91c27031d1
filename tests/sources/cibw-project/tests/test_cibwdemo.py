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
