"""crossenv 1.x compatibility: every 1.x option end to end, and a 1.x script unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from crossenv import arches, elfarch, provision
from helpers import ROOT, Target, crossenv_cmd, require, run, unpack_wheels

pytestmark = pytest.mark.integration

LEGACY_OPTIONS = (
    "--cross-prefix", "--system-site-packages", "--clear", "--clear-cross", "--clear-build",
    "--clear-both", "--without-pip", "--without-cross-pip", "--relative-toolchain", "--cc",
    "--cxx", "--ar", "--config-var", "--env", "--sysroot", "--sysconfigdata-file",
    "--manylinux", "--platform-tag", "--machine", "-v", "--version",
)
NEW_OPTIONS = ("--extra-platform-tag", "--no-verify-toolchain")


def create(host: Path, env: Path, *options: object) -> subprocess.CompletedProcess[str]:
    return run([*crossenv_cmd(), *map(str, options), host, env])


def cross(env: Path, code: str, *, python: str = "cross-python") -> str:
    return run([env / "bin" / python, "-c", code]).stdout.strip()


def test_help_lists_the_1x_options() -> None:
    out = run([sys.executable, "-m", "crossenv", "--help"]).stdout
    for option in (*LEGACY_OPTIONS, *NEW_OPTIONS):
        assert f"{option} " in out or f"{option}," in out or f"{option}\n" in out, option
    assert "HOST_PYTHON" in out and "ENV_DIR" in out


def test_cross_prefix(tmp_path: Path, arm64_sysroot: provision.Sysroot, aarch64_gcc: str) -> None:
    prefix = tmp_path / "stage"
    create(arm64_sysroot.python, tmp_path / "env", "--cross-prefix", prefix)
    assert not (tmp_path / "env" / "cross").exists()
    assert cross(tmp_path / "env", "import sys; print(sys.prefix)") == str(prefix)
    assert cross(tmp_path / "env", "import platform; print(platform.machine())") == "aarch64"


def test_system_site_packages_is_for_build_python_only(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                                       aarch64_gcc: str) -> None:
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--system-site-packages")
    assert "include-system-site-packages = true" in (env / "build" / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in (env / "cross" / "pyvenv.cfg").read_text()


@pytest.mark.parametrize(("option", "build_kept", "cross_kept"), [
    ("--clear", False, False), ("--clear-cross", True, False),
    ("--clear-build", False, True), ("--clear-both", False, False),
])
def test_clear_options(tmp_path: Path, arm64_sysroot, aarch64_gcc: str, option: str,  # type: ignore[no-untyped-def]
                       build_kept: bool, cross_kept: bool) -> None:
    env = tmp_path / "env"
    create(arm64_sysroot.python, env)
    (env / "build" / "marker").write_text("b")
    (env / "cross" / "marker").write_text("c")
    create(arm64_sysroot.python, env, option)
    assert (env / "build" / "marker").exists() == build_kept
    assert (env / "cross" / "marker").exists() == cross_kept
    assert cross(env, "import platform; print(platform.machine())") == "aarch64"
    assert cross(env, "import platform; print(platform.machine())", python="build-python") \
        == "x86_64"
    assert [p.name for p in tmp_path.iterdir()] == ["env"]


def test_without_pip(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--without-pip")
    for name in ("cross-pip", "build-pip", "pip", "cross-pip3", "build-pip3", "pip3"):
        assert not (env / "bin" / name).exists(), name
    for python in ("cross-python", "build-python"):
        proc = subprocess.run([env / "bin" / python, "-c", "import pip"], capture_output=True)
        assert proc.returncode != 0, python


def test_without_cross_pip(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--without-cross-pip")
    assert not (env / "bin" / "cross-pip").exists()
    assert (env / "bin" / "build-pip").exists()
    assert subprocess.run([env / "bin" / "cross-python", "-c", "import pip"]).returncode != 0
    run([env / "bin" / "build-pip", "--version"])


def test_compiler_options(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "env"
    gxx = shutil.which("aarch64-linux-gnu-g++") or aarch64_gcc
    gar = shutil.which("aarch64-linux-gnu-ar")
    require(gar, "binutils-aarch64-linux-gnu provides aarch64-linux-gnu-ar")
    create(arm64_sysroot.python, env, "--cc", aarch64_gcc, "--cxx", gxx, "--ar", gar,
           "--sysroot", arm64_sysroot.root)
    code = ("import sysconfig as s; print(s.get_config_var('CC')); "
            "print(s.get_config_var('CXX')); print(s.get_config_var('AR'))")
    cc, cxx, ar = cross(env, code).splitlines()
    guard = env / "cross" / "crossenv" / "bin"  # the path guard wrappers exec the given compilers
    hostlibc = f"-B{env / 'cross' / 'crossenv' / 'hostlibc'}/"  # the sysroot's libc first
    assert cc == f"{guard / Path(aarch64_gcc).name} --sysroot={arm64_sysroot.root} {hostlibc}"
    assert cxx == f"{guard / Path(gxx).name} --sysroot={arm64_sysroot.root} {hostlibc}"
    assert f"\nC={aarch64_gcc}\n" in (guard / Path(aarch64_gcc).name).read_text()
    assert ar == gar


def test_relative_toolchain(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--cc", aarch64_gcc, "--relative-toolchain")
    cc = cross(env, "import sysconfig as s; print(s.get_config_var('CC'))")
    wrapper = Path(cc.split()[0])  # the path guard wrapper runs the compiler found on PATH
    assert wrapper.name == "aarch64-linux-gnu-gcc"
    assert "\nC=aarch64-linux-gnu-gcc\n" in wrapper.read_text()
    # found on PATH when it runs, not where it was at creation
    fake = tmp_path / "path" / "aarch64-linux-gnu-gcc"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho fake \"$@\"\n")
    fake.chmod(0o755)
    environ = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([wrapper, "-dumpmachine"], capture_output=True, text=True,
                         env=environ, check=True).stdout
    assert out.split() == ["fake", "-dumpmachine"]


def test_config_var(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--config-var", "CCSHARED=-fPIC -DCROSSENV_TEST",
           "--config-var=FOO=bar")
    code = ("import sysconfig as s; print(s.get_config_var('CCSHARED')); "
            "print(s.get_config_var('FOO'))")
    assert cross(env, code).splitlines() == ["-fPIC -DCROSSENV_TEST", "bar"]


def test_env_forms(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--env", "CE_SET=one", "--env", "CE_KEEP?=default",
           "--env", "CE_NEW?=fresh", "--env", "CE_APPEND+=-tail", "--env", "CE_PATH:=/opt/x",
           "--env", "CE_EMPTY:=/only")
    code = ("import os; print('|'.join(os.environ.get(k, '<unset>') for k in "
            "('CE_SET', 'CE_KEEP', 'CE_NEW', 'CE_APPEND', 'CE_PATH', 'CE_EMPTY')))")
    environ = dict(os.environ, CE_KEEP="mine", CE_APPEND="head", CE_PATH="/usr")
    environ.pop("CE_EMPTY", None)
    out = run([env / "bin" / "cross-python", "-c", code], env=environ).stdout.strip()
    assert out == "one|mine|fresh|head-tail|/usr:/opt/x|/only"
    out = run([env / "bin" / "build-python", "-c", code], env=environ).stdout.strip()
    assert out.startswith("<unset>|mine|<unset>|head|/usr|")  # build-python is untouched


def test_sysconfigdata_file(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    (data,) = (arm64_sysroot.root / "usr/lib/python3.11").glob("_sysconfigdata__aarch64*.py")
    env = tmp_path / "env"
    create(arm64_sysroot.root / "usr", env, "--sysconfigdata-file", data)
    assert json.loads((env / "crossenv.json").read_text())["host"]["sysconfigdata_path"] \
        == str(data)


def tags(env: Path) -> list[str]:
    code = ("from pip._vendor.packaging.tags import platform_tags; "
            "print(' '.join(platform_tags()))")
    return cross(env, code).split()


def test_manylinux_and_extra_platform_tag(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--manylinux", "manylinux2014",
           "--extra-platform-tag", "musllinux_1_2")
    found = tags(env)
    assert found[0] == "manylinux_2_17_aarch64"
    assert "manylinux2014_aarch64" in found
    assert "manylinux_2_36_aarch64" not in found  # the declared tag caps the ladder
    assert "musllinux_1_2_aarch64" in found
    assert found[-1] == "linux_aarch64"


def test_platform_tag_replaces_the_defaults(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                            aarch64_gcc: str) -> None:
    """1.x: "If this is specified, you MUST specify all tags that you wish this environment
    to be compatible with" (its test_explicit_platform_tags checks pip debug too)."""
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--platform-tag=foobar1234",
           "--platform-tag", "musllinux_1_1", "--platform-tag", "linux_aarch64")
    assert tags(env) == ["foobar1234_aarch64", "musllinux_1_1_aarch64", "musllinux_1_0_aarch64",
                         "linux_aarch64"]
    debug = run([env / "bin" / "cross-pip", "debug", "--verbose"]).stdout
    assert "cp311-cp311-foobar1234_aarch64" in debug
    assert "manylinux" not in debug  # the sysroot's glibc ladder is gone
    meta = json.loads((env / "crossenv.json").read_text())
    assert meta["host"]["platform_tags"] == tags(env)
    # without linux_<arch> in the list, not even that is accepted
    create(arm64_sysroot.python, env, "--clear", "--platform-tag", "manylinux_2_28")
    found = tags(env)
    assert found[0] == "manylinux_2_28_aarch64" and found[-1] == "manylinux2014_aarch64"
    assert "linux_aarch64" not in found and "manylinux_2_36_aarch64" not in found
    debug = run([env / "bin" / "cross-pip", "debug", "--verbose"]).stdout
    assert "linux_aarch64" not in debug.replace("manylinux", "")


