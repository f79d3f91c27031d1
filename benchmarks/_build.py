"""What the build benchmarks share: one timed ``pip wheel``, a clean environment, and a
cold-then-warm pair of builds of one sdist through a compiler cache.

The scripts time whole builds, one after the other, and exit with the log's path when
a build fails (a benchmark of a failed build would be a wrong figure, not a slow one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def clean_environ() -> dict[str, str]:
    """This process's environment without a compiler launcher or ccache settings, so a
    launcher the user exported does not change the builds being compared."""
    from crossenv import launcher

    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("CCACHE_", "SCCACHE_", "SKBUILD_"))}
    environ.pop(launcher.ENV_VAR, None)
    return environ


def timed(cmd: list[str], log: Path, environ: dict[str, str] | None = None,
          expect: str = "*.whl", out: Path | None = None) -> float:
    """Run *cmd* with its output in *log*; its wall time in seconds. With *out*, a file
    matching *expect* must be there afterwards."""
    start = time.monotonic()
    with log.open("w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=environ,
                              check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}; see {log}")
    if out is not None and not list(out.glob(expect)):
        sys.exit(f"no {expect} in {out}; see {log}")
    return elapsed


def cache_runs(env: Path, source: list[str], work: Path, environ: dict[str, str],
               program: str, extra: Sequence[str] = (), expect: str = "*.whl",
               ) -> dict[str, object]:
    """``cross-pip wheel SOURCE`` with a cold cache, then again with it warm.

    *source* names a PyPI sdist the way pip fetches it (``--no-binary NAME NAME==V``), so
    each build is unpacked into a new random directory and built in a new random isolated
    environment, as a user's is; ``--no-cache-dir`` keeps pip from answering the second
    build with the first's wheel. *environ* holds the cache's own directory; the figures
    are the wall times, the hits and misses of each build (two ``--print-stats``
    readings) and the ratio warm/cold.
    """
    from crossenv import launcher

    runs: dict[str, dict[str, object]] = {}
    for name in ("cold", "warm"):
        before = launcher.cache_stats([program], environ)
        out = work / f"w-{name}"
        cmd = [str(env / "bin" / "cross-pip"), "wheel", "--no-deps", "--no-cache-dir",
               *extra, *source, "-w", str(out)]
        seconds = timed(cmd, work / f"{name}.log", environ, expect=expect, out=out)
        after = launcher.cache_stats([program], environ)
        assert before is not None and after is not None
        delta = after - before
        runs[name] = {"seconds": round(seconds, 1), "hits": delta.hits,
                      "misses": delta.misses, "uncacheable": delta.uncacheable}
    cold, warm = runs["cold"]["seconds"], runs["warm"]["seconds"]
    (wheel,) = (work / "w-warm").glob(expect)
    return {**runs, "ratio_warm_over_cold": round(float(warm) / float(cold), 3),  # type: ignore[arg-type]
            "wheel": wheel.name}


def print_runs(label: str, result: dict[str, object], tool: str = "ccache") -> None:
    print(f"sdist:    {label} -> {result['wheel']}")
    if "no_launcher_s" in result:
        print(f"no {tool}:{result['no_launcher_s']:8.1f} s")
    for name in ("cold", "warm"):
        data = result[name]
        assert isinstance(data, dict)
        print(f"{name + ':':<9}{data['seconds']:8.1f} s  {tool} {data['hits']} hits, "
              f"{data['misses']} misses, {data['uncacheable']} uncacheable")
    print(f"ratio:    {result['ratio_warm_over_cold']:8.3f}x  (warm / cold)")
