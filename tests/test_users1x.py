"""crossenv 1.x's users, as their scripts drive it: the argument orders they pass, what
their builds import, and each one's own invocation run end to end.

The scripts are not copied here (nor could CI fetch them); each test performs the same
steps with the same flags, in the same order, as the project's published script does:

* conda-forge (cross-python-feedstock, recipe/activate-cross-python.sh): the creation line,
  options between and after the two positionals;
* Termux (scripts/build/setup/termux_setup_python_pip.sh and the packages' build.sh):
  ``python3.X -m crossenv HOST ENV`` from another directory, ``. ENV/bin/activate``,
  ``build-pip install Cython wheel``, ``pip install --no-deps . --prefix PREFIX``;
* SynoCommunity (spksrc mk/spksrc.crossenv.mk, mk/spksrc.wheel/compile.mk): one crossenv
  per wheel, ``--machine`` given the toolchain's GNU triplet, ``--env LIBRARY_PATH=``,
  separate pip/setuptools/wheel pins for build and cross, then ``cross-python -m pip wheel
  --no-build-isolation`` with ``_PYTHON_HOST_PLATFORM`` and ``PYTHONPATH`` set as it sets them;
* RobotPy (robotpy-cross-docker, mostrobotpy's devtools): ``--sysroot=`` after the
  positionals, ``ENV/cross/pip.conf``, ``UNIXCONFDIR`` for a fake os-release, and
  ``getattr(sys, "cross_compiling", False) == True``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossenv import arches, cli, elfarch, provision
from helpers import ROOT, Target, crossenv_cmd, run, unpack_wheels

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"

# -- argument orders (no environment is made) -------------------------------------------------

#: 1.x spellings, each with what it must parse to; HOST/ENV stand for the positionals
ORDERS = {
    # conda-forge, with and without CONDA_BUILD_SYSROOT
    "conda-forge": ["HOST", "--sysroot", "S", "--without-pip", "ENV", "--sysconfigdata-file",
                    "F", "--machine", "aarch64", "--cc", "C", "--cxx", "X"],
    "conda-forge-no-sysroot": ["HOST", "--without-pip", "ENV", "--sysconfigdata-file", "F",
                               "--machine", "aarch64", "--cc", "C", "--cxx", "X"],
    "termux": ["HOST", "ENV"],
    "synocommunity": ["HOST", "--cc", "C", "--cxx", "X", "--ar", "A", "--sysroot", "S",
                      "--env", "LIBRARY_PATH=", "--machine", "aarch64-unknown-linux-gnueabi",
                      "ENV"],
    "robotpy": ["HOST", "ENV", "--sysroot=S"],
    "options-first": ["--sysroot", "S", "--cc", "C", "HOST", "ENV", "ENV2"],
}


def parsed(argv: list[str]) -> dict[str, object]:
    return vars(cli.build_create_parser().parse_intermixed_args(argv))


@pytest.mark.parametrize("name", sorted(ORDERS))
def test_1x_argument_orders_parse(name: str) -> None:
    args = parsed(ORDERS[name])
    assert args["HOST_PYTHON"] == "HOST"
    assert args["ENV_DIR"][0] == "ENV"
    if "--sysroot" in ORDERS[name] or "--sysroot=S" in ORDERS[name]:
        assert args["sysroot"] == "S"
    if name.startswith("conda-forge"):
        assert args["without_pip"] and args["sysconfigdata_file"] == "F"
        assert (args["machine"], args["cc"], args["cxx"]) == ("aarch64", "C", "X")
    if name == "synocommunity":  # its toolchain's triplet means the triplet's machine
        assert args["machine"] == "aarch64" and args["env"] == [("LIBRARY_PATH", "=", "")]


def test_the_creation_line_parses_as_1x_did() -> None:
    """Through main(): the order that 1.x accepted is not refused as 'unrecognized'."""
    proc = subprocess.run([*crossenv_cmd(), "/nonexistent/python3.11", "--without-pip", "ENV",
                           "--machine", "aarch64"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unrecognized" not in proc.stderr and "/nonexistent" in proc.stderr


_OPTIONS = [["--sysroot", "S"], ["--without-pip"], ["--sysconfigdata-file", "F"],
            ["--machine", "aarch64"], ["--cc", "C"], ["--cxx", "X"], ["--env", "A=1"],
            ["--config-var", "CCSHARED=-fPIC"], ["--no-manylinux"]]


@settings(max_examples=200, deadline=None)
@given(st.permutations(_OPTIONS), st.integers(0, len(_OPTIONS)), st.integers(0, len(_OPTIONS)))
def test_options_anywhere_around_the_positionals(options: list[list[str]], first: int,
                                                 second: int) -> None:
    """Every placement of the options before, between and after HOST and ENV parses the
    same, as argparse's parse_args did for 1.x's own parser."""
    first, second = sorted((first, second))
    argv = [word for option in options[:first] for word in option] + ["HOST"] + \
        [word for option in options[first:second] for word in option] + ["ENV"] + \
        [word for option in options[second:] for word in option]
    canonical = ["HOST", "ENV", *[word for option in _OPTIONS for word in option]]
    assert parsed(argv) == parsed(canonical)


def test_machine_given_a_triplet() -> None:
    for value, machine in (("aarch64-unknown-linux-gnueabi", "aarch64"),
                           ("arm-unknown-linux-gnueabihf", "armv7l"), ("armv7l", "armv7l"),
                           ("x86_64-pc-linux-gnu", "x86_64")):
        assert parsed(["H", "E", "--machine", value])["machine"] == machine


# -- real environments --------------------------------------------------------------------


def _bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    base.update(env)
    return run(["bash", "-euc", script], env=base)


def _aarch64_so(wheel: Path, member: str, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        path = Path(archive.extract(member, dest))
    assert elfarch.read(path) == arches.by_machine("aarch64").elf


@pytest.mark.integration
def test_conda_forge_creation_line(tmp_path: Path, arm64_sysroot: provision.Sysroot,
                                   aarch64_gcc: str) -> None:
    """activate-cross-python.sh's first line, its argument order exactly (the layout edits
    that follow it are scope item 1's test)."""
    data = next((arm64_sysroot.root / "usr" / "lib" / "python3.11").glob("_sysconfigdata_*.py"))
    env = tmp_path / "venv"
    run([*crossenv_cmd(), arm64_sysroot.python, "--sysroot", arm64_sysroot.root,
         "--without-pip", env, "--sysconfigdata-file", data, "--machine", "aarch64",
         "--cc", aarch64_gcc, "--cxx", "aarch64-linux-gnu-g++"])
    out = run([env / "bin" / "cross-python", "-c", "import sys, sysconfig; "
               "print(sys.cross_compiling, sysconfig.get_platform())"]).stdout.split()
    assert out == ["True", "linux-aarch64"]
    assert not (env / "bin" / "cross-pip").exists()  # --without-pip was taken


