"""C++ extensions for manylinux_2_28 (default) and manylinux2014 from Debian 12's g++.

Unit tests: which symbols a stub keeps (hypothesis against the policy rule), the
generated C and version script, the glibc 2.34 moves. Integration: stubs cut from the
real cross libstdc++.so.6 and libc.so.6; the default run builds tests/sources/pybind-pair
(two pybind11 modules, one throwing a C++ exception the other catches, pybind11 from
PyPI) in the shared aarch64 environment, checks it against manylinux_2_28 symbol by
symbol, repairs and checks it, and runs the exception cases under qemu. ``nox -s cxx``
(``CROSSENV_CXX_FULL=1``) adds pybind11 with scikit-build-core and nanobind, for
manylinux_2_28 and manylinux2014, on aarch64 and s390x.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import arches, cxxruntime, elfinfo, glibcmoved, policy, provision, stublib
from crossenv.model import Toolchain
from crossenv.symbols import excesses
from helpers import crossenv_cmd, require, run

SOURCES = Path(__file__).parent / "sources"
FULL = os.environ.get("CROSSENV_CXX_FULL") == "1"
PAIR_TEST = """
import importlib, sys, threading
pkg = sys.argv[1]
thrower = importlib.import_module(pkg + "._thrower")
catcher = importlib.import_module(pkg + "._catcher")
fn = thrower.boom_fn()
assert catcher.catch_boom(fn, 7) == 7            # Boom thrown in _thrower, caught by type
assert catcher.catch_boom(fn, -1) == -1          # std::out_of_range, the same way
try:
    thrower.boom(3)                              # _catcher's translator: BoomError
except catcher.BoomError as exc:
    assert "boom 3" in str(exc), exc
else:
    raise AssertionError("Boom was not translated")
try:
    thrower.boom(-2)                             # pybind11's own: IndexError
except IndexError as exc:
    assert "negative" in str(exc)
