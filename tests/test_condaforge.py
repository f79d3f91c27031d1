"""conda-forge's cross-python, as its activation script drives crossenv.

conda-forge/cross-python-feedstock's ``recipe/activate-cross-python.sh`` (rendered by its
build.sh: ``@PY_VER@`` and friends replaced) is sourced by conda-build before a recipe's
``$PYTHON -m pip install . --no-deps --no-build-isolation``. CI cannot fetch it and the
project does not copy it: ``_STEPS_1X`` below performs the same steps, in the same order,
with the same argument order, copies, ``sed`` edits and deletions, on a conda-style
``PREFIX``/``BUILD_PREFIX`` made from the Debian sysroot (tests/condaprefix.py). A C, a
Cython and a meson-python package then build for aarch64 and load under qemu.

``_STEPS_CONDA`` is the same with ``crossenv --conda`` in place of the edits
(docs/integrations/conda-forge.rst): the result must be the same.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

import condaprefix
from crossenv import arches, conda, elfarch, provision
from helpers import ROOT, Target, run, shared_build

VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"

#: conda-build's part: the variables it sets before sourcing the activation scripts
_CONDA_BUILD = '''
export CONDA_BUILD=1 CONDA_BUILD_STATE=BUILD target_platform=linux-aarch64
export PREFIX="{prefix}" BUILD_PREFIX="{build}" CONDA_BUILD_SYSROOT="{sysroot}"
export SRC_DIR="{src}" CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++
export PATH="$BUILD_PREFIX/bin:$PATH"
ENV="$BUILD_PREFIX/venv"
DATA="$PREFIX/lib/python{v}/{data}.py"
SP="lib/python{v}/site-packages"
'''

#: the activation's steps for a CPython host, crossenv 1.x's layout edited in place
_STEPS_1X = '''
find "$PREFIX/lib/" -name "_sysconfigdata*.py" -not -name "$(basename "$DATA")" -type f \\
    -exec rm -f {{}} +
"$BUILD_PREFIX/bin/python" -m crossenv "$PREFIX/bin/python" --sysroot "$CONDA_BUILD_SYSROOT" \\
    --without-pip "$ENV" --sysconfigdata-file "$DATA" --machine aarch64 --cc "$CC" --cxx "$CXX"
rm -rf "$ENV/lib/$(basename "$DATA")"
cp "$DATA" "$ENV/lib/$(basename "$DATA")"
cp "$ENV/cross/bin/python" "$ENV/bin/cross-python"
sed -i 's/extra_envs = .*/extra_envs = []/g' "$ENV/bin/cross-python" || true
sed -i "s@import sys@import sys\\nsys.argv[0] = '$PREFIX/bin/python'@g" "$ENV/bin/cross-python"
sed -i.bak "s@$ENV/lib@$ENV/lib', '$BUILD_PREFIX/lib/python{v}/lib-dynload', \\
'$ENV/lib/python{v}/site-packages@g" "$ENV/bin/cross-python"
{shims}
rm -rf "$ENV/cross"
{rsync}
rm -rf "$ENV/$SP"
ln -s "$BUILD_PREFIX/$SP" "$ENV/$SP"
ln -sf "$ENV/lib/site.py" "$ENV/lib/sitecustomize.py"
{meson}
export PYTHONPATH="$ENV/$SP"
'''

#: the same with crossenv's conda layout: the creation line takes --conda, the edits go
_STEPS_CONDA = '''
find "$PREFIX/lib/" -name "_sysconfigdata*.py" -not -name "$(basename "$DATA")" -type f \\
    -exec rm -f {{}} +
"$BUILD_PREFIX/bin/python" -m crossenv "$PREFIX/bin/python" --sysroot "$CONDA_BUILD_SYSROOT" \\
    --without-pip "$ENV" --sysconfigdata-file "$DATA" --machine aarch64 --cc "$CC" \
    --cxx "$CXX" --conda
{shims}
{rsync}
{meson}
export PYTHONPATH="$ENV/$SP"
'''

#: conda-forge's own parts, the same in both: $PREFIX/bin/python and $BUILD_PREFIX/bin/python
#: become the shim program, ENV/build's python the real build interpreter
_SHIMS = '''
real="$("$BUILD_PREFIX/bin/python" -c "import os; print(os.path.realpath('$PREFIX/bin/python'))")"
rm "$real"
cp "$BUILD_PREFIX/bin/cross_python_shim" "$real"
rm "$ENV/build/bin/python"
ln -sf "$BUILD_PREFIX/bin/$(readlink "$BUILD_PREFIX/bin/python")" "$ENV/build/bin/python"
rm "$BUILD_PREFIX/bin/python"
cp "$BUILD_PREFIX/bin/cross_python_shim" "$BUILD_PREFIX/bin/python"
'''

#: host packages without their extension modules, into BUILD_PREFIX (rsync in the script)
_RSYNC = '''
if [ -d "$PREFIX/$SP/" ]; then
    (cd "$PREFIX/$SP" && find . -type f ! -name "*.so" ! -name "*.dylib" \\
        -exec cp --parents {{}} "$BUILD_PREFIX/$SP/" \\;)
fi
'''

_MESON = '''
if ! grep -q "python =" "$BUILD_PREFIX/meson_cross_file.txt"; then
    echo "python = '$PREFIX/bin/python'" >> "$BUILD_PREFIX/meson_cross_file.txt"
fi
'''

#: what a recipe's build script then runs
_RECIPE = '''
cd "$SRC_DIR/hello" && "$PYTHON" -m pip install . --no-deps --no-build-isolation -q
if [ -n "{meson}" ]; then
    cd "$SRC_DIR/mesonhello" && "$PYTHON" -m pip install . --no-deps --no-build-isolation -q \\
        -Csetup-args=--cross-file="$BUILD_PREFIX/meson_cross_file.txt"
fi
"$PYTHON" -c "{probe}"
'''

_PROBE = ("import sys, sysconfig, platform; "
          "print(sys.executable, sys.prefix, sys.cross_compiling, platform.machine(), "
          "sysconfig.get_platform(), sysconfig.get_config_var('EXT_SUFFIX'), "
          "sysconfig.get_config_var('CC').split()[0], sysconfig._get_sysconfigdata_name())")

BUILD_TOOLS = ("cython", "meson-python", "meson", "ninja", "setuptools>=70.1", "wheel")


@pytest.fixture(scope="session")
def pristine_build_prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BUILD_PREFIX with the build tools, made once per run (copied by each test)."""
    return shared_build(tmp_path_factory, "conda-build-prefix",
                        lambda d: condaprefix.build_prefix(d / "build", *BUILD_TOOLS)) / "build"


