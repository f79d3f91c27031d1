"""PEP 735 dependency groups, for cibuildwheel's ``test-groups`` (cibuildwheel 3.1).

``test-groups = ["test"]`` installs the requirements of ``[dependency-groups] test`` of
the project's pyproject.toml with the test requirements. A group lists PEP 508 strings
and ``{include-group = "other"}`` tables; names compare normalized (``Test_Deps`` is
``test-deps``). The pyproject is the user's own project, but its mistakes (a missing
group, a cycle, a table of another shape) are still one line each, naming the group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .envsyntax import OptionError


def normalize(name: str) -> str:
    """PEP 503 normalization, which PEP 735 uses for group names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _groups(table: Mapping[str, Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for name, items in table.items():
        key = normalize(str(name))
        if key in groups:
            raise OptionError(f"[dependency-groups] has two groups named {key!r} "
                              "(names compare normalized)")
        if not isinstance(items, list):
            raise OptionError(f"[dependency-groups] {name} must be a list")
        groups[key] = items
    return groups


def resolve(table: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """The requirement strings of the groups *names*, includes expanded, in order and
    without repeats."""
    groups = _groups(table)
    found: list[str] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        key = normalize(name)
        if key in chain:
            raise OptionError(f"[dependency-groups] {key} includes itself "
                              f"({' -> '.join([*chain, key])})")
        if key not in groups:
            known = ", ".join(sorted(groups)) or "none"
            raise OptionError(f"test-groups: no dependency group {name!r} in pyproject.toml "
                              f"(groups: {known})")
        for item in groups[key]:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, dict) and set(item) == {"include-group"} \
                    and isinstance(item["include-group"], str):
                visit(item["include-group"], (*chain, key))
            else:
                raise OptionError(f"[dependency-groups] {key}: {item!r} is neither a "
                                  "requirement string nor {include-group = \"NAME\"}")

    for name in names:
        visit(name, ())
    return list(dict.fromkeys(found))
