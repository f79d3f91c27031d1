"""What distribution builders need: installs into a target root, the sysroot's
os-release, and the host interpreter from a build step.

* ``cross-pip install --root DESTDIR --prefix /usr`` (isolation off, as Yocto's
  python_pep517 class and Buildroot run it) writes scripts whose shebang is the host's
  interpreter, byte-code for the host's Python whose paths lack DESTDIR, and no path of
  the build machine (crossenv/runtime/_crossenv_install.py);
* ``platform.freedesktop_os_release()`` and ``distro`` answer from the sysroot
  (runtime/_crossenv_patches.py, _crossenv_osrelease.py), never from the build machine;
* ``ENV/bin/host-python`` and ``CROSSENV_HOST_PYTHON`` (crossenv.backends.hostpython): a build
  step imports the extension it just built, as stub generators do.
"""

from __future__ import annotations

import marshal
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import arches, elfarch, hostdescription, provision, sysconfigdata
from crossenv.backends import hostpython
from crossenv.backends._protocol import Inputs as Inputs
from crossenv.backends._protocol import Place
from crossenv.model import Layout
from helpers import ROOT, Target, crossenv_cmd, load_runtime, recorded_sysconfigdata, run

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
TAG = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"

# -- unit ------------------------------------------------------------------------------------

_words = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                 max_size=12)


@given(st.lists(_words, max_size=6), st.one_of(st.none(), _words.filter(bool)),
       st.booleans(), st.lists(_words, max_size=4))
def test_pip_root_is_the_last_root_option(before: list[str], root: str | None, joined: bool,
                                          after: list[str]) -> None:
    install = load_runtime("_crossenv_install")
    before = [w for w in before if w != "--root" and not w.startswith("--root=")]
    after = [w for w in after if w != "--root" and not w.startswith("--root=")]
    if root is None:
        option: list[str] = []
    else:
        option = [f"--root={root}"] if joined else ["--root", root]
    argv = ["python", "-m", "pip", "install", *before, *option, *after]
    assert install.pip_root(argv, environ={}) == root
    assert install.pip_root(argv, environ={"PIP_ROOT": "/env"}) == (root or "/env")


def test_pip_root_without_a_value() -> None:
    install = load_runtime("_crossenv_install")
    assert install.pip_root(["pip", "install", "--root"], environ={}) is None


def test_host_python_is_written_only_where_it_can_run(tmp_path: Path) -> None:
    """No qemu or no interpreter: no launcher and no variable (ENV/bin/host-python then
    says why, exit 2)."""
    data = sysconfigdata.load(recorded_sysconfigdata("arm64"))
    host = hostdescription.from_config_vars(data, sysroot=tmp_path / "empty-sysroot")
    layout = Layout(env=tmp_path / "env", cross=tmp_path / "env" / "cross")
    assert hostpython.interpreter(host) is None
    target = Inputs(host=host, toolchain=None, compilers=None, options=None)  # type: ignore[arg-type]
    place = Place(directory=layout.crossenv_dir, layout=layout, python=None)
    assert hostpython.files(target, place) == {} and hostpython.env(target, place) == {}


# -- integration --------------------------------------------------------------------------


def _no_build_paths(tree: Path, *paths: Path) -> None:
    """No file under *tree* names one of *paths* (the env, the source, DESTDIR)."""
    needles = [str(p).encode() for p in paths]
    for path in tree.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [n for n in needles if n in data], path


