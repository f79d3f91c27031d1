"""Compiler launchers: validation, the wrapper's exec, ccache hits, distcc.

The launchers are the real programs (Debian's ccache and distcc), the compiler is
the real cross gcc, and the cache counters are ccache's own (``--print-stats``; the
sccache parser reads output captured from sccache 0.4). Each cache lives in the
test's temporary directory. distcc compiles on a distccd this module starts on 127.0.0.1
(rootless: the cross compiler is allowed through ``DISTCC_CMDLIST``), with local
fallback off, so a build that passes really compiled on the "worker".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import Target, crossenv_cmd, recorded_sysconfigdata, require, run, unpack_wheels
from crossenv import host, launcher
from crossenv.backends import cargo, compilerwrap
from crossenv.model import Toolchain

SAFE = string.ascii_letters + string.digits + "_./+,:=@%-"


def _clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without the user's cache or launcher settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CCACHE_", "SCCACHE_", "DISTCC_")) and k != launcher.ENV_VAR}
    env.update(extra)
    return env


# -- validation --------------------------------------------------------------------------------


def _program(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\nexec \"$@\"\n")
    path.chmod(0o755)
    return path


def test_parse_resolves_the_program(tmp_path: Path) -> None:
    tool = _program(tmp_path, "cachetool")
    assert launcher.parse("cachetool", path=str(tmp_path)) == (str(tool),)
    assert launcher.parse(f"  {tool}  --flag=1 ", path="") == (str(tool), "--flag=1")
    assert launcher.parse("   ") == ()


@pytest.mark.parametrize("spec", ["ccache;rm -rf ~", "ccache $(id)", "ccache `id`", "'ccache'",
                                  "ccache|tee", "ccache >x", "cc*", "ccache\nid", "ccache&"])
def test_parse_refuses_shell_syntax(spec: str) -> None:
    with pytest.raises(launcher.LauncherError, match="is not allowed"):
        launcher.parse(spec)


def test_parse_refuses_missing_and_relative_programs(tmp_path: Path) -> None:
    with pytest.raises(launcher.LauncherError, match="not an executable program on PATH"):
        launcher.parse("no-such-launcher-here", path=str(tmp_path))
    with pytest.raises(launcher.LauncherError, match="relative path"):
        launcher.parse("./ccache")
    (tmp_path / "plain").write_text("not executable")
    with pytest.raises(launcher.LauncherError, match="not an executable program"):
        launcher.parse(str(tmp_path / "plain"))


@given(st.lists(st.text(alphabet=SAFE, min_size=1, max_size=12), max_size=4),
       st.text(min_size=1, max_size=3).filter(lambda t: any(c not in SAFE and not c.isspace()
                                                             for c in t)))
def test_parse_accepts_only_plain_words(words: list[str], bad: str) -> None:
    """Any word holding a character outside the plain set is refused, wherever it is."""
    directory = Path(tempfile.gettempdir())
    spec = " ".join(["sh", *words, bad])
    with pytest.raises(launcher.LauncherError):
        launcher.parse(spec, path=str(directory))
    parsed = launcher.parse(" ".join(["sh", *words]))
    assert parsed[1:] == tuple(words) and os.path.isabs(parsed[0])


def test_resolve_prefers_the_option(tmp_path: Path) -> None:
    tool = _program(tmp_path, "cachetool")
    other = _program(tmp_path, "othertool")
    env = {"PATH": str(tmp_path), launcher.ENV_VAR: "othertool"}
    assert launcher.resolve("cachetool", env) == (str(tool),)
    assert launcher.resolve(None, env) == (str(other),)
    assert launcher.resolve(None, {**env, launcher.ENV_VAR: ""}) == ()
    assert launcher.resolve("", env) == ()
    with pytest.raises(launcher.LauncherError, match=launcher.ENV_VAR):
        launcher.resolve(None, {**env, launcher.ENV_VAR: "x;y"})


def test_remote_launchers_name_the_compiler(tmp_path: Path) -> None:
    gcc = _program(tmp_path, "xgcc")
    distcc = ("/usr/bin/distcc",)
    assert launcher.compiler_word(distcc, str(gcc), path=str(tmp_path)) == "xgcc"
    assert launcher.compiler_word(("/usr/bin/ccache",), str(gcc)) == str(gcc)
    with pytest.raises(launcher.LauncherError, match="by name on its workers"):
        launcher.compiler_word(distcc, str(gcc), path="")
    with pytest.raises(launcher.LauncherError, match="zig cc"):
        launcher.check(distcc, "zig", "/x/zig")


def test_pyproject_launcher(tmp_path: Path) -> None:
    _program(tmp_path, "cachetool")
    assert launcher.from_pyproject(tmp_path) == ()
    (tmp_path / "pyproject.toml").write_text("[tool.crossenv]\ncompiler-launcher = 'sh'\n")
    assert launcher.from_pyproject(tmp_path) == (shutil.which("sh"),)
    (tmp_path / "pyproject.toml").write_text("[tool.crossenv]\ncompiler-launcher = ['sh']\n")
    with pytest.raises(launcher.LauncherError, match="must be a string"):
        launcher.from_pyproject(tmp_path)


def test_bad_launcher_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    env = tmp_path / "env"
    proc = subprocess.run([*crossenv_cmd(), "--compiler-launcher", "ccache;id",
                           recorded_sysconfigdata("arm64"), env], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--compiler-launcher" in proc.stderr
    assert "Traceback" not in proc.stderr and not env.exists()
    proc = subprocess.run([*crossenv_cmd(), recorded_sysconfigdata("arm64"), env],
                          capture_output=True, text=True,
                          env={**os.environ, launcher.ENV_VAR: "no-such-launcher-here"})
    assert proc.returncode == 2 and launcher.ENV_VAR in proc.stderr and not env.exists()


# -- statistics parsers --------------------------------------------------------------------------

COUNTER = st.sampled_from(["direct_cache_hit", "preprocessed_cache_hit", "cache_miss",
                           "called_for_link", "files_in_cache", "compile_failed"])


@given(st.dictionaries(COUNTER, st.integers(0, 10**9)))
def test_ccache_stats_parser(counters: dict[str, int]) -> None:
    text = "".join(f"{k}\t{v}\n" for k, v in counters.items()) + "stats_zeroed_timestamp\t0\n"
    stats = launcher.parse_ccache_stats(text)
    assert stats.hits == counters.get("direct_cache_hit", 0) + counters.get(
        "preprocessed_cache_hit", 0)
    assert stats.misses == counters.get("cache_miss", 0)
    assert stats.uncacheable == counters.get("called_for_link", 0) + counters.get(
        "compile_failed", 0)
    assert (stats - stats).hits == 0 and (stats - stats).misses == 0


SCCACHE_SAMPLE = {  # sccache 0.4 --show-stats --stats-format=json, abridged
    "stats": {"compile_requests": 5, "requests_unsupported_compiler": 0,
              "requests_not_compile": 2, "requests_not_cacheable": 1,
              "cache_hits": {"counts": {"C/C++": 3, "Rust": 1}},
              "cache_misses": {"counts": {"C/C++": 1}},
              "cache_write_duration": {"secs": 4, "nanos": 5}, "not_cached": {}},
    "cache_location": "Local disk", "cache_size": 518}


def test_sccache_stats_parser() -> None:
    stats = launcher.parse_sccache_stats(json.dumps(SCCACHE_SAMPLE))
    assert (stats.hits, stats.misses, stats.uncacheable) == (4, 1, 3)
    assert "cache_write_duration" not in stats.counters
    assert stats.summary() == "sccache: 4 hits, 1 misses (80%)"
    with pytest.raises(launcher.LauncherError):
        launcher.parse_sccache_stats("Compile requests 5")


# -- generators --------------------------------------------------------------------------------


def test_cargo_gets_the_launcher(tmp_path: Path) -> None:
    description = host.describe(recorded_sysconfigdata("arm64"))
    chain = Toolchain(kind="gnu", triplet="aarch64-linux-gnu", cc=("/usr/bin/gcc", "-O1"),
                      cxx=("/usr/bin/g++",), ar=("ar",))
    env = cargo.environment(description, chain, config_file="/c", linker="/l",
                            compiler_launcher=("/usr/bin/sccache",))
    assert env["RUSTC_WRAPPER"] == "/usr/bin/sccache"
    assert env["CC_aarch64_unknown_linux_gnu"] == "/usr/bin/sccache /usr/bin/gcc -O1"
    assert env["CXX_aarch64_unknown_linux_gnu"] == "/usr/bin/sccache /usr/bin/g++"
    plain = cargo.environment(description, chain, config_file="/c", linker="/l")
    assert "RUSTC_WRAPPER" not in plain and plain["CC_aarch64_unknown_linux_gnu"] == \
        "/usr/bin/gcc -O1"
    ccache = cargo.environment(description, chain, config_file="/c", linker="/l",
                               compiler_launcher=("/usr/bin/ccache",))
    assert "RUSTC_WRAPPER" not in ccache


@pytest.fixture(scope="module")
def ccache() -> str:
    found = shutil.which("ccache")
    require(found, "ccache is needed (apt install ccache)")
    assert found is not None
    return found


def _wrapper(tmp_path: Path, compiler: str, launcher_words: tuple[str, ...]) -> Path:
    config = compilerwrap.settings(host.describe(recorded_sysconfigdata("arm64")),
                                   Toolchain(kind="gnu", triplet="aarch64-linux-gnu",
                                             cc=(compiler,), cxx=(), ar=("ar",)))
    path = tmp_path / "wrapped-gcc"
    path.write_text(compilerwrap.render((compiler,), config, launcher_words))
    path.chmod(0o755)
    return path


def test_wrapper_execs_ccache_with_the_real_compiler(tmp_path: Path, ccache: str,
                                                     aarch64_gcc: str) -> None:
    wrapper = _wrapper(tmp_path, aarch64_gcc, (ccache,))
    source = tmp_path / "a.c"
    source.write_text("int twice(int x) { return 2 * x; }\n")
    environ = _clean_environ(CCACHE_DIR=str(tmp_path / "cache"))

    def compile_once(**extra: str) -> launcher.CacheStats:
        before = launcher.cache_stats([ccache], environ)
        run([wrapper, "-c", source, "-o", tmp_path / "a.o", "-I/usr/include"],
            env={**environ, **extra}, cwd=tmp_path)
        after = launcher.cache_stats([ccache], environ)
        assert before is not None and after is not None
        return after - before

    assert (compile_once().misses, compile_once().hits) == (1, 1)
    # CROSSENV_COMPILER_LAUNCHER overrides the recorded launcher; empty runs none
    assert compile_once(**{launcher.ENV_VAR: ""}).hits == 0
    # ... and is split into words, never evaluated: no command substitution, no globbing
    marker = tmp_path / "ran"
    proc = subprocess.run([wrapper, "-c", source, "-o", tmp_path / "b.o"], cwd=tmp_path,
                          env={**environ, launcher.ENV_VAR: f"$(touch {marker}) *"},
                          capture_output=True, text=True)
    assert proc.returncode != 0 and not marker.exists()


def test_ccache_caches_zig_cc_through_the_wrapper(tmp_path: Path, ccache: str) -> None:
    """``--toolchain zig``: the wrapper is named zig and execs ``ccache ZIG cc ...``."""
    from crossenv import zig
    from crossenv.errors import ToolchainError

    try:
        exe: str | None = zig.zig_executable()
    except ToolchainError:  # the ziglang package is a test dependency
        exe = None
    require(exe, "ziglang is needed (pip install ziglang)")
    assert exe is not None
    wrapper = _wrapper(tmp_path, exe, (ccache,))
    source = tmp_path / "z.c"
    source.write_text("int thrice(int x) { return 3 * x; }\n")
    environ = _clean_environ(CCACHE_DIR=str(tmp_path / "cache"))
    cmd = [wrapper, "cc", "-target", "aarch64-linux-gnu", "-O2", "-c", source, "-o",
           tmp_path / "z.o"]
    readings = []
    for _ in range(3):
        readings.append(launcher.cache_stats([ccache], environ))
        run(cmd, env=environ, cwd=tmp_path)
    readings.append(launcher.cache_stats([ccache], environ))
    deltas = [b - a for a, b in zip(readings, readings[1:])]  # type: ignore[operator]
    assert [(d.hits, d.misses) for d in deltas] == [(0, 1), (1, 0), (1, 0)]
    assert (tmp_path / "z.o").read_bytes()[18:20] == b"\xb7\x00"  # EM_AARCH64


# -- real builds -------------------------------------------------------------------------------

C_MODULE = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *twice(PyObject *self, PyObject *arg) {
    long value = PyLong_AsLong(arg);
    if (value == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(2 * value);
}
static PyMethodDef methods[] = {{"twice", twice, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "NAME", NULL, -1, methods};
PyMODINIT_FUNC PyInit_NAME(void) { return PyModule_Create(&module); }
"""

