"""Library ``*-config`` programs answer for the host (issue 21): the sysroot's, its paths
moved into the sysroot, or one line naming the package -- never the build machine's.

The unit tests run the generated dispatchers for real (``/bin/sh``, Perl, the build
interpreter) against small sysroots made here; the integration tests use a real arm64
sysroot with Debian's libcurl4-openssl-dev, libpq-dev (a Perl ``pg_config``) and
libmariadb-dev-compat (an aarch64 ``mysql_config`` run under qemu), and build pycurl's
real sdist, which runs ``curl-config``.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import apt, backends, provision
from crossenv import host as host_mod
from crossenv import sysconfigdata as data
from crossenv.backends import configscripts
from crossenv.model import Layout, Options, Toolchain
from helpers import (
    RUNTIME,
    crossenv_cmd,
    load_runtime,
    recorded_sysconfigdata,
    require,
    run,
    shared_build,
)

dispatch = load_runtime("_crossenv_configscripts")

ROOT = b"/cache/sysroots/arm64"


# --- relocating a script's answers -------------------------------------------------------

@pytest.mark.parametrize(("given", "expected"), [
    (b"-I/usr/include/libxml2\n", b"-I" + ROOT + b"/usr/include/libxml2\n"),
    (b"-L/usr/lib/aarch64-linux-gnu -lcurl", b"-L" + ROOT + b"/usr/lib/aarch64-linux-gnu -lcurl"),
    (b"/usr\n", ROOT + b"/usr\n"),                       # curl-config --prefix
    (b"-isystem/usr/include/x", b"-isystem" + ROOT + b"/usr/include/x"),
    (b"-Wl,-rpath-link,/lib/x", b"-Wl,-rpath-link," + ROOT + b"/lib/x"),
    (b"-I" + ROOT + b"/usr/include", b"-I" + ROOT + b"/usr/include"),  # already inside
    (b"-Wl,-rpath,/usr/lib/x", b"-Wl,-rpath,/usr/lib/x"),  # run time: the wrapper judges it
    (b"/etc/ssl/certs/ca-certificates.crt", b"/etc/ssl/certs/ca-certificates.crt"),  # --ca
    (b"'--prefix=/usr' '--libdir=/usr/lib'", b"'--prefix=/usr' '--libdir=/usr/lib'"),
    (b"/usr/../../etc/passwd", b"/usr/../../etc/passwd"),  # is /etc: not a system dir
    (b"-I/usr/include/../../opt/x", b"-I" + ROOT + b"/opt/x"),
    (b"  -lxml2   -lz  \n\n", b"  -lxml2   -lz  \n\n"),
    (b"libcurl 7.88.1\n", b"libcurl 7.88.1\n"),
])
def test_answers_move_into_the_sysroot(given: bytes, expected: bytes) -> None:
    assert dispatch.relocate(given, [ROOT]) == expected


def test_the_real_path_of_the_sysroot_is_inside_it_too() -> None:
    """python3-config prints its own resolved prefix: a symlinked sysroot's real path is
    not moved again (/opt/sr/usr/include would otherwise become SYSROOT/opt/sr/...)."""
    out = dispatch.relocate(b"-I/opt/sr.1/usr/include", [b"/home/me/sr", b"/opt/sr.1"])
    assert out == b"-I/opt/sr.1/usr/include"


_WORDS = st.sampled_from([
    b"-I/usr/include", b"-L/usr/lib/x", b"/usr", b"/lib/../..", b"/etc/x", b"-lz",
    b"-I" + ROOT + b"/usr/include", ROOT, b"-isystem/opt/../../../tmp", b"/", b"//usr//lib",
    b"-Wl,-rpath,/usr/lib", b"'/usr'", b"-I", b"-I/", b"/usr/./include/.."])
_SPACE = st.sampled_from([b" ", b"\n", b"  ", b"\t", b" \n"])


@given(st.lists(st.tuples(_WORDS, _SPACE), max_size=12))
def test_relocation_keeps_the_shape_stays_inside_and_is_idempotent(
        pairs: list[tuple[bytes, bytes]]) -> None:
    text = b"".join(w + s for w, s in pairs)
    out = dispatch.relocate(text, [ROOT])
    assert re.split(rb"\S+", out) == re.split(rb"\S+", text)  # spacing kept
    assert dispatch.relocate(out, [ROOT]) == out
    for before, after in zip(text.split(), out.split()):
        if after != before:  # a moved path: lexically inside the sysroot
            assert posixpath.normpath(after[after.index(b"/"):]).startswith(ROOT + b"/")
        if b"/" not in before:
            assert after == before


# --- the table ---------------------------------------------------------------------------

def test_the_table_names_real_package_names_and_plain_program_names() -> None:
    for name, script in configscripts.SCRIPTS.items():
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+_-]*[-_]config", name), name
        assert apt.parse_package(script.package) == (script.package, None)
    for name in ("curl-config", "pg_config", "mysql_config", "xml2-config",
                 "freetype-config", "ncursesw6-config"):  # the ones issue 21 names
        assert name in configscripts.SCRIPTS


_CHAIN = Toolchain(kind="gnu", triplet="aarch64-linux-gnu", cc=("aarch64-linux-gnu-gcc",),
                   cxx=(), ar=("aarch64-linux-gnu-ar",))


def _host(sysroot: Path | None) -> host_mod.HostDescription:
    return host_mod.from_config_vars(data.load(recorded_sysconfigdata("arm64")),
                                     sysroot=sysroot)


def test_candidates_try_the_multiarch_name_first() -> None:
    host = _host(Path("/sr"))
    assert configscripts.candidates("curl-config", host)[:2] == [
        "usr/bin/aarch64-linux-gnu-curl-config", "usr/bin/curl-config"]
    assert "usr/bin/aarch64-linux-gnu-python3.11-config" in \
        configscripts.candidates("python3-config", host)


def test_config_programs_the_sysroot_has_get_a_dispatcher_too(tmp_path: Path) -> None:
    bin_dir = tmp_path / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("foo-config", "aarch64-linux-gnu-bar-config", "pkg-config", "a b-config",
                 "aarch64-linux-gnu-pkg-config", "baz_config", "python3.11", "x-config.sh"):
        (bin_dir / name).write_text("#!/bin/sh\n")
    assert configscripts.found_in_sysroot(_host(tmp_path)) == [
        "bar-config", "baz_config", "foo-config"]


# --- the dispatchers, run for real against small sysroots made here ----------------------

@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(sysroot, the dispatchers' directory, a build-machine bin with a curl-config and a
    pg_config of its own on PATH): an ENV layout with this interpreter as its build python."""
    sysroot = tmp_path / "sysroot"
    (sysroot / "usr" / "bin").mkdir(parents=True)
    layout = Layout(env=tmp_path / "env", cross=tmp_path / "env" / "cross",
                    python_version=f"{sys.version_info[0]}.{sys.version_info[1]}")
    layout.build_python.parent.mkdir(parents=True)
    layout.build_python.symlink_to(sys.executable)
    layout.cross_site.mkdir(parents=True)
    shutil.copy(RUNTIME / configscripts.RUNTIME, layout.cross_site)
    layout.crossenv_dir.mkdir()
    env = backends.make(layout.crossenv_dir, layout, _host(sysroot), _CHAIN, Options(),
                        ["configscripts"])
    assert env == {configscripts.VAR: str(layout.crossenv_dir / configscripts.DIR_NAME)}
    build_bin = tmp_path / "build-machine"
    build_bin.mkdir()
    for name in ("curl-config", "pg_config"):
        (build_bin / name).write_text("#!/bin/sh\necho -I/usr/include/x86_64-linux-gnu\n")
        (build_bin / name).chmod(0o755)
    return sysroot, Path(env[configscripts.VAR]), build_bin


