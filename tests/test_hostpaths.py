"""Build-machine paths stay out of host builds: compiler wrapper, pkg-config, dpkg-architecture.

The argument-mapping tests run the generated wrapper with an argv printer in the
compiler's place (what is tested is the wrapper's own output); the others use the
real cross compiler, the real pkg-config and dpkg-architecture, a real sysroot,
and Pillow's real sdist run under qemu.
"""

from __future__ import annotations

import os
import posixpath
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossenv import arches, elfarch, provision
from crossenv import host as host_mod
from crossenv import sysconfigdata as data
from crossenv.backends import cmake, compilerwrap
from helpers import (
    Target,
    crossenv_cmd,
    load_runtime,
    recorded_sysconfigdata,
    require,
    run,
    shared_build,
    unpack_wheels,
)

hostpaths = load_runtime("_crossenv_hostpaths")

BUILD_MA = "x86_64-linux-gnu"
HOST_MA = "aarch64-linux-gnu"


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory tree laid out like a Debian arm64 sysroot (only directories)."""
    root = tmp_path_factory.mktemp("sysroot")
    for sub in ("usr/include/libxml2", f"usr/include/{HOST_MA}", f"usr/lib/{HOST_MA}",
                "usr/lib/python3", f"lib/{HOST_MA}"):
        (root / sub).mkdir(parents=True)
    (root / f"usr/lib/{HOST_MA}/libz.so").write_bytes(b"")
    return root


def config(root: Path, env: str = "/work/ENV") -> dict[str, object]:
    return {"sysroot": str(root), "build_multiarch": BUILD_MA, "host_multiarch": HOST_MA,
            "keep": [env], "system_dirs": list(compilerwrap.SYSTEM_DIRS),
            "multiarch_bases": list(compilerwrap.MULTIARCH_BASES)}


@pytest.fixture(scope="module")
def wrapper(fake_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    printer = tmp_path_factory.mktemp("printer") / "printargs"
    printer.write_text("#!/bin/sh\nfor a do printf '%s\\n' \"$a\"; done\n")
    printer.chmod(0o755)
    path = printer.parent / "cc"
    path.write_text(compilerwrap.render((str(printer),), config(fake_root)))
    path.chmod(0o755)
    return path


def wrapped_argv(wrapper: Path, *args: str, cwd: str = "/") -> tuple[list[str], list[str]]:
    # bytes, not text=True: universal newlines would turn an argument's "\r" into "\n"
    proc = subprocess.run([str(wrapper), *args], capture_output=True, cwd=cwd, check=True)
    out = proc.stdout.decode().split("\n")[:-1]
    return out, [line for line in proc.stderr.decode().splitlines() if line]


def test_maps_build_machine_directories_into_the_sysroot(wrapper: Path, fake_root: Path) -> None:
    root = str(fake_root)
    out, warnings = wrapped_argv(
        wrapper, "-c", "x.c", "-I/usr/include/libxml2", "-I", "/usr/include", "-Iinclude",
        f"-L/usr/lib/{BUILD_MA}", "-L/usr/lib", f"-I{root}/usr/include", "-o", "/usr/lib/x.o",
        f"/usr/lib/{BUILD_MA}/libz.so", "-lz")
    assert out == ["-c", "x.c", f"-I{root}/usr/include/libxml2", "-I", f"{root}/usr/include",
                   "-Iinclude", f"-L{root}/usr/lib/{HOST_MA}", f"-L{root}/usr/lib",
                   f"-I{root}/usr/include", "-o", "/usr/lib/x.o",
                   f"{root}/usr/lib/{HOST_MA}/libz.so", "-lz"]
    assert warnings == []


def test_drops_what_the_sysroot_lacks_with_one_line_each(wrapper: Path) -> None:
    out, warnings = wrapped_argv(
        wrapper, "-I/usr/include/freetype2", "-L/usr/local/lib", "-isystem", "/usr/local/include",
        f"/usr/lib/{BUILD_MA}/libxcb.so", "-lxcb", "x.c")
    assert out == ["-lxcb", "x.c"]
    assert len(warnings) == 4
    for flag, line in zip(("-I/usr/include/freetype2", "-L/usr/local/lib",
                           "-isystem /usr/local/include", f"/usr/lib/{BUILD_MA}/libxcb.so"),
                          warnings):
        assert line.startswith(f"crossenv: dropped {flag}"), line


def test_runpath_keeps_only_origin_and_the_build_tree(wrapper: Path, fake_root: Path,
                                                      tmp_path: Path) -> None:
    root = str(fake_root)
    tree = tmp_path / "build"
    tree.mkdir()
    out, warnings = wrapped_argv(
        wrapper, "-shared", f"-Wl,-rpath,$ORIGIN/../lib:/usr/lib/{BUILD_MA}:{tree}/sub",
        "-Wl,-rpath=/usr/local/lib", f"-Wl,-rpath,{root}/usr/lib/{HOST_MA}",
        f"-Wl,-rpath,{root}/opt/vendor/lib", "-Wl,-O1,-R,/opt/elsewhere", "-Xlinker", "-rpath",
        "-Xlinker", "/usr/lib", "-Wl,-rpath", "-Wl,$ORIGIN", "-Wl,-L/usr/lib,--as-needed",
        f"-Wl,-rpath,{tree}/pad:::", "-Wl,-rpath,/usr/lib::", cwd=str(tree))
    assert out == ["-shared", f"-Wl,-rpath,$ORIGIN/../lib:{tree}/sub",
                   "-Wl,-rpath,/opt/vendor/lib", "-Wl,-O1", "-Wl,-rpath,$ORIGIN",
                   f"-Wl,-L{root}/usr/lib,--as-needed",
                   f"-Wl,-rpath,{tree}/pad:::"]  # CMake's padding survives: it is looked for
    assert len(warnings) == 6, warnings
    assert all("RUNPATH" in line for line in warnings)


def test_a_command_line_without_build_paths_passes_unchanged(wrapper: Path) -> None:
    args = ["-O2", "-fPIC", "-Iinclude", "-DX=\"a b\"", "", "*", "-c", "x y.c", "-o", "x.o"]
    assert wrapped_argv(wrapper, *args) == (args, [])


# --- property: the sh wrapper and the setuptools hook apply the same rules ---------------

DIRS = st.sampled_from([
    "/usr/include", "/usr/include/libxml2", "/usr/include/freetype2", f"/usr/include/{BUILD_MA}",
    "/usr/local/include", "/usr/local/lib", "/usr/lib", f"/usr/lib/{BUILD_MA}", "/lib",
    f"/lib/{BUILD_MA}", "/usr/lib64", "/opt/x/include", "include", "/work/ENV/build/include",
    "/usr/share/foo", "/usrlocal",
])
PLAIN = st.text(st.characters(codec="utf-8", exclude_characters="\0\n"), max_size=12).filter(
    lambda s: not s.startswith(("-I", "-L", "-i", "-W", "-X", "-o", "-M", "-x", "/")))


def args_strategy(root: str) -> st.SearchStrategy[list[tuple[str, str]]]:
    dirs = st.one_of(DIRS, DIRS.map(lambda d: root + d if d.startswith("/") else d))
    item = st.one_of(
        st.tuples(st.just("plain"), PLAIN),
        st.tuples(st.sampled_from(["-I", "-L", "-isystem"]), dirs),
        st.tuples(st.sampled_from(["-I ", "-L "]), dirs),
    )
    return st.lists(item, max_size=25)


def model(items: list[tuple[str, str]], settings_: dict[str, object]) -> list[str]:
    out: list[str] = []
    for kind, value in items:
        if kind == "plain":
            out.append(value)
            continue
        mapped = hostpaths.map_dir(value, settings_)
        if mapped is None:
            continue
        out += [kind.strip(), mapped] if kind.endswith(" ") else [kind + mapped]
    return out


def argv(items: list[tuple[str, str]]) -> list[str]:
    out: list[str] = []
    for kind, value in items:
        if kind == "plain":
            out.append(value)
        elif kind.endswith(" "):
            out += [kind.strip(), value]
        else:
            out.append(kind + value)
    return out


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_wrapper_agrees_with_the_setuptools_hook(wrapper: Path, fake_root: Path,
                                                 data: st.DataObject) -> None:
    items = data.draw(args_strategy(str(fake_root)))
    out, _ = wrapped_argv(wrapper, *argv(items))
    assert out == model(items, config(fake_root))
    for arg in out:
        if arg.startswith(("-I/", "-L/")):
            assert not hostpaths.is_build_system_dir(arg[2:], config(fake_root)), arg


def test_setuptools_compiler_lists_are_mapped(fake_root: Path) -> None:
    hostpaths._settings = config(fake_root)
    try:
        lst = hostpaths._HostDirs(["/usr/include", "/usr/local/include"], "include")
        lst.append(f"/usr/lib/{BUILD_MA}")
        lst += ["relative", "/usr/include"]
        lst.insert(0, "/usr/include/freetype2")
        assert list(lst) == [f"{fake_root}/usr/include", f"{fake_root}/usr/lib/{HOST_MA}",
                             "relative", f"{fake_root}/usr/include"]
    finally:
        hostpaths._settings = None


def test_overhead_per_call_is_small(fake_root: Path, tmp_path: Path) -> None:
    """A typical extension compile line (40 words, sysroot -I paths, one build -I)."""
    wrapper = tmp_path / "cc"
    wrapper.write_text(compilerwrap.render(("true",), config(fake_root)))
    wrapper.chmod(0o755)
    line = ["-fPIC", "-O2", "-g", "-Wall", *[f"-I{fake_root}/usr/include/p{i}" for i in range(30)],
            "-I/usr/include/libxml2", "-DNDEBUG", "-c", "a.c", "-o", "a.o"]

    def cpu(cmd: list[str], runs: int = 50) -> float:
        """CPU seconds per run (user + system of the child): the machine's load, which
        stretches wall time, does not count against the wrapper."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(runs):
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs

    direct = [shutil.which("true") or "true", *line]
    overhead = cpu([str(wrapper), *line]) - cpu(direct)
    print(f"wrapper overhead per call: {overhead * 1000:.2f} ms CPU")
    assert overhead < 0.005


