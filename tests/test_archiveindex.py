"""What a Debian release ships comes from its archive's index, cached; the recorded
table answers offline; a release whose pool lags its index gives way to the next.

Unit tests read ``apt-cache show`` output recorded from sid's arm64 index (python3.15
3.15.2-1, the default python3 3.14) and made-up stanzas (hypothesis); the integration
tests ask the real archive through apt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import _recorded_releases, archiveindex, provision, releases
from crossenv.apt import PoolLagError
from crossenv.archiveindex import Shipped, parse_show
from crossenv.errors import CrossenvError, ProvisionError
from helpers import require

DATA = Path(__file__).parent / "data" / "archiveindex"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    archiveindex._said.clear()
    return tmp_path / "cache" / "crossenv" / "archive-index"


# --- the index, parsed ----------------------------------------------------------------


def test_sid_arm64_ships_315_besides_the_default_314() -> None:
    found = parse_show((DATA / "sid-arm64.show").read_text())
    assert found == Shipped(("3.14", "3.15", "3.13"), "2.43")


def _stanza(name: str, version: str, depends: str = "") -> str:
    return f"Package: {name}\nVersion: {version}\n" + (f"Depends: {depends}\n" if depends else "")


@given(minors=st.sets(st.integers(5, 40), min_size=1, max_size=5),
       without_dev=st.sets(st.integers(5, 40), max_size=3), data=st.data())
def test_a_python_counts_only_with_its_dev_package(minors: set[int], without_dev: set[int],
                                                   data: st.DataObject) -> None:
    default = data.draw(st.sampled_from(sorted(minors)))
    stanzas = [_stanza("python3", f"3.{default}.1-1", f"python3.{default} (>= 3.{default}.1), x"),
               _stanza("libc6", "2.41-12+deb13u5")]
    stanzas += [_stanza(f"python3.{m}", f"3.{m}.0-1") for m in minors | without_dev]
    stanzas += [_stanza(f"libpython3.{m}-dev", f"3.{m}.0-1") for m in minors - without_dev]
    order = data.draw(st.permutations(stanzas))
    found = parse_show("\n".join(order))
    shipped = minors - without_dev
    assert found is not None and set(found.pythons) == {f"3.{m}" for m in shipped}
    assert found.glibc == "2.41"
    rest = [int(v.split(".")[1]) for v in found.pythons if v != f"3.{default}"]
    assert rest == sorted(rest, reverse=True)
    if default in shipped:
        assert found.pythons[0] == f"3.{default}"


@pytest.mark.parametrize("text", ["", "E: No packages found\n",
                                  _stanza("python3.13", "3.13.5-2") + "\n" +
                                  _stanza("libpython3.13-dev", "3.13.5-2")])  # no libc6
def test_an_index_without_python_or_libc_is_none(text: str) -> None:
    assert parse_show(text) is None


# --- choosing a release through an index -----------------------------------------------


def _index(table: dict[str, tuple[str, ...]]) -> releases.Index:
    def index(release: releases.Release, arch: str) -> releases.Release:
        import dataclasses

        return dataclasses.replace(release, pythons=table.get(release.suite, ()))
    return index


def test_the_index_decides_what_a_release_ships() -> None:
    index = _index({"trixie": ("3.13",), "sid": ("3.14", "3.15", "3.13")})
    assert releases.choose("arm64", "3.15", index=index).suite == "sid"
    assert [r.suite for r in releases.candidates("s390x", "3.13", index=index)] == \
        ["trixie", "sid"]
    nothing = _index({"sid": ("3.14",)})
    with pytest.raises(ProvisionError, match=r"no known Debian release ships Python 3\.15"):
        releases.choose("arm64", "3.15", index=nothing)
    with pytest.raises(ProvisionError, match=r"ships Python 3\.14 for arm64, not 3\.15"):
        releases.choose("arm64", "3.15", "sid", index=nothing)


def test_the_recorded_table_is_per_architecture_and_has_sid_315() -> None:
    sid = releases.by_suite("sid")
    for arch in sid.architectures:
        row = _recorded_releases.RECORDED["sid"]["pythons"].get(arch)  # type: ignore[attr-defined]
        if row:
            assert releases.recorded(sid, arch).pythons == tuple(row)
    assert "3.15" in releases.recorded(sid, "arm64").pythons
    assert releases.choose("arm64", "3.15").suite == "sid"  # offline: the recorded table


# --- the cache ---------------------------------------------------------------------------


def test_a_fresh_answer_is_cached_and_a_stale_one_asked_again(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fetch(release: releases.Release, arch: str, workdir: Path) -> Shipped:
        asked.append(release.suite)
        return Shipped(("3.14", "3.15"), "2.43")

    monkeypatch.setattr(archiveindex, "fetch", fetch)
    sid = releases.by_suite("sid")
    assert archiveindex.live(sid, "arm64").pythons == ("3.14", "3.15")
    assert archiveindex.shipped(sid, "arm64").glibc == "2.43" and asked == ["sid"]
    stored = cache / "sid-arm64.json"
    data = json.loads(stored.read_text())
    data["fetched"] = time.time() - archiveindex.DEFAULT_MAX_AGE - 1
    stored.write_text(json.dumps(data))
    archiveindex.shipped(sid, "arm64")
    assert asked == ["sid", "sid"]
    monkeypatch.setenv("CROSSENV_INDEX_MAX_AGE", "0")
    archiveindex.shipped(sid, "arm64")
    assert asked == ["sid", "sid", "sid"]


def test_offline_a_stale_answer_then_the_recorded_table_with_one_warning(
        cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def offline(release: releases.Release, arch: str, workdir: Path) -> Shipped:
        raise CrossenvError("apt-get update failed: no network")

    monkeypatch.setattr(archiveindex, "fetch", offline)
    sid = releases.by_suite("sid")
    with caplog.at_level(logging.WARNING):
        first = archiveindex.shipped(sid, "arm64")
        archiveindex.shipped(sid, "arm64")
    assert first.pythons == releases.recorded(sid, "arm64").pythons
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "recorded table" in warnings[0] and "\n" not in warnings[0]
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "sid-armhf.json").write_text(json.dumps(
        {"format": 1, "fetched": time.time() - 10 * 86400, "pythons": ["3.14"], "glibc": "2.43"}))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert archiveindex.shipped(sid, "armhf").pythons == ("3.14",)
    assert "240 hours ago" in caplog.records[0].getMessage()


@pytest.mark.parametrize("content", ["not json", '{"format": 1}', '{"format": 1, "fetched": 0, '
                                     '"pythons": ["$(rm)"], "glibc": "2.43"}'])
def test_a_damaged_cache_file_is_asked_again(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                             content: str) -> None:
    monkeypatch.setattr(archiveindex, "fetch",
                        lambda release, arch, workdir: Shipped(("3.14",), "2.43"))
    cache.mkdir(parents=True)
    (cache / "sid-arm64.json").write_text(content)
    assert archiveindex.shipped(releases.by_suite("sid"), "arm64").pythons == ("3.14",)
    assert json.loads((cache / "sid-arm64.json").read_text())["pythons"] == ["3.14"]


def test_a_port_the_archive_does_not_carry_is_skipped_quietly(
        cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """An index with no libc6 (a partial mirror; sid's dropped armel) ships nothing: the
    next release is taken without a warning, and that answer is cached too."""
    def fetch(release: releases.Release, arch: str, workdir: Path) -> Shipped:
        return parse_show("E: No packages found\n") or Shipped((), "") \
            if release.suite == "bullseye" else Shipped(("3.11",), "2.36")

    monkeypatch.setattr(archiveindex, "fetch", fetch)
    with caplog.at_level(logging.WARNING):
        assert archiveindex.choose("arm64", "3.11").suite == "bookworm"
    assert not caplog.records
    assert json.loads((cache / "bullseye-arm64.json").read_text())["pythons"] == []


# --- a release whose pool lags its index -------------------------------------------------


class _LaggingApt:
    """provision.Apt for a mirror whose trixie pool lacks the libc6 its index names."""

    downloads: list[str] = []

    def __init__(self, arch: str, workdir: Path, release: releases.Release) -> None:
        self.arch, self.release, self.fallbacks = arch, release, {}

    def update(self) -> list[str]:
        return []

    def closure(self, requested: list[str], skipped: object = ()) -> list[str]:
        return sorted(requested)

    def download(self, packages: list[str], into: Path) -> list[Path]:
        _LaggingApt.downloads.append(self.release.suite)
        if self.release.suite == "trixie":
            raise PoolLagError("cannot download libc6 2.41-12+deb13u5 for s390x (trixie): "
                               "http://deb.invalid/libc6.deb failed; retry later", "libc6",
                               "2.41-12+deb13u5")
        into.mkdir(parents=True)
        for package in packages:
            (into / f"{package}_1.0_{self.arch}.deb").write_text("")
        return sorted(into.glob("*.deb"))


def _extract(deb: Path, root: Path) -> None:
    if deb.name.startswith("python3.13_"):
        (root / "usr" / "bin").mkdir(parents=True, exist_ok=True)
        (root / "usr" / "bin" / "python3.13").write_text("an ELF file")


@pytest.fixture
def lagging(cache: Path, monkeypatch: pytest.MonkeyPatch) -> type[_LaggingApt]:
    _LaggingApt.downloads = []
    monkeypatch.setattr(provision, "Apt", _LaggingApt)
    monkeypatch.setattr(provision, "extract_deb", _extract)
    monkeypatch.setattr(archiveindex, "live", _index({"trixie": ("3.13",),
                                                      "sid": ("3.14", "3.13")}))
    return _LaggingApt


def test_a_lagging_pool_falls_back_to_the_next_release_with_one_note(
        lagging: type[_LaggingApt], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        sysroot = provision.provision_debian("s390x", python="3.13")
    assert sysroot.release == "sid" and lagging.downloads == ["trixie", "sid"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert all(w in warnings[0] for w in ("trixie", "libc6 2.41-12+deb13u5", "sid", "3.13"))
    manifest = json.loads((sysroot.root / provision.MANIFEST_NAME).read_text())
    assert manifest["release"] == "sid"
    assert manifest["release_fallback"]["from"] == "trixie"
    assert manifest["release_fallback"]["package"] == "libc6"
    # the next run takes the same sysroot without asking the lagging archive again
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert provision.provision_debian("s390x", python="3.13").root == sysroot.root
    assert lagging.downloads == ["trixie", "sid"]
    again = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(again) == 1 and "--refresh tries trixie again" in again[0]
    with caplog.at_level(logging.WARNING):  # --refresh does
        provision.provision_debian("s390x", python="3.13", refresh=True)
    assert lagging.downloads == ["trixie", "sid", "trixie", "sid"]


def test_a_release_asked_for_by_name_does_not_fall_back(lagging: type[_LaggingApt]) -> None:
    with pytest.raises(ProvisionError, match="retry later") as info:
        provision.provision_debian("s390x", python="3.13", release="trixie")
    assert "\n" not in str(info.value) and lagging.downloads == ["trixie"]


# --- the real archive --------------------------------------------------------------------


@pytest.mark.integration
def test_the_real_sid_index_ships_315_for_arm64(tmp_path: Path) -> None:
    """One apt-get update of sid's arm64 index (about 5 s on this archive)."""
    require(shutil.which("apt-get"), "reading the index needs apt-get (a Debian build machine)")
    found = archiveindex.fetch(releases.by_suite("sid"), "arm64", tmp_path)
    assert "3.15" in found.pythons and "3.14" in found.pythons
    assert tuple(map(int, found.glibc.split("."))) >= (2, 41)
    assert not os.listdir(tmp_path / "cache" / "archives" / "partial")
