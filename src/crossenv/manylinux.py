"""The glibc version a manylinux level stands for, as one value type with its parsers.

A glibc level reaches crossenv in half a dozen spellings: ``--manylinux 2_17`` or
``manylinux2014``, a platform tag ``manylinux_2_17_aarch64``, a cibuildwheel image
name ``quay.io/pypa/manylinux_2_28_aarch64:2025.01``, a symbol version
``GLIBC_2.17`` in a libc.so.6, a Debian release's ``2.36``, zig's
``-target aarch64-linux-gnu.2.17``. Each of them used to have its own parser and
three modules kept their own copy of the legacy aliases (manylinux1/2010/2014); they
disagreed at the edges. Every spelling is parsed here, once, into :class:`Glibc`, and
the value travels typed from then on (never formatted into a string to be parsed back).

:class:`Glibc` is a ``NamedTuple`` as packaging's ``_GLibCVersion`` is: it compares
with, and unpacks like, the ``(major, minor)`` tuples older callers pass.
This module is a leaf (stdlib only).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Glibc(NamedTuple):
    """A glibc ``major.minor``: the level a manylinux tag promises or a libc provides."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def manylinux(self) -> str:
        """The PEP 600 policy name: ``manylinux_2_17``."""
        return f"manylinux_{self.major}_{self.minor}"

    @property
    def legacy(self) -> str | None:
        """The PEP 513/571/599 alias of this level (``manylinux2014``), if it has one."""
        return LEGACY.get(self)

    @classmethod
    def parse(cls, value: str) -> Glibc:
        """What ``--manylinux`` accepts: ``2_17``, ``2.17``, ``manylinux_2_17[_arch]`` or a
        legacy alias (``manylinux2014[_arch]``). ValueError names the accepted spellings."""
        text = value.strip().lower()
        for version, alias in LEGACY.items():
            if text.startswith(alias):
                return version
        match = re.match(r"(?:manylinux_)?(\d+)[._](\d+)", text)
        if not match:
            raise ValueError(f"not a manylinux version: {value!r} (use e.g. 2_17 or "
                             "manylinux2014)")
        if len(match.group(1)) > 2 or len(match.group(2)) > 3:  # one ladder tag per minor
            raise ValueError(f"manylinux version {value!r} is out of range (glibc X.Y has "
                             "X < 100, Y < 1000)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_symbol_version(cls, name: str) -> Glibc | None:
        """``GLIBC_2.17`` (a version libc.so.6 defines) -> 2.17; None for anything else
        (``GLIBC_PRIVATE``, ``GLIBC_2.3.4`` is not a release level)."""
        match = re.fullmatch(r"GLIBC_(\d+)\.(\d+)", name)
        return cls(int(match.group(1)), int(match.group(2))) if match else None

    @classmethod
    def from_dotted(cls, text: str) -> Glibc:
        """``2.36`` (a Debian release's recorded glibc) -> 2.36; ValueError otherwise."""
        match = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
        if not match:
            raise ValueError(f"not a glibc version: {text!r} (expected X.Y)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_zig_target(cls, target: str) -> Glibc | None:
        """The glibc of zig's ``-target aarch64-linux-gnu.2.17``; None when the target names
        none (zig's default). Only for a toolchain rebuilt from its words: crossenv's own
        zig toolchain carries its :class:`Glibc` from the start."""
        match = re.search(r"-gnu[a-z0-9]*\.(\d+)\.(\d+)$", target)
        return cls(int(match.group(1)), int(match.group(2))) if match else None


#: the levels named before PEP 600, and their names
LEGACY: dict[Glibc, str] = {Glibc(2, 5): "manylinux1", Glibc(2, 12): "manylinux2010",
                            Glibc(2, 17): "manylinux2014"}
#: ``manylinux2014`` -> 2.17
BY_ALIAS: dict[str, Glibc] = {alias: version for version, alias in LEGACY.items()}
#: a regular expression matching one legacy alias (``manylinux1|manylinux2010|...``)
LEGACY_PATTERN = "|".join(re.escape(alias) for alias in
                          sorted(BY_ALIAS, key=len, reverse=True))
#: a manylinux policy name inside a longer text (an image name), its level in groups
_POLICY_RE = re.compile(rf"manylinux_(\d+)_(\d+)|({LEGACY_PATTERN})(?![0-9])")


def find_policy(text: str) -> tuple[str, Glibc] | None:
    """The manylinux policy named in *text* (``quay.io/pypa/manylinux_2_34_aarch64:tag``,
    ``manylinux2014``): its name as written and its level; None when there is none."""
    match = _POLICY_RE.search(text.strip())
    if not match:
        return None
    if match[3]:
        return match[3], BY_ALIAS[match[3]]
    glibc = Glibc(int(match[1]), int(match[2]))
    return glibc.manylinux, glibc


__all__ = ["BY_ALIAS", "LEGACY", "LEGACY_PATTERN", "Glibc", "find_policy"]
