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
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import host, launcher
from crossenv.backends import cargo, compilerwrap
from crossenv.model import Toolchain
from helpers import Target, crossenv_cmd, recorded_sysconfigdata, require, run, unpack_wheels

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


#: a build with debug information in every backend (setuptools takes -g from CFLAGS)
DEBUG_SETTINGS = {"setuptools": [], "meson-python": ["-Csetup-args=-Ddebug=true"],
                  "scikit-build-core": ["-Ccmake.build-type=RelWithDebInfo"]}


def make_sdist(project: Path, dest: Path) -> Path:
    """*project* as an sdist (``NAME-1.0.tar.gz`` with PKG-INFO), as an index serves it."""
    base = f"{project.name}-1.0"
    (project / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {project.name}\n"
                                      "Version: 1.0\n")
    dest.mkdir(parents=True, exist_ok=True)
    sdist = dest / f"{base}.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        tar.add(project, arcname=base)
    return sdist


def cross_wheel(env: Path, source: Path, out: Path, environ: dict[str, str],
                *args: str) -> Path:
    """``cross-pip wheel SOURCE``. pip unpacks an sdist into a new random directory and
    builds in a new random isolated environment; the sdist is copied to a directory of
    its own first, so that pip's wheel cache (keyed by its location) never answers."""
    if source.is_file():
        (out / "sdist").mkdir(parents=True)
        source = Path(shutil.copy2(source, out / "sdist"))
    else:  # a project directory, from a clean tree (a rebuild compiles everything again)
        for leftover in ("build", f"{source.name}.egg-info"):
            shutil.rmtree(source / leftover, ignore_errors=True)
    run([env / "bin" / "cross-pip", "wheel", "--no-deps", *args, source, "-w", out],
        env=environ)
    (wheel,) = out.glob("*.whl")
    assert wheel.name.endswith("_aarch64.whl"), wheel.name
    return wheel


def debug_paths(wheel: Path, tmp_path: Path) -> tuple[set[str], set[str], bytes]:
    """The extension's DW_AT_comp_dir and DW_AT_name values of its compile units (readelf
    from the cross binutils, which the cross gcc needs anyway) and its bytes."""
    readelf = shutil.which("aarch64-linux-gnu-readelf")
    require(readelf, "binutils-aarch64-linux-gnu is needed (readelf)")
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".so")]
        data = archive.read(member)
    so = tmp_path / f"{wheel.parent.name}.so"
    so.write_bytes(data)
    text = run([readelf, "--debug-dump=info", so]).stdout
    units = [part for part in text.split("Compilation Unit @")[1:]]
    comp_dirs, names = set(), set()
    for unit in units:
        head = unit.split("DW_TAG_", 2)[:2]  # the unit's own attributes
        for line in "".join(head).splitlines():
            if "DW_AT_comp_dir" in line:
                comp_dirs.add(line.rsplit(": ", 1)[-1].strip())
            elif "DW_AT_name" in line:
                names.add(line.rsplit(": ", 1)[-1].strip())
    return comp_dirs, names, data


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
        assert f"LP={ccache}\n" in wrapper.read_text()
    # the native side sees nothing: build-python's environment has no launcher
    probe = "import os; print(os.environ.get('CROSSENV_COMPILER_LAUNCHER'))"
    assert run([ccache_env / "bin" / "build-python", "-c", probe],
               env=_clean_environ()).stdout.strip() == "None"
    assert run([ccache_env / "bin" / "cross-python", "-c", probe],
               env=_clean_environ()).stdout.strip() == ccache


@pytest.fixture(scope="module")
def pip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pip cache for this module's builds: build requirements are downloaded once."""
    return tmp_path_factory.mktemp("pip-cache")


@pytest.fixture(scope="module")
def sccache() -> str:
    found = shutil.which("sccache")
    require(found, "sccache is needed (apt install sccache)")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def sccache_env(tmp_path_factory: pytest.TempPathFactory, arm64_sysroot: object,
                aarch64_gcc: str, sccache: str) -> Path:
    env = tmp_path_factory.mktemp("launchers") / "sccache-env"
    run([*crossenv_cmd(), "--compiler-launcher", "sccache", arm64_sysroot.python, env],  # type: ignore[attr-defined]
        env=_clean_environ())
    return env


