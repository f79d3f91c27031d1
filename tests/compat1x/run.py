#!/usr/bin/env python3
"""Run crossenv 1.x's own test suite against this crossenv, on the aarch64 testbed.

"Every 1.x option keeps its meaning" is best checked by 1.x's own tests. They are
not copied into this repository: the suite is taken from crossenv's sdist on PyPI
at run time (``pip download``; cached), and only its ``tests/`` and ``pytest.ini``
are unpacked, never its ``crossenv`` package, so ``python -m crossenv`` in the
suite is this project.

The suite expects three environment variables and a ``qemu-<machine>`` on PATH
that runs the host python (1.x's CI images provide them). Here they are:

* ``CROSSENV_TEST_BUILD_PYTHON``: this interpreter (it must have crossenv installed
  and the host's X.Y);
* ``CROSSENV_TEST_HOST_PYTHON``: the python3 of a Debian sysroot made by
  ``crossenv provision`` (cached in ~/.cache/crossenv/sysroots);
* ``CROSSENV_TEST_ARCH``: ``aarch64 Linux aarch64``;
* ``qemu-aarch64``: a two-line wrapper calling ``qemu-aarch64-static -L SYSROOT``
  (binfmt_misc is never used).

Behaviour that crossenv changed on purpose is listed in :data:`EXPECTED_DIFFERENCES`,
each with the section of docs/migrating.rst that documents it; plugin.py (the run
directory's conftest.py) marks those tests ``xfail(strict=True)``, so they must still
fail, and every other test must pass. Usage::

    python tests/compat1x/run.py [--crossenv crossenv==1.6.2] [--raw] [-- PYTEST_ARGS]

Exit status: pytest's (0 = everything as documented). ``--raw`` runs the suite
without the expected differences, to measure it as is.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossenv import provision

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

DEFAULT_SPEC = "crossenv==1.6.2"

_CHECKED = "The compiler is checked"
_API = "The command line is the interface"

#: node id -> (section of docs/migrating.rst that documents it, why the test fails on purpose)
EXPECTED_DIFFERENCES: dict[str, tuple[str, str]] = {
    "tests/test_environment.py::test_no_manylinux": (
        "manylinux tags are on by default",
        "manylinux tags come from the sysroot's glibc; --no-manylinux restores 1.x"),
    "tests/test_compiler.py::test_set_c_compiler": (
        _CHECKED, "--cc /bin/true compiles nothing: refused unless --no-verify-toolchain"),
    "tests/test_compiler.py::test_set_cxx_compiler": (
        "sysconfig names crossenv's compiler wrappers",
        "sysconfig's CXX is the wrapper ENV/cross/crossenv/bin/true in front of --cxx"),
    "tests/test_compiler.py::test_wrong_architecture": (
        _CHECKED, "a compiler for the build machine is an error, not a warning"),
    "tests/test_triples.py::test_split_apple_os_version": (
        _API, "crossenv 1.x's Python API (crossenv.CrossEnvBuilder) is not provided"),
    "tests/test_triples.py::test_clean_triple": (
        _API, "crossenv 1.x's Python API (crossenv.CrossEnvBuilder) is not provided"),
}

CATEGORIES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


@dataclass
class Result:
    """Outcome of one suite run: node ids per pytest category, pytest's status, seconds."""

    outcomes: dict[str, list[str]]
    returncode: int
    seconds: float
    log: str

    def counts(self) -> dict[str, int]:
        return {c: len(self.outcomes.get(c, [])) for c in CATEGORIES}

    def summary(self) -> str:
        return ", ".join(f"{n} {c}" for c, n in self.counts().items() if n) + \
            f" in {self.seconds:.0f} s"


def cache_dir() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("crossenv") / "compat1x"


def fetch_sdist(spec: str, dest: Path, python: str = sys.executable) -> Path:
    """The crossenv 1.x sdist for *spec*, from PyPI through pip (reused when pinned)."""
    dest.mkdir(parents=True, exist_ok=True)
    name, _, version = spec.partition("==")
    if version:
        cached = dest / f"{name}-{version}.tar.gz"
        if cached.is_file():
            return cached
    before = set(dest.glob("*.tar.gz"))
    subprocess.run([python, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                    ":all:", "--dest", str(dest), spec], check=True)
    found = sorted(set(dest.glob("*.tar.gz")) - before) or sorted(dest.glob(f"{name}-*.tar.gz"))
    if not found:
        raise SystemExit(f"pip download {spec} produced no sdist in {dest}")
    return found[-1]


