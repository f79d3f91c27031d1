"""crossenv buildwheel: cibuildwheel's configuration, cross-built, repaired, tested under qemu.

Unit tests cover the parsers (selectors, option sources and precedence, value syntaxes)
with hypothesis where there is a grammar. Integration tests run the real command on
tests/sources/cibw-project (a C and a Cython extension, pytest from a PEP 735 dependency
group named by test-groups, a test that spawns sys.executable): the
default run builds one identifier and three deliberate failures (a failing test, a
glibc symbol beyond the policy, a build-machine binary); ``nox -s buildwheel``
(``CROSSENV_BUILDWHEEL_FULL=1``) builds the project's whole matrix: aarch64, armv7l,
ppc64le and s390x for cp311 (bookworm) and cp314 (sid, on a provided build Python, with
build-frontend build[uv]).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv.buildwheel import config, identifiers, options, selector
from crossenv.buildwheel.envsyntax import OptionError, parse_config_settings, parse_environment
from helpers import require, shared_build

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tests" / "sources" / "cibw-project"
FULL = os.environ.get("CROSSENV_BUILDWHEEL_FULL", "") not in ("", "0")
ALL_NAMES = [str(i) for i in identifiers.available()]

# --- identifiers and selectors ------------------------------------------------------------


def test_identifiers_follow_the_release_table() -> None:
    assert "cp311-manylinux_aarch64" in ALL_NAMES
    assert "cp313-manylinux_riscv64" in ALL_NAMES
    assert "cp311-manylinux_riscv64" not in ALL_NAMES  # bookworm has no riscv64
    assert identifiers.parse("cp313-manylinux_s390x") == identifiers.Identifier("3.13", "s390x")
    with pytest.raises(identifiers.SelectionError, match="unknown build identifier"):
        identifiers.parse("cp311-musllinux_aarch64")


def test_archs_values() -> None:
    assert identifiers.parse_archs("auto") == ["aarch64", "armv7l", "ppc64le", "s390x"]
    assert identifiers.parse_archs("aarch64, s390x aarch64") == ["aarch64", "s390x"]
    assert set(identifiers.parse_archs("all")) == set(identifiers.ARCHS)
    warned: list[str] = []
    assert identifiers.parse_archs("x86_64 aarch64", warned.append) == ["aarch64"]
    assert warned and "x86_64 left out" in warned[0]
    with pytest.raises(identifiers.SelectionError, match="names no architecture"):
        identifiers.parse_archs("x86_64")
    with pytest.raises(identifiers.SelectionError, match="unknown archs value 'arm'"):
        identifiers.parse_archs("arm")


_names = st.sampled_from(ALL_NAMES)


@given(st.lists(_names, min_size=1, max_size=6), _names)
def test_selector_matches_exactly_the_listed_names(listed: list[str], probe: str) -> None:
    assert selector.matches(" ".join(listed), probe) == (probe in listed)


@given(st.lists(_names, max_size=4), st.lists(_names, max_size=4), _names)
def test_skip_wins_over_build(build: list[str], skip: list[str], probe: str) -> None:
    chosen = selector.BuildSelector(" ".join(build) or "*", " ".join(skip))(probe)
    assert chosen == ((not build or probe in build) and probe not in skip)


@given(st.lists(st.sampled_from(["9", "11", "13", "14"]), min_size=1, max_size=4,
                unique=True), _names)
def test_braces_expand_like_separate_patterns(minors: list[str], probe: str) -> None:
    braced = "cp3{" + ",".join(minors) + "}-*" if len(minors) > 1 else f"cp3{minors[0]}-*"
    separate = " ".join(f"cp3{m}-*" for m in minors)
    assert selector.matches(braced, probe) == selector.matches(separate, probe)


@given(_names, st.sampled_from([">=3.10", ">=3.12", "<3.12", "~=3.11", "!=3.13.*"]))
def test_requires_python_as_cibuildwheel_tests_it(probe: str, spec: str) -> None:
    from packaging.specifiers import SpecifierSet
    minor = int(probe.split("-")[0][3:])
    expected = SpecifierSet(spec).contains(f"3.{minor}.99")
    assert selector.BuildSelector("*", "", SpecifierSet(spec))(probe) == expected


def test_selector_refuses_a_bad_spec() -> None:
    with pytest.raises(identifiers.SelectionError, match="requires-python"):
        selector.parse_requires_python(">=three")


# --- value syntaxes -------------------------------------------------------------------------

_var = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


@given(st.dictionaries(_var, _text, max_size=4))
def test_environment_quoted_values_round_trip(assigned: dict[str, str]) -> None:
    """A value single-quoted by shlex.quote comes back exactly, '$' and all."""
    text = " ".join(f"{name}={shlex.quote(value)}" for name, value in assigned.items())
    try:
        got = parse_environment(text, {})
    except OptionError as exc:  # only command substitution is refused
        assert "command substitution" in str(exc)
        return
    assert got == assigned


def test_environment_expands_in_order() -> None:
    got = parse_environment('A=x B="$A y" C=${B}z D=\'$A\' PATH="$PATH:/opt"',
                            {"PATH": "/bin"})
    assert got == {"A": "x", "B": "x y", "C": "x yz", "D": "$A", "PATH": "/bin:/opt"}
    assert parse_environment({"X": "$HOME/a"}, {"HOME": "/h"}) == {"X": "/h/a"}
    with pytest.raises(OptionError, match="command substitution"):
        parse_environment("A=$(date)", {})
    with pytest.raises(OptionError, match="not an assignment"):
        parse_environment("just words", {})


@given(st.lists(st.tuples(st.from_regex(r"[a-z][a-z.-]{0,8}", fullmatch=True), _text),
                max_size=4))
def test_config_settings_round_trip(pairs: list[tuple[str, str]]) -> None:
    text = " ".join(shlex.quote(f"{k}={v}") for k, v in pairs)
    assert parse_config_settings(text) == pairs


def test_config_settings_table() -> None:
    assert parse_config_settings({"a": "b", "c": ["d", "e"]}) == [("a", "b"), ("c", "d"),
                                                                   ("c", "e")]


def test_policies_frontends_and_commands() -> None:
    assert options.parse_policy("manylinux2014", "x").glibc == (2, 17)
    assert options.parse_policy("quay.io/pypa/manylinux_2_34_aarch64:2025.01", "x").glibc == \
        (2, 34)
    with pytest.raises(OptionError, match="manylinux-aarch64-image"):
        options.parse_policy("musllinux_1_2", "manylinux-aarch64-image")
    assert options.parse_frontend("build[uv]").name == "build[uv]"
    assert options.parse_frontend("default").name == "build"  # cibuildwheel 3's default
    assert options.parse_frontend("pip; args: --no-cache-dir -v").args == ("--no-cache-dir",
                                                                            "-v")
    assert options.parse_frontend({"name": "build", "args": ["-x"]}).args == ("-x",)
    with pytest.raises(OptionError, match="crossenv supports"):
        options.parse_frontend("hatch")
    assert options.split_commands("pytest {project}/tests && python -c 'print(1)'; echo x") == \
        [["pytest", "{project}/tests"], ["python", "-c", "print(1)"], ["echo", "x"]]
    with pytest.raises(OptionError, match=re.escape("'|' is not supported")):
        options.split_commands("pytest | tee log")


def test_before_all_package_lines() -> None:
    warned: list[str] = []
    packages, other = options.before_all_packages(
        "apt-get update && apt-get install -y libxml2-dev libxslt1-dev && "
        "yum install -y libffi-devel && bash ci/prepare.sh", warned.append)
    assert packages == ["libxml2-dev", "libxslt1-dev"]
    assert other == [["bash", "ci/prepare.sh"]]
    assert len(warned) == 1 and "yum install -y libffi-devel" in warned[0]
    assert "sysroot-packages" in warned[0]
    # multidict's: one alternative per distribution, the Debian one is taken
    warned.clear()
    packages, other = options.before_all_packages(
        "yum install -y libffi-devel || apk add --upgrade libffi-dev || "
        "apt-get install libffi-dev", warned.append)
    assert (packages, other, warned) == (["libffi-dev"], [], [])
    with pytest.raises(OptionError, match="only between package installs"):
        options.before_all_packages("make || true", warned.append)
    with pytest.raises(OptionError, match="only understood in before-all"):
        options.split_commands("pytest || true")
    # zstandard 0.25's: shell syntax around a container install is warned about, not run
    warned.clear()
    packages, other = options.before_all_packages(
        "if [ -x /usr/bin/yum ]; then yum install -y libffi-devel; fi", warned.append)
    assert (packages, other) == ([], []) and len(warned) == 1, warned
    assert "sysroot-packages" in warned[0] and "if [ -x /usr/bin/yum ]" in warned[0]


@pytest.mark.parametrize("text", ["if true; then make; fi", "for x in a b; do make; done",
                                  "make && { make install; }", "! make"])
def test_shell_syntax_is_one_line_not_a_program_named_if(text: str) -> None:
    with pytest.raises(OptionError, match="is shell syntax"):
        options.split_commands(text)
    with pytest.raises(OptionError, match="is shell syntax"):
        options.before_all_packages(text, lambda _m: None)
    assert options.split_commands("echo if then fi") == [["echo", "if", "then", "fi"]]


# --- option sources and precedence ----------------------------------------------------------


def _reader(tmp_path: Path, pyproject: str, environ: dict[str, str] | None = None,
            cli: dict[str, object] | None = None, config_file: str | None = None,
            ) -> tuple[config.Reader, list[str]]:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    extra = None
    if config_file is not None:
        extra = tmp_path / "ci.toml"
        extra.write_text(config_file)
    warned: list[str] = []
    reader, _ = config.open_reader(tmp_path, extra, environ or {}, cli or {}, warned.append)
    return reader, warned


PYPROJECT = """
[tool.cibuildwheel]
build = ["cp311-*", "cp313-*"]
test-command = "pytest"
archs = "aarch64"
test-requires = ["pytest", "hypothesis"]
container-engine = "podman"
made-up-key = 1

