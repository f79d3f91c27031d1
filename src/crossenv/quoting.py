"""Spell a value for each file format crossenv writes, in exactly one place per format.

Generated files mix our text with values from elsewhere (host data, user paths).
Each function here returns a token that the format's own parser reads back as
*exactly* the value given, or raises :class:`QuotingError` when the format cannot
hold it (a newline in a PyO3 config line, a quote in a meson machine file): a
refusal, never a file that means something else. The generators (cmake, meson,
cargo, scripts, crossconfig, sysconfigdata) call these and nothing else.
"""

from __future__ import annotations

import ast
import pprint
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Union

from .errors import CrossenvError


class QuotingError(CrossenvError):
    """A value cannot be written into a generated file without changing its meaning."""


def _refuse(value: str, fmt: str, why: str) -> QuotingError:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return QuotingError(f"cannot write {text} into the {fmt}: {why}; use paths and values "
                        "without such characters")


def _utf8(value: str, fmt: str) -> None:
    if "\0" in value:
        raise _refuse(value, fmt, "it contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse(value, fmt, "it is not valid Unicode") from None


# -- directories that generated files name ----------------------------------------------------

# Characters that a directory named in generated files (ENV, --cross-prefix, the sysroot)
# cannot hold, and why; tried with a real cmake 3.25 and meson 1.x build: CMake writes the
# toolchain file's path into CMakeSystem.cmake unescaped, meson's ninja backend never
# settles on a path with a backslash, meson expands variables in the cross file's path.
_DIRECTORY_REFUSED = {
    '"': "CMake cannot load a toolchain file from such a directory",
    ";": "';' separates CMake list items, so CMake splits the toolchain file's path",
    "\\": "CMake and meson's ninja backend read a backslash as an escape",
    ":": "':' separates the entries of PATH and PKG_CONFIG_LIBDIR",
    "$": "meson expands $NAME in a --cross-file path (os.path.expandvars)",
}


def directory(value: str, what: str) -> None:
    """Refuse a directory that generated files name if a format crossenv writes cannot
    carry it (every other character is quoted per format by the functions below)."""
    _utf8(value, "generated files")
    for char in value:
        if char < " " or char == "\x7f":
            raise QuotingError(f"{what} {value!r} holds the control character {char!r}, which "
                               "shell scripts, CMake and meson files cannot carry; choose a "
                               "path without it")
        reason = _DIRECTORY_REFUSED.get(char)
        if reason is not None:
            text = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise QuotingError(f"{what} {text} contains {char!r}: {reason}; choose a path "
                               "without it")


# -- CMake -------------------------------------------------------------------------------------

_CMAKE_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CMAKE_SPECIAL = re.compile(r'[\\"$\n\r\t]')


def cmake(value: str) -> str:
    """A CMake quoted argument whose value is *value* (no ``${}`` expansion, no breakout)."""
    _utf8(value, "CMake toolchain file")
    return '"' + _CMAKE_SPECIAL.sub(lambda m: _CMAKE_ESCAPES[m.group()], value) + '"'


_CMAKE_BARE = re.compile(r"[A-Za-z0-9_.+-]+")


def cmake_word(value: str) -> str:
    """Like :func:`cmake`, but bare when the value is a plain name (``Linux``, a triplet)."""
    return value if _CMAKE_BARE.fullmatch(value) else cmake(value)


def cmake_list(items: Iterable[str]) -> str:
    """The items as one CMake list value (to pass to :func:`cmake`); items cannot hold ``;``."""
    words = list(items)
    for item in words:
        if ";" in item:
            raise _refuse(item, "CMake toolchain file", "';' separates CMake list items")
    return ";".join(words)


# -- meson machine files -----------------------------------------------------------------------

MesonValue = Union[str, bool, Sequence[str]]
# meson substitutes these in the whole file before parsing it.
_MESON_MAGIC = re.compile(r"(@GLOBAL_SOURCE_ROOT@|@DIRNAME@)")
_MESON_BAD = re.compile(r"[\x00-\x1f\x7f]")
# A run of one or two quotes and what follows it up to the next quote or backslash.
_MESON_QUOTED = re.compile(r"('{1,2})([^'\\]+)")
_TRIPLE = "'" * 3


def _meson_pieces(value: str) -> list[str]:
    """String expressions that concatenate to *value* (which has no ``@DIRNAME@`` magic)."""
    pieces: list[str] = []
    index = 0
    while index < len(value):
        quote = value.find("'", index)
        if quote < 0:
            pieces.append(f"'{value[index:]}'")
            break
        if quote > index:
            pieces.append(f"'{value[index:quote]}'")
        # Triple-quoted strings may hold a quote, but neither a backslash (meson keeps it
        # doubled there) nor a quote right before the closing quotes.
        match = _MESON_QUOTED.match(value, quote)
        if match is None:
            raise _refuse(value, "meson cross file", "meson machine files cannot hold a quote "
                          "followed by two quotes, a backslash or the end of the string")
        pieces.append(_TRIPLE + match.group() + _TRIPLE)
        index = match.end()
    return pieces


def meson_string(value: str) -> str:
    """A meson machine-file string expression whose value is *value*.

    meson reads machine files with configparser, doubles every backslash (so a
    backslash is literal and escapes cannot be used), then substitutes
    ``@DIRNAME@``/``@GLOBAL_SOURCE_ROOT@``: those are split with ``+``; quotes go
    into triple-quoted strings; control characters cannot be written at all.
    """
    _utf8(value, "meson cross file")
    bad = _MESON_BAD.search(value)
    if bad:
        raise _refuse(value, "meson cross file",
                      f"meson machine files cannot hold {bad.group()!r} in a string")
    pieces: list[str] = []
    for part in _MESON_MAGIC.split(value):
        if _MESON_MAGIC.fullmatch(part):
            pieces += [f"'{part[:2]}'", f"'{part[2:]}'"]  # '@D' + 'IRNAME@' is not replaced
        elif part:
            pieces += _meson_pieces(part)
    return " + ".join(pieces) or "''"


def meson(value: MesonValue) -> str:
    """A meson machine-file value: a boolean, a string or an array of strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return meson_string(value)
    return "[" + ", ".join(meson_string(item) for item in value) + "]"


# -- PyO3 config (key=value lines) -------------------------------------------------------------

_PYO3_KEY = re.compile(r"[a-z][a-z0-9_]*")


def key_value_lines(values: Mapping[str, str]) -> str:
    """PyO3's ``PYO3_CONFIG_FILE``: ``key=value`` lines, the value raw to the end of line.

    There is no escaping, so a line break would add keys (``extra_build_script_line``).
    """
    lines = []
    for key, value in values.items():
        if not _PYO3_KEY.fullmatch(key):
            raise _refuse(key, "PyO3 config file", "not a config key")
        _utf8(value, "PyO3 config file")
        if "\n" in value or "\r" in value:
            raise _refuse(value, "PyO3 config file", "a line break would add keys")
        lines.append(f"{key}={value}\n")
    return "".join(lines)


# -- POSIX shell -------------------------------------------------------------------------------

def shell(value: str) -> str:
    """One POSIX ``sh`` word whose value is *value*."""
    _utf8(value, "shell script")
    return shlex.quote(value)


def shell_join(words: Iterable[str]) -> str:
    """Several POSIX ``sh`` words."""
    return " ".join(shell(word) for word in words)


# -- Python literals ---------------------------------------------------------------------------

def python(value: object, *, width: int | None = None) -> str:
    """A Python literal that :func:`ast.literal_eval` reads back equal to *value*.

    ``repr`` is not enough by itself: ``inf`` and ``nan`` are not literals, and a
    file that does not import breaks every start of cross-python.
    """
    text = pprint.pformat(value, width=width) if width else repr(value)
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        same = False
    if not same:
        raise QuotingError(f"cannot write {pprint.saferepr(value)[:60]} as a Python literal "
                           "(not a finite number, string, list or dict of them); fix the host "
                           "value or override it with --config-var")
    return text