# --- the real compiler, CMake, pkg-config and dpkg-architecture --------------------------


def test_real_compiler_no_longer_sees_build_machine_headers(aarch64_env: Path,
                                                            tmp_path: Path) -> None:
    """Without the wrapper the cross gcc compiles against the build machine's freetype."""
    header = Path("/usr/include/freetype2/ft2build.h")
    require(header.exists(), "libfreetype-dev (build machine) shows the leak")
    source = tmp_path / "ft.c"
    source.write_text("#include <ft2build.h>\nint f(void) { return 0; }\n")
    leak = ["aarch64-linux-gnu-gcc", "-c", str(source), "-o", str(tmp_path / "a.o"),
            "-I/usr/include/freetype2"]
    assert subprocess.run(leak, capture_output=True).returncode == 0  # the trap is real
    guarded = aarch64_env / "cross" / "crossenv" / "bin" / "aarch64-linux-gnu-gcc"
    proc = subprocess.run([str(guarded), *leak[1:]], capture_output=True, text=True)
    assert proc.returncode != 0 and "ft2build.h" in proc.stderr
    assert "crossenv: dropped -I/usr/include/freetype2" in proc.stderr


def cross(env: Path, code: str) -> str:
    return run([env / "bin" / "cross-python", "-c", code]).stdout.strip()