@pytest.mark.integration
def test_sysconfigdata_imports_by_its_name(aarch64_env: Path) -> None:
    """``importlib.import_module(sysconfig._get_sysconfigdata_name())`` in cross-python
    and in a cross-python its build starts (sys.executable) answers for the host; a native
    child (build-python, started from cross-python) answers for the build machine: neither
    _PYTHON_SYSCONFIGDATA_NAME nor _PYTHON_HOST_PLATFORM reaches it (as in 1.x, whose
    site.py removed them before user code ran)."""
    probe = ("import importlib, os, sysconfig; name = sysconfig._get_sysconfigdata_name(); "
             "data = importlib.import_module(name); "
             "print(name, data.build_time_vars['HOST_GNU_TYPE'], "
             "os.environ.get('_PYTHON_SYSCONFIGDATA_NAME'), "
             "os.environ.get('_PYTHON_HOST_PLATFORM'))")
    code = ("import subprocess, sys\n"
            f"exec({probe!r})\n"
            f"subprocess.run([sys.executable, '-c', {probe!r}], check=True)\n"
            f"subprocess.run([sys.argv[1], '-c', {probe!r}], check=True)\n")
    lines = run([aarch64_env / "bin" / "cross-python", "-c", code,
                 aarch64_env / "build" / "bin" / "python"]).stdout.splitlines()
    host = "_sysconfigdata__linux_aarch64-linux-gnu aarch64-unknown-linux-gnu None None"
    assert lines[:2] == [host, host]
    native = lines[2].split()
    assert native[0] != "_sysconfigdata__linux_aarch64-linux-gnu"
    assert native[1].startswith("x86_64") and native[2:] == ["None", "None"]