assert thrower.shared_count(5) == 7 and catcher.shared_count(1) == 3
assert thrower.words(["a", "b"]) == "a;b;"
assert thrower.word_lengths("ab cde f") == 6 + 2, thrower.word_lengths("ab cde f")
out = []
worker = threading.Thread(target=lambda: out.append(catcher.catch_boom(fn, 9)))
worker.start(); worker.join()
assert out == [9], out
print("exceptions ok", pkg)
"""

# --- which symbols a stub keeps ------------------------------------------------------------

LIMITS_2_28 = policy.allowed_versions("aarch64", (2, 28))
_versions = st.sampled_from(["GLIBCXX_3.4", "GLIBCXX_3.4.19", "GLIBCXX_3.4.21", "GLIBCXX_3.4.24",
                             "GLIBCXX_3.4.25", "GLIBCXX_3.4.29", "GLIBCXX_3.4.30",
                             "CXXABI_1.3", "CXXABI_1.3.7", "CXXABI_1.3.11", "CXXABI_1.3.13",
                             "CXXABI_TM_1", "GLIBCXX_LDBL_3.4"])
_symbols = st.lists(st.builds(stublib.Symbol, st.sampled_from(["a", "b", "c"]), _versions,
                              st.just("func")), max_size=12)


@given(_symbols)
def test_the_stub_keeps_the_newest_allowed_version_of_each_name(symbols: list) -> None:
    kept = stublib.newest(symbols, lambda v: cxxruntime._version_allowed(v, LIMITS_2_28),
                          cxxruntime._order)
    for sym in kept:
        # the same rule as buildwheel's symbol check: a kept version never fails it
        lib, _, number = sym.version.partition("_")
        newest, explicit = LIMITS_2_28[lib]
        assert number in explicit or policy.numeric(number) <= policy.numeric(newest)
        rivals = [s for s in symbols if s.name == sym.name
                  and cxxruntime._version_allowed(s.version, LIMITS_2_28)]
        assert all(cxxruntime._order(s.version) <= cxxruntime._order(sym.version)
                   for s in rivals)
    names_allowed = {s.name for s in symbols if cxxruntime._version_allowed(s.version, LIMITS_2_28)}
    assert {s.name for s in kept} == names_allowed


def test_versions_beyond_manylinux_2_28_are_left_out() -> None:
    allowed = [v for v in ("GLIBCXX_3.4.24", "CXXABI_1.3.11", "CXXABI_TM_1")
               if cxxruntime._version_allowed(v, LIMITS_2_28)]
    refused = [v for v in ("GLIBCXX_3.4.25", "GLIBCXX_3.4.29", "CXXABI_1.3.13",
                           "GLIBCXX_x") if cxxruntime._version_allowed(v, LIMITS_2_28)]
    assert allowed == ["GLIBCXX_3.4.24", "CXXABI_1.3.11", "CXXABI_TM_1"]
    assert refused == []


def test_stub_source_defines_each_symbol_once_under_its_version() -> None:
    text, script = stublib.source([
        stublib.Symbol("_ZSt9terminatev", "GLIBCXX_3.4", "func"),
        stublib.Symbol("_ZTISt9exception", "GLIBCXX_3.4", "object", 16),
        stublib.Symbol("__cxa_get_globals", "CXXABI_1.3", "func"),
        stublib.Symbol("tls_thing", "CXXABI_1.3", "tls", 8)])
    assert 'void f0(void) __asm__("_ZSt9terminatev"); void f0(void) {}' in text
    assert 'char d1[16] __asm__("_ZTISt9exception") = {1};' in text
    assert '__thread char d3[8] __asm__("tls_thing")' in text
    assert script == ("CXXABI_1.3 {\n  global:\n    __cxa_get_globals;\n    tls_thing;\n};\n"
                      "GLIBCXX_3.4 {\n  global:\n    _ZSt9terminatev;\n    _ZTISt9exception;\n"
                      "  local: *;\n};\n")


def test_linker_script_lists_stub_archive_compat_and_glibc_stubs(tmp_path: Path) -> None:
    text = cxxruntime.linker_script(tmp_path / "a b", True, ["crossenv-libpthread-stub.so"])
    assert (f'INPUT ( "{tmp_path}/a b/crossenv-libstdc++-stub.so" '
            f'"{tmp_path}/a b/libstdc++_nonshared.a" '
            f'"{tmp_path}/a b/crossenv-libstdc++-stub.so" "{tmp_path}/a b/crossenv-cxxcompat.o" '
            f'AS_NEEDED ( "{tmp_path}/a b/crossenv-libpthread-stub.so" ) )') in text
    plain = cxxruntime.linker_script(tmp_path, False, [])
    assert "cxxcompat" not in plain and "AS_NEEDED" not in plain
    # the gthread references are an ordinary input before the stubs: seen first, they
    # make the libpthread stub needed even when LTO adds the calls later
    refs = cxxruntime.linker_script(tmp_path, False, ["crossenv-libpthread-stub.so"],
                                    [glibcmoved.REFS])
    assert (f'"{tmp_path}/{glibcmoved.REFS}" AS_NEEDED ( '
            f'"{tmp_path}/crossenv-libpthread-stub.so" )') in refs


@given(st.sets(st.sampled_from(sorted(glibcmoved.GTHREAD_CALLS))))
def test_the_gthread_references_name_each_function_once(names: set[str]) -> None:
    lines = glibcmoved.refs_source(list(names)).splitlines()
    assert lines == [f'__asm__(".globl {name}");' for name in sorted(names)]


# --- glibc 2.34's moves ----------------------------------------------------------------------

LIBC_2_36 = [stublib.Symbol(name, version, "func") for name, version in (
    ("pthread_once", "GLIBC_2.17"), ("pthread_once", "GLIBC_2.34"),
    ("dlopen", "GLIBC_2.17"), ("dlopen", "GLIBC_2.34"),
    ("call_once", "GLIBC_2.28"), ("call_once", "GLIBC_2.34"),
    ("timer_create", "GLIBC_2.17"), ("timer_create", "GLIBC_2.34"),
    ("closefrom", "GLIBC_2.34"),  # new in 2.34: nothing older to link
    ("pthread_mutex_lock", "GLIBC_2.17"),  # already in libc.so.6 before 2.34: untouched
    ("memcpy", "GLIBC_2.17"))]


def test_moved_symbols_link_at_the_version_an_older_host_has() -> None:
    found = {soname: [f"{s.name}@{s.version}" for s in syms]
             for soname, syms in glibcmoved.moved(LIBC_2_36, (2, 28)).items()}
    assert found == {"libpthread.so.0": ["call_once@GLIBC_2.28", "pthread_once@GLIBC_2.17"],
                     "libdl.so.2": ["dlopen@GLIBC_2.17"],
                     "librt.so.1": ["timer_create@GLIBC_2.17"]}
    # C11 call_once arrived in 2.28: a manylinux2014 host has none to link against
    older = glibcmoved.moved(LIBC_2_36, (2, 17))
    assert [s.name for s in older["libpthread.so.0"]] == ["pthread_once"]
    assert glibcmoved.moved(LIBC_2_36, (2, 34)) == {}


# --- real stubs ------------------------------------------------------------------------------

def _cross(tool: str) -> str:
    found = shutil.which(f"aarch64-linux-gnu-{tool}")
    require(found, f"{tool}-aarch64-linux-gnu is needed to cut the stubs")
    return str(found)


@pytest.mark.integration
def test_stubs_from_the_real_libraries(tmp_path: Path, arm64_sysroot: provision.Sysroot) -> None:
    """Cut for manylinux2014 from gcc 12's libstdc++.so.6 and the sysroot's glibc 2.36:
    the stubs define nothing newer, keep the old ABI (std::terminate, __cxa_throw), and
    a C++ call_once links libpthread.so.0's GLIBC_2.17 through the linker script."""
    gxx = _cross("g++")
    shared = Path(subprocess.run([gxx, "-print-file-name=libstdc++.so.6"], text=True,
                                 capture_output=True, check=True).stdout.strip())
    limits = policy.allowed_versions("aarch64", (2, 17))
    symbols = cxxruntime.stub_symbols(shared, limits)
    stub = tmp_path / "stub.so"
    stublib.build((_cross("gcc"),), symbols, "libstdc++.so.6", stub)
    back = {s.name: s.version for s in stublib.defined_symbols(stub)}
    assert back["__cxa_throw"] == "CXXABI_1.3" and back["_ZSt9terminatev"] == "GLIBCXX_3.4"
    assert "_ZSt28__throw_bad_array_new_lengthv" not in back  # GLIBCXX_3.4.29
    assert all(cxxruntime._version_allowed(v, limits) for v in back.values())
    libc = glibcmoved.find_libc((f"{arm64_sysroot.root}/lib/aarch64-linux-gnu",))
    assert libc is not None
    names = glibcmoved.build_stubs((_cross("gcc"),), libc, (2, 17), tmp_path)
    assert "crossenv-libpthread-stub.so" in names
    pthread = {s.name: s.version for s in
               stublib.defined_symbols(tmp_path / "crossenv-libpthread-stub.so")}
    assert pthread["pthread_once"] == "GLIBC_2.17"
    # the references object: undefined globals only, for the moved functions alone
    assert glibcmoved.build_refs((_cross("gcc"),), libc, (2, 17), tmp_path) == [glibcmoved.REFS]
    listing = subprocess.run([_cross("readelf"), "-sW", tmp_path / glibcmoved.REFS], text=True,
                             capture_output=True, check=True).stdout
    refs = {f[7]: (f[4], f[6]) for f in map(str.split, listing.splitlines())
            if len(f) == 8 and f[0].rstrip(":").isdigit() and f[7].startswith("pthread_")}
    assert refs["pthread_once"] == ("GLOBAL", "UND")
    assert all(v == ("GLOBAL", "UND") for v in refs.values()), refs
    assert "pthread_mutex_lock" not in refs  # in libc.so.6 before 2.34 too: not moved
    assert set(refs) <= glibcmoved.GTHREAD_CALLS and set(refs) <= set(pthread)