[tool.cibuildwheel.linux]
archs = "s390x"
musllinux-aarch64-image = "musllinux_1_2"

[[tool.cibuildwheel.overrides]]
select = "cp313-*"
inherit.test-requires = "append"
test-requires = "numpy"

[tool.crossenv.buildwheel]
sysroot-packages = ["libxml2-dev"]
mystery = true
"""


def test_sources_and_precedence(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, PYPROJECT)
    assert reader.get("build") == "cp311-* cp313-*"
    assert reader.get("archs") == "s390x"  # [linux] beats the top table
    assert reader.get("test-requires", "cp311-manylinux_s390x") == "pytest hypothesis"
    assert reader.get("test-requires", "cp313-manylinux_s390x") == "pytest hypothesis numpy"
    assert reader.get("skip") == ""  # cibuildwheel's default
    assert reader.crossenv("sysroot-packages") == ["libxml2-dev"]
    reader, _ = _reader(tmp_path, PYPROJECT, config_file="[tool.cibuildwheel]\narchs='ppc64le'\n")
    assert reader.get("archs") == "ppc64le"  # --config-file beats pyproject
    reader, _ = _reader(tmp_path, PYPROJECT, {"CIBW_ARCHS": "armv7l"},
                        config_file="[tool.cibuildwheel]\narchs='ppc64le'\n")
    assert reader.get("archs") == "armv7l"  # the environment beats files
    reader, _ = _reader(tmp_path, PYPROJECT, {"CIBW_ARCHS": "armv7l",
                                              "CIBW_ARCHS_LINUX": "i686"})
    assert reader.get("archs") == "i686"  # _LINUX beats the plain variable
    reader, _ = _reader(tmp_path, PYPROJECT, {"CIBW_ARCHS": "armv7l"}, {"archs": "riscv64"})
    assert reader.get("archs") == "riscv64"  # the command line beats everything


_layer = st.one_of(st.none(), st.sampled_from(["aarch64", "s390x", "ppc64le", "armv7l"]))


@given(st.fixed_dictionaries({"cli": _layer, "env_linux": _layer, "env": _layer,
                              "config_linux": _layer, "config": _layer,
                              "pyproject_linux": _layer, "pyproject": _layer}))
def test_the_strongest_source_that_sets_an_option_wins(layers: dict[str, str | None]) -> None:
    def tables(prefix: str) -> dict[str, object]:
        top = {"archs": layers[prefix]} if layers[prefix] else {}
        linux = {"archs": layers[f"{prefix}_linux"]} if layers[f"{prefix}_linux"] else {}
        return {"tool": {"cibuildwheel": {**top, "linux": linux}}}

    environ = {name: value for name, value in (("CIBW_ARCHS_LINUX", layers["env_linux"]),
                                               ("CIBW_ARCHS", layers["env"])) if value}
    sources = [config.load_source(tables("config"), "ci.toml", lambda m: None),
               config.load_source(tables("pyproject"), "pyproject.toml", lambda m: None)]
    reader = config.Reader(sources, environ, {"archs": layers["cli"]})
    order = ["cli", "env_linux", "env", "config_linux", "config", "pyproject_linux",
             "pyproject"]
    expected = next((layers[k] for k in order if layers[k]), "auto")
    assert reader.get("archs") == expected


def test_every_key_that_does_not_apply_is_named(tmp_path: Path) -> None:
    _, warned = _reader(tmp_path, PYPROJECT, {"CIBW_CONTAINER_ENGINE": "docker",
                                              "CIBW_BULID": "typo", "CIBW_TEST_COMMAND": "x",
                                              "CIBW_BEFORE_ALL_MACOS": "brew install x"})
    text = "\n".join(warned)
    for key in ("tool.cibuildwheel.container-engine", "tool.cibuildwheel.made-up-key",
                "tool.cibuildwheel.linux.musllinux-aarch64-image",
                "tool.crossenv.buildwheel.mystery", "CIBW_CONTAINER_ENGINE", "CIBW_BULID"):
        assert key in text, key
    assert "CIBW_TEST_COMMAND" not in text and "MACOS" not in text
    assert len(warned) == 6


def test_resolved_options(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, PYPROJECT + '\n', {
        "CIBW_ENVIRONMENT": 'CFLAGS="$CFLAGS -O3"', "CIBW_MANYLINUX_S390X_IMAGE": "manylinux2014",
        "CIBW_BEFORE_ALL": "apt-get install -y libyaml-dev"})
    resolved = options.resolve(reader, identifiers.parse("cp313-manylinux_s390x"),
                               {"CFLAGS": "-g"}, True, lambda m: None)
    assert resolved.environment == {"CFLAGS": "-g -O3", "CIBUILDWHEEL": "1",
                                    "CIBUILDWHEEL_BUILD_IDENTIFIER": "cp313-manylinux_s390x"}
    # auto: gcc first for every policy, zig again only for too-new glibc symbols
    assert resolved.policy.name == "manylinux2014" and resolved.toolchain == "gnu"
    assert resolved.toolchain_auto
    assert resolved.test_requires == ("pytest", "hypothesis", "numpy")
    assert resolved.sysroot_packages == ("libxml2-dev", "libyaml-dev")
    assert resolved.test and resolved.test_command == (("pytest",),)
    other = options.resolve(reader, identifiers.parse("cp313-manylinux_aarch64"), {}, False,
                            lambda m: None)
    assert other.policy.name == "manylinux_2_28" and other.toolchain == "gnu"
    assert not other.test  # test-skip matched


def _crossenv(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None,
              timeout: int = 1500) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "crossenv", *map(str, args)], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=timeout)


def test_print_build_identifiers() -> None:
    proc = _crossenv("buildwheel", PROJECT, "--print-build-identifiers")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [f"cp3{m}-manylinux_{a}" for m in ("11", "14")
                                   for a in ("aarch64", "armv7l", "ppc64le", "s390x")]
    proc = _crossenv("buildwheel", PROJECT, "--print-build-identifiers", "--archs", "riscv64",
                     env={"CIBW_SKIP": "cp311-*"})
    assert proc.stdout.split() == ["cp314-manylinux_riscv64"], proc.stderr


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--archs", "sparc"], {}, "unknown archs value 'sparc'"),
    (["--only", "cp312-manylinux_aarch64"], {}, "no Debian release ships Python 3.12"),
    ([], {"CIBW_BUILD": "pp310-*"}, "select no identifier"),
    ([], {"CIBW_BUILD_FRONTEND": "poetry"}, "build-frontend 'poetry'"),
    ([], {"CIBW_ENVIRONMENT": "X=`id`"}, "command substitution"),
])
def test_bad_input_is_one_line(args: list[str], env: dict[str, str], message: str) -> None:
    proc = _crossenv("buildwheel", PROJECT, *args, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert message in lines[-1] and lines[-1].startswith("crossenv: error:"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_missing_project_is_one_line(tmp_path: Path) -> None:
    proc = _crossenv("buildwheel", tmp_path / "nothing")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


# --- real builds ------------------------------------------------------------------------


def _testbed(arches: list[str]) -> None:
    require(shutil.which("apt-get"), "apt-get is needed to provision Debian sysroots")
    for arch in arches:
        debian = identifiers.ARCHS[arch]
        from crossenv import arches as arch_table
        from crossenv.provision import find_qemu
        triplet = arch_table.lookup(debian).triplet
        require(shutil.which(f"{triplet}-gcc"), f"{triplet}-gcc is needed (.ci/apt-packages.txt)")
        require(find_qemu(debian), f"qemu-user-static is needed to run {arch} code")


def _run_project(directory: Path, *args: str, env: dict[str, str] | None = None,
                 ) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    shutil.copytree(PROJECT, directory / "project")
    proc = _crossenv("buildwheel", directory / "project", "--output-dir",
                     directory / "wheelhouse", *args, env=env, timeout=5400)
    (directory / "output.txt").write_text(proc.stdout + proc.stderr)
    report_file = directory / "wheelhouse" / "buildwheel-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return proc, report


MATRIX_ARGS: list[str] = [] if FULL else ["--only", "cp311-manylinux_aarch64"]


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's own configuration built once (the whole matrix with FULL)."""
    _testbed(["aarch64", "armv7l", "ppc64le", "s390x"] if FULL else ["aarch64"])
    return shared_build(tmp_path_factory, "buildwheel-full" if FULL else "buildwheel-smoke",
                        lambda d: _run_project(d, *MATRIX_ARGS))


