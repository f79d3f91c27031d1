"""Sysroots nothing changes under a user (crossenv.generations, crossenv cache), robust
provisioning (names, signals, full disks, read-only parents, damage) and the links
Debian's alternatives make (crossenv.alternatives).

The unit tests fake apt (test_provision's _FakeApt); the few real ones use apt's
configured archive and stop early (signals, full disk) or reuse the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossenv import alternatives, apt, archiveindex, generations, provision, releases, sysrootcache
from crossenv.apt import parse_package, run_bounded
from crossenv.errors import ProvisionError
from helpers import crossenv_cmd, one_line_error, require
from test_provision import _fake_extract, _FakeApt

POSTINST = Path(__file__).parent / "data" / "alternatives"
MULTIARCH = "aarch64-linux-gnu"


@pytest.fixture
def fake_debian(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[_FakeApt]:
    _FakeApt.calls = []
    monkeypatch.setattr(provision, "Apt", _FakeApt)
    monkeypatch.setattr(provision, "extract_deb", _fake_extract)
    monkeypatch.setattr(archiveindex, "live", releases.recorded)  # no index: no network
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return _FakeApt



# --- package names ---------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "parsed"), [
    ("libopenblas-dev", ("libopenblas-dev", None)),
    ("libstdc++6", ("libstdc++6", None)),
    ("python3.11", ("python3.11", None)),
    ("zlib1g-dev:arm64", ("zlib1g-dev", None)),
    ("libzstd1=1.5.7+dfsg-1", ("libzstd1", "1.5.7+dfsg-1")),
    ("libc6:arm64=2.36-9+deb12u10", ("libc6", "2.36-9+deb12u10")),
    ("tzdata=2024a-0+deb12u1", ("tzdata", "2024a-0+deb12u1")),
    ("libfoo=1:2.3~rc1-4", ("libfoo", "1:2.3~rc1-4")),
])
def test_debian_package_names_are_accepted(spec: str, parsed: tuple[str, str | None]) -> None:
    assert parse_package(spec, "arm64") == parsed


@pytest.mark.parametrize("spec", [
    "-c/etc/passwd", "--option=x", "-oDir=/tmp", "a", "Libfoo", "foo bar", "foo/bookworm",
    "foo;rm", "foo=", "foo=-1", "foo:", "", "foo\n", "foo=1 -c/etc/passwd",
])
def test_other_package_values_are_refused(spec: str) -> None:
    with pytest.raises(ProvisionError) as info:
        parse_package(spec)
    assert "\n" not in str(info.value) and "not a Debian package name" in str(info.value)


def test_another_architecture_is_refused() -> None:
    with pytest.raises(ProvisionError, match="leave out :armhf"):
        parse_package("zlib1g-dev:armhf", "arm64")


@given(st.text(min_size=1))
def test_nothing_that_starts_with_a_dash_passes(text: str) -> None:
    with pytest.raises(ProvisionError):
        parse_package("-" + text)


@given(st.from_regex(r"[a-z0-9][a-z0-9+.-]{1,30}", fullmatch=True),
       st.from_regex(r"([0-9]{1,3}:)?[0-9][A-Za-z0-9.+~]{0,10}(-[A-Za-z0-9.+~]{1,6})?",
                     fullmatch=True))
def test_every_policy_name_and_version_passes(name: str, version: str) -> None:
    assert parse_package(name) == (name, None)
    assert parse_package(f"{name}={version}") == (name, version)


def test_an_option_like_package_never_reaches_apt(tmp_path: Path) -> None:
    proc = subprocess.run([*crossenv_cmd(), "provision", "--arch", "arm64",
                           "--package=-c/etc/passwd", tmp_path / "sysroot"],
                          capture_output=True, text=True, check=False)
    one_line_error(proc, "'-c/etc/passwd'", "not a Debian package name")
    assert list(tmp_path.iterdir()) == []


# --- generations ---------------------------------------------------------------------


def test_a_package_set_has_its_own_cached_sysroot_sharing_the_default_ones_files(
        fake_debian: type[_FakeApt]) -> None:
    base = provision.provision_debian("arm64", python="3.11")
    extended = provision.provision_debian("arm64", None, ["libbz2-dev"], python="3.11")
    assert provision.provision_debian("arm64", python="3.11") == base  # not rebuilt
    assert len(fake_debian.calls) == 2
    assert base.root.name.startswith("debian-bookworm-arm64.")
    assert extended.root.name.startswith("debian-bookworm-arm64-x")  # a name of its own
    assert extended.root.parent == base.root.parent
    assert extended.python.stat().st_ino == base.python.stat().st_ino  # hard link, no copy
    manifest = json.loads((extended.root / provision.MANIFEST_NAME).read_text())
    assert manifest["shared"]["files"] >= 1 and "libbz2-dev" in manifest["packages"]
    assert provision.provision_debian("arm64", None, ["libbz2-dev", "libbz2-dev"],
                                      python="3.11") == extended  # the set, not the list


def test_refresh_keeps_the_old_generation_and_carries_user_files(
        tmp_path: Path, fake_debian: type[_FakeApt]) -> None:
    dest = tmp_path / "sysroot"
    old = provision.provision_debian("arm64", dest, python="3.11").root
    mine = old / "opt" / "mylibs"
    mine.mkdir(parents=True)
    (mine / "libmine.so").write_text("mine")
    (old / "usr" / "bin" / "mytool").write_text("mine too")
    before = sorted(str(p.relative_to(old)) for p in old.rglob("*"))

    new = provision.provision_debian("arm64", dest, ["libbz2-dev"], python="3.11",
                                     refresh=True).root

    assert new != old and dest.resolve() == new
    assert sorted(str(p.relative_to(old)) for p in old.rglob("*")) == before  # untouched
    assert (new / "opt" / "mylibs" / "libmine.so").read_text() == "mine"
    assert (new / "usr" / "bin" / "mytool").read_text() == "mine too"
    manifest = json.loads((new / provision.MANIFEST_NAME).read_text())
    assert manifest["carried_user_files"] == ["opt", "usr/bin/mytool"]
    assert generations.user_entries(new) == ["opt", "usr/bin/mytool"]  # still the user's


def test_a_relative_dest_works(tmp_path: Path, fake_debian: type[_FakeApt],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sysroot = provision.provision_debian("arm64", Path("rel"), python="3.11")
    assert sysroot.root.is_absolute() and (tmp_path / "rel").resolve() == sysroot.root


def test_leftovers_of_a_killed_build_are_removed(tmp_path: Path,
                                                 fake_debian: type[_FakeApt]) -> None:
    (tmp_path / ".sysroot.build-k1ll3d" / "apt").mkdir(parents=True)
    (tmp_path / ".sysroot.link-0badc0de").symlink_to("sysroot.0badc0de")
    (tmp_path / ".sysroot.0badc0de.trash-12345678").mkdir()
    (tmp_path / ".sysroot.notes").write_text("not crossenv's")
    sysroot = provision.provision_debian("arm64", tmp_path / "sysroot", python="3.11")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".sysroot.lock", ".sysroot.notes", "sysroot", sysroot.root.name]


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_a_damaged_manifest_is_rebuilt_beside_it(tmp_path: Path, fake_debian: type[_FakeApt],
                                                 damage: str) -> None:
    dest = tmp_path / "sysroot"
    old = provision.provision_debian("arm64", dest, python="3.11").root
    if damage == "garbage":
        (old / provision.MANIFEST_NAME).write_text("{not json")
    else:
        (old / provision.MANIFEST_NAME).unlink()
    new = provision.provision_debian("arm64", dest, python="3.11").root
    assert new != old and old.is_dir() and len(fake_debian.calls) == 2


def test_a_deleted_generation_is_provisioned_again(tmp_path: Path,
                                                   fake_debian: type[_FakeApt]) -> None:
    dest = tmp_path / "sysroot"
    shutil.rmtree(provision.provision_debian("arm64", dest, python="3.11").root)
    root = provision.provision_debian("arm64", dest, python="3.11").root
    assert dest.resolve() == root and root.is_dir() and len(fake_debian.calls) == 2


def test_a_sysroot_from_before_generations_is_kept_as_one(tmp_path: Path,
                                                          fake_debian: type[_FakeApt]) -> None:
    """A real directory at DEST (crossenv < generations), even with a damaged manifest,
    becomes a generation itself: nothing in it is lost."""
    dest = tmp_path / "sysroot"
    made = provision.provision_debian("arm64", dest, python="3.11").root
    dest.unlink()
    made.rename(dest)
    (dest / provision.MANIFEST_NAME).write_text("damaged")
    (dest / "opt").mkdir()
    new = provision.provision_debian("arm64", dest, python="3.11").root
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("sysroot.") and p != new]
    assert len(kept) == 1 and (kept[0] / "opt").is_dir() and dest.resolve() == new


def test_a_damaged_sysroot_names_the_command_that_fixes_it(tmp_path: Path,
                                                           fake_debian: type[_FakeApt]) -> None:
    dest = tmp_path / "sysroot"
    root = provision.provision_debian("arm64", dest, ["libbz2-dev"], python="3.11").root
    (root / "usr" / "bin" / "python3.11").unlink()
    with pytest.raises(ProvisionError) as info:
        provision.provision_debian("arm64", dest, ["libbz2-dev"], python="3.11")
    message = str(info.value)
    assert "\n" not in message and "damaged" in message
    assert message.endswith(f"crossenv provision --arch arm64 --release bookworm --python 3.11 "
                            f"--package libbz2-dev --refresh {dest}")
    fixed = provision.provision_debian("arm64", dest, ["libbz2-dev"], python="3.11",
                                       refresh=True)
    assert fixed.python.is_file()


def test_a_symlink_crossenv_did_not_make_is_refused(tmp_path: Path,
                                                    fake_debian: type[_FakeApt]) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "sysroot").symlink_to("elsewhere")
    with pytest.raises(ProvisionError, match="not a crossenv sysroot"):
        provision.provision_debian("arm64", tmp_path / "sysroot", python="3.11")
    assert os.readlink(tmp_path / "sysroot") == "elsewhere"


# --- crossenv cache list|prune --------------------------------------------------------


def _env_using(env: Path, sysroot: Path) -> Path:
    """A stand-in environment: only its crossenv.json, as create writes it."""
    env.mkdir(parents=True)
    (env / "crossenv.json").write_text(json.dumps({"host": {"sysroot": str(sysroot)},
                                                   "paths": {}}))
    generations.register_env(env, sysroot)
    return env


def test_cache_list_and_prune(tmp_path: Path, fake_debian: type[_FakeApt],
                              capsys: pytest.CaptureFixture[str]) -> None:
    from crossenv.cli import main

    first = provision.provision_debian("arm64", python="3.11").root
    used = _env_using(tmp_path / "env1", first)
    second = provision.provision_debian("arm64", python="3.11", refresh=True).root
    third = provision.provision_debian("arm64", python="3.11", refresh=True).root
    gone = _env_using(tmp_path / "env2", second)
    shutil.rmtree(gone)  # deleted by its user: no longer a user of `second`
    unused_set = provision.provision_debian("arm64", None, ["libbz2-dev"], python="3.11").root

    assert main(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{first}  [superseded]" in out and f"used by {used}" in out
    assert f"{third}  [current]" in out and "used by no environment" in out

    assert main(["cache", "prune", "--dry-run"]) == 0
    assert capsys.readouterr().out == f"would remove {second}\n"
    assert second.is_dir()
    assert main(["cache", "prune"]) == 0
    assert capsys.readouterr().out == f"removed {second}\n"
    assert not second.exists() and first.is_dir() and third.is_dir()
    assert len(generations.registered()) == 1  # env2's record went with it

    assert main(["cache", "prune", "--all"]) == 0
    assert sorted(capsys.readouterr().out.split()) == sorted(
        ["removed", str(third), "removed", str(unused_set)])
    assert first.is_dir()  # env1 still uses it
    assert not os.path.lexists(first.parent / "debian-bookworm-arm64")
    assert sorted(p.name for p in first.parent.iterdir() if not p.name.startswith(".")) == [
        first.name]


def test_prune_keeps_a_generation_holding_user_files(tmp_path: Path,
                                                    fake_debian: type[_FakeApt]) -> None:
    root = provision.provision_debian("arm64", python="3.11").root
    (root / "opt").mkdir()
    assert sysrootcache.prune(everything=True) == [] and root.is_dir()


# --- the links update-alternatives would make ---------------------------------------


def test_recorded_openblas_and_hdf5_postinst_are_read_as_data() -> None:
    found = {(a.name, a.link, a.path, a.priority)
             for f in sorted(POSTINST.glob("*.postinst"))
             for a in alternatives.parse_postinst(f.read_text(), f.stem)}
    lib = f"/usr/lib/{MULTIARCH}"
    assert (f"libblas.so.3-{MULTIARCH}", f"{lib}/libblas.so.3",
            f"{lib}/openblas-pthread/libblas.so.3", 100) in found
    assert (f"libopenblas.so.0-{MULTIARCH}", f"{lib}/libopenblas.so.0",
            f"{lib}/openblas-pthread/libopenblas.so.0", 100) in found
    assert ("hdf5.pc", f"{lib}/pkgconfig/hdf5.pc", f"{lib}/pkgconfig/hdf5-serial.pc",
            20) in found
    assert ("hdf5.pc", f"{lib}/pkgconfig/hdf5.pc", f"{lib}/pkgconfig/hdf5-mpi.pc", 35) in found
    assert not any(a[0] == "mpi" for a in found)  # "$mpi_impl_priority": not data
    dev = alternatives.parse_postinst((POSTINST / "libopenblas-pthread-dev.postinst")
                                      .read_text())
    blas = next(a for a in dev if a.name == f"libblas.so-{MULTIARCH}")
    assert (f"blas.pc-{MULTIARCH}", f"{lib}/pkgconfig/blas.pc",
            f"{lib}/openblas-pthread/pkgconfig/blas-openblas.pc") in blas.slaves


def _tree(root: Path, *files: str) -> None:
    for name in files:
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)


def test_the_highest_priority_choice_the_sysroot_has_is_linked(tmp_path: Path) -> None:
    """hdf5-mpi.pc (35) is not unpacked (the MPI branch is not taken): serial (20) wins."""
    lib = f"/usr/lib/{MULTIARCH}"
    _tree(tmp_path, f"{lib}/pkgconfig/hdf5-serial.pc", f"{lib}/openblas-pthread/libblas.so.3",
          f"{lib}/atlas/libblas.so.3")
    low = alternatives.Alternative("libblas.so.3", f"{lib}/libblas.so.3",
                                   f"{lib}/atlas/libblas.so.3", 35)
    found = [*alternatives.parse_postinst((POSTINST / "libhdf5-dev.postinst").read_text()),
             *alternatives.parse_postinst((POSTINST / "libopenblas0-pthread.postinst")
                                          .read_text().replace(f"-{MULTIARCH}", "")), low]
    made = alternatives.apply(tmp_path, found)
    assert sorted(made) == ["hdf5.pc", "libblas.so.3"]
    assert os.readlink(tmp_path / f"{lib[1:]}/pkgconfig/hdf5.pc") == "hdf5-serial.pc"
    assert os.readlink(tmp_path / f"{lib[1:]}/libblas.so.3") == "openblas-pthread/libblas.so.3"
    assert made["libblas.so.3"]["priority"] == 100
    assert provision.escaping_symlinks(tmp_path) == []


@pytest.mark.parametrize(("link", "path"), [
    ("/usr/lib/x.so", "/../../etc/passwd"),
    ("/usr/lib/../../../tmp/x", "/usr/lib/real.so"),
    ("/out/x.so", "/usr/lib/real.so"),  # out -> a directory outside the sysroot
    ("/usr/lib/real.so", "/usr/lib/other.so"),  # a shipped file is never replaced
    ("usr/lib/x.so", "/usr/lib/real.so"),  # not absolute
    ("/usr/lib/x.so", "/out/secret"),  # resolves outside
])
def test_no_link_leaves_the_sysroot_or_replaces_a_file(tmp_path: Path, link: str,
                                                      path: str) -> None:
    root = tmp_path / "root"
    _tree(root, "/usr/lib/real.so", "/usr/lib/other.so")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("x")
    (root / "out").symlink_to(tmp_path / "outside")
    made = alternatives.apply(root, [alternatives.Alternative("x", link, path, 10)])
    assert made == {}
    assert not (tmp_path / "outside" / "x.so").exists() and not (tmp_path / "tmp").exists()
    assert (root / "usr/lib/real.so").read_text() == "/usr/lib/real.so"


_WORDS = st.sampled_from(["update-alternatives", "--install", "--slave", "/usr/lib/a",
                          "/usr/lib/../../x", "name", "10", "$x", "\\\n", ";", "if", "fi",
                          "'", '"', "#", "--quiet", "&&", "\n"])


@given(st.lists(_WORDS | st.text(max_size=8), max_size=30))
def test_any_script_parses_without_error_and_links_stay_inside(words: list[str]) -> None:
    import tempfile

    found = alternatives.parse_postinst(" ".join(words))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        _tree(root, "/usr/lib/a")
        alternatives.apply(root, found)
        assert provision.escaping_symlinks(root) == []
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["root"]


# --- bounded apt ----------------------------------------------------------------------


def _processes_mentioning(text: str) -> list[int]:
    """The processes whose command line contains ``text`` (crossenv's own is not among
    them: it names DEST, not the build directory beside it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return "(gone)"


def test_a_command_that_does_not_finish_is_killed_with_its_children(tmp_path: Path) -> None:
    marker = f"crossenv-test-{os.getpid()}-{tmp_path.name}"
    script = f"sleep 300 & exec sleep 301 # {marker}"
    with pytest.raises(ProvisionError) as info:
        run_bounded(["sh", "-c", script, marker], what="apt-get update for arm64",
                    watch=tmp_path, timeout=1)
    assert "did not finish in 1 s" in str(info.value) and "CROSSENV_APT_TIMEOUT" in str(
        info.value)
    assert _processes_mentioning(marker) == []


def test_apt_writes_its_temporary_files_into_its_own_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """apt's gpgv method and apt-key leave apt.conf.*, apt.data.* and gpghome dirs in
    TMPDIR when their process group is killed (a timeout, a full disk, a signal): they
    go to a directory of the workdir that is removed after each call."""
    require(shutil.which("apt-get"), "apt-get is needed (a Debian build machine)")
    seen: list[str] = []

    def record(argv, **kwargs):  # type: ignore[no-untyped-def]
        tmp = Path(kwargs["env"]["TMPDIR"])
        seen.append(str(tmp))
        assert tmp.is_dir() and tmp.parent == tmp_path and not any(tmp.iterdir())
        (tmp / "apt.conf.left").write_text("")  # what a killed gpgv leaves
        return run_bounded(["true"], what="true", watch=tmp_path)

    monkeypatch.setattr(apt, "run_bounded", record)
    apt.Apt("arm64", tmp_path).run("apt-get", "update")
    assert len(seen) == 1 and not Path(seen[0]).exists()


# --- real apt: signals, a full disk, a read-only parent, alternatives ----------------------


def _wait_for(condition, proc: subprocess.Popen[str], what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll (no fixed sleep): until ``condition()``, failing if ``proc`` ends first."""
    deadline = time.monotonic() + 300
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"provisioning ended before {what}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_provisioning_leaves_nothing(tmp_path: Path, sig: signal.Signals) -> None:
    require(shutil.which("apt-get"), "provisioning needs apt-get (a Debian build machine)")
    for attempt in range(5):
        where = tmp_path / str(attempt)
        where.mkdir()
        dest = where / "sysroot"
        proc = subprocess.Popen([*crossenv_cmd(), "provision", "--arch", "arm64", dest],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        build = f"{where}/.sysroot.build-"
        _wait_for(lambda: _processes_mentioning(build) != [], proc, "apt ran")  # noqa: B023
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:  # on a loaded machine the signal can come after the end
            continue
        assert proc.returncode == 130, err
        assert err.strip().splitlines() == [
            "crossenv: interrupted; nothing was created or changed"]
        assert sorted(p.name for p in where.iterdir()) == [".sysroot.lock"]
        left = {pid: _cmdline(pid) for pid in _processes_mentioning(build)}
        assert left == {}, left  # apt and its methods were killed
        return
    pytest.fail("in 5 attempts the signal never came before provisioning ended")


def _unshare() -> list[str]:
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False) \
        if shutil.which("unshare") else None
    require(probe is not None and probe.returncode == 0,
            "unshare -rm (user and mount namespaces) is needed to mount a small tmpfs")
    return ["unshare", "-rm", "sh", "-c"]


@pytest.mark.integration
def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """apt-get update blocks for ever when the disk fills up under it: crossenv notices."""
    require(shutil.which("apt-get"), "provisioning needs apt-get (a Debian build machine)")
    script = ('mount -t tmpfs -o size=3m tmpfs "$1" && shift && "$@"; rc=$?; '
              'ls -A "$0" >&2; exit $rc')
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run([*_unshare(), script, mount, mount, *crossenv_cmd(), "provision",
                           "--arch", "arm64", mount / "sysroot"],
                          capture_output=True, text=True, check=False, timeout=600)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 2, proc.stderr
    assert lines[0].startswith("crossenv: error: ") and \
        f"no space left on the file system of {mount}" in lines[0]
    assert lines[1] == ".sysroot.lock"  # `ls -A` of the full file system: nothing else


@pytest.mark.integration
def test_a_read_only_parent_is_one_line(tmp_path: Path) -> None:
    script = 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"'
    proc = subprocess.run([*_unshare(), script, tmp_path, *crossenv_cmd(), "provision",
                           "--arch", "arm64", tmp_path / "sysroot"],
                          capture_output=True, text=True, check=False, timeout=120)
    one_line_error(proc, f"cannot write in {tmp_path}", "choose a DEST")


@pytest.mark.integration
def test_openblas_alternatives_in_a_real_sysroot(arm64_sysroot: provision.Sysroot) -> None:
    """dpkg -x runs no postinst: the links scipy's meson looks for come from crossenv."""
    sysroot = provision.provision_debian("arm64", None, ["libopenblas-dev"])
    assert sysroot.root.parent == arm64_sysroot.root.parent
    lib = sysroot.root / "usr" / "lib" / MULTIARCH
    real = os.path.realpath(sysroot.root)
    for name in ("libblas.so.3", "liblapack.so.3", "libopenblas.so.0", "libblas.so",
                 "pkgconfig/blas.pc", "pkgconfig/lapack.pc", "pkgconfig/openblas.pc"):
        assert (lib / name).is_symlink(), name
        assert os.path.realpath(lib / name).startswith(real + "/") and (lib / name).exists()
    manifest = json.loads((sysroot.root / provision.MANIFEST_NAME).read_text())
    assert manifest["alternatives"][f"libblas.so.3-{MULTIARCH}"]["package"] == \
        "libopenblas0-pthread"
    assert manifest["shared"]["files"] > 1000  # the default sysroot's files, hard-linked
    assert provision.escaping_symlinks(sysroot.root) == []