def _call(made: tuple[Path, Path, Path], *args: str) -> subprocess.CompletedProcess[str]:
    _, config_bin, build_bin = made
    path = os.pathsep.join([str(config_bin), str(build_bin), os.environ["PATH"]])
    return subprocess.run(list(args), capture_output=True, text=True,
                          env={**os.environ, "PATH": path})


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def test_the_sysroots_shell_script_answers_with_sysroot_paths(made) -> None:
    sysroot = made[0]
    _script(sysroot / "usr/bin/curl-config",
            '#!/bin/sh\nprefix="/usr"\ncase "$1" in\n--prefix) echo "$prefix";;\n'
            '--cflags) echo "-I$prefix/include/aarch64-linux-gnu -DX";;\n'
            '--libs) echo "-L/usr/lib/aarch64-linux-gnu -lcurl";;\n'
            '*) echo "unknown option: $1" >&2; exit 3;;\nesac\n')
    assert _call(made, "curl-config", "--prefix").stdout == f"{sysroot}/usr\n"
    out = _call(made, "curl-config", "--cflags")
    assert out.stdout == f"-I{sysroot}/usr/include/aarch64-linux-gnu -DX\n"
    assert "x86_64" not in out.stdout
    bad = _call(made, "curl-config", "--nope")
    assert (bad.returncode, bad.stderr) == (3, "unknown option: --nope\n")  # passed through


