"""crossenv buildwheel under adversarial input and interruption (issue 25, robustness).

Every bad input is one line and exit status 2 before anything is built: configuration
values of the wrong type or with an unbalanced quote (each option, through
``pyproject.toml`` and ``CIBW_*``), unusable output directories, an output directory
another run holds, a FIFO given as the sdist, missing tools. These run the real command
in-process with the matrix itself replaced by a guard, so a value that is accepted is
seen as accepted (and costs nothing) rather than built.

A wheel reaches its final name only whole (a real write limit, RLIMIT_FSIZE, stands for
the full disk), and a signal stops the matrix: the integration test sends SIGTERM to a
real run while its first identifier's ``before-build`` sleeps. The other integration
test runs ``audit-command`` and inherited options through the real command.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from crossenv import cli
from crossenv.buildwheel import config, interrupt, outputdir, runner
from helpers import require
from test_buildwheel import _crossenv, _testbed

ID = "cp311-manylinux_aarch64"


class _Accepted(Exception):
    """The run got past every check to the point where it would build."""


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          project: Path, *args: str, env: dict[str, str] | None = None,
          output: Path | None = None) -> tuple[object, str]:
    for name in list(os.environ):
        if name.startswith("CIBW_"):
            monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)

    def accepted(*_a: object, **_k: object) -> None:
        raise _Accepted

    monkeypatch.setattr(runner, "run_all", accepted)
    monkeypatch.setattr(runner, "_native", accepted)  # before-all
    out = output if output is not None else project.parent / "wheelhouse"
    try:
        code: object = cli.main(["buildwheel", str(project), "--output-dir", str(out), *args])
    except _Accepted:
        code = "accepted"
    return code, capsys.readouterr().err


def _assert_one_line(code: object, err: str, *expected: str) -> None:
    assert "Traceback" not in err, err
    assert code == 2, (code, err)
    errors = [line for line in err.splitlines() if line.startswith("crossenv: error:")]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err
    for text in expected:
        assert text in errors[0], err


def _project(directory: Path, cibuildwheel: str = "", crossenv: str = "") -> Path:
    project = directory / "project"
    project.mkdir(exist_ok=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\n\n[tool.cibuildwheel]\n'
        f"{cibuildwheel}\n" + (f"[tool.crossenv.buildwheel]\n{crossenv}\n" if crossenv else ""))
    return project


# --- configuration values of the wrong type ------------------------------------------------

#: TOML values no option takes
ALWAYS_BAD = {"list of tables": "[{a = 1}]", "float": "1.5", "nested table": "{a = {b = 1}}",
              "list in a list": '[["a"]]'}
#: TOML values some options take (the others must refuse them in one line)
SOMETIMES = {"int": "5", "list": '["a", "b"]', "table": '{a = "1"}',
             "unbalanced quote": "'a \"b'"}
#: options whose text is shell-like: an unbalanced quote is always an error
SHELL_LIKE = {"build", "archs", "enable", "build-frontend", "config-settings", "environment",
              "test-environment", "before-all", "before-build", "before-test",
              "repair-wheel-command", "test-command", "audit-command", "test-requires",
              "test-sources", "test-groups", "audit-requires", "build-verbosity"}
OPTIONS = sorted(config.SUPPORTED)


def _toml_case(tmp_path: Path, option: str, value: str) -> Path:
    build = "" if option == "build" else 'build = "cp311-manylinux_aarch64"\n'
    return _project(tmp_path, f"{build}{option} = {value}")


@pytest.mark.parametrize("kind", sorted(ALWAYS_BAD))
@pytest.mark.parametrize("option", OPTIONS)
def test_a_value_of_no_valid_type_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], option: str,
                                              kind: str) -> None:
    project = _toml_case(tmp_path, option, ALWAYS_BAD[kind])
    code, err = _main(monkeypatch, capsys, project)
    _assert_one_line(code, err, f"tool.cibuildwheel.{option}")


@pytest.mark.parametrize("kind", sorted(SOMETIMES))
@pytest.mark.parametrize("option", OPTIONS)
def test_other_values_are_taken_or_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], option: str,
                                            kind: str) -> None:
    project = _toml_case(tmp_path, option, SOMETIMES[kind])
    code, err = _main(monkeypatch, capsys, project)
    if (kind == "unbalanced quote" and option in SHELL_LIKE) or code != "accepted":
        _assert_one_line(code, err)


@pytest.mark.parametrize("option", OPTIONS)
def test_an_unbalanced_quote_in_a_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str],
                                           option: str) -> None:
    project = _project(tmp_path, "" if option == "build" else 'build = "cp311-*"\n'
                       'archs = "aarch64"\n')
    code, err = _main(monkeypatch, capsys, project, env={config.env_name(option): 'a "b'})
    if option in SHELL_LIKE or code != "accepted":
        _assert_one_line(code, err)


def test_a_bad_crossenv_table_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, 'build = "cp311-manylinux_aarch64"',
                       'sysroot-packages = ["libffi-dev", {a = 1}]')
    _assert_one_line(*_main(monkeypatch, capsys, project), "sysroot-packages")


# --- the output directory ------------------------------------------------------------------


@pytest.fixture
def readonly_dir(tmp_path: Path) -> object:
    """A directory this process cannot write: mode 0555, or for root (who ignores the
    mode) a read-only tmpfs mount."""
    path = tmp_path / "readonly"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                             capture_output=True).returncode == 0
    require(mounted, "root needs a read-only mount (CAP_SYS_ADMIN) for this test")
    yield path
    subprocess.run(["umount", str(path)], check=True)


@pytest.mark.parametrize("case", ["a file", "inside a file", "a dangling symlink",
                                  "a read-only directory", "below a read-only directory",
                                  "logs is a file"])
def test_an_unusable_output_directory_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        readonly_dir: Path, case: str) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    (tmp_path / "with-logs").mkdir()
    (tmp_path / "with-logs" / "logs").write_text("x")
    output = {"logs is a file": tmp_path / "with-logs", "a file": tmp_path / "file",
              "inside a file": tmp_path / "file" / "wheels",
              "a dangling symlink": tmp_path / "link",
              "a read-only directory": readonly_dir,
              "below a read-only directory": readonly_dir / "wheels"}[case]
    project = _project(tmp_path, 'build = "cp311-manylinux_aarch64"')
    code, err = _main(monkeypatch, capsys, project, output=output)
    _assert_one_line(code, err, "output directory", str(output))
    assert not (tmp_path / "missing").exists()


def test_an_unusable_report_path_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, 'build = "cp311-manylinux_aarch64"')
    (tmp_path / "file").write_text("x")
    code, err = _main(monkeypatch, capsys, project, "--report", str(tmp_path / "file" / "r.json"))
    _assert_one_line(code, err, "is not a directory")
    code, err = _main(monkeypatch, capsys, project, "--report", str(tmp_path))
    _assert_one_line(code, err, "is a directory; name a file")


def test_two_runs_cannot_share_an_output_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, 'build = "cp311-manylinux_aarch64"')
    output = outputdir.prepare(tmp_path / "wheelhouse")
    held = outputdir.lock(output)  # the first run
    code, err = _main(monkeypatch, capsys, project, output=output)
    _assert_one_line(code, err, "in use by another crossenv buildwheel run",
                     f"(pid {os.getpid()})")
    held.close()  # the first run ended
    assert _main(monkeypatch, capsys, project, output=output)[0] == "accepted"


def test_a_wheel_is_never_truncated_under_its_name(tmp_path: Path) -> None:
    """A write limit (RLIMIT_FSIZE, as a full disk: the write fails midway) while a
    wheel is published: no file has the wheel's name and no temporary file is left."""
    source = tmp_path / "demo-1.0-cp311-cp311-manylinux_2_28_aarch64.whl"
    source.write_bytes(os.urandom(1 << 20))
    dest = tmp_path / "wheelhouse"
    dest.mkdir()

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    code = ("import sys; from pathlib import Path; from crossenv.buildwheel import outputdir;"
            "outputdir.publish(Path(sys.argv[1]), Path(sys.argv[2]))")
    proc = subprocess.run([sys.executable, "-c", code, str(source), str(dest)],
                          preexec_fn=limit, capture_output=True, text=True)
    assert proc.returncode != 0 and "File too large" in proc.stderr, proc.stderr
    assert list(dest.iterdir()) == []
    final = outputdir.publish(source, dest)  # without the limit: whole, and nothing else
    assert final.read_bytes() == source.read_bytes() and list(dest.iterdir()) == [final]


