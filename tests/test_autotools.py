"""The autoconf site file and test runner, and pynacl's bundled libsodium built with them.

The site file is checked by the shell that configure itself uses (``/bin/sh``):
it must parse, give back every value exactly (values come from the host's files,
so they are arbitrary text), and step aside for an explicit ``--host``/``--build``,
an already-set variable or a cache value. The integration test cross-builds
pynacl from its PyPI sdist with pip's defaults (libsodium's ``./configure`` with
no ``--host``, then ``make check`` of its test programs under qemu) and uses it
on the host under qemu.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossenv import arches, backends, elfarch, host
from crossenv.backends import autotools
from crossenv.errors import CrossenvError, HostError
from crossenv.model import Layout, Options, Toolchain
from helpers import (
    Target,
    crossenv_cmd,
    recorded_sysconfigdata,
    require,
    run,
    shared_build,
    unpack_wheels,
)

SH = "/bin/sh"
TRIPLETS = st.from_regex(r"\A[a-z0-9_]{1,8}(-[a-z0-9_.]{1,8}){1,3}\Z", fullmatch=True)
# Anything a path or flag can hold: quotes, $, backquotes, newlines, non-ASCII.
VALUES = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                 max_size=40)
NAMES = st.sampled_from(["CC", "CXX", "AR", "RANLIB", "STRIP", "ac_cv_func_malloc_0_nonnull"])


def source(site: Path, names: list[str], prelude: str = "") -> list[str]:
    """Values of *names* after ``. site`` in sh, as configure loads it."""
    dump = "".join(f'printf "%s\\0" "${{{name}-<unset>}}"; ' for name in names)
    script = f'{prelude}\n. "$1" || exit 97\n{dump}'
    proc = subprocess.run([SH, "-c", script, "sh", str(site)], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode("utf-8", errors="surrogateescape").split("\0")[:-1]


def _render(tmp_path: Path, variables: dict[str, str], host_alias: str = "aarch64-linux-gnu",
            build_alias: str = "x86_64-pc-linux-gnu") -> Path:
    site = tmp_path / "config.site"
    site.write_text(autotools.render(host_alias=host_alias, build_alias=build_alias,
                                     variables=variables), encoding="utf-8")
    return site


@settings(max_examples=60, deadline=None)
@given(host_alias=TRIPLETS, values=st.dictionaries(NAMES, VALUES, max_size=4))
def test_site_file_is_sh_that_gives_back_every_value(tmp_path_factory: pytest.TempPathFactory,
                                                     host_alias: str,
                                                     values: dict[str, str]) -> None:
    site = _render(tmp_path_factory.mktemp("site"), values, host_alias=host_alias)
    check = subprocess.run([SH, "-n", str(site)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    names = ["host_alias", "build_alias", "host", "cross_compiling", "ac_tool_prefix", *values]
    got = source(site, names)
    assert got == [host_alias, "x86_64-pc-linux-gnu", host_alias, "yes", f"{host_alias}-",
                   *values.values()]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_only_plain_triplets_are_accepted(text: str) -> None:
    plain = re.fullmatch(r"[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+){1,3}", text, re.ASCII)
    if plain:
        assert autotools.check_triplet(text, "host triplet") == text
    else:
        with pytest.raises(HostError, match="not a GNU triplet"):
            autotools.render(host_alias=text, build_alias="x86_64-pc-linux-gnu", variables={})


@pytest.mark.parametrize("bad", ["aarch64-linux-gnu;id", "$(id)-linux-gnu", "a b-linux",
                                 "aarch64-linux-gnu\n", "aarch64", "a-b-c-d-e", "-linux-gnu"])
def test_hostile_triplets_are_refused_with_one_clear_line(bad: str) -> None:
    with pytest.raises(HostError) as info:
        autotools.check_triplet(bad, "host's HOST_GNU_TYPE")
    assert "\n" not in str(info.value).replace(repr(bad), "")


def test_explicit_host_build_environment_and_cache_win(tmp_path: Path) -> None:
    site = _render(tmp_path, {"CC": "aarch64-linux-gnu-gcc --sysroot=/s r",
                              "ac_cv_func_malloc_0_nonnull": "yes"})
    names = ["host_alias", "build_alias", "cross_compiling", "CC", "ac_cv_func_malloc_0_nonnull"]
    # nothing given: the host
    assert source(site, names) == ["aarch64-linux-gnu", "x86_64-pc-linux-gnu", "yes",
                                   "aarch64-linux-gnu-gcc --sysroot=/s r", "yes"]
    # --host or --build given: the site file does nothing at all
    for given_option in ("host_alias=riscv64-linux-gnu", "build_alias=x86_64-pc-linux-gnu"):
        got = source(site, names, prelude=given_option)
        assert "<unset>" in got and "yes" not in got, got
    # variables already set (environment, CC=... argument, even empty) keep their value
    got = source(site, names, prelude="CC=; ac_cv_func_malloc_0_nonnull=no")
    assert got[3:] == ["", "no"]


def test_generated_for_a_host(tmp_path: Path) -> None:
    description = host.describe(recorded_sysconfigdata("arm64"))
    chain = Toolchain(kind="gnu", triplet="aarch64-linux-gnu",
                      cc=("aarch64-linux-gnu-gcc", "--sysroot=/it's here"),
                      cxx=("aarch64-linux-gnu-g++",), ar=("aarch64-linux-gnu-ar",))
    out = tmp_path / "out"
    out.mkdir()
    layout = Layout(env=tmp_path / "E", cross=tmp_path / "E" / "cross")
    env = backends.make(out, layout, description, chain, Options(), ["emulator", "autotools"])
    assert env[autotools.SITE_VAR] == str(layout.crossenv_dir / "config.site")
    assert "crossenv.backends.autotools" in backends.GENERATORS
    names = ["host_alias", "CC", "CXX", "AR", "ac_cv_func_realloc_0_nonnull"]
    assert source(out / "config.site", names) == [
        "aarch64-linux-gnu", "aarch64-linux-gnu-gcc '--sysroot=/it'\"'\"'s here'",
        "aarch64-linux-gnu-g++", "aarch64-linux-gnu-ar", "yes"]
    if autotools.RUNNER_VAR in env:  # qemu is here: host programs of make check run under it
        assert env[autotools.RUNNER_VAR] == str(layout.crossenv_dir / "emulator")
        assert os.access(out / "emulator", os.X_OK)


def test_paths_configure_or_make_would_split_are_not_exported(tmp_path: Path) -> None:
    description = host.describe(recorded_sysconfigdata("arm64"))
    chain = Toolchain(kind="gnu", triplet="aarch64-linux-gnu", cc=("aarch64-linux-gnu-gcc",),
                      cxx=(), ar=("aarch64-linux-gnu-ar",))
    for name in ("with space", "dollar$HOME"):
        out = tmp_path / name
        out.mkdir()
        layout = Layout(env=out, cross=out / "cross")
        env = backends.make(out, layout, description, chain, Options(), ["autotools"])
        assert env == {}
        assert (out / "config.site").is_file()


def test_a_host_gnu_type_that_is_not_a_triplet_stops_creation(tmp_path: Path) -> None:
    description = host.describe(recorded_sysconfigdata("arm64"))
    chain = Toolchain(kind="clang", triplet="x", cc=("clang",), cxx=(), ar=("ar",))
    bad = host.HostDescription(**{**description.__dict__,
                                  "host_gnu_type": "aarch64-linux-gnu`id`"})
    layout = Layout(env=tmp_path, cross=tmp_path / "cross")
    with pytest.raises(HostError, match="HOST_GNU_TYPE"):
        backends.make(tmp_path, layout, bad, chain, Options(), ["autotools"])


# --- integration: configure scripts run by real builds -------------------------------------

NACL_CODE = (
    "import nacl.public, nacl.secret, nacl.utils, nacl.bindings; "
    "key = nacl.public.PrivateKey.generate(); "
    "box = nacl.secret.SecretBox(nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)); "
    "print(len(bytes(key.public_key)), box.decrypt(box.encrypt(b'cross')).decode())"
)


@pytest.fixture(scope="module")
def nacl_wheel(aarch64_env: Path, qemu_aarch64: str,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pynacl with pip's defaults: isolation on, bundled libsodium, its ``make check``."""
    require(shutil.which("make"), "make is needed to build pynacl's bundled libsodium")

    def make(wheelhouse: Path) -> None:
        start = time.monotonic()
        run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-binary", "pynacl", "--no-deps",
             "--no-cache-dir", "-v", "--log", wheelhouse / "build.log", "pynacl",
             "-w", wheelhouse])
        print(f"\npynacl cross build (configure, make, make check under qemu): "
              f"{time.monotonic() - start:.0f} s")

    wheelhouse = shared_build(tmp_path_factory, "pynacl", make)
    (wheel,) = wheelhouse.glob("pynacl-*.whl")
    return wheel


