"""cibuildwheel's value syntaxes: ``environment`` assignments and ``config-settings``.

``environment = 'CFLAGS="$CFLAGS -O3" FOO=bar'`` is a list of shell assignments that
cibuildwheel evaluates in order, each seeing the ones before. The subset parsed here
is the one users write: ``NAME=VALUE`` words, single quotes literal, double quotes and
bare text with ``$NAME``/``${NAME}`` expanded. Command substitution (``$(...)``,
backticks) is refused with one line rather than run or passed through as text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from ..errors import OptionError

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def _expand(text: str, scope: Mapping[str, str], option: str) -> str:
    if "$(" in text or "`" in text:
        raise OptionError(f"{option}: command substitution ({text!r}) is not supported; "
                          "compute the value before running crossenv buildwheel")
    return _VAR_RE.sub(lambda m: scope.get(m[1] or m[2], ""), text)


def _value(text: str, start: int, scope: Mapping[str, str], option: str) -> tuple[str, int]:
    """Read one shell word from ``text[start:]``; return it expanded and where it ended."""
    out: list[str] = []
    i = start
    while i < len(text) and not text[i].isspace():
        char = text[i]
        if char == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise OptionError(f"{option}: unterminated ' in {text!r}")
            out.append(text[i + 1:end])
            i = end + 1
        elif char == '"':
            j, chunk = i + 1, []
            while j < len(text) and text[j] != '"':
                if text[j] == "\\" and j + 1 < len(text) and text[j + 1] in '"\\$`':
                    j += 1
                chunk.append(text[j])
                j += 1
            if j >= len(text):
                raise OptionError(f'{option}: unterminated " in {text!r}')
            out.append(_expand("".join(chunk), scope, option))
            i = j + 1
        elif char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in "'\"\\":
                j += 1
            out.append(_expand(text[i:j], scope, option))
            i = j
    return "".join(out), i


def parse_environment(value: str | Mapping[str, object], base: Mapping[str, str],
                      option: str = "environment") -> dict[str, str]:
    """The variables an ``environment`` value assigns, evaluated in order over ``base``."""
    scope = dict(base)
    assigned: dict[str, str] = {}
    if isinstance(value, Mapping):
        for name, raw in value.items():
            if not _NAME_RE.fullmatch(str(name)):
                raise OptionError(f"{option}: {name!r} is not a variable name")
            # a table value is what a double-quoted shell word holds (cibuildwheel
            # writes NAME="VALUE"): spaces kept, $NAME expanded
            quoted = '"' + re.sub(r'(?<!\\)"', '\\"', str(raw)) + '"'
            text, _ = _value(quoted, 0, scope, option)
            scope[name] = assigned[name] = text
        return assigned
    i = 0
    while i < len(value):
        if value[i].isspace():
            i += 1
            continue
        match = _NAME_RE.match(value, i)
        if not match or value[match.end():match.end() + 1] != "=":
            word = value[i:].split()[0]
            raise OptionError(f"{option}: {word!r} is not an assignment; write "
                              "NAME=VALUE (quote values with spaces)")
        name = match[0]
        text, i = _value(value, match.end() + 1, scope, option)
        scope[name] = assigned[name] = text
    return assigned


def split_words(text: str, option: str) -> list[str]:
    """``text`` split as a shell splits words; an unbalanced quote is one line."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise OptionError(f"{option}: {exc} in {text!r}") from None


def parse_config_settings(value: str | Mapping[str, object],
                          option: str = "config-settings") -> list[tuple[str, str]]:
    """``"a=b c=d"`` or ``{a = "b", c = ["d", "e"]}`` -> ``[(a, b), (c, d), (c, e)]``."""
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            for one in item if isinstance(item, list) else [item]:
                pairs.append((str(key), str(one)))
        return pairs
    for word in split_words(value, option):
        key, sep, item = word.partition("=")
        if not sep or not key:
            raise OptionError(f"{option}: {word!r} is not KEY=VALUE")
        pairs.append((key, item))
    return pairs