def test_pkg_config_answers_from_the_sysroot(aarch64_env: Path, arm64_sysroot) -> None:  # type: ignore[no-untyped-def]
    require(shutil.which("pkg-config"), "pkg-config is needed")
    out = cross(aarch64_env, "import subprocess; print(subprocess.check_output("
                "['pkg-config', '--cflags', '--libs', 'zlib'], text=True))")
    root = str(arm64_sysroot.root)
    assert f"-L{root}/usr/lib/{HOST_MA}" in out.split() and "-lz" in out.split(), out
    assert all(word.startswith((f"-I{root}/", f"-L{root}/", "-l")) for word in out.split()), out
    native = run(["pkg-config", "--libs", "zlib"]).stdout
    assert root not in native  # only inside the cross environment


def test_dpkg_architecture_answers_for_the_host(aarch64_env: Path) -> None:
    require(shutil.which("dpkg-architecture"), "dpkg-dev provides dpkg-architecture")
    out = cross(aarch64_env, "import subprocess as s; q = lambda v: s.check_output("
                "['dpkg-architecture', '-q' + v], text=True).strip(); "
                "print(q('DEB_HOST_MULTIARCH'), q('DEB_HOST_ARCH'), q('DEB_BUILD_MULTIARCH'))")
    assert out.split() == [HOST_MA, "arm64", BUILD_MA]


def test_cmake_toolchain_points_find_pkg_config_at_the_sysroot() -> None:
    host = host_mod.from_config_vars(data.load(recorded_sysconfigdata("arm64")),
                                     sysroot=Path("/opt/sr"))
    lines = cmake.pkg_config_lines(host)
    text = "\n".join(lines)
    assert ('set(ENV{PKG_CONFIG_LIBDIR} "/opt/sr/usr/lib/aarch64-linux-gnu/pkgconfig:'
            '/opt/sr/usr/lib/pkgconfig:/opt/sr/usr/share/pkgconfig")') in text
    assert 'set(ENV{PKG_CONFIG_SYSROOT_DIR} "/opt/sr")' in text


def test_cmake_find_pkg_config_finds_the_sysroot_zlib(aarch64_env: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    """A plain cmake run (not under cross-python) with the env's toolchain file."""
    cmake_bin = Path(sys.executable).parent / "cmake"
    require(cmake_bin.exists() and shutil.which("pkg-config"), "cmake and pkg-config")
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.15)\nproject(p C)\nfind_package(PkgConfig REQUIRED)\n"
        "pkg_check_modules(Z REQUIRED IMPORTED_TARGET zlib)\n"
        "message(STATUS \"ZLIB_LIBDIRS=${Z_LIBRARY_DIRS} ZLIB_LINK=${Z_LINK_LIBRARIES}\")\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKG_CONFIG")}
    toolchain = aarch64_env / "cross" / "crossenv" / "toolchain.cmake"
    out = run([cmake_bin, "-S", src, "-B", tmp_path / "b", f"-DCMAKE_TOOLCHAIN_FILE={toolchain}"],
              env=env).stdout
    root = str(arm64_sysroot.root)
    assert f"ZLIB_LINK={root}/usr/lib/{HOST_MA}/libz.so" in out, out


# --- acceptance: Pillow with default options --------------------------------------------

JPEG_PACKAGES = ("libjpeg62-turbo-dev", "zlib1g-dev")


