"""cibuildwheel 4.x configuration in crossenv buildwheel (issue 25).

* option inheritance at every layer: ``inherit.OPTION`` in ``[tool.cibuildwheel]``,
  ``[tool.cibuildwheel.linux]`` and overrides, reaching down to cibuildwheel's own
  defaults; ``CIBW_INHERIT`` / ``CIBW_INHERIT_LINUX`` for the variables (the configs
  below are cibuildwheel's documented examples, as literal TOML);
* ``audit-command`` / ``audit-requires`` (cibuildwheel 4.0): parsed, validated, chosen
  per wheel; the step itself runs in test_buildwheel_robust's integration test;
* ``CIBUILDWHEEL`` and ``CIBUILDWHEEL_BUILD_IDENTIFIER`` in every per-build step;
* CPython 3.15 selected by default (cibuildwheel 4.2), 3.16 behind cpython-prerelease.
"""

from __future__ import annotations

import os
import shlex
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import api
from crossenv.buildwheel import audit, config, identifiers, options, selector
from crossenv.buildwheel.envsyntax import OptionError
from crossenv.buildwheel.runner import _native
from test_buildwheel import _reader

ID = "cp311-manylinux_aarch64"
DEFAULT_AUDIT = "abi3audit --strict --report {abi3_wheel}"

# --- inheritance, literal configurations -------------------------------------------------


def test_top_table_extends_cibuildwheels_default_audit(tmp_path: Path) -> None:
    reader, warned = _reader(tmp_path, """
[tool.cibuildwheel]
inherit.audit-requires = "append"
inherit.audit-command = "append"
audit-requires = ["twine"]
audit-command = "twine check {wheel}"
""")
    assert reader.get("audit-requires", ID) == "abi3audit twine"
    assert reader.get("audit-command", ID) == f"{DEFAULT_AUDIT} && twine check {{wheel}}"
    assert warned == []  # inherit is a known key now


def test_linux_table_prepends_to_the_top_table(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, """
[tool.cibuildwheel]
before-all = "make -C third_party_lib"

[tool.cibuildwheel.linux]
inherit.before-all = "prepend"
before-all = "yum install -y libffi-devel"
""")
    assert reader.get("before-all") == "yum install -y libffi-devel && make -C third_party_lib"


def test_overrides_accumulate_top_to_bottom(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, """
[tool.cibuildwheel]
environment = {FOO="BAR", "HAM"="EGGS"}
test-command = ["pyproject"]

[[tool.cibuildwheel.overrides]]
select = "cp311*"
inherit.test-command = "prepend"
test-command = ["pyproject-before"]
inherit.environment = "append"
environment = {FOO="BAZ", "PYTHON"="MONTY"}

[[tool.cibuildwheel.overrides]]
select = "cp311*"
inherit.test-command = "append"
test-command = ["pyproject-after"]
""")
    assert reader.get("test-command", ID) == "pyproject-before && pyproject && pyproject-after"
    assert reader.get("environment", ID) == {"FOO": "BAZ", "HAM": "EGGS", "PYTHON": "MONTY"}
    assert reader.get("test-command", "cp313-manylinux_aarch64") == "pyproject"


def test_an_inherited_repair_command_keeps_the_default(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, """
[[tool.cibuildwheel.overrides]]
select = "*"
inherit.repair-wheel-command = "prepend"
repair-wheel-command = "echo 'Before repair'"

[[tool.cibuildwheel.overrides]]
select = "*"
inherit.repair-wheel-command = "append"
repair-wheel-command = "echo 'After repair'"
""")
    text = reader.get("repair-wheel-command", ID)
    assert text == ("echo 'Before repair' && auditwheel repair -w {dest_dir} {wheel} && "
                    "echo 'After repair'")
    # the runner runs the chain; `auditwheel repair` in it is crossenv's sysroot repair
    assert [c[:2] for c in options.split_commands(text)] == [
        ["echo", "Before repair"], ["auditwheel", "repair"], ["echo", "After repair"]]


