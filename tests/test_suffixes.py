"""The suffixes a host CPython imports extensions by, against the real interpreters.

tests/data/hostdata-3.15/arm64 is Debian sid's python3.15 (3.15.2-1): its sysconfigdata
and what it printed under qemu (``importlib.machinery.EXTENSION_SUFFIXES``,
``SOABI_PLATFORM``), recorded by ``scripts/record-hostdata.py --python 3.15 --release
sid arm64``. The 3.11 recordings (bookworm) have the pre-3.15 list.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import host as host_mod
from crossenv import suffixes
from helpers import DEBIAN_ARCHES, recorded_sysconfigdata

HOSTDATA_315 = Path(__file__).parent / "data" / "hostdata-3.15" / "arm64"


def _recorded_315() -> tuple[Path, dict[str, object]]:
    manifest = json.loads((HOSTDATA_315 / "manifest.json").read_text())
    return HOSTDATA_315 / manifest["file"], manifest["facts"]


def test_315_suffixes_are_what_the_real_interpreter_imports() -> None:
    path, facts = _recorded_315()
    desc = host_mod.describe(path)
    assert desc.version == (3, 15) and desc.config_vars["SOABI_PLATFORM"] == "aarch64-linux-gnu"
    listed = suffixes.for_config_vars(desc.version, desc.ext_suffix, desc.config_vars)
    assert listed == facts["EXTENSION_SUFFIXES"]
    assert host_mod.to_build_details(desc)["suffixes"]["extensions"] == listed


@pytest.mark.parametrize("arch", DEBIAN_ARCHES)
def test_before_315_it_is_ext_suffix_abi3_and_so(arch: str) -> None:
    desc = host_mod.describe(recorded_sysconfigdata(arch))
    assert suffixes.for_config_vars(desc.version, desc.ext_suffix, desc.config_vars) == \
        [desc.ext_suffix, ".abi3.so", ".so"]


def test_a_free_threaded_315_imports_no_abi3_name() -> None:
    found = suffixes.extension_suffixes((3, 15), ".cpython-315t-aarch64-linux-gnu.so",
                                        "aarch64-linux-gnu", True)
    assert found == [".cpython-315t-aarch64-linux-gnu.so", ".abi3t-aarch64-linux-gnu.so",
                     ".abi3t.so", ".so"]


_PLATFORM = st.sampled_from(["aarch64-linux-gnu", "s390x-linux-gnu", "arm-linux-gnueabihf",
                             "riscv64-linux-gnu", "x86_64-linux-musl"])


@given(minor=st.integers(2, 40), platform=_PLATFORM, threaded=st.booleans())
def test_a_version_tag_accepts_exactly_what_its_interpreter_imports(
        minor: int, platform: str, threaded: bool) -> None:
    abi = f"cp3{minor}{'t' if threaded else ''}"
    imported = suffixes.extension_suffixes((3, minor), f".cpython-{abi[2:]}-{platform}.so",
                                           platform, threaded)
    assert suffixes.for_tag(f"cp3{minor}", abi, [platform]) == set(imported) - {".so"}
    assert all(suffixes.is_extension_name(f"pkg/_m{s}") for s in imported if s != ".so")
    assert not suffixes.is_extension_name("pkg/libfoo.so")


@given(minor=st.integers(2, 40), platform=_PLATFORM)
def test_an_abi3_tag_promises_only_names_its_oldest_interpreter_imports(
        minor: int, platform: str) -> None:
    accepted = suffixes.for_tag(f"cp3{minor}", "abi3", [platform])
    oldest = suffixes.extension_suffixes((3, minor), f".cpython-3{minor}-{platform}.so",
                                         platform, False)
    assert accepted <= set(oldest) and ".abi3.so" in accepted
    assert (f".abi3-{platform}.so" in accepted) == (minor >= 15)


def test_tags_that_fix_no_suffix() -> None:
    assert suffixes.for_tag("py3", "none", ["aarch64-linux-gnu"]) == set()
    assert suffixes.for_tag("pp310", "pypy310_pp73", ["aarch64-linux-gnu"]) == set()
