"""numpy for aarch64 through ccache: a build with a cold cache, then one with it warm.

    python benchmarks/ccache_numpy.py [--arch arm64] [--sdist numpy==2.3.5] [--jobs 2]
                                      [--baseline] [--json result.json]

One environment is created with ``--compiler-launcher ccache``; numpy's sdist from
PyPI is then built twice with ``cross-pip wheel --no-binary numpy`` (build isolation
on, pip's wheel cache off), against one ``CCACHE_DIR`` that starts empty. pip unpacks
each build into a new random directory and installs its build requirements into
another: nothing here makes the paths stable, crossenv's compiler wrapper does (docs:
"Cache hits for sdists"), so the warm build hits only if that works. Prints both wall
times, ccache's hits and misses for each build (the difference of two
``--print-stats`` readings) and the ratio warm/cold. ``--baseline`` adds a first
build without the launcher (``CROSSENV_COMPILER_LAUNCHER`` set empty), showing what
ccache itself costs on a cold cache. Builds run one after the other, same parallelism.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _build import cache_runs, clean_environ, print_runs, timed

from crossenv import launcher


def _source(spec: str) -> list[str]:
    """What cross-pip wheel builds: an sdist file, or the requirement, from source.

    The requirement is not downloaded first: ``pip download`` builds a meson-python
    sdist once natively just to read its metadata, which ``pip wheel`` does not need.
    """
    if Path(spec).is_file():
        return [str(Path(spec).absolute())]
    return ["--no-binary", "numpy", spec]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="arm64", help="Debian architecture of the host")
    parser.add_argument("--sdist", default="numpy==2.3.5", help="an sdist file or requirement")
    parser.add_argument("--jobs", type=int, default=2, help="ninja jobs for every build")
    parser.add_argument("--baseline", action="store_true",
                        help="also build once without the launcher, first")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if shutil.which("ccache") is None:
        sys.exit("ccache is not installed (apt install ccache)")

    from crossenv import provision

    work = Path(tempfile.mkdtemp(prefix="crossenv-ccache-bench-"))
    try:
        source = _source(args.sdist)
        host_python = provision.provision_debian(args.arch).python
        env = work / "env"
        subprocess.run([sys.executable, "-m", "crossenv", "--compiler-launcher", "ccache",
                        str(host_python), str(env)], check=True)
        environ = clean_environ()
        environ.update(CCACHE_DIR=str(work / "ccache"), CCACHE_MAXSIZE="5G")
        extra = [f"-Ccompile-args=-j{args.jobs}"]
        result: dict[str, object] = {"sdist": args.sdist, "jobs": args.jobs,
                                     "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
        if args.baseline:
            plain = dict(environ, **{launcher.ENV_VAR: ""})
            out = work / "w0"
            result["no_launcher_s"] = round(timed(
                [str(env / "bin" / "cross-pip"), "wheel", "--no-deps", "--no-cache-dir",
                 *extra, *source, "-w", str(out)], work / "plain.log", plain,
                expect="numpy-*.whl", out=out), 1)
        result.update(cache_runs(env, source, work, environ, "ccache", extra,
                                 expect="numpy-*.whl"))
        result["loadavg_end"] = os.getloadavg()
        print(f"(-j{args.jobs}, {os.cpu_count()} cpus)")
        print_runs(args.sdist, result)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