STRINGSTREAMS = """
#include <sstream>
#include <string>
extern "C" int lengths(const char *s) {
    std::stringstream ss; ss << s;          // the module's own copy of ~basic_stringbuf
    std::stringbuf b; b.sputn(s, 3);        // new in GLIBCXX_3.4.26: sstream-inst.o
    std::istringstream in(ss.str() + " " + b.str());
    std::string word; int n = 0;
    while (in >> word) n += static_cast<int>(word.size());
    return n;
}
"""


@pytest.mark.integration
@pytest.mark.parametrize("std", ["c++17", "c++20"])
def test_nonshared_members_link_together_and_beside_the_modules_inline_copies(
        tmp_path: Path, std: str) -> None:
    """The archive cut from the real libstdc++.a for manylinux_2_28: every member linked
    at once (no member's localized copy lost to a discarded COMDAT group, no symbol
    defined twice), and a module whose own inline copy of ``~basic_stringbuf`` comes
    before the members that have it too (scipy's HiGHS; sstream-inst.o and, in C++20,
    its twin lt5-sstream-inst.o)."""
    gxx, gcc = _cross("g++"), _cross("gcc")
    chain = Toolchain(kind="gnu", triplet="aarch64-linux-gnu", cc=(gcc,), cxx=(gxx,),
                      ar=(_cross("ar"),))
    shared = Path(subprocess.run([gxx, "-print-file-name=libstdc++.so.6"], text=True,
                                 capture_output=True, check=True).stdout.strip())
    archive = Path(subprocess.run([gxx, "-print-file-name=libstdc++.a"], text=True,
                                  capture_output=True, check=True).stdout.strip())
    parts = tmp_path / "parts"
    parts.mkdir()
    cxxruntime._build_parts(chain, shared, archive, "aarch64", (2, 28), False, None, parts)
    (parts / cxxruntime.SCRIPT).write_text(cxxruntime.linker_script(parts, False, []))
    assert "sstream-inst.o" in (parts / "nonshared.txt").read_text().split()
    flags = [f"-B{parts}/", f"-Wl,--exclude-libs,{cxxruntime.ARCHIVE}", "-fPIC", "-shared"]
    empty = tmp_path / "empty.cpp"
    empty.write_text("int nothing() { return 0; }\n")
    run([gxx, *flags, empty, "-o", tmp_path / "all.so", "-Wl,--whole-archive",
         parts / cxxruntime.ARCHIVE, "-Wl,--no-whole-archive"])
    source = tmp_path / "streams.cpp"
    source.write_text(STRINGSTREAMS)
    module = tmp_path / "streams.so"
    run([gxx, f"-std={std}", "-O2", *flags, source, "-o", module])
    _assert_bound_to_the_stub(module, "lengths")
    # a module whose only use of libstdc++ is through an archive member: the member's own
    # references (__cxa_throw) still find libstdc++.so.6 under Debian's --as-needed
    thrower = tmp_path / "thrower.cpp"
    thrower.write_text("#include <bits/functexcept.h>\n"
                       "extern \"C\" void f(int n) { if (n < 0) "
                       "std::__throw_bad_array_new_length(); }\n")
    run([gxx, f"-std={std}", "-O2", *flags, thrower, "-o", tmp_path / "thrower.so"])
    _assert_bound_to_the_stub(tmp_path / "thrower.so", "f")


