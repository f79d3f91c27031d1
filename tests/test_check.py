"""``crossenv check`` against wheels built with real compilers.

Every check is shown both ways: it fires on a wheel that really has the mistake, and
stays quiet on a real wheel without it. The ELF facts the tests rely on (class,
machine, GLIBC_2.34) are confirmed with pyelftools, so a compiler that does something
unexpected fails the test instead of making it pass vacuously.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import io
import json
import os
import posixpath
import shutil
import stat
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkdata import MULTIARCH, compile_so, compiler, flip_flag, make_wheel, record_hash
from crossenv import check, elfinfo, policy, wheelfile
from crossenv.errors import CrossenvError, WheelError
from helpers import error_line, require

CP311 = "cp311-cp311"


def ext_name(arch: str, abi: str = "311") -> str:
    return f"demo/_demo.cpython-{abi}-{MULTIARCH[arch]}.so"


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("elf")


def build(build_dir: Path, arch: str, source: str = "ext.c", *flags: str) -> bytes:
    """Compile once per (arch, source, flags) for the whole session."""
    out = build_dir / arch / f"{source}-{'_'.join(flags) or 'default'}.so"
    if out.exists():
        return out.read_bytes()
    return compile_so(compiler(arch), out, source, *flags)


@pytest.fixture(autouse=True)
def _no_active_crossenv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that run check's command line must not see the crossenv they may run in."""
    for name in ("CROSSENV_ENV", "PYTHON_CROSSENV"):
        monkeypatch.delenv(name, raising=False)


def codes(problems: list[check.Problem]) -> list[str]:
    return sorted(p.code for p in problems)


def glibc_versions(data: bytes) -> set[str]:
    elf = ELFFile(io.BytesIO(data))
    return {aux.name for s in elf.iter_sections() if isinstance(s, GNUVerNeedSection)
            for _, auxes in s.iter_versions() for aux in auxes}


