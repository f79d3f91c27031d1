"""The project's Python requirement, found where cibuildwheel looks for it.

cibuildwheel leaves out the identifiers a project's ``requires-python`` excludes, and
reads it from the first of: ``pyproject.toml``'s ``[project] requires-python``,
``setup.cfg``'s ``[options] python_requires``, or a ``python_requires="..."`` keyword in
a call at the top level of ``setup.py`` (``setup(...)`` or ``args = dict(...)``, also
under ``if __name__ == "__main__":``). Many setuptools projects say it only in setup.py
(coverage 7.18: ``python_requires=">=3.11"``); without reading it there, a matrix
builds cp39 wheels that cannot compile. ``setup.py`` is parsed, never run.
"""

from __future__ import annotations

import ast
import configparser
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

#: more than any setup.py: a larger file is not parsed (the requirement is then unknown)
_MAX_SETUP_PY = 1 << 20


def requires_python(project: Path, project_table: Mapping[str, Any]) -> str | None:
    """The requirement text, or None when the project states none that can be read."""
    found = project_table.get("requires-python")
    if found is not None:
        return str(found)
    return _setup_cfg(Path(project) / "setup.cfg") or _setup_py(Path(project) / "setup.py")


def _setup_cfg(path: Path) -> str | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    value = parser.get("options", "python_requires", fallback="").strip()
    return value or None


def _setup_py(path: Path) -> str | None:
    try:
        if path.stat().st_size > _MAX_SETUP_PY:
            return None
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    found = None
    for call in _top_level_calls(tree.body):
        for keyword in call.keywords:
            if keyword.arg == "python_requires" and isinstance(keyword.value, ast.Constant) \
                    and isinstance(keyword.value.value, str):
                found = keyword.value.value  # the last one, as a later call would win
    return found


def _top_level_calls(body: list[ast.stmt]) -> Iterator[ast.Call]:
    """Calls that are a top-level statement or the value it assigns, and the same in a
    top-level ``if __name__ == "__main__":`` block."""
    for statement in body:
        if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign)) and \
                isinstance(statement.value, ast.Call):
            yield statement.value
        elif isinstance(statement, ast.If) and _is_main_guard(statement.test):
            yield from _top_level_calls(statement.body)


def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(mains) == 1