def _assert_bound_to_the_stub(module: Path, export: str) -> None:
    """NEEDED libstdc++.so.6, every C++ runtime reference versioned within manylinux_2_28
    and none weak, the archive's own symbols hidden (only *export* of ours is dynamic)."""
    with open(module, "rb") as stream:
        info = elfinfo.read_elf(stream, module.stat().st_size, symbols=True)
    assert "libstdc++.so.6" in info.needed, info.needed
    cxx = [f"{lib}_{v}" for lib in ("GLIBCXX", "CXXABI") for v in info.versions.get(lib, ())]
    assert cxx and all(cxxruntime._version_allowed(v, LIMITS_2_28) for v in cxx), cxx
    assert info.symbols is not None
    # __cxa_finalize is glibc's, weak in every shared object (crtbeginS.o)
    runtime = [r for r in info.symbols.undefined if r.name.startswith(("_Z", "__cxa"))
               and r.name != "__cxa_finalize"]
    assert runtime and all(r.library == "libstdc++.so.6" and not r.weak for r in runtime), \
        [r for r in runtime if r.library != "libstdc++.so.6" or r.weak]
    assert set(info.symbols.defined) & {export, "_ZSt28__throw_bad_array_new_lengthv"} \
        == {export}, sorted(info.symbols.defined)


