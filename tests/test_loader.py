"""``crossenv check`` loads every ELF file as the host's ld.so would, and imports on request.

Each failing shape is built for real with the cross compilers (no hand-made ELF headers
except one byte, EI_OSABI, patched into a real library), shown to fail with its named
reason, and the same source built right is shown to pass. The hosts are real Debian
sysroots: bullseye arm64 (glibc 2.31) for the too-new glibc, trixie riscv64 for libatomic.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from checkdata import compile_so, compiler, make_wheel
from crossenv import arches, check, elfinfo, loader, provision
from crossenv.loader import SysrootError
from helpers import require, run

AARCH64 = arches.by_machine("aarch64")
RISCV64 = arches.by_machine("riscv64")
EXT39 = "demo/_demo.cpython-39-aarch64-linux-gnu.so"
EXT311 = "demo/_demo.cpython-311-aarch64-linux-gnu.so"


def codes(problems: list[check.Problem]) -> list[str]:
    return sorted(p.code for p in problems)


def run_cli(*argv: object) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CROSSENV_ENV", "PYTHON_CROSSENV")}
    proc = subprocess.run([sys.executable, "-m", "crossenv", "check", *map(str, argv)],
                          env=env, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(autouse=True)
def _no_active_crossenv(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CROSSENV_ENV", "PYTHON_CROSSENV"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    directory = tmp_path_factory.mktemp("loader-elf")

    def make(arch: str, source: str, *flags: str, name: str = "") -> bytes:
        out = directory / arch / (name or f"{source}-{'_'.join(flags) or 'default'}.so")
        if out.exists():
            return out.read_bytes()
        return compile_so(compiler(arch), out, source, *flags)
    return make


# ---------------------------------------------------------------- what ld.so refuses to open


def test_relocatable_empty_and_text_files_are_not_shared_objects(tmp_path: Path) -> None:
    cc = compiler("aarch64")
    obj = tmp_path / "ext.o"
    run([cc, "-c", "-fPIC", "-o", obj, Path(__file__).parent / "checkdata" / "ext.c"])
    assert ELFFile(io.BytesIO(obj.read_bytes()))["e_type"] == "ET_REL"  # the premise
    wheel = make_wheel(tmp_path, "cp311-cp311-linux_aarch64", {
        EXT311: obj.read_bytes(), "demo/_empty.cpython-311-aarch64-linux-gnu.so": b"",
        "demo/libtext.so.1": b"INPUT(-lfoo)\n", "demo/__init__.py": b""})
    found = {p.member: (p.code, p.message) for p in check.check_wheel(wheel)}
    assert sorted((m, c) for m, (c, _) in found.items()) == sorted([
        ("demo/_empty.cpython-311-aarch64-linux-gnu.so", "not-elf"), (EXT311, "elf-type"),
        ("demo/libtext.so.1", "not-elf")])
    assert "relocatable" in found[EXT311][1]
    assert "empty" in found["demo/_empty.cpython-311-aarch64-linux-gnu.so"][1]


def test_freebsd_os_abi_is_refused(build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = build("aarch64", "ext.c")
    assert ELFFile(io.BytesIO(good))["e_ident"]["EI_OSABI"] == "ELFOSABI_SYSV"
    bad = bytearray(good)
    bad[7] = 9  # EI_OSABI = ELFOSABI_FREEBSD: glibc's ld.so refuses to open it
    tag = "cp311-cp311-manylinux_2_17_aarch64"
    problems = check.check_wheel(make_wheel(tmp_path / "bad", tag, {EXT311: bytes(bad)}))
    assert codes(problems) == ["elf-osabi"] and "FREEBSD" in problems[0].message
    assert check.check_wheel(make_wheel(tmp_path / "good", tag, {EXT311: good})) == []


def test_platform_tag_without_a_binary(tmp_path: Path) -> None:
    files = {"demo/__init__.py": b"def f(): pass\n"}
    wheel = make_wheel(tmp_path / "p", "cp311-cp311-linux_aarch64", files)
    problems = check.check_wheel(wheel)
    assert codes(problems) == ["no-binary"] and "linux_aarch64" in problems[0].message
    assert check.check_wheel(wheel, allow_pure=True) == []
    status, out, _ = run_cli(wheel)
    assert status == 1 and "[no-binary]" in out
    assert run_cli("--allow-pure", wheel)[0] == 0
    assert check.check_wheel(make_wheel(tmp_path / "any", "py3-none-any", files)) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                max_size=12))
def test_symbol_reader_never_crashes_on_mutated_files(mutations: list[tuple[int, int]]) -> None:
    """Symbols and versions of a mutated library: an ElfInfo or ElfUnreadable, nothing else."""
    data = bytearray(_mutation_base())
    for at, value in mutations:
        data[4 + at % (len(data) - 4)] = value
    try:
        info = elfinfo.read_elf(io.BytesIO(bytes(data)), len(data), symbols=True)
    except elfinfo.ElfUnreadable:
        return
    assert info.symbols is not None


_BASE: list[bytes] = []


def _mutation_base() -> bytes:
    if not _BASE:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            _BASE.append(compile_so(compiler("aarch64"), Path(tmp) / "x.so", "new_glibc.c"))
    return _BASE[0]


def test_symbols_and_versions_are_read() -> None:
    info = elfinfo.read_elf(io.BytesIO(_mutation_base()), len(_mutation_base()), symbols=True)
    assert info.symbols is not None
    refs = {r.name: r for r in info.symbols.undefined}
    assert refs["pthread_create"].version == "GLIBC_2.34"
    assert refs["pthread_create"].library == "libc.so.6" and not refs["pthread_create"].weak
    assert "PyInit__demo" in info.symbols.defined and info.exports_pyinit
    assert info.symbols.version_needs["libc.so.6"]["GLIBC_2.34"] is False


# ---------------------------------------------------------------- the host's library paths


def _tiny_sysroot(root: Path, build, conf: bool = True) -> Path:  # type: ignore[no-untyped-def]
    """A sysroot with one library, libfoo.so.1, in a directory only ld.so.conf names."""
    libdir = root / "opt" / "foo" / "lib"
    libdir.mkdir(parents=True)
    (libdir / "libfoo.so.1").write_bytes(
        build("aarch64", "foo_new.c", "-nostdlib", "-Wl,-soname,libfoo.so.1", name="foo.so"))
    (root / "usr" / "lib" / AARCH64.multiarch).mkdir(parents=True)
    if conf:
        (root / "etc" / "ld.so.conf.d").mkdir(parents=True)
        (root / "etc" / "ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
        (root / "etc" / "ld.so.conf.d" / "foo.conf").write_text(
            "# the foo library\n/opt/foo/lib\n/../../../../usr/lib\n")
    return root


def _foo_ext(build, tmp_path: Path, *flags: str) -> bytes:  # type: ignore[no-untyped-def]
    """uses_foo.c linked against libfoo.so.1 (the release with foo_new)."""
    lib = tmp_path / "link" / "libfoo.so"
    lib.parent.mkdir(parents=True, exist_ok=True)
    lib.write_bytes(build("aarch64", "foo_new.c", "-nostdlib", "-Wl,-soname,libfoo.so.1",
                          name="foo.so"))
    return build("aarch64", "uses_foo.c", "-nostdlib", f"-L{lib.parent}", "-lfoo", *flags)


def _uses_foo(build, tmp_path: Path) -> dict[str, elfinfo.ElfInfo]:  # type: ignore[no-untyped-def]
    data = _foo_ext(build, tmp_path)
    return {EXT311: elfinfo.read_elf(io.BytesIO(data), len(data), symbols=True)}


def test_ld_so_conf_directories_are_searched_inside_the_sysroot(build, tmp_path: Path,
                                                                ) -> None:  # type: ignore[no-untyped-def]
    members = _uses_foo(build, tmp_path)
    assert members[EXT311].needed == ["libfoo.so.1"]
    sysroot = loader.Sysroot(_tiny_sysroot(tmp_path / "root", build), AARCH64)
    dirs = sysroot.search_dirs()
    assert dirs[:2] == ["/opt/foo/lib", "/usr/lib"]  # ".." stops at the sysroot's root
    assert dirs[2:] == [f"/lib/{AARCH64.multiarch}", f"/usr/lib/{AARCH64.multiarch}", "/lib"]
    assert loader.check_objects(members, sysroot) == []
    bare = loader.Sysroot(_tiny_sysroot(tmp_path / "bare", build, conf=False), AARCH64)
    ((member, code, message),) = loader.check_objects(members, bare)
    assert (member, code) == (EXT311, "needed-not-found") and "libfoo.so.1" in message


def test_a_symlink_out_of_the_sysroot_is_refused(build, tmp_path: Path,
                                                ) -> None:  # type: ignore[no-untyped-def]
    members = _uses_foo(build, tmp_path)
    root = _tiny_sysroot(tmp_path / "root", build, conf=False)
    outside = tmp_path / "outside.so"
    outside.write_bytes((root / "opt/foo/lib/libfoo.so.1").read_bytes())
    (root / "usr" / "lib" / AARCH64.multiarch / "libfoo.so.1").symlink_to(outside)
    with pytest.raises(SysrootError, match="leads out of the sysroot"):
        loader.check_objects(members, loader.Sysroot(root, AARCH64))
    conf = _tiny_sysroot(tmp_path / "conf", build, conf=False)
    (conf / "etc").mkdir()
    (conf / "etc" / "ld.so.conf").symlink_to("/etc/ld.so.conf")
    with pytest.raises(SysrootError, match="leads out of the sysroot"):
        loader.Sysroot(conf, AARCH64).search_dirs()


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("/abc.*#= \n:,includehwcap."), max_size=80))
def test_ld_so_conf_parser_stays_inside(text: str) -> None:
    """Whatever ld.so.conf says: directories are absolute and normal, files read are
    inside the sysroot (hypothesis cannot write outside tmp: the sysroot is fresh)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "etc").mkdir()
        (root / "etc" / "ld.so.conf").write_text(text)
        dirs = loader.Sysroot(root, AARCH64).search_dirs()
    assert all(d.startswith("/") and ".." not in d.split("/") for d in dirs)


