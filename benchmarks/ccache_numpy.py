"""numpy for aarch64 through ccache: a build with a cold cache, then one with it warm.

    python benchmarks/ccache_numpy.py [--arch arm64] [--sdist numpy-X.tar.gz] [--jobs 2]
                                      [--baseline] [--json result.json]

One environment is created with ``--compiler-launcher ccache``; numpy's sdist is
then built twice with ``cross-pip wheel`` (build isolation on, pip's wheel cache
off), both times from a fresh unpacked copy, against one ``CCACHE_DIR`` that starts
empty. Prints both wall times, ccache's hits and misses for each build (the
difference of two ``--print-stats`` readings) and the ratio warm/cold.
``--baseline`` adds a first build without the launcher (``CROSSENV_COMPILER_LAUNCHER``
set empty), showing what ccache itself costs on a cold cache.

pip unpacks every build into a new random directory, so ``CCACHE_BASEDIR`` is set
to the temporary directory: ccache then hashes paths under it relative to the
working directory (the advice of ccache's manual for such builds; see the docs'
"Compiler launchers" section). Builds run one after the other, same parallelism.
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

from _build import clean_environ, timed

from crossenv import launcher


def _source(spec: str) -> list[str]:
    """What cross-pip wheel builds: an sdist file, or the requirement, from source.

    The requirement is not downloaded first: ``pip download`` builds a meson-python
    sdist once natively just to read its metadata, which ``pip wheel`` does not need.
    """
    if Path(spec).is_file():
        return [str(Path(spec).absolute())]
    return ["--no-binary", "numpy", spec]


def _build(env: Path, source: list[str], out: Path, log: Path, jobs: int,
           environ: dict[str, str]) -> float:
    cmd = [str(env / "bin" / "cross-pip"), "wheel", "--no-deps", "--no-cache-dir",
           f"-Ccompile-args=-j{jobs}", *source, "-w", str(out)]
    return timed(cmd, log, environ, expect="numpy-*.whl", out=out)


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
        environ.update(CCACHE_DIR=str(work / "ccache"), CCACHE_BASEDIR=tempfile.gettempdir(),
                       CCACHE_MAXSIZE="5G")
        result: dict[str, object] = {"sdist": args.sdist, "jobs": args.jobs,
                                     "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
        if args.baseline:
            plain = dict(environ, **{launcher.ENV_VAR: ""})
            result["no_launcher_s"] = _build(env, source, work / "w0", work / "plain.log",
                                             args.jobs, plain)
        runs = {}
        for name in ("cold", "warm"):
            before = launcher.cache_stats(["ccache"], environ)
            seconds = _build(env, source, work / f"w-{name}", work / f"{name}.log",
                             args.jobs, environ)
            after = launcher.cache_stats(["ccache"], environ)
            assert before is not None and after is not None
            delta = after - before
            runs[name] = {"seconds": round(seconds, 1), "hits": delta.hits,
                          "misses": delta.misses, "uncacheable": delta.uncacheable}
        result.update(runs)
        cold, warm = runs["cold"]["seconds"], runs["warm"]["seconds"]
        result["ratio_warm_over_cold"] = round(warm / cold, 3)
        result["loadavg_end"] = os.getloadavg()
        (wheel,) = (work / "w-warm").glob("numpy-*.whl")
        result["wheel"] = wheel.name
        print(f"sdist:    {args.sdist} -> {wheel.name}  (-j{args.jobs}, {os.cpu_count()} cpus)")
        if "no_launcher_s" in result:
            print(f"no ccache:{result['no_launcher_s']:8.1f} s")
        for name, data in runs.items():
            print(f"{name + ':':<9}{data['seconds']:8.1f} s  ccache {data['hits']} hits, "
                  f"{data['misses']} misses, {data['uncacheable']} uncacheable")
        print(f"ratio:    {warm / cold:8.2f}x  (warm / cold)")
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