@pytest.mark.integration
def test_root_prefix_install_is_for_the_host(tmp_path: Path, aarch64_env: Path,
                                             aarch64_target: Target) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "tests" / "sources" / "targetroot", source)
    dest = tmp_path / "destdir"
    run([aarch64_env / "bin" / "cross-pip", "install", "--no-build-isolation", "--no-deps",
         "--root", dest, "--prefix", "/usr", source])
    usr = dest / "usr"
    host_python = f"/usr/bin/python{PY}"
    for script in ("targetroot", "targetroot-raw"):  # console script and #!python script
        assert (usr / "bin" / script).read_text().splitlines()[0] == f"#!{host_python}"
    site = usr / "lib" / f"python{PY}" / "site-packages"
    (pyc,) = (site / "targetroot" / "__pycache__").glob("*.pyc")
    magic, cache_tag = aarch64_target.python(
        "-c", "import importlib.util, sys; "
        "print(importlib.util.MAGIC_NUMBER.hex(), sys.implementation.cache_tag)").stdout.split()
    assert pyc.name == f"__init__.{cache_tag}.pyc" and cache_tag == TAG
    data = pyc.read_bytes()
    assert data[:4].hex() == magic
    assert marshal.loads(data[16:]).co_filename == f"/usr/lib/python{PY}/site-packages/" \
                                                   "targetroot/__init__.py"
    assert not (site / "targetroot-1.0.dist-info" / "direct_url.json").exists()
    _no_build_paths(dest, aarch64_env, source, dest, Path(sys.prefix))
    # the installed script runs on the host, from its byte-code
    sysroot = aarch64_target.sysroot
    out = run([aarch64_target.qemu, "-L", sysroot.root, sysroot.python,
               usr / "bin" / "targetroot"], env=dict(os.environ, PYTHONPATH=str(site)))
    assert out.stdout.split()[1] == "aarch64"
    # an install into the cross env itself keeps scripts that run on the build machine
    run([aarch64_env / "bin" / "cross-pip", "install", "--no-build-isolation", "--no-deps",
         source])
    assert run([aarch64_env / "cross" / "bin" / "targetroot"]).stdout.split() == \
        [str(aarch64_env / "cross" / "bin" / "python"), "aarch64"]
    run([aarch64_env / "bin" / "cross-pip", "uninstall", "--yes", "targetroot"])


_OS_RELEASE = ("import platform\n"
               "try:\n"
               "    print(platform.freedesktop_os_release()['ID'])\n"
               "except OSError:\n"
               "    print('none')\n"
               "import distro\n"
               "print(distro.id() or 'empty', distro.version() or 'empty')\n")


@pytest.mark.integration
def test_os_release_answers_from_the_sysroot(tmp_path: Path, arm64_sysroot: provision.Sysroot,
                                             aarch64_gcc: str) -> None:
    """A sysroot with an os-release answers with it; without one (crossenv provision's,
    which has no base-files) nothing answers, though the build machine has its own."""
    root = tmp_path / "sysroot"
    run(["cp", "-al", arm64_sysroot.root, root])  # hard links: nothing of the cache changes
    (root / "etc" / "os-release").write_text(
        'ID=nilrt\nVERSION_ID="11.0"\nNAME="NI Linux Real-Time"\n')
    env = tmp_path / "env"
    run([*crossenv_cmd(), root / "usr" / "bin" / f"python{PY}", env])
    run([env / "bin" / "cross-pip", "install", "--quiet", "distro"])
    out = run([env / "bin" / "cross-python", "-c", _OS_RELEASE]).stdout.split()
    assert out == ["nilrt", "nilrt", "11.0"]
    (root / "etc" / "os-release").unlink()
    out = run([env / "bin" / "cross-python", "-c", _OS_RELEASE]).stdout.split()
    assert out == ["none", "empty", "empty"]
    native = run([env / "bin" / "build-python", "-c",
                  "import platform; print(platform.freedesktop_os_release()['ID'])"])
    assert native.stdout.strip() != "nilrt"
    # the user's UNIXCONFDIR still wins (RobotPy's fake os-release)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "os-release").write_text("ID=fake\nVERSION_ID=1\n")
    out = run([env / "bin" / "cross-python", "-c", "import distro; print(distro.id())"],
              env=dict(os.environ, UNIXCONFDIR=str(etc))).stdout.split()
    assert out == ["fake"]