def _prefixes(tmp_path: Path, pristine: Path, sysroot: provision.Sysroot) -> tuple[Path, Path]:
    """A fresh PREFIX and a copy of BUILD_PREFIX whose scripts name the copy (conda
    rewrites the prefix in files it installs), with the shim and the compiler's meson file."""
    prefix, build = tmp_path / "host", tmp_path / "build_env"
    condaprefix.host_prefix(sysroot.root, prefix, VERSION, "aarch64-linux-gnu", "aarch64")
    shutil.copytree(pristine, build, symlinks=True)
    for script in (build / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if data.startswith(b"#!" + bytes(pristine)):
                script.write_bytes(data.replace(bytes(pristine), bytes(build), 1))
    condaprefix.python_shim(build)
    condaprefix.meson_cross_file(build, "aarch64", "aarch64-linux-gnu")
    src = tmp_path / "src"
    for name in ("hello", "mesonhello"):
        shutil.copytree(ROOT / "tests" / "sources" / name, src / name)
    return prefix, build


def _activate_and_build(tmp_path: Path, steps: str, prefix: Path, build: Path,
                        sysroot: provision.Sysroot, meson: bool) -> list[str]:
    data = condaprefix.CONDA_DATA.format(machine="aarch64")
    script = "set -eu\n" + _CONDA_BUILD.format(
        prefix=prefix, build=build, sysroot=sysroot.root, src=tmp_path / "src", v=VERSION,
        data=data) + steps.format(v=VERSION, shims=_SHIMS, rsync=_RSYNC, meson=_MESON) + \
        'export PYTHON="$PREFIX/bin/python"\n' + _RECIPE.format(
            meson="yes" if meson else "", probe=_PROBE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return run(["bash", "-c", script], env=env).stdout.split()


def _check_built(prefix: Path, target: Target, meson: bool) -> None:
    site = prefix / "lib" / f"python{VERSION}" / "site-packages"
    tag = f"cpython-{VERSION.replace('.', '')}-aarch64-linux-gnu"
    built = [site / "hello" / f"_chello.{tag}.so", site / "hello" / f"_cyhello.{tag}.so"]
    if meson:
        built.append(site / f"_mhello.{tag}.so")
    for path in built:
        assert elfarch.read(path) == arches.by_machine("aarch64").elf, path
    code = "import hello; print(hello.greet(), hello.pointer_bits())"
    if meson:
        code += "; import _mhello; print(_mhello.pointer_bits())"
    out = target.python("-c", code, path=[site]).stdout.split("\n")
    assert out[0] == "hello from C, sizeof(long)=8 64"
    assert out[1:2] == (["64"] if meson else [""])


def _expected(prefix: Path) -> list[str]:
    return [str(prefix / "bin" / "python"), str(prefix), "True", "aarch64", "linux-aarch64",
            f".cpython-{VERSION.replace('.', '')}-aarch64-linux-gnu.so",
            "aarch64-linux-gnu-gcc", "_sysconfigdata_aarch64_conda_linux_gnu"]


@pytest.mark.integration
@pytest.mark.slow(minutes=2)
def test_activation_steps_of_crossenv_1x_work_unchanged(
        tmp_path: Path, arm64_sysroot: provision.Sysroot, aarch64_gcc: str,
        aarch64_target: Target, pristine_build_prefix: Path) -> None:
    require_host_version(arm64_sysroot)
    prefix, build = _prefixes(tmp_path, pristine_build_prefix, arm64_sysroot)
    out = _activate_and_build(tmp_path, _STEPS_1X, prefix, build, arm64_sysroot, meson=True)
    assert out == _expected(prefix)
    _check_built(prefix, aarch64_target, meson=True)
    env = build / "venv"
    assert not (env / "cross").exists()  # the layout survived its removal
    wrapper = (env / "bin" / "cross-python").read_text()
    assert wrapper.count(f"sys.argv[0] = '{prefix}/bin/python'") == 2  # the sed's and ours
    assert re.search(r"^extra_envs = \[\]$", wrapper, re.M)
    assert f"'{env}/lib', '{build}/lib/python{VERSION}/lib-dynload', " in wrapper


@pytest.mark.integration
@pytest.mark.slow(minutes=1)
def test_conda_option_replaces_the_edits(
        tmp_path: Path, arm64_sysroot: provision.Sysroot, aarch64_gcc: str,
        aarch64_target: Target, pristine_build_prefix: Path) -> None:
    """docs/integrations/conda-forge.rst's two lines: the same answers and extensions."""
    require_host_version(arm64_sysroot)
    prefix, build = _prefixes(tmp_path, pristine_build_prefix, arm64_sysroot)
    shutil.rmtree(prefix / "conda-meta")  # the option alone asks for the layout
    out = _activate_and_build(tmp_path, _STEPS_CONDA, prefix, build, arm64_sysroot,
                              meson=False)
    assert out == _expected(prefix)
    _check_built(prefix, aarch64_target, meson=False)
    # a native python a build starts is not affected
    native = run([build / "venv" / "build" / "bin" / "python", "-c",
                  "import sys, platform; print(hasattr(sys, 'crossenv'), platform.machine())"])
    assert native.stdout.split() == ["False", "x86_64"]


def require_host_version(sysroot: provision.Sysroot) -> None:
    from conftest import require

    require(sysroot.python.name == f"python{VERSION}",
            f"the conda PREFIX is made from the sysroot's python{VERSION}")


# -- no environment ---------------------------------------------------------------------


def test_conda_prefix_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    assert not conda.in_conda_prefix(tmp_path / "bin" / "python")
    (tmp_path / "conda-meta").mkdir()
    assert conda.in_conda_prefix(tmp_path / "bin" / "python")


def test_wrapper_survives_conda_forges_seds(tmp_path: Path) -> None:
    """The three sed lines applied to the wrapper leave valid Python that names the
    same paths (one ``import sys``, one quoted ENV/lib, ``extra_envs`` on one line)."""
    from crossenv.model import Layout

    env = tmp_path / "venv"
    layout = Layout(env=env, cross=env / "cross")
    text = conda.wrapper(layout, host_python="/p/bin/python", build_paths=("/b/dyn", "/b/sp"),
                         env_vars=[("LIBRARY_PATH", ":=", "/x")])
    assert text.count("import sys") == 1 and text.count(f"{env}/lib") == 1
    edited = re.sub(r"extra_envs = .*", "extra_envs = []", text)
    edited = edited.replace("import sys", "import sys\nsys.argv[0] = '/p/bin/python'")
    edited = edited.replace(f"{env}/lib", f"{env}/lib', '/b/lib/python{VERSION}/lib-dynload', "
                                          f"'{env}/lib/python{VERSION}/site-packages")
    for version in (text, edited):
        compile(version, "cross-python", "exec")  # the shebang is a comment to Python
    scope = {node.targets[0].id: ast.literal_eval(node.value)  # type: ignore[attr-defined]
             for node in ast.parse(edited).body if isinstance(node, ast.Assign)
             and isinstance(node.targets[0], ast.Name)
             and node.targets[0].id in ("extra_envs", "path")}
    assert scope["extra_envs"] == []
    assert scope["path"] == [f"{env}/lib", f"/b/lib/python{VERSION}/lib-dynload",
                             f"{env}/lib/python{VERSION}/site-packages", "/b/dyn", "/b/sp"]


def test_a_path_the_wrapper_cannot_name_is_one_line(tmp_path: Path) -> None:
    from crossenv.model import Layout

    env = tmp_path / "it's"
    with pytest.raises(conda.CondaLayoutError, match="quote"):
        conda.wrapper(Layout(env=env, cross=env / "cross"), host_python="/p/bin/python",
                      build_paths=("/b/dyn", "/b/sp"), env_vars=[])


def test_check_refuses_before_anything_is_made(tmp_path: Path) -> None:
    from crossenv.model import Options

    paths = conda.check([tmp_path / "venv"], Options(build_python=Path(sys.executable)))
    assert Path(paths[0]).name == "lib-dynload" and Path(paths[0]).is_dir()
    with pytest.raises(conda.CondaLayoutError, match="quote"):
        conda.check([tmp_path / "it's"], Options(build_python=Path(sys.executable)))
    assert not (tmp_path / "it's").exists()
    with pytest.raises(conda.CondaLayoutError, match="white space"):
        conda.check([tmp_path / "a b"], Options(build_python=Path(sys.executable)))
    with pytest.raises(conda.CondaLayoutError, match="--build-python"):
        conda.check([tmp_path / "venv"], Options(build_python=Path("/bin/false")))


def test_the_creation_line_with_conda_parses() -> None:
    from crossenv import cli

    args = cli.build_create_parser().parse_intermixed_args(
        ["HOST", "--without-pip", "ENV", "--sysconfigdata-file", "F", "--conda"])
    assert args.conda and args.HOST_PYTHON == "HOST"