def test_environment_variables_inherit_with_cibw_inherit(tmp_path: Path) -> None:
    pyproject = '[tool.cibuildwheel]\nbefore-all = "make deps"\nenvironment = "A=1"\n'
    reader, warned = _reader(tmp_path, pyproject, {
        "CIBW_AUDIT_REQUIRES": "twine", "CIBW_AUDIT_COMMAND": "twine check {wheel}",
        "CIBW_INHERIT": "audit-requires; audit-command", "CIBW_ENVIRONMENT": "B=2",
        "CIBW_BEFORE_ALL_LINUX": "yum install -y libffi-devel",
        "CIBW_INHERIT_LINUX": "before-all: prepend"})
    assert warned == []  # CIBW_INHERIT[_LINUX] are known variables
    assert reader.get("audit-requires") == "abi3audit twine"
    assert reader.get("audit-command") == f"{DEFAULT_AUDIT} && twine check {{wheel}}"
    assert reader.get("environment") == "B=2"  # no rule for it: replaced
    assert reader.get("before-all") == "yum install -y libffi-devel && make deps"
    # CIBW_INHERIT covers the _LINUX variable too, appending to the plain one
    reader, _ = _reader(tmp_path, pyproject, {
        "CIBW_ENVIRONMENT": "B=2", "CIBW_ENVIRONMENT_LINUX": "C=3",
        "CIBW_INHERIT": "environment"})
    assert reader.get("environment") == "A=1 B=2 C=3"


def test_tables_merge_by_key(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, """
[tool.cibuildwheel]
config-settings = {a = "1", b = ["x", "y"]}
environment = {A = "keep", B = "old"}

[[tool.cibuildwheel.overrides]]
select = "*"
inherit.config-settings = "append"
config-settings = "b=z c='3 4'"
inherit.environment = "prepend"
environment = "B=new C=\\"$A c\\""
""")
    assert reader.get("config-settings", ID) == {"a": ["1"], "b": ["z"], "c": ["3 4"]}
    env_text = reader.get("environment", ID)  # a table and a string: assignments in order
    assert env_text == 'B=new C="$A c" A="keep" B="old"'
    from crossenv.buildwheel.envsyntax import parse_environment
    assert parse_environment(env_text, {}) == {"B": "old", "C": " c", "A": "keep"}


def test_enable_variable_appends_by_default(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, '[tool.cibuildwheel]\nenable = ["pypy"]\n',
                        {"CIBW_ENABLE": "cpython-prerelease"})
    assert reader.get("enable") == "pypy cpython-prerelease"
    reader, _ = _reader(tmp_path, '[tool.cibuildwheel]\nenable = ["pypy"]\n',
                        {"CIBW_ENABLE": "graalpy", "CIBW_INHERIT": "enable: none"})
    assert reader.get("enable") == "graalpy"


def test_empty_values_add_no_separator(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, """
[tool.cibuildwheel]
inherit.before-build = "append"
before-build = "make"
inherit.test-command = "append"
test-command = ""
""")
    assert reader.get("before-build") == "make"  # the default is empty
    assert reader.get("test-command") == ""  # no default below: the value itself


@pytest.mark.parametrize(("pyproject", "environ", "message"), [
    ('[tool.cibuildwheel]\ninherit.build-frontend = "append"\nbuild-frontend = "build"\n',
     {}, "does not apply to build-frontend"),
    ('[tool.cibuildwheel]\ninherit.test-command = "extend"\n', {}, "use none, append or prepend"),
    ('[tool.cibuildwheel]\ninherit.test-comand = "append"\n', {}, "did you mean test-command"),
    ('[tool.cibuildwheel]\ninherit = "append"\n', {}, "must be a table"),
    ('[[tool.cibuildwheel.overrides]]\nselect = 3\ntest-command = "x"\n', {}, "needs select"),
    ("", {"CIBW_INHERIT": "before-all: sideways"}, "OPTION: none|append|prepend"),
    ("", {"CIBW_INHERIT": "befor-all"}, "did you mean before-all"),
    ("", {"CIBW_INHERIT_LINUX": "before all"}, "CIBW_INHERIT_LINUX"),
])
def test_bad_inherit_rules_are_one_line(tmp_path: Path, pyproject: str,
                                        environ: dict[str, str], message: str) -> None:
    with pytest.raises(OptionError, match=message) as info:
        reader, _ = _reader(tmp_path, pyproject, environ)
        reader.get("build-frontend", ID)
    assert "\n" not in str(info.value)


