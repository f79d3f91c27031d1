"""Compiler launchers (ccache, sccache, distcc, icecc): checked once, run by the wrappers.

A launcher is a command put in front of the host C/C++ compiler, such as ``ccache`` or
``distcc``. crossenv does not schedule or cache anything itself: it runs the engine
users already have, in one place that every backend goes through. That place is the
compiler wrapper (:mod:`crossenv.backends.compilerwrap`), which sysconfig's
``CC``/``CXX``/``LDSHARED``, the meson cross file and the CMake toolchain all name. The
wrapper maps build-machine paths first and then execs ``LAUNCHER COMPILER ARGS``, so

* ccache and sccache see the *real* cross compiler (they hash its size and mtime, or
  its content: upgrading ``gcc-aarch64-linux-gnu`` invalidates the cache, which a
  launcher in front of the regenerated wrapper script would not notice) and the
  arguments that are really compiled (after the path mapping);
* distcc and icecc send the compiler *by name* to their workers, which look it up on
  their own PATH (distccd only runs names in its masquerade directory or
  ``DISTCC_CMDLIST``); a path to a per-environment script would exist nowhere else.

The launcher is user input that ends up in a shell script run for every compile, so it
is refused unless every word is plain (letters, digits and ``_./+,:=@%-``) and the
program exists. The program's absolute path, as found on PATH, may hold any character:
the wrappers quote it. ``CROSSENV_COMPILER_LAUNCHER`` is read at creation (the default of
``--compiler-launcher``) and again by the wrappers at every compile (set it to override
the recorded launcher, empty to run none). A project's ``[tool.crossenv]
compiler-launcher`` is never read by cross-python: an sdist from an index must not pick
a program crossenv runs; :func:`from_pyproject` is for tools that build the user's own
project (``crossenv buildwheel``).

:func:`cache_stats` reads ccache's or sccache's counters, so that a caller can show
cache hits of one build as the difference of two readings (nothing is zeroed).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import _proc
from .errors import CrossenvError

ENV_VAR = "CROSSENV_COMPILER_LAUNCHER"
#: launchers that run the compiler on other machines: it is given to them by name
REMOTE = ("distcc", "icecc", "icerun")
CACHES = ("ccache", "sccache")
_WORD = re.compile(r"[A-Za-z0-9_./+,:=@%-]+")


class LauncherError(CrossenvError):
    """The compiler launcher cannot be used as given."""


def _name(word: str) -> str:
    return os.path.basename(word)


def parse(spec: str, *, path: str | None = None, origin: str = "--compiler-launcher",
          ) -> tuple[str, ...]:
    """The launcher's words, its program resolved to an absolute path; ``()`` for "".

    *origin* names where *spec* came from in error messages.
    """
    words = [word for word in spec.split(" ") if word]  # tabs and newlines are refused
    if not words:
        return ()
    for word in words:
        if not _WORD.fullmatch(word):
            bad = next(ch for ch in word if not _WORD.fullmatch(ch))
            raise LauncherError(
                f"{origin} {spec.strip()!r}: {bad!r} is not allowed (words of letters, "
                "digits and _./+,:=@%- only, separated by spaces; no shell syntax)")
    program = words[0]
    if "/" in program:
        if not os.path.isabs(program):
            raise LauncherError(f"{origin} {program!r} is a relative path; give an absolute "
                                "path or a program name found on PATH")
        found = program if os.path.isfile(program) and os.access(program, os.X_OK) else None
    else:
        found = shutil.which(program, path=path)
    if found is None:
        raise LauncherError(f"{origin}: {program} is not an executable program"
                            f"{'' if '/' in program else ' on PATH'}; install it (e.g. apt "
                            f"install {_name(program)}) or give its absolute path")
    return (os.path.abspath(found), *words[1:])


def text(launcher: Sequence[str]) -> str:
    """The launcher as ``CROSSENV_COMPILER_LAUNCHER`` spells it: its words joined by spaces.

    The program was found on PATH and may lie in a directory with a space (``/opt/my
    tools/ccache``), which this text cannot tell from a separator; the wrappers keep the
    recorded words quoted and run them as they are when the variable holds this text.
    """
    return " ".join(launcher)


def cache_environment(launcher: Sequence[str], env: Path) -> dict[str, str]:
    """What cross-python exports (when unset) so that a cache hits for a rebuilt sdist.

    pip unpacks an sdist into a new random directory, and scikit-build-core builds in a
    random temporary directory *beside* it, so CMake's absolute source paths differ in
    every build however ccache relativizes them. Given a build directory inside the
    project (as scikit-build-core's docs suggest for rebuilds), the paths relative to it
    are the same each time. The name holds the wheel tag and a digest of ENV, so
    environments (and Pythons) never share one CMake cache.
    """
    if kind(launcher) not in CACHES:
        return {}
    import hashlib

    digest = hashlib.sha256(os.fsencode(os.path.abspath(env))).hexdigest()[:8]
    return {"SKBUILD_BUILD_DIR": f"build/{{wheel_tag}}-crossenv-{digest}"}


def resolve(option: str | None, environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The launcher for a new environment: the option, else ``CROSSENV_COMPILER_LAUNCHER``."""
    if option is not None:
        return parse(option, path=environ.get("PATH"))
    value = environ.get(ENV_VAR)
    if value is None:
        return ()
    return parse(value, path=environ.get("PATH"), origin=ENV_VAR)


def kind(launcher: Sequence[str]) -> str | None:
    """``ccache``, ``sccache``, ``distcc``, ``icecc`` ... by the first word that is one."""
    for word in launcher:
        name = _name(word)
        if name in CACHES or name in REMOTE:
            return name
    return None


def is_remote(launcher: Sequence[str]) -> bool:
    return any(_name(word) in REMOTE for word in launcher)


def compiler_word(launcher: Sequence[str], compiler: str, *,
                  path: str | None = None) -> str:
    """How the wrapper names *compiler* after *launcher*: remote launchers get its name,
    which must find the same program on PATH here (and on the workers)."""
    if not is_remote(launcher):
        return compiler
    name = _name(compiler)
    found = shutil.which(name, path=path)
    try:
        same = found is not None and os.path.samefile(
            found, shutil.which(compiler, path=path) or compiler)
    except OSError:  # the recorded compiler is gone
        same = False
    if not same:
        raise LauncherError(
            f"{kind(launcher)} runs the compiler by name on its workers, but {name} on "
            f"PATH is {'missing' if found is None else found}, not {compiler}; put "
            f"{os.path.dirname(compiler) or 'its directory'} first on PATH or pass --cc "
            "with a compiler found on PATH")
    return name


def check(launcher: Sequence[str], toolchain_kind: str, compiler: str) -> None:
    """Refuse combinations that cannot work, before anything is created."""
    if is_remote(launcher) and toolchain_kind == "zig":
        raise LauncherError(f"{kind(launcher)} cannot distribute 'zig cc' compiles "
                            "(its workers run a compiler, not zig); use ccache or sccache, "
                            "or --toolchain gnu")
    compiler_word(launcher, compiler)


def from_pyproject(project: Path) -> tuple[str, ...]:
    """``[tool.crossenv] compiler-launcher`` of the user's own *project* (a string)."""
    file = Path(project) / "pyproject.toml"
    if not file.is_file():
        return ()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the test venv is 3.11
        try:
            import tomli as tomllib
        except ImportError:
            raise LauncherError(f"reading {file} needs Python 3.11 or the tomli package; "
                                f"set {ENV_VAR} instead") from None
    try:
        with file.open("rb") as fh:
            table = tomllib.load(fh).get("tool", {}).get("crossenv", {})
    except (OSError, ValueError) as exc:
        raise LauncherError(f"cannot read {file}: {exc}; fix the file") from None
    value = table.get("compiler-launcher") if isinstance(table, dict) else None
    if value is None:
        return ()
    if not isinstance(value, str):
        raise LauncherError(f"{file}: [tool.crossenv] compiler-launcher must be a string "
                            "such as \"ccache\"")
    return parse(value, origin=f"{file} [tool.crossenv] compiler-launcher")


# -- cache statistics --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """Counters of a compiler cache (cumulative; subtract two readings for one build)."""

    tool: str
    hits: int
    misses: int
    uncacheable: int = 0
    counters: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __sub__(self, before: CacheStats) -> CacheStats:
        keys = set(self.counters) | set(before.counters)
        return CacheStats(self.tool, self.hits - before.hits, self.misses - before.misses,
                          self.uncacheable - before.uncacheable,
                          {k: self.counters.get(k, 0) - before.counters.get(k, 0)
                           for k in sorted(keys)})

    def summary(self) -> str:
        total = self.hits + self.misses
        rate = f" ({100 * self.hits / total:.0f}%)" if total else ""
        return f"{self.tool}: {self.hits} hits, {self.misses} misses{rate}"


#: ccache --print-stats counters of compilations it could not cache
_CCACHE_UNCACHEABLE = ("called_for_link", "called_for_preprocessing", "compile_failed",
                       "no_input_file", "unsupported_compiler_option",
                       "unsupported_source_language", "could_not_use_precompiled_header",
                       "multiple_source_files", "autoconf_test", "bad_compiler_arguments",
                       "preprocessor_error", "output_to_stdout", "compiler_produced_stdout",
                       "compiler_produced_no_output", "could_not_use_modules",
                       "unsupported_code_directive", "unsupported_environment_variable")


def parse_ccache_stats(text: str) -> CacheStats:
    """``ccache --print-stats`` output: ``name<TAB>value`` lines."""
    counters: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("\t")
        if sep and value.strip().isdigit():
            counters[name.strip()] = int(value)
    hits = counters.get("direct_cache_hit", 0) + counters.get("preprocessed_cache_hit", 0)
    return CacheStats("ccache", hits, counters.get("cache_miss", 0),
                      sum(counters.get(k, 0) for k in _CCACHE_UNCACHEABLE), counters)


def _count(value: object) -> int:
    """sccache's ``{"counts": {"C/C++": 3}, ...}`` or a plain number."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        counts = value.get("counts")
        if isinstance(counts, dict):
            return sum(v for v in counts.values() if isinstance(v, int)
                       and not isinstance(v, bool))
    return 0


def parse_sccache_stats(text: str) -> CacheStats:
    """``sccache --show-stats --stats-format=json`` output."""
    try:
        data = json.loads(text)
    except ValueError:
        raise LauncherError("sccache printed no JSON statistics; use sccache 0.3 or "
                            "newer") from None
    stats = data.get("stats", data) if isinstance(data, dict) else {}
    if not isinstance(stats, dict):
        stats = {}
    counters = {str(k): _count(v) for k, v in stats.items()  # not the durations
                if (isinstance(v, int) and not isinstance(v, bool))
                or (isinstance(v, dict) and isinstance(v.get("counts"), dict))}
    uncacheable = sum(_count(stats.get(k)) for k in
                      ("requests_not_compile", "requests_not_cacheable"))
    return CacheStats("sccache", _count(stats.get("cache_hits")),
                      _count(stats.get("cache_misses")), uncacheable, counters)


def cache_stats(launcher: Sequence[str] | str,
                environ: Mapping[str, str] | None = None) -> CacheStats | None:
    """The counters of the cache *launcher* runs (``None`` if it is not ccache/sccache).

    *environ* must carry the cache's own settings (``CCACHE_DIR``, ``SCCACHE_DIR``) the
    build used. Raises :class:`LauncherError` when the tool cannot report.
    """
    words = launcher.split() if isinstance(launcher, str) else list(launcher)
    tool = kind(words)
    if tool not in CACHES:
        return None
    program = next(w for w in words if _name(w) == tool)
    program = shutil.which(program) or program
    if tool == "ccache":
        cmd = [program, "--print-stats"]
    else:
        cmd = [program, "--show-stats", "--stats-format=json"]
    try:
        proc = _proc.run(cmd, timeout=60, env=environ, check=False, error=LauncherError)
    except LauncherError as exc:  # cannot be started
        raise LauncherError(f"cannot read {tool}'s statistics: {exc}") from None
    if proc.returncode is None:
        raise LauncherError(f"cannot read {tool}'s statistics: {' '.join(cmd)} did not "
                            "finish in 60 s")
    if proc.returncode != 0:
        raise LauncherError(f"{' '.join(cmd)} failed: {proc.last_line()}")
    if tool == "ccache":
        return parse_ccache_stats(proc.stdout)
    return parse_sccache_stats(proc.stdout)
