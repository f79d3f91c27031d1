"""``crossenv repair`` on a real aarch64 wheel, with libraries from a real arm64 sysroot.

The wheel links libyaml (not on any manylinux whitelist), so auditwheel has to find
it, in the sysroot, and graft it. The build machine is x86_64: a repair that looked in
the build machine's library directories would find nothing, or an x86_64 library.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from packaging.utils import parse_wheel_filename

from checkdata import compile_so, compiler, make_wheel, record_hash, require
from crossenv import check, provision, repair
from helpers import error_line


@pytest.fixture(autouse=True)
def _auditwheel() -> None:
    require(importlib.util.find_spec("auditwheel"),
            "repair needs auditwheel: pip install 'crossenv[repair]'")


EXT = "demo/_demo.cpython-311-aarch64-linux-gnu.so"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    repair.register(parser.add_subparsers())
    args = parser.parse_args(["repair", *argv])
    status = args.func(args)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def sysroot(arm64_sysroot: provision.Sysroot) -> Path:
    """The shared arm64 sysroot (crossenv.provision, via apt's configured sources)."""
    return Path(arm64_sysroot.root)


def linux_wheel(sysroot: Path, tmp_path: Path, source: str = "uses_yaml.c") -> Path:
    # the library file itself, not -L: -L would also pick up the sysroot's libc.so script
    libyaml = sysroot / "usr/lib/aarch64-linux-gnu/libyaml-0.so.2"
    flags = [str(libyaml)] if source == "uses_yaml.c" else []
    data = compile_so(compiler("aarch64"), tmp_path / "build" / "ext.so", source, *flags)
    return make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64", {EXT: data})


def show_tag(wheel: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(wheel)],
                          capture_output=True, text=True, check=True)
    match = re.search(r'consistent with the following\s+platform tag:\s+"([^"]+)"', proc.stdout)
    assert match, proc.stdout + proc.stderr
    return match.group(1)


@pytest.mark.slow
def test_repair_grafts_aarch64_library_from_sysroot(
        sysroot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheel = linux_wheel(sysroot, tmp_path)
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(sysroot),
                               "-w", str(tmp_path / "out"))
    assert status == 0, err
    (repaired,) = (tmp_path / "out").glob("*.whl")
    assert f"-> {repaired}" in out
    platforms = {t.platform for t in parse_wheel_filename(repaired.name)[3]}
    assert show_tag(repaired) in platforms
    assert all(p.startswith(("manylinux", "musllinux")) for p in platforms)
    with zipfile.ZipFile(repaired) as zf:
        grafted = [n for n in zf.namelist() if "libyaml" in n]
        assert len(grafted) == 1 and grafted[0].startswith("demo.libs/"), zf.namelist()
        lib = ELFFile(io.BytesIO(zf.read(grafted[0])))
        assert (lib["e_machine"], lib.elfclass, lib.little_endian) == ("EM_AARCH64", 64, True)
        ext = ELFFile(io.BytesIO(zf.read(EXT)))
        needed = [t.needed for t in ext.get_section_by_name(".dynamic").iter_tags("DT_NEEDED")]
        assert grafted[0].rsplit("/", 1)[1] in needed
    assert check.check_wheel(repaired) == []


