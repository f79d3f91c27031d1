"""``crossenv check`` against wheels built with real compilers.

Every check is shown both ways: it fires on a wheel that really has the mistake, and
stays quiet on a real wheel without it. The ELF facts the tests rely on (class,
machine, GLIBC_2.34) are confirmed with pyelftools, so a compiler that does something
unexpected fails the test instead of making it pass vacuously.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from checkdata import MULTIARCH, compile_so, compiler, make_wheel, record_hash
from crossenv import check, policy
from crossenv.errors import CrossenvError, WheelError

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
])
def test_extension_suffix(build_dir: Path, tmp_path: Path, tag: str, member: str,
                          expected: list[str]) -> None:
    wheel = make_wheel(tmp_path, tag, {member: build(build_dir, "aarch64")})
    problems = check.check_wheel(wheel)
    assert codes(problems) == expected
    if "x86_64-linux-gnu" in member:
        assert "(the suffix of x86_64)" in problems[0].message


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
    if shutil.which("g++") is None:
        pytest.skip("g++ not found: apt-get install g++")
    data = compile_so("g++", build_dir / "cxx.so", "cxx.cpp")
    assert "GLIBCXX_3.4.21" in glibc_versions(data)
    old = make_wheel(tmp_path / "old", f"{CP311}-manylinux_2_17_x86_64", {ext_name("x86_64"): data})
    problems = check.check_wheel(old)
    assert "libstdcxx-version" in codes(problems)
    assert any("GLIBCXX_3.4.21" in p.message for p in problems)
    new = make_wheel(tmp_path / "new", f"{CP311}-manylinux_2_36_x86_64", {ext_name("x86_64"): data})
    assert check.check_wheel(new) == []


def test_policy_from_auditwheel() -> None:
    if not policy.auditwheel_policies():
        pytest.skip("auditwheel is not installed: its policy data cannot be read")
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
