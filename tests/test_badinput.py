"""Hostile and clumsy command lines: one line, exit status 2, no traceback, nothing made.

Every case runs the real command (``python -m crossenv ...``) in a scratch directory
with its own HOME and cache, and afterwards the scratch directory must hold exactly
what the test put there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from checkdata import edit_headers, flip_flag, make_wheel
from helpers import ROOT, error_line, recorded_sysconfigdata, require

WHEEL = "demo-1.0-cp311-cp311-linux_aarch64.whl"


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def expect_error(scratch: Path, argv: Sequence[str | bytes], *, contains: str = "",
                 env: dict[str, str] | None = None, prefix: str = "crossenv: error: ",
                 module: Sequence[str] = ("-m", "crossenv")) -> str:
    """Run the command; assert the one-line error contract; return the line."""
    before = snapshot(scratch)
    environ = {k: v for k, v in os.environ.items()
               if k not in ("CROSSENV_ENV", "PYTHON_CROSSENV", "VIRTUAL_ENV")}
    environ.update(HOME=str(scratch / "home"), XDG_CACHE_HOME=str(scratch / "home" / "cache"),
                   PYTHONPATH=str(ROOT / "src"))
    environ.update(env or {})
    proc = subprocess.run([sys.executable, *module, *argv], cwd=scratch, env=environ,
                          capture_output=True, timeout=300)
    err = proc.stderr.decode("utf-8", "backslashreplace")
    line = error_line(proc.returncode, err, contains, prefix=prefix)
    assert proc.stdout == b"", proc.stdout
    assert snapshot(scratch) == before, "the command left files behind"
    return line


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    (tmp_path / "home" / "cache").mkdir(parents=True)
    return tmp_path


def plain_wheel(scratch: Path) -> Path:
    return make_wheel(scratch / "dist", "cp311-cp311-linux_aarch64", {"demo/__init__.py": b""})


def _missing(scratch: Path) -> Path:
    return scratch / WHEEL


def _directory(scratch: Path) -> Path:
    (scratch / WHEEL).mkdir()
    return scratch / WHEEL


def _empty(scratch: Path) -> Path:
    (scratch / WHEEL).write_bytes(b"")
    return scratch / WHEEL


def _truncated(scratch: Path) -> Path:
    wheel = plain_wheel(scratch)
    wheel.write_bytes(wheel.read_bytes()[:-40])
    return wheel


def _encrypted(scratch: Path) -> Path:
    wheel = plain_wheel(scratch)
    flip_flag(wheel, 0x1)
    return wheel


def _bad_crc(scratch: Path) -> Path:
    wheel = make_wheel(scratch / "dist", "cp311-cp311-linux_aarch64",
                       {"demo/__init__.py": b"x = 1\n" * 64})
    data = bytearray(wheel.read_bytes())
    at = data.index(b"demo/__init__.py") + len("demo/__init__.py") + 4
    data[at:at + 6] = b"\xff" * 6
    wheel.write_bytes(bytes(data))
    return wheel


def _unsupported_compression(scratch: Path) -> Path:
    wheel = plain_wheel(scratch)
    wheel.write_bytes(bytes(edit_headers(wheel, 8, 10, lambda byte: 99)))
    return wheel


def _bad_utf8_name(scratch: Path) -> Path:
    wheel = plain_wheel(scratch)
    data = edit_headers(wheel, 7, 9, lambda byte: byte | 0x08)  # bit 11: the name is UTF-8
    wheel.write_bytes(bytes(data).replace(b"demo/__init__.py", b"\xffemo/__init__.py"))
    return wheel


def _not_a_wheel_name(scratch: Path) -> Path:
    (scratch / "demo.zip").write_bytes(b"")
    return scratch / "demo.zip"


BAD_WHEELS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing": (_missing, "no such file"),
    "directory": (_directory, "not a file"),
    "empty": (_empty, "not a zip archive"),
    "truncated": (_truncated, "not a zip archive"),
    "encrypted": (_encrypted, "encrypted"),
    "bad-crc": (_bad_crc, "corrupt"),
    "compression": (_unsupported_compression, "[zip-method]"),
    "bad-utf8-name": (_bad_utf8_name, "[zip-central]"),
    "file-name": (_not_a_wheel_name, "not a wheel file name"),
}


@pytest.mark.parametrize("case", list(BAD_WHEELS))
def test_check_bad_wheel(scratch: Path, case: str) -> None:
    make, message = BAD_WHEELS[case]
    expect_error(scratch, ["check", str(make(scratch))], contains=message)


@pytest.mark.parametrize("case", ["missing", "encrypted", "bad-crc", "empty", "file-name"])
def test_repair_bad_wheel(scratch: Path, case: str) -> None:
    make, message = BAD_WHEELS[case]
    require(importlib.util.find_spec("auditwheel"), "repair needs auditwheel")
    expect_error(scratch, ["repair", str(make(scratch)), "--sysroot", str(scratch),
                           "-w", str(scratch / "out")], contains=message)


def test_check_non_utf8_argument(scratch: Path) -> None:
    expect_error(scratch, [b"check", b"\xff\xfe-1.0-py3-none-any.whl"],
                 contains="not a wheel file name")


def test_check_good_wheel_under_non_utf8_directory(tmp_path: Path) -> None:
    """Not an error: the report prints the path escaped instead of failing to encode it."""
    wheel = make_wheel(tmp_path, "py3-none-any", {"demo/__init__.py": b""})
    odd = os.fsencode(tmp_path) + b"/\xff"
    os.mkdir(odd)
    os.rename(os.fsencode(wheel), odd + b"/" + os.fsencode(wheel.name))
    proc = subprocess.run([sys.executable, "-m", "crossenv", "check", "--no-env",
                           odd + b"/" + os.fsencode(wheel.name)], capture_output=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    assert proc.stdout.endswith(b"\\udcff/demo-1.0-py3-none-any.whl: OK\n"), proc.stdout


# ---------------------------------------------------------------- damaged environments


def _env(scratch: Path, content: bytes | None, *, as_dir: bool = False) -> Path:
    env = scratch / "env"
    env.mkdir()
    if as_dir:
        (env / "crossenv.json").mkdir()
    elif content is not None:
        (env / "crossenv.json").write_bytes(content)
    return env


DAMAGED_ENVS: dict[str, tuple[bytes | None, bool, str]] = {
    "not-json": (b"{\"host\": ", False, "not JSON"),
    "not-utf8": (b"\xff\xfe{}", False, "not UTF-8"),
    "a-list": (b"[1, 2]", False, "not a JSON object"),
    "host-string": (b'{"host": "aarch64"}', False, "host is not an object"),
    "paths-numbers": (b'{"host": {}, "paths": {"cross": 5}}', False, "paths is not"),
    "empty": (b"", False, "not JSON"),
    "deep": (b"[" * 100_000, False, "damaged"),
    "a-directory": (None, True, "not a crossenv environment"),
    "no-file": (None, False, "not a crossenv environment"),
}


@pytest.mark.parametrize("case", list(DAMAGED_ENVS))
@pytest.mark.parametrize("command", ["describe", "check", "repair", "run"])
def test_damaged_crossenv_json(scratch: Path, case: str, command: str) -> None:
    content, as_dir, message = DAMAGED_ENVS[case]
    env = _env(scratch, content, as_dir=as_dir)
    wheel = plain_wheel(scratch)
    argv = {
        "describe": ["describe", str(env)],
        "check": ["check", "--env", str(env), str(wheel)],
        "repair": ["repair", "--env", str(env), "-w", str(scratch / "out"), str(wheel)],
        "run": ["run", str(env), "--", "python", "-c", "pass"],
    }[command]
    if command == "describe" and case == "no-file":
        message = "sysconfigdata"  # not an ENV, so it is taken for a host prefix
    expect_error(scratch, argv, contains=message)


def test_damaged_env_fields(scratch: Path) -> None:
    env = _env(scratch, json.dumps({"host": {"platform_tags": "manylinux_2_17_aarch64",
                                             "sysroot": 7, "version": "3.11"},
                                    "paths": {}}).encode())
    wheel = plain_wheel(scratch)
    for command in ("check", "repair"):  # the host's files are read first
        expect_error(scratch, [command, "--env", str(env), str(wheel)],
                     contains="host.sysroot is not a string")
    tags = env.with_name("tags")
    shutil.copytree(env, tags)
    (tags / "crossenv.json").write_text(json.dumps(
        {"host": {"platform_tags": "manylinux_2_17_aarch64", "version": "3.11"}}))
    expect_error(scratch, ["check", "--env", str(tags), str(wheel)],
                 contains="host.platform_tags is not a list")
    expect_error(scratch, ["describe", str(env), "--format", "meson"],
                 contains="no paths.crossenv_dir")


def test_active_env_that_does_not_exist(scratch: Path) -> None:
    wheel = plain_wheel(scratch)
    expect_error(scratch, ["check", str(wheel)], env={"CROSSENV_ENV": str(scratch / "gone")},
                 contains="does not exist")


def test_cross_expose_damaged_env(scratch: Path) -> None:
    env = _env(scratch, b"{\"paths\": 3}")
    script = ROOT / "src" / "crossenv" / "runtime" / "_crossenv_expose.py"
    expect_error(scratch, [str(env), "pyyaml"], module=[str(script)],
                 prefix="cross-expose: error: ", contains="crossenv.json")


# ---------------------------------------------------------------- crossenv run


@pytest.mark.integration
def test_run_with_missing_qemu(scratch: Path, aarch64_env: Path) -> None:
    expect_error(scratch, ["run", "--qemu", "/nonexistent", str(aarch64_env), "--", "python"],
                 contains="--qemu /nonexistent: no such executable")
    (scratch / "not-qemu").write_text("#!/nonexistent/interpreter\n")
    (scratch / "not-qemu").chmod(0o755)
    expect_error(scratch, ["run", "--qemu", str(scratch / "not-qemu"), str(aarch64_env), "--",
                           "python"], contains="cannot run")


# ---------------------------------------------------------------- describe and repair options


def test_describe_output_dir_is_a_file(scratch: Path) -> None:
    (scratch / "taken").write_text("")
    expect_error(scratch, ["describe", str(recorded_sysconfigdata("arm64")), "--format",
                           "meson", "--output-dir", str(scratch / "taken")],
                 contains="--output-dir")


def test_describe_unbalanced_cc(scratch: Path) -> None:
    expect_error(scratch, ["describe", str(recorded_sysconfigdata("arm64")), "--cc", "'gcc"],
                 contains="balance its quotes")


def test_repair_bad_options(scratch: Path) -> None:
    require(importlib.util.find_spec("auditwheel"), "repair needs auditwheel")
    wheel = plain_wheel(scratch)
    expect_error(scratch, ["repair", str(wheel), "--sysroot", str(scratch / "nope")],
                 contains="is not a directory")
    (scratch / "taken").write_text("")
    expect_error(scratch, ["repair", str(wheel), "--sysroot", str(scratch), "-w",
                           str(scratch / "taken")], contains="not a directory")


def test_check_bad_target(scratch: Path) -> None:
    expect_error(scratch, ["check", "--target", "x" * 100_000, str(plain_wheel(scratch))],
                 contains="--platform")


def test_usage_errors_are_one_line(scratch: Path) -> None:
    expect_error(scratch, ["check"], contains="WHEEL")
    expect_error(scratch, ["describe", "x", "--format", "yaml"], contains="--format")
    expect_error(scratch, [], contains="required")


# ---------------------------------------------------------------- creating an environment


@pytest.mark.parametrize(("option", "message"), [
    (["--env", "é=1"], "invalid --env variable name"),
    (["--env", "1A=1"], "invalid --env variable name"),
    (["--env", "A B=1"], "invalid --env variable name"),
    (["--env", "A-B+=1"], "invalid --env variable name"),
    (["--env", "NOEQUALS"], "NAME=VALUE"),
    (["--cc", '"aarch64-linux-gnu-gcc'], "balance its quotes"),
    (["--cxx", "g++ '-O2"], "balance its quotes"),
    (["--manylinux", "2_999999999999"], "out of range"),
    (["--manylinux", "2_" + "9" * 5000], "out of range"),
    (["--platform-tag", "musllinux_1_99999999"], "out of range"),
])
def test_create_bad_options(scratch: Path, option: list[str], message: str,
                             aarch64_gcc: str) -> None:
    host = recorded_sysconfigdata("arm64")
    expect_error(scratch, [*option, str(host), str(scratch / "env")], contains=message)


def test_create_unwritable_cache(scratch: Path, aarch64_gcc: str) -> None:
    (scratch / "cachefile").write_text("")  # a file where the cache directory should be
    host = recorded_sysconfigdata("arm64")
    line = expect_error(scratch, [str(host), str(scratch / "env")],
                        env={"XDG_CACHE_HOME": str(scratch / "cachefile")},
                        contains="cache directory")
    assert "XDG_CACHE_HOME" in line


def test_provision_unwritable_cache(scratch: Path) -> None:
    (scratch / "cachefile").write_text("")
    expect_error(scratch, ["provision", "--arch", "arm64"],
                 env={"XDG_CACHE_HOME": str(scratch / "cachefile")}, contains="cache directory")


def test_create_host_python_is_garbage(scratch: Path) -> None:
    (scratch / "python3.11").write_bytes(b"\xff" * 64)
    expect_error(scratch, [str(scratch / "python3.11"), str(scratch / "env")])
    (scratch / "empty.json").write_bytes(b"")
    expect_error(scratch, [str(scratch / "empty.json"), str(scratch / "env")])


def test_zipfile_premise_bad_utf8(scratch: Path) -> None:
    """The bad-UTF-8 wheel above really is one zipfile refuses (else the case tests nothing)."""
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(_bad_utf8_name(scratch))


@pytest.mark.integration
def test_run_missing_program_and_wheel(scratch: Path, aarch64_env: Path,
                                       qemu_aarch64: str) -> None:
    expect_error(scratch, ["run", str(aarch64_env), "--", "no-such-program"],
                 contains="no program")
    expect_error(scratch, ["run", str(aarch64_env), "--install", str(scratch / "gone.whl")],
                 contains="no such wheel file")
    # the contrast: a real command still runs on the host
    proc = subprocess.run([sys.executable, "-m", "crossenv", "run", str(aarch64_env), "--",
                           "python", "-c", "import platform; print(platform.machine())"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert (proc.returncode, proc.stdout) == (0, "aarch64\n"), proc.stderr


def test_check_empty_target(scratch: Path) -> None:
    expect_error(scratch, ["check", "--platform", "", str(plain_wheel(scratch))],
                 contains="--platform")


@pytest.mark.parametrize("option", [["--sysroot", "/"], ["--cc", "gcc"],
                                    ["--output-dir", "out"]])
def test_describe_env_rejects_host_options(scratch: Path, option: list[str]) -> None:
    env = _env(scratch, json.dumps({"host": {}, "paths": {}}).encode())
    expect_error(scratch, ["describe", str(env), *option], contains="apply to a host python")


# ---------------------------------------------------------------- host headers (issue 21)


def _host_tree(scratch: Path, prefix: Path, *, recorded: str) -> Path:
    """PREFIX/lib/python3.11/_sysconfigdata with the arm64 data's /usr moved to *recorded*."""
    from crossenv import sysconfigdata

    values = {k: v.replace("/usr", recorded, 1) if isinstance(v, str) and v.startswith("/usr")
              else v for k, v in sysconfigdata.load(recorded_sysconfigdata("arm64")).items()}
    stdlib = prefix / "lib" / "python3.11"
    stdlib.mkdir(parents=True)
    path = stdlib / "_sysconfigdata__linux_aarch64-linux-gnu.py"
    path.write_text(sysconfigdata.render(values))
    return path


