#!/usr/bin/env python3
"""Benchmark environment creation and cross-python start-up against baselines.

Everything is measured in one run, on one machine, and reported as ratios to
baselines measured in the same run, so the figures mean something on a noisy,
shared CI runner:

* creation: ``python -m crossenv HOST_PYTHON ENV`` (this checkout, run with the
  interpreter that runs this script) against crossenv 1.x from PyPI, installed
  into a throwaway venv (``--crossenv1``; goal: at most 0.2x its time);
* start-up: ``ENV/bin/cross-python -c pass`` against the plain build python,
  ``ENV/bin/build-python`` and (if it could be created) 1.x's cross-python
  (goal: at most 1.2x the plain build python).

Commands are run round-robin (one sample of each in turn) so that load from
other processes spreads over all of them; medians are reported. hyperfine is
used in addition when it is on PATH. ``-X importtime`` shows which modules
cross-python imports at start that the build python does not.

Usage::

    python benchmarks/bench_env.py [HOST_PYTHON] --output result.json

Without HOST_PYTHON an arm64 Debian sysroot is provisioned (or reused from the
cache) with ``crossenv.provision``. This is a script, not a test: it asserts
nothing, it prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CREATION_GOAL = 0.2
STARTUP_GOAL = 1.2


def _run(cmd: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, env=CHILD_ENV, **kwargs)


def _summary(samples: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(samples), 3),
        "min_ms": round(min(samples), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
        "stdev_ms": round(statistics.stdev(samples), 3) if len(samples) > 1 else 0.0,
        "runs": len(samples),
        "samples_ms": [round(s, 3) for s in samples],
    }


#: Variables removed from the children's environment so that every command starts the
#: way it does for a user: PYTHONDONTWRITEBYTECODE (set on some CI machines) would make
#: cross-python recompile the runtime shim at every start.
CLEARED_VARIABLES = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
                     "PYTHONPROFILEIMPORTTIME", "VIRTUAL_ENV", "PYTHON_CROSSENV")
CHILD_ENV = {k: v for k, v in os.environ.items() if k not in CLEARED_VARIABLES}


def _time_once(cmd: Sequence[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=CHILD_ENV)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()[-500:]}")
    return elapsed


# -- setup ---------------------------------------------------------------------------------


def default_host_python(arch: str) -> Path:
    from crossenv.provision import provision_debian

    return provision_debian(arch).python


def base_python() -> str:
    """The build machine's real interpreter (not a venv wrapper, not a pyenv shim)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def install_crossenv1(workdir: Path, requirement: str) -> tuple[str | None, str | None]:
    """Install crossenv 1.x into a throwaway venv; return (python, error)."""
    venv = workdir / "crossenv1-venv"
    proc = _run([base_python(), "-m", "venv", str(venv)])
    if proc.returncode != 0:
        return None, f"venv failed: {proc.stderr.strip()[-300:]}"
    python = str(venv / "bin" / "python")
    proc = _run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                 requirement])
    if proc.returncode != 0:
        errors = [ln for ln in proc.stderr.splitlines() if "is ignored" not in ln]
        return None, f"pip install {requirement} failed: {' '.join(errors)[-300:]}"
    return python, None


def crossenv1_version(python: str) -> str | None:
    proc = _run([python, "-c", "import importlib.metadata as m; print(m.version('crossenv'))"])
    return proc.stdout.strip() or None


# -- measurements --------------------------------------------------------------------------


def measure_creation(commands: dict[str, list[str]], env_dirs: dict[str, Path], runs: int,
                     warmup: int) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Create each environment ``warmup + runs`` times, round-robin; removal is not timed."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    errors: dict[str, str] = {}
    for index in range(warmup + runs):
        for name, cmd in commands.items():
            if name in errors:
                continue
            shutil.rmtree(env_dirs[name], ignore_errors=True)
            try:
                elapsed = _time_once(cmd)
            except RuntimeError as exc:
                errors[name] = str(exc)
                continue
            if index >= warmup:
                samples[name].append(elapsed)
    return samples, errors