@pytest.mark.integration
def test_build_step_imports_its_extension_with_host_python(tmp_path: Path, aarch64_env: Path,
                                                           aarch64_target: Target) -> None:
    """tests/sources/stubgen writes its .pyi by importing the extension it just built
    with ``$CROSSENV_HOST_PYTHON`` (setup.py's build_ext, as a stubgen step would)."""
    launcher = hostpython.launcher(Layout(env=aarch64_env, cross=aarch64_env / "cross"))
    assert run([aarch64_env / "bin" / "cross-python", "-c", "import os; "
                "print(os.environ['CROSSENV_HOST_PYTHON'])"]).stdout.strip() == str(launcher)
    out = run([aarch64_env / "bin" / "host-python", "-c",
               "import platform, sys; print(platform.machine(), sys.executable)"]).stdout
    assert out.split() == ["aarch64", str(launcher)]
    wheels, source = tmp_path / "wheels", tmp_path / "stubgen"
    shutil.copytree(ROOT / "tests" / "sources" / "stubgen", source)  # setuptools builds in it
    run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-build-isolation", "--no-deps",
         "-w", wheels, source])
    (wheel,) = wheels.glob("stubdemo-1.0-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        stub = archive.read("_stubdemo.pyi").decode().splitlines()
        (so,) = [n for n in archive.namelist() if n.endswith(".so")]
        path = Path(archive.extract(so, tmp_path / "x"))
    assert elfarch.read(path) == arches.by_machine("aarch64").elf
    assert stub == [f"# generated by {launcher} on aarch64: pointer_bits=64",
                    "def add(a, b, /): ...", "def pointer_bits(): ..."]
    out = aarch64_target.python("-c", "import _stubdemo; print(_stubdemo.add(2, 3))",
                                path=[path.parent])
    assert out.stdout.strip() == "5"


def nanobind_stub_from_host_python(tmp_path: Path, aarch64_env: Path,
                                   aarch64_target: Target) -> None:
    """tests/sources/nbstub: scikit-build-core and nanobind from PyPI, isolation on;
    ``nanobind_add_stub`` runs nanobind's own stubgen.py with ``$CROSSENV_HOST_PYTHON``
    (the CMake form docs/integrations/distributions.rst shows), which imports the aarch64
    module under qemu during the build; the .pyi in the wheel is what it read there."""
    wheels = tmp_path / "wheels"
    run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-deps", "-w", wheels,
         ROOT / "tests" / "sources" / "nbstub"])
    (wheel,) = wheels.glob("nbstub-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        stub = archive.read("_nbstub.pyi").decode()
        (so,) = [n for n in archive.namelist() if n.endswith(".so")]
        path = Path(archive.extract(so, tmp_path / "x"))
    assert elfarch.read(path) == arches.by_machine("aarch64").elf
    assert "def add(a: int, b: int) -> int:" in stub, stub
    assert "Add two integers on the host." in stub, stub
    out = aarch64_target.python("-c", "import _nbstub; print(_nbstub.add(2, 3), "
                                "_nbstub.pointer_bits())", path=[path.parent])
    assert out.stdout.split() == ["5", "64"]


if os.environ.get("CROSSENV_CXX_FULL") == "1":  # nox -s cxx (nanobind's library: minutes)
    test_nanobind_stub_from_host_python = pytest.mark.integration(
        pytest.mark.slow(minutes=2)(nanobind_stub_from_host_python))


def test_host_python_script_says_why_without_a_launcher(tmp_path: Path) -> None:
    from crossenv import scripts

    scripts.write_scripts(tmp_path / "bin", env_dir=tmp_path, cross_python=tmp_path / "cross"
                          / "bin" / "python", build_python=tmp_path / "build" / "bin" / "python",
                          with_build_pip=False, with_cross_pip=False, prompt="x", version=PY)
    proc = subprocess.run([tmp_path / "bin" / "host-python", "-c", "pass"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("host-python: no host python in ") and "qemu" in proc.stderr


def test_pip_wheel_installer_has_the_shape_the_hook_patches() -> None:
    """Contract: what the hook relies on in the real pip (and compileall), and a fresh
    copy of pip's installer module takes the patch whole."""
    import compileall
    import importlib.util
    import inspect

    import pip._internal.operations.install.wheel as real

    assert {"stripdir", "prependdir"} <= set(inspect.signature(compileall.compile_file).parameters)
    assert list(inspect.signature(real.PipScriptMaker._build_shebang).parameters) == \
        ["self", "executable", "post_interp"]
    assert {"scheme", "direct_url"} <= set(inspect.signature(real.install_wheel).parameters)
    assert real.compileall is compileall and callable(real.fix_script)
    spec = importlib.util.spec_from_file_location("pip_wheel_copy", real.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    install = load_runtime("_crossenv_install")
    assert install.patch_pip_wheel(module) is None
    assert issubclass(module.PipScriptMaker, real.PipScriptMaker.__mro__[1])  # distlib's
    assert module.install_wheel is not real.install_wheel