# --- a pybind11 project through cross-pip, under qemu ----------------------------------------

def _build(env: Path, project: str, tmp_path: Path) -> Path:
    src = tmp_path / project
    shutil.copytree(SOURCES / project, src)
    out = tmp_path / "wheels"
    run([env / "bin" / "cross-pip", "wheel", "--no-deps", src, "-w", out], timeout=1800)
    (wheel,) = out.glob("*.whl")
    return wheel


def _repair_check_run(env: Path, wheel: Path, arch: str, glibc: tuple[int, int], package: str,
                      tmp_path: Path) -> None:
    too_new = [e.describe() for e in excesses(wheel, arch, glibc)]
    assert too_new == [], too_new
    plat = f"manylinux_{glibc[0]}_{glibc[1]}_{arch}"
    fixed = tmp_path / "repaired"
    run([*crossenv_cmd(), "repair", "--env", env, "--plat", plat, "-w", fixed, wheel])
    (repaired,) = fixed.glob("*.whl")
    assert plat in repaired.name
    run([*crossenv_cmd(), "check", "--env", env, repaired])
    script = tmp_path / "pairtest.py"
    script.write_text(PAIR_TEST)
    proc = run([*crossenv_cmd(), "run", env, "--install", repaired, "--", "python", script,
                package], timeout=600)
    assert f"exceptions ok {package}" in proc.stdout


@pytest.mark.integration
@pytest.mark.slow(minutes=2)  # an isolated build with pybind11 from PyPI, two modules
# setuptools, and scikit-build-core with pybind11's CMake defaults: -flto, whose code
# generation adds std::call_once's pthread_once after ld has resolved the module's symbols
# (bound to GLIBC_2.34 until crossenv-gthread-refs.o, see crossenv.glibcmoved)
@pytest.mark.parametrize(("project", "package"), [("pybind-pair", "cxxpair"),
                                                  ("pybind-skbuild", "skpair")])
def test_pybind11_pair_is_manylinux_2_28_and_catches_across_modules(
        aarch64_env: Path, tmp_path: Path, project: str, package: str) -> None:
    hostlibc = aarch64_env / "cross" / "crossenv" / "hostlibc"
    assert (hostlibc / "libstdc++.so").read_text().count("INPUT (") == 1
    wheel = _build(aarch64_env, project, tmp_path)
    _repair_check_run(aarch64_env, wheel, "aarch64", (2, 28), package, tmp_path)