_PROBE_SETUP = '''\
import importlib.util, os, subprocess, sys
from setuptools import setup
with open(os.environ["PROBE_OUT"], "a") as out:
    out.write("Cython %s\\n" % (importlib.util.find_spec("Cython") is not None))
setup(name="probe", version="1.0", py_modules=["probe"])
'''


@pytest.mark.integration
def test_build_pip_packages_import_in_cross_python(tmp_path: Path,
                                                   arm64_sysroot: provision.Sysroot,
                                                   aarch64_gcc: str) -> None:
    """After ``build-pip install cython`` cross-python imports Cython (1.x's README), without
    pip or importlib.metadata counting it as installed for the host; not inside pip's
    isolated builds (their isolation is the point) nor with CROSSENV_BUILD_PACKAGES=0."""
    env = tmp_path / "env"
    run([*crossenv_cmd(), arm64_sysroot.python, env])
    run([env / "bin" / "build-pip", "install", "--quiet", "cython"])
    code = ("import Cython, importlib.metadata as m, Cython.Compiler.Main; "
            "print(Cython.__file__.startswith(sys.argv[1]), "
            "[d.metadata['Name'] for d in m.distributions()].count('Cython'))")
    code = "import sys; " + code
    out = run([env / "bin" / "cross-python", "-c", code, env / "build"]).stdout.split()
    assert out == ["True", "0"]
    assert "cython" not in run([env / "bin" / "cross-pip", "list"]).stdout.lower()
    off = subprocess.run([env / "bin" / "cross-python", "-c", "import Cython"],
                         env=dict(os.environ, CROSSENV_BUILD_PACKAGES="0"),
                         capture_output=True, text=True)
    assert off.returncode == 1 and "No module named 'Cython'" in off.stderr
    project = tmp_path / "probe"
    project.mkdir()
    (project / "setup.py").write_text(_PROBE_SETUP)
    (project / "probe.py").write_text("")
    seen = {}
    for mode, isolation in (("isolated", []), ("plain", ["--no-build-isolation"])):
        result = tmp_path / f"{mode}.txt"
        run([env / "bin" / "cross-pip", "wheel", "--no-deps", "--no-cache-dir", *isolation,
             "-w", tmp_path / mode, project], env=dict(os.environ, PROBE_OUT=str(result)))
        seen[mode] = set(result.read_text().splitlines())  # one line per hook run
    assert seen == {"isolated": {"Cython False"}, "plain": {"Cython True"}}