# --- inheritance, properties ---------------------------------------------------------------

_word = st.from_regex(r"[a-z]{1,5}", fullmatch=True)
_rule = st.sampled_from(config.RULES)
#: a layer: its words (None: not set there) and its rule
_layer = st.tuples(st.one_of(st.none(), st.lists(_word, max_size=3)), _rule)


@given(st.lists(_layer, min_size=7, max_size=7))
def test_the_cascade_folds_layers_weakest_first(layers: list[tuple[list[str] | None, str]]
                                                 ) -> None:
    """A model of cibuildwheel's cascade: from the default up, an unset layer is
    skipped, ``none`` replaces, append/prepend join, and an empty side adds nothing."""
    (top, top_r), (linux, linux_r), (over, over_r), (cfg, cfg_r), (env, env_r), \
        (envl, envl_r), (cli, _) = layers
    tool: dict[str, object] = {"linux": {}}
    linux_t: dict[str, object] = tool["linux"]  # type: ignore[assignment]
    if top is not None:
        tool.update({"test-requires": top, "inherit": {"test-requires": top_r}})
    if linux is not None:
        linux_t.update({"test-requires": linux, "inherit": {"test-requires": linux_r}})
    if over is not None:
        tool["overrides"] = [{"select": "*", "test-requires": over,
                              "inherit": {"test-requires": over_r}}]
    ci = {"tool": {"cibuildwheel": {"test-requires": cfg, "inherit": {"test-requires": cfg_r}}
                   if cfg is not None else {}}}
    environ = {}
    rules = []
    if env is not None:
        environ["CIBW_TEST_REQUIRES"] = " ".join(env)
        rules.append(f"test-requires: {env_r}")
    sources = [config.load_source(ci, "ci.toml", lambda m: None),
               config.load_source({"tool": {"cibuildwheel": tool}}, "pyproject.toml",
                                  lambda m: None)]
    if envl is not None:
        environ["CIBW_TEST_REQUIRES_LINUX"] = " ".join(envl)
        environ["CIBW_INHERIT_LINUX"] = f"test-requires: {envl_r}"
    environ["CIBW_INHERIT"] = "; ".join(rules)
    reader = config.Reader(sources, environ, {"test-requires": " ".join(cli) if cli else None})

    result: list[str] | None = None
    for words, rule in [(top, top_r), (linux, linux_r), (over, over_r), (cfg, cfg_r),
                        (env, env_r), (envl, envl_r if envl is not None else "none"),
                        (cli or None, "none")]:
        if words is None:
            continue
        if rule == "none" or result is None:
            result = words
        else:
            result = result + words if rule == "append" else words + result
    got = reader.get("test-requires", ID)
    assert (got.split() if got is not None else None) == result


@given(st.dictionaries(st.sampled_from(sorted(config.SUPPORTED)), _rule, max_size=5),
       st.booleans())
def test_cibw_inherit_round_trips(rules: dict[str, str], bare_append: bool) -> None:
    text = " ; ".join(option if (bare_append and rule == "append") else f"{option}: {rule}"
                      for option, rule in rules.items())
    assert config.parse_env_inherit(text) == rules


# --- audit-command -------------------------------------------------------------------------


def test_audit_options_resolve(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, '[tool.cibuildwheel]\naudit-requires = ["twine>=6", '
                        '"abi3audit == 0.0.20"]\ninherit.audit-command = "append"\n'
                        'audit-command = ["twine check {wheel}"]\n')
    resolved = options.resolve(reader, identifiers.parse(ID), {}, True, lambda m: None)
    assert resolved.audit_requires == ("twine>=6", "abi3audit == 0.0.20")
    assert resolved.audit_command == (("abi3audit", "--strict", "--report", "{abi3_wheel}"),
                                      ("twine", "check", "{wheel}"))
    default = options.resolve(_reader(tmp_path, "")[0], identifiers.parse(ID), {}, True,
                              lambda m: None)
    assert default.audit_requires == ("abi3audit",)
    assert default.audit_command == (("abi3audit", "--strict", "--report", "{abi3_wheel}"),)