@pytest.mark.integration
@pytest.mark.slow
def test_repair_to_requested_foreign_tag_via_env(
        sysroot: Path, aarch64_env: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """--plat names an aarch64 tag (auditwheel's own CLI only accepts x86_64 ones here);
    the sysroot comes from a real environment's crossenv.json."""
    env = aarch64_env
    wheel = linux_wheel(sysroot, tmp_path)
    status, _, err = run_cli(capsys, str(wheel), "--env", str(env), "--plat",
                             "manylinux_2_28_aarch64", "-w", str(tmp_path / "out"))
    assert status == 0, err
    (repaired,) = (tmp_path / "out").glob("*.whl")
    assert "manylinux_2_28_aarch64" in repaired.name


@pytest.mark.slow
def test_repair_refuses_too_new_glibc(
        sysroot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheel = linux_wheel(sysroot, tmp_path, "new_glibc.c")
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(sysroot), "--plat",
                               "manylinux_2_17_aarch64", "-w", str(tmp_path / "out"))
    assert (status, out) == (2, "")
    assert "too-recent versioned symbols" in err and err.count("\n") == 1


def test_library_not_in_sysroot_is_not_taken_from_build_machine(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty-sysroot"
    (empty / "usr/lib/aarch64-linux-gnu").mkdir(parents=True)
    libdir = tmp_path / "libs"
    cc = compiler("aarch64")
    compile_so(cc, libdir / "libyaml.so", "fake_yaml.c", "-nostdlib", "-Wl,-soname,libyaml-0.so.2")
    data = compile_so(cc, tmp_path / "ext.so", "uses_yaml.c", f"-L{libdir}", "-lyaml")
    dynamic = ELFFile(io.BytesIO(data)).get_section_by_name(".dynamic")
    assert "libyaml-0.so.2" in [t.needed for t in dynamic.iter_tags("DT_NEEDED")]
    wheel = make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64", {EXT: data})
    status, _, err = run_cli(capsys, str(wheel), "--sysroot", str(empty),
                             "-w", str(tmp_path / "out"))
    assert status == 2 and "libyaml-0.so.2" in err and err.count("\n") == 1
    assert not list((tmp_path / "out").glob("*.whl"))


def test_missing_auditwheel_is_one_line(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(repair, "_auditwheel_version", lambda: None)
    wheel = make_wheel(tmp_path, "cp311-cp311-linux_aarch64", {})
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(tmp_path))
    assert (status, out) == (2, "")
    assert err == "crossenv: error: auditwheel is not installed: pip install 'crossenv[repair]'\n"


def test_library_dirs_stay_inside_the_sysroot(tmp_path: Path) -> None:
    for d in ("lib/aarch64-linux-gnu", "usr/lib", "opt/vendor/lib", "etc/ld.so.conf.d"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "etc/ld.so.conf.d/vendor.conf").write_text("# vendor\n/opt/vendor/lib\n/nope\n")
    root = str(tmp_path)
    assert repair.library_dirs(tmp_path, "aarch64-linux-gnu") == [
        f"{root}/lib/aarch64-linux-gnu", f"{root}/opt/vendor/lib", f"{root}/lib",
        f"{root}/usr/lib"]


def search_paths(data: bytes) -> dict[str, list[str]]:
    dynamic = ELFFile(io.BytesIO(data)).get_section_by_name(".dynamic")
    return {t.entry.d_tag[3:]: getattr(t, t.entry.d_tag[3:].lower()).split(":")
            for t in dynamic.iter_tags() if t.entry.d_tag in ("DT_RPATH", "DT_RUNPATH")}


def repaired_member(wheel: Path, member: str = EXT) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(member)


@pytest.mark.slow
def test_repair_removes_a_build_machine_runpath(
        sysroot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing to graft, so auditwheel leaves the search path alone: crossenv removes it."""
    data = compile_so(compiler("aarch64"), tmp_path / "ext.so", "ext.c",
                      "-Wl,-rpath,/usr/lib/x86_64-linux-gnu")
    assert search_paths(data) == {"RUNPATH": ["/usr/lib/x86_64-linux-gnu"]}
    wheel = make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64", {EXT: data})
    assert [p.code for p in check.check_wheel(wheel)] == ["elf-rpath"]
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(sysroot),
                               "-w", str(tmp_path / "out"))
    assert status == 0, out + err
    (repaired,) = (tmp_path / "out").glob("*.whl")
    assert search_paths(repaired_member(repaired)) == {}
    assert check.check_wheel(repaired) == []
    assert [p.code for p in check.check_wheel(wheel)] == ["elf-rpath"]  # input untouched


@pytest.mark.slow
def test_repair_replaces_a_sysroot_rpath_keeping_origin(
        sysroot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    libdir = sysroot / "usr/lib/aarch64-linux-gnu"
    data = compile_so(compiler("aarch64"), tmp_path / "ext.so", "uses_yaml.c",
                      str(libdir / "libyaml-0.so.2"), "-Wl,--disable-new-dtags",
                      f"-Wl,-rpath,{libdir}:$ORIGIN/../plugins")
    assert search_paths(data) == {"RPATH": [str(libdir), "$ORIGIN/../plugins"]}
    wheel = make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64", {EXT: data})
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(sysroot),
                               "-w", str(tmp_path / "out"))
    assert status == 0, out + err
    (repaired,) = (tmp_path / "out").glob("*.whl")
    (kind, entries), = search_paths(repaired_member(repaired)).items()
    assert entries == ["$ORIGIN/../plugins", "$ORIGIN/../demo.libs"], (kind, entries)
    assert check.check_wheel(repaired) == []


@pytest.mark.slow
def test_rpath_into_an_unusual_sysroot_dir_is_searched(
        sysroot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sysroot directory named only by the RPATH (not by ld.so.conf) is still where
    the library comes from, although the entry itself is removed."""
    private = tmp_path / "sysroot"
    vendor = private / "opt/vendor/lib"
    vendor.mkdir(parents=True)
    (private / "usr/lib/aarch64-linux-gnu").mkdir(parents=True)
    shutil.copy(sysroot / "usr/lib/aarch64-linux-gnu/libyaml-0.so.2", vendor)
    data = compile_so(compiler("aarch64"), tmp_path / "ext.so", "uses_yaml.c",
                      str(vendor / "libyaml-0.so.2"), f"-Wl,-rpath,{vendor}")
    wheel = make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64", {EXT: data})
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(private),
                               "-w", str(tmp_path / "out"))
    assert status == 0, out + err
    (repaired,) = (tmp_path / "out").glob("*.whl")
    with zipfile.ZipFile(repaired) as zf:
        assert any(n.startswith("demo.libs/libyaml") for n in zf.namelist())
    assert search_paths(repaired_member(repaired)) == {"RPATH": ["$ORIGIN/../demo.libs"]}
    assert check.check_wheel(repaired) == []


def test_repair_refuses_a_wheel_whose_record_is_wrong(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """auditwheel writes a fresh RECORD: a tampered input would come out looking clean."""
    dist = "demo-1.0.dist-info"
    record = (f"demo/__init__.py,{record_hash(b'original')},8\n{dist}/METADATA,,\n"
              f"{dist}/WHEEL,,\n{dist}/RECORD,,\n")
    wheel = make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64",
                       {"demo/__init__.py": b"tampered"}, record=record)
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(tmp_path),
                               "-w", str(tmp_path / "out"))
    assert (status, out) == (2, "") and err.count("\n") == 1, err
    assert "demo/__init__.py: [record-hash]" in err and "more" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("member", ["../evil.py", "/etc/evil.py"])
def test_repair_refuses_unsafe_members(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], member: str) -> None:
    wheel = make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64", {member: b""})
    status, _, err = run_cli(capsys, str(wheel), "--sysroot", str(tmp_path),
                             "-w", str(tmp_path / "out"))
    assert status == 2 and "[zip-path]" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_repair_of_a_corrupt_wheel_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheel = tmp_path / "demo-1.0-cp311-cp311-linux_aarch64.whl"
    wheel.write_bytes(b"PK\x03\x04 not really")
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(tmp_path))
    assert out == ""
    error_line(status, err, "not a zip archive")


