"""A small C sdist from PyPI through a compiler cache: a cold build, then a warm one.

    python benchmarks/ccache_sdist.py [--arch arm64] [--sdist msgpack==1.1.0]
                                      [--launcher ccache|sccache] [--json result.json]

Like ``ccache_numpy.py`` for a package that builds in seconds (msgpack: one C
extension, setuptools): one environment with ``--compiler-launcher``, the sdist built
twice with ``cross-pip wheel --no-binary NAME`` (a new random unpack directory and
build environment each time, pip's wheel cache off) against one empty cache. With a
small package, the fixed costs (pip, the isolated build environment, setuptools)
dominate: the ratio shows what a cache saves on a typical small extension, not on
the compiles alone (compare the hits: every compile of the warm build should hit).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _build import cache_runs, clean_environ, print_runs

from crossenv import launcher


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="arm64", help="Debian architecture of the host")
    parser.add_argument("--sdist", default="msgpack==1.1.0", help="a requirement NAME==V")
    parser.add_argument("--launcher", default="ccache", choices=launcher.CACHES)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if shutil.which(args.launcher) is None:
        sys.exit(f"{args.launcher} is not installed (apt install {args.launcher})")
    name = re.split(r"[=<>!~ \[]", args.sdist, maxsplit=1)[0]

    from crossenv import provision

    work = Path(tempfile.mkdtemp(prefix="crossenv-cache-bench-"))
    environ = clean_environ()
    environ.update(CCACHE_DIR=str(work / "ccache"), SCCACHE_DIR=str(work / "sccache"))
    try:
        host_python = provision.provision_debian(args.arch).python
        env = work / "env"
        subprocess.run([sys.executable, "-m", "crossenv", "--compiler-launcher",
                        args.launcher, str(host_python), str(env)], check=True)
        result: dict[str, object] = {"sdist": args.sdist, "launcher": args.launcher,
                                     "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
        result.update(cache_runs(env, ["--no-binary", name, args.sdist], work, environ,
                                 args.launcher))
        result["loadavg_end"] = os.getloadavg()
        print_runs(args.sdist, result, args.launcher)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    finally:
        if args.launcher == "sccache":
            subprocess.run(["sccache", "--stop-server"], env=environ, capture_output=True,
                           check=False)
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