def run_cli(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    check.register(parser.add_subparsers())
    args = parser.parse_args(["check", *argv])
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = args.func(args)
    finally:
        sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------- good wheels stay quiet


@pytest.mark.parametrize("arch", ["aarch64", "armv7l", "s390x", "ppc64le", "x86_64"])
def test_good_wheel_is_clean(build_dir: Path, tmp_path: Path, arch: str) -> None:
    data = build(build_dir, arch)
    tag = f"{CP311}-manylinux_2_17_{arch}.manylinux2014_{arch}"
    wheel = make_wheel(tmp_path, tag, {ext_name(arch): data, "demo/__init__.py": b""})
    assert check.check_wheel(wheel) == []
    assert check.check_wheel(wheel, target=f"manylinux_2_28_{arch}") == []
    assert check.check_wheel(wheel, target=arch) == []
    status, out, _ = run_cli(str(wheel))
    assert (status, out.strip()) == (0, f"{wheel}: OK")


def test_abi3_and_musllinux_good_wheels(build_dir: Path, tmp_path: Path) -> None:
    data = build(build_dir, "aarch64", "nolibc.c", "-nostdlib")
    abi3 = make_wheel(tmp_path, "cp38-abi3-manylinux_2_17_aarch64",
                      {"demo/_demo.abi3.so": data})
    musl = make_wheel(tmp_path, "cp311-cp311-musllinux_1_1_aarch64",
                      {"demo/_demo.cpython-311-aarch64-linux-musl.so": data})
    assert check.check_wheel(abi3) == []
    assert check.check_wheel(musl) == []


def test_only_modules_defining_pyinit_are_imported(build_dir: Path, tmp_path: Path) -> None:
    """pycryptodome ships libraries named like extension modules (``_raw_aes.abi3.so``)
    that Python opens with ctypes: ``check --import`` must not import them (they define
    no ``PyInit_``), while the offline checks still cover them."""
    lib = build(build_dir, "aarch64", "foo_new.c")
    wheel = make_wheel(tmp_path, "cp37-abi3-linux_aarch64",
                       {"demo/_raw_lib.abi3.so": lib,
                        "demo/_demo.abi3.so": build(build_dir, "aarch64")})
    checker = check._checked(wheel, None, None)
    assert checker.problems == []
    assert sorted(checker.extensions) == ["demo/_demo.abi3.so", "demo/_raw_lib.abi3.so"]
    assert checker.importable == ["demo/_demo.abi3.so"]


# ---------------------------------------------------------------- ELF header checks


def test_x86_64_object_in_aarch64_wheel(build_dir: Path, tmp_path: Path) -> None:
    data = build(build_dir, "x86_64")
    assert ELFFile(io.BytesIO(data))["e_machine"] == "EM_X86_64"
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", {ext_name("aarch64"): data})
    problems = check.check_wheel(wheel)
    assert codes(problems) == ["elf-machine"]
    assert problems[0].member == ext_name("aarch64")
    assert "X86_64" in problems[0].message and "aarch64-linux-gnu-gcc" in problems[0].message


def test_32bit_object_in_64bit_wheel(build_dir: Path, tmp_path: Path) -> None:
    data = build(build_dir, "armv7l")
    assert ELFFile(io.BytesIO(data)).elfclass == 32
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", {ext_name("aarch64"): data})
    assert codes(check.check_wheel(wheel)) == ["elf-class"]


def test_big_endian_object_in_little_endian_wheel(build_dir: Path, tmp_path: Path) -> None:
    data = build(build_dir, "s390x")
    assert not ELFFile(io.BytesIO(data)).little_endian
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_ppc64le", {ext_name("ppc64le"): data})
    problems = check.check_wheel(wheel)
    assert codes(problems) == ["elf-endian"]
    assert "big-endian" in problems[0].message


def test_soft_float_object_in_armv7l_wheel(build_dir: Path, tmp_path: Path) -> None:
    soft = build(build_dir, "armv7l", "nolibc.c", "-nostdlib", "-mfloat-abi=soft")
    hard = build(build_dir, "armv7l", "nolibc.c", "-nostdlib")
    assert ELFFile(io.BytesIO(soft))["e_flags"] & 0x200  # EF_ARM_ABI_FLOAT_SOFT
    tag = f"{CP311}-manylinux_2_17_armv7l"
    assert codes(check.check_wheel(make_wheel(tmp_path / "s", tag, {ext_name("armv7l"): soft}))) \
        == ["elf-abi"]
    assert check.check_wheel(make_wheel(tmp_path / "h", tag, {ext_name("armv7l"): hard})) == []


def test_elf_in_pure_wheel(build_dir: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "py3-none-any", {"demo/_demo.so": build(build_dir, "aarch64")})
    assert codes(check.check_wheel(wheel)) == ["elf-platform"]


# ---------------------------------------------------------------- extension suffix


@pytest.mark.parametrize(("tag", "member", "expected"), [
    (f"{CP311}-manylinux_2_17_aarch64", "demo/_demo.cpython-311-x86_64-linux-gnu.so",
     ["ext-suffix"]),
    (f"{CP311}-manylinux_2_17_aarch64", "demo/_demo.cpython-312-aarch64-linux-gnu.so",
     ["ext-suffix"]),
    ("cp38-abi3-manylinux_2_17_aarch64", "demo/_demo.cpython-311-aarch64-linux-gnu.so",
     ["ext-suffix"]),
    ("cp38-abi3-manylinux_2_17_aarch64", "demo/_demo.abi3.so", []),
    (f"{CP311}-manylinux_2_17_aarch64", "demo/_demo.abi3.so", []),
    (f"{CP311}-manylinux_2_17_aarch64", "demo/_demo.so", []),
    (f"{CP311}-linux_aarch64", "demo/_demo.cpython-311-aarch64-linux-gnu.so", []),
    # 3.15 (PEP 803 and SOABI_PLATFORM): what Debian's python3.15 imports, by its tags
    ("cp315-cp315-linux_aarch64", "demo/_demo.cpython-315-aarch64-linux-gnu.so", []),
    ("cp315-cp315-linux_aarch64", "demo/_demo.abi3-aarch64-linux-gnu.so", []),
    ("cp315-cp315-linux_aarch64", "demo/_demo.abi3t.so", []),
    ("cp315-abi3-linux_aarch64", "demo/_demo.abi3-aarch64-linux-gnu.so", []),
    ("cp39-abi3-linux_aarch64", "demo/_demo.abi3-aarch64-linux-gnu.so", ["ext-suffix"]),
    ("cp315-abi3t-linux_aarch64", "demo/_demo.abi3t-aarch64-linux-gnu.so", []),
    ("cp315-abi3t-linux_aarch64", "demo/_demo.abi3.so", ["ext-suffix"]),
    ("cp315-abi3.abi3t-linux_aarch64", "demo/_demo.abi3t.so", []),
    ("cp315-abi3t-linux_aarch64", "demo/_demo.abi3t-x86_64-linux-gnu.so", ["ext-suffix"]),
    ("cp315-cp315t-linux_aarch64", "demo/_demo.abi3.so", ["ext-suffix"]),
    ("cp314-cp314-linux_aarch64", "demo/_demo.abi3t.so", ["ext-suffix"]),
])
def test_extension_suffix(build_dir: Path, tmp_path: Path, tag: str, member: str,
                          expected: list[str]) -> None:
    wheel = make_wheel(tmp_path, tag, {member: build(build_dir, "aarch64")})
    problems = check.check_wheel(wheel)
    assert codes(problems) == expected
    if "x86_64-linux-gnu" in member:
        assert "(the suffix of x86_64)" in problems[0].message
    if "x86_64-linux-gnu" in member and "abi3t" in tag:
        assert ".abi3t-aarch64-linux-gnu.so" in problems[0].message


# ---------------------------------------------------------------- glibc, libstdc++, libpython


def test_glibc_2_34_in_manylinux2014_wheel(build_dir: Path, tmp_path: Path) -> None:
    data = build(build_dir, "aarch64", "new_glibc.c")
    assert "GLIBC_2.34" in glibc_versions(data)  # confirms the premise with pyelftools
    if shutil.which("aarch64-linux-gnu-readelf"):
        (tmp_path / "so").write_bytes(data)
        readelf = subprocess.run(["aarch64-linux-gnu-readelf", "-V", "-W", str(tmp_path / "so")],
                                 capture_output=True, check=True, text=True).stdout
        assert "GLIBC_2.34" in readelf
    old = make_wheel(tmp_path / "old", f"{CP311}-manylinux_2_17_aarch64",
                     {ext_name("aarch64"): data})
    problems = check.check_wheel(old)
    assert codes(problems) == ["glibc-version"]
    assert "GLIBC_2.34" in problems[0].message
    new = make_wheel(tmp_path / "new", f"{CP311}-manylinux_2_34_aarch64",
                     {ext_name("aarch64"): data})
    assert check.check_wheel(new) == []
    # with several tags the oldest counts, whatever the order ("2_9" sorts after "2_34")
    both = make_wheel(tmp_path / "both", f"{CP311}-manylinux_2_34_aarch64.manylinux_2_9_aarch64",
                      {ext_name("aarch64"): data})
    assert codes(check.check_wheel(both)) == ["glibc-version"]


def test_glibcxx_too_new_for_manylinux2014(build_dir: Path, tmp_path: Path) -> None:
    require(shutil.which("g++"), "g++ is needed (apt-get install g++)")
    data = compile_so("g++", build_dir / "cxx.so", "cxx.cpp")
    assert "GLIBCXX_3.4.21" in glibc_versions(data)
    old = make_wheel(tmp_path / "old", f"{CP311}-manylinux_2_17_x86_64", {ext_name("x86_64"): data})
    problems = check.check_wheel(old)
    assert "libstdcxx-version" in codes(problems)
    assert any("GLIBCXX_3.4.21" in p.message for p in problems)
    new = make_wheel(tmp_path / "new", f"{CP311}-manylinux_2_36_x86_64", {ext_name("x86_64"): data})
    assert check.check_wheel(new) == []


def test_policy_from_auditwheel() -> None:
    require(policy.auditwheel_policies(),
            "auditwheel is needed to read its policy data (pip install -e '.[repair]')")
    # auditwheel knows manylinux2014 aarch64 systems have GLIBC_2.18 symbols
    assert policy.allowed_versions("aarch64", (2, 17))["GLIBC"][0] == "2.18"
    assert policy.allowed_versions("x86_64", (2, 17))["GLIBC"][0] == "2.17"
    assert policy.allowed_versions("x86_64", (2, 30))["GLIBC"][0] == "2.30"  # between policies
    assert policy.allowed_versions("x86_64", (2, 28))["GLIBCXX"][0] == "3.4.24"


def test_builtin_table_without_auditwheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy, "auditwheel_policies", lambda: [])
    limits = policy.allowed_versions("aarch64", (2, 17))
    assert limits["GLIBC"][0] == "2.17" and limits["GLIBCXX"][0] == "3.4.19"