@pytest.fixture
def cache_setup(request: pytest.FixtureRequest, tmp_path: Path, pip_cache: Path,
                ) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """The launcher's program, its environment and the build's variables: a cache of this
    test's own (an sccache server on a free port, stopped afterwards)."""
    tool = request.param
    program = request.getfixturevalue(tool)
    env = request.getfixturevalue(f"{tool}_env")
    environ = _clean_environ(PIP_CACHE_DIR=str(pip_cache))
    if tool == "ccache":
        environ["CCACHE_DIR"] = str(tmp_path / "ccache")
        yield program, env, environ
        return
    environ.update(SCCACHE_DIR=str(tmp_path / "sccache"), SCCACHE_SERVER_PORT=str(_free_port()),
                   SCCACHE_IDLE_TIMEOUT="0")
    try:
        yield program, env, environ
    finally:
        subprocess.run([program, "--stop-server"], env=environ, capture_output=True,
                       timeout=60, check=False)


#: ccache for every backend; sccache for setuptools here, for all in ``nox -s launchers``
FULL = os.environ.get("CROSSENV_LAUNCHERS_FULL", "") not in ("", "0")
CACHE_CASES = [(backend, "ccache") for backend in PROJECTS] + [
    (backend, "sccache") for backend in (PROJECTS if FULL else ["setuptools"])]


@pytest.mark.integration
@pytest.mark.parametrize(("backend", "cache_setup"), CACHE_CASES, indirect=["cache_setup"])
def test_a_rebuilt_sdist_hits_the_cache(backend: str, cache_setup: tuple[str, Path, dict[str, str]],
                                        aarch64_target: Target, tmp_path: Path) -> None:
    """The user's flow: ``cross-pip wheel`` of the same sdist twice. pip unpacks it into a
    new random directory each time and builds in a new random isolated environment
    (scikit-build-core in a random build directory too, unless told otherwise); every
    compile of the second build must be a hit, and the debug information must name the
    directories crossenv maps them to (".", paths relative to it), never a random one."""
    program, env, environ = cache_setup
    module = MODULES[backend]
    sdist = make_sdist(make_project(tmp_path / module, backend), tmp_path / "dist")
    readings, wheels = [], []
    for attempt in ("cold", "warm"):
        before = launcher.cache_stats([program], environ)
        wheels.append(cross_wheel(env, sdist, tmp_path / attempt, environ,
                                  *DEBUG_SETTINGS[backend]))
        after = launcher.cache_stats([program], environ)
        assert before is not None and after is not None
        readings.append(after - before)
    cold, warm = readings
    print(f"{backend}: cold {cold.summary()}; warm {warm.summary()}")
    assert cold.misses >= 1
    assert warm.hits >= 1 and warm.misses == 0, (cold, warm)
    for wheel in wheels:
        comp_dirs, names, data = debug_paths(wheel, tmp_path)
        assert comp_dirs == {"."}, comp_dirs
        assert any(name.endswith(f"{module}.c") and not name.startswith("/")
                   for name in names), names
        assert os.fsencode(tempfile.gettempdir() + "/pip-") not in data
        assert os.fsencode(tempfile.gettempdir() + "/tmp") not in data
    check_runs(aarch64_target, wheels[1], module, tmp_path)


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


