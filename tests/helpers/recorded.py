"""A cross environment known only by its record: enough for crossenv.run to compose a
host command (nothing is started), without provisioning a sysroot."""

from __future__ import annotations

import json
from pathlib import Path

from crossenv import envfile


def recorded_env(tmp_path: Path) -> tuple[Path, Path]:
    """``(env, sysroot)``: an aarch64 env whose record names a sysroot holding an empty
    ``usr/bin/python3.12``."""
    sysroot = tmp_path / "sysroot"
    (sysroot / "usr" / "bin").mkdir(parents=True)
    (sysroot / "usr" / "bin" / "python3.12").write_text("")
    env = tmp_path / "env"
    env.mkdir()
    host = {"version": [3, 12], "sysroot": str(sysroot), "prefix": "/usr", "machine": "aarch64"}
    (env / envfile.FILE_NAME).write_text(json.dumps({"host": host}))
    return env, sysroot