def _env_for(tmp_path: Path, debian: str, manylinux: str | None) -> tuple[Path, str]:
    sysroot = provision.provision_debian(debian)
    qemu = provision.find_qemu(debian)
    require(qemu, f"qemu-user for {debian}")
    row = arches.by_debian(debian)
    require(shutil.which(f"{row.triplet}-g++"), f"g++-{row.triplet} is needed")
    env = tmp_path / f"env-{debian}"
    run([*crossenv_cmd(), sysroot.python, env, *(["--manylinux", manylinux] if manylinux else [])])
    return env, row.machine


def full_matrix(tmp_path: Path, debian: str, manylinux: str | None, project: str) -> None:
    env, arch = _env_for(tmp_path, debian, manylinux)
    glibc = (2, 17) if manylinux == "2_17" else (2, 28)
    wheel = _build(env, project, tmp_path)
    package = {"pybind-pair": "cxxpair", "pybind-skbuild": "skpair",
               "nanobind-pair": "nbpair"}[project]
    _repair_check_run(env, wheel, arch, glibc, package, tmp_path)


if FULL:  # nox -s cxx: collected only there (not a skip in the default run)
    test_cxx_matrix = pytest.mark.integration(pytest.mark.slow(minutes=3)(
        pytest.mark.parametrize("debian", ["arm64", "s390x"])(
            pytest.mark.parametrize("manylinux", [None, "2_17"])(
                pytest.mark.parametrize("project", ["pybind-pair", "pybind-skbuild",
                                                    "nanobind-pair"])(full_matrix)))))


def test_unique_old_definitions_become_references_to_the_host_copy(tmp_path: Path) -> None:
    """manylinux2014's archive holds cow-string-inst.o and locale-inst.o, whose old
    GNU-unique statics objcopy cannot localize: no member defines an old name any more,
    every member still links into one module (each reference to them goes through the
    GOT, so an undefined one is fine in a shared object), and the module takes COW
    string's empty rep from libstdc++.so.6 at a manylinux2014 version."""
    gxx, gcc = _cross("g++"), _cross("gcc")
    chain = Toolchain(kind="gnu", triplet="aarch64-linux-gnu", cc=(gcc,), cxx=(gxx,),
                      ar=(_cross("ar"),))
    ask = [gxx, "-print-file-name=libstdc++.so.6"]
    shared = Path(subprocess.run(ask, text=True, capture_output=True, check=True).stdout.strip())
    ask[1] = "-print-file-name=libstdc++.a"
    archive = Path(subprocess.run(ask, text=True, capture_output=True, check=True).stdout.strip())
    parts = tmp_path / "parts"
    parts.mkdir()
    cxxruntime._build_parts(chain, shared, archive, "aarch64", (2, 17), False, None, parts)
    members = (parts / "nonshared.txt").read_text().split()
    assert {"cow-string-inst.o", "locale-inst.o"} <= set(members), members
    old = {s.name for s in cxxruntime.stub_symbols(shared, policy.allowed_versions(
        "aarch64", (2, 17)))}
    unpacked = tmp_path / "members"
    unpacked.mkdir()
    run([_cross("ar"), "x", parts / cxxruntime.ARCHIVE], cwd=unpacked)
    for member in sorted(unpacked.iterdir()):
        defined, _ = cxxruntime._member_symbols(member)
        assert not defined & old, (member.name, sorted(defined & old)[:5])
    (parts / cxxruntime.SCRIPT).write_text(cxxruntime.linker_script(parts, False, []))
    empty = tmp_path / "empty.cpp"
    empty.write_text("int nothing() { return 0; }\n")
    module = tmp_path / "all.so"
    run([gxx, f"-B{parts}/", f"-Wl,--exclude-libs,{cxxruntime.ARCHIVE}", "-fPIC", "-shared",
         empty, "-o", module, "-Wl,--whole-archive", parts / cxxruntime.ARCHIVE,
         "-Wl,--no-whole-archive"])
    with open(module, "rb") as stream:
        info = elfinfo.read_elf(stream, module.stat().st_size, symbols=True)
    assert info.symbols is not None
    rep = [r for r in info.symbols.undefined if r.name == "_ZNSs4_Rep20_S_empty_rep_storageE"]
    assert [(r.library, r.version) for r in rep] == [("libstdc++.so.6", "GLIBCXX_3.4")], rep
    assert "_ZNSs4_Rep20_S_empty_rep_storageE" not in info.symbols.defined


