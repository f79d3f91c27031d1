"""cibuildwheel's build selectors: ``build``, ``skip`` and ``test-skip`` patterns.

Users' existing configurations must select the same identifiers here as in
cibuildwheel, so the semantics are cibuildwheel's: whitespace-separated fnmatch
patterns with shell-like brace expansion (``cp3{11,13}-*``, via bracex), ``skip``
wins over ``build``, the project's ``requires-python`` removes the Pythons it excludes
(tested at X.Y.99, as cibuildwheel does), and ``enable`` groups gate builds that are
off by default (cibuildwheel 4.2: CPython 3.15 is built by default, 3.16 would need
``cpython-prerelease``). Identifiers crossenv cannot build (musllinux, PyPy, x86_64,
free threading) simply never match anything crossenv offers.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from fnmatch import fnmatchcase

import bracex
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from .identifiers import SelectionError

#: cibuildwheel 4's enable groups (``all`` is every one of them).
ENABLE_GROUPS = frozenset({"cpython-prerelease", "graalpy", "pypy", "pypy-eol",
                           "pyodide-eol", "pyodide-prerelease"})
#: groups cibuildwheel 3 had and 4 removed: accepted with a warning (they select nothing)
REMOVED_GROUPS = {"cpython-freethreading": "cibuildwheel 4 builds free-threaded 3.14+ "
                  "without it (crossenv builds no free-threaded hosts)",
                  "cpython-experimental-riscv64": "riscv64 needs no flag"}
#: the CPython cibuildwheel treats as a pre-release (behind ``cpython-prerelease``):
#: since cibuildwheel 4.2, 3.15 is built by default and 3.16 is the next one
PRERELEASE = "cp316*"


def parse_enable(value: str, warn: Callable[[str], None]) -> frozenset[str]:
    """``enable`` words -> groups; ``all`` stands for every group, an unknown name is
    one line (as in cibuildwheel), a group cibuildwheel 4 removed is a warning."""
    groups: set[str] = set()
    for word in value.split():
        if word == "all":
            groups |= ENABLE_GROUPS
        elif word in ENABLE_GROUPS:
            groups.add(word)
        elif word in REMOVED_GROUPS:
            warn(f"enable {word}: removed in cibuildwheel 4, ignored: {REMOVED_GROUPS[word]}")
        else:
            raise SelectionError(f"enable {word!r}: unknown group; use some of "
                                 f"{', '.join(sorted(ENABLE_GROUPS))} or all")
    return frozenset(groups)


def expand(patterns: str) -> list[str]:
    """The fnmatch patterns a selector string stands for, braces expanded."""
    try:
        return list(itertools.chain.from_iterable(
            bracex.expand(word, limit=10_000) for word in patterns.split()))
    except (ValueError, RuntimeError) as exc:  # bracex: unbalanced or too large
        raise SelectionError(f"invalid selector {patterns!r}: {exc}") from None


def matches(patterns: str, identifier: str) -> bool:
    """Whether any pattern matches ``identifier`` (case-sensitive, as on Linux)."""
    return any(fnmatchcase(identifier, pattern) for pattern in expand(patterns))


def parse_requires_python(text: str | None) -> SpecifierSet | None:
    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise SelectionError(f"requires-python {text!r} is not a version "
                             "specifier (PEP 440), e.g. '>=3.9'") from None


@dataclasses.dataclass(frozen=True)
class BuildSelector:
    """``build``/``skip`` patterns plus requires-python; call it with an identifier."""

    build: str = "*"
    skip: str = ""
    requires_python: SpecifierSet | None = None
    enable: frozenset[str] = frozenset()

    def __call__(self, identifier: str) -> bool:
        version = identifier.split("-", 1)[0]
        if self.requires_python is not None and version.startswith("cp3"):
            minor = int(version[3:].rstrip("t") or 0)
            if not self.requires_python.contains(Version(f"3.{minor}.99"),
                                                 prereleases=True):
                return False
        if fnmatchcase(identifier, PRERELEASE) and not self._enabled("cpython-prerelease"):
            return False
        if fnmatchcase(identifier, "pp*") and not self._enabled("pypy"):
            return False
        return matches(self.build, identifier) and not matches(self.skip, identifier)

    def _enabled(self, group: str) -> bool:
        return group in self.enable or "all" in self.enable


@dataclasses.dataclass(frozen=True)
class TestSelector:
    """``test-skip``: identifiers whose wheels are built and checked but not tested."""

    skip: str = ""

    def __call__(self, identifier: str) -> bool:
        return not matches(self.skip, identifier)