def test_needed_outside_the_policy_unless_shipped(build, tmp_path: Path,
                                                  ) -> None:  # type: ignore[no-untyped-def]
    ext = _foo_ext(build, tmp_path, "-Wl,-rpath,$ORIGIN/../demo.libs")
    lib = build("aarch64", "foo_new.c", "-nostdlib", "-Wl,-soname,libfoo.so.1", name="foo.so")
    tag = "cp311-cp311-manylinux_2_17_aarch64"
    bare = check.check_wheel(make_wheel(tmp_path / "a", tag, {EXT311: ext}))
    assert codes(bare) == ["needed-policy"] and "libfoo.so.1" in bare[0].message
    shipped = make_wheel(tmp_path / "b", tag, {EXT311: ext, "demo.libs/libfoo.so.1": lib})
    assert check.check_wheel(shipped) == []
    plain = make_wheel(tmp_path / "c", "cp311-cp311-linux_aarch64", {EXT311: ext})
    assert check.check_wheel(plain) == []  # linux_ promises nothing: no policy to break


# ---------------------------------------------------------------- libatomic on riscv64


@pytest.fixture(scope="module")
def riscv64_sysroot() -> provision.Sysroot:
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian riscv64 sysroot")
    return provision.provision_debian("riscv64")


def _riscv64(tmp_path: Path, *flags: str) -> bytes:
    cc = shutil.which(f"{RISCV64.triplet}-gcc")
    require(cc, "gcc-riscv64-linux-gnu is needed (listed in .ci/apt-packages.txt)")
    return compile_so(str(cc), tmp_path / f"atomic{'-'.join(flags)}.so", "atomic.c", *flags)