@pytest.mark.integration
def test_builds_tested_manylinux_wheels(matrix_run: Path) -> None:
    output = (matrix_run / "output.txt").read_text()
    report = json.loads((matrix_run / "wheelhouse" / "buildwheel-report.json").read_text())
    expected = ([f"cp3{m}-manylinux_{a}" for m in ("11", "14")
                 for a in ("aarch64", "armv7l", "ppc64le", "s390x")]
                if FULL else ["cp311-manylinux_aarch64"])
    rows = {row["identifier"]: row for row in report["identifiers"]}
    assert sorted(rows) == sorted(expected), output
    assert report["ok"], output
    logs: dict[str, list[str]] = {}
    for name, row in rows.items():
        arch = name.split("_", 1)[1]
        assert row["result"] == "ok" and row["test_s"] is not None, row
        assert f"manylinux_2_28_{arch}" in row["tag"], row
        # where the time went, step by step, in the order the steps ran
        assert list(row["steps"]) == ["provision", "create", "build", "repair", "check",
                                      "test", "publish"], row
        assert all(seconds >= 0 for seconds in row["steps"].values()), row
        assert row["steps"]["build"] <= row["build_s"], row
        wheel = matrix_run / "wheelhouse" / row["wheel"]
        with zipfile.ZipFile(wheel) as zf:
            members = zf.namelist()
        assert any("_cmod." in m for m in members) and any("_cymod." in m for m in members)
        log = Path(row["log"]).read_text()
        assert "5 passed" in log, log[-2000:]  # the project's pytest run, under qemu
        # built over the run's venv of build requirements (crossenv.buildenvs), made by
        # the first identifier of each Python version and reused by the others
        if name.startswith("cp311") and name.endswith("ppc64le"):  # the override: pip
            assert "--no-build-isolation" in log, log[:3000]
            assert row["frontend"] == "pip", row
        else:  # the backend asks for nothing more: built in the process that asked it
            assert "Successfully built cibwdemo-" in log and " -m build " not in log, log
            assert row["frontend"] == ("build[uv]" if name.startswith("cp314") else "build")
        logs.setdefault(name[:5], []).append(log)
    for python, texts in logs.items():
        # one requirement set per Python version: made once (or kept from an earlier run
        # today, crossenv.buildenvs), every identifier of that version on the same venv
        made = sum(text.count(" -m venv --without-pip ") for text in texts)
        venvs = {m for text in texts
                 for m in re.findall(r"(?:venv --without-pip |day's venv )(\S+)", text)}
        assert made <= 1 and len(venvs) == 1, (python, made, venvs)
        if python == "cp314" and made:  # the override: build[uv], so uv installs the venv
            assert any("uv pip install" in text for text in texts)
    assert "identifier" in output and f"{len(expected)} built, 0 failed" in output