def test_interpreters_come_from_the_shebang_line(made) -> None:
    require(shutil.which("perl"), "perl (Debian's pg_config is a Perl script)")
    sysroot = made[0]
    _script(sysroot / "usr/bin/pg_config",
            '#!/usr/bin/perl\nprint "/usr/include/postgresql\\n";\n')
    _script(sysroot / "usr/bin/xslt-config", "#!/usr/bin/env sh\necho -L/usr/lib\n")
    _script(sysroot / "usr/bin/xml2-config", "echo -I/usr/include/libxml2\n")  # no #!: sh
    assert _call(made, "pg_config").stdout == f"{sysroot}/usr/include/postgresql\n"
    assert _call(made, "xslt-config").stdout == f"-L{sysroot}/usr/lib\n"
    assert _call(made, "xml2-config").stdout == f"-I{sysroot}/usr/include/libxml2\n"


def test_a_relative_symlink_inside_the_sysroot_is_followed(made) -> None:
    sysroot = made[0]
    _script(sysroot / "usr/bin/mariadb_config", "#!/bin/sh\necho -I/usr/include/mariadb\n")
    (sysroot / "usr/bin/mysql_config").symlink_to("mariadb_config")
    assert _call(made, "mysql_config").stdout == f"-I{sysroot}/usr/include/mariadb\n"


def test_a_missing_script_names_the_package_and_never_runs_the_build_machines(made) -> None:
    proc = _call(made, "curl-config", "--cflags")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "x86_64" not in proc.stderr
    assert proc.stderr.startswith(f"crossenv: curl-config: the sysroot {made[0]} has no "
                                  "curl-config; `crossenv provision --arch arm64 ")
    assert "--package libcurl4-openssl-dev`" in proc.stderr
    (made[0] / "usr/bin/curl-config").mkdir()  # not a program: still missing
    assert _call(made, "curl-config").returncode == 1


def test_a_symlink_leaving_the_sysroot_is_refused(made) -> None:
    (made[0] / "usr/bin/pg_config").symlink_to(made[2] / "pg_config")
    proc = _call(made, "pg_config", "--includedir")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "is a symlink that leaves the sysroot" in proc.stderr


def test_a_script_debian_no_longer_ships_points_at_pkg_config(made) -> None:
    proc = _call(made, "freetype-config", "--cflags")
    assert proc.returncode == 1
    assert "libfreetype-dev no longer ships it: ask pkg-config for freetype2" in proc.stderr


def test_an_environment_without_a_sysroot_still_shadows_the_build_machine(tmp_path) -> None:
    host = _host(None)
    settings = configscripts.settings(Layout(env=tmp_path, cross=tmp_path / "cross"), host)
    message = settings["scripts"]["curl-config"]["missing"]  # type: ignore[index]
    assert message.startswith("this environment has no sysroot")
    assert "libcurl4-openssl-dev" in message


