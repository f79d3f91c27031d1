"""One identifier's resolved options: what the runner and :mod:`crossenv.api` act on.

:mod:`.config` finds raw values; this module gives them meaning: which front-end,
which manylinux policy an image name stands for, which Debian packages a
``before-all`` asks for (the sysroot is Debian, cibuildwheel's container is not), how
the test command splits into commands. It is also the seam for later features: a
field added to :class:`IdentifierOptions` reaches every build without new plumbing.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import launcher
from ..manylinux import Glibc, find_policy
from ..request import CreateRequest
from . import depgroups
from .config import Reader
from .envsyntax import OptionError, parse_config_settings, parse_environment, split_words
from .identifiers import Identifier

if TYPE_CHECKING:
    from ..provision import Sysroot

FRONTENDS = ("pip", "build", "build[uv]")
TOOLCHAINS = ("auto", "gnu", "zig")
#: cibuildwheel's default image for every Linux architecture (cibuildwheel 3).
DEFAULT_POLICY = "manylinux_2_28"
_INSTALL_RE = re.compile(r"^(?:sudo\s+)?(apt-get|apt|yum|dnf|microdnf|apk)\s+(.*)$")
#: a package install anywhere in a shell text (for one crossenv does not split)
_ANY_INSTALL_RE = re.compile(r"\b(?:apt-get|apt|yum|dnf|microdnf|apk|zypper)\s+"
                            r"(?:-\S+\s+)*(?:install|add)\b")
#: the shell's reserved words: a command that starts with one is shell syntax, which
#: crossenv does not run (commands run as argv lists, without a shell)
_RESERVED = frozenset(["if", "then", "else", "elif", "fi", "case", "esac", "for", "select",
                       "while", "until", "do", "done", "function", "{", "}", "!", "[[", "]]"])


@dataclasses.dataclass(frozen=True)
class Policy:
    """The manylinux level a wheel must meet: ``manylinux_2_28`` and glibc (2, 28)."""

    name: str
    glibc: Glibc

    def tag(self, arch: str) -> str:
        return f"manylinux_{self.glibc[0]}_{self.glibc[1]}_{arch}"


def parse_policy(value: str, option: str) -> Policy:
    """``manylinux2014``, ``manylinux_2_28`` or an image name holding one."""
    found = find_policy(value)
    if found is None:
        raise OptionError(f"{option} = {value!r}: name a manylinux policy or image "
                          "(manylinux2014, manylinux_2_28, quay.io/pypa/manylinux_2_34_aarch64)")
    return Policy(*found)


@dataclasses.dataclass(frozen=True)
class Frontend:
    name: str  # pip, build, build[uv]
    args: tuple[str, ...] = ()


def parse_frontend(value: object) -> Frontend:
    """``pip``, ``build; args: --foo``, or ``{name = "build", args = [...]}``; ``default``
    is cibuildwheel's default, pypa/build (cibuildwheel 3.0 made it so)."""
    if isinstance(value, Mapping):
        name, args = str(value.get("name", "")), [str(a) for a in value.get("args", [])]
    else:
        name, _, rest = str(value).partition(";")
        rest = rest.strip()
        if rest and not rest.startswith("args:"):
            raise OptionError(f"build-frontend {value!r}: write NAME or 'NAME; args: ...'")
        args = split_words(rest[len("args:"):], "build-frontend") if rest else []
    name = name.strip()
    if name == "default":  # cibuildwheel's own spelling of its default: build since 3.0
        name = "build"
    if name not in FRONTENDS:
        raise OptionError(f"build-frontend {name!r}: crossenv supports {', '.join(FRONTENDS)}")
    return Frontend(name, tuple(args))


def split_chains(text: str) -> list[list[list[str]]]:
    """A command string -> commands (``&&``, ``;``, new lines), each a list of ``||``
    alternatives, each an argv. Pipes and redirection are refused."""
    commands: list[list[list[str]]] = []
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        alternatives: list[list[str]] = [[]]
        try:
            tokens = list(lexer)
        except ValueError as exc:  # an unbalanced quote
            raise OptionError(f"command {line!r}: {exc}") from None
        for token in tokens:
            if token in ("&&", ";", "||"):
                if token == "||":
                    alternatives.append([])
                    continue
                if any(alternatives):
                    commands.append([a for a in alternatives if a])
                alternatives = [[]]
            elif token and set(token) <= set(";&|<>"):
                raise OptionError(f"command {line!r}: {token!r} is not supported; use "
                                  "commands joined with && (or put them in a script)")
            else:
                if not alternatives[-1] and token in _RESERVED:
                    raise OptionError(f"command {line!r}: {token!r} is shell syntax, which "
                                      "crossenv does not run (commands run without a "
                                      "shell); put it in a script and run that")
                alternatives[-1].append(token)
        if any(alternatives):
            commands.append([a for a in alternatives if a])
    return commands