def _buildwheel(project: Path, tmp_path: Path, test_command: str
                ) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """``crossenv buildwheel`` on a copy of tests/sources/PROJECT for cp311 aarch64 with
    cibuildwheel's variables only (the project unchanged), manylinux2014 requested."""
    src = Path(shutil.copytree(SOURCES / project, tmp_path / project))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    environ.update(CIBW_BUILD="cp311-*", CIBW_MANYLINUX_AARCH64_IMAGE="manylinux2014",
                   CIBW_TEST_COMMAND=test_command)
    proc = subprocess.run([*crossenv_cmd(), "buildwheel", src, "--archs", "aarch64",
                           "--output-dir", tmp_path / "wheelhouse"], env=environ, text=True,
                          capture_output=True, timeout=1800)
    report = json.loads((tmp_path / "wheelhouse" / "buildwheel-report.json").read_text())
    return proc, report


@pytest.mark.integration
@pytest.mark.slow(minutes=2)
def test_buildwheel_gives_manylinux2014_cxx_whose_exceptions_cross_modules(
        tmp_path: Path, arm64_sysroot: provision.Sysroot) -> None:
    """One command, the project unchanged, manylinux2014 on request: toolchain "auto" is
    gcc with libstdc++ linked for the policy (zig's static libc++ would build too, but
    an exception thrown in _thrower would not be caught by type in _catcher)."""
    (tmp_path / "pairtest.py").write_text(PAIR_TEST)
    proc, report = _buildwheel("pybind-skbuild", tmp_path,
                               f"python {tmp_path / 'pairtest.py'} skpair")
    (row,) = report["identifiers"]  # type: ignore[index]
    log = Path(row["log"]).read_text()
    assert row["result"] == "ok", (proc.stderr[-2000:], log[-4000:])
    assert "manylinux2014_aarch64" in row["wheel"] and "exceptions ok skpair" in log
    assert log.count("=== create") == 1 and "only glibc symbols are too new" not in log


@pytest.mark.integration
@pytest.mark.slow(minutes=2)
def test_auto_builds_again_with_zig_for_too_new_glibc_symbols(
        tmp_path: Path, arm64_sysroot: provision.Sysroot) -> None:
    """tests/sources/statcall calls stat(), stat@GLIBC_2.33 with bookworm's headers:
    gcc's wheel is refused for manylinux2014 and the identifier is built again with zig,
    from a fresh copy of the tree (setuptools took gcc's objects in build/ as up to
    date, and the second wheel was gcc's again), and it ships, checked and tested."""
    proc, report = _buildwheel("statcall", tmp_path,
                               "python -c \"import statcall, sys; "
                               "print('statcall ok', statcall.size(sys.executable) > 0)\"")
    (row,) = report["identifiers"]  # type: ignore[index]
    log = Path(row["log"]).read_text()
    assert "stat64@GLIBC_2.33" in log and "only glibc symbols are too new" in log, log[-4000:]
    assert log.count("=== create") == 2 and log.count("=== build") == 2
    second = log.split("only glibc symbols are too new", 1)[1]
    assert "source-zig" in second and " -c src/statcall/_stat.c " in second, second[:4000]
    assert proc.returncode == 0 and row["result"] == "ok", proc.stderr[-2000:]
    (wheel,) = (tmp_path / "wheelhouse").glob("*.whl")
    assert "statcall ok True" in log and excesses(wheel, "aarch64", (2, 17)) == []