def test_create_conda_prefix_without_headers(scratch: Path, aarch64_gcc: str) -> None:
    """--sysroot with a host prefix outside it: its paths are where they are, and a host
    whose Python.h cannot be found is refused (it used to compile against the build
    interpreter's headers)."""
    data = _host_tree(scratch, scratch / "conda", recorded=str(scratch / "conda"))
    (scratch / "sysroot" / "usr" / "include").mkdir(parents=True)
    line = expect_error(scratch, ["--sysroot", str(scratch / "sysroot"), str(data),
                                  str(scratch / "env")], contains="Python.h is not in")
    assert f"{scratch}/conda/include/python3.11" in line


@pytest.mark.parametrize("link", ["directory", "header"])
def test_create_sysroot_link_that_leaves_it(scratch: Path, aarch64_gcc: str,
                                            link: str) -> None:
    root = scratch / "sysroot"
    data = _host_tree(scratch, root / "usr", recorded="/usr")
    outside = scratch / "build-machine"  # stands for /usr/include/x86_64-linux-gnu/python3.11
    outside.mkdir()
    for name in ("Python.h", "pyconfig.h"):
        (outside / name).write_text("/* the build machine's */\n")
    include = root / "usr" / "include" / "python3.11"
    include.mkdir(parents=True)
    (root / "usr" / "include" / "aarch64-linux-gnu").mkdir()
    if link == "directory":
        (include / "Python.h").write_text("/* host */\n")
        (root / "usr" / "include" / "aarch64-linux-gnu" / "python3.11").symlink_to(outside)
    else:
        (include / "pyconfig.h").write_text("/* host */\n")
        (include / "Python.h").symlink_to(outside / "Python.h")
    expect_error(scratch, [str(data), str(scratch / "env")], contains="symlink that leaves")