PROJECTS = {
    "setuptools": {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
                          'build-backend = "setuptools.build_meta"\n'
                          '[project]\nname = "lsetup"\nversion = "1.0"\n',
        "setup.py": "from setuptools import Extension, setup\n"
                    "setup(ext_modules=[Extension('lsetup', ['lsetup.c'])])\n",
    },
    "meson-python": {
        "pyproject.toml": '[build-system]\nrequires = ["meson-python>=0.15"]\n'
                          'build-backend = "mesonpy"\n'
                          '[project]\nname = "lmeson"\nversion = "1.0"\n',
        "meson.build": "project('lmeson', 'c')\n"
                       "py = import('python').find_installation(pure: false)\n"
                       "py.extension_module('lmeson', 'lmeson.c', install: true)\n",
    },
    "scikit-build-core": {
        "pyproject.toml": '[build-system]\nrequires = ["scikit-build-core>=0.10"]\n'
                          'build-backend = "scikit_build_core.build"\n'
                          '[project]\nname = "lcmake"\nversion = "1.0"\n',
        "CMakeLists.txt": "cmake_minimum_required(VERSION 3.15)\nproject(lcmake C)\n"
                          "find_package(Python COMPONENTS Interpreter Development.Module "
                          "REQUIRED)\npython_add_library(lcmake MODULE lcmake.c WITH_SOABI)\n"
                          "install(TARGETS lcmake DESTINATION .)\n",
    },
}
MODULES = {"setuptools": "lsetup", "meson-python": "lmeson", "scikit-build-core": "lcmake"}