@pytest.fixture(scope="module")
def jpeg_sysroot() -> provision.Sysroot:
    """arm64 sysroot with only the ``--package`` extras Pillow needs (kept apart from the
    shared one so other tests never see a rebuild)."""
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian arm64 sysroot")
    dest = provision.default_dest("arm64")
    return provision.provision_debian("arm64", dest.with_name(dest.name + "-jpeg"),
                                      JPEG_PACKAGES)


@pytest.fixture(scope="module")
def pillow_build(jpeg_sysroot: provision.Sysroot, aarch64_gcc: str,
                 tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    def make(work: Path) -> None:
        run([*crossenv_cmd(), jpeg_sysroot.python, work / "env"])
        run([work / "env" / "bin" / "cross-pip", "wheel", "--no-binary", "pillow", "--no-deps",
             "--no-cache-dir", "-v", "pillow", "-w", work / "wh", "--log", work / "build.log"])

    work = shared_build(tmp_path_factory, "pillow", make)
    env, log = work / "env", work / "build.log"
    (wheel,) = (work / "wh").glob("pillow-*.whl")
    return env, wheel, log.read_text()


@pytest.mark.integration
def test_pillow_builds_with_default_options(pillow_build: tuple[Path, Path, str],
                                            jpeg_sysroot: provision.Sysroot) -> None:
    env, wheel, log = pillow_build
    assert wheel.name.endswith("linux_aarch64.whl"), wheel.name
    compiles = [line.split() for line in log.splitlines() if "aarch64-linux-gnu-gcc" in line]
    assert compiles, "no compiler command lines in the build log"
    rules = {"sysroot": str(jpeg_sysroot.root), "keep": [str(env)]}
    leaked = {word for words in compiles for word in words
              if word.startswith(("-I/", "-L/")) and hostpaths.is_build_system_dir(word[2:], rules)}
    assert not leaked, f"build-machine directories reached the compiler: {sorted(leaked)}"
    assert "-DHAVE_LIBJPEG" in log and "-DHAVE_LIBZ" in log
    assert "-DHAVE_XCB" not in log and "-DHAVE_LIBTIFF" not in log  # build machine only


@pytest.mark.integration
def test_pillow_passes_check_and_runs_on_the_host(pillow_build: tuple[Path, Path, str],
                                                  qemu_aarch64: str,
                                                  jpeg_sysroot: provision.Sysroot,
                                                  tmp_path: Path) -> None:
    env, wheel, _ = pillow_build
    run([*crossenv_cmd(), "check", "--env", env, wheel])
    site = unpack_wheels([wheel], tmp_path / "site")
    imaging = next(site.glob("PIL/_imaging.*.so"))
    assert elfarch.read(imaging) == arches.by_machine("aarch64").elf
    code = (
        "from PIL import Image, features; import io\n"
        "im = Image.new('RGB', (32, 16), (200, 30, 40))\n"
        "for fmt in ('JPEG', 'PNG'):\n"
        "    buf = io.BytesIO(); im.save(buf, fmt); buf.seek(0)\n"
        "    back = Image.open(buf); back.load(); print(fmt, back.size, back.mode)\n"
        "print(features.check('jpg'), features.check('zlib'))\n")
    out = Target(jpeg_sysroot, qemu_aarch64).python("-c", code, path=[site]).stdout.split("\n")
    assert out[:3] == ["JPEG (32, 16) RGB", "PNG (32, 16) RGB", "True True"]


def test_pkg_config_without_a_sysroot_finds_nothing_rather_than_the_build_machine() -> None:
    from crossenv.backends import pkgconfig

    host = host_mod.from_config_vars(data.load(recorded_sysconfigdata("arm64")), sysroot=None)
    values = pkgconfig.variables(host)
    assert values == {"PKG_CONFIG_LIBDIR": ""}
    require(shutil.which("pkg-config"), "pkg-config is needed")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PKG_CONFIG")}, **values}
    assert run(["pkg-config", "--exists", "zlib"]).returncode == 0  # the build machine has it
    assert subprocess.run(["pkg-config", "--exists", "zlib"], env=env).returncode != 0


@given(st.lists(st.tuples(st.sampled_from(["DEB_HOST_ARCH", "DEB_TARGET_GNU_TYPE",
                                           "DEB_BUILD_ARCH", "PATH", "DEB_HOST_X Y"]),
                          st.text(st.characters(codec="ascii", exclude_characters="\r\n"),
                                  max_size=8))))
def test_dpkg_architecture_output_keeps_only_host_and_target(pairs: list[tuple[str, str]]) -> None:
    from crossenv.backends import dpkgarch

    parsed = dpkgarch.parse("".join(f"{name}={value}\n" for name, value in pairs))
    expected = {name: value.strip() for name, value in pairs
                if name in ("DEB_HOST_ARCH", "DEB_TARGET_GNU_TYPE")}
    assert parsed == expected


# --- issue 21: spellings that used to bypass the guard ------------------------------------

@pytest.fixture(scope="module")
def guarded_gcc(arm64_sysroot: provision.Sysroot, aarch64_gcc: str,
                tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The real cross gcc behind the wrapper for the real arm64 sysroot, and the trap: a
    directory of the cross toolchain's own under /usr/lib (so on every build machine that
    has the compiler, never in the sysroot) whose ``include/stddef.h`` the test source
    names, so the source compiles only where that directory reaches the compiler."""
    root = arm64_sysroot.root
    trap = Path(run([aarch64_gcc, "-print-libgcc-file-name"]).stdout.strip()).parent
    require(str(trap).startswith("/usr/lib/") and (trap / "include" / "stddef.h").is_file()
            and not (root / str(trap)[1:]).exists(),
            "the cross gcc's own directory under /usr/lib is the trap")
    work = tmp_path_factory.mktemp("guard")
    wrapper = work / "aarch64-linux-gnu-gcc"
    wrapper.write_text(compilerwrap.render((aarch64_gcc, f"--sysroot={root}"), config(root)))
    wrapper.chmod(0o755)
    (work / "trap.c").write_text('#include "include/stddef.h"\nint x;\n')
    return wrapper, trap


def bypasses(trap: str, root: str) -> dict[str, list[str]]:
    rel = trap[len("/usr/"):]
    up = "/.." * (root.count("/") + 1)
    return {
        "double slash": [f"-I/usr//{rel}"],
        "dot": [f"-I/./usr/{rel}"],
        "dot-dot": [f"-I/usr/include/../../usr/{rel}"],
        "trailing slash": [f"-I{trap}/"],
        "relative dot-dot": [f"-I{'../' * 40}usr/{rel}"],
        "out of the sysroot": [f"-I{root}{up}{trap}"],
        "sysroot-relative =": [f"-I={up}{trap}"],
        "response file": ["@{rsp}"],
        "nested response file": ["@{rsp2}"],
        "quoted in a response file": ["@{rsp3}"],
        "response file then separate value": ["@{rsp4}", trap],
        "--include-directory=": [f"--include-directory={trap}"],
        "--include-directory": ["--include-directory", trap],
        "--include-directory-after=": [f"--include-directory-after={trap}"],
        "-isystem joined": [f"-isystem{trap}"],
        "-isystem separate": ["-isystem", trap],
        "-idirafter joined": [f"-idirafter{trap}"],
        "-idirafter separate": ["-idirafter", trap],
        "-iquote joined": [f"-iquote{trap}"],
        "-iquote separate": ["-iquote", trap],
        "-iprefix/-iwithprefix": ["-iprefix", "/usr/", "-iwithprefix", rel],
        "-iwithprefixbefore dot-dot": ["-iwithprefixbefore", f"{'../' * 8}{rel}"],
        "--sysroot=/": ["--sysroot=/", f"-I={trap}"],
        "-isysroot /": ["-isysroot", "/usr/..", f"-I={trap}"],
        "-Wp,-I": [f"-Wp,-I{trap}"],
        "-Wp,-isystem,": [f"-Wp,-isystem,{trap}"],
        "-Xpreprocessor -I": ["-Xpreprocessor", f"-I{trap}"],
        "-Xpreprocessor separate": ["-Xpreprocessor", "-idirafter", "-Xpreprocessor", trap],
    }


@pytest.mark.parametrize("case", list(bypasses("/usr/lib/x", "/r")))
def test_every_bypass_spelling_fails_with_the_guards_message(
        guarded_gcc: tuple[Path, Path], arm64_sysroot: provision.Sysroot, aarch64_gcc: str,
        tmp_path: Path, case: str) -> None:
    wrapper, trap = guarded_gcc
    files = {"rsp": f"-I{trap}\n", "rsp2": f"-O2 @{tmp_path / 'rsp'}\n",
             "rsp3": f"'-I'\"{trap}\"\n", "rsp4": "-I\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    args = [a.format(**{n: tmp_path / n for n in files})
            for a in bypasses(str(trap), str(arm64_sysroot.root))[case]]
    source = wrapper.parent / "trap.c"
    command = ["-fsyntax-only", *args, str(source)]
    # the trap is real: the bare cross compiler accepts this spelling
    assert subprocess.run([aarch64_gcc, f"--sysroot={arm64_sysroot.root}", *command],
                          cwd=tmp_path, capture_output=True).returncode == 0
    proc = subprocess.run([str(wrapper), *command], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0, proc.stderr
    assert "include/stddef.h" in proc.stderr
    assert "crossenv: dropped " in proc.stderr, proc.stderr


@pytest.mark.parametrize("variable", ["CPATH", "C_INCLUDE_PATH"])
@pytest.mark.parametrize("spelling", ["{trap}", "/usr//{rel}", "{sysinc}:{trap}"])
def test_include_paths_from_the_environment_are_guarded(
        guarded_gcc: tuple[Path, Path], arm64_sysroot: provision.Sysroot, aarch64_gcc: str,
        tmp_path: Path, variable: str, spelling: str) -> None:
    """gcc reads CPATH and C_INCLUDE_PATH as -I/-isystem, cross compilers too: the trap
    reaches the bare compiler through them, never the guarded one; the sysroot's own
    directory in the same list stays."""
    wrapper, trap = guarded_gcc
    root = arm64_sysroot.root
    value = spelling.format(trap=trap, rel=str(trap)[len("/usr/"):], sysinc=root / "usr/include")
    source = wrapper.parent / "trap.c"
    environ = {**os.environ, variable: value}
    assert subprocess.run([aarch64_gcc, f"--sysroot={root}", "-fsyntax-only", str(source)],
                          env=environ, cwd=tmp_path, capture_output=True).returncode == 0
    proc = subprocess.run([str(wrapper), "-fsyntax-only", str(source)], env=environ,
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0, proc.stderr
    assert f"crossenv: dropped from {variable}: " in proc.stderr, proc.stderr
    # the sysroot's headers through the same variable, and a build-machine spelling of a
    # directory the sysroot has, reach the compiler (mapped)
    include = next(root.glob("usr/include/python3.*"))
    (tmp_path / "py.c").write_text("#include <Python.h>\nint x;\n")
    for good in (str(include), f"/usr/include/{include.name}", f"{trap}:{include}"):
        proc = subprocess.run([str(wrapper), "-fsyntax-only", str(tmp_path / "py.c")],
                              env={**os.environ, variable: good}, cwd=tmp_path,
                              capture_output=True, text=True)
        assert proc.returncode == 0, (good, proc.stderr)


def test_sysroot_includes_pass_however_spelled(guarded_gcc: tuple[Path, Path],
                                               arm64_sysroot: provision.Sysroot,
                                               tmp_path: Path) -> None:
    wrapper, _ = guarded_gcc
    root = arm64_sysroot.root
    include = next(root.glob("usr/include/python3.*"))
    source = tmp_path / "py.c"
    source.write_text("#include <Python.h>\n#include <zlib.h>\nint x;\n")
    (tmp_path / "args.rsp").write_text(f"'-I{include}' -O2\n")
    relative = os.path.relpath(include, tmp_path)
    for spelling in ([f"-I{include}"], [f"-I{str(include).replace('/usr/', '/usr//')}"],
                     ["-isystem", f"{include}/."], ["@args.rsp"], [f"-I{relative}"],
                     [f"-I=/usr/include/{include.name}"], [f"-I/usr/include/{include.name}"],
                     [f"--include-directory={include}"], ["-I/usr/include/../include/" +
                                                          include.name]):
        proc = subprocess.run([str(wrapper), "-fsyntax-only", *spelling, str(source)],
                              cwd=tmp_path, capture_output=True, text=True)
        assert (proc.returncode, proc.stderr) == (0, ""), spelling


FORCED_HEADER_SPELLINGS = {
    "-include": ["-include", "{header}"],
    "-imacros": ["-imacros", "{header}"],
    "-include double slash": ["-include", "{slashed}"],
    "-Wp,-include,": ["-Wp,-include,{header}"],
    "-Xpreprocessor -include": ["-Xpreprocessor", "-include", "-Xpreprocessor", "{header}"],
    "response file": ["@{rsp}"],
}


@pytest.mark.parametrize("case", list(FORCED_HEADER_SPELLINGS))
def test_forced_build_machine_headers_are_refused(
        guarded_gcc: tuple[Path, Path], arm64_sysroot: provision.Sysroot, aarch64_gcc: str,
        tmp_path: Path, case: str) -> None:
    """``-include``/``-imacros`` name a header file, not a directory: one of the build
    machine's that the sysroot lacks is refused in one line (exit 2), since compiling
    without it could silently change the result; one the sysroot has is read from there."""
    wrapper, trap = guarded_gcc
    header = trap / "include" / "stddef.h"
    (tmp_path / "forced.rsp").write_text(f"-include '{header}'\n")
    fields = {"header": header, "slashed": str(header).replace("/usr/", "/usr//"),
              "rsp": tmp_path / "forced.rsp"}
    args = [a.format(**fields) for a in FORCED_HEADER_SPELLINGS[case]]
    source = tmp_path / "forced.c"
    # offsetof is defined only where stddef.h was forced in (-imacros keeps only macros)
    source.write_text("#ifndef offsetof\n#error no stddef.h\n#endif\nint x;\n")
    root = arm64_sysroot.root
    assert subprocess.run([aarch64_gcc, f"--sysroot={root}", "-fsyntax-only", *args, source],
                          cwd=tmp_path, capture_output=True).returncode == 0
    proc = subprocess.run([str(wrapper), "-fsyntax-only", *args, str(source)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("crossenv: refusing -i") and "build-machine header" \
        in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    # the sysroot's zlib.h spelled as the build machine's: mapped, compiles
    zsource = tmp_path / "z.c"
    zsource.write_text("z_stream s;\n")
    for spelling in (["-include", "/usr/include/zlib.h"], ["-Wp,-include,/usr//include/zlib.h"],
                     ["-Xpreprocessor", "-include", "-Xpreprocessor", "/usr/include/zlib.h"]):
        proc = subprocess.run([str(wrapper), "-fsyntax-only", *spelling, str(zsource)],
                              cwd=tmp_path, capture_output=True, text=True)
        assert (proc.returncode, proc.stderr) == (0, ""), spelling


def test_linker_response_files_are_judged_word_by_word(wrapper: Path, fake_root: Path,
                                                       tmp_path: Path) -> None:
    """``-Wl,@FILE`` reaches ld, which reads FILE itself: its words are judged as ld's."""
    root = str(fake_root)
    (tmp_path / "ld.rsp").write_text(f"-L/usr/lib/{BUILD_MA} '-L/usr/local/lib'\n"
                                     "-rpath /usr/lib --as-needed\n")
    out, warnings = wrapped_argv(wrapper, "-shared", f"-Wl,-O1,@{tmp_path / 'ld.rsp'}",
                                 "-Wl,@missing.rsp", "x.o", cwd=str(tmp_path))
    assert out == ["-shared", "-Xlinker", "-O1", "-Xlinker", f"-L{root}/usr/lib/{HOST_MA}",
                   "-Xlinker", "--as-needed", "-Xlinker", "@missing.rsp", "x.o"]
    assert len(warnings) == 2 and all(line.startswith("crossenv: dropped ") for line in warnings)


def test_library_directory_spellings_are_mapped_or_dropped(wrapper: Path, fake_root: Path,
                                                           tmp_path: Path) -> None:
    root = str(fake_root)
    (tmp_path / "libs.rsp").write_text(f"-L/usr/lib//{BUILD_MA} '-L/usr/local/lib'\n")
    out, warnings = wrapped_argv(
        wrapper, f"-L/usr/./lib/{BUILD_MA}", "-L", "/usr/lib/../../usr/local/lib",
        "--library-directory=/usr/local/lib", "--library-directory", f"/usr/lib/{BUILD_MA}/",
        f"@{tmp_path / 'libs.rsp'}", "-Wl,-L/usr//local/lib", "-Xlinker", "-L/usr/./local/lib",
        "-B/usr/local/lib/", f"/usr//lib/{BUILD_MA}/libz.so", "x.o")
    mapped = f"{root}/usr/lib/{HOST_MA}"
    assert out == [f"-L{mapped}", "--library-directory", mapped, f"-L{mapped}",
                   f"{mapped}/libz.so", "x.o"]
    assert len(warnings) == 6, warnings
    assert all(line.startswith("crossenv: dropped ") for line in warnings)


def test_response_files_are_bounded(wrapper: Path, tmp_path: Path) -> None:
    loop = tmp_path / "loop.rsp"
    loop.write_text(f"-O2 @{loop}\n")
    proc = subprocess.run([str(wrapper), f"@{loop}"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"crossenv: refusing @{loop}: response files nested deeper than "
        f"{compilerwrap.RSP_DEPTH} or more than {compilerwrap.RSP_FILES} of them"]
    big = tmp_path / "big.rsp"
    big.write_text("-O2 " * (compilerwrap.RSP_BYTES // 4 + 1))
    proc = subprocess.run([str(wrapper), f"@{big}", "-I/usr/include"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "larger than" in proc.stderr
    # a file that cannot be read stays a word, as gcc keeps it
    assert wrapped_argv(wrapper, "@nonexistent", "-I/usr/include")[0][0] == "@nonexistent"


RSP_WORDS = st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\0"),
                             max_size=8), max_size=6)


def gcc_spelling(word: str, style: int) -> str:
    """*word* as libiberty's buildargv reads it back, in one of three quotings."""
    if style == 0:
        return "".join("\\" + c for c in word) if word else "''"
    if style == 1:
        return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def nul_wrapper(fake_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wrapper in front of a printer that ends each word with NUL (words may hold
    line breaks)."""
    printer = tmp_path_factory.mktemp("nulprinter") / "printargs"
    printer.write_text("#!/bin/sh\nfor a do printf '%s\\0' \"$a\"; done\n")
    printer.chmod(0o755)
    path = printer.parent / "cc"
    path.write_text(compilerwrap.render((str(printer),), config(fake_root)))
    path.chmod(0o755)
    return path


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=RSP_WORDS, styles=st.lists(st.integers(0, 2), min_size=6, max_size=6),
       blank=st.sampled_from([" ", "\n", "\t", " \r\n ", "\f\v"]))
def test_response_file_words_read_back_like_gcc(nul_wrapper: Path, tmp_path: Path,
                                                words: list[str], styles: list[int],
                                                blank: str) -> None:
    rsp = tmp_path / "words.rsp"
    rsp.write_bytes(blank.join(gcc_spelling(w, s) for w, s in zip(words, styles))
                    .encode("utf-8", "surrogatepass") + b"\n")
    proc = subprocess.run([str(nul_wrapper), f"@{rsp}", "-I/usr/include/libxml2"],
                          capture_output=True, check=True)
    assert proc.stdout.split(b"\0")[:-2] == [w.encode("utf-8", "surrogatepass") for w in words]


def test_response_file_reading_matches_real_gcc(aarch64_gcc: str, wrapper: Path,
                                                tmp_path: Path) -> None:
    """What gcc itself makes of a response file (-### shows the words it passes on)."""
    rsp = tmp_path / "x.rsp"
    rsp.write_text("-DA='a b' \"-DB=x\\\"y\" -DC=it\\'s\t'-DD=\\\\'\n-DE\"F G\"H\n")
    ours, _ = wrapped_argv(wrapper, f"@{rsp}", "-I/usr/include/libxml2")
    assert ours[:-1] == ["-DA=a b", '-DB=x"y', "-DC=it's", "-DD=\\", "-DEF GH"]
    proc = subprocess.run([aarch64_gcc, "-###", "-E", f"@{rsp}", "-x", "c", "/dev/null"],
                          capture_output=True, text=True)
    cc1 = next(line for line in proc.stderr.splitlines() if "cc1" in line)
    for word in ours[:-1]:  # gcc passes -DX on as -D "X"
        assert f"-D {shlex_quote_gcc(word[2:])} " in cc1, (word, cc1)


def shlex_quote_gcc(word: str) -> str:
    """How gcc -### prints one argument: in double quotes, with \\ and " escaped."""
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the normaliser: the wrapper's sh and the setuptools hook's Python agree --------------

PATH_PARTS = st.sampled_from(["", ".", "..", "usr", "include", "lib", "x86_64-linux-gnu", "a b"])
PATHS = st.tuples(st.booleans(), st.lists(PATH_PARTS, max_size=8)).map(
    lambda t: ("/" if t[0] else "") + "/".join(t[1]))


def sh_norm(paths: list[str], cwd: str) -> list[str]:
    text = compilerwrap.render(("true",), config(Path("/nonexistent")))
    body = text[text.index("norm() {"):]
    body = body[:body.index("\n}\n") + 3]
    script = "oIFS=$IFS; set -f\n" + body + 'for p do norm "$p"; printf "%s\\n" "$N"; done\n'
    out = subprocess.run(["sh", "-c", script, "sh", *paths], cwd=cwd, capture_output=True,
                         check=True).stdout.decode()
    return out.split("\n")[:-1]


@settings(max_examples=60, deadline=None)
@given(paths=st.lists(PATHS, min_size=1, max_size=10), cwd=st.sampled_from(["/", "/usr/lib"]))
def test_normaliser_agrees_with_the_hook_and_posixpath(paths: list[str], cwd: str) -> None:
    got = sh_norm(paths, cwd)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        assert got == [hostpaths.normal(p) for p in paths]
    finally:
        os.chdir(old)
    for path, normal in zip(paths, got):
        if path.startswith("/"):
            expected = posixpath.normpath(path)
            expected = "/" + expected.lstrip("/") if expected.startswith("//") else expected
            assert normal == expected
        elif ".." in path.split("/") or cwd == "/":
            assert normal == posixpath.normpath(posixpath.join(cwd, path))
        else:
            assert normal == path
        assert hostpaths.normal(normal) == normal  # idempotent


SPELLINGS = st.sampled_from([
    lambda d: d, lambda d: d.replace("/", "//", 1), lambda d: "/." + d, lambda d: d + "/",
    lambda d: "/usr/include/../.." + d, lambda d: d + "/./", lambda d: "/lib/.." + d,
])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_wrapper_agrees_with_the_hook_for_any_spelling(wrapper: Path, fake_root: Path,
                                                       data: st.DataObject) -> None:
    dirs = data.draw(st.lists(st.tuples(DIRS.filter(lambda d: d.startswith("/")), SPELLINGS,
                                        st.sampled_from(["-I", "-L", "-isystem", "-I "])),
                              min_size=1, max_size=8))
    items = [(kind, spell(d)) for d, spell, kind in dirs]
    out, _ = wrapped_argv(wrapper, *argv(items))
    assert out == model(items, config(fake_root))


def test_guard_cost_is_linear_in_the_number_of_words(fake_root: Path, tmp_path: Path) -> None:
    """Mapping used to rebuild "$@" word by word (8,000 words: 30 s, 20,000: 208 s).

    CPU seconds of the wrapper's children for n and 8n words in the same run: a linear
    guard costs about 8 times as much, a quadratic one 64 times."""
    wrapper = tmp_path / "cc"
    wrapper.write_text(compilerwrap.render(("true",), config(fake_root)))
    wrapper.chmod(0o755)

    def cpu(count: int) -> float:
        args = [f"-I{fake_root}/usr/include/p{i}" if i % 2 else f"o{i}.o" for i in range(count)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([str(wrapper), *args, "-I/usr/include/libxml2"], check=True,
                       stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    cpu(500)  # warm the page cache
    small, large = cpu(2000), cpu(16000)
    print(f"guard CPU: 2,000 words {small:.3f} s, 16,000 words {large:.3f} s")
    assert large < 20 * max(small, 0.01), (small, large)
