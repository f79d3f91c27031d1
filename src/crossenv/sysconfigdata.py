"""Read and write ``_sysconfigdata_*.py`` files without executing them.

A host's sysconfigdata is *data* that happens to be spelled as Python. Importing
it would run arbitrary code from a sysroot on the build machine, so we parse it
with :mod:`ast` and accept only a flat dict of string keys to literal strings and
numbers, walked by hand: :func:`ast.literal_eval` would follow deep nesting and
raise ``TypeError`` on unhashable keys. The file is read bounded and only if it
is a regular file, so ``/dev/zero`` or a FIFO in a sysroot cannot hang us.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

from . import quoting, validate
from .errors import HostError

ConfigVars = dict[str, object]

_HOW = "pass the host's real _sysconfigdata_*.py"


def _constant(node: ast.expr) -> object:
    """A literal number or string node (``-1`` included), else ValueError."""
    if isinstance(node, ast.Constant) and (
            node.value is None or isinstance(node.value, (str, int, float))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) in (int, float):
        value = node.operand.value
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError("not a literal")


# Deeper than this is refused as nesting. ast.parse itself raises RecursionError on deep
# input from 3.11 on, while 3.9/3.10 parse a long ``1+1+...`` chain into a deep tree: the
# depth check gives the same message on every version.
_MAX_DEPTH = 100


def _too_deep(node: ast.AST) -> bool:
    """Whether ``node`` nests deeper than ``_MAX_DEPTH`` (walked without recursion)."""
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(current))
    return False


def _nested(origin: str) -> HostError:
    return HostError(f"{origin} is nested too deeply to be a sysconfigdata file; {_HOW}")


def _values(node: ast.expr, origin: str) -> ConfigVars:
    if not isinstance(node, ast.Dict):
        raise HostError(f"{origin}: build_time_vars is not a dict of names; {_HOW}")
    out: ConfigVars = {}
    for key_node, value_node in zip(node.keys, node.values):
        if key_node is None or not (isinstance(key_node, ast.Constant)
                                    and isinstance(key_node.value, str)):
            raise HostError(f"{origin}: build_time_vars is not a dict of names; {_HOW}")
        key = key_node.value
        try:
            value = _constant(value_node)
        except ValueError:
            if _too_deep(value_node):
                raise _nested(origin) from None
            raise HostError(f"{origin}: build_time_vars is not a plain literal "
                            f"({validate.shown(key, 40)} is not a string or number); "
                            f"{_HOW}") from None
        out[key] = validate.scalar(validate.shown(key, 40), value, origin)
    return out


def parse(text: str, *, origin: str = "<sysconfigdata>") -> ConfigVars:
    """Return the ``build_time_vars`` dict of a sysconfigdata module's source."""
    try:
        tree = ast.parse(text, filename=origin)
    except SyntaxError as exc:
        raise HostError(
            f"{origin} is not a valid sysconfigdata file (syntax error on line {exc.lineno}); "
            f"{_HOW}") from None
    except (RecursionError, MemoryError, ValueError):
        raise _nested(origin) from None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "build_time_vars"
        ):
            if isinstance(node.value, (ast.List, ast.Tuple, ast.Set, ast.Constant)):
                raise HostError(f"{origin}: build_time_vars is not a dict of names; {_HOW}")
            if not isinstance(node.value, ast.Dict):
                if _too_deep(node.value):
                    raise _nested(origin)
                raise HostError(f"{origin}: build_time_vars is not a plain literal; {_HOW}")
            return _values(node.value, origin)
    raise HostError(f"{origin} has no build_time_vars; {_HOW}")


def load(path: Path) -> ConfigVars:
    """Parse the sysconfigdata file at *path* (a regular file of bounded size)."""
    data = validate.read_bounded(path, "_sysconfigdata_*.py")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise HostError(f"{path} is not a text file; pass the host's _sysconfigdata_*.py") from None
    if "\0" in text:
        raise HostError(f"{path} is not a text file; pass the host's _sysconfigdata_*.py")
    return parse(text, origin=str(path))


def render(config_vars: Mapping[str, object], *, header: str = "") -> str:
    """Spell *config_vars* as a sysconfigdata module that :func:`parse` reads back."""
    lines = ["# system configuration generated by crossenv", ]
    if header:  # a file name may hold any character: keep the comment one ASCII line each
        text = header.encode("ascii", "backslashreplace").decode("ascii")
        lines.extend(f"# {line}" for line in text.splitlines())
    body = quoting.python(dict(sorted(config_vars.items())), width=100)
    return "\n".join(lines) + f"\nbuild_time_vars = {body}\n"