def split_commands(text: str) -> list[list[str]]:
    """A command string as cibuildwheel writes it (``a && b``, ``;``, new lines)
    -> argv lists; ``||`` is refused here (only ``before-all`` understands it)."""
    chains = split_chains(text)
    for chain in chains:
        if len(chain) > 1:
            raise OptionError(f"command {' || '.join(map(shlex.join, chain))!r}: '||' is "
                              "only understood in before-all; put it in a script")
    return [chain[0] for chain in chains]


def _apt_packages(argv: list[str]) -> list[str] | None:
    """The packages of an ``apt-get install`` argv; [] for ``apt-get update``; None else."""
    match = _INSTALL_RE.match(shlex.join(argv))
    if not match or match[1] not in ("apt-get", "apt"):
        return None
    words = split_words(match[2], "before-all")
    if words[:1] == ["update"]:
        return []
    if words[:1] == ["install"]:
        return [w for w in words[1:] if not w.startswith("-")]
    return None


def before_all_packages(text: str, warn: Callable[[str], None]) -> tuple[list[str],
                                                                          list[list[str]]]:
    """Split ``before-all`` into Debian packages for the sysroot and other commands.

    ``apt-get install X`` lines name Debian packages: they go into the sysroot, also
    as one alternative of ``yum install ... || apt-get install ...``. ``yum``/``dnf``/
    ``apk`` alone install into cibuildwheel's container: their names are not Debian's,
    so they are reported (use ``sysroot-packages``) and not run.
    """
    packages: list[str] = []
    other: list[list[str]] = []
    try:
        chains = split_chains(text)
    except OptionError:
        if not _ANY_INSTALL_RE.search(text):
            raise
        # zstandard's 'if [ -x /usr/bin/yum ]; then yum install -y libffi-devel; fi':
        # shell syntax around an install for cibuildwheel's container
        warn(f"before-all: {text.strip()!r} installs packages in cibuildwheel's container "
             "(in shell syntax crossenv does not run) and is not run; name the Debian "
             "packages the host needs in [tool.crossenv.buildwheel] sysroot-packages")
        return [], []
    for chain in chains:
        apt = [found for argv in chain if (found := _apt_packages(argv)) is not None]
        if apt:
            packages += apt[0]
            continue
        if all(_INSTALL_RE.match(shlex.join(argv)) for argv in chain):
            shown = " || ".join(map(shlex.join, chain))
            warn(f"before-all: {shown!r} is for cibuildwheel's container and is not run; "
                 "name the Debian packages the host needs in [tool.crossenv.buildwheel] "
                 "sysroot-packages")
            continue
        if len(chain) > 1:
            raise OptionError(f"before-all: {' || '.join(map(shlex.join, chain))!r}: '||' "
                              "is understood only between package installs; use a script")
        other.append(chain[0])
    return packages, other


@dataclasses.dataclass(frozen=True)
class IdentifierOptions:
    """Everything one build needs, resolved (no more lookups or parsing)."""

    identifier: Identifier
    frontend: Frontend
    config_settings: tuple[tuple[str, str], ...]
    environment: Mapping[str, str]
    before_build: tuple[tuple[str, ...], ...]
    before_test: tuple[tuple[str, ...], ...]
    repair_command: str
    test_command: tuple[tuple[str, ...], ...]
    test_requires: tuple[str, ...]
    test_extras: tuple[str, ...]
    test_sources: tuple[str, ...]
    test_environment: Mapping[str, str]
    test: bool  # False: test-skip matched, or no test-command
    policy: Policy
    toolchain: str  # gnu or zig (auto resolved)
    sysroot_packages: tuple[str, ...]
    verbosity: int
    #: variables set whenever cross-python starts (crossenv --env)
    env_vars: tuple[tuple[str, str, str], ...] = ()
    #: run in front of the host compilers (ccache ...); part of the cached env's key
    compiler_launcher: tuple[str, ...] = ()
    #: ``audit-command`` argvs (with ``{wheel}`` or ``{abi3_wheel}``), run after the
    #: check on the build machine in a venv with ``audit-requires`` (:mod:`.audit`)
    audit_command: tuple[tuple[str, ...], ...] = ()
    audit_requires: tuple[str, ...] = ()
    #: ``toolchain = "auto"``: gcc, and zig again when gcc's wheel needs glibc symbols
    #: newer than the policy (:func:`crossenv.buildwheel.runner.zig_fallback`)
    toolchain_auto: bool = False

    def create_request(self, sysroot: Sysroot) -> CreateRequest:
        """The cached environment this identifier builds in, as :func:`crossenv.api.create`
        takes it: zig compiles against the policy's glibc, gcc links C++ for it."""
        return CreateRequest(
            host=sysroot, env=None, clear="both", toolchain=self.toolchain,
            manylinux=(self.policy.glibc,) if self.toolchain == "zig" else (),
            env_vars=self.env_vars, compiler_launcher=self.compiler_launcher,
            cxx_manylinux=self.policy.glibc)