def test_platform_tags_replace_every_default_ladder(tmp_path: Path) -> None:
    """The tag computation alone: the sysroot's glibc ladder, --no-manylinux and the armv7l
    extra linux_armv6l all give way to --platform-tag; --manylinux ladders stay."""
    from crossenv import tags as tags_mod
    from test_tags import glibc_sysroot, recorded

    arm64 = recorded("arm64", glibc_sysroot(tmp_path, "aarch64-linux-gnu"))
    assert tags_mod.platform_tags_for(arm64, platform_tags=["x"])[1] == ["x_aarch64"]
    libc, ladder = tags_mod.platform_tags_for(arm64, platform_tags=["x"], extra=["y"],
                                              no_manylinux=True)
    assert ladder == ["x_aarch64", "y_aarch64"] and libc is not None  # libc_ver is the host's
    _libc, ladder = tags_mod.platform_tags_for(arm64, manylinux=["2_17"], platform_tags=["x"])
    assert ladder == ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "x_aarch64"]
    _libc, ladder = tags_mod.platform_tags_for(recorded("armhf"), platform_tags=["linux"])
    assert ladder == ["linux_armv7l"]
    _libc, ladder = tags_mod.platform_tags_for(recorded("armhf"), extra=["mytag"])
    assert ladder == ["mytag_armv7l", "linux_armv7l", "linux_armv6l"]


