"""``crossenv describe``: every format, for a host file and for an existing ENV.

The meson and CMake outputs are also fed to the real tools in test_meson.py and
test_cmake.py; here the formats themselves and the ENV/host agreement are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crossenv import describe, host
from helpers import recorded_sysconfigdata, run

ARCHES = ("arm64", "armhf", "s390x")


def _describe(*args: object) -> str:
    return run([sys.executable, "-m", "crossenv", "describe", *args]).stdout


@pytest.mark.parametrize("arch", ARCHES)
def test_json_and_build_details(arch: str) -> None:
    source = recorded_sysconfigdata(arch)
    data = json.loads(_describe(source, "--format", "json"))
    description = host.describe(source)
    assert data["machine"] == description.machine
    assert data["ext_suffix"] == description.ext_suffix
    details = json.loads(_describe(source, "--format", "build-details"))
    assert details["schema_version"] == "1.0"
    assert details["abi"]["extension_suffix"] == description.ext_suffix
    assert details["language"]["version"] == "3.11"


@pytest.mark.parametrize("arch", ARCHES)
def test_text_formats(arch: str, tmp_path: Path) -> None:
    source = recorded_sysconfigdata(arch)
    meson_text = _describe(source, "--format", "meson", "--python", "/x/python")
    assert "[host_machine]" in meson_text and "python = ['/x/python']" in meson_text
    cmake_text = _describe(source, "--format", "cmake")
    assert "CMAKE_SYSTEM_NAME Linux" in cmake_text
    pyo3 = _describe(source, "--format", "pyo3")
    assert pyo3.startswith("implementation=CPython\n")
    env_text = _describe(source, "--format", "env", "--output-dir", tmp_path)
    exports = dict(line[len("export "):].split("=", 1) for line in env_text.splitlines())
    assert exports["CMAKE_TOOLCHAIN_FILE"] == str(tmp_path / "toolchain.cmake")
    assert exports["PYO3_CONFIG_FILE"] == str(tmp_path / "pyo3-config.txt")
    assert (tmp_path / "pyo3-config.txt").read_text() == pyo3
    assert (tmp_path / "meson-cross.ini").is_file()
    # every variable is sh-safe: a shell can source the output
    proc = subprocess.run(["sh", "-c", env_text + 'echo "$CARGO_BUILD_TARGET"'],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == exports["CARGO_BUILD_TARGET"]


def test_unknown_host_is_an_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "crossenv", "describe", tmp_path / "nope",
                           "--format", "json"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "does not exist" in proc.stderr


def test_formats_are_the_documented_ones() -> None:
    assert describe.FORMATS == ("meson", "cmake", "pyo3", "env", "json", "build-details", "rust")


@pytest.mark.integration
def test_env_formats_print_the_generated_files(aarch64_env: Path) -> None:
    """For an ENV the files written at creation are printed, not recomputed."""
    crossenv_dir = aarch64_env / "cross" / "crossenv"
    assert _describe(aarch64_env, "--format", "meson") == \
        (crossenv_dir / "meson-cross.ini").read_text()
    assert _describe(aarch64_env, "--format", "cmake") == \
        (crossenv_dir / "toolchain.cmake").read_text()
    assert _describe(aarch64_env, "--format", "pyo3") == \
        (crossenv_dir / "pyo3-config.txt").read_text()
    env_text = _describe(aarch64_env, "--format", "env")
    assert f"CROSSENV_MESON_CROSS_FILE={crossenv_dir}/meson-cross.ini" in env_text
    assert "CARGO_BUILD_TARGET=aarch64-unknown-linux-gnu" in env_text
    assert f"CROSSENV_HOST_PACKAGES={crossenv_dir}/host-packages" in env_text
    assert json.loads(_describe(aarch64_env, "--format", "json"))["machine"] == "aarch64"
    details = json.loads(_describe(aarch64_env, "--format", "build-details"))
    assert details["abi"]["extension_suffix"] == ".cpython-311-aarch64-linux-gnu.so"
    # the cross file's python is the env's cross-python
    assert f"python = ['{aarch64_env}/cross/bin/python']" in \
        (crossenv_dir / "meson-cross.ini").read_text()
