"""Host descriptions from recorded Debian data, compared with what the real
interpreters reported under qemu when the data was recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crossenv import host as host_mod
from crossenv.errors import HostError
from helpers import DEBIAN_ARCHES, HOSTDATA, recorded_sysconfigdata


def facts(arch: str) -> dict[str, object]:
    return json.loads((HOSTDATA / arch / "manifest.json").read_text())["facts"]


@pytest.mark.parametrize("arch", DEBIAN_ARCHES)
def test_description_matches_the_real_interpreter(arch: str) -> None:
    desc = host_mod.describe(recorded_sysconfigdata(arch))
    real = facts(arch)
    assert desc.machine == real["uname_m"]
    assert desc.platform == real["platform"]
    assert desc.byteorder == real["byteorder"]
    assert desc.pointer_size == real["pointer_size"]
    assert desc.ext_suffix == real["EXT_SUFFIX"]
    assert desc.soabi == real["SOABI"]
    assert desc.multiarch == real["MULTIARCH"]
    assert desc.host_gnu_type == real["HOST_GNU_TYPE"]
    assert desc.version == (3, 11)
    assert desc.implementation == "cpython"


def make_prefix(tmp_path: Path, arch: str) -> Path:
    """A sysroot-shaped tree: SYSROOT/usr/{bin/python3.11, lib/python3.11/_sysconfigdata}."""
    root = tmp_path / f"sysroot-{arch}"
    stdlib = root / "usr" / "lib" / "python3.11"
    stdlib.mkdir(parents=True)
    shutil.copy(recorded_sysconfigdata(arch), stdlib)
    (root / "usr" / "bin").mkdir()
    shutil.copy("/bin/true", root / "usr" / "bin" / "python3.11")  # any ELF file
    (root / "usr" / "bin" / "python3").symlink_to("python3.11")
    multiarch = facts(arch)["MULTIARCH"]
    conf = root / "usr" / "include" / str(multiarch) / "python3.11"
    conf.mkdir(parents=True)
    (conf / "pyconfig.h").write_text("/* host pyconfig */\n")
    return root


@pytest.mark.parametrize("form", ["exe", "symlink", "prefix", "sysroot", "sysconfigdata"])
def test_every_input_form_finds_the_sysroot(tmp_path: Path, form: str) -> None:
    root = make_prefix(tmp_path, "arm64")
    source = {
        "exe": root / "usr/bin/python3.11",
        "symlink": root / "usr/bin/python3",
        "prefix": root / "usr",
        "sysroot": root,
        "sysconfigdata": recorded_sysconfigdata("arm64").name,
    }[form]
    if form == "sysconfigdata":
        source = root / "usr/lib/python3.11" / str(source)
    desc = host_mod.describe(source)
    assert desc.sysroot == root
    assert desc.include_dir == root / "usr/include/python3.11"
    # Debian's split pyconfig.h is found in include/<multiarch>/python3.11
    assert desc.platinclude_dir == root / "usr/include/aarch64-linux-gnu/python3.11"
    assert desc.libpython_dir == root / "usr/lib/aarch64-linux-gnu"
    assert desc.libpython_name == "libpython3.11.so.1.0"
    assert desc.build_path("/usr/lib/foo") == f"{root}/usr/lib/foo"


def test_explicit_sysroot_wins(tmp_path: Path) -> None:
    root = make_prefix(tmp_path, "armhf")
    other = tmp_path / "elsewhere"
    other.mkdir()
    desc = host_mod.describe(root / "usr/bin/python3.11", sysroot=other)
    assert desc.sysroot == other
    assert desc.machine == "armv7l"


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda p: p / "missing" / "python3.11", "does not exist"),
    (lambda p: (p / "python3.11").write_text("#!/bin/sh\n") and p / "python3.11",
     "is not a Python interpreter"),
    (lambda p: p, "no _sysconfigdata_"),
])
def test_bad_host_paths(tmp_path: Path, make, fragment: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(HostError) as info:
        host_mod.describe(make(tmp_path))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_several_different_sysconfigdata_files_need_a_choice(tmp_path: Path) -> None:
    root = make_prefix(tmp_path, "arm64")
    stdlib = root / "usr/lib/python3.11"
    text = recorded_sysconfigdata("arm64").read_text().replace("'-ldl'", "'-ldl -lm'", 1)
    (stdlib / "_sysconfigdata_d_linux_aarch64-linux-gnu.py").write_text(text)
    with pytest.raises(HostError, match="--sysconfigdata-file"):
        host_mod.describe(root / "usr/bin/python3.11")
    other = stdlib / "_sysconfigdata_d_linux_aarch64-linux-gnu.py"
    chosen = host_mod.describe(root / "usr/bin/python3.11", sysconfigdata_file=other)
    assert chosen.config_vars["LIBS"] == "-ldl -lm"


def test_version_mismatch_names_the_build_python_to_use() -> None:
    desc = host_mod.describe(recorded_sysconfigdata("arm64"))
    host_mod.check_version(desc, (3, 11))
    with pytest.raises(HostError) as info:
        host_mod.check_version(desc, (3, 12))
    assert "python3.11 -m crossenv" in str(info.value)


@pytest.mark.parametrize("arch", DEBIAN_ARCHES)
def test_pep739_round_trip(tmp_path: Path, arch: str) -> None:
    desc = host_mod.describe(recorded_sysconfigdata(arch))
    details = host_mod.to_build_details(desc)
    assert details["schema_version"] == "1.0"
    assert details["platform"] == facts(arch)["platform"]
    path = tmp_path / "build-details.json"
    path.write_text(json.dumps(details))
    again = host_mod.describe(path)
    for field in ("version", "machine", "platform", "ext_suffix", "soabi", "multiarch",
                  "byteorder", "pointer_size"):
        assert getattr(again, field) == getattr(desc, field), field


def test_bad_build_details_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "build-details.json"
    path.write_text('{"schema_version": "1.0"}')
    with pytest.raises(HostError, match=r"not a PEP 739 build-details\.json"):
        host_mod.describe(path)


@pytest.mark.parametrize(("triplet", "machine"), [
    ("aarch64-unknown-linux-gnu", "aarch64"), ("arm-unknown-linux-gnueabihf", "armv7l"),
    ("i686-pc-linux-gnu", "i686"), ("powerpc64le-unknown-linux-gnu", "ppc64le"),
    ("s390x-ibm-linux-gnu", "s390x"), ("riscv64-unknown-linux-gnu", "riscv64"),
    ("mips64el-unknown-linux-gnuabi64", "mips64"),
])
def test_gnu_cpu_to_machine(triplet: str, machine: str) -> None:
    assert host_mod.gnu_cpu_to_machine(triplet) == machine


# --- issue 21: host prefixes outside --sysroot, sysroot links that leave it -----------------

def conda_prefix(tmp_path: Path, *, headers: bool = True) -> Path:
    """A conda-style host PREFIX (its sysconfigdata records it) outside any sysroot."""
    from crossenv import sysconfigdata

    prefix = tmp_path / "conda"
    values = sysconfigdata.load(recorded_sysconfigdata("arm64"))
    values = {k: v.replace("/usr", str(prefix)) if isinstance(v, str) and v.startswith("/usr")
              else v for k, v in values.items()}
    stdlib = prefix / "lib" / "python3.11"
    stdlib.mkdir(parents=True)
    (stdlib / "_sysconfigdata__linux_aarch64-linux-gnu.py").write_text(
        sysconfigdata.render(values))
    include = prefix / "include" / "python3.11"
    include.mkdir(parents=True)
    if headers:
        (include / "Python.h").write_text("/* host */\n")
        (include / "pyconfig.h").write_text("/* host */\n")
    return stdlib / "_sysconfigdata__linux_aarch64-linux-gnu.py"


def test_a_host_prefix_outside_the_sysroot_is_used_where_it_is(tmp_path: Path) -> None:
    data = conda_prefix(tmp_path)
    sysroot = tmp_path / "sysroot"
    (sysroot / "usr" / "include").mkdir(parents=True)
    desc = host_mod.describe(data, sysroot=sysroot)
    assert desc.sysroot == sysroot
    assert desc.include_dir == tmp_path / "conda/include/python3.11"  # not SYSROOT/tmp/...
    assert desc.libpython_dir == tmp_path / "conda/lib/aarch64-linux-gnu"
    host_mod.check_headers(desc)
    assert desc.build_path("/usr/lib/x") == f"{sysroot}/usr/lib/x"  # the rest: the sysroot
    libpl = desc.config_vars["LIBPL"]
    assert libpl.startswith(str(tmp_path / "conda")) and desc.build_path(libpl) == libpl


def test_a_host_without_headers_is_refused_at_creation(tmp_path: Path) -> None:
    data = conda_prefix(tmp_path, headers=False)
    sysroot = tmp_path / "sysroot"
    sysroot.mkdir()
    desc = host_mod.describe(data, sysroot=sysroot)
    with pytest.raises(HostError, match=r"Python\.h is not in .*libpython3\.11-dev"):
        host_mod.check_headers(desc)


def leaving_sysroot(tmp_path: Path, *, link: str) -> Path:
    """make_prefix's sysroot with Python.h, and with the *link* (``dir``: the multiarch
    pyconfig.h directory; ``file``: Python.h) an absolute symlink to the "build machine"."""
    root = make_prefix(tmp_path, "arm64")
    build = tmp_path / "build-machine" / "python3.11"  # stands for /usr/include/x86_64-...
    build.mkdir(parents=True)
    (build / "pyconfig.h").write_text("/* x86_64 */\n")
    (build / "Python.h").write_text("/* x86_64 */\n")
    include = root / "usr/include/python3.11"
    include.mkdir(parents=True)
    conf = root / "usr/include/aarch64-linux-gnu/python3.11"
    if link == "dir":
        (include / "Python.h").write_text("/* host */\n")
        shutil.rmtree(conf)
        conf.symlink_to(build)
    else:
        (include / "Python.h").symlink_to(build / "Python.h")
    return root


@pytest.mark.parametrize("link", ["dir", "file"])
def test_a_sysroot_link_that_leaves_the_sysroot_is_refused(tmp_path: Path, link: str) -> None:
    root = leaving_sysroot(tmp_path, link=link)
    with pytest.raises(HostError, match="symlink that leaves") as info:
        host_mod.check_headers(host_mod.describe(root / "usr/bin/python3.11"))
    assert "\n" not in str(info.value) and "relative" in str(info.value)


def test_a_relative_link_inside_the_sysroot_is_fine(tmp_path: Path) -> None:
    root = make_prefix(tmp_path, "arm64")
    include = root / "usr/include/python3.11"
    include.mkdir(parents=True)
    (include / "Python.h").symlink_to("../aarch64-linux-gnu/python3.11/pyconfig.h")
    desc = host_mod.describe(root / "usr/bin/python3.11")
    host_mod.check_headers(desc)
    assert desc.platinclude_dir == root / "usr/include/aarch64-linux-gnu/python3.11"