@pytest.mark.integration
def test_one_byte_atomic_needs_libatomic_on_riscv64(tmp_path: Path,
                                                    riscv64_sysroot: provision.Sysroot) -> None:
    bad, good = _riscv64(tmp_path), _riscv64(tmp_path, "-latomic")
    info = elfinfo.read_elf(io.BytesIO(bad), len(bad), symbols=True)
    assert info.symbols is not None and "libatomic.so.1" not in info.needed  # the premise
    assert "__atomic_compare_exchange_1" in {r.name for r in info.symbols.undefined}
    member = f"demo/_demo.cpython-313-{RISCV64.multiarch}.so"
    tag = "cp313-cp313-linux_riscv64"
    problems = check.check_wheel(make_wheel(tmp_path / "bad", tag, {member: bad}))
    assert codes(problems) == ["libatomic"]
    assert "__atomic_compare_exchange_1" in problems[0].message
    assert "-latomic" in problems[0].message
    assert check.check_wheel(make_wheel(tmp_path / "good", tag, {member: good})) == []
    # over the host's sysroot: the same verdict, and libatomic.so.1 binds the symbol
    sysroot = loader.Sysroot(riscv64_sysroot.root, RISCV64,
                             "/" + str(riscv64_sysroot.python.relative_to(riscv64_sysroot.root)))
    read = {member: elfinfo.read_elf(io.BytesIO(bad), len(bad), symbols=True)}
    assert [c for _, c, _ in loader.check_objects(read, sysroot)] == ["libatomic"]
    read = {member: elfinfo.read_elf(io.BytesIO(good), len(good), symbols=True)}
    assert loader.check_objects(read, sysroot) == []


# ---------------------------------------------------------------- glibc 2.34 on a 2.31 host


@pytest.fixture(scope="module")
def bullseye_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real crossenv whose host is Debian bullseye's python3.9 (glibc 2.31)."""
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian arm64 sysroot")
    compiler("aarch64")
    sysroot = provision.provision_debian("arm64", release="bullseye")
    env = tmp_path_factory.mktemp("envs") / "bullseye"
    run([sys.executable, "-m", "crossenv", sysroot.python, env])
    return env


