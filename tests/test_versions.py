"""Every Python the Debian releases ship, on the architectures they ship it for.

The release table and apt-source retargeting are unit-tested (hypothesis for the
parsers). The integration tests provision real host and build Pythons from the
archive apt is configured for, cross-build real sdists with build isolation on and
import the wheels under qemu-user. The default run builds one smoke combination
(Python 3.13, aarch64, msgpack, on a provided build Python); ``nox -s matrix``
(``CROSSENV_MATRIX=1``) runs every combination, numpy on 3.13 and riscv64 too.
Each combination prints a ``VERSIONS {json}`` row (wheels, qemu output, seconds).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import aptsources, arches, buildpython, provision, releases
from crossenv.errors import ProvisionError
from helpers import crossenv_cmd, require, run, unpack_wheels

MATRIX = os.environ.get("CROSSENV_MATRIX", "") not in ("", "0")

# --- the release table ---------------------------------------------------------------


@pytest.mark.parametrize(("python", "arch", "suite"), [
    ("3.9", "arm64", "bullseye"), ("3.11", "arm64", "bookworm"), ("3.13", "arm64", "trixie"),
    ("3.14", "arm64", "sid"), ("3.13", "riscv64", "trixie"), ("3.14", "riscv64", "sid"),
    ("3.11", "s390x", "bookworm"),
])
def test_python_picks_the_release(python: str, arch: str, suite: str) -> None:
    assert releases.choose(arch, python).suite == suite


def test_each_fact_lives_once() -> None:
    suites = [r.suite for r in releases.RELEASES]
    assert len(set(suites)) == len(suites)
    for release in releases.RELEASES:
        assert set(release.architectures) <= set(arches.debian_names())
        assert sum(p.startswith("libstdc++-") for p in release.packages) == 1
        assert releases.default_packages(release, "3.13")[:2] == ("python3.13",
                                                                   "libpython3.13-dev")


@pytest.mark.parametrize(("arch", "python", "release", "words"), [
    ("riscv64", "3.11", None, ["3.11", "riscv64", "trixie"]),
    ("arm64", "3.12", None, ["3.12", "for arm64", "bookworm 3.11", "sid 3.14, 3.15"]),
    ("arm64", "3.11", "trixie", ["trixie", "3.13", "3.11"]),
    ("riscv64", None, "bullseye", ["bullseye", "riscv64"]),
    ("arm64", None, "potato", ["potato", "bullseye"]),
])
def test_unknown_combinations_are_one_line(arch: str, python: str | None, release: str | None,
                                           words: list[str]) -> None:
    with pytest.raises(ProvisionError) as info:
        releases.choose(arch, python, release)
    assert "\n" not in str(info.value)
    assert all(word in str(info.value) for word in words)


@pytest.mark.parametrize(("text", "version"), [("3.13", "3.13"), ("python3.9", "3.9"),
                                                ("314", "3.14"), (" 3.11 ", "3.11")])
def test_parse_python(text: str, version: str) -> None:
    assert releases.parse_python(text) == version


@pytest.mark.parametrize("text", ["3", "2.7", "latest", "3.13.1"])
def test_parse_python_refuses(text: str) -> None:
    with pytest.raises(ProvisionError, match="invalid --python"):
        releases.parse_python(text)


def test_free_threaded_is_refused_with_the_reason() -> None:
    with pytest.raises(ProvisionError, match="free-threaded"):
        releases.parse_python("3.13t")


def test_cache_key_includes_release_and_python() -> None:
    trixie, sid = releases.by_suite("trixie"), releases.by_suite("sid")
    assert provision.default_dest("arm64", trixie, "3.13").name == "debian-trixie-arm64"
    assert provision.default_dest("arm64", sid, "3.14").name == "debian-sid-arm64"
    assert provision.default_dest("arm64", sid, "3.13").name == "debian-sid-python3.13-arm64"
    assert buildpython.default_dest(trixie, "3.13", "amd64").name == \
        "debian-trixie-python3.13-amd64"


# --- apt sources: parsed, retargeted, written ----------------------------------------

_BOOKWORM_822 = """\
Types: deb deb-src
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 abc
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://vendor.example/apt
Suites: nodistro
Components: main

