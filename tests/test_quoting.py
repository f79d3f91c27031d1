"""Every generated format reads back exactly the value given, by its own real parser.

CMake values are read back by a real ``cmake -P``, meson values by meson's own
machine-file parser, shell words by ``sh``, PyO3 config lines the way PyO3 reads
them (``key=value`` to the end of line), Python literals by ``ast.literal_eval``.
A value a format cannot hold must be refused (QuotingError), never written.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossenv import quoting
from crossenv.errors import CrossenvError
from helpers import require

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# Any text, lone surrogates included (a sysconfigdata string literal can hold them),
# with the characters each format treats specially made likely.
SPECIAL = "\\\"'$;@#()[]{}\n\r\t\0 =%`!*?~<>|&"
text = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(SPECIAL)), max_size=40)
magic = st.sampled_from(["@DIRNAME@", "@GLOBAL_SOURCE_ROOT@", "${HOME}", "$ENV{PATH}",
                         '")\nexecute_process(COMMAND touch /tmp/x)\nset(X "', "'''", "\\'"])
values = st.one_of(text, st.lists(st.one_of(text, magic), max_size=4).map("".join))


def _refused(fn, value):  # type: ignore[no-untyped-def]
    try:
        return fn(value)
    except quoting.QuotingError as exc:
        assert isinstance(exc, CrossenvError)
        assert "\n" not in str(exc)
        return None


# -- CMake -------------------------------------------------------------------------------------

def cmake_read_back(words: Sequence[str], workdir: Path) -> list[str] | None:
    """Set ``V<i>`` to each quoted word in a real ``cmake -P`` and return what CMake holds."""
    cmake = shutil.which("cmake")
    require(cmake, "cmake is needed to read CMake files back")
    lines = []
    for index, word in enumerate(words):
        quoted = _refused(quoting.cmake, word)
        if quoted is None:
            return None
        lines.append(f"set(V{index} {quoted})")
        lines.append(f'file(WRITE "${{OUT}}/{index}" "${{V{index}}}")')
    script = workdir / "read.cmake"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run([cmake, f"-DOUT={workdir}", "-P", str(script)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return [(workdir / str(i)).read_bytes().decode("utf-8") for i in range(len(words))]


@SLOW
@given(words=st.lists(values, min_size=1, max_size=6))
def test_cmake_quoted_arguments_hold_any_value(words: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        got = cmake_read_back(words, Path(tmp))
        if got is not None:
            assert got == words
            assert sorted(p.name for p in Path(tmp).iterdir()) == sorted(
                [*map(str, range(len(words))), "read.cmake"])  # nothing else ran


def test_cmake_injection_is_inert(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = f'")\nexecute_process(COMMAND touch {marker})\nset(X "${{X}}'
    assert cmake_read_back([evil], tmp_path) == [evil]
    assert not marker.exists()


def test_cmake_words_and_lists() -> None:
    assert quoting.cmake_word("aarch64-linux-gnu") == "aarch64-linux-gnu"
    assert quoting.cmake_word("a)b") == '"a)b"'
    assert quoting.cmake_list(["/a", "/b"]) == "/a;/b"
    with pytest.raises(quoting.QuotingError, match="list"):
        quoting.cmake_list(["/a;b"])
    with pytest.raises(quoting.QuotingError, match="NUL"):
        quoting.cmake("a\0b")


# -- meson -------------------------------------------------------------------------------------

def meson_read_back(value: quoting.MesonValue, workdir: Path) -> object:
    require(importlib.util.find_spec("mesonbuild"), "meson is needed (pip install -e '.[test]')")
    from mesonbuild import machinefile
    path = workdir / "cross.ini"
    path.write_text(f"[properties]\nx = {quoting.meson(value)}\n", encoding="utf-8")
    parser = machinefile.MachineFileParser([str(path)], str(workdir / "src"))
    return parser.sections["properties"]["x"]


@FAST
@given(value=st.one_of(values, st.lists(values, max_size=3), st.booleans()))
def test_meson_values_read_back_by_meson(value: quoting.MesonValue) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            quoting.meson(value)
        except quoting.QuotingError as exc:
            assert "\n" not in str(exc)
            return
        assert meson_read_back(value, Path(tmp)) == value


def test_meson_quotes_backslashes_and_magic(tmp_path: Path) -> None:
    for value in ["it's", "C:\\dir\\", "@DIRNAME@/x", "a@GLOBAL_SOURCE_ROOT@", "x''y", ""]:
        assert meson_read_back(value, tmp_path) == value
    for value in ["ends'", "a\nb", "a'''b"]:
        with pytest.raises(quoting.QuotingError):
            quoting.meson(value)


# -- PyO3 config -------------------------------------------------------------------------------

def pyo3_read_back(text_: str) -> dict[str, list[str]]:
    """PyO3's reader: BufRead::lines (split on \\n, one trailing \\r dropped), splitn('=')."""
    out: dict[str, list[str]] = {}
    for line in text_.split("\n")[:-1]:
        line = line[:-1] if line.endswith("\r") else line
        key, sep, value = line.partition("=")
        assert sep
        out.setdefault(key, []).append(value)
    return out


@FAST
@given(config=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), values,
                              max_size=5))
def test_pyo3_lines_hold_values_or_refuse(config: dict[str, str]) -> None:
    try:
        rendered = quoting.key_value_lines(config)
    except quoting.QuotingError:
        assert any("\n" in v or "\r" in v or "\0" in v or not _utf8(v) for v in config.values())
        return
    assert pyo3_read_back(rendered) == {k: [v] for k, v in config.items()}


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_pyo3_line_break_cannot_add_keys() -> None:
    with pytest.raises(quoting.QuotingError, match="line break"):
        quoting.key_value_lines({"lib_dir": "/usr/lib\nextra_build_script_line=cargo:x"})


# -- shell -------------------------------------------------------------------------------------

@SLOW
@given(words=st.lists(values, min_size=1, max_size=5))
def test_shell_words_read_back_by_sh(words: list[str]) -> None:
    kept = [w for w in words if _refused(quoting.shell, w) is not None]
    script = "".join(f"V{i}={quoting.shell(w)}\n" for i, w in enumerate(kept))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vars.sh"
        path.write_text(script, encoding="utf-8")
        show = "".join(f'printf "%s\\0" "$V{i}"; ' for i in range(len(kept)))
        proc = subprocess.run(["sh", "-c", f'. "$1"; {show}', "sh", str(path)],
                              capture_output=True, cwd=tmp)
        assert proc.returncode == 0, proc.stderr
        got = proc.stdout.decode("utf-8").split("\0")[:-1] if kept else []
        assert got == kept
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["vars.sh"]


# -- Python literals ---------------------------------------------------------------------------

scalars = st.one_of(text, st.integers(), st.floats(), st.booleans(), st.none())
literals = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)), max_leaves=10)


@FAST
@given(value=literals, width=st.sampled_from([None, 100]))
def test_python_literals_read_back_or_refuse(value: object, width: int | None) -> None:
    try:
        rendered = quoting.python(value, width=width)
    except quoting.QuotingError:
        assert _has_non_finite(value)
        return
    assert ast.literal_eval(rendered) == value
    rendered.encode("utf-8")  # writable as the module's source


def _has_non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    return False


def test_python_refuses_infinity() -> None:
    with pytest.raises(quoting.QuotingError, match="Python literal"):
        quoting.python({"X": float("inf")})