def test_libpython_in_manylinux_wheel(build_dir: Path, tmp_path: Path) -> None:
    cc = compiler("aarch64")
    libdir = build_dir / "libpython"
    compile_so(cc, libdir / "libpython3.11.so", "nolibc.c", "-nostdlib",
               "-Wl,-soname,libpython3.11.so.1.0")
    bad = compile_so(cc, libdir / "linked.so", "ext.c", "-Wl,--no-as-needed",
                     f"-L{libdir}", "-lpython3.11")
    needed = ELFFile(io.BytesIO(bad)).get_section_by_name(".dynamic")
    assert "libpython3.11.so.1.0" in [t.needed for t in needed.iter_tags("DT_NEEDED")]
    many = make_wheel(tmp_path / "m", f"{CP311}-manylinux_2_17_aarch64", {ext_name("aarch64"): bad})
    problems = check.check_wheel(many)
    assert codes(problems) == ["libpython"]
    assert "libpython3.11.so.1.0" in problems[0].message
    # a plain linux_ wheel may link libpython (Debian's own builds do); no policy to break
    plain = make_wheel(tmp_path / "l", f"{CP311}-linux_aarch64", {ext_name("aarch64"): bad})
    assert check.check_wheel(plain) == []


def test_glibc_object_in_musllinux_wheel(build_dir: Path, tmp_path: Path) -> None:
    member = "demo/_demo.cpython-311-aarch64-linux-musl.so"
    wheel = make_wheel(tmp_path, f"{CP311}-musllinux_1_2_aarch64",
                       {member: build(build_dir, "aarch64")})
    problems = check.check_wheel(wheel)
    assert codes(problems) == ["libc-mismatch"]
    assert "glibc" in problems[0].message


