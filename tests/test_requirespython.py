"""crossenv.buildwheel.requirespython: requires-python where cibuildwheel reads it.

pyproject.toml first, then setup.cfg, then setup.py's top-level calls (parsed, never
run). Hypothesis: any text as setup.py or setup.cfg gives a string or None, never an
exception, and a requirement written at top level is found whatever surrounds it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossenv.buildwheel.requirespython import requires_python

# the shape of coverage 7.18's setup.py (which says it only there)
COVERAGE_LIKE = '''
import os
from setuptools import setup, Extension

def helper(**kw):
    return dict(python_requires=">=2.7", **kw)  # nested: not the project's

setup_args = dict(
    name="coverage",
    python_requires=">=3.11",  # minimum of PYVERSIONS
)

if __name__ == "__main__":
    setup(**setup_args)
'''


def _project(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name.replace("_", ".", 1)).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_order_cibuildwheel_reads(tmp_path: Path) -> None:
    project = _project(tmp_path, setup_py=COVERAGE_LIKE)
    assert requires_python(project, {}) == ">=3.11"
    (tmp_path / "setup.cfg").write_text("[options]\npython_requires = >=3.10\n")
    assert requires_python(project, {}) == ">=3.10"
    assert requires_python(project, {"requires-python": ">=3.12"}) == ">=3.12"


@pytest.mark.parametrize(("text", "expected"), [
    ('from setuptools import setup\nsetup(name="x", python_requires="~=3.13")\n', "~=3.13"),
    ('if __name__ == "__main__":\n    setup(python_requires=">=3.9")\n', ">=3.9"),
    ('if "__main__" == __name__:\n    setup(python_requires=">=3.9")\n', ">=3.9"),
    ('if other:\n    setup(python_requires=">=3.9")\n', None),  # conditional: unknown
    ('def f():\n    setup(python_requires=">=3.9")\n', None),
    ('setup(python_requires=PY)\n', None),  # not a literal
    ('setup(python_requires=">=3.8")\nsetup(python_requires=">=3.10")\n', ">=3.10"),
    ("setup(\n", None),  # not Python
    ("\x00", None),
])
def test_setup_py_shapes(tmp_path: Path, text: str, expected: str | None) -> None:
    assert requires_python(_project(tmp_path, setup_py=text), {}) == expected


def test_unreadable_files_are_no_requirement(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_bytes(b"\xff\xfe[options")
    (tmp_path / "setup.py").mkdir()
    assert requires_python(tmp_path, {}) is None
    (tmp_path / "setup.cfg").write_text("[options\npython_requires = %(x)s\n")
    assert requires_python(tmp_path, {}) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=200))
def test_any_text_is_a_string_or_none(tmp_path_factory: pytest.TempPathFactory,
                                      setup_py: str, setup_cfg: str) -> None:
    project = tmp_path_factory.mktemp("p")
    (project / "setup.py").write_text(setup_py, encoding="utf-8", errors="surrogatepass")
    (project / "setup.cfg").write_text(setup_cfg, encoding="utf-8", errors="surrogatepass")
    found = requires_python(project, {})
    assert found is None or isinstance(found, str)


SPEC = st.from_regex(r"(>=|~=|==|<)3\.[0-9]{1,2}", fullmatch=True)
NOISE = st.sampled_from(["import os", "x = 1", "def f():\n    return 2", "print('hi')",
                         "class A:\n    pass", "setup_kwargs = {}"])


@settings(max_examples=100, deadline=None)
@given(SPEC, st.lists(NOISE, max_size=4), st.lists(NOISE, max_size=4),
       st.sampled_from(["setup({kw})", "args = dict({kw})", "args: dict = dict({kw})"]))
def test_a_top_level_requirement_is_found(tmp_path_factory: pytest.TempPathFactory,
                                          spec: str, before: list[str], after: list[str],
                                          call: str) -> None:
    project = tmp_path_factory.mktemp("p")
    line = call.format(kw=f'name="x", python_requires={spec!r}')
    (project / "setup.py").write_text("\n".join([*before, line, *after]) + "\n")
    assert requires_python(project, {}) == spec


def test_the_matrix_leaves_out_what_setup_py_excludes(tmp_path: Path) -> None:
    """coverage 7.18's sdist: no [project] table, python_requires in setup.py; its cp39
    identifiers were built (and failed to compile) before 2026-12-08."""
    from crossenv.buildwheel import command, config

    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n')
    (tmp_path / "setup.py").write_text(COVERAGE_LIKE)
    reader, table = config.open_reader(tmp_path, None, {"CIBW_ARCHS": "aarch64"}, {},
                                       lambda _: None)
    chosen = [str(i) for i in command.select(reader, table, None, tmp_path)]
    assert chosen and all(c.startswith("cp3") for c in chosen)
    assert "cp311-manylinux_aarch64" in chosen and "cp39-manylinux_aarch64" not in chosen
    assert "cp39-manylinux_aarch64" in [str(i) for i in command.select(reader, table, None)]
