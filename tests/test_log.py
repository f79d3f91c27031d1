"""crossenv.log: plain lines in a log or CI, a line redrawn in place on a terminal.

The terminal is a real pseudo-terminal (``pty.openpty``) in raw mode, so what is read
from its other end is exactly what crossenv wrote: no timing, no fake ``isatty``.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import tty
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TextIO

import pytest

from crossenv import _proc, log, provision, releases
from crossenv.apt import Apt, Downloads
from crossenv.buildwheel.runner import Progress as MatrixProgress
from crossenv.buildwheel.runner import Result
from helpers import crossenv_cmd

#: what ``apt-get -q download`` writes on stdout (recorded, Debian 12)
APT_LINES = [
    "Get:1 http://deb.debian.org/debian bookworm/main arm64 libc6 arm64 2.36-9+deb12u7 "
    "[2,321 kB]\n",
    "Get:2 http://deb.debian.org/debian-security bookworm-security/main arm64 zlib1g arm64 "
    "1:1.2.13.dfsg-1+deb12u1 [86.9 kB]\n",
    "Fetched 2,408 kB in 0s (11.7 MB/s)\n",
    "Get:3 http://deb.debian.org/debian bookworm/main arm64 libzstd1 arm64 1.5.4+dfsg2-5 "
    "[290 kB]\n",
]


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")


@pytest.fixture
def terminal() -> Iterator[tuple[TextIO, int]]:
    """A pseudo-terminal: (the stream crossenv writes to, the fd to read it from)."""
    leader, follower = pty.openpty()
    tty.setraw(follower)  # no \n -> \r\n translation: read back what was written
    set_columns(follower, 200)
    stream = os.fdopen(follower, "w", encoding="utf-8")
    try:
        yield stream, leader
    finally:
        stream.close()
        os.close(leader)


def set_columns(fd: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))


def read_all(fd: int) -> str:
    """Everything written so far (it is in the pty's buffer once flushed)."""
    chunks = []
    while select.select([fd], [], [], 0)[0]:
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode()


def test_a_terminal_is_interactive_unless_ci_or_dumb(terminal: tuple[TextIO, int],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    stream, _ = terminal
    assert log.interactive(stream)
    assert not log.interactive(io.StringIO())
    monkeypatch.setenv("CI", "1")
    assert not log.interactive(stream)
    monkeypatch.setenv("CI", "false")
    assert log.interactive(stream)
    monkeypatch.setenv("TERM", "dumb")
    assert not log.interactive(stream)


def test_progress_on_a_terminal_is_redrawn_in_place(terminal: tuple[TextIO, int]) -> None:
    stream, leader = terminal
    with log.Progress(3, stream) as bar:
        bar.update("working: 1/3", 1)
        bar.update("working: 2/3", 2)
        bar.plain("only in a log")
        bar.line("a result")
    out = read_all(leader)
    assert out == ("working: 1/3" "\r\x1b[K" "working: 2/3"
                   "\r\x1b[K" "a result\n" "working: 2/3"
                   "\r\x1b[K")  # erased at the end: the terminal keeps the result only
    assert "only in a log" not in out


def test_nested_progress_lines_take_turns_and_fit_the_terminal(
        terminal: tuple[TextIO, int]) -> None:
    stream, leader = terminal
    set_columns(stream.fileno(), 21)
    with log.Progress(4, stream) as matrix:
        matrix.update("[0/4] identifier one (provision)")
        with log.Progress(9, stream) as download:  # the sysroot's, inside the identifier
            download.update("downloading 1/9")
            matrix.update("[0/4] two (create)")  # not drawn over the download
            download.update("downloading 2/9")
    assert read_all(leader).split("\r\x1b[K") == [
        "[0/4] identifier one", "downloading 1/9", "downloading 2/9",
        "[0/4] two (create)", ""]  # cut to 20 columns; the matrix again; erased


def test_progress_in_a_log_is_plain_lines(monkeypatch: pytest.MonkeyPatch,
                                          terminal: tuple[TextIO, int]) -> None:
    stream = io.StringIO()
    with log.Progress(3, stream) as bar:
        bar.update("working: 1/3", 1)
        bar.plain("step one")
        bar.line("a result")
    assert stream.getvalue() == "step one\na result\n"
    monkeypatch.setenv("CI", "true")  # a terminal on a CI runner: plain lines too
    tty_stream, leader = terminal
    with log.Progress(3, tty_stream) as bar:
        bar.update("working: 1/3", 1)
        bar.plain("step one")
    assert read_all(leader) == "step one\n"


def test_a_warning_is_printed_above_the_progress_line(terminal: tuple[TextIO, int],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stream, leader = terminal
    monkeypatch.setattr(sys, "stderr", stream)
    with log.Progress(2) as bar:
        bar.update("downloading: 1/2", 1)
        log.warning("something to know")
    assert read_all(leader) == ("downloading: 1/2" "\r\x1b[K"
                                "crossenv: warning: something to know\n"
                                "downloading: 1/2" "\r\x1b[K")


def test_provisioning_downloads_on_a_terminal_count_packages_and_bytes(
        terminal: tuple[TextIO, int]) -> None:
    stream, leader = terminal
    with log.Progress(3, stream) as bar:
        downloads = Downloads("downloading 3 packages for arm64 (bookworm)", 3, bar)
        for line in APT_LINES:
            downloads(line)
    assert (downloads.count, downloads.bytes) == (3, 2_321_000 + 86_900 + 290_000)
    frames = read_all(leader).split("\r\x1b[K")
    assert frames == ["downloading 3 packages for arm64 (bookworm): 1/3, 2.3 MB",
                      "downloading 3 packages for arm64 (bookworm): 2/3, 2.4 MB",
                      "downloading 3 packages for arm64 (bookworm): 3/3, 2.7 MB", ""]


def test_provisioning_downloads_in_a_log_are_plain_lines(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    """Apt.download as crossenv runs it, apt-get played by a script printing apt's
    recorded lines: nothing per package in a log, a plain line before and after with -v."""
    script = tmp_path / "apt-get"
    script.write_text("#!/bin/sh\ncat <<'EOF'\n" + "".join(APT_LINES) +
                      "EOF\ntouch x_1_arm64.deb\n")
    script.chmod(0o755)
    apt = object.__new__(Apt)
    apt.arch, apt.workdir, apt.release, apt.options = "arm64", tmp_path, None, []
    monkeypatch.setattr(Apt, "run", lambda self, tool, *args, cwd=None, check=True,
                        on_line=None: _run_script(script, cwd, on_line, self))
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with log.verbose(1):
        debs = apt.download(["libc6", "zlib1g", "libzstd1"], tmp_path / "debs")
    assert [d.name for d in debs] == ["x_1_arm64.deb"]
    assert [ln for ln in stderr.getvalue().splitlines() if not ln.startswith("crossenv: $ ")] \
        == ["crossenv: downloading 3 packages for arm64",
            "crossenv: downloaded 3 packages (2.7 MB)"]
    stderr.truncate(0)
    stderr.seek(0)
    apt.download(["libc6"], tmp_path / "debs")  # default verbosity: nothing at all
    assert stderr.getvalue() == ""


def _run_script(script: Path, cwd: Path | None, on_line: object, apt: object) -> str:
    result = _proc.run([script], cwd=cwd, on_line=on_line)  # type: ignore[arg-type]
    apt.last = result  # type: ignore[attr-defined]
    return result.stdout


class _StepApt:
    """provision.Apt's steps without apt: two packages, downloaded as empty files."""

    def __init__(self, arch: str, workdir: Path, release: object = None) -> None:
        self.arch, self.fallbacks = arch, {}

    def update(self) -> list[str]:
        return []

    def closure(self, requested: list[str], skipped: object = ()) -> list[str]:
        return ["libc6", "python3.11"]

    def download(self, packages: list[str], into: Path) -> list[Path]:
        into.mkdir(parents=True)
        for package in packages:
            (into / f"{package}_1_{self.arch}.deb").write_text("")
        return sorted(into.glob("*.deb"))


def test_provisioning_steps_on_a_terminal_end_on_a_clean_line(
        terminal: tuple[TextIO, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stream, leader = terminal
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(provision, "Apt", _StepApt)
    monkeypatch.setattr(provision, "extract_deb", lambda deb, root: None)
    provision.build_tree(provision.debian_arch("arm64"), releases.by_suite("bookworm"),
                         tmp_path / "tree", ["python3.11"], lambda root: {})
    what = "arm64 (Debian bookworm)"
    assert read_all(leader).split("\r\x1b[K") == [
        f"provisioning {what}: reading the package lists",
        f"provisioning {what}: resolving the dependencies",
        f"unpacking 2 packages for {what}: 0/2", f"unpacking 2 packages for {what}: 1/2", ""]
    stderr = io.StringIO()  # not a terminal: nothing at all by default
    monkeypatch.setattr(sys, "stderr", stderr)
    provision.build_tree(provision.debian_arch("arm64"), releases.by_suite("bookworm"),
                         tmp_path / "tree", ["python3.11"], lambda root: {}, refresh=True)
    assert stderr.getvalue() == ""


def _result(ident: str, ok: bool) -> Result:
    return Result(ident, "ok" if ok else "failed", wheel=f"{ident}.whl" if ok else "",
                  error="" if ok else "build: failed")


def test_the_buildwheel_matrix_in_a_log_is_one_line_per_step() -> None:
    stream = io.StringIO()
    progress = MatrixProgress(2, stream)
    progress.step("cp311-manylinux_aarch64", "provision")
    progress.step("cp311-manylinux_s390x", "provision")
    progress.finished(_result("cp311-manylinux_aarch64", True))
    progress.finished(_result("cp311-manylinux_s390x", False))
    progress.close()
    assert stream.getvalue().splitlines() == [
        "[0/2] cp311-manylinux_aarch64: provision",
        "[0/2] cp311-manylinux_s390x: provision",
        "[1/2] cp311-manylinux_aarch64: OK cp311-manylinux_aarch64.whl",
        "[2/2] cp311-manylinux_s390x: FAILED build: failed"]


def test_the_buildwheel_matrix_on_a_terminal_is_k_of_n_in_place(
        terminal: tuple[TextIO, int]) -> None:
    stream, leader = terminal
    progress = MatrixProgress(2, stream)
    progress.step("cp311-manylinux_aarch64", "provision")
    progress.step("cp311-manylinux_s390x", "build")
    progress.finished(_result("cp311-manylinux_aarch64", True))
    progress.close()
    assert read_all(leader).split("\r\x1b[K") == [
        "[0/2] cp311-manylinux_aarch64 (provision)",
        "[0/2] cp311-manylinux_aarch64 (provision), cp311-manylinux_s390x (build)",
        "[1/2] cp311-manylinux_aarch64: OK cp311-manylinux_aarch64.whl\n"
        "[0/2] cp311-manylinux_aarch64 (provision), cp311-manylinux_s390x (build)",
        "[1/2] cp311-manylinux_s390x (build)", ""]


def test_levels_and_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    log.info("hidden")
    log.debug("hidden")
    log.command(["hidden"])
    log.step("s")
    log.warning("w")
    log.note("n", who="crossenv buildwheel")
    with log.verbose(2):
        log.info("i")
        log.debug("d")
    assert stderr.getvalue().splitlines() == [
        "crossenv: s", "crossenv: warning: w", "crossenv buildwheel: note: n", "crossenv: i",
        "crossenv: d"]


def test_stdlib_records_go_through_the_one_logger_once_each(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        log.configure(1)
        for _ in range(2):  # build and cross: virtualenv discovers the one interpreter twice
            logging.getLogger("virtualenv.discovery").info("find interpreter for %s", "x")
            logging.getLogger("crossenv.toolchain").warning("toolchain %s", "not verified")
        logging.getLogger("crossenv").debug("not at -v")
    finally:
        log.configure(0)
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    assert stderr.getvalue().splitlines() == [
        "virtualenv: find interpreter for x", "crossenv: warning: toolchain not verified",
        "crossenv: warning: toolchain not verified"]  # crossenv's own lines are not merged


def test_created_names_the_host_the_sysroot_the_compiler_and_activation(
        tmp_path: Path) -> None:
    (tmp_path / ".crossenv-sysroot.json").write_text(json.dumps({"release": "bookworm"}))
    host = SimpleNamespace(machine="aarch64", implementation="cpython", version_str="3.11",
                           sysroot=tmp_path)
    chain = SimpleNamespace(kind="gnu", triplet="aarch64-linux-gnu",
                            cc=("/usr/bin/aarch64-linux-gnu-gcc", "--sysroot=x"))
    stream = io.StringIO()
    log.created(Path("/e n/v"), host, chain, "12", stream=stream)
    assert stream.getvalue() == ("created /e n/v: aarch64 cpython 3.11 (Debian bookworm sysroot), "
                                 "gnu gcc 12; activate with: source '/e n/v/bin/activate'\n")
    stream = io.StringIO()
    log.created(Path("/env"), SimpleNamespace(**{**vars(host), "sysroot": tmp_path / "x"}),
                SimpleNamespace(**{**vars(chain), "kind": "zig", "cc": ("zig", "cc")}),
                stream=stream)
    assert f"(sysroot {tmp_path / 'x'}), zig zig;" in stream.getvalue()


def test_a_sysroot_manifest_cannot_write_to_the_terminal(tmp_path: Path) -> None:
    assert log._MANIFEST == provision.MANIFEST_NAME
    for bad in ("bookworm\x1b[2J", "", ["bookworm"], "Bookworm sysroot; rm"):
        (tmp_path / log._MANIFEST).write_text(json.dumps({"release": bad}))
        assert log._sysroot_release(tmp_path) is None
    (tmp_path / log._MANIFEST).write_text("{not json")
    assert log._sysroot_release(tmp_path) is None
    (tmp_path / log._MANIFEST).write_text(json.dumps({"release": "trixie"}))
    assert log._sysroot_release(tmp_path) == "trixie"


def test_human_bytes() -> None:
    assert [log.human_bytes(n) for n in (0, 999, 1000, 2_321_000, 3.5e9, 7e12)] == [
        "0 B", "999 B", "1.0 kB", "2.3 MB", "3.5 GB", "7000.0 GB"]


@pytest.mark.integration
def test_create_says_what_it_made_in_one_line_and_v_shows_virtualenv_once(
        tmp_path: Path, arm64_sysroot, aarch64_gcc: str) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "env"
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.run([*crossenv_cmd(), "-v", arm64_sysroot.python, env],
                          capture_output=True, text=True, env=environ, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # stdout stays for what scripts read
    lines = proc.stderr.splitlines()
    version = Path(arm64_sysroot.python).name[len("python"):]
    assert lines[-1] == (f"created {env}: aarch64 cpython {version} "
                         f"(Debian {arm64_sysroot.release} sysroot), gnu gcc "
                         f"{_gcc_major(aarch64_gcc)}; activate with: source {env}/bin/activate")
    foreign = [ln for ln in lines if not ln.startswith(("crossenv:", "created "))]
    assert any(ln.startswith("virtualenv: create virtual environment") for ln in foreign)
    assert len(foreign) == len(set(foreign)), "\n".join(foreign)  # none twice
    assert any(ln.startswith("crossenv: $ ") and "-dumpversion" in ln for ln in lines)
    assert "\r" not in proc.stderr  # not a terminal: plain lines
    quiet = subprocess.run([*crossenv_cmd(), arm64_sysroot.python, tmp_path / "quiet"],
                           capture_output=True, text=True, env=environ, timeout=600)
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr
    assert quiet.stderr.splitlines() == [lines[-1].replace(str(env), str(tmp_path / "quiet"))]


def _gcc_major(gcc: str) -> str:
    return subprocess.run([gcc, "-dumpversion"], capture_output=True, text=True,
                          check=True).stdout.strip()