def test_the_provision_command_keeps_the_sysroots_release_python_and_packages(tmp_path) -> None:
    (tmp_path / provision.MANIFEST_NAME).write_text(json.dumps({
        "format": 1, "release": "bullseye", "python_version": "3.9",
        "requested": ["python3.9", "libjpeg62-turbo-dev", "-c/etc/passwd"]}))
    assert configscripts.provision_command(_host(tmp_path), "libpq-dev") == (
        "crossenv provision --arch arm64 --package libpq-dev")  # a bad entry: no manifest
    (tmp_path / provision.MANIFEST_NAME).write_text(json.dumps({
        "format": 1, "release": "bullseye", "python_version": "3.9",
        "requested": ["python3.9", "libpython3.9-dev", "libjpeg62-turbo-dev"]}))
    assert configscripts.provision_command(_host(tmp_path), "libpq-dev") == (
        "crossenv provision --arch arm64 --release bullseye --python 3.9 "
        "--package libjpeg62-turbo-dev --package libpq-dev")


# --- a real sysroot: Debian's scripts, cross-python's PATH, pycurl -----------------------

CONFIG_PACKAGES = ("libcurl4-openssl-dev", "libssl-dev", "libpq-dev", "libmariadb-dev-compat")


@pytest.fixture(scope="module")
def config_sysroot() -> provision.Sysroot:
    """arm64 with curl (a shell curl-config), libpq (a Perl pg_config) and MariaDB (an
    aarch64 mariadb_config): one package set, cached apart from the default sysroot."""
    require(shutil.which("apt-get"), "apt-get is needed to provision a Debian arm64 sysroot")
    return provision.provision_debian("arm64", packages=CONFIG_PACKAGES)


