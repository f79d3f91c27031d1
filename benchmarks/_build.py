"""What the numpy build benchmarks share: one timed ``pip wheel`` and a clean environment.

Both scripts time whole builds, one after the other, and exit with the log's path when
a build fails (a benchmark of a failed build would be a wrong figure, not a slow one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def clean_environ() -> dict[str, str]:
    """This process's environment without a compiler launcher or ccache settings, so a
    launcher the user exported does not change the builds being compared."""
    from crossenv import launcher

    environ = {k: v for k, v in os.environ.items() if not k.startswith("CCACHE_")}
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
