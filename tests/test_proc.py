"""crossenv._proc: the one subprocess runner (no toolchain, no network: sh and python)."""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path

import pytest

from crossenv import _proc, log
from crossenv.errors import CrossenvError, ProvisionError, ToolchainError


def test_output_is_captured_as_text() -> None:
    result = _proc.run(["sh", "-c", "echo out; echo err >&2; printf '\\377\\n'"])
    assert result.ok and result.returncode == 0
    assert result.stdout == "out\n\ufffd\n" and result.stderr == "err\n"


def test_a_failure_is_one_line_naming_the_command() -> None:
    with pytest.raises(ToolchainError) as info:
        _proc.run(["sh", "-c", "echo first >&2; echo 'the last words' >&2; exit 3"],
                  error=ToolchainError)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("sh -c ") and "failed (exit status 3): the last words" in message


def test_what_names_the_command_in_the_error() -> None:
    with pytest.raises(ProvisionError, match=r"^patchelf --x failed \(exit status 1\): no output$"):
        _proc.run(["false"], what="patchelf --x", error=ProvisionError)


def test_a_program_that_cannot_start_is_one_line_even_without_check(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError) as info:
        _proc.run([tmp_path / "missing"], check=False, error=ProvisionError)
    assert str(info.value) == f"cannot run {tmp_path / 'missing'}: No such file or directory"


def test_without_check_a_failure_is_returned() -> None:
    result = _proc.run(["sh", "-c", "echo partial; echo why >&2; exit 5"], check=False)
    assert (result.returncode, result.stdout, result.last_line()) == (5, "partial\n", "why")
    assert _proc.Result(("x",), 1, "only out\n", "").last_line() == "only out"
    assert _proc.Result(("x",), 1, "", "a\nb\n").last_line(first=True) == "a"


def test_a_timeout_kills_and_keeps_the_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_proc, "POLL", 0.05)
    script = "echo started; exec sleep 300"
    started = threading.Event()
    # the guard runs before each look at the timeout: none happens before "started" is read
    result = _proc.run(["sh", "-c", script], timeout=0.1, check=False,
                       on_line=lambda line: started.set(), guard=started.wait)
    assert result.returncode is None and result.stdout == "started\n"
    with pytest.raises(CrossenvError, match=r"did not finish in 0.1 s$"):
        _proc.run(["sh", "-c", script], timeout=0.1)


def test_guard_stops_the_run_and_the_process_is_reaped(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setattr(_proc, "POLL", 0.05)
    pidfile = tmp_path / "pid"

    def guard() -> None:
        if pidfile.exists() and pidfile.read_text().strip():
            raise ProvisionError("disk full")

    with pytest.raises(ProvisionError, match="disk full"):
        _proc.run(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 300"], guard=guard,
                  new_session=True)
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped, not a zombie


def test_stdin_is_empty_and_input_is_fed() -> None:
    assert _proc.run(["cat"]).stdout == ""
    assert _proc.run(["cat"], input="fed\n").stdout == "fed\n"


def test_on_line_sees_each_line_and_cannot_lose_output() -> None:
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        raise ValueError("a broken display")

    result = _proc.run(["sh", "-c", "echo a; echo b"], on_line=on_line)
    assert seen == ["a\n", "b\n"] and result.stdout == "a\nb\n"


def test_lines_streams_and_checks_the_status() -> None:
    with _proc.lines(["sh", "-c", "echo 1; echo 2"]) as out:
        assert list(out) == ["1\n", "2\n"]
    with pytest.raises(ProvisionError, match=r"^cat-file x failed \(exit status 4\): why$"), \
            _proc.lines(["sh", "-c", "echo why >&2; exit 4"], error=ProvisionError,
                        what="cat-file x") as out:
        list(out)


def test_run_logged_writes_the_command_output_and_status(tmp_path: Path) -> None:
    with (tmp_path / "log").open("w+") as stream:
        status = _proc.run_logged(["sh", "-c", "echo out; echo err >&2; exit 2"],
                                  log_to=stream)
        stream.seek(0)
        text = stream.read()
    assert status == 2
    assert text.splitlines() == ["$ sh -c echo out; echo err >&2; exit 2", "out", "err",
                                 "[exit status 2]"]


def test_the_command_is_shown_with_verbose_only(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    _proc.run(["true", "quiet"])
    assert err.getvalue() == ""
    with log.verbose(1):
        _proc.run(["true", "a b"], cwd="/")
    assert err.getvalue() == "crossenv: $ true 'a b' (in /)\n"