def make_project(directory: Path, backend: str) -> Path:
    name = MODULES[backend]
    directory.mkdir(parents=True)
    for file, text in PROJECTS[backend].items():
        (directory / file).write_text(text)
    (directory / f"{name}.c").write_text(C_MODULE.replace("NAME", name))
    return directory


def cross_wheel(env: Path, project: Path, out: Path, environ: dict[str, str]) -> Path:
    """``cross-pip wheel PROJECT`` from a clean tree (a rebuild compiles everything again)."""
    for leftover in ("build", f"{project.name}.egg-info"):
        shutil.rmtree(project / leftover, ignore_errors=True)
    run([env / "bin" / "cross-pip", "wheel", "--no-deps", "--no-cache-dir", project,
         "-w", out], env=environ)
    (wheel,) = out.glob("*.whl")
    assert wheel.name.endswith("_aarch64.whl"), wheel.name
    return wheel


def check_runs(target: Target, wheel: Path, module: str, tmp_path: Path) -> str:
    site = unpack_wheels([wheel], tmp_path / f"site-{wheel.parent.name}")
    proc = target.python("-c", f"import {module}; print({module}.twice(21))", path=[site])
    assert proc.stdout.strip() == "42"
    return proc.stdout


@pytest.fixture(scope="module")
def ccache_env(tmp_path_factory: pytest.TempPathFactory, arm64_sysroot: object,
               aarch64_gcc: str, ccache: str) -> Path:
    env = tmp_path_factory.mktemp("launchers") / "ccache-env"
    run([*crossenv_cmd(), "--compiler-launcher", "ccache", arm64_sysroot.python, env],  # type: ignore[attr-defined]
        env=_clean_environ())
    return env


