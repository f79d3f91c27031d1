"""Creation semantics: existing directories, what --clear may delete, crashes, concurrency.

Real creations throughout (recorded arm64 host data and the real aarch64 cross gcc,
about two seconds each) and real processes for interruption and concurrency.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from crossenv import archiveindex, provision, releases, staging
from crossenv.errors import ProvisionError
from helpers import crossenv_cmd, one_line_error, recorded_sysconfigdata, run

pytestmark = pytest.mark.integration

Snapshot = dict[str, object]


@pytest.fixture
def host(aarch64_gcc: str) -> Path:
    return recorded_sysconfigdata("arm64")


def crossenv(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*crossenv_cmd(), *map(str, args)], capture_output=True, text=True,
                          **kwargs)  # type: ignore[call-overload]


def create(host: Path, env: Path, *options: object) -> None:
    run([*crossenv_cmd(), *map(str, options), host, env])


def popen(*args: object, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([*crossenv_cmd(), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # type: ignore[call-overload]



def snapshot(root: Path) -> Snapshot:
    """Every entry under *root* with its content (files), target (links) or None (dirs)."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = None
            else:
                out[rel] = path.read_bytes()
    return out


def user_project(directory: Path) -> Snapshot:
    """A user's files, including names close to crossenv's own."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "setup.py").write_text("print('mine')\n")
    (directory / "src").mkdir()
    (directory / "src" / "hello.c").write_text("int x;\n")
    (directory / "wheelhouse").mkdir()
    (directory / "wheelhouse" / "a-1.0-py3-none-any.whl").write_bytes(b"PK")
    (directory / "host").mkdir()
    (directory / "host" / "notes").write_text("mine")
    (directory / ".hidden").write_text("mine")
    os.symlink("setup.py", directory / "link")
    return snapshot(directory)


def crossenv_names(env: Path) -> set[str]:
    return {"build", "cross", "bin", "crossenv.json"} & {p.name for p in env.iterdir()}


def works(env: Path) -> None:
    assert run([env / "bin" / "cross-python", "-c", "import platform; print(platform.machine())"]
               ).stdout.strip() == "aarch64"
    assert run([env / "bin" / "build-python", "-c", "import platform; print(platform.machine())"]
               ).stdout.strip() == "x86_64"


def no_staging(*directories: Path) -> None:
    for directory in directories:
        left = [p for p in directory.iterdir() if ".crossenv-" in p.name
                and p.name != staging.MARKER]
        assert not left, {str(p): snapshot(p) if p.is_dir() else None for p in left}


# --- existing directories -----------------------------------------------------------


def test_existing_directory_gets_the_parts_beside_the_users_files(tmp_path: Path,
                                                                   host: Path) -> None:
    env = tmp_path / "project"
    before = user_project(env)
    env.chmod(0o750)
    create(host, env)
    works(env)
    after = snapshot(env)
    assert {k: v for k, v in after.items() if k in before} == before
    assert crossenv_names(env) == {"build", "cross", "bin", "crossenv.json"}
    assert env.stat().st_mode & 0o777 == 0o750
    no_staging(env)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_an_existing_environment_needs_clear(tmp_path: Path, host: Path) -> None:
    env = tmp_path / "env"
    create(host, env)
    before = snapshot(env)
    proc = crossenv(host, env)
    one_line_error(proc, str(env), "already a crossenv environment", "--clear")
    assert snapshot(env) == before


@pytest.mark.parametrize("name", ["build", "cross", "bin"])
@pytest.mark.parametrize("clear", [None, "--clear", "--clear-both"])
def test_a_part_crossenv_did_not_make_is_never_replaced(tmp_path: Path, host: Path, name: str,
                                                        clear: str | None) -> None:
    env = tmp_path / "env"
    user_project(env / name)
    before = snapshot(tmp_path)
    proc = crossenv(host, env, *([clear] if clear else []))
    one_line_error(proc, str(env / name), "crossenv did not make it")
    assert snapshot(tmp_path) == before


def test_clear_options_in_a_users_directory_delete_nothing(tmp_path: Path, host: Path) -> None:
    env = tmp_path / "project"
    before = user_project(env)
    for option in ("--clear", "--clear-cross", "--clear-build", "--clear-both"):
        create(host, env, option)
        works(env)
        after = snapshot(env)
        assert {k: v for k, v in after.items() if k in before} == before, option
    no_staging(env)


# --- what each clear option replaces ------------------------------------------------


def _mark(env: Path) -> None:
    (env / "build" / "mine").write_text("b")
    (env / "cross" / "mine").write_text("c")
    (env / "bin" / "my-tool").write_text("#!/bin/sh\n")
    (env / "cross" / "crossenv" / "host-packages" / "hostpkg").mkdir()
    (env / "cross" / "crossenv" / "host-packages" / "hostpkg" / "__init__.py").write_text("")


@pytest.mark.parametrize(("option", "build_kept", "cross_kept"), [
    ("--clear", False, False), ("--clear-cross", True, False),
    ("--clear-build", False, True), ("--clear-both", False, False),
])
def test_clear_replaces_only_the_named_part(tmp_path: Path, host: Path, option: str,
                                            build_kept: bool, cross_kept: bool) -> None:
    env = tmp_path / "env"
    create(host, env)
    _mark(env)
    (env / "wheelhouse").mkdir()
    (env / "wheelhouse" / "x.whl").write_bytes(b"PK")
    build_inode = (env / "build" / "pyvenv.cfg").stat().st_ino
    create(host, env, option)
    works(env)
    assert (env / "build" / "mine").exists() == build_kept
    assert ((env / "build" / "pyvenv.cfg").stat().st_ino == build_inode) == build_kept
    assert (env / "cross" / "mine").exists() == cross_kept
    # ENV's other contents stay; so do the host copies, the host being unchanged
    assert (env / "wheelhouse" / "x.whl").read_bytes() == b"PK"
    assert (env / "bin" / "my-tool").exists()
    assert (env / "cross" / "crossenv" / "host-packages" / "hostpkg" / "__init__.py").exists()
    no_staging(env)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env"]


def test_scripts_no_longer_made_are_removed(tmp_path: Path, host: Path) -> None:
    env = tmp_path / "env"
    create(host, env)
    create(host, env, "--clear", "--without-pip")
    assert not (env / "bin" / "cross-pip").exists() and not (env / "bin" / "build-pip").exists()
    assert (env / "bin" / "cross-python").exists()


def test_kept_cross_env_is_refreshed_without_touching_the_old_files(tmp_path: Path,
                                                                    host: Path) -> None:
    """--clear-build rewrites the cross env's crossenv files as new inodes, so the old
    copy (hard-linked while staging) is never written through."""
    env = tmp_path / "env"
    create(host, env, "--env", "CE_TEST=one")
    config = next((env / "cross").glob("lib/python3.*/site-packages/_crossenv_config.py"))
    old_inode, old_text = config.stat().st_ino, config.read_text()
    create(host, env, "--clear-build", "--env", "CE_TEST=two")
    assert config.stat().st_ino != old_inode and config.read_text() == old_text
    assert run([env / "bin" / "cross-python", "-c", "import os; print(os.environ['CE_TEST'])"]
               ).stdout.strip() == "two"


# --- what may never be an ENV or a cross prefix --------------------------------------


def test_env_equal_to_or_containing_the_sysroot_or_host_prefix_is_refused(
        tmp_path: Path, host: Path) -> None:
    sysroot = tmp_path / "sysroot"
    before = user_project(sysroot / "usr")
    (sysroot / "crossenv.json").write_text("{}")  # a sysroot is somebody else's download
    for env in (sysroot, sysroot / "usr", tmp_path):
        for option in ("--clear", "--clear-both"):
            proc = crossenv("--sysroot", sysroot, host, env, option)
            one_line_error(proc, "contains the host's")
            proc = crossenv("--sysroot", sysroot, "--cross-prefix", env, host,
                            tmp_path / "elsewhere" / "env", option)
            assert proc.returncode == 2 and "the host's" in proc.stderr
    assert snapshot(sysroot / "usr") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sysroot"]


def test_real_sysroot_prefix_is_refused(arm64_sysroot: provision.Sysroot,
                                        aarch64_gcc: str) -> None:
    usr = arm64_sysroot.root / "usr"
    names = sorted(p.name for p in usr.iterdir())
    proc = crossenv(arm64_sysroot.python, usr, "--clear")
    one_line_error(proc, str(usr), "contains the host's")
    assert sorted(p.name for p in usr.iterdir()) == names


def test_cross_prefix_crossenv_did_not_make_is_kept(tmp_path: Path, host: Path) -> None:
    prefix = tmp_path / "prefix"
    before = user_project(prefix)
    for option in ("--clear-cross", "--clear-both", "--clear"):
        proc = crossenv("--cross-prefix", prefix, host, tmp_path / "env", option)
        one_line_error(proc, str(prefix), "crossenv did not make it")
    assert snapshot(prefix) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prefix"]


def test_cross_prefix_is_replaced_only_when_crossenv_made_it(tmp_path: Path,
                                                             host: Path) -> None:
    prefix, env = tmp_path / "prefix", tmp_path / "env"
    prefix.mkdir()  # an empty directory may be used
    create(host, env, "--cross-prefix", prefix)
    (prefix / "mine").write_text("x")
    create(host, env, "--cross-prefix", prefix, "--clear")  # 1.x: --clear keeps the prefix
    assert (prefix / "mine").exists()
    create(host, env, "--cross-prefix", prefix, "--clear-cross")
    assert not (prefix / "mine").exists()
    assert run([env / "bin" / "cross-python", "-c", "import sys; print(sys.prefix)"]
               ).stdout.strip() == str(prefix)
    works(env)
    no_staging(tmp_path, env)


def test_a_cross_prefix_another_environment_uses_is_refused(tmp_path: Path,
                                                            host: Path) -> None:
    """A second ENV on the same --cross-prefix used to re-target the first (its cross-pip
    then built for the second host while its crossenv.json named the first)."""
    prefix, first, second = tmp_path / "prefix", tmp_path / "first", tmp_path / "second"
    create(host, first, "--cross-prefix", prefix)
    before = snapshot(tmp_path)
    for options in ((), ("--clear",), ("--clear-cross",)):
        proc = crossenv("--cross-prefix", prefix, *options, host, second)
        one_line_error(proc, f"--cross-prefix {prefix} belongs to the environment "
                              f"{first}", "its own --cross-prefix")
    assert snapshot(tmp_path) == before
    create(host, first, "--cross-prefix", prefix, "--clear")  # its own ENV may replace it
    (first / "crossenv.json").unlink()  # a prefix whose environment is gone may be reused
    create(host, second, "--cross-prefix", prefix, "--clear-cross")
    works(second)


def test_cross_prefix_inside_env_is_refused(tmp_path: Path, host: Path) -> None:
    env = tmp_path / "env"
    for prefix in (env, env / "other", env / "bin"):
        proc = crossenv("--cross-prefix", prefix, host, env)
        one_line_error(proc, "inside ENV", "omit --cross-prefix")
    proc = crossenv("--cross-prefix", tmp_path, host, env)
    one_line_error(proc, "is inside --cross-prefix")
    assert not env.exists()
    create(host, env, "--cross-prefix", env / "cross")  # the default, spelled out
    works(env)


def test_not_a_directory_is_refused(tmp_path: Path, host: Path) -> None:
    (tmp_path / "file").write_text("mine")
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    for name in ("file", "fifo", "dangling"):
        proc = crossenv(host, tmp_path / name, "--clear")
        one_line_error(proc, name)
    assert (tmp_path / "file").read_text() == "mine"
    assert (tmp_path / "fifo").is_fifo() and (tmp_path / "dangling").is_symlink()
    assert not (tmp_path / "missing").exists()


# --- failures, interruptions, crashes -----------------------------------------------


def _stages(env: Path) -> set[str]:
    return {p.name for p in env.iterdir() if p.name.startswith(staging.STAGE_PREFIX)} \
        if env.is_dir() else set()


def _when_staging(proc: subprocess.Popen[str], env: Path, action: Callable[[], None],
                  delay: float = 0.0) -> bool:
    """Run *action* once a new staging directory appears in *env*; whether it did."""
    deadline = time.monotonic() + 60
    old = _stages(env)
    while proc.poll() is None and time.monotonic() < deadline:
        if _stages(env) - old:
            time.sleep(delay)
            action()
            return True
        time.sleep(0.002)
    return False


def test_failed_create_removes_only_the_empty_directories_it_made(tmp_path: Path,
                                                                  host: Path) -> None:
    env = tmp_path / "a" / "b" / "env"
    proc = popen(host, env)
    other = tmp_path / "a" / "theirs.txt"

    def meanwhile() -> None:
        other.write_text("written by someone else during the create")
        proc.send_signal(signal.SIGTERM)

    assert _when_staging(proc, env, meanwhile)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "nothing was created" in stderr, stderr
    assert other.exists()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["theirs.txt"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_create_in_a_users_directory_leaves_it_as_it_was(
        tmp_path: Path, host: Path, sig: int) -> None:
    for attempt in range(5):
        env = tmp_path / f"project{attempt}"
        before = user_project(env)
        proc = popen(host, env)
        assert _when_staging(proc, env, lambda: proc.send_signal(sig))  # noqa: B023
        proc.communicate(timeout=120)
        if proc.returncode == 0:  # on a loaded machine the signal can come after the commit
            continue
        assert proc.returncode == 130
        assert snapshot(env) == before
        return
    pytest.fail("in 5 attempts the signal never came before the create committed")


def test_interrupted_clear_keeps_the_old_environment(tmp_path: Path, host: Path) -> None:
    env = tmp_path / "env"
    create(host, env)
    _mark(env)
    before = snapshot(env)
    proc = popen(host, env, "--clear-both")
    # at once: a delay let a fast machine finish the create first (exit status 0)
    assert _when_staging(proc, env, lambda: proc.send_signal(signal.SIGTERM))
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert snapshot(env) == before
    works(env)


def test_sigkill_during_clear_cross_never_leaves_a_broken_environment(tmp_path: Path,
                                                                      host: Path) -> None:
    """Kill -9 at points spread over a --clear-cross: after each kill ENV/build and
    ENV/cross are complete venvs; the next create finishes or undoes the stranded
    staging directory."""
    env = tmp_path / "env"
    create(host, env)
    (env / "build" / "mine").write_text("b")
    proc = popen(host, env, "--clear-cross")
    times: list[float] = []
    assert _when_staging(proc, env, lambda: times.append(time.monotonic()))
    proc.communicate(timeout=120)
    window = time.monotonic() - times[0]  # from staging to the end of the create
    killed = 0
    for attempt in range(8):
        proc = popen(host, env, "--clear-cross")
        if _when_staging(proc, env, proc.kill, delay=window * attempt / 8):
            killed += proc.wait(timeout=60) == -signal.SIGKILL
        proc.wait(timeout=120)
        for part in ("build", "cross"):
            assert (env / part / "pyvenv.cfg").is_file(), (attempt, part)
            assert (env / part / staging.MARKER).is_file(), (attempt, part)
        assert (env / "build" / "mine").exists()
        assert json.loads((env / "crossenv.json").read_text())["host"]["machine"] == "aarch64"
        works(env)
    assert killed >= 3, killed  # most kills land inside the create
    create(host, env, "--clear-cross")  # recovers whatever the last kill left
    no_staging(env)
    works(env)


def test_recover_finishes_a_commit_cut_short(tmp_path: Path) -> None:
    """The roll forward itself, cut after the first of two journalled exchanges."""
    env = tmp_path / "env"
    for part in ("build", "cross"):
        (env / part).mkdir(parents=True)
        staging.write_marker(env / part, part, "old")
        (env / part / "version").write_text("old")
    transaction = staging.Transaction(env)
    transaction.begin()
    for part in ("build", "cross"):
        new = transaction.path / part
        new.mkdir()
        staging.write_marker(new, part, transaction.txid)
        (new / "version").write_text("new")
        transaction.ops.append({"kind": "exchange", "new": str(new), "final": str(env / part)})
    transaction._journal("committing")
    staging.exchange(transaction.path / "build", env / "build")  # then the process died
    assert (env / "build" / "version").read_text() == "new"
    assert (env / "cross" / "version").read_text() == "old"
    assert staging.recover(env) == 1
    assert (env / "cross" / "version").read_text() == "new"
    assert (env / "build" / "version").read_text() == "new"
    assert sorted(p.name for p in env.iterdir()) == ["build", "cross"]


def test_recover_after_a_crash_inside_the_two_rename_fallback(tmp_path: Path) -> None:
    """Without RENAME_EXCHANGE a part is moved aside first; a crash right then leaves
    no ENV/cross until the next create puts the new one in."""
    env = tmp_path / "env"
    (env / "cross").mkdir(parents=True)
    staging.write_marker(env / "cross", "cross", "old")
    transaction = staging.Transaction(env)
    transaction.begin()
    new = transaction.path / "cross"
    new.mkdir()
    staging.write_marker(new, "cross", transaction.txid)
    transaction.ops.append({"kind": "exchange", "new": str(new), "final": str(env / "cross")})
    transaction._journal("committing")
    os.rename(env / "cross", new.with_name("cross.old"))  # the fallback's first rename
    assert staging.recover(env) == 1
    assert staging.marker(env / "cross", "cross") == {"part": "cross", "txid": transaction.txid}
    assert sorted(p.name for p in env.iterdir()) == ["cross"]


def test_recover_removes_a_stage_killed_before_its_journal(tmp_path: Path) -> None:
    env = tmp_path / "env"
    stage = env / f"{staging.STAGE_PREFIX}0123"
    stage.mkdir(parents=True)
    (stage / f".{staging.JOURNAL}.abcd.tmp").write_text("{")  # killed inside write_json
    assert staging.recover(env) == 1
    assert list(env.iterdir()) == []


def test_recover_removes_an_uncommitted_stage_and_nothing_else(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    transaction = staging.Transaction(env)
    transaction.begin()
    (transaction.path / "build").mkdir()
    foreign = env / f"{staging.STAGE_PREFIX}notours"  # no journal: not crossenv's
    foreign.mkdir()
    (foreign / "file").write_text("x")
    assert staging.recover(env) == 2
    assert sorted(p.name for p in env.iterdir()) == [foreign.name]
    assert (foreign / "file").exists()


def test_nohup_create_survives_sighup(tmp_path: Path, host: Path) -> None:
    env = tmp_path / "env"
    proc = popen(host, env, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    assert _when_staging(proc, env, lambda: proc.send_signal(signal.SIGHUP))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    works(env)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o027, 0o750)])
def test_new_directories_honour_the_umask(tmp_path: Path, host: Path, umask: int,
                                          mode: int) -> None:
    env = tmp_path / "new" / "env"
    proc = popen(host, env, preexec_fn=lambda: os.umask(umask))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    for path in (tmp_path / "new", env, env / "build", env / "cross", env / "bin"):
        assert path.stat().st_mode & 0o777 == mode, path


# --- concurrency --------------------------------------------------------------------


def test_creates_of_one_env_under_different_spellings_are_serialised(tmp_path: Path,
                                                                     host: Path) -> None:
    base = tmp_path / "b"
    (base / "x").mkdir(parents=True)
    os.symlink(base, tmp_path / "link")
    spellings = [base / "env", base / "x" / ".." / "env", tmp_path / "link" / "env",
                 Path(os.path.relpath(base / "env"))]
    procs = [popen(host, spelling) for spelling in spellings]
    results = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    assert sorted(code for _, _, code in results) == [0, 2, 2, 2], results
    for _, stderr, code in results:
        if code == 2:
            assert "already a crossenv environment" in stderr
    assert sorted(p.name for p in base.iterdir()) == ["env", "x"]
    meta = json.loads((base / "env" / "crossenv.json").read_text())
    assert meta["paths"]["env"] == str(base.resolve() / "env")
    no_staging(base / "env")
    works(base / "env")


def test_concurrent_clears_leave_one_complete_environment(tmp_path: Path, host: Path) -> None:
    env = tmp_path / "env"
    create(host, env)
    procs = [popen(host, env, option) for option in ("--clear", "--clear-cross", "--clear-build")]
    results = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    assert [code for _, _, code in results] == [0, 0, 0], results
    no_staging(env)
    works(env)


# --- crossenv provision DEST --------------------------------------------------------


def test_provision_refuses_what_is_not_a_sysroot(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("mine")
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "mine").write_text("mine")
    for name in ("file", "fifo", "dangling", "dir"):
        proc = crossenv("provision", "--arch", "arm64", tmp_path / name)
        one_line_error(proc, "not a crossenv sysroot")
    assert (tmp_path / "file").read_text() == "mine"
    assert (tmp_path / "fifo").is_fifo() and (tmp_path / "dangling").is_symlink()
    assert (tmp_path / "dir" / "mine").exists() and not (tmp_path / "missing").exists()


def test_provision_keeps_files_written_into_an_empty_dest_during_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_provision import _fake_extract, _FakeApt

    dest = tmp_path / "sysroot"
    dest.mkdir()

    class Intruding(_FakeApt):
        def download(self, packages: list[str], into: Path) -> list[Path]:
            (dest / "theirs.txt").write_text("written during the download")
            return super().download(packages, into)

    monkeypatch.setattr(provision, "Apt", Intruding)
    monkeypatch.setattr(archiveindex, "live", releases.recorded)  # no index: no network
    monkeypatch.setattr(provision, "extract_deb", _fake_extract)
    with pytest.raises(ProvisionError, match="not a crossenv sysroot"):
        provision.provision_debian("arm64", dest)
    assert sorted(p.name for p in dest.iterdir()) == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sysroot.lock", "sysroot"]
    (dest / "theirs.txt").unlink()
    monkeypatch.setattr(provision, "Apt", _FakeApt)
    root = provision.provision_debian("arm64", dest).root  # empty: used
    assert dest.is_symlink() and dest.resolve() == root and root.parent == tmp_path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