def _bullseye_builds(env: Path, tmp_path: Path) -> tuple[bytes, bytes]:
    """pthread_create linked against the cross toolchain's glibc 2.36 (GLIBC_2.34), and
    against the bullseye sysroot's own libraries (found first with -B/-L)."""
    sysroot = Path(json.loads((env / "crossenv.json").read_text())["host"]["sysroot"])
    multiarch = AARCH64.multiarch
    new = compile_so(compiler("aarch64"), tmp_path / "new.so", "new_glibc.c")
    old = compile_so(compiler("aarch64"), tmp_path / "old.so", "new_glibc.c",
                     f"--sysroot={sysroot}", f"-B{sysroot}/usr/lib/{multiarch}",
                     f"-L{sysroot}/usr/lib/{multiarch}", f"-L{sysroot}/lib/{multiarch}")
    return new, old


@pytest.mark.integration
def test_glibc_2_34_symbol_fails_on_a_bullseye_host(bullseye_env: Path, tmp_path: Path) -> None:
    new, old = _bullseye_builds(bullseye_env, tmp_path)
    tag = "cp39-cp39-linux_aarch64"
    bad = make_wheel(tmp_path / "bad", tag, {EXT39: new, "demo/__init__.py": b""})
    status, out, _ = run_cli("--env", bullseye_env, bad)
    assert status == 1, out
    line = next(line for line in out.splitlines() if "[symbol-version]" in line)
    assert "GLIBC_2.34 of libc.so.6" in line and "pthread_create" in line
    assert "at most GLIBC_2.30" in line  # bullseye's libc: 2.31 added no symbol on arm64
    good = make_wheel(tmp_path / "good", tag, {EXT39: old, "demo/__init__.py": b""})
    status, out, _ = run_cli("--env", bullseye_env, good)
    assert (status, out.strip()) == (0, f"{good}: OK")


@pytest.mark.integration
def test_import_under_qemu_shows_the_same_failure(bullseye_env: Path, tmp_path: Path) -> None:
    """--import: the toolchain build fails to load on the host with glibc's own words; the
    right build loads, and its PyInit_ (which returns NULL) is what fails then."""
    require(provision.find_qemu("arm64"), "qemu-user-static (qemu-aarch64) is needed")
    new, old = _bullseye_builds(bullseye_env, tmp_path)
    tag = "cp39-cp39-linux_aarch64"
    bad = make_wheel(tmp_path / "bad", tag, {EXT39: new, "demo/__init__.py": b""})
    status, out, _ = run_cli("--env", bullseye_env, "--import", bad)
    assert status == 1
    line = next(line for line in out.splitlines() if "[import-failed]" in line)
    assert "import demo._demo failed: ImportError" in line and "GLIBC_2.34" in line
    good = make_wheel(tmp_path / "good", tag, {EXT39: old, "demo/__init__.py": b""})
    status, out, _ = run_cli("--env", bullseye_env, "--import", good)
    assert status == 1 and "[symbol-" not in out
    assert "initialization of _demo failed without raising an exception" in out


def test_import_needs_an_environment(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "py3-none-any", {"demo/__init__.py": b""})
    status, out, err = run_cli("--import", wheel)
    assert (status, out) == (2, "") and "--import needs the host" in err


# ---------------------------------------------------------------- symbols a wheel library lacks


@pytest.mark.integration
def test_symbol_missing_from_a_shipped_library(build, tmp_path: Path,
                                               aarch64_env: Path) -> None:  # type: ignore[no-untyped-def]
    ext = _foo_ext(build, tmp_path, "-Wl,-rpath,$ORIGIN/../demo.libs")
    old = build("aarch64", "foo_old.c", "-nostdlib", "-Wl,-soname,libfoo.so.1", name="old.so")
    new = build("aarch64", "foo_new.c", "-nostdlib", "-Wl,-soname,libfoo.so.1", name="foo.so")
    tag = "cp311-cp311-linux_aarch64"
    wheel = make_wheel(tmp_path / "a", tag, {EXT311: ext, "demo.libs/libfoo.so.1": old})
    problems = check.check_wheel(wheel, env=aarch64_env)
    assert codes(problems) == ["symbol-undefined"] and "foo_new" in problems[0].message
    wheel = make_wheel(tmp_path / "b", tag, {EXT311: ext, "demo.libs/libfoo.so.1": new})
    assert check.check_wheel(wheel, env=aarch64_env) == []
    missing = make_wheel(tmp_path / "c", tag, {EXT311: ext})
    problems = check.check_wheel(missing, env=aarch64_env)
    assert codes(problems) == ["needed-not-found"] and "libfoo.so.1" in problems[0].message