# ---------------------------------------------------------------- RECORD and WHEEL


def _good(build_dir: Path) -> dict[str, bytes]:
    return {ext_name("aarch64"): build(build_dir, "aarch64"), "demo/__init__.py": b"x = 1\n"}


def test_record_wrong_hash(build_dir: Path, tmp_path: Path) -> None:
    files = _good(build_dir)
    dist = "demo-1.0.dist-info"
    lines = [f"{n},{record_hash(d)},{len(d)}" for n, d in files.items()]
    lines[1] = f"demo/__init__.py,{record_hash(b'x = 2')},{len(files['demo/__init__.py'])}"
    lines += [f"{dist}/METADATA,{record_hash(b'')},0", f"{dist}/WHEEL,,", f"{dist}/RECORD,,"]
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", files,
                       record="\n".join(lines) + "\n")
    problems = check.check_wheel(wheel)
    by_member = {(p.member, p.code) for p in problems}
    assert ("demo/__init__.py", "record-hash") in by_member
    assert (f"{dist}/METADATA", "record-hash") in by_member  # hash of b"", not of METADATA
    assert (f"{dist}/METADATA", "record-size") in by_member
    assert (f"{dist}/WHEEL", "record-hash") in by_member  # no hash at all
    assert not any(p.member == ext_name("aarch64") for p in problems)


def test_record_unlisted_missing_and_self(build_dir: Path, tmp_path: Path) -> None:
    files = _good(build_dir)
    dist = "demo-1.0.dist-info"
    lines = [f"{n},{record_hash(d)},{len(d)}" for n, d in files.items()]
    lines.append(f"demo/gone.py,{record_hash(b'')},0")  # listed, absent; RECORD not listed
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", files,
                       record="\n".join(lines) + "\n", unlisted={"demo/extra.py": b""})
    found = {(p.member, p.code) for p in check.check_wheel(wheel)}
    assert found == {
        ("demo/gone.py", "record-missing-file"),
        (f"{dist}/RECORD", "record-unlisted"),
        ("demo/extra.py", "record-unlisted"),
        (f"{dist}/METADATA", "record-unlisted"),
        (f"{dist}/WHEEL", "record-unlisted"),
    }


def test_wheel_tag_lines_disagree(build_dir: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", _good(build_dir),
                       wheel_tags=[f"{CP311}-linux_aarch64"])
    problems = check.check_wheel(wheel)
    assert codes(problems) == ["wheel-tag"]
    assert "linux_aarch64" in problems[0].message


# ---------------------------------------------------------------- --target and --env


@pytest.mark.parametrize(("target", "ok"), [
    ("manylinux_2_17_aarch64", True), ("manylinux2014_aarch64", True),
    ("manylinux_2_12_aarch64", False), ("linux_aarch64", True), ("aarch64", True),
    ("manylinux_2_17_x86_64", False), ("musllinux_1_2_aarch64", False), ("s390x", False),
])
def test_target(build_dir: Path, tmp_path: Path, target: str, ok: bool) -> None:
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", _good(build_dir))
    assert codes(check.check_wheel(wheel, target=target)) == ([] if ok else ["target"])


def write_env(path: Path, host: dict[str, object]) -> Path:
    path.mkdir()
    (path / "crossenv.json").write_text(json.dumps({"host": host}))
    return path


AARCH64_311 = {
    "platform_tags": ["manylinux_2_36_aarch64", "manylinux_2_17_aarch64", "linux_aarch64"],
    "machine": "aarch64", "ext_suffix": ".cpython-311-aarch64-linux-gnu.so",
    "soabi": "cpython-311-aarch64-linux-gnu",
}