def test_build_frontend_default_is_pypa_build(tmp_path: Path) -> None:
    """cibuildwheel 3.0 made pypa/build its default front-end ("default" in its own
    defaults table); a project that sets nothing gets it here too, pip when it asks."""
    def frontend(text: str, environ: dict[str, str] | None = None) -> str:
        reader, _ = _reader(tmp_path, text, environ)
        return options.resolve(reader, identifiers.parse(ID), {}, True,
                               lambda m: None).frontend.name

    assert frontend("") == "build"
    assert frontend('[tool.cibuildwheel]\nbuild-frontend = "default"\n') == "build"
    assert frontend('[tool.cibuildwheel]\nbuild-frontend = "pip"\n') == "pip"
    assert frontend("", {"CIBW_BUILD_FRONTEND": "build[uv]"}) == "build[uv]"


@pytest.mark.parametrize("command", ["twine check dist/*.whl",
                                     "check {wheel} {abi3_wheel}"])
def test_an_audit_command_names_one_placeholder(command: str) -> None:
    with pytest.raises(OptionError, match="exactly one of the placeholders"):
        options.audit_commands(command)


@pytest.mark.parametrize(("name", "abi3"), [
    ("demo-1.0-cp311-abi3-manylinux_2_28_aarch64.whl", True),
    ("demo-1.0-cp311-cp311-manylinux_2_28_aarch64.whl", False),
    ("demo-1.0-cp315-abi3t-manylinux_2_28_aarch64.whl", False),  # cibuildwheel: abi3 only
    ("demo-1.0-cp311.cp312-abi3.none-manylinux_2_28_s390x.whl", True),
    ("not-a-wheel.whl", False),
])
def test_abi3_wheels_are_recognised_by_name(name: str, abi3: bool) -> None:
    assert audit.is_abi3(name) == abi3
    commands = [("abi3audit", "{abi3_wheel}"), ("twine", "check", "{wheel}")]
    assert audit.applicable(commands, name) == commands[int(not abi3):]


def _wheel(directory: Path, name: str) -> Path:
    path = directory / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("demo/__init__.py", "")
    return path


def test_the_audit_step_runs_in_its_own_venv(tmp_path: Path) -> None:
    """A real venv (no requirements: no pip) on the build machine; ``python`` there is
    the venv's; a failing command is a build error naming it."""
    wheel = _wheel(tmp_path, "demo-1.0-cp311-cp311-manylinux_2_28_aarch64.whl")
    auditor = audit.Auditor(tmp_path)
    log = (tmp_path / "log").open("w")
    out = tmp_path / "seen.txt"
    probe = ("import os, sys, zipfile; zipfile.ZipFile(sys.argv[1]).testzip(); "
             "open(sys.argv[2], 'w').write(sys.prefix + ' ' + sys.argv[1])")
    commands = [("abi3audit", "--strict", "{abi3_wheel}"),  # skipped: not abi3
                ("python", "-c", probe, "{wheel}", str(out))]
    assert auditor.run(commands, (), wheel, project=tmp_path, log=log, native=_native)
    prefix, seen = out.read_text().split(" ")
    assert seen == str(wheel) and Path(prefix) == tmp_path / "audit-venv-0"
    assert not auditor.run(commands[:1], (), wheel, project=tmp_path, log=log, native=_native)
    with pytest.raises(api.BuildError, match="audit-command failed: python -c"):
        auditor.run([("python", "-c", "raise SystemExit(3)", "{wheel}")], (), wheel,
                    project=tmp_path, log=log, native=_native)
    log.close()
    assert "no audit: the wheel is not abi3" in (tmp_path / "log").read_text()
    assert len(list(tmp_path.glob("audit-venv-*"))) == 1  # shared by equal requirements


# --- CIBUILDWHEEL_BUILD_IDENTIFIER ---------------------------------------------------------


