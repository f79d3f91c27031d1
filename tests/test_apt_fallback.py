"""A mirror that indexes an updates/security version it does not serve.

The archive's trixie-security index named libzstd1 1.5.7+dfsg-1+deb13u1 for s390x and
ppc64el while its pool answered 404. Provisioning then takes the newest version
another pocket of the release serves, says so in one warning line and records both
versions in the manifest; with no other version it fails with one line.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import archiveindex, provision, releases
from crossenv.apt import Apt, failed_fetches, parse_madison
from crossenv.errors import ProvisionError
from helpers import require

_URI = "http://mirror.invalid/debian-security"
_BROKEN = "1.5.7+dfsg-1+deb13u1"
_FAILED_LINE = (f"E: Failed to fetch {_URI}/pool/updates/main/libz/libzstd/"
                "libzstd1_1.5.7%2bdfsg-1%2bdeb13u1_s390x.deb  404  Not Found [IP: 192.0.2.1 80]")


def _madison(*rows: tuple[str, str]) -> str:
    return "".join(f"  libzstd1 | {version} | {_URI} {suite}/main s390x Packages\n"
                   for version, suite in rows)


def _fake_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, madison: str,
              serves: set[str]) -> tuple[Apt, list[tuple[str, ...]]]:
    """An Apt whose ``run`` plays apt: ``serves`` are the ``name_version`` on the mirror."""
    apt = object.__new__(Apt)
    apt.arch, apt.workdir = "s390x", tmp_path
    apt.release = releases.by_suite("trixie")
    apt.fallbacks = {}
    calls: list[tuple[str, ...]] = []

    def run(tool: str, *args: str, cwd: Path | None = None, check: bool = True,
            on_line: object = None) -> str:
        calls.append((tool, *args))
        out, err, rc = "", "", 0
        if args[0] == "madison":
            out = madison
        else:
            assert args[:2] == ("-q", "download") and cwd is not None
            assert args[2] == "--"  # nothing after it is an option
            for wanted in args[3:]:
                name, _, version = wanted.partition("=")
                version = version or (_BROKEN if name == "libzstd1" else "1.0")
                if f"{name}_{version}" in serves:
                    (cwd / f"{name}_{version}_s390x.deb").write_text("")
                else:
                    err, rc = _FAILED_LINE + "\n", 100
        apt.last = subprocess.CompletedProcess([tool], rc, out, err)
        if rc and check:
            raise ProvisionError(f"{tool} failed: {err.strip()}")
        return out

    monkeypatch.setattr(apt, "run", run)
    return apt, calls


def test_a_missing_security_version_falls_back_to_the_release_suite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    madison = _madison((_BROKEN, "trixie-security"), ("1.5.7+dfsg-1", "trixie"))
    apt, calls = _fake_apt(tmp_path, monkeypatch, madison, {"libc6_1.0", "libzstd1_1.5.7+dfsg-1"})
    with caplog.at_level(logging.WARNING):
        debs = apt.download(["libc6", "libzstd1"], tmp_path / "debs")
    assert [d.name for d in debs] == ["libc6_1.0_s390x.deb", "libzstd1_1.5.7+dfsg-1_s390x.deb"]
    assert apt.fallbacks == {"libzstd1": {"failed": _BROKEN, "used": "1.5.7+dfsg-1"}}
    assert calls[-1] == ("apt-get", "-q", "download", "--", "libzstd1=1.5.7+dfsg-1")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert f"libzstd1 {_BROKEN}" in warnings[0] and "libzstd1 1.5.7+dfsg-1 " in warnings[0]


def test_an_epoch_in_the_index_is_kept_in_the_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    madison = _madison((f"1:{_BROKEN}", "trixie-security"), ("1:1.5.7+dfsg-1", "trixie"))
    apt, _ = _fake_apt(tmp_path, monkeypatch, madison, {"libzstd1_1:1.5.7+dfsg-1"})
    apt.download(["libzstd1"], tmp_path / "debs")
    assert apt.fallbacks == {"libzstd1": {"failed": f"1:{_BROKEN}", "used": "1:1.5.7+dfsg-1"}}


@pytest.mark.parametrize(("rows", "says"), [
    ([(_BROKEN, "trixie-security")], "no other pocket"),  # nothing to fall back to
    ([(_BROKEN, "trixie"), ("1.5.6", "trixie-updates")], "retry later"),  # not from a pocket
])
def test_without_another_pocket_it_fails_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[tuple[str, str]],
        says: str) -> None:
    apt, _ = _fake_apt(tmp_path, monkeypatch, _madison(*rows), set())
    with pytest.raises(ProvisionError) as info:
        apt.download(["libzstd1"], tmp_path / "debs")
    message = str(info.value)
    assert "\n" not in message and says in message
    assert "libzstd1" in message and f"{_URI}/pool/updates/main/libz/libzstd/" in message
    assert apt.fallbacks == {}


def test_the_manifest_records_the_fallback(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from test_provision import _fake_extract, _FakeApt

    class Falling(_FakeApt):
        def download(self, packages: list[str], into: Path) -> list[Path]:
            self.fallbacks = {"libzstd1": {"failed": _BROKEN, "used": "1.5.7+dfsg-1"}}
            return super().download(packages, into)

    monkeypatch.setattr(provision, "Apt", Falling)
    monkeypatch.setattr(archiveindex, "live", releases.recorded)  # no index: no network
    monkeypatch.setattr(provision, "extract_deb", _fake_extract)
    dest = tmp_path / "sysroot"
    provision.provision_debian("armhf", dest, python="3.11")
    manifest = json.loads((dest / provision.MANIFEST_NAME).read_text())
    assert manifest["fallbacks"] == {"libzstd1": {"failed": _BROKEN, "used": "1.5.7+dfsg-1"}}


_VERSION = st.from_regex(r"([1-9]:)?[0-9][0-9a-z.+~]{0,12}(-[0-9a-z.+~]{1,8})?", fullmatch=True)


@given(name=st.from_regex(r"[a-z0-9][a-z0-9.+-]{1,20}", fullmatch=True), version=_VERSION)
def test_failed_fetches_reads_the_name_and_epochless_version(name: str, version: str) -> None:
    from urllib.parse import quote

    plain = version.split(":", 1)[-1]
    url = f"{_URI}/pool/main/x/{name}/{quote(name)}_{quote(plain)}_s390x.deb"
    stderr = f"Err:3 {_URI} trixie-security/main s390x {name}\nE: Failed to fetch {url}  404\n"
    assert failed_fetches(stderr) == {name: (plain, url)}
    assert failed_fetches(f"W: Unable to fetch {url}\n") == {name: (plain, url)}


@given(rows=st.lists(st.tuples(_VERSION, st.sampled_from(["trixie", "trixie-security"]))))
def test_parse_madison_keeps_order(rows: list[tuple[str, str]]) -> None:
    text = "".join(f"  pkg | {v} | {_URI} {s}/main s390x Packages\n" for v, s in rows)
    assert parse_madison(text + "garbage\n") == rows


# --- the real mirror ---------------------------------------------------------------


@pytest.mark.integration
def test_real_apt_downloads_trixie_libzstd1_for_s390x(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The one package first seen missing from trixie-security's pool, through real apt:
    it downloads, at the indexed version or (while the mirror lacks it) another pocket's."""
    require(shutil.which("apt-get"), "provisioning needs apt-get (a Debian build machine)")
    apt = Apt("s390x", tmp_path / "apt", releases.by_suite("trixie"))
    apt.update()
    with caplog.at_level(logging.WARNING):
        debs = apt.download(["libzstd1"], tmp_path / "debs")
    assert [provision.deb_name_version(d)[0] for d in debs] == ["libzstd1"]
    warnings = [r.getMessage() for r in caplog.records if "indexed but not" in r.getMessage()]
    assert len(warnings) == len(apt.fallbacks) <= 1
    if apt.fallbacks:
        versions = apt.fallbacks["libzstd1"]
        assert provision.deb_name_version(debs[0])[1] == versions["used"] != versions["failed"]
        assert f"libzstd1 {versions['failed']} " in warnings[0]