@pytest.mark.integration
def test_a_launcher_in_a_directory_with_a_space(tmp_path: Path, arm64_sysroot: object,
                                                aarch64_gcc: str, ccache: str) -> None:
    """``--compiler-launcher ccache`` found in ``/.../my tools`` on PATH: the environment
    records that path, and its wrappers run it (the text cross-python exports for it
    too); a second compile hits."""
    tools = tmp_path / "my tools"
    tools.mkdir()
    (tools / "ccache").symlink_to(ccache)  # ccache runs as a launcher under its own name
    environ = _clean_environ(PATH=f"{tools}{os.pathsep}{os.environ['PATH']}",
                             CCACHE_DIR=str(tmp_path / "cache"))
    env = tmp_path / "env"
    run([*crossenv_cmd(), "--compiler-launcher", "ccache", arm64_sysroot.python, env],  # type: ignore[attr-defined]
        env=environ)
    recorded = json.loads((env / "crossenv.json").read_text())["compiler_launcher"]
    assert recorded == [str(tools / "ccache")]
    exported = run([env / "bin" / "cross-python", "-c",
                    f"import os; print(os.environ[{launcher.ENV_VAR!r}])"], env=environ)
    assert exported.stdout.strip() == str(tools / "ccache")
    wrapper = env / "cross" / "crossenv" / "bin" / Path(aarch64_gcc).name
    source = tmp_path / "a.c"
    source.write_text("int twice(int x) { return 2 * x; }\n")
    deltas = []
    for value in (None, exported.stdout.strip(), None):
        before = launcher.cache_stats([ccache], environ)
        extra = {} if value is None else {launcher.ENV_VAR: value}
        run([wrapper, "-g", "-c", source, "-o", tmp_path / "a.o"], env={**environ, **extra},
            cwd=tmp_path)
        after = launcher.cache_stats([ccache], environ)
        assert before is not None and after is not None
        deltas.append(after - before)
    assert [(d.hits, d.misses) for d in deltas] == [(0, 1), (1, 0), (1, 0)]


def test_the_wrapper_maps_the_working_directory_only_for_caches(tmp_path: Path) -> None:
    """A cache launcher gets ``-fdebug-prefix-map=$PWD=.`` (and the project above it by
    its relative path) before the build's arguments (after zig's subcommand); ccache also
    CCACHE_BASEDIR (the temporary directory, unless set), sccache the maps through the
    preprocessor; distcc and no launcher get the arguments as they are."""
    printer = tmp_path / "printer"
    printer.write_text("#!/bin/sh\necho \"base=${CCACHE_BASEDIR-unset}\"\n"
                       "for a do echo \"$a\"; done\n")
    printer.chmod(0o755)
    config = {"sysroot": "", "build_multiarch": "x86_64-linux-gnu",
              "host_multiarch": "aarch64-linux-gnu", "keep": [],
              "system_dirs": list(compilerwrap.SYSTEM_DIRS),
              "multiarch_bases": list(compilerwrap.MULTIARCH_BASES)}
    work = tmp_path / "work dir"
    work.mkdir()

    def words(name: str, compiler: str = "cc", cwd: Path = work, **extra: str) -> list[str]:
        fake = tmp_path / name  # the launcher: prints what it is given
        if not fake.exists():
            fake.symlink_to(printer)
        wrapper = tmp_path / f"wrapper-{name}-{compiler}"
        wrapper.write_text(compilerwrap.render((compiler,), config, (str(fake),)))
        wrapper.chmod(0o755)
        environ = {k: v for k, v in os.environ.items()
                   if k not in (launcher.ENV_VAR, "CCACHE_BASEDIR", "TMPDIR")}
        out = subprocess.run([wrapper, "cc", "-c", "x.c"], capture_output=True, text=True,
                             env={**environ, **extra}, cwd=cwd, check=True).stdout
        return out.splitlines()

    mapped = f"-fdebug-prefix-map={work}=."
    assert words("ccache") == ["base=/tmp", "cc", mapped, "cc", "-c", "x.c"]
    assert words("ccache", TMPDIR=str(tmp_path))[0] == f"base={tmp_path}"
    assert words("ccache", CCACHE_BASEDIR="")[0] == "base="
    assert words("ccache", "zig") == ["base=/tmp", "zig", "cc", mapped, "-c", "x.c"]
    assert words("sccache") == ["base=unset", "cc", "-Xpreprocessor", mapped, "cc", "-c",
                                "x.c"]
    assert words("distcc")[0:1] == ["base=unset"] and words("distcc")[2:] == ["cc", "-c", "x.c"]
    # scikit-build-core's build directory inside the project: the project is "../.."
    project = tmp_path / "proj"
    build = project / "build" / "cp311-crossenv"
    build.mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    assert words("ccache", cwd=build)[1:4] == [
        "cc", f"-fdebug-prefix-map={project}=../..", f"-fdebug-prefix-map={build}=."]
    assert words("sccache", cwd=build)[1:6] == [
        "cc", "-Xpreprocessor", f"-fdebug-prefix-map={project}=../..", "-Xpreprocessor",
        f"-fdebug-prefix-map={build}=."]
    assert words("ccache", cwd=project)[1:3] == ["cc", f"-fdebug-prefix-map={project}=."]