# --- the project -----------------------------------------------------------------------------


def test_a_fifo_as_the_sdist_is_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "demo-1.0.tar.gz"
    os.mkfifo(fifo)
    proc = _crossenv("buildwheel", fifo, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith(
        "is neither a directory nor a regular file; give a project directory or an sdist "
        "(.tar.gz, .zip)")


# --- tools ------------------------------------------------------------------------------------


def test_missing_tools_are_found_before_the_first_identifier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, 'build = "cp311-*"\narchs = "aarch64 s390x"')
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(empty))
    code, err = _main(monkeypatch, capsys, project)
    _assert_one_line(code, err, "missing tools, found before building",
                     f"aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu) for {ID}",
                     "s390x-linux-gnu-gcc", "qemu-aarch64", "qemu-s390x")


def test_a_missing_zig_is_found_before_the_first_identifier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from crossenv import zig
    from crossenv.errors import ToolchainError

    def absent() -> str:  # as without the ziglang package and no zig on PATH
        raise ToolchainError("no zig")

    monkeypatch.setattr(zig, "zig_executable", absent)
    project = _project(tmp_path, 'build = "cp311-manylinux_aarch64"', 'toolchain = "zig"')
    code, err = _main(monkeypatch, capsys, project)
    _assert_one_line(code, err, "zig (pip install 'crossenv[zig]') for " + ID)


