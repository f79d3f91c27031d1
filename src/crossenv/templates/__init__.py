"""Generated scripts and text as real files, filled in by one function.

The shell crossenv writes (the compiler wrapper, the CMake/autotools emulator, ENV's
``activate``, cargo's linker...) lives beside this module as ``NAME.sh`` files that
shellcheck reads in ``nox -s lint``; other text as ``NAME.<format>.in``. A template
names each value it takes as ``@name@`` (a valid shell word, so the unfilled file still
parses). :func:`fill` quotes every value for the template's format with
:mod:`crossenv.quoting` (POSIX sh for ``.sh``, a Python literal for ``.py.in``), except
:class:`Raw` pieces, which the caller built from already quoted parts (a ``case``
pattern, a list of words).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

from .. import quoting

_FIELD = re.compile(r"@([a-z][a-z_]*)@")


class Raw(str):
    """Text put into a template as it is: the caller quoted its parts."""

    __slots__ = ()


_QUOTE: dict[str, Callable[[Any], str]] = {
    "sh": quoting.shell,
    "py": quoting.python,
}


def _format(name: str) -> str:
    parts = name.split(".")
    return parts[-2] if parts[-1] == "in" and len(parts) > 2 else parts[-1]


@functools.cache
def source(name: str) -> str:
    """The template's text, unfilled."""
    return (resources.files(__name__) / name).read_text(encoding="utf-8")


def fields(name: str) -> set[str]:
    """The ``@name@`` fields *name* takes."""
    return set(_FIELD.findall(source(name)))


def fill(name: str, /, **values: object) -> str:
    """The template *name* with every ``@field@`` replaced by its value, quoted for the
    template's format (:class:`Raw` values as they are; ints as decimal text).

    Every field must be given and every value used: a misspelt name is an error here,
    not a script that runs with an empty word.
    """
    quote = _QUOTE[_format(name)]
    text = source(name)
    wanted = set(_FIELD.findall(text))
    if wanted != set(values):
        raise ValueError(f"template {name}: fields {sorted(wanted)}, given {sorted(values)}")

    def one(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        if isinstance(value, Raw):
            return str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if quote is quoting.shell and not isinstance(value, str):
            raise TypeError(f"template {name}: {match.group(1)} is not text")
        return quote(value)

    return _FIELD.sub(one, text)


__all__ = ["Raw", "fields", "fill", "source"]