def test_the_identifier_is_set_for_every_per_build_step(tmp_path: Path) -> None:
    reader, _ = _reader(tmp_path, """
[tool.cibuildwheel]
environment = {CIBUILDWHEEL_BUILD_IDENTIFIER = "mine", SEEN = "$CIBUILDWHEEL"}
test-environment = "T=1"
""")
    resolved = options.resolve(reader, identifiers.parse("cp315-manylinux_s390x"), {}, True,
                               lambda m: None)
    # the build steps (before-build, build, repair, before-test) get `environment`
    assert resolved.environment["CIBUILDWHEEL_BUILD_IDENTIFIER"] == "cp315-manylinux_s390x"
    assert resolved.environment["CIBUILDWHEEL"] == "1" and resolved.environment["SEEN"] == "1"
    # the test commands get `test-environment`
    assert resolved.test_environment == {
        "CIBUILDWHEEL": "1", "CIBUILDWHEEL_BUILD_IDENTIFIER": "cp315-manylinux_s390x", "T": "1"}


# --- Python 3.15 by default ----------------------------------------------------------------


def test_cp315_is_built_by_default_and_cp316_is_a_prerelease() -> None:
    everything = selector.BuildSelector()
    assert everything("cp315-manylinux_aarch64")
    assert not everything("cp316-manylinux_aarch64")
    assert selector.BuildSelector(enable=frozenset({"cpython-prerelease"}))(
        "cp316-manylinux_aarch64")
    assert "cp315-manylinux_aarch64" in [str(i) for i in identifiers.available()]


def test_the_default_selection_includes_cp315(tmp_path: Path) -> None:
    from crossenv.buildwheel import command
    reader, _ = _reader(tmp_path, '[project]\nname = "x"\nrequires-python = ">=3.13"\n')
    chosen = [str(i) for i in command.select(reader, {"requires-python": ">=3.13"}, None)]
    assert "cp315-manylinux_aarch64" in chosen and "cp314-manylinux_s390x" in chosen
    assert not any(c.startswith("cp311") for c in chosen)


def test_enable_groups() -> None:
    warned: list[str] = []
    assert selector.parse_enable("all", warned.append) == selector.ENABLE_GROUPS
    assert selector.parse_enable("pypy cpython-freethreading", warned.append) == {"pypy"}
    assert len(warned) == 1 and "removed in cibuildwheel 4" in warned[0]
    with pytest.raises(identifiers.SelectionError, match="enable 'cpython-beta'"):
        selector.parse_enable("cpython-beta", warned.append)


def test_words_keep_their_spaces(tmp_path: Path) -> None:
    """cibuildwheel 4.1.1 (#2913): a list item of test-requires with spaces is one word."""
    reader, _ = _reader(tmp_path, '[tool.cibuildwheel]\ntest-requires = ["numpy >= 2", '
                        '"pytest"]\ntest-sources = ["a b/c"]\n')
    resolved = options.resolve(reader, identifiers.parse(ID), {}, True, lambda m: None)
    assert resolved.test_requires == ("numpy >= 2", "pytest")
    assert resolved.test_sources == ("a b/c",)
    assert shlex.split(str(reader.get("test-requires"))) == ["numpy >= 2", "pytest"]


# --- -j: free cores, not the core count ------------------------------------------------------


@given(st.integers(1, 256), st.floats(0, 1000, allow_nan=False),
       st.floats(0, 1000, allow_nan=False))
def test_jobs_default_is_the_free_cores(cores: int, load: float, more: float) -> None:
    from crossenv.buildwheel.command import free_cores

    jobs = free_cores(cores, load)
    assert 1 <= jobs <= cores
    assert free_cores(cores, load + more) <= jobs  # busier: never more identifiers at once
    assert free_cores(cores, 0.0) == cores
    assert free_cores(cores, float(cores)) == 1
    assert free_cores(cores, cores - 1.0) == 1  # one core free


def test_usable_cores_is_this_process_share() -> None:
    from crossenv.buildwheel.command import usable_cores

    assert usable_cores() == len(os.sched_getaffinity(0))