def resolve_launcher(option: str | None, environ: Mapping[str, str],
                     project: Path) -> tuple[str, ...]:
    """The compiler launcher of a run: ``--compiler-launcher``, else
    ``CROSSENV_COMPILER_LAUNCHER`` (set and empty: none), else the project's
    ``[tool.crossenv] compiler-launcher``. The project is the user's own (an sdist they
    asked to build), so its pyproject may choose the program, unlike cross-pip's sdists."""
    if option is not None or launcher.ENV_VAR in environ:
        return launcher.resolve(option, environ)
    return launcher.from_pyproject(project)


def _words(value: Any, option: str) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return tuple(split_words(str(value or ""), option))


def audit_commands(text: str) -> tuple[tuple[str, ...], ...]:
    """``audit-command`` as argvs; each must name ``{wheel}`` or ``{abi3_wheel}`` (not
    both), as cibuildwheel requires, checked before any build rather than after."""
    commands = tuple(tuple(c) for c in split_commands(text))
    for command in commands:
        joined = " ".join(command)
        has_wheel, has_abi3 = "{wheel}" in joined, "{abi3_wheel}" in joined
        if has_wheel == has_abi3:
            raise OptionError(f"audit-command {shlex.join(command)!r}: use exactly one of "
                              "the placeholders {wheel} (every wheel) and {abi3_wheel} "
                              "(abi3 wheels only)")
    return commands


def resolve(reader: Reader, identifier: Identifier, base_env: Mapping[str, str],
            test_selected: bool, warn: Callable[[str], None]) -> IdentifierOptions:
    """Resolve every option of ``identifier`` (overrides applied) against ``base_env``."""
    name = str(identifier)

    def get(option: str) -> Any:
        return reader.get(option, name)

    # cibuildwheel's own variables: CIBUILDWHEEL before the option (it may read or
    # change it), the identifier after it (set for every per-build step, tests too)
    ours = {"CIBUILDWHEEL": "1", "CIBUILDWHEEL_BUILD_IDENTIFIER": name}
    environment = {"CIBUILDWHEEL": "1", **parse_environment(
        get("environment") or "", {**base_env, "CIBUILDWHEEL": "1"}), **ours}
    test_env = {**ours, **parse_environment(get("test-environment") or "",
                                            {**base_env, **environment}, "test-environment")}
    image_option = f"manylinux-{identifier.arch}-image"
    policy = parse_policy(str(get(image_option) or DEFAULT_POLICY), image_option)
    toolchain = str(reader.crossenv("toolchain") or "auto")
    if toolchain not in TOOLCHAINS:
        raise OptionError(f"tool.crossenv.buildwheel.toolchain = {toolchain!r}: use "
                          f"{', '.join(TOOLCHAINS)}")
    auto = toolchain == "auto"
    if auto:
        # gcc first, for every policy: C++ links libstdc++ for the policy with the one
        # shared runtime (exceptions cross modules; zig's static libc++ cannot), and the
        # wheel is checked symbol by symbol. Debian's oldest sysroot has glibc 2.31, so
        # below manylinux_2_28 a C call may need a newer glibc symbol (stat@GLIBC_2.33):
        # then the identifier is built again with zig, against the policy's glibc.
        toolchain = "gnu"
    packages = reader.crossenv("sysroot-packages") or []
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise OptionError("tool.crossenv.buildwheel.sysroot-packages must be a list of "
                          "Debian package names (strings)")
    from_before_all, _ = before_all_packages(str(get("before-all") or ""), lambda _m: None)
    extras = get("test-extras") or ""
    extras_t = tuple(e.strip() for e in (extras if isinstance(extras, list)
                                         else str(extras).split(",")) if e.strip())
    test_command = tuple(tuple(c) for c in split_commands(str(get("test-command") or "")))
    audit = audit_commands(str(get("audit-command") or ""))
    repair = str(get("repair-wheel-command") or "")
    split_commands(repair)  # run later, but a quoting mistake is found now
    try:
        verbosity = int(get("build-verbosity") or 0)
    except ValueError:
        raise OptionError(f"build-verbosity {get('build-verbosity')!r}: give an integer "
                          "from -3 to 3") from None
    return IdentifierOptions(
        identifier=identifier,
        frontend=parse_frontend(get("build-frontend") or "build"),
        config_settings=tuple(parse_config_settings(get("config-settings") or "")),
        environment=environment,
        before_build=tuple(tuple(c) for c in split_commands(str(get("before-build") or ""))),
        before_test=tuple(tuple(c) for c in split_commands(str(get("before-test") or ""))),
        repair_command=repair,
        test_command=test_command,
        # words, not requirements ("-r FILE"): joined, never deduplicated
        test_requires=(*_words(get("test-requires"), "test-requires"),
                       *depgroups.resolve(reader.dependency_groups,
                                          _words(get("test-groups"), "test-groups"))),
        test_extras=extras_t,
        test_sources=_words(get("test-sources"), "test-sources"),
        test_environment=test_env,
        test=bool(test_command) and test_selected,
        policy=policy,
        toolchain=toolchain,
        toolchain_auto=auto,
        sysroot_packages=tuple(dict.fromkeys([*map(str, packages), *from_before_all])),
        verbosity=verbosity,
        audit_command=audit,
        audit_requires=_words(get("audit-requires"), "audit-requires"),
    )
