"""crossenv.request: the one shape of a creation request, built by every front door."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crossenv import api, cli
from crossenv.buildwheel import identifiers
from crossenv.buildwheel.options import IdentifierOptions, parse_policy
from crossenv.errors import CrossenvError, ToolchainError
from crossenv.manylinux import Glibc
from crossenv.provision import Sysroot
from crossenv.request import CreateRequest


def _sysroot(tmp_path: Path) -> Sysroot:
    return Sysroot(root=tmp_path, arch="arm64", multiarch="aarch64-linux-gnu",
                   python=tmp_path / "usr" / "bin" / "python3.13")


def test_it_is_frozen_and_checks_its_choices(tmp_path: Path) -> None:
    request = CreateRequest(host="/sr/usr/bin/python3.13", env=tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.env = None  # type: ignore[misc]
    assert request.host_python == Path("/sr/usr/bin/python3.13") and request.glibc is None
    with pytest.raises(ValueError, match="clear="):
        CreateRequest(host="p", env=tmp_path, clear="all")
    with pytest.raises(ValueError, match="toolchain="):
        CreateRequest(host="p", env=tmp_path, toolchain="msvc")
    with pytest.raises(ValueError, match="Sysroot"):
        CreateRequest(host="p")  # a cached env is keyed by a provisioned sysroot
    cached = CreateRequest(host=_sysroot(tmp_path))
    assert cached.host_python == tmp_path / "usr" / "bin" / "python3.13"


def test_the_command_line_becomes_one_request(tmp_path: Path) -> None:
    args = cli.build_create_parser().parse_args([
        "--toolchain", "zig", "--manylinux", "manylinux2014", "--manylinux", "2_28",
        "--env", "A+=1", "--config-var", "CCSHARED=-fPIC", "--without-cross-pip",
        "--clear-cross", "--platform-tag", "musllinux_1_2", "--sysroot", "sr",
        "--no-verify-toolchain", "--compiler-launcher", "", "host/python3", "env"])
    request = cli.create_request(args, "host/python3", tmp_path / "env")
    assert request.manylinux == (Glibc(2, 17), Glibc(2, 28))
    assert request.glibc == (2, 17) and request.cxx_manylinux == (2, 17)
    assert request.env_vars == (("A", "+=", "1"),)
    assert request.config_vars == (("CCSHARED", "-fPIC"),)
    assert request.with_build_pip and not request.with_cross_pip
    assert request.clear == "cross" and request.toolchain == "zig"
    assert request.platform_tags == ("musllinux_1_2",) and not request.verify_toolchain
    assert request.sysroot == Path("sr").absolute() and request.compiler_launcher == ()


def test_a_bad_manylinux_is_refused_before_any_work(tmp_path: Path) -> None:
    args = cli.build_create_parser().parse_args(["--manylinux", "latest", "h", "e"])
    with pytest.raises(CrossenvError, match="see crossenv --help for the tag options"):
        cli.create_request(args, "h", tmp_path)


def test_the_keyword_form_builds_the_same_request(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[CreateRequest] = []

    def fake(request: CreateRequest) -> api.Env:
        made.append(request)
        return api.Env(tmp_path, None)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "_create", fake)
    sysroot = _sysroot(tmp_path)
    assert api.create(sysroot, toolchain="zig", glibc="manylinux2014",
                      env_vars=[("A", "=", "1")], cxx_manylinux="2_17") == tmp_path
    assert made[-1] == CreateRequest(host=sysroot, clear="both", toolchain="zig",
                                     manylinux=(Glibc(2, 17),), env_vars=(("A", "=", "1"),),
                                     cxx_manylinux=Glibc(2, 17))
    request = CreateRequest(host=sysroot, env=tmp_path / "e")
    assert api.create(request).path == tmp_path and made[-1] is request
    with pytest.raises(ToolchainError, match="2_17 or manylinux2014"):
        api.create(sysroot, glibc="latest")


def test_buildwheel_asks_for_a_cached_request(tmp_path: Path) -> None:
    options = IdentifierOptions(
        identifier=identifiers.parse("cp313-manylinux_aarch64"),
        frontend=None,  # type: ignore[arg-type]
        config_settings=(), environment={}, before_build=(), before_test=(),
        repair_command="", test_command=(), test_requires=(), test_extras=(), test_sources=(),
        test_environment={}, test=False, policy=parse_policy("manylinux2014", "x"),
        toolchain="zig", sysroot_packages=(), verbosity=0, env_vars=(("A", "=", "1"),))
    sysroot = _sysroot(tmp_path)
    request = options.create_request(sysroot)
    assert request.env is None and request.host is sysroot and request.glibc == (2, 17)
    gnu = dataclasses.replace(options, toolchain="gnu").create_request(sysroot)
    assert gnu.manylinux == () and gnu.cxx_manylinux == (2, 17)


def test_the_cache_key_covers_every_choice(tmp_path: Path) -> None:
    sysroot = _sysroot(tmp_path)
    plain = CreateRequest(host=sysroot)
    keys = {api._cached_env(r).name for r in (
        plain, dataclasses.replace(plain, toolchain="zig"),
        dataclasses.replace(plain, cc="clang"),
        dataclasses.replace(plain, host_requirements=("numpy",)),
        dataclasses.replace(plain, manylinux=(Glibc(2, 28), Glibc(2, 17))))}
    assert len(keys) == 5
    assert api._cached_env(plain) == api._cached_env(dataclasses.replace(plain))
    assert all(name.startswith("arm64-python3.13-") for name in keys)