def test_env_matching_host(build_dir: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", _good(build_dir))
    assert check.check_wheel(wheel, env=write_env(tmp_path / "env", AARCH64_311)) == []
    # missing keys are tolerated: whatever is known is checked
    assert check.check_wheel(wheel, env=write_env(tmp_path / "e2", {"machine": "aarch64"})) == []
    assert check.check_wheel(wheel, env=write_env(tmp_path / "e3", {})) == []


@pytest.mark.integration
def test_env_from_a_real_crossenv(build_dir: Path, tmp_path: Path, aarch64_env: Path) -> None:
    """The keys check reads are the ones `crossenv` really writes to crossenv.json."""
    good = make_wheel(tmp_path / "g", f"{CP311}-manylinux_2_17_aarch64", _good(build_dir))
    assert check.check_wheel(good, env=aarch64_env) == []
    x86 = make_wheel(tmp_path / "x", f"{CP311}-manylinux_2_17_x86_64",
                     {ext_name("x86_64"): build(build_dir, "x86_64")})
    assert codes(check.check_wheel(x86, env=aarch64_env)) == ["target", "target-ext-suffix"]


def test_env_other_python_and_arch(build_dir: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", _good(build_dir))
    py312 = dict(AARCH64_311, soabi="cpython-312-aarch64-linux-gnu",
                 ext_suffix=".cpython-312-aarch64-linux-gnu.so")
    assert codes(check.check_wheel(wheel, env=write_env(tmp_path / "py", py312))) == [
        "target", "target-ext-suffix"]
    s390x = write_env(tmp_path / "s", {"machine": "s390x"})
    assert codes(check.check_wheel(wheel, env=s390x)) == ["target"]


# ---------------------------------------------------------------- command line


def test_cli_report_and_exit_status(build_dir: Path, tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "g", f"{CP311}-manylinux_2_17_aarch64", _good(build_dir))
    bad = make_wheel(tmp_path / "b", f"{CP311}-manylinux_2_17_aarch64",
                     {ext_name("aarch64"): build(build_dir, "x86_64")})
    status, out, err = run_cli(str(good), str(bad))
    assert status == 1 and not err
    assert f"{good}: OK" in out and f"{bad}: 1 problem" in out
    assert f"{ext_name('aarch64')}: [elf-machine]" in out
    status, out, _ = run_cli("--json", str(good), str(bad))
    report = json.loads(out)
    assert status == 1
    assert [w["ok"] for w in report["wheels"]] == [True, False]
    assert report["wheels"][1]["problems"][0]["code"] == "elf-machine"


def test_cli_bad_input(tmp_path: Path) -> None:
    missing = tmp_path / "demo-1.0-py3-none-any.whl"
    status, out, err = run_cli(str(missing))
    assert (status, out) == (2, "") and err.count("\n") == 1 and "no such file" in err
    notzip = tmp_path / "demo-1.0-cp311-cp311-linux_aarch64.whl"
    notzip.write_text("not a zip")
    status, _, err = run_cli(str(notzip))
    assert status == 2 and "not a zip" in err and err.count("\n") == 1
    badname = tmp_path / "demo.zip"
    badname.write_text("")
    assert run_cli(str(badname))[0] == 2
    with pytest.raises(WheelError) as info:
        check.check_wheel(notzip)
    assert isinstance(info.value, CrossenvError)
    with pytest.raises(WheelError):
        check.check_wheel(notzip, target="sparc_banana")


# ---------------------------------------------------------------- search paths (RPATH/RUNPATH)


def search_paths(data: bytes) -> dict[str, str]:
    """DT_RPATH / DT_RUNPATH as pyelftools reads them (the test's premise)."""
    dynamic = ELFFile(io.BytesIO(data)).get_section_by_name(".dynamic")
    return {t.entry.d_tag: getattr(t, t.entry.d_tag[3:].lower()) for t in dynamic.iter_tags()
            if t.entry.d_tag in ("DT_RPATH", "DT_RUNPATH")}


@pytest.mark.parametrize(("flags", "kind", "entry"), [
    (["-Wl,-rpath,/usr/lib/x86_64-linux-gnu"], "RUNPATH", "/usr/lib/x86_64-linux-gnu"),
    (["-Wl,--disable-new-dtags", "-Wl,-rpath,/usr/lib/x86_64-linux-gnu"], "RPATH",
     "/usr/lib/x86_64-linux-gnu"),
    (["-Wl,-rpath,/opt/sysroot/usr/lib/aarch64-linux-gnu:$ORIGIN/../demo.libs"], "RUNPATH",
     "/opt/sysroot/usr/lib/aarch64-linux-gnu"),
    (["-Wl,-rpath,lib"], "RUNPATH", "lib"),
])
def test_build_machine_search_path_is_a_problem(build_dir: Path, tmp_path: Path,
                                                flags: list[str], kind: str, entry: str) -> None:
    data = build(build_dir, "aarch64", "ext.c", *flags)
    assert entry in search_paths(data)[f"DT_{kind}"].split(":")
    wheel = make_wheel(tmp_path, f"{CP311}-linux_aarch64", {ext_name("aarch64"): data})
    problems = check.check_wheel(wheel)
    assert codes(problems) == ["elf-rpath"]
    assert problems[0].member == ext_name("aarch64")
    assert f"{kind} entry {entry!r}" in problems[0].message
    assert ("absolute" if entry.startswith("/") else "current directory") in problems[0].message


def test_origin_relative_search_path_is_fine(build_dir: Path, tmp_path: Path) -> None:
    data = build(build_dir, "aarch64", "ext.c", "-Wl,-rpath,$ORIGIN/../demo.libs:${ORIGIN}")
    assert search_paths(data)["DT_RUNPATH"] == "$ORIGIN/../demo.libs:${ORIGIN}"
    wheel = make_wheel(tmp_path, f"{CP311}-manylinux_2_17_aarch64", {ext_name("aarch64"): data})
    assert check.check_wheel(wheel) == []


@pytest.mark.integration
@pytest.mark.parametrize(("entry", "tag", "flagged"), [
    # a library directory of the host (meson keeps a .pc file's -L directory, as natively)
    ("/usr/lib/aarch64-linux-gnu/gconv", "linux_aarch64", False),
    # a manylinux tag promises hosts whose directories are unknown
    ("/usr/lib/aarch64-linux-gnu/gconv", "manylinux_2_17_aarch64", True),
    ("/usr/lib/aarch64-linux-gnu/../../../tmp", "linux_aarch64", True),  # not normal
    ("/usr/lib/x86_64-linux-gnu", "linux_aarch64", True),  # the build machine's, not the host's
    ("/opt/vendor/lib", "linux_aarch64", True),  # nowhere on the host
])
def test_host_library_directory_in_a_host_wheel(build_dir: Path, tmp_path: Path,
                                                aarch64_env: Path, entry: str, tag: str,
                                                flagged: bool) -> None:
    """Checked against an env, an absolute entry naming a directory of the host's sysroot
    is what a native build on the host carries too: fine in a plain linux_* wheel."""
    data = build(build_dir, "aarch64", "ext.c", f"-Wl,-rpath,{entry}")
    wheel = make_wheel(tmp_path, f"{CP311}-{tag}", {ext_name("aarch64"): data})
    problems = check.check_wheel(wheel, env=aarch64_env)
    assert codes(problems) == (["elf-rpath"] if flagged else []), problems
    # without the host's files nothing is known of its directories
    assert codes(check.check_wheel(wheel)) == ["elf-rpath"]


# ---------------------------------------------------------------- archive layout


def zip_with(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    """A wheel whose RECORD lists every entry correctly, so only the layout is wrong."""
    dist = "demo-1.0.dist-info"
    entries = [*entries, (f"{dist}/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                          b"Tag: py3-none-any\n")]
    names = [e.filename if isinstance(e, zipfile.ZipInfo) else e for e, _ in entries]
    record = "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, (_, d) in zip(names, entries))
    entries.append((f"{dist}/RECORD", (record + f"{dist}/RECORD,,\n").encode()))
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate on purpose
        for entry, data in entries:
            zf.writestr(entry, data)
    return path


def symlink_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(("entry", "code"), [
    ("../evil.py", "zip-path"),
    ("demo/../../evil.py", "zip-path"),
    ("/etc/profile.d/evil.sh", "zip-path"),
    ("demo\\..\\evil.py", "zip-path"),
    (symlink_entry("demo/link"), "zip-symlink"),
])
def test_unsafe_members_are_problems(tmp_path: Path, entry: zipfile.ZipInfo | str,
                                     code: str) -> None:
    wheel = zip_with(tmp_path / "demo-1.0-py3-none-any.whl",
                     [("demo/__init__.py", b""), (entry, b"/etc/passwd")])
    problems = check.check_wheel(wheel)
    name = entry.filename if isinstance(entry, zipfile.ZipInfo) else entry
    assert [(p.member, p.code) for p in problems] == [(name, code)]
    status, out, _ = run_cli(str(wheel))
    assert status == 1 and f"[{code}]" in out


def test_duplicate_member_is_a_problem(tmp_path: Path) -> None:
    wheel = zip_with(tmp_path / "demo-1.0-py3-none-any.whl",
                     [("demo/__init__.py", b"a = 1\n"), ("demo/__init__.py", b"a = 1\n")])
    with zipfile.ZipFile(wheel) as zf:
        assert zf.namelist().count("demo/__init__.py") == 2  # the premise
    assert [(p.member, p.code) for p in check.check_wheel(wheel)] == [
        ("demo/__init__.py", "zip-duplicate")]


def test_clean_layout_has_no_layout_problem(tmp_path: Path) -> None:
    wheel = zip_with(tmp_path / "demo-1.0-py3-none-any.whl", [("demo/__init__.py", b"")])
    assert check.check_wheel(wheel) == []


def test_report_escapes_control_characters(tmp_path: Path) -> None:
    wheel = zip_with(tmp_path / "demo-1.0-py3-none-any.whl",
                     [("demo/__init__.py", b""), ("/\x1b[2Jevil", b"")])
    status, out, _ = run_cli(str(wheel))
    assert status == 1 and "\x1b" not in out and "\\x1b[2Jevil" in out


# ---------------------------------------------------------------- damaged archives and ELF


def test_encrypted_and_corrupt_wheels_are_bad_input(tmp_path: Path) -> None:
    encrypted = make_wheel(tmp_path / "e", "py3-none-any", {"demo/__init__.py": b""})
    flip_flag(encrypted, 0x1)
    with pytest.raises(WheelError, match="encrypted"):
        check.check_wheel(encrypted)
    corrupt = make_wheel(tmp_path / "c", "py3-none-any", {"demo/__init__.py": b"x = 1\n" * 50})
    data = bytearray(corrupt.read_bytes())
    at = data.index(b"demo/__init__.py") + len("demo/__init__.py") + 4
    data[at:at + 6] = b"\xff" * 6  # inside the deflated data of the first member
    corrupt.write_bytes(bytes(data))
    with pytest.raises(WheelError, match="corrupt"):
        check.check_wheel(corrupt)
    for wheel in (encrypted, corrupt):
        status, out, err = run_cli(str(wheel))
        assert out == ""
        error_line(status, err)


def test_mangled_elf_is_a_named_problem(build_dir: Path, tmp_path: Path) -> None:
    data = bytearray(build(build_dir, "aarch64"))
    elf = ELFFile(io.BytesIO(bytes(data)))
    shoff = elf["e_shoff"]
    data[shoff + 64:] = b"\xff" * (len(data) - shoff - 64)  # every header after the first
    wheel = make_wheel(tmp_path, f"{CP311}-linux_aarch64", {ext_name("aarch64"): bytes(data)})
    assert codes(check.check_wheel(wheel)) == ["elf-unreadable"]


@functools.cache
def mutation_base() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return compile_so(compiler("aarch64"), Path(tmp) / "lib.so", "new_glibc.c",
                          "-Wl,-rpath,/usr/lib/aarch64-linux-gnu")


def test_mutation_base_reads_fully() -> None:
    info = elfinfo.read_elf(io.BytesIO(mutation_base()), len(mutation_base()))
    assert info.runpath == ["/usr/lib/aarch64-linux-gnu"] and "2.34" in info.versions["GLIBC"]


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                max_size=12))
def test_read_elf_never_crashes_on_mutated_files(mutations: list[tuple[int, int]]) -> None:
    """Any bytes after the ELF magic: an ElfInfo or ElfUnreadable, never another exception."""
    data = bytearray(mutation_base())
    for at, value in mutations:
        data[4 + at % (len(data) - 4)] = value
    with contextlib.suppress(elfinfo.ElfUnreadable):
        elfinfo.read_elf(io.BytesIO(bytes(data)), len(data))


def test_large_members_are_streamed(build_dir: Path, tmp_path: Path) -> None:
    """A 2 GiB member is hashed in chunks, a 40 MiB ELF parsed from a spool file: the
    checker's memory stays far below either size."""
    ext = build(build_dir, "aarch64") + b"\0" * (40 << 20)  # still a valid ELF file
    wheel = tmp_path / "demo-1.0-cp311-cp311-linux_aarch64.whl"
    dist = "demo-1.0.dist-info"
    big, chunk = 2 << 30, b"\0" * (16 << 20)
    digest = hashlib.sha256()
    for _ in range(big // len(chunk)):
        digest.update(chunk)
    big_hash = "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    wheel_text = b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_aarch64\n"
    # opened by name, the member takes the archive's method and level: ~2 MiB on disk
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("demo/data.bin", "w", force_zip64=True) as out:
            for _ in range(big // len(chunk)):
                out.write(chunk)
        zf.writestr(ext_name("aarch64"), ext)
        zf.writestr(f"{dist}/WHEEL", wheel_text)
        zf.writestr(f"{dist}/RECORD", f"demo/data.bin,{big_hash},{big}\n"
                    f"{ext_name('aarch64')},{record_hash(ext)},{len(ext)}\n"
                    f"{dist}/WHEEL,{record_hash(wheel_text)},{len(wheel_text)}\n"
                    f"{dist}/RECORD,,\n")
    assert wheel.stat().st_size < 64 << 20  # compressed, not 2 GiB written to disk
    # The peak RSS of the checker's own address space (VmHWM). Not ru_maxrss: Linux carries
    # it over exec from the forked pytest worker, whose size depends on the tests it ran.
    code = ("import sys; from crossenv.cli import main; status = main(sys.argv[1:]); "
            "print([line.split()[1] for line in open('/proc/self/status') "
            "if line.startswith('VmHWM:')][0]); sys.exit(status)")
    env = {k: v for k, v in os.environ.items() if k not in ("CROSSENV_ENV", "PYTHON_CROSSENV")}
    proc = subprocess.run([sys.executable, "-c", code, "check", str(wheel)], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{wheel}: OK" in proc.stdout
    max_rss_kib = int(proc.stdout.split()[-1])
    assert max_rss_kib < 200 * 1024, f"check used {max_rss_kib} KiB"


# ---------------------------------------------------------------- the active crossenv


@pytest.fixture
def x86_wheel(build_dir: Path, tmp_path: Path) -> Path:
    """An x86_64 build honestly tagged x86_64: clean by its tags, wrong for an aarch64 host."""
    return make_wheel(tmp_path / "x86", f"{CP311}-manylinux_2_17_x86_64",
                      {ext_name("x86_64"): build(build_dir, "x86_64")})


def test_active_env_is_the_default(x86_wheel: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    env = write_env(tmp_path / "env", AARCH64_311)
    assert run_cli(str(x86_wheel))[0] == 0  # no crossenv active: the tags alone pass it
    monkeypatch.setenv("CROSSENV_ENV", str(env))
    status, out, err = run_cli(str(x86_wheel))
    assert status == 1 and "[target]" in out and "[target-ext-suffix]" in out
    assert f"against the host of {env} (CROSSENV_ENV is set" in err
    assert run_cli("--no-env", str(x86_wheel))[0] == 0
    assert run_cli("--platform", "x86_64", str(x86_wheel))[0] == 0  # --platform replaces it
    assert run_cli("--target", "x86_64", str(x86_wheel))[0] == 0  # the older spelling
    status, out, _ = run_cli("--json", str(x86_wheel))
    assert status == 1 and json.loads(out)["env"] == str(env)


def test_crossenv_1x_variable(x86_wheel: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    env = write_env(tmp_path / "env", AARCH64_311)
    (env / "cross").mkdir()
    monkeypatch.setenv("PYTHON_CROSSENV", "1")
    monkeypatch.setenv("VIRTUAL_ENV", str(env / "cross"))
    status, _, err = run_cli(str(x86_wheel))
    assert status == 1 and "PYTHON_CROSSENV is set" in err
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "elsewhere"))
    with pytest.raises(CrossenvError, match="PYTHON_CROSSENV is set"):
        run_cli(str(x86_wheel))  # a crossenv is active but unknown: no silent pass


@pytest.mark.integration
def test_active_env_of_a_real_crossenv(x86_wheel: Path, aarch64_env: Path) -> None:
    """Under cross-python (sys.crossenv) and after ENV/bin/activate (CROSSENV_ENV)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CROSSENV_ENV", "PYTHON_CROSSENV", "VIRTUAL_ENV")}
    paths = [str(Path(check.__file__).parents[1]), *sysconfig.get_paths()["purelib"].split()]
    cross = subprocess.run(
        [str(aarch64_env / "bin" / "cross-python"), "-m", "crossenv", "check", str(x86_wheel)],
        env=dict(env, PYTHONPATH=os.pathsep.join(paths)), capture_output=True, text=True)
    assert cross.returncode == 1, cross.stdout + cross.stderr
    assert "running under its cross-python" in cross.stderr and "[target]" in cross.stdout
    activated = subprocess.run(
        ["bash", "-c", f'. "{aarch64_env}/bin/activate" && "$0" -m crossenv check "$1"',
         sys.executable, str(x86_wheel)], env=env, capture_output=True, text=True)
    assert activated.returncode == 1, activated.stdout + activated.stderr
    assert "CROSSENV_ENV is set" in activated.stderr


def test_string_table_without_end_is_bounded() -> None:
    """A version-need entry that names itself as the next one, 100 000 times over, with
    names in a 4 MiB string table without NUL: unreadable at once, not 400 GB of reading."""
    data = bytearray(mutation_base())
    elf = ELFFile(io.BytesIO(bytes(data)))
    assert elf.elfclass == 64 and elf.little_endian  # the header offsets below assume it
    index = {elf.get_section(i).name: i for i in range(elf.num_sections())}
    header = lambda name: elf["e_shoff"] + index[name] * elf["e_shentsize"]  # noqa: E731
    verneed = elf.get_section_by_name(".gnu.version_r")
    strings, size = len(data), 4 << 20
    data += b"A" * size
    struct.pack_into("<QQ", data, header(".dynstr") + 24, strings, size)
    struct.pack_into("<Q", data, header(".gnu.version_r") + 32, len(data) - verneed["sh_offset"])
    struct.pack_into("<I", data, header(".gnu.version_r") + 44, 100_000)
    struct.pack_into("<I", data, verneed["sh_offset"] + 12, 0)  # vn_next: itself
    started = time.monotonic()
    with pytest.raises(elfinfo.ElfUnreadable, match="times its size"):
        elfinfo.read_elf(io.BytesIO(bytes(data)), len(data))
    assert time.monotonic() - started < 20


@given(st.binary(max_size=512))
def test_parse_record_only_raises_record_error(data: bytes) -> None:
    with contextlib.suppress(wheelfile.RecordError):
        rows = wheelfile.parse_record(data)
        assert all(isinstance(k, str) and len(v) == 2 for k, v in rows.items())


@given(st.text(alphabet=st.sampled_from("ab./\\:C\0"), max_size=12))
def test_names_called_safe_stay_inside(name: str) -> None:
    """What unsafe_path accepts, joined to an install directory, stays below it."""
    if wheelfile.unsafe_path(name):
        return
    joined = posixpath.normpath(posixpath.join("/site", name))
    assert joined == "/site" or joined.startswith("/site/"), name
