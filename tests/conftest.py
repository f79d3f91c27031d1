"""Shared fixtures: a real arm64 sysroot, a real cross environment, qemu.

Nothing here is mocked. The sysroot comes from Debian's archive through apt's
configured sources (cached between runs by crossenv.provision); compilers and
qemu are Debian packages that .ci/run installs. Outside CI a missing tool skips
the tests that need it, with the reason; in CI (CI=true) it fails them instead,
so a green CI run always means the integration tests really ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crossenv import provision
from helpers import Target, crossenv_cmd, require, run

#: The fixtures of the real testbed (a sysroot from apt, cross compilers, qemu, an
#: environment). A test that uses one, directly or through another fixture, is an
#: integration test: it is marked so automatically (tests by kind: ``-m "not
#: integration"`` is the unit tests, which need no toolchain and no network). A fixture
#: defined in a test module joins by using one of these.
TESTBED_FIXTURES = frozenset({
    "arm64_sysroot", "qemu_aarch64", "aarch64_gcc", "aarch64_env", "aarch64_target",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a testbed fixture ``integration``; then run the tests
    marked ``slow`` first, the longest (``slow(minutes=N)``) first.

    The slow ones are the few that build something big (numpy, the Rust wheels, pynacl's
    libsodium): started first, they overlap the hundreds of short tests on the other
    xdist worker. Left in file order, some came last, and the run ended with one worker
    idle for minutes while the other finished a build. A test that only reuses a
    ``shared_build`` is not marked slow, so it does not queue behind the build on the
    other worker at the start of the run. Otherwise the order is the usual one.
    """
    for item in items:
        if TESTBED_FIXTURES & set(getattr(item, "fixturenames", ())) and \
                item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)

    def key(item: pytest.Item) -> tuple[bool, float]:
        slow = item.get_closest_marker("slow")
        return slow is None, -float(slow.kwargs.get("minutes", 1)) if slow else 0.0

    items.sort(key=key)


@pytest.fixture(scope="session")
def arm64_sysroot() -> provision.Sysroot:
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian arm64 sysroot")
    return provision.provision_debian("arm64")


@pytest.fixture(scope="session")
def qemu_aarch64() -> str:
    qemu = provision.find_qemu("arm64")
    require(qemu, "qemu-user-static (qemu-aarch64) is needed to run arm64 code")
    assert qemu is not None
    return qemu


@pytest.fixture(scope="session")
def aarch64_gcc() -> str:
    gcc = shutil.which("aarch64-linux-gnu-gcc")
    require(gcc, "gcc-aarch64-linux-gnu is needed to cross-compile for arm64")
    assert gcc is not None
    return gcc


@pytest.fixture(scope="session")
def aarch64_env(tmp_path_factory: pytest.TempPathFactory, arm64_sysroot: provision.Sysroot,
                aarch64_gcc: str) -> Path:
    """One cross environment for arm64, shared by the tests that only use it."""
    env = tmp_path_factory.mktemp("envs") / "aarch64"
    run([*crossenv_cmd(), arm64_sysroot.python, env])
    return env


@pytest.fixture(scope="session")
def aarch64_target(arm64_sysroot: provision.Sysroot, qemu_aarch64: str) -> Target:
    return Target(arm64_sysroot, qemu_aarch64)
