"""crossenv.envrecord: the one reader and writer of ENV/crossenv.json, and the Env handle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossenv.envrecord import FILE_NAME, Env, EnvironmentMetadataError, EnvRecord
from crossenv.model import Layout

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
words = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | words,
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(words, inner, max_size=3), max_leaves=8)


def _record(env: Path, **host: object) -> EnvRecord:
    layout = Layout(env=env, cross=env / "cross", python_version="3.13")
    return EnvRecord.new(
        layout, host={"machine": "aarch64", "host_gnu_type": "aarch64-linux-gnu",
                      "version": [3, 13], "sysroot": "/sr", "multiarch": "aarch64-linux-gnu",
                      **host},
        toolchain={"kind": "gnu"}, platform_tags=["manylinux_2_36_aarch64", "linux_aarch64"],
        env_vars=[("A", "=", "1")], host_requirements=["numpy"],
        compiler_launcher=("/usr/bin/ccache",), rust=None)


def test_the_written_keys_are_the_documented_ones(tmp_path: Path) -> None:
    """docs/environment.rst lists these (tests/test_docs.py compares a real env's)."""
    record = _record(tmp_path)
    assert set(record.to_json()) == {"crossenv_version", "host", "toolchain", "paths",
                                     "env_vars", "host_requirements", "compiler_launcher",
                                     "rust"}
    assert record.paths["sysconfigdata"] == str(
        tmp_path / "cross" / "crossenv" / "_crossenv_sysconfigdata.py")
    assert record.to_json()["compiler_launcher"] == ["/usr/bin/ccache"]


def test_write_then_read_is_the_same_record(tmp_path: Path) -> None:
    record = _record(tmp_path)
    assert record.write(tmp_path) == tmp_path / FILE_NAME == Layout(tmp_path, tmp_path).record
    again = EnvRecord.read(tmp_path)
    assert again == record
    assert again.sysroot == Path("/sr") and again.multiarch == "aarch64-linux-gnu"
    assert again.python_version() == (3, 13) and again.arch is not None
    assert again.arch.debian == "arm64"
    assert again.layout() == Layout(env=tmp_path, cross=tmp_path / "cross", python_version="3.13")
    assert again.host_strs("platform_tags") == ["manylinux_2_36_aarch64", "linux_aarch64"]


@FAST
@given(host=st.dictionaries(words, json_values, max_size=5),
       tags=st.lists(words, max_size=4), launcher=st.lists(words, max_size=2))
def test_round_trip_of_any_host(tmp_path: Path, host: dict[str, object], tags: list[str],
                                launcher: list[str]) -> None:
    layout = Layout(env=tmp_path, cross=tmp_path / "cross")
    record = EnvRecord.new(layout, host=host, toolchain={}, platform_tags=tags,
                           compiler_launcher=launcher)
    record.write(tmp_path)
    assert EnvRecord.read(tmp_path) == record
    assert EnvRecord.from_json(tmp_path, json.loads(record.text())) == record


@FAST
@given(data=json_values)
def test_any_json_is_a_record_or_one_error(tmp_path: Path, data: object) -> None:
    (tmp_path / FILE_NAME).write_text(json.dumps(data))
    try:
        record = EnvRecord.read(tmp_path)
    except EnvironmentMetadataError as exc:
        assert "\n" not in str(exc) and str(tmp_path / FILE_NAME) in str(exc)
        return
    for key in ("machine", "sysroot", "multiarch", "prefix"):
        try:
            record.host_str(key)
        except EnvironmentMetadataError as exc:
            assert f"host.{key}" in str(exc)


@pytest.mark.parametrize(("text", "reason"), [
    ("[]", "not a JSON object"), ('{"host": 1}', "host is not an object"),
    ('{"paths": {"cross": 1}}', "paths is not an object of strings"), ("{", "not JSON"),
    (b"\xff".decode("latin-1"), "not JSON")])
def test_damage_is_named(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / FILE_NAME).write_text(text)
    with pytest.raises(EnvironmentMetadataError, match=reason):
        EnvRecord.read(tmp_path)
    assert EnvRecord.peek(tmp_path) is None


def test_a_field_is_checked_when_used(tmp_path: Path) -> None:
    _record(tmp_path, machine=7).write(tmp_path)
    record = EnvRecord.read(tmp_path)  # the rest of the record is usable
    assert record.sysroot == Path("/sr")
    with pytest.raises(EnvironmentMetadataError, match=r"host\.machine is not a string"):
        record.arch  # noqa: B018


def test_env_handle_reads_once_and_stands_for_its_path(tmp_path: Path) -> None:
    _record(tmp_path).write(tmp_path)
    env = Env.open(tmp_path)
    assert Env.open(env) is env
    assert Path(env) == tmp_path and str(env) == str(tmp_path)
    assert env.layout.cross_python == tmp_path / "cross" / "bin" / "python"
    with pytest.raises(EnvironmentMetadataError, match="not a crossenv environment"):
        Env.open((tmp_path / "other").mkdir() or tmp_path / "other")
