"""Read buildwheel's options the way cibuildwheel (4.x) reads them.

Each option is resolved through a cascade of layers, weakest first: cibuildwheel's
defaults; then for the project's ``pyproject.toml`` and then ``--config-file`` each:
``[tool.cibuildwheel]``, ``[tool.cibuildwheel.linux]`` and the
``[[tool.cibuildwheel.overrides]]`` whose ``select`` matches the identifier, in order;
then ``CIBW_<NAME>``, ``CIBW_<NAME>_LINUX`` and the command line. A layer's value
replaces the one below it unless that layer has an ``inherit`` rule for the option
(``inherit.test-command = "append"`` in any of those tables; ``CIBW_INHERIT`` and
``CIBW_INHERIT_LINUX`` for the variables): then it is appended or prepended, with the
option's own separator (``&&`` for commands, a space for lists, keys for tables).

Every value is checked for its type where it is read (a list where a string or table
is wanted, a float, a table in a list ...): one line naming the key and its source,
never a traceback later. Every key is accounted for: one crossenv implements, one that
does not apply to a cross build (container engines, musllinux images, ...) or an
unknown one: the latter two are reported as warnings naming the key and its source,
never dropped in silence. crossenv's own keys live in ``[tool.crossenv.buildwheel]``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .envsyntax import OptionError, parse_config_settings
from .identifiers import ARCHS
from .selector import matches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the test venv is 3.11
    import tomli as tomllib


@dataclasses.dataclass(frozen=True)
class Format:
    """How an option's values read and combine.

    ``sep`` joins a TOML list and an inherited value (``""``: the option cannot be
    joined: a single value such as ``build-verbosity``); ``quote`` shell-quotes list
    items that are words (``test-requires = ["numpy >= 2"]``); ``table`` is ``"env"``
    (``NAME=VALUE`` assignments), ``"kv"`` (``config-settings``) or ``"frontend"`` for
    options that also take a TOML table; ``scalar`` is the type a single value has.
    """

    sep: str = " "
    quote: bool = False
    table: str = ""
    scalar: str = ""  # "", "int", "bool"

    def expected(self) -> str:
        if self.scalar == "int":
            return "an integer"
        if self.scalar == "bool":
            return "true or false"
        if not self.sep:
            return "a string" + (" or a table" if self.table else "")
        return "a string, a list of strings" + (" or a table" if self.table else "")


_LIST, _WORDS, _COMMANDS = Format(" "), Format(" ", quote=True), Format(" && ")
_ENV = Format(" ", table="env")
#: every option crossenv implements -> how its values read and combine
SUPPORTED: dict[str, Format] = {
    "build": _LIST, "skip": _LIST, "archs": _LIST, "test-skip": _LIST, "enable": _LIST,
    "build-frontend": Format("", table="frontend"), "config-settings": Format(" ", table="kv"),
    "environment": _ENV, "test-environment": _ENV,
    "before-all": _COMMANDS, "before-build": _COMMANDS, "before-test": _COMMANDS,
    "repair-wheel-command": _COMMANDS, "test-command": _COMMANDS,
    "audit-command": _COMMANDS, "audit-requires": _WORDS,
    "test-requires": _WORDS, "test-sources": _WORDS, "test-extras": Format(","),
    "test-groups": _LIST,
    "build-verbosity": Format("", scalar="int"), "allow-empty": Format("", scalar="bool"),
    **{f"manylinux-{arch}-image": Format("") for arch in ARCHS},
}
#: cibuildwheel options that mean nothing for a cross build, with what to do instead.
NOT_APPLICABLE: dict[str, str] = {
    "container-engine": "no container is used: builds run on this machine",
    "environment-pass": "no container is used: the whole environment is seen already",
    "manylinux-x86_64-image": "x86_64 is the build machine: build it natively",
    "manylinux-pypy_x86_64-image": "crossenv builds CPython only",
    "manylinux-pypy_aarch64-image": "crossenv builds CPython only",
    "manylinux-pypy_i686-image": "crossenv builds CPython only",
    "dependency-versions": "build requirements come from PyPI as the project pins them",
    "xbuild-tools": "iOS only", "xbuild-files": "Android only",
    "pyodide-version": "pyodide only", "test-runtime": "tests run under qemu-user here",
    "android-api-level": "Android only", "free-threaded-support": "no free-threaded hosts",
    "output-dir": "use --output-dir", "platform": "crossenv buildwheel builds for Linux",
}
_NOT_APPLICABLE_RE = re.compile(r"musllinux-[a-z0-9_]+-image")
CROSSENV_KEYS = {"sysroot-packages", "toolchain"}
#: cibuildwheel's defaults on Linux (resources/defaults.toml, the linux table applied)
DEFAULTS: dict[str, Any] = {
    "build": "*", "skip": "", "archs": "auto", "build-frontend": "build", "test-skip": "",
    "repair-wheel-command": "auditwheel repair -w {dest_dir} {wheel}", "build-verbosity": 0,
    "enable": "", "allow-empty": False, "audit-requires": "abi3audit",
    "audit-command": "abi3audit --strict --report {abi3_wheel}",
}
_OTHER_PLATFORMS = ("macos", "windows", "ios", "android", "pyodide")
RULES = ("none", "append", "prepend")
#: options whose environment variable appends by default (cibuildwheel: ``enable``)
_ENV_APPENDS = {"enable"}


@dataclasses.dataclass
class Source:
    """One TOML file's ``[tool.cibuildwheel]`` tables (``inherit`` rules kept apart)."""

    name: str  # for messages: "pyproject.toml", "--config-file ci.toml"
    top: dict[str, Any]
    linux: dict[str, Any]
    overrides: list[dict[str, Any]]
    crossenv: dict[str, Any]
    top_inherit: dict[str, str] = dataclasses.field(default_factory=dict)
    linux_inherit: dict[str, str] = dataclasses.field(default_factory=dict)


