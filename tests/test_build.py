"""Real sdists from PyPI, cross-built with build isolation ON, run on the target under qemu.

Many setup.py files quietly fall back to pure Python when their C build fails and
pip still succeeds, so every test asserts that the extension module was built for
AArch64 and that the target python really imports and uses it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from crossenv import arches, elfarch
from helpers import ROOT, Target, run, shared_build, unpack_wheels

pytestmark = pytest.mark.integration

EXT_SUFFIX = ".cpython-311-aarch64-linux-gnu.so"
AARCH64 = arches.by_machine("aarch64").elf

# package -> (extension module files expected, code run on the target)
PACKAGES = {
    "markupsafe": (["markupsafe/_speedups"], (
        "import markupsafe, markupsafe._speedups as s; "
        "assert markupsafe._escape_inner is s._escape_inner; print(markupsafe.escape('<a&b>'))"),
        "&lt;a&amp;b&gt;"),
    "msgpack": (["msgpack/_cmsgpack"], (
        "import msgpack, msgpack._cmsgpack as c; assert msgpack.Packer is c.Packer; "
        "print(msgpack.unpackb(msgpack.packb({'a': [1, 2.5, None]})))"),
        "{'a': [1, 2.5, None]}"),
    "pyyaml": (["yaml/_yaml"], (
        "import yaml; assert yaml.__with_libyaml__; "
        "print(yaml.load('a: [1, {b: c}]', Loader=yaml.CLoader))"),
        "{'a': [1, {'b': 'c'}]}"),
}
# Other setuptools sdists with C extensions: no special cases allowed for them either.
MORE_PACKAGES = {
    "cffi": (["_cffi_backend"], (
        "import cffi; ffi = cffi.FFI(); ffi.cdef('size_t strlen(const char *);'); "
        "C = ffi.dlopen(None); print(C.strlen(b'cross'), ffi.sizeof('long'))"), "5 8"),
    "simplejson": (["simplejson/_speedups"], (
        "import simplejson, simplejson._speedups; "
        "print(simplejson.dumps({'x': [1, 2]}, separators=(',', ':')))"), '{"x":[1,2]}'),
    "wrapt": (["wrapt/_wrappers"], (
        "import wrapt, wrapt._wrappers as w; "
        "print(w.ObjectProxy(41) + 1, w.__file__.endswith('.so'))"), "42 True"),
}


def build_wheels(env: Path, names: list[str], wheelhouse: Path, *extra: str) -> dict[str, Path]:
    """``cross-pip wheel`` with pip's defaults: build isolation stays ON."""
    run([env / "bin" / "cross-pip", "wheel", "--no-binary", ",".join(names), "--no-deps",
         *extra, *names, "-w", wheelhouse])
    found = {}
    for name in names:
        (wheel,) = wheelhouse.glob(f"{name.replace('-', '_')}-*.whl")
        found[name] = wheel
    return found


def assert_aarch64_extensions(wheel: Path, modules: list[str]) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for module in modules:
            member = module + EXT_SUFFIX
            assert member in names, f"{wheel.name} has no {member}: {names}"
            with archive.open(member) as stream:
                facts = elfarch.read_stream(_seekable(stream.read()))
            assert facts == AARCH64, f"{member} is {facts.describe()}"
    assert wheel.name.endswith("linux_aarch64.whl") or "manylinux" in wheel.name, wheel.name
    assert "-cp311-cp311-" in wheel.name


def _seekable(data: bytes):  # type: ignore[no-untyped-def]
    import io

    return io.BytesIO(data)