# --- signals ---------------------------------------------------------------------------------


def test_a_signal_stops_and_sweeps_child_processes() -> None:
    """The handler itself, in this process: SIGINT sets the flag and a child started
    before it (a real ``sleep``) is terminated, however its group is set."""
    if threading.current_thread() is not threading.main_thread():
        pytest.fail("signal handlers need the main thread; run pytest's tests in it")
    restore = interrupt.install()
    try:
        plain = subprocess.Popen(["sleep", "600"])
        leader = subprocess.Popen(["sh", "-c", "sleep 600 & wait"], start_new_session=True)
        assert interrupt.descendants(os.getpid())
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100):  # the handler runs at the next bytecode of the main thread
            if interrupt.requested():
                break
            time.sleep(0.01)
        assert interrupt.requested() and interrupt.signal_name() == "SIGINT"
        assert plain.wait(timeout=60) == -signal.SIGTERM
        assert leader.wait(timeout=60) == -signal.SIGTERM
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is not interrupt._handler


# --- real runs -------------------------------------------------------------------------------

SETUP = """from setuptools import Extension, setup
setup(ext_modules=[Extension("demo._c", ["demo/_c.c"])], packages=["demo"])
"""
C_SOURCE = """#include <Python.h>
static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "_c", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__c(void) { return PyModule_Create(&m); }
"""


def _tiny(directory: Path, cibuildwheel: str, files: dict[str, str] | None = None) -> Path:
    """A one-extension setuptools project: the cheapest real build."""
    project = directory / "tiny"
    (project / "demo").mkdir(parents=True)
    for name, text in (files or {}).items():
        (project / name).write_text(text)
    (project / "demo" / "__init__.py").write_text("")
    (project / "demo" / "_c.c").write_text(C_SOURCE)
    (project / "setup.py").write_text(SETUP)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = '
        '"setuptools.build_meta"\n\n[project]\nname = "demo"\nversion = "0.1"\n\n'
        f"[tool.cibuildwheel]\n{cibuildwheel}\n")
    return project


AUDIT_CONFIG = """
build = "cp311-*"
archs = "aarch64"
environment = {DEMO_A = "from-pyproject"}
before-build = "sh {project}/before.sh"
audit-requires = []
inherit.audit-command = "append"
audit-command = "python {project}/probe.py {wheel} {project}/../audited.txt"
"""
AUDIT_FILES = {
    "before.sh": 'echo "$DEMO_A $DEMO_B $CIBUILDWHEEL $CIBUILDWHEEL_BUILD_IDENTIFIER" '
                 '> ../before-build.txt\n',
    "probe.py": "import sys, zipfile\nzipfile.ZipFile(sys.argv[1]).testzip()\n"
                "open(sys.argv[2], 'w').write(sys.prefix + ' ' + sys.argv[1])\n",
}