def unpack_suite(sdist: Path, rundir: Path) -> None:
    """Unpack only ``tests/`` and ``pytest.ini`` (not 1.x's crossenv package) into *rundir*."""
    with tarfile.open(sdist) as archive:
        members = []
        for member in archive.getmembers():
            _top, _, rest = member.name.partition("/")
            if rest == "pytest.ini" or rest.startswith("tests/"):
                member.name = rest
                members.append(member)
        if hasattr(tarfile, "data_filter"):
            archive.extractall(rundir, members=members, filter="data")
        else:  # Python < 3.9.17: names were checked above to stay under tests/
            if any(".." in Path(m.name).parts or not (m.isfile() or m.isdir()) for m in members):
                raise SystemExit(f"{sdist}: unexpected member in tests/")
            archive.extractall(rundir, members=members)
    if not (rundir / "tests" / "conftest.py").is_file():
        raise SystemExit(f"{sdist} has no tests/conftest.py: not a crossenv 1.x sdist?")


def write_qemu_wrapper(bindir: Path, machine: str, qemu: str, sysroot: Path) -> None:
    """``qemu-<machine> PROGRAM...`` as 1.x's tests call it, running inside *sysroot*."""
    bindir.mkdir(parents=True, exist_ok=True)
    wrapper = bindir / f"qemu-{machine}"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(qemu)} -L {shlex.quote(str(sysroot))} "
                       '"$@"\n')
    wrapper.chmod(0o755)


def run_suite(*, spec: str = DEFAULT_SPEC, arch: str = "arm64", raw: bool = False,
              build_python: str = sys.executable, workdir: Path | None = None,
              pytest_args: Sequence[str] = (), stream: bool = True) -> Result:
    """Fetch the 1.x suite, run it against this crossenv, return the outcomes."""
    sysroot = provision.provision_debian(arch)
    qemu = provision.find_qemu(arch)
    if qemu is None:
        raise SystemExit(f"qemu-user-static ({provision.qemu_name(arch)}) is needed")
    machine = {"arm64": "aarch64"}.get(arch, arch)
    query = "import sys; print('%d.%d' % sys.version_info[:2])"
    version = subprocess.run([build_python, "-c", query], capture_output=True, text=True,
                             check=True).stdout.strip()
    if sysroot.python.name != f"python{version}":
        raise SystemExit(f"the host is {sysroot.python.name} but {build_python} is Python "
                         f"{version}: pass --build-python with the host's X.Y")
    sdist = fetch_sdist(spec, cache_dir(), build_python)
    own_tmp = workdir is None
    rundir = Path(tempfile.mkdtemp(prefix="crossenv1x-")) if workdir is None else workdir
    try:
        rundir.mkdir(parents=True, exist_ok=True)
        unpack_suite(sdist, rundir)
        shutil.copyfile(HERE / "plugin.py", rundir / "conftest.py")
        expected = rundir / "expected.json"
        reasons = {node: f"{why} (docs/migrating.rst: {section})"
                   for node, (section, why) in EXPECTED_DIFFERENCES.items()}
        expected.write_text(json.dumps({} if raw else reasons, indent=1))
        report = rundir / "report.json"
        write_qemu_wrapper(rundir / "bin", machine, qemu, sysroot.root)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
        env.update({
            "PATH": f"{rundir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "CROSSENV_TEST_BUILD_PYTHON": build_python,
            "CROSSENV_TEST_HOST_PYTHON": str(sysroot.python),
            "CROSSENV_TEST_ARCH": f"{machine} Linux {machine}",
            "CROSSENV1X_EXPECTED": str(expected),
            "CROSSENV1X_REPORT": str(report),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        })
        cmd = [build_python, "-m", "pytest", "-c", str(rundir / "pytest.ini"), "--rootdir",
               str(rundir), "-p", "no:cacheprovider", "--basetemp", str(rundir / "tmp"),
               "-rfEsxX", "--continue-on-collection-errors", *pytest_args]
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=rundir, env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        seconds = time.monotonic() - start
        if stream:
            sys.stdout.write(proc.stdout)
        outcomes = json.loads(report.read_text()) if report.is_file() else {}
        return Result(outcomes, proc.returncode, seconds, proc.stdout)
    finally:
        if own_tmp:
            shutil.rmtree(rundir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crossenv", default=DEFAULT_SPEC, metavar="SPEC",
                        help=f"the crossenv 1.x sdist whose tests run (default {DEFAULT_SPEC})")
    parser.add_argument("--arch", default="arm64", help="Debian architecture of the host")
    parser.add_argument("--raw", action="store_true",
                        help="do not mark the documented differences as expected failures")
    parser.add_argument("--workdir", type=Path, help="keep the run directory here")
    parser.add_argument("--build-python", default=sys.executable, metavar="PYTHON",
                        help="the build python, with this crossenv installed (default: this one)")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args(argv)
    result = run_suite(spec=args.crossenv, arch=args.arch, raw=args.raw, workdir=args.workdir,
                       build_python=args.build_python, pytest_args=args.pytest_args)
    print(f"crossenv 1.x suite ({args.crossenv}) against crossenv from {ROOT}: "
          f"{result.summary()}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