@pytest.mark.integration
def test_termux_invocation(tmp_path: Path, arm64_sysroot: provision.Sysroot, aarch64_gcc: str,
                           aarch64_target: Target) -> None:
    """termux_setup_python_pip (crossenv pinned at 1.4.0): create from another directory
    with only the two positionals, activate, build-pip the build tools, then a package's
    ``pip install --no-deps . --prefix $TERMUX_PREFIX`` with PYTHONPATH on that prefix."""
    source = tmp_path / "hello"
    shutil.copytree(ROOT / "tests" / "sources" / "hello", source)
    (tmp_path / "crossenv-src").mkdir()  # Termux runs crossenv from its source directory
    prefix = tmp_path / "data" / "usr"
    _bash(f'''
cd "{tmp_path}/crossenv-src"
"{sys.executable}" -m crossenv "{arm64_sysroot.python}" "{tmp_path}/python-crossenv-prefix"
cd "{source}"
. "{tmp_path}/python-crossenv-prefix/bin/activate"
build-pip install Cython wheel
export PYTHONPATH="{prefix}/lib/python{PY}/site-packages"
pip install --no-deps . --prefix "{prefix}"
pip install --no-deps --prefix "{prefix}" pyflakes
''')
    site = prefix / "lib" / f"python{PY}" / "site-packages"
    (chello,) = (site / "hello").glob("_chello*.so")
    assert chello.name == "_chello.cpython-311-aarch64-linux-gnu.so"
    assert elfarch.read(chello) == arches.by_machine("aarch64").elf
    out = aarch64_target.python("-c", "import hello; print(hello.greet())", path=[site])
    assert out.stdout.strip() == "hello from C, sizeof(long)=8"
    # scripts installed outside the cross env name the host's interpreter in a plain "#!"
    # line (1.x wrote distlib's /bin/sh trampoline to cross-python, which Termux patches
    # to a plain line and rewrites to its prefix): the script runs on the host
    head = (prefix / "bin" / "pyflakes").read_text().splitlines()[0]
    assert head == f"#!/usr/bin/python{PY}"
    version = aarch64_target.python(prefix / "bin" / "pyflakes", "--version", path=[site])
    assert version.stdout.strip()


@pytest.mark.integration
def test_synocommunity_invocation(tmp_path: Path, arm64_sysroot: provision.Sysroot,
                                  aarch64_gcc: str, aarch64_target: Target) -> None:
    """spksrc: a crossenv for one wheel, created with its toolchain flags and
    ``--machine $(TC_TARGET)`` (a GNU triplet); build and cross get different pins
    (get-pip.py's pip pin done with pip itself here: only PyPI is reachable); the wheel is
    built as compile.mk builds it, isolation off, with build-pip's Cython."""
    source = tmp_path / "hello"
    shutil.copytree(ROOT / "tests" / "sources" / "hello", source)
    env = tmp_path / "work-aarch64" / "crossenv-hello-1.0"
    triplet = "aarch64-unknown-linux-gnueabi"  # as syno-aarch64's TC_TARGET spells it
    build_site = env / "build" / "lib" / f"python{PY}" / "site-packages"
    _bash(f'''
"{sys.executable}" -m crossenv "{arm64_sysroot.python}" \\
    --cc {aarch64_gcc} --cxx aarch64-linux-gnu-g++ --ar aarch64-linux-gnu-ar \\
    --sysroot "{arm64_sysroot.root}" --env LIBRARY_PATH= --machine {triplet} "{env}"
. "{env}/bin/activate"
build-python -m pip install --disable-pip-version-check "pip==24.3.1"
build-pip install "setuptools==75.4.0" "wheel==0.45.0"
cross-python -m pip install --disable-pip-version-check "pip==24.2"
cross-pip install "setuptools==70.3.0" "wheel==0.44.0"
export PATH="$PATH:{env}/build/bin"
build-python -m pip install --no-build-isolation --disable-pip-version-check "Cython==3.0.11"
_PYTHON_HOST_PLATFORM="{triplet}" PYTHONPATH="{build_site}:${{PYTHONPATH:-}}" \\
PATH="{env}/build/bin:{env}/cross/bin:$PATH" \\
"{env}/bin/cross-python" -m pip wheel --no-color --disable-pip-version-check --no-deps \\
    --wheel-dir "{tmp_path}/wheelhouse" --no-build-isolation "{source}"
''')
    versions = ("from importlib.metadata import version; "
                "print(*(version(name) for name in ('pip', 'setuptools', 'wheel')))")
    assert run([env / "bin" / "build-python", "-c", versions]).stdout.split() == \
        ["24.3.1", "75.4.0", "0.45.0"]
    assert run([env / "bin" / "cross-python", "-c", versions]).stdout.split() == \
        ["24.2", "70.3.0", "0.44.0"]
    (wheel,) = (tmp_path / "wheelhouse").glob("hello_crossenv-1.0-cp311-cp311-*.whl")
    assert wheel.name.endswith("-linux_aarch64.whl")  # not the triplet 1.x made of it
    _aarch64_so(wheel, "hello/_cyhello.cpython-311-aarch64-linux-gnu.so", tmp_path / "x")
    site = unpack_wheels([wheel], tmp_path / "site")
    out = aarch64_target.python("-c", "import hello; print(hello.pointer_bits())", path=[site])
    assert out.stdout.strip() == "64"