def test_library_dirs_ignore_entries_leading_out_of_the_sysroot(tmp_path: Path) -> None:
    root = tmp_path / "sysroot"
    for d in ("usr/lib/aarch64-linux-gnu", "etc/ld.so.conf.d", "opt"):
        (root / d).mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "opt/escape").symlink_to(tmp_path / "outside")  # absolute: the build machine's
    (root / "etc/ld.so.conf.d/evil.conf").write_text(
        "/../../outside\n/opt/escape\n/usr/lib/aarch64-linux-gnu\n")
    (root / "etc/ld.so.conf.d/dir.conf").mkdir()  # unreadable as a file: skipped
    assert repair.library_dirs(root, "aarch64-linux-gnu") == [
        f"{root}/usr/lib/aarch64-linux-gnu", f"{root}/usr/lib"]


def test_repaired_wheel_failing_its_check_is_not_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """auditwheel repairs the cp311 wheel, but the environment's host runs Python 3.12:
    the post-check fails, so -w gets nothing; member names in the report are escaped."""
    sysroot = tmp_path / "sysroot"
    (sysroot / "usr/lib/aarch64-linux-gnu").mkdir(parents=True)
    env = tmp_path / "env"
    env.mkdir()
    (env / "crossenv.json").write_text(json.dumps({"host": {
        "sysroot": str(sysroot), "multiarch": "aarch64-linux-gnu", "machine": "aarch64",
        "soabi": "cpython-312-aarch64-linux-gnu",
        "ext_suffix": ".cpython-312-aarch64-linux-gnu.so"}}))
    data = compile_so(compiler("aarch64"), tmp_path / "ext.so", "nolibc.c", "-nostdlib")
    member = "demo/_demo\x1b[2J.cpython-311-aarch64-linux-gnu.so"
    wheel = make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64", {member: data})
    out_dir = tmp_path / "out"
    status, out, err = run_cli(capsys, str(wheel), "--env", str(env), "-w", str(out_dir))
    assert status == 1, out + err
    assert "not written" in out and "[target-ext-suffix]" in out
    assert "\x1b" not in out + err and "demo/_demo\\x1b[2J.cpython-311" in out
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_repair_messages_escape_member_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    member = "demo/\x1b]0;pwned\x07\x1b[2J.py"
    dist = "demo-1.0.dist-info"
    record = (f"{member},{record_hash(b'original')},8\n{dist}/METADATA,,\n"
              f"{dist}/WHEEL,,\n{dist}/RECORD,,\n")
    wheel = make_wheel(tmp_path / "dist", "cp311-cp311-linux_aarch64", {member: b"tampered"},
                       record=record)
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(tmp_path),
                               "-w", str(tmp_path / "out"))
    assert (status, out) == (2, "") and err.count("\n") == 1, err
    assert "\x1b" not in err and "\x07" not in err
    assert "demo/\\x1b]0;pwned\\x07\\x1b[2J.py: [record-hash]" in err


def test_repair_refuses_a_wheel_with_another_one_prepended(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """repair reads wheels through the same zip reader as check: two archives in one
    file are refused before auditwheel (which reads with zipfile) sees them."""
    real = make_wheel(tmp_path / "a", "cp311-cp311-linux_aarch64", {EXT: b"aarch64"})
    other = make_wheel(tmp_path / "b", "cp311-cp311-linux_aarch64", {EXT: b"x86_64"})
    wheel = tmp_path / real.name
    wheel.write_bytes(other.read_bytes() + real.read_bytes())
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(EXT) == b"aarch64"  # the premise: zipfile reads the appended one
    status, out, err = run_cli(capsys, str(wheel), "--sysroot", str(tmp_path),
                               "-w", str(tmp_path / "out"))
    assert (status, out) == (2, "") and err.count("\n") == 1, err
    assert "[zip-prepended]" in err
    assert not (tmp_path / "out").exists()