@pytest.fixture(scope="module")
def wheelhouse(aarch64_env: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = shared_build(tmp_path_factory, "sdists-aarch64",
                             lambda d: build_wheels(aarch64_env, list(PACKAGES), d))
    return {name: next(directory.glob(f"{name.replace('-', '_')}-*.whl")) for name in PACKAGES}


@pytest.mark.parametrize("name", list(PACKAGES))
def test_acceptance_sdists(wheelhouse: dict[str, Path], aarch64_target: Target,
                           tmp_path: Path, name: str) -> None:
    modules, code, expected = PACKAGES[name]
    assert_aarch64_extensions(wheelhouse[name], modules)
    site = unpack_wheels([wheelhouse[name]], tmp_path / "site")
    out = aarch64_target.python("-c", code, path=[site]).stdout.strip()
    assert out == expected


def test_check_imports_every_extension(wheelhouse: dict[str, Path], aarch64_env: Path) -> None:
    """``crossenv check --import`` installs each wheel alone and imports its extension
    modules under qemu: msgpack's Cython one, pyyaml's against the sysroot's libyaml."""
    proc = run([sys.executable, "-m", "crossenv", "check", "--env", aarch64_env, "--import",
                *wheelhouse.values()])
    assert proc.stdout.splitlines() == [f"{w}: OK" for w in wheelhouse.values()]


@pytest.mark.slow
def test_more_setuptools_sdists(aarch64_env: Path, aarch64_target: Target,
                                tmp_path: Path) -> None:
    wheels = build_wheels(aarch64_env, list(MORE_PACKAGES), tmp_path / "wh")
    for name, (modules, code, expected) in MORE_PACKAGES.items():
        assert_aarch64_extensions(wheels[name], modules)
        site = unpack_wheels([wheels[name]], tmp_path / f"site-{name}")
        deps = []
        if name == "cffi":  # cffi needs pycparser, pure Python
            run([aarch64_env / "bin" / "cross-pip", "download", "--no-deps", "pycparser",
                 "-d", tmp_path / "deps"])
            deps = unpack_wheels(list((tmp_path / "deps").glob("*.whl")), tmp_path / "dsite")
            site_path = [site, deps]
        else:
            site_path = [site]
        assert aarch64_target.python("-c", code, path=site_path).stdout.strip() == expected


def test_activate_then_pip_wheel(aarch64_env: Path, aarch64_target: Target,
                                 tmp_path: Path) -> None:
    """How CI scripts use it: source activate, then plain ``pip wheel``."""
    script = (f'. "{aarch64_env}/bin/activate" && '
              f'pip wheel --no-binary markupsafe --no-deps markupsafe -w "{tmp_path}/wh"')
    run(["bash", "-c", script])
    (wheel,) = (tmp_path / "wh").glob("markupsafe-*.whl")
    modules, code, expected = PACKAGES["markupsafe"]
    assert_aarch64_extensions(wheel, modules)
    site = unpack_wheels([wheel], tmp_path / "site")
    assert aarch64_target.python("-c", code, path=[site]).stdout.strip() == expected


def _sdist(env: Path, name: str, dest: Path) -> Path:
    run([env / "bin" / "build-pip", "download", "--no-deps", "--no-binary", ":all:", name,
         "-d", dest])
    (archive,) = dest.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return next(p for p in dest.iterdir() if p.is_dir())


def test_pypa_build_with_isolation(aarch64_env: Path, aarch64_target: Target,
                                   tmp_path: Path) -> None:
    """``cross-python -m build --wheel``: requirements native, hooks for the host."""
    run([aarch64_env / "bin" / "cross-pip", "install", "build"])
    source = _sdist(aarch64_env, "msgpack", tmp_path / "src")
    run([aarch64_env / "bin" / "cross-python", "-m", "build", "--wheel", "--outdir",
         tmp_path / "dist", source])
    (wheel,) = (tmp_path / "dist").glob("msgpack-*.whl")
    modules, code, expected = PACKAGES["msgpack"]
    assert_aarch64_extensions(wheel, modules)
    site = unpack_wheels([wheel], tmp_path / "site")
    assert aarch64_target.python("-c", code, path=[site]).stdout.strip() == expected


def test_build_requirements_are_native(aarch64_env: Path, aarch64_target: Target,
                                       tmp_path: Path) -> None:
    """Cython in an isolated build env is an x86_64 wheel and runs during the build,
    while the extension modules it generates are compiled for the host."""
    source = tmp_path / "hello"
    shutil.copytree(ROOT / "tests" / "sources" / "hello", source)
    log = tmp_path / "log.txt"
    run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-deps", "--no-cache-dir", "-v",
         source, "-w", tmp_path / "wh", "--log", log])
    text = log.read_text()
    native = re.findall(r"[Cc]ython-[\w.]+-cp311-cp311-[\w.]*x86_64\.whl", text)
    assert native, "the build env did not get a native Cython wheel"
    assert not re.findall(r"[Cc]ython-[\w.]+-[\w.]*aarch64\.whl", text)
    (wheel,) = (tmp_path / "wh").glob("hello_crossenv-*.whl")
    assert_aarch64_extensions(wheel, ["hello/_chello", "hello/_cyhello"])
    site = unpack_wheels([wheel], tmp_path / "site")
    out = aarch64_target.python("-c", "import hello; print(hello.pointer_bits(), hello.greet())",
                                path=[site]).stdout.strip()
    assert out == "64 hello from C, sizeof(long)=8"


def test_debian_multiarch_headers_without_sysroot_flag(aarch64_env: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    """Debian keeps pyconfig.h in include/aarch64-linux-gnu/python3.11 behind a wrapper
    that needs the sysroot's /usr/include (crossenv 1.6 failed there). The env's include
    overlay makes Python.h compile even for a compiler run WITHOUT --sysroot."""
    code = ("import sysconfig; v = sysconfig.get_config_vars(); "
            "print(v['INCLUDEPY']); print(v['CFLAGS'])")
    include, cflags = run([aarch64_env / "bin" / "cross-python", "-c", code]).stdout.splitlines()
    overlay = [flag for flag in cflags.split() if flag.startswith("-I")]
    assert overlay, cflags
    source = tmp_path / "probe.c"
    source.write_text("#include <Python.h>\nint probe(void) { return SIZEOF_VOID_P; }\n")
    base = ["aarch64-linux-gnu-gcc", "-c", str(source), "-o", str(tmp_path / "probe.o"),
            f"-I{include}"]
    without = subprocess.run(base, capture_output=True, text=True)
    assert without.returncode != 0 and "pyconfig.h" in without.stderr  # the trap is real
    run([*base, *overlay])
    assert elfarch.read(tmp_path / "probe.o") == AARCH64


def test_failed_c_build_is_not_hidden(aarch64_env: Path, tmp_path: Path) -> None:
    """Sanity check of the assertion helper: a pure-Python wheel is caught."""
    run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-deps", "six", "-w", tmp_path])
    (wheel,) = tmp_path.glob("six-*.whl")
    with pytest.raises(AssertionError):
        assert_aarch64_extensions(wheel, ["six"])