@pytest.mark.integration
@pytest.mark.slow(minutes=2)
def test_pynacl_bundled_libsodium(nacl_wheel: Path, aarch64_env: Path, aarch64_target: Target,
                                  tmp_path: Path) -> None:
    log = (nacl_wheel.parent / "build.log").read_text(errors="replace")
    assert "loading site script" in log and "checking whether we are cross compiling... yes" in log
    tests = re.search(r"# TOTAL: *(\d+).*?# PASS: *(\d+)", log, re.S)
    assert tests and int(tests.group(1)) > 50 and tests.group(1) == tests.group(2), \
        "libsodium's make check did not run all its programs under qemu"
    assert nacl_wheel.name.endswith("-linux_aarch64.whl"), nacl_wheel.name
    with zipfile.ZipFile(nacl_wheel) as archive:
        (member,) = [n for n in archive.namelist() if n.startswith("nacl/_sodium")]
        archive.extract(member, tmp_path)
    assert elfarch.read(tmp_path / member) == arches.by_machine("aarch64").elf
    run([*crossenv_cmd(), "check", "--env", aarch64_env, nacl_wheel])
    deps = tmp_path / "deps"
    run([aarch64_env / "bin" / "cross-pip", "download", "--only-binary", ":all:", "--no-deps",
         "cffi", "pycparser", "-d", deps])
    site = unpack_wheels([nacl_wheel, *deps.glob("*.whl")], tmp_path / "site")
    out = aarch64_target.python("-c", NACL_CODE, path=[site]).stdout.strip()
    assert out == "32 cross"