def _failing_run(tmp_path: Path, env: dict[str, str]) -> tuple[str, dict[str, object]]:
    _testbed(["aarch64"])
    proc, report = _run_project(tmp_path, "--only", "cp311-manylinux_aarch64", env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert not list((tmp_path / "wheelhouse").glob("*.whl")), "a failed wheel was kept"
    (row,) = report["identifiers"]  # type: ignore[index]
    assert row["result"] == "failed"
    assert "cp311-manylinux_aarch64: " in output and "0 built, 1 failed" in output
    return output, row


@pytest.mark.integration
def test_a_failing_test_fails_the_run(tmp_path: Path) -> None:
    output, row = _failing_run(tmp_path, {"CIBWDEMO_FAIL": "1"})
    assert row["step"] == "test" and "test command failed under qemu" in row["error"], output


@pytest.mark.integration
def test_a_symbol_beyond_the_policy_fails_the_run(tmp_path: Path) -> None:
    output, row = _failing_run(tmp_path, {"CIBW_ENVIRONMENT": 'CFLAGS="-DCIBWDEMO_NEW_SYMBOL"'})
    assert row["step"] == "repair", output
    assert "closefrom@GLIBC_2.34" in row["error"] and "manylinux_2_28_aarch64" in row["error"]


@pytest.mark.integration
def test_a_build_machine_binary_fails_the_run(tmp_path: Path) -> None:
    require(shutil.which("x86_64-linux-gnu-gcc"), "the build machine's gcc is needed")
    output, row = _failing_run(tmp_path, {"CIBWDEMO_WRONG_ARCH": "1"})
    assert row["step"] in ("repair", "check"), output
    assert "_wrong.so" in row["error"] or "x86" in row["error"].lower(), row["error"]


# --- compiler launcher and cache counters -------------------------------------------------


def test_launcher_precedence_cli_env_pyproject(tmp_path: Path) -> None:
    from crossenv import launcher
    ccache = shutil.which("ccache")
    require(ccache, "ccache is needed (.ci/apt-packages.txt)")
    true = shutil.which("true")
    env_ = shutil.which("env")
    assert ccache and true and env_
    (tmp_path / "pyproject.toml").write_text('[tool.crossenv]\ncompiler-launcher = "ccache"\n')
    path = {"PATH": os.environ["PATH"]}
    resolve = options.resolve_launcher
    assert resolve(None, path, tmp_path) == (ccache,)  # the project's own choice
    assert resolve(None, {**path, launcher.ENV_VAR: true}, tmp_path) == (true,)
    assert resolve(None, {**path, launcher.ENV_VAR: ""}, tmp_path) == ()  # set empty: none
    assert resolve(env_, {**path, launcher.ENV_VAR: true}, tmp_path) == (env_,)
    assert resolve("", {**path, launcher.ENV_VAR: true}, tmp_path) == ()
    assert resolve(None, path, tmp_path / "elsewhere") == ()
    (tmp_path / "pyproject.toml").write_text('[tool.crossenv]\ncompiler-launcher = "a;b"\n')
    with pytest.raises(launcher.LauncherError, match="compiler-launcher"):
        resolve(None, path, tmp_path)
    assert resolve(true, path, tmp_path) == (true,)  # a bad file is not read when overridden


def test_the_cached_env_key_includes_the_launcher(tmp_path: Path) -> None:
    from crossenv import api
    from crossenv.provision import Sysroot
    sysroot = Sysroot(tmp_path, "arm64", "aarch64-linux-gnu", tmp_path / "usr/bin/python3.11")
    plain = api._env_key(sysroot, "gnu", None, (), None)
    assert plain == api._env_key(sysroot, "gnu", None, (), None, ())
    with_ccache = api._env_key(sysroot, "gnu", None, (), None, ("/usr/bin/ccache",))
    assert len({plain, with_ccache,
                api._env_key(sysroot, "gnu", None, (), None, ("/usr/bin/sccache",))}) == 3


def test_ccache_statslog_counts_one_build(tmp_path: Path) -> None:
    """A real ccache run's stats log, read as the buildwheel row reads it."""
    from crossenv.buildwheel import report
    from crossenv.buildwheel.cachecount import Counter
    from crossenv.buildwheel.runner import Result
    ccache, gcc = shutil.which("ccache"), shutil.which("gcc")
    require(ccache and gcc, "ccache and the build machine's gcc are needed")
    assert ccache and gcc
    (tmp_path / "a.c").write_text("int f(void) { return 1; }\n")
    counter = Counter((ccache,), tmp_path)
    environ = counter.environ({**os.environ, "CCACHE_DIR": str(tmp_path / "cache"),
                               "CROSSENV_COMPILER_LAUNCHER": "/bin/true"})
    assert environ["CROSSENV_COMPILER_LAUNCHER"] == ccache  # the resolved one wins
    counter.start(environ)
    for _ in range(3):
        subprocess.run([ccache, gcc, "-c", "a.c", "-o", "a.o"], cwd=tmp_path, env=environ,
                       check=True)
    stats = counter.stop(environ)
    assert stats is not None and (stats.hits, stats.misses) == (2, 1)
    row = Result("cp311-manylinux_aarch64", cache={"tool": "ccache", "hits": 2, "misses": 1,
                                                   "exact": True})
    assert " 2/1 " in report.table([row])
    assert Counter((), tmp_path).stop(environ) is None


def _sdist(project: Path, dest: Path) -> Path:
    """*project* as an sdist (``cibwdemo-0.1.0.tar.gz``, PKG-INFO and sources only)."""
    import tarfile

    base = "cibwdemo-0.1.0"
    dest.mkdir(parents=True, exist_ok=True)
    sdist = dest / f"{base}.tar.gz"
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "*.so", "_cymod.c")
    shutil.copytree(project, dest / base, ignore=skip)
    (dest / base / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: cibwdemo\n"
                                          "Version: 0.1.0\n")
    with tarfile.open(sdist, "w:gz") as tar:
        tar.add(dest / base, arcname=base)
    shutil.rmtree(dest / base)
    return sdist