@pytest.fixture(scope="module")
def config_env(config_sysroot: provision.Sysroot, aarch64_gcc: str,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = shared_build(tmp_path_factory, "config-env", lambda work: run(
        [*crossenv_cmd(), config_sysroot.python, work / "env"]))
    return work / "env"


def _cross(env: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """``cross-python -c 'run ARGS'`` (stdout, stderr, status of ARGS) with *path* as PATH."""
    code = ("import subprocess, sys\np = subprocess.run(sys.argv[1:], capture_output=True, "
            "text=True)\nprint(p.returncode); print(p.stdout, end=''); "
            "print(p.stderr, end='', file=sys.stderr)")
    environ = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run([str(env / "bin" / "cross-python"), "-c", code, *args],
                          capture_output=True, text=True, env=environ)


@pytest.fixture
def fake_build_machine(tmp_path: Path) -> str:
    """A PATH whose first directory has a curl-config and an xml2-config answering for
    the build machine (as Debian's libcurl4-openssl-dev would on an x86_64 builder)."""
    for name in ("curl-config", "xml2-config"):
        (tmp_path / name).write_text("#!/bin/sh\necho -I/usr/include/x86_64-linux-gnu "
                                     "-L/usr/lib/x86_64-linux-gnu -lbuildmachine\n")
        (tmp_path / name).chmod(0o755)
    return os.pathsep.join([str(tmp_path), os.environ["PATH"]])


@pytest.mark.integration
def test_debians_curl_config_answers_from_the_sysroot(
        config_env: Path, config_sysroot: provision.Sysroot, fake_build_machine: str) -> None:
    root = str(config_sysroot.root)
    proc = _cross(config_env, "curl-config", "--cflags", "--libs", path=fake_build_machine)
    assert proc.stdout.split("\n", 1) == ["0", "\n-lcurl\n"], proc  # Debian's: no -I
    assert "x86_64" not in proc.stdout + proc.stderr and "buildmachine" not in proc.stdout
    prefix = _cross(config_env, "curl-config", "--prefix", path=fake_build_machine).stdout
    assert prefix == f"0\n{root}/usr\n"
    version = _cross(config_env, "curl-config", "--version").stdout.split("\n")[1]
    assert version == "libcurl " + config_sysroot_version(config_sysroot, "libcurl4")


def config_sysroot_version(sysroot: provision.Sysroot, package: str) -> str:
    manifest = json.loads((sysroot.root / provision.MANIFEST_NAME).read_text())
    return manifest["packages"][package].split("-")[0]


@pytest.mark.integration
def test_debians_perl_pg_config_and_aarch64_mysql_config_answer_from_the_sysroot(
        config_env: Path, config_sysroot: provision.Sysroot, qemu_aarch64: str) -> None:
    root = str(config_sysroot.root)
    out = _cross(config_env, "pg_config", "--includedir", "--libdir").stdout
    assert out == f"0\n{root}/usr/include/postgresql\n{root}/usr/lib/aarch64-linux-gnu\n"
    assert (config_sysroot.root / "usr/include/postgresql/libpq-fe.h").is_file()
    out = _cross(config_env, "mysql_config", "--cflags").stdout  # an aarch64 ELF: qemu
    assert out.split("\n")[:2] == ["0", f"-I{root}/usr/include/mariadb "
                                        f"-I{root}/usr/include/mariadb/mysql"]


@pytest.mark.integration
def test_a_missing_config_script_names_the_package_even_with_the_build_machines_on_path(
        aarch64_env: Path, fake_build_machine: str) -> None:
    proc = _cross(aarch64_env, "xml2-config", "--cflags", path=fake_build_machine)
    assert proc.stdout == "1\n", proc
    assert re.fullmatch(r"crossenv: xml2-config: the sysroot \S+ has no xml2-config; "
                        r"`crossenv provision --arch arm64 --release \w+ --python 3\.\d+ "
                        r"--package libxml2-dev` makes one with Debian's libxml2-dev: create "
                        r"the environment again from it\n", proc.stderr), proc.stderr


@pytest.mark.integration
def test_path_stays_one_path_in_nested_cross_pythons_and_native_installs_lose_config_bin(
        aarch64_env: Path) -> None:
    """config-bin is first on cross-python's PATH, once however deep cross-pythons nest
    (pip runs the PEP 517 hooks with one), and gone again for pip's native install of
    build requirements (``python -m pip install --prefix .../pip-build-env-*``)."""
    config_bin = str(aarch64_env / "cross" / "crossenv" / configscripts.DIR_NAME)
    show = "import os; print(os.environ['PATH'])"
    code = ("import os, subprocess, sys\n"
            f"print(os.environ['PATH'])\n"
            f"for extra in ([], ['install', '--prefix', '/tmp/pip-build-env-x']):\n"
            f"    subprocess.run([sys.executable, '-c', {show!r}, *extra])\n")
    outer, nested, native = run([aarch64_env / "bin" / "cross-python", "-c", code]
                                ).stdout.splitlines()
    dirs = outer.split(os.pathsep)
    assert dirs[0] == config_bin and dirs.count(config_bin) == 1
    assert nested == outer
    assert native.split(os.pathsep) == [d for d in dirs if d != config_bin]


@pytest.fixture(scope="module")
def pycurl_build(config_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    def make(work: Path) -> None:
        run([config_env / "bin" / "cross-pip", "wheel", "--no-binary", "pycurl", "--no-deps",
             "--no-cache-dir", "-v", "pycurl", "-w", work / "wh", "--log", work / "build.log"])

    work = shared_build(tmp_path_factory, "pycurl", make)
    (wheel,) = (work / "wh").glob("pycurl-*.whl")
    return wheel


@pytest.mark.integration
@pytest.mark.slow(minutes=2)
def test_pycurl_from_its_sdist_passes_check_and_imports_on_the_host(
        pycurl_build: Path, config_env: Path, qemu_aarch64: str) -> None:
    wheel = pycurl_build
    assert wheel.name.endswith("linux_aarch64.whl"), wheel.name
    log = (wheel.parent.parent / "build.log").read_text()
    assert "-DHAVE_CURL_OPENSSL" in log  # curl-config --ssl-backends: the sysroot's answer
    run([*crossenv_cmd(), "check", "--env", config_env, wheel])
    out = run([*crossenv_cmd(), "run", config_env, "--install", wheel, "--", "python", "-c",
               "import pycurl; print(pycurl.version)"]).stdout
    assert re.search(r"^PycURL/[\d.]+ libcurl/7\.\d+\.\d+ OpenSSL/3", out, re.M), out