@pytest.mark.integration
def test_env_records_and_describes_the_launcher(ccache_env: Path, ccache: str) -> None:
    meta = json.loads((ccache_env / "crossenv.json").read_text())
    assert meta["compiler_launcher"] == [ccache]
    text = run([*crossenv_cmd(), "describe", ccache_env, "--format", "env"]).stdout
    assert f"export {launcher.ENV_VAR}={ccache}\n" in text
    for wrapper in (ccache_env / "cross" / "crossenv" / "bin").iterdir():
        assert f"LNCH={ccache}\n" in wrapper.read_text()
    # the native side sees nothing: build-python's environment has no launcher
    probe = "import os; print(os.environ.get('CROSSENV_COMPILER_LAUNCHER'))"
    assert run([ccache_env / "bin" / "build-python", "-c", probe],
               env=_clean_environ()).stdout.strip() == "None"
    assert run([ccache_env / "bin" / "cross-python", "-c", probe],
               env=_clean_environ()).stdout.strip() == ccache


@pytest.mark.integration
@pytest.mark.parametrize("backend", list(PROJECTS))
def test_rebuild_hits_ccache(backend: str, ccache_env: Path, ccache: str,
                             aarch64_target: Target, tmp_path: Path) -> None:
    project = make_project(tmp_path / MODULES[backend], backend)
    environ = _clean_environ(CCACHE_DIR=str(tmp_path / "ccache"))
    readings = []
    for attempt in ("cold", "warm"):
        before = launcher.cache_stats([ccache], environ)
        wheel = cross_wheel(ccache_env, project, tmp_path / attempt, environ)
        after = launcher.cache_stats([ccache], environ)
        assert before is not None and after is not None
        readings.append(after - before)
    cold, warm = readings
    print(f"{backend}: cold {cold.summary()}; warm {warm.summary()}")
    assert cold.misses >= 1 and cold.hits == 0
    assert warm.hits >= cold.misses and warm.misses == 0
    check_runs(aarch64_target, wheel, MODULES[backend], tmp_path)


