"""setup.py files that read sys.byteorder / sys.maxsize / struct.calcsize("P") build for
the host (``runtime/_crossenv_facts``), with a real build per arch run under qemu.

``tests/sources/hostfacts`` compiles what its setup.py saw into ``facts()``, next to
what the machine running it really is: the two must agree on the host. s390x is
big-endian and 64-bit, armhf little-endian and 32-bit, the build machine little-endian
and 64-bit, so each arch catches the fact the other cannot.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from crossenv import arches, provision
from helpers import ROOT, require, run, unpack_wheels

PROJECT = ROOT / "tests" / "sources" / "hostfacts"


@pytest.mark.integration
@pytest.mark.parametrize("debian", ["s390x", "armhf"])
def test_setup_py_sees_the_hosts_byte_order_and_pointer_size(debian: str,
                                                             tmp_path: Path) -> None:
    arch = arches.by_debian(debian)
    require(shutil.which(f"{arch.triplet}-gcc"), f"gcc-{arch.triplet} is needed")
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian sysroot")
    qemu = provision.find_qemu(debian)
    require(qemu, f"qemu-user-static ({arch.qemu}) is needed")
    sysroot = provision.provision_debian(debian)
    env = tmp_path / "env"
    run([sys.executable, "-m", "crossenv", sysroot.python, env])
    source = shutil.copytree(PROJECT, tmp_path / "src")  # no build/ kept between runs
    run([env / "bin" / "cross-pip", "wheel", "--no-deps", "--no-cache-dir", "-w",
         tmp_path / "wheels", source])
    (wheel,) = (tmp_path / "wheels").glob(f"facts-1-*-linux_{arch.machine}.whl")
    site = unpack_wheels([wheel], tmp_path / "site")
    proc = run([qemu, "-L", sysroot.root, sysroot.python, "-c",
                "import facts; print(facts.facts())"], env={"PYTHONPATH": str(site)})
    big, size = int(arch.byteorder == "big"), arch.pointer_size
    real = (big, int(size == 8), size)
    assert proc.stdout.strip() == str((real, real))  # built as what it runs on
    # not in pip, cross-python -c or the REPL: those stay the build machine's
    proc = run([env / "bin" / "cross-python", "-c",
                "import struct, sys; print(sys.byteorder, sys.maxsize > 2**32, "
                "struct.calcsize('P'))"])
    assert proc.stdout.split() == [sys.byteorder, "True", "8"]