def read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise OptionError(f"{what} {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise OptionError(f"{what} {path} is not valid TOML: {exc}") from None


def _table(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OptionError(f"{where} must be a table")
    return value


def _known(option: str) -> bool:
    return option in SUPPORTED or option in NOT_APPLICABLE or bool(
        _NOT_APPLICABLE_RE.fullmatch(option))


def _rule_option(option: object, where: str) -> str:
    if not isinstance(option, str) or not _known(option):
        close = difflib.get_close_matches(str(option), [*SUPPORTED, *NOT_APPLICABLE], 1, 0.7)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise OptionError(f"{where}: {option!r} is not a cibuildwheel option{hint}")
    return option


def parse_inherit_table(value: object, where: str) -> dict[str, str]:
    """A TOML ``inherit`` table: option -> ``none``, ``append`` or ``prepend``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OptionError(f"{where} must be a table such as inherit.test-command = "
                          "\"append\"")
    rules = {}
    for option, rule in value.items():
        _rule_option(option, where)
        if rule not in RULES:
            raise OptionError(f"{where}.{option} = {rule!r}: use none, append or prepend")
        rules[option] = rule
    return rules


def parse_env_inherit(text: str, name: str = "CIBW_INHERIT") -> dict[str, str]:
    """``CIBW_INHERIT``: rules separated by ``;``, each ``OPTION`` (append) or
    ``OPTION: RULE``; option names as in TOML (``before-all``)."""
    rules = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        option, sep, rule = (w.strip() for w in part.partition(":"))
        rule = rule if sep else "append"
        _rule_option(option, f"environment variable {name}")
        if rule not in RULES or " " in option:
            raise OptionError(f"environment variable {name}: {part.strip()!r}: write "
                              "OPTION or OPTION: none|append|prepend, rules separated by ;")
        rules[option] = rule
    return rules


def _leaf(value: object) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, float)


def check_value(option: str, value: Any, where: str) -> Any:
    """``value`` if it has a type ``option`` takes, else one line naming ``where``."""
    fmt = SUPPORTED.get(option)
    if fmt is None or isinstance(value, str):
        return value
    if fmt.scalar == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif fmt.scalar == "bool":
        ok = isinstance(value, bool)
    elif isinstance(value, list):
        ok = bool(fmt.sep) and all(map(_leaf, value))
    elif isinstance(value, dict):
        ok = _table_ok(fmt.table, value)
    else:  # a number or boolean stands for its text, as in cibuildwheel
        ok = _leaf(value) and bool(fmt.sep)
    if not ok:
        raise OptionError(f"{where} = {_short(value)}: {option} takes {fmt.expected()}")
    return value


def _table_ok(kind: str, value: dict[str, Any]) -> bool:
    if kind == "env":
        return all(map(_leaf, value.values()))
    if kind == "kv":
        return all(_leaf(v) or (isinstance(v, list) and all(map(_leaf, v)))
                   for v in value.values())
    if kind == "frontend":
        args = value.get("args", [])
        return set(value) <= {"name", "args"} and isinstance(value.get("name"), str) and \
            isinstance(args, list) and all(isinstance(a, str) for a in args)
    return False


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_source(data: Mapping[str, Any], name: str, warn: Callable[[str], None]) -> Source:
    tool = _table(data.get("tool"), f"{name}: [tool]")
    cibw = dict(_table(tool.get("cibuildwheel"), f"{name}: [tool.cibuildwheel]"))
    linux = dict(_table(cibw.pop("linux", None), f"{name}: [tool.cibuildwheel.linux]"))
    overrides = cibw.pop("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise OptionError(f"{name}: tool.cibuildwheel.overrides must be an array of tables")
    for platform in _OTHER_PLATFORMS:
        cibw.pop(platform, None)  # another platform's table: cibuildwheel ignores it too
    crossenv = _table(_table(tool.get("crossenv"), f"{name}: [tool.crossenv]").get(
        "buildwheel"), f"{name}: [tool.crossenv.buildwheel]")
    top_inherit = parse_inherit_table(cibw.pop("inherit", None),
                                      f"{name}: tool.cibuildwheel.inherit")
    linux_inherit = parse_inherit_table(linux.pop("inherit", None),
                                        f"{name}: tool.cibuildwheel.linux.inherit")
    source = Source(name, cibw, linux, [dict(o) for o in overrides], dict(crossenv),
                    top_inherit, linux_inherit)
    for key in source.crossenv:
        if key not in CROSSENV_KEYS:
            warn(f"{name}: unknown key tool.crossenv.buildwheel.{key} (known: "
                 f"{', '.join(sorted(CROSSENV_KEYS))})")
    for table, label in ((source.top, "tool.cibuildwheel"), (source.linux,
                                                            "tool.cibuildwheel.linux")):
        for key, value in table.items():
            check_value(key, value, f"{name}: {label}.{key}")
            note(key, f"{name}: {label}.{key}", warn)
    for n, override in enumerate(source.overrides):
        where = f"{name}: tool.cibuildwheel.overrides[{n}]"
        select = override.get("select")
        if isinstance(select, list) and all(isinstance(s, str) for s in select):
            override["select"] = " ".join(select)
        elif not isinstance(select, str) or not select.strip():
            raise OptionError(f"{where} needs select, a pattern string or a list of them "
                              "(select = \"cp311-*\")")
        override["inherit"] = parse_inherit_table(override.get("inherit"),
                                                  f"{where}.inherit")
        for key, value in override.items():
            if key not in ("select", "inherit"):
                check_value(key, value, f"{where}.{key}")
                note(key, f"{where}.{key}", warn)
    return source


def note(key: str, where: str, warn: Callable[[str], None]) -> None:
    """Warn about a key crossenv does not implement (``where`` names it for the user)."""
    if key in SUPPORTED:
        return
    if key in NOT_APPLICABLE or _NOT_APPLICABLE_RE.fullmatch(key):
        why = NOT_APPLICABLE.get(key, "crossenv builds glibc (manylinux) wheels only")
        warn(f"{where} does not apply to crossenv buildwheel and is ignored: {why}")
    else:
        warn(f"{where}: unknown cibuildwheel option, ignored")


def env_name(option: str) -> str:
    return "CIBW_" + option.upper().replace("-", "_")


_ENV_OPTIONS = {env_name(o): o for o in [*SUPPORTED, *NOT_APPLICABLE]}
_ENV_IGNORED = {"CIBW_PLATFORM", "CIBW_OUTPUT_DIR", "CIBW_CONFIG_FILE", "CIBW_DEBUG_TRACEBACK",
                "CIBW_DEBUG_KEEP_CONTAINER", "CIBW_CACHE_PATH", "CIBW_INHERIT",
                "CIBW_INHERIT_LINUX"}


def check_environ(environ: Mapping[str, str], warn: Callable[[str], None]) -> None:
    """Warn about every ``CIBW_*`` variable that is unknown or does not apply."""
    for name in sorted(environ):
        if not name.startswith("CIBW_"):
            continue
        base = name[:-6] if name.endswith("_LINUX") else name
        if any(base.endswith(p.upper()) for p in _OTHER_PLATFORMS):
            continue  # CIBW_TEST_COMMAND_MACOS: another platform's
        option = _ENV_OPTIONS.get(base)
        if option is None and base.startswith("CIBW_MUSLLINUX_"):
            option = "musllinux-x-image"
        if option is None:
            if name not in _ENV_IGNORED:
                warn(f"environment variable {name}: unknown cibuildwheel option, ignored")
            continue
        note(option, f"environment variable {name}", warn)


#: one layer of the cascade: its value (None: not set there), rule and name for messages
Layer = tuple[Any, str, str]


class Reader:
    """Looks options up through every layer, per identifier (for overrides)."""

    def __init__(self, sources: Sequence[Source], environ: Mapping[str, str],
                 cli: Mapping[str, Any],
                 dependency_groups: Mapping[str, Any] | None = None) -> None:
        #: strongest first, as given: --config-file, then pyproject.toml
        self.sources, self.environ, self.cli = list(sources), environ, dict(cli)
        #: the project's ``[dependency-groups]`` (PEP 735), for ``test-groups``
        self.dependency_groups = dict(dependency_groups or {})
        self.env_rules = parse_env_inherit(environ.get("CIBW_INHERIT", ""))
        self.linux_rules = {**self.env_rules, **parse_env_inherit(
            environ.get("CIBW_INHERIT_LINUX", ""), "CIBW_INHERIT_LINUX")}

    def layers(self, option: str, identifier: str | None = None) -> list[Layer]:
        """The cascade for ``option``, weakest first (see the module's docstring)."""
        found: list[Layer] = [(DEFAULTS.get(option), "none", "cibuildwheel's default")]
        for source in reversed(self.sources):
            found.append((source.top.get(option), source.top_inherit.get(option, "none"),
                          f"{source.name}: tool.cibuildwheel.{option}"))
            found.append((source.linux.get(option), source.linux_inherit.get(option, "none"),
                          f"{source.name}: tool.cibuildwheel.linux.{option}"))
            if identifier is None:
                continue
            for n, override in enumerate(source.overrides):
                if option in override and matches(override["select"], identifier):
                    found.append((override[option], override["inherit"].get(option, "none"),
                                  f"{source.name}: tool.cibuildwheel.overrides[{n}]."
                                  f"{option}"))
        default_rule = "append" if option in _ENV_APPENDS else "none"
        name = env_name(option)
        found.append((self.environ.get(name), self.env_rules.get(option, default_rule),
                      f"environment variable {name}"))
        found.append((self.environ.get(name + "_LINUX"),
                      self.linux_rules.get(option, default_rule),
                      f"environment variable {name}_LINUX"))
        found.append((self.cli.get(option), "none", f"the command line's {option}"))
        return found

    def get(self, option: str, identifier: str | None = None) -> Any:
        """The value of ``option`` for ``identifier``: lists joined as cibuildwheel joins
        them, tables kept as mappings, None when no layer sets it."""
        result: Any = None
        for value, rule, where in self.layers(option, identifier):
            if value is None:
                continue
            value = check_value(option, value, where)
            if rule == "none" or result is None:
                result = value
            else:
                result = combine(option, result, value, rule, where)
        return None if result is None else _joined(result, option)

    def crossenv(self, key: str) -> Any:
        for source in self.sources:
            if key in source.crossenv:
                return source.crossenv[key]
        return None


def _joined(value: Any, option: str) -> Any:
    fmt = SUPPORTED.get(option, _LIST)
    if isinstance(value, list) and fmt.sep:
        return fmt.sep.join(shlex.quote(str(v)) if fmt.quote else str(v) for v in value)
    if isinstance(value, (bool, int)) and fmt.sep:
        return str(value)  # a number stands for its text, as in cibuildwheel
    return value


def _env_text(table: Mapping[str, Any]) -> str:
    """An ``environment`` table as assignments: each value double-quoted, so ``$VAR``
    still expands, as cibuildwheel formats it."""
    def quoted(v: object) -> str:
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return " ".join(f"{k}={quoted(v)}" for k, v in table.items())


def _kv_table(value: Any, option: str) -> dict[str, list[str]]:
    if isinstance(value, Mapping):
        pairs = parse_config_settings(value, option)
    else:
        pairs = parse_config_settings(str(value), option)
    table: dict[str, list[str]] = {}
    for key, item in pairs:
        table.setdefault(key, []).append(item)
    return table


def combine(option: str, below: Any, value: Any, rule: str, where: str) -> Any:
    """``value`` appended (``rule`` append) or prepended to ``below``. Tables merge by
    key: append lets the new value's keys win, prepend keeps the old ones."""
    fmt = SUPPORTED.get(option, _LIST)
    if not fmt.sep:
        raise OptionError(f"{where}: inherit {rule} does not apply to {option}, which "
                          "holds one value; set the whole value instead")
    if fmt.table == "kv":
        first, second = _kv_table(below, option), _kv_table(value, option)
        return {**first, **second} if rule == "append" else {**second, **first}
    if isinstance(below, Mapping) and isinstance(value, Mapping):
        return {**below, **value} if rule == "append" else {**value, **below}
    first, second = (_env_text(v) if isinstance(v, Mapping) else str(_joined(v, option))
                     for v in (below, value))
    if rule == "prepend":
        first, second = second, first
    if not first.strip() or not second.strip():
        return first if first.strip() else second
    return f"{first}{fmt.sep}{second}"


def open_reader(project: Path, config_file: Path | None, environ: Mapping[str, str],
                cli: Mapping[str, Any], warn: Callable[[str], None]) -> tuple[Reader,
                                                                               dict[str, Any]]:
    """The reader for ``project`` plus its pyproject's ``[project]`` table."""
    check_environ(environ, warn)
    sources = []
    if config_file is not None:
        sources.append(load_source(read_toml(config_file, "--config-file"),
                                   f"--config-file {config_file}", warn))
    pyproject: dict[str, Any] = {}
    if (project / "pyproject.toml").is_file():
        pyproject = read_toml(project / "pyproject.toml", "pyproject")
        sources.append(load_source(pyproject, "pyproject.toml", warn))
    groups = _table(pyproject.get("dependency-groups"), "pyproject.toml: [dependency-groups]")
    return (Reader(sources, environ, cli, groups),
            _table(pyproject.get("project"), "[project]"))