Types: deb
Enabled: no
URIs: http://off.example/debian
Suites: bookworm
Components: main
"""


def test_deb822_sources_retarget_to_sid_and_trixie() -> None:
    sources = aptsources.parse_deb822(_BOOKWORM_822)
    assert [s.uris[0] for s in sources] == ["http://mirror.example/debian",
                                            "http://mirror.example/debian-security",
                                            "http://vendor.example/apt"]
    trixie = aptsources.retarget(sources, "bookworm", releases.by_suite("trixie"))
    assert [s.suites for s in trixie] == [("trixie", "trixie-updates"), ("trixie-security",)]
    assert trixie[1].options[0][1].startswith("\n -----BEGIN")  # embedded key kept whole
    sid = aptsources.retarget(sources, "bookworm", releases.by_suite("sid"))
    assert [s.suites for s in sid] == [("sid",)]  # sid has no -updates/-security
    text = aptsources.render_deb822(trixie)
    assert aptsources.parse_deb822(text) == trixie
    assert "vendor.example" not in text and "bookworm" not in text


def test_one_line_sources_keep_their_options() -> None:
    text = ("# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n"
            "deb-src http://m.example/debian bookworm main\n"
            "deb http://m.example/debian bookworm-backports main\n")
    sources = aptsources.parse_list(text)
    assert sources[0].options == (("Signed-By", "/k.gpg"),)
    moved = aptsources.retarget(sources, "bookworm", releases.by_suite("bullseye"))
    assert [s.suites for s in moved] == [("bullseye",)]  # backports is not a release pocket


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-./:_", min_size=1, max_size=12)
_SOURCE = st.builds(
    aptsources.Source, uris=st.lists(_WORD, min_size=1, max_size=3).map(tuple),
    suites=st.lists(_WORD, min_size=1, max_size=3).map(tuple),
    components=st.lists(_WORD, min_size=1, max_size=3).map(tuple),
    options=st.lists(st.tuples(st.sampled_from(["Signed-By", "Trusted", "Check-Valid-Until"]),
                               _WORD), max_size=2, unique_by=lambda kv: kv[0]).map(tuple))


@given(st.lists(_SOURCE, max_size=4))
def test_deb822_round_trip(sources: list[aptsources.Source]) -> None:
    assert aptsources.parse_deb822(aptsources.render_deb822(sources)) == sources


@given(st.lists(_SOURCE, max_size=4), st.sampled_from(releases.RELEASES))
def test_retarget_names_only_the_release(sources: list[aptsources.Source],
                                         release: releases.Release) -> None:
    for source in aptsources.retarget(sources, "bookworm", release):
        assert set(source.suites) <= set(release.suites())


# --- command line errors (no network) ------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["provision", "--arch", "riscv64", "--python", "3.11"],
    ["provision", "--arch", "arm64", "--python", "3.12"],
    ["provision", "--arch", "arm64", "--python", "nope"],
    ["--python", "3.13", "/nonexistent/python3.13", "ENV"],
    ["ENV_ONLY"],
])
def test_bad_version_requests_are_one_line(argv: list[str], tmp_path: Path) -> None:
    proc = subprocess.run([*crossenv_cmd(), *argv], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())


def test_given_build_python_must_match() -> None:
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    other = "3.13" if mine != "3.13" else "3.11"
    with pytest.raises(ProvisionError, match=f"is Python {mine}; the host is Python {other}"):
        buildpython.resolve(other, sys.executable)
    assert buildpython.resolve(mine, sys.executable).origin == "given"


# --- real host and build Pythons ------------------------------------------------------

# (python, Debian arch, cross gcc, qemu, packages built from sdists)
_SMOKE = [("3.13", "arm64", "aarch64-linux-gnu-gcc", ("msgpack",))]
_FULL = [
    ("3.9", "arm64", "aarch64-linux-gnu-gcc", ("markupsafe", "msgpack")),
    ("3.11", "arm64", "aarch64-linux-gnu-gcc", ("markupsafe", "msgpack")),
    ("3.13", "arm64", "aarch64-linux-gnu-gcc", ("markupsafe", "msgpack", "numpy")),
    ("3.14", "arm64", "aarch64-linux-gnu-gcc", ("markupsafe", "msgpack")),
    # sid's python3.15 (the archive's index says sid ships it): a C and a Cython sdist
    ("3.15", "arm64", "aarch64-linux-gnu-gcc", ("markupsafe", "msgpack")),
    ("3.13", "riscv64", "riscv64-linux-gnu-gcc", ("msgpack",)),
]
_MACHINE = {"arm64": "aarch64", "riscv64": "riscv64"}
_IMPORTS = {"msgpack": "import msgpack, msgpack._cmsgpack; "
                       "assert msgpack.unpackb(msgpack.packb({'k': [1, 2]})) == {'k': [1, 2]}",
            "markupsafe": "import markupsafe, markupsafe._speedups; "
                          "assert str(markupsafe.escape('<a>')) == '&lt;a&gt;'",
            "numpy": "import numpy; assert int(numpy.arange(5).sum()) == 10"}
_SPECS = {"numpy": os.environ.get("CROSSENV_TEST_NUMPY", "numpy==2.3.5")}


def only_system_python_env() -> dict[str, str]:
    """The environment of a machine whose only Python is 3.11: no pyenv, no uv pythons."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYENV", "PYTHON", "UV_"))}
    env["PATH"] = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin")
                                  if Path(p).is_dir())
    env["UV_PYTHON_INSTALL_DIR"] = "/nonexistent"
    return env


def _qemu(arch: str) -> str:
    qemu = provision.find_qemu(arch)
    require(qemu, f"qemu-user-static ({provision.qemu_name(arch)}) is needed")
    assert qemu is not None
    return qemu


@pytest.fixture(scope="module")
def results() -> Iterator[list[dict[str, object]]]:
    """Rows of the version x architecture table (printed at the end, -s shows it)."""
    rows: list[dict[str, object]] = []
    yield rows
    for row in rows:
        print("VERSIONS", json.dumps(row))