_ROBOTPY_BUILD_PYTHON = '''\
import pathlib, sys
build_python = sys.executable
if getattr(sys, "cross_compiling", False) == True:
    pth = pathlib.Path(sys.executable).absolute()
    if pth.parts[-3:-1] == ("cross", "bin"):
        build_python = str(pathlib.Path(*(pth.parts[:-3] + ("build", "bin", pth.parts[-1]))))
import distro
print(build_python, distro.id(), distro.version())
'''


@pytest.mark.integration
def test_robotpy_invocation(tmp_path: Path, arm64_sysroot: provision.Sysroot,
                            aarch64_gcc: str) -> None:
    """robotpy-cross-docker: ``--sysroot=`` after the positionals, ``cross-pip install
    wheel``, a pip.conf in ENV/cross and 1.0's crossenv.cfg in ENV (now unread, harmless);
    its tools set UNIXCONFDIR to a directory with NI Linux RT's os-release and tell
    cross-python from build-python with ``sys.cross_compiling == True``."""
    env = tmp_path / "venv"
    run([*crossenv_cmd(), arm64_sysroot.python, env, f"--sysroot={arm64_sysroot.root}"])
    links = tmp_path / "wheels"
    links.mkdir()
    (env / "cross" / "pip.conf").write_text(f"\n[global]\nfind-links = {links}\n")
    (env / "crossenv.cfg").write_text("[uname]\nsysname = linux\nnodename = build\n"
                                      "release =\nversion =\nmachine = armv7l")
    run([env / "bin" / "cross-pip", "install", "wheel", "distro"])
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "os-release").write_text('ID="nilrt"\nNAME="NI Linux Real-Time"\nVERSION="8.8"\n'
                                    'VERSION_ID="8.8"\nPRETTY_NAME="NI Linux Real-Time 8.8"')
    (tmp_path / "detect.py").write_text(_ROBOTPY_BUILD_PYTHON)
    environ = dict(os.environ, UNIXCONFDIR=str(etc))
    out = run([env / "bin" / "cross-python", tmp_path / "detect.py"], env=environ).stdout
    assert out.split() == [str(env / "build" / "bin" / "python"), "nilrt", "8.8"]
    native = run([env / "bin" / "build-python", "-c", "import sys; "
                  "print(getattr(sys, 'cross_compiling', False))"]).stdout.strip()
    assert native == "False"


@pytest.mark.integration
def test_robotpy_resolves_sys_executable(aarch64_env: Path) -> None:
    """mostrobotpy's devtools resolve() sys.executable before looking for cross/bin: the
    cross venv's interpreter is a file of ENV's own (crossenv.crossinterp), under every
    name, and build-python found that way is ENV/build's."""
    code = _ROBOTPY_BUILD_PYTHON.replace(".absolute()", ".resolve()").split("import distro")[0]
    cross_bin = aarch64_env / "cross" / "bin"
    names = ["python", "python3", *(p.name for p in cross_bin.glob("python3.*"))]
    assert len(names) == 3, names
    for name in names:
        assert (cross_bin / name).resolve() == cross_bin / "python", name
    out = run([aarch64_env / "bin" / "cross-python", "-c", code + "print(build_python)"])
    assert out.stdout.strip() == str(aarch64_env / "build" / "bin" / "python")
    out = run([cross_bin / "python3", "-c", code + "print(build_python, sys.prefix)"])
    assert out.stdout.split() == [str(aarch64_env / "build" / "bin" / "python"),
                                  str(aarch64_env / "cross")]