PROBE_REQUIREMENT = """\
import os
from setuptools import setup

leaked = [name for name in ("CONFIG_SITE", "LOG_COMPILER") if name in os.environ]
if leaked:
    raise SystemExit(f"a native build requirement saw the host's {leaked}")
setup(name="nativeprobe", version="1", py_modules=["nativeprobe"])
"""

PROBE = """\
import os, subprocess
from setuptools import setup

script = '. "$CONFIG_SITE"; echo "$host_alias $cross_compiling $ac_cv_func_malloc_0_nonnull"'
facts = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
if facts.split() != ["aarch64-linux-gnu", "yes", "yes"]:
    raise SystemExit(f"the cross build's CONFIG_SITE says {facts!r}")
setup(name="autoprobe", version="1", py_modules=["autoprobe"])
"""


@pytest.mark.integration
def test_only_the_cross_build_configures_for_the_host(aarch64_env: Path, qemu_aarch64: str,
                                                      tmp_path: Path) -> None:
    """The host build sees the site file; its native build requirement does not; a user's
    own CONFIG_SITE wins."""
    requirement = tmp_path / "nativeprobe"
    requirement.mkdir()
    (requirement / "setup.py").write_text(PROBE_REQUIREMENT)
    (requirement / "nativeprobe.py").write_text("")
    project = tmp_path / "autoprobe"
    project.mkdir()
    (project / "setup.py").write_text(PROBE)
    (project / "autoprobe.py").write_text("")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools", '
        f'"nativeprobe @ {requirement.as_uri()}"]\nbuild-backend = "setuptools.build_meta"\n')
    run([aarch64_env / "bin" / "cross-pip", "wheel", "--no-deps", "--no-cache-dir", project,
         "-w", tmp_path / "wh"])
    assert list((tmp_path / "wh").glob("autoprobe-1-*.whl"))
    env = {**os.environ, "CONFIG_SITE": "/mine/config.site"}
    code = "import os; print(os.environ['CONFIG_SITE'], os.environ['LOG_COMPILER'])"
    mine, runner = run([aarch64_env / "bin" / "cross-python", "-c", code],
                       env=env).stdout.split()
    assert mine == "/mine/config.site"
    assert runner == str(aarch64_env / "cross" / "crossenv" / "emulator")
    code = "import os; print('CONFIG_SITE' in os.environ, 'LOG_COMPILER' in os.environ)"
    out = run([aarch64_env / "bin" / "build-python", "-c", code]).stdout.strip()
    assert out == "False False"


def test_a_value_the_shell_cannot_hold_is_refused() -> None:
    with pytest.raises(CrossenvError, match="NUL"):
        autotools.render(host_alias="aarch64-linux-gnu", build_alias="x86_64-pc-linux-gnu",
                         variables={"CC": "gcc\0--sysroot=/x"})