# -- distcc ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def distccd(aarch64_gcc: str) -> Iterator[tuple[int, Path]]:
    """distccd on 127.0.0.1 allowing the cross gcc (DISTCC_CMDLIST: no masquerade
    directory, no root); yields its port and log file, stops it afterwards."""
    exe = shutil.which("distccd")
    require(exe and shutil.which("distcc"), "distcc is needed (apt install distcc)")
    # world-readable: distccd started as root runs its jobs as the distcc user
    shared = Path(tempfile.mkdtemp(prefix="crossenv-distccd-"))
    shared.chmod(0o755)
    cmdlist = shared / "cmdlist"
    cmdlist.write_text(f"{aarch64_gcc}\n")
    cmdlist.chmod(0o644)
    log = shared / "distccd.log"
    port = _free_port()
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [str(exe), "--daemon", "--no-detach", "--allow", "127.0.0.1", "--listen",
             "127.0.0.1", "--port", str(port), "--jobs", "2", "--log-stderr",
             "--log-level", "info"],
            env=_clean_environ(DISTCC_CMDLIST=str(cmdlist)), stdin=subprocess.DEVNULL,
            stdout=fh, stderr=fh, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"distccd did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield port, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # distccd and the children it preforked
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(shared, ignore_errors=True)


def _wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return sorted(archive.namelist())


@pytest.mark.integration
def test_distcc_on_a_loopback_worker(distccd: tuple[int, Path], arm64_sysroot: object,
                                     aarch64_gcc: str, aarch64_target: Target,
                                     tmp_path: Path) -> None:
    port, log = distccd
    env = tmp_path / "distcc-env"
    run([*crossenv_cmd(), "--compiler-launcher", "distcc", arm64_sysroot.python, env],  # type: ignore[attr-defined]
        env=_clean_environ())
    wrapper = env / "cross" / "crossenv" / "bin" / Path(aarch64_gcc).name
    assert "/distcc\n" in wrapper.read_text()
    # pump mode off (no ",cpp" in the host list); no local fallback: a pass is remote
    (tmp_path / "distcc").mkdir()
    environ = _clean_environ(DISTCC_HOSTS=f"127.0.0.1:{port}/2", DISTCC_FALLBACK="0",
                             DISTCC_DIR=str(tmp_path / "distcc"))
    project = make_project(tmp_path / "lsetup", "setuptools")
    remote = cross_wheel(env, project, tmp_path / "remote", environ)
    text = log.read_text()
    assert "COMPILE_OK" in text and f"{Path(aarch64_gcc).name} lsetup.c" in text, text[-2000:]
    local = cross_wheel(env, project, tmp_path / "local", {**environ, launcher.ENV_VAR: ""})
    assert remote.name == local.name
    assert _wheel_files(remote) == _wheel_files(local)
    assert check_runs(aarch64_target, remote, "lsetup", tmp_path) == \
        check_runs(aarch64_target, local, "lsetup", tmp_path)


@pytest.mark.parametrize("args", [
    ["-c", "x.c"],  # nothing to map: the wrapper's first exec
    ["-shared", "x.o", "-Wl,-rpath,/usr/lib:$ORIGIN", "-L/usr/lib"],  # mapped: the last exec
])
def test_the_launcher_survives_the_path_mapping(tmp_path: Path, args: list[str]) -> None:
    """The wrapper's list helpers must not clobber the launcher (a variable named L once
    held both, and a build with -Wl,-rpath ran its first RUNPATH entry as the compiler)."""
    printer = tmp_path / "cc"
    printer.write_text("#!/bin/sh\necho cc \"$@\"\n")
    fake_launcher = tmp_path / "launch"
    fake_launcher.write_text("#!/bin/sh\necho launched\nexec \"$@\"\n")
    for script in (printer, fake_launcher):
        script.chmod(0o755)
    config = {"sysroot": str(tmp_path / "root"), "build_multiarch": "x86_64-linux-gnu",
              "host_multiarch": "aarch64-linux-gnu", "keep": [str(tmp_path / "env")],
              "system_dirs": list(compilerwrap.SYSTEM_DIRS),
              "multiarch_bases": list(compilerwrap.MULTIARCH_BASES)}
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(compilerwrap.render((str(printer),), config, (str(fake_launcher),)))
    wrapper.chmod(0o755)
    environ = {k: v for k, v in os.environ.items() if k != launcher.ENV_VAR}
    out = subprocess.run([wrapper, *args], capture_output=True, text=True, env=environ,
                         check=True).stdout.splitlines()
    assert out[0] == "launched" and out[1].startswith("cc ")