@pytest.mark.integration
@pytest.mark.parametrize(("python", "arch", "gcc", "packages"), _FULL if MATRIX else _SMOKE,
                         ids=lambda v: v if isinstance(v, str) else "+".join(v))
def test_version_env_builds_and_runs(python: str, arch: str, gcc: str, packages: tuple[str, ...],
                                     tmp_path: Path, results: list[dict[str, object]]) -> None:
    require(shutil.which("apt-get"), "apt-get is needed to provision Debian Pythons")
    require(shutil.which(gcc), f"{gcc} is needed (see .ci/apt-packages.txt)")
    qemu = _qemu(arch)
    env = tmp_path / "env"
    start = time.monotonic()
    # As on a machine with only Python 3.11: the build Python comes from Debian too.
    run([*crossenv_cmd(), "--arch", arch, "--python", python, env],
        env={**only_system_python_env(), "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), only_system_python_env()["PATH"]])})
    created = time.monotonic() - start
    meta = json.loads((env / "crossenv.json").read_text())
    assert meta["host"]["version"] == [int(x) for x in python.split(".")]
    home = (env / "build" / "pyvenv.cfg").read_text()
    if python != f"{sys.version_info[0]}.{sys.version_info[1]}":
        assert "build-pythons" in home  # provided, not found
    assert (env / "bin" / f"cross-pip{python}").is_file()
    assert (env / "cross" / "lib" / f"python{python}" / "site-packages" /
            "_crossenv_config.py").is_file()
    described = run([*crossenv_cmd(), "describe", "--format", "env", env]).stdout
    assert "CROSSENV_MESON_CROSS_FILE=" in described  # read from the host X.Y's site-packages
    out = tmp_path / "wheels"
    # From sdists, with build isolation on; build requirements (Cython, meson) as wheels.
    run([env / "bin" / "cross-pip", "wheel", "--no-binary", ",".join(packages), "--no-deps",
         "--no-cache-dir", *(_SPECS.get(p, p) for p in packages), "-w", out])
    tag = f"cp{python.replace('.', '')}"
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == len(packages)
    assert all(w.name.endswith(f"-{tag}-{tag}-linux_{_MACHINE[arch]}.whl") for w in wheels)
    if MATRIX:  # every extension has a suffix the host imports, and loads under qemu
        checked = run([*crossenv_cmd(), "check", "--env", env, "--import", *wheels])
        assert (checked.stdout + checked.stderr).count(": OK") == len(wheels), checked.stdout
    sysroot = provision.provision_debian(arch, python=python)
    site = unpack_wheels(wheels, tmp_path / "site")
    code = "; ".join([*(_IMPORTS[p] for p in packages),
                      "import platform, sys; print(platform.machine(), sys.version_info[:2])"])
    proc = run([qemu, "-L", sysroot.root, sysroot.python, "-c", code],
               env={"PYTHONPATH": str(site), "PATH": os.environ["PATH"]})
    assert proc.stdout.split()[0] == _MACHINE[arch]
    results.append({"python": python, "arch": arch, "release": sysroot.release,
                    "wheels": [w.name for w in wheels], "qemu": proc.stdout.strip(),
                    "create_s": round(created, 1), "total_s": round(time.monotonic() - start, 1)})


@pytest.mark.integration
def test_cache_hit_is_fast() -> None:
    """A second ``--arch`` create provisions nothing: the cached trees are reused at once."""
    require(shutil.which("apt-get"), "apt-get is needed to provision Debian Pythons")
    provision.provision_debian("arm64", python="3.13")
    buildpython.provide("3.13")
    start = time.monotonic()
    provision.provision_debian("arm64", python="3.13")
    buildpython.resolve("3.13", buildpython.PROVIDE)
    assert time.monotonic() - start < 0.5


@pytest.mark.integration
def test_provided_build_python_runs_pip_and_builds_c_extensions(tmp_path: Path) -> None:
    """A provided interpreter is a full one: venvs, pip, and native C extension builds."""
    require(shutil.which("apt-get"), "apt-get is needed to provision Debian Pythons")
    require(shutil.which("gcc"), "gcc is needed for native extension builds")
    python = buildpython.provide("3.13")
    assert buildpython.version_of(python) == "3.13"
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "virtualenv", "-q", "-p", python, venv])
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ext.c").write_text(
        "#include <Python.h>\nstatic struct PyModuleDef d = {PyModuleDef_HEAD_INIT, \"ext\"};\n"
        "PyMODINIT_FUNC PyInit_ext(void) { return PyModule_Create(&d); }\n")
    (tmp_path / "src" / "setup.py").write_text(
        "from setuptools import setup, Extension\n"
        "setup(name='ext', version='1', ext_modules=[Extension('ext', ['ext.c'])])\n")
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", tmp_path / "src"])
    proc = run([venv / "bin" / "python", "-c", "import ext, ssl, sqlite3; print(ext.__file__)"])
    assert "cpython-313-x86_64-linux-gnu.so" in proc.stdout