def test_extra_platform_tag_adds_to_the_defaults(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                                 aarch64_gcc: str) -> None:
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--extra-platform-tag", "mytag")
    found = tags(env)
    assert found[0] == "manylinux_2_36_aarch64"  # the sysroot's glibc (Debian 12)
    assert found[-2:] == ["mytag_aarch64", "linux_aarch64"]


def test_unverifiable_compiler_is_refused_naming_the_way_out(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                                             aarch64_gcc: str) -> None:
    env = tmp_path / "env"
    for cc in ("/bin/true", "gcc"):
        proc = subprocess.run([*crossenv_cmd(), "--cc", cc, arm64_sysroot.python, env],
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith(f"crossenv: error: {cc} --sysroot=")
        assert "--no-verify-toolchain" in line
        assert not env.exists()
    assert "wrote no object file" in subprocess.run(
        [*crossenv_cmd(), "--cc", "/bin/true", arm64_sysroot.python, env],
        capture_output=True, text=True).stderr


@pytest.mark.parametrize(("cc", "finding"), [
    ("/bin/true", "-c succeeded but wrote no object file"),
    ("gcc", "builds X86_64 64-bit little-endian code but the host is aarch64"),
])
def test_no_verify_toolchain_accepts_it_with_a_warning(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                                       aarch64_gcc: str, cc: str,
                                                       finding: str) -> None:
    require(shutil.which(cc), f"{cc} is needed to play the unverifiable compiler")
    env = tmp_path / "env"
    proc = create(arm64_sysroot.python, env, "--cc", cc, "--no-verify-toolchain")
    # one toolchain warning (a compiler that compiles nothing also cannot make the C++
    # runtime crossenv.cxxruntime links for manylinux: that says so in a line of its own)
    (warning,) = [line for line in proc.stderr.splitlines()
                  if line.startswith("crossenv: warning: toolchain not verified")]
    assert warning.startswith(
        "crossenv: warning: toolchain not verified (--no-verify-toolchain): ")
    assert finding in warning
    meta = json.loads((env / "crossenv.json").read_text())
    assert meta["toolchain"]["cc"][0] == cc  # used as given, as 1.x did
    assert cross(env, "import platform; print(platform.machine())") == "aarch64"


def test_machine_override(tmp_path: Path) -> None:
    require(shutil.which("arm-linux-gnueabihf-gcc"), "gcc-arm-linux-gnueabihf is not installed")
    require(shutil.which("apt-get"), "apt-get is needed to provision an armhf sysroot")
    sysroot = provision.provision_debian("armhf")
    env = tmp_path / "env"
    create(sysroot.python, env, "--machine", "armv6l")
    code = "import os, platform, sysconfig; print(os.uname().machine, platform.machine(), " \
           "sysconfig.get_platform())"
    assert cross(env, code).split() == ["armv6l", "armv6l", "linux-armv6l"]


def test_verbose_version_and_several_envs(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    proc = run([*crossenv_cmd(), "-v", arm64_sysroot.python, tmp_path / "one", tmp_path / "two"])
    assert "created" in proc.stderr
    for name in ("one", "two"):
        assert cross(tmp_path / name, "import platform; print(platform.machine())") == "aarch64"
    assert run([*crossenv_cmd(), "--version"]).stdout.startswith("crossenv 2.")


def test_very_long_env_path(tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    deep = tmp_path
    while len(str(deep)) < 220:
        deep = deep / "a-rather-long-directory-name"
    env = deep / "env"
    create(arm64_sysroot.python, env)
    assert len(str(env / "cross" / "bin" / "python")) > 127  # beyond the kernel's shebang limit
    run([env / "bin" / "cross-pip", "install", "--no-deps", "pyflakes"])
    out = run([env / "cross" / "bin" / "pyflakes", "--version"]).stdout
    assert out.strip()
    run([env / "cross" / "bin" / "pip", "--version"])
    assert cross(env, "import platform; print(platform.machine())") == "aarch64"


def test_1x_script_runs_unchanged(tmp_path: Path, arm64_sysroot, aarch64_gcc: str,  # type: ignore[no-untyped-def]
                                  aarch64_target: Target) -> None:
    """A CI script written for crossenv 1.x, run as is."""
    source = tmp_path / "hello"
    shutil.copytree(ROOT / "tests" / "sources" / "hello", source)
    script = f"""
set -eu
cd "{tmp_path}"
{sys.executable} -m crossenv "{arm64_sysroot.python}" venv
venv/bin/cross-pip install six
venv/bin/build-pip install cython
venv/bin/cross-expose cython
. venv/bin/activate
pip wheel --no-binary markupsafe --no-deps markupsafe -w wheelhouse
cd hello
python setup.py bdist_wheel
cross-expose -u cython
deactivate
"""
    run(["bash", "-c", script])
    (markupsafe,) = (tmp_path / "wheelhouse").glob("markupsafe-*linux_aarch64.whl")
    (hello,) = (source / "dist").glob("hello_crossenv-1.0-cp311-cp311-linux_aarch64.whl")
    with zipfile.ZipFile(hello) as archive:
        for member in ("hello/_chello.cpython-311-aarch64-linux-gnu.so",
                       "hello/_cyhello.cpython-311-aarch64-linux-gnu.so"):
            extracted = Path(archive.extract(member, tmp_path / "x"))
            assert elfarch.read(extracted) == arches.by_machine("aarch64").elf
    site = unpack_wheels([hello, markupsafe], tmp_path / "site")
    out = aarch64_target.python("-c", "import hello, markupsafe; print(hello.greet()); "
                                "print(hello.pointer_bits(), markupsafe.escape('<'))",
                                path=[site]).stdout.splitlines()
    assert out == ["hello from C, sizeof(long)=8", "64 &lt;"]
    listed = run([tmp_path / "venv" / "bin" / "cross-expose", "-l"]).stdout
    assert listed.strip() == ""  # -u removed what was exposed


def test_cross_expose_all_and_pip_uninstall(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                            aarch64_gcc: str) -> None:
    env = tmp_path / "env"
    create(arm64_sysroot.python, env)
    run([env / "bin" / "build-pip", "install", "msgpack", "six"])
    run([env / "bin" / "cross-expose", ":all:"])
    assert run([env / "bin" / "cross-expose", "-l"]).stdout.split() == ["msgpack", "six"]
    assert cross(env, "import six, msgpack; print(msgpack.unpackb(msgpack.packb(1)))") == "1"
    # pip in the cross env sees it, and uninstalling it leaves build-python's copy intact
    run([env / "bin" / "cross-pip", "uninstall", "-y", "six"])
    assert cross(env, "import six; print(six.__name__)", python="build-python") == "six"
    proc = subprocess.run([env / "bin" / "cross-expose", "not-installed"], capture_output=True,
                          text=True)
    assert proc.returncode == 1 and "build-pip" in proc.stderr
    run([env / "bin" / "cross-expose", "-u", ":all:"])
    # unexposed, build-pip's packages still import as in crossenv 1.x (the last finder),
    # but pip no longer lists them, and CROSSENV_BUILD_PACKAGES=0 turns the finder off
    assert "msgpack" not in run([env / "bin" / "cross-pip", "list"]).stdout
    assert cross(env, "import msgpack; print(msgpack.__name__)") == "msgpack"
    off = {**os.environ, "CROSSENV_BUILD_PACKAGES": "0"}
    assert subprocess.run([env / "bin" / "cross-python", "-c", "import msgpack"],
                          env=off).returncode != 0


def test_cross_and_build_pips_are_independent(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                              aarch64_gcc: str) -> None:
    """The cross venv's pip/setuptools are hard links of the build venv's: changing one
    environment must never change the other."""
    env = tmp_path / "env"
    create(arm64_sysroot.python, env)
    run([env / "bin" / "cross-pip", "uninstall", "-y", "setuptools"])
    assert cross(env, "import setuptools; print(setuptools.__name__)", python="build-python") \
        == "setuptools"
    assert subprocess.run([env / "bin" / "cross-python", "-c", "import setuptools"],
                          capture_output=True).returncode != 0
    assert run([env / "cross" / "bin" / "pip", "--version"]).stdout.startswith("pip ")
    assert str(env / "cross") in run([env / "cross" / "bin" / "pip", "--version"]).stdout


def test_target_requirement_option(tmp_path: Path, arm64_sysroot,  # type: ignore[no-untyped-def]
                                   aarch64_gcc: str) -> None:
    env = tmp_path / "env"
    create(arm64_sysroot.python, env, "--host-requirement", "numpy==2.3.5",
           "--host-requirement", "pybind11")
    code = "import os; print(os.environ['CROSSENV_HOST_REQUIREMENTS'])"
    assert cross(env, code).split() == ["numpy==2.3.5", "pybind11"]
    meta = json.loads((env / "crossenv.json").read_text())
    assert meta["host_requirements"] == ["numpy==2.3.5", "pybind11"]
