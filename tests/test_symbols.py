"""crossenv.symbols: which symbols of a wheel need a newer glibc than its policy.

Real objects from the real cross compiler against the arm64 sysroot: a call to
``closefrom`` (glibc 2.34) linked against the sysroot's libc is ``closefrom@GLIBC_2.34``;
linked without libc (as zig links a function its glibc 2.28 stubs lack) it is an
unversioned reference, which loads on bookworm and fails on a glibc 2.28 host, and
which the sysroot's own glibc (:func:`glibc_first_versions`) dates.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from crossenv import provision
from crossenv.symbols import excesses, glibc_first_versions
from helpers import require
from helpers.wheels import make_wheel

SOURCE = "extern int closefrom(int);\nint demo(void) { closefrom(3); return 0; }\n"


def _shared(tmp_path: Path, sysroot: Path, *flags: str) -> bytes:
    gcc = shutil.which("aarch64-linux-gnu-gcc")
    require(gcc, "aarch64-linux-gnu-gcc is needed (.ci/apt-packages.txt)")
    (tmp_path / "demo.c").write_text(SOURCE)
    out = tmp_path / f"demo{len(flags)}.so"
    subprocess.run([str(gcc), f"--sysroot={sysroot}", "-shared", "-fPIC", *flags,
                    str(tmp_path / "demo.c"), "-o", str(out)], check=True)
    return out.read_bytes()


@pytest.mark.integration
def test_versioned_and_unversioned_references(tmp_path: Path,
                                              arm64_sysroot: provision.Sysroot) -> None:
    known = glibc_first_versions(arm64_sysroot.root, "aarch64-linux-gnu")
    assert known["closefrom"] == "GLIBC_2.34" and known["memcpy"] == "GLIBC_2.17"
    member = "demo/_native.cpython-311-aarch64-linux-gnu.so"
    linked = make_wheel(tmp_path / "a", files={member: _shared(tmp_path, arm64_sysroot.root)})
    bare = make_wheel(tmp_path / "b", files={
        member: _shared(tmp_path, arm64_sysroot.root, "-nostdlib")})
    assert [(e.symbol, e.version, e.unversioned) for e in excesses(linked, "aarch64", (2, 28))
            ] == [("closefrom", "GLIBC_2.34", False)]
    assert excesses(bare, "aarch64", (2, 28)) == []  # no version: invisible without glibc's
    (found,) = excesses(bare, "aarch64", (2, 28), lambda: known)
    assert (found.symbol, found.version, found.unversioned) == ("closefrom", "GLIBC_2.34", True)
    assert "fails to load on an older glibc" in found.describe()
    assert excesses(bare, "aarch64", (2, 34), lambda: known) == []  # the policy has it
    asked: list[int] = []
    assert excesses(linked, "aarch64", (2, 34), lambda: asked.append(1) or known) == []
    assert asked == []  # gcc's references are all versioned: glibc is not read
    assert glibc_first_versions(tmp_path, "aarch64-linux-gnu") == {}  # no glibc there


@pytest.mark.integration
def test_check_refuses_an_unversioned_reference_beyond_the_tag(
        tmp_path: Path, aarch64_env: Path) -> None:
    """``crossenv check`` against the env's sysroot: the zig-style wheel loads on
    bookworm, but its manylinux_2_28 tag promises a glibc 2.28 host, which lacks
    closefrom."""
    from crossenv import api
    from crossenv.check import check_wheel

    sysroot = api.Env.open(aarch64_env).record.sysroot
    assert sysroot is not None
    member = "demo/_native.cpython-311-aarch64-linux-gnu.so"
    data = _shared(tmp_path, sysroot, "-nostdlib")
    for tag, refused in (("manylinux_2_28_aarch64", True), ("manylinux_2_34_aarch64", False)):
        wheel = make_wheel(tmp_path / tag, files={member: data},
                           tag=f"cp311-cp311-{tag}")
        problems = [p for p in check_wheel(wheel, env=aarch64_env)
                    if "closefrom" in str(p)]
        assert bool(problems) == refused, (tag, problems)