# ---------------------------------------------------------------- ENV paths (issue 22 item 4)


@pytest.mark.parametrize(("char", "reason"), [
    ('"', "CMake"), (";", "CMake list"), ("\\", "backslash"), (":", "PATH"), ("$", "meson"),
    ("\n", "control character"), ("\t", "control character"), ("\x7f", "control character"),
])
@pytest.mark.parametrize("where", ["ENV", "--cross-prefix"])
def test_create_env_path_a_format_cannot_carry(scratch: Path, aarch64_gcc: str, char: str,
                                               reason: str, where: str) -> None:
    host = recorded_sysconfigdata("arm64")
    odd = scratch / f"a{char}b"
    argv = [str(host), str(odd)] if where == "ENV" else \
        ["--cross-prefix", str(odd), str(host), str(scratch / "env")]
    line = expect_error(scratch, argv, contains=reason)
    assert line.startswith(f"crossenv: error: {where} ")


@pytest.mark.integration
def test_create_env_path_with_characters_formats_can_quote(tmp_path: Path,
                                                           aarch64_gcc: str) -> None:
    """Blanks, quotes, '#', '@DIRNAME@', '&' and non-ASCII are quoted per format: a CMake
    configure with the toolchain file and a meson setup with the cross file both work."""
    import shutil

    cmake = shutil.which("cmake")
    require(cmake and shutil.which("ninja") and importlib.util.find_spec("mesonbuild"),
            "cmake, ninja and meson")
    env = tmp_path / "a 'q' #x é @DIRNAME@ (y) & z"
    proc = subprocess.run([sys.executable, "-m", "crossenv", str(recorded_sysconfigdata("arm64")),
                           str(env)], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert proc.returncode == 0, proc.stderr
    assert "CONFIG_SITE is not set" in proc.stderr  # autoconf cannot: said, not silent
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text("cmake_minimum_required(VERSION 3.15)\nproject(p C)\n"
                                        "add_library(m SHARED m.c)\n")
    (src / "meson.build").write_text("project('p', 'c')\nshared_library('m', 'm.c')\n")
    (src / "m.c").write_text("int f(void) { return 1; }\n")
    crossenv_dir = env / "cross" / "crossenv"
    (toolchain,) = crossenv_dir.glob("*.cmake")
    subprocess.run([cmake, "-S", src, "-B", tmp_path / "cb", "-G", "Ninja",
                    f"-DCMAKE_TOOLCHAIN_FILE={toolchain}"], check=True, capture_output=True)
    subprocess.run([cmake, "--build", tmp_path / "cb"], check=True, capture_output=True)
    (cross_file,) = crossenv_dir.glob("*.ini")
    subprocess.run([sys.executable, "-m", "mesonbuild.mesonmain", "setup", tmp_path / "mb",
                    src, "--cross-file", cross_file], check=True, capture_output=True)
    subprocess.run(["ninja", "-C", tmp_path / "mb"], check=True, capture_output=True)