@pytest.mark.integration
def test_a_second_ccache_run_hits(tmp_path: Path) -> None:
    """The same sdist built twice: buildwheel unpacks it into a new random directory each
    run, and pip builds it in a new random isolated environment; the second run's
    compiles (_cmod.c, _cymod.c) are all hits (the wrapper maps the working directory
    and sets CCACHE_BASEDIR, see docs "Compiler launchers")."""
    _testbed(["aarch64"])
    require(shutil.which("ccache"), "ccache is needed (.ci/apt-packages.txt)")
    env = {"CCACHE_DIR": str(tmp_path / "ccache"), "CIBW_TEST_SKIP": "*"}
    sdist = _sdist(PROJECT, tmp_path / "dist")
    rows, outputs = [], []
    for run in ("first", "second"):
        proc = _crossenv("buildwheel", sdist, "--only", "cp311-manylinux_aarch64",
                         "--compiler-launcher", "ccache", "--output-dir", tmp_path / run,
                         env=env, timeout=3000)
        outputs.append(proc.stdout + proc.stderr)
        (tmp_path / f"{run}.txt").write_text(outputs[-1])
        assert proc.returncode == 0, outputs[-1]
        report = json.loads((tmp_path / run / "buildwheel-report.json").read_text())
        (row,) = report["identifiers"]
        rows.append(row)
    first, second = (row["cache"] for row in rows)
    assert first["tool"] == "ccache" and first["exact"] and first["misses"] >= 2, outputs[0]
    assert second["hits"] >= 2 and second["misses"] == 0, outputs[1]  # _cmod.c, _cymod.c
    assert f" {second['hits']}/0 " in outputs[1], outputs[1]


def test_identifiers_are_per_architecture() -> None:
    """A release's Pythons count only for the architectures its index has them for:
    bullseye (past its LTS) still ships 3.9 for arm64, not for s390x (a matrix of
    cp39 for s390x failed at provisioning, 2026-12-08)."""
    assert "cp39-manylinux_aarch64" in ALL_NAMES
    assert "cp39-manylinux_s390x" not in ALL_NAMES
    import dataclasses

    from crossenv import releases

    def index(release: releases.Release, arch: str) -> releases.Release:
        return dataclasses.replace(release, pythons=("3.16",) if (
            release.suite, arch) == ("sid", "s390x") else ())

    assert [str(i) for i in identifiers.available(["s390x", "aarch64"], index)] == \
        ["cp316-manylinux_s390x"]