@pytest.mark.integration
def test_audit_command_and_inherited_options_in_a_real_run(tmp_path: Path) -> None:
    """cibuildwheel's default audit (abi3audit, for abi3 wheels) is kept and extended by
    the project's own command; CIBW_ENVIRONMENT extends the project's environment
    through CIBW_INHERIT; before-build sees both and the identifier."""
    _testbed(["aarch64"])
    project = _tiny(tmp_path, AUDIT_CONFIG, AUDIT_FILES)
    proc = _crossenv("buildwheel", project, "--output-dir", tmp_path / "wheelhouse",
                     env={"CIBW_ENVIRONMENT": "DEMO_B=from-env", "CIBW_INHERIT": "environment"},
                     timeout=3000)
    output = proc.stdout + proc.stderr
    (tmp_path / "output.txt").write_text(output)
    assert proc.returncode == 0, output
    report = json.loads((tmp_path / "wheelhouse" / "buildwheel-report.json").read_text())
    (row,) = report["identifiers"]
    assert row["identifier"] == ID and row["result"] == "ok", row
    assert (tmp_path / "before-build.txt").read_text().split() == [
        "from-pyproject", "from-env", "1", ID]
    prefix, audited = (tmp_path / "audited.txt").read_text().split(" ")
    assert Path(audited).name == row["wheel"] and "audit-venv" in prefix
    log = Path(row["log"]).read_text()
    assert "=== audit" in log and "abi3audit" not in log.split("=== audit")[1], log[-3000:]
    assert f"{ID}: audit" in output
    with zipfile.ZipFile(tmp_path / "wheelhouse" / row["wheel"]) as zf:
        assert any(n.startswith("demo/_c.") for n in zf.namelist())


SLEEPER = """
build = "cp311-* cp313-*"
archs = "aarch64"
before-build = "sh {project}/sleep.sh"
"""


@pytest.mark.integration
def test_sigterm_stops_the_matrix(tmp_path: Path) -> None:
    """SIGTERM while cp311's before-build runs (-j 1, cp313 queued): the sleeping child is
    killed, cp313 never starts, no wheel, temporary directories gone, exit 130 with one
    line."""
    _testbed(["aarch64"])
    project = _tiny(tmp_path, SLEEPER, {"sleep.sh": "echo $$ > ../sleeper.pid\nexec sleep 600\n"})
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    environ["TMPDIR"] = str(tmpdir)
    err = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "crossenv", "buildwheel", str(project),
                             "--output-dir", str(tmp_path / "wheelhouse"), "-j", "1"],
                            env=environ, stdout=subprocess.DEVNULL, stderr=err)
    pidfile = tmp_path / "sleeper.pid"
    try:
        deadline = time.monotonic() + 3000  # provision/create when not cached yet
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.monotonic() < deadline, "before-build never started"
            time.sleep(0.5)
        sleeper = int(pidfile.read_text())
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        err.close()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert code == 130, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("crossenv buildwheel: interrupted by SIGTERM: 0 built"), stderr
    assert not Path(f"/proc/{sleeper}").exists() or \
        Path(f"/proc/{sleeper}/stat").read_text().split()[2] == "Z"
    logs = tmp_path / "wheelhouse" / "logs"
    assert not (logs / "cp313-manylinux_aarch64.log").exists()
    assert not list((tmp_path / "wheelhouse").glob("*.whl"))
    assert list(tmpdir.iterdir()) == [], list(tmpdir.iterdir())
    report = json.loads((tmp_path / "wheelhouse" / "buildwheel-report.json").read_text())
    first, second = report["identifiers"]
    assert (first["identifier"], first["result"], first["step"]) == (ID, "interrupted",
                                                                     "before-build")
    # cp313 never started: no log, no step
    assert (second["identifier"], second["result"], second["step"], second["log"]) == (
        "cp313-manylinux_aarch64", "interrupted", "", "")
