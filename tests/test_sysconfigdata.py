"""Host sysconfigdata is parsed as data, never executed."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossenv import sysconfigdata
from crossenv.errors import HostError
from helpers import DEBIAN_ARCHES, recorded_sysconfigdata


@pytest.mark.parametrize("arch", DEBIAN_ARCHES)
def test_recorded_files_parse_and_round_trip(arch: str) -> None:
    values = sysconfigdata.load(recorded_sysconfigdata(arch))
    assert values["VERSION"] == "3.11"
    assert len(values) > 500
    assert sysconfigdata.parse(sysconfigdata.render(values)) == values


def test_file_is_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = tmp_path / "_sysconfigdata_evil.py"
    source.write_text(
        f"open({str(marker)!r}, 'w').write('x')\n"
        "build_time_vars = {'VERSION': '3.11', 'SOABI': 'cpython-311-aarch64-linux-gnu'}\n")
    values = sysconfigdata.load(source)
    assert values["SOABI"] == "cpython-311-aarch64-linux-gnu"
    assert not marker.exists()


@pytest.mark.parametrize(("text", "fragment"), [
    ("build_time_vars = {", "syntax error"),
    ("build_time_vars = {'CC': __import__('os').getcwd()}", "not a plain literal"),
    ("other = {}", "no build_time_vars"),
    ("build_time_vars = [1, 2]", "not a dict"),
])
def test_bad_files_give_one_line_errors(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "_sysconfigdata_bad.py"
    path.write_text(text)
    with pytest.raises(HostError) as info:
        sysconfigdata.load(path)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "_sysconfigdata_bin.py"
    path.write_bytes(b"\x7fELF\xff\xfe\x00")
    with pytest.raises(HostError, match=r"not a text file|syntax error"):
        sysconfigdata.load(path)
