"""Untrusted host data: refused with one line and exit 2 before anything is made, or
written so that every generated file means exactly the host's value.

Each reproduced injection of issue 10 has a test here (a CMake ``execute_process``
through MULTIARCH, PyO3 keys through LIBDIR, a linker script or overlay symlink
outside ENV, ``-wrapper`` in CFLAGS, unparsable or endless sysconfigdata), then
property-based tests run the parsers and generators on arbitrary host values.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crossenv import backends, cli, crossconfig, quoting, sysconfigdata, validate
from crossenv import host as host_mod
from crossenv.backends import cargo, meson
from crossenv.create import _include_overlay
from crossenv.errors import CrossenvError, HostError
from crossenv.model import Layout, Options, Toolchain
from helpers import crossenv_cmd, error_line, recorded_sysconfigdata, require, run

PROPS = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


def arm64_vars(**changes: object) -> dict[str, object]:
    values = sysconfigdata.load(recorded_sysconfigdata("arm64"))
    values.update(changes)
    return values


def host_tree(root: Path, values: dict[str, object] | None = None, *, text: str | None = None,
              ) -> Path:
    """SYSROOT/usr/lib/python3.11/_sysconfigdata_*.py with *values* (or raw *text*)."""
    stdlib = root / "usr" / "lib" / "python3.11"
    stdlib.mkdir(parents=True, exist_ok=True)
    path = stdlib / "_sysconfigdata__linux_aarch64-linux-gnu.py"
    path.write_text(text if text is not None else sysconfigdata.render(values or arm64_vars()),
                    encoding="utf-8")
    return path


def refused(capsys: pytest.CaptureFixture[str], *argv: object) -> str:
    """Run the real command line in-process: exit 2, one line, no traceback."""
    status = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    return error_line(status, err)


def created(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# -- the reproduced injections -----------------------------------------------------------------

CMAKE_BREAKOUT = ")\nexecute_process(COMMAND touch {marker})\nset(X "


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("MULTIARCH", "aarch64-linux-gnu" + CMAKE_BREAKOUT, "MULTIARCH"),
    ("HOST_GNU_TYPE", "aarch64-linux-gnu" + CMAKE_BREAKOUT, "HOST_GNU_TYPE"),
    ("MACHDEP", "linux" + CMAKE_BREAKOUT, "MACHDEP"),
    ("LIBDIR", "/usr/lib\nextra_build_script_line=cargo:rustc-link-arg=-Wl,-x", "LIBDIR"),
    ("ABIFLAGS", "\nextra_build_script_line=cargo:warning=x", "ABIFLAGS"),
    ("HOST_GNU_TYPE", "../../../../tmp/evil-linux-gnu", "HOST_GNU_TYPE"),
    ("MULTIARCH", "../../../../../../home/user/.local/lib/python3.11/site-packages",
     "MULTIARCH"),
    ("ABIFLAGS", "/../../../../x", "ABIFLAGS"),
    ("INCLUDEPY", "/usr/include/../../../../etc", "leaves the sysroot"),
    ("INCLUDEPY", "/usr/include/python3.11\"; touch x", "characters"),
    ("SOABI", "cpython-311/../x", "SOABI"),
    ("EXT_SUFFIX", ".so\nx", "EXT_SUFFIX"),
    ("INSTSONAME", "../../libpython3.11.so", "library name"),
    ("LDLIBRARY", "../../../../tmp/libpython3.11.so", "LDLIBRARY"),
    ("LIBPL", "/usr/lib/../../../../etc", "leaves the sysroot"),
    ("LIBPC", "/usr/lib/pkgconfig\";x", "characters"),
    ("CONFINCLUDEPY", "/usr/include/python3.11 $(touch {marker})", "characters"),
    ("LIBDEST", "usr/lib/python3.11", "not an absolute path"),
    ("prefix", "/usr\nx", "prefix"),
    ("prefix", "usr", "prefix"),
    ("SIZEOF_VOID_P", "abc", "SIZEOF_VOID_P"),
    ("SIZEOF_VOID_P", 10**18, "SIZEOF_VOID_P"),
    ("CFLAGS", "-O2 -wrapper /bin/sh,-c,touch${IFS}{marker}", "-wrapper"),
    ("LDFLAGS", "-Wl,-plugin,/tmp/evil.so", "-plugin"),
    ("LDSHARED", "gcc -shared -fplugin=/tmp/evil.so", "-fplugin"),
    ("CFLAGS", "--specs=/tmp/evil.specs", "--specs"),
    ("CCSHARED", "-fPIC -B/tmp/evil/", "-B/tmp/evil/"),
    ("OPT", "@/tmp/more-args", "@/tmp/more-args"),
    ("LINKFORSHARED", "-Xlinker -plugin -Xlinker /tmp/x.so", "-Xlinker -plugin"),
    # flags that write files or switch the sysroot (issue 21)
    ("LDFLAGS", "-Wl,-O1 -Wl,-o,{marker}", "-Wl,-o,"),
    ("LDFLAGS", "-Wl,--output={marker}", "-Wl,--output="),
    ("CFLAGS", "-O2 -MF {marker}", "-MF"),
    ("CFLAGS", "-Wp,-MD,{marker}", "-Wp,-MD,"),
    ("CFLAGS", "-Wa,--MD,{marker}", "-Wa,--MD,"),
    ("LDSHARED", "gcc -shared -Wl,-Map={marker}", "-Wl,-Map="),
    ("LDFLAGS", "-Wl,--dependency-file={marker}", "-Wl,--dependency-file="),
    ("CFLAGS", "-O2 -save-temps", "-save-temps"),
    ("CFLAGS", "-O2 --sysroot=/", "--sysroot=/"),
    ("CPPFLAGS", "-isysroot /", "-isysroot"),
    ("LINKFORSHARED", "-Xlinker -Map=/tmp/x", "-Xlinker -Map="),
])
def test_bad_host_value_is_refused_before_anything_is_made(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: object,
        fragment: str) -> None:
    marker = tmp_path / "ran"
    if isinstance(value, str):
        value = value.replace("{marker}", str(marker))
    data = host_tree(tmp_path / "sysroot", arm64_vars(**{key: value}))
    before = created(tmp_path)
    line = refused(capsys, data, tmp_path / "env")
    assert fragment in line
    assert created(tmp_path) == before  # no ENV, no staging directory, no linker script
    assert not marker.exists()


def test_bad_machine_option_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       ) -> None:
    data = host_tree(tmp_path / "sysroot")
    line = refused(capsys, data, tmp_path / "env", "--machine", "../../x")
    assert "--machine" in line
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("platform", ["linux-../../../tmp/x", "linux-aarch64\nx", "linux"])
def test_bad_build_details_platform_is_refused(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               platform: str) -> None:
    path = tmp_path / "build-details.json"
    path.write_text(json.dumps(_build_details(platform=platform)))
    assert "platform" in refused(capsys, path, tmp_path / "env")
    assert not (tmp_path / "env").exists()


def test_dangerous_flags_pass_when_the_user_vouches(tmp_path: Path) -> None:
    data = host_tree(tmp_path / "sysroot", arm64_vars(CFLAGS="-O2 -wrapper /bin/true"))
    with pytest.raises(HostError, match="--trust-host-flags"):
        host_mod.describe(data)
    assert host_mod.describe(data, trust_host_flags=True).config_vars["CFLAGS"].endswith("true")
    assert host_mod.describe(data, overridden={"CFLAGS"}).machine == "aarch64"
    args = cli.build_create_parser().parse_args([str(data), "env", "--trust-host-flags"])
    assert args.trust_host_flags


def test_trust_host_flags_creates_a_real_env(tmp_path: Path, arm64_sysroot: Any,
                                             aarch64_gcc: str) -> None:
    """End to end: refused without the option, created (flag kept) with it."""
    python = Path(arm64_sysroot.python)
    found = sorted((python.parent.parent / "lib").glob("python3.*/_sysconfigdata_*.py"))
    require(found, "the provisioned sysroot has a sysconfigdata")
    values = sysconfigdata.load(found[0])
    values["CFLAGS"] = f"{values['CFLAGS']} -B{arm64_sysroot.root}/usr/lib/gcc-cross"
    data = tmp_path / "_sysconfigdata_flags.py"
    data.write_text(sysconfigdata.render(values))
    options = ["--sysconfigdata-file", data]
    proc = subprocess.run([*crossenv_cmd(), *map(str, [python, tmp_path / "refused", *options])],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--trust-host-flags" in proc.stderr, proc.stderr
    assert not (tmp_path / "refused").exists()
    run([*crossenv_cmd(), python, tmp_path / "env", *options, "--trust-host-flags"])
    cross_data = (tmp_path / "env/cross/crossenv/_crossenv_sysconfigdata.py").read_text()
    assert "-B" in sysconfigdata.parse(cross_data)["CFLAGS"]


# -- robust input handling ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fragment"), [
    ("build_time_vars = {'VERSION': " + "[" * 10000 + "]" * 10000 + "}", "syntax error"),
    ("build_time_vars = {'VERSION': " + "-" * 100000 + "1}", "nested"),
    ("build_time_vars = {'VERSION': 1" + "+1" * 50000 + "}", "nested"),
    ("build_time_vars = 1" + "+1" * 50000, "nested"),  # the same message on 3.9 .. 3.13
    ("build_time_vars = {'VERSION': 1" + "+1" * 50 + "}", "not a plain literal"),
    ("build_time_vars = {['VERSION']: '3.11'}", "not a dict of names"),
    ("build_time_vars = {'VERSION': {[1]: 2}}", "not a plain literal"),
    ("build_time_vars = {'VERSION': '3.11', 'X': 1e999}", "not a finite number"),
    ("build_time_vars = {'VERSION': '3.11', 'X': -1e999}", "not a finite number"),
    ("build_time_vars = {'VERSION': '3.11', 'X': 1" + "0" * 5000 + "}", "syntax error"),
    ("build_time_vars = {'VERSION': '3.11', 'X': 10**30}", "not a plain literal"),
    ("build_time_vars = {'VERSION': '3.11', 'X': 1" + "0" * 30 + "}", "out of range"),
    ("build_time_vars = {'VERSION': '3.11', 'X': b'x'}", "not a plain literal"),
    ("build_time_vars = {'VERSION': '3.11', 'X': 1j}", "not a plain literal"),
])
def test_unparsable_sysconfigdata_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              text: str, fragment: str) -> None:
    data = host_tree(tmp_path / "sysroot", text=text)
    assert fragment in refused(capsys, data, tmp_path / "env")
    assert not (tmp_path / "env").exists()


def _special_files(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    stdlib = tmp_path / "usr" / "lib" / "python3.11"
    stdlib.mkdir(parents=True)
    zero = stdlib / "_sysconfigdata__linux_zero.py"
    zero.symlink_to("/dev/zero")
    yield "zero-in-prefix", tmp_path / "usr"
    zero.unlink()
    fifo = stdlib / "_sysconfigdata__linux_fifo.py"
    os.mkfifo(fifo)
    yield "fifo-in-prefix", tmp_path / "usr"
    yield "fifo-named", fifo
    fifo.unlink()
    big = stdlib / "_sysconfigdata__linux_big.py"
    with big.open("wb") as fh:
        fh.truncate(validate.MAX_FILE_BYTES + 1)
    yield "too-big", big


def test_devices_fifos_and_huge_files_are_refused(tmp_path: Path) -> None:
    for label, source in _special_files(tmp_path):
        env = tmp_path / f"env-{label}"
        proc = subprocess.run([*crossenv_cmd(), str(source), str(env)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2, (label, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "regular file" in proc.stderr or "larger than" in proc.stderr, proc.stderr
        assert not env.exists()


def _build_details(**changes: object) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": "1.0", "base_prefix": "/usr", "platform": "linux-aarch64",
        "language": {"version": "3.11"},
        "implementation": {"name": "cpython", "_multiarch": "aarch64-linux-gnu"},
        "abi": {"flags": [], "extension_suffix": ".cpython-311-aarch64-linux-gnu.so"},
        "c_api": {"headers": "/usr/include/python3.11"},
        "libpython": {"dynamic": "/usr/lib/aarch64-linux-gnu/libpython3.11.so.1.0"},
    }
    doc.update(changes)
    return doc


@pytest.mark.parametrize("changes", [
    {"abi": {"flags": 7}}, {"abi": {"flags": [1, 2]}}, {"abi": []}, {"language": "3.11"},
    {"language": {"version": 3.11}}, {"libpython": {"dynamic": ["x"]}}, {"c_api": None},
    {"implementation": {"_multiarch": 5}}, {"base_prefix": None}, {"platform": 1},
    {"abi": {"extension_suffix": {"x": 1}}},
])
def test_wrong_types_in_build_details_are_one_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   changes: dict[str, Any]) -> None:
    path = tmp_path / "build-details.json"
    path.write_text(json.dumps(_build_details(**changes)))
    assert "build-details.json" in refused(capsys, path, tmp_path / "env")
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("text", ["[" * 100000 + "]" * 100000, '{"x": 1e999}', '{"x": NaN}',
                                  '"just a string"', "{"])
def test_unparsable_build_details_is_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "build-details.json"
    path.write_text(text)
    with pytest.raises(HostError, match=r"not a PEP 739 build-details\.json") as info:
        host_mod.from_build_details(path)
    assert "\n" not in str(info.value)


# -- the checks themselves ---------------------------------------------------------------------

@pytest.mark.parametrize("words", [
    ["-wrapper", "/bin/sh,-c,id"], ["-fplugin=/x.so"], ["-fplugin-arg-x-y=z"], ["-B/x"],
    ["-B", "/x"], ["--specs=/x"], ["-specs=/x"], ["@/x"], ["-Wl,-plugin,/x.so"],
    ["-Wl,--plugin=/x.so"], ["-Xlinker", "-plugin"], ["-Xlinker", "@/x"], ["-Wl,@/x"],
    ["--for-linker=-plugin"], ["-Wp,-fplugin=/x.so"], ["-Xpreprocessor", "-fplugin=/x"],
    ["-fuse-ld=/tmp/ld"], ["--ld-path=/tmp/ld"], ["-Xclang", "-load"], ["-fpass-plugin=/x"],
    ["--gcc-toolchain=/x"], ["-ccc-install-dir", "/x"], ["--prefix=/x"],
])
def test_flags_that_run_programs(words: list[str]) -> None:
    assert validate.dangerous_flag(words) is not None


@pytest.mark.parametrize("words", [
    ["-Wl,-o,/x"], ["-Wl,--output=/x"], ["-MF", "/x"], ["-MF/x"], ["-Wp,-MD,/x"],
    ["-Wp,-MMD,/x"], ["-Wa,--MD,/x"], ["-Wa,-adhln=/x"], ["-Wl,-Map=/x"], ["-Wl,-Map,/x"],
    ["-Wl,--dependency-file=/x"], ["-save-temps"], ["-save-temps=obj"], ["--sysroot=/"],
    ["--sysroot", "/"], ["-isysroot", "/"], ["-Xlinker", "-o"], ["-Xlinker", "--Map=/x"],
    ["-Xpreprocessor", "-MF"], ["-Xassembler", "--MD"], ["-o", "/x"], ["-fdump-tree-all"],
    ["-fopt-info-vec=/x"], ["-Wl,--out-implib=/x"], ["--for-linker=--output=/x"],
])
def test_flags_that_write_files_or_switch_the_sysroot(words: list[str]) -> None:
    assert validate.writing_flag(words) is not None
    validate.compiler_flags({"CFLAGS": " ".join(words)}, trusted=True)  # the user vouches
    with pytest.raises(HostError, match="--trust-host-flags"):
        validate.compiler_flags({"CFLAGS": " ".join(words)})


@pytest.mark.parametrize("words", [
    ["-O2", "-g", "-fPIC", "-Wl,-O1", "-Wl,-Bsymbolic-functions", "-fstack-protector-strong"],
    ["-Xlinker", "-export-dynamic"], ["-fuse-ld=lld"], ["-D_FORTIFY_SOURCE=2", "-I/usr/x"],
    ["-DMULTIARCH=\\\"aarch64-linux-gnu\\\""], ["-lpython3.11", "-Wl,--as-needed"],
    ["-MD", "-MMD", "-Wa,--noexecstack", "-Wl,-z,relro", "-Wl,-soname,libx.so.1",
     "-ffile-prefix-map=/build/python3.11=.", "-Wl,-O1", "-fopt-info-vec"],
])
def test_ordinary_flags_pass(words: list[str]) -> None:
    assert validate.dangerous_flag(words) is None
    assert validate.writing_flag(words) is None


@pytest.mark.parametrize("arch", ["arm64", "armhf", "s390x", "ppc64el", "i386"])
def test_real_debian_data_passes_every_check(arch: str) -> None:
    values = sysconfigdata.load(recorded_sysconfigdata(arch))
    validate.compiler_flags(values)
    host_mod.describe(recorded_sysconfigdata(arch))


def test_inside_refuses_names_that_leave(tmp_path: Path) -> None:
    root = tmp_path / "env"
    root.mkdir()
    assert validate.inside(root, "a-linker") == root / "a-linker"
    for bad in ("..", "../x", "a/b", "", ".", "x\0y"):
        with pytest.raises(HostError, match="refusing to write"):
            validate.inside(root, bad)
    (root / "out").symlink_to(tmp_path)  # a planted link cannot redirect a write
    with pytest.raises(HostError, match="outside"):
        validate.inside(root, "out", "x")


def _chain(sysroot: Path) -> Toolchain:
    return Toolchain(kind="gnu", triplet="aarch64-linux-gnu",
                     cc=("aarch64-linux-gnu-gcc", f"--sysroot={sysroot}"),
                     cxx=("aarch64-linux-gnu-g++", f"--sysroot={sysroot}"),
                     ar=("aarch64-linux-gnu-gcc-ar",), sysroot=sysroot)


def test_writers_check_paths_even_for_unvalidated_descriptions(tmp_path: Path) -> None:
    """Defence in depth: a description that bypassed validation still writes inside ENV."""
    good = host_mod.describe(host_tree(tmp_path / "sysroot"))
    stage = tmp_path / "stage" / "crossenv"
    stage.mkdir(parents=True)
    layout = Layout(env=tmp_path / "stage", cross=tmp_path / "stage")
    evil = dataclasses.replace(good, sysconfigdata_name="_sysconfigdata_../../../../x")
    with pytest.raises(HostError, match="refusing to write"):
        backends.make(stage, layout, evil, _chain(good.sysroot or tmp_path), Options(),
                      ["cargo"])
    # the Rust target (and so the linker's file name) comes from crossenv.arches, not the host
    evil = dataclasses.replace(good, host_gnu_type="aarch64-unknown-linux-../../../../x")
    assert cargo.rust_target(evil) == "aarch64-unknown-linux-gnu"
    evil = dataclasses.replace(good, multiarch="../../../../..",
                               platinclude_dir=tmp_path / "sysroot/usr/include/x/python3.11")
    with pytest.raises(HostError, match="refusing to write"):
        _include_overlay(evil, stage / "include")
    assert created(tmp_path / "stage") == ["crossenv"]


# -- property-based: parsers -------------------------------------------------------------------

_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=12)
_bd_paths = st.sampled_from(["base_prefix", "platform", "language", "language.version", "abi",
                             "abi.flags", "abi.extension_suffix", "implementation._multiarch",
                             "c_api.headers", "libpython.dynamic", "libpython"])


@PROPS
@given(path=_bd_paths, value=_json)
def test_build_details_parser_refuses_or_describes(path: str, value: object) -> None:
    doc = _build_details()
    node = doc
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "build-details.json"
        file.write_text(json.dumps(doc))
        try:
            host = host_mod.from_build_details(file)
        except HostError as exc:
            assert "\n" not in str(exc)
            return
        assert validate.MACHINE.fullmatch(host.machine)
        assert validate.TRIPLET.fullmatch(host.host_gnu_type)


_source_atoms = st.one_of(
    st.text(max_size=10).map(repr), st.integers().map(str), st.floats().map(repr),
    st.sampled_from(["1e999", "-1e999", "1j", "b'x'", "None", "True", "x", "__import__('os')",
                     "...", "f'{1}'", "1+1", "(1,)", "{1, 2}", "[]", "{}"]))
_source = st.recursive(_source_atoms, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.lists(st.tuples(inner, inner), max_size=3).map(
        lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}")), max_leaves=12)


@PROPS
@given(body=_source, keys=st.lists(st.text(max_size=8), max_size=3))
def test_sysconfigdata_parser_refuses_or_reads_plain_values(body: str, keys: list[str]) -> None:
    text = "build_time_vars = {" + "".join(f"{k!r}: {body}, " for k in keys) + \
        f"'VERSION': {body}}}\n"
    try:
        values = sysconfigdata.parse(text)
    except HostError as exc:
        assert "\n" not in str(exc)
        return
    assert all(v is None or isinstance(v, (str, int, float)) for v in values.values())
    assert sysconfigdata.parse(sysconfigdata.render(values)) == values


@PROPS
@given(values=st.dictionaries(st.text(max_size=10), st.one_of(
    st.text(max_size=30), st.integers(-(2**62), 2**62), st.floats(allow_nan=False),
    st.booleans(), st.none()), max_size=8))
def test_sysconfigdata_render_round_trips_or_refuses(values: dict[str, object]) -> None:
    try:
        text = sysconfigdata.render(values, header="from /a\nb\udc80")
    except quoting.QuotingError:
        assert any(isinstance(v, float) and v in (float("inf"), float("-inf"))
                   for v in values.values())
        return
    assert sysconfigdata.parse(text) == values


# -- property-based: generators ----------------------------------------------------------------

SPECIAL = st.sampled_from(["\n", ")", '"', "'", "$", "${X}", "..", "/", ";", "@DIRNAME@", " ",
                           "\\", "\r", "\0", "=", "#", "\udc80", "é"])


def _hostile(plausible: list[Any]) -> st.SearchStrategy[Any]:
    """A plausible value with special characters (and arbitrary text) spliced in."""
    return st.tuples(st.sampled_from([p for p in plausible if isinstance(p, str)]),
                     st.lists(st.one_of(SPECIAL, st.text(max_size=4)), min_size=1, max_size=3),
                     st.text(max_size=6)).map(lambda t: t[0] + "".join(t[1]) + t[2])


HOST_VALUES = {
    "HOST_GNU_TYPE": ["aarch64-unknown-linux-gnu", "arm-unknown-linux-gnueabihf",
                      "riscv64-unknown-linux-gnu", "s390x-ibm-linux-gnu"],
    "MULTIARCH": ["aarch64-linux-gnu", "arm-linux-gnueabihf", "", "riscv64-linux-gnu"],
    "MACHDEP": ["linux", "freebsd13"],
    "ABIFLAGS": ["", "d", "t", "dt"],
    "SOABI": ["cpython-311-aarch64-linux-gnu", "cpython-311t-x"],
    "EXT_SUFFIX": [".cpython-311-aarch64-linux-gnu.so", ".so"],
    "LIBDIR": ["/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/lib/a@DIRNAME@b"],
    "INCLUDEPY": ["/usr/include/python3.11", "/usr/include/py+3,x=y"],
    "prefix": ["/usr", "/usr/local"],
    "SIZEOF_VOID_P": [8, 4, "8", 0],
    "CFLAGS": ["-O2 -g", "-O2 -g -fPIC", "-g", "-O2 -wrapper /bin/sh,-c,id"],
}
# Plausible values everywhere, and up to two keys made hostile.
_host_values = st.tuples(
    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in HOST_VALUES.items()}),
    st.dictionaries(st.sampled_from(sorted(HOST_VALUES)), st.none(), max_size=2),
    st.data()).map(lambda t: (t[0], sorted(t[1]), t[2]))


@pytest.fixture(scope="module")
def gen_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gen")


def _cmake_vars(toolchain: Path, names: list[str], workdir: Path) -> dict[str, str]:
    script = workdir / "read.cmake"
    lines = [f"include({quoting.cmake(str(toolchain))})"]
    lines += [f'file(WRITE "{workdir}/{n}.txt" "${{{n}}}")' for n in names]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run([shutil.which("cmake") or "cmake", "-P", str(script)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return {n: (workdir / f"{n}.txt").read_text(encoding="utf-8") for n in names}


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=_host_values)
def test_generators_refuse_or_write_the_value_intact(gen_root: Path, drawn: Any) -> None:
    changes, hostile, draw_data = drawn
    for key in hostile:
        changes[key] = draw_data.draw(_hostile(HOST_VALUES[key]), label=key)
    require(shutil.which("cmake"), "cmake is needed to read the toolchain file back")
    require(importlib.util.find_spec("mesonbuild"), "meson is needed (pip install -e '.[test]')")
    from mesonbuild import machinefile
    with tempfile.TemporaryDirectory(dir=gen_root) as tmp:
        work = Path(tmp)
        sysroot = work / "sys root"
        marker = work / "ran"
        changes = {k: v.replace("id", f"touch {marker}") if isinstance(v, str) else v
                   for k, v in changes.items()}
        data = host_tree(sysroot, arm64_vars(**changes))
        try:
            host = host_mod.describe(data, sysroot=sysroot)
        except CrossenvError as exc:
            event("refused by validation")
            assert "\n" not in str(exc)
            assert sorted(p.name for p in work.iterdir()) == ["sys root"]
            return
        env = work / "env"
        stage = env / "cross" / "crossenv"
        stage.mkdir(parents=True)
        layout = Layout(env=env, cross=env / "cross")
        chain = _chain(sysroot)
        try:
            written = backends.make(stage, layout, host, chain, Options(),
                                    ["meson", "cmake", "cargo"])
            config_vars = crossconfig.host_config_vars(host, chain, cross_prefix=layout.cross)
            sysdata = crossconfig.render_sysconfigdata(config_vars, host)
        except quoting.QuotingError as exc:  # a value the format cannot hold: refused
            event("refused by quoting")
            assert "\n" not in str(exc)
            return
        event("generated")
        # nothing outside ENV
        assert sorted(p.name for p in work.iterdir()) == ["env", "sys root"]
        assert not marker.exists()

        got = _cmake_vars(Path(written["CMAKE_TOOLCHAIN_FILE"]),
                          ["CMAKE_SYSTEM_NAME", "CMAKE_SYSTEM_PROCESSOR", "CMAKE_SYSROOT",
                           "CMAKE_LIBRARY_ARCHITECTURE", "Python_SOABI", "Python_INCLUDE_DIR",
                           "PYTHON_MODULE_EXTENSION"], work)
        assert got["CMAKE_SYSTEM_NAME"] == host.system
        assert got["CMAKE_SYSTEM_PROCESSOR"] == host.machine
        assert got["CMAKE_SYSROOT"] == str(sysroot)
        assert got["CMAKE_LIBRARY_ARCHITECTURE"] == (host.multiarch or "")
        assert got["Python_SOABI"] == host.soabi
        assert got["Python_INCLUDE_DIR"] == str(host.include_dir)
        assert got["PYTHON_MODULE_EXTENSION"] == host.ext_suffix
        assert not marker.exists()

        cross = machinefile.MachineFileParser([written["CROSSENV_MESON_CROSS_FILE"]],
                                              str(work)).sections
        assert cross["host_machine"]["cpu"] == host.machine
        assert cross["host_machine"]["system"] == host.system.lower()
        assert cross["properties"]["sys_root"] == str(sysroot)
        assert cross["properties"]["pkg_config_libdir"] == meson.pkg_config_libdirs(host)

        if written.get("PYO3_CONFIG_FILE"):
            lines = Path(written["PYO3_CONFIG_FILE"]).read_text(encoding="utf-8")
            pyo3 = dict(line.split("=", 1) for line in lines.splitlines())
            assert pyo3 == cargo.pyo3_config(host)
            assert pyo3["lib_name"] == f"python3.11{host.abiflags}"

        assert sysconfigdata.parse(sysdata) == config_vars


@PROPS
@given(value=st.text(max_size=30), op=st.sampled_from(["=", "+=", "?=", ":="]))
def test_env_lines_are_read_back_by_sh(value: str, op: str) -> None:
    from crossenv import scripts

    try:
        text = scripts.env_lines([("CROSSENV_TEST_VAR", op, value)])
    except quoting.QuotingError:
        assert "\0" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "env.sh"
        path.write_text(text, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "CROSSENV_TEST_VAR"}
        proc = subprocess.run(["sh", "-c", '. "$1"; printf %s "$CROSSENV_TEST_VAR"', "sh",
                               str(path)], capture_output=True, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.decode("utf-8") == value
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["env.sh"]


def test_describe_names_and_takes_trust_host_flags(tmp_path: Path) -> None:
    """The refusal's advice holds for ``crossenv describe`` too."""
    data = host_tree(tmp_path / "sysroot", arm64_vars(CFLAGS="-O2 -wrapper /bin/true"))
    proc = subprocess.run([*crossenv_cmd(), "describe", str(data)], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "--trust-host-flags" in proc.stderr, proc.stderr
    out = run([*crossenv_cmd(), "describe", data, "--trust-host-flags"]).stdout
    assert json.loads(out)["machine"] == "aarch64"
