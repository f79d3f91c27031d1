"""pytest plugin for crossenv 1.x's test suite, installed as the run directory's conftest.py.

It is the suite's only adaptation: tests whose 1.x behaviour crossenv changed on purpose
(each listed in ``CROSSENV1X_EXPECTED``, a JSON file mapping node ids to the section of
docs/migrating.rst that documents the difference) are marked ``xfail(strict=True)``, so a
difference that disappears shows up as a failure too; and the outcome of every test is
written to ``CROSSENV1X_REPORT`` as JSON. A test module that cannot be imported against
this project (1.x's Python API) is expanded into one strict-xfail item per test function,
each of which really imports the module again.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

_EXPECTED: dict[str, str] = json.loads(Path(os.environ["CROSSENV1X_EXPECTED"]).read_text())


class _UnimportableTest(pytest.Item):
    """One test function of a module that does not import; running it retries the import."""

    def __init__(self, *, module: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.module = module

    def runtest(self) -> None:
        getattr(importlib.import_module(self.module), self.name)()

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


class _GuardedModule(pytest.Module):
    def collect(self):  # type: ignore[no-untyped-def]
        try:
            return list(super().collect())
        except self.CollectError:
            if not any(key.startswith(self.nodeid + "::") for key in _EXPECTED):
                raise
        names = [node.name for node in ast.parse(self.path.read_text()).body
                 if isinstance(node, ast.FunctionDef) and node.name.startswith("test")]
        module = ".".join(self.path.relative_to(self.config.rootpath).with_suffix("").parts)
        return [_UnimportableTest.from_parent(self, name=name, module=module) for name in names]


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
    return _GuardedModule.from_parent(parent, path=module_path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        reason = _EXPECTED.get(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def pytest_sessionfinish(session: pytest.Session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    outcomes: dict[str, list[str]] = {}
    for category, reports in (reporter.stats if reporter else {}).items():
        ids = sorted({getattr(r, "nodeid", "") for r in reports if getattr(r, "nodeid", None)})
        if category and ids:
            outcomes[category] = ids
    Path(os.environ["CROSSENV1X_REPORT"]).write_text(json.dumps(outcomes, indent=1) + "\n")
