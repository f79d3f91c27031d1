"""crossenv.manylinux: one glibc value type, every spelling of it parsed in one place."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossenv.manylinux import BY_ALIAS, LEGACY, Glibc, find_policy
from crossenv.policy import parse_platform

FAST = settings(max_examples=100, deadline=None)
levels = st.builds(Glibc, st.integers(0, 99), st.integers(0, 999))


def test_it_is_the_tuple_older_callers_pass() -> None:
    assert Glibc(2, 17) == (2, 17) and Glibc(2, 17) < (2, 28)
    major, minor = Glibc(2, 28)
    assert (major, minor) == (2, 28)
    assert {(2, 17): "x"}[Glibc(2, 17)] == "x"
    assert str(Glibc(2, 17)) == "2.17" and Glibc(2, 17).manylinux == "manylinux_2_17"


def test_the_legacy_map_is_pep_513_571_599() -> None:
    assert LEGACY == {(2, 5): "manylinux1", (2, 12): "manylinux2010", (2, 17): "manylinux2014"}
    assert {BY_ALIAS[a] for a in ("manylinux1", "manylinux2010", "manylinux2014")} == set(LEGACY)
    assert Glibc(2, 17).legacy == "manylinux2014" and Glibc(2, 28).legacy is None


@pytest.mark.parametrize(("value", "expected"), [
    ("2_17", (2, 17)), ("2.28", (2, 28)), ("manylinux_2_34", (2, 34)),
    ("manylinux_2_17_aarch64", (2, 17)), ("manylinux2014", (2, 17)), ("MANYLINUX2010", (2, 12)),
    ("manylinux1_x86_64", (2, 5)), (" 2_5 ", (2, 5))])
def test_parse_every_crossenv_spelling(value: str, expected: tuple[int, int]) -> None:
    assert Glibc.parse(value) == expected


@pytest.mark.parametrize("value", ["latest", "", "manylinux", "musllinux_1_2", "2", "100_1",
                                   "2_1000"])
def test_parse_refuses_with_the_accepted_spellings(value: str) -> None:
    with pytest.raises(ValueError, match=r"2_17 or manylinux2014|out of range"):
        Glibc.parse(value)


@FAST
@given(levels, st.sampled_from(["{0}_{1}", "{0}.{1}", "manylinux_{0}_{1}",
                                "manylinux_{0}_{1}_aarch64"]))
def test_parse_round_trips_every_level(level: Glibc, spelling: str) -> None:
    assert Glibc.parse(spelling.format(*level)) == level


@FAST
@given(st.text(max_size=40))
def test_parse_returns_a_level_or_value_error(text: str) -> None:
    try:
        level = Glibc.parse(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert isinstance(level, Glibc) and level.major < 100 and level.minor < 1000


def test_symbol_versions() -> None:
    assert Glibc.from_symbol_version("GLIBC_2.17") == (2, 17)
    for other in ("GLIBC_PRIVATE", "GLIBC_2.3.4", "GLIBCXX_3.4.21", "glibc_2.17"):
        assert Glibc.from_symbol_version(other) is None


@FAST
@given(levels)
def test_dotted_and_symbol_versions_round_trip(level: Glibc) -> None:
    assert Glibc.from_dotted(str(level)) == level
    assert Glibc.from_symbol_version(f"GLIBC_{level}") == level


def test_dotted_refuses_garbage() -> None:
    with pytest.raises(ValueError, match=r"X\.Y"):
        Glibc.from_dotted("2.36.1")


def test_zig_targets() -> None:
    assert Glibc.from_zig_target("aarch64-linux-gnu.2.17") == (2, 17)
    assert Glibc.from_zig_target("arm-linux-gnueabihf.2.28") == (2, 28)
    assert Glibc.from_zig_target("aarch64-linux-gnu") is None
    assert Glibc.from_zig_target("aarch64-linux-musl") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("manylinux2014", ("manylinux2014", (2, 17))),
    ("manylinux_2_28", ("manylinux_2_28", (2, 28))),
    ("quay.io/pypa/manylinux_2_34_aarch64:2025.01", ("manylinux_2_34", (2, 34))),
    ("quay.io/pypa/manylinux1_x86_64", ("manylinux1", (2, 5))),
    ("manylinux10", None), ("musllinux_1_2", None)])
def test_find_policy_in_image_names(text: str, expected: object) -> None:
    assert find_policy(text) == expected


@FAST
@given(levels, st.sampled_from(["aarch64", "x86_64", "armv7l"]))
def test_platform_tags_parse_to_the_same_level(level: Glibc, arch: str) -> None:
    platform = parse_platform(f"{level.manylinux}_{arch}")
    assert platform is not None and platform.version == level and platform.arch == arch
    if level.legacy:
        legacy = parse_platform(f"{level.legacy}_{arch}")
        assert legacy is not None and legacy.version == level