def measure_startup(commands: dict[str, list[str]], runs: int,
                    warmup: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for index in range(warmup + runs):
        for name, cmd in commands.items():
            elapsed = _time_once(cmd)
            if index >= warmup:
                samples[name].append(elapsed)
    return samples


def hyperfine(commands: dict[str, list[str]], runs: int, workdir: Path) -> dict[str, Any]:
    """Medians from hyperfine (-N: no intermediate shell), if it is installed."""
    exe = shutil.which("hyperfine")
    if exe is None:
        return {"available": False}
    export = workdir / "hyperfine.json"
    cmd = [exe, "-N", "--warmup", "5", "--runs", str(runs), "--export-json", str(export),
           "--style", "none"]
    for name, argv in commands.items():
        cmd += ["-n", name, " ".join(argv)]
    proc = _run(cmd)
    if proc.returncode != 0:
        return {"available": True, "error": proc.stderr.strip()[-500:]}
    data = json.loads(export.read_text())
    # results come in the order of the commands (their "command" field is the name
    # in some hyperfine versions and the command line in others)
    return {"available": True, "version": _run([exe, "--version"]).stdout.strip(),
            "results": {
                name: {"median_ms": round(r["median"] * 1000, 3),
                       "mean_ms": round(r["mean"] * 1000, 3),
                       "min_ms": round(r["min"] * 1000, 3)}
                for name, r in zip(commands, data["results"])}}


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_times(cmd: Sequence[str]) -> dict[str, dict[str, int]]:
    """Module -> self/cumulative microseconds from ``-X importtime``."""
    proc = _run([*cmd[:1], "-X", "importtime", *cmd[1:]])
    out: dict[str, dict[str, int]] = {}
    for line in proc.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            out[match[4]] = {"self_us": int(match[1]), "cumulative_us": int(match[2]),
                             "depth": len(match[3]) // 2}
    return out


def importtime_diff(cross: list[str], build: list[str], repeat: int = 7) -> dict[str, Any]:
    """Modules cross-python imports at start that build-python does not (median of runs)."""
    cross_runs = [import_times(cross) for _ in range(repeat)]
    build_runs = [import_times(build) for _ in range(repeat)]
    build_names = set().union(*build_runs)
    extra: dict[str, dict[str, int]] = {}
    for name in cross_runs[0]:
        if name in build_names:
            continue
        values = [run[name] for run in cross_runs if name in run]
        extra[name] = {
            "self_us": int(statistics.median(v["self_us"] for v in values)),
            "cumulative_us": int(statistics.median(v["cumulative_us"] for v in values)),
            "depth": values[0]["depth"],
        }
    return {
        "cross_modules": len(cross_runs[0]),
        "build_modules": len(build_runs[0]),
        "extra": extra,
        "extra_self_us": sum(v["self_us"] for v in extra.values()),
    }


# -- report --------------------------------------------------------------------------------


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or not b.get("median_ms"):
        return None
    return round(a["median_ms"] / b["median_ms"], 3)


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


def print_table(result: dict[str, Any]) -> None:
    creation = result["creation"]
    startup = result["startup"]
    ratios = result["ratios"]
    hf = result.get("hyperfine", {}).get("results", {})
    print()
    print(f"{'creation':<34} {'median ms':>10} {'min ms':>10}")
    for name, data in creation.items():
        if "median_ms" in data:
            print(f"  {name:<32} {data['median_ms']:>10.1f} {data['min_ms']:>10.1f}")
        else:
            print(f"  {name:<32} {'failed':>10}  {data.get('error', '')[:60]}")
    goal = ratios.get("creation_vs_crossenv1")
    print(f"  ratio crossenv / crossenv1: {_fmt(goal, 'x')} (goal <= {CREATION_GOAL}x)")
    print()
    print(f"{'start-up (-c pass)':<34} {'median ms':>10} {'min ms':>10} {'hyperfine':>10}")
    for name, data in startup.items():
        hyper = hf.get(name, {}).get("median_ms")
        print(f"  {name:<32} {data['median_ms']:>10.2f} {data['min_ms']:>10.2f} "
              f"{_fmt(hyper):>10}")
    for key, value in ratios.items():
        if key.startswith("startup_"):
            print(f"  ratio {key[len('startup_'):]:<26} {_fmt(value, 'x')}")
    print(f"  (goal: cross-python <= {STARTUP_GOAL}x build python; 'build python' runs the "
          "site-packages of the base installation, which may hold slow .pth files)")
    extra = result.get("importtime", {}).get("extra", {})
    if extra:
        print()
        print("modules cross-python imports at start that build-python does not:")
        for name, data in sorted(extra.items(), key=lambda kv: -kv[1]["self_us"]):
            print(f"  {'  ' * data['depth']}{name:<30} self {data['self_us']:>6} us"
                  f"   cumulative {data['cumulative_us']:>6} us")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host_python", nargs="?", help="host python (default: provision "
                        "a Debian sysroot of --arch with crossenv.provision)")
    parser.add_argument("--arch", default="arm64", help="architecture to provision (arm64)")
    parser.add_argument("--output", "-o", type=Path, default=Path("bench_env.json"),
                        help="JSON result file (default: bench_env.json)")
    parser.add_argument("--crossenv1", default="crossenv==1.6.2",
                        help="requirement of the baseline (default: crossenv==1.6.2)")
    parser.add_argument("--no-crossenv1", action="store_true", help="skip the 1.x baseline")
    parser.add_argument("--creation-runs", type=int, default=5)
    parser.add_argument("--startup-runs", type=int, default=100)
    parser.add_argument("--no-hyperfine", action="store_true", help="do not use hyperfine")
    parser.add_argument("--workdir", type=Path, help="keep environments here (default: a "
                        "temporary directory, removed afterwards)")
    args = parser.parse_args(argv)

    import crossenv

    host_python = Path(args.host_python) if args.host_python else default_host_python(args.arch)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="crossenv-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(),
            "build_python": base_python(),
            "build_python_version": platform.python_version(),
            "host_python": str(host_python),
            "cleared_variables": [v for v in CLEARED_VARIABLES if v in os.environ],
            "crossenv_version": crossenv.__version__,
        }
        envs = {"crossenv": workdir / "env-new", "crossenv1": workdir / "env-1x"}
        creation_cmds = {"crossenv": [sys.executable, "-m", "crossenv", str(host_python),
                                      str(envs["crossenv"])]}
        creation_errors: dict[str, str] = {}
        if not args.no_crossenv1:
            print(f"installing {args.crossenv1} into a throwaway venv ...", file=sys.stderr)
            python1, error = install_crossenv1(workdir, args.crossenv1)
            if python1 is None:
                creation_errors["crossenv1"] = error or "install failed"
            else:
                result["crossenv1_version"] = crossenv1_version(python1)
                creation_cmds["crossenv1"] = [python1, "-m", "crossenv", str(host_python),
                                              str(envs["crossenv1"])]
        print(f"creation: {args.creation_runs} runs (+1 warm-up) of "
              f"{', '.join(creation_cmds)} ...", file=sys.stderr)
        samples, errors = measure_creation(creation_cmds, envs, args.creation_runs, warmup=1)
        creation_errors.update(errors)
        result["creation"] = {
            name: {"command": " ".join(creation_cmds.get(name, [])),
                   **(_summary(samples[name]) if samples.get(name) else {}),
                   **({"error": creation_errors[name]} if name in creation_errors else {})}
            for name in ("crossenv", "crossenv1") if name in creation_cmds
            or name in creation_errors}
        if "crossenv" in creation_errors:
            raise SystemExit(f"crossenv could not create an environment: "
                             f"{creation_errors['crossenv']}")

        new = envs["crossenv"]
        plain = workdir / "plain-venv"
        proc = _run([base_python(), "-m", "venv", "--without-pip", str(plain)])
        startup_cmds = {
            "build python": [base_python(), "-c", "pass"],
            "plain venv python": [str(plain / "bin" / "python"), "-c", "pass"],
            "ENV/build/bin/python": [str(new / "build" / "bin" / "python"), "-c", "pass"],
            "ENV/bin/build-python": [str(new / "bin" / "build-python"), "-c", "pass"],
            "ENV/cross/bin/python": [str(new / "cross" / "bin" / "python"), "-c", "pass"],
            "ENV/bin/cross-python": [str(new / "bin" / "cross-python"), "-c", "pass"],
        }
        if proc.returncode != 0:
            del startup_cmds["plain venv python"]
        if "crossenv1" in creation_cmds and "crossenv1" not in creation_errors:
            startup_cmds["crossenv1 cross-python"] = [
                str(envs["crossenv1"] / "bin" / "cross-python"), "-c", "pass"]
        print(f"start-up: {args.startup_runs} runs of {len(startup_cmds)} commands ...",
              file=sys.stderr)
        startup = measure_startup(startup_cmds, args.startup_runs, warmup=5)
        result["startup"] = {name: {"command": " ".join(startup_cmds[name]),
                                    **_summary(values)} for name, values in startup.items()}
        if not args.no_hyperfine:
            result["hyperfine"] = hyperfine(startup_cmds, args.startup_runs, workdir)
        result["importtime"] = importtime_diff(
            [str(new / "cross" / "bin" / "python"), "-c", "pass"],
            [str(new / "build" / "bin" / "python"), "-c", "pass"])

        st = result["startup"]
        cross = st["ENV/bin/cross-python"]
        result["ratios"] = {
            "creation_vs_crossenv1": _ratio(result["creation"].get("crossenv"),
                                            result["creation"].get("crossenv1")),
            "startup_cross-python / build python": _ratio(cross, st["build python"]),
            "startup_cross-python / plain venv python": _ratio(
                cross, st.get("plain venv python")),
            "startup_cross-python / build-python": _ratio(cross, st["ENV/bin/build-python"]),
            "startup_cross/bin/python / build/bin/python": _ratio(
                st["ENV/cross/bin/python"], st["ENV/build/bin/python"]),
            "startup_cross-python / crossenv1 cross-python": _ratio(
                cross, st.get("crossenv1 cross-python")),
        }
        result["goals"] = {
            "creation": {"goal": CREATION_GOAL,
                         "ratio": result["ratios"]["creation_vs_crossenv1"]},
            # the brief's definition: against the build machine's interpreter itself
            "startup": {"goal": STARTUP_GOAL,
                        "ratio": result["ratios"]["startup_cross-python / build python"]},
            # like for like: both through their ENV/bin wrapper, same seeded packages
            "startup_vs_build-python": {
                "goal": STARTUP_GOAL,
                "ratio": result["ratios"]["startup_cross-python / build-python"]},
        }
        for goal in result["goals"].values():
            goal["met"] = None if goal["ratio"] is None else goal["ratio"] <= goal["goal"]
        result["loadavg_end"] = os.getloadavg()
        print_table(result)
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.output}", file=sys.stderr)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
