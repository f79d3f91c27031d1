"""Read buildwheel's options the way cibuildwheel reads them.

Sources, strongest first: the command line, ``CIBW_<NAME>_LINUX`` then ``CIBW_<NAME>``
environment variables, ``--config-file``, then the project's ``pyproject.toml``. In
each TOML source ``[tool.cibuildwheel.linux]`` beats ``[tool.cibuildwheel]``, and
``[[tool.cibuildwheel.overrides]]`` whose ``select`` matches an identifier beat both
(the last match wins; ``inherit`` prepends or appends to the value below).

Every key is accounted for: one crossenv implements, one that does not apply to a cross
build (container engines, musllinux images, ...) or an unknown one: the latter two are
reported as warnings naming the key and its source, never dropped in silence.
crossenv's own keys live in ``[tool.crossenv.buildwheel]``.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .envsyntax import OptionError
from .identifiers import ARCHS
from .selector import matches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the test venv is 3.11
    import tomli as tomllib

#: option -> separator used when a TOML list stands for a string ("" = keep as list).
SUPPORTED: dict[str, str] = {
    "build": " ", "skip": " ", "archs": " ", "build-frontend": "", "config-settings": " ",
    "environment": " ", "before-all": " && ", "before-build": " && ", "before-test": " && ",
    "repair-wheel-command": " && ", "test-command": " && ", "test-requires": " ",
    "test-extras": ",", "test-sources": " ", "test-skip": " ", "test-environment": " ",
    "test-groups": " ",
    "enable": " ", "build-verbosity": "", "allow-empty": "",
    **{f"manylinux-{arch}-image": "" for arch in ARCHS},
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
    "xbuild-tools": "iOS only", "pyodide-version": "pyodide only",
    "android-api-level": "Android only", "free-threaded-support": "no free-threaded hosts",
    "output-dir": "use --output-dir", "platform": "crossenv buildwheel builds for Linux",
}
_NOT_APPLICABLE_RE = re.compile(r"musllinux-[a-z0-9_]+-image")
CROSSENV_KEYS = {"sysroot-packages", "toolchain"}
_DEFAULTS: dict[str, Any] = {
    "build": "*", "skip": "", "archs": "auto", "build-frontend": "pip", "test-skip": "",
    "repair-wheel-command": "auditwheel repair -w {dest_dir} {wheel}", "build-verbosity": 0,
    "enable": "", "allow-empty": False,
}
_OTHER_PLATFORMS = ("macos", "windows", "ios", "android", "pyodide")


@dataclasses.dataclass
class Source:
    """One TOML file's ``[tool.cibuildwheel]`` tables."""

    name: str  # for messages: "pyproject.toml", "--config-file ci.toml"
    top: dict[str, Any]
    linux: dict[str, Any]
    overrides: list[dict[str, Any]]
    crossenv: dict[str, Any]


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


def load_source(data: Mapping[str, Any], name: str, warn: Callable[[str], None]) -> Source:
    tool = _table(data.get("tool"), f"{name}: [tool]")
    cibw = dict(_table(tool.get("cibuildwheel"), f"{name}: [tool.cibuildwheel]"))
    linux = _table(cibw.pop("linux", None), f"{name}: [tool.cibuildwheel.linux]")
    overrides = cibw.pop("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise OptionError(f"{name}: tool.cibuildwheel.overrides must be an array of tables")
    for platform in _OTHER_PLATFORMS:
        cibw.pop(platform, None)  # another platform's table: cibuildwheel ignores it too
    crossenv = _table(_table(tool.get("crossenv"), f"{name}: [tool.crossenv]").get(
        "buildwheel"), f"{name}: [tool.crossenv.buildwheel]")
    source = Source(name, cibw, dict(linux), [dict(o) for o in overrides], dict(crossenv))
    for key in source.crossenv:
        if key not in CROSSENV_KEYS:
            warn(f"{name}: unknown key tool.crossenv.buildwheel.{key} (known: "
                 f"{', '.join(sorted(CROSSENV_KEYS))})")
    for table, label in ((source.top, "tool.cibuildwheel"), (source.linux,
                                                            "tool.cibuildwheel.linux")):
        for key in table:
            note(key, f"{name}: {label}.{key}", warn)
    for n, override in enumerate(source.overrides):
        if "select" not in override:
            raise OptionError(f"{name}: tool.cibuildwheel.overrides[{n}] has no select")
        for key in override:
            if key not in ("select", "inherit"):
                note(key, f"{name}: tool.cibuildwheel.overrides[{n}].{key}", warn)
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
                "CIBW_DEBUG_KEEP_CONTAINER", "CIBW_CACHE_PATH"}


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


class Reader:
    """Looks options up through every source, per identifier (for overrides)."""

    def __init__(self, sources: Sequence[Source], environ: Mapping[str, str],
                 cli: Mapping[str, Any],
                 dependency_groups: Mapping[str, Any] | None = None) -> None:
        self.sources, self.environ, self.cli = list(sources), environ, dict(cli)
        #: the project's ``[dependency-groups]`` (PEP 735), for ``test-groups``
        self.dependency_groups = dict(dependency_groups or {})

    def get(self, option: str, identifier: str | None = None) -> Any:
        """The value of ``option`` for ``identifier`` (strings joined as cibuildwheel does)."""
        if option in self.cli and self.cli[option] is not None:
            return self.cli[option]
        for name in (env_name(option) + "_LINUX", env_name(option)):
            if name in self.environ:
                return self.environ[name]
        for source in self.sources:
            found = self._from_source(source, option, identifier)
            if found is not None:
                return found
        return _DEFAULTS.get(option)

    def _from_source(self, source: Source, option: str, identifier: str | None) -> Any:
        value = source.linux.get(option, source.top.get(option))
        if identifier is not None:
            for override in source.overrides:
                select = override["select"]
                select = " ".join(select) if isinstance(select, list) else str(select)
                if option in override and matches(select, identifier):
                    value = _inherit(value, override[option],
                                     _table(override.get("inherit"), "overrides.inherit")
                                     .get(option, "none"), option)
        return None if value is None else _joined(value, option)

    def crossenv(self, key: str) -> Any:
        for source in self.sources:
            if key in source.crossenv:
                return source.crossenv[key]
        return None


def _joined(value: Any, option: str) -> Any:
    sep = SUPPORTED.get(option, " ")
    if isinstance(value, list) and sep:
        return sep.join(str(v) for v in value)
    return value


def _inherit(below: Any, value: Any, how: str, option: str) -> Any:
    if how == "none" or below is None:
        return value
    if isinstance(below, dict) and isinstance(value, dict):
        return {**below, **value} if how == "append" else {**value, **below}
    sep = SUPPORTED.get(option, " ") or " "
    first, second = (below, value) if how == "append" else (value, below)
    if how not in ("append", "prepend"):
        raise OptionError(f"overrides.inherit.{option} = {how!r}: use none, prepend or append")
    return sep.join(str(_joined(v, option)) for v in (first, second))


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

